//! Instructions per call of each hook case, for `callgrind` (deterministic, unlike timings on a shared
//! machine): `bash scripts/hook-cost.sh` runs this under callgrind and prints instructions per call.
//!
//! Each case is a loop of `N` calls (`N` from the first argument, default 1000) in its own
//! `#[inline(never)]` function, so callgrind can count it alone with `--toggle-collect`.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, Ordering};
use tracehook::ftrace::Ops;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn bump() {
    COUNT.with(|count| count.set(count.get() + 1));
}

macro_rules! body {
    ($x:expr) => {
        black_box($x)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(7)
    };
}

#[inline(never)]
fn plain(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
fn traced_off(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
fn traced_on(x: u64) -> u64 {
    body!(x)
}

static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

#[inline(never)]
fn handwritten(x: u64) -> u64 {
    let hook = HOOK.load(Ordering::Relaxed);
    if !hook.is_null() {
        // SAFETY: only `bump as fn()` is ever stored.
        let hook: fn() = unsafe { std::mem::transmute::<*mut (), fn()>(hook) };
        hook();
    }
    body!(x)
}

macro_rules! case {
    ($name:ident, $f:ident) => {
        #[inline(never)]
        fn $name(n: u64) -> u64 {
            let mut sum = 0u64;
            for i in 0..n {
                sum = sum.wrapping_add($f(black_box(i)));
            }
            sum
        }
    };
}

case!(cost_plain, plain);
case!(cost_traced_off, traced_off);
case!(cost_handwritten_on, handwritten);
case!(cost_traced_on, traced_on);

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1000, |arg| arg.parse().expect("N: a number of calls"));
    let mut sum = cost_plain(n);
    sum ^= cost_traced_off(n);
    // black_box: the compiler must not see that `bump` is the only value ever stored (it would call
    // it directly); a real hook is an indirect call.
    HOOK.store(black_box(bump as fn()) as *mut (), Ordering::Relaxed);
    sum ^= cost_handwritten_on(n);
    HOOK.store(std::ptr::null_mut(), Ordering::Relaxed);
    let ops = Ops::new(|_| bump());
    ops.set_filter("traced_on", true).expect("filter");
    ops.register().expect("register");
    traced_on(0); // the first call applies the start-up configuration
    sum ^= cost_traced_on(n);
    ops.unregister().expect("unregister");
    black_box(sum);
    assert_eq!(COUNT.with(Cell::get), 2 * n + 1);
}
