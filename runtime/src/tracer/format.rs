//! The kernel's text formats: the function tracer's lines, the function_graph layout, the profile.

use super::ring::{self, Event, FLAG_UNWIND, Kind, Ring, Snapshot, Text};
use super::{Kind as TracerKind, Options, clock};
use crate::site::{self, Site};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The name of the site at 0-based `index`, as the outputs print it.
pub(crate) fn site_name(index: u32) -> &'static str {
    site::all()
        .get(index as usize)
        .map_or("<unknown>", |s: &&'static Site| s.name())
}

/// `secs.usecs` of a raw reading, since the trace clock's time zero.
fn seconds(raw: u64) -> (u64, u64) {
    let nanos = clock::get().nanos(raw);
    (nanos / 1_000_000_000, nanos % 1_000_000_000 / 1000)
}

/// The kernel's `trace_print_graph_duration`: microseconds with up to 7 significant digits, then
/// ` us `, padded to the column's width.
pub(crate) fn duration(nanos: u64) -> String {
    let usecs = (nanos / 1000).to_string();
    let mut text = usecs.clone();
    let mut len = usecs.len();
    if len < 7 {
        let rem = format!("{:03}", nanos % 1000);
        let keep = (7 - len).min(3);
        text.push('.');
        text.push_str(&rem[..keep]);
        len += keep + 1;
    }
    text.push_str(" us ");
    for _ in len..8 {
        text.push(' ');
    }
    text
}

/// The kernel's overhead marks: `$` > 1 s, `@` > 100 ms, `*` > 10 ms, `#` > 1 ms, `!` > 100 µs,
/// `+` > 10 µs.
pub(crate) fn mark(nanos: u64) -> char {
    const MARKS: [(u64, char); 6] = [
        (1_000_000_000, '$'),
        (100_000_000, '@'),
        (10_000_000, '*'),
        (1_000_000, '#'),
        (100_000, '!'),
        (10_000, '+'),
    ];
    MARKS
        .iter()
        .find(|(limit, _)| nanos > *limit)
        .map_or(' ', |(_, sym)| *sym)
}

/// `TASK-PID` of a ring's thread, as the function tracer prints it (`%16s-%-7d`).
fn task(ring: &Ring) -> String {
    format!("{:>16}-{:<7}", ring.name, ring.tid)
}

/// The function tracer's header.
pub(crate) fn function_header(out: &mut String, tracer: &str, snapshot: &Snapshot) {
    let _ = write!(
        out,
        "# tracer: {tracer}\n#\n# entries-in-buffer/entries-written: {}/{}   #P:{}\n#\n",
        snapshot.in_buffer,
        snapshot.written,
        clock::online_cpus()
    );
    out.push_str(
        "#                                _-----=> irqs-off/BH-disabled\n\
         #                               / _----=> need-resched\n\
         #                              | / _---=> hardirq/softirq\n\
         #                              || / _--=> preempt-depth\n\
         #                              ||| / _-=> migrate-disable\n\
         #                              |||| /     delay\n\
         #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n\
         #              | |         |   |||||     |         |\n",
    );
}

/// One event in the function tracer's line format (markers and stack traces too).
pub(crate) fn function_line(out: &mut String, ring: &Ring, event: &Event, options: &Options) {
    let (secs, usecs) = seconds(event.ts);
    let _ = write!(
        out,
        "{} [{:03}] ..... {secs:5}.{usecs:06}: ",
        task(ring),
        event.cpu
    );
    match event.kind {
        Kind::Func => {
            out.push_str(site_name(event.site));
            if options.print_parent && event.arg != 0 {
                let _ = write!(out, " <-{}", site_name((event.arg - 1) as u32));
            }
        }
        Kind::Marker => {
            out.push_str("tracing_mark_write: ");
            out.push_str(&marker_text(event.arg));
        }
        Kind::Stack => {
            out.push_str("<stack trace>");
            for site in stack_sites(event.arg) {
                let _ = write!(out, "\n => {}", site_name(site));
            }
        }
        Kind::Entry => {
            let _ = write!(out, "funcgraph_entry: {}() {{", site_name(event.site));
        }
        Kind::Return => {
            let _ = write!(out, "funcgraph_exit: }} /* {} */", site_name(event.site));
        }
    }
    out.push('\n');
}

pub(crate) fn marker_text(id: u64) -> String {
    match ring::text(id).as_deref() {
        Some(Text::Marker(text)) => text.to_string(),
        _ => "<lost>".to_owned(),
    }
}

pub(crate) fn stack_sites(id: u64) -> Vec<u32> {
    match ring::text(id).as_deref() {
        Some(Text::Stack(sites)) => sites.to_vec(),
        _ => Vec::new(),
    }
}

/// The whole `trace` file for the current tracer.
pub(crate) fn trace(
    kind: TracerKind,
    options: &Options,
    snapshot: &Snapshot,
    header: bool,
) -> String {
    let mut out = String::new();
    match kind {
        TracerKind::FunctionGraph => graph(&mut out, options, snapshot, header),
        TracerKind::Function | TracerKind::Nop => {
            if header {
                function_header(&mut out, kind.name(), snapshot);
            }
            for (t, e) in snapshot.merged() {
                let (ring, events) = &snapshot.threads[t];
                function_line(&mut out, ring, &events[e], options);
            }
        }
    }
    out
}

