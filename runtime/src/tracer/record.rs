//! The hot path of the tracers: the callbacks their ops run at each traced call.
//!
//! - function: one `Func` event (site, parent) per call.
//! - function_graph: an `Entry` event at entry and a `Return` event with the duration at exit. The
//!   entry's timestamp and the facts the exit needs travel in the call's data word
//!   ([`Call::set_data`]), as the kernel's fgraph keeps them in its return stack. The depth is the
//!   number of enclosing *recorded* calls on the thread (the kernel's `curr_ret_depth`).
//! - profiler: hits, and time per call, in a per-thread table indexed by site.
//!
//! Nothing here locks or allocates, except a thread's first event (its ring, its profile table).

use super::clock::TraceClock;
use super::ring::{self, FLAG_ASYNC, FLAG_UNWIND, Kind};
use super::slot::{self, Retire, ThreadSlot};
use crate::ftrace::thread::Node;
use crate::ftrace::{Call, Phase};
use crate::site;
use crate::thread::{self, ThreadState};
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// A set of sites readable on the hot path and updated in place by the control plane.
pub(crate) struct SiteBits {
    words: Box<[AtomicU64]>,
    any: AtomicBool,
}

impl SiteBits {
    pub(crate) fn new() -> Self {
        Self {
            words: (0..site::all().len().div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            any: AtomicBool::new(false),
        }
    }

    #[inline(always)]
    pub(crate) fn contains(&self, index: usize) -> bool {
        // Relaxed: configuration; a call racing a change sees the old or the new set.
        self.words
            .get(index / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (index % 64)) != 0)
    }

    #[inline(always)]
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Replaces the set with the sites `selects` accepts.
    pub(crate) fn assign(&self, selects: impl Fn(usize) -> bool) {
        let mut any = false;
        for (w, word) in self.words.iter().enumerate() {
            let mut bits = 0u64;
            for bit in 0..64 {
                if selects(w * 64 + bit) {
                    bits |= 1 << bit;
                }
            }
            any |= bits != 0;
            word.store(bits, Ordering::Relaxed);
        }
        self.any.store(any, Ordering::Relaxed);
    }
}

/// The configuration the function_graph callbacks read, shared with the control plane.
pub(crate) struct GraphShared {
    /// Distinguishes registrations: per-thread depth state from an earlier one is reset.
    pub(crate) session: u64,
    pub(crate) clock: &'static TraceClock,
    /// `set_graph_function`: when non-empty, only these and what they call are recorded.
    pub(crate) functions: SiteBits,
    /// `set_graph_notrace`: these and what they call are not recorded.
    pub(crate) notrace: SiteBits,
    /// `async fn` sites the tracer is attached to (their polls nest what they call).
    pub(crate) attached_async: SiteBits,
    /// `max_graph_depth` (0: unlimited).
    pub(crate) max_depth: AtomicU32,
}

/// Per-thread function_graph state (in the runtime's destructor-free thread state).
pub(crate) struct GraphThread {
    session: Cell<u64>,
    /// Recorded sync calls open on this thread.
    depth: Cell<u32>,
    /// Open calls of `set_graph_function` functions.
    in_functions: Cell<u32>,
    /// Open calls of `set_graph_notrace` functions.
    in_notrace: Cell<u32>,
}

impl GraphThread {
    pub(crate) const fn new() -> Self {
        Self {
            session: Cell::new(0),
            depth: Cell::new(0),
            in_functions: Cell::new(0),
            in_notrace: Cell::new(0),
        }
    }

    #[inline(always)]
    fn enter_session(&self, session: u64) {
        if self.session.get() != session {
            self.session.set(session);
            self.depth.set(0);
            self.in_functions.set(0);
            self.in_notrace.set(0);
        }
    }
}

// The graph data word: flags in the low bits, the depth the entry was recorded at, the entry time.
const D_RECORDED: u64 = 1 << 0;
const D_FUNCTION: u64 = 1 << 1;
const D_NOTRACE: u64 = 1 << 2;
const D_ASYNC: u64 = 1 << 3;
const D_DEPTH_SHIFT: u32 = 4;
const D_DEPTH_MASK: u64 = 0xfff;
const D_TIME_SHIFT: u32 = 16;
/// Entry times are kept modulo 2^48 ticks (about a day at 3 GHz): durations up to that are exact.
const TIME_MASK: u64 = (1 << 48) - 1;

