//! `FTRACE_OPS_FL_*`, as they apply to Rust functions.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// Flags of an [`Ops`](super::Ops), given with [`Ops::with_flags`](super::Ops::with_flags) and fixed
/// at registration.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u32);

impl Flags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// The runtime stops the callback from re-entering itself on the same thread (a callback that calls
    /// traced code). Without it, the callback guards itself with [`recursion_trylock`](super::recursion_trylock).
    pub const RECURSION: Self = Self(1 << 0);
    /// The callback receives the arguments ([`Call::args`](super::Call::args)); registration fails if a
    /// selected site cannot give them.
    pub const SAVE_REGS: Self = Self(1 << 1);
    /// Like `SAVE_REGS`, but sites that cannot give arguments are still traced, with `args()` `None`.
    pub const SAVE_REGS_IF_SUPPORTED: Self = Self(1 << 2);
    /// The callback may redirect the call to a replacement ([`Call::redirect`](super::Call::redirect)).
    /// Needs `SAVE_REGS` and a non-empty filter; one such ops per site.
    pub const IPMODIFY: Self = Self(1 << 3);
    /// The callback runs only where the runtime's thread state is live (not from thread-local
    /// destructors at thread exit).
    pub const RCU: Self = Self(1 << 4);
    /// Registration fails while tracing is disabled, and disabling fails while this ops is registered.
    pub const PERMANENT: Self = Self(1 << 5);

    const NAMES: [(Self, &'static str); 6] = [
        (Self::RECURSION, "RECURSION"),
        (Self::SAVE_REGS, "SAVE_REGS"),
        (Self::SAVE_REGS_IF_SUPPORTED, "SAVE_REGS_IF_SUPPORTED"),
        (Self::IPMODIFY, "IPMODIFY"),
        (Self::RCU, "RCU"),
        (Self::PERMANENT, "PERMANENT"),
    ];

    /// Whether every flag of `other` is set in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    pub(crate) const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether the ops wants arguments (either form of `SAVE_REGS`).
    pub(crate) const fn wants_args(self) -> bool {
        self.intersects(Self(Self::SAVE_REGS.0 | Self::SAVE_REGS_IF_SUPPORTED.0))
    }
}

impl BitOr for Flags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}
