//! Readers copying the rings while writers fill (and wrap) them: no torn event is ever shown, and
//! the outputs stay well-formed. Rounds: `STRESS_ROUNDS` (default 200).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tracehook::traceable;
use tracehook::tracefs::{read, read_nonblock, write};

#[traceable]
fn stress_leaf(x: u64) -> u64 {
    std::hint::black_box(x ^ 0x5a)
}

#[traceable]
fn stress_mid(x: u64) -> u64 {
    stress_leaf(x).wrapping_add(1)
}

#[traceable]
fn stress_top(x: u64) -> u64 {
    stress_mid(x).wrapping_mul(3)
}

fn rounds() -> usize {
    std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200)
}

fn with_writers(check: impl Fn()) {
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("writer-{i}"))
                .spawn(move || {
                    let mut x = i;
                    while !stop.load(Ordering::Relaxed) {
                        x = stress_top(x);
                    }
                })
                .unwrap()
        })
        .collect();
    for _ in 0..rounds() {
        check();
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
}

#[test]
fn concurrent_reads_never_show_torn_events() {
    // A small ring (2 KiB: 64 events) wraps many times during every read.
    write("buffer_size_kb", "2").unwrap();
    write("set_ftrace_filter", "stress_*").unwrap();
    write("current_tracer", "function").unwrap();
    with_writers(|| {
        let trace = read("trace").unwrap();
        for line in trace.lines().filter(|l| !l.starts_with('#')) {
            let call = line.split_once(": ").unwrap().1;
            assert!(
                matches!(
                    call,
                    "stress_top" | "stress_mid <-stress_top" | "stress_leaf <-stress_mid"
                ),
                "torn or foreign event: {line}"
            );
        }
        let piped = read_nonblock("trace_pipe").unwrap();
        assert!(!piped.contains("<unknown>"), "{piped}");
    });

    write("current_tracer", "function_graph").unwrap();
    with_writers(|| {
        let graph = read("trace").unwrap();
        for line in graph
            .lines()
            .filter(|l| l.contains('|') && !l.starts_with('#'))
        {
            let call = line.rsplit('|').next().unwrap().trim();
            assert!(
                matches!(
                    call,
                    "stress_top() {"
                        | "stress_mid() {"
                        | "stress_leaf();"
                        | "stress_mid();"
                        | "stress_leaf() {"
                        | "}"
                ) || call.starts_with("} /* stress_"),
                "unexpected graph line: {line}"
            );
        }
        let json: serde_json::Value = serde_json::from_str(&read("trace_json").unwrap()).unwrap();
        for event in json["traceEvents"].as_array().unwrap() {
            if event["ph"] == "X" {
                assert!(event["dur"].as_f64().unwrap() < 1e6, "{event}");
            }
        }
    });
    write("current_tracer", "nop").unwrap();
    write("buffer_size_kb", "1408").unwrap();
}
