//! Fuzzing of every JSON input (scan configuration, wind file, truth file, sources,
//! sites, gas LUT sidecar, `scan.json`) and of the ENVI header parser, on the stable
//! toolchain: a mutation loop driven by a seeded random generator over a corpus of the
//! repository's real files, with a crude feedback (an input whose outcome — `Ok` or the
//! error message with its numbers blanked — is new to a parser joins the corpus).
//!
//! Each input goes to every parser; the property is that none panics, and that what a
//! parser accepts survives its own round trip (a configuration prints and reads back
//! equal; a wind file likewise). A failing input is written to
//! `target/fuzz-crashes/<parser>-<hash>.txt` and the test fails naming it.
//!
//! In the normal test suite this runs for a few CPU-seconds (`fuzz_smoke`). The long run
//! (README, "Fuzzing") sets `PLUMEWATCH_FUZZ_CPU_SECONDS` and runs the ignored test
//! `fuzz_json_long`, e.g. 1800 CPU-seconds.

use plumewatch_scan::config::{ScanConfig, WindFile};
use plumewatch_scan::sinks::ScanRecord;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// splitmix64: small, seedable, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// CPU time of the calling thread (the fuzz loop runs on one), seconds, from
/// `/proc/thread-self/schedstat` (`/proc/self` would give the main thread, which the
/// test harness leaves idle while a test runs on its own thread).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map(|ns| ns / 1e9)
        .expect("/proc/thread-self/schedstat (Linux) gives the CPU time of the fuzz run")
}

type Parser = fn(&str) -> Result<(), String>;

fn p(name: &str) -> &Path {
    Path::new(name)
}

fn scan_config(text: &str) -> Result<(), String> {
    let c = ScanConfig::from_json(text, p("config.json")).map_err(|e| e.to_string())?;
    let again = ScanConfig::from_json(&c.to_json(), p("again.json"))
        .unwrap_or_else(|e| panic!("accepted configuration does not read back: {e}"));
    assert_eq!(again, c, "configuration changed in its round trip");
    Ok(())
}

fn wind_file(text: &str) -> Result<(), String> {
    let w = WindFile::parse(text, p("wind.json")).map_err(|e| e.to_string())?;
    let printed = serde_json::to_string(&w).expect("a wind file serialises");
    let again = WindFile::parse(&printed, p("again.json"))
        .unwrap_or_else(|e| panic!("accepted wind file does not read back: {e}"));
    assert_eq!(again, w, "wind file changed in its round trip");
    let _ = w.wind_for(p("line1.hdr"));
    Ok(())
}

fn truth(text: &str) -> Result<(), String> {
    let t: plumewatch_io::truth::TruthScene =
        plumewatch_io::truth::from_json_str(text, p("truth.json"), "")
            .map_err(|e| e.to_string())?;
    if let Some((speed, from)) = t.mean_wind() {
        assert!(
            speed.is_nan() || (speed >= 0.0 && (0.0..=360.0).contains(&from)),
            "mean wind {speed} m/s from {from}°"
        );
    }
    Ok(())
}

