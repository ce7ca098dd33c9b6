//! # tracehook
//!
//! Two kernel facilities for ordinary Rust programs:
//!
//! - **ftrace-style function tracing** ([`ftrace`]): `#[traceable]` puts a hook at the top of a
//!   function and records the function, at compile time, in a linker-section registry. At run time,
//!   callbacks ([`ftrace::Ops`]) attach to functions chosen by glob filters and detach again. A function
//!   with nothing attached pays one relaxed load and a branch.
//!
//! ```
//! use tracehook::ftrace::{self, Ops};
//! use tracehook::traceable;
//!
//! #[traceable]
//! fn parse(input: &str) -> usize {
//!     input.split_whitespace().count()
//! }
//!
//! let ops = Ops::new(|call| {
//!     eprintln!("{} <-{}", call.site().name(), call.parent().map_or("", |p| p.name()));
//! });
//! ops.set_filter("pars*", true)?;
//! ops.register()?;
//! parse("1 + 2");
//! ops.unregister()?; // after this returns, the callback never runs again
//! assert!(ftrace::available_functions().any(|site| site.name() == "parse"));
//! # Ok::<(), ftrace::Error>(())
//! ```
//!
//! Counting calls, with the runtime keeping the callback from re-entering itself:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use tracehook::ftrace::{Flags, Ops};
//!
//! #[tracehook::traceable]
//! fn parse_number(text: &str) -> Option<i64> {
//!     text.trim().parse().ok()
//! }
//!
//! let calls = Arc::new(AtomicUsize::new(0));
//! let counter = Arc::clone(&calls);
//! let ops = Ops::new(move |_call| {
//!     counter.fetch_add(1, Ordering::Relaxed);
//! })
//! .with_flags(Flags::RECURSION);
//! ops.set_filter("parse_number", true)?;
//! ops.register()?;
//! assert_eq!(parse_number(" 42 "), Some(42));
//! ops.unregister()?;
//! assert_eq!(parse_number("7"), Some(7));
//! assert_eq!(calls.load(Ordering::Relaxed), 1);
//! # Ok::<(), tracehook::ftrace::Error>(())
//! ```
//!
//! ## `#[traceable]`
//!
//! On a function (free, method, `async`, `unsafe`, `extern "C"`, generic), on an `impl` block (every
//! method with a body; sites named `Type::method`), on a trait (every default method) or on an inline
//! module (every function inside, recursively). `#[notrace]` leaves one out. Options:
//! `name = "..."` sets the site's name; `skip_args` keeps the arguments from callbacks.
//!
//! The body stays in place: `return`, `?`, `Self`, borrows of arguments and `#[track_caller]` keep
//! working. A destructuring parameter (`(a, b): (i32, i32)`) is renamed in the signature and
//! destructured again at the top of the body, so callbacks can see the whole value.

#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

pub use tracehook_macros::{notrace, traceable};

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
pub use tracehook_runtime::ftrace;

#[doc(hidden)]
pub mod __private {
    pub use tracehook_runtime::__linkme as linkme;
    pub use tracehook_runtime::ftrace::{
        Arg, ArgView, AsyncGuard, Guard, RedirectSlot, ViewDebug, ViewOpaque, enter, enter_async,
        instrument,
    };
    pub use tracehook_runtime::site::{SITES, Site};
}
