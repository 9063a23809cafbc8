//! A data file truncated while mapped: with the handler installed, touching a page past
//! the new end prints an error naming the file and exits with status 2 (instead of
//! death by SIGBUS). The fault is made deterministically in a child process (this test
//! binary run again), touching the mapping directly, past the readers' own size checks.

use std::process::Command;

const CHILD: &str = "PLUMEWATCH_TRUNCATED_MAPPING_CHILD";

#[allow(unsafe_code)]
fn child(path: &str) -> ! {
    plumewatch_io::mapped::exit_on_truncated_mapping("test: error: ");
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: the file is truncated below on purpose; the SIGBUS is what is tested.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let _registration =
        plumewatch_io::mapped::register(map.as_ptr(), map.len(), std::path::Path::new(path));
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let last = std::hint::black_box(map[map.len() - 1]);
    println!("read {last} past the end without a fault");
    std::process::exit(0)
}

#[test]
fn sigbus_in_a_registered_mapping_is_an_error_naming_the_file() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cube.img");
    std::fs::write(&data, vec![7u8; 1 << 16]).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigbus_in_a_registered_mapping_is_an_error_naming_the_file",
            "--nocapture",
        ])
        .env(CHILD, &data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains(&format!(
            "test: error: {}: data file: shrank",
            data.display()
        )),
        "{stderr}"
    );
}
