//! Start-up configuration: `TRACEHOOK` and `TRACEHOOK_OUTPUT`, checked in child processes (this test
//! binary re-run with the variables set, running only `child`).

use std::process::Command;

#[tracehook::traceable]
fn env_parse(x: u32) -> u32 {
    env_eval(x) + 1
}

#[tracehook::traceable]
fn env_eval(x: u32) -> u32 {
    std::hint::black_box(x * 2)
}

/// Runs in the child: touches the runtime the way a program does, then reports what it sees.
#[test]
fn child() {
    if std::env::var_os("TRACEHOOK_TEST_CHILD").is_none() {
        return;
    }
    tracehook::init();
    env_parse(1);
    println!(
        "TRACER={}",
        tracehook::tracefs::read("current_tracer").unwrap().trim()
    );
    println!(
        "FILTER={}",
        tracehook::tracefs::read("set_ftrace_filter")
            .unwrap()
            .replace('\n', ",")
    );
    print!("{}", tracehook::tracefs::read("trace").unwrap());
}

/// Runs in the child: a program that never calls tracehook's API, only traced functions.
#[test]
fn child_untouched() {
    if std::env::var_os("TRACEHOOK_TEST_CHILD").is_none() {
        return;
    }
    env_parse(2);
}

fn run_child(tracehook: &str, output: Option<&std::path::Path>) -> (String, String) {
    run(tracehook, output, "child")
}

fn run(tracehook: &str, output: Option<&std::path::Path>, test: &str) -> (String, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("TRACEHOOK_TEST_CHILD", "1")
        .env("TRACEHOOK", tracehook);
    if let Some(path) = output {
        command.env("TRACEHOOK_OUTPUT", path);
    }
    let result = command.output().unwrap();
    assert!(result.status.success(), "{result:?}");
    (
        String::from_utf8(result.stdout).unwrap(),
        String::from_utf8(result.stderr).unwrap(),
    )
}

#[test]
fn variable_configures_the_tracer() {
    let (stdout, stderr) = run_child(
        "current_tracer=function_graph; set_ftrace_filter=env_parse env_eval ;trace_options=funcgraph-tail",
        None,
    );
    assert!(stdout.contains("TRACER=function_graph"), "{stdout}{stderr}");
    assert!(stdout.contains("FILTER=env_eval,env_parse,"), "{stdout}");
    assert!(stdout.contains("|  env_parse() {"), "{stdout}");
    assert!(stdout.contains("|    env_eval();"), "{stdout}");
    assert!(stdout.contains("} /* env_parse */"), "{stdout}");
    assert!(!stderr.contains("tracehook:"), "{stderr}");
}

#[test]
fn append_entries() {
    let (stdout, _) = run_child(
        "set_ftrace_filter=env_parse;set_ftrace_filter+=env_eval;current_tracer=function",
        None,
    );
    assert!(stdout.contains("FILTER=env_eval,env_parse,"), "{stdout}");
    assert!(stdout.contains(": env_eval <-env_parse"), "{stdout}");
}

#[test]
fn malformed_variable_is_reported_once_and_ignored() {
    for bad in [
        "current_tracer=function;set_ftrace_filter=no_such_function_anywhere",
        "current_tracer",
        "no_such_file=1",
        "current_tracer=blk",
    ] {
        let (stdout, stderr) = run_child(bad, None);
        assert_eq!(
            stderr.matches("tracehook: ignoring TRACEHOOK").count(),
            1,
            "{bad}: {stderr}"
        );
        assert!(
            stdout.contains("TRACER=nop"),
            "{bad}: nothing applied: {stdout}"
        );
        assert!(
            stdout.contains("FILTER=#### all functions enabled ####"),
            "{stdout}"
        );
    }
}

/// The names of the complete (`X`) events of a Chrome trace file, in file order.
fn complete_events(path: &std::path::Path) -> Vec<String> {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn output_file_written_at_exit() {
    let dir = std::env::temp_dir().join(format!("tracehook-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("trace.json");
    run_child(
        "current_tracer=function_graph;set_ftrace_filter=env_*",
        Some(&json),
    );
    assert_eq!(complete_events(&json), ["env_eval", "env_parse"]);
    // The first traced call is the first touch of the runtime: the variable applies there.
    let untouched = dir.join("untouched.json");
    run(
        "current_tracer=function_graph;set_ftrace_filter=env_*",
        Some(&untouched),
        "child_untouched",
    );
    // env_parse's first call applied the variable before looking for callbacks: it is traced too.
    assert_eq!(complete_events(&untouched), ["env_eval", "env_parse"]);
    let text = dir.join("trace.txt");
    run_child(
        "current_tracer=function;set_ftrace_filter=env_*",
        Some(&text),
    );
    let written = std::fs::read_to_string(&text).unwrap();
    assert!(written.starts_with("# tracer: function\n"), "{written}");
    assert!(written.contains(": env_eval <-env_parse"), "{written}");
    std::fs::remove_dir_all(&dir).unwrap();
}
