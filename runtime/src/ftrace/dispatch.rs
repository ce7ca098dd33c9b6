//! The hooked-call path: from a site's dispatch pointer to the attached callbacks and back.
//!
//! Generated code pins a [`Guard`] in the traced function's frame, checks [`Site::__is_hooked`] (one
//! relaxed load) and, only when it is set, calls the cold [`enter`]. `enter` runs the entry callbacks
//! inside a read-side section and links the guard into the thread's chain of hooked calls (the shadow
//! stack: `Call::parent` is the previous link). Exit callbacks owed to the ops whose entry callbacks ran
//! are kept on a thread-local stack. Dropping the guard (return or unwind) unlinks it, with one
//! thread-local store when nothing is owed, or runs the owed exit callbacks in a second section. The
//! read side never spans the traced body, so a long-running call cannot hold up `unregister`.
//!
//! `async fn`s use [`enter_async`] and an [`AsyncGuard`] that carries its owed exits with it (the future
//! may finish on another thread); [`Instrumented`] links a node around each poll.

use super::call::{Call, CaptureArgs, Phase, no_args};
use super::registry::{self, OpsInner};
use super::thread::{Node, Owed};
use super::{Flags, Ops};
use crate::site::Site;
use crate::thread::{self, ThreadState};
use std::any::TypeId;
use std::cell::Cell;
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

/// The immutable set of ops attached to one site, published through `Site::dispatch`.
pub(crate) struct Snapshot {
    pub(crate) entries: Box<[SnapEntry]>,
    /// One ops that needs nothing but its entry callback called: the direct path (ftrace's
    /// trampoline calling one ops directly, where several need the list function).
    pub(crate) direct: bool,
}

impl Snapshot {
    pub(crate) fn new(entries: Box<[SnapEntry]>) -> Self {
        let direct = matches!(&*entries, [only] if only.bits == 0);
        Self { entries, direct }
    }
}

/// One attached ops, with what the hot path needs decided at publication (per site).
pub(crate) struct SnapEntry {
    pub(crate) ops: Arc<OpsInner>,
    pub(crate) flags: Flags,
    pub(crate) generation: u64,
    /// `EXIT`, `ARGS`, `REDIRECT`, `RECURSION`, `RCU`.
    pub(crate) bits: u8,
}

impl SnapEntry {
    pub(crate) const EXIT: u8 = 1 << 0;
    pub(crate) const ARGS: u8 = 1 << 1;
    pub(crate) const REDIRECT: u8 = 1 << 2;
    pub(crate) const RECURSION: u8 = 1 << 3;
    pub(crate) const RCU: u8 = 1 << 4;

    /// The entry for `ops` in the snapshot of `site`.
    pub(crate) fn new(ops: &Arc<OpsInner>, site: &Site) -> Self {
        let flags = ops.flags();
        let mut bits = 0;
        if ops.exit.is_some() {
            bits |= Self::EXIT;
        }
        if flags.wants_args() && site.has_args() {
            bits |= Self::ARGS;
        }
        if flags.contains(Flags::IPMODIFY) && site.can_redirect() {
            bits |= Self::REDIRECT;
        }
        if flags.contains(Flags::RECURSION) {
            bits |= Self::RECURSION;
        }
        if flags.contains(Flags::RCU) {
            bits |= Self::RCU;
        }
        Self {
            ops: Arc::clone(ops),
            flags,
            generation: ops.generation(),
            bits,
        }
    }

    /// The key an owed exit of this entry is found by.
    fn key(&self) -> (usize, u64) {
        (Arc::as_ptr(&self.ops) as usize, self.generation)
    }

    fn owed(&self, data: u64) -> Owed {
        let (ops, generation) = self.key();
        Owed {
            ops,
            generation,
            data,
        }
    }
}

/// Where an `IPMODIFY` callback puts its replacement: made by the generated code of a site that can be
/// redirected, typed with the site's function-pointer type `F`.
#[doc(hidden)]
pub struct RedirectSlot<F> {
    erased: ErasedSlot,
    _type: PhantomData<F>,
}

/// A [`RedirectSlot`] without its type parameter, as callbacks see it.
#[doc(hidden)]
pub struct ErasedSlot {
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) pointer: Cell<Option<usize>>,
}

