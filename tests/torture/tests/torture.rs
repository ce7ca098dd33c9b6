//! Every generated form (see `build.rs`), in every annotated copy: compiled under
//! `#![deny(warnings)]` (the crate), hooked (an ops sees the call under the site's name, with its
//! arguments shown), and returning what the plain copy returns, with tracing on and off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tracehook::ftrace::{self, Flags, Ops};
use tracehook_torture::FORMS;

fn compare(failures: &mut Vec<String>, on: bool) {
    for form in FORMS {
        let expected = (form.plain)();
        for (mode, call, _) in &form.annotated {
            let got = call();
            if got != expected {
                failures.push(format!(
                    "form {} ({}), {mode}, tracing {}: returned {got:?}, plain returned {expected:?}",
                    form.id,
                    form.describe,
                    if on { "on" } else { "off" }
                ));
            }
        }
    }
}

#[test]
fn every_form_compiles_is_hooked_and_behaves_as_the_plain_copy() {
    // Forms returning `!` panic by design, under catch_unwind.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    compare(&mut failures, false);

    let hits: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
    let seen = Arc::clone(&hits);
    let ops = Ops::new(move |call| {
        // Render the arguments, so every form's argument views run.
        let shown: usize = call
            .args()
            .unwrap_or(&[])
            .iter()
            .map(|arg| arg.to_string().len())
            .sum();
        std::hint::black_box(shown);
        *seen.lock().unwrap().entry(call.site().path()).or_default() += 1;
    })
    .with_flags(Flags::SAVE_REGS_IF_SUPPORTED);
    ops.set_filter("*", true).unwrap();
    ops.register().unwrap();
    for form in FORMS {
        for (mode, call, path) in &form.annotated {
            let before = hits.lock().unwrap().get(path).copied().unwrap_or(0);
            let _ = call();
            let after = hits.lock().unwrap().get(path).copied().unwrap_or(0);
            if after != before + 1 {
                failures.push(format!(
                    "form {} ({}), {mode}: {} calls of `{path}` seen, expected 1",
                    form.id,
                    form.describe,
                    after - before
                ));
            }
        }
    }
    compare(&mut failures, true);
    ops.unregister().unwrap();
    let _ = std::panic::take_hook();

    // Every annotated copy is one site per form; count those that keep redirect.
    let mut sites = HashMap::<&str, (usize, usize)>::new();
    let mut reasons = std::collections::BTreeMap::<(&str, String), usize>::new();
    for site in ftrace::available_functions() {
        let Some(rest) = site.path().strip_prefix("tracehook_torture::") else {
            continue;
        };
        let mode = rest.split("::").next().unwrap_or_default();
        let entry = sites.entry(mode).or_default();
        entry.0 += 1;
        if site.can_redirect() {
            entry.1 += 1;
            assert!(site.redirect_refusal().is_none());
            assert!(!site.signature().is_empty());
        } else {
            assert!(site.signature().is_empty());
            let reason = site.redirect_refusal().unwrap_or_default();
            assert!(!reason.is_empty());
            // The reason without the names of the form.
            let kind: String = reason.split('`').step_by(2).collect::<Vec<_>>().join("_");
            *reasons.entry((mode, kind)).or_default() += 1;
        }
    }
    println!(
        "torture: {} forms, each compiled plain and annotated 3 ways",
        FORMS.len()
    );
    for mode in ["on_fn", "on_impl", "on_mod"] {
        let (count, redirect) = sites.get(mode).copied().unwrap_or_default();
        println!("torture: {mode}: {count} sites, {redirect} keep redirect");
        if count != FORMS.len() {
            failures.push(format!("{mode}: {count} sites for {} forms", FORMS.len()));
        }
    }
    for ((mode, reason), count) in &reasons {
        println!("torture: {mode}: {count} lose redirect: {reason}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
