//! A data file truncated while it is memory-mapped: the next read of a page past its new
//! end raises SIGBUS, which would kill the process without a word. Mapped readers
//! register each mapping here ([`register`]); a front end that installs
//! [`exit_on_truncated_mapping`] turns such a SIGBUS into an error line naming the file
//! and exit status 2. A SIGBUS outside every registered mapping keeps its default
//! action. Nothing is written by the handler but that line: outputs are only ever
//! written under temporary names until complete, so none is left half-written.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings tracked at once (a scan maps one flight line at a time).
const SLOTS: usize = 16;
/// Longest message kept per mapping (longer ones are cut).
const MESSAGE_BYTES: usize = 1024;

struct Slot {
    taken: AtomicBool,
    start: AtomicUsize,
    len: AtomicUsize,
    message_len: AtomicUsize,
    message: [AtomicU8; MESSAGE_BYTES],
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    taken: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    message_len: AtomicUsize::new(0),
    message: [const { AtomicU8::new(0) }; MESSAGE_BYTES],
};

static MAPPINGS: [Slot; SLOTS] = [EMPTY; SLOTS];
static PREFIX: OnceLock<String> = OnceLock::new();

/// A registered mapping; unregisters itself on drop (before the mapping goes away).
#[derive(Debug)]
pub struct Registration(Option<usize>);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            let slot = &MAPPINGS[i];
            slot.start.store(0, Ordering::Release);
            slot.taken.store(false, Ordering::Release);
        }
    }
}

/// Registers the mapping of `len` bytes at `start` of the data file `path`. When every
/// slot is taken the mapping is not tracked (a SIGBUS in it then keeps its default
/// action).
pub fn register(start: *const u8, len: usize, path: &Path) -> Registration {
    let Some(i) = MAPPINGS.iter().position(|s| {
        s.taken
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }) else {
        return Registration(None);
    };
    let slot = &MAPPINGS[i];
    let name: String = path
        .display()
        .to_string()
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    let text = format!(
        "{}{name}: data file: shrank while it was being read (truncated or rewritten by another program); expected it to stay unchanged until the run ends\n",
        PREFIX.get().map_or("", String::as_str)
    );
    let bytes = &text.as_bytes()[..text.len().min(MESSAGE_BYTES)];
    for (cell, b) in slot.message.iter().zip(bytes) {
        cell.store(*b, Ordering::Relaxed);
    }
    slot.message_len.store(bytes.len(), Ordering::Relaxed);
    slot.len.store(len, Ordering::Relaxed);
    slot.start.store(start as usize, Ordering::Release);
    Registration(Some(i))
}

/// Installs the SIGBUS handler (once per process): a fault inside a registered mapping
/// writes `prefix` and the mapping's message to stderr and exits with status 2.
/// Libraries embedded in other programs (the Python package) do not install it.
#[allow(unsafe_code)]
pub fn exit_on_truncated_mapping(prefix: &str) {
    if PREFIX.set(prefix.to_string()).is_err() {
        return;
    }
    // SAFETY: `sigaction` with a zeroed struct, an empty mask and SA_SIGINFO installs
    // `on_sigbus`, which only does async-signal-safe work (atomic loads, write(2),
    // _exit(2), resetting the disposition).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

#[allow(unsafe_code)]
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel hands a valid siginfo_t for SA_SIGINFO handlers; si_addr is the
    // faulting address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in &MAPPINGS {
        let start = slot.start.load(Ordering::Acquire);
        if start != 0 && addr >= start && addr < start + slot.len.load(Ordering::Relaxed) {
            let mut buf = [0u8; MESSAGE_BYTES];
            let n = slot.message_len.load(Ordering::Relaxed).min(MESSAGE_BYTES);
            for (b, cell) in buf.iter_mut().zip(&slot.message).take(n) {
                *b = cell.load(Ordering::Relaxed);
            }
            // SAFETY: write(2) and _exit(2) are async-signal-safe.
            unsafe {
                libc::write(2, buf.as_ptr().cast(), n);
                libc::_exit(2);
            }
        }
    }
    // Not ours: the default action (the fault repeats on return and kills the process).
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}
