//! Filter syntax and set semantics, as ftrace's `set_ftrace_filter` has them.
#![allow(
    non_snake_case,
    reason = "kernel names such as SyS_read are part of the glob table"
)]

mod common;

use common::KERNEL_GLOB_TABLE;
use tracehook::ftrace::{self, Error, Ops, Site};
use tracehook::traceable;

// The kernel selftest's names (tools/testing/selftests/ftrace/test.d/ftrace/func-filter-glob.tc).
#[traceable]
fn schedule() {}
#[traceable]
fn preempt_schedule() {}
#[traceable]
fn preempt_schedule_irq() {}
#[traceable]
fn schedule_tail() {}
#[traceable]
fn schedule_timeout() {}
#[traceable]
fn spin_lock() {}
#[traceable]
fn raw_spin_unlock() {}
#[traceable]
fn spinner_block() {}
#[traceable]
fn mutex_unlock() {}
#[traceable]
fn mutex_unlock_slowpath() {}
#[traceable]
fn mutex_lock() {}
#[traceable]
fn SyS_read() {}
#[traceable]
fn sys_write() {}
#[traceable]
fn sYs_open() {}
#[traceable]
fn schxdule() {}
#[traceable(name = "odd*name")]
fn odd_star() {}
#[traceable(name = "odd_name")]
fn odd_plain() {}

mod net {
    pub mod tcp {
        #[tracehook::traceable]
        pub fn tcp_send() {}
        #[tracehook::traceable]
        pub fn tcp_recv() {}
    }
    pub mod udp {
        #[tracehook::traceable]
        pub fn udp_send() {}
    }
}

fn names(sites: &[&'static Site]) -> Vec<&'static str> {
    let mut names: Vec<&str> = sites.iter().map(|s| s.name()).collect();
    names.sort_unstable();
    names
}

/// What `pattern` selects, as names.
fn selection(pattern: &str) -> Vec<&'static str> {
    let ops = Ops::new(|_| {});
    ops.set_filter(pattern, true)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"));
    names(&ops.filter())
}

/// The names of all available functions for which `predicate` holds.
fn expected(predicate: impl Fn(&str) -> bool) -> Vec<&'static str> {
    let mut names: Vec<&str> = ftrace::available_functions()
        .map(|s| s.name())
        .filter(|n| predicate(n))
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn kernel_selftest_glob_table() {
    for (pattern, predicate) in KERNEL_GLOB_TABLE {
        let want = expected(predicate);
        assert!(!want.is_empty(), "{pattern} must select something");
        assert_eq!(selection(pattern), want, "pattern {pattern}");
    }
    assert_eq!(selection("sch?dule"), ["schedule", "schxdule"]);
    assert_eq!(
        selection("*pin*lock"),
        ["raw_spin_unlock", "spin_lock", "spinner_block"]
    );
}

#[test]
fn every_glob_form() {
    assert_eq!(selection("schedule"), ["schedule"]);
    assert_eq!(
        selection("schedule_t*"),
        ["schedule_tail", "schedule_timeout"]
    );
    assert_eq!(selection("*_irq"), ["preempt_schedule_irq"]);
    assert_eq!(
        selection("*_unlock*"),
        ["mutex_unlock", "mutex_unlock_slowpath", "raw_spin_unlock"]
    );
    assert_eq!(selection("sch[a-e]dule"), ["schedule"]);
    assert_eq!(selection("sch[!e]dule"), ["schxdule"]);
    assert_eq!(selection("sch[^e]dule"), ["schxdule"]);
    // `\` takes the next character literally.
    assert_eq!(selection("odd\\*name"), ["odd*name"]);
    assert_eq!(selection("odd*name"), ["odd*name", "odd_name"]);
    assert_eq!(selection("s\\chedule"), ["schedule"]);
}

#[test]
fn path_patterns_module_command_and_indices() {
    // With `::` a pattern matches the path.
    assert_eq!(selection("filters::net::tcp::*"), ["tcp_recv", "tcp_send"]);
    assert_eq!(selection("*::udp::*"), ["udp_send"]);
    // <glob>:mod:<module-glob>
    assert_eq!(
        selection("*send:mod:filters::net::*"),
        ["tcp_send", "udp_send"]
    );
    assert_eq!(
        selection(":mod:filters::net::tcp"),
        ["tcp_recv", "tcp_send"]
    );
    assert_eq!(selection("tcp_*:mod:!*::udp"), ["tcp_recv", "tcp_send"]);
    // A 1-based index into available_functions().
    let all: Vec<&Site> = ftrace::available_functions().collect();
    let third = all[2];
    assert_eq!(third.index(), 3);
    let ops = Ops::new(|_| {});
    ops.set_filter("3", true).unwrap();
    assert_eq!(ops.filter(), [third]);
    let last = all.len().to_string();
    ops.set_filter(&last, true).unwrap();
    assert_eq!(ops.filter(), [all[all.len() - 1]]);
    let past_end = (all.len() + 1).to_string();
    assert!(matches!(
        ops.set_filter(&past_end, true),
        Err(Error::NoMatch { .. })
    ));
    assert!(matches!(
        ops.set_filter("0", true),
        Err(Error::InvalidPattern { .. })
    ));
}

#[test]
fn set_semantics() {
    let ops = Ops::new(|_| {});
    // Several tokens at once; appending; `!` removes.
    ops.set_filter("schedule mutex_lock", true).unwrap();
    ops.set_filter("spin_lock", false).unwrap();
    assert_eq!(
        names(&ops.filter()),
        ["mutex_lock", "schedule", "spin_lock"]
    );
    ops.set_filter("!mutex_*", false).unwrap();
    assert_eq!(names(&ops.filter()), ["schedule", "spin_lock"]);
    // reset replaces.
    ops.set_filter("sys_write", true).unwrap();
    assert_eq!(names(&ops.filter()), ["sys_write"]);
    // A pattern that matches nothing is an error and changes nothing, not even the reset.
    let before = ops.filter();
    assert_eq!(
        ops.set_filter("no_such_fn*", true),
        Err(Error::NoMatch {
            pattern: "no_such_fn*".into()
        })
    );
    assert_eq!(ops.filter(), before);
    // All or nothing: a good token before a bad one is not applied either.
    assert!(ops.set_filter("schedule nothing_here", false).is_err());
    assert_eq!(ops.filter(), before);
    // Malformed patterns name the problem.
    let error = ops.set_filter("sch[edule", true).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid filter pattern `sch[edule`: unterminated `[` character class"
    );
    assert!(
        ops.set_filter("schedule:traceon", true)
            .unwrap_err()
            .to_string()
            .contains("unknown command `traceon`")
    );
    assert!(ops.set_filter("!", false).is_err());
    assert_eq!(ops.filter(), before);
    // An empty pattern with reset clears the filter: all functions.
    ops.set_filter("", true).unwrap();
    assert!(ops.filter().is_empty());
    // free_filter clears the notrace list too.
    ops.set_notrace("schedule", true).unwrap();
    ops.set_filter("sys_write", true).unwrap();
    ops.free_filter().unwrap();
    assert!(ops.filter().is_empty() && ops.notrace().is_empty());
}

