//! `plumewatch stream`: parity with `scan`, frames on stdin and TCP, broken input,
//! webhook and Server-Sent Events delivery.
//!
//! Parity: the stream analyses each complete plume with the scan's own code on the
//! lines around it. Where its statistics rest on the same lines as the scan's (a file
//! no longer than the warm-up, or `--warmup` covering the file), its alerts must be the
//! scan's reported sources: same pixel within 2 px, rate within 15 %, none missing and
//! none extra. The stream's statistics are per detector column, so it is compared with
//! `scan --classes 0` (the scan's default class-conditional statistics are not yet
//! updated online).

mod common;

use common::{json, ok, plumewatch, reported_sources, s, scene};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alerts(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("alerts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("alert line {l:?}: {e}")))
        .collect()
}

/// Every alert is a reported source of the scan and every reported source an alert.
fn assert_parity(scan: &[(f64, f64, f64)], alerts: &[Value], what: &str) {
    assert!(!scan.is_empty(), "{what}: the scan reported no source");
    let a: Vec<(f64, f64, f64)> = alerts
        .iter()
        .map(|a| {
            (
                a["sample"].as_f64().unwrap(),
                a["line"].as_f64().unwrap(),
                a["rate_kg_h"].as_f64().unwrap(),
            )
        })
        .collect();
    let nearest = |p: &(f64, f64, f64), set: &[(f64, f64, f64)]| {
        set.iter()
            .map(|q| ((p.0 - q.0).hypot(p.1 - q.1), q.2))
            .min_by(|x, y| x.0.total_cmp(&y.0))
            .unwrap_or((f64::INFINITY, f64::NAN))
    };
    for p in &a {
        let (d, rate) = nearest(p, scan);
        assert!(d <= 2.0, "{what}: alert at {p:?} has no scan source within 2 px (nearest {d:.1} px); scan: {scan:?}");
        assert!(
            (p.2 / rate - 1.0).abs() <= 0.15,
            "{what}: alert at {p:?}: rate {:.1} kg/h against the scan's {rate:.1}",
            p.2
        );
    }
    for q in scan {
        let (d, _) = nearest(q, &a);
        assert!(
            d <= 2.0,
            "{what}: scan source {q:?} has no alert within 2 px; alerts: {a:?}"
        );
    }
}

fn scan_and_stream(cube: &Path, extra: &[&str], tmp: &Path) -> (Vec<(f64, f64, f64)>, Vec<Value>) {
    let (scan_out, stream_out) = (tmp.join("scan"), tmp.join("stream"));
    ok(&[
        "scan",
        s(cube),
        "--wind",
        "2,265",
        "--limit-runs",
        "0",
        "--classes",
        "0",
        "-o",
        s(&scan_out),
    ]);
    let mut args = vec!["stream", s(cube), "--wind", "2,265", "-o", s(&stream_out)];
    args.extend_from_slice(extra);
    ok(&args);
    (
        reported_sources(&json(&scan_out.join("scan.json"))),
        alerts(&stream_out),
    )
}

#[test]
fn stream_alerts_are_the_scans_sources_on_the_small_scenes() {
    for name in ["avng_small", "emit_small"] {
        let tmp = tempfile::tempdir().unwrap();
        let (scan, alerts) = scan_and_stream(&scene(name), &[], tmp.path());
        assert_parity(&scan, &alerts, name);
        // The end-of-flight outputs are scan's, from the stream's own maps and plumes.
        let out = tmp.path().join("stream");
        for f in ["scan.json", "sites.geojson", "report.html", "stream.json"] {
            assert!(out.join(f).exists(), "{name}: {f} missing");
        }
        // The scan records its sources in the stream's alert schema too.
        let scan_alerts = self::alerts(&tmp.path().join("scan"));
        assert_eq!(scan_alerts.len(), scan.len(), "{name}");
        let keys = |a: &Value| a.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&scan_alerts[0]), keys(&alerts[0]), "{name}");
        let sites = |d: &Path| {
            json(&d.join("sites.geojson"))["features"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(
            sites(&out),
            sites(&tmp.path().join("scan")),
            "{name}: sites"
        );
        for a in &alerts {
            let png = a["evidence_png"].as_str().unwrap();
            assert!(Path::new(png).exists(), "{png}");
            assert!(a["lat"].as_f64().is_some() && a["time_utc"].as_str().is_some());
        }
    }
    // Physics: avng_small's 1,023 kg/h source (truth: sample 34.7, line 360.3) is
    // alerted where it is.
    let tmp = tempfile::tempdir().unwrap();
    let (_, alerts) = scan_and_stream(&scene("avng_small"), &[], tmp.path());
    assert!(
        alerts.iter().any(|a| (a["sample"].as_f64().unwrap() - 34.7)
            .hypot(a["line"].as_f64().unwrap() - 360.3)
            <= 2.0),
        "{alerts:?}"
    );
}

/// A longer flight line than the warm-up, replayed with `--warmup` covering it: the
/// statistics are then the scan's, and the tracker, the blocks around each plume, the
/// margins and the fragment rule across blocks must reproduce the scan exactly.
#[test]
fn the_line_tracker_and_block_analysis_reproduce_scan_on_a_long_line() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    ok(&[
        "simulate",
        "scene",
        "--sensor",
        "aviris-ng",
        "--lines",
        "1400",
        "--samples",
        "240",
        "--gsd",
        "3",
        "--seed",
        "31",
        "--random-sources",
        "8",
        "--wind",
        "3,250",
        "-o",
        s(&sim),
    ]);
    let cube = sim.join("radiance.hdr");
    let (scan, alerts) = scan_and_stream(
        &cube,
        &["--warmup", "1400", "--no-scan-outputs"],
        tmp.path(),
    );
    assert_parity(&scan, &alerts, "1400-line AVIRIS-NG line");
}

