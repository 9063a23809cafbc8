//! `plumewatch serve`: opens the database, starts the job queue and serves the API
//! and viewer over HTTPS (rustls), or plain HTTP on loopback.

use crate::api::{self, ApiConfig, AppState, Https};
use crate::error::{Error, Result};
use crate::jobs::{Jobs, ScanRunner};
use crate::Db;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `plumewatch serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// SQLite file or `postgres://` URL.
    pub db: String,
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Directory under which submitted scans may read cubes.
    pub data_dir: Option<PathBuf>,
    /// Directory for scan job outputs (default: a `jobs` folder beside an SQLite
    /// database, else the system temporary directory).
    pub work_dir: Option<PathBuf>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address.
    pub insecure_http: bool,
    /// Scans run at once.
    pub concurrency: usize,
    /// API limits.
    pub api: ApiConfig,
}

/// Refuses plain HTTP on a non-loopback address unless `insecure_http`, and a
/// certificate without a key (or the reverse).
pub fn check_transport(opts: &ServeOptions) -> Result<bool> {
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(_), Some(_)) => true,
        (None, None) => false,
        _ => {
            return Err(Error::Config(
                "--tls-cert and --tls-key go together: give both or neither".into(),
            ))
        }
    };
    if !tls && !opts.listen.ip().is_loopback() && !opts.insecure_http {
        return Err(Error::Config(format!(
            "refusing to serve plain HTTP on {}, which is not a loopback address: tokens, session cookies and \
             site data would cross the network unencrypted. Give --tls-cert and --tls-key, listen on 127.0.0.1, \
             or pass --insecure-http if something else (a TLS-terminating proxy) encrypts the traffic",
            opts.listen
        )));
    }
    Ok(tls)
}

/// Runs the server until interrupted (Ctrl-C / SIGTERM). Prints `listening on URL`
/// on stderr once the socket is bound.
pub async fn serve(opts: ServeOptions, runner: Arc<dyn ScanRunner>) -> Result<()> {
    let tls = check_transport(&opts)?;
    let mut opts = opts;
    resolve_basemap(&mut opts.api)?;
    let db = Db::open(&opts.db).await?;
    let work_dir = opts.work_dir.clone().unwrap_or_else(|| {
        let p = PathBuf::from(&opts.db);
        match (db.backend, p.parent()) {
            (crate::Backend::Sqlite, Some(parent)) => parent.join("plumewatch-jobs"),
            _ => std::env::temp_dir().join("plumewatch-jobs"),
        }
    });
    if let Some(d) = &opts.data_dir {
        if !d.is_dir() {
            return Err(Error::Config(format!(
                "--data-dir {}: not a directory",
                d.display()
            )));
        }
    }
    let jobs = Jobs::start(
        db.clone(),
        runner,
        opts.data_dir.clone(),
        work_dir,
        opts.concurrency,
    )
    .await?;
    let mut config = opts.api.clone();
    config.https = tls;
    let state = AppState::new(db, jobs, config);
    let mut app = api::router(state);
    if tls {
        app = app.layer(axum::Extension(Https));
    }
    let listener = std::net::TcpListener::bind(opts.listen)
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", opts.listen)))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("listener", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    if tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cert, key) = (
            opts.tls_cert.clone().unwrap_or_default(),
            opts.tls_key.clone().unwrap_or_default(),
        );
        let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "TLS certificate {} / key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })?;
        eprintln!("listening on https://{addr}");
        axum_server::from_tcp_rustls(listener, rustls_config)
            .handle(handle)
            .serve(service)
            .await
            .map_err(|e| Error::io("server", e))
    } else {
        eprintln!("listening on http://{addr}");
        axum_server::from_tcp(listener)
            .handle(handle)
            .serve(service)
            .await
            .map_err(|e| Error::io("server", e))
    }
}

/// Checks `--basemap`: an XYZ URL template (containing `://`) or a PMTiles file, which
/// moves to [`ApiConfig::basemap_pmtiles`](crate::api::ApiConfig::basemap_pmtiles).
pub fn resolve_basemap(api_config: &mut api::ApiConfig) -> Result<()> {
    let Some(b) = api_config.basemap.clone() else {
        return Ok(());
    };
    if b.contains("://") {
        api::check_basemap(&b)?;
    } else {
        let p = crate::basemap::Pmtiles::open(std::path::Path::new(&b))?;
        eprintln!(
            "basemap: {} ({} tiles, zoom {}-{})",
            p.path.display(),
            p.tile_type,
            p.min_zoom,
            p.max_zoom
        );
        api_config.basemap_pmtiles = Some(Arc::new(p));
        api_config.basemap = None;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
