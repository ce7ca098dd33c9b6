//! One event's handler list: entries sorted by (priority, registration order), published as an
//! immutable snapshot.

use super::statics::STATIC_HANDLERS;
use super::{Accepts, AcceptsWith, Error, Event, HandlerOutput};
use crate::sync::{self, GraceToken};
use crate::thread;
use parking_lot::Mutex;
use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// Calls an entry: `data` is the entry's handler (or null for static ones), `args` the invoke's
/// `E::Args`; returns whether the invoke stops.
pub(crate) type Thunk = unsafe fn(data: *const (), args: *const ()) -> bool;

/// One registered handler.
pub(crate) struct Entry {
    list: *const EventHandlerList,
    id: u64,
    priority: i32,
    order: u64,
    call: Thunk,
    /// The handler's boxed state; taken (and dropped) by a waiting deregister, else by `Drop`.
    data: AtomicPtr<()>,
    drop_data: Option<unsafe fn(*mut ())>,
    removed: AtomicBool,
    /// Runs nested too deeply for a slot in the thread's record (rare).
    overflow: AtomicUsize,
}

// SAFETY: `data` is a `Send + Sync` handler (enforced by the typed registration functions) or null;
// `list` points to a leaked, immortal list.
unsafe impl Send for Entry {}
// SAFETY: as above; all mutation is through atomics.
unsafe impl Sync for Entry {}

impl Entry {
    /// Drops the handler's state, once.
    fn drop_data(&self) {
        let data = self.data.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if let (false, Some(drop_data)) = (data.is_null(), self.drop_data) {
            // SAFETY: `data` was made by `Box::into_raw` of the type `drop_data` expects, and the swap
            // above hands it to exactly one caller.
            unsafe { drop_data(data) };
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.drop_data();
    }
}

struct Snapshot {
    entries: Box<[Published]>,
}

/// An entry as invokes see it: what they call copied next to the entry that owns it.
struct Published {
    call: Thunk,
    /// The entry's handler state (valid while the entry is not removed; see `Entry::data`).
    data: *const (),
    entry: Arc<Entry>,
}

// SAFETY: `data` is the entry's `Send + Sync` handler state (or null); the rest is `Send + Sync`.
unsafe impl Send for Published {}
// SAFETY: as above.
unsafe impl Sync for Published {}

struct State {
    entries: Vec<Arc<Entry>>,
    next_order: u64,
    /// Unpublished snapshots, each freed once the grace period started after it was unpublished
    /// has elapsed.
    garbage: Vec<(GraceToken, Box<Snapshot>)>,
}

/// The handler list of one event name (FreeBSD's `struct eventhandler_list`). Lists live for the
/// whole program.
pub struct EventHandlerList {
    name: &'static str,
    signature: TypeId,
    signature_text: &'static str,
    /// Null when there are no handlers: invokes return before entering a read-side section.
    snapshot: AtomicPtr<Snapshot>,
    state: Mutex<State>,
}

/// Identifies one registration (FreeBSD's `eventhandler_tag`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    list: *const EventHandlerList,
    id: u64,
}

// SAFETY: a tag is an identity (the list's address and a number); it is never dereferenced except to
// read the immortal list's name.
unsafe impl Send for Tag {}
// SAFETY: as above.
unsafe impl Sync for Tag {}

impl Tag {
    fn list_name(&self) -> &'static str {
        // SAFETY: lists are leaked and never freed; a tag is only made from a live list.
        unsafe { (*self.list).name }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({}#{})", self.list_name(), self.id)
    }
}

/// What an invoke did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Invoked {
    /// How many handlers were called.
    pub called: usize,
    /// Whether a handler stopped the invoke (`ControlFlow::Break`).
    pub stopped: bool,
}

static LISTS: Mutex<Vec<&'static EventHandlerList>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn find(name: &str) -> Option<&'static EventHandlerList> {
    LISTS.lock().iter().copied().find(|list| list.name == name)
}

