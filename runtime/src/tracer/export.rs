//! Exports of the recorded trace: Chrome Trace Event JSON (Perfetto, chrome://tracing) and folded
//! stacks (flame graph tools), and the profiler's statistics.

use super::clock;
use super::format::{self, duration, site_name};
use super::record::PROFILES;
use super::ring::{FLAG_ASYNC, Kind, Snapshot};
use crate::site::{self, Site};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// A JSON string literal.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Microseconds with nanosecond precision, as Chrome's `ts`/`dur` take them.
fn micros(nanos: u64) -> String {
    format!("{}.{:03}", nanos / 1000, nanos % 1000)
}

/// The trace as Chrome Trace Event JSON: one complete (`X`) event per finished call of the
/// function_graph tracer (from its entry to its return: an `async fn` from first poll to completion),
/// a begin (`B`) event for a call still open, instant (`i`) events for function-tracer calls, markers
/// and stack traces, and thread names as metadata.
pub(crate) fn chrome_json(snapshot: &Snapshot, tracer: &str) -> String {
    let clock = clock::get();
    let pid = std::process::id();
    let mut events: Vec<String> = Vec::new();
    let mut push = |event: String| events.push(event);
    for (ring, list) in &snapshot.threads {
        let mut meta = format!(
            r#"{{"name":"thread_name","ph":"M","pid":{pid},"tid":{},"args":{{"name":"#,
            ring.tid
        );
        json_string(&mut meta, &ring.name);
        meta.push_str("}}");
        push(meta);
        let mut open: Vec<usize> = Vec::new();
        for (i, event) in list.iter().enumerate() {
            let ts = clock.nanos(event.ts);
            let mut line = String::from("{\"name\":");
            match event.kind {
                Kind::Entry => {
                    open.push(i);
                    continue;
                }
                Kind::Return => {
                    if let Some(at) = open.iter().rposition(|&o| list[o].site == event.site) {
                        open.truncate(at);
                    }
                    let dur = clock.delta_nanos(0, event.arg);
                    json_string(&mut line, site_name(event.site));
                    let _ = write!(
                        line,
                        r#","cat":"function","ph":"X","ts":{},"dur":{},"#,
                        micros(ts.saturating_sub(dur)),
                        micros(dur)
                    );
                }
                Kind::Func => {
                    json_string(&mut line, site_name(event.site));
                    let _ = write!(
                        line,
                        r#","cat":"function","ph":"i","s":"t","ts":{},"#,
                        micros(ts)
                    );
                    if event.arg != 0 {
                        line.push_str(r#""args":{"parent":"#);
                        json_string(&mut line, site_name((event.arg - 1) as u32));
                        line.push_str("},");
                    }
                }
                Kind::Marker => {
                    json_string(&mut line, &format::marker_text(event.arg));
                    let _ = write!(
                        line,
                        r#","cat":"marker","ph":"i","s":"t","ts":{},"#,
                        micros(ts)
                    );
                }
                Kind::Stack => {
                    line.push_str(r#""stacktrace","cat":"stacktrace","ph":"i","s":"t","#);
                    let _ = write!(line, r#""ts":{},"args":{{"stack":["#, micros(ts));
                    for (n, site) in format::stack_sites(event.arg).into_iter().enumerate() {
                        if n > 0 {
                            line.push(',');
                        }
                        json_string(&mut line, site_name(site));
                    }
                    line.push_str("]},");
                }
            }
            let _ = write!(line, r#""pid":{pid},"tid":{}}}"#, ring.tid);
            push(line);
        }
        for &o in &open {
            let event = &list[o];
            if event.flags & FLAG_ASYNC != 0 {
                // Its completion, if any, is a complete event on the thread that finished it.
                continue;
            }
            let mut line = String::from("{\"name\":");
            json_string(&mut line, site_name(event.site));
            let _ = write!(
                line,
                r#","cat":"function","ph":"B","ts":{},"pid":{pid},"tid":{}}}"#,
                micros(clock.nanos(event.ts)),
                ring.tid
            );
            push(line);
        }
    }
    let mut out = String::from("{\"traceEvents\":[\n");
    out.push_str(&events.join(",\n"));
    out.push_str("\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"tracer\":");
    json_string(&mut out, tracer);
    out.push_str("}}\n");
    out
}

/// Folded stacks, `a;b;c value` per line. For function_graph the value is the stack's self time in
/// nanoseconds (flame graph widths are then time); for the function tracer, calls of `parent;func`.
pub(crate) fn folded(snapshot: &Snapshot) -> String {
    let clock = clock::get();
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for (_, list) in &snapshot.threads {
        // Open calls: (site, time spent in recorded children).
        let mut stack: Vec<(u32, u64)> = Vec::new();
        for event in list {
            match event.kind {
                Kind::Entry => stack.push((event.site, 0)),
                Kind::Return => {
                    let dur = clock.delta_nanos(0, event.arg);
                    let children = match stack.iter().rposition(|(s, _)| *s == event.site) {
                        Some(at) => {
                            let children = stack[at].1;
                            stack.truncate(at);
                            children
                        }
                        None => 0,
                    };
                    if let Some(parent) = stack.last_mut() {
                        parent.1 += dur;
                    }
                    let mut path: Vec<&str> = stack.iter().map(|(s, _)| site_name(*s)).collect();
                    path.push(site_name(event.site));
                    *totals.entry(path.join(";")).or_default() += dur.saturating_sub(children);
                }
                Kind::Func => {
                    let path = if event.arg == 0 {
                        site_name(event.site).to_owned()
                    } else {
                        format!(
                            "{};{}",
                            site_name((event.arg - 1) as u32),
                            site_name(event.site)
                        )
                    };
                    *totals.entry(path).or_default() += 1;
                }
                Kind::Marker | Kind::Stack => {}
            }
        }
    }
    let mut out = String::new();
    for (path, value) in totals {
        let _ = writeln!(out, "{path} {value}");
    }
    out
}

/// One function's line of the profile.
#[derive(Clone, Debug)]
pub struct ProfileEntry {
    /// The function.
    pub site: &'static Site,
    /// Calls counted.
    pub hits: u64,
    /// Total time in the function, children included, in nanoseconds.
    pub total_nanos: u64,
    /// Sample variance of the call times, in ns².
    pub variance: f64,
}

impl ProfileEntry {
    /// Mean time per call in nanoseconds.
    #[must_use]
    pub fn average_nanos(&self) -> u64 {
        self.total_nanos.checked_div(self.hits).unwrap_or(0)
    }
}

/// The profile summed over threads, by total time (longest first).
pub(crate) fn profile() -> Vec<ProfileEntry> {
    let sites = site::all();
    let mut sums = vec![(0u64, 0u64, 0f64); sites.len()];
    for table in PROFILES.lock().iter() {
        for (sum, cell) in sums.iter_mut().zip(table.cells.iter()) {
            sum.0 += cell.hits.load(Ordering::Relaxed);
            sum.1 += cell.nanos.load(Ordering::Relaxed);
            sum.2 += f64::from_bits(cell.squares.load(Ordering::Relaxed));
        }
    }
    let mut entries: Vec<ProfileEntry> = sums
        .into_iter()
        .zip(sites)
        .filter(|((hits, _, _), _)| *hits > 0)
        .map(|((hits, total, squares), &site)| {
            #[allow(clippy::cast_precision_loss, reason = "statistics")]
            let (n, sum) = (hits as f64, total as f64);
            let variance = if hits <= 1 {
                0.0
            } else {
                ((n * squares - sum * sum) / (n * (n - 1.0))).max(0.0)
            };
            ProfileEntry {
                site,
                hits,
                total_nanos: total,
                variance,
            }
        })
        .collect();
    entries.sort_by(|a, b| b.total_nanos.cmp(&a.total_nanos).then(b.hits.cmp(&a.hits)));
    entries
}

/// `trace_stat/function`, in the kernel's columns.
pub(crate) fn profile_text(entries: &[ProfileEntry]) -> String {
    let mut out = String::from(
        "  Function                               Hit    Time            Avg             s^2\n  \
         --------                               ---    ----            ---             ---\n",
    );
    for entry in entries {
        let name: String = entry.site.name().chars().take(30).collect();
        // The kernel divides ns² by 1000 and prints it with the duration printer (which divides by
        // 1000 again): the column is in µs².
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "display"
        )]
        let variance = (entry.variance / 1000.0) as u64;
        let _ = writeln!(
            out,
            "  {name:<30}  {:>10}    {}    {}    {}",
            entry.hits,
            duration(entry.total_nanos),
            duration(entry.average_nanos()),
            duration(variance)
        );
    }
    out
}
