//! The process-wide domain and each thread's handle on it.

use super::{Domain, Mode, Record};
use std::cell::Cell;

/// The domain shared by ftrace dispatch and event-handler lists.
static GLOBAL: Domain = Domain::new();

/// A thread's reader state: its record (taken on first use) and how deep it is nested in sections.
/// Has no destructor (see `crate::thread`); `tear_down` gives the record back at thread exit.
pub(crate) struct ThreadReader {
    record: Cell<Option<&'static Record>>,
    mode: Cell<Mode>,
    nesting: Cell<u32>,
    torn_down: Cell<bool>,
}

impl ThreadReader {
    pub(crate) const fn new() -> Self {
        Self {
            record: Cell::new(None),
            mode: Cell::new(Mode::Fence),
            nesting: Cell::new(0),
            torn_down: Cell::new(false),
        }
    }

    /// Enters a (possibly nested) read-side section.
    #[inline(always)]
    pub(crate) fn lock(&self) {
        let nesting = self.nesting.get();
        if nesting == 0 {
            match self.record.get() {
                Some(record) => GLOBAL.enter(record, self.mode.get()),
                None => self.first_enter(),
            }
        }
        self.nesting.set(nesting + 1);
    }

    /// Leaves a section entered with [`ThreadReader::lock`].
    #[inline(always)]
    pub(crate) fn unlock(&self) {
        let nesting = self.nesting.get() - 1;
        self.nesting.set(nesting);
        if nesting == 0 {
            match self.record.get() {
                Some(record) => GLOBAL.exit(record, self.mode.get()),
                None => GLOBAL.exit_orphan(),
            }
        }
    }

    /// A scope guard for a section, which also leaves it when unwinding.
    #[inline(always)]
    pub(crate) fn section(&self) -> Section<'_> {
        self.lock();
        Section(self)
    }

    pub(crate) fn in_section(&self) -> bool {
        self.nesting.get() != 0
    }

    /// Whether the thread is exiting and its state was released (sections are then orphan sections).
    #[inline]
    pub(crate) fn is_torn_down(&self) -> bool {
        self.torn_down.get()
    }

    /// First outermost section of the thread (take a record), or one after teardown (orphan).
    #[cold]
    #[inline(never)]
    fn first_enter(&self) {
        if self.torn_down.get() {
            GLOBAL.enter_orphan();
            return;
        }
        crate::thread::register_teardown();
        self.mode.set(GLOBAL.mode());
        let record = GLOBAL.acquire_record();
        self.record.set(Some(record));
        GLOBAL.enter(record, self.mode.get());
    }

    /// Gives the record back; later sections on this thread are orphan sections.
    pub(crate) fn tear_down(&self) {
        self.torn_down.set(true);
        if let Some(record) = self.record.take() {
            debug_assert_eq!(self.nesting.get(), 0, "thread torn down inside a section");
            GLOBAL.release_record(record);
        }
    }
}

/// An entered read-side section; leaves it on drop.
pub(crate) struct Section<'a>(&'a ThreadReader);

impl Drop for Section<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.unlock();
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