/// The list `name`, created (with its static handlers) if it does not exist yet.
pub(crate) fn get_or_create(
    name: &'static str,
    signature: TypeId,
    signature_text: &'static str,
) -> Result<&'static EventHandlerList, Error> {
    let mut lists = LISTS.lock();
    if let Some(list) = lists.iter().copied().find(|list| list.name == name) {
        return list.check(signature, signature_text).map(|()| list);
    }
    let list: &'static EventHandlerList = Box::leak(Box::new(EventHandlerList {
        name,
        signature,
        signature_text,
        snapshot: AtomicPtr::new(std::ptr::null_mut()),
        state: Mutex::new(State {
            entries: Vec::new(),
            next_order: 0,
            garbage: Vec::new(),
        }),
    }));
    let mut statics: Vec<_> = STATIC_HANDLERS
        .iter()
        .filter(|handler| handler.name == name)
        .collect();
    statics.sort_by_key(|handler| (handler.file, handler.line));
    for handler in &statics {
        if (handler.signature)() != signature {
            return Err(Error::WrongType {
                list: name,
                expected: signature_text,
                found: handler.signature_text,
            });
        }
    }
    {
        let mut state = list.state.lock();
        for handler in statics {
            list.insert(
                &mut state,
                handler.priority,
                handler.call,
                std::ptr::null_mut(),
                None,
            );
        }
        list.publish(&mut state);
    }
    lists.push(list);
    Ok(list)
}

