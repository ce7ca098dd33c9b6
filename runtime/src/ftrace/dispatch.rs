//! The hooked-call path: from a site's dispatch pointer to the attached callbacks and back.
//!
//! A traced function's hook path tail-calls [`hooked`], which calls the entry function the site
//! publishes (`Site::enter`) with a node in its own frame. That takes the common case (one ops
//! wanting only its entry callback, whose [`Direct`], part of the ops itself, the site publishes
//! next to its snapshot as `Site::direct`; a thread with a membarrier record, outside any
//! read-side section) and returns the thread's previous innermost hooked call, or an odd address
//! so the body closure calls the cold [`enter_slow`] with a [`Guard`] pinned in the frame of
//! [`refused`], the argument views and the site's redirect type. The entry function is made for the callback's own type ([`enter_with`],
//! instantiated by [`Ops::new`]), so the callback is inlined into it: for a small callback the
//! whole common case is one leaf function that saves no register (the kernel's per-ops trampoline,
//! which calls its ops' function directly). Code is never freed, so the function may be loaded
//! outside any section; inside its section one compare checks that the site's direct path is still
//! the one it was made for (and has an enabled ops). Every refusal on the way costs no test of its
//! own: a thread without a usable record points at a static record whose number is odd (as if
//! nested), a site without a direct path at [`NO_DIRECT`], whose ops word is 0, and a panicking
//! callback makes the entry function refuse the call, so `enter_slow` takes it and removes the ops
//! once out of the section. Both paths link a node (the entry function's, or the guard's) into the
//! thread's chain of hooked calls (the shadow stack: `Call::parent` is the previous link) and run
//! the entry callbacks inside a read-side section. Exit callbacks owed to the ops whose entry
//! callbacks ran are kept on a thread-local stack. A call the common path took ends in `hooked`,
//! which restores the previous link from a register (a drop guard holding it does, on unwinding);
//! otherwise dropping the guard unlinks the node, with one thread-local store when nothing is
//! owed, or runs the owed exit callbacks in a second section. The read side never spans the traced
//! body, so a long-running call cannot hold up `unregister`. The generated code's in-place form
//! (see the macro) pins the guard in the traced function's own frame and calls [`enter`], then
//! [`enter_slow`] if it refused.
//!
//! `async fn`s use [`enter_async`] and an [`AsyncGuard`] that carries its owed exits with it (the future
//! may finish on another thread); [`Instrumented`] links a node around each poll.

use super::call::{Call, CaptureArgs, Extra, Phase, no_args};
use super::registry::{self, OpsInner};
use super::thread::{Node, Owed};
use super::{Flags, Ops};
use crate::site::Site;
use crate::thread::{self, ThreadState};
use std::any::TypeId;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// The immutable set of ops attached to one site, published through `Site::dispatch`.
pub(crate) struct Snapshot {
    pub(crate) entries: Box<[SnapEntry]>,
}

/// What the direct path needs, kept in the ops itself ([`OpsInner::direct`]), so that a site's
/// direct path is one hop from the site and its enabled check one load more: no snapshot in between.
pub(crate) struct Direct {
    /// 0 once disabled (a callback panicked, or the last handle was dropped inside a callback): the
    /// ops is skipped at once and removed by the next writer. Else the address of the ops' typed
    /// entry function (1 without one), so the typed direct path tests "enabled, and made for my
    /// callback type" with one compare (see [`enter_with`]). [`NO_DIRECT`]'s is 0.
    live: AtomicUsize,
    /// The ops' entry callback (owned by the ops; null without one, and in [`NO_DIRECT`]).
    callback: *const CallbackFn,
    /// A handle on the ops this is part of, as `Call::ops` shows it: a bitwise copy of the ops' first
    /// `Arc`, which counts nothing and is never dropped (written by [`Direct::attach`]; uninit in
    /// [`NO_DIRECT`], which is never read past `live`).
    handle: MaybeUninit<Arc<OpsInner>>,
}