/// What the enclosing `async fn` polls contribute: (their count, inside a graph function, inside a
/// graph-notrace function). Only walked when the tracer is attached to some `async fn`.
fn async_context(shared: &GraphShared, node: *const Node) -> (u32, bool, bool) {
    let (mut depth, mut function, mut notrace) = (0, false, false);
    // SAFETY: `node` is the parent link of the call whose callback is running on this thread.
    for link in unsafe { Node::chain(node) } {
        if link.site.is_async()
            && let Some(index) = site::index_of(link.site)
            && shared.attached_async.contains(index)
        {
            depth += 1;
            function |= shared.functions.contains(index);
            notrace |= shared.notrace.contains(index);
        }
    }
    (depth, function, notrace)
}

/// function_graph entry.
pub(crate) fn graph_entry(shared: &GraphShared, call: &Call<'_>) {
    let thread = thread::current();
    let state = &thread.tracer.graph;
    state.enter_session(shared.session);
    let site = call.site();
    let Some(index) = site::index_of(site) else {
        return;
    };
    let is_async = site.is_async();
    let (async_depth, async_function, async_notrace) = if shared.attached_async.any() {
        async_context(shared, call.node.prev)
    } else {
        (0, false, false)
    };
    if state.in_notrace.get() > 0 || async_notrace {
        return;
    }
    if shared.notrace.contains(index) {
        if !is_async {
            state.in_notrace.set(state.in_notrace.get() + 1);
            call.set_data(D_NOTRACE);
        }
        return;
    }
    let is_function = shared.functions.contains(index);
    if shared.functions.any() && !is_function && state.in_functions.get() == 0 && !async_function {
        return;
    }
    let depth = state.depth.get() + async_depth;
    let max = shared.max_depth.load(Ordering::Relaxed);
    if max != 0 && depth >= max {
        return;
    }
    let now = shared.clock.raw();
    let mut data = D_RECORDED | (now & TIME_MASK) << D_TIME_SHIFT;
    let mut flags = 0;
    data |= (u64::from(depth) & D_DEPTH_MASK) << D_DEPTH_SHIFT;
    if is_async {
        data |= D_ASYNC;
        flags |= FLAG_ASYNC;
    } else {
        state.depth.set(state.depth.get() + 1);
        if is_function {
            data |= D_FUNCTION;
            state.in_functions.set(state.in_functions.get() + 1);
        }
    }
    call.set_data(data);
    record(thread, now, Kind::Entry, flags, depth, index, 0);
}

/// function_graph exit.
pub(crate) fn graph_exit(shared: &GraphShared, call: &Call<'_>) {
    let data = call.data();
    let thread = thread::current();
    let state = &thread.tracer.graph;
    let fresh = state.session.get() == shared.session;
    state.enter_session(shared.session);
    if data & D_NOTRACE != 0 {
        if fresh {
            state
                .in_notrace
                .set(state.in_notrace.get().saturating_sub(1));
        }
        return;
    }
    if data & D_RECORDED == 0 {
        return;
    }
    let now = shared.clock.raw();
    let mut flags = if call.phase() == Phase::Unwind {
        FLAG_UNWIND
    } else {
        0
    };
    if data & D_ASYNC != 0 {
        flags |= FLAG_ASYNC;
    } else if fresh {
        state.depth.set(state.depth.get().saturating_sub(1));
        if data & D_FUNCTION != 0 {
            state
                .in_functions
                .set(state.in_functions.get().saturating_sub(1));
        }
    }
    // The depth the entry was recorded at (it includes enclosing async polls).
    let depth = ((data >> D_DEPTH_SHIFT) & D_DEPTH_MASK) as u32;
    let start = data >> D_TIME_SHIFT;
    let duration = (now & TIME_MASK).wrapping_sub(start) & TIME_MASK;
    let Some(index) = site::index_of(call.site()) else {
        return;
    };
    record(thread, now, Kind::Return, flags, depth, index, duration);
}

