//! What a callback sees of one traced call.

use super::dispatch::RedirectPoint;
use super::thread::Node;
use super::{Error, Ops};
use crate::site::Site;
use std::any::TypeId;
use std::cell::Cell;
use std::fmt;

/// Where in the call a callback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// At entry, before the body (the ftrace callback proper).
    Entry,
    /// After the body returned (or, for an `async fn`, when the future completed or was dropped).
    Return,
    /// While the body unwinds from a panic.
    Unwind,
}

/// One traced call, as a callback sees it.
pub struct Call<'a> {
    /// The call's link in the thread's chain: its site, and the enclosing hooked call's node (null at
    /// the top), alive while the callback runs.
    pub(crate) node: &'a Node,
    pub(crate) ops: &'a Ops,
    /// `None` for the common entry: no arguments, no redirect (four words to write on the hot path).
    pub(crate) extra: Option<&'a Extra<'a>>,
    pub(crate) data: Cell<u64>,
}

/// What a [`Call`] shows beyond the common entry.
pub(crate) struct Extra<'a> {
    pub(crate) args: Option<&'a [Arg<'a>]>,
    pub(crate) redirect: Option<&'a RedirectPoint>,
    pub(crate) phase: Phase,
}

impl<'a> Call<'a> {
    /// The traced function (kernel: `ip`).
    #[must_use]
    pub fn site(&self) -> &'static Site {
        self.node.site
    }

    /// The innermost enclosing hooked function on this thread, `None` at the top (kernel: `parent_ip`).
    #[must_use]
    pub fn parent(&self) -> Option<&'static Site> {
        // SAFETY: the node belongs to an enclosing frame (or poll) of the traced call, which outlives
        // every callback of that call.
        (!self.node.prev.is_null()).then(|| unsafe { (*self.node.prev).site })
    }

    /// The ops this callback belongs to (kernel: `op`).
    #[must_use]
    pub fn ops(&self) -> &'a Ops {
        self.ops
    }

    /// The arguments, when the ops has `SAVE_REGS` (or `SAVE_REGS_IF_SUPPORTED` and the site gives them).
    #[must_use]
    pub fn args(&self) -> Option<&'a [Arg<'a>]> {
        self.extra?.args
    }

    /// Entry, return or unwind.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.extra.map_or(Phase::Entry, |extra| extra.phase)
    }

    /// Leaves one word for this ops' exit callback of the same call, which reads it with
    /// [`Call::data`] (kernel: `fgraph_reserve_data` / `fgraph_retrieve_data`). Meaningful at
    /// [`Phase::Entry`] of an ops with an exit callback; the word travels with the call, also when an
    /// `async fn` completes on another thread.
    pub fn set_data(&self, data: u64) {
        self.data.set(data);
    }

    /// At [`Phase::Return`] or [`Phase::Unwind`]: the word the entry callback left with
    /// [`Call::set_data`] (0 if it left none).
    #[must_use]
    pub fn data(&self) -> u64 {
        self.data.get()
    }

    /// Makes the traced call return `replacement(args..)` instead of running its body (live patching,
    /// fault injection, test doubles). Only at [`Phase::Entry`], from an `IPMODIFY` ops, on a site that
    /// can be redirected. `F` must be the site's function-pointer type exactly, as given by
    /// [`Site::signature`]: cast a function with `as`, for example
    /// `call.redirect(failing_read as fn(&str) -> io::Result<String>)`.
    ///
    /// # Errors
    /// [`Error::RedirectNotAllowed`] outside those conditions; [`Error::RedirectMismatch`] if `F` is not
    /// the site's type.
    pub fn redirect<F: Copy + 'static>(&self, replacement: F) -> Result<(), Error> {
        let point = self
            .extra
            .filter(|extra| extra.phase == Phase::Entry)
            .and_then(|extra| extra.redirect);
        let Some(point) = point else {
            return Err(Error::RedirectNotAllowed { site: self.site() });
        };
        if TypeId::of::<F>() != (point.expected)() || size_of::<F>() != size_of::<usize>() {
            return Err(Error::RedirectMismatch {
                expected: self.site().signature(),
                found: std::any::type_name::<F>(),
            });
        }
        point.set(replacement);
        Ok(())
    }
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("site", &self.site().path())
            .field("parent", &self.parent().map(Site::path))
            .field("phase", &self.phase())
            .field("args", &self.args())
            .finish_non_exhaustive()
    }
}

