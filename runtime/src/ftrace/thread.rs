//! ftrace's per-thread state: the shadow stack of hooked calls (for `Call::parent`), the exit callbacks
//! owed to them, and the `RECURSION` guards. Inline fixed-size stacks that spill to the heap, so the
//! state has no destructor (see `crate::thread`).

use super::registry::OpsInner;
use crate::site::Site;
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;

/// A stack of `Copy` values: `N` inline, the rest in a heap vector. Single-threaded (thread-local):
/// no reference into it ever escapes a method, so callbacks that push and pop meanwhile are harmless.
pub(crate) struct SmallStack<T: Copy, const N: usize> {
    inline: UnsafeCell<[MaybeUninit<T>; N]>,
    len: Cell<usize>,
    overflow: Cell<*mut Vec<T>>,
}

impl<T: Copy, const N: usize> SmallStack<T, N> {
    pub(crate) const fn new() -> Self {
        Self {
            inline: UnsafeCell::new([const { MaybeUninit::uninit() }; N]),
            len: Cell::new(0),
            overflow: Cell::new(std::ptr::null_mut()),
        }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    #[inline(always)]
    pub(crate) fn push(&self, value: T) {
        let len = self.len.get();
        if len < N {
            // SAFETY: thread-local, no reference into `inline` is alive; `len < N` is in bounds.
            unsafe { (*self.inline.get())[len].write(value) };
        } else {
            self.spill().push(value);
        }
        self.len.set(len + 1);
    }

    /// Removes and returns the top value.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Option<T> {
        let len = self.len.get().checked_sub(1)?;
        let value = self.get(len);
        if len >= N {
            self.spill().pop();
        }
        self.len.set(len);
        Some(value)
    }

    /// The value at `index` (< `len()`).
    #[inline(always)]
    pub(crate) fn get(&self, index: usize) -> T {
        debug_assert!(index < self.len.get());
        if index < N {
            // SAFETY: indices below `len` were written by `push`; thread-local, no live reference.
            unsafe { (*self.inline.get())[index].assume_init() }
        } else {
            self.spill()[index - N]
        }
    }

    /// Drops the values above `len`.
    pub(crate) fn truncate(&self, len: usize) {
        if len < self.len.get() {
            if self.len.get() > N {
                self.spill().truncate(len.saturating_sub(N));
            }
            self.len.set(len);
        }
    }

    /// The heap part, allocated on first use.
    #[cold]
    #[allow(
        clippy::mut_from_ref,
        reason = "thread-local; the reference never outlives one method"
    )]
    fn spill(&self) -> &mut Vec<T> {
        let mut pointer = self.overflow.get();
        if pointer.is_null() {
            pointer = Box::into_raw(Box::new(Vec::new()));
            self.overflow.set(pointer);
        }
        // SAFETY: made by Box::into_raw above and freed only by `free`; thread-local and no other
        // reference to it is alive while a method runs.
        unsafe { &mut *pointer }
    }

    /// Frees the heap part (thread exit).
    pub(crate) fn free(&self) {
        let pointer = self.overflow.replace(std::ptr::null_mut());
        if !pointer.is_null() {
            // SAFETY: made by Box::into_raw in `spill`, and no longer reachable.
            drop(unsafe { Box::from_raw(pointer) });
        }
        self.len.set(self.len.get().min(N));
    }
}

/// One link of the thread's chain of hooked calls (its shadow stack): lives in the traced function's
/// frame (inside its pinned [`Guard`](super::dispatch::Guard)) or in an async poll's frame, and is
/// unlinked before that frame ends.
pub(crate) struct Node {
    pub(crate) site: &'static Site,
    pub(crate) prev: *const Node,
}

impl Node {
    /// The links of a thread's chain from `node` outwards (innermost first).
    ///
    /// # Safety
    /// `node` is null or a link of the calling thread's chain, and the frames (or polls) owning the
    /// links outlive `'a`: true within a callback or a call of this thread, for the chain it saw.
    pub(crate) unsafe fn chain<'a>(node: *const Node) -> impl Iterator<Item = &'a Node> {
        // SAFETY: the caller's contract, for `node` and, link by link, for each `prev`.
        let first = unsafe { node.as_ref() };
        // SAFETY: as above.
        std::iter::successors(first, |link| unsafe { link.prev.as_ref() })
    }
}

/// An exit callback owed to an ops whose entry callback ran: the ops' address and registration, and the
/// word its entry callback left for the exit callback ([`Call::set_data`](super::Call::set_data)).
#[derive(Clone, Copy)]
pub(crate) struct Owed {
    pub(crate) ops: usize,
    pub(crate) generation: u64,
    pub(crate) data: u64,
}

impl Owed {
    /// Whether this is the exit owed to the ops registration `key` (ops address, generation).
    #[inline]
    pub(crate) fn is(&self, key: (usize, u64)) -> bool {
        (self.ops, self.generation) == key
    }
}

pub(crate) struct FtraceThread {
    /// The innermost hooked call's node, or null.
    pub(crate) current: Cell<*const Node>,
    pub(crate) owed: SmallStack<Owed, 32>,
    running: SmallStack<*const OpsInner, 8>,
    /// Held by [`recursion_trylock`](super::recursion_trylock).
    user_lock: Cell<bool>,
    /// A callback panicked inside a section; its ops is removed once the thread is out of sections.
    pub(crate) panicked: Cell<bool>,
}

impl FtraceThread {
    pub(crate) const fn new() -> Self {
        Self {
            current: Cell::new(std::ptr::null()),
            owed: SmallStack::new(),
            running: SmallStack::new(),
            user_lock: Cell::new(false),
            panicked: Cell::new(false),
        }
    }

    /// The hooked functions this thread is inside, outermost first.
    pub(crate) fn stack(&self) -> Vec<&'static Site> {
        // SAFETY: the thread's own chain, read on the thread, within this call.
        let mut sites: Vec<&'static Site> = unsafe { Node::chain(self.current.get()) }
            .map(|link| link.site)
            .collect();
        sites.reverse();
        sites
    }

    /// Marks `ops` as running its callback on this thread; false if it already is (recursion).
    #[inline]
    pub(crate) fn begin_running(&self, ops: *const OpsInner) -> bool {
        if (0..self.running.len()).any(|i| self.running.get(i) == ops) {
            return false;
        }
        self.running.push(ops);
        true
    }

    /// Ends what [`FtraceThread::begin_running`] began (callbacks nest, so it is the top).
    #[inline]
    pub(crate) fn end_running(&self) {
        self.running.pop();
    }

    pub(crate) fn try_user_lock(&self) -> bool {
        !self.user_lock.replace(true)
    }

    pub(crate) fn user_unlock(&self) {
        self.user_lock.set(false);
    }

    pub(crate) fn tear_down(&self) {
        self.owed.free();
        self.running.free();
    }
}
