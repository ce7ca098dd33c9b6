//! The text control plane: the kernel's tracefs files, read and written as strings.
//!
//! `write(file, text)` is `echo text > file`, `append(file, text)` is `echo text >> file`, and
//! `read(file)` is `cat file`. Files and their meanings follow `Documentation/trace/ftrace.rst`:
//!
//! | file | access | content |
//! |---|---|---|
//! | `available_tracers` | r | `function_graph function nop` |
//! | `current_tracer` | rw | the tracer; writing switches (and clears the trace) |
//! | `tracing_on` | rw | `1` / `0`: recording on or off (tracers stay attached) |
//! | `trace` | rw | the trace with its header; any write clears it |
//! | `trace_pipe` | r | consuming read without header; [`read()`] waits for data, [`read_nonblock`] does not |
//! | `trace_marker` | w | text written into the trace |
//! | `set_ftrace_filter` | rw | filter tokens and triggers (`glob:traceon[:N]`, `traceoff`, `stacktrace`) |
//! | `set_ftrace_notrace` | rw | functions never traced |
//! | `set_graph_function` / `set_graph_notrace` | rw | function_graph roots / excluded subtrees |
//! | `max_graph_depth` | rw | function_graph depth limit, 0 = none |
//! | `available_filter_functions` | r | every traceable function |
//! | `enabled_functions` | r | functions with callbacks attached: `name (count) R I` |
//! | `function_profile_enabled` | rw | `1` starts the profiler (counters reset), `0` stops it |
//! | `trace_stat/function` | r | the profile: `Function Hit Time Avg s^2` |
//! | `buffer_size_kb` | rw | per-thread ring size |
//! | `ftrace_enabled` | rw | the global switch ([`ftrace::set_enabled`](crate::ftrace::set_enabled)) |
//! | `trace_options` | rw | options, one per line (`noNAME` when off); write `NAME` or `noNAME` |
//! | `options/NAME` | rw | one option as `1` / `0` |
//! | `trace_json` | r | the trace as Chrome Trace Event JSON (not in the kernel: Perfetto's input) |
//! | `trace_folded` | r | the trace as folded stacks (not in the kernel: flame graph input) |
//!
//! Writes are all or nothing: on an error (unknown file, read-only file, malformed value, a filter
//! token that matches nothing) nothing changes, and the error names the file and the token.

use crate::tracer::{self, Error, FilterFile, Kind, Options, Tracer, ring};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Every file, as `ls` would list it.
pub const FILES: [&str; 21] = [
    "available_filter_functions",
    "available_tracers",
    "buffer_size_kb",
    "current_tracer",
    "enabled_functions",
    "ftrace_enabled",
    "function_profile_enabled",
    "max_graph_depth",
    "options/",
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_graph_function",
    "set_graph_notrace",
    "trace",
    "trace_folded",
    "trace_json",
    "trace_marker",
    "trace_options",
    "trace_pipe",
    "trace_stat/function",
    "tracing_on",
];

/// `echo text > file`.
///
/// # Errors
/// [`Error::UnknownFile`], [`Error::ReadOnly`], [`Error::Invalid`] or [`Error::Filter`] naming the
/// bad value; [`Error::Ftrace`] when called from inside a callback.
pub fn write(file: &str, text: &str) -> Result<(), Error> {
    store(file, text, false)
}

/// `echo text >> file`: filter files keep their content and add to it; other files as [`write()`].
///
/// # Errors
/// As [`write()`].
pub fn append(file: &str, text: &str) -> Result<(), Error> {
    store(file, text, true)
}

