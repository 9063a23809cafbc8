//! `plumewatch stream`: real-time detection line by line, alerts as plumes complete.

use crate::scan::parse_wind;
use anyhow::{bail, Context};
use clap::Args;
use plumewatch_core::geo::GeoTransform;
use plumewatch_core::quantify::Wind;
use plumewatch_scan::config::{Detector, FlightLine, ScanConfig, Statistics};
use plumewatch_scan::stream::input::{FrameHeader, FrameReader};
use plumewatch_scan::stream::{Alert, InputLine, LinePool, Stream, StreamSettings, StreamSetup};
use plumewatch_scan::window::{GasWindow, Window};
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flags of `plumewatch stream`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// A cube to replay line by line (any cube plumewatch reads).
    #[arg(required_unless_present_any = ["stdin", "listen"], conflicts_with_all = ["stdin", "listen"])]
    pub cube: Option<PathBuf>,
    /// Read raw frames from standard input (a JSON header line, then frames; see the README).
    #[arg(long, conflicts_with = "listen")]
    pub stdin: bool,
    /// Accept one sender of raw frames on this TCP address (e.g. 127.0.0.1:5000).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Replay at this many lines per second (default: as fast as possible).
    #[arg(long, value_name = "HZ")]
    pub line_rate: Option<f64>,
    /// Wind at the time of the flight: SPEED,DIR (m/s at 10 m, degrees it blows from).
    #[arg(long, value_parser = parse_wind)]
    pub wind: Option<Wind>,
    /// POST each alert as JSON to this http:// URL (retried, never blocks detection).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Serve alerts as Server-Sent Events on this address (e.g. 127.0.0.1:8090).
    #[arg(long, value_name = "ADDR")]
    pub sse: Option<String>,
    /// Lines held before the first statistics [default: 512].
    #[arg(long, value_name = "LINES")]
    pub warmup: Option<usize>,
    /// e-folding length of the background statistics, in lines [default: 2000].
    #[arg(long, value_name = "LINES")]
    pub memory: Option<f64>,
    /// Keep every pixel in the background statistics, plume pixels included (as a
    /// one-pass `scan` does).
    #[arg(long)]
    pub keep_flagged: bool,
    /// Do not scale down the score of pixels far outside their column's statistics
    /// (the plain matched filter's score).
    #[arg(long)]
    pub no_outlier_scaling: bool,
    /// Also write each alert as a JSON line here (`-` = standard output).
    #[arg(long, value_name = "PATH")]
    pub alerts: Option<String>,
    /// Gas (built-in name or LUT) [default: ch4].
    #[arg(long)]
    pub gas: Option<String>,
    /// Detector: amf (default) or mf.
    #[arg(long, value_parser = ["amf", "mf"])]
    pub algo: Option<String>,
    /// Gas window LO,HI in nm (or LO,HI+LO,HI) [default: chosen from the bands].
    #[arg(long, value_parser = Window::parse)]
    pub window: Option<Window>,
    /// Pixel size in m, for input without georeferencing.
    #[arg(long)]
    pub gsd: Option<f64>,
    /// Per-pixel false-alarm rate of the CFAR seed threshold [default: 1e-4].
    #[arg(long)]
    pub far: Option<f64>,
    /// The operating point: the most false sites per km² a reported source may be
    /// expected to bring, read from the empirical null of the warm-up lines (the same
    /// segmentation on the negated score, counting what vetting would keep); it
    /// replaces the Gaussian false-alarm limit (`none` keeps that limit) [default: 0.1,
    /// as `scan`].
    #[arg(long, value_name = "RATE|none", value_parser = crate::scan::parse_operating_point)]
    pub false_sites_per_km2: Option<crate::scan::OperatingPoint>,
    /// Vetting: alert only on candidates whose probability of being gas is at least P
    /// (needs the wind; 0 alerts on every candidate the rules keep) [default: 0.575, the
    /// threshold fitted for per-column statistics].
    #[arg(long, value_name = "P", value_parser = crate::scan::parse_probability)]
    pub min_gas_probability: Option<f64>,
    /// Relative 1-σ error of the wind speed given (0.5 = 50 %); it widens the alerts'
    /// rate uncertainty [default: 0.5].
    #[arg(long, value_name = "REL", value_parser = crate::scan::parse_wind_error)]
    pub wind_error: Option<f64>,
    /// Flight length in lines that a candidate's false-alarm probability refers to when
    /// the input's length is unknown (frames) [default: 5000].
    #[arg(long, value_name = "LINES")]
    pub reference_lines: Option<usize>,
    /// Lines read per batch when replaying as fast as possible [default: 64].
    #[arg(long, default_value_t = 64)]
    pub chunk: usize,
    /// Skip the end-of-flight outputs of `scan` (rasters, sites, report): only alerts
    /// and stream.json (no map spool on disk).
    #[arg(long)]
    pub no_scan_outputs: bool,
    /// Replace an existing output folder.
    #[arg(long)]
    pub overwrite: bool,
    /// Output folder: alerts.jsonl as they happen, then scan's outputs for the lines seen.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Where lines come from, on a reader thread.