/// function tracer entry.
pub(crate) fn function_entry(clock: &TraceClock, call: &Call<'_>) {
    let Some(index) = site::index_of(call.site()) else {
        return;
    };
    let parent = call
        .parent()
        .and_then(site::index_of)
        .map_or(0, |p| p as u64 + 1);
    record(
        thread::current(),
        clock.raw(),
        Kind::Func,
        0,
        0,
        index,
        parent,
    );
}

#[inline(always)]
fn record(
    thread: &ThreadState,
    ts: u64,
    kind: Kind,
    flags: u8,
    depth: u32,
    index: usize,
    arg: u64,
) {
    let depth = u16::try_from(depth).unwrap_or(u16::MAX);
    let site = u32::try_from(index).unwrap_or(u32::MAX);
    ring::record(thread, &ring::event(ts, kind, flags, depth, site, arg));
}

/// The sites of the thread's stack at a call of `site`, innermost first (for `stacktrace`).
pub(crate) fn stack_of(call: &Call<'_>) -> Box<[u32]> {
    // SAFETY: the parent link of the call whose callback is running on this thread.
    let outer = unsafe { Node::chain(call.node.prev) }.map(|link| link.site);
    std::iter::once(call.site())
        .chain(outer)
        .filter_map(site::index_of)
        .map(|index| u32::try_from(index).unwrap_or(u32::MAX))
        .collect()
}

/// One function's profile counters in one thread's table.
#[derive(Default)]
pub(crate) struct ProfileCell {
    pub(crate) hits: AtomicU64,
    pub(crate) nanos: AtomicU64,
    /// Sum of squared durations (ns²), as `f64` bits.
    pub(crate) squares: AtomicU64,
}

/// One thread's profile: a cell per site. Written by its thread only, read by `trace_stat`.
pub(crate) struct ProfileTable {
    pub(crate) cells: Box<[ProfileCell]>,
    retired: AtomicBool,
}

/// Every profile table since the last reset.
pub(crate) static PROFILES: Mutex<Vec<Arc<ProfileTable>>> = Mutex::new(Vec::new());

impl Retire for ProfileTable {
    fn retired(&self) -> &AtomicBool {
        &self.retired
    }
}

/// Drops every table (the counters restart from zero: `echo 1 > function_profile_enabled`).
pub(crate) fn reset_profiles() {
    slot::retire_all(&PROFILES);
}

/// Profiler entry: remembers the entry time in the call's data word.
pub(crate) fn profile_entry(clock: &TraceClock, call: &Call<'_>) {
    call.set_data(clock.raw());
}

/// Profiler exit: one hit and its duration.
pub(crate) fn profile_exit(clock: &TraceClock, call: &Call<'_>) {
    let nanos = clock.delta_nanos(call.data(), clock.raw());
    let Some(index) = site::index_of(call.site()) else {
        return;
    };
    let thread = thread::current();
    let Some(table) = thread
        .tracer
        .profile
        .get_or_install(thread, &PROFILES, || ProfileTable {
            cells: (0..site::all().len())
                .map(|_| ProfileCell::default())
                .collect(),
            retired: AtomicBool::new(false),
        })
    else {
        return;
    };
    let Some(cell) = table.cells.get(index) else {
        return;
    };
    // Relaxed load + store: only this thread writes its table; readers accept a slightly stale view.
    let add = |counter: &AtomicU64, value: u64| {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(value),
            Ordering::Relaxed,
        );
    };
    add(&cell.hits, 1);
    add(&cell.nanos, nanos);
    let squares = f64::from_bits(cell.squares.load(Ordering::Relaxed));
    #[allow(clippy::cast_precision_loss, reason = "a variance estimate")]
    let square = (nanos as f64) * (nanos as f64);
    cell.squares
        .store((squares + square).to_bits(), Ordering::Relaxed);
}

/// The per-thread tracer state: ring, graph depth, profile table.
pub(crate) struct TracerThread {
    pub(crate) ring: ThreadSlot<ring::Ring>,
    pub(crate) graph: GraphThread,
    pub(crate) profile: ThreadSlot<ProfileTable>,
}

impl TracerThread {
    pub(crate) const fn new() -> Self {
        Self {
            ring: ThreadSlot::new(),
            graph: GraphThread::new(),
            profile: ThreadSlot::new(),
        }
    }

    pub(crate) fn tear_down(&self) {
        self.ring.tear_down();
        self.profile.tear_down();
    }
}
