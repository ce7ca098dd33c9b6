//! The writer side: registered ops, their filters, and publication of per-site snapshots.
//!
//! Every change (register, unregister, a filter change on a registered ops, the global switch) runs
//! under one mutex: it recomputes which ops each site should call, publishes a new immutable
//! [`Snapshot`] to each site whose set changed (one atomic store each), waits one grace period, and only
//! then frees the old snapshots. So when a call returns, no thread can still be in, or later enter, a
//! callback the change removed.

use super::call::Call;
use super::dispatch::{self, Direct, EnterFn, SnapEntry, Snapshot};
use super::filter::SiteSet;
use super::{Error, Flags, patch};
use crate::site::{self, Site};
use crate::sync;
use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

pub(crate) type Callback = Box<dyn Fn(&Call<'_>) + Send + Sync + 'static>;

/// The shared part of an [`Ops`](super::Ops): callbacks, flags, filters and state.
pub(crate) struct OpsInner {
    pub(crate) entry: Option<Callback>,
    /// The entry function made for `entry`'s own type ([`dispatch::enter_with`]), which a site
    /// publishes while this ops is its direct path.
    pub(crate) enter: Option<EnterFn>,
    pub(crate) exit: Option<Callback>,
    /// Flags in force while registered; written under the registry lock before publication, so a
    /// reader that found this ops through a snapshot (Acquire) sees them.
    active_flags: AtomicU32,
    /// Bumped at every registration, so exit callbacks are never owed across registrations.
    generation: AtomicU64,
    /// Its direct path, which holds its `live` word: 0 once disabled, else `enter`'s address (see
    /// [`Direct`]).
    pub(crate) direct: Direct,
    pub(crate) state: Mutex<OpsState>,
    pub(crate) error: Mutex<Option<String>>,
    /// `Ops` handles alive; the last one dropped unregisters.
    pub(crate) handles: AtomicUsize,
}

/// Filters and flags as the user set them; protected by `OpsInner::state`.
#[derive(Clone, Default)]
pub(crate) struct OpsState {
    pub(crate) flags: Flags,
    pub(crate) filter: SiteSet,
    pub(crate) notrace: SiteSet,
    pub(crate) registered: bool,
}

impl OpsState {
    /// Whether the ops, so filtered, is attached to site `index` (empty filter = all; notrace wins).
    pub(crate) fn selects(&self, index: usize) -> bool {
        (self.filter.is_empty() || self.filter.contains(index)) && !self.notrace.contains(index)
    }
}

impl OpsInner {
    /// A new ops, as its first handle.
    pub(crate) fn new(
        entry: Option<Callback>,
        enter: Option<EnterFn>,
        exit: Option<Callback>,
        flags: Flags,
    ) -> Arc<Self> {
        let direct = Direct::new(enter, entry.as_deref());
        let mut ops = Arc::new(Self {
            entry,
            enter,
            exit,
            active_flags: AtomicU32::new(flags.bits()),
            generation: AtomicU64::new(0),
            direct,
            state: Mutex::new(OpsState {
                flags,
                ..OpsState::default()
            }),
            error: Mutex::new(None),
            handles: AtomicUsize::new(1),
        });
        Direct::attach(&mut ops);
        ops
    }

    #[inline]
    pub(crate) fn flags(&self) -> Flags {
        // Relaxed: see the field's comment.
        Flags::from_bits(self.active_flags.load(Ordering::Relaxed))
    }

    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        // Relaxed: written before publication like `active_flags`.
        self.generation.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn is_disabled(&self) -> bool {
        self.live() == 0
    }

    /// 0 when disabled, else the address of the ops' typed entry function (1 without one).
    #[inline(always)]
    pub(crate) fn live(&self) -> usize {
        // Relaxed: see `Direct::live`.
        self.direct.word().load(Ordering::Relaxed)
    }

    /// Disables the ops; returns whether it was enabled.
    fn disable(&self) -> bool {
        self.direct.word().swap(0, Ordering::Relaxed) != 0
    }
}

struct Registry {
    /// Registered ops, in registration order (the order callbacks run in).
    ops: Vec<Arc<OpsInner>>,
    enabled: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    ops: Vec::new(),
    enabled: true,
});

