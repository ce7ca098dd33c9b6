//! The functions the `hook` bench times and `examples/hook_cost.rs` counts instructions of: the same
//! four-instruction body, plain, `#[traceable]` (off and on) and behind a hand-written fn-pointer hook,
//! and the trivial callback every "on" case calls. Included by path from both.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, Ordering};

thread_local! {
    pub static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// The trivial callback of every "on" case: the hand-written hook calls it through a function
/// pointer, an ops' closure has it inlined, so each "on" case makes one indirect call to an increment.
#[inline]
pub fn bump() {
    COUNT.with(|count| count.set(count.get() + 1));
}

/// The body every benchmarked function shares.
macro_rules! body {
    ($x:expr) => {
        ::std::hint::black_box($x)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(7)
    };
}
#[allow(
    unused_imports,
    reason = "the hook bench uses it for its peers; the example does not"
)]
pub(crate) use body;

#[inline(never)]
pub fn plain(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
pub fn traceable_off(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
pub fn traceable_on(x: u64) -> u64 {
    body!(x)
}

static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Sets (`true`: `bump`) or clears the hand-written hook.
pub fn set_hook(on: bool) {
    // black_box: were the compiler to see that `bump` is the only function ever stored, it would call
    // it directly (no indirect call: not a hook any more).
    let hook = if on {
        black_box(bump as fn()) as *mut ()
    } else {
        std::ptr::null_mut()
    };
    HOOK.store(hook, Ordering::Relaxed);
}

/// The physical limit: one load of a function pointer and an indirect call.
#[inline(never)]
pub fn handwritten(x: u64) -> u64 {
    // Relaxed: a function pointer needs no other memory to be visible.
    let hook = HOOK.load(Ordering::Relaxed);
    if !hook.is_null() {
        // SAFETY: only `bump as fn()` is ever stored.
        let hook: fn() = unsafe { std::mem::transmute::<*mut (), fn()>(hook) };
        hook();
    }
    body!(x)
}