enum Source {
    Cube(PathBuf),
    Frames(String),
}

struct Opened {
    meta: plumewatch_io::CubeMeta,
    name: String,
    path: PathBuf,
    total_lines: Option<usize>,
    /// Pixel size the input declares (a frame header's `gsd_m`).
    gsd_m: Option<f64>,
}

/// What the reader thread sends.
enum Batch {
    Lines(Vec<InputLine>, Instant),
    End,
    Failed(String),
}

/// Runs `plumewatch stream`.
pub fn run(args: StreamArgs, quiet: bool) -> anyhow::Result<()> {
    let _crs = plumewatch_io::open_crs_database_in_background();
    let start = Instant::now();
    if args.chunk == 0 {
        bail!("--chunk: expected at least 1 line");
    }
    if let Some(r) = args.line_rate {
        if !(r.is_finite() && r > 0.0) {
            bail!("--line-rate: expected a positive number of lines per second, got {r}");
        }
    }
    let webhook = match &args.webhook {
        Some(url) => Some(Webhook::parse(url)?),
        None => None,
    };
    prepare_output(&args.output, args.overwrite)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    // Batches read ahead of the stream. Each holds its lines' buffers: a replay as
    // fast as possible reads batches of `--chunk` lines (64 lines of about 260 kB), and
    // two keep it ahead of the stream; single lines (frames from a sensor, or a replay
    // at its line rate) queue up to 8.
    let batches = args.cube.is_some() && args.line_rate.is_none() && args.chunk > 1;
    let depth = if batches { 2 } else { 8 };
    let (tx, rx) = mpsc::sync_channel::<Batch>(depth);
    // Open the input (for frames: accept the sender and read the header).
    let (opened, start_reader) = open_source(&args)?;
    let gas = args
        .gas
        .clone()
        .unwrap_or_else(|| ScanConfig::new(Vec::new()).gas);
    let detector = match args.algo.as_deref() {
        Some("mf") => Detector::Mf,
        _ => Detector::Amf,
    };
    // The stream's statistics are per detector column: the vetting fitted for them.
    let mut pass = ScanConfig::new(Vec::new()).analysis;
    pass.vetting = pass.vetting.for_column_statistics();
    if let Some(op) = args.false_sites_per_km2 {
        pass.false_sites_per_km2 = op.limit();
    }
    if let Some(e) = args.wind_error {
        pass.quantify.wind_rel_error = e;
    }
    if let Some(m) = args.min_gas_probability {
        pass.vetting.min_gas_probability = Some(m);
    }
    if let Some(f) = args.far {
        pass.cfar.far = f;
    }
    // Only candidates that can be reported get the narrow-band check and a rate.
    pass.analyse_not_significant = false;
    pass.quantify.column_mass_kg_m2_per_ppm_m =
        plumewatch_io::gas_lut::column_mass_kg_m2_per_ppm_m(&gas)?;
    let saturation = detector.detect_params().saturation;
    let window = GasWindow::for_cube(
        &opened.path,
        &opened.meta,
        &gas,
        args.window.as_ref(),
        None,
        saturation.as_ref(),
    )?;
    let window_nm = match &args.window {
        Some(w) => w.clone(),
        None => Window::One(plumewatch_scan::window::auto_window(
            opened.meta.wavelength_nm.as_deref().unwrap_or_default(),
            opened.meta.bad_bands.as_deref(),
        )?),
    };
    let transform = match (&opened.meta.georef, args.gsd.or(opened.gsd_m)) {
        (Some(g), _) => GeoTransform::new(g.geo_transform)?,
        (None, Some(gsd)) => GeoTransform::north_up(0.0, 0.0, gsd)?,
        (None, None) => bail!(
            "{}: map info: the input has no georeferencing; give its pixel size (--gsd M, or gsd_m in the frame header)",
            opened.path.display()
        ),
    };
    let crs = opened.meta.georef.as_ref().and_then(|g| g.wkt.clone());
    let setup = StreamSetup {
        name: opened.name.clone(),
        samples: opened.meta.samples,
        window,
        detector,
        pass: pass.clone(),
        transform,
        crs: crs.clone(),
        wind: args.wind,
        total_lines: opened.total_lines,
    };
    let evidence_dir = args.output.join("alerts");
    std::fs::create_dir_all(&evidence_dir)
        .with_context(|| format!("{}: cannot create", evidence_dir.display()))?;
    let spool_dir = args.output.join(".spool");
    let settings = StreamSettings {
        warmup_lines: args
            .warmup
            .unwrap_or(StreamSettings::default().warmup_lines),
        evidence_dir: Some(evidence_dir),
        memory_lines: args
            .memory
            .unwrap_or(StreamSettings::default().memory_lines),
        exclude_flagged: !args.keep_flagged,
        outlier_scaling: !args.no_outlier_scaling,
        reference_lines: args
            .reference_lines
            .unwrap_or(StreamSettings::default().reference_lines),
        spool_dir: (!args.no_scan_outputs).then(|| spool_dir.clone()),
        ..StreamSettings::default()
    };
    let mut stream = Stream::new(setup, settings)?;
    start_reader(
        stream.staged_bands().to_vec(),
        tx,
        args.chunk,
        args.line_rate,
        Arc::clone(&stop),
        stream.line_pool(),
    );

    // Alert delivery.
    let alerts_path = args.output.join("alerts.jsonl");
    let mut sinks = AlertSinks::open(
        &alerts_path,
        args.alerts.as_deref(),
        webhook,
        args.sse.as_deref(),
    )?;
    let progress = crate::progress::TerminalProgress::new(quiet);
    use plumewatch_scan::Progress;
    progress.stage(
        &format!("stream {}", opened.name),
        opened.total_lines.unwrap_or(0) as u64,
    );

    let mut arrivals: VecDeque<(usize, Instant)> = VecDeque::new();
    let mut latencies: Vec<(String, usize, f64)> = Vec::new();
    let mut received = 0usize;
    let mut failure: Option<anyhow::Error> = None;
    let mut interrupted = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let batch = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(b) => b,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match batch {
            Batch::Lines(lines, arrived) => {
                let n = lines.len();
                for i in 0..n {
                    arrivals.push_back((received + i, arrived));
                }
                while arrivals.len() > 8192 {
                    arrivals.pop_front();
                }
                received += n;
                match stream.push(lines) {
                    Ok(alerts) => {
                        sinks.deliver(&alerts, &arrivals, &mut latencies)?;
                    }
                    Err(e) => {
                        failure = Some(e.into());
                        break;
                    }
                }
                progress.advance(n as u64);
            }
            Batch::End => break,
            Batch::Failed(msg) => {
                failure = Some(anyhow::anyhow!(msg));
                break;
            }
        }
    }
    progress.finish();
    // The alerts already sent stay; the plumes still open are analysed with the lines
    // there are, whatever ended the input.
    let alerts = stream.finish()?;
    sinks.deliver(&alerts, &arrivals, &mut latencies)?;
    stream.flush_chips()?;
    sinks.close();
    let summary = StreamSummary::new(
        &stream,
        &latencies,
        &sinks.decisions,
        start,
        interrupted,
        failure.as_ref(),
    );
    plumewatch_io::atomic::write_bytes(
        &args.output.join("stream.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if !args.no_scan_outputs && stream.stats().lines_detected > 0 {
        write_scan_outputs(
            &mut stream,
            &opened,
            &gas,
            detector,
            window_nm,
            pass,
            args.wind,
            crs,
            start,
            &args.output,
        )?;
    }
    let _ = std::fs::remove_dir_all(&spool_dir);
    if !quiet {
        eprintln!(
            "stream: {} line(s), {} alert(s), {} plume(s) analysed in {:.1} s{} → {}",
            stream.stats().lines,
            stream.stats().alerts,
            stream.stats().plumes_analysed,
            start.elapsed().as_secs_f64(),
            if interrupted { " (interrupted)" } else { "" },
            crate::progress::printable(&args.output)
        );
    }
    match failure {
        Some(e) => Err(e.context(format!(
            "{} alert(s) before the error are in {}",
            stream.stats().alerts,
            alerts_path.display()
        ))),
        None => Ok(()),
    }
}

