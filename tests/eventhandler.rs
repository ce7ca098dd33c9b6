//! EVENTHANDLER(9) semantics: typing, priorities, static and dynamic handlers, lookup by name,
//! invoking, both deregisters, prune, changes during an invoke, panics, stoppable events.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use tracehook::eventhandler::{self, Error, PRI_ANY, PRI_FIRST, PRI_LAST};
use tracehook::{
    eventhandler_declare, eventhandler_define, eventhandler_deregister,
    eventhandler_deregister_nowait, eventhandler_direct_invoke, eventhandler_invoke,
    eventhandler_list_define, eventhandler_register,
};
use tracehook_support::{SUPPORT_SEEN, support_event};

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn push(log: &Log, line: impl Into<String>) {
    log.lock().unwrap().push(line.into());
}

// ---------- typing and handler forms ----------

pub struct Disk {
    name: &'static str,
}

eventhandler_declare!(disk_event, fn(howto: i32, disk: &Disk));

fn flush(state: &Log, howto: i32, disk: &Disk) {
    push(state, format!("flush {} {howto}", disk.name));
}

#[test]
fn closures_and_handler_arg_pairs() {
    let seen = log();
    let s = Arc::clone(&seen);
    let closure = eventhandler_register!(
        disk_event,
        move |howto, disk: &Disk| {
            push(&s, format!("closure {} {howto}", disk.name));
        },
        PRI_ANY
    );
    let pair = eventhandler_register!(disk_event, flush, Arc::clone(&seen), PRI_FIRST);
    let disk = Disk { name: "ada0" };
    let invoked = eventhandler_invoke!(disk_event, 8, &disk);
    assert_eq!(invoked.called, 2);
    assert!(!invoked.stopped);
    assert_eq!(*seen.lock().unwrap(), ["flush ada0 8", "closure ada0 8"]);
    eventhandler_deregister!(disk_event, closure).unwrap();
    eventhandler_deregister!(disk_event, pair).unwrap();
    assert_eq!(eventhandler_invoke!(disk_event, 1, &disk).called, 0);
}

eventhandler_declare!(typed_event, fn(value: u64));
eventhandler_declare!(other_typed_event, fn(value: &str));

#[test]
fn a_list_reached_with_the_wrong_type_is_an_error() {
    let list = typed_event::list().list();
    assert_eq!(list.name(), "typed_event");
    assert_eq!(list.signature(), "fn(u64)");
    let found = eventhandler::find_list("typed_event").expect("declared and used");
    assert!(std::ptr::eq(found, list));
    let wrong = found.typed::<other_typed_event>().unwrap_err();
    assert_eq!(
        wrong,
        Error::WrongType {
            list: "typed_event",
            expected: "fn(u64)",
            found: "fn(&str)"
        }
    );
    assert_eq!(
        wrong.to_string(),
        "event handler list `typed_event` has handlers of type `fn(u64)`, not `fn(&str)`"
    );
    assert!(eventhandler::find_list("never_mentioned_anywhere").is_none());
}

// ---------- priorities, static handlers, lists by name ----------

eventhandler_declare!(ordered_event, fn(step: u32));

static ORDER_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn static_mark(tag: &&'static str, _: u32) {
    ORDER_LOG.lock().unwrap().push((*tag).to_owned());
}

eventhandler_define!(ordered_event, static_mark, &"static@5", 5);
eventhandler_define!(ordered_event, static_mark, &"static@LAST", PRI_LAST);

#[test]
fn priorities_order_and_registration_order_breaks_ties() {
    let mark = |name: &'static str| move |_: u32| ORDER_LOG.lock().unwrap().push(name.to_owned());
    let tags = [
        eventhandler_register!(ordered_event, mark("any-1"), PRI_ANY),
        eventhandler_register!(ordered_event, mark("first"), PRI_FIRST),
        eventhandler_register!(ordered_event, mark("any-2"), PRI_ANY),
        eventhandler_register!(ordered_event, mark("negative"), -7),
        eventhandler_register!(ordered_event, mark("beyond-last"), PRI_LAST + 1),
        eventhandler_register!(ordered_event, mark("five"), 5),
        eventhandler_register!(ordered_event, mark("any-3"), PRI_ANY),
    ];
    eventhandler_direct_invoke!(ordered_event, 1);
    assert_eq!(
        *ORDER_LOG.lock().unwrap(),
        [
            "negative",
            "first",
            "static@5",
            "five",
            "any-1",
            "any-2",
            "any-3",
            "static@LAST",
            "beyond-last",
        ]
    );
    for tag in tags {
        eventhandler_deregister!(ordered_event, tag).unwrap();
    }
    assert_eq!(
        ordered_event::list().list().len(),
        2,
        "the static handlers stay"
    );
}

