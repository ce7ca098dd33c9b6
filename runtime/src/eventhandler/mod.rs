//! FreeBSD's EVENTHANDLER(9): named events with prioritized handler lists.
//!
//! An *event* is declared with `eventhandler_declare!(name, fn(args..))` (a marker type implementing
//! [`Event`]); its handlers live in one [`EventHandlerList`] per name, created on first use (by any of
//! declaring, registering, looking up or invoking). Handlers are closures, or `(handler, arg)` pairs
//! called as `handler(&arg, args..)`; static ones are placed in a linker section by
//! `eventhandler_define!` and joined to their list when it is created, so no code runs before `main`.
//!
//! # Invoking
//!
//! A list publishes an immutable, priority-sorted snapshot of its entries through one atomic pointer.
//! Invoking loads it inside a read-side section (see `crate::sync`) and calls each live entry: no lock,
//! and no write to any shared cache line per handler. An empty list is recognised before entering the
//! section. Each call is bracketed by a mark in the thread's own reader record ("running entry X"),
//! which is what lets `deregister` wait for exactly one handler.
//!
//! # Deregistering
//!
//! `deregister(tag)` takes the entry out of the list, marks it removed, and waits until no thread's
//! record shows it running (an invoker marks first and checks the removed flag after, with the same
//! barrier protocol as grace periods, so none can start it afterwards). It does not wait for other
//! handlers or for whole invokes, so unrelated long-running handlers cannot hold it up. From inside a
//! handler of the same list it returns [`Error::InsideHandler`] instead of waiting for itself.
//! `deregister_nowait` only takes the entry out; the entry and its closure are freed once a grace
//! period has passed, which every later change of the list, and [`prune_list`], check without blocking.
//!
//! # Changes during an invoke
//!
//! An invoke calls the entries of the snapshot it loaded: a handler registered meanwhile (also by a
//! handler of this list) is first called by the next invoke; a handler deregistered meanwhile (by
//! either form) is not called once its removal is visible, and `deregister` waits if it is running.

mod list;
mod statics;

pub use list::{EventHandlerList, Invoked, Tag, TypedList};
#[doc(hidden)]
pub use statics::{STATIC_HANDLERS, StaticHandler};

use std::any::TypeId;
use std::fmt;
use std::ops::ControlFlow;

/// Runs first (FreeBSD's `EVENTHANDLER_PRI_FIRST`).
pub const PRI_FIRST: i32 = 0;
/// No particular order (FreeBSD's `EVENTHANDLER_PRI_ANY`).
pub const PRI_ANY: i32 = 10_000;
/// Runs last (FreeBSD's `EVENTHANDLER_PRI_LAST`).
pub const PRI_LAST: i32 = 20_000;

/// A declared event: its name, argument types and handler output. Implemented by
/// `eventhandler_declare!`; not meant to be implemented by hand.
pub trait Event: 'static {
    /// The arguments, as a tuple, with the lifetime of one invoke.
    type Args<'a>;
    /// What handlers return: `()`, or `ControlFlow<()>` for a stoppable event.
    type Output: HandlerOutput;
    /// The list's name.
    const NAME: &'static str;
    /// The handler signature as written, for error messages: `fn(i32, &Disk)`.
    const SIGNATURE: &'static str;
    /// The identity of the handler signature: lists are typed by it.
    fn signature_id() -> TypeId;
}

/// Closures accepted as handlers of an event: `E: Accepts<F>` when `F` has the event's signature.
#[diagnostic::on_unimplemented(
    message = "this closure does not have the handler signature of event `{Self}`",
    note = "a handler of `{Self}` takes the event's arguments and returns its output type"
)]
pub trait Accepts<F>: Event {
    /// Calls `handler` with `args`.
    fn call(handler: &F, args: &Self::Args<'_>) -> Self::Output;
}

/// `(handler, arg)` pairs accepted as handlers: `handler(&arg, args..)`.
#[diagnostic::on_unimplemented(
    message = "this function does not have the handler signature of event `{Self}` (with `&{A}` first)",
    note = "a (handler, arg) handler of `{Self}` takes `&arg` and then the event's arguments"
)]
pub trait AcceptsWith<A, F>: Event {
    /// Calls `handler(arg, args..)`.
    fn call_with(handler: &F, arg: &A, args: &Self::Args<'_>) -> Self::Output;
}

/// What a handler returns: whether the invoke stops after it.
pub trait HandlerOutput {
    /// Whether this result stops the invoke (Linux notifier chains' `NOTIFY_STOP`).
    fn is_stop(&self) -> bool;
}

impl HandlerOutput for () {
    #[inline(always)]
    fn is_stop(&self) -> bool {
        false
    }
}

impl HandlerOutput for ControlFlow<()> {
    #[inline(always)]
    fn is_stop(&self) -> bool {
        self.is_break()
    }
}

/// What went wrong in an event-handler call. Nothing was changed when one is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The list exists with handlers of another signature.
    WrongType {
        /// The list's name.
        list: &'static str,
        /// The list's handler signature.
        expected: &'static str,
        /// The signature asked for.
        found: &'static str,
    },
    /// The tag is not (or no longer) registered on this list.
    UnknownTag {
        /// The list's name.
        list: &'static str,
    },
    /// The tag belongs to another list.
    ForeignTag {
        /// The list the call was made on.
        list: &'static str,
        /// The list the tag belongs to.
        tag_list: &'static str,
    },
    /// A waiting deregister from inside one of this list's handlers would wait for itself; use
    /// `deregister_nowait` there.
    InsideHandler {
        /// The list's name.
        list: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType {
                list,
                expected,
                found,
            } => write!(
                f,
                "event handler list `{list}` has handlers of type `{expected}`, not `{found}`"
            ),
            Self::UnknownTag { list } => {
                write!(
                    f,
                    "the tag is not registered on event handler list `{list}`"
                )
            }
            Self::ForeignTag { list, tag_list } => write!(
                f,
                "the tag belongs to event handler list `{tag_list}`, not `{list}`"
            ),
            Self::InsideHandler { list } => write!(
                f,
                "deregister from inside a handler of `{list}` would wait for itself; use \
                 deregister_nowait"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The list named `name`, if anything declared, defined, registered to or invoked it (FreeBSD's
/// `eventhandler_find_list`).
#[must_use]
pub fn find_list(name: &str) -> Option<&'static EventHandlerList> {
    list::find(name)
}

/// Frees what `deregister_nowait` left behind on `list` (FreeBSD's `eventhandler_prune_list`). Safe at
/// any time: outside handlers it waits for a grace period and frees everything retired; inside a
/// handler it frees only what is already safe to free.
pub fn prune_list(list: &EventHandlerList) {
    list.prune();
}

/// The typed list of event `E`, created (with its static handlers) on first use.
///
/// # Errors
/// [`Error::WrongType`] if a list of that name exists with another signature.
pub fn list_of<E: Event>() -> Result<&'static TypedList<E>, Error> {
    list::get_or_create(E::NAME, E::signature_id(), E::SIGNATURE)?.typed::<E>()
}

/// [`list_of`] for the macros: a signature clash between two declarations of one name is a bug in
/// the program, reported by a panic that names both signatures.
#[doc(hidden)]
#[must_use]
pub fn __list<E: Event>() -> &'static TypedList<E> {
    list_of::<E>().unwrap_or_else(|error| panic!("{error}"))
}