/// Creates the output folder; an existing one is refused unless it holds a previous
/// stream or scan output (or `--overwrite`).
fn prepare_output(out: &Path, overwrite: bool) -> anyhow::Result<()> {
    if out.exists() {
        let previous = ["stream.json", "scan.json", "alerts.jsonl"]
            .iter()
            .any(|f| out.join(f).exists());
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("{}: output folder: cannot read", out.display()))?
            .next()
            .is_none();
        if !(overwrite || previous || empty) {
            bail!(
                "{}: output folder: holds files that are not a previous stream or scan output (use --overwrite to replace it)",
                out.display()
            );
        }
        std::fs::remove_dir_all(out)
            .with_context(|| format!("{}: cannot replace", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    Ok(())
}

type Starter = Box<
    dyn FnOnce(Vec<usize>, mpsc::SyncSender<Batch>, usize, Option<f64>, Arc<AtomicBool>, LinePool),
>;

/// Opens the input and returns its metadata and a function that starts the reader
/// thread once the stream knows which bands it reads.
fn open_source(args: &StreamArgs) -> anyhow::Result<(Opened, Starter)> {
    let source = match (&args.cube, args.stdin, &args.listen) {
        (Some(c), _, _) => Source::Cube(c.clone()),
        (None, true, _) => Source::Frames("stdin".into()),
        (None, false, Some(a)) => Source::Frames(a.clone()),
        _ => bail!("give a cube to replay, --stdin or --listen ADDR"),
    };
    match source {
        Source::Cube(path) => {
            let cube = plumewatch_io::open_cube(&path)?;
            let meta = cube.meta().clone();
            // The flight line's name as `scan` gives it (alert ids, raster names).
            let name = ScanConfig::new(vec![FlightLine::new(path.clone())])
                .line_names()
                .remove(0);
            let opened = Opened {
                gsd_m: None,
                total_lines: Some(meta.lines),
                meta,
                name,
                path: path.clone(),
            };
            let start: Starter = Box::new(move |bands, tx, chunk, rate, stop, pool| {
                std::thread::spawn(move || {
                    replay(cube, &path, &bands, tx, (chunk, rate), &stop, &pool)
                });
            });
            Ok((opened, start))
        }
        Source::Frames(addr) => {
            let (reader, label): (Box<dyn std::io::BufRead + Send>, String) = if addr == "stdin" {
                (
                    Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin())),
                    "stdin".into(),
                )
            } else {
                let listener = std::net::TcpListener::bind(&addr)
                    .with_context(|| format!("--listen {addr}: cannot listen"))?;
                let (sock, peer) = listener
                    .accept()
                    .with_context(|| format!("--listen {addr}: accepting a sender"))?;
                (
                    Box::new(std::io::BufReader::with_capacity(1 << 20, sock)),
                    format!("tcp {addr} (from {peer})"),
                )
            };
            let frames = FrameReader::open(reader, &label)?;
            let header: FrameHeader = frames.header().clone();
            let opened = Opened {
                meta: header.meta(&label),
                gsd_m: header.gsd_m,
                name: header.name.clone().unwrap_or_else(|| "stream".into()),
                path: PathBuf::from(&label),
                total_lines: None,
            };
            let start: Starter = Box::new(move |bands, tx, _chunk, _rate, stop, _pool| {
                std::thread::spawn(move || read_frames(frames, &bands, tx, &stop));
            });
            Ok((opened, start))
        }
    }
}

