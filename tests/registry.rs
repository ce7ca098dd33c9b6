//! The site registry: one record per traced function of every crate in the binary, in a stable order.

use tracehook::ftrace::{self, Ops, Site};
use tracehook::traceable;
use tracehook_support::{Gauge, support_double};

#[traceable]
fn registry_local() -> u8 {
    1
}

mod nested {
    #[tracehook::traceable]
    pub(crate) fn registry_nested() -> u8 {
        2
    }
}

fn find(path: &str) -> &'static Site {
    ftrace::available_functions()
        .find(|s| s.path() == path)
        .unwrap_or_else(|| panic!("{path} is not registered"))
}

#[test]
fn sites_of_every_crate_are_collected() {
    let local = find("registry::registry_local");
    let other = find("tracehook_support::support_double");
    let method = find("tracehook_support::Gauge::read");
    assert_eq!(local.name(), "registry_local");
    assert_eq!(local.module_path(), "registry");
    assert_eq!(other.module_path(), "tracehook_support");
    assert_eq!(method.name(), "Gauge::read");
    assert_eq!(method.module_path(), "tracehook_support");
    assert_eq!(
        find("registry::nested::registry_nested").module_path(),
        "registry::nested"
    );
    // Calls go through the other crate's sites too.
    let ops = Ops::new(|_| {});
    ops.set_filter(":mod:tracehook_support", true).unwrap();
    // Three used here, and `support_generic` / `support_inline`, which this binary never calls: their
    // site records are linked all the same.
    assert_eq!(ops.filter().len(), 5);
    assert_eq!(Gauge::new(4).read(), 8);
    assert_eq!(
        support_double(1) + u32::from(registry_local() + nested::registry_nested()),
        5
    );
}

#[test]
fn site_locations_and_display() {
    let local = find("registry::registry_local");
    assert_eq!(local.file(), "tests/registry.rs");
    let source = include_str!("registry.rs");
    let line = source
        .lines()
        .position(|l| l.starts_with("fn registry_local"))
        .unwrap();
    assert_eq!(local.line() as usize, line + 1);
    assert_eq!(local.to_string(), "registry::registry_local");
    assert!(format!("{local:?}").contains("registry::registry_local"));
    assert!(!local.is_async());
    assert!(local.has_args());
    assert!(local.can_redirect());
    assert_eq!(local.signature(), "fn() -> u8");
}

#[test]
fn order_is_stable_and_indices_are_one_based() {
    let first: Vec<&str> = ftrace::available_functions().map(Site::path).collect();
    let second: Vec<&str> = ftrace::available_functions().map(Site::path).collect();
    assert_eq!(first, second);
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(first, sorted, "ordered by path");
    for (position, site) in ftrace::available_functions().enumerate() {
        assert_eq!(site.index(), position + 1);
    }
    assert_eq!(ftrace::available_functions().len(), first.len());
}
