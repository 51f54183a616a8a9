-- Symbols, series and bars. Timestamps are INTEGER seconds of the Asia/Shanghai wall clock
-- read as if it were UTC (no time zone arithmetic anywhere: A-share time has no DST).
CREATE TABLE symbols (
    id       INTEGER PRIMARY KEY,
    symbol   TEXT NOT NULL UNIQUE,     -- canonical, e.g. 000300.SH
    code     TEXT NOT NULL,
    exchange TEXT NOT NULL,
    kind     TEXT NOT NULL,
    board    TEXT NOT NULL,
    name     TEXT
);

CREATE TABLE series (
    id         INTEGER PRIMARY KEY,
    symbol_id  INTEGER NOT NULL REFERENCES symbols(id),
    frequency  TEXT NOT NULL,
    adjustment TEXT NOT NULL,
    source     TEXT NOT NULL,          -- provenance of the latest write
    bar_count  INTEGER NOT NULL DEFAULT 0,
    first_ts   INTEGER,
    last_ts    INTEGER,
    updated_at TEXT NOT NULL,
    UNIQUE (symbol_id, frequency, adjustment)
);

CREATE TABLE bars (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL,
    open      REAL NOT NULL,
    high      REAL NOT NULL,
    low       REAL NOT NULL,
    close     REAL NOT NULL,
    volume    REAL NOT NULL,           -- shares
    amount    REAL,                    -- CNY; NULL where the source has none
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

-- One row per successful import: what came in, from where, and what it did.
CREATE TABLE imports (
    id         INTEGER PRIMARY KEY,
    file       TEXT NOT NULL,
    layout     TEXT NOT NULL,
    source     TEXT NOT NULL,
    rows_read  INTEGER NOT NULL,
    report     TEXT NOT NULL,          -- the ImportReport as JSON
    created_at TEXT NOT NULL
);

-- Small key/value facts about the store itself, e.g. which embedded data set was loaded.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
