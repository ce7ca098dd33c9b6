#![deny(dead_code)]

use tracehook::traceable;

#[traceable]
fn never_called(x: u32) -> u32 {
    x + 1
}

fn main() {}
