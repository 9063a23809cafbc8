-- plumewatch serve, schema version 1 (SQLite).
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_at  TEXT NOT NULL
);

-- API tokens and browser sessions. Only the SHA-256 of the secret is stored; the row is
-- found by its public key id, then the hashes are compared in constant time.
CREATE TABLE tokens (
    key_id      TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    secret_hash TEXT NOT NULL,
    csrf_hash   TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE grants (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, campaign_id)
);

CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    record      TEXT NOT NULL
);

-- One enhancement raster (ppm·m) per flight line, f32 little-endian, row-major
-- (line, sample); lon/lat of the raster corners for the map tiles.
CREATE TABLE flight_lines (
    id          INTEGER PRIMARY KEY,
    scan_id     INTEGER NOT NULL REFERENCES scans(id),
    name        TEXT NOT NULL,
    lines       INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    geotransform TEXT NOT NULL,
    west        DOUBLE PRECISION NOT NULL,
    south       DOUBLE PRECISION NOT NULL,
    east        DOUBLE PRECISION NOT NULL,
    north       DOUBLE PRECISION NOT NULL,
    enhancement BLOB NOT NULL
);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    scan_id     INTEGER NOT NULL REFERENCES scans(id),
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    site_key    TEXT NOT NULL,
    rank        INTEGER NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    rate_kg_h   DOUBLE PRECISION,
    rate_sigma_kg_h DOUBLE PRECISION,
    detected_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'confirmed', 'dismissed', 'needs_reflight')),
    properties  TEXT NOT NULL,
    evidence    BLOB
);
CREATE INDEX sites_campaign ON sites(campaign_id, rate_kg_h);

CREATE TABLE plumes (
    id          INTEGER PRIMARY KEY,
    scan_id     INTEGER NOT NULL REFERENCES scans(id),
    site_id     INTEGER REFERENCES sites(id),
    geometry    TEXT NOT NULL,
    properties  TEXT NOT NULL
);
CREATE INDEX plumes_site ON plumes(site_id);

CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    site_id     INTEGER NOT NULL REFERENCES sites(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    verdict     TEXT NOT NULL CHECK (verdict IN ('confirmed', 'dismissed', 'needs_reflight')),
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX reviews_site ON reviews(site_id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    config      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    stage       TEXT NOT NULL DEFAULT '',
    progress    DOUBLE PRECISION NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    scan_id     INTEGER REFERENCES scans(id),
    created_at  TEXT NOT NULL,
    finished_at TEXT
);

-- The audit trail: append-only, each record chained to the previous one by SHA-256.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    client      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit(ts);

CREATE TRIGGER audit_refuse_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused');
END;

CREATE TRIGGER audit_refuse_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only: DELETE refused');
END;