impl<F: Copy + 'static> RedirectSlot<F> {
    /// An empty slot.
    #[inline(always)]
    #[must_use]
    pub fn new() -> Self {
        Self {
            erased: ErasedSlot {
                type_id: TypeId::of::<F>,
                pointer: Cell::new(None),
            },
            _type: PhantomData,
        }
    }

    /// The replacement a callback chose, if any.
    #[inline(always)]
    #[must_use]
    pub fn get(&self) -> Option<F> {
        let pointer = self.erased.pointer.get()?;
        // SAFETY: `Call::redirect` only stores a value whose TypeId is this slot's, i.e. an `F` (a
        // function pointer, size-checked there), as its address; this turns it back into that `F`.
        Some(unsafe { std::mem::transmute_copy::<usize, F>(&pointer) })
    }

    /// The slot as `enter` takes it.
    #[inline(always)]
    #[must_use]
    pub fn erased(&self) -> &ErasedSlot {
        &self.erased
    }
}

impl<F: Copy + 'static> Default for RedirectSlot<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// A hooked sync call in progress, pinned in the traced function's frame; runs the exit side on drop.
#[doc(hidden)]
pub struct Guard {
    /// Whether `enter` linked this guard; the other fields are written only then (so the unhooked
    /// path stores one byte).
    hooked: bool,
    node: MaybeUninit<Node>,
    /// How many exit callbacks this call owes (on the thread's owed stack); written with the node.
    owed: MaybeUninit<u32>,
    _pinned: PhantomPinned,
}

impl Guard {
    /// The guard of a call that is not (yet) hooked.
    #[inline(always)]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            hooked: false,
            node: MaybeUninit::uninit(),
            owed: MaybeUninit::uninit(),
            _pinned: PhantomPinned,
        }
    }

    /// The linked node; only after `enter`.
    #[inline(always)]
    fn node(&self) -> &Node {
        debug_assert!(self.hooked);
        // SAFETY: `hooked` is set only after `enter` wrote the node.
        unsafe { self.node.assume_init_ref() }
    }

    /// The exits owed; only after `enter`.
    #[inline(always)]
    fn owed(&self) -> u32 {
        debug_assert!(self.hooked);
        // SAFETY: `hooked` is set only after `enter` wrote `owed`.
        unsafe { self.owed.assume_init() }
    }
}

impl Default for Guard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard {
    #[inline(always)]
    fn drop(&mut self) {
        if self.hooked {
            if self.owed() == 0 {
                thread::current().ftrace.current.set(self.node().prev);
            } else {
                exit(self);
            }
        }
    }
}

/// Entry of a hooked sync function: runs the entry callbacks and links `guard` as the thread's
/// innermost hooked call.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn enter(
    guard: Pin<&mut Guard>,
    site: &'static Site,
    args: CaptureArgs<'_>,
    redirect: Option<&ErasedSlot>,
) {
    // SAFETY: the guard is only written in place, never moved out of its pin.
    let guard = unsafe { guard.get_unchecked_mut() };
    site.first_call();
    let thread = thread::current();
    let ftrace = &thread.ftrace;
    let prev = ftrace.current.get();
    let opened = thread.reader.lock();
    // Acquire pairs with the Release store that published the snapshot. The call paths load the
    // pointer as it is: `first_call` (above, and in `enter_async`) has replaced a never-called site's
    // sentinel, writers never store it, and exits are owed only after an entry found a snapshot.
    let snapshot = site.dispatch.load(Ordering::Acquire);
    let mut owed = 0;
    if !snapshot.is_null() {
        // SAFETY: a snapshot is freed only after a grace period that starts after it was unpublished;
        // we are inside a read-side section that began before we loaded it.
        let snapshot = unsafe { &*snapshot };
        if snapshot.direct {
            call_direct(thread, &snapshot.entries[0], site, prev);
        } else {
            let before = ftrace.owed.len();
            enter_list(thread, snapshot, site, prev, args, redirect, |o| {
                ftrace.owed.push(o)
            });
            owed = u32::try_from(ftrace.owed.len() - before).unwrap_or(u32::MAX);
        }
    }
    thread.reader.unlock(opened);
    guard.owed.write(owed);
    let node = guard.node.write(Node { site, prev });
    guard.hooked = true;
    // The guard is pinned and unlinks itself in `drop`, so the chain never points to a dead node.
    ftrace.current.set(std::ptr::from_ref(node));
    settle_panics(thread);
}

/// The list path: every attached ops in turn; `owe` receives the exits owed.
#[cold]
#[inline(never)]
fn enter_list(
    thread: &ThreadState,
    snapshot: &Snapshot,
    site: &'static Site,
    parent: *const Node,
    args: CaptureArgs<'_>,
    redirect: Option<&ErasedSlot>,
    mut owe: impl FnMut(Owed),
) {
    for entry in &snapshot.entries {
        if let Outcome::Ran(data) =
            call_one(thread, entry, site, parent, args, Phase::Entry, 0, redirect)
            && entry.bits & SnapEntry::EXIT != 0
        {
            owe(entry.owed(data));
        }
    }
}

