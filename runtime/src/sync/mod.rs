//! Grace periods: the RCU-like primitive that ftrace dispatch and event-handler lists stand on.
//!
//! Readers (a traced call running its callbacks, an event being invoked) enter a *read-side critical
//! section*, load a pointer to an immutable snapshot, use it, and leave. Writers publish a new snapshot
//! with one atomic store and then call [`Domain::synchronize`], which returns only when every reader that
//! could have seen the old snapshot has left its section. After that the old snapshot can be freed, and a
//! callback that was removed can no longer be running anywhere.
//!
//! # Design (liburcu "memb" flavour)
//!
//! Each thread owns a [`Record`] in a lock-free, grow-only list of the domain, holding the thread's
//! *section sequence number*: odd while the thread is inside its outermost section, even outside, and
//! incremented on every entry and exit. Both are plain (relaxed) stores of a thread-local counter to a
//! cache line that only this thread writes, plus a compiler fence: no fence instruction, no shared read
//! or write, which is what keeps a hooked call at a few nanoseconds and lets threads scale.
//!
//! The writer makes that sound with `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: after publishing,
//! it issues the barrier (now every reader either has its entering store visible to us, or will see
//! the new pointer), then, for every record it reads as odd, waits until the number changes: that
//! section has ended (a later one began after the barrier and sees the new pointer). Because the number
//! changes at every exit, a thread that enters sections back to back cannot starve the writer. A second
//! barrier orders the readers' last accesses before whatever the writer does next (free).
//!
//! Where membarrier is unavailable (old kernel, `TRACEHOOK_NO_MEMBARRIER=1`) readers use the
//! classic protocol instead: a `SeqCst` fence after the entering store and a `Release` store to leave,
//! and the writer uses `SeqCst` fences where it would call membarrier. The choice is made once per
//! domain, before the first reader record is handed out, and never changes.
//!
//! A thread whose thread-local state is already destroyed (code running from another thread-local's
//! destructor) has no record; it counts itself in the domain's shared `orphans` counter instead, with a
//! `SeqCst` increment and fence. That path is slow but correct and only taken during thread teardown.
//!
//! Readers never block and never allocate after their record exists. Writers are serialised by a mutex
//! and may sleep while they wait.

// The loom build compiles only this module and its model tests, which leave the event handlers'
// running marks and the deferred-reclamation helpers unused.
#![cfg_attr(loom, allow(dead_code))]

pub(crate) mod membarrier;
pub(crate) mod shim;

use shim::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Backoff, Mutex, fence};
use std::sync::atomic::{Ordering, compiler_fence};

/// How many nested "running" marks a thread keeps in its record; deeper nesting uses the caller's
/// shared fallback counter.
pub(crate) const RUNNING_SLOTS: usize = 8;

const MODE_UNDECIDED: u8 = 0;
const MODE_MEMBARRIER: u8 = 1;
const MODE_FENCE: u8 = 2;

/// How readers and writers of a domain order their accesses; fixed at the domain's first use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Readers use compiler fences only; writers call `membarrier(2)`.
    Membarrier,
    /// Readers use a `SeqCst` fence on entry and a `Release` store on exit; writers use `SeqCst` fences.
    Fence,
}

/// One thread's reader state, owned by that thread while `in_use`. Its owner writes it on every
/// section and every handler call, so no two records share a cache line (128: the pair of lines
/// x86 prefetches together, as crossbeam's `CachePadded`).
#[repr(align(128))]
pub(crate) struct Record {
    /// The owner's section sequence number: odd inside its outermost section.
    seq: AtomicU64,
    /// What the owner is running (event handlers, by address), innermost last; 0 when free. Written
    /// only by the owner, read by writers waiting for one handler ([`Domain::wait_not_running`]).
    running: [AtomicUsize; RUNNING_SLOTS],
    in_use: AtomicBool,
    /// Next record in the domain's list; written once before the record is published.
    next: AtomicPtr<Record>,
}

