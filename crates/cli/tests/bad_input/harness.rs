//! The catalogue's fixtures and failure contract: a base folder of small valid inputs
//! (tiny ENVI cubes written here, and what the binary makes of them once), a fresh copy
//! for every case, and the checks every bad input must pass.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lines, samples and bands of the base cube (`cube.hdr`, float32 BIL).
pub const LINES: usize = 64;
pub const SAMPLES: usize = 8;
pub const BANDS: usize = 48;

/// Band centre of band `b` of the base cube, nm: 2100–2476 nm every 8 nm, so the
/// default CH4 window (2122–2488 nm) holds 45 bands, fewer than the 64 lines each
/// detector column's statistics use.
pub fn wavelength_nm(b: usize) -> f64 {
    2100.0 + 8.0 * b as f64
}

/// The ENVI header of a `lines × samples × bands` float32 BIL cube with the base cube's
/// band table (extended past 48 bands at the same spacing).
pub fn header(lines: usize, samples: usize, bands: usize) -> String {
    let list = |f: &dyn Fn(usize) -> f64| {
        (0..bands)
            .map(|b| format!("{:.1}", f(b)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "ENVI\ndescription = {{bad-input catalogue fixture}}\nsamples = {samples}\nlines = {lines}\nbands = {bands}\n\
         header offset = 0\nfile type = ENVI Standard\ndata type = 4\ninterleave = bil\nbyte order = 0\n\
         wavelength units = Nanometers\nwavelength = {{{}}}\nfwhm = {{{}}}\n",
        list(&wavelength_nm),
        list(&|_| 8.5)
    )
}

/// A deterministic value in [0, 1) for (line, sample, band).
fn unit_hash(l: usize, s: usize, b: usize) -> f32 {
    let mut x = (l as u64) << 40 ^ (s as u64) << 20 ^ b as u64 ^ 0x9e37_79b9_7f4a_7c15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// Radiance-like values (µW cm⁻² sr⁻¹ nm⁻¹, about 0.2–0.8): a smooth spectrum times a
/// per-pixel albedo, with 2 % noise, so that covariances are well conditioned.
pub fn radiance(l: usize, s: usize, b: usize) -> f32 {
    let albedo = 0.6 + 0.4 * unit_hash(l, s, 9999);
    let spectrum = 0.8 - 0.0006 * (8.0 * b as f32) + 0.05 * (0.7 * b as f32).sin();
    albedo * spectrum * (1.0 + 0.02 * (unit_hash(l, s, b) - 0.5))
}

/// Writes `stem.hdr` and `stem.img` (BIL float32) into `dir`.
pub fn write_cube(
    dir: &Path,
    stem: &str,
    (lines, samples, bands): (usize, usize, usize),
    value: impl Fn(usize, usize, usize) -> f32,
) {
    std::fs::write(
        dir.join(format!("{stem}.hdr")),
        header(lines, samples, bands),
    )
    .unwrap();
    let mut bytes = Vec::with_capacity(lines * samples * bands * 4);
    for l in 0..lines {
        for b in 0..bands {
            for s in 0..samples {
                bytes.extend_from_slice(&value(l, s, b).to_le_bytes());
            }
        }
    }
    std::fs::write(dir.join(format!("{stem}.img")), bytes).unwrap();
}

/// Replaces `from` by `to` in the text file `dir/file`; the replacement must happen.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{file} holds {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// WGS 84 / UTM zone 13N.
const UTM13N: &str = r#"PROJCS["WGS 84 / UTM zone 13N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-105],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","32613"]]"#;

/// Writes `text` to `dir/file`.
pub fn put(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// Makes a FIFO at `dir/name` (coreutils' mkfifo).
pub fn fifo(dir: &Path, name: &str) {
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    let ok = Command::new("mkfifo").arg(&p).status().unwrap();
    assert!(ok.success(), "mkfifo {}", p.display());
}

/// Runs the binary with `args` in `dir`, stdin closed; kills it after `limit`.
/// Returns (exit code, stdout, stderr), or `None` when it did not end in time.
pub fn run_in(dir: &Path, args: &[&str], limit: Duration) -> Option<(Option<i32>, String, String)> {
    let logs = tempfile::tempdir().unwrap();
    let (o, e) = (logs.path().join("out"), logs.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .spawn()
        .expect("the binary starts");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    status.map(|s| (s.code(), read(&o), read(&e)))
}

/// Runs a command that must succeed (fixture building); panics with its stderr.
fn run_ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) =
        run_in(dir, args, Duration::from_secs(300)).expect("fixture command ends");
    assert_eq!(code, Some(0), "fixture command {args:?} failed: {err}");
    out
}

/// The base folder, built once: `cube.hdr/.img` (64 × 8 × 48, no georeferencing),
/// `sources.json`, `wind.json`, `bands.csv`, `config.json` (the scan's own
/// `--print-config`), `truth/` (`simulate inject`'s truth), `det.tif` (`detect`),
/// `scanout/` (a complete `scan` output set), `db.sqlite` (a server database with user
/// alice). Each fixture command succeeding is the guard that the cases below fail
/// because of their one change, not because of the fixture.
pub fn base() -> &'static Path {
    static BASE: OnceLock<tempfile::TempDir> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_cube(d, "cube", (LINES, SAMPLES, BANDS), radiance);
        put(
            d,
            "sources.json",
            r#"[{"row": 30, "col": 4, "rate_kg_h": 500, "wind_speed_m_s": 3, "wind_dir_deg": 270}]"#,
        );
        put(d, "wind.json", r#"{"speed_m_s": 3, "from_deg": 270}"#);
        let mut csv = String::from("band,wavelength_nm,fwhm_nm\n");
        for b in 0..110 {
            csv.push_str(&format!("{},{:.1},10.0\n", b + 1, 1400.0 + 10.0 * b as f64));
        }
        put(d, "bands.csv", &csv);
        let config = run_ok(
            d,
            &["scan", "cube.hdr", "--gsd", "30", "--limit-runs", "0", "--print-config"],
        );
        put(d, "config.json", &config);
        run_ok(
            d,
            &["simulate", "inject", "--cube", "cube.hdr", "--sources", "sources.json", "--gsd", "30", "-o", "truth"],
        );
        for f in ["radiance.img", "radiance.hdr", "quicklook.png"] {
            let _ = std::fs::remove_file(d.join("truth").join(f));
        }
        run_ok(d, &["detect", "cube.hdr", "--algo", "amf", "-o", "det.tif", "--quiet"]);
        run_ok(d, &["eval", "--truth", "truth", "--enhancement", "det.tif", "-o", "ev", "--quiet"]);
        std::fs::remove_dir_all(d.join("ev")).unwrap();
        // The server ingests georeferenced scans: the same cube with a UTM grid.
        write_cube(d, "geo", (LINES, SAMPLES, BANDS), radiance);
        edit(
            d,
            "geo.hdr",
            "byte order = 0\n",
            &format!("byte order = 0\nmap info = {{UTM, 1, 1, 600000, 3500000, 30, 30, 13, North, WGS-84}}\ncoordinate system string = {{{UTM13N}}}\n"),
        );
        run_ok(
            d,
            &["scan", "geo.hdr", "--limit-runs", "0", "-o", "scanout", "--quiet"],
        );
        run_ok(d, &["ingest", "scanout", "--campaign", "c", "--db", "ingest.sqlite"]);
        for f in ["ingest.sqlite", "ingest.sqlite-wal", "ingest.sqlite-shm"] {
            let _ = std::fs::remove_file(d.join(f));
        }
        run_ok(d, &["users", "add", "alice", "--role", "analyst", "--db", "db.sqlite"]);
        dir
    })
    .path()
}

/// Copies the folder `from` into `to` (files, folders and symbolic links).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_dir() {
            copy_tree(&src, &dst);
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Every entry under `dir` (relative path → kind and content), not following links or
/// opening FIFOs, and leaving out `volatile` names (the server database's audit trail
/// records failed commands by design).
pub fn snapshot(dir: &Path, volatile: &[&str]) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, volatile: &[&str], out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let name = e.file_name().to_string_lossy().into_owned();
            if volatile.iter().any(|v| name.starts_with(v)) {
                continue;
            }
            let t = std::fs::symlink_metadata(&p).unwrap().file_type();
            let v = if t.is_symlink() {
                format!("link → {}", std::fs::read_link(&p).unwrap().display())
            } else if t.is_dir() {
                walk(root, &p, volatile, out);
                "folder".into()
            } else if t.is_fifo() {
                "fifo".into()
            } else if t.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                format!("{} bytes, fnv {:016x}", bytes.len(), fnv1a(&bytes))
            } else {
                "other".into()
            };
            out.insert(rel, v);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, volatile, &mut out);
    out
}

