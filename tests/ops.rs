//! The Ops contract: registration errors, flags, redirects, panics, handles and enabled_functions.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracehook::ftrace::{self, Error, Flags, Ops, Phase, Site};
use tracehook::traceable;

fn site(name: &str) -> &'static Site {
    ftrace::available_functions()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no site {name}"))
}

/// Tests run in parallel and some share a traced function: count only this test thread's calls.
fn counting(pattern: &str) -> (Ops, Arc<AtomicUsize>) {
    let me = std::thread::current().id();
    counting_where(pattern, move || std::thread::current().id() == me)
}

fn counting_where(
    pattern: &str,
    counts: impl Fn() -> bool + Send + Sync + 'static,
) -> (Ops, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let ops = Ops::new(move |_| {
        if counts() {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    ops.set_filter(pattern, true).unwrap();
    (ops, hits)
}

fn on_this_thread() -> impl Fn() -> bool + Send + Sync + 'static {
    let me = std::thread::current().id();
    move || std::thread::current().id() == me
}

#[traceable]
fn ops_target(x: u32) -> u32 {
    x + 1
}

#[test]
fn register_and_unregister_errors() {
    let (ops, hits) = counting("ops_target");
    assert_eq!(ops.unregister(), Err(Error::NotRegistered));
    ops.register().unwrap();
    let twice = ops.register().unwrap_err();
    assert_eq!(twice, Error::AlreadyRegistered);
    assert!(twice.is_busy());
    assert_eq!(ops_target(1), 2);
    ops.unregister().unwrap();
    assert_eq!(ops.unregister(), Err(Error::NotRegistered));
    assert_eq!(ops_target(1), 2);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // An ops can be registered again after unregistering.
    ops.register().unwrap();
    ops_target(0);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    ops.unregister().unwrap();
}

#[traceable]
fn handle_target() {}

#[test]
fn dropping_the_last_handle_unregisters() {
    let (ops, hits) = counting("handle_target");
    ops.register().unwrap();
    let clone = ops.clone();
    assert!(clone.ptr_eq(&ops));
    drop(ops);
    handle_target();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a clone keeps it registered"
    );
    assert!(clone.is_registered());
    drop(clone);
    handle_target();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the last handle unregistered it"
    );
    assert!(
        ftrace::enabled_functions()
            .iter()
            .all(|f| f.site.name() != "handle_target")
    );
}

// ---------- IPMODIFY ----------

#[traceable]
fn read_config(path: &str) -> Result<String, String> {
    Ok(format!("contents of {path}"))
}

fn failing_read(path: &str) -> Result<String, String> {
    Err(format!("injected failure reading {path}"))
}

struct Account {
    balance: u64,
}

#[traceable]
impl Account {
    fn withdraw(&mut self, amount: u64) -> u64 {
        self.balance -= amount;
        self.balance
    }
}

fn withdraw_nothing(account: &mut Account, _amount: u64) -> u64 {
    account.balance
}

#[traceable]
fn generic_target<T: Copy>(value: T) -> T {
    value
}

/// The IPMODIFY tests share `Account::withdraw` and `read_config`, and one IPMODIFY ops per site is
/// the rule under test: run them one at a time.
static IPMODIFY_SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn ipmodify_redirects_calls() {
    let _serial = IPMODIFY_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ops = Ops::new(|call| {
        call.redirect(failing_read as fn(&str) -> Result<String, String>)
            .unwrap();
    })
    .with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    ops.set_filter("read_config", true).unwrap();
    assert_eq!(
        site("read_config").signature(),
        "fn(&str) -> Result<String, String>"
    );
    ops.register().unwrap();
    assert_eq!(
        read_config("/etc/app.toml"),
        Err("injected failure reading /etc/app.toml".to_owned())
    );
    ops.unregister().unwrap();
    assert_eq!(read_config("/x"), Ok("contents of /x".to_owned()));

    // A method of a non-generic impl can be redirected too.
    let ops = Ops::new(|call| {
        call.redirect(withdraw_nothing as fn(&mut Account, u64) -> u64)
            .unwrap();
    })
    .with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    ops.set_filter("Account::withdraw", true).unwrap();
    ops.register().unwrap();
    let mut account = Account { balance: 10 };
    assert_eq!(account.withdraw(3), 10);
    ops.unregister().unwrap();
    assert_eq!(account.withdraw(3), 7);
}

