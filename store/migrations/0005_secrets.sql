-- Per-user credentials for upstream sources (a Tushare Pro token). Written by the user,
-- handed to that user's jobs through the trainer's environment, never returned by the API.
CREATE TABLE secrets (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
