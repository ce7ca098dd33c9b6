//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use tracehook::ftrace::{Flags, Ops, Phase};

/// An ops that counts and logs entries and exits of the functions a filter selects.
pub struct Probe {
    pub ops: Ops,
    entries: Arc<AtomicUsize>,
    exits: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    /// Registers a probe on `pattern` (SAVE_REGS_IF_SUPPORTED, entry and exit callbacks).
    pub fn attach(pattern: &str) -> Self {
        let probe = Self::new();
        probe.ops.set_filter(pattern, true).expect("filter");
        probe.ops.register().expect("register");
        probe
    }

    pub fn new() -> Self {
        let entries = Arc::new(AtomicUsize::new(0));
        let exits = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (e, l) = (Arc::clone(&entries), Arc::clone(&log));
        let (x, lx) = (Arc::clone(&exits), Arc::clone(&log));
        let ops = Ops::with_exit(
            move |call| {
                e.fetch_add(1, Ordering::SeqCst);
                let args: Vec<String> = call
                    .args()
                    .unwrap_or(&[])
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let parent = call.parent().map_or("", |p| p.name());
                l.lock().unwrap().push(format!(
                    "{} <-{parent} [{}]",
                    call.site().name(),
                    args.join(", ")
                ));
            },
            move |call| {
                x.fetch_add(1, Ordering::SeqCst);
                let how = match call.phase() {
                    Phase::Return => "return",
                    Phase::Unwind => "unwind",
                    Phase::Entry => "entry?",
                };
                lx.lock()
                    .unwrap()
                    .push(format!("{} {how}", call.site().name()));
            },
        )
        .with_flags(Flags::SAVE_REGS_IF_SUPPORTED | Flags::RECURSION);
        Self {
            ops,
            entries,
            exits,
            log,
        }
    }

    pub fn entries(&self) -> usize {
        self.entries.load(Ordering::SeqCst)
    }

    pub fn exits(&self) -> usize {
        self.exits.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls a future to completion on this thread (spinning; the futures in tests are tiny).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Polls once; returns the output if ready.
pub fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    match std::pin::Pin::new(future).poll(&mut cx) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

/// A future that is pending once, then ready.
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A test over a function name (a selftest regex written as Rust).
pub type NamePredicate = fn(&str) -> bool;

/// The glob table of the kernel selftest `func-filter-glob.tc`: each pattern with the selftest's regex
/// written as a plain predicate over function names.
pub const KERNEL_GLOB_TABLE: [(&str, NamePredicate); 8] = [
    ("schedul?", |n| n.len() == 8 && n.starts_with("schedul")),
    ("schedule*", |n| n.starts_with("schedule")),
    ("*schedule", |n| n.ends_with("schedule")),
    ("*pin*lock", |n| {
        n.ends_with("lock") && n[..n.len() - 4].contains("pin")
    }),
    ("mutex*unl*", |n| {
        n.starts_with("mutex") && n["mutex".len()..].contains("unl")
    }),
    ("sch*ule", |n| {
        n.starts_with("sch") && n.ends_with("ule") && n.len() >= 6
    }),
    ("[Ss]y[Ss]_*", |n| {
        let b = n.as_bytes();
        b.len() >= 4
            && matches!(b[0], b'S' | b's')
            && b[1] == b'y'
            && matches!(b[2], b'S' | b's')
            && b[3] == b'_'
    }),
    ("sch?dule", |n| {
        n.len() == 8 && n.starts_with("sch") && n.ends_with("dule")
    }),
];
