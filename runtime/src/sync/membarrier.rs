//! `membarrier(2)`, the writer-side barrier that lets readers get away with compiler fences.
//!
//! `MEMBARRIER_CMD_PRIVATE_EXPEDITED` makes every thread of this process that is running on some CPU
//! execute a full memory barrier before the call returns; a thread that is not running goes through a
//! context switch, which is a full barrier too. So a writer that calls it has, in effect, put a
//! `fence(SeqCst)` into every reader's instruction stream at a point between the writer's accesses
//! before and after the call. That is the liburcu "memb" flavour.

/// Whether the expedited private membarrier is usable in this process; registers for it on success.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn register() -> bool {
    const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    if std::env::var_os("TRACEHOOK_NO_MEMBARRIER").is_some_and(|v| v != "0") {
        return false;
    }
    // SAFETY: membarrier with CMD_QUERY takes no pointers; it returns a bit mask or -1.
    let supported = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_QUERY, 0) };
    if supported < 0 || supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED == 0 {
        return false;
    }
    // SAFETY: registration takes no pointers; it returns 0 or -1.
    let registered = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
            0,
        )
    };
    registered == 0 && barrier()
}

/// Issues the barrier on every running thread of the process. Returns false if the kernel refused.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn barrier() -> bool {
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    // SAFETY: takes no pointers; only valid after registration, which `register` did first.
    unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0 }
}

/// Registers for `MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE` (code patching); false if unavailable.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn register_sync_core() -> bool {
    const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
    if std::env::var_os("TRACEHOOK_NO_MEMBARRIER").is_some_and(|v| v != "0") {
        return false;
    }
    // SAFETY: membarrier with CMD_QUERY takes no pointers; it returns a bit mask or -1.
    let supported = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_QUERY, 0) };
    if supported < 0 || supported & SYNC_CORE == 0 {
        return false;
    }
    // SAFETY: registration takes no pointers; it returns 0 or -1.
    let registered = unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_SYNC_CORE, 0) };
    registered == 0 && sync_core()
}

/// Makes every running thread of the process execute a core-serializing instruction (and a full
/// memory barrier) before it returns to user space. Returns false if the kernel refused.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn sync_core() -> bool {
    // SAFETY: takes no pointers; only valid after `register_sync_core` succeeded.
    unsafe { libc::syscall(libc::SYS_membarrier, SYNC_CORE, 0) == 0 }
}

#[cfg(all(target_os = "linux", not(loom)))]
const SYNC_CORE: libc::c_long = 1 << 5;
#[cfg(all(target_os = "linux", not(loom)))]
const REGISTER_SYNC_CORE: libc::c_long = 1 << 6;

#[cfg(any(not(target_os = "linux"), loom))]
pub(crate) fn register() -> bool {
    false
}

#[cfg(any(not(target_os = "linux"), loom))]
pub(crate) fn barrier() -> bool {
    false
}