impl Record {
    /// The record a thread's fast path points to while sections cannot take it (no record yet,
    /// given back, or the fence protocol): owned by no thread and in no domain's list, its number
    /// odd forever, so the fast path's one parity test ("already inside a section") turns those
    /// sections away too, without a test of its own.
    #[cfg(not(loom))]
    pub(crate) const fn closed() -> Self {
        Self {
            seq: AtomicU64::new(1),
            running: [const { AtomicUsize::new(0) }; RUNNING_SLOTS],
            in_use: AtomicBool::new(false),
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

/// A grace-period domain: a set of reader records and the writers that wait on them.
pub(crate) struct Domain {
    records: AtomicPtr<Record>,
    orphans: AtomicUsize,
    writers: Mutex<()>,
    mode: std::sync::atomic::AtomicU8,
}

impl Domain {
    /// A domain with no readers yet.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            records: AtomicPtr::new(std::ptr::null_mut()),
            orphans: AtomicUsize::new(0),
            writers: Mutex::new(()),
            mode: std::sync::atomic::AtomicU8::new(MODE_UNDECIDED),
        }
    }

    /// A domain with no readers yet (loom's atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            records: AtomicPtr::new(std::ptr::null_mut()),
            orphans: AtomicUsize::new(0),
            writers: Mutex::new(()),
            mode: std::sync::atomic::AtomicU8::new(MODE_UNDECIDED),
        }
    }

    /// The ordering protocol of this domain, deciding it on first call.
    pub(crate) fn mode(&self) -> Mode {
        // Relaxed is enough: the value is decided under `writers` and only ever goes from UNDECIDED to
        // one final value; a reader that sees UNDECIDED takes the lock and reads it again.
        match self.mode.load(Ordering::Relaxed) {
            MODE_MEMBARRIER => Mode::Membarrier,
            MODE_FENCE => Mode::Fence,
            _ => self.decide_mode(),
        }
    }

    #[cold]
    fn decide_mode(&self) -> Mode {
        let _writers = self.writers.lock();
        let mode = match self.mode.load(Ordering::Relaxed) {
            MODE_MEMBARRIER => return Mode::Membarrier,
            MODE_FENCE => return Mode::Fence,
            _ if membarrier::register() => MODE_MEMBARRIER,
            _ => MODE_FENCE,
        };
        self.mode.store(mode, Ordering::Relaxed);
        if mode == MODE_MEMBARRIER {
            Mode::Membarrier
        } else {
            Mode::Fence
        }
    }

    /// Every record of the domain, newest first (records are never unlinked while it lives).
    fn records(&self) -> impl Iterator<Item = &Record> {
        let mut cursor = self.records.load(Ordering::Acquire);
        std::iter::from_fn(move || {
            // SAFETY: records are published with Release after being fully built and are freed only
            // when the domain is dropped, which cannot happen while `&self` is alive.
            let record = unsafe { cursor.as_ref() }?;
            cursor = record.next.load(Ordering::Acquire);
            Some(record)
        })
    }

    /// Takes a free record (one left by an exited thread) or adds a new one. The caller owns it until
    /// [`Domain::release_record`]. Lock-free; allocates only when every record is in use.
    pub(crate) fn acquire_record(&self) -> &Record {
        for record in self.records() {
            if !record.in_use.load(Ordering::Relaxed)
                && record
                    .in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return record;
            }
        }
        let record = Box::into_raw(Box::new(Record {
            seq: AtomicU64::new(0),
            running: std::array::from_fn(|_| AtomicUsize::new(0)),
            in_use: AtomicBool::new(true),
            next: AtomicPtr::new(std::ptr::null_mut()),
        }));
        let mut head = self.records.load(Ordering::Relaxed);
        loop {
            // SAFETY: `record` is ours alone until the compare_exchange below publishes it.
            unsafe { (*record).next.store(head, Ordering::Relaxed) };
            match self.records.compare_exchange_weak(
                head,
                record,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                // SAFETY: just published; lives as long as the domain (see above).
                Ok(_) => return unsafe { &*record },
                Err(actual) => head = actual,
            }
        }
    }

    /// Gives a record back for another thread to reuse. The record must be outside any section.
    pub(crate) fn release_record(&self, record: &Record) {
        debug_assert_eq!(record.seq.load(Ordering::Relaxed) % 2, 0);
        record.in_use.store(false, Ordering::Release);
    }

    /// Enters the outermost read-side section on `record`: `seq` is the owner's next (odd) number.
    /// Nesting is the caller's business.
    #[inline(always)]
    pub(crate) fn enter(record: &Record, seq: u64, mode: Mode) {
        debug_assert_eq!(seq % 2, 1);
        // Relaxed: the barrier below, or the writer's membarrier, orders this store before the loads
        // the section makes.
        record.seq.store(seq, Ordering::Relaxed);
        reader_barrier(mode);
    }

    /// Leaves the outermost read-side section on `record`: `seq` is the owner's next (even) number.
    #[inline(always)]
    pub(crate) fn exit(record: &Record, seq: u64, mode: Mode) {
        debug_assert_eq!(seq % 2, 0);
        match mode {
            Mode::Membarrier => {
                compiler_fence(Ordering::SeqCst);
                // Relaxed: the writer's second membarrier orders our section before its frees.
                record.seq.store(seq, Ordering::Relaxed);
            }
            // Release pairs with the writer's Acquire load of `seq`.
            Mode::Fence => record.seq.store(seq, Ordering::Release),
        }
    }

    /// Enters a read-side section without a record (thread-local state already destroyed).
    #[cold]
    pub(crate) fn enter_orphan(&self) {
        self.orphans.fetch_add(1, Ordering::SeqCst);
        // The RMW alone does not order the section's later loads against the writer's barrier (a
        // Dekker pattern needs a fence on both sides); loom finds the use-after-free without it.
        fence(Ordering::SeqCst);
    }

    /// Leaves a section entered with [`Domain::enter_orphan`].
    #[cold]
    pub(crate) fn exit_orphan(&self) {
        self.orphans.fetch_sub(1, Ordering::Release);
    }

    /// Waits until every read-side section that began before this call has ended.
    ///
    /// Must not be called from inside a read-side section of this domain (it would wait for itself);
    /// callers check that first and report an error.
    pub(crate) fn synchronize(&self) {
        let mode = self.mode();
        let _writers = self.writers.lock();
        self.full_barrier(mode);
        for record in self.records() {
            // Acquire pairs with the Release exit store of the fence protocol.
            let seen = record.seq.load(Ordering::Acquire);
            if seen % 2 == 1 {
                let mut backoff = Backoff::new();
                while record.seq.load(Ordering::Acquire) == seen {
                    backoff.wait();
                }
            }
        }
        let mut backoff = Backoff::new();
        while self.orphans.load(Ordering::Acquire) != 0 {
            backoff.wait();
        }
        self.full_barrier(mode);
    }

    /// Marks `key` as running in `slot` of the owner's record, ordered before the caller's next
    /// loads (the check that the thing is still wanted). Replacing an earlier key releases it:
    /// everything done while running that key happens before a waiter sees the change.
    #[inline(always)]
    pub(crate) fn mark_running(slot: &AtomicUsize, key: usize, mode: Mode) {
        // Release: see above (pairs with the Acquire loads in `wait_not_running`); then the same
        // barrier as `enter` orders the store before the caller's check.
        slot.store(key, Ordering::Release);
        reader_barrier(mode);
    }

    /// Waits until no thread has `key` in a running slot, and until `overflow` (the count of runs
    /// too deeply nested for a slot) is zero. The caller has already made sure no new run of `key`
    /// starts (it set a flag the runner checks after marking itself). Waits for nothing else.
    pub(crate) fn wait_not_running(&self, key: usize, overflow: &AtomicUsize) {
        let mode = self.mode();
        self.full_barrier(mode);
        for slot in self.records().flat_map(|record| &record.running) {
            let mut backoff = Backoff::new();
            while slot.load(Ordering::Acquire) == key {
                backoff.wait();
            }
        }
        let mut backoff = Backoff::new();
        while overflow.load(Ordering::Acquire) != 0 {
            backoff.wait();
        }
        fence(Ordering::SeqCst);
    }

    /// Starts a grace period without waiting for it: the token remembers which readers were inside a
    /// section. [`Domain::grace_elapsed`] tells, without blocking, when all of them have left.
    pub(crate) fn start_grace(&self) -> GraceToken {
        // No writers' lock: this is called from inside handlers, where waiting for a writer that
        // waits for this thread's section would deadlock. Scanning needs no exclusion.
        let mode = self.mode();
        self.full_barrier(mode);
        let inside = self
            .records()
            .filter_map(|record| {
                let seen = record.seq.load(Ordering::Acquire);
                (seen % 2 == 1).then_some((std::ptr::from_ref(record), seen))
            })
            .collect();
        GraceToken {
            inside,
            orphans: self.orphans.load(Ordering::Acquire) != 0,
        }
    }

    /// Whether the grace period `token` started has ended. Never blocks. Before freeing what was
    /// unpublished before the token started, call [`Domain::reclaim_barrier`] once.
    pub(crate) fn grace_elapsed(&self, token: &mut GraceToken) -> bool {
        token.inside.retain(|&(record, seen)| {
            // SAFETY: records live as long as the domain.
            unsafe { &*record }.seq.load(Ordering::Acquire) == seen
        });
        if token.orphans {
            token.orphans = self.orphans.load(Ordering::Acquire) != 0;
        }
        token.inside.is_empty() && !token.orphans
    }

    /// Orders the ended sections' last accesses before the caller's frees (one barrier for however
    /// many elapsed grace periods).
    pub(crate) fn reclaim_barrier(&self) {
        self.full_barrier(self.mode());
    }

    fn full_barrier(&self, mode: Mode) {
        if mode == Mode::Membarrier && membarrier::barrier() {
            return;
        }
        // A refused membarrier after a successful registration cannot happen on Linux; if it did, the
        // readers' compiler fences would not be enough, so fail loudly rather than free too early.
        assert!(mode == Mode::Fence, "membarrier failed after registration");
        fence(Ordering::SeqCst);
    }
}

