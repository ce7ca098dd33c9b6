#!/usr/bin/env python3
"""The real-crate corpus: #[traceable] on every function of published crates, their own tests.

For each pinned crate: fetch its published source from the registry, copy it twice, add
`#[tracehook::traceable]` to every function with a body in one copy (scripts/corpus/annotate: free
functions, inherent and trait impl methods, trait default methods, nested functions; `const fn`s
skipped) and add the dependency; then run the crate's own test suite three ways (plain, annotated
with tracing off, annotated with every function traced by `TRACEHOOK='current_tracer=function_graph'`)
and clippy on both copies. Fails when the pass counts differ or the annotated copy has a clippy
warning the plain one has not.

    python3 scripts/corpus/corpus.py            # the whole corpus
    python3 scripts/corpus/corpus.py --quick    # the CI part
    python3 scripts/corpus/corpus.py semver     # named crates

Work happens in target/corpus (the copies share one target directory per crate).
"""

import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "target", "corpus")

# name, version, what it stands for, in CI
CORPUS = [
    ("semver", "1.0.28", "parser", True),
    ("itoa", "1.0.19", "no_std, unsafe", True),
    ("either", "1.19.0", "generics, iterator adapters", True),
    ("arrayvec", "0.7.8", "unsafe, const generics", False),
    ("anyhow", "1.0.98", "trait objects, backtraces", False),
    ("bitflags", "2.13.2", "macro-generated methods", False),
    ("futures-lite", "2.6.1", "async", False),
    ("regex-syntax", "0.8.12", "large parser (>10k lines)", False),
]

RESULT = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")


def run(cmd, cwd, env=None, check=True, capture=True):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, text=True,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )
    if check and proc.returncode != 0:
        sys.stdout.write(proc.stdout or "")
        raise SystemExit(f"corpus: `{' '.join(cmd)}` failed in {cwd}")
    return proc


