//! The tracers' output formats (golden layouts), graph options and filters, exports, and the
//! tracefs files' errors. One tracer configuration per program: tests take a lock and reset.

mod common;

use common::{YieldOnce, block_on};
use std::sync::{Mutex, MutexGuard};
use tracehook::traceable;
use tracehook::tracefs::{self, append, read, read_nonblock, write};
use tracehook::tracer::{Error, Kind, Tracer};

#[traceable]
fn fmt_leaf(x: u32) -> u32 {
    std::hint::black_box(x + 1)
}
#[traceable]
fn fmt_mid(x: u32) -> u32 {
    fmt_leaf(x) + fmt_leaf(x + 1)
}
#[traceable]
fn fmt_top(x: u32) -> u32 {
    fmt_mid(x) * 2
}
#[traceable]
fn fmt_marked() {
    tracefs::write("trace_marker", "inside").unwrap();
    fmt_leaf(1);
}
#[traceable]
fn fmt_sleeper(micros: u64) {
    std::thread::sleep(std::time::Duration::from_micros(micros));
}
#[traceable]
fn fmt_panics() {
    fmt_leaf(0);
    panic!("fmt_panics fails on purpose");
}
#[traceable]
fn fmt_recover() -> bool {
    std::panic::catch_unwind(fmt_panics).is_err()
}

#[traceable]
async fn fmt_async(x: u32) -> u32 {
    let a = fmt_leaf(x);
    YieldOnce(false).await;
    a + fmt_leaf(x)
}

static LOCK: Mutex<()> = Mutex::new(());

fn setup() -> MutexGuard<'static, ()> {
    let guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Tracer::new().reset().expect("reset");
    guard
}

/// The graph's lines after the header, with the CPU number and durations masked.
fn graph_body() -> Vec<String> {
    read("trace")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(mask)
        .collect()
}

/// ` 1)   2.164 us    |      fmt_leaf();` becomes ` C)   D us    |      fmt_leaf();`.
fn mask(line: &str) -> String {
    let Some(bar) = line.find('|') else {
        return line.to_owned();
    };
    let (columns, rest) = line.split_at(bar);
    let masked: String = columns
        .chars()
        .map(|c| if c.is_ascii_digit() { 'N' } else { c })
        .collect();
    format!("{masked}{rest}")
}

#[test]
fn function_graph_golden_layout() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_top fmt_mid fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    fmt_top(1);
    let text = read("trace").unwrap();
    let header: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(
        header,
        [
            "# tracer: function_graph",
            "#",
            "# CPU  DURATION                  FUNCTION CALLS",
            "# |     |   |                     |   |   |   |",
        ]
    );
    let body = graph_body();
    assert_eq!(body.len(), 6, "{text}");
    assert_eq!(body[0], " N)               |  fmt_top() {");
    assert_eq!(body[1], " N)               |    fmt_mid() {");
    for leaf in &body[2..4] {
        // `  N.NNN us    |      fmt_leaf();`, with a mark in front when it took long.
        assert!(leaf.starts_with(" N) "), "{leaf}");
        assert!(
            leaf.ends_with(" us    |      fmt_leaf();") || leaf.contains(" us   |"),
            "{leaf}"
        );
    }
    assert!(body[4].ends_with("|    }"), "{}", body[4]);
    assert!(body[5].ends_with("|  }"), "{}", body[5]);
    // Every duration column is 14 characters wide before the bar, as the kernel prints it.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert_eq!(line.find('|'), Some(" 0) ".len() + 14), "{line}");
    }
}

#[test]
fn graph_options() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_top fmt_mid fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    write(
        "trace_options",
        "funcgraph-tail nofuncgraph-cpu funcgraph-proc",
    )
    .unwrap();
    assert!(
        read("trace_options")
            .unwrap()
            .contains("\nnofuncgraph-cpu\n")
    );
    assert_eq!(read("options/funcgraph-tail").unwrap(), "1\n");
    fmt_top(1);
    let text = read("trace").unwrap();
    assert!(
        text.contains("#  TASK/PID         DURATION                  FUNCTION CALLS"),
        "{text}"
    );
    let tid = text
        .lines()
        .find(|l| l.contains("fmt_top() {"))
        .and_then(|l| l.split('-').nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .unwrap();
    assert!(tid.chars().all(|c| c.is_ascii_digit()), "{text}");
    assert!(text.contains("} /* fmt_mid */"), "{text}");
    assert!(text.contains("} /* fmt_top */"), "{text}");
    // Durations off, absolute time on.
    write(
        "trace_options",
        "nofuncgraph-duration funcgraph-abstime nofuncgraph-proc",
    )
    .unwrap();
    write("options/funcgraph-tail", "0").unwrap();
    write("trace", "").unwrap();
    fmt_top(1);
    let text = read("trace").unwrap();
    assert!(
        text.contains("#     TIME                      FUNCTION CALLS"),
        "{text}"
    );
    let line = text.lines().find(|l| l.contains("fmt_top() {")).unwrap();
    // `    0.123456 |  fmt_top() {`: seconds.microseconds, then the bar, no duration.
    let (time, rest) = line.split_once(" |  ").unwrap();
    assert!(
        time.trim()
            .split_once('.')
            .is_some_and(|(_, us)| us.len() == 6),
        "{line}"
    );
    assert_eq!(rest, "fmt_top() {");
    assert!(write("trace_options", "funcgraph-tail bogus").is_err());
    assert_eq!(
        read("options/funcgraph-tail").unwrap(),
        "0\n",
        "all or nothing"
    );
}

