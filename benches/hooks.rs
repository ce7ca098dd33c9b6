//! The cost of a hook: off (nothing attached) and on (one trivial callback), against a plain function,
//! a hand-written function-pointer hook (the physical limit), `tracing::instrument` and fastrace.
//!
//! Every function has the same body and is `#[inline(never)]`; the callback of every "on" case is the
//! same thread-local counter increment. Each sample is timed as its fastest chunk of calls
//! ([`fastest_chunk`]), except `fastrace_on`, which needs a root span per chunk. Run:
//! `cargo bench --bench hooks`; the README's table comes from `python3 scripts/bench_table.py hook`.

use criterion::{Bencher, Criterion, criterion_group, criterion_main};

mod common;
#[path = "common/hook_fns.rs"]
mod hook_fns;
use common::{NoopReporter, fastrace_chunks};
use hook_fns::{COUNT, body, bump, handwritten, plain, set_hook, traceable_off, traceable_on};
use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tracehook::ftrace::Ops;

#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_instrumented(x: u64) -> u64 {
    body!(x)
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_traced(x: u64) -> u64 {
    body!(x)
}

/// A subscriber that is enabled for everything and records nothing.
struct NoopSubscriber;

impl tracing::Subscriber for NoopSubscriber {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Times `iters` calls of `f` as the fastest of its runs of `CHUNK` consecutive calls, scaled to
/// `iters`: what `iters` calls cost while no other tenant of the machine takes the core. A loop of a
/// few nanoseconds per call is otherwise measured with whatever the host steals during the sample
/// (on this shared machine that moved criterion's medians by up to 50% between runs of one binary).
/// A chunk is long enough (`CHUNK` calls: 3 to 60 µs here) that reading the clock costs under 1% of
/// it, and short enough that most chunks run undisturbed. The same estimator times the baseline and
/// the measured case of every ratio. Code layout is not noise and stays in: it is the same in every
/// chunk of one binary.
fn fastest_chunk(iters: u64, mut f: impl FnMut()) -> Duration {
    const CHUNK: u64 = 2048;
    let mut best = f64::INFINITY;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        #[allow(clippy::cast_precision_loss, reason = "a chunk's call count is small")]
        let per_call = start.elapsed().as_secs_f64() / n as f64;
        best = best.min(per_call);
        left -= n;
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "a sample's call count is far below 2^52"
    )]
    Duration::from_secs_f64(best * iters as f64)
}

/// Times `f` on `x` as the fastest of its chunks of calls (see `fastest_chunk`), its result kept.
fn time(b: &mut Bencher<'_>, x: u64, f: impl Fn(u64) -> u64) {
    b.iter_custom(|iters| {
        fastest_chunk(iters, || {
            black_box(f(black_box(x)));
        })
    });
}

fn hook(c: &mut Criterion) {
    fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
    let mut group = c.benchmark_group("hook");
    let mut x = 0u64;
    group.bench_function("plain", |b| time(b, x, plain));
    group.bench_function("traceable_off", |b| time(b, x, traceable_off));
    group.bench_function("tracing_instrument_off", |b| {
        time(b, x, tracing_instrumented);
    });
    group.bench_function("fastrace_off", |b| time(b, x, fastrace_traced));

    set_hook(true);
    group.bench_function("handwritten_on", |b| time(b, x, handwritten));
    set_hook(false);
    hook_fns::floor::set_hook(true);
    group.bench_function("contract_floor_on", |b| {
        time(b, x, hook_fns::floor::hooked);
    });
    hook_fns::floor::set_hook(false);

    let ops = Ops::new(|_| bump());
    ops.set_filter("traceable_on", true).expect("filter");
    ops.register().expect("register");
    group.bench_function("traceable_on", |b| time(b, x, traceable_on));
    ops.unregister().expect("unregister");

    tracing::subscriber::with_default(NoopSubscriber, || {
        group.bench_function("tracing_instrument_on", |b| {
            time(b, x, tracing_instrumented);
        });
    });
    group.bench_function("fastrace_on", |b| {
        b.iter_custom(|iters| {
            fastrace_chunks(iters, || {
                x = fastrace_traced(black_box(x));
            })
        });
    });
    group.finish();
    fastrace::flush();
    assert!(COUNT.with(Cell::get) > 0, "the callbacks ran");
}

criterion_group!(benches, hook);
criterion_main!(benches);
