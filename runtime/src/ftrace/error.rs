//! The errors of the ftrace API.

use crate::site::Site;
use std::fmt;

/// What went wrong in an ftrace call. Nothing was changed when one of these is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The ops is already registered (kernel: `-EBUSY`).
    AlreadyRegistered,
    /// The ops is not registered.
    NotRegistered,
    /// Another registered `IPMODIFY` ops already modifies this site (kernel: `-EBUSY`).
    IpmodifyConflict {
        /// The contested function.
        site: &'static Site,
    },
    /// `IPMODIFY` needs a non-empty filter: it may not apply to every function (kernel: `-EINVAL`).
    IpmodifyNeedsFilter,
    /// `IPMODIFY` needs `SAVE_REGS`: a redirected call must receive the arguments.
    IpmodifyNeedsSaveRegs,
    /// An `IPMODIFY` ops cannot have a notrace list: the functions it modifies are named exactly.
    IpmodifyWithNotrace,
    /// The filter selects a site whose signature cannot be redirected; the message gives the reason
    /// ([`Site::redirect_refusal`]).
    IpmodifyUnsupported {
        /// The site that cannot be redirected.
        site: &'static Site,
    },
    /// `SAVE_REGS` was asked for but this selected site cannot give its arguments (`skip_args`).
    SaveRegsUnsupported {
        /// The site without arguments.
        site: &'static Site,
    },
    /// A `PERMANENT` ops cannot be registered while tracing is disabled (kernel: `-EBUSY`).
    Disabled,
    /// Tracing cannot be disabled while a `PERMANENT` ops is registered (kernel: `-EBUSY`).
    PermanentRegistered,
    /// The filter pattern selects no traceable function (kernel: `-EINVAL`).
    NoMatch {
        /// The pattern as given.
        pattern: String,
    },
    /// The filter pattern is malformed.
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The call needs to wait for a grace period, which cannot be done from inside a callback or an
    /// event handler on this thread (it would wait for itself).
    InsideCallback,
    /// The callback's replacement does not have the site's signature.
    RedirectMismatch {
        /// The function-pointer type the site needs.
        expected: &'static str,
        /// The type that was given.
        found: &'static str,
    },
    /// Redirecting needs an `IPMODIFY` ops on a site that can be redirected.
    RedirectNotAllowed {
        /// The site of the call.
        site: &'static Site,
    },
}

impl Error {
    /// Whether the kernel would report this as `-EBUSY` (the DESIGN's `Busy` group).
    #[must_use]
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::AlreadyRegistered
                | Self::IpmodifyConflict { .. }
                | Self::Disabled
                | Self::PermanentRegistered
        )
    }

    pub(crate) fn invalid(pattern: &str, reason: impl Into<String>) -> Self {
        Self::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyRegistered => f.write_str("busy: the ops is already registered"),
            Self::NotRegistered => f.write_str("the ops is not registered"),
            Self::IpmodifyConflict { site } => write!(
                f,
                "busy: another registered IPMODIFY ops already modifies `{site}`"
            ),
            Self::IpmodifyNeedsFilter => f.write_str(
                "an IPMODIFY ops needs a filter: set one with set_filter before registering",
            ),
            Self::IpmodifyNeedsSaveRegs => f.write_str("IPMODIFY needs SAVE_REGS"),
            Self::IpmodifyWithNotrace => f.write_str("an IPMODIFY ops cannot have a notrace list"),
            Self::IpmodifyUnsupported { site } => write!(
                f,
                "`{site}` cannot be redirected: {}",
                site.redirect_refusal().unwrap_or("its signature has no redirect type")
            ),
            Self::SaveRegsUnsupported { site } => write!(
                f,
                "`{site}` cannot give its arguments (skip_args): use SAVE_REGS_IF_SUPPORTED or a \
                 filter that leaves it out"
            ),
            Self::Disabled => f.write_str("busy: a PERMANENT ops cannot be registered while tracing is disabled"),
            Self::PermanentRegistered => {
                f.write_str("busy: tracing cannot be disabled while a PERMANENT ops is registered")
            }
            Self::NoMatch { pattern } => {
                write!(f, "filter pattern `{pattern}` matches no traceable function")
            }
            Self::InvalidPattern { pattern, reason } => {
                write!(f, "invalid filter pattern `{pattern}`: {reason}")
            }
            Self::InsideCallback => f.write_str(
                "cannot wait for a grace period from inside a callback or event handler on this thread",
            ),
            Self::RedirectMismatch { expected, found } => write!(
                f,
                "replacement has type `{found}`, the site needs `{expected}` (cast the function with `as`)"
            ),
            Self::RedirectNotAllowed { site } => write!(
                f,
                "cannot redirect `{site}`: the ops needs IPMODIFY and the site must support it"
            ),
        }
    }
}

impl std::error::Error for Error {}
