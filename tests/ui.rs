//! Compile errors of the macros: one minimal case each, with the exact message in `tests/ui/*.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
