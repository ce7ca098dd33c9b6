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
//! - **Tracers** ([`tracer`], [`tracefs`]): the kernel's function, function_graph and profiler
//!   tracers without writing a callback, driven through tracefs' files (`tracefs::write("current_tracer",
//!   "function_graph")`), the typed [`tracer::Tracer`], or the `TRACEHOOK` environment variable
//!   ([`init`]), with output in the kernel's formats, Chrome Trace Event JSON (Perfetto) and folded
//!   stacks.
//!
//! ```
//! #[tracehook::traceable]
//! fn parse(input: &str) -> usize {
//!     input.len()
//! }
//!
//! use tracehook::tracefs;
//! tracefs::write("set_ftrace_filter", "parse")?;
//! tracefs::write("current_tracer", "function_graph")?;
//! parse("1 + 2");
//! let trace = tracefs::read("trace")?;
//! assert!(trace.contains("parse();"));
//! tracefs::write("current_tracer", "nop")?;
//! # Ok::<(), tracehook::tracer::Error>(())
//! ```
//!
//! - **FreeBSD EVENTHANDLER-style events** ([`eventhandler`]): `eventhandler_declare!` an event,
//!   `eventhandler_register!` closures or `(handler, arg)` pairs at any priority (or
//!   `eventhandler_define!` them statically), `eventhandler_invoke!` them without any lock, and
//!   `eventhandler_deregister!` one with the guarantee that it runs nowhere once that returns.
//!
//! ## `#[traceable]`
//!
//! **The rule: `#[traceable]` never turns a function that compiles into one that does not.** On
//! any function that compiles without it, it compiles with it, adds no warning, behaves the same,
//! and the site is hookable. Where a feature cannot be expressed for a signature, that *site* loses
//! the feature and says why; the build never fails. Today the one such feature is redirect
//! (`IPMODIFY`), which needs the replacement's function-pointer type written, `'static`, in the
//! body: a site whose signature is generic, has `impl Trait`, is `async`, or names a type the
//! attribute cannot tell from an enclosing impl's type parameter (`T` in `impl<T> W<T>` when the
//! attribute is on the method alone) has [`Site::can_redirect`](ftrace::Site::can_redirect) false,
//! [`Site::redirect_refusal`](ftrace::Site::redirect_refusal) gives the reason, and an `IPMODIFY`
//! ops selecting it fails to register with an error naming the site and the reason. Put the
//! attribute on the `impl` block or the module to let it see the generics in scope. Lifetimes
//! (the function's own, the impl's, elided ones, `&self`'s) are written out in the type, for
//! example `for<'s> fn(&'s Store, &str) -> Option<&'s String>`. Repeating the same
//! `#[traceable]` on a function (as attribute-copying macros do) is one site; repeating it with
//! other options is an error. The generated-signature torture (`tests/torture`) and the real-crate
//! corpus (`scripts/corpus`) check the rule.
//!
//! On a function (free, method, `async`, `unsafe`, `extern "C"`, generic), on an `impl` block (every
//! method with a body; sites named `Type::method`), on a trait (every default method) or on an inline
//! module (every function inside, recursively). `#[notrace]` leaves one out. Options:
//! `name = "..."` sets the site's name; `skip_args` keeps the arguments from callbacks.
//!
//! The statements of a sync function run in a `move` closure inside the function, inlined when the
//! call is not hooked and reached by a tail call when it is, so the unhooked function keeps the
//! plain function's frame. The closure is `FnOnce` with the function's return type: `return`, `?`,
//! coercions, `Self`, generics and borrows returned from `&mut` arguments work as in the function,
//! and it takes every parameter by value, last one first, so parameters are dropped where and in
//! the order the function drops them. `#[track_caller]` functions, methods of a traced trait impl
//! block (the trait may declare them `#[track_caller]`, which passes on to implementations), and
//! functions returning `!` or `impl Trait`, keep their statements in place instead (the caller's
//! location is still reported). `#[traceable]` on a single method of a trait impl cannot see the
//! trait: repeat `#[track_caller]` there if the trait declares it. A destructuring parameter
//! (`(a, b): (i32, i32)`) is renamed in the signature and destructured again at the top of the
//! body, so callbacks can see the whole value; its bindings are dropped with the body's locals.

#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

pub use tracehook_macros::{eventhandler_declare, eventhandler_list_define, notrace, traceable};

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
pub use tracehook_runtime::{eventhandler, ftrace, init, tracefs, tracer};

#[doc(hidden)]
pub mod __private {
    pub use tracehook_runtime::__arg_copy as arg_copy;
    pub use tracehook_runtime::__hook_point as hook_point;
    pub use tracehook_runtime::__linkme as linkme;
    pub use tracehook_runtime::__pin_guard as pin_guard;
    pub use tracehook_runtime::eventhandler::STATIC_HANDLERS;
    pub use tracehook_runtime::ftrace::{
        Arg, ArgView, AsyncGuard, Guard, Hook, SiteKey, ViewDebug, ViewOpaque, body, enter,
        enter_async, enter_slow, hooked, instrument, no_args, unhooked,
    };
    pub use tracehook_runtime::site::{SITES, Site};
}

