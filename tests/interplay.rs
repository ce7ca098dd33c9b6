//! ftrace and event handlers share the grace-period machinery: what each may do from inside the
//! other's callbacks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracehook::eventhandler::PRI_ANY;
use tracehook::ftrace::{Error as FtraceError, Ops};
use tracehook::{
    eventhandler_declare, eventhandler_deregister, eventhandler_deregister_nowait,
    eventhandler_invoke, eventhandler_register, traceable,
};

#[traceable]
fn interplay_target() -> u8 {
    1
}

/// Only the second test calls this one (tests run in parallel).
#[traceable]
fn callback_target() -> u8 {
    2
}

eventhandler_declare!(interplay_event, fn());
eventhandler_declare!(from_callback_event, fn(n: usize));

#[test]
fn ftrace_control_calls_from_an_event_handler_are_refused_not_deadlocked() {
    let ops = Ops::new(|_| {});
    ops.set_filter("interplay_target", true).unwrap();
    ops.register().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s, o) = (Arc::clone(&seen), ops.clone());
    let tag = eventhandler_register!(
        interplay_event,
        move || {
            s.lock().unwrap().push(o.unregister());
            s.lock()
                .unwrap()
                .push(o.set_filter("interplay_target", true));
            // Calling traced code from a handler is fine.
            assert_eq!(interplay_target(), 1);
        },
        PRI_ANY
    );
    eventhandler_invoke!(interplay_event);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Err(FtraceError::InsideCallback),
            Err(FtraceError::InsideCallback)
        ]
    );
    assert!(ops.is_registered(), "nothing changed");
    eventhandler_deregister!(interplay_event, tag).unwrap();
    ops.unregister().unwrap();
}

#[test]
fn event_operations_work_from_an_ftrace_callback() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let permanent = eventhandler_register!(
        from_callback_event,
        move |n| {
            c.fetch_add(n, Ordering::SeqCst);
        },
        PRI_ANY
    );
    let outcome = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&outcome);
    let ops = Ops::new(move |_| {
        // Invoke, register and both deregisters from inside a callback (a read-side section).
        eventhandler_invoke!(from_callback_event, 2);
        let tag = eventhandler_register!(from_callback_event, |_| {}, PRI_ANY);
        out.lock()
            .unwrap()
            .push(eventhandler_deregister_nowait!(from_callback_event, tag));
        let tag = eventhandler_register!(from_callback_event, |_| {}, PRI_ANY);
        // A waiting deregister waits only for that handler, which is not running: it returns.
        out.lock()
            .unwrap()
            .push(eventhandler_deregister!(from_callback_event, tag));
    });
    ops.set_filter("callback_target", true).unwrap();
    ops.register().unwrap();
    callback_target();
    ops.unregister().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(*outcome.lock().unwrap(), [Ok(()), Ok(())]);
    eventhandler_deregister!(from_callback_event, permanent).unwrap();
    tracehook::eventhandler::prune_list(from_callback_event::list().list());
}
