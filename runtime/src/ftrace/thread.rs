//! ftrace's per-thread state: the shadow stack of hooked calls (for `Call::parent`) and recursion guards.

use super::registry::OpsInner;
use crate::site::Site;
use std::cell::{Cell, UnsafeCell};

/// How many `RECURSION` callbacks can be running at once on one thread before further ones are skipped.
const MAX_RUNNING: usize = 16;

pub(crate) struct FtraceThread {
    /// The hooked functions this thread is inside, innermost last. Only touched by the methods below,
    /// which never run user code while they hold a reference into it.
    stack: UnsafeCell<Vec<&'static Site>>,
    running: UnsafeCell<[*const OpsInner; MAX_RUNNING]>,
    running_len: Cell<usize>,
    /// Held by [`recursion_trylock`](super::recursion_trylock).
    user_lock: Cell<bool>,
}

impl FtraceThread {
    pub(crate) const fn new() -> Self {
        Self {
            stack: UnsafeCell::new(Vec::new()),
            running: UnsafeCell::new([std::ptr::null(); MAX_RUNNING]),
            running_len: Cell::new(0),
            user_lock: Cell::new(false),
        }
    }

    #[inline]
    pub(crate) fn top(&self) -> Option<&'static Site> {
        // SAFETY: single-threaded (thread-local) and no other reference into the stack is alive.
        unsafe { (*self.stack.get()).last().copied() }
    }

    #[inline]
    pub(crate) fn push(&self, site: &'static Site) {
        // SAFETY: as in `top`.
        unsafe { (*self.stack.get()).push(site) }
    }

    #[inline]
    pub(crate) fn pop(&self) {
        // SAFETY: as in `top`.
        unsafe { (*self.stack.get()).pop() };
    }

    /// The traced functions this thread is inside, outermost first.
    pub(crate) fn stack(&self) -> Vec<&'static Site> {
        // SAFETY: as in `top`.
        unsafe { (*self.stack.get()).clone() }
    }

    /// Marks `ops` as running its callback on this thread; false if it already is (recursion) or too
    /// many are.
    #[inline]
    pub(crate) fn begin_running(&self, ops: *const OpsInner) -> bool {
        let len = self.running_len.get();
        // SAFETY: single-threaded, no other reference into `running` is alive.
        let running = unsafe { &mut *self.running.get() };
        if len == MAX_RUNNING || running[..len].contains(&ops) {
            return false;
        }
        running[len] = ops;
        self.running_len.set(len + 1);
        true
    }

    #[inline]
    pub(crate) fn end_running(&self, ops: *const OpsInner) {
        let len = self.running_len.get();
        // SAFETY: as in `begin_running`.
        let running = unsafe { &mut *self.running.get() };
        if let Some(i) = running[..len].iter().rposition(|&p| p == ops) {
            running.copy_within(i + 1..len, i);
            self.running_len.set(len - 1);
        }
    }

    pub(crate) fn try_user_lock(&self) -> bool {
        !self.user_lock.replace(true)
    }

    pub(crate) fn user_unlock(&self) {
        self.user_lock.set(false);
    }
}