#[test]
fn static_handlers_from_another_crate_are_present_at_first_invoke() {
    let before = eventhandler::find_list("support_event").is_none();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let tag = eventhandler_register!(
        support_event,
        move |v| {
            assert_eq!(
                SUPPORT_SEEN.load(Ordering::SeqCst),
                v,
                "the static one (priority 50) ran first"
            );
            s.fetch_add(1, Ordering::SeqCst);
        },
        PRI_ANY
    );
    assert_eq!(eventhandler_invoke!(support_event, 41).called, 2);
    assert_eq!(SUPPORT_SEEN.load(Ordering::SeqCst), 41);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    eventhandler_deregister!(support_event, tag).unwrap();
    assert!(before, "no code ran before main to create the list");
}

eventhandler_list_define!(process_exit, fn(pid: u32));

#[test]
fn list_define_and_by_name_reach_the_same_list() {
    // Registering by name (through the typed by-name API) before anything invoked the list.
    let by_name = eventhandler::list_of::<process_exit>().unwrap();
    let pids = Arc::new(Mutex::new(Vec::new()));
    let p = Arc::clone(&pids);
    let tag = by_name.register(
        process_exit::__closure(move |pid| p.lock().unwrap().push(pid)),
        PRI_ANY,
    );
    assert!(std::ptr::eq(by_name, process_exit::list()));
    assert!(std::ptr::eq(
        eventhandler::find_list("process_exit").unwrap(),
        by_name.list()
    ));
    eventhandler_direct_invoke!(process_exit, 42);
    eventhandler_invoke!(process_exit, 43);
    assert_eq!(*pids.lock().unwrap(), [42, 43]);
    by_name.deregister(Some(tag)).unwrap();
    assert!(process_exit::list().list().is_empty());
    assert_eq!(eventhandler_direct_invoke!(process_exit, 44).called, 0);
}

// ---------- deregistering ----------

eventhandler_declare!(tags_event, fn());
eventhandler_declare!(foreign_event, fn());

#[test]
fn stale_and_foreign_tags_are_errors() {
    let tag = eventhandler_register!(tags_event, || {}, PRI_ANY);
    let foreign = eventhandler_register!(foreign_event, || {}, PRI_ANY);
    assert_eq!(
        eventhandler_deregister!(tags_event, foreign),
        Err(Error::ForeignTag {
            list: "tags_event",
            tag_list: "foreign_event"
        })
    );
    assert_eq!(tags_event::list().list().len(), 1, "nothing changed");
    eventhandler_deregister!(tags_event, tag).unwrap();
    assert_eq!(
        eventhandler_deregister!(tags_event, tag),
        Err(Error::UnknownTag { list: "tags_event" })
    );
    assert_eq!(
        eventhandler_deregister_nowait!(tags_event, tag),
        Err(Error::UnknownTag { list: "tags_event" })
    );
    eventhandler_deregister!(foreign_event).unwrap();
    assert!(foreign_event::list().list().is_empty());
    eventhandler::prune_list(tags_event::list().list());
}

eventhandler_declare!(all_event, fn());

