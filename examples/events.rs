//! EVENTHANDLER in a small service: a shutdown sequence (pre-sync, post-sync and final events, with
//! handlers at several priorities from two modules, one of them defined statically), a low-memory
//! event whose handler removes itself, and a stoppable event.
//!
//! ```text
//! cargo run --example events
//! ```

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracehook::eventhandler::{PRI_ANY, PRI_FIRST, PRI_LAST, Tag};
use tracehook::{eventhandler_declare, eventhandler_deregister_nowait, eventhandler_invoke};
use tracehook::{eventhandler_direct_invoke, eventhandler_list_define, eventhandler_register};

/// How a shutdown was asked for.
#[derive(Clone, Copy, Debug)]
pub enum Howto {
    #[allow(dead_code, reason = "a real service halts too; the example reboots")]
    Halt,
    Reboot,
}

eventhandler_declare!(shutdown_pre_sync, fn(howto: Howto));
eventhandler_declare!(shutdown_post_sync, fn(howto: Howto));
eventhandler_declare!(shutdown_final, fn(howto: Howto));
eventhandler_list_define!(vm_lowmem, fn(pages: usize));
eventhandler_declare!(config_change, fn(key: &str, value: &str) -> ControlFlow<()>);

/// The storage layer: a static handler (defined at compile time) and registered ones.
mod storage {
    use super::{Howto, shutdown_post_sync, shutdown_pre_sync};
    use std::sync::Mutex;
    use tracehook::eventhandler::{PRI_FIRST, PRI_LAST};
    use tracehook::{eventhandler_define, eventhandler_register};

    pub struct Disks {
        pub names: Mutex<Vec<&'static str>>,
    }

    pub static DISKS: Disks = Disks {
        names: Mutex::new(Vec::new()),
    };

    fn flush(disks: &Disks, howto: Howto) {
        for name in disks.names.lock().unwrap().iter() {
            println!("  [storage] flush {name} before {howto:?} (static, PRI_FIRST)");
        }
    }

    eventhandler_define!(shutdown_pre_sync, flush, &DISKS, PRI_FIRST);

    pub fn attach(name: &'static str) {
        DISKS.names.lock().unwrap().push(name);
    }

    pub fn register() {
        eventhandler_register!(
            shutdown_post_sync,
            |howto| {
                println!("  [storage] spin down disks ({howto:?}, PRI_LAST)");
            },
            PRI_LAST
        );
    }
}

/// The network layer: handlers registered at start-up, with an argument each.
mod network {
    use super::{Howto, shutdown_final, shutdown_pre_sync};
    use tracehook::eventhandler::{PRI_ANY, PRI_LAST};
    use tracehook::eventhandler_register;

    pub struct Interface {
        pub name: &'static str,
    }

    fn down(interface: &Interface, howto: Howto) {
        println!("  [network] {} down ({howto:?}, PRI_ANY)", interface.name);
    }

    pub fn register() {
        eventhandler_register!(shutdown_pre_sync, down, Interface { name: "em0" }, PRI_ANY);
        eventhandler_register!(
            shutdown_final,
            |howto| {
                println!("  [network] last packet sent ({howto:?}, PRI_LAST)");
            },
            PRI_LAST
        );
    }
}

fn shutdown(howto: Howto) {
    println!("shutdown {howto:?}:");
    for (stage, invoked) in [
        ("pre-sync", eventhandler_invoke!(shutdown_pre_sync, howto)),
        ("post-sync", eventhandler_invoke!(shutdown_post_sync, howto)),
        ("final", eventhandler_invoke!(shutdown_final, howto)),
    ] {
        println!("  ({stage}: {} handlers)", invoked.called);
    }
}

fn main() {
    storage::attach("ada0");
    storage::attach("nvd0");
    storage::register();
    network::register();
    eventhandler_register!(
        shutdown_pre_sync,
        |howto| {
            println!("  [main] stop accepting requests ({howto:?}, PRI_FIRST - 1)");
        },
        PRI_FIRST - 1
    );
    eventhandler_register!(
        shutdown_final,
        |_| println!("  [main] goodbye (PRI_FIRST)"),
        PRI_FIRST
    );

    // Low memory: a cache gives back pages once, then takes itself off the list from inside its
    // handler (a waiting deregister would wait for itself there).
    static CACHE_PAGES: AtomicUsize = AtomicUsize::new(512);
    static CACHE_TAG: Mutex<Option<Tag>> = Mutex::new(None);
    let tag = eventhandler_register!(
        vm_lowmem,
        |pages| {
            let freed = CACHE_PAGES.swap(0, Ordering::SeqCst);
            println!(
                "  [cache] asked for {pages} pages, freed {freed} and leaves the low-memory list"
            );
            if let Some(tag) = CACHE_TAG.lock().unwrap().take() {
                eventhandler_deregister_nowait!(vm_lowmem, tag).expect("registered");
            }
        },
        PRI_ANY
    );
    *CACHE_TAG.lock().unwrap() = Some(tag);
    println!("low memory:");
    let first = eventhandler_direct_invoke!(vm_lowmem, 256);
    let second = eventhandler_direct_invoke!(vm_lowmem, 256);
    println!(
        "  (first: {} handler, second: {} handlers)",
        first.called, second.called
    );
    assert_eq!((first.called, second.called), (1, 0));

    // A stoppable event: the first handler that claims the key stops the chain.
    eventhandler_register!(
        config_change,
        |key, value| {
            if key == "log.level" {
                println!("  [logger] log level is now {value}; handled");
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        },
        PRI_ANY
    );
    eventhandler_register!(
        config_change,
        |key, value| {
            println!("  [fallback] stored {key} = {value}");
            ControlFlow::Continue(())
        },
        PRI_LAST
    );
    println!("config changes:");
    let claimed = eventhandler_invoke!(config_change, "log.level", "debug");
    let stored = eventhandler_invoke!(config_change, "cache.size", "64M");
    println!(
        "  (log.level stopped: {}, cache.size stopped: {})",
        claimed.stopped, stored.stopped
    );
    assert!(claimed.stopped && !stored.stopped);

    shutdown(Howto::Reboot);
}
