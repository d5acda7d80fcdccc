//! SIGINT and SIGTERM for the long commands (`run`, `sweep`, `check`, `cluster`).
//!
//! The first signal asks the work to stop: runs end at their next progress report and keep
//! what they reached, pools start no new run. A second signal exits at once with 128 plus
//! the signal's number, except while outputs are being written ([`while_writing`]): then it
//! waits for the files to be complete. Outputs are published as a whole directory
//! (`crate::util::atomic::Staging`), so even SIGKILL never leaves a mixed set.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Once;

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static WRITING: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// SIGINT's number (2).
pub const SIGINT: i32 = signal_hook::consts::SIGINT;
/// SIGTERM's number (15).
pub const SIGTERM: i32 = signal_hook::consts::SIGTERM;

/// Installs the handlers for SIGINT and SIGTERM (once per process; later calls do nothing).
pub fn install() {
    INSTALL.call_once(|| {
        for sig in [SIGINT, SIGTERM] {
            // SAFETY: the action only touches atomics and calls `_exit`, both
            // async-signal-safe.
            let installed = unsafe {
                signal_hook::low_level::register(sig, move || {
                    SIGNAL.store(sig, Ordering::SeqCst);
                    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
                    if n >= 2 && !WRITING.load(Ordering::SeqCst) {
                        signal_hook::low_level::exit(128 + sig);
                    }
                })
            };
            // Without a handler the signal keeps its default effect (the process ends).
            let _ = installed;
        }
    });
}

/// The signal received, if any (SIGINT or SIGTERM).
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The exit code for the signal received: 130 for SIGINT, 143 for SIGTERM.
pub fn exit_code() -> u8 {
    received().map_or(130, |sig| (128 + sig) as u8)
}

/// The signal's name, for messages.
pub fn name() -> &'static str {
    match received() {
        Some(SIGTERM) => "SIGTERM",
        _ => "SIGINT",
    }
}

/// Runs `f` (which writes outputs) with a second signal deferred until it returns.
pub fn while_writing<T>(f: impl FnOnce() -> T) -> T {
    WRITING.store(true, Ordering::SeqCst);
    let out = f();
    WRITING.store(false, Ordering::SeqCst);
    if COUNT.load(Ordering::SeqCst) >= 2 {
        // A second signal came while writing: honour it now that the files are whole.
        std::process::exit(i32::from(exit_code()));
    }
    out
}
