//! The kernel's ftrace selftests (`tools/testing/selftests/ftrace/test.d/ftrace/`), re-created
//! against this binary's own traced functions through the tracefs control plane.
//!
//! The tracer configuration is one per program, so the tests here take a lock and start from
//! `Tracer::reset()` (the selftests' `initialize_ftrace`).

#![allow(
    non_snake_case,
    reason = "kernel names such as SyS_read are part of the glob table"
)]
#![allow(
    dead_code,
    reason = "some functions exist only to be listed and matched by the globs"
)]

mod common;

use common::KERNEL_GLOB_TABLE;
use std::sync::{Mutex, MutexGuard};
use tracehook::traceable;
use tracehook::tracefs::{append, read, write};
use tracehook::tracer::Tracer;

#[traceable]
fn schedule() -> u32 {
    std::hint::black_box(1)
}
#[traceable]
fn preempt_schedule() -> u32 {
    schedule() + 1
}
#[traceable]
fn schedule_tail() {}
#[traceable]
fn do_softirq() -> u32 {
    std::hint::black_box(2)
}
#[traceable]
fn spin_lock() {}
#[traceable]
fn raw_spin_unlock() {}
#[traceable]
fn spin_trylock() {}
#[traceable]
fn mutex_lock() {}
#[traceable]
fn mutex_unlock() {}
#[traceable]
fn mutex_trylock() {}
#[traceable]
fn clock_unlock() {}
#[traceable]
fn cpu_unlock_all() {}
#[traceable]
fn SyS_read() {}
#[traceable]
fn sys_write() {}
#[traceable]
fn kernel_clone() -> u32 {
    schedule()
}
#[traceable]
fn fork_process() -> u32 {
    kernel_clone()
}
#[traceable]
fn other_work() -> u32 {
    do_softirq() + 1
}

static LOCK: Mutex<()> = Mutex::new(());

fn initialize_ftrace() -> MutexGuard<'static, ()> {
    let guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Tracer::new().reset().expect("reset");
    guard
}

