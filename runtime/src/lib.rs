//! The run-time of [tracehook](https://docs.rs/tracehook): the site registry, grace periods, and ftrace
//! ops and dispatch. Use it through the `tracehook` crate; generated code reaches it only through
//! `tracehook::__private`.

#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[cfg(not(loom))]
pub mod eventhandler;
#[cfg(not(loom))]
pub mod ftrace;
#[cfg(not(loom))]
mod init;
#[cfg(not(loom))]
pub mod site;
pub(crate) mod sync;
#[cfg(not(loom))]
mod thread;
#[cfg(not(loom))]
pub mod tracefs;
#[cfg(not(loom))]
pub mod tracer;

#[cfg(not(loom))]
pub use init::init;

#[doc(hidden)]
#[cfg(not(loom))]
pub use linkme as __linkme;