#[test]
fn ipmodify_rules() {
    let _serial = IPMODIFY_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let new = || Ops::new(|_| {}).with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    assert_eq!(new().register(), Err(Error::IpmodifyNeedsFilter));
    let no_regs = Ops::new(|_| {}).with_flags(Flags::IPMODIFY);
    no_regs.set_filter("read_config", true).unwrap();
    assert_eq!(no_regs.register(), Err(Error::IpmodifyNeedsSaveRegs));

    let generic = new();
    generic.set_filter("generic_target", true).unwrap();
    assert_eq!(
        generic.register(),
        Err(Error::IpmodifyUnsupported {
            site: site("generic_target")
        })
    );
    assert!(!site("generic_target").can_redirect());

    let with_notrace = new();
    with_notrace.set_filter("read_config", true).unwrap();
    with_notrace.set_notrace("ops_target", true).unwrap();
    assert_eq!(with_notrace.register(), Err(Error::IpmodifyWithNotrace));

    let first = new();
    first.set_filter("Account::withdraw", true).unwrap();
    first.register().unwrap();
    let second = new();
    second.set_filter("Account::*", true).unwrap();
    let conflict = second.register().unwrap_err();
    assert_eq!(
        conflict,
        Error::IpmodifyConflict {
            site: site("Account::withdraw")
        }
    );
    assert!(conflict.is_busy());
    // A registered IPMODIFY ops cannot take a notrace list or lose its filter.
    assert_eq!(
        first.set_notrace("ops_target", true),
        Err(Error::IpmodifyWithNotrace)
    );
    assert_eq!(first.free_filter(), Err(Error::IpmodifyNeedsFilter));
    assert_eq!(first.filter(), [site("Account::withdraw")]);
    first.unregister().unwrap();
    second.register().unwrap();
    second.unregister().unwrap();
    // The generic site still works when traced without IPMODIFY.
    assert_eq!(generic_target(5u8), 5);
}

#[test]
fn redirect_errors_reach_the_callback() {
    let _serial = IPMODIFY_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let ops = Ops::new(move |call| {
        let wrong = call.redirect(failing_read as fn(&str) -> Result<String, String>);
        s.lock().unwrap().push(wrong.unwrap_err().to_string());
    })
    .with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    ops.set_filter("Account::withdraw", true).unwrap();
    ops.register().unwrap();
    let mut account = Account { balance: 5 };
    assert_eq!(account.withdraw(1), 4);
    ops.unregister().unwrap();
    let plain = Ops::new(move |call| {
        let refused = call.redirect(failing_read as fn(&str) -> Result<String, String>);
        assert!(matches!(refused, Err(Error::RedirectNotAllowed { .. })));
    });
    plain.set_filter("read_config", true).unwrap();
    plain.register().unwrap();
    assert!(read_config("a").is_ok());
    plain.unregister().unwrap();
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [
            "replacement has type `fn(&'_ str) -> core::result::Result<alloc::string::String, \
          alloc::string::String>`, the site needs `fn(&mut Account, u64) -> u64` (cast the function \
          with `as`)"
        ]
    );
}

// ---------- SAVE_REGS ----------

#[traceable(skip_args)]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && password.len() > 3
}

#[test]
fn save_regs_and_sites_without_arguments() {
    let strict = Ops::new(|_| {}).with_flags(Flags::SAVE_REGS);
    strict.set_filter("login ops_target", true).unwrap();
    assert_eq!(
        strict.register(),
        Err(Error::SaveRegsUnsupported {
            site: site("login")
        })
    );

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let mine = on_this_thread();
    let lenient = Ops::new(move |call| {
        if !mine() {
            return;
        }
        let args = call
            .args()
            .map(|a| a.iter().map(ToString::to_string).collect::<Vec<_>>());
        s.lock().unwrap().push((call.site().name(), args));
    })
    .with_flags(Flags::SAVE_REGS_IF_SUPPORTED);
    lenient.set_filter("login ops_target", true).unwrap();
    lenient.register().unwrap();
    assert!(login("ann", "secret"));
    ops_target(3);
    lenient.unregister().unwrap();
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [
            ("login", None),
            ("ops_target", Some(vec!["x=3".to_owned()]))
        ]
    );

    // Without either flag, no arguments.
    let none = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&none);
    let mine = on_this_thread();
    let plain = Ops::new(move |call| {
        if mine() && call.args().is_none() {
            n.fetch_add(1, Ordering::SeqCst);
        }
    });
    plain.set_filter("ops_target", true).unwrap();
    plain.register().unwrap();
    ops_target(1);
    plain.unregister().unwrap();
    assert_eq!(none.load(Ordering::SeqCst), 1);
}

// ---------- panics ----------

#[traceable]
fn panicky_target(x: u32) -> u32 {
    x * 2
}