#[test]
fn empty_filter_means_all_and_notrace_wins() {
    let site = |name: &str| {
        ftrace::available_functions()
            .find(|s| s.name() == name)
            .unwrap()
    };
    let ops = Ops::new(|_| {});
    assert!(ops.selects(site("schedule")) && ops.selects(site("tcp_send")));
    ops.set_notrace("schedule*", true).unwrap();
    assert!(!ops.selects(site("schedule")) && ops.selects(site("tcp_send")));
    ops.set_filter("schedule tcp_send", true).unwrap();
    assert!(
        !ops.selects(site("schedule")),
        "notrace wins over the filter"
    );
    assert!(ops.selects(site("tcp_send")));
    // set_filter_site / remove.
    ops.set_filter_site(site("mutex_lock"), false, true)
        .unwrap();
    assert_eq!(ops.filter(), [site("mutex_lock")]);
    ops.set_filter_site(site("spin_lock"), false, false)
        .unwrap();
    ops.set_filter_site(site("mutex_lock"), true, false)
        .unwrap();
    assert_eq!(ops.filter(), [site("spin_lock")]);
    // Removing everything leaves an empty filter, which (as in the kernel) means every function.
    ops.set_filter("!spin_lock", false).unwrap();
    assert!(ops.filter().is_empty());
    assert!(ops.selects(site("tcp_send")));
}

#[test]
fn filters_change_what_a_registered_ops_sees() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let ops = Ops::new(move |call| {
        if call.site().module_path().ends_with("net::tcp") {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    ops.set_filter("tcp_send", true).unwrap();
    ops.register().unwrap();
    net::tcp::tcp_send();
    net::tcp::tcp_recv();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    ops.set_filter("tcp_recv", false).unwrap();
    net::tcp::tcp_send();
    net::tcp::tcp_recv();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    ops.set_notrace("tcp_send", true).unwrap();
    net::tcp::tcp_send();
    net::tcp::tcp_recv();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    ops.unregister().unwrap();
    net::tcp::tcp_send();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    // Calls of every other function here, so none of them is dead code.
    for f in [
        schedule,
        preempt_schedule,
        preempt_schedule_irq,
        schedule_tail,
        schedule_timeout,
        spin_lock,
        raw_spin_unlock,
        spinner_block,
        mutex_unlock,
        mutex_unlock_slowpath,
        mutex_lock,
        SyS_read,
        sys_write,
        sYs_open,
        schxdule,
        odd_star,
        odd_plain,
        net::udp::udp_send,
    ] {
        f();
    }
}
