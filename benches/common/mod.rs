//! What the benches share: the fastrace peer's set-up.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A fastrace reporter that drops what it gets (the collector still collects).
pub struct NoopReporter;

impl fastrace::collector::Reporter for NoopReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// Runs `f` `iters` times in chunks, each chunk under a fresh fastrace root set as local parent (a
/// root's span line holds a bounded number of spans; past that fastrace stops recording).
pub fn fastrace_chunks(iters: u64, mut f: impl FnMut()) -> Duration {
    const CHUNK: u64 = 256;
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let root = fastrace::Span::root("bench", fastrace::collector::SpanContext::random());
        let guard = root.set_local_parent();
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        total += start.elapsed();
        drop(guard);
        drop(root);
        left -= n;
    }
    total
}