/// One argument of a traced call: its name and a `Debug` view, or its type name where it is not `Debug`.
#[derive(Clone, Copy)]
pub struct Arg<'a> {
    name: &'static str,
    value: ArgValue<'a>,
}

#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum ArgValue<'a> {
    Debug(&'a dyn fmt::Debug),
    Opaque(&'static str),
}

impl<'a> Arg<'a> {
    #[doc(hidden)]
    #[must_use]
    pub fn __new(name: &'static str, value: ArgValue<'a>) -> Self {
        Self { name, value }
    }

    /// The parameter's name (`input`, `self`), or the pattern's text for a destructuring parameter.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value, when its type implements `Debug`.
    #[must_use]
    pub fn value(&self) -> Option<&'a dyn fmt::Debug> {
        match self.value {
            ArgValue::Debug(value) => Some(value),
            ArgValue::Opaque(_) => None,
        }
    }

    /// The type's name, when its type does not implement `Debug`.
    #[must_use]
    pub fn type_name(&self) -> Option<&'static str> {
        match self.value {
            ArgValue::Debug(_) => None,
            ArgValue::Opaque(name) => Some(name),
        }
    }
}

/// `name=value`, with `<Type>` for a value that is not `Debug`.
impl fmt::Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            ArgValue::Debug(value) => write!(f, "{}={value:?}", self.name),
            ArgValue::Opaque(type_name) => write!(f, "{}=<{type_name}>", self.name),
        }
    }
}

impl fmt::Debug for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a traced call hands its arguments over: a closure that builds the [`Arg`] views and passes
/// them to a sink, run only when some attached ops wants them (so a call nobody asks arguments of
/// never builds them).
#[doc(hidden)]
pub type CaptureArgs<'a> = &'a dyn Fn(&mut dyn FnMut(&[Arg<'_>]));

/// The [`CaptureArgs`] of a site without arguments (or built with `skip_args`).
#[doc(hidden)]
pub fn no_args(sink: &mut dyn FnMut(&[Arg<'_>])) {
    sink(&[]);
}

/// An argument as callbacks view it on a sync function's hook path (see `__arg_copy!`).
#[doc(hidden)]
pub enum ArgCopy<'a, T> {
    /// A bitwise copy of an argument of at most two words, never dropped.
    Copied(std::mem::ManuallyDrop<T>),
    /// A larger argument, which the calling convention passes by reference anyway.
    Borrowed(&'a T),
}

impl<'a, T> ArgCopy<'a, T> {
    /// The view of `arg`.
    ///
    /// # Safety
    /// While the result is alive, `arg`'s original is not used (the copy may alias what it owns or
    /// points to), and the result is never turned back into a `T`.
    #[inline(always)]
    pub unsafe fn new(arg: &'a T) -> Self {
        if size_of::<T>() <= 2 * size_of::<usize>() {
            // SAFETY: a read of an initialised value; the copy is never dropped (`ManuallyDrop`)
            // and, by the caller's contract, is only lent out while the original is not used.
            Self::Copied(std::mem::ManuallyDrop::new(unsafe { std::ptr::read(arg) }))
        } else {
            Self::Borrowed(arg)
        }
    }

    /// The value to view.
    #[inline(always)]
    pub fn get(&self) -> &T {
        match self {
            Self::Copied(copy) => copy,
            Self::Borrowed(arg) => arg,
        }
    }
}

/// Generated code wraps each argument in `ArgView` and calls `__tracehook_view` through an auto-ref:
/// the `Debug` impl below is found first when the type is `Debug`, the fallback on `&ArgView` otherwise.
#[doc(hidden)]
pub struct ArgView<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait ViewDebug<'a> {
    fn __tracehook_view(&self) -> ArgValue<'a>;
}

#[doc(hidden)]
pub trait ViewOpaque<'a> {
    fn __tracehook_view(&self) -> ArgValue<'a>;
}

impl<'a, T: fmt::Debug> ViewDebug<'a> for ArgView<'a, T> {
    #[inline]
    fn __tracehook_view(&self) -> ArgValue<'a> {
        ArgValue::Debug(self.0)
    }
}

impl<'a, T> ViewOpaque<'a> for &ArgView<'a, T> {
    #[inline]
    fn __tracehook_view(&self) -> ArgValue<'a> {
        ArgValue::Opaque(std::any::type_name::<T>())
    }
}
