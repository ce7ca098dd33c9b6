//! The process-wide domain and each thread's handle on it.

use super::{Domain, GraceToken, Mode, RUNNING_SLOTS, Record};
use std::cell::Cell;

/// The domain shared by ftrace dispatch and event-handler lists.
static GLOBAL: Domain = Domain::new();

/// Where `ThreadReader::fast` points while this thread's sections cannot take the fast path.
static CLOSED: Record = Record::closed();

/// A thread's reader state: its record (taken on first use) and how deep it is nested in sections.
/// Has no destructor (see `crate::thread`); `tear_down` gives the record back at thread exit.
pub(crate) struct ThreadReader {
    record: Cell<Option<&'static Record>>,
    /// The record, when sections on it need nothing but plain stores (membarrier mode); else
    /// [`CLOSED`] (no record yet, given back, or the fence protocol), whose odd number sends
    /// sections to their slow path.
    fast: Cell<*const Record>,
    /// Without a record (before the first section, or after teardown): odd inside an orphan section.
    /// With one, the record's own sequence number says it (this thread is its only writer).
    orphan_seq: Cell<u64>,
    mode: Cell<Mode>,
    torn_down: Cell<bool>,
    /// How many running marks are set (see [`ThreadReader::begin_running`]).
    running: Cell<usize>,
}

impl ThreadReader {
    pub(crate) const fn new() -> Self {
        Self {
            record: Cell::new(None),
            fast: Cell::new(&raw const CLOSED),
            orphan_seq: Cell::new(0),
            mode: Cell::new(Mode::Fence),
            torn_down: Cell::new(false),
            running: Cell::new(0),
        }
    }

    /// Enters a read-side section; pass the token to [`ThreadReader::unlock`]. Nested calls cost a
    /// load, a branch and a compare (a nested section and one without a fast record both read an
    /// odd number).
    #[inline(always)]
    pub(crate) fn lock(&self) -> Opened {
        let (record, seq) = self.fast_record();
        if seq & 1 == 0 {
            Domain::enter(record, seq + 1, Mode::Membarrier);
            Opened(seq + 1)
        } else if std::ptr::eq(record, &raw const CLOSED) {
            self.lock_slow()
        } else {
            Opened(0)
        }
    }

