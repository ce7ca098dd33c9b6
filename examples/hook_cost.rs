//! Instructions per call of each hook case, for `callgrind` (deterministic, unlike timings on a shared
//! machine): `bash scripts/hook-cost.sh` runs this under callgrind and prints instructions per call.
//!
//! The functions are the `hook` bench's own (`benches/common/hook_fns.rs`). Each case is a loop of `N`
//! calls (`N` from the first argument, default 1000) in its own `#[inline(never)]` function, so
//! callgrind can count it alone with `--toggle-collect`.

#[path = "../benches/common/hook_fns.rs"]
mod hook_fns;

use hook_fns::floor::hooked as floor_hooked;
use hook_fns::{COUNT, bump, handwritten, plain, set_hook, traceable_off, traceable_on};
use std::cell::Cell;
use std::hint::black_box;
use tracehook::ftrace::Ops;

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
case!(cost_traceable_off, traceable_off);
case!(cost_handwritten_on, handwritten);
case!(cost_traceable_on, traceable_on);
case!(cost_contract_floor_on, floor_hooked);

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1000, |arg| arg.parse().expect("N: a number of calls"));
    let mut sum = cost_plain(n);
    sum ^= cost_traceable_off(n);
    set_hook(true);
    sum ^= cost_handwritten_on(n);
    set_hook(false);
    hook_fns::floor::set_hook(true);
    sum ^= cost_contract_floor_on(n);
    hook_fns::floor::set_hook(false);
    let ops = Ops::new(|_| bump());
    ops.set_filter("traceable_on", true).expect("filter");
    ops.register().expect("register");
    traceable_on(0); // the first call applies the start-up configuration
    sum ^= cost_traceable_on(n);
    ops.unregister().expect("unregister");
    black_box(sum);
    assert_eq!(COUNT.with(Cell::get), 3 * n + 1);
}
