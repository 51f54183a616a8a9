-- Tokens: an API token (`api`, made by `kxian user add/token`) or a browser session (`session`,
-- made by signing in and ended by signing out), each optionally expiring.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN expires_at TEXT;   -- RFC 3339, UTC; NULL: never
CREATE INDEX tokens_by_user ON tokens (user_id);
-- Share links count against their creator's quota: `user:ID` or `ip:ADDRESS`.
ALTER TABLE shares ADD COLUMN creator TEXT;
ALTER TABLE shares ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX shares_by_creator ON shares (creator);
