//! Checks that the web viewer's npm dependencies are installed: the server binary
//! embeds MapLibre GL JS and pmtiles from `web/node_modules` (run `npm ci` in crates/server/web,
//! or `bash scripts/setup-server.sh`).

use std::path::Path;

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    for file in [
        "maplibre-gl/dist/maplibre-gl.js",
        "maplibre-gl/dist/maplibre-gl.css",
        "pmtiles/dist/pmtiles.js",
    ] {
        let path = web.join("node_modules").join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if !path.is_file() {
            panic!(
                "\n\nplumewatch-server embeds the web viewer's JavaScript, but {} is missing.\n\
                 Install it from the committed lock file first:\n\n    (cd crates/server/web && npm ci)\n\n\
                 or run `bash scripts/setup-server.sh`.\n",
                path.display()
            );
        }
    }
}
