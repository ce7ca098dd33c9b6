//! The hooked-call path: from a site's dispatch pointer to the attached callbacks and back.
//!
//! Generated code checks [`Site::__is_hooked`] (one relaxed load) and, only when it is set, calls the
//! cold [`enter`] (or [`enter_async`]). `enter` runs the entry callbacks inside a read-side section,
//! pushes the site on the thread's shadow stack and returns a [`Guard`]; dropping the guard (return or
//! unwind) pops the stack and runs the exit callbacks owed to the ops whose entry callbacks ran. The read
//! side never spans the traced body, so a long-running call cannot hold up `unregister`.

use super::call::{Arg, Call, Phase, Redirect};
use super::registry::{self, OpsInner};
use super::{Flags, Ops};
use crate::site::Site;
use crate::thread::{self, ThreadState};
use std::any::TypeId;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

/// The immutable set of ops attached to one site, published through `Site::dispatch`.
pub(crate) struct Snapshot {
    pub(crate) ops: Box<[Arc<OpsInner>]>,
}

/// An exit callback owed to an ops whose entry callback ran: the ops' address and registration.
type Owed = (usize, u64);

/// What a hooked call remembers between entry and exit.
struct Entered {
    site: &'static Site,
    /// Whether the site is on this thread's shadow stack (sync functions; async ones push per poll).
    pushed: bool,
    owed: [Owed; 2],
    owed_len: u8,
    owed_more: Vec<Owed>,
    redirect: Option<Redirect>,
}

impl Entered {
    fn new(site: &'static Site, pushed: bool) -> Self {
        Self {
            site,
            pushed,
            owed: [(0, 0); 2],
            owed_len: 0,
            owed_more: Vec::new(),
            redirect: None,
        }
    }

    fn owe(&mut self, owed: Owed) {
        let len = usize::from(self.owed_len);
        if len < self.owed.len() {
            self.owed[len] = owed;
            self.owed_len += 1;
        } else {
            self.owed_more.push(owed);
        }
    }

    fn is_owed(&self, owed: Owed) -> bool {
        self.owed[..usize::from(self.owed_len)].contains(&owed) || self.owed_more.contains(&owed)
    }

    fn owes_nothing(&self) -> bool {
        self.owed_len == 0
    }
}

/// The state of one hooked call, kept in the traced function's frame; runs the exit side on drop.
#[doc(hidden)]
#[must_use]
pub struct Guard {
    entered: Option<Entered>,
}

impl Guard {
    /// The guard of a call that is not hooked.
    #[inline(always)]
    pub const fn off() -> Self {
        Self { entered: None }
    }

    /// The replacement an `IPMODIFY` callback chose for this call, if any.
    #[inline]
    pub fn __redirect<F: Copy + 'static>(&self) -> Option<F> {
        let redirect = self.entered.as_ref()?.redirect?;
        if redirect.type_id != TypeId::of::<F>() || size_of::<F>() != size_of::<usize>() {
            return None;
        }
        // SAFETY: `Call::redirect` stored a value of exactly type `F` (same TypeId, checked again here),
        // a function pointer, as its address; this turns it back into that function pointer.
        Some(unsafe { std::mem::transmute_copy::<usize, F>(&redirect.pointer) })
    }

    fn site(&self) -> Option<&'static Site> {
        self.entered.as_ref().map(|entered| entered.site)
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if let Some(entered) = self.entered.take() {
            exit(entered);
        }
    }
}

/// Entry of a hooked sync function: runs the entry callbacks and pushes the site on the shadow stack.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn enter(site: &'static Site, args: &[Arg<'_>], redirect_type: Option<TypeId>) -> Guard {
    enter_any(site, args, redirect_type, true)
}

/// Entry of a hooked `async fn`, at its first poll. The site is pushed on the shadow stack by
/// [`Instrumented`] around each poll instead.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn enter_async(site: &'static Site, args: &[Arg<'_>]) -> Guard {
    enter_any(site, args, None, false)
}