/// The direct path of a site that has none (no ops, or several, or one that wants more than its
/// entry callback): its `live` word is 0, which turns every entry function away without a test
/// of its own, and nothing else of it is ever read.
pub(crate) static NO_DIRECT: Direct = Direct {
    live: AtomicUsize::new(0),
    callback: std::ptr::null::<fn(&Call<'_>)>() as *const CallbackFn,
    handle: MaybeUninit::uninit(),
};

// SAFETY: `callback` points to the `Send + Sync` callback its ops owns, and is never written; the
// handle is an `Arc` of a `Send + Sync` ops. `NO_DIRECT` points to nothing.
unsafe impl Sync for Direct {}
// SAFETY: as above.
unsafe impl Send for Direct {}

impl Direct {
    /// The direct path of an ops whose entry function is `enter` and entry callback `callback`,
    /// before its handle is written ([`Direct::attach`]).
    pub(crate) fn new(enter: Option<EnterFn>, callback: Option<&CallbackFn>) -> Self {
        Self {
            live: AtomicUsize::new(Self::enabled(enter)),
            callback: callback.map_or(NO_DIRECT.callback, std::ptr::from_ref),
            handle: MaybeUninit::uninit(),
        }
    }

    /// The `live` word of an enabled ops whose entry function is `enter`.
    pub(crate) fn enabled(enter: Option<EnterFn>) -> usize {
        enter.map_or(1, |enter| enter as usize)
    }

    /// The `live` word (see the field).
    pub(crate) fn word(&self) -> &AtomicUsize {
        &self.live
    }

    /// Writes the handle of a new ops' direct path: `ops` is its first `Arc`, the only one.
    pub(crate) fn attach(ops: &mut Arc<OpsInner>) {
        // SAFETY: a bitwise copy of `ops`, kept in a `MaybeUninit`: it is never dropped, so it
        // never gives back a count it did not take, and it points to the ops that holds it, which
        // is alive whenever it is read.
        let handle = MaybeUninit::new(unsafe { std::ptr::read(ops) });
        let Some(inner) = Arc::get_mut(ops) else {
            unreachable!("a new ops has one handle")
        };
        inner.direct.handle = handle;
    }

    /// The ops' entry callback; not for [`NO_DIRECT`].
    #[inline(always)]
    fn callback(&self) -> &CallbackFn {
        // SAFETY: every `Direct` but `NO_DIRECT` is part of an ops that has an entry callback
        // (`Snapshot::direct` picks no other) and owns it: alive while the ops is, which a
        // snapshot that reaches this `Direct` keeps alive. `NO_DIRECT`'s `live` is 0, so nothing
        // reads its callback.
        unsafe { &*self.callback }
    }

    /// `live` ([`Direct::word`]); 0 for [`NO_DIRECT`].
    #[inline(always)]
    fn live(&self) -> usize {
        // Relaxed: a callback already running may finish; the writer that removes the ops waits
        // for it. The non-zero value never changes, so no other memory depends on it.
        self.live.load(Ordering::Relaxed)
    }

    /// The handle on its ops; not for [`NO_DIRECT`].
    #[inline(always)]
    fn handle(&self) -> &Arc<OpsInner> {
        // SAFETY: every `Direct` but `NO_DIRECT` is part of an ops made by `OpsInner::new`, which
        // attached it; `NO_DIRECT`'s `live` is 0, so nothing reads its handle.
        unsafe { self.handle.assume_init_ref() }
    }
}

impl Snapshot {
    /// The ops of its only entry, where that ops needs nothing but its entry callback called: the
    /// direct path (ftrace's trampoline calling one ops directly, where several need the list
    /// function).
    fn direct_ops(&self) -> Option<&OpsInner> {
        match &*self.entries {
            [only] if only.bits == 0 && only.ops.entry.is_some() => Some(&only.ops),
            _ => None,
        }
    }

    /// Its direct path ([`Snapshot::direct_ops`]'s [`Direct`]), or `None`.
    fn direct(&self) -> Option<&Direct> {
        self.direct_ops().map(|ops| &ops.direct)
    }

    /// Its direct path, as a site publishes it next to the snapshot ([`NO_DIRECT`]: none).
    pub(crate) fn direct_ptr(&self) -> *mut Direct {
        std::ptr::from_ref(self.direct().unwrap_or(&NO_DIRECT)).cast_mut()
    }

    /// The entry function a site publishes with this snapshot: its direct path's ops' own
    /// ([`enter_with`]) where it has one, else [`enter_dyn`].
    pub(crate) fn enter_fn(&self) -> EnterFn {
        self.direct_ops()
            .and_then(|ops| ops.enter)
            .unwrap_or(enter_dyn)
    }

    pub(crate) fn new(entries: Box<[SnapEntry]>) -> Self {
        Self { entries }
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

/// A sync call in progress, pinned in the traced function's frame: whether it is hooked and, once
/// [`enter`] or [`enter_slow`] hooked it, its link in the thread's chain and the exits it owes.
/// Dropping it (return or unwind) ends the call: unlinks the node and runs the owed exits.
#[doc(hidden)]
pub struct Guard {
    /// 0: not hooked (the other fields are uninitialised); else 1 + the number of exits owed (on the
    /// thread's owed stack). One field, so an unhooked call stores and tests one word.
    state: Cell<u32>,
    node: MaybeUninit<Node>,
    _pinned: PhantomPinned,
}

impl Guard {
    /// The guard of a call that is not (yet) hooked.
    #[inline(always)]
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: Cell::new(0),
            node: MaybeUninit::uninit(),
            _pinned: PhantomPinned,
        }
    }

    /// The node; only once `state` is non-zero.
    #[inline(always)]
    fn node(&self) -> &Node {
        debug_assert_ne!(self.state.get(), 0);
        // SAFETY: `enter` and `enter_slow` write the node before they make `state` non-zero.
        unsafe { self.node.assume_init_ref() }
    }

    /// The number of exits this call owes; only after `enter`.
    #[inline(always)]
    fn owed(&self) -> u32 {
        self.state.get() - 1
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
        // One compare on the common path: hooked, nothing owed. 0: nothing to do (not hooked, or a
        // runtime bug unwound out of `enter_slow` before it finished). `exit` takes the rest.
        match self.state.get() {
            1 => thread::current().ftrace.current.set(self.node().prev),
            0 => {}
            _ => exit(self),
        }
    }
}

/// The site of one traced function, as a type: the generated code declares one (zero-sized) next
/// to the site, so the hook path gets its site from the type, in no argument register, and reaching
/// it from the function stays a single `jmp`.
#[doc(hidden)]
pub trait SiteKey {
    /// The site.
    const SITE: &'static Site;
}

/// What the body closure of a traced function gets: on the hook path ([`hooked`]), where the
/// common entry did not take the call, the pinned guard of the call to pass to [`enter_slow`];
/// else (the common entry took it, or the call is not hooked) nothing.
#[doc(hidden)]
pub struct Hook<'g>(Option<Pin<&'g mut Guard>>);