/// Orders a reader's store before its next loads: the writer's membarrier acts as the full fence, so
/// readers only stop the compiler from moving the loads above the store; without membarrier, a real
/// `SeqCst` fence.
#[inline(always)]
fn reader_barrier(mode: Mode) {
    match mode {
        Mode::Membarrier => compiler_fence(Ordering::SeqCst),
        Mode::Fence => fence(Ordering::SeqCst),
    }
}

/// A grace period started by [`Domain::start_grace`]: the readers it still waits for.
pub(crate) struct GraceToken {
    inside: Vec<(*const Record, u64)>,
    orphans: bool,
}

// SAFETY: the record pointers are only read through (records live as long as the domain and are
// shared by design); the token may be checked on any thread.
unsafe impl Send for GraceToken {}

impl Default for Domain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        let mut cursor = self.records.load(Ordering::Acquire);
        while !cursor.is_null() {
            // SAFETY: `&mut self` means no reader holds a record any more; each was made by Box::new.
            let record = unsafe { Box::from_raw(cursor) };
            cursor = record.next.load(Ordering::Acquire);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(not(loom))]
mod thread_reader;
#[cfg(not(loom))]
pub(crate) use thread_reader::{
    FastRun, RunningSlot, ThreadReader, grace_elapsed, in_read_section, reclaim_barrier,
    start_grace, synchronize, wait_not_running,
};
