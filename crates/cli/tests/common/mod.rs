//! Helpers shared by CLI test files that run the `plumewatch` binary.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `plumewatch --quiet ARGS`.
pub fn plumewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumewatch"))
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap()
}

/// Runs `plumewatch --quiet ARGS` and fails the test, with its stderr, unless it
/// succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = plumewatch(args);
    assert!(
        out.status.success(),
        "plumewatch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A JSON file.
pub fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