/// Ops disabled by a panicking callback (or whose last handle was dropped inside a callback), waiting
/// for a writer to remove them.
static PENDING: Mutex<Vec<Arc<OpsInner>>> = Mutex::new(Vec::new());

/// Runs one change under the registry lock, publishes what changed, waits a grace period if anything
/// was unpublished, and frees it (outside the lock: dropping an ops runs user destructors).
fn write<R>(change: impl FnOnce(&mut Registry) -> Result<R, Error>) -> Result<R, Error> {
    if sync::in_read_section() {
        return Err(Error::InsideCallback);
    }
    crate::init::ensure();
    let mut retired = Vec::new();
    let result = {
        let mut registry = REGISTRY.lock();
        remove_pending(&mut registry);
        let result = change(&mut registry);
        publish(&registry, &mut retired);
        if !retired.is_empty() {
            sync::synchronize();
        }
        result
    };
    for snapshot in retired {
        // SAFETY: each was made by Box::into_raw in `publish`, unpublished, and a grace period has
        // passed since, so no reader holds it.
        drop(unsafe { Box::from_raw(snapshot) });
    }
    result
}

fn remove_pending(registry: &mut Registry) {
    let pending = std::mem::take(&mut *PENDING.lock());
    for ops in pending {
        if let Some(position) = registry.ops.iter().position(|o| Arc::ptr_eq(o, &ops)) {
            registry.ops.remove(position);
            ops.state.lock().registered = false;
        }
    }
}

/// Turns off the hook point of every site without an ops, once, at the runtime's first touch (see
/// [`super::patch`]); until then every hook point jumps.
pub(crate) fn boot() {
    let _registry = REGISTRY.lock();
    if let Ok(code) = patch::code() {
        for (index, site) in site::all().iter().enumerate() {
            // Relaxed: only writers store this pointer, and we hold the writers' lock.
            if site.snapshot(Ordering::Relaxed).is_null() {
                code.set(index, false);
            }
        }
    }
}

/// Recomputes every site's set of ops and publishes those that changed; old snapshots go to `retired`.
/// A site that gained its first ops has its hook points turned on, and every thread serialized,
/// before this returns; one that lost its last has them turned off.
fn publish(registry: &Registry, retired: &mut Vec<*mut Snapshot>) {
    let code = patch::code().as_ref().ok();
    let mut turned_on = false;
    let states: Vec<(Arc<OpsInner>, OpsState)> = registry
        .ops
        .iter()
        .filter(|ops| !ops.is_disabled())
        .map(|ops| (Arc::clone(ops), ops.state.lock().clone()))
        .collect();
    for (index, site) in site::all().iter().enumerate() {
        let wanted: Vec<&Arc<OpsInner>> = if registry.enabled {
            states
                .iter()
                .filter(|(_, state)| state.selects(index))
                .map(|(ops, _)| ops)
                .collect()
        } else {
            Vec::new()
        };
        // Relaxed: only writers store this pointer, and we hold the writers' lock.
        let current = site.snapshot(Ordering::Relaxed);
        let unchanged = if current.is_null() {
            wanted.is_empty()
        } else {
            // SAFETY: a published snapshot stays valid until a writer (us) retires it.
            let current = unsafe { &*current };
            current.entries.len() == wanted.len()
                && current
                    .entries
                    .iter()
                    .zip(&wanted)
                    .all(|(a, b)| Arc::ptr_eq(&a.ops, b) && a.generation == b.generation())
        };
        if unchanged {
            continue;
        }
        let next = if wanted.is_empty() {
            std::ptr::null_mut()
        } else {
            Box::into_raw(Box::new(Snapshot::new(
                wanted
                    .into_iter()
                    .map(|ops| SnapEntry::new(ops, site))
                    .collect(),
            )))
        };
        let (direct, enter) = if next.is_null() {
            (
                (&raw const dispatch::NO_DIRECT).cast_mut(),
                dispatch::enter_dyn as EnterFn,
            )
        } else {
            // SAFETY: `next` is the snapshot just built, ours until published.
            unsafe { ((*next).direct_ptr(), (*next).enter_fn()) }
        };
        // Release: a reader that loads `next` or `direct` (Acquire) sees the snapshot and the ops'
        // flags. Readers may briefly see one pointer of the old snapshot and one of the new: both
        // stay alive until the grace period that follows this publication.
        site.direct.store(direct, Ordering::Release);
        site.dispatch.store(next, Ordering::Release);
        // Relaxed: the entry function checks inside its read-side section that it was made for
        // the direct path it finds, so any order of these stores is safe.
        site.enter.store(enter as *mut (), Ordering::Relaxed);
        if let Some(code) = code {
            turned_on |= code.set(index, !next.is_null());
        }
        if !current.is_null() {
            retired.push(current);
        }
    }
    if turned_on && let Some(code) = code {
        code.sync();
    }
}

