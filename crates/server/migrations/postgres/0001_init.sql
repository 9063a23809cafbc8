-- plumewatch serve, schema version 1 (PostgreSQL).
CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_at  TEXT NOT NULL
);

-- API tokens and browser sessions. Only the SHA-256 of the secret is stored; the row is
-- found by its public key id, then the hashes are compared in constant time.
CREATE TABLE tokens (
    key_id      TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    secret_hash TEXT NOT NULL,
    csrf_hash   TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE campaigns (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE grants (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, campaign_id)
);

CREATE TABLE scans (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    record      TEXT NOT NULL
);

-- One enhancement raster (ppm·m) per flight line, f32 little-endian, row-major
-- (line, sample); lon/lat of the raster corners for the map tiles.
CREATE TABLE flight_lines (
    id          BIGSERIAL PRIMARY KEY,
    scan_id     BIGINT NOT NULL REFERENCES scans(id),
    name        TEXT NOT NULL,
    lines       BIGINT NOT NULL,
    samples     BIGINT NOT NULL,
    geotransform TEXT NOT NULL,
    west        DOUBLE PRECISION NOT NULL,
    south       DOUBLE PRECISION NOT NULL,
    east        DOUBLE PRECISION NOT NULL,
    north       DOUBLE PRECISION NOT NULL,
    enhancement BYTEA NOT NULL
);

CREATE TABLE sites (
    id          BIGSERIAL PRIMARY KEY,
    scan_id     BIGINT NOT NULL REFERENCES scans(id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    site_key    TEXT NOT NULL,
    rank        BIGINT NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    rate_kg_h   DOUBLE PRECISION,
    rate_sigma_kg_h DOUBLE PRECISION,
    detected_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'confirmed', 'dismissed', 'needs_reflight')),
    properties  TEXT NOT NULL,
    evidence    BYTEA
);
CREATE INDEX sites_campaign ON sites(campaign_id, rate_kg_h);

CREATE TABLE plumes (
    id          BIGSERIAL PRIMARY KEY,
    scan_id     BIGINT NOT NULL REFERENCES scans(id),
    site_id     BIGINT REFERENCES sites(id),
    geometry    TEXT NOT NULL,
    properties  TEXT NOT NULL
);
CREATE INDEX plumes_site ON plumes(site_id);

CREATE TABLE reviews (
    id          BIGSERIAL PRIMARY KEY,
    site_id     BIGINT NOT NULL REFERENCES sites(id),
    user_id     BIGINT NOT NULL REFERENCES users(id),
    verdict     TEXT NOT NULL CHECK (verdict IN ('confirmed', 'dismissed', 'needs_reflight')),
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX reviews_site ON reviews(site_id);

CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    user_id     BIGINT NOT NULL REFERENCES users(id),
    config      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    stage       TEXT NOT NULL DEFAULT '',
    progress    DOUBLE PRECISION NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    scan_id     BIGINT REFERENCES scans(id),
    created_at  TEXT NOT NULL,
    finished_at TEXT
);

-- The audit trail: append-only, each record chained to the previous one by SHA-256.
CREATE TABLE audit (
    seq         BIGINT PRIMARY KEY,
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

CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP;
END
$$;

CREATE TRIGGER audit_refuse_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();

CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