impl<'g> Hook<'g> {
    /// The guard to pass to [`enter_slow`], on the hook path when the common entry did not take the
    /// call.
    #[inline(always)]
    #[must_use]
    pub fn guard(self) -> Option<Pin<&'g mut Guard>> {
        self.0
    }
}

/// Names the return type of a traced function's body closure (`R`, written by the generated code
/// from the signature) and makes the closure `FnOnce`, as a function body is: its `?`, its
/// coercions and its borrows returned from `&mut` arguments check as in the function itself.
#[doc(hidden)]
#[inline(always)]
pub fn body<R, F: for<'g> FnOnce(Hook<'g>) -> R>(body: F) -> F {
    body
}

/// Runs a traced function's body on its hook path: called from the function's hook point in tail
/// position, so the traced function itself makes no call and keeps the frame of the plain function
/// (none, for a leaf) when it is not hooked. Never inlined, for the same reason.
///
/// Enters the call through the site's entry function first. Where that took the call (the common
/// case), the body runs with nothing to do for the hook, and the call ends here: the thread's
/// innermost hooked call goes back to the one the entry function returned, which this frame kept in
/// a register. Restoring it from the guard's node instead would load what the entry function stored
/// there moments before, and chain every hooked call to the previous one through two
/// store-to-load round trips. The entry function is given only the node, not a guard: nothing of
/// this frame's state is in memory it could read, so the common path stores no state word at all
/// (a body that cannot unwind costs the restore only). The body's captures (the function's
/// arguments) wait in this frame next to the node, where the entry function's call cannot clobber
/// them, and a refused call goes on in [`refused`]: so the common path keeps nothing in a register
/// across a call and saves none (the plain function's arguments stored once and loaded once, where
/// callee-saved registers would cost a push, a pop and a move each way). Otherwise the body gets a
/// guard, for [`enter_slow`]. Either way a body that unwinds ends the call: `Unlink` or the guard
/// drops.
#[doc(hidden)]
#[inline(never)]
pub fn hooked<K: SiteKey, R, F: for<'g> FnOnce(Hook<'g>) -> R>(_key: K, body: F) -> R {
    // The node stays in this frame, in place, while the entry function has it linked (until
    // `_unlink` drops). The body is kept next to it, in memory across the entry function's call.
    let mut frame = Frame {
        node: MaybeUninit::uninit(),
        body: MaybeUninit::new(body),
    };
    let entered = enter_linked(&mut frame.node, K::SITE);
    if !is_taken(entered) {
        // SAFETY: written above and read once (here or below); the entry function writes only
        // the node. The address goes through `opaque`: the compiler cannot tell that this path
        // loads the captures too, so it does not load them ahead of the branch, and the common
        // path folds its load into the body's first use of them.
        return unsafe { refused(opaque(&mut frame.body)) };
    }
    // Ends the call when the body returns or unwinds. Its one word is `entered`, in a register.
    let _unlink = Unlink(entered);
    // SAFETY: as above.
    let body = unsafe { frame.body.assume_init_read() };
    body(Hook(None))
}

