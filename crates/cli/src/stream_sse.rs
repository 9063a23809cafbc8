//! Server-Sent Events for `plumewatch stream`: every client that connects to the
//! address gets each alert as an `alert` event, without blocking detection.

use anyhow::Context;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Listens on `addr` and returns the queue alerts are sent to.
pub fn serve(addr: &str) -> anyhow::Result<mpsc::SyncSender<String>> {
    let listener =
        TcpListener::bind(addr).with_context(|| format!("--sse {addr}: cannot listen"))?;
    let clients: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let accepted = Arc::clone(&clients);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
            // Read (and ignore) the request head.
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\nAccess-Control-Allow-Origin: *\r\n\r\n: plumewatch stream alerts\n\n";
            if s.write_all(head.as_bytes()).is_ok() {
                if let Ok(mut c) = accepted.lock() {
                    c.push(s);
                }
            }
        }
    });
    let (tx, rx) = mpsc::sync_channel::<String>(256);
    std::thread::spawn(move || {
        for json in rx {
            let event = format!("event: alert\ndata: {json}\n\n");
            if let Ok(mut c) = clients.lock() {
                c.retain_mut(|s| {
                    s.write_all(event.as_bytes())
                        .and_then(|()| s.flush())
                        .is_ok()
                });
            }
        }
    });
    Ok(tx)
}
