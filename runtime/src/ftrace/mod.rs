//! ftrace for Rust functions: callbacks ([`Ops`]) attached, by filter, to `#[traceable]` functions.
//!
//! See `ftrace-uses.rst` for the kernel original; the README maps each of its concepts to this module.
//!
//! - [`available_functions`] lists every traceable function of the program (`available_filter_functions`).
//! - An [`Ops`] holds an entry callback (and optionally an exit callback), [`Flags`], a filter and a
//!   notrace list. [`Ops::register`] attaches it; [`Ops::unregister`] detaches it and returns only when
//!   no thread can still be running its callbacks.
//! - [`set_enabled`] is the global `ftrace_enabled` switch; [`enabled_functions`] shows which functions
//!   have callbacks attached.
//!
//! A callback that panics does not unwind into the traced function: the panic is caught, the ops is
//! disabled at once and unregistered, and the message is kept for [`Ops::error`]. (With `panic = "abort"`
//! there is nothing to catch.)

mod call;
pub(crate) mod dispatch;
mod error;
pub(crate) mod filter;
mod flags;
mod glob;
mod ops;
pub(crate) mod patch;
pub(crate) mod registry;
pub(crate) mod thread;

pub use crate::site::{Site, available_functions};
pub use call::{Arg, Call, Phase};
pub use error::Error;
pub use flags::Flags;
pub use ops::Ops;
pub use patch::{HookPoints, hook_points};
pub use registry::EnabledFunction;

#[doc(hidden)]
pub use call::{ArgCopy, ArgValue, ArgView, CaptureArgs, ViewDebug, ViewOpaque, no_args};
#[doc(hidden)]
pub use dispatch::{
    AsyncGuard, Guard, Hook, Instrumented, Redirect, SiteKey, body, checked, enter, enter_async,
    enter_slow, hooked, instrument, unhooked,
};

/// Turns every attached callback on or off (the kernel's `ftrace_enabled` sysctl). Turning it off
/// returns only when no callback is running anywhere; the ops stay registered and come back on `true`.
///
/// # Errors
/// [`Error::PermanentRegistered`] when turning off while a `PERMANENT` ops is registered;
/// [`Error::InsideCallback`].
pub fn set_enabled(enabled: bool) -> Result<(), Error> {
    registry::set_enabled(enabled)
}

/// Whether tracing is enabled (see [`set_enabled`]).
#[must_use]
pub fn is_enabled() -> bool {
    registry::is_enabled()
}

/// The functions that have callbacks attached, with how many and their flags (`enabled_functions`).
#[must_use]
pub fn enabled_functions() -> Vec<EnabledFunction> {
    registry::enabled_functions()
}

/// Guards a callback that does not use [`Flags::RECURSION`] against re-entering itself through traced
/// code it calls (kernel: `ftrace_test_recursion_trylock`). `None` means this thread already holds it:
/// return without doing anything. The lock is released when the guard drops.
#[must_use]
pub fn recursion_trylock() -> Option<RecursionGuard> {
    crate::thread::with(|thread| thread.ftrace.try_user_lock()).then_some(RecursionGuard {
        _not_send: std::marker::PhantomData,
    })
}

/// Held recursion lock of [`recursion_trylock`]; not `Send`, it belongs to this thread.
#[must_use]
pub struct RecursionGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for RecursionGuard {
    fn drop(&mut self) {
        crate::thread::with(|thread| thread.ftrace.user_unlock());
    }
}

/// The hooked functions the calling thread is inside, outermost first (its shadow stack).
#[must_use]
pub fn current_stack() -> Vec<&'static Site> {
    crate::thread::with(|thread| thread.ftrace.stack())
}