impl EventHandlerList {
    /// The event's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The handler signature, as declared.
    #[must_use]
    pub fn signature(&self) -> &'static str {
        self.signature_text
    }

    /// How many handlers are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// Whether no handler is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.snapshot.load(Ordering::Acquire).is_null()
    }

    fn check(&self, signature: TypeId, found: &'static str) -> Result<(), Error> {
        if signature == self.signature {
            Ok(())
        } else {
            Err(Error::WrongType {
                list: self.name,
                expected: self.signature_text,
                found,
            })
        }
    }

    /// This list with the handler type of event `E`.
    ///
    /// # Errors
    /// [`Error::WrongType`] when `E`'s signature is not the list's.
    pub fn typed<E: Event>(&'static self) -> Result<&'static TypedList<E>, Error> {
        self.check(E::signature_id(), E::SIGNATURE)?;
        // SAFETY: `TypedList<E>` is `repr(transparent)` over `EventHandlerList`.
        Ok(unsafe { &*std::ptr::from_ref(self).cast::<TypedList<E>>() })
    }

    fn insert(
        &self,
        state: &mut State,
        priority: i32,
        call: Thunk,
        data: *mut (),
        drop_data: Option<unsafe fn(*mut ())>,
    ) -> Tag {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let order = state.next_order;
        state.next_order += 1;
        let entry = Arc::new(Entry {
            list: std::ptr::from_ref(self),
            id,
            priority,
            order,
            call,
            data: AtomicPtr::new(data),
            drop_data,
            removed: AtomicBool::new(false),
            overflow: AtomicUsize::new(0),
        });
        let position = state
            .entries
            .partition_point(|e| (e.priority, e.order) <= (priority, order));
        state.entries.insert(position, entry);
        Tag {
            list: std::ptr::from_ref(self),
            id,
        }
    }

    /// Publishes the entries as a new snapshot; the old one waits for a grace period in `garbage`.
    fn publish(&self, state: &mut State) {
        let next = if state.entries.is_empty() {
            std::ptr::null_mut()
        } else {
            Box::into_raw(Box::new(Snapshot {
                entries: state
                    .entries
                    .iter()
                    .map(|entry| Published {
                        call: entry.call,
                        data: entry.data.load(Ordering::Relaxed),
                        entry: Arc::clone(entry),
                    })
                    .collect(),
            }))
        };
        // Release: an invoker that loads the pointer (Acquire) sees the snapshot's contents.
        let old = self.snapshot.swap(next, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: made by Box::into_raw above (in an earlier call), now unpublished.
            let old = unsafe { Box::from_raw(old) };
            state.garbage.push((sync::start_grace(), old));
        }
        Self::collect(state);
    }

    /// Frees the unpublished snapshots whose grace period has elapsed (never blocks).
    fn collect(state: &mut State) {
        let mut elapsed = Vec::new();
        for (mut token, snapshot) in std::mem::take(&mut state.garbage) {
            if sync::grace_elapsed(&mut token) {
                elapsed.push(snapshot);
            } else {
                state.garbage.push((token, snapshot));
            }
        }
        if !elapsed.is_empty() {
            sync::reclaim_barrier();
        }
    }

    pub(crate) fn register_raw(
        &self,
        priority: i32,
        call: Thunk,
        data: *mut (),
        drop_data: unsafe fn(*mut ()),
    ) -> Tag {
        let mut state = self.state.lock();
        let tag = self.insert(&mut state, priority, call, data, Some(drop_data));
        self.publish(&mut state);
        tag
    }

    fn check_tag(&self, tag: Tag) -> Result<(), Error> {
        if std::ptr::eq(tag.list, self) {
            Ok(())
        } else {
            Err(Error::ForeignTag {
                list: self.name,
                tag_list: tag.list_name(),
            })
        }
    }

    /// Takes the entries `which` selects out of the list and marks them removed.
    fn take_out(
        &self,
        which: impl Fn(&Entry) -> bool,
        tag: Option<Tag>,
    ) -> Result<Vec<Arc<Entry>>, Error> {
        let mut state = self.state.lock();
        let (taken, kept): (Vec<_>, Vec<_>) =
            state.entries.drain(..).partition(|entry| which(entry));
        state.entries = kept;
        if taken.is_empty() && tag.is_some() {
            return Err(Error::UnknownTag { list: self.name });
        }
        for entry in &taken {
            entry.removed.store(true, Ordering::SeqCst);
        }
        self.publish(&mut state);
        Ok(taken)
    }

    /// Whether this thread is running one of this list's handlers, or the entry of `tag`, now.
    fn running_here(&self, tag: Option<Tag>) -> bool {
        thread::current()
            .reader
            .running_keys()
            .into_iter()
            .any(|key| {
                // SAFETY: a key in this thread's running slots is an entry this thread is running:
                // its snapshot is held by the enclosing invoke's section, so the entry is alive.
                let entry = unsafe { &*(key as *const Entry) };
                std::ptr::eq(entry.list, self) || tag.is_some_and(|t| t.id == entry.id)
            })
    }

    /// Removes the handler and returns when it is running nowhere (FreeBSD's
    /// `eventhandler_deregister`); `None` removes every handler.
    ///
    /// # Errors
    /// [`Error::UnknownTag`], [`Error::ForeignTag`], or [`Error::InsideHandler`] when called from a
    /// handler of this list (use [`EventHandlerList::deregister_nowait`] there).
    pub fn deregister(&self, tag: Option<Tag>) -> Result<(), Error> {
        if let Some(tag) = tag {
            self.check_tag(tag)?;
        }
        if self.running_here(tag) {
            return Err(Error::InsideHandler { list: self.name });
        }
        let taken = self.take_out(|e| tag.is_none_or(|t| t.id == e.id), tag)?;
        for entry in taken {
            sync::wait_not_running(Arc::as_ptr(&entry) as usize, &entry.overflow);
            entry.drop_data();
        }
        Ok(())
    }

    /// Removes the handler without waiting (FreeBSD's `eventhandler_deregister_nowait`): later
    /// invokes do not call it; one running now finishes. Works from inside the list's handlers.
    ///
    /// # Errors
    /// [`Error::UnknownTag`], [`Error::ForeignTag`].
    pub fn deregister_nowait(&self, tag: Option<Tag>) -> Result<(), Error> {
        if let Some(tag) = tag {
            self.check_tag(tag)?;
        }
        self.take_out(|e| tag.is_none_or(|t| t.id == e.id), tag)
            .map(drop)
    }

    pub(crate) fn prune(&self) {
        let mut state = self.state.lock();
        if sync::in_read_section() {
            Self::collect(&mut state);
            return;
        }
        let garbage = std::mem::take(&mut state.garbage);
        drop(state);
        if !garbage.is_empty() {
            sync::synchronize();
        }
        drop(garbage);
    }

    /// Calls every live handler with `args` (an `E::Args` of this list's signature).
    ///
    /// # Safety
    /// `args` must point to a value of the `Args` type of this list's signature.
    #[inline]
    unsafe fn invoke_raw(&self, args: *const ()) -> Invoked {
        // Lock-free emptiness check before any section.
        if self.snapshot.load(Ordering::Relaxed).is_null() {
            return Invoked::default();
        }
        let thread = thread::current();
        let Some(run) = thread.reader.try_fast_run() else {
            // SAFETY: the caller's contract.
            return unsafe { self.invoke_slow(thread, args) };
        };
        // SAFETY: `run` holds a section open; the caller guarantees `args`.
        unsafe { self.call_entries(&run, args) }
    }

    /// [`EventHandlerList::invoke_raw`] for the rest: the thread's first section, nested invokes,
    /// the fence protocol, torn-down threads.
    ///
    /// # Safety
    /// As [`EventHandlerList::invoke_raw`].
    #[inline(never)]
    unsafe fn invoke_slow(&self, thread: &thread::ThreadState, args: *const ()) -> Invoked {
        let section = thread.reader.section();
        let running = Running::reserve(&thread.reader, section.is_outermost());
        // SAFETY: `section` is open; the caller guarantees `args`.
        unsafe { self.call_entries(&running, args) }
    }

    /// Calls every live handler of the published snapshot with `args`, marking each with `mark`
    /// first.
    ///
    /// # Safety
    /// The caller is inside a read-side section, and `args` points to a value of the `Args` type of
    /// this list's signature.
    #[inline(always)]
    unsafe fn call_entries(&self, mark: &impl Mark, args: *const ()) -> Invoked {
        // Acquire pairs with the Release in `publish`.
        let snapshot = self.snapshot.load(Ordering::Acquire);
        // SAFETY: unpublished snapshots are freed only after a grace period that started after they
        // were unpublished; the caller's section began before this load.
        let Some(snapshot) = (unsafe { snapshot.as_ref() }) else {
            return Invoked::default();
        };
        let entries = snapshot.entries.as_ptr_range();
        // Counted as the loop goes only where it is rare (skips); `called` is derived at the end, so
        // a handler's iteration keeps nothing but its position live across its call.
        let mut next = entries.start;
        let mut skipped = 0;
        let mut stopped = false;
        while next != entries.end {
            // SAFETY: `next` is inside the snapshot's entries, which the caller's section keeps
            // alive.
            let published = unsafe { &*next };
            // SAFETY: at most one past the end.
            next = unsafe { next.add(1) };
            let entry = &*published.entry;
            mark.set(entry);
            // After the mark (with its barrier): a deregister that set `removed` before this load
            // either sees our mark and waits, or we see `removed` here.
            if entry.removed.load(Ordering::Relaxed) {
                mark.unset(entry);
                skipped += 1;
                continue;
            }
            // SAFETY: `call` was made for this list's signature; `data` is alive (`removed` is not
            // set, and a waiting deregister sees our mark before it drops it); the caller
            // guarantees `args`.
            let stop = unsafe { (published.call)(published.data, args) };
            mark.unset(entry);
            if stop {
                stopped = true;
                break;
            }
        }
        // SAFETY: both in (or one past) the same slice.
        let visited = unsafe { next.offset_from_unsigned(entries.start) };
        Invoked {
            called: visited - skipped,
            stopped,
        }
    }
}