/// Replays a cube: batches of `chunk` lines read in parallel, or one line at a time at
/// `rate` lines per second.
fn replay(
    cube: Box<dyn plumewatch_io::RadianceCube>,
    path: &Path,
    bands: &[usize],
    tx: mpsc::SyncSender<Batch>,
    (chunk, rate): (usize, Option<f64>),
    stop: &AtomicBool,
    pool: &LinePool,
) {
    use rayon::prelude::*;
    let lines = cube.meta().lines;
    let w = cube.meta().samples;
    let nb = bands.len();
    let step = if rate.is_some() { 1 } else { chunk };
    let t0 = Instant::now();
    let mut next = 0usize;
    while next < lines {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(r) = rate {
            let due = t0 + Duration::from_secs_f64(next as f64 / r);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let end = (next + step).min(lines);
        let read: Result<Vec<InputLine>, String> = (next..end)
            .into_par_iter()
            .map(|l| {
                let mut values = pool.take(w * nb);
                cube.read_line(l, bands, &mut values)
                    .map_err(|e| format!("{}: line {l}: {e}", path.display()))?;
                Ok(InputLine {
                    values,
                    lat_lon: None,
                })
            })
            .collect();
        let msg = match read {
            Ok(v) => Batch::Lines(v, Instant::now()),
            Err(e) => Batch::Failed(e),
        };
        let failed = matches!(msg, Batch::Failed(_));
        if tx.send(msg).is_err() || failed {
            return;
        }
        next = end;
    }
    let _ = tx.send(Batch::End);
}

fn read_frames(
    mut frames: FrameReader<Box<dyn std::io::BufRead + Send>>,
    bands: &[usize],
    tx: mpsc::SyncSender<Batch>,
    stop: &AtomicBool,
) {
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let msg = match frames.next_line(bands) {
            Ok(Some(l)) => Batch::Lines(vec![l], Instant::now()),
            Ok(None) => Batch::End,
            Err(e) => Batch::Failed(e.to_string()),
        };
        let last = !matches!(msg, Batch::Lines(..));
        if tx.send(msg).is_err() || last {
            return;
        }
    }
}

