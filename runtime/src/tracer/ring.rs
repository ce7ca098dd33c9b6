//! Per-thread ring buffers: bounded, overwrite-oldest, written without a lock or an allocation.
//!
//! Each thread that records gets its own [`Ring`] (allocated at its first event). Only that thread
//! writes it; readers on other threads copy it out concurrently. Every slot is four `AtomicU64`
//! words written with relaxed stores, so a reader racing a writer reads stale or mixed words but
//! never undefined behaviour; it then re-reads the head and drops every slot a writer may have
//! touched meanwhile (the seqlock argument, with the head as the sequence).
//!
//! Rings outlive their threads (a trace is read after the workers exit) and are dropped when the
//! trace is cleared or the buffer size changes.

use super::clock;
use super::slot::{self, Retire};
use crate::thread::ThreadState;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Function tracer: a call, with its parent.
    Func = 1,
    /// function_graph: a function was entered.
    Entry = 2,
    /// function_graph: a function returned (or unwound), with its duration.
    Return = 3,
    /// A `trace_marker` write (text in the side table).
    Marker = 4,
    /// A `stacktrace` trigger fired (the stack in the side table).
    Stack = 5,
}

impl Kind {
    fn from_bits(bits: u64) -> Option<Self> {
        Some(match bits {
            1 => Self::Func,
            2 => Self::Entry,
            3 => Self::Return,
            4 => Self::Marker,
            5 => Self::Stack,
            _ => return None,
        })
    }
}

/// A `Return` left by a panic unwinding through the function.
pub(crate) const FLAG_UNWIND: u8 = 1 << 0;
/// An `Entry` / `Return` of an `async fn` (from first poll to completion).
pub(crate) const FLAG_ASYNC: u8 = 1 << 1;

/// One recorded event, decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    /// Raw clock reading.
    pub(crate) ts: u64,
    pub(crate) kind: Kind,
    pub(crate) flags: u8,
    pub(crate) depth: u16,
    /// 0-based site index (`Func`, `Entry`, `Return`).
    pub(crate) site: u32,
    /// `Func`: parent site index + 1 (0: none). `Return`: duration in raw ticks. `Marker`, `Stack`:
    /// side-table id.
    pub(crate) arg: u64,
    pub(crate) cpu: u32,
}

impl Event {
    fn encode(&self) -> [u64; 4] {
        [
            self.ts,
            self.kind as u64
                | u64::from(self.flags) << 8
                | u64::from(self.depth) << 16
                | u64::from(self.site) << 32,
            self.arg,
            u64::from(self.cpu),
        ]
    }

    fn decode(words: [u64; 4]) -> Option<Self> {
        Some(Self {
            ts: words[0],
            kind: Kind::from_bits(words[1] & 0xff)?,
            flags: (words[1] >> 8) as u8,
            depth: (words[1] >> 16) as u16,
            site: (words[1] >> 32) as u32,
            arg: words[2],
            cpu: words[3] as u32,
        })
    }
}

/// Bytes one event takes in a ring (`buffer_size_kb` is divided by this).
pub(crate) const EVENT_BYTES: usize = 32;

/// One thread's buffer.
pub(crate) struct Ring {
    /// One slot more than the events the ring shows: the slot a writer may be filling while a
    /// reader copies is never one the reader reports.
    slots: Box<[[AtomicU64; 4]]>,
    /// Events ever written; the next one goes to slot `head % slots.len()`.
    head: AtomicU64,
    /// `head % slots.len()`, kept by the writer so the hot path does not divide.
    position: AtomicUsize,
    /// Set when the ring is replaced (buffer resized): its thread moves to a new ring.
    retired: AtomicBool,
    /// Events below this index were cleared (`echo > trace`).
    cleared: AtomicU64,
    /// Events below this index were consumed by `trace_pipe`.
    consumed: AtomicU64,
    /// The thread's id (`gettid`) and name: the trace's TASK-PID column.
    pub(crate) tid: u32,
    pub(crate) name: Box<str>,
}

impl Ring {
    fn new(entries: usize, tid: u32, name: Box<str>) -> Self {
        // SAFETY: all-zero bytes are a valid `AtomicU64`. A zeroed allocation comes from `calloc`,
        // so pages are only touched as events fill them.
        let slots =
            unsafe { Box::<[[AtomicU64; 4]]>::new_zeroed_slice(entries.max(1) + 1).assume_init() };
        Self {
            slots,
            head: AtomicU64::new(0),
            position: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            cleared: AtomicU64::new(0),
            consumed: AtomicU64::new(0),
            tid,
            name,
        }
    }