/// A replay in 64-line batches (each batch's plumes analysed while the next batch is
/// tracked) raises exactly the alerts of a replay one line at a time (nothing deferred):
/// same places, rates, significances and false-alarm probabilities. The warm-up is
/// short enough that most plumes are tracked after it, and no statistics refresh
/// falls inside the scene, so both detect every line with the same filters; vetting
/// is off so that every candidate the rules keep counts.
#[test]
fn a_replay_in_batches_raises_the_alerts_of_a_line_by_line_replay() {
    let cube = scene("avng_small");
    let tmp = tempfile::tempdir().unwrap();
    let run = |chunk: &str| -> Vec<Value> {
        let out = tmp.path().join(format!("chunk-{chunk}"));
        ok(&[
            "stream",
            s(&cube),
            "--wind",
            "2,265",
            "--warmup",
            "128",
            "--chunk",
            chunk,
            "--min-gas-probability",
            "0",
            "--no-scan-outputs",
            "-o",
            s(&out),
        ]);
        alerts(&out)
    };
    let key = |a: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = a
            .iter()
            .map(|a| {
                assert!(
                    a["closed_by_line"].as_f64().unwrap() >= a["line_range"][1].as_f64().unwrap(),
                    "alert closed before its plume's last line: {a}"
                );
                format!(
                    "{} {} {} {} {}",
                    a["line"],
                    a["sample"],
                    a["rate_kg_h"],
                    a["significance"],
                    a["false_alarm_probability"]
                )
            })
            .collect();
        k.sort();
        k
    };
    let (batches, lines) = (run("64"), run("1"));
    assert!(
        batches.len() >= 5,
        "too few alerts to compare: {}",
        batches.len()
    );
    assert!(
        batches.iter().any(|a| a["line"].as_f64().unwrap() > 128.0),
        "no alert after the warm-up"
    );
    assert_eq!(key(&batches), key(&lines));
}