    /// The record sections take without a call and its current sequence number: this thread's own
    /// in membarrier mode, else [`CLOSED`] (odd).
    #[inline(always)]
    fn fast_record(&self) -> (&'static Record, u64) {
        // SAFETY: `fast` is a record this thread owns until `tear_down` gives it back, or `CLOSED`.
        let record: &'static Record = unsafe { &*self.fast.get() };
        // Relaxed: this thread is the number's only writer (nobody writes `CLOSED`'s).
        (
            record,
            record.seq.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Leaves the section `lock` entered, if it opened the outermost one.
    #[inline(always)]
    pub(crate) fn unlock(&self, opened: Opened) {
        if opened.0 != 0 {
            let record = self.fast.get();
            if std::ptr::eq(record, &raw const CLOSED) {
                self.unlock_slow(opened.0 + 1);
            } else {
                // SAFETY: as in `fast_record`; `fast` does not change inside a section.
                Domain::exit(unsafe { &*record }, opened.0 + 1, Mode::Membarrier);
            }
        }
    }

    /// Enters a section without a fast record: the thread's first one (take a record), one on the
    /// fence protocol, or one after teardown (orphan).
    #[cold]
    #[inline(never)]
    fn lock_slow(&self) -> Opened {
        match self.record.get() {
            Some(record) => {
                let seq = record.seq.load(std::sync::atomic::Ordering::Relaxed);
                if seq & 1 == 1 {
                    return Opened(0);
                }
                Domain::enter(record, seq + 1, self.mode.get());
                Opened(seq + 1)
            }
            None if self.orphan_seq.get() & 1 == 1 => Opened(0),
            None => self.first_enter(),
        }
    }

    #[cold]
    #[inline(never)]
    fn unlock_slow(&self, seq: u64) {
        match self.record.get() {
            Some(record) => Domain::exit(record, seq, self.mode.get()),
            None => {
                self.orphan_seq.set(seq);
                GLOBAL.exit_orphan();
            }
        }
    }

    /// A scope guard for a section, which also leaves it when unwinding.
    #[inline(always)]
    pub(crate) fn section(&self) -> Section<'_> {
        let opened = self.lock();
        Section {
            reader: self,
            opened,
        }
    }

    pub(crate) fn in_section(&self) -> bool {
        let seq = match self.record.get() {
            // Relaxed: this thread is the number's only writer.
            Some(record) => record.seq.load(std::sync::atomic::Ordering::Relaxed),
            None => self.orphan_seq.get(),
        };
        seq & 1 == 1
    }

    /// Reserves this thread's next running slot for a loop of runs (an invoke); must be inside a
    /// section. `outermost`: that section is the thread's outermost one (its `lock` opened it), so no
    /// loop of runs is under way on this thread and the depth is 0 without reading it (a load that
    /// would wait for the previous invoke's store). Returns the depth to give back and the slot, or
    /// `None` when no slot can record the runs (nesting deeper than the record's slots, or an orphan
    /// thread): the caller then counts each run in its shared fallback counter. Either way, pair it
    /// with [`ThreadReader::release_running`].
    #[inline(always)]
    pub(crate) fn reserve_running(&self, outermost: bool) -> (usize, Option<RunningSlot>) {
        let depth = if outermost { 0 } else { self.running.get() };
        self.running.set(depth + 1);
        let slot = self.record.get().and_then(|record| {
            (depth < RUNNING_SLOTS).then(|| RunningSlot {
                slot: &record.running[depth],
                mode: self.mode.get(),
            })
        });
        (depth, slot)
    }

    /// Clears and gives back the slot of [`ThreadReader::reserve_running`], which returned `depth`.
    #[inline(always)]
    pub(crate) fn release_running(&self, depth: usize, slot: Option<&RunningSlot>) {
        self.running.set(depth);
        if let Some(slot) = slot {
            // Release pairs with the Acquire loads in `wait_not_running`.
            slot.slot.store(0, std::sync::atomic::Ordering::Release);
        }
    }

    /// Enters an outermost read-side section with plain stores and no call, if the thread has a
    /// membarrier record and is in no section; `None` otherwise (use [`ThreadReader::lock`]). Leave
    /// it with [`FastSection::close`].
    #[inline(always)]
    pub(crate) fn try_open_fast(&self) -> Option<FastSection> {
        // One test for both refusals: `CLOSED`'s number is odd.
        let (record, seq) = self.fast_record();
        if seq & 1 == 1 {
            return None;
        }
        // Kept in the register it was loaded into: the close then stores it incremented again,
        // rather than the compiler keeping the loaded number as well, for a `+ 2` from it.
        let seq = in_place(seq + 1);
        Domain::enter(record, seq, Mode::Membarrier);
        Some(FastSection { record, seq })
    }

    /// Leaves the section [`ThreadReader::try_open_fast`] opened, finding its record again (across a
    /// callback, a load costs less than a saved register).
    #[inline(always)]
    pub(crate) fn close_fast(&self, _section: FastSection) {
        // SAFETY: `try_open_fast` found the record here, and it does not change inside a section.
        let record = unsafe { &*self.fast.get() };
        FastSection { record, seq: 0 }.close();
    }

    /// Opens the common invoke's whole read-side state without a call, if the thread has a
    /// membarrier record and is in no section: an outermost section ([`ThreadReader::try_open_fast`]),
    /// with the record's first running slot reserved (no loop of runs can be under way outside a
    /// section, so the depth is 0 without reading it). `None`: use [`ThreadReader::section`] and
    /// [`ThreadReader::reserve_running`].
    #[inline(always)]
    pub(crate) fn try_fast_run(&self) -> Option<FastRun<'_>> {
        let section = self.try_open_fast()?;
        self.running.set(1);
        Some(FastRun {
            reader: self,
            section,
        })
    }