    /// Events the ring keeps.
    fn capacity(&self) -> u64 {
        self.slots.len() as u64 - 1
    }

    fn slot(&self, index: u64) -> &[AtomicU64; 4] {
        &self.slots[(index % self.slots.len() as u64) as usize]
    }

    /// Appends one event, overwriting the oldest when full. Only the owning thread calls this.
    #[inline(always)]
    fn push(&self, event: &Event) {
        // Relaxed: only this thread writes `head`.
        let head = self.head.load(Ordering::Relaxed);
        // Release fence before the slot stores: a reader that sees any word of this event and then
        // issues an Acquire fence also sees `head` at least at this event's index (seqlock rule).
        fence(Ordering::Release);
        // Relaxed: only this thread uses `position`.
        let position = self.position.load(Ordering::Relaxed);
        for (word, value) in self.slots[position].iter().zip(event.encode()) {
            word.store(value, Ordering::Relaxed);
        }
        let next = position + 1;
        self.position.store(
            if next == self.slots.len() { 0 } else { next },
            Ordering::Relaxed,
        );
        // Release: a reader that sees the new head sees the slot's words.
        self.head.store(head + 1, Ordering::Release);
    }

    /// Copies out the readable events (oldest first), and the head they end at.
    fn read(&self) -> (Vec<Event>, u64) {
        // Acquire pairs with the Release in `push`: slots below `head` are complete.
        let head = self.head.load(Ordering::Acquire);
        let floor = self.floor();
        let start = floor.max(head.saturating_sub(self.capacity()));
        let mut words = Vec::with_capacity((head - start) as usize);
        for index in start..head {
            let slot = self.slot(index);
            words.push([0, 1, 2, 3].map(|i| slot[i].load(Ordering::Relaxed)));
        }
        fence(Ordering::Acquire);
        // A writer that wrote while we copied filled slots of indices up to `after`, which
        // overwrote indices up to `after - slots` = `after - capacity - 1`: those are dropped.
        let after = self.head.load(Ordering::Relaxed);
        let valid_from = after.saturating_sub(self.capacity()).max(start);
        let skip = (valid_from - start) as usize;
        let events = words
            .into_iter()
            .skip(skip)
            .filter_map(Event::decode)
            .collect();
        (events, head)
    }

    fn floor(&self) -> u64 {
        self.cleared
            .load(Ordering::Relaxed)
            .max(self.consumed.load(Ordering::Relaxed))
    }

    /// Entries written since the last clear, up to `head`.
    fn written(&self, head: u64) -> u64 {
        head.saturating_sub(self.cleared.load(Ordering::Relaxed))
    }
}

/// Every ring that may hold events, in creation order.
static RINGS: Mutex<Vec<Arc<Ring>>> = Mutex::new(Vec::new());

/// Ring size in events, from `buffer_size_kb` (default: the kernel's 1408 KiB).
static RING_ENTRIES: AtomicUsize = AtomicUsize::new(1408 * 1024 / EVENT_BYTES);

/// Whether events are recorded at all (`tracing_on`).
pub(crate) static TRACING_ON: AtomicBool = AtomicBool::new(true);

/// Serializes readers (a consuming read and a clear must not interleave).
static READERS: Mutex<()> = Mutex::new(());

impl Retire for Ring {
    fn retired(&self) -> &AtomicBool {
        &self.retired
    }
}

/// Records `event` in the calling thread's ring, if tracing is on.
#[inline(always)]
pub(crate) fn record(thread: &ThreadState, event: &Event) {
    // Relaxed: a switch that takes effect a few events late is fine (the kernel's is the same).
    if !TRACING_ON.load(Ordering::Relaxed) {
        return;
    }
    if let Some(ring) = thread.tracer.ring.get_or_install(thread, &RINGS, new_ring) {
        ring.push(event);
    }
}

/// A ring for the calling thread, named after it.
fn new_ring() -> Ring {
    let current = std::thread::current();
    // The kernel's comm is at most 15 bytes.
    let name: String = current.name().unwrap_or("<...>").chars().take(15).collect();
    // SAFETY: `gettid` has no preconditions.
    let tid = u32::try_from(unsafe { libc::gettid() }).unwrap_or(0);
    Ring::new(
        RING_ENTRIES.load(Ordering::Relaxed),
        tid,
        name.into_boxed_str(),
    )
}

/// Builds an event stamped now, on this CPU.
#[inline(always)]
pub(crate) fn event(ts: u64, kind: Kind, flags: u8, depth: u16, site: u32, arg: u64) -> Event {
    Event {
        ts,
        kind,
        flags,
        depth,
        site,
        arg,
        cpu: clock::cpu(),
    }
}

