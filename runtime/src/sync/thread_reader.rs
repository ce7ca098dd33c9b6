//! The process-wide domain and each thread's handle on it.

use super::{Domain, Mode, Record};
use std::cell::Cell;

static GLOBAL: Domain = Domain::new();

/// The domain shared by ftrace dispatch and event-handler lists.
pub(crate) fn domain() -> &'static Domain {
    &GLOBAL
}

/// A thread's reader state: its record (taken on first use) and how deep it is nested in sections.
pub(crate) struct ThreadReader {
    record: Cell<Option<&'static Record>>,
    mode: Cell<Mode>,
    nesting: Cell<u32>,
}

impl ThreadReader {
    pub(crate) const fn new() -> Self {
        Self {
            record: Cell::new(None),
            mode: Cell::new(Mode::Fence),
            nesting: Cell::new(0),
        }
    }

    /// Enters a (possibly nested) read-side section.
    #[inline]
    pub(crate) fn lock(&self) {
        let nesting = self.nesting.get();
        if nesting == 0 {
            let record = match self.record.get() {
                Some(record) => record,
                None => self.first_use(),
            };
            GLOBAL.enter(record, self.mode.get());
        }
        self.nesting.set(nesting + 1);
    }

    /// Leaves a section entered with [`ThreadReader::lock`].
    #[inline]
    pub(crate) fn unlock(&self) {
        let nesting = self.nesting.get() - 1;
        self.nesting.set(nesting);
        if nesting == 0
            && let Some(record) = self.record.get()
        {
            GLOBAL.exit(record, self.mode.get());
        }
    }

    /// A scope guard for a section, which also leaves it when unwinding.
    #[inline]
    pub(crate) fn section(&self) -> Section<'_> {
        self.lock();
        Section(self)
    }

    pub(crate) fn in_section(&self) -> bool {
        self.nesting.get() != 0
    }

    #[cold]
    fn first_use(&self) -> &'static Record {
        self.mode.set(GLOBAL.mode());
        let record = GLOBAL.acquire_record();
        self.record.set(Some(record));
        record
    }
}

impl Drop for ThreadReader {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            debug_assert_eq!(
                self.nesting.get(),
                0,
                "thread state dropped inside a section"
            );
            GLOBAL.release_record(record);
        }
    }
}

/// An entered read-side section; leaves it on drop.
pub(crate) struct Section<'a>(&'a ThreadReader);

impl Drop for Section<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.unlock();
    }
}

/// Whether the calling thread is inside a read-side section (so waiting for a grace period would wait
/// for itself).
pub(crate) fn in_read_section() -> bool {
    crate::thread::try_with(|thread| thread.reader.in_section()).unwrap_or(false)
}

/// Waits for a grace period of the process-wide domain.
pub(crate) fn synchronize() {
    debug_assert!(
        !in_read_section(),
        "synchronize() inside a read-side section"
    );
    GLOBAL.synchronize();
}