/// Defines a static handler of `event` (FreeBSD's `EVENTHANDLER_DEFINE`): placed in a linker section
/// at compile time, present at the list's first use, no code run before `main`. `arg` is a
/// `&'static` reference passed to the handler as is: `handler(arg, args..)`.
///
/// ```
/// use tracehook::{eventhandler_declare, eventhandler_define, eventhandler_invoke};
/// use tracehook::eventhandler::PRI_FIRST;
/// use std::sync::atomic::{AtomicI32, Ordering};
///
/// eventhandler_declare!(shutdown_pre_sync, fn(howto: i32));
/// static LAST_HOWTO: AtomicI32 = AtomicI32::new(0);
/// fn remember(last: &AtomicI32, howto: i32) {
///     last.store(howto, Ordering::Relaxed);
/// }
/// eventhandler_define!(shutdown_pre_sync, remember, &LAST_HOWTO, PRI_FIRST);
///
/// eventhandler_invoke!(shutdown_pre_sync, 8);
/// assert_eq!(LAST_HOWTO.load(Ordering::Relaxed), 8);
/// ```
#[macro_export]
macro_rules! eventhandler_define {
    ($event:ident, $handler:expr, $arg:expr, $priority:expr $(,)?) => {
        const _: () = {
            unsafe fn __tracehook_call(_: *const (), args: *const ()) -> bool {
                // SAFETY: the list only calls this thunk with its own `Args` (the signature is
                // checked against this event's when the list takes the handler).
                let args =
                    unsafe { &*args.cast::<<$event as $crate::eventhandler::Event>::Args<'_>>() };
                $crate::eventhandler::HandlerOutput::is_stop(
                    &<$event as $crate::eventhandler::AcceptsWith<_, _>>::call_with(
                        &$handler, $arg, args,
                    ),
                )
            }
            #[$crate::__private::linkme::distributed_slice($crate::__private::STATIC_HANDLERS)]
            #[linkme(crate = $crate::__private::linkme)]
            static __TRACEHOOK_STATIC_HANDLER: $crate::eventhandler::StaticHandler =
                $crate::eventhandler::StaticHandler::__new(
                    <$event as $crate::eventhandler::Event>::NAME,
                    <$event as $crate::eventhandler::Event>::signature_id,
                    <$event as $crate::eventhandler::Event>::SIGNATURE,
                    $priority,
                    __tracehook_call,
                    ::core::file!(),
                    ::core::line!(),
                );
        };
    };
}

/// Registers a handler and returns its [`Tag`](eventhandler::Tag) (FreeBSD's `EVENTHANDLER_REGISTER`):
/// `eventhandler_register!(event, |args..| .., priority)` with a closure owning its state, or
/// `eventhandler_register!(event, handler, arg, priority)` calling `handler(&arg, args..)`.
#[macro_export]
macro_rules! eventhandler_register {
    ($event:ident, $closure:expr, $priority:expr $(,)?) => {
        $event::list().register($event::__closure($closure), $priority)
    };
    ($event:ident, $handler:expr, $arg:expr, $priority:expr $(,)?) => {{
        let (handler, arg) = $event::__with($handler, $arg);
        $event::list().register_with(handler, arg, $priority)
    }};
}

/// Calls every handler of the event found by its name (FreeBSD's `EVENTHANDLER_INVOKE`); returns an
/// [`Invoked`](eventhandler::Invoked). The name is looked up once per call site.
#[macro_export]
macro_rules! eventhandler_invoke {
    ($event:ident $(, $arg:expr)* $(,)?) => {{
        static __TRACEHOOK_LIST: ::std::sync::OnceLock<
            &'static $crate::eventhandler::TypedList<$event>,
        > = ::std::sync::OnceLock::new();
        __TRACEHOOK_LIST
            .get_or_init($crate::eventhandler::__list::<$event>)
            .invoke(($($arg,)*))
    }};
}

/// Calls every handler of a list defined with `eventhandler_list_define!`, without any name lookup
/// (FreeBSD's `EVENTHANDLER_DIRECT_INVOKE`); an empty list costs one load.
#[macro_export]
macro_rules! eventhandler_direct_invoke {
    ($event:ident $(, $arg:expr)* $(,)?) => {
        $event::list().invoke(($($arg,)*))
    };
}

/// Removes a handler and waits until it is running nowhere (FreeBSD's `EVENTHANDLER_DEREGISTER`);
/// without a tag, removes every handler. Returns a `Result`.
#[macro_export]
macro_rules! eventhandler_deregister {
    ($event:ident, $tag:expr $(,)?) => {
        $event::list().deregister(::core::option::Option::Some($tag))
    };
    ($event:ident $(,)?) => {
        $event::list().deregister(::core::option::Option::None)
    };
}

/// Removes a handler without waiting (FreeBSD's `EVENTHANDLER_DEREGISTER_NOWAIT`); usable from
/// inside the list's own handlers. Returns a `Result`.
#[macro_export]
macro_rules! eventhandler_deregister_nowait {
    ($event:ident, $tag:expr $(,)?) => {
        $event::list().deregister_nowait(::core::option::Option::Some($tag))
    };
    ($event:ident $(,)?) => {
        $event::list().deregister_nowait(::core::option::Option::None)
    };
}