/// The function_graph layout.
fn graph(out: &mut String, options: &Options, snapshot: &Snapshot, header: bool) {
    if header {
        out.push_str("# tracer: function_graph\n#\n");
        graph_header(out, options);
    }
    let cpu_width = (clock::online_cpus().saturating_sub(1)).to_string().len();
    let mut consumed: HashSet<(usize, usize)> = HashSet::new();
    // Per thread: the depth comments are shown at (kernel's cpu_data->depth).
    let mut comment_depth: HashMap<usize, i64> = HashMap::new();
    let mut last_thread: Option<usize> = None;
    for (t, e) in snapshot.merged() {
        if consumed.contains(&(t, e)) {
            continue;
        }
        let (ring, events) = &snapshot.threads[t];
        let event = &events[e];
        if event.kind == Kind::Func {
            continue;
        }
        if let Some(previous) = last_thread.filter(|&p| p != t) {
            let (before, _) = &snapshot.threads[previous];
            let _ = write!(
                out,
                " ------------------------------------------\n {:>cpu_width$}) {} => {}\n ------------------------------------------\n\n",
                event.cpu,
                proc_column(before),
                proc_column(ring)
            );
        }
        last_thread = Some(t);
        if event.kind == Kind::Stack {
            function_line(out, ring, event, options);
            continue;
        }
        // Prologue: absolute time, CPU, task.
        if options.funcgraph_abstime {
            let (secs, usecs) = seconds(event.ts);
            let _ = write!(out, "{secs:5}.{usecs:06} |  ");
        }
        if options.funcgraph_cpu {
            let _ = write!(out, " {:>cpu_width$}) ", event.cpu);
        }
        if options.funcgraph_proc {
            let _ = write!(out, "{} | ", proc_column(ring));
        }
        let indent = |depth: u16| " ".repeat(usize::from(depth) * 2);
        match event.kind {
            Kind::Entry => {
                let leaf = events.get(e + 1).filter(|next| {
                    next.kind == Kind::Return
                        && next.site == event.site
                        && next.depth == event.depth
                });
                let name = site_name(event.site);
                if let Some(ret) = leaf {
                    consumed.insert((t, e + 1));
                    comment_depth.insert(t, i64::from(event.depth) - 1);
                    duration_column(out, options, Some(ret_nanos(ret)));
                    let _ = write!(out, "{}{name}();", indent(event.depth));
                    if ret.flags & FLAG_UNWIND != 0 {
                        out.push_str(" /* panic */");
                    }
                } else {
                    comment_depth.insert(t, i64::from(event.depth));
                    duration_column(out, options, None);
                    let _ = write!(out, "{}{name}() {{", indent(event.depth));
                }
            }
            Kind::Return => {
                comment_depth.insert(t, i64::from(event.depth) - 1);
                duration_column(out, options, Some(ret_nanos(event)));
                // Like the kernel, name the function when its entry is not shown (lost, or on
                // another thread for an async fn) or when funcgraph-tail asks for it.
                let matched = matching_entry(events, e);
                let name = site_name(event.site);
                let _ = write!(out, "{}}}", indent(event.depth));
                if event.flags & FLAG_UNWIND != 0 {
                    let _ = write!(out, " /* {name} (panic) */");
                } else if !matched || options.funcgraph_tail {
                    let _ = write!(out, " /* {name} */");
                }
            }
            Kind::Marker => {
                duration_column(out, options, None);
                let depth = comment_depth.get(&t).copied().unwrap_or(0);
                if depth > 0 {
                    out.push_str(&" ".repeat(usize::try_from(depth + 1).unwrap_or(0) * 2));
                }
                let _ = write!(out, "/* {} */", marker_text(event.arg));
            }
            Kind::Func | Kind::Stack => {}
        }
        out.push('\n');
    }
}

fn ret_nanos(event: &Event) -> u64 {
    // Return events carry their duration in raw ticks.
    clock::get().delta_nanos(0, event.arg)
}

/// Whether the `Return` at `e` closes an `Entry` shown earlier in the same thread's events.
fn matching_entry(events: &[Event], e: usize) -> bool {
    let ret = &events[e];
    for event in events[..e].iter().rev() {
        match event.kind {
            Kind::Entry if event.depth == ret.depth => return event.site == ret.site,
            Kind::Entry | Kind::Return if event.depth < ret.depth => return false,
            _ => {}
        }
    }
    false
}

/// The duration column: overhead mark and duration, or blanks.
fn duration_column(out: &mut String, options: &Options, nanos: Option<u64>) {
    if !options.funcgraph_duration {
        return;
    }
    match nanos {
        None => out.push_str("              |  "),
        Some(nanos) => {
            let sym = if options.funcgraph_overhead {
                mark(nanos)
            } else {
                ' '
            };
            let _ = write!(out, "{sym} {}|  ", duration(nanos));
        }
    }
}

/// The kernel's `print_graph_proc`: `comm-pid` centred in 14 columns (comm cut to 7 bytes).
fn proc_column(ring: &Ring) -> String {
    let comm: String = ring.name.chars().take(7).collect();
    let text = format!("{comm}-{}", ring.tid);
    let spaces = 14usize.saturating_sub(text.len());
    format!(
        "{}{text}{}",
        " ".repeat(spaces / 2),
        " ".repeat(spaces - spaces / 2)
    )
}

fn graph_header(out: &mut String, options: &Options) {
    // Each optional column: whether it is shown, its title, its bar line.
    let columns = [
        (
            options.funcgraph_abstime,
            "     TIME       ",
            "      |         ",
        ),
        (options.funcgraph_cpu, " CPU", " |  "),
        (
            options.funcgraph_proc,
            "  TASK/PID       ",
            "   |    |        ",
        ),
        (
            options.funcgraph_duration,
            "  DURATION   ",
            "   |   |      ",
        ),
    ];
    out.push('#');
    for (_, title, _) in columns.iter().filter(|c| c.0) {
        out.push_str(title);
    }
    out.push_str("               FUNCTION CALLS\n#");
    for (_, _, bar) in columns.iter().filter(|c| c.0) {
        out.push_str(bar);
    }
    out.push_str("               |   |   |   |\n");
}