#[test]
fn deregister_without_a_tag_removes_every_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let c = Arc::clone(&calls);
        eventhandler_register!(
            all_event,
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
            PRI_ANY
        );
    }
    assert_eq!(eventhandler_invoke!(all_event).called, 3);
    eventhandler_deregister!(all_event).unwrap();
    assert_eq!(eventhandler_invoke!(all_event).called, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

eventhandler_declare!(self_removing, fn());

#[test]
fn deregister_inside_a_handler_errors_and_nowait_works_there() {
    let results = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let tag_slot = Arc::new(Mutex::new(None));
    let (r, c, t) = (
        Arc::clone(&results),
        Arc::clone(&calls),
        Arc::clone(&tag_slot),
    );
    let tag = eventhandler_register!(
        self_removing,
        move || {
            c.fetch_add(1, Ordering::SeqCst);
            let tag = t.lock().unwrap().expect("set before invoking");
            r.lock()
                .unwrap()
                .push(eventhandler_deregister!(self_removing, tag));
            r.lock()
                .unwrap()
                .push(eventhandler_deregister_nowait!(self_removing, tag));
        },
        PRI_ANY
    );
    *tag_slot.lock().unwrap() = Some(tag);
    eventhandler_invoke!(self_removing);
    eventhandler_invoke!(self_removing);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "not called after deregister_nowait"
    );
    assert_eq!(
        *results.lock().unwrap(),
        [
            Err(Error::InsideHandler {
                list: "self_removing"
            }),
            Ok(())
        ]
    );
    eventhandler::prune_list(self_removing::list().list());
}

eventhandler_declare!(slow_event, fn(round: u32));

#[test]
fn deregister_waits_for_its_handler_only_and_completes_under_constant_invokes() {
    // A handler that stays inside for as long as the test wants, on one thread...
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (inside_tx, inside_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let blocker = eventhandler_register!(
        slow_event,
        move |round| {
            if round == 0 {
                inside_tx.send(()).ok();
                release_rx.lock().unwrap().recv().ok();
            }
        },
        PRI_FIRST
    );
    // ...and a handler whose deregistration we check, invoked without pause by two other threads.
    let gone = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let (g, v) = (Arc::clone(&gone), Arc::clone(&violations));
    let target = eventhandler_register!(
        slow_event,
        move |_| {
            if g.load(Ordering::SeqCst) {
                v.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::yield_now();
            if g.load(Ordering::SeqCst) {
                v.fetch_add(1, Ordering::SeqCst);
            }
        },
        PRI_ANY
    );
    let blocked = std::thread::spawn(|| eventhandler_invoke!(slow_event, 0));
    inside_rx.recv().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let invokers: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    eventhandler_invoke!(slow_event, 1);
                }
            })
        })
        .collect();
    // Returns although one invoke sits in `blocker` and others never pause: a whole-list wait would
    // hang here (the blocker is released only after this line).
    eventhandler_deregister!(slow_event, target).unwrap();
    gone.store(true, Ordering::SeqCst);
    for _ in 0..1000 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for invoker in invokers {
        invoker.join().unwrap();
    }
    release_tx.send(()).unwrap();
    blocked.join().unwrap();
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    eventhandler_deregister!(slow_event, blocker).unwrap();
}

// ---------- changes during an invoke ----------

eventhandler_declare!(changing_event, fn(round: u32));

#[test]
fn registering_during_an_invoke_takes_effect_at_the_next_one() {
    let seen = log();
    let late_tag = Arc::new(Mutex::new(None));
    let (s, lt) = (Arc::clone(&seen), Arc::clone(&late_tag));
    let adder = eventhandler_register!(
        changing_event,
        move |round| {
            push(&s, format!("adder {round}"));
            if round == 1 {
                let s2 = Arc::clone(&s);
                *lt.lock().unwrap() = Some(eventhandler_register!(
                    changing_event,
                    move |round| {
                        push(&s2, format!("late {round}"));
                    },
                    PRI_LAST
                ));
            }
        },
        PRI_FIRST
    );
    assert_eq!(eventhandler_invoke!(changing_event, 1).called, 1);
    assert_eq!(eventhandler_invoke!(changing_event, 2).called, 2);
    assert_eq!(*seen.lock().unwrap(), ["adder 1", "adder 2", "late 2"]);
    eventhandler_deregister!(changing_event, adder).unwrap();
    let late = late_tag.lock().unwrap().take().unwrap();
    eventhandler_deregister!(changing_event, late).unwrap();
}

eventhandler_declare!(removing_event, fn());

