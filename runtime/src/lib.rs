//! The run-time of [tracehook](https://docs.rs/tracehook): the site registry, grace periods, and ftrace
//! ops and dispatch. Use it through the `tracehook` crate; generated code reaches it only through
//! `tracehook::__private`.

#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[cfg(not(loom))]
pub mod eventhandler;
#[cfg(not(loom))]
pub mod ftrace;
#[cfg(not(loom))]
mod init;
#[cfg(not(loom))]
pub mod site;
pub(crate) mod sync;
#[cfg(not(loom))]
mod thread;
#[cfg(not(loom))]
pub mod tracefs;
#[cfg(not(loom))]
pub mod tracer;

#[cfg(not(loom))]
pub use init::init;

#[doc(hidden)]
#[cfg(not(loom))]
pub use linkme as __linkme;

/// The hook point of a traced function (see `ftrace::patch`). On x86-64 Linux one 5-byte
/// instruction, recorded with `$site` in the `tracehook_jump` section: a `jmp` or, patched off, a
/// `mov $imm32, %eax` into a clobbered register. It first jumps to a block that checks the site's
/// dispatch pointer (the hook points' state before start-up, and for good where they are not
/// patched); once patched, a hook point turned on jumps to the block after that check, because the
/// patcher keeps it off while no ops is attached. Elsewhere: the pointer check.
///
/// - `hook_point!(SITE)`: `true` when the call should take its hook path.
/// - `hook_point!(SITE, KEY, body)`: returns from the traced function through its hook path when the
///   call is hooked (`body` is the function's body closure and `KEY` the site's `ftrace::SiteKey`,
///   see `ftrace::hooked`), with the hook path reached by tail calls only; falls through otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __hook_point {
    (@asm $site:path, checked => $checked:block, hooked => $hooked:block) => {
        // SAFETY: the asm is one instruction, `jmp` to a label block or `mov $imm32, %eax`: it reads
        // no memory, writes only `eax` (declared clobbered), and leaves the stack alone. The record
        // it adds to `tracehook_jump` is `ftrace::patch::Entry`.
        unsafe {
            ::core::arch::asm!(
                "2:",
                ".byte 0xe9",
                ".long {checked} - 3f",
                "3:",
                ".pushsection tracehook_jump,\"awR\",@progbits",
                ".balign 8",
                ".quad {site}",
                ".long 2b - .",
                ".long {hooked} - .",
                ".popsection",
                site = sym $site,
                checked = label $checked,
                hooked = label $hooked,
                out("eax") _,
                options(nostack),
            );
        }
    };
    ($site:path) => {{
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        let hooked = {
            // 0: not hooked (the `mov` ran); 1: check the dispatch pointer; 2: hooked.
            let mut path = 0u8;
            $crate::__hook_point!(@asm $site, checked => { path = 1; }, hooked => { path = 2; });
            path == 2 || (path == 1 && $site.__is_hooked())
        };
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        let hooked = $site.__is_hooked();
        hooked
    }};
    ($site:path, $key:expr, $body:ident) => {
        // Each path ends in its own block, so the unhooked one is the fall-through right after the
        // point: no jump once it is a `mov`. `$key` is the site's `ftrace::SiteKey` (zero-sized).
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        $crate::__hook_point!(
            @asm $site,
            checked => { return $crate::ftrace::checked($key, $body); },
            hooked => { return $crate::ftrace::hooked($key, $body); }
        );
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        if $site.__is_hooked() {
            ::core::hint::cold_path();
            return $crate::ftrace::hooked($key, $body);
        }
    };
}

/// Pins the guard local of a traced function in place: `Pin<&mut Guard>`. Only for the code
/// `#[traceable]` generates, whose guard is a local of the function's outermost block that user code
/// cannot name (mixed-site hygiene), is never moved, and is dropped where the function's locals are.
#[doc(hidden)]
#[macro_export]
macro_rules! __pin_guard {
    ($guard:ident) => {
        // SAFETY: see above: the local stays where it is until it is dropped.
        unsafe { ::core::pin::Pin::new_unchecked(&mut $guard) }
    };
}

/// What callbacks view of a traced function's argument `$arg` on the hook path: an
/// `ftrace::ArgCopy`, a bitwise copy when the argument fits in two registers (never dropped), else
/// the argument itself, which is passed by reference anyway. Views of copies keep register-sized
/// arguments from having their address taken, so an unhooked call keeps them in registers (a
/// borrowed argument needs a home in memory in every path). Only for the code `#[traceable]`
/// generates, which makes the copy at entry, before the body runs, and lets callbacks borrow it only
/// while the entry callbacks run.
#[doc(hidden)]
#[macro_export]
macro_rules! __arg_copy {
    ($arg:expr) => {
        // SAFETY: see above: the original is not used while the copy is alive.
        unsafe { $crate::ftrace::ArgCopy::new(&$arg) }
    };
}
