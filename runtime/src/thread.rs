//! The runtime's per-thread state: one thread-local, so a hooked call touches one TLS slot.

use crate::ftrace::thread::FtraceThread;
use crate::sync::ThreadReader;

/// Everything the runtime keeps per thread.
pub(crate) struct ThreadState {
    /// Grace-period reader handle.
    pub(crate) reader: ThreadReader,
    /// Shadow stack and recursion state of ftrace dispatch.
    pub(crate) ftrace: FtraceThread,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState { reader: ThreadReader::new(), ftrace: FtraceThread::new() }
    };
}

/// Runs `f` with this thread's state, or returns `None` once the state is destroyed (the thread is
/// exiting and this runs from another thread-local's destructor).
#[inline]
pub(crate) fn try_with<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}
