//! The errors of the tracers and of tracefs.

use std::fmt;

/// What went wrong in a tracer or tracefs call. Nothing was changed when one of these is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No tracefs file has this name.
    UnknownFile(String),
    /// The file can only be read.
    ReadOnly(&'static str),
    /// The file can only be written (`trace_marker`).
    WriteOnly(&'static str),
    /// The value written is malformed for this file.
    Invalid {
        /// The file written.
        file: &'static str,
        /// The offending value or token.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A filter token of a filter file was refused.
    Filter {
        /// The file written.
        file: &'static str,
        /// The ftrace error, which names the token.
        source: crate::ftrace::Error,
    },
    /// The tracer's ops could not be changed (for example from inside a callback).
    Ftrace(crate::ftrace::Error),
}

impl Error {
    /// Names `file` as where a filter error happened.
    pub(crate) fn in_file(self, file: &'static str) -> Self {
        match self {
            Self::Ftrace(
                source @ (crate::ftrace::Error::NoMatch { .. }
                | crate::ftrace::Error::InvalidPattern { .. }),
            ) => Self::Filter { file, source },
            other => other,
        }
    }
}

impl From<crate::ftrace::Error> for Error {
    fn from(error: crate::ftrace::Error) -> Self {
        Self::Ftrace(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFile(name) => write!(f, "tracefs has no file `{name}`"),
            Self::ReadOnly(name) => write!(f, "`{name}` is read-only"),
            Self::WriteOnly(name) => write!(f, "`{name}` is write-only"),
            Self::Invalid {
                file,
                value,
                reason,
            } => write!(f, "{file}: invalid value `{value}`: {reason}"),
            Self::Filter { file, source } => write!(f, "{file}: {source}"),
            Self::Ftrace(source) => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Filter { source, .. } | Self::Ftrace(source) => Some(source),
            _ => None,
        }
    }
}
