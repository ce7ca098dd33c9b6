//! The functions the `hook` bench times and `examples/hook_cost.rs` counts instructions of: the same
//! three-instruction body, plain, `#[traceable]` (off and on) and behind a hand-written fn-pointer hook,
//! and the trivial callback every "on" case calls. Included by path from both.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, Ordering};

thread_local! {
    pub static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// The trivial callback of every "on" case: the hand-written hook calls it through a function
/// pointer, an ops' closure has it inlined, so each "on" case makes one indirect call to an increment.
#[inline]
pub fn bump() {
    COUNT.with(|count| count.set(count.get() + 1));
}

/// The body every benchmarked function shares: a multiply and a rotate, in registers. (Not through
/// `black_box`, which would store the argument and load it back in every function: a round trip
/// whose cost on this machine depends on the code's addresses, which is not what is compared. The
/// callers' `black_box` keeps the calls from being folded.)
macro_rules! body {
    ($x:expr) => {{
        let x: u64 = $x;
        x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7)
    }};
}
#[allow(
    unused_imports,
    reason = "the hook bench uses it for its peers; the example does not"
)]
pub(crate) use body;

#[inline(never)]
pub fn plain(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
pub fn traceable_off(x: u64) -> u64 {
    body!(x)
}

#[tracehook::traceable]
#[inline(never)]
pub fn traceable_on(x: u64) -> u64 {
    body!(x)
}

static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Sets (`true`: `bump`) or clears the hand-written hook.
pub fn set_hook(on: bool) {
    // black_box: were the compiler to see that `bump` is the only function ever stored, it would call
    // it directly (no indirect call: not a hook any more).
    let hook = if on {
        black_box(bump as fn()) as *mut ()
    } else {
        std::ptr::null_mut()
    };
    HOOK.store(hook, Ordering::Relaxed);
}

/// The physical limit: one load of a function pointer and an indirect call.
#[inline(never)]
pub fn handwritten(x: u64) -> u64 {
    // Relaxed: a function pointer needs no other memory to be visible.
    let hook = HOOK.load(Ordering::Relaxed);
    if !hook.is_null() {
        // SAFETY: only `bump as fn()` is ever stored.
        let hook: fn() = unsafe { std::mem::transmute::<*mut (), fn()>(hook) };
        hook();
    }
    body!(x)
}

/// The floor under `traceable_on`: the hand-written hook plus the least this contract requires of any
/// implementation around the same callback, written out inline with nothing shared or general. A
/// read-side section (a per-thread sequence number, odd while inside, that a grace-period writer
/// scans; a hooked call inside a callback is nested and not counted here), the hook loaded inside it,
/// the parent link (a node in the frame, the thread's innermost hooked call while the body runs), the
/// panic boundary (in the callback), and the unlink on return. No ops handle, no disabled check, no argument views:
/// `traceable_on / contract_floor_on` is what tracehook's generality costs, and
/// `contract_floor_on / handwritten_on` what the guarantees themselves cost.
pub mod floor {
    use std::cell::Cell;
    use std::hint::black_box;
    use std::panic::catch_unwind;
    use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering, compiler_fence};

    /// One hooked call: what its callback sees (site and parent). The callback, like every "on"
    /// case's, reads neither.
    #[allow(
        dead_code,
        reason = "what a callback could read; this one only increments"
    )]
    pub struct Node {
        pub site: *const (),
        pub prev: *const Node,
    }

    struct Thread {
        /// Read-side section number, odd inside a section (a writer waits for it to change).
        seq: AtomicU64,
        /// The innermost hooked call on this thread.
        current: Cell<*const Node>,
    }

    thread_local! {
        static THREAD: Thread = const {
            Thread { seq: AtomicU64::new(0), current: Cell::new(std::ptr::null()) }
        };
    }

    static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

    /// The floor's callback: the same increment as every "on" case, behind the panic boundary (inside
    /// the callback, so the hooked function needs no landing pad of its own).
    fn callback(node: &Node) {
        black_box(node);
        if catch_unwind(super::bump).is_err() {
            black_box(());
        }
    }

    /// Sets (`true`) or clears the floor's hook.
    pub fn set_hook(on: bool) {
        let hook = if on {
            black_box(callback as fn(&Node)) as *mut ()
        } else {
            std::ptr::null_mut()
        };
        HOOK.store(hook, Ordering::Release);
    }

    #[inline(never)]
    pub fn hooked(x: u64) -> u64 {
        // Relaxed: a hint, loaded again inside the section (the hook point of a real implementation).
        if HOOK.load(Ordering::Relaxed).is_null() {
            return body!(x);
        }
        let thread = THREAD.with(std::ptr::from_ref);
        // SAFETY: the thread-local has no destructor; used on this thread within this call.
        let thread = unsafe { &*thread };
        let prev = thread.current.get();
        let node = Node {
            site: std::ptr::from_ref(&HOOK).cast(),
            prev,
        };
        // Relaxed: this thread is the number's only writer; the compiler fences keep the section's
        // loads inside it (a writer's membarrier orders them for other threads).
        let seq = thread.seq.load(Ordering::Relaxed);
        if seq & 1 == 0 {
            thread.seq.store(seq + 1, Ordering::Relaxed);
            compiler_fence(Ordering::SeqCst);
            let hook = HOOK.load(Ordering::Acquire);
            if !hook.is_null() {
                // SAFETY: only `callback as fn(&Node)` is ever stored.
                let hook = unsafe { std::mem::transmute::<*mut (), fn(&Node)>(hook) };
                hook(&node);
            }
            compiler_fence(Ordering::SeqCst);
            thread.seq.store(seq + 2, Ordering::Relaxed);
        }
        thread.current.set(&raw const node);
        // The body may call code that reads the chain (a nested hooked call's `parent`): the link
        // must be in memory while it runs. This bench's body calls nothing, and the compiler would
        // drop the store as overwritten below; the fence keeps it, as any call in a body would.
        compiler_fence(Ordering::SeqCst);
        let result = body!(x);
        // The link to restore, kept from above rather than loaded back from the node.
        thread.current.set(prev);
        result
    }
}
