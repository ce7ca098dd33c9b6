//! The cost of one recorded call: the function_graph and function tracers writing their ring
//! buffers, against fastrace (`#[trace]` under a root span, with a collector) and the untraced body.
//!
//! Run: `cargo bench --bench tracer`; the README's table comes from
//! `python3 scripts/bench_table.py tracer`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tracehook::tracer::{Kind, Tracer};

mod common;
use common::{NoopReporter, fastrace_chunks};

#[inline(never)]
fn plain(x: u64) -> u64 {
    black_box(x.wrapping_mul(31).wrapping_add(7))
}

#[tracehook::traceable]
#[inline(never)]
fn traced(x: u64) -> u64 {
    black_box(x.wrapping_mul(31).wrapping_add(7))
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_traced(x: u64) -> u64 {
    black_box(x.wrapping_mul(31).wrapping_add(7))
}

fn tracer(c: &mut Criterion) {
    fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
    let tracer = Tracer::new();
    tracer.set_filter("traced", false).expect("filter");
    let mut group = c.benchmark_group("tracer");
    let mut x = 1u64;
    group.bench_function("plain", |b| b.iter(|| plain(black_box(x))));
    tracer
        .set_kind(Kind::FunctionGraph)
        .expect("function_graph");
    group.bench_function("function_graph_call", |b| {
        b.iter(|| traced(black_box(x)));
    });
    tracer.set_kind(Kind::Function).expect("function");
    group.bench_function("function_call", |b| b.iter(|| traced(black_box(x))));
    tracer.set_kind(Kind::Nop).expect("nop");
    group.bench_function("fastrace_span", |b| {
        b.iter_custom(|iters| {
            fastrace_chunks(iters, || {
                x = fastrace_traced(black_box(x));
            })
        });
    });
    group.finish();
    fastrace::flush();
}

criterion_group!(benches, tracer);
criterion_main!(benches);
