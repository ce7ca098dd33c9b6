//! The per-thread objects of the tracers (a ring buffer, a profile table): written by their thread
//! alone, found by readers in a global list, replaced by *retiring* them (the thread makes a new one
//! at its next use), and kept alive after their thread exits.

use crate::thread::{self, ThreadState};
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An object that can be retired.
pub(crate) trait Retire {
    fn retired(&self) -> &AtomicBool;
}

/// A thread's current object, in the runtime's destructor-free thread state.
pub(crate) struct ThreadSlot<T> {
    /// Holds one strong count (`Arc::into_raw`), or null.
    current: Cell<*const T>,
}

impl<T: Retire> ThreadSlot<T> {
    pub(crate) const fn new() -> Self {
        Self {
            current: Cell::new(std::ptr::null()),
        }
    }

    /// Drops the thread's count (the object stays readable through its list).
    pub(crate) fn tear_down(&self) {
        let current = self.current.replace(std::ptr::null());
        if !current.is_null() {
            // SAFETY: made by Arc::into_raw in `install`, and no longer reachable from the thread.
            drop(unsafe { Arc::from_raw(current) });
        }
    }

    /// The thread's live object, or a new one from `make`, registered in `list`; `None` once the
    /// thread's state is torn down (thread exit).
    #[inline(always)]
    pub(crate) fn get_or_install(
        &self,
        thread: &ThreadState,
        list: &Mutex<Vec<Arc<T>>>,
        make: impl FnOnce() -> T,
    ) -> Option<&T> {
        // SAFETY: a non-null pointer holds a strong count, released only by `tear_down`/`install`.
        let current = unsafe { self.current.get().as_ref() };
        current
            // Relaxed: a thread that sees the retirement an event late writes one more event
            // into an object readers no longer look at.
            .filter(|object| !object.retired().load(Ordering::Relaxed))
            .or_else(|| self.install(thread, list, make))
    }

    #[cold]
    #[inline(never)]
    fn install(
        &self,
        thread: &ThreadState,
        list: &Mutex<Vec<Arc<T>>>,
        make: impl FnOnce() -> T,
    ) -> Option<&T> {
        if thread.reader.is_torn_down() {
            return None;
        }
        thread::register_teardown();
        self.tear_down();
        let object = Arc::new(make());
        list.lock().push(Arc::clone(&object));
        let raw = Arc::into_raw(object);
        self.current.set(raw);
        // SAFETY: just made, and the slot holds the count.
        Some(unsafe { &*raw })
    }
}

/// Retires every object of `list` and forgets them: their threads start new ones at their next use.
pub(crate) fn retire_all<T: Retire>(list: &Mutex<Vec<Arc<T>>>) {
    let mut objects = list.lock();
    for object in objects.iter() {
        object.retired().store(true, Ordering::Relaxed);
    }
    objects.clear();
}