#[cold]
#[inline(never)]
fn exit(guard: &Guard) {
    let thread = thread::current();
    let ftrace = &thread.ftrace;
    let node = guard.node();
    ftrace.current.set(node.prev);
    let site = node.site;
    let end = ftrace.owed.len();
    let start = end - guard.owed() as usize;
    run_exits(thread, site, node.prev, |key| {
        (start..end)
            .map(|i| ftrace.owed.get(i))
            .find(|owed| owed.is(key))
            .map(|owed| owed.data)
    });
    ftrace.owed.truncate(start);
    settle_panics(thread);
}

/// Runs the entry callbacks of the ops attached to `site`; `owe` receives the exits owed.
fn run_entries(
    thread: &ThreadState,
    site: &'static Site,
    parent: *const Node,
    args: CaptureArgs<'_>,
    mut owe: impl FnMut(Owed),
) {
    let section = thread.reader.section();
    // Acquire pairs with the Release store that published the snapshot.
    let snapshot = site.dispatch.load(Ordering::Acquire);
    if !snapshot.is_null() {
        // SAFETY: as in `enter`.
        let snapshot = unsafe { &*snapshot };
        enter_list(thread, snapshot, site, parent, args, None, &mut owe);
    }
    drop(section);
    settle_panics(thread);
}

/// Runs the exit callbacks of the ops attached to `site` to which `owed` finds an exit owed (it gives
/// the entry callback's data word).
fn run_exits(
    thread: &ThreadState,
    site: &'static Site,
    parent: *const Node,
    owed: impl Fn((usize, u64)) -> Option<u64>,
) {
    let phase = if std::thread::panicking() {
        Phase::Unwind
    } else {
        Phase::Return
    };
    let section = thread.reader.section();
    let snapshot = site.dispatch.load(Ordering::Acquire);
    if !snapshot.is_null() {
        // SAFETY: as in `enter`.
        let snapshot = unsafe { &*snapshot };
        for entry in &snapshot.entries {
            if entry.bits & SnapEntry::EXIT != 0
                && let Some(data) = owed(entry.key())
            {
                call_one(thread, entry, site, parent, &no_args, phase, data, None);
            }
        }
    }
    drop(section);
}

/// If a callback panicked on this thread (its ops is already disabled), removes the ops now, unless
/// this thread is still inside a section (then the outermost call, or the next writer, does).
#[inline(always)]
fn settle_panics(thread: &ThreadState) {
    if thread.ftrace.panicked.get() {
        remove_failed(thread);
    }
}

#[cold]
#[inline(never)]
fn remove_failed(thread: &ThreadState) {
    if !thread.reader.in_section() {
        thread.ftrace.panicked.set(false);
        registry::process_pending();
    }
}

/// Records a panicking callback: disable its ops and remember to remove it after the section.
#[cold]
#[inline(never)]
fn failed(
    thread: &ThreadState,
    entry: &SnapEntry,
    site: &Site,
    payload: &(dyn std::any::Any + Send),
) {
    registry::fail(&entry.ops, site, payload);
    thread.ftrace.panicked.set(true);
}

/// Calls one callback; a panic is caught and returned.
#[inline(always)]
fn run_callback(
    callback: &(dyn Fn(&Call<'_>) + Send + Sync),
    call: &Call<'_>,
) -> std::thread::Result<()> {
    catch_unwind(AssertUnwindSafe(|| callback(call)))
}

/// The direct path: one ops with only an entry callback.
#[inline(always)]
fn call_direct(thread: &ThreadState, entry: &SnapEntry, site: &'static Site, parent: *const Node) {
    let ops = &*entry.ops;
    let Some(callback) = ops.entry.as_deref() else {
        return;
    };
    if ops.is_disabled() {
        return;
    }
    let call = Call {
        site,
        parent,
        ops: Ops::from_inner_ref(&entry.ops),
        args: None,
        phase: Phase::Entry,
        redirect: None,
        data: Cell::new(0),
    };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(&call))) {
        failed(thread, entry, site, payload.as_ref());
    }
}

#[derive(PartialEq, Eq)]
enum Outcome {
    Skipped,
    /// The callback ran and left this data word.
    Ran(u64),
    Panicked,
}

