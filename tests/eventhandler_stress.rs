//! Many threads invoking, registering and deregistering on a few lists. Oracles: no handler runs after
//! its (waiting) deregister returned; every permanent handler runs exactly once per invoke; every
//! handler's state is dropped in the end (nothing leaks). `STRESS_ROUNDS` sets the rounds per churn
//! thread (default 2000).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use tracehook::eventhandler::{self, PRI_ANY, PRI_FIRST, Tag};
use tracehook::{eventhandler_declare, eventhandler_deregister, eventhandler_deregister_nowait};
use tracehook::{eventhandler_direct_invoke, eventhandler_register};

eventhandler_declare!(stress_a, fn(round: u64));
eventhandler_declare!(stress_b, fn(round: u64));
eventhandler_declare!(stress_c, fn(round: u64));

thread_local! {
    static PERMANENT_CALLS: Cell<[u64; 3]> = const { Cell::new([0; 3]) };
}

fn rounds() -> usize {
    std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Counts drops of handler state.
struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn invoke(list: usize, round: u64) {
    match list {
        0 => eventhandler_direct_invoke!(stress_a, round),
        1 => eventhandler_direct_invoke!(stress_b, round),
        _ => eventhandler_direct_invoke!(stress_c, round),
    };
}

fn register(list: usize, handler: impl Fn(u64) + Send + Sync + 'static, priority: i32) -> Tag {
    match list {
        0 => eventhandler_register!(stress_a, handler, priority),
        1 => eventhandler_register!(stress_b, handler, priority),
        _ => eventhandler_register!(stress_c, handler, priority),
    }
}

fn deregister(list: usize, tag: Tag, wait: bool) {
    let result = match (list, wait) {
        (0, true) => eventhandler_deregister!(stress_a, tag),
        (1, true) => eventhandler_deregister!(stress_b, tag),
        (_, true) => eventhandler_deregister!(stress_c, tag),
        (0, false) => eventhandler_deregister_nowait!(stress_a, tag),
        (1, false) => eventhandler_deregister_nowait!(stress_b, tag),
        (_, false) => eventhandler_deregister_nowait!(stress_c, tag),
    };
    result.expect("the tag is registered");
}

#[test]
fn invoke_register_deregister_under_load() {
    let created = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let violations = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));

    let permanent: Vec<Tag> = (0..3)
        .map(|list| {
            register(
                list,
                move |_| {
                    PERMANENT_CALLS.with(|c| {
                        let mut counts = c.get();
                        counts[list] += 1;
                        c.set(counts);
                    });
                },
                PRI_FIRST,
            )
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let invokers: Vec<_> = (0..2)
        .map(|i| {
            let (stop, violations) = (Arc::clone(&stop), Arc::clone(&violations));
            thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let list = (round as usize + i) % 3;
                    let before = PERMANENT_CALLS.with(Cell::get)[list];
                    invoke(list, round);
                    if PERMANENT_CALLS.with(Cell::get)[list] != before + 1 {
                        violations.fetch_add(1, Ordering::SeqCst);
                    }
                    round += 1;
                }
            })
        })
        .collect();

    let churners: Vec<_> = (0..2)
        .map(|c| {
            let (created, dropped, violations, calls) = (
                Arc::clone(&created),
                Arc::clone(&dropped),
                Arc::clone(&violations),
                Arc::clone(&calls),
            );
            thread::spawn(move || {
                for round in 0..rounds() {
                    let list = (round + c) % 3;
                    let gone = Arc::new(AtomicBool::new(false));
                    let token = Token(Arc::clone(&dropped));
                    created.fetch_add(1, Ordering::SeqCst);
                    let (g, v, n) = (
                        Arc::clone(&gone),
                        Arc::clone(&violations),
                        Arc::clone(&calls),
                    );
                    let tag = register(
                        list,
                        move |_| {
                            let _keep = &token;
                            // Checked twice, with a yield between, so a deregister that did not
                            // wait for this call has a window to return in.
                            for _ in 0..2 {
                                if g.load(Ordering::SeqCst) {
                                    v.fetch_add(1, Ordering::SeqCst);
                                }
                                thread::yield_now();
                            }
                            n.fetch_add(1, Ordering::Relaxed);
                        },
                        PRI_ANY + i32::try_from(round % 7).unwrap(),
                    );
                    invoke(list, round as u64);
                    let wait = round % 2 == 0;
                    deregister(list, tag, wait);
                    if wait {
                        gone.store(true, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for churner in churners {
        churner.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for invoker in invokers {
        invoker.join().unwrap();
    }
    for (list, tag) in permanent.into_iter().enumerate() {
        deregister(list, tag, true);
    }
    for name in ["stress_a", "stress_b", "stress_c"] {
        let list = eventhandler::find_list(name).unwrap();
        assert!(list.is_empty());
        eventhandler::prune_list(list);
    }
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert!(calls.load(Ordering::Relaxed) > 0);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        created.load(Ordering::SeqCst),
        "every handler's state was dropped"
    );
}
