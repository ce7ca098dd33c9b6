//! The tracer configuration (the state behind the tracefs files) and the ops it registers.
//!
//! One global configuration, as the kernel's top-level tracing instance: the current tracer and
//! its ops, the filter and notrace sets of `set_ftrace_filter`/`set_ftrace_notrace` (shared by the
//! tracer and the profiler), the graph settings, the options, the profiler's ops and the triggers'
//! ops. Every change takes one mutex and is all-or-nothing.

use super::record::{self, GraphShared, SiteBits};
use super::triggers::{self, Trigger};
use super::{Error, Kind, Options, clock, ring};
use crate::ftrace::filter::{self, SiteSet};
use crate::ftrace::{Flags, Ops};
use crate::site::{self, Site};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) struct Control {
    pub(crate) kind: Kind,
    tracer_ops: Option<Ops>,
    graph: Option<Arc<GraphShared>>,
    pub(crate) filter: SiteSet,
    pub(crate) notrace: SiteSet,
    pub(crate) graph_functions: SiteSet,
    pub(crate) graph_notrace: SiteSet,
    pub(crate) max_depth: u32,
    pub(crate) options: Options,
    profile_ops: Option<Ops>,
    pub(crate) triggers: Vec<Arc<Trigger>>,
    trigger_ops: Option<Ops>,
    sessions: u64,
}

static CONTROL: Mutex<Control> = Mutex::new(Control {
    kind: Kind::Nop,
    tracer_ops: None,
    graph: None,
    filter: SiteSet::EMPTY,
    notrace: SiteSet::EMPTY,
    graph_functions: SiteSet::EMPTY,
    graph_notrace: SiteSet::EMPTY,
    max_depth: 0,
    options: Options::DEFAULT,
    profile_ops: None,
    triggers: Vec::new(),
    trigger_ops: None,
    sessions: 0,
});

/// Runs `f` with the configuration locked.
pub(crate) fn with<R>(f: impl FnOnce(&mut Control) -> R) -> R {
    crate::init::ensure();
    f(&mut CONTROL.lock())
}

impl Control {
    /// Switches the current tracer (`current_tracer`). The trace is cleared, as the kernel does; the
    /// tracer already current is left as it is.
    pub(crate) fn set_kind(&mut self, kind: Kind) -> Result<(), Error> {
        if kind == self.kind {
            // The kernel's tracing_set_tracer: the same tracer again changes nothing.
            return Ok(());
        }
        if let Some(ops) = self.tracer_ops.take()
            && let Err(error) = ops.unregister()
        {
            self.tracer_ops = Some(ops);
            return Err(error.into());
        }
        self.graph = None;
        ring::clear();
        self.kind = Kind::Nop;
        let clock = clock::get();
        let ops = match kind {
            Kind::Nop => return Ok(()),
            Kind::Function => Ops::new(move |call| record::function_entry(clock, call)),
            Kind::FunctionGraph => {
                self.sessions += 1;
                let shared = Arc::new(GraphShared {
                    session: self.sessions,
                    clock,
                    functions: SiteBits::new(),
                    notrace: SiteBits::new(),
                    attached_async: SiteBits::new(),
                    max_depth: AtomicU32::new(self.max_depth),
                });
                let (entry, exit) = (Arc::clone(&shared), Arc::clone(&shared));
                self.graph = Some(shared);
                self.sync_graph();
                Ops::with_exit(
                    move |call| record::graph_entry(&entry, call),
                    move |call| record::graph_exit(&exit, call),
                )
            }
        }
        .with_flags(Flags::RCU);
        ops.set_sets(self.filter.clone(), self.notrace.clone())?;
        ops.register()?;
        self.tracer_ops = Some(ops);
        self.kind = kind;
        Ok(())
    }

