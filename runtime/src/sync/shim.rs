//! The one place the grace-period primitive takes its atomics, mutex and thread helpers from, so that
//! `loom` can stand in for them under `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, fence};
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, fence};
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

/// `parking_lot::Mutex` with the `lock()` signature of loom's mutex (which returns a `LockResult`).
#[cfg(not(loom))]
pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

#[cfg(not(loom))]
impl<T> Mutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(parking_lot::Mutex::new(value))
    }

    #[allow(
        clippy::unnecessary_wraps,
        reason = "same signature as loom::sync::Mutex::lock"
    )]
    pub(crate) fn lock(&self) -> Result<parking_lot::MutexGuard<'_, T>, std::convert::Infallible> {
        Ok(self.0.lock())
    }
}

/// Waits a little longer each round: spins first (a reader section is usually nanoseconds long), then
/// yields, then sleeps, so a writer waiting on a long reader does not burn a core.
pub(crate) struct Backoff {
    round: u32,
}

impl Backoff {
    pub(crate) const fn new() -> Self {
        Self { round: 0 }
    }

    pub(crate) fn wait(&mut self) {
        self.round = self.round.saturating_add(1);
        #[cfg(not(loom))]
        {
            if self.round <= 64 {
                std::hint::spin_loop();
                return;
            }
            if self.round <= 80 {
                yield_now();
                return;
            }
            let exp = (self.round - 80).min(6);
            std::thread::sleep(std::time::Duration::from_micros(20 << exp));
        }
        #[cfg(loom)]
        yield_now();
    }
}
