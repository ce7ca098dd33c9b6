//! A second crate of the workspace with its own traced functions, so tests can check that the site
//! registry collects sites across every crate linked into a binary.

use tracehook::traceable;

/// A traced function in another crate.
#[traceable]
pub fn support_double(x: u32) -> u32 {
    x * 2
}

/// A traced type in another crate.
pub struct Gauge {
    value: u32,
}

#[traceable]
impl Gauge {
    /// Makes a gauge.
    #[must_use]
    pub fn new(value: u32) -> Self {
        Self { value }
    }

    /// Reads it.
    #[must_use]
    pub fn read(&self) -> u32 {
        support_double(self.value)
    }
}

tracehook::eventhandler_declare!(pub support_event, fn(value: u32));

/// What the support crate's static handler saw last.
pub static SUPPORT_SEEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn remember(seen: &std::sync::atomic::AtomicU32, value: u32) {
    seen.store(value, std::sync::atomic::Ordering::SeqCst);
}

tracehook::eventhandler_define!(support_event, remember, &SUPPORT_SEEN, 50);

/// A generic traced function, instantiated only by other crates: its hook points live in their code
/// and name this crate's site record.
#[traceable]
#[inline(never)]
pub fn support_generic<T: Into<u64>>(x: T) -> u64 {
    x.into() + 7
}

/// An inline traced function, copied into the crates that call it.
#[traceable]
#[inline]
#[must_use]
pub fn support_inline(x: u64) -> u64 {
    std::hint::black_box(x) ^ 5
}