/// What a read of the buffers found.
pub(crate) struct Snapshot {
    /// Each ring's events, oldest first, with the ring.
    pub(crate) threads: Vec<(Arc<Ring>, Vec<Event>)>,
    /// Events in the buffers / written since the last clear (the header's `A/B`).
    pub(crate) in_buffer: u64,
    pub(crate) written: u64,
}

impl Snapshot {
    /// Every event as (thread position, event position), in time order (stable across threads).
    pub(crate) fn merged(&self) -> Vec<(usize, usize)> {
        let mut order: Vec<(usize, usize)> = self
            .threads
            .iter()
            .enumerate()
            .flat_map(|(t, (_, events))| (0..events.len()).map(move |e| (t, e)))
            .collect();
        order.sort_by_key(|&(t, e)| self.threads[t].1[e].ts);
        order
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.threads.iter().all(|(_, events)| events.is_empty())
    }
}

/// Copies every ring out. With `consume`, what was read is gone from later reads (`trace_pipe`).
pub(crate) fn read(consume: bool) -> Snapshot {
    let _readers = READERS.lock();
    let rings: Vec<Arc<Ring>> = RINGS.lock().clone();
    let mut threads = Vec::with_capacity(rings.len());
    let (mut in_buffer, mut written) = (0, 0);
    for ring in rings {
        let (events, head) = ring.read();
        in_buffer += events.len() as u64;
        written += ring.written(head);
        if consume {
            ring.consumed.store(head, Ordering::Relaxed);
        }
        if !events.is_empty() {
            threads.push((ring, events));
        }
    }
    Snapshot {
        threads,
        in_buffer,
        written,
    }
}

/// Empties every ring (`echo > trace`), and forgets rings of threads that have exited.
pub(crate) fn clear() {
    let _readers = READERS.lock();
    let mut rings = RINGS.lock();
    for ring in rings.iter() {
        let head = ring.head.load(Ordering::Acquire);
        ring.cleared.store(head, Ordering::Relaxed);
    }
    // A ring only `RINGS` holds belongs to an exited thread (or a retired one): nothing more comes.
    rings.retain(|ring| Arc::strong_count(ring) > 1 && !ring.retired.load(Ordering::Relaxed));
    TEXTS.lock().clear();
}

/// Sets the ring size (`buffer_size_kb`). Like the kernel's resize this keeps the setting for every
/// thread, but unlike it the recorded events are dropped: threads move to new rings at their next event.
pub(crate) fn resize(kb: usize) {
    RING_ENTRIES.store(
        (kb.saturating_mul(1024) / EVENT_BYTES).max(1),
        Ordering::Relaxed,
    );
    let _readers = READERS.lock();
    slot::retire_all(&RINGS);
    TEXTS.lock().clear();
}

/// The ring size in KiB, as `buffer_size_kb` reads.
pub(crate) fn size_kb() -> usize {
    (RING_ENTRIES.load(Ordering::Relaxed) * EVENT_BYTES).div_ceil(1024)
}

/// Out-of-line payloads of `Marker` and `Stack` events, by id (bounded: the oldest go first).
pub(crate) enum Text {
    Marker(Box<str>),
    /// Site indices, innermost first.
    Stack(Box<[u32]>),
}

struct Texts {
    next: u64,
    items: VecDeque<(u64, Arc<Text>)>,
}

static TEXTS: Mutex<Texts> = Mutex::new(Texts {
    next: 1,
    items: VecDeque::new(),
});

const TEXTS_MAX: usize = 65_536;

impl Texts {
    fn clear(&mut self) {
        self.items.clear();
    }
}

/// Stores a payload and returns its id for the event.
fn store_text(text: Text) -> u64 {
    let mut texts = TEXTS.lock();
    let id = texts.next;
    texts.next += 1;
    if texts.items.len() == TEXTS_MAX {
        texts.items.pop_front();
    }
    texts.items.push_back((id, Arc::new(text)));
    id
}

/// Records, on the calling thread, an event of `kind` whose payload is `text` (markers, stack traces).
pub(crate) fn record_text(kind: Kind, text: Text) {
    let id = store_text(text);
    record(
        crate::thread::current(),
        &event(clock::get().raw(), kind, 0, 0, 0, id),
    );
}

/// The payload of id `id`, if it is still kept.
pub(crate) fn text(id: u64) -> Option<Arc<Text>> {
    let texts = TEXTS.lock();
    let first = texts.items.front()?.0;
    let index = usize::try_from(id.checked_sub(first)?).ok()?;
    texts.items.get(index).map(|(_, text)| Arc::clone(text))
}