#[test]
fn overhead_marks_follow_durations() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_sleeper").unwrap();
    write("current_tracer", "function_graph").unwrap();
    fmt_sleeper(150);
    fmt_sleeper(1_500);
    let text = read("trace").unwrap();
    let mut seen = 0;
    for line in text.lines().filter(|l| l.contains("fmt_sleeper();")) {
        let column = &line[" 0) ".len()..line.find('|').unwrap()];
        let mark = column.chars().next().unwrap();
        let micros: f64 = column[2..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let expected = match micros {
            m if m > 1_000_000.0 => '$',
            m if m > 100_000.0 => '@',
            m if m > 10_000.0 => '*',
            m if m > 1_000.0 => '#',
            m if m > 100.0 => '!',
            m if m > 10.0 => '+',
            _ => ' ',
        };
        assert_eq!(mark, expected, "{line}");
        assert!(micros >= 150.0, "{line}");
        seen += 1;
    }
    assert_eq!(seen, 2, "{text}");
}

#[test]
fn max_graph_depth_and_graph_filters() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_*").unwrap();
    write("current_tracer", "function_graph").unwrap();
    write("max_graph_depth", "1").unwrap();
    assert_eq!(read("max_graph_depth").unwrap(), "1\n");
    fmt_top(1);
    let body = graph_body();
    assert_eq!(body.len(), 1, "{body:?}");
    assert!(body[0].ends_with("|  fmt_top();"), "{body:?}");

    write("max_graph_depth", "0").unwrap();
    write("trace", "").unwrap();
    write("set_graph_function", "fmt_mid").unwrap();
    fmt_top(1);
    let body = graph_body();
    assert_eq!(body.len(), 4, "{body:?}");
    assert!(
        body[0].ends_with("|  fmt_mid() {"),
        "only fmt_mid and what it calls: {body:?}"
    );
    assert!(body[1].ends_with("|    fmt_leaf();"), "{body:?}");

    write("set_graph_function", "").unwrap();
    assert_eq!(
        read("set_graph_function").unwrap(),
        "#### all functions enabled ####\n"
    );
    write("set_graph_notrace", "fmt_mid").unwrap();
    assert_eq!(read("set_graph_notrace").unwrap(), "fmt_mid\n");
    write("trace", "").unwrap();
    fmt_top(1);
    let body = graph_body();
    assert_eq!(
        body.len(),
        1,
        "fmt_mid and its children are left out: {body:?}"
    );
    assert!(body[0].ends_with("|  fmt_top();"), "{body:?}");
}

#[test]
fn markers_in_order_and_as_graph_comments() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_marked fmt_leaf").unwrap();
    write("current_tracer", "function").unwrap();
    write("trace_marker", "before").unwrap();
    fmt_marked();
    write("trace_marker", "after").unwrap();
    let text = read("trace").unwrap();
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let tails: Vec<&str> = body.iter().map(|l| l.split_once(": ").unwrap().1).collect();
    assert_eq!(
        tails,
        [
            "tracing_mark_write: before",
            "fmt_marked",
            "tracing_mark_write: inside",
            "fmt_leaf <-fmt_marked",
            "tracing_mark_write: after",
        ]
    );
    // `TASK-PID [CPU] FLAGS TIMESTAMP: ...`
    let line = body[1];
    let (task, rest) = line.split_at(line.find(" [").unwrap());
    assert!(task.trim_start().contains('-'), "{line}");
    assert!(
        rest.starts_with(" [0") && rest.contains("] ..... "),
        "{line}"
    );
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let cpus = std::thread::available_parallelism().unwrap();
    let entries = format!("# entries-in-buffer/entries-written: 5/5   #P:{cpus}");
    assert_eq!(
        header,
        [
            "# tracer: function",
            "#",
            entries.as_str(),
            "#",
            "#                                _-----=> irqs-off/BH-disabled",
            "#                               / _----=> need-resched",
            "#                              | / _---=> hardirq/softirq",
            "#                              || / _--=> preempt-depth",
            "#                              ||| / _-=> migrate-disable",
            "#                              |||| /     delay",
            "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
            "#              | |         |   |||||     |         |",
        ]
    );
    // The columns line up under the legend: `%16s-%-7d [%03d] ..... %5lu.%06lu: `.
    let colon = line.find(": ").unwrap();
    assert_eq!(&line[24..28], " [00", "{line}");
    assert_eq!(
        colon,
        24 + " [000] ..... ".len() + "    0.000000".len(),
        "{line}"
    );
    assert!(matches!(read("trace_marker"), Err(Error::WriteOnly(_))));

    write("current_tracer", "function_graph").unwrap();
    fmt_marked();
    let body = graph_body();
    assert_eq!(body[0], " N)               |  fmt_marked() {");
    assert_eq!(body[1], " N)               |  /* inside */");
}