/// Shows one phase of one call to one attached ops.
#[inline(always)]
#[allow(
    clippy::too_many_arguments,
    reason = "the hot path's state, passed in registers rather than built into a struct"
)]
fn call_one(
    thread: &ThreadState,
    entry: &SnapEntry,
    site: &'static Site,
    parent: *const Node,
    args: CaptureArgs<'_>,
    phase: Phase,
    data: u64,
    redirect: Option<&ErasedSlot>,
) -> Outcome {
    let ops = &*entry.ops;
    if ops.is_disabled() {
        return Outcome::Skipped;
    }
    let callback = match phase {
        Phase::Entry => ops.entry.as_deref(),
        Phase::Return | Phase::Unwind => ops.exit.as_deref(),
    };
    let bits = entry.bits;
    if bits & SnapEntry::RCU != 0 && thread.reader.is_torn_down() {
        return Outcome::Skipped;
    }
    let guard_recursion = bits & SnapEntry::RECURSION != 0;
    if guard_recursion && !thread.ftrace.begin_running(ops) {
        return Outcome::Skipped;
    }
    let redirect = redirect.filter(|_| bits & SnapEntry::REDIRECT != 0);
    let ops_ref = Ops::from_inner_ref(&entry.ops);
    let mut data_out = data;
    let result = match callback {
        Some(callback) if bits & SnapEntry::ARGS != 0 => {
            let mut result = Ok(());
            args(&mut |views| {
                let call = Call {
                    site,
                    parent,
                    ops: ops_ref,
                    args: Some(views),
                    phase,
                    redirect,
                    data: Cell::new(data),
                };
                result = run_callback(callback, &call);
                data_out = call.data.get();
            });
            result
        }
        Some(callback) => {
            let call = Call {
                site,
                parent,
                ops: ops_ref,
                args: None,
                phase,
                redirect,
                data: Cell::new(data),
            };
            let result = run_callback(callback, &call);
            data_out = call.data.get();
            result
        }
        None => Ok(()),
    };
    if guard_recursion {
        thread.ftrace.end_running();
    }
    match result {
        Ok(()) => Outcome::Ran(data_out),
        Err(payload) => {
            failed(thread, entry, site, payload.as_ref());
            Outcome::Panicked
        }
    }
}

/// The guard of a hooked `async fn`: carries the exits it owes, since the future may finish elsewhere.
#[doc(hidden)]
#[must_use]
pub struct AsyncGuard {
    site: Option<&'static Site>,
    owed: Vec<Owed>,
}

impl AsyncGuard {
    /// The guard of a future that is not hooked.
    #[inline(always)]
    pub const fn off() -> Self {
        Self {
            site: None,
            owed: Vec::new(),
        }
    }
}

impl Drop for AsyncGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(site) = self.site {
            let owed = std::mem::take(&mut self.owed);
            if !owed.is_empty() {
                let thread = thread::current();
                run_exits(thread, site, thread.ftrace.current.get(), |key| {
                    owed.iter().find(|o| o.is(key)).map(|o| o.data)
                });
                settle_panics(thread);
            }
        }
    }
}

/// Entry of a hooked `async fn`, at its first poll. [`Instrumented`] pushes the site on the shadow
/// stack around each poll.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn enter_async(site: &'static Site, args: CaptureArgs<'_>) -> AsyncGuard {
    site.first_call();
    let mut owed = Vec::new();
    let thread = thread::current();
    run_entries(thread, site, thread.ftrace.current.get(), args, |o| {
        owed.push(o)
    });
    AsyncGuard {
        site: Some(site),
        owed,
    }
}

/// Wraps the body of a traced `async fn`: pushes the site on the shadow stack around each poll (so the
/// function is the parent of what it calls, on whichever thread polls it) and runs the exit callbacks
/// when the body completes, or when the future is dropped before that.
#[doc(hidden)]
pub struct Instrumented<F> {
    // Declared first so it drops first: the body's destructors run before the exit callbacks.
    inner: F,
    guard: AsyncGuard,
}

/// Builds the wrapper; `R` names the output so `?` in the body infers its error type.
#[doc(hidden)]
#[inline]
pub fn instrument<R, F: Future<Output = R>>(guard: AsyncGuard, inner: F) -> Instrumented<F> {
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
        let Some(site) = this.guard.site else {
            return inner.poll(cx);
        };
        let current = &thread::current().ftrace.current;
        let node = Node {
            site,
            prev: current.get(),
        };
        // Declared after `node`, so it unlinks before the node goes away (also when unwinding).
        let relink = Relink(node.prev);
        current.set(std::ptr::from_ref(&node));
        let poll = inner.poll(cx);
        drop(relink);
        if poll.is_ready() {
            this.guard = AsyncGuard::off();
        }
        poll
    }
}

/// Restores the thread's innermost hooked call when dropped (after a poll, also when unwinding).
struct Relink(*const Node);

impl Drop for Relink {
    fn drop(&mut self) {
        thread::current().ftrace.current.set(self.0);
    }
}