/// Where alerts go: the alerts file (fsync'd per alert), an optional copy, the webhook
/// queue and the SSE clients.
struct AlertSinks {
    file: std::fs::File,
    copy: Option<Box<dyn Write>>,
    webhook: Option<mpsc::SyncSender<String>>,
    /// Says when the webhook thread has delivered (or given up on) every queued alert.
    webhook_done: Option<mpsc::Receiver<()>>,
    sse: Option<mpsc::SyncSender<String>>,
    dropped: usize,
    /// Lines from each alerted plume's last line to the line that completed it.
    decisions: Vec<usize>,
}

impl AlertSinks {
    fn open(
        path: &Path,
        copy: Option<&str>,
        webhook: Option<Webhook>,
        sse: Option<&str>,
    ) -> anyhow::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let copy: Option<Box<dyn Write>> = match copy {
            None => None,
            Some("-") => Some(Box::new(std::io::stdout())),
            Some(p) => Some(Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("--alerts {p}: cannot open"))?,
            )),
        };
        let (webhook, webhook_done) = match webhook {
            Some(w) => {
                let (tx, rx) = mpsc::sync_channel::<String>(256);
                let (done_tx, done_rx) = mpsc::channel();
                std::thread::spawn(move || {
                    w.run(rx);
                    let _ = done_tx.send(());
                });
                (Some(tx), Some(done_rx))
            }
            None => (None, None),
        };
        let sse = match sse {
            Some(addr) => Some(crate::stream_sse::serve(addr)?),
            None => None,
        };
        Ok(Self {
            file,
            copy,
            webhook,
            webhook_done,
            sse,
            dropped: 0,
            decisions: Vec::new(),
        })
    }

    fn deliver(
        &mut self,
        alerts: &[Alert],
        arrivals: &VecDeque<(usize, Instant)>,
        latencies: &mut Vec<(String, usize, f64)>,
    ) -> anyhow::Result<()> {
        for a in alerts {
            let json = serde_json::to_string(a)?;
            writeln!(self.file, "{json}").context("alerts.jsonl: cannot write")?;
            self.file.sync_data().context("alerts.jsonl: cannot sync")?;
            self.decisions
                .push(a.closed_by_line.saturating_sub(a.line_range[1]));
            if let Some(&(_, t)) = arrivals.iter().rev().find(|(l, _)| *l == a.closed_by_line) {
                latencies.push((a.id.clone(), a.line_range[1], t.elapsed().as_secs_f64()));
            }
            if let Some(c) = &mut self.copy {
                writeln!(c, "{json}").context("--alerts: cannot write")?;
                c.flush().context("--alerts: cannot write")?;
            }
            for q in [&self.webhook, &self.sse].into_iter().flatten() {
                if q.try_send(json.clone()).is_err() {
                    self.dropped += 1;
                }
            }
        }
        Ok(())
    }

    fn close(&mut self) {
        self.webhook = None;
        // An unreachable webhook must not hold the end of the run: the queue gets 30 s.
        if let Some(done) = self.webhook_done.take() {
            if done.recv_timeout(Duration::from_secs(30)).is_err() {
                eprintln!(
                    "stream: the webhook did not take every alert within 30 s; alerts.jsonl has them all"
                );
            }
        }
        self.sse = None;
        if self.dropped > 0 {
            eprintln!(
                "stream: {} alert deliveries dropped (webhook or SSE queue full); alerts.jsonl has them all",
                self.dropped
            );
        }
    }
}

