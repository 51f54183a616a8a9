-- Reference data, point in time (shared::reference): public market facts, not per owner. Each
-- row keeps the days it held (valid_to NULL: still holds) and the source that said so.
CREATE TABLE ref_industries (
    symbol      TEXT NOT NULL,
    industry    TEXT NOT NULL,         -- the source's industry name or Shenwan code
    sector      TEXT NOT NULL,         -- one of the 11 sectors (shared/src/reference/sectors.csv)
    valid_from  TEXT NOT NULL,         -- YYYY-MM-DD
    valid_to    TEXT,
    source      TEXT NOT NULL,
    PRIMARY KEY (symbol, valid_from)
);

CREATE TABLE ref_shares (
    symbol       TEXT NOT NULL,
    date         TEXT NOT NULL,
    total_shares REAL NOT NULL,        -- shares, not 万股
    float_shares REAL NOT NULL,
    pe           REAL,
    pb           REAL,
    source       TEXT NOT NULL,
    PRIMARY KEY (symbol, date)
);

CREATE TABLE ref_members (
    index_code  TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    weight      REAL,
    source      TEXT NOT NULL,
    PRIMARY KEY (index_code, symbol, valid_from)
);

CREATE TABLE ref_status (
    symbol      TEXT NOT NULL,
    kind        TEXT NOT NULL,         -- listed | st | suspended
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    note        TEXT,
    source      TEXT NOT NULL,
    PRIMARY KEY (symbol, kind, valid_from)
);
