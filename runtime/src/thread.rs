//! The runtime's per-thread state, in one thread-local without a destructor, so a hooked call reaches
//! it with a plain thread-pointer-relative access (no lazy-initialisation check).
//!
//! What needs cleaning up when the thread exits (its reader record, stack overflow storage) is
//! released by a second thread-local, [`Registration`], touched once when the thread first enters a
//! read-side section. Its destructor also marks the state *torn down*: later calls on this thread (from
//! other thread-locals' destructors) still work, as orphan readers, and skip `RCU` ops.

use crate::ftrace::thread::FtraceThread;
use crate::sync::ThreadReader;
use crate::tracer::record::TracerThread;

/// Everything the runtime keeps per thread.
pub(crate) struct ThreadState {
    /// Grace-period reader handle.
    pub(crate) reader: ThreadReader,
    /// Shadow stack, owed exit callbacks and recursion state of ftrace dispatch.
    pub(crate) ftrace: FtraceThread,
    /// Ring buffer, graph depth and profile table of the tracers.
    pub(crate) tracer: TracerThread,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            reader: ThreadReader::new(),
            ftrace: FtraceThread::new(),
            tracer: TracerThread::new(),
        }
    };
    static REGISTRATION: Registration = const { Registration };
}

/// Runs `f` with this thread's state.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&ThreadState) -> R) -> R {
    f(current())
}

/// This thread's state. The accessor closure is tiny so `LocalKey::with` inlines to a direct
/// thread-pointer-relative address (a large closure makes it an indirect call to the key's accessor).
#[inline(always)]
pub(crate) fn current<'a>() -> &'a ThreadState {
    let state = THREAD.with(std::ptr::from_ref);
    // SAFETY: `ThreadState` has no destructor, so its storage stays valid until the thread ends, and
    // callers only use the reference on this thread, within a call (never stored or sent).
    unsafe { &*state }
}

/// Makes sure [`Registration`]'s destructor will run when this thread exits.
#[cold]
pub(crate) fn register_teardown() {
    REGISTRATION.with(|_| {});
}

/// Releases the thread's resources when it exits.
struct Registration;

impl Drop for Registration {
    fn drop(&mut self) {
        THREAD.with(|thread| {
            thread.reader.tear_down();
            thread.ftrace.tear_down();
            thread.tracer.tear_down();
        });
    }
}