#[test]
fn a_panicking_callback_is_caught_and_its_ops_unregistered() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let ops = Ops::new(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        panic!("callback bug");
    });
    ops.set_filter("panicky_target", true).unwrap();
    ops.register().unwrap();
    assert_eq!(
        panicky_target(21),
        42,
        "the traced function returns normally"
    );
    assert_eq!(
        ops.error().as_deref(),
        Some("callback panicked in `ops::panicky_target`: callback bug")
    );
    assert!(!ops.is_registered());
    assert_eq!(panicky_target(1), 2);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "never called again");
    assert_eq!(ops.unregister(), Err(Error::NotRegistered));
    assert!(
        ftrace::enabled_functions()
            .iter()
            .all(|f| f.site.name() != "panicky_target")
    );
    // It can be registered again; the error is cleared. The site has been called before, so this
    // call takes the common (direct) path, which leaves a panic to the general one.
    ops.register().unwrap();
    assert_eq!(ops.error(), None);
    assert_eq!(panicky_target(1), 2);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(ops.error().is_some());
    assert!(!ops.is_registered());
    assert!(
        ftrace::enabled_functions()
            .iter()
            .all(|f| f.site.name() != "panicky_target"),
        "removed by the call that caught the panic"
    );
    assert_eq!(panicky_target(2), 4);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "never called again");
}

// ---------- callbacks that call back into the API ----------

#[traceable]
fn reentrant_target() {}

#[test]
fn unregister_from_inside_a_callback_is_an_error() {
    let result = Arc::new(Mutex::new(None));
    let slot: Arc<Mutex<Option<Ops>>> = Arc::new(Mutex::new(None));
    let (r, s) = (Arc::clone(&result), Arc::clone(&slot));
    let ops = Ops::new(move |call| {
        *r.lock().unwrap() = Some(call.ops().unregister());
        // Dropping the last handle inside the callback defers the unregistration.
        drop(s.lock().unwrap().take());
    });
    ops.set_filter("reentrant_target", true).unwrap();
    ops.register().unwrap();
    *slot.lock().unwrap() = Some(ops);
    reentrant_target();
    assert_eq!(*result.lock().unwrap(), Some(Err(Error::InsideCallback)));
    reentrant_target();
    assert_eq!(
        result.lock().unwrap().iter().count(),
        1,
        "the ops whose last handle was dropped inside its callback no longer runs"
    );
}

#[test]
fn call_ops_is_the_registered_ops() {
    let same = Arc::new(AtomicUsize::new(0));
    let (s, holder): (_, Arc<Mutex<Option<Ops>>>) = (Arc::clone(&same), Arc::new(Mutex::new(None)));
    let h = Arc::clone(&holder);
    let ops = Ops::new(move |call| {
        if h.lock()
            .unwrap()
            .as_ref()
            .is_some_and(|o| o.ptr_eq(call.ops()))
        {
            s.fetch_add(1, Ordering::SeqCst);
        }
    });
    *holder.lock().unwrap() = Some(ops.clone());
    ops.set_filter("ops_target", true).unwrap();
    ops.register().unwrap();
    ops_target(0);
    ops.unregister().unwrap();
    holder.lock().unwrap().take();
    assert_eq!(same.load(Ordering::SeqCst), 1);
}

/// Sets its flag when dropped: tells when an ops' callback (and so the ops) is freed.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn an_ops_is_freed_with_its_last_handle_also_after_its_callback_cloned_call_ops() {
    let freed = Arc::new(AtomicBool::new(false));
    let clones = Arc::new(AtomicUsize::new(0));
    let (flag, c) = (SetOnDrop(Arc::clone(&freed)), Arc::clone(&clones));
    let ops = Ops::new(move |call| {
        let _ = &flag;
        // A handle made from the one `Call::ops` shows counts like any other.
        let handle = call.ops().clone();
        assert!(handle.ptr_eq(call.ops()));
        c.fetch_add(1, Ordering::SeqCst);
        drop(handle);
    });
    ops.set_filter("ops_target", true).unwrap();
    ops.register().unwrap();
    for i in 0..3 {
        ops_target(i);
    }
    assert_eq!(clones.load(Ordering::SeqCst), 3);
    ops.unregister().unwrap();
    assert!(!freed.load(Ordering::SeqCst), "a handle is still alive");
    drop(ops);
    assert!(
        freed.load(Ordering::SeqCst),
        "the ops went with its last handle"
    );
}

// ---------- enabled_functions ----------

#[traceable]
fn enabled_a() {}

#[traceable]
fn enabled_b(_x: u8) {}

