//! Panics in third-party decoders that core catches and turns into errors.
//!
//! The image decoders and rqrr have panicked on malformed input (png 0.18.1 on a short PLTE
//! chunk, rqrr on degenerate candidate grids). Core catches those panics and reports "the
//! image is damaged" or skips the candidate, but Rust's default panic hook would still
//! print "thread 'main' panicked at …" on stderr first, which reads like a crash. The
//! binaries install [`quiet_hook`] so that only panics core does not recover from are
//! printed.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many [`catch`] calls this thread is inside (they nest: a grid is decoded inside
    /// the grid search).
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `work`, turning a panic inside it into `None`.
pub(crate) fn catch<T>(work: impl FnOnce() -> T) -> Option<T> {
    CATCHING.with(|depth| depth.set(depth.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    CATCHING.with(|depth| depth.set(depth.get() - 1));
    outcome.ok()
}

/// Whether this thread is inside [`catch`], i.e. a panic raised now is recovered from.
pub fn is_recovering() -> bool {
    CATCHING.with(Cell::get) > 0
}

/// Installs (once per process) a panic hook that stays silent about panics core recovers
/// from (logged at debug level instead) and hands every other panic to the hook that was
/// installed before, so real bugs are still printed.
pub fn quiet_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if is_recovering() {
                // The location only: a decoder's message could quote the file's bytes.
                tracing::debug!(
                    location = ?info.location(),
                    "recovered from a panic in a decoder"
                );
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_catch_becomes_none_and_nesting_is_tracked() {
        assert!(!is_recovering());
        let outer = catch(|| {
            assert!(is_recovering());
            let inner: Option<()> = catch(|| panic!("inner"));
            assert!(inner.is_none());
            assert!(is_recovering(), "still inside the outer catch");
            7
        });
        assert_eq!(outer, Some(7));
        assert!(!is_recovering());
        assert_eq!(catch(|| -> u8 { panic!("outer") }), None);
        assert!(!is_recovering(), "the depth is restored after a panic");
    }
}
