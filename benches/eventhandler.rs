//! The cost of invoking an event's handlers: tracehook's direct and by-name invokes against the
//! physical limit (a plain vector of boxed closures called in a loop) and a FreeBSD-style list that
//! takes and releases a mutex around each handler (keeping it alive with a shared run count, as
//! `ee_runcount` does). Every handler is the same trivial thread-local increment.
//!
//! Run: `cargo bench --bench eventhandler`, then `python3 scripts/bench_table.py eventhandler` and
//! `python3 scripts/bench_table.py eventhandler_mt`.

use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use std::cell::Cell;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use tracehook::eventhandler::PRI_ANY;
use tracehook::{eventhandler_declare, eventhandler_direct_invoke, eventhandler_invoke};
use tracehook::{eventhandler_list_define, eventhandler_register};

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn handler(x: u64) {
    COUNT.with(|count| count.set(count.get().wrapping_add(x)));
}

eventhandler_list_define!(bench_direct_8, fn(x: u64));
eventhandler_list_define!(bench_direct_1, fn(x: u64));
eventhandler_declare!(bench_named_8, fn(x: u64));
eventhandler_declare!(bench_named_1, fn(x: u64));

type Handler = Box<dyn Fn(u64) + Send + Sync>;
type SharedHandler = Arc<dyn Fn(u64) + Send + Sync>;
type LockedList = Mutex<Vec<SharedHandler>>;

fn closures(n: usize) -> Vec<Handler> {
    (0..n).map(|_| Box::new(handler) as Handler).collect()
}

#[inline(never)]
fn closure_loop(handlers: &[Handler], x: u64) {
    for h in handlers {
        h(x);
    }
}

/// FreeBSD's invoke: the list lock is held to pick each handler and released around its call.
#[inline(never)]
fn mutex_vec(list: &LockedList, x: u64) {
    let mut i = 0;
    loop {
        let next = {
            let guard = list.lock();
            guard.get(i).cloned()
        };
        let Some(h) = next else { break };
        h(x);
        i += 1;
    }
}

fn mutex_list(n: usize) -> LockedList {
    Mutex::new((0..n).map(|_| Arc::new(handler) as SharedHandler).collect())
}

fn register_all() {
    for _ in 0..8 {
        eventhandler_register!(bench_direct_8, handler, PRI_ANY);
        eventhandler_register!(bench_named_8, handler, PRI_ANY);
    }
    eventhandler_register!(bench_direct_1, handler, PRI_ANY);
    eventhandler_register!(bench_named_1, handler, PRI_ANY);
}

fn eventhandler(c: &mut Criterion) {
    register_all();
    let mut group = c.benchmark_group("eventhandler");
    for n in [8, 1] {
        let plain = closures(n);
        let locked = mutex_list(n);
        group.bench_function(format!("closure_loop_{n}"), |b| {
            b.iter(|| closure_loop(&plain, black_box(1)));
        });
        group.bench_function(format!("direct_invoke_{n}"), |b| {
            if n == 8 {
                b.iter(|| eventhandler_direct_invoke!(bench_direct_8, black_box(1)));
            } else {
                b.iter(|| eventhandler_direct_invoke!(bench_direct_1, black_box(1)));
            }
        });
        group.bench_function(format!("invoke_{n}"), |b| {
            if n == 8 {
                b.iter(|| eventhandler_invoke!(bench_named_8, black_box(1)));
            } else {
                b.iter(|| eventhandler_invoke!(bench_named_1, black_box(1)));
            }
        });
        group.bench_function(format!("mutex_vec_{n}"), |b| {
            b.iter(|| mutex_vec(&locked, black_box(1)));
        });
    }
    group.finish();
}

/// Runs `invoke` `iters` times on each of two threads at once; the wall time of the run, so the
/// reported time is per invoke per thread.
fn two_threads(iters: u64, invoke: impl Fn() + Sync) -> Duration {
    let barrier = Barrier::new(3);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    invoke();
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn eventhandler_mt(c: &mut Criterion) {
    let mut group = c.benchmark_group("eventhandler_mt");
    let locked = mutex_list(8);
    group.bench_function("direct_invoke_8_x2", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                eventhandler_direct_invoke!(bench_direct_8, black_box(1));
            })
        });
    });
    // The machine's own two-thread scaling, for reference: the physical limit on both threads.
    let plain = closures(8);
    group.bench_function("closure_loop_8_x2", |b| {
        b.iter_custom(|iters| two_threads(iters, || closure_loop(&plain, black_box(1))));
    });
    group.bench_function("mutex_vec_8_x2", |b| {
        b.iter_custom(|iters| two_threads(iters, || mutex_vec(&locked, black_box(1))));
    });
    group.finish();
}

criterion_group!(benches, eventhandler, eventhandler_mt);
criterion_main!(benches);
