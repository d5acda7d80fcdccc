//! What the commands print: standard output that a closed pipe (`luxsim run ... | head`)
//! silences instead of ending the program, so that files are still written and checks still
//! made; and the exit codes.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code: every check held.
pub const EXIT_OK: u8 = 0;
/// Exit code: an `[expect]` check or the determinism check failed.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: bad input (the reason is on stderr).
pub const EXIT_BAD_INPUT: u8 = 2;

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints `line` and a newline on stdout; once stdout is closed, prints nothing more.
pub fn say(line: impl Display) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}
