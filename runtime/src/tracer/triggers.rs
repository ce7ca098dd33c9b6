//! Function triggers written to `set_ftrace_filter`: `<glob>:traceon[:N]`, `<glob>:traceoff[:N]`,
//! `<glob>:stacktrace[:N]`, removed with a leading `!`. They act whatever the current tracer is.

use super::ring::{self, Kind, TRACING_ON, Text};
use super::{Error, record};
use crate::ftrace::Call;
use crate::ftrace::filter::{Token, split_command};
use crate::site;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// What a trigger does when its function is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    TraceOn,
    TraceOff,
    StackTrace,
}

impl Command {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "traceon" => Self::TraceOn,
            "traceoff" => Self::TraceOff,
            "stacktrace" => Self::StackTrace,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::TraceOn => "traceon",
            Self::TraceOff => "traceoff",
            Self::StackTrace => "stacktrace",
        }
    }
}

/// One trigger on one function.
pub(crate) struct Trigger {
    pub(crate) site: usize,
    pub(crate) command: Command,
    /// Firings left; -1 for unlimited.
    count: AtomicI64,
}

/// `func:cmd:unlimited` or `func:cmd:count=N`, as `set_ftrace_filter` lists it.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = site::all().get(self.site).map_or("?", |s| s.name());
        match self.count.load(Ordering::Relaxed) {
            -1 => write!(f, "{name}:{}:unlimited", self.command.name()),
            count => write!(f, "{name}:{}:count={count}", self.command.name()),
        }
    }
}

/// A parsed trigger token.
pub(crate) struct Edit {
    remove: bool,
    command: Command,
    count: i64,
    sites: Vec<usize>,
}

/// Whether `token` is a trigger (`glob:cmd[:N]`, possibly with `!`), as opposed to a filter token.
pub(crate) fn is_trigger(token: &str) -> bool {
    let body = token.strip_prefix('!').unwrap_or(token);
    let (_, parts) = split_command(body);
    parts
        .first()
        .is_some_and(|cmd| Command::parse(cmd).is_some())
}

/// Parses a trigger token and selects its functions.
pub(crate) fn parse(token: &str) -> Result<Edit, Error> {
    let invalid = |reason: &str| Error::Invalid {
        file: "set_ftrace_filter",
        value: token.to_owned(),
        reason: reason.to_owned(),
    };
    let (remove, body) = match token.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let (glob, parts) = split_command(body);
    let command = parts
        .first()
        .and_then(|c| Command::parse(c))
        .ok_or_else(|| invalid("unknown trigger command"))?;
    let count = match parts.get(1..).unwrap_or_default() {
        [] => -1,
        [count] => count
            .parse::<i64>()
            .ok()
            .filter(|c| *c >= 0)
            .ok_or_else(|| invalid("the count must be a non-negative number"))?,
        _ => return Err(invalid("a trigger is <glob>:<command>[:<count>]")),
    };
    if glob.is_empty() {
        return Err(invalid("a trigger needs a function glob"));
    }
    let selected = Token::parse(glob)
        .and_then(|t| t.select_some(site::all()))
        .map_err(|e| Error::from(e).in_file("set_ftrace_filter"))?;
    Ok(Edit {
        remove,
        command,
        count,
        sites: selected.iter().collect(),
    })
}

/// The trigger list after `edits`, without touching `current` (counts of kept triggers are shared).
pub(crate) fn apply(
    current: &[Arc<Trigger>],
    edits: &[(String, Edit)],
) -> Result<Vec<Arc<Trigger>>, Error> {
    let mut next: Vec<Arc<Trigger>> = current.to_vec();
    for (token, edit) in edits {
        if edit.remove {
            let before = next.len();
            next.retain(|t| !(t.command == edit.command && edit.sites.contains(&t.site)));
            if next.len() == before {
                return Err(Error::Invalid {
                    file: "set_ftrace_filter",
                    value: token.clone(),
                    reason: "no such trigger is set".to_owned(),
                });
            }
        } else {
            for &site in &edit.sites {
                next.retain(|t| !(t.command == edit.command && t.site == site));
                next.push(Arc::new(Trigger {
                    site,
                    command: edit.command,
                    count: AtomicI64::new(edit.count),
                }));
            }
        }
    }
    next.sort_by_key(|t| (t.site, t.command as u8));
    Ok(next)
}

/// Triggers by site index, for the hot path.
pub(crate) type Table = Box<[Box<[Arc<Trigger>]>]>;

pub(crate) fn table(triggers: &[Arc<Trigger>]) -> Table {
    let mut table: Vec<Vec<Arc<Trigger>>> = vec![Vec::new(); site::all().len()];
    for trigger in triggers {
        if let Some(slot) = table.get_mut(trigger.site) {
            slot.push(Arc::clone(trigger));
        }
    }
    table.into_iter().map(Vec::into_boxed_slice).collect()
}

/// Takes one from a counted trigger; false when it is used up.
fn take(count: &AtomicI64) -> bool {
    count
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| match c {
            -1 => Some(-1),
            0 => None,
            c => Some(c - 1),
        })
        .is_ok()
}

/// The triggers' callback.
pub(crate) fn fire(table: &Table, call: &Call<'_>) {
    let Some(triggers) = site::index_of(call.site()).and_then(|i| table.get(i)) else {
        return;
    };
    for trigger in triggers.iter() {
        match trigger.command {
            Command::TraceOn | Command::TraceOff => {
                let on = trigger.command == Command::TraceOn;
                // The count drops only when the state actually changes (the kernel's
                // update_traceon_count).
                if trigger.count.load(Ordering::Relaxed) == 0
                    || TRACING_ON.load(Ordering::Relaxed) == on
                {
                    continue;
                }
                if take(&trigger.count) {
                    TRACING_ON.store(on, Ordering::Relaxed);
                }
            }
            Command::StackTrace => {
                if TRACING_ON.load(Ordering::Relaxed) && take(&trigger.count) {
                    ring::record_text(Kind::Stack, Text::Stack(record::stack_of(call)));
                }
            }
        }
    }
}
