//! Built-in tracers: function, function_graph and the function profiler, with per-thread ring
//! buffers, the kernel's output formats, triggers, and exports (Chrome Trace Event JSON, folded stacks).
//!
//! They are driven by the text control plane [`tracefs`](crate::tracefs) (the kernel's file names and
//! semantics) or by the typed handle [`Tracer`]; both change the same configuration, and the
//! `TRACEHOOK` environment variable feeds the same control plane at start-up ([`crate::init`]).
//!
//! ```
//! use tracehook_runtime::tracer::{Kind, Tracer};
//!
//! let tracer = Tracer::new();
//! tracer.set_kind(Kind::FunctionGraph)?;
//! // ... run traced code ...
//! let graph = tracer.text();
//! assert!(graph.starts_with("# tracer: function_graph"));
//! tracer.reset()?;
//! # Ok::<(), tracehook_runtime::tracer::Error>(())
//! ```

pub(crate) mod clock;
pub(crate) mod control;
mod error;
mod export;
mod format;
pub(crate) mod record;
pub(crate) mod ring;
mod slot;
pub(crate) mod triggers;

pub use error::Error;
pub use export::ProfileEntry;

use control::Control;
use std::fmt;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Which tracer records (`current_tracer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Nothing is recorded by a tracer (markers and triggers still work).
    #[default]
    Nop,
    /// One line per call: `func <-parent`.
    Function,
    /// Entry and return of every call, with durations, nested by depth.
    FunctionGraph,
}

impl Kind {
    /// The tracer's name in tracefs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Nop => "nop",
            Self::Function => "function",
            Self::FunctionGraph => "function_graph",
        }
    }

    /// The tracer of that tracefs name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Nop, Self::Function, Self::FunctionGraph]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an option's switch is reached in [`Options`].
type Switch = fn(&mut Options) -> &mut bool;

/// The output options of `trace_options` (names as in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one switch per kernel option"
)]
pub(crate) struct Options {
    pub(crate) print_parent: bool,
    pub(crate) funcgraph_overhead: bool,
    pub(crate) funcgraph_cpu: bool,
    pub(crate) funcgraph_proc: bool,
    pub(crate) funcgraph_duration: bool,
    pub(crate) funcgraph_abstime: bool,
    pub(crate) funcgraph_tail: bool,
}

impl Options {
    pub(crate) const DEFAULT: Self = Self {
        print_parent: true,
        funcgraph_overhead: true,
        funcgraph_cpu: true,
        funcgraph_proc: false,
        funcgraph_duration: true,
        funcgraph_abstime: false,
        funcgraph_tail: false,
    };

    /// Every option: its kernel name and its switch, in the order `trace_options` lists them.
    const TABLE: [(&'static str, Switch); 7] = [
        ("print-parent", |o| &mut o.print_parent),
        ("funcgraph-overhead", |o| &mut o.funcgraph_overhead),
        ("funcgraph-cpu", |o| &mut o.funcgraph_cpu),
        ("funcgraph-proc", |o| &mut o.funcgraph_proc),
        ("funcgraph-duration", |o| &mut o.funcgraph_duration),
        ("funcgraph-abstime", |o| &mut o.funcgraph_abstime),
        ("funcgraph-tail", |o| &mut o.funcgraph_tail),
    ];

    /// Every option name, in the order `trace_options` lists them.
    pub(crate) const NAMES: [&'static str; 7] = {
        let mut names = [""; 7];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::TABLE[i].0;
            i += 1;
        }
        names
    };

    fn switch(&mut self, name: &str) -> Option<&mut bool> {
        let (_, field) = Self::TABLE.iter().find(|(n, _)| *n == name)?;
        Some(field(self))
    }

    pub(crate) fn get(&self, name: &str) -> Option<bool> {
        let mut copy = *self;
        copy.switch(name).map(|on| *on)
    }

    pub(crate) fn set(&mut self, name: &str, on: bool) -> Option<()> {
        *self.switch(name)? = on;
        Some(())
    }
}

/// Which filter list a call changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterFile {
    Filter,
    Notrace,
    GraphFunction,
    GraphNotrace,
}

impl FilterFile {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Filter => "set_ftrace_filter",
            Self::Notrace => "set_ftrace_notrace",
            Self::GraphFunction => "set_graph_function",
            Self::GraphNotrace => "set_graph_notrace",
        }
    }
}

/// Applies a write to one of the filter files: tokens of the filter syntax (and, in
/// `set_ftrace_filter`, triggers). All or nothing.
pub(crate) fn write_filter(file: FilterFile, text: &str, append: bool) -> Result<(), Error> {
    control::with(|control| {
        let wrap = |source| Error::Filter {
            file: file.name(),
            source,
        };
        match file {
            FilterFile::Filter => {
                let (commands, patterns): (Vec<&str>, Vec<&str>) = text
                    .split_whitespace()
                    .partition(|t| triggers::is_trigger(t));
                let filter = Control::apply(&control.filter, &patterns.join(" "), append)
                    .map_err(|e| e.in_file(file.name()))?;
                let edits = commands
                    .iter()
                    .map(|t| triggers::parse(t).map(|edit| ((*t).to_owned(), edit)))
                    .collect::<Result<Vec<_>, _>>()?;
                let next = triggers::apply(&control.triggers, &edits)?;
                let notrace = control.notrace.clone();
                let old_filter = control.filter.clone();
                control
                    .set_filters(filter, notrace.clone())
                    .map_err(|e| e.in_file(file.name()))?;
                if !edits.is_empty()
                    && let Err(error) = control.set_triggers(next)
                {
                    let _ = control.set_filters(old_filter, notrace);
                    return Err(error);
                }
                Ok(())
            }
            FilterFile::Notrace => {
                let notrace = Control::apply(&control.notrace, text, append)
                    .map_err(|e| e.in_file(file.name()))?;
                let filter = control.filter.clone();
                control
                    .set_filters(filter, notrace)
                    .map_err(|e| e.in_file(file.name()))
            }
            FilterFile::GraphFunction | FilterFile::GraphNotrace => {
                let current = if file == FilterFile::GraphFunction {
                    &control.graph_functions
                } else {
                    &control.graph_notrace
                };
                let next = crate::ftrace::filter::apply(current, text, !append, crate::site::all())
                    .map_err(wrap)?;
                let (functions, notrace) = if file == FilterFile::GraphFunction {
                    (next, control.graph_notrace.clone())
                } else {
                    (control.graph_functions.clone(), next)
                };
                control.set_graph_sets(functions, notrace);
                Ok(())
            }
        }
    })
}

/// A filter file's content, as the kernel shows it.
pub(crate) fn read_filter(file: FilterFile) -> String {
    control::with(|control| {
        let (set, empty) = match file {
            FilterFile::Filter => (&control.filter, "#### all functions enabled ####"),
            FilterFile::Notrace => (&control.notrace, "#### no functions disabled ####"),
            FilterFile::GraphFunction => {
                (&control.graph_functions, "#### all functions enabled ####")
            }
            FilterFile::GraphNotrace => (&control.graph_notrace, "#### no functions disabled ####"),
        };
        let mut out = String::new();
        let sites = control::list(set);
        if sites.is_empty() {
            out.push_str(empty);
            out.push('\n');
        }
        for site in sites {
            out.push_str(site.name());
            out.push('\n');
        }
        if file == FilterFile::Filter {
            for trigger in &control.triggers {
                out.push_str(&trigger.to_string());
                out.push('\n');
            }
        }
        out
    })
}

/// A handle on the tracers' configuration: the typed form of the tracefs files.
///
/// There is one configuration per program (the kernel's top-level tracing instance); every handle
/// reaches it, and tracefs writes and `TRACEHOOK` change the same state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracer {
    _private: (),
}

impl Tracer {
    /// A handle on the configuration.
    #[must_use]
    pub fn new() -> Self {
        crate::init::ensure();
        Self { _private: () }
    }

    /// Chooses the tracer (`current_tracer`). The trace is cleared, as the kernel does on a switch.
    ///
    /// # Errors
    /// [`Error::Ftrace`] when the tracer's ops cannot be (un)registered (from inside a callback).
    pub fn set_kind(&self, kind: Kind) -> Result<&Self, Error> {
        control::with(|control| control.set_kind(kind))?;
        Ok(self)
    }

    /// The current tracer.
    #[must_use]
    pub fn kind(&self) -> Kind {
        control::with(|control| control.kind)
    }

    /// Replaces (or with `append`, extends) the functions traced (`set_ftrace_filter`). Tokens as in
    /// [`Ops::set_filter`](crate::ftrace::Ops::set_filter), plus triggers (`parse:traceoff:1`).
    ///
    /// # Errors
    /// [`Error::Filter`] naming a token that is malformed or matches nothing; nothing changes.
    pub fn set_filter(&self, patterns: &str, append: bool) -> Result<&Self, Error> {
        write_filter(FilterFile::Filter, patterns, append)?;
        Ok(self)
    }

    /// The functions never traced (`set_ftrace_notrace`).
    ///
    /// # Errors
    /// As [`Tracer::set_filter`].
    pub fn set_notrace(&self, patterns: &str, append: bool) -> Result<&Self, Error> {
        write_filter(FilterFile::Notrace, patterns, append)?;
        Ok(self)
    }

    /// function_graph records only these functions and what they call (`set_graph_function`).
    ///
    /// # Errors
    /// As [`Tracer::set_filter`].
    pub fn set_graph_function(&self, patterns: &str, append: bool) -> Result<&Self, Error> {
        write_filter(FilterFile::GraphFunction, patterns, append)?;
        Ok(self)
    }

    /// function_graph does not record these functions nor what they call (`set_graph_notrace`).
    ///
    /// # Errors
    /// As [`Tracer::set_filter`].
    pub fn set_graph_notrace(&self, patterns: &str, append: bool) -> Result<&Self, Error> {
        write_filter(FilterFile::GraphNotrace, patterns, append)?;
        Ok(self)
    }

    /// function_graph records calls up to this nesting depth; 0 for no limit (`max_graph_depth`).
    pub fn set_max_graph_depth(&self, depth: u32) -> &Self {
        control::with(|control| control.set_max_depth(depth));
        self
    }

    /// Sets an output option by its kernel name (`funcgraph-tail`, `print-parent`, ...).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown option.
    pub fn set_option(&self, name: &str, on: bool) -> Result<&Self, Error> {
        control::with(|control| {
            control.options.set(name, on).ok_or_else(|| Error::Invalid {
                file: "trace_options",
                value: name.to_owned(),
                reason: format!("unknown option (known: {})", Options::NAMES.join(", ")),
            })
        })?;
        Ok(self)
    }

    /// An output option's value, `None` for an unknown name.
    #[must_use]
    pub fn option(&self, name: &str) -> Option<bool> {
        control::with(|control| control.options.get(name))
    }

    /// Starts recording (`echo 1 > tracing_on`).
    pub fn start(&self) -> &Self {
        ring::TRACING_ON.store(true, Ordering::Relaxed);
        self
    }

    /// Stops recording; the tracer stays attached (`echo 0 > tracing_on`).
    pub fn stop(&self) -> &Self {
        ring::TRACING_ON.store(false, Ordering::Relaxed);
        self
    }

    /// Whether recording is on.
    #[must_use]
    pub fn is_on(&self) -> bool {
        ring::TRACING_ON.load(Ordering::Relaxed)
    }

    /// Empties the buffers (`echo > trace`).
    pub fn clear(&self) -> &Self {
        ring::clear();
        self
    }

    /// Sets the per-thread buffer size in KiB (`buffer_size_kb`); recorded events are dropped.
    ///
    /// # Errors
    /// [`Error::Invalid`] for 0.
    pub fn set_buffer_size_kb(&self, kb: usize) -> Result<&Self, Error> {
        if kb == 0 {
            return Err(Error::Invalid {
                file: "buffer_size_kb",
                value: "0".to_owned(),
                reason: "the size must be at least 1".to_owned(),
            });
        }
        ring::resize(kb);
        Ok(self)
    }

    /// Turns the function profiler on (its counters restart) or off (they are kept)
    /// (`function_profile_enabled`).
    ///
    /// # Errors
    /// [`Error::Ftrace`] from inside a callback.
    pub fn set_profiling(&self, on: bool) -> Result<&Self, Error> {
        control::with(|control| control.set_profiling(on))?;
        Ok(self)
    }

    /// The profile: hits and times per function, longest total first (`trace_stat/function`).
    #[must_use]
    pub fn profile(&self) -> Vec<ProfileEntry> {
        export::profile()
    }

    /// Writes a marker into the trace (`trace_marker`).
    pub fn mark(&self, text: &str) -> &Self {
        mark(text);
        self
    }

    /// The trace in the current tracer's kernel format (`trace`).
    #[must_use]
    pub fn text(&self) -> String {
        let (kind, options) = control::with(|control| (control.kind, control.options));
        format::trace(kind, &options, &ring::read(false), true)
    }

    /// The trace as Chrome Trace Event JSON (open it in <https://ui.perfetto.dev> or chrome://tracing).
    #[must_use]
    pub fn chrome_json(&self) -> String {
        let kind = self.kind();
        export::chrome_json(&ring::read(false), kind.name())
    }

    /// The trace as folded stacks (`a;b;c value` lines, for flame graph tools).
    #[must_use]
    pub fn folded(&self) -> String {
        export::folded(&ring::read(false))
    }

    /// Writes the trace to `path`: Chrome JSON for a `.json` path, folded stacks for `.folded`, the
    /// text format otherwise.
    ///
    /// # Errors
    /// The I/O error.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => self.chrome_json(),
            Some("folded") => self.folded(),
            _ => self.text(),
        };
        std::fs::write(path, text)
    }

    /// Back to the start-up state: nop tracer, empty filters and triggers, default options, profiler
    /// off, no depth limit, recording on, buffers empty (what the kernel selftests' `initialize_ftrace`
    /// does).
    ///
    /// # Errors
    /// [`Error::Ftrace`] from inside a callback.
    pub fn reset(&self) -> Result<&Self, Error> {
        control::with(|control| {
            control.set_kind(Kind::Nop)?;
            control.set_profiling(false)?;
            control.set_triggers(Vec::new())?;
            control.set_filters(Default::default(), Default::default())?;
            control.set_graph_sets(Default::default(), Default::default());
            control.set_max_depth(0);
            control.options = Options::DEFAULT;
            Ok::<(), Error>(())
        })?;
        record::reset_profiles();
        ring::TRACING_ON.store(true, Ordering::Relaxed);
        ring::clear();
        Ok(self)
    }
}

/// Records a `trace_marker` event on the calling thread.
pub(crate) fn mark(text: &str) {
    if !ring::TRACING_ON.load(Ordering::Relaxed) {
        return;
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    ring::record_text(ring::Kind::Marker, ring::Text::Marker(text.into()));
}

/// The profile as `trace_stat/function` shows it.
pub(crate) fn profile_text() -> String {
    export::profile_text(&export::profile())
}

/// The trace in the current format, with or without the header, consuming it for `trace_pipe`.
pub(crate) fn trace_text(consume: bool) -> Option<String> {
    let (kind, options) = control::with(|control| (control.kind, control.options));
    let snapshot = ring::read(consume);
    if consume && snapshot.is_empty() {
        return None;
    }
    Some(format::trace(kind, &options, &snapshot, !consume))
}