#[test]
fn panic_closes_the_function_and_marks_it() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_recover fmt_panics fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert!(fmt_recover());
    std::panic::set_hook(hook);
    let body = graph_body();
    assert!(body[1].ends_with("|    fmt_panics() {"), "{body:?}");
    assert!(
        body[3].ends_with("|    } /* fmt_panics (panic) */"),
        "{body:?}"
    );
    assert!(body[4].ends_with("|  }"), "{body:?}");
}

#[test]
fn async_functions_span_first_poll_to_completion() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_async fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    assert_eq!(block_on(fmt_async(3)), 8);
    let body = graph_body();
    assert_eq!(body.len(), 4, "{body:?}");
    assert!(body[0].ends_with("|  fmt_async() {"), "{body:?}");
    assert!(
        body[1].ends_with("|    fmt_leaf();"),
        "polled children nest: {body:?}"
    );
    assert!(body[2].ends_with("|    fmt_leaf();"), "{body:?}");
    assert!(body[3].ends_with("|  }"), "{body:?}");
}

#[test]
fn chrome_json_parses_and_nests() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_top fmt_mid fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    write("trace_marker", "start \"quoted\"\n").unwrap();
    fmt_top(1);
    let json: serde_json::Value = serde_json::from_str(&read("trace_json").unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let complete: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), 4);
    let find = |name: &str| {
        complete
            .iter()
            .find(|e| e["name"] == name)
            .copied()
            .unwrap()
    };
    let (top, mid) = (find("fmt_top"), find("fmt_mid"));
    let span = |e: &serde_json::Value| {
        let ts = e["ts"].as_f64().unwrap();
        (ts, ts + e["dur"].as_f64().unwrap())
    };
    let (top_start, top_end) = span(top);
    let (mid_start, mid_end) = span(mid);
    assert!(top_start <= mid_start && mid_end <= top_end, "{top} {mid}");
    assert_eq!(top["tid"], mid["tid"]);
    assert!(top["pid"].as_u64().is_some());
    let marker = events.iter().find(|e| e["ph"] == "i").unwrap();
    assert_eq!(marker["name"], "start \"quoted\"");
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "M" && e["name"] == "thread_name")
    );
    assert_eq!(json["otherData"]["tracer"], "function_graph");
}

#[test]
fn folded_stacks() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_top fmt_mid fmt_leaf").unwrap();
    write("current_tracer", "function_graph").unwrap();
    fmt_top(1);
    let folded = read("trace_folded").unwrap();
    let stacks: Vec<&str> = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    assert_eq!(
        stacks,
        ["fmt_top", "fmt_top;fmt_mid", "fmt_top;fmt_mid;fmt_leaf"]
    );
    for line in folded.lines() {
        line.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap();
    }
    // The function tracer folds `parent;func` call counts.
    write("current_tracer", "function").unwrap();
    fmt_top(1);
    let folded = read("trace_folded").unwrap();
    assert!(folded.contains("fmt_mid;fmt_leaf 2\n"), "{folded}");
}

#[test]
fn trace_pipe_consumes() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_leaf").unwrap();
    write("current_tracer", "function").unwrap();
    assert_eq!(read_nonblock("trace_pipe").unwrap(), "");
    fmt_leaf(1);
    let first = read("trace_pipe").unwrap();
    assert_eq!(first.lines().count(), 1, "no header: {first}");
    assert!(first.trim_end().ends_with(": fmt_leaf"), "{first}");
    assert_eq!(read_nonblock("trace_pipe").unwrap(), "", "consumed");
    // A blocking read waits for the next event.
    let reader = std::thread::spawn(|| read("trace_pipe").unwrap());
    std::thread::sleep(std::time::Duration::from_millis(20));
    fmt_leaf(2);
    assert!(reader.join().unwrap().contains("fmt_leaf"));
    // `trace` still shows what is in the buffer, minus what the pipe consumed.
    assert!(
        read("trace")
            .unwrap()
            .contains("entries-in-buffer/entries-written: 0/2")
    );
}

