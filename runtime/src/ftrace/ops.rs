//! `Ops`: a set of callbacks, its filters and flags (the kernel's `struct ftrace_ops`).

use super::call::Call;
use super::dispatch;
use super::filter::{self, SiteSet};
use super::registry::{self, OpsInner};
use super::{Error, Flags};
use crate::site::{self, Site};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Callbacks attached to the traceable functions its filter selects, while registered.
///
/// A cheap [`Clone`] handle: clones share the same ops. Dropping the last handle of a registered ops
/// unregisters it.
///
/// See the `tracehook` crate's documentation for a complete example.
#[repr(transparent)]
pub struct Ops {
    inner: Arc<OpsInner>,
}

impl Ops {
    /// An ops whose `callback` runs at the entry of every function it is attached to.
    pub fn new<F: Fn(&Call<'_>) + Send + Sync + 'static>(callback: F) -> Self {
        Self::from_parts(
            Some(Box::new(callback)),
            Some(dispatch::enter_with::<F>),
            None,
        )
    }

    /// An ops with an entry callback and an exit callback. The exit callback runs when the function
    /// returns or unwinds ([`Call::phase`]), for every call whose entry callback ran, unless the ops was
    /// unregistered in between.
    pub fn with_exit(
        entry: impl Fn(&Call<'_>) + Send + Sync + 'static,
        exit: impl Fn(&Call<'_>) + Send + Sync + 'static,
    ) -> Self {
        // No entry function of its own: an ops with an exit callback never takes the direct path.
        Self::from_parts(Some(Box::new(entry)), None, Some(Box::new(exit)))
    }

    fn from_parts(
        entry: Option<registry::Callback>,
        enter: Option<dispatch::EnterFn>,
        exit: Option<registry::Callback>,
    ) -> Self {
        Self {
            inner: OpsInner::new(entry, enter, exit, Flags::NONE),
        }
    }

    /// Sets the flags. They take effect at the next [`Ops::register`]; a registered ops keeps the
    /// flags it was registered with.
    #[must_use]
    pub fn with_flags(self, flags: Flags) -> Self {
        self.inner.state.lock().flags = flags;
        self
    }

    /// The flags in force (while registered) or requested (otherwise).
    #[must_use]
    pub fn flags(&self) -> Flags {
        let state = self.inner.state.lock();
        if state.registered {
            self.inner.flags()
        } else {
            state.flags
        }
    }

    /// Adds the functions `patterns` selects to the filter, or replaces the filter when `reset` is
    /// true (kernel: `ftrace_set_filter`). `patterns` holds whitespace-separated tokens of the filter
    /// syntax; an empty `patterns` with `reset` clears the filter (all functions).
    ///
    /// # Errors
    /// [`Error::InvalidPattern`], [`Error::NoMatch`] for a token that selects nothing, an `IPMODIFY` or
    /// `SAVE_REGS` conflict for a registered ops, [`Error::InsideCallback`]. On error nothing changes.
    pub fn set_filter(&self, patterns: &str, reset: bool) -> Result<(), Error> {
        registry::update(&self.inner, |state| {
            state.filter = filter::apply(&state.filter, patterns, reset, site::all())?;
            Ok(())
        })
    }

    /// Like [`Ops::set_filter`] for the notrace list: functions never traced by this ops, whatever
    /// the filter says (kernel: `ftrace_set_notrace`).
    ///
    /// # Errors
    /// As [`Ops::set_filter`]; [`Error::IpmodifyWithNotrace`] on a registered `IPMODIFY` ops.
    pub fn set_notrace(&self, patterns: &str, reset: bool) -> Result<(), Error> {
        registry::update(&self.inner, |state| {
            state.notrace = filter::apply(&state.notrace, patterns, reset, site::all())?;
            Ok(())
        })
    }

    /// Adds one site to the filter, or removes it (kernel: `ftrace_set_filter_ip`).
    ///
    /// # Errors
    /// As [`Ops::set_filter`].
    pub fn set_filter_site(
        &self,
        site: &'static Site,
        remove: bool,
        reset: bool,
    ) -> Result<(), Error> {
        let index = site::index_of(site).ok_or_else(|| Error::NoMatch {
            pattern: site.path().to_owned(),
        })?;
        registry::update(&self.inner, |state| {
            if reset {
                state.filter = SiteSet::new();
            }
            if remove {
                state.filter.remove(index);
            } else {
                state.filter.insert(index);
            }
            Ok(())
        })
    }

    /// Clears the filter and the notrace list (kernel: `ftrace_free_filter`). On a registered ops the
    /// change is applied at once (the ops then traces every function).
    ///
    /// # Errors
    /// [`Error::IpmodifyNeedsFilter`] for a registered `IPMODIFY` ops, [`Error::InsideCallback`].
    pub fn free_filter(&self) -> Result<(), Error> {
        registry::update(&self.inner, |state| {
            state.filter = SiteSet::new();
            state.notrace = SiteSet::new();
            Ok(())
        })
    }

    /// Replaces the filter and the notrace list at once (the tracers' filter files).
    pub(crate) fn set_sets(&self, filter: SiteSet, notrace: SiteSet) -> Result<(), Error> {
        registry::update(&self.inner, |state| {
            state.filter = filter;
            state.notrace = notrace;
            Ok(())
        })
    }

    /// The functions in the filter, in `available_functions()` order (empty: all functions).
    #[must_use]
    pub fn filter(&self) -> Vec<&'static Site> {
        Self::sites_of(&self.inner.state.lock().filter)
    }

    /// The functions in the notrace list.
    #[must_use]
    pub fn notrace(&self) -> Vec<&'static Site> {
        Self::sites_of(&self.inner.state.lock().notrace)
    }

    fn sites_of(set: &SiteSet) -> Vec<&'static Site> {
        let sites = site::all();
        set.iter().map(|index| sites[index]).collect()
    }