/// `cat file`. For `trace_pipe`, waits until there is something to read and consumes it.
///
/// # Errors
/// [`Error::UnknownFile`]; [`Error::WriteOnly`] for `trace_marker`.
pub fn read(file: &str) -> Result<String, Error> {
    if file == "trace_pipe" {
        loop {
            if let Some(text) = tracer::trace_text(true) {
                return Ok(text);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    load(file)
}

/// Like [`read()`], but a `trace_pipe` read returns at once (empty when there is nothing new).
///
/// # Errors
/// As [`read()`].
pub fn read_nonblock(file: &str) -> Result<String, Error> {
    if file == "trace_pipe" {
        return Ok(tracer::trace_text(true).unwrap_or_default());
    }
    load(file)
}

fn flag(file: &'static str, text: &str) -> Result<bool, Error> {
    number(file, text).map(|n| n != 0)
}

fn number(file: &'static str, text: &str) -> Result<u64, Error> {
    text.trim().parse::<u64>().map_err(|_| Error::Invalid {
        file,
        value: text.trim().to_owned(),
        reason: "expected a non-negative number".to_owned(),
    })
}

fn static_name(file: &str) -> Option<&'static str> {
    FILES.iter().copied().find(|f| *f == file).or_else(|| {
        let option = file.strip_prefix("options/")?;
        Options::NAMES
            .iter()
            .position(|o| *o == option)
            .map(|_| "options/")
    })
}

fn store(file: &str, text: &str, append: bool) -> Result<(), Error> {
    // The first touch of the runtime applies `TRACEHOOK` (`Tracer::new`).
    let tracer = Tracer::new();
    let Some(name) = static_name(file) else {
        return Err(Error::UnknownFile(file.to_owned()));
    };
    match name {
        "current_tracer" => {
            let wanted = text.trim();
            let kind = Kind::from_name(wanted).ok_or_else(|| Error::Invalid {
                file: "current_tracer",
                value: wanted.to_owned(),
                reason: "not in available_tracers (function_graph function nop)".to_owned(),
            })?;
            tracer.set_kind(kind)?;
        }
        "tracing_on" => {
            if flag(name, text)? {
                tracer.start();
            } else {
                tracer.stop();
            }
        }
        "trace" => {
            if !append {
                tracer.clear();
            }
        }
        "trace_marker" => tracer::mark(text),
        "set_ftrace_filter" => tracer::write_filter(FilterFile::Filter, text, append)?,
        "set_ftrace_notrace" => tracer::write_filter(FilterFile::Notrace, text, append)?,
        "set_graph_function" => tracer::write_filter(FilterFile::GraphFunction, text, append)?,
        "set_graph_notrace" => tracer::write_filter(FilterFile::GraphNotrace, text, append)?,
        "max_graph_depth" => {
            let depth = u32::try_from(number(name, text)?).map_err(|_| Error::Invalid {
                file: "max_graph_depth",
                value: text.trim().to_owned(),
                reason: "too large".to_owned(),
            })?;
            tracer.set_max_graph_depth(depth);
        }
        "function_profile_enabled" => {
            tracer.set_profiling(flag(name, text)?)?;
        }
        "buffer_size_kb" => {
            let kb = usize::try_from(number(name, text)?).unwrap_or(usize::MAX);
            tracer.set_buffer_size_kb(kb)?;
        }
        "ftrace_enabled" => crate::ftrace::set_enabled(flag(name, text)?)?,
        "trace_options" => write_options(text)?,
        "options/" => {
            let option = file.trim_start_matches("options/");
            tracer.set_option(option, flag("options/", text)?)?;
        }
        _ => return Err(Error::ReadOnly(name)),
    }
    Ok(())
}

/// `echo funcgraph-tail > trace_options`, `echo nofuncgraph-tail > trace_options`; several tokens
/// are applied all or nothing.
fn write_options(text: &str) -> Result<(), Error> {
    let mut changes = Vec::new();
    for token in text.split_whitespace() {
        let (name, on) = match token.strip_prefix("no") {
            Some(rest) if Options::NAMES.contains(&rest) => (rest, false),
            _ => (token, true),
        };
        if !Options::NAMES.contains(&name) {
            return Err(Error::Invalid {
                file: "trace_options",
                value: token.to_owned(),
                reason: format!("unknown option (known: {})", Options::NAMES.join(", ")),
            });
        }
        changes.push((name, on));
    }
    let tracer = Tracer::new();
    for (name, on) in changes {
        tracer.set_option(name, on)?;
    }
    Ok(())
}

fn load(file: &str) -> Result<String, Error> {
    // The first touch of the runtime applies `TRACEHOOK` (`Tracer::new`).
    let tracer = Tracer::new();
    let Some(name) = static_name(file) else {
        return Err(Error::UnknownFile(file.to_owned()));
    };
    let line = |value: &dyn std::fmt::Display| format!("{value}\n");
    Ok(match name {
        "available_tracers" => "function_graph function nop\n".to_owned(),
        "current_tracer" => line(&tracer.kind()),
        "tracing_on" => line(&u8::from(tracer.is_on())),
        "trace" => tracer.text(),
        "trace_pipe" => tracer::trace_text(true).unwrap_or_default(),
        "trace_marker" => return Err(Error::WriteOnly("trace_marker")),
        "set_ftrace_filter" => tracer::read_filter(FilterFile::Filter),
        "set_ftrace_notrace" => tracer::read_filter(FilterFile::Notrace),
        "set_graph_function" => tracer::read_filter(FilterFile::GraphFunction),
        "set_graph_notrace" => tracer::read_filter(FilterFile::GraphNotrace),
        "max_graph_depth" => line(&tracer::control::with(|c| c.max_depth)),
        "available_filter_functions" => {
            let mut out = String::new();
            for site in crate::site::available_functions() {
                let _ = writeln!(out, "{}", site.name());
            }
            out
        }
        "enabled_functions" => {
            let mut out = String::new();
            for function in crate::ftrace::enabled_functions() {
                let _ = writeln!(out, "{function}");
            }
            out
        }
        "function_profile_enabled" => line(&u8::from(tracer::control::with(|c| c.is_profiling()))),
        "trace_stat/function" => tracer::profile_text(),
        "buffer_size_kb" => line(&ring::size_kb()),
        "ftrace_enabled" => line(&u8::from(crate::ftrace::is_enabled())),
        "trace_options" => {
            let options = tracer::control::with(|c| c.options);
            let mut out = String::new();
            for name in Options::NAMES {
                let on = options.get(name).unwrap_or(false);
                let _ = writeln!(out, "{}{name}", if on { "" } else { "no" });
            }
            out
        }
        "options/" => {
            let option = file.trim_start_matches("options/");
            line(&u8::from(tracer.option(option).unwrap_or(false)))
        }
        "trace_json" => tracer.chrome_json(),
        "trace_folded" => tracer.folded(),
        _ => return Err(Error::UnknownFile(file.to_owned())),
    })
}

/// Whether recording is on (for code that wants to skip work while it is off).
#[must_use]
pub fn tracing_on() -> bool {
    ring::TRACING_ON.load(Ordering::Relaxed)
}
