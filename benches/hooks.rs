//! The cost of a hook: off (nothing attached) and on (one trivial callback), against a plain function,
//! a hand-written function-pointer hook (the physical limit), `tracing::instrument` and fastrace.
//!
//! Every function has the same body and is `#[inline(never)]`; the callback of every "on" case is the
//! same thread-local counter increment. Run: `cargo bench --bench hooks`; the README's table comes from
//! `python3 scripts/bench_table.py hook`.

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
#[path = "common/hook_fns.rs"]
mod hook_fns;
use common::{NoopReporter, fastrace_chunks};
use hook_fns::{COUNT, body, bump, handwritten, plain, set_hook, traceable_off, traceable_on};
use std::cell::Cell;
use std::hint::black_box;
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

fn hook(c: &mut Criterion) {
    fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
    let mut group = c.benchmark_group("hook");
    let mut x = 0u64;
    group.bench_function("plain", |b| b.iter(|| plain(black_box(x))));
    group.bench_function("traceable_off", |b| b.iter(|| traceable_off(black_box(x))));
    group.bench_function("tracing_instrument_off", |b| {
        b.iter(|| tracing_instrumented(black_box(x)));
    });
    group.bench_function("fastrace_off", |b| b.iter(|| fastrace_traced(black_box(x))));

    set_hook(true);
    group.bench_function("handwritten_on", |b| b.iter(|| handwritten(black_box(x))));
    set_hook(false);
    hook_fns::floor::set_hook(true);
    group.bench_function("contract_floor_on", |b| {
        b.iter(|| hook_fns::floor::hooked(black_box(x)));
    });
    hook_fns::floor::set_hook(false);

    let ops = Ops::new(|_| bump());
    ops.set_filter("traceable_on", true).expect("filter");
    ops.register().expect("register");
    group.bench_function("traceable_on", |b| b.iter(|| traceable_on(black_box(x))));
    ops.unregister().expect("unregister");

    tracing::subscriber::with_default(NoopSubscriber, || {
        group.bench_function("tracing_instrument_on", |b| {
            b.iter(|| tracing_instrumented(black_box(x)));
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
