-- Northbound (Stock Connect) holdings per stock and day (shared::reference::NorthboundRecord):
-- what HKEX disclosed for the day's close; a later import of the same day replaces it.
CREATE TABLE ref_northbound (
    symbol  TEXT NOT NULL,
    date    TEXT NOT NULL,             -- YYYY-MM-DD, the holding's day
    shares  REAL NOT NULL,
    ratio   REAL,                      -- percent of issued A shares
    source  TEXT NOT NULL,
    PRIMARY KEY (symbol, date)
);
