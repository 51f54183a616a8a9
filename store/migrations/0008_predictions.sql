-- Prediction sets: a model's output for a universe over dates (`kxian-trainer predict`).
-- A set is private to its owner (NULL: public, as for series) and replaced by a later set of
-- the same owner and name.
CREATE TABLE prediction_sets (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    owner_id     INTEGER REFERENCES users (id),
    kind         TEXT NOT NULL,        -- kronos | classifier: decides the row columns
    model        TEXT NOT NULL,        -- the model's folders or built-in name
    model_sha256 TEXT NOT NULL,        -- JSON array: SHA-256 of every model file
    params       TEXT NOT NULL,        -- JSON: universe, schedule, forecast (seed included)
    first_date   TEXT NOT NULL,
    last_date    TEXT NOT NULL,
    symbols      INTEGER NOT NULL,
    row_count    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    parquet      BLOB                  -- the set as the trainer's Parquet file, served as it is
);
CREATE UNIQUE INDEX prediction_sets_key ON prediction_sets (COALESCE(owner_id, 0), name);

CREATE TABLE prediction_rows (
    set_id       INTEGER NOT NULL REFERENCES prediction_sets (id) ON DELETE CASCADE,
    symbol       TEXT NOT NULL,
    as_of        TEXT NOT NULL,        -- YYYY-MM-DD
    horizon      INTEGER NOT NULL,
    score        REAL NOT NULL,
    p_up         REAL NOT NULL,
    exp_return   REAL,
    q10          REAL,
    q50          REAL,
    q90          REAL,
    n_paths      INTEGER,
    p_down       REAL,
    p_flat       REAL,
    path_returns BLOB,                 -- each path's return at the horizon, f32 little-endian
    PRIMARY KEY (set_id, as_of, symbol)
) WITHOUT ROWID;
