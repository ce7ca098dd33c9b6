//! Generated-signature torture (see `build.rs`): every form is compiled four times, plain and with
//! `#[traceable]` on the function, on its impl block or trait, and on its module, under
//! `#![deny(warnings)]`. `tests/torture.rs` calls every copy and compares.
#![deny(warnings)]
#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    reason = "generated forms: clippy's view of the user's code is the corpus's subject"
)]

include!(concat!(env!("OUT_DIR"), "/forms.rs"));
