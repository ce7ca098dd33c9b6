//! Times the cases of `cases.s` (see `gen.py`) interleaved: every round times one chunk of calls
//! of each case; each case keeps its fastest chunk, printed in cycles (the clock measured by a
//! chain of 100 dependent adds per iteration).

use std::arch::global_asm;
use std::time::Instant;

global_asm!(include_str!("cases.s"), options(att_syntax));
mod names;

unsafe extern "C" {
    static mut TLS: [u64; 128];
    static mut READER: [u64; 16];
}

/// The fastest chunk of `N` iterations of `f`, in seconds per iteration.
fn fastest(f: unsafe extern "C" fn(u64) -> u64, best: &mut f64) {
    const N: u64 = 2048;
    let start = Instant::now();
    // SAFETY: the cases read and write only their own data and `TLS`/`READER`.
    unsafe { f(N) };
    #[allow(clippy::cast_precision_loss)]
    let per = start.elapsed().as_secs_f64() / N as f64;
    *best = best.min(per);
}

fn main() {
    // SAFETY: written before any case runs; the entry functions read the reader record's address
    // at TLS + 0x378, as the real ones read the thread's record pointer.
    unsafe {
        let tls = (&raw mut TLS).cast::<u8>();
        tls.add(0x378)
            .cast::<*mut u64>()
            .write((&raw mut READER).cast::<u64>());
    }
    let prefixes: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let chosen: Vec<usize> = (0..names::NAMES.len())
        .filter(|&i| {
            prefixes.is_empty()
                || prefixes
                    .iter()
                    .any(|p| names::NAMES[i].starts_with(p.as_str()))
        })
        .collect();
    let mut best = vec![f64::INFINITY; names::NAMES.len()];
    let mut chain = f64::INFINITY;
    for _ in 0..rounds {
        fastest(names::d_chain, &mut chain);
        for &i in &chosen {
            fastest(names::FNS[i], &mut best[i]);
        }
    }
    let cycle = chain / 100.0;
    println!("clock: {:.3} GHz", 1e-9 / cycle);
    for &i in &chosen {
        println!("{:<16} {:6.2} cycles", names::NAMES[i], best[i] / cycle);
    }
}