/// Checks that `state` may be in force for `ops` alongside the other registered ops.
fn validate(registry: &Registry, ops: &Arc<OpsInner>, state: &OpsState) -> Result<(), Error> {
    let sites = site::all();
    let flags = state.flags;
    if flags.contains(Flags::IPMODIFY) {
        if !flags.contains(Flags::SAVE_REGS) {
            return Err(Error::IpmodifyNeedsSaveRegs);
        }
        if state.filter.is_empty() {
            return Err(Error::IpmodifyNeedsFilter);
        }
        if !state.notrace.is_empty() {
            return Err(Error::IpmodifyWithNotrace);
        }
        for index in state.filter.iter() {
            let site = sites[index];
            if !site.can_redirect() {
                return Err(Error::IpmodifyUnsupported { site });
            }
            let taken = registry.ops.iter().any(|other| {
                !Arc::ptr_eq(other, ops)
                    && !other.is_disabled()
                    && other.flags().contains(Flags::IPMODIFY)
                    && other.state.lock().selects(index)
            });
            if taken {
                return Err(Error::IpmodifyConflict { site });
            }
        }
    }
    if flags.contains(Flags::SAVE_REGS)
        && let Some(site) = (0..sites.len())
            .filter(|&index| state.selects(index))
            .map(|index| sites[index])
            .find(|site| !site.has_args())
    {
        return Err(Error::SaveRegsUnsupported { site });
    }
    Ok(())
}

pub(crate) fn register(ops: &Arc<OpsInner>) -> Result<(), Error> {
    write(|registry| {
        let state = ops.state.lock();
        if state.registered {
            return Err(Error::AlreadyRegistered);
        }
        if state.flags.contains(Flags::PERMANENT) && !registry.enabled {
            return Err(Error::Disabled);
        }
        let candidate = state.clone();
        drop(state);
        validate(registry, ops, &candidate)?;
        ops.active_flags
            .store(candidate.flags.bits(), Ordering::Relaxed);
        ops.generation.fetch_add(1, Ordering::Relaxed);
        ops.direct
            .word()
            .store(Direct::enabled(ops.enter), Ordering::Relaxed);
        *ops.error.lock() = None;
        ops.state.lock().registered = true;
        registry.ops.push(Arc::clone(ops));
        Ok(())
    })
}

pub(crate) fn unregister(ops: &Arc<OpsInner>) -> Result<(), Error> {
    write(|registry| {
        let mut state = ops.state.lock();
        if !state.registered {
            return Err(Error::NotRegistered);
        }
        state.registered = false;
        registry.ops.retain(|o| !Arc::ptr_eq(o, ops));
        Ok(())
    })
}