fn enter_any(
    site: &'static Site,
    args: &[Arg<'_>],
    redirect_type: Option<TypeId>,
    push: bool,
) -> Guard {
    thread::try_with(|thread| enter_on(thread, site, args, redirect_type, push))
        .unwrap_or_else(|| enter_orphan(site, args, redirect_type))
}

fn enter_on(
    thread: &ThreadState,
    site: &'static Site,
    args: &[Arg<'_>],
    redirect_type: Option<TypeId>,
    push: bool,
) -> Guard {
    let section = thread.reader.section();
    // Acquire pairs with the Release store that published the snapshot.
    let snapshot = site.dispatch.load(Ordering::Acquire);
    if snapshot.is_null() {
        return Guard::off();
    }
    // SAFETY: a snapshot is freed only after a grace period that starts after it was unpublished; we
    // are inside a read-side section that began before we loaded it.
    let snapshot = unsafe { &*snapshot };
    let mut entered = Entered::new(site, push);
    let slot = Cell::new(None);
    let visit = Visit {
        site,
        parent: thread.ftrace.top(),
        args,
        phase: Phase::Entry,
        redirect: (redirect_type.is_some(), &slot, redirect_type),
        thread: Some(thread),
    };
    let mut failed = false;
    for ops in &snapshot.ops {
        match visit.call(ops) {
            Outcome::Skipped => {}
            Outcome::Ran => {
                if ops.exit.is_some() {
                    entered.owe((Arc::as_ptr(ops) as usize, ops.generation()));
                }
            }
            Outcome::Panicked => failed = true,
        }
    }
    drop(section);
    entered.redirect = slot.get();
    if push {
        thread.ftrace.push(site);
    }
    if failed && !thread.reader.in_section() {
        registry::process_pending();
    }
    Guard {
        entered: Some(entered),
    }
}

/// Entry on a thread whose runtime state is gone: only ops without `RCU`, no parent, no shadow stack.
#[cold]
fn enter_orphan(site: &'static Site, args: &[Arg<'_>], redirect_type: Option<TypeId>) -> Guard {
    let domain = crate::sync::domain();
    domain.enter_orphan();
    let snapshot = site.dispatch.load(Ordering::Acquire);
    let mut entered = Entered::new(site, false);
    if !snapshot.is_null() {
        // SAFETY: as in `enter_on`; the orphan count holds off the grace period instead of a record.
        let snapshot = unsafe { &*snapshot };
        let slot = Cell::new(None);
        let visit = Visit {
            site,
            parent: None,
            args,
            phase: Phase::Entry,
            redirect: (redirect_type.is_some(), &slot, redirect_type),
            thread: None,
        };
        for ops in &snapshot.ops {
            if matches!(visit.call(ops), Outcome::Ran) && ops.exit.is_some() {
                entered.owe((Arc::as_ptr(ops) as usize, ops.generation()));
            }
        }
        entered.redirect = slot.get();
    }
    domain.exit_orphan();
    Guard {
        entered: Some(entered),
    }
}

#[cold]
#[inline(never)]
fn exit(entered: Entered) {
    let phase = if std::thread::panicking() {
        Phase::Unwind
    } else {
        Phase::Return
    };
    let handled = thread::try_with(|thread| {
        if entered.pushed {
            thread.ftrace.pop();
        }
        if entered.owes_nothing() {
            return;
        }
        let section = thread.reader.section();
        let failed = run_exits(&entered, phase, thread.ftrace.top(), Some(thread));
        drop(section);
        if failed && !thread.reader.in_section() {
            registry::process_pending();
        }
    });
    if handled.is_none() && !entered.owes_nothing() {
        let domain = crate::sync::domain();
        domain.enter_orphan();
        run_exits(&entered, phase, None, None);
        domain.exit_orphan();
    }
}

/// Runs the exit callbacks owed by `entered`; the caller is inside a read-side section.
fn run_exits(
    entered: &Entered,
    phase: Phase,
    parent: Option<&'static Site>,
    thread: Option<&ThreadState>,
) -> bool {
    let snapshot = entered.site.dispatch.load(Ordering::Acquire);
    if snapshot.is_null() {
        return false;
    }
    // SAFETY: as in `enter_on`.
    let snapshot = unsafe { &*snapshot };
    let slot = Cell::new(None);
    let visit = Visit {
        site: entered.site,
        parent,
        args: &[],
        phase,
        redirect: (false, &slot, None),
        thread,
    };
    let mut failed = false;
    for ops in &snapshot.ops {
        if ops.exit.is_some()
            && entered.is_owed((Arc::as_ptr(ops) as usize, ops.generation()))
            && matches!(visit.call(ops), Outcome::Panicked)
        {
            failed = true;
        }
    }
    failed
}

enum Outcome {
    Skipped,
    Ran,
    Panicked,
}

/// One phase of one call, to be shown to each attached ops in turn.
struct Visit<'a> {
    site: &'static Site,
    parent: Option<&'static Site>,
    args: &'a [Arg<'a>],
    phase: Phase,
    /// Whether the site can be redirected, where a choice goes, and the site's function-pointer type.
    redirect: (bool, &'a Cell<Option<Redirect>>, Option<TypeId>),
    /// `None` on an orphaned thread.
    thread: Option<&'a ThreadState>,
}

