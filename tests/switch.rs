//! The global `ftrace_enabled` switch and PERMANENT ops. One test: the switch is process-wide.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracehook::ftrace::{self, Error, Flags, Ops};
use tracehook::traceable;

#[traceable]
fn switched() -> u8 {
    1
}

#[test]
fn global_switch_and_permanent_ops() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let ops = Ops::new(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    });
    ops.set_filter("switched", true).unwrap();
    ops.register().unwrap();
    assert!(ftrace::is_enabled());
    switched();
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    ftrace::set_enabled(false).unwrap();
    assert!(!ftrace::is_enabled());
    assert_eq!(switched(), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no callback while disabled");
    assert!(ftrace::enabled_functions().is_empty());
    assert!(ops.is_registered(), "ops stay registered while disabled");

    // A PERMANENT ops cannot be registered while disabled...
    let permanent = Ops::new(|_| {}).with_flags(Flags::PERMANENT);
    permanent.set_filter("switched", true).unwrap();
    let refused = permanent.register().unwrap_err();
    assert_eq!(refused, Error::Disabled);
    assert!(refused.is_busy());

    ftrace::set_enabled(true).unwrap();
    switched();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "back on: the ops is attached again"
    );

    // ...and tracing cannot be disabled while one is registered.
    permanent.register().unwrap();
    let refused = ftrace::set_enabled(false).unwrap_err();
    assert_eq!(refused, Error::PermanentRegistered);
    assert!(ftrace::is_enabled());
    switched();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    permanent.unregister().unwrap();
    ftrace::set_enabled(false).unwrap();
    ftrace::set_enabled(true).unwrap();
    ops.unregister().unwrap();
}
