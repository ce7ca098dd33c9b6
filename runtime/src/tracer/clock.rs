//! The trace clock: the CPU's time-stamp counter through `quanta` (calibrated once, then one `rdtsc`
//! per reading), and the CPU a thread runs on.

use std::sync::OnceLock;

/// The calibrated clock and the reading that is time zero of every trace.
pub(crate) struct TraceClock {
    clock: quanta::Clock,
    origin: u64,
}

static CLOCK: OnceLock<TraceClock> = OnceLock::new();

/// The clock, calibrated on first use (a tracer is being set up, not a traced call).
pub(crate) fn get() -> &'static TraceClock {
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        TraceClock { clock, origin }
    })
}

impl TraceClock {
    /// A raw reading (counter ticks): the hot path stores these and converts when the trace is read.
    #[inline(always)]
    pub(crate) fn raw(&self) -> u64 {
        self.clock.raw()
    }

    /// Nanoseconds from time zero to the raw reading `raw`.
    pub(crate) fn nanos(&self, raw: u64) -> u64 {
        if raw <= self.origin {
            return 0;
        }
        self.clock.delta_as_nanos(self.origin, raw)
    }

    /// Nanoseconds between two raw readings.
    #[inline]
    pub(crate) fn delta_nanos(&self, start: u64, end: u64) -> u64 {
        if end <= start {
            return 0;
        }
        self.clock.delta_as_nanos(start, end)
    }
}

/// The CPU this thread is running on (`sched_getcpu`, served from the rseq area or the vDSO).
#[inline(always)]
pub(crate) fn cpu() -> u32 {
    // SAFETY: `sched_getcpu` has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).unwrap_or(0)
}

/// How many CPUs are online (the `#P:` of the trace header).
pub(crate) fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
