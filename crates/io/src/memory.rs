//! How much memory the machine can give: checked before large allocations whose size
//! comes from input files or flags, so that they fail with a clear error instead of an
//! allocation abort.

/// Bytes of memory available to this process: `MemAvailable` of `/proc/meminfo`, capped
/// by a cgroup memory limit when one is set; `u64::MAX` where neither can be read.
pub fn available_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kb| kb.saturating_mul(1024));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    meminfo.min(cgroup)
}

/// An error message when `bytes` (for `what`) exceed what is available; `None` when
/// they fit.
pub fn check_fits(bytes: u128, what: &str) -> Option<String> {
    let available = available_bytes();
    (bytes > u128::from(available)).then(|| {
        format!(
            "{what} needs {:.1} GiB of memory and {:.1} GiB are available",
            bytes as f64 / (1u64 << 30) as f64,
            available as f64 / (1u64 << 30) as f64
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_is_known_and_huge_requests_do_not_fit() {
        assert!(super::available_bytes() > 1 << 20);
        assert!(super::check_fits(1 << 80, "a cube")
            .unwrap()
            .contains("a cube needs"));
        assert!(super::check_fits(1, "a byte").is_none());
    }
}
