-- Accounts and hosted jobs. Tokens are stored as SHA-256 hashes only; the token itself is
-- shown once, when it is made.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    admin      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    sha256     TEXT PRIMARY KEY,        -- hex SHA-256 of the token
    user_id    INTEGER NOT NULL REFERENCES users (id),
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- state: queued → running → done | failed | cancelled; a running job whose server died is
-- queued again at the next start (`attempts` counts the starts).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,           -- JSON, as submitted (validated)
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    cancel      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    error       TEXT,
    result      TEXT                     -- JSON summary when done
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_user ON jobs (user_id, id);

-- Progress events of a job in order: the trainer's JSON lines and the runner's own.
CREATE TABLE job_events (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    seq    INTEGER NOT NULL,
    at     TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