/// An http:// webhook: each alert POSTed as JSON, three tries with back-off.
struct Webhook {
    host: String,
    port: u16,
    path: String,
}

impl Webhook {
    fn parse(url: &str) -> anyhow::Result<Self> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("--webhook {url}: expected an http:// URL (put a TLS proxy in front for https)");
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse()
                    .with_context(|| format!("--webhook {url}: port {p:?} is not a number"))?,
            ),
            None => (hostport.to_string(), 80),
        };
        if host.is_empty() {
            bail!("--webhook {url}: expected a host");
        }
        Ok(Self { host, port, path })
    }

    fn run(self, rx: mpsc::Receiver<String>) {
        for body in rx {
            for attempt in 0..3 {
                if self.post(&body).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
        }
    }

    fn post(&self, body: &str) -> std::io::Result<()> {
        use std::io::Read;
        use std::net::ToSocketAddrs;
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_write_timeout(Some(Duration::from_secs(2)))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.path,
            self.host,
            body.len()
        )?;
        let mut status = [0u8; 12];
        s.read_exact(&mut status)?;
        if &status[9..10] == b"2" {
            Ok(())
        } else {
            Err(std::io::Error::other("status not 2xx"))
        }
    }
}

#[derive(serde::Serialize)]
struct StreamSummary {
    plumewatch_version: &'static str,
    generated_utc: String,
    pass: String,
    lines: usize,
    samples: usize,
    alerts: usize,
    plumes_analysed: usize,
    max_lines_held: usize,
    filter_refreshes: usize,
    phases: plumewatch_scan::stream::StreamStats,
    seconds: f64,
    pixels_per_second: f64,
    latency_s_p50: Option<f64>,
    latency_s_p99: Option<f64>,
    latency_s_max: Option<f64>,
    /// Lines between a plume's last line and the line that completed its decision
    /// (margins, quiet lines, the fragment rule's reach), p50 and p99.
    decision_lines_p50: Option<usize>,
    decision_lines_p99: Option<usize>,
    interrupted: bool,
    error: Option<String>,
    settings: StreamSettings,
    candidates: Vec<plumewatch_scan::stream::StreamCandidate>,
    /// Per alert: its id, its plume's last line and the seconds from the arrival of the
    /// line that completed it to the alert on disk.
    alert_latency_s: Vec<(String, usize, f64)>,
}

