//! Start-up configuration from the environment.
//!
//! `TRACEHOOK` holds tracefs writes separated by `;`: `file=value` is `echo value > file`,
//! `file+=value` is `echo value >> file`, for example
//! `TRACEHOOK='current_tracer=function_graph;set_ftrace_filter=parse* eval*'`. It is applied once,
//! the first time the runtime is touched (a tracefs or tracer call, an ops registration, the listing
//! of functions) or by an explicit [`init`]. A malformed variable is reported once on stderr and
//! ignored (the configuration is put back to its defaults): it never stops the program.
//!
//! `TRACEHOOK_OUTPUT=path` writes the trace to `path` when the program exits (`atexit`): Chrome
//! Trace Event JSON for a `.json` path, folded stacks for `.folded`, the text format otherwise.

use std::cell::Cell;
use std::sync::Once;

static APPLY: Once = Once::new();

thread_local! {
    /// Set on the thread applying the variable, whose own runtime calls must not wait for itself.
    static APPLYING: Cell<bool> = const { Cell::new(false) };
}

/// Applies `TRACEHOOK` and arms `TRACEHOOK_OUTPUT`, once; later calls return at once.
pub fn init() {
    ensure();
}

/// [`init`], called at every entry into the runtime's control plane.
pub(crate) fn ensure() {
    if APPLY.is_completed() || APPLYING.with(Cell::get) {
        return;
    }
    APPLY.call_once(|| {
        APPLYING.with(|a| a.set(true));
        apply_environment();
        crate::ftrace::registry::boot();
        APPLYING.with(|a| a.set(false));
    });
}

/// One `file=value` / `file+=value` entry.
struct Entry<'a> {
    file: &'a str,
    value: &'a str,
    append: bool,
}

/// Splits the variable into entries; `Err` names the malformed one.
fn parse(variable: &str) -> Result<Vec<Entry<'_>>, String> {
    variable
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let Some((file, value)) = part.split_once('=') else {
                return Err(format!("`{part}` is not `file=value`"));
            };
            let (file, append) = match file.strip_suffix('+') {
                Some(file) => (file, true),
                None => (file, false),
            };
            Ok(Entry {
                file: file.trim(),
                value: value.trim(),
                append,
            })
        })
        .collect()
}

fn apply_environment() {
    if let Ok(variable) = std::env::var("TRACEHOOK")
        && let Err(message) = apply(&variable)
    {
        #[allow(
            clippy::print_stderr,
            reason = "the variable's documented error channel"
        )]
        {
            eprintln!("tracehook: ignoring TRACEHOOK: {message}");
        }
        // Ignored means ignored: what the entries before the bad one did is undone.
        let _ = crate::tracer::Tracer::new().reset();
    }
    if std::env::var_os("TRACEHOOK_OUTPUT").is_some() {
        extern "C" fn write_output() {
            let Some(path) = std::env::var_os("TRACEHOOK_OUTPUT") else {
                return;
            };
            if let Err(error) = crate::tracer::Tracer::new().save(&path) {
                #[allow(clippy::print_stderr, reason = "nowhere else to report at exit")]
                {
                    eprintln!(
                        "tracehook: cannot write TRACEHOOK_OUTPUT {}: {error}",
                        std::path::Path::new(&path).display()
                    );
                }
            }
        }
        // SAFETY: registers a plain `extern "C"` function with no preconditions.
        unsafe {
            libc::atexit(write_output);
        }
    }
}

/// Applies the entries in order; stops at the first error.
pub(crate) fn apply(variable: &str) -> Result<(), String> {
    for entry in parse(variable)? {
        let result = if entry.append {
            crate::tracefs::append(entry.file, entry.value)
        } else {
            crate::tracefs::write(entry.file, entry.value)
        };
        result.map_err(|error| format!("`{}`: {error}", entry.file))?;
    }
    Ok(())
}