/// The rest of a [`hooked`] call the entry function refused: the body, with a guard pinned here for
/// [`enter_slow`]. A function of its own, so that `hooked` keeps nothing in a register across a call
/// (and saves none) on the common path. It moves the body out of `hooked`'s frame itself.
///
/// # Safety
/// `body` is initialised, and not read again.
#[inline(never)]
unsafe fn refused<R, F: for<'g> FnOnce(Hook<'g>) -> R>(body: &mut MaybeUninit<F>) -> R {
    // SAFETY: the caller's contract.
    let body = unsafe { body.assume_init_read() };
    let guard = std::pin::pin!(Guard::new());
    body(Hook(Some(guard)))
}

/// `pointer`, as one the compiler cannot trace back to where it points (no instruction; codegen
/// only: the pointee may be read and written through it as through `pointer`).
#[inline(always)]
fn opaque<T>(pointer: &mut T) -> &mut T {
    let mut address = std::ptr::from_mut(pointer);
    // SAFETY: an empty template: it neither reads nor writes the register it is given, nor any
    // memory, though the compiler must assume it may.
    unsafe { std::arch::asm!("/* {0} */", inout(reg) address, options(nostack, preserves_flags)) };
    // SAFETY: `address` is still `pointer`, with its provenance and its borrow.
    unsafe { &mut *address }
}

/// What [`hooked`] keeps in its frame across the entry function's call: the node, and the body.
struct Frame<F> {
    node: MaybeUninit<Node>,
    body: MaybeUninit<F>,
}

/// Ends a call the entry function took, in [`hooked`]: the thread's innermost hooked call goes back
/// to the one before it.
struct Unlink(Entered);

impl Drop for Unlink {
    #[inline(always)]
    fn drop(&mut self) {
        thread::current().ftrace.current.set(self.0.prev);
    }
}

/// Runs a traced function's body from a hook point that is not patched (see `hook_point!`): on its
/// hook path if the site has an ops, else unhooked. Reached by a tail call, like [`hooked`].
#[doc(hidden)]
#[inline(never)]
pub fn checked<K: SiteKey, R, F: for<'g> FnOnce(Hook<'g>) -> R>(key: K, body: F) -> R {
    if K::SITE.__is_hooked() {
        hooked(key, body)
    } else {
        unhooked(body)
    }
}

/// Runs a traced function's body unhooked: inlined, so the function is its own body.
#[doc(hidden)]
#[inline(always)]
pub fn unhooked<R, F: for<'g> FnOnce(Hook<'g>) -> R>(body: F) -> R {
    body(Hook(None))
}

/// The replacement an `IPMODIFY` callback chose for a call ([`enter_slow`] returns it).
#[doc(hidden)]
#[derive(Clone, Copy)]
#[must_use]
pub struct Redirect {
    /// The replacement's address, 0 for none.
    address: usize,
    /// The replacement's type, with a non-zero address.
    type_id: Option<fn() -> TypeId>,
}

impl Redirect {
    const NONE: Self = Self {
        address: 0,
        type_id: None,
    };