fn sources(text: &str) -> Result<(), String> {
    plumewatch_io::truth::parse_sources(text, p("sources.json"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn sites(text: &str) -> Result<(), String> {
    let s =
        plumewatch_io::truth::parse_sites(text, p("sites.geojson")).map_err(|e| e.to_string())?;
    assert!(s.iter().all(|r| r.x.is_finite() && r.y.is_finite()));
    Ok(())
}

fn gas_sidecar(text: &str) -> Result<(), String> {
    plumewatch_io::gas_lut::parse_sidecar(text, p("gas.json"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn scan_record(text: &str) -> Result<(), String> {
    let r: ScanRecord = serde_json::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_string(&r).expect("a record serialises");
    Ok(())
}

fn envi_header(text: &str) -> Result<(), String> {
    let h = plumewatch_io::parse_header(text, p("fuzz.hdr")).map_err(|e| e.to_string())?;
    let again = plumewatch_io::parse_header(&h.to_text(), p("again.hdr"))
        .unwrap_or_else(|e| panic!("formatted header does not parse back: {e}"));
    assert_eq!(
        (again.samples, again.lines, again.bands),
        (h.samples, h.lines, h.bands)
    );
    assert_eq!(again.wavelength_nm, h.wavelength_nm);
    let _ = h.data_bytes();
    Ok(())
}

const JSON_PARSERS: &[(&str, Parser)] = &[
    ("scan_config", scan_config),
    ("wind_file", wind_file),
    ("truth", truth),
    ("sources", sources),
    ("sites", sites),
    ("gas_sidecar", gas_sidecar),
    ("scan_record", scan_record),
];

/// The seed corpus: the repository's real JSON files and the forms the docs show.
fn json_corpus() -> Vec<String> {
    let root = repo_root();
    let mut corpus: Vec<String> = [
        "data/scenes/emit_small/truth_sources.json",
        "data/gas/ch4.json",
        "crates/server/tests/fixtures/scan_emit_small/scan.json",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("seed {f}: {e}")))
    .collect();
    let mut config = ScanConfig::new(vec![
        plumewatch_scan::FlightLine::new("line1.hdr"),
        plumewatch_scan::FlightLine::new("line2.hdr"),
    ]);
    config.flight_lines[0].wind = Some(plumewatch_core::quantify::Wind {
        speed_m_s: 3.0,
        from_deg: 270.0,
    });
    config.gsd_m = Some(60.0);
    corpus.push(config.to_json());
    corpus.extend(
        [
            r#"{"speed_m_s": 3.5, "from_deg": 270}"#,
            r#"{"default": {"speed_m_s": 2, "from_deg": 90}, "passes": {"line1.hdr": {"speed_m_s": 4, "from_deg": 180}}}"#,
            r#"{"sources": [{"row": 10.5, "col": 20.25, "rate_kg_h": 100, "wind_speed_m_s": 3, "wind_dir_deg": 270},
               {"easting": 500100, "northing": 4000200, "rate_kg_h": 5, "wind_speed_m_s": 2, "wind_from_deg": 90, "stability": "B", "id": 7}]}"#,
            r#"[{"row": 5, "col": 6, "rate_kg_h": 300, "wind_speed_m_s": 4, "wind_from_deg": 0}]"#,
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
               "properties": {"x_scene": 500100.5, "y_scene": 4000200.25, "rate_kg_h": 120.0}}]}"#,
            r#"{"lines": 64, "samples": 32, "gsd_m": 30, "sources": [{"id": 1, "row": 3, "col": 4, "Q_kg_h": 200, "wind_speed_m_s": 3, "wind_from_deg": 45}]}"#,
        ]
        .map(String::from),
    );
    corpus
}

fn header_corpus() -> Vec<String> {
    let dir = repo_root().join("fuzz/seeds");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.unwrap().path()).unwrap()).into_owned())
        .collect();
    v.push(
        std::fs::read_to_string(repo_root().join("data/scenes/emit_small/radiance.hdr")).unwrap(),
    );
    v.sort();
    v
}

const TOKENS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1e308",
    "-1e308",
    "1e-320",
    "1e999",
    "18446744073709551616",
    "9007199254740993",
    "-9223372036854775809",
    "0.5",
    "360",
    "-360",
    "721",
    "NaN",
    "null",
    "true",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "[1,2]",
    "{\"a\":1}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"../../etc/passwd\"",
    "\"/dev/zero\"",
    "\"a\\nb\"",
];

const KEYS: &[&str] = &[
    "speed_m_s",
    "from_deg",
    "default",
    "passes",
    "flight_lines",
    "cube",
    "glt",
    "wind",
    "name",
    "gas",
    "detector",
    "window_nm",
    "gsd_m",
    "merge_distance_m",
    "detection_limit",
    "analysis",
    "sources",
    "row",
    "col",
    "easting",
    "northing",
    "rate_kg_h",
    "Q_kg_h",
    "wind_speed_m_s",
    "wind_from_deg",
    "wind_dir_deg",
    "lines",
    "samples",
    "features",
    "properties",
    "x_scene",
    "y_scene",
    "unknown",
    "runs",
    "per_run",
    "seed",
];