impl Visit<'_> {
    #[inline]
    fn call(&self, ops: &Arc<OpsInner>) -> Outcome {
        if ops.is_disabled() {
            return Outcome::Skipped;
        }
        let flags = ops.flags();
        let callback = match self.phase {
            Phase::Entry => ops.entry.as_deref(),
            Phase::Return | Phase::Unwind => ops.exit.as_deref(),
        };
        let guard_recursion = flags.contains(Flags::RECURSION);
        match self.thread {
            None if flags.contains(Flags::RCU) => return Outcome::Skipped,
            Some(thread) if guard_recursion && !thread.ftrace.begin_running(Arc::as_ptr(ops)) => {
                return Outcome::Skipped;
            }
            _ => {}
        }
        let can_redirect = self.redirect.0 && flags.contains(Flags::IPMODIFY);
        let call = Call {
            site: self.site,
            parent: self.parent,
            ops: Ops::from_inner_ref(ops),
            args: (flags.wants_args() && self.site.has_args()).then_some(self.args),
            phase: self.phase,
            redirect: can_redirect.then_some(self.redirect.1),
            redirect_type: self.redirect.2.filter(|_| can_redirect),
        };
        let result = match callback {
            Some(callback) => catch_unwind(AssertUnwindSafe(|| callback(&call))),
            None => Ok(()),
        };
        if guard_recursion && let Some(thread) = self.thread {
            thread.ftrace.end_running(Arc::as_ptr(ops));
        }
        match result {
            Ok(()) => Outcome::Ran,
            Err(payload) => {
                registry::fail(ops, self.site, payload.as_ref());
                Outcome::Panicked
            }
        }
    }
}

/// Wraps the body of a traced `async fn`: pushes the site on the shadow stack around each poll (so the
/// function is the parent of what it calls, on whichever thread polls it) and runs the exit callbacks
/// when the body completes, or when the future is dropped before that.
#[doc(hidden)]
pub struct Instrumented<F> {
    // Declared first so it drops first: the body's destructors run before the exit callbacks.
    inner: F,
    guard: Guard,
}

/// Builds the wrapper; `R` names the output so `?` in the body infers its error type.
#[doc(hidden)]
#[inline]
pub fn instrument<R, F: Future<Output = R>>(guard: Guard, inner: F) -> Instrumented<F> {
    Instrumented { inner, guard }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self` and `Instrumented`
        // has no `Drop` impl; `guard` is not pinned and is only replaced in place.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let Some(site) = this.guard.site() else {
            return inner.poll(cx);
        };
        let frame = ShadowFrame::push(site);
        let poll = inner.poll(cx);
        drop(frame);
        if poll.is_ready() {
            this.guard = Guard::off();
        }
        poll
    }
}

/// A site pushed on this thread's shadow stack for the length of one poll (popped on unwind too).
struct ShadowFrame(bool);

impl ShadowFrame {
    fn push(site: &'static Site) -> Self {
        Self(thread::try_with(|thread| thread.ftrace.push(site)).is_some())
    }
}

impl Drop for ShadowFrame {
    fn drop(&mut self) {
        if self.0 {
            thread::try_with(|thread| thread.ftrace.pop());
        }
    }
}
