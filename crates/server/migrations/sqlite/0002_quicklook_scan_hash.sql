-- plumewatch serve, schema version 2 (SQLite).
-- Each flight line's quicklook for the map: the albedo factor the scan writes as
-- <line>_albedo.tif, on the same lon/lat grid as its enhancement (f32 little-endian);
-- NULL for scans ingested before the scan wrote it.
ALTER TABLE flight_lines ADD COLUMN quicklook BLOB;

-- SHA-256 of the files an ingest read: the same output set ingested twice into one
-- campaign is recognised instead of duplicating its sites.
ALTER TABLE scans ADD COLUMN content_hash TEXT;
CREATE UNIQUE INDEX scans_campaign_content ON scans(campaign_id, content_hash);