#[test]
fn buffers_overwrite_the_oldest() {
    let _guard = setup();
    write("buffer_size_kb", "1").unwrap();
    assert_eq!(read("buffer_size_kb").unwrap(), "1\n");
    write("set_ftrace_filter", "fmt_leaf").unwrap();
    write("current_tracer", "function").unwrap();
    for i in 0..100 {
        fmt_leaf(i);
    }
    let text = read("trace").unwrap();
    assert!(
        text.contains("entries-in-buffer/entries-written: 32/100"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 32);
    write("buffer_size_kb", "1408").unwrap();
}

#[test]
fn threads_have_their_own_buffers() {
    let _guard = setup();
    write("set_ftrace_filter", "fmt_leaf").unwrap();
    write("current_tracer", "function").unwrap();
    std::thread::Builder::new()
        .name("worker-a".into())
        .spawn(|| fmt_leaf(1))
        .unwrap()
        .join()
        .unwrap();
    fmt_leaf(2);
    let text = read("trace").unwrap();
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("worker-a-")),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": fmt_leaf")).count(),
        2
    );
}

#[test]
fn errors_name_the_problem_and_change_nothing() {
    let _guard = setup();
    assert_eq!(
        write("no_such_file", "1").unwrap_err(),
        Error::UnknownFile("no_such_file".into())
    );
    assert!(matches!(
        write("available_tracers", "x"),
        Err(Error::ReadOnly(_))
    ));
    assert!(matches!(read("nope"), Err(Error::UnknownFile(_))));
    write("current_tracer", "function").unwrap();
    write("trace_marker", "kept").unwrap();
    write("current_tracer", "function").unwrap();
    assert!(
        read("trace").unwrap().contains("kept"),
        "the same tracer again keeps the trace"
    );
    write("current_tracer", "nop").unwrap();
    assert!(
        !read("trace").unwrap().contains("kept"),
        "a switch clears it"
    );
    let error = write("current_tracer", "blk").unwrap_err();
    assert!(error.to_string().contains("blk"), "{error}");
    assert_eq!(read("current_tracer").unwrap(), "nop\n");
    assert!(write("tracing_on", "yes").is_err());
    assert!(write("max_graph_depth", "-1").is_err());
    assert!(write("buffer_size_kb", "0").is_err());
    write("set_ftrace_filter", "fmt_leaf").unwrap();
    let error = write("set_ftrace_filter", "fmt_mid fmt_[").unwrap_err();
    assert!(error.to_string().contains("fmt_["), "{error}");
    let error = append("set_ftrace_filter", "fmt_mid:traceoff:x").unwrap_err();
    assert!(error.to_string().contains("fmt_mid:traceoff:x"), "{error}");
    let error = append("set_ftrace_filter", "!fmt_top:traceon").unwrap_err();
    assert!(error.to_string().contains("no such trigger"), "{error}");
    assert_eq!(
        read("set_ftrace_filter").unwrap(),
        "fmt_leaf\n",
        "unchanged"
    );
    assert_eq!(tracefs::FILES.len(), 21);
    for file in tracefs::FILES
        .iter()
        .filter(|f| !["trace_pipe", "trace_marker", "options/"].contains(f))
    {
        read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn typed_api_matches_tracefs() {
    let _guard = setup();
    let tracer = Tracer::new();
    tracer
        .set_filter("fmt_top fmt_mid", false)
        .unwrap()
        .set_kind(Kind::FunctionGraph)
        .unwrap()
        .set_option("funcgraph-tail", true)
        .unwrap();
    assert_eq!(read("current_tracer").unwrap(), "function_graph\n");
    assert_eq!(read("set_ftrace_filter").unwrap(), "fmt_mid\nfmt_top\n");
    assert_eq!(read("options/funcgraph-tail").unwrap(), "1\n");
    fmt_top(1);
    tracer.stop();
    fmt_top(2);
    assert_eq!(read("tracing_on").unwrap(), "0\n");
    assert_eq!(tracer.text(), read("trace").unwrap());
    assert_eq!(tracer.text().matches("fmt_top() {").count(), 1);
    let enabled = read("enabled_functions").unwrap();
    assert!(enabled.contains("fmt_top (1)"), "{enabled}");
    let dir = std::env::temp_dir().join(format!("tracehook-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    tracer.save(dir.join("t.json")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t.json")).unwrap()).unwrap();
    assert!(json["traceEvents"].is_array());
    tracer.save(dir.join("t.txt")).unwrap();
    assert!(
        std::fs::read_to_string(dir.join("t.txt"))
            .unwrap()
            .starts_with("# tracer: function_graph")
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(tracer.set_option("nope", true).is_err());
}