/// The lines of a file that are not `#` comments.
fn lines(file: &str) -> Vec<String> {
    read(file)
        .expect(file)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn available() -> Vec<String> {
    lines("available_filter_functions")
}

/// func-filter-glob.tc: the filter equals the regex selection of `available_filter_functions`.
#[test]
fn func_filter_glob() {
    let _guard = initialize_ftrace();
    for (pattern, predicate) in KERNEL_GLOB_TABLE {
        write("set_ftrace_filter", pattern).expect(pattern);
        let mut want: Vec<String> = available().into_iter().filter(|n| predicate(n)).collect();
        want.sort();
        want.dedup();
        let mut got = lines("set_ftrace_filter");
        got.sort();
        got.dedup();
        assert!(!want.is_empty(), "{pattern}");
        assert_eq!(got, want, "pattern {pattern}");
    }
    // A pattern that matches nothing fails and leaves the filter as it was.
    let before = read("set_ftrace_filter").unwrap();
    let error = write("set_ftrace_filter", "schedule nosuch*").unwrap_err();
    assert!(error.to_string().contains("nosuch*"), "{error}");
    assert_eq!(read("set_ftrace_filter").unwrap(), before);
    write("set_ftrace_filter", "").unwrap();
    assert_eq!(
        read("set_ftrace_filter").unwrap(),
        "#### all functions enabled ####\n"
    );
}

/// The check of func_set_ftrace_file.tc: the file holds exactly these lines.
fn check_set_ftrace_filter(expected: &[&str]) {
    let mut got = read("set_ftrace_filter")
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// func_set_ftrace_file.tc: functions and triggers through truncating and appending writes.
#[test]
fn func_set_ftrace_file() {
    let _guard = initialize_ftrace();
    let all = "#### all functions enabled ####";
    check_set_ftrace_filter(&[all]);
    write("set_ftrace_filter", "schedule:traceoff").unwrap();
    check_set_ftrace_filter(&[all, "schedule:traceoff:unlimited"]);
    write("set_ftrace_filter", "schedule").unwrap();
    check_set_ftrace_filter(&["schedule", "schedule:traceoff:unlimited"]);
    append("set_ftrace_filter", "do_softirq").unwrap();
    check_set_ftrace_filter(&["schedule", "do_softirq", "schedule:traceoff:unlimited"]);
    append("set_ftrace_filter", "do_softirq:traceoff").unwrap();
    check_set_ftrace_filter(&[
        "schedule",
        "do_softirq",
        "schedule:traceoff:unlimited",
        "do_softirq:traceoff:unlimited",
    ]);
    write("set_ftrace_filter", "schedule").unwrap();
    check_set_ftrace_filter(&[
        "schedule",
        "schedule:traceoff:unlimited",
        "do_softirq:traceoff:unlimited",
    ]);
    write("set_ftrace_filter", "").unwrap();
    check_set_ftrace_filter(&[
        all,
        "schedule:traceoff:unlimited",
        "do_softirq:traceoff:unlimited",
    ]);
    Tracer::new().reset().unwrap();
    check_set_ftrace_filter(&[all]);
    write("set_ftrace_filter", "schedule").unwrap();
    check_set_ftrace_filter(&["schedule"]);
    append("set_ftrace_filter", "do_softirq").unwrap();
    check_set_ftrace_filter(&["schedule", "do_softirq"]);

    // The `*lock*` part: triggers on every function with "lock", then removals by glob.
    let actual = || {
        let mut names: Vec<String> = lines("set_ftrace_filter")
            .into_iter()
            .map(|l| {
                l.split(' ')
                    .next()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let mut expected: Vec<String> = available()
        .into_iter()
        .filter(|n| n.contains("lock"))
        .collect();
    expected.sort();
    expected.dedup();
    write("set_ftrace_filter", "*lock*:traceoff").unwrap();
    assert_eq!(actual(), expected);
    let glob_end = |n: &str, start: &str, mid: &str, end: &str| {
        n.starts_with(start) && n.ends_with(end) && n[start.len()..].contains(mid)
    };
    expected.retain(|n| !(n.ends_with("lock") && n.find("try").is_some_and(|i| n[i..].len() >= 7)));
    append("set_ftrace_filter", "!*try*lock:traceoff").unwrap();
    assert_eq!(actual(), expected);
    expected.retain(|n| !glob_end(n, "m", "", "lock"));
    append("set_ftrace_filter", "!m*lock:traceoff").unwrap();
    assert_eq!(actual(), expected);
    expected.retain(|n| !(n.starts_with('c') && n[1..].contains("unlock")));
    append("set_ftrace_filter", "!c*unlock*:traceoff").unwrap();
    assert_eq!(actual(), expected);
    append("set_ftrace_filter", "!*:traceoff").unwrap();
    assert!(actual().is_empty(), "{:?}", actual());
}

fn cnt_trace() -> usize {
    lines("trace").len()
}

fn tracing_on() -> String {
    read("tracing_on").unwrap().trim().to_owned()
}

/// func_traceonoff_triggers.tc, with `schedule` called by the test instead of the scheduler.
#[test]
fn func_traceonoff_triggers() {
    let _guard = initialize_ftrace();
    write("tracing_on", "0").unwrap();
    write("trace", "").unwrap();
    assert_eq!(cnt_trace(), 0, "junk in trace");
    write("current_tracer", "function").unwrap();
    write("tracing_on", "1").unwrap();
    other_work();
    assert_ne!(cnt_trace(), 0, "nothing found in trace");

    write("set_ftrace_filter", "schedule:traceoff").unwrap();
    assert_eq!(
        lines("set_ftrace_filter")
            .iter()
            .filter(|l| l.contains("schedule"))
            .count(),
        1
    );
    preempt_schedule();
    let cnt = cnt_trace();
    other_work();
    assert_eq!(cnt_trace(), cnt, "tracing is not stopped");
    assert_eq!(tracing_on(), "0");
    let before = read("trace").unwrap();
    other_work();
    assert_eq!(read("trace").unwrap(), before, "trace is still changing");
    write("trace", "").unwrap();
    assert_eq!(cnt_trace(), 0);

    append("set_ftrace_filter", "!schedule:traceoff").unwrap();
    assert!(!read("set_ftrace_filter").unwrap().contains("schedule"));
    assert_eq!(tracing_on(), "0", "tracing is started again");

    write("set_ftrace_filter", "schedule:traceon").unwrap();
    assert_eq!(
        lines("set_ftrace_filter")
            .iter()
            .filter(|l| l.contains("schedule"))
            .count(),
        1
    );
    preempt_schedule();
    other_work();
    assert_ne!(cnt_trace(), 0, "tracing did not start");
    assert_eq!(tracing_on(), "1");
    append("set_ftrace_filter", "!schedule:traceon").unwrap();
    assert!(!read("set_ftrace_filter").unwrap().contains("schedule"));

    // traceoff:3 turns tracing off three times, and only when it is on.
    write("set_ftrace_filter", "schedule:traceoff:3").unwrap();
    schedule();
    schedule(); // already off: the count does not drop
    assert_eq!(tracing_on(), "0");
    assert!(
        read("set_ftrace_filter")
            .unwrap()
            .contains("schedule:traceoff:count=2")
    );
    for expected in ["0", "0", "1"] {
        write("tracing_on", "1").unwrap();
        schedule();
        assert_eq!(tracing_on(), expected);
    }
    assert!(
        read("set_ftrace_filter")
            .unwrap()
            .contains("schedule:traceoff:count=0")
    );
    write("set_ftrace_filter", "!schedule:traceoff:0").unwrap();
    let filter = read("set_ftrace_filter").unwrap();
    assert!(
        !filter.contains("traceon") && !filter.contains("traceoff"),
        "{filter}"
    );
}

/// func-filter-stacktrace.tc: a stacktrace trigger records the traced-function stack.
#[test]
fn func_filter_stacktrace() {
    let _guard = initialize_ftrace();
    // The stack is the shadow stack of hooked functions: with the function tracer, every one.
    write("current_tracer", "function").unwrap();
    append("set_ftrace_filter", "kernel_clone:stacktrace").unwrap();
    assert!(
        read("set_ftrace_filter")
            .unwrap()
            .contains("kernel_clone:stacktrace:unlimited")
    );
    fork_process();
    let trace = read("trace").unwrap();
    assert!(trace.contains("<stack trace>"), "{trace}");
    assert!(
        trace.contains(" => kernel_clone\n => fork_process"),
        "{trace}"
    );
    // Counted: stacktrace:1 records once.
    write("trace", "").unwrap();
    write("set_ftrace_filter", "kernel_clone:stacktrace:1").unwrap();
    fork_process();
    fork_process();
    assert_eq!(read("trace").unwrap().matches("<stack trace>").count(), 1);
    assert!(
        read("set_ftrace_filter")
            .unwrap()
            .contains("kernel_clone:stacktrace:count=0")
    );
}

/// func_profiler.tc: the profiler running with the function tracer does not break its filter.
#[test]
fn func_profiler() {
    let _guard = initialize_ftrace();
    write("current_tracer", "function").unwrap();
    write("function_profile_enabled", "1").unwrap();
    other_work();
    write("set_ftrace_filter", "*schedule").unwrap();
    write("trace", "").unwrap();
    write("function_profile_enabled", "0").unwrap();
    preempt_schedule();
    other_work();
    let trace = lines("trace");
    assert!(
        trace.iter().all(|l| l.contains("schedule")),
        "more than schedule: {trace:?}"
    );
    assert!(!trace.is_empty(), "schedule was not traced");
    write("set_ftrace_filter", "").unwrap();
    write("trace", "").unwrap();
    other_work();
    assert!(
        lines("trace").iter().any(|l| !l.contains("schedule")),
        "nothing else traced"
    );
}

/// The profile itself: hits per function, times with function_graph timing.
#[test]
fn func_profiler_stats() {
    let _guard = initialize_ftrace();
    write("set_ftrace_filter", "schedule preempt_schedule").unwrap();
    write("function_profile_enabled", "1").unwrap();
    for _ in 0..5 {
        preempt_schedule();
    }
    schedule();
    let stat = read("trace_stat/function").unwrap();
    let mut rows = stat.lines();
    assert_eq!(
        rows.next().unwrap(),
        "  Function                               Hit    Time            Avg             s^2"
    );
    assert_eq!(
        rows.next().unwrap(),
        "  --------                               ---    ----            ---             ---"
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split_whitespace().collect()).collect();
    let hits = |name: &str| rows.iter().find(|r| r[0] == name).map(|r| r[1].to_owned());
    assert_eq!(hits("schedule").as_deref(), Some("6"));
    assert_eq!(hits("preempt_schedule").as_deref(), Some("5"));
    // Sorted by total time: preempt_schedule includes its schedule() calls.
    assert_eq!(rows[0][0], "preempt_schedule", "{stat}");
    for row in &rows {
        assert_eq!(row[3], "us");
        assert_eq!(row[5], "us");
        assert_eq!(row[7], "us");
    }
    // Re-enabling resets the counters.
    write("function_profile_enabled", "0").unwrap();
    write("function_profile_enabled", "1").unwrap();
    schedule();
    let profile = Tracer::new().profile();
    assert_eq!(profile.len(), 1);
    assert_eq!(profile[0].hits, 1);
}

/// fgraph-filter.tc: function_graph with a filter shows only that function.
#[test]
fn fgraph_filter() {
    let _guard = initialize_ftrace();
    write("tracing_on", "0").unwrap();
    write("trace", "").unwrap();
    write("set_ftrace_filter", "schedule").unwrap();
    write("current_tracer", "function_graph").unwrap();
    write("tracing_on", "1").unwrap();
    preempt_schedule();
    other_work();
    let trace = read("trace").unwrap();
    let calls: Vec<&str> = trace.lines().filter(|l| l.contains("()")).collect();
    assert!(calls.iter().all(|l| l.contains("schedule")), "{trace}");
    assert!(
        trace.contains("schedule()"),
        "no schedule traces found: {trace}"
    );
}
