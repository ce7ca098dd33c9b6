//! The unregister guarantee under load: threads call traced functions without pause while other
//! threads register, re-filter and unregister ops (and flip the global switch). A callback that sees
//! the flag its controller set right after `unregister()` (or `set_enabled(false)`) returned is a
//! violation; there must be none.
//!
//! `STRESS_ROUNDS` sets the rounds per controller (default 2000); the README runs this file under
//! valgrind with fewer rounds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use tracehook::ftrace::{self, Flags, Ops};
use tracehook::traceable;

#[traceable]
#[inline(never)]
fn stress_leaf(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(31))
}

#[traceable]
#[inline(never)]
fn stress_mid(x: u64) -> u64 {
    stress_leaf(x) ^ stress_leaf(x + 1)
}

#[traceable]
#[inline(never)]
fn stress_top(x: u64) -> u64 {
    stress_mid(x).wrapping_add(1)
}

static SERIAL: Mutex<()> = Mutex::new(());

fn rounds() -> usize {
    std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Spawns `n` threads calling the traced functions until `stop` is set; returns their handles.
fn callers(n: usize, stop: &Arc<AtomicBool>) -> Vec<thread::JoinHandle<u64>> {
    (0..n)
        .map(|i| {
            let stop = Arc::clone(stop);
            thread::spawn(move || {
                let mut acc = 0u64;
                let mut x = i as u64;
                while !stop.load(Ordering::Relaxed) {
                    acc = acc.wrapping_add(stress_top(x));
                    x += 1;
                }
                acc
            })
        })
        .collect()
}

#[test]
fn no_callback_runs_after_unregister_returns() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let hits = Arc::new(AtomicUsize::new(0));
    let workers = callers(3, &stop);
    let patterns = ["stress_leaf", "stress_mid stress_top", "stress_*", ""];
    let controllers: Vec<_> = (0..2)
        .map(|c| {
            let (violations, hits) = (Arc::clone(&violations), Arc::clone(&hits));
            thread::spawn(move || {
                for round in 0..rounds() {
                    let gone = Arc::new(AtomicBool::new(false));
                    let check = |gone: &Arc<AtomicBool>| {
                        let (gone, violations, hits) =
                            (Arc::clone(gone), Arc::clone(&violations), Arc::clone(&hits));
                        move |_: &ftrace::Call<'_>| {
                            if gone.load(Ordering::SeqCst) {
                                violations.fetch_add(1, Ordering::SeqCst);
                            }
                            hits.fetch_add(1, Ordering::Relaxed);
                        }
                    };
                    let ops =
                        Ops::with_exit(check(&gone), check(&gone)).with_flags(if round % 2 == 0 {
                            Flags::RECURSION
                        } else {
                            Flags::NONE
                        });
                    ops.set_filter(patterns[(round + c) % patterns.len()], true)
                        .unwrap();
                    ops.register().unwrap();
                    if round % 3 == 0 {
                        // Re-filter while registered.
                        ops.set_filter("stress_leaf", false).unwrap();
                        ops.set_notrace("stress_mid", true).unwrap();
                    }
                    thread::yield_now();
                    ops.unregister().unwrap();
                    gone.store(true, Ordering::SeqCst);
                    // Keep the ops alive a little: a stale callback would run now, if ever.
                    thread::yield_now();
                }
            })
        })
        .collect();
    for controller in controllers {
        controller.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert!(
        hits.load(Ordering::Relaxed) > 0,
        "callbacks must have run at all"
    );
    assert!(ftrace::enabled_functions().is_empty());
}