fn frame_header(cube: &Path) -> (Value, Vec<u8>, usize) {
    let hdr = std::fs::read_to_string(cube).unwrap();
    let field = |name: &str| -> Vec<f64> {
        let start = hdr.find(&format!("{name} = {{")).unwrap();
        let body = &hdr[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
        body.split(',').map(|v| v.trim().parse().unwrap()).collect()
    };
    let int = |name: &str| -> usize {
        hdr.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (samples, lines, bands) = (int("samples"), int("lines"), int("bands"));
    let header = serde_json::json!({
        "samples": samples, "bands": bands, "data_type": "float32", "byte_order": "little",
        "interleave": "bil", "wavelength_nm": field("wavelength"), "fwhm_nm": field("fwhm"),
        "map": {"geo_transform": [669000.0, 3.0, 0.0, 3519000.0, 0.0, -3.0], "crs": "EPSG:32613"},
        "name": "frames"
    });
    let data = std::fs::read(cube.with_extension("img")).unwrap();
    assert_eq!(data.len(), samples * lines * bands * 4);
    (header, data, lines)
}

fn header_line(h: &Value) -> Vec<u8> {
    let mut b = serde_json::to_vec(h).unwrap();
    b.push(b'\n');
    b
}

fn stream_child(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .arg("--quiet")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `plumewatch --quiet ARGS` with `input` on its standard input (then closed):
/// exit code, stderr and stdout.
fn run_stdin(args: &[&str], input: &[&[u8]]) -> (i32, String, Vec<u8>) {
    let mut child = stream_child(args);
    let mut stdin = child.stdin.take().unwrap();
    for chunk in input {
        // A stream that stops reading (an input error) closes the pipe.
        if stdin.write_all(chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout,
    )
}

fn finish(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn positions(a: &[Value]) -> Vec<(i64, i64)> {
    a.iter()
        .map(|a| {
            (
                (a["sample"].as_f64().unwrap() * 2.0) as i64,
                (a["line"].as_f64().unwrap() * 2.0) as i64,
            )
        })
        .collect()
}

#[test]
fn frames_on_stdin_and_tcp_give_the_replays_alerts() {
    let cube = scene("avng_small");
    let (header, data, lines) = frame_header(&cube);
    let tmp = tempfile::tempdir().unwrap();
    let replay = tmp.path().join("replay");
    ok(&["stream", s(&cube), "--wind", "2,265", "-o", s(&replay)]);
    let expected = positions(&alerts(&replay));
    assert!(!expected.is_empty());
    let lines_s = lines.to_string();

    // Standard input, with --alerts - echoing each alert on stdout.
    let out = tmp.path().join("stdin");
    let args = [
        "stream",
        "--stdin",
        "--wind",
        "2,265",
        "--reference-lines",
        &lines_s,
        "--alerts",
        "-",
        "-o",
        s(&out),
    ];
    let (code, err, stdout) = run_stdin(&args, &[&header_line(&header), &data]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(positions(&alerts(&out)), expected);
    let echoed: Vec<Value> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(positions(&echoed), expected);

    // TCP.
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let out = tmp.path().join("tcp");
    let child = stream_child(&[
        "stream",
        "--listen",
        &addr,
        "--wind",
        "2,265",
        "--reference-lines",
        &lines_s,
        "-o",
        s(&out),
    ]);
    let mut sock = connect(&addr);
    sock.write_all(&header_line(&header)).unwrap();
    sock.write_all(&data).unwrap();
    drop(sock);
    let (code, err) = finish(child);
    assert_eq!(code, 0, "{err}");
    assert_eq!(positions(&alerts(&out)), expected);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn connect(addr: &str) -> TcpStream {
    let t = Instant::now();
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if t.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("connecting to {addr}: {e}"),
        }
    }
}

/// Broken input after some alerts: exit 2 with a message naming the frame, and every
/// alert already raised still on disk, whole.
#[test]
fn broken_frames_give_clear_errors_and_keep_earlier_alerts() {
    let cube = scene("avng_small");
    let (header, data, _) = frame_header(&cube);
    let frame = data.len() / 384;
    let tmp = tempfile::tempdir().unwrap();
    // A short warm-up and no vetting so that alerts are raised before the fault at
    // frame 330 (vetted, the scene's one alert closes with its last line).
    let base = [
        "--wind",
        "2,265",
        "--warmup",
        "128",
        "--reference-lines",
        "384",
        "--min-gas-probability",
        "0",
    ];
    let cut = 330 * frame;
    let mut nan_frame = Vec::new();
    for _ in 0..frame / 4 {
        nan_frame.extend_from_slice(&f32::NAN.to_le_bytes());
    }
    let mut lying = header.clone();
    lying["bands"] = Value::from(218);
    lying["wavelength_nm"] =
        Value::from(header["wavelength_nm"].as_array().unwrap()[..218].to_vec());
    lying["fwhm_nm"] = Value::from(header["fwhm_nm"].as_array().unwrap()[..218].to_vec());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            [header_line(&header), data[..cut + frame / 3].to_vec()].concat(),
            "frame 330: truncated",
        ),
        (
            "nan",
            [
                header_line(&header),
                data[..cut].to_vec(),
                nan_frame.clone(),
            ]
            .concat(),
            "frame 330: every value",
        ),
        (
            "lying",
            [header_line(&lying), data[..cut].to_vec()].concat(),
            "truncated",
        ),
        (
            "bad header",
            b"{\"samples\": 192, \"bands\": 219}\n".to_vec(),
            "frame header",
        ),
        (
            "wavelengths",
            {
                let mut h = header.clone();
                h["wavelength_nm"] = Value::from(vec![2000.0; 3]);
                [header_line(&h), data[..frame].to_vec()].concat()
            },
            "wavelength_nm: expected one centre per band",
        ),
    ];
    for (what, bytes, message) in cases {
        let out = tmp.path().join(what.replace(' ', "_"));
        let mut args = vec!["stream", "--stdin", "-o", s(&out)];
        args.extend_from_slice(&base);
        let (code, err, _) = run_stdin(&args, &[&bytes]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains(message), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        if what == "truncated" || what == "nan" {
            let got = alerts(&out);
            assert!(
                !got.is_empty(),
                "{what}: the alerts before the fault are gone"
            );
            assert!(
                err.contains(&format!("{} alert(s) before the error", got.len())),
                "{what}: {err}"
            );
            assert!(json(&out.join("stream.json"))["error"]
                .as_str()
                .unwrap()
                .contains(message));
        }
    }

    // A socket closed mid-frame.
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let out = tmp.path().join("socket");
    let mut args = vec!["stream", "--listen", &addr, "-o", s(&out)];
    args.extend_from_slice(&base);
    let child = stream_child(&args);
    let mut sock = connect(&addr);
    sock.write_all(&header_line(&header)).unwrap();
    sock.write_all(&data[..cut + 100]).unwrap();
    drop(sock);
    let (code, err) = finish(child);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("frame 330: truncated"), "{err}");
    assert!(!alerts(&out).is_empty());
}

#[test]
fn alerts_reach_a_webhook_and_server_sent_events_clients() {
    let cube = scene("avng_small");
    let (header, data, _) = frame_header(&cube);
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let received = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        hook.set_nonblocking(false).unwrap();
        for conn in hook.incoming().take(4) {
            let mut c = conn.unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut len = 0;
            let mut line = String::new();
            let mut request = String::new();
            loop {
                line.clear();
                r.read_line(&mut line).unwrap();
                if request.is_empty() {
                    request = line.clone();
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            c.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            bodies.push((request, String::from_utf8(body).unwrap()));
        }
        bodies
    });
    let sse_addr = format!("127.0.0.1:{}", free_port());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let webhook = format!("http://{hook_addr}/alerts");
    let mut child = stream_child(&[
        "stream",
        "--stdin",
        "--wind",
        "2,265",
        "--reference-lines",
        "384",
        // Delivery, not vetting, is under test here: every candidate the rules keep
        // is alerted (four on this scene). Without vetting the empirical null counts
        // every null candidate, so the Gaussian limit decides significance.
        "--min-gas-probability",
        "0",
        "--false-sites-per-km2",
        "none",
        "--webhook",
        &webhook,
        "--sse",
        &sse_addr,
        "-o",
        s(&out),
    ]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&header_line(&header)).unwrap();
    // The SSE endpoint is up once the header is read; subscribe before any frame.
    let mut sse = connect(&sse_addr);
    sse.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = [0u8; 64];
    let n = sse.read(&mut head).unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200 OK"));
    std::thread::sleep(Duration::from_millis(200));
    stdin.write_all(&data).unwrap();
    drop(stdin);
    let (code, err) = finish(child);
    assert_eq!(code, 0, "{err}");
    let written = alerts(&out);
    assert_eq!(written.len(), 4);
    let bodies = received.join().unwrap();
    assert_eq!(bodies.len(), 4);
    for ((request, body), a) in bodies.iter().zip(&written) {
        assert!(request.starts_with("POST /alerts HTTP/1.1"), "{request}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["id"], a["id"]);
    }
    let mut events = String::new();
    let _ = sse.read_to_string(&mut events);
    let n_events = events.matches("event: alert\ndata: ").count();
    assert_eq!(n_events, 4, "{events}");
}

#[test]
fn bad_flags_are_input_errors() {
    let cube = scene("emit_small");
    let tmp = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            vec!["--webhook", "https://example.invalid/x"],
            "http:// URL",
        ),
        (vec!["--line-rate", "0"], "--line-rate"),
        (vec!["--algo", "mag1c"], "mag1c"),
        (vec!["--warmup", "3"], "warm-up"),
    ] {
        let mut a = vec!["stream", s(&cube), "-o", s(tmp.path())];
        a.extend(args.iter().copied());
        let out = plumewatch(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{a:?}: {err}");
    }
}

/// Positions from an IGM-like side stream: each frame followed by the latitude and
/// longitude of every sample; alerts take their position from it.
#[test]
fn alerts_take_their_position_from_the_geolocation_stream() {
    let cube = scene("avng_small");
    let (mut header, data, lines) = frame_header(&cube);
    header["geolocation"] = Value::from("lat_lon");
    let frame = data.len() / lines;
    let samples = header["samples"].as_u64().unwrap() as usize;
    let at = |line: usize, sample: usize| [45.0 + line as f64 * 1e-4, 7.0 + sample as f64 * 1e-4];
    let mut bytes = header_line(&header);
    for l in 0..lines {
        bytes.extend_from_slice(&data[l * frame..(l + 1) * frame]);
        for smp in 0..samples {
            for v in at(l, smp) {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("geo");
    let args = ["stream", "--stdin", "--wind", "2,265", "-o", s(&out)];
    let (code, err, _) = run_stdin(&args, &[&bytes]);
    assert_eq!(code, 0, "{err}");
    let got = alerts(&out);
    assert!(!got.is_empty());
    for a in &got {
        let (l, smp) = (a["line"].as_f64().unwrap(), a["sample"].as_f64().unwrap());
        let expect = at(l.round() as usize, smp.round() as usize);
        assert_eq!(
            [a["lat"].as_f64().unwrap(), a["lon"].as_f64().unwrap()],
            expect,
            "{a}"
        );
    }
}

/// SIGTERM while frames are still coming: the alerts so far are flushed, the outputs
/// for the lines seen are written, and the exit status is 0.
#[test]
fn sigterm_flushes_and_writes_the_outputs_of_the_lines_seen() {
    let cube = scene("avng_small");
    let (header, data, _) = frame_header(&cube);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("term");
    let mut child = stream_child(&[
        "stream",
        "--stdin",
        "--wind",
        "2,265",
        "--warmup",
        "128",
        "-o",
        s(&out),
    ]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&header_line(&header)).unwrap();
    // The scene twice (768 lines): alerts are raised while frames still come.
    stdin.write_all(&data).unwrap();
    stdin.write_all(&data).unwrap();
    stdin.flush().unwrap();
    // Wait until the stream has raised an alert, then stop it (stdin stays open).
    let t = Instant::now();
    while !out.join("alerts.jsonl").exists()
        || std::fs::read_to_string(out.join("alerts.jsonl"))
            .unwrap()
            .is_empty()
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no alert within a minute"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out_status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(out_status.code(), Some(0));
    let summary = json(&out.join("stream.json"));
    assert_eq!(summary["interrupted"], true);
    let seen = summary["lines"].as_u64().unwrap();
    assert!((128..=768).contains(&seen), "{seen} lines");
    assert!(out.join("scan.json").exists() && out.join("sites.geojson").exists());
    assert!(!alerts(&out).is_empty());
}

/// A webhook nobody answers costs retries on its own thread, never the alerts: the run
/// ends with every alert on disk.
#[test]
fn an_unreachable_webhook_does_not_hold_the_alerts() {
    let cube = scene("emit_small");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let without = tmp.path().join("without");
    ok(&["stream", s(&cube), "--wind", "2,265", "-o", s(&without)]);
    let webhook = format!("http://127.0.0.1:{}/alerts", free_port());
    let t = Instant::now();
    ok(&[
        "stream",
        s(&cube),
        "--wind",
        "2,265",
        "--webhook",
        &webhook,
        "-o",
        s(&out),
    ]);
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    let expected = alerts(&without).len();
    assert!(expected >= 1);
    assert_eq!(alerts(&out).len(), expected);
}
