//! The `hook` bench's cases timed interleaved: a diagnostic for a shared machine, not the benchmark.
//!
//! criterion times one case after another, each for seconds, so a case whose seconds fall while
//! another tenant holds the core (on this machine that slows everything by up to 1.8 times, for
//! seconds at a time) measures slow, and a ratio of two cases compares two different machines.
//! Here every round times a chunk of calls of each case in turn, and each case keeps its fastest
//! chunk over all rounds: every case gets the same chances at a quiet moment, so the ratios compare
//! the code. The functions are the bench's own (`benches/common/hook_fns.rs`), in this binary's code
//! layout. Run: `cargo run --release --example hook_interleaved [ROUNDS]` (default 300).

#[path = "../benches/common/hook_fns.rs"]
mod hook_fns;

use hook_fns::{bump, handwritten, plain, set_hook, traceable_off, traceable_on};
use std::hint::black_box;
use std::time::Instant;
use tracehook::ftrace::Ops;

/// Calls per chunk: 30 to 150 µs here, so reading the clock costs under 0.1% of one.
const CHUNK: u32 = 20_000;

/// A case: its bench ID and the function.
type Case = (&'static str, fn(u64) -> u64);

/// The nanoseconds per call of one chunk of `f`.
#[inline(never)]
fn chunk(f: fn(u64) -> u64) -> f64 {
    let start = Instant::now();
    for _ in 0..CHUNK {
        black_box(f(black_box(0)));
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(CHUNK)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(300, |arg| arg.parse().expect("ROUNDS: a number"));
    set_hook(true);
    hook_fns::floor::set_hook(true);
    let ops = Ops::new(|_| bump());
    ops.set_filter("traceable_on", true).expect("filter");
    ops.register().expect("register");
    traceable_on(0); // the first call applies the start-up configuration
    let cases: [Case; 5] = [
        ("plain", plain),
        ("traceable_off", traceable_off),
        ("handwritten_on", handwritten),
        ("contract_floor_on", hook_fns::floor::hooked),
        ("traceable_on", traceable_on),
    ];
    let mut best = [f64::INFINITY; 5];
    for _ in 0..rounds {
        for ((_, f), best) in cases.iter().zip(&mut best) {
            *best = best.min(chunk(*f));
        }
    }
    ops.unregister().expect("unregister");
    for ((name, _), ns) in cases.iter().zip(best) {
        println!("{name:<18} {ns:.2} ns");
    }
    let [plain, off, hand, floor, on] = best;
    for (name, ratio) in [
        ("traceable_off / plain", off / plain),
        ("traceable_on / handwritten_on", on / hand),
        ("contract_floor_on / handwritten_on", floor / hand),
        ("traceable_on / contract_floor_on", on / floor),
    ] {
        println!("{name:<35} {ratio:.2}");
    }
}