def fetch(name, version):
    """The published source of name@version, from the registry (cargo fetch), as a directory."""
    probe = os.path.join(WORK, "fetch", f"{name}-{version}")
    os.makedirs(os.path.join(probe, "src"), exist_ok=True)
    with open(os.path.join(probe, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "probe"\nversion = "0.0.0"\nedition = "2021"\n\n'
                f'[dependencies]\n{name} = "={version}"\n\n[workspace]\n')
    open(os.path.join(probe, "src", "lib.rs"), "w").close()
    run(["cargo", "fetch", "--quiet"], probe)
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = glob.glob(os.path.join(home, "registry", "src", "*", f"{name}-{version}"))
    if not found:
        raise SystemExit(f"corpus: {name}-{version} not found after cargo fetch")
    return found[0]


def prepare(source, dest, annotate):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    manifest = os.path.join(dest, "Cargo.toml")
    text = open(manifest).read()
    if "[workspace]" not in text:
        text += "\n[workspace]\n"
    annotated = 0
    if annotate:
        dep = f'tracehook = {{ path = "{ROOT}" }}\n'
        if re.search(r"^\[dependencies\]\s*$", text, re.M):
            text = re.sub(r"^\[dependencies\]\s*$", "[dependencies]\n" + dep.rstrip(), text, count=1, flags=re.M)
        else:
            text += "\n[dependencies]\n" + dep
        dirs = [d for d in ("src", "tests") if os.path.isdir(os.path.join(dest, d))]
        out = run([ANNOTATE] + dirs, dest).stdout
        total = re.search(r"^total (\d+) unparsed (\d+)$", out, re.M)
        annotated = int(total.group(1))
        if int(total.group(2)):
            print(out)
    open(manifest, "w").write(text)
    return annotated


def test_counts(output):
    passed = failed = ignored = 0
    for m in RESULT.finditer(output):
        passed += int(m.group(1))
        failed += int(m.group(2))
        ignored += int(m.group(3))
    return passed, failed, ignored


def timed_tests(crate_dir, target, env=None):
    env = dict(env or {}, CARGO_TARGET_DIR=target)
    run(["cargo", "test", "--no-run", "--quiet"], crate_dir, env)
    start = time.monotonic()
    proc = run(["cargo", "test", "--quiet"], crate_dir, env, check=False)
    elapsed = time.monotonic() - start
    return test_counts(proc.stdout), elapsed, proc


def build_time(crate_dir, target):
    """A clean, non-incremental build of the crate's library alone (its dependencies built)."""
    env = {"CARGO_TARGET_DIR": target, "CARGO_INCREMENTAL": "0"}
    run(["cargo", "build", "--lib", "--quiet"], crate_dir, env)
    best = None
    for _ in range(2):
        for root, _, names in os.walk(os.path.join(crate_dir, "src")):
            for n in names:
                os.utime(os.path.join(root, n))
        start = time.monotonic()
        run(["cargo", "build", "--lib", "--quiet"], crate_dir, env)
        elapsed = time.monotonic() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def clippy(crate_dir, target):
    env = {"CARGO_TARGET_DIR": target}
    proc = run(["cargo", "clippy", "--all-targets", "--message-format=json", "--quiet"], crate_dir, env, check=False)
    lints = collections.Counter()
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") != "compiler-message":
            continue
        if "/registry/" in msg["target"]["src_path"]:
            continue
        m = msg["message"]
        if m["level"] in ("warning", "error") and m.get("code"):
            lints[m["code"]["code"]] += 1
    return lints


def sites_in(target):
    """The number of sites in the largest test binary (the linker section holds one pointer each)."""
    best = 0
    for path in glob.glob(os.path.join(target, "debug", "deps", "*")):
        if not os.access(path, os.X_OK) or os.path.isdir(path) or "." in os.path.basename(path):
            continue
        out = subprocess.run(["readelf", "-SW", path], text=True, capture_output=True).stdout
        for line in out.splitlines():
            # `[Nr] Name Type Address Off Size ...`
            fields = line.split("]", 1)[1].split() if "]" in line else []
            if fields and fields[0] == "linkme_SITES":
                best = max(best, int(fields[4], 16) // 8)
    return best


def one(name, version, style):
    print(f"corpus: {name} {version} ({style})", flush=True)
    source = fetch(name, version)
    plain = os.path.join(WORK, "plain", name)
    annotated = os.path.join(WORK, "annotated", name)
    prepare(source, plain, annotate=False)
    count = prepare(source, annotated, annotate=True)
    target = os.path.join(WORK, "target", name)
    annotated_target = target  # shared: the two copies differ by path, so by hash
    row = {"crate": name, "version": version, "style": style, "annotated": count}
    (p, f, i), t_plain, _ = timed_tests(plain, target)
    (p_off, f_off, i_off), t_off, _ = timed_tests(annotated, annotated_target)
    (p_on, f_on, i_on), t_on, proc_on = timed_tests(
        annotated, annotated_target, {"TRACEHOOK": "current_tracer=function_graph"})
    row.update(tests=(p, f, i), tests_off=(p_off, f_off, i_off), tests_on=(p_on, f_on, i_on),
               t_plain=t_plain, t_off=t_off, t_on=t_on)
    row["sites"] = sites_in(annotated_target)
    row["build_plain"] = build_time(plain, target)
    row["build_annotated"] = build_time(annotated, annotated_target)
    lints_plain = clippy(plain, target)
    lints_annotated = clippy(annotated, annotated_target)
    row["new_lints"] = dict(lints_annotated - lints_plain)
    row["ok"] = (p, f) == (p_off, f_off) == (p_on, f_on) and not row["new_lints"] and p > 0
    if not row["ok"]:
        sys.stdout.write(proc_on.stdout[-4000:])
    print(f"corpus: {name}: {json.dumps(row)}", flush=True)
    return row


def main():
    global ANNOTATE
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the CI part of the corpus")
    parser.add_argument("crates", nargs="*")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    annotate_dir = os.path.join(ROOT, "scripts", "corpus", "annotate")
    run(["cargo", "build", "--release", "--quiet"], annotate_dir,
        {"CARGO_TARGET_DIR": os.path.join(WORK, "annotate-target")})
    ANNOTATE = os.path.join(WORK, "annotate-target", "release", "annotate")
    chosen = [c for c in CORPUS if (not args.crates or c[0] in args.crates) and (not args.quick or c[3])]
    rows = []
    for name, version, style, _ in chosen:
        try:
            rows.append(one(name, version, style))
        except SystemExit as error:
            print(error, flush=True)
            rows.append({"crate": name, "version": version, "style": style, "ok": False, "error": str(error)})
    print()
    print("| crate | style | fns annotated | sites | tests passed (plain / off / graph) | build annotated/plain | tests graph/plain | new clippy lints |")
    print("|---|---|---:|---:|---|---:|---:|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['crate']} {r['version']} | {r['style']} | {r['error']} | | | | | |")
            continue
        tests = " / ".join(str(t[0]) for t in (r["tests"], r["tests_off"], r["tests_on"]))
        new = ", ".join(f"{k} ×{v}" for k, v in r["new_lints"].items()) or "none"
        print(f"| {r['crate']} {r['version']} | {r['style']} | {r['annotated']} | {r['sites']} | {tests} | "
              f"{r['build_annotated'] / r['build_plain']:.2f} | {r['t_on'] / max(r['t_plain'], 1e-3):.2f} | {new} |")
    failed = [r["crate"] for r in rows if not r["ok"]]
    print()
    print(f"corpus: {len(rows) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