    /// Pushes the graph settings to the registered graph tracer's shared state.
    fn sync_graph(&self) {
        let Some(shared) = &self.graph else {
            return;
        };
        shared
            .functions
            .assign(|i| self.graph_functions.contains(i));
        shared.notrace.assign(|i| self.graph_notrace.contains(i));
        let sites = site::all();
        shared.attached_async.assign(|i| {
            sites.get(i).is_some_and(|s| s.is_async())
                && (self.filter.is_empty() || self.filter.contains(i))
                && !self.notrace.contains(i)
        });
        shared.max_depth.store(self.max_depth, Ordering::Relaxed);
    }

    /// Sets the filter and notrace sets, on every ops that uses them; all or nothing.
    pub(crate) fn set_filters(&mut self, filter: SiteSet, notrace: SiteSet) -> Result<(), Error> {
        let old = (self.filter.clone(), self.notrace.clone());
        let users: Vec<&Ops> = self.tracer_ops.iter().chain(&self.profile_ops).collect();
        for (done, ops) in users.iter().enumerate() {
            if let Err(error) = ops.set_sets(filter.clone(), notrace.clone()) {
                for ops in &users[..done] {
                    // Restoring sets that were in force a moment ago cannot fail validation.
                    let _ = ops.set_sets(old.0.clone(), old.1.clone());
                }
                return Err(error.into());
            }
        }
        self.filter = filter;
        self.notrace = notrace;
        self.sync_graph();
        Ok(())
    }

    /// Applies filter tokens to a set (`append` is `>>`).
    pub(crate) fn apply(set: &SiteSet, patterns: &str, append: bool) -> Result<SiteSet, Error> {
        Ok(filter::apply(set, patterns, !append, site::all())?)
    }

    pub(crate) fn set_graph_sets(&mut self, functions: SiteSet, notrace: SiteSet) {
        self.graph_functions = functions;
        self.graph_notrace = notrace;
        self.sync_graph();
    }

    pub(crate) fn set_max_depth(&mut self, depth: u32) {
        self.max_depth = depth;
        self.sync_graph();
    }

    /// Turns the profiler on (counters reset) or off (counters kept for `trace_stat`).
    pub(crate) fn set_profiling(&mut self, on: bool) -> Result<(), Error> {
        if on == self.profile_ops.is_some() {
            return Ok(());
        }
        if let Some(ops) = self.profile_ops.take() {
            if let Err(error) = ops.unregister() {
                self.profile_ops = Some(ops);
                return Err(error.into());
            }
            return Ok(());
        }
        record::reset_profiles();
        let clock = clock::get();
        let ops = Ops::with_exit(
            move |call| record::profile_entry(clock, call),
            move |call| record::profile_exit(clock, call),
        )
        .with_flags(Flags::RCU);
        ops.set_sets(self.filter.clone(), self.notrace.clone())?;
        ops.register()?;
        self.profile_ops = Some(ops);
        Ok(())
    }

    pub(crate) fn is_profiling(&self) -> bool {
        self.profile_ops.is_some()
    }

    /// Installs a new trigger list: the triggers' ops is replaced by one attached to their sites.
    pub(crate) fn set_triggers(&mut self, next: Vec<Arc<Trigger>>) -> Result<(), Error> {
        if let Some(ops) = self.trigger_ops.take()
            && let Err(error) = ops.unregister()
        {
            self.trigger_ops = Some(ops);
            return Err(error.into());
        }
        self.triggers = next;
        if self.triggers.is_empty() {
            return Ok(());
        }
        let table = triggers::table(&self.triggers);
        let mut sites = SiteSet::new();
        for trigger in &self.triggers {
            sites.insert(trigger.site);
        }
        let ops = Ops::new(move |call| triggers::fire(&table, call)).with_flags(Flags::RCU);
        ops.set_sets(sites, SiteSet::new())?;
        ops.register()?;
        self.trigger_ops = Some(ops);
        Ok(())
    }
}

/// The names of the sites in `set`, one per line, in `available_filter_functions` order.
pub(crate) fn list(set: &SiteSet) -> Vec<&'static Site> {
    let sites = site::all();
    set.iter().filter_map(|i| sites.get(i).copied()).collect()
}