#[test]
fn a_handler_removed_by_an_earlier_one_in_the_same_invoke_is_not_called() {
    let calls = Arc::new(AtomicUsize::new(0));
    let victim_tag = Arc::new(Mutex::new(None));
    let vt = Arc::clone(&victim_tag);
    let remover = eventhandler_register!(
        removing_event,
        move || {
            if let Some(tag) = vt.lock().unwrap().take() {
                eventhandler_deregister_nowait!(removing_event, tag).unwrap();
            }
        },
        PRI_FIRST
    );
    let c = Arc::clone(&calls);
    let victim = eventhandler_register!(
        removing_event,
        move || {
            c.fetch_add(1, Ordering::SeqCst);
        },
        PRI_LAST
    );
    *victim_tag.lock().unwrap() = Some(victim);
    assert_eq!(eventhandler_invoke!(removing_event).called, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    eventhandler_deregister!(removing_event, remover).unwrap();
    eventhandler::prune_list(removing_event::list().list());
}

// ---------- panics and stoppable events ----------

eventhandler_declare!(panicking_event, fn(fail: bool));

#[test]
fn a_panicking_handler_propagates_and_the_list_stays_usable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let bad = eventhandler_register!(
        panicking_event,
        |fail: bool| assert!(!fail, "handler failed"),
        PRI_FIRST
    );
    let good = eventhandler_register!(
        panicking_event,
        move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        },
        PRI_LAST
    );
    let caught = std::panic::catch_unwind(|| eventhandler_invoke!(panicking_event, true));
    assert!(caught.is_err(), "the panic reaches the invoker");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "later handlers of that invoke do not run"
    );
    assert_eq!(eventhandler_invoke!(panicking_event, false).called, 2);
    // The thread is not left marked as running a handler: deregister is not refused.
    eventhandler_deregister!(panicking_event, bad).unwrap();
    eventhandler_deregister!(panicking_event, good).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

eventhandler_declare!(stoppable, fn(value: i32) -> ControlFlow<()>);

#[test]
fn a_stoppable_event_stops_at_the_first_break() {
    let seen = log();
    let (a, b, c) = (Arc::clone(&seen), Arc::clone(&seen), Arc::clone(&seen));
    let tags = [
        eventhandler_register!(
            stoppable,
            move |_| {
                push(&a, "first");
                ControlFlow::Continue(())
            },
            1
        ),
        eventhandler_register!(
            stoppable,
            move |v: i32| {
                push(&b, "second");
                if v < 0 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
            2
        ),
        eventhandler_register!(
            stoppable,
            move |_| {
                push(&c, "third");
                ControlFlow::Continue(())
            },
            3
        ),
    ];
    let went_on = eventhandler_invoke!(stoppable, 1);
    assert_eq!((went_on.called, went_on.stopped), (3, false));
    let stopped = eventhandler_invoke!(stoppable, -1);
    assert_eq!((stopped.called, stopped.stopped), (2, true));
    assert_eq!(
        *seen.lock().unwrap(),
        ["first", "second", "third", "first", "second"]
    );
    for tag in tags {
        eventhandler_deregister!(stoppable, tag).unwrap();
    }
}

eventhandler_declare!(pruned_event, fn());

#[test]
fn prune_list_is_safe_inside_and_outside_handlers() {
    let list = pruned_event::list().list();
    let pruned_inside = Arc::new(AtomicBool::new(false));
    let p = Arc::clone(&pruned_inside);
    let keeper = eventhandler_register!(
        pruned_event,
        move || {
            // Inside a handler: frees only what is already safe, never waits for itself.
            eventhandler::prune_list(eventhandler::find_list("pruned_event").unwrap());
            p.store(true, Ordering::SeqCst);
        },
        PRI_FIRST
    );
    for _ in 0..10 {
        let tag = eventhandler_register!(pruned_event, || {}, PRI_ANY);
        eventhandler_invoke!(pruned_event);
        eventhandler_deregister_nowait!(pruned_event, tag).unwrap();
    }
    assert!(pruned_inside.load(Ordering::SeqCst));
    eventhandler::prune_list(list);
    assert_eq!(list.len(), 1);
    assert_eq!(eventhandler_invoke!(pruned_event).called, 1);
    eventhandler_deregister!(pruned_event, keeper).unwrap();
    eventhandler::prune_list(list);
    assert!(list.is_empty());
}