/// Changes an ops' filters with `edit`; if the ops is registered, validates and republishes. On any
/// error nothing changes.
pub(crate) fn update(
    ops: &Arc<OpsInner>,
    edit: impl FnOnce(&mut OpsState) -> Result<(), Error>,
) -> Result<(), Error> {
    write(|registry| {
        let mut candidate = ops.state.lock().clone();
        edit(&mut candidate)?;
        if candidate.registered {
            // Flags of a registered ops are the ones it registered with.
            candidate.flags = ops.flags();
            validate(registry, ops, &candidate)?;
        }
        let mut state = ops.state.lock();
        state.filter = candidate.filter;
        state.notrace = candidate.notrace;
        Ok(())
    })
}

/// Drops an ops whose last handle went away: unregisters it now, or later if this thread is inside a
/// callback.
pub(crate) fn release(ops: &Arc<OpsInner>) {
    if !ops.state.lock().registered {
        return;
    }
    if sync::in_read_section() {
        ops.disable();
        PENDING.lock().push(Arc::clone(ops));
    } else {
        // NotRegistered here only means a panic already took it out; nothing to report from a drop.
        let _ = unregister(ops);
    }
}

/// A callback of `ops` panicked on `site`: disable it at once, keep the message, queue its removal.
pub(crate) fn fail(ops: &Arc<OpsInner>, site: &Site, payload: &(dyn Any + Send)) {
    if !ops.disable() {
        return;
    }
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    *ops.error.lock() = Some(format!("callback panicked in `{}`: {message}", site.path()));
    PENDING.lock().push(Arc::clone(ops));
}

/// Removes ops queued by [`fail`] or [`release`], if this thread can wait for a grace period now.
pub(crate) fn process_pending() {
    if PENDING.lock().is_empty() {
        return;
    }
    let _ = write(|_| Ok(()));
}

pub(crate) fn set_enabled(enabled: bool) -> Result<(), Error> {
    write(|registry| {
        if !enabled
            && registry
                .ops
                .iter()
                .any(|ops| ops.flags().contains(Flags::PERMANENT))
        {
            return Err(Error::PermanentRegistered);
        }
        registry.enabled = enabled;
        Ok(())
    })
}

pub(crate) fn is_enabled() -> bool {
    REGISTRY.lock().enabled
}

/// Whether `ops` is registered (a panic-disabled ops counts as removed).
pub(crate) fn is_registered(ops: &OpsInner) -> bool {
    ops.state.lock().registered && !ops.is_disabled()
}

/// One line of `enabled_functions`: a site with ops attached.
#[derive(Clone, Debug)]
pub struct EnabledFunction {
    /// The function.
    pub site: &'static Site,
    /// How many ops are attached.
    pub count: usize,
    /// The union of the attached ops' flags.
    pub flags: Flags,
}

/// Like the kernel's `enabled_functions` line: `name (count) R I`.
impl std::fmt::Display for EnabledFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}){}{}",
            self.site.name(),
            self.count,
            if self.flags.wants_args() { " R" } else { "  " },
            if self.flags.contains(Flags::IPMODIFY) {
                " I"
            } else {
                "  "
            },
        )
    }
}

/// The sites that have ops attached, in `available_functions()` order.
pub(crate) fn enabled_functions() -> Vec<EnabledFunction> {
    let _registry = REGISTRY.lock();
    site::all()
        .iter()
        .filter_map(|&site| {
            // Relaxed: we hold the writers' lock, so the pointer and what it points to are stable.
            let snapshot = site.snapshot(Ordering::Relaxed);
            if snapshot.is_null() {
                return None;
            }
            // SAFETY: published snapshots stay valid while the writers' lock is held.
            let snapshot = unsafe { &*snapshot };
            let flags = snapshot
                .entries
                .iter()
                .fold(Flags::NONE, |acc, entry| acc | entry.flags);
            Some(EnabledFunction {
                site,
                count: snapshot.entries.len(),
                flags,
            })
        })
        .collect()
}
