//! `serve` itself: plain HTTP only on loopback (unless --insecure-http), HTTPS through
//! rustls with a real certificate, checked with curl.

mod common;

use common::have_tool;
use plumewatch_server::serve::{check_transport, serve, ServeOptions};
use std::process::Command;
use std::time::Duration;

fn options(listen: &str) -> ServeOptions {
    ServeOptions {
        db: String::new(),
        listen: listen.parse().unwrap(),
        data_dir: None,
        work_dir: None,
        tls_cert: None,
        tls_key: None,
        insecure_http: false,
        concurrency: 1,
        api: Default::default(),
    }
}

#[test]
fn plain_http_is_refused_off_loopback() {
    assert!(!check_transport(&options("127.0.0.1:8080")).unwrap());
    assert!(!check_transport(&options("[::1]:8080")).unwrap());
    let e = check_transport(&options("0.0.0.0:8080"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refusing") && e.contains("--insecure-http") && e.contains("--tls-cert"),
        "{e}"
    );
    let e = check_transport(&options("192.168.1.5:8080"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a loopback"), "{e}");
    let mut o = options("0.0.0.0:8080");
    o.insecure_http = true;
    assert!(!check_transport(&o).unwrap());
    o.insecure_http = false;
    o.tls_cert = Some("c.pem".into());
    assert!(check_transport(&o)
        .unwrap_err()
        .to_string()
        .contains("go together"));
    o.tls_key = Some("k.pem".into());
    assert!(check_transport(&o).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_rustls() {
    if !have_tool("openssl") || !have_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let port = common::free_port();
    let mut o = options(&format!("127.0.0.1:{port}"));
    o.db = dir.path().join("tls.db").to_str().unwrap().to_string();
    o.tls_cert = Some(cert.clone());
    o.tls_key = Some(key);
    let server = tokio::spawn(serve(o, plumewatch_server::jobs::default_runner()));
    let url = format!("https://127.0.0.1:{port}/api/sites");
    let mut out = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = Command::new("curl")
            .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert"])
            .arg(&cert)
            .arg(&url)
            .output()
            .unwrap();
        if r.status.success() {
            out = Some(String::from_utf8_lossy(&r.stdout).to_lowercase());
            break;
        }
    }
    let headers = out.expect("no HTTPS answer");
    assert!(
        headers.starts_with("http/") && headers.contains(" 401"),
        "{headers}"
    );
    assert!(headers.contains("strict-transport-security"), "{headers}");
    // Plain HTTP to the TLS port gets no API answer.
    let plain = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(url.replace("https", "http"))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "401");
    server.abort();
}