/// How an invoke marks the handler it is about to call as running: the fast path's slot
/// ([`sync::FastRun`]) or the general [`Running`].
trait Mark {
    /// Marks `entry` as running, ordered before the caller's next load (its `removed` check).
    fn set(&self, entry: &Entry);
    /// `entry` has returned (or was skipped).
    fn unset(&self, entry: &Entry);
}

impl Mark for sync::FastRun<'_> {
    #[inline(always)]
    fn set(&self, entry: &Entry) {
        sync::FastRun::set(self, std::ptr::from_ref(entry) as usize);
    }

    #[inline(always)]
    fn unset(&self, _: &Entry) {
        // The next `set` replaces the mark; the drop clears it.
    }
}

impl fmt::Debug for EventHandlerList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventHandlerList")
            .field("name", &self.name)
            .field("signature", &self.signature_text)
            .field("handlers", &self.len())
            .finish()
    }
}

impl<E: Event> fmt::Debug for TypedList<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.list, f)
    }
}

/// The running mark of one invoke: a slot of the thread's record holding the entry being called
/// (cleared on return and on unwind), or the entries' shared counters when no slot is free.
struct Running<'a> {
    reader: &'a sync::ThreadReader,
    /// The thread's running depth before this invoke (restored when it ends).
    depth: usize,
    slot: Option<sync::RunningSlot>,
    /// Without a slot: the entry whose shared counter is raised now (lowered on unwind too).
    counted: std::cell::Cell<*const Entry>,
}

impl<'a> Running<'a> {
    #[inline(always)]
    fn reserve(reader: &'a sync::ThreadReader, outermost: bool) -> Self {
        let (depth, slot) = reader.reserve_running(outermost);
        Self {
            reader,
            depth,
            slot,
            counted: std::cell::Cell::new(std::ptr::null()),
        }
    }
}