fn char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One random edit of `s` (`others` provides splices).
fn mutate(s: &str, others: &[String], rng: &mut Rng, header: bool) -> String {
    let mut out = s.to_string();
    for _ in 0..1 + rng.below(3) {
        let len = out.len();
        let i = char_boundary(&out, rng.below(len + 1));
        let j = char_boundary(&out, i + rng.below(16));
        match rng.below(10) {
            0 => out.replace_range(i..j, ""),
            1 => out.insert_str(i, TOKENS[rng.below(TOKENS.len())]),
            2 => {
                // Replace the number or literal at i with a token.
                let end = out[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
                    .map_or(out.len(), |k| i + k);
                out.replace_range(i..end, TOKENS[rng.below(TOKENS.len())]);
            }
            3 => {
                let k = KEYS[rng.below(KEYS.len())];
                let v = TOKENS[rng.below(TOKENS.len())];
                if header {
                    out.insert_str(i, &format!("\n{} = {v}\n", k.replace('_', " ")));
                } else {
                    out.insert_str(i, &format!("\"{k}\": {v},"));
                }
            }
            4 => {
                let o = &others[rng.below(others.len())];
                let a = char_boundary(o, rng.below(o.len() + 1));
                let b = char_boundary(o, a + rng.below(200));
                out.insert_str(i, &o[a..b]);
            }
            5 => {
                let piece = out[i..j].to_string();
                out.insert_str(j, &piece);
            }
            6 => {
                let c = [
                    b'{', b'}', b'[', b']', b',', b':', b'"', b'=', b'\n', b'\0', b'\\',
                ][rng.below(11)] as char;
                out.insert(i, c);
            }
            7 => {
                let depth = 1 + rng.below(200);
                out.insert_str(i, &"[".repeat(depth));
            }
            8 => {
                // Flip the digits of a number: 3.5 -> 35, -1 -> 1.
                if let Some(k) = out[i..].find(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
                {
                    out.remove(i + k);
                }
            }
            _ => {
                // Duplicate a whole line (duplicate keys in headers and objects).
                let start = out[..i].rfind('\n').map_or(0, |k| k + 1);
                let end = out[i..].find('\n').map_or(out.len(), |k| i + k);
                let line = format!("{}\n", &out[start..end]);
                out.insert_str(start, &line);
            }
        }
        if out.len() > 1 << 16 {
            out.truncate(char_boundary(&out, 1 << 16));
        }
    }
    out
}

/// The error message with its numbers blanked: a proxy for which check refused it.
fn outcome_shape(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => {
            let mut s: String = e
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            s.truncate(char_boundary(&s, 120));
            s
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Runs `input` through `parser`, turning a panic into a saved crash file and an error.
fn run_one(name: &str, parser: Parser, input: &str) -> Result<Result<(), String>, PathBuf> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| parser(input))) {
        Ok(r) => Ok(r),
        Err(_) => {
            let dir = repo_root().join("target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{:016x}.txt", fnv(input)));
            std::fs::write(&path, input).unwrap();
            Err(path)
        }
    }
}

/// Statistics of a fuzz run.
#[derive(Debug, Default)]
struct Stats {
    execs: u64,
    accepted: HashMap<&'static str, u64>,
    shapes: usize,
    corpus: usize,
    cpu_s: f64,
}