    /// The keys this thread is running, innermost last (only those that got a slot).
    pub(crate) fn running_keys(&self) -> Vec<usize> {
        let depth = self.running.get().min(RUNNING_SLOTS);
        match self.record.get() {
            Some(record) => (0..depth)
                .map(|i| record.running[i].load(std::sync::atomic::Ordering::Relaxed))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether the thread is exiting and its state was released (sections are then orphan sections).
    #[inline]
    pub(crate) fn is_torn_down(&self) -> bool {
        self.torn_down.get()
    }

    /// First outermost section of the thread (take a record), or one after teardown (orphan).
    fn first_enter(&self) -> Opened {
        if self.torn_down.get() {
            GLOBAL.enter_orphan();
            let seq = self.orphan_seq.get() + 1;
            self.orphan_seq.set(seq);
            return Opened(seq);
        }
        crate::thread::register_teardown();
        self.mode.set(GLOBAL.mode());
        let record = GLOBAL.acquire_record();
        self.record.set(Some(record));
        // A reused record continues from its last (even) number, so a writer that saw it odd before
        // sees a change.
        let seq = record.seq.load(std::sync::atomic::Ordering::Relaxed) + 1;
        if self.mode.get() == Mode::Membarrier {
            self.fast.set(record);
        }
        Domain::enter(record, seq, self.mode.get());
        Opened(seq)
    }

    /// Gives the record back; later sections on this thread are orphan sections.
    pub(crate) fn tear_down(&self) {
        debug_assert!(!self.in_section(), "thread torn down inside a section");
        self.torn_down.set(true);
        self.fast.set(&raw const CLOSED);
        if let Some(record) = self.record.take() {
            GLOBAL.release_record(record);
        }
    }
}

/// `value`, as a value the compiler cannot trace back to how it was computed (no instruction).
#[inline(always)]
fn in_place(mut value: u64) -> u64 {
    #[cfg(not(loom))]
    // SAFETY: an empty template: reads and writes nothing but the register it is given.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) value, options(pure, nomem, nostack, preserves_flags));
    }
    value
}

/// A reserved running slot of this thread's record.
pub(crate) struct RunningSlot {
    slot: &'static std::sync::atomic::AtomicUsize,
    mode: Mode,
}

impl RunningSlot {
    /// Marks `key` as running, replacing (and so releasing) the previous key.
    #[inline(always)]
    pub(crate) fn set(&self, key: usize) {
        Domain::mark_running(self.slot, key, self.mode);
    }
}

/// An outermost section opened by [`ThreadReader::try_open_fast`].
#[derive(Clone, Copy)]
pub(crate) struct FastSection {
    record: &'static Record,
    /// The (odd) number it was opened with.
    seq: u64,
}

impl FastSection {
    /// Leaves the section with the record and number it kept: where nothing is called inside the
    /// section (a callback inlined into it), keeping them costs no register.
    #[inline(always)]
    pub(crate) fn close_kept(self) {
        Domain::exit(self.record, self.seq + 1, Mode::Membarrier);
    }

    /// Leaves the section. The (odd) number is read back rather than kept: across a callback, one
    /// more load costs less than one more saved register.
    #[inline(always)]
    pub(crate) fn close(self) {
        // Relaxed: this thread is the number's only writer.
        let seq = self.record.seq.load(std::sync::atomic::Ordering::Relaxed);
        Domain::exit(self.record, seq + 1, Mode::Membarrier);
    }
}

/// What [`ThreadReader::try_fast_run`] opened: an outermost membarrier section and the record's
/// first running slot. Clears the slot and leaves the section on drop (unwinding too).
pub(crate) struct FastRun<'a> {
    reader: &'a ThreadReader,
    section: FastSection,
}

impl FastRun<'_> {
    /// Marks `key` as running, replacing (and so releasing) the previous key.
    #[inline(always)]
    pub(crate) fn set(&self, key: usize) {
        Domain::mark_running(&self.section.record.running[0], key, Mode::Membarrier);
    }
}

impl Drop for FastRun<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Release pairs with the Acquire loads in `wait_not_running`.
        self.section.record.running[0].store(0, std::sync::atomic::Ordering::Release);
        self.reader.running.set(0);
        self.section.close();
    }
}

/// An entered read-side section; leaves it on drop.
pub(crate) struct Section<'a> {
    reader: &'a ThreadReader,
    opened: Opened,
}

impl Section<'_> {
    /// Whether this section is the thread's outermost one (not nested in another section).
    #[inline(always)]
    pub(crate) fn is_outermost(&self) -> bool {
        self.opened.0 != 0
    }
}

/// What entering a section did: 0 when it was nested in an open one, else the (odd) sequence number it
/// entered with, which leaving it advances.
#[derive(Clone, Copy)]
pub(crate) struct Opened(u64);

impl Drop for Section<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.reader.unlock(self.opened);
    }
}

/// Whether the calling thread is inside a read-side section (so waiting for a grace period would wait
/// for itself).
pub(crate) fn in_read_section() -> bool {
    crate::thread::with(|thread| thread.reader.in_section())
}

/// Waits for a grace period of the process-wide domain.
pub(crate) fn synchronize() {
    debug_assert!(
        !in_read_section(),
        "synchronize() inside a read-side section"
    );
    GLOBAL.synchronize();
}

/// Waits until no thread runs `key` (see [`Domain::wait_not_running`]).
pub(crate) fn wait_not_running(key: usize, overflow: &std::sync::atomic::AtomicUsize) {
    GLOBAL.wait_not_running(key, overflow);
}

/// Starts a grace period without waiting (see [`Domain::start_grace`]).
pub(crate) fn start_grace() -> GraceToken {
    GLOBAL.start_grace()
}

/// Whether the grace period of `token` has ended; never blocks.
pub(crate) fn grace_elapsed(token: &mut GraceToken) -> bool {
    GLOBAL.grace_elapsed(token)
}

/// One barrier before freeing what elapsed grace periods released.
pub(crate) fn reclaim_barrier() {
    GLOBAL.reclaim_barrier();
}