impl Mark for Running<'_> {
    #[inline(always)]
    fn set(&self, entry: &Entry) {
        match &self.slot {
            Some(slot) => slot.set(std::ptr::from_ref(entry) as usize),
            None => {
                entry.overflow.fetch_add(1, Ordering::SeqCst);
                self.counted.set(entry);
            }
        }
    }

    #[inline(always)]
    fn unset(&self, entry: &Entry) {
        if self.slot.is_none() {
            self.counted.set(std::ptr::null());
            entry.overflow.fetch_sub(1, Ordering::Release);
        }
    }
}

impl Drop for Running<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let counted = self.counted.get();
        if !counted.is_null() {
            // SAFETY: the entry is in the snapshot this invoke's section keeps alive.
            unsafe { &*counted }
                .overflow
                .fetch_sub(1, Ordering::Release);
        }
        self.reader.release_running(self.depth, self.slot.as_ref());
    }
}

/// Drops a handler's state made by `Box::into_raw(Box::new(value: T))`.
///
/// # Safety
/// `data` must come from exactly that, and not be used again.
unsafe fn drop_box<T>(data: *mut ()) {
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(data.cast::<T>()) });
}

/// An [`EventHandlerList`] with its handler type: the typed API the macros use.
#[repr(transparent)]
pub struct TypedList<E> {
    list: EventHandlerList,
    _event: PhantomData<fn(E)>,
}

impl<E: Event> TypedList<E> {
    /// The untyped list.
    #[must_use]
    pub fn list(&self) -> &EventHandlerList {
        &self.list
    }

    /// Registers a closure handler (FreeBSD's `eventhandler_register` with a closure owning its state).
    pub fn register<F>(&self, handler: F, priority: i32) -> Tag
    where
        E: Accepts<F>,
        F: Send + Sync + 'static,
    {
        unsafe fn call<E: Accepts<F>, F>(data: *const (), args: *const ()) -> bool {
            // SAFETY: `data` is the `Box<F>` made below; `args` an `E::Args` (invoke's contract).
            unsafe {
                let handler = &*data.cast::<F>();
                let args = &*args.cast::<E::Args<'_>>();
                E::call(handler, args).is_stop()
            }
        }
        let data = Box::into_raw(Box::new(handler)).cast::<()>();
        self.list
            .register_raw(priority, call::<E, F>, data, drop_box::<F>)
    }

    /// Registers `handler`, called as `handler(&arg, args..)`; the entry owns `arg`.
    pub fn register_with<A, F>(&self, handler: F, arg: A, priority: i32) -> Tag
    where
        E: AcceptsWith<A, F>,
        A: Send + Sync + 'static,
        F: Send + Sync + 'static,
    {
        unsafe fn call<E: AcceptsWith<A, F>, A, F>(data: *const (), args: *const ()) -> bool {
            // SAFETY: `data` is the `Box<(F, A)>` made below; `args` an `E::Args`.
            unsafe {
                let (handler, arg) = &*data.cast::<(F, A)>();
                let args = &*args.cast::<E::Args<'_>>();
                E::call_with(handler, arg, args).is_stop()
            }
        }
        let data = Box::into_raw(Box::new((handler, arg))).cast::<()>();
        self.list
            .register_raw(priority, call::<E, A, F>, data, drop_box::<(F, A)>)
    }

    /// Calls every live handler, in priority order, with `args`.
    #[inline]
    pub fn invoke(&self, args: E::Args<'_>) -> Invoked {
        // SAFETY: this list's signature is `E`'s (checked when the typed view was made).
        unsafe { self.list.invoke_raw(std::ptr::from_ref(&args).cast()) }
    }

    /// See [`EventHandlerList::deregister`].
    ///
    /// # Errors
    /// As [`EventHandlerList::deregister`].
    pub fn deregister(&self, tag: Option<Tag>) -> Result<(), Error> {
        self.list.deregister(tag)
    }

    /// See [`EventHandlerList::deregister_nowait`].
    ///
    /// # Errors
    /// As [`EventHandlerList::deregister_nowait`].
    pub fn deregister_nowait(&self, tag: Option<Tag>) -> Result<(), Error> {
        self.list.deregister_nowait(tag)
    }
}