    /// The replacement, if one was chosen; `F` is the site's function-pointer type.
    #[inline(always)]
    #[must_use]
    pub fn get<F: Copy + 'static>(self) -> Option<F> {
        if self.address == 0 || size_of::<F>() != size_of::<usize>() {
            return None;
        }
        let address = self.checked(TypeId::of::<F>);
        // SAFETY: `checked` returns a non-zero address only when `F` is the type the address was
        // taken from, a function pointer.
        (address != 0).then(|| unsafe { std::mem::transmute_copy::<usize, F>(&address) })
    }

    /// The address when the replacement's type is `expected`, else 0. A function pointer of another
    /// type is never returned (the generated code always asks with the site's type, which
    /// `Call::redirect` checked; this keeps the API sound regardless).
    #[cold]
    #[inline(never)]
    fn checked(self, expected: fn() -> TypeId) -> usize {
        match self.type_id {
            Some(type_id) if type_id() == expected() => self.address,
            _ => 0,
        }
    }
}

/// Where an `IPMODIFY` callback of one call can put a replacement: the type the site's replacement must
/// have, and the choice.
pub(crate) struct RedirectPoint {
    pub(crate) expected: fn() -> TypeId,
    chosen: Cell<Redirect>,
}

impl RedirectPoint {
    /// Records `replacement`, a function pointer of the expected type (`Call::redirect` checked it).
    pub(crate) fn set<F: Copy + 'static>(&self, replacement: F) {
        debug_assert_eq!(size_of::<F>(), size_of::<usize>());
        // SAFETY: `F` is a function pointer type (checked by the caller), the size of `usize`.
        let address = unsafe { std::mem::transmute_copy::<F, usize>(&replacement) };
        self.chosen.set(Redirect {
            address,
            type_id: Some(TypeId::of::<F>),
        });
    }
}