    /// Whether the ops, with its current filters, would be attached to `site`.
    #[must_use]
    pub fn selects(&self, site: &'static Site) -> bool {
        site::index_of(site).is_some_and(|index| self.inner.state.lock().selects(index))
    }

    /// Attaches the callbacks to the selected functions (kernel: `register_ftrace_function`).
    ///
    /// # Errors
    /// [`Error::AlreadyRegistered`]; [`Error::Disabled`] for a `PERMANENT` ops while tracing is off;
    /// the `IPMODIFY` and `SAVE_REGS` errors; [`Error::InsideCallback`].
    pub fn register(&self) -> Result<(), Error> {
        registry::register(&self.inner)
    }

    /// Detaches the callbacks (kernel: `unregister_ftrace_function`). When this returns `Ok`, no
    /// callback of this ops is running on any thread, and none will run again until it is registered
    /// again.
    ///
    /// # Errors
    /// [`Error::NotRegistered`]; [`Error::InsideCallback`] when called from inside a callback or event
    /// handler (it would wait for itself).
    pub fn unregister(&self) -> Result<(), Error> {
        registry::unregister(&self.inner)
    }

    /// Whether the ops is registered (an ops whose callback panicked is not).
    #[must_use]
    pub fn is_registered(&self) -> bool {
        registry::is_registered(&self.inner)
    }

    /// Why the ops was taken out: the message of the panic of one of its callbacks.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        self.inner.error.lock().clone()
    }

    /// Whether two handles are the same ops.
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn inner(&self) -> &Arc<OpsInner> {
        &self.inner
    }

    pub(crate) fn from_inner_ref(inner: &Arc<OpsInner>) -> &Self {
        // SAFETY: `Ops` is `repr(transparent)` over `Arc<OpsInner>`; a shared reference to it never
        // runs `Ops::drop`, so no handle count is touched.
        unsafe { &*std::ptr::from_ref(inner).cast::<Self>() }
    }
}

impl Clone for Ops {
    fn clone(&self) -> Self {
        // Relaxed: a count of handles, as in Arc; the decrement below synchronizes.
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Drop for Ops {
    fn drop(&mut self) {
        // AcqRel: the last handle must see every other handle's changes before it unregisters.
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            registry::release(&self.inner);
        }
    }
}

impl fmt::Debug for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        f.debug_struct("Ops")
            .field("flags", &state.flags)
            .field("registered", &state.registered)
            .field("filter_len", &state.filter.iter().count())
            .field("notrace_len", &state.notrace.iter().count())
            .finish_non_exhaustive()
    }
}
