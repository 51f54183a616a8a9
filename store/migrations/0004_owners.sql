-- Series belong to the user whose import or download created them; NULL is public (the
-- embedded data, and imports made without an account).
ALTER TABLE series ADD COLUMN owner_id INTEGER REFERENCES users (id);