/// Fuzzes `parsers` with inputs grown from `seeds` until `cpu_budget_s` CPU-seconds of
/// this process have been used; panics naming the saved crash input on a failure.
fn fuzz(
    parsers: &[(&'static str, Parser)],
    seeds: Vec<String>,
    seed: u64,
    cpu_budget_s: f64,
    header: bool,
) -> Stats {
    let mut rng = Rng(seed);
    let mut corpus = seeds;
    let mut seen: HashSet<(&str, String)> = HashSet::new();
    let mut stats = Stats::default();
    let start = cpu_seconds();
    let check_every = 256;
    let mut report_at = start + 60.0;
    loop {
        for _ in 0..check_every {
            let base = &corpus[rng.below(corpus.len())];
            let input = if stats.execs < corpus.len() as u64 {
                corpus[stats.execs as usize].clone()
            } else {
                mutate(base, &corpus, &mut rng, header)
            };
            let mut novel = false;
            for &(name, parser) in parsers {
                match run_one(name, parser, &input) {
                    Ok(r) => {
                        if r.is_ok() {
                            *stats.accepted.entry(name).or_default() += 1;
                        }
                        novel |= seen.insert((name, outcome_shape(&r)));
                    }
                    Err(path) => panic!(
                        "{name} panicked on the input saved in {} (seed {seed}, after {} inputs)",
                        path.display(),
                        stats.execs
                    ),
                }
            }
            stats.execs += 1;
            if novel && corpus.len() < 20_000 {
                corpus.push(input);
            }
        }
        let now = cpu_seconds();
        if now >= report_at {
            eprintln!(
                "fuzz: {:.0} CPU-s, {} inputs, corpus {}, {} outcome shapes",
                now - start,
                stats.execs,
                corpus.len(),
                seen.len()
            );
            report_at = now + 60.0;
        }
        if now - start >= cpu_budget_s {
            stats.cpu_s = now - start;
            stats.shapes = seen.len();
            stats.corpus = corpus.len();
            return stats;
        }
    }
}

fn quiet_panics() {
    // The default hook prints every caught panic; the harness reports its own.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("fuzz: panic: {info}");
    }));
}

#[test]
fn fuzz_smoke() {
    quiet_panics();
    let json = fuzz(JSON_PARSERS, json_corpus(), 1, 2.0, false);
    eprintln!("json smoke: {json:?}");
    // The seeds themselves are accepted by their parsers: the harness exercises more
    // than the first syntax check.
    for name in [
        "scan_config",
        "wind_file",
        "truth",
        "sources",
        "sites",
        "gas_sidecar",
    ] {
        assert!(
            json.accepted.get(name).copied().unwrap_or(0) > 0,
            "{name}: {json:?}"
        );
    }
    let hdr = fuzz(
        &[("envi_header", envi_header)],
        header_corpus(),
        2,
        1.0,
        true,
    );
    eprintln!("header smoke: {hdr:?}");
    assert!(hdr.accepted.get("envi_header").copied().unwrap_or(0) > 0);
}

/// The long run: `PLUMEWATCH_FUZZ_CPU_SECONDS` CPU-seconds over the JSON parsers
/// (`PLUMEWATCH_FUZZ_SEED` picks the generator's seed; `PLUMEWATCH_FUZZ_TARGET=header`
/// fuzzes the ENVI header parser instead).
#[test]
#[ignore = "long fuzz run: set PLUMEWATCH_FUZZ_CPU_SECONDS (README, Fuzzing)"]
fn fuzz_long() {
    quiet_panics();
    let budget: f64 = std::env::var("PLUMEWATCH_FUZZ_CPU_SECONDS")
        .expect("PLUMEWATCH_FUZZ_CPU_SECONDS")
        .parse()
        .unwrap();
    let seed: u64 = std::env::var("PLUMEWATCH_FUZZ_SEED")
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    let stats = if std::env::var("PLUMEWATCH_FUZZ_TARGET").as_deref() == Ok("header") {
        fuzz(
            &[("envi_header", envi_header)],
            header_corpus(),
            seed,
            budget,
            true,
        )
    } else {
        fuzz(JSON_PARSERS, json_corpus(), seed, budget, false)
    };
    eprintln!("fuzz_long: {stats:?}");
}