#[test]
fn enabled_functions_lists_attached_sites() {
    let one = Ops::new(|_| {});
    one.set_filter("enabled_a enabled_b", true).unwrap();
    let two = Ops::new(|_| {}).with_flags(Flags::SAVE_REGS);
    two.set_filter("enabled_b", true).unwrap();
    one.register().unwrap();
    two.register().unwrap();
    let lines: Vec<String> = ftrace::enabled_functions()
        .iter()
        .filter(|f| f.site.name().starts_with("enabled_"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines, ["enabled_a (1)    ", "enabled_b (2) R  "]);
    two.unregister().unwrap();
    one.unregister().unwrap();
    assert!(
        ftrace::enabled_functions()
            .iter()
            .all(|f| !f.site.name().starts_with("enabled_"))
    );
    enabled_a();
    enabled_b(0);
}

// ---------- RCU: thread-local teardown ----------

#[traceable]
fn teardown_target() {}

struct CallsTracedOnDrop;

impl Drop for CallsTracedOnDrop {
    fn drop(&mut self) {
        teardown_target();
    }
}

thread_local! {
    static LATE: CallsTracedOnDrop = const { CallsTracedOnDrop };
}

#[test]
fn rcu_ops_skip_calls_from_thread_teardown() {
    // Only this test calls teardown_target, from the thread it spawns.
    let (plain, plain_hits) = counting_where("teardown_target", || true);
    let rcu_hits = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&rcu_hits);
    let rcu = Ops::new(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    })
    .with_flags(Flags::RCU);
    rcu.set_filter("teardown_target", true).unwrap();
    plain.register().unwrap();
    rcu.register().unwrap();
    std::thread::spawn(|| {
        // Registered before the runtime's thread state, so destroyed after it (LIFO).
        LATE.with(|_| {});
        teardown_target();
    })
    .join()
    .unwrap();
    plain.unregister().unwrap();
    rcu.unregister().unwrap();
    assert_eq!(
        plain_hits.load(Ordering::SeqCst),
        2,
        "plain ops sees the call from teardown"
    );
    assert_eq!(rcu_hits.load(Ordering::SeqCst), 1, "RCU ops does not");
}

// ---------- exit callbacks and phases ----------

#[traceable]
fn maybe_panics(fail: bool) -> u8 {
    assert!(!fail, "asked to fail");
    1
}

#[test]
fn exit_callbacks_see_return_and_unwind() {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let p = Arc::clone(&phases);
    let ops = Ops::with_exit(|_| {}, move |call| p.lock().unwrap().push(call.phase()));
    ops.set_filter("maybe_panics", true).unwrap();
    ops.register().unwrap();
    maybe_panics(false);
    assert!(std::panic::catch_unwind(|| maybe_panics(true)).is_err());
    ops.unregister().unwrap();
    assert_eq!(*phases.lock().unwrap(), [Phase::Return, Phase::Unwind]);
}

// ---------- the shadow stack on the common path ----------

#[traceable]
fn stack_inner(fail: bool) -> usize {
    assert!(!fail, "inner asked to fail");
    ftrace::current_stack().len()
}

#[traceable]
fn stack_outer(fail: bool) -> (usize, usize, usize) {
    let inside = stack_inner(false);
    let unwound = std::panic::catch_unwind(|| stack_inner(fail)).is_err();
    // After the inner call unwound, this call is the innermost one again.
    let after = ftrace::current_stack().len();
    (inside, usize::from(unwound), after)
}

#[test]
fn the_common_path_links_and_unlinks_each_call_also_when_it_unwinds() {
    let parents = Arc::new(Mutex::new(Vec::new()));
    let p = Arc::clone(&parents);
    let me = std::thread::current().id();
    // An entry callback only: the common (direct) path, the one `hooked` ends by itself.
    let ops = Ops::new(move |call| {
        if std::thread::current().id() == me {
            p.lock()
                .unwrap()
                .push((call.site().name(), call.parent().map(Site::name)));
        }
    });
    ops.set_filter("stack_*", true).unwrap();
    ops.register().unwrap();
    // Twice: the first call of a site takes the general path, the second the common one.
    for _ in 0..2 {
        parents.lock().unwrap().clear();
        assert_eq!(stack_outer(true), (2, 1, 1));
        assert!(ftrace::current_stack().is_empty(), "nothing left linked");
        assert_eq!(stack_inner(false), 1, "a new outermost call");
        assert_eq!(
            *parents.lock().unwrap(),
            [
                ("stack_outer", None),
                ("stack_inner", Some("stack_outer")),
                ("stack_inner", Some("stack_outer")),
                ("stack_inner", None),
            ]
        );
    }
    ops.unregister().unwrap();
}