#[test]
fn no_callback_runs_after_the_switch_is_off() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stop = Arc::new(AtomicBool::new(false));
    let off = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let hits = Arc::new(AtomicUsize::new(0));
    let (o, v, h) = (Arc::clone(&off), Arc::clone(&violations), Arc::clone(&hits));
    let ops = Ops::new(move |_| {
        if o.load(Ordering::SeqCst) {
            v.fetch_add(1, Ordering::SeqCst);
        }
        h.fetch_add(1, Ordering::Relaxed);
    });
    ops.set_filter("stress_*", true).unwrap();
    ops.register().unwrap();
    let workers = callers(3, &stop);
    for _ in 0..rounds() {
        ftrace::set_enabled(false).unwrap();
        off.store(true, Ordering::SeqCst);
        thread::yield_now();
        off.store(false, Ordering::SeqCst);
        ftrace::set_enabled(true).unwrap();
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    ops.unregister().unwrap();
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert!(hits.load(Ordering::Relaxed) > 0);
}

/// The other direction, which patched hook points make worth testing: a call that starts after
/// `register()` returned and ends before `unregister()` starts must reach the callback, so every
/// hook point the ops needs was turned on, and every thread serialized, before `register()` returned.
/// A caller brackets each call with two reads of the live round; equal and non-zero means the call
/// lay wholly inside that registration.
#[test]
fn every_call_inside_a_registration_is_traced() {
    use std::cell::Cell;
    use std::sync::atomic::AtomicU64;
    thread_local! {
        static SEEN: Cell<bool> = const { Cell::new(false) };
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let live = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (missed, inside) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (live, stop) = (Arc::clone(&live), Arc::clone(&stop));
            let (missed, inside) = (Arc::clone(&missed), Arc::clone(&inside));
            thread::spawn(move || {
                let mut x = i;
                while !stop.load(Ordering::Relaxed) {
                    let before = live.load(Ordering::SeqCst);
                    SEEN.with(|seen| seen.set(false));
                    std::hint::black_box(stress_leaf(x));
                    let after = live.load(Ordering::SeqCst);
                    if before != 0 && before == after {
                        inside.fetch_add(1, Ordering::Relaxed);
                        if !SEEN.with(Cell::get) {
                            missed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    x += 1;
                }
            })
        })
        .collect();
    for round in 1..=rounds() as u64 {
        let ops = Ops::new(|_| SEEN.with(|seen| seen.set(true)));
        ops.set_filter("stress_leaf", true).unwrap();
        ops.register().unwrap();
        live.store(round, Ordering::SeqCst);
        thread::yield_now();
        live.store(0, Ordering::SeqCst);
        ops.unregister().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(
        missed.load(Ordering::SeqCst),
        0,
        "calls inside a registration not traced"
    );
    assert!(
        inside.load(Ordering::Relaxed) > 0,
        "no call fell inside a registration"
    );
}

/// While the site's only ops alternates between callbacks of two different types, a call that
/// loaded one type's entry function (`enter_with::<A>`) just before the site switched to the other's
/// must never run A's code on B's closure: each callback checks the marker of its own captured state.
#[test]
fn direct_paths_of_other_callback_types_are_never_confused() {
    const A: u64 = 0xA11C_E5A1_1CE5_A11C;
    const B: u32 = 0xB0B0_B0B0;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let stop = Arc::new(AtomicBool::new(false));
    let confused = Arc::new(AtomicUsize::new(0));
    let hits = Arc::new(AtomicUsize::new(0));
    let workers = callers(3, &stop);
    for round in 0..rounds() {
        let (c, h) = (Arc::clone(&confused), Arc::clone(&hits));
        // Two closure types with different captured layouts: a marker word first, or a marker after
        // a string.
        let ops = if round % 2 == 0 {
            let marker = std::hint::black_box(A);
            Ops::new(move |_| {
                if marker != A {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                h.fetch_add(1, Ordering::Relaxed);
            })
        } else {
            let (name, marker) = (String::from("b"), std::hint::black_box(B));
            Ops::new(move |_| {
                if marker != B || name != "b" {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                h.fetch_add(1, Ordering::Relaxed);
            })
        };
        ops.set_filter("stress_leaf", true).unwrap();
        ops.register().unwrap();
        thread::yield_now();
        ops.unregister().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(confused.load(Ordering::SeqCst), 0);
    assert!(hits.load(Ordering::Relaxed) > 0, "callbacks must have run");
}
