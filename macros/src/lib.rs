//! Procedural macros of [tracehook](https://docs.rs/tracehook). Use them through the `tracehook` crate.
//!
//! **The rule:** `#[traceable]` never turns a function that compiles into one that does not. Where
//! a feature cannot be expressed for a signature (today: redirect, which needs a nameable
//! `'static` function-pointer type), that site loses the feature and records why
//! (`Site::redirect_refusal`); the build never fails. `tests/torture` (generated signatures) and
//! `scripts/corpus` (published crates annotated wholesale) check it.

#![warn(
    missing_docs,
    unreachable_pub,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod attr;
mod event;
mod expand;
mod item_fn;
mod print;
mod redirect;
mod scopes;

use proc_macro::TokenStream;

/// Puts an ftrace hook at the top of a function, or of every function of an `impl` block, trait or
/// inline module. See the `tracehook` crate's documentation.
#[proc_macro_attribute]
pub fn traceable(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::traceable(args.into(), input.into()).into()
}

/// Leaves one function (or `impl` block, trait, module) out of an enclosing `#[traceable]`.
#[proc_macro_attribute]
pub fn notrace(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::notrace(args.into(), input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares an event: `eventhandler_declare!(name, fn(arg: Type, ..))` or with `-> ControlFlow<()>`
/// for a stoppable event (FreeBSD's `EVENTHANDLER_DECLARE`). See `tracehook::eventhandler`.
#[proc_macro]
pub fn eventhandler_declare(input: TokenStream) -> TokenStream {
    let declaration = syn::parse_macro_input!(input as event::Declaration);
    event::declare(declaration).into()
}

/// Declares an event whose list the program invokes directly (FreeBSD's `EVENTHANDLER_LIST_DEFINE`):
/// the same as `eventhandler_declare!`, whose `name::list()` is the list `eventhandler_direct_invoke!`
/// uses without a name lookup.
#[proc_macro]
pub fn eventhandler_list_define(input: TokenStream) -> TokenStream {
    let declaration = syn::parse_macro_input!(input as event::Declaration);
    event::declare(declaration).into()
}
