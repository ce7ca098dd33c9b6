//! Fault injection with `IPMODIFY`: an ops redirects calls of a traced function to a replacement of the
//! same signature, here to make every third read of a config file fail, and the program's retry logic
//! is exercised without touching its code. Unregistering restores the original function.
//!
//! ```text
//! cargo run --example fault_injection
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use tracehook::ftrace::{self, Flags, Ops};
use tracehook::traceable;

/// The function under test: reads a configuration value (a stand-in for file or network I/O).
#[traceable]
fn read_config(key: &str) -> Result<String, String> {
    Ok(format!("value of {key}"))
}

/// The replacement: the same signature, failing like a flaky disk would.
fn failing_read(key: &str) -> Result<String, String> {
    Err(format!("injected I/O error reading {key}"))
}

/// Code that relies on `read_config`, with a retry.
fn load_with_retry(key: &str) -> (Result<String, String>, usize) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match read_config(key) {
            Ok(value) => return (Ok(value), attempts),
            Err(error) if attempts < 3 => println!("  attempt {attempts}: {error}, retrying"),
            Err(error) => return (Err(error), attempts),
        }
    }
}

fn main() -> Result<(), ftrace::Error> {
    let site = ftrace::available_functions()
        .find(|site| site.name() == "read_config")
        .expect("read_config is traceable");
    println!(
        "{} can be redirected: {} ({})",
        site.path(),
        site.can_redirect(),
        site.signature()
    );

    // Fail two calls out of three.
    let calls = AtomicUsize::new(0);
    let injector = Ops::new(move |call| {
        if calls.fetch_add(1, Ordering::Relaxed) % 3 != 2 {
            call.redirect(failing_read as fn(&str) -> Result<String, String>)
                .expect("the site's signature");
        }
    })
    .with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    injector.set_filter("read_config", true)?;
    injector.register()?;
    for line in ftrace::enabled_functions() {
        println!("enabled_functions: {line}");
    }

    println!("with faults injected:");
    let (result, attempts) = load_with_retry("db.url");
    println!("  -> {result:?} after {attempts} attempts");
    assert_eq!(attempts, 3, "the retry path was exercised");
    assert!(result.is_ok());

    // A second IPMODIFY ops on the same function is refused: one modifier per site.
    let second = Ops::new(|_| {}).with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    second.set_filter("read_config", true)?;
    println!("second injector: {}", second.register().unwrap_err());

    injector.unregister()?;
    println!("after unregister:");
    let (result, attempts) = load_with_retry("db.url");
    println!("  -> {result:?} after {attempts} attempt");
    assert_eq!(attempts, 1);
    Ok(())
}