impl StreamSummary {
    fn new(
        s: &Stream,
        lat_by_id: &[(String, usize, f64)],
        decisions: &[usize],
        start: Instant,
        interrupted: bool,
        error: Option<&anyhow::Error>,
    ) -> Self {
        let mut d = decisions.to_vec();
        d.sort_unstable();
        let mut sorted: Vec<f64> = lat_by_id.iter().map(|l| l.2).collect();
        sorted.sort_by(f64::total_cmp);
        let secs = start.elapsed().as_secs_f64();
        let st = s.stats();
        Self {
            plumewatch_version: env!("CARGO_PKG_VERSION"),
            generated_utc: plumewatch_scan::result::utc_now(),
            pass: s.setup().name.clone(),
            lines: st.lines,
            samples: s.setup().samples,
            alerts: st.alerts,
            plumes_analysed: st.plumes_analysed,
            max_lines_held: st.max_lines_held,
            filter_refreshes: st.refreshes,
            phases: st.clone(),
            seconds: secs,
            pixels_per_second: (st.lines * s.setup().samples) as f64 / secs,
            latency_s_p50: nearest_rank(&sorted, 0.5),
            latency_s_p99: nearest_rank(&sorted, 0.99),
            latency_s_max: sorted.last().copied(),
            decision_lines_p50: nearest_rank(&d, 0.5),
            decision_lines_p99: nearest_rank(&d, 0.99),
            interrupted,
            error: error.map(|e| format!("{e:#}")),
            settings: s.settings().clone(),
            candidates: s.candidates(),
            alert_latency_s: lat_by_id.to_vec(),
        }
    }
}

/// The value at fraction `p` of `sorted` (rounded rank), `None` when it is empty.
fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[(last as f64 * p).round() as usize])
}

/// Writes `scan`'s outputs for the lines seen, from the stream's own maps and
/// candidates, beside alerts.jsonl.
#[allow(clippy::too_many_arguments)]
fn write_scan_outputs(
    stream: &mut Stream,
    opened: &Opened,
    gas: &str,
    detector: Detector,
    window_nm: Window,
    pass: plumewatch_core::scan::PassParams,
    wind: Option<Wind>,
    crs: Option<String>,
    start: Instant,
    out: &Path,
) -> anyhow::Result<()> {
    let maps = stream.spooled_maps()?;
    let analysis = stream.flight_analysis()?;
    let verdicts = analysis
        .plumes
        .plumes
        .iter()
        .zip(&analysis.located)
        .map(|(p, l)| plumewatch_scan::Verdict::of(&analysis, p, l))
        .collect();
    let setup = stream.setup();
    let georef = opened.meta.georef.clone().map(|mut g| {
        g.wkt = crs.clone();
        g
    });
    let line = plumewatch_scan::LineResult {
        name: setup.name.clone(),
        path: opened.path.clone(),
        bands: opened.meta.bands,
        georef,
        ortho: None,
        transform: setup.transform,
        statistics: Statistics::Columns,
        surface_classes: 0,
        maps,
        analysis,
        verdicts,
        seconds: start.elapsed().as_secs_f64(),
    };
    let mut config = ScanConfig::new(vec![FlightLine {
        cube: opened.path.clone(),
        glt: None,
        wind,
        name: Some(setup.name.clone()),
    }]);
    config.gas = gas.to_string();
    config.detector = detector;
    config.window_nm = window_nm;
    config.analysis = pass;
    config.detection_limit.runs = 0;
    config.stats = Statistics::Columns;
    config.classes = 0;
    let result = plumewatch_scan::pipeline::merge_lines(&config, vec![line], None, start)?;
    let staging = out.join(".scan-outputs");
    plumewatch_scan::write_outputs(&result, &staging, plumewatch_scan::Replace::Anything)?;
    for entry in std::fs::read_dir(&staging).with_context(|| format!("{}", staging.display()))? {
        let entry = entry?;
        // The alerts raised in real time stay; the scan's own record of its sources
        // would replace them.
        if entry.file_name() == "alerts.jsonl" {
            continue;
        }
        let to = out.join(entry.file_name());
        if to.exists() {
            if to.is_dir() {
                std::fs::remove_dir_all(&to)?;
            } else {
                std::fs::remove_file(&to)?;
            }
        }
        std::fs::rename(entry.path(), &to)
            .with_context(|| format!("{}: cannot move into place", to.display()))?;
    }
    std::fs::remove_dir_all(&staging)?;
    Ok(())
}
