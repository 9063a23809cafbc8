//! Progress bars that show on a terminal and stay quiet when piped or with `--quiet`,
//! and file names made safe to print.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

/// A progress bar over `len` steps named `what`; hidden unless stderr is a terminal and
/// `quiet` is false.
pub fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// The library's [`plumewatch_scan::Progress`] as one terminal bar per step.
pub struct TerminalProgress {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl TerminalProgress {
    /// Bars on a terminal unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            bar: Mutex::new(None),
        }
    }
}

impl plumewatch_scan::Progress for TerminalProgress {
    fn stage(&self, what: &str, total: u64) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
            *b = Some(bar(total, what, self.quiet));
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(b) = self.bar.lock() {
            if let Some(b) = b.as_ref() {
                b.inc(n);
            }
        }
    }
    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
        }
    }
}

/// A path for terminal output: control characters (a newline, an escape sequence)
/// are shown escaped so that a file name cannot split or rewrite a line.
pub fn printable(path: &Path) -> String {
    printable_text(&path.display().to_string())
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`).
pub fn printable_text(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