/// An entry function a site publishes for its direct path ([`enter`] and [`hooked`] call it):
/// [`enter_dyn`], or the [`enter_with`] of the only ops' callback type. It writes the call's node
/// (in the caller's frame, which keeps it in place until the call ends) and, where it takes the
/// call, links it as the thread's innermost hooked call; the caller unlinks it. The last argument
/// is the function's own address as the caller loaded it from the site; the third is never read
/// (see [`Entered`]). Returns [`Entered`]. It touches nothing of the caller's but the node: a
/// caller's state stays where it was.
pub(crate) type EnterFn =
    fn(&mut MaybeUninit<Node>, &'static Site, MaybeUninit<usize>, usize) -> Entered;

/// What an entry function returns: where it took the call, the thread's previous innermost hooked
/// call (null when there is none), to restore when the call ends; else an odd address
/// ([`not_taken`]; [`is_taken`] tells them apart). A pair whose first word is left undefined, so
/// that `prev` comes back in the second return register (`rdx` on x86-64), not the first: the
/// first is where the caller's own result goes, which would otherwise have to move `prev` out of
/// its way. The entry function's third argument, a hole never read, keeps that register free of
/// arguments on the way in, so the entry function does not move one out of it either. Layout only:
/// any ABI returns the same values.
#[derive(Clone, Copy)]
pub(crate) struct Entered {
    _unused: MaybeUninit<usize>,
    prev: *const Node,
}

/// What an entry function returns when it did not take the call: an odd address, never a node's (nor
/// null). Made from the node's address, which is in a register on every refusal, so that the common
/// path returns the previous link loaded straight into the return register, with no constant kept
/// ready for the refusals.
#[inline(always)]
fn not_taken(node: &Node) -> Entered {
    Entered {
        _unused: MaybeUninit::uninit(),
        prev: std::ptr::from_ref(node).wrapping_byte_add(1),
    }
}

/// Whether an entry function took the call (see [`EnterFn`]).
#[inline(always)]
fn is_taken(entered: Entered) -> bool {
    entered.prev.addr() & 1 == 0
}

/// Entry of a hooked sync function, its common case: one ops that wants only its entry callback, on a
/// thread with a membarrier record. Links `guard`'s node as the thread's innermost hooked call and runs
/// that callback, calling nothing else; returns `false` in every other case (having run no callback,
/// or one that panicked and whose ops is disabled), for which the caller calls [`enter_slow`]. Calls
/// the entry function the site published (see [`enter_with`]), so a callback whose type is known at
/// that point is called directly, inlined. Used by the in-place form; [`hooked`] calls the entry
/// function itself.
#[doc(hidden)]
#[inline(always)]
#[must_use]
pub fn enter(guard: Pin<&mut Guard>, site: &'static Site) -> bool {
    // SAFETY: the guard is only written in place, never moved out of its pin.
    let guard = unsafe { guard.get_unchecked_mut() };
    let taken = is_taken(enter_linked(&mut guard.node, site));
    if taken {
        // The guard unlinks the node when it drops.
        guard.state.set(1);
    }
    taken
}

/// Calls the site's entry function on `node` (see [`EnterFn`]), returning what it did.
#[inline(always)]
fn enter_linked(node: &mut MaybeUninit<Node>, site: &'static Site) -> Entered {
    // Relaxed: the function is code, valid whatever it is; it checks inside its read-side section
    // that the site still publishes it (so it also finds the callback it was made for).
    let entry = site.enter.load(Ordering::Relaxed);
    // SAFETY: `Site::enter` only ever holds `EnterFn`s (`Site::__new` and `publish` store them).
    let entry = unsafe { std::mem::transmute::<*mut (), EnterFn>(entry) };
    entry(node, site, MaybeUninit::uninit(), entry as usize)
}

/// [`enter`] for an ops whose entry callback has the type `F`: the callback is called directly and
/// inlined here, with no `Call` built where it does not read one. Published as the site's entry
/// function while that ops is the site's direct path. A caller that loaded it just before the site
/// changed finds another direct path (or none) and returns `false`: [`enter_slow`] takes the call.
pub(crate) fn enter_with<F: Fn(&Call<'_>) + Send + Sync + 'static>(
    node: &mut MaybeUninit<Node>,
    site: &'static Site,
    _hole: MaybeUninit<usize>,
    me: usize,
) -> Entered {
    enter_direct::<true>(node, site, |direct, node| {
        // One compare: the site has a direct path (`NO_DIRECT`'s word is 0), its ops is enabled, and
        // its entry function is this one (the caller loaded this very value from the site, which
        // publishes the function of its direct path's ops).
        if direct.live() != me {
            return false;
        }
        // SAFETY: `enter_with::<F>` is an ops' entry function only when its entry callback is an
        // `F`, boxed (`Ops::new`): the box's data pointer, `direct.callback`, points to that `F`.
        let callback = unsafe { &*direct.callback.cast::<F>() };
        run_direct(direct, node, callback)
    })
}

/// [`enter`] for any direct path, through its `dyn` callback.
pub(crate) fn enter_dyn(
    node: &mut MaybeUninit<Node>,
    site: &'static Site,
    _hole: MaybeUninit<usize>,
    _me: usize,
) -> Entered {
    enter_direct::<false>(node, site, |direct, node| {
        // The site has a direct path (`NO_DIRECT`'s word is 0) and its ops is enabled.
        direct.live() != 0 && run_direct(direct, node, direct.callback())
    })
}

/// The body of [`enter_with`] and [`enter_dyn`]. `call` is given the site's direct path
/// ([`NO_DIRECT`]: none) inside the read-side section and runs its callback, or returns `false`:
/// without running anything, or after the callback panicked, so that [`enter_slow`] takes the call
/// (the ops is disabled by then, so its callback is not run again) and removes the ops once out of
/// the section. The common path then needs no test of its own for panics.
/// `KEEP`: the section is left with the record and number it was opened with (free where `call`
/// calls nothing), else they are loaded again (cheaper than saved registers across a call).
#[inline(always)]
fn enter_direct<const KEEP: bool>(
    node: &mut MaybeUninit<Node>,
    site: &'static Site,
    call: impl FnOnce(&Direct, &Node) -> bool,
) -> Entered {
    let thread = thread::current();
    let ftrace = &thread.ftrace;
    // Written first (`enter_slow` writes its own if we refuse the call): `site` is then dead, one
    // register fewer across the callback.
    let prev = ftrace.current.get();
    let node: &Node = node.write(Node { site, prev });
    let Some(section) = thread.reader.try_open_fast() else {
        return not_taken(node);
    };
    // Acquire pairs with the Release store that published it (with its snapshot).
    // SAFETY: a site's direct path is `NO_DIRECT` or points into a published snapshot, freed only
    // after a grace period that starts after it was unpublished; we are inside the read-side section
    // it was loaded in, which `call` does not outlive. The snapshot keeps its ops alive.
    let direct = unsafe { &*site.direct.load(Ordering::Acquire) };
    if !call(direct, node) {
        section.close();
        return not_taken(node);
    }
    if KEEP {
        section.close_kept();
    } else {
        thread.reader.close_fast(section);
    }
    // The caller keeps the node in place and unlinks it when the call ends (returning or
    // unwinding), so the chain never points to a dead node. No redirect: an `IPMODIFY` ops never
    // takes the direct path. A hooked call nested in the callback whose own callback panicked left
    // its ops' removal to the outermost call; that is this one, which leaves it to the thread's
    // next `enter_slow` or the next writer (the ops is disabled already, and no longer counts as
    // registered).
    ftrace.current.set(std::ptr::from_ref(node));
    Entered {
        _unused: MaybeUninit::uninit(),
        prev,
    }
}

/// Entry of a hooked sync function in general (where the entry function refused it): the site's first
/// call, a thread without a membarrier record, several ops or one that wants more than its entry
/// callback, or no ops left. Links `guard`'s node as the thread's innermost hooked call and runs the
/// entry callbacks. `redirect_type` is the site's function-pointer type, for a site that can be
/// redirected; the returned [`Redirect`] gives the replacement chosen, if any.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn enter_slow(
    guard: Pin<&mut Guard>,
    site: &'static Site,
    args: CaptureArgs<'_>,
    redirect_type: Option<fn() -> TypeId>,
) -> Redirect {
    site.first_call();
    let thread = thread::current();
    let ftrace = &thread.ftrace;
    // SAFETY: the guard is only written in place, never moved out of its pin.
    let guard = unsafe { guard.get_unchecked_mut() };
    let node: &Node = guard.node.write(Node {
        site,
        prev: ftrace.current.get(),
    });
    let opened = thread.reader.lock();
    // Acquire pairs with the Release store that published the snapshot. The call paths load the
    // pointer as it is: `first_call` (above, and in `enter_async`) has replaced a never-called site's
    // sentinel, writers never store it, and exits are owed only after an entry found a snapshot.
    let snapshot = site.dispatch.load(Ordering::Acquire);
    let mut owed = 0;
    let point = redirect_type.map(|expected| RedirectPoint {
        expected,
        chosen: Cell::new(Redirect::NONE),
    });
    if !snapshot.is_null() {
        // SAFETY: a snapshot is freed only after a grace period that starts after it was
        // unpublished; we are inside a read-side section that began before we loaded it.
        let snapshot = unsafe { &*snapshot };
        match snapshot.direct() {
            Some(direct) => call_direct(direct, node),
            None => {
                let stack = &ftrace.owed;
                let before = stack.len();
                enter_list(thread, snapshot, node, args, point.as_ref(), |o| {
                    stack.push(o)
                });
                owed = u32::try_from(stack.len() - before).unwrap_or(u32::MAX);
            }
        }
    }
    thread.reader.unlock(opened);
    guard.state.set(owed.saturating_add(1));
    ftrace.current.set(std::ptr::from_ref(node));
    settle_panics(thread);
    point.map_or(Redirect::NONE, |point| point.chosen.get())
}

/// The list path: every attached ops in turn; `owe` receives the exits owed.
#[cold]
#[inline(never)]
fn enter_list(
    thread: &ThreadState,
    snapshot: &Snapshot,
    node: &Node,
    args: CaptureArgs<'_>,
    redirect: Option<&RedirectPoint>,
    mut owe: impl FnMut(Owed),
) {
    for entry in &snapshot.entries {
        if let Outcome::Ran(data) = call_one(thread, entry, node, args, Phase::Entry, 0, redirect)
            && entry.bits & SnapEntry::EXIT != 0
        {
            owe(entry.owed(data));
        }
    }
}

/// Ends a call that owes exits (the guard's state is above 1).
#[cold]
#[inline(never)]
fn exit(guard: &Guard) {
    let thread = thread::current();
    let ftrace = &thread.ftrace;
    let node = guard.node();
    ftrace.current.set(node.prev);
    let end = ftrace.owed.len();
    let start = end - guard.owed() as usize;
    run_exits(thread, node, |key| {
        (start..end)
            .map(|i| ftrace.owed.get(i))
            .find(|owed| owed.is(key))
            .map(|owed| owed.data)
    });
    ftrace.owed.truncate(start);
    settle_panics(thread);
}

/// Runs the entry callbacks of the ops attached to `node`'s site (an async call: no redirect);
/// `owe` receives the exits owed.
fn run_entries(
    thread: &ThreadState,
    node: &Node,
    args: CaptureArgs<'_>,
    mut owe: impl FnMut(Owed),
) {
    let section = thread.reader.section();
    // Acquire pairs with the Release store that published the snapshot.
    let snapshot = node.site.dispatch.load(Ordering::Acquire);
    if !snapshot.is_null() {
        // SAFETY: as in `enter`.
        let snapshot = unsafe { &*snapshot };
        enter_list(thread, snapshot, node, args, None, &mut owe);
    }
    drop(section);
    settle_panics(thread);
}

/// Runs the exit callbacks of the ops attached to `node`'s site to which `owed` finds an exit owed (it
/// gives the entry callback's data word).
fn run_exits(thread: &ThreadState, node: &Node, owed: impl Fn((usize, u64)) -> Option<u64>) {
    let phase = if std::thread::panicking() {
        Phase::Unwind
    } else {
        Phase::Return
    };
    let section = thread.reader.section();
    let snapshot = node.site.dispatch.load(Ordering::Acquire);
    if !snapshot.is_null() {
        // SAFETY: as in `enter`.
        let snapshot = unsafe { &*snapshot };
        for entry in &snapshot.entries {
            if entry.bits & SnapEntry::EXIT != 0
                && let Some(data) = owed(entry.key())
            {
                call_one(thread, entry, node, &no_args, phase, data, None);
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

/// Records a panicking callback: disable its ops and remember to remove it after the section. Takes
/// the payload, so the hot path's landing pad is one call.
#[cold]
#[inline(never)]
fn failed(call: &Call<'_>, payload: Box<dyn std::any::Any + Send>) {
    registry::fail(call.ops.inner(), call.site(), payload.as_ref());
    thread::current().ftrace.panicked.set(true);
}

/// A callback, unboxed.
pub(crate) type CallbackFn = dyn Fn(&Call<'_>) + Send + Sync;

/// Calls one callback; a panic is caught and returned.
#[inline(always)]
fn run_callback(
    callback: &(impl Fn(&Call<'_>) + ?Sized),
    call: &Call<'_>,
) -> std::thread::Result<()> {
    catch_unwind(AssertUnwindSafe(|| callback(call)))
}

/// The direct path on the general path ([`enter_slow`]): one ops with only an entry callback, called
/// through its `dyn` callback unless the ops is disabled (a panic there is recorded by `run_direct`).
#[inline(always)]
fn call_direct(direct: &Direct, node: &Node) {
    if direct.live() != 0 {
        run_direct(direct, node, direct.callback());
    }
}

/// Runs the direct path's callback (`direct`'s own, typed or not) for an enabled ops. `false`: it
/// panicked (caught; its ops is disabled).
#[inline(always)]
fn run_direct(direct: &Direct, node: &Node, callback: &(impl Fn(&Call<'_>) + ?Sized)) -> bool {
    let call = Call {
        node,
        ops: Ops::from_inner_ref(direct.handle()),
        extra: None,
        data: Cell::new(0),
    };
    match run_callback(callback, &call) {
        Ok(()) => true,
        Err(payload) => {
            failed(&call, payload);
            false
        }
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
fn call_one(
    thread: &ThreadState,
    entry: &SnapEntry,
    node: &Node,
    args: CaptureArgs<'_>,
    phase: Phase,
    data: u64,
    redirect: Option<&RedirectPoint>,
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
    // Whether the callback returned (a panic is recorded by `failed`).
    let mut run = |args: Option<&[super::Arg<'_>]>| {
        let Some(callback) = callback else {
            return true;
        };
        let extra = Extra {
            args,
            redirect,
            phase,
        };
        let call = Call {
            node,
            ops: ops_ref,
            extra: Some(&extra),
            data: Cell::new(data),
        };
        let result = run_callback(callback, &call);
        data_out = call.data.get();
        result.map_err(|payload| failed(&call, payload)).is_ok()
    };
    let returned = if bits & SnapEntry::ARGS != 0 && callback.is_some() {
        let mut returned = true;
        args(&mut |views| returned = run(Some(views)));
        returned
    } else {
        run(None)
    };
    if guard_recursion {
        thread.ftrace.end_running();
    }
    if returned {
        Outcome::Ran(data_out)
    } else {
        Outcome::Panicked
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
                let node = Node {
                    site,
                    prev: thread.ftrace.current.get(),
                };
                run_exits(thread, &node, |key| {
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
    let node = Node {
        site,
        prev: thread.ftrace.current.get(),
    };
    run_entries(thread, &node, args, |o| owed.push(o));
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
