-- Share links: immutable forecast snapshots, addressed by an unguessable id. Rows are only
-- ever inserted; nothing updates or lists them.
CREATE TABLE shares (
    id         TEXT PRIMARY KEY,       -- 22 characters of URL-safe base64 (128 random bits)
    created_at TEXT NOT NULL,          -- RFC 3339, UTC
    sha256     TEXT NOT NULL,          -- of `body`, to detect corruption
    body       TEXT NOT NULL           -- the ShareSnapshot as JSON
) WITHOUT ROWID;
