//! A port of the kernel's own ftrace API self-tests (`kernel/trace/trace_selftest.c`):
//! `trace_selftest_ops` (filtered probes, an unfiltered one, a dynamic one, a `!` removal while
//! registered, nothing after unregistering) and the recursion tests.
//!
//! The kernel counts calls from its own context; here the unfiltered ops count calls made by the
//! test's thread only, so tests running alongside in this binary cannot disturb the counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use tracehook::ftrace::{self, Flags, Ops};
use tracehook::traceable;

/// DYN_FTRACE_TEST_NAME
#[traceable]
#[inline(never)]
fn trace_selftest_dynamic_test_func() -> i32 {
    std::hint::black_box(0)
}

/// DYN_FTRACE_TEST_NAME2
#[traceable]
#[inline(never)]
fn trace_selftest_dynamic_test_func2() -> i32 {
    std::hint::black_box(0)
}

/// The tests share the two functions; run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// An ops counting calls made on `thread`.
fn probe(thread: ThreadId) -> (Ops, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let ops = Ops::new(move |_| {
        if std::thread::current().id() == thread {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    (ops, count)
}

struct Counts<'a> {
    probes: [&'a AtomicUsize; 3],
    global: &'a AtomicUsize,
    dynamic: &'a AtomicUsize,
}

impl Counts<'_> {
    fn probes(&self) -> [usize; 3] {
        self.probes.map(|c| c.load(Ordering::SeqCst))
    }
}

/// `trace_selftest_ops(tr, cnt)`: `cnt == 1` runs without the global (tracer) ops, `cnt == 2` with.
fn selftest_ops(cnt: u32) {
    let me = std::thread::current().id();
    let (probe1, c1) = probe(me);
    let (probe2, c2) = probe(me);
    let (probe3, c3) = probe(me);
    let (global, cg) = probe(me);
    let f1 = "*trace_selftest_dynamic_test_func";
    let f2 = "*trace_selftest_dynamic_test_func2";
    probe1.set_filter(f1, true).unwrap();
    probe2.set_filter(f2, true).unwrap();
    probe3.set_filter(f1, true).unwrap();
    probe3.set_filter(f2, false).unwrap();
    probe1.register().unwrap();
    probe2.register().unwrap();
    probe3.register().unwrap();
    if cnt > 1 {
        global.register().unwrap();
    }
    let (dynamic, cd) = probe(me);
    let counts = Counts {
        probes: [&c1, &c2, &c3],
        global: &cg,
        dynamic: &cd,
    };

    trace_selftest_dynamic_test_func();
    assert_eq!(counts.probes(), [1, 0, 1]);
    if cnt > 1 {
        assert_ne!(counts.global.load(Ordering::SeqCst), 0);
    }
    trace_selftest_dynamic_test_func2();
    assert_eq!(counts.probes(), [1, 1, 2]);

    // Add a dynamic probe (no filter: every function).
    dynamic.register().unwrap();
    counts.global.store(0, Ordering::SeqCst);
    trace_selftest_dynamic_test_func();
    assert_eq!(counts.probes(), [2, 1, 3]);
    if cnt > 1 {
        assert_ne!(counts.global.load(Ordering::SeqCst), 0);
    }
    assert_ne!(counts.dynamic.load(Ordering::SeqCst), 0);
    trace_selftest_dynamic_test_func2();
    assert_eq!(counts.probes(), [2, 2, 4]);

    // Remove trace function 1 from probe 3, while registered.
    probe3
        .set_filter("!trace_selftest_dynamic_test_func", false)
        .unwrap();
    trace_selftest_dynamic_test_func();
    assert_eq!(counts.probes(), [3, 2, 4]);
    if cnt > 1 {
        assert_ne!(counts.global.load(Ordering::SeqCst), 0);
    }
    assert_ne!(counts.dynamic.load(Ordering::SeqCst), 0);
    trace_selftest_dynamic_test_func2();
    assert_eq!(counts.probes(), [3, 3, 5]);

    dynamic.unregister().unwrap();
    // Purposely unregister in the same order.
    probe1.unregister().unwrap();
    probe2.unregister().unwrap();
    probe3.unregister().unwrap();
    if cnt > 1 {
        global.unregister().unwrap();
    }

    // Make sure everything is off.
    for c in [&c1, &c2, &c3, &cg, &cd] {
        c.store(0, Ordering::SeqCst);
    }
    trace_selftest_dynamic_test_func();
    trace_selftest_dynamic_test_func();
    for c in [&c1, &c2, &c3, &cg, &cd] {
        assert_eq!(c.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn trace_selftest_ops_without_global_ops() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    selftest_ops(1);
}

#[test]
fn trace_selftest_ops_with_global_ops() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    selftest_ops(2);
}

/// `trace_selftest_test_recursion_func`: registered with RECURSION; calls the traced function
/// again. The runtime must stop the recursion: one callback per outer call.
#[test]
fn recursion_flag_stops_the_callback_reentering() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let ops = Ops::new(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) > 10 {
            return;
        }
        trace_selftest_dynamic_test_func();
    })
    .with_flags(Flags::RECURSION);
    ops.set_filter("trace_selftest_dynamic_test_func", true)
        .unwrap();
    ops.register().unwrap();
    trace_selftest_dynamic_test_func();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    trace_selftest_dynamic_test_func();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    ops.unregister().unwrap();
}

/// `trace_selftest_test_recursion_safe_func`: no RECURSION flag, the callback recurses once by
/// itself (count 2); with `recursion_trylock` it guards itself (count 1).
#[test]
fn recursion_without_the_flag_is_the_callbacks_business() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let ops = Ops::new(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) > 0 {
            return;
        }
        trace_selftest_dynamic_test_func();
    });
    ops.set_filter("trace_selftest_dynamic_test_func", true)
        .unwrap();
    ops.register().unwrap();
    trace_selftest_dynamic_test_func();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    ops.unregister().unwrap();

    let guarded = Arc::new(AtomicUsize::new(0));
    let g = Arc::clone(&guarded);
    let ops = Ops::new(move |_| {
        let Some(_lock) = ftrace::recursion_trylock() else {
            return;
        };
        g.fetch_add(1, Ordering::SeqCst);
        trace_selftest_dynamic_test_func();
    });
    ops.set_filter("trace_selftest_dynamic_test_func", true)
        .unwrap();
    ops.register().unwrap();
    trace_selftest_dynamic_test_func();
    trace_selftest_dynamic_test_func();
    assert_eq!(guarded.load(Ordering::SeqCst), 2, "once per outer call");
    ops.unregister().unwrap();
}
