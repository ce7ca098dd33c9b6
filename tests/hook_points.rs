//! Hook points: the one instruction at the top of each traced function that is patched between a jump
//! to the hook path and a `mov` to a clobbered register (see `ftrace::hook_points`). Checks that they
//! follow the ops attached to their site (every copy of the function: generic instances, inlined
//! copies, async fns), that calls are counted exactly in every state, and that with patching refused
//! (`TRACEHOOK_NO_PATCH=1`, checked in a child process) the hook path's pointer check alone gives the
//! same results.

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracehook::ftrace::{self, HookPoints, Ops, Site};

#[tracehook::traceable]
#[inline(never)]
fn hp_leaf(x: u64) -> u64 {
    black_box(x) + 1
}

#[tracehook::traceable]
#[inline(never)]
fn hp_generic<T: Into<u64>>(x: T) -> u64 {
    black_box(x.into()) * 2
}

#[tracehook::traceable]
#[inline(always)]
fn hp_inlined(x: u64) -> u64 {
    black_box(x) * 3
}

#[inline(never)]
fn inlined_caller_a(x: u64) -> u64 {
    hp_inlined(x) + 1
}

#[inline(never)]
fn inlined_caller_b(x: u64) -> u64 {
    hp_inlined(x) + 2
}

#[tracehook::traceable]
async fn hp_async(x: u64) -> u64 {
    x + 4
}

fn site(name: &str) -> &'static Site {
    ftrace::available_functions()
        .find(|site| site.name() == name)
        .unwrap_or_else(|| panic!("no site {name}"))
}

/// Whether this run should patch: x86-64 Linux, unless a variable turns patching (or the membarrier
/// it needs) off.
fn expect_patched() -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| v != "0");
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
        && !set("TRACEHOOK_NO_PATCH")
        && !set("TRACEHOOK_NO_MEMBARRIER")
}

/// Every call of every copy, with the hook points as they should be before, during and after an ops.
fn check_follow_ops() {
    let patched = expect_patched();
    match ftrace::hook_points() {
        HookPoints::Patched => assert!(patched, "patched although a variable refused it"),
        HookPoints::Checked(reason) => {
            assert!(!patched, "hook points not patched: {reason}");
            if std::env::var_os("TRACEHOOK_NO_PATCH").is_some_and(|v| v != "0") {
                assert_eq!(reason, "TRACEHOOK_NO_PATCH is set");
            }
        }
        other => panic!("unknown mode {other:?}"),
    }
    // Make every copy exist and run once.
    let run_all = || {
        hp_leaf(1)
            + hp_generic(2u32)
            + hp_generic(3u64)
            + inlined_caller_a(4)
            + inlined_caller_b(5)
            + futures_lite_block_on(hp_async(6))
            + tracehook_support::support_generic(7u8)
            + tracehook_support::support_inline(8)
    };
    let expected = run_all();
    // The support crate's two: instantiated or inlined here, their hook points are in this crate's
    // code and name the other crate's site records.
    let names = [
        "hp_leaf",
        "hp_generic",
        "hp_inlined",
        "hp_async",
        "support_generic",
        "support_inline",
    ];
    let states = |name| site(name).__hook_points();
    for name in names {
        let states = states(name);
        if patched {
            assert!(!states.is_empty(), "{name}: no hook point recorded");
            assert!(
                states.iter().all(|on| !on),
                "{name}: {states:?} with no ops"
            );
        } else {
            assert!(states.is_empty(), "{name}: {states:?} while not patched");
        }
    }
    if patched {
        assert!(
            states("hp_generic").len() >= 2,
            "one hook point per instance"
        );
        assert!(
            states("hp_inlined").len() >= 2,
            "one hook point per inlined copy"
        );
    }

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let ops = Ops::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    ops.set_filter("hp_* support_generic support_inline", true)
        .unwrap();
    ops.register().unwrap();
    for name in names {
        let states = states(name);
        assert!(
            states.iter().all(|on| *on),
            "{name}: {states:?} with an ops"
        );
        // Turned on after start-up: past the dispatch-pointer check, straight to the hook path.
        let direct = site(name).__hook_points_direct();
        assert_eq!(direct.len(), states.len(), "{name}");
        assert!(
            direct.iter().all(|direct| *direct),
            "{name}: {direct:?} jump to the check"
        );
    }
    assert_eq!(run_all(), expected);
    // hp_leaf, hp_generic twice, hp_inlined twice, hp_async, support_generic, support_inline.
    assert_eq!(calls.load(Ordering::SeqCst), 8);

    // A filter that drops one site turns off that site's hook points only.
    ops.set_filter("!hp_leaf", false).unwrap();
    assert!(states("hp_leaf").iter().all(|on| !on));
    assert!(states("hp_generic").iter().all(|on| *on));
    assert_eq!(run_all(), expected);
    assert_eq!(calls.load(Ordering::SeqCst), 15);

    ops.unregister().unwrap();
    for name in names {
        let states = states(name);
        assert!(
            states.iter().all(|on| !on),
            "{name}: {states:?} after unregister"
        );
    }
    assert_eq!(run_all(), expected);
    assert_eq!(calls.load(Ordering::SeqCst), 15);

    // The global switch turns them off with the ops still registered, and back on.
    ops.register().unwrap();
    ftrace::set_enabled(false).unwrap();
    assert!(states("hp_generic").iter().all(|on| !on));
    assert_eq!(run_all(), expected);
    assert_eq!(calls.load(Ordering::SeqCst), 15);
    ftrace::set_enabled(true).unwrap();
    assert!(states("hp_generic").iter().all(|on| *on));
    assert_eq!(run_all(), expected);
    // Still without hp_leaf: the ops kept its `!hp_leaf`.
    assert_eq!(calls.load(Ordering::SeqCst), 22);
    ops.unregister().unwrap();
}

/// Polls a future that never waits to completion.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
    }
}

#[test]
fn hook_points_follow_ops() {
    check_follow_ops();
}

/// Runs `hook_points_follow_ops` in a child process with `variable=value`.
fn child(variable: &str, value: &str) {
    let result = Command::new(std::env::current_exe().unwrap())
        .args(["hook_points_follow_ops", "--exact", "--test-threads=1"])
        .env("TRACEHOOK_TEST_CHILD", "1")
        .env(variable, value)
        .output()
        .unwrap();
    assert!(result.status.success(), "{result:?}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn hook_points_refused() {
    if std::env::var_os("TRACEHOOK_TEST_CHILD").is_none() {
        child("TRACEHOOK_NO_PATCH", "1");
    }
}

/// The second writer (`mprotect`, used where `/proc/self/mem` is refused, and under valgrind).
#[test]
fn hook_points_by_mprotect() {
    if std::env::var_os("TRACEHOOK_TEST_CHILD").is_none() {
        child("TRACEHOOK_PATCH", "mprotect");
    }
}
