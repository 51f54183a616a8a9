-- A series is now unique per owner: a user who imports a symbol someone else holds privately
-- gets a series of their own instead of writing into the other's (or learning it exists).
-- SQLite cannot drop a UNIQUE constraint, so the table is rebuilt. Migrations run inside a
-- transaction, where foreign keys cannot be turned off, so `bars` is rebuilt beside it (same
-- rows) and both old tables are dropped child first: nothing cascades, nothing is lost.
CREATE TABLE series_new (
    id         INTEGER PRIMARY KEY,
    symbol_id  INTEGER NOT NULL REFERENCES symbols(id),
    frequency  TEXT NOT NULL,
    adjustment TEXT NOT NULL,
    source     TEXT NOT NULL,          -- provenance of the latest write
    bar_count  INTEGER NOT NULL DEFAULT 0,
    first_ts   INTEGER,
    last_ts    INTEGER,
    updated_at TEXT NOT NULL,
    owner_id   INTEGER REFERENCES users (id)   -- NULL: public
);
INSERT INTO series_new (id, symbol_id, frequency, adjustment, source, bar_count, first_ts, last_ts, updated_at, owner_id)
    SELECT id, symbol_id, frequency, adjustment, source, bar_count, first_ts, last_ts, updated_at, owner_id FROM series;
CREATE TABLE bars_new (
    series_id INTEGER NOT NULL REFERENCES series_new(id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL,
    open      REAL NOT NULL,
    high      REAL NOT NULL,
    low       REAL NOT NULL,
    close     REAL NOT NULL,
    volume    REAL NOT NULL,           -- shares
    amount    REAL,                    -- CNY; NULL where the source has none
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
INSERT INTO bars_new (series_id, ts, open, high, low, close, volume, amount)
    SELECT series_id, ts, open, high, low, close, volume, amount FROM bars;
DROP TABLE bars;
DROP TABLE series;
-- Renaming rewrites bars_new's reference to series_new into `series`.
ALTER TABLE series_new RENAME TO series;
ALTER TABLE bars_new RENAME TO bars;
CREATE UNIQUE INDEX series_key ON series (symbol_id, frequency, adjustment, COALESCE(owner_id, 0));