/// FNV-1a 64 of `bytes` (a content checksum; every byte counts).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// One bad input: the command line (run in a fresh copy of the base folder after
/// `setup` broke one thing) and the words its error message must hold (the file and
/// the field, at least).
pub struct Case {
    pub name: &'static str,
    pub args: Vec<String>,
    pub setup: Box<dyn Fn(&Path) + Send + Sync>,
    pub expect: Vec<&'static str>,
    /// Names whose changes are expected (the server database records failed commands
    /// in its audit trail).
    pub volatile: Vec<&'static str>,
    /// An argument-parser (clap) error rather than the program's own.
    pub clap: bool,
}

/// A case (builder).
pub fn case(name: &'static str, args: &str, expect: &[&'static str]) -> Case {
    Case {
        name,
        args: args.split_whitespace().map(String::from).collect(),
        setup: Box::new(|_| {}),
        expect: expect.to_vec(),
        volatile: Vec::new(),
        clap: false,
    }
}

impl Case {
    /// Breaks the fixture before the run.
    pub fn setup(mut self, f: impl Fn(&Path) + Send + Sync + 'static) -> Self {
        self.setup = Box::new(f);
        self
    }
    /// Arguments that contain spaces or odd bytes, given one by one.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Files allowed to change (the server database).
    pub fn volatile(mut self, names: &[&'static str]) -> Self {
        self.volatile = names.to_vec();
        self
    }
    /// A flag the argument parser refuses.
    pub fn clap(mut self) -> Self {
        self.clap = true;
        self
    }
}

/// Runs one case; returns what is wrong with its outcome, if anything.
pub fn check(case: &Case) -> Option<String> {
    let work = tempfile::tempdir().unwrap();
    let d = work.path().join("case");
    copy_tree(base(), &d);
    (case.setup)(&d);
    let before = snapshot(&d, &case.volatile);
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let Some((code, stdout, stderr)) = run_in(&d, &args, Duration::from_secs(60)) else {
        return Some("hung: killed after 60 s".into());
    };
    let mut wrong = Vec::new();
    if code != Some(2) {
        wrong.push(format!("exit status {code:?} (expected 2)"));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        wrong.push("panicked".into());
    }
    let prefix = if case.clap {
        "error:"
    } else {
        "plumewatch: error: "
    };
    match stderr.lines().find(|l| l.starts_with(prefix)) {
        None => wrong.push(format!("no line starting {prefix:?}")),
        Some(line) => {
            if std::env::var_os("BAD_INPUT_SHOW").is_some() {
                eprintln!("{}\n    {line}", case.name);
            }
            for e in &case.expect {
                if !line.contains(e) {
                    wrong.push(format!("message lacks {e:?}"));
                }
            }
            if !case.clap && stderr.lines().filter(|l| !l.trim().is_empty()).count() != 1 {
                wrong.push("the error is not one line".into());
            }
        }
    }
    let after = snapshot(&d, &case.volatile);
    if after != before {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| {
                format!(
                    "{}: {} → {}",
                    k.display(),
                    before.get(k).map_or("absent", String::as_str),
                    after.get(k).map_or("absent", String::as_str)
                )
            })
            .collect();
        wrong.push(format!("files changed: {}", changed.join("; ")));
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}: {}\n    args: {:?}\n    stderr: {}\n    stdout: {}",
            case.name,
            wrong.join(", "),
            case.args,
            stderr.trim(),
            stdout.trim()
        )
    })
}
