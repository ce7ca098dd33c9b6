//! The rewrite of one function: a site record, a hook point, and (where possible) a redirect point.
//!
//! ```text
//! fn parse(input: &str) -> Ast {
//!     static __TRACEHOOK_SITE: Site = Site::__new("parse", concat!(module_path!(), "::parse"), ..);
//!     #[distributed_slice(SITES)] static __TRACEHOOK_SITE_REF: &Site = &__TRACEHOOK_SITE;
//!     struct Key; impl SiteKey for Key { const SITE: &Site = &__TRACEHOOK_SITE; }
//!     let body = body::<Ast, _>(move |hook| {
//!         let _ = (&input,);                     // every parameter captured, last one first
//!         if let Some(guard) = hook.guard() {    // `hooked`'s common entry did not take the call
//!             let redirect = enter_slow(guard, &SITE, &args, Some(TypeId::of::<fn(&str) -> Ast>));
//!             if let Some(f) = redirect.get::<fn(&str) -> Ast>() { return f(input); }
//!         }
//!         <the original statements>
//!     });
//!     hook_point!(__TRACEHOOK_SITE, Key, body);  // hooked: `return hooked(Key, body)`, a tail call
//!     unhooked(body)                             // inlined: the function is its own body
//! }
//! ```
//!
//! `hook_point!` is one patched instruction (a `jmp` to the hook path, or a `mov` to a clobbered
//! register when no ops is attached; see the runtime's `ftrace::patch`), so an unhooked call loads
//! nothing. The hook path leaves the function by a tail call to `hooked`, which keeps the call's
//! node (or, on the general path, a pinned guard) in its own frame and runs the body there, so the
//! traced function itself calls nothing: unhooked, it is the plain function plus the one
//! instruction, with the same frame (none for a leaf, which keeps its red zone). The body closure
//! is `FnOnce` with the function's return type, so `return`, `?`, coercions and borrows returned
//! from `&mut` arguments check as in the function; it captures every parameter by value, so
//! parameters are dropped after the body's locals and temporaries, last one first, as a function
//! drops them.
//!
//! A `#[track_caller]` function (a closure cannot be one), a method of a trait impl block (the trait
//! may declare it `#[track_caller]`), and one whose return type is `!` or has `impl Trait` (which
//! the closure's type cannot name on stable), keep their statements in place
//! behind `if hook_point!(SITE) { <pin a guard in this frame and enter it> }`; the guard and pinned
//! locals have mixed-site hygiene, so the function's own code cannot name, move or shadow them.
//!
//! An `async fn` keeps its signature; its statements move into an `async move` block wrapped by
//! `instrument`, so hooks see the first poll, every poll, and completion or drop.

use crate::attr::Options;
use crate::print::compact;
use crate::redirect::{Scope, redirect_type};
use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Block, FnArg, Pat, ReturnType, Signature, Stmt};

/// What the attribute knows about where the function is.
#[derive(Clone, Default)]
pub(crate) struct Context {
    /// The impl's (or trait's) type name, for `Type::method` site names.
    pub(crate) type_name: Option<String>,
    /// A method of a trait implementation: it is `#[track_caller]` if the trait declares it so,
    /// which the attribute cannot see.
    pub(crate) trait_impl: bool,
    /// The generics and `Self` in scope, as far as the attribute can see them.
    pub(crate) scope: Scope,
}

const CAP_ASYNC: u8 = 1 << 0;
const CAP_ARGS: u8 = 1 << 1;
const CAP_REDIRECT: u8 = 1 << 2;

/// One parameter as the generated code sees it.
struct Param {
    /// Shown to callbacks: `input`, `self`, or the pattern's text.
    name: String,
    /// The binding holding the whole value (`input`, `self`, or `__tracehook_argN`).
    binding: TokenStream,
    /// For a renamed destructuring parameter: the `let` that restores the original bindings.
    restore: Option<TokenStream>,
}

/// Checks that the function can be traced; returns every problem at once.
pub(crate) fn check(sig: &Signature) -> syn::Result<()> {
    let mut errors = Vec::new();
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "#[traceable] cannot be used on a const fn",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "#[traceable] cannot be used on a variadic function",
        ));
    }
    combine(errors)
}

pub(crate) fn combine(errors: Vec<syn::Error>) -> syn::Result<()> {
    let mut iter = errors.into_iter();
    match iter.next() {
        None => Ok(()),
        Some(mut first) => {
            for error in iter {
                first.combine(error);
            }
            Err(first)
        }
    }
}

/// Rewrites the function in place. The signature's patterns may be renamed (destructuring parameters
/// become `__tracehook_argN` and are destructured again at the top of the body).
pub(crate) fn rewrite(
    attrs: &mut Vec<Attribute>,
    sig: &mut Signature,
    block: &mut Block,
    options: &Options,
    context: &Context,
) -> syn::Result<()> {
    check(sig)?;
    if is_canonical_body(sig, block) {
        // clippy checks that `partial_cmp` and `clone` of an `Ord` or `Copy` type have their
        // canonical bodies, unless the function comes from a macro (it compares the function's
        // span with its source text); the lint's level is the impl block's, which an attribute on
        // the function cannot reach. The user's body was canonical and the rewritten one is not:
        // the `fn` keyword takes the attribute's span, so the function reads as the macro's.
        sig.fn_token.span = Span::call_site();
    }
    if block.stmts.is_empty() && !sig.generics.params.is_empty() {
        // clippy's `extra_unused_type_parameters` spares functions with an empty body (they are
        // usually type-level checks); the rewritten body is not empty. Allowed only then, on the
        // function, where the lint's level is read.
        attrs
            .push(syn::parse_quote!(#[allow(unknown_lints, clippy::extra_unused_type_parameters)]));
    }
    let attrs: &[Attribute] = attrs;
    let is_async = sig.asyncness.is_some();
    let redirect = redirect_type(sig, &context.scope);
    let fn_pointer = redirect.as_ref().ok().map(|r| r.ty.clone());
    let capture_args = !options.skip_args;
    // The return type of a body that runs in a closure (sync functions, see below); taken before
    // `params` renames destructuring parameters.
    let outlined = if is_async {
        None
    } else {
        outlined_return(sig, attrs, context)
    };
    let params = if capture_args || fn_pointer.is_some() || outlined.is_some() {
        params(sig)
    } else {
        Vec::new()
    };

    let name = match &options.name {
        Some(name) => name.value(),
        None => {
            let ident = unraw(&sig.ident);
            match &context.type_name {
                Some(type_name) => format!("{type_name}::{ident}"),
                None => ident,
            }
        }
    };
    let mut caps = 0;
    if is_async {
        caps |= CAP_ASYNC;
    }
    if capture_args {
        caps |= CAP_ARGS;
    }
    if fn_pointer.is_some() {
        caps |= CAP_REDIRECT;
    }
    // The replacement's type, or (for a site that cannot be redirected) why not.
    let signature_text = match &redirect {
        Ok(redirect) => redirect.text.clone(),
        Err(reason) => reason.clone(),
    };
    let line = line_of(sig.ident.span());
    let private = quote!(::tracehook::__private);

    let site_items = quote! {
        static __TRACEHOOK_SITE: #private::Site = #private::Site::__new(
            #name,
            ::core::concat!(::core::module_path!(), "::", #name),
            ::core::file!(),
            #line,
            #caps,
            #signature_text,
        );
        #[#private::linkme::distributed_slice(#private::SITES)]
        #[linkme(crate = #private::linkme)]
        static __TRACEHOOK_SITE_REF: &#private::Site = &__TRACEHOOK_SITE;
    };

    // The `use` brings the two view traits into scope for the auto-ref dispatch of `__tracehook_view`.
    // Sync functions show callbacks bitwise copies of their register-sized arguments made on the hook
    // path (see `__arg_copy!`): no such argument's address is taken outside it, so an unhooked call
    // keeps them in registers. An `async fn` moves them into its future anyway and views them in
    // place. Each view is built from a reference.
    let copies: Vec<Ident> = (0..params.len())
        .map(|index| Ident::new(&format!("__tracehook_copy{index}"), Span::mixed_site()))
        .collect();
    let (view_traits, copy_lets, arg_list) = if capture_args && !params.is_empty() {
        let views = |bindings: &[TokenStream]| {
            let views = params.iter().zip(bindings).map(|(param, binding)| {
                let name = &param.name;
                quote! {
                    #private::Arg::__new(#name, (&#private::ArgView(#binding)).__tracehook_view())
                }
            });
            quote! {
                &|__tracehook_sink: &mut dyn ::core::ops::FnMut(&[#private::Arg<'_>])| {
                    __tracehook_sink(&[#(#views),*]);
                }
            }
        };
        let in_place: Vec<TokenStream> = params
            .iter()
            .map(|p| {
                let binding = &p.binding;
                quote!(&#binding)
            })
            .collect();
        let copied: Vec<TokenStream> = copies.iter().map(|c| quote!(#c.get())).collect();
        let make_copies = params.iter().zip(&copies).map(|(param, copy)| {
            let binding = &param.binding;
            quote!(let #copy = #private::arg_copy!(#binding);)
        });
        let (copy_lets, views) = if is_async {
            (TokenStream::new(), views(&in_place))
        } else {
            (quote!(#(#make_copies)*), views(&copied))
        };
        (
            quote!(use #private::{ViewDebug as _, ViewOpaque as _};),
            copy_lets,
            views,
        )
    } else {
        (
            TokenStream::new(),
            TokenStream::new(),
            quote!(&#private::no_args),
        )
    };
    let restores: Vec<&TokenStream> = params.iter().filter_map(|p| p.restore.as_ref()).collect();

    // Leading items of the body stay first, so the inserted `let` does not put items after statements.
    let stmts = std::mem::take(&mut block.stmts);
    let split = stmts
        .iter()
        .position(|stmt| !matches!(stmt, Stmt::Item(_)))
        .unwrap_or(stmts.len());
    let (items, rest) = stmts.split_at(split);

    let body = if is_async {
        // `None`: the type has `impl Trait`, which a type argument cannot name.
        let named_output = match &sig.output {
            ReturnType::Default => Some(quote!(())),
            ReturnType::Type(_, ty) if mentions_impl(&ty.to_token_stream()) => None,
            ReturnType::Type(_, ty) => Some(ty.to_token_stream()),
        };
        // An async block infers its output from its first `return` or its tail, without the
        // coercions an `async fn` applies to its declared type (`Box<closure>` to
        // `Box<dyn Fn()>`): a first `return` of the declared type, never taken, fixes it (the
        // device `tracing::instrument` uses).
        let typed_return = if let Some(output) = &named_output {
            let value = Ident::new("__tracehook_return", Span::mixed_site());
            quote! {
                #[allow(
                    unknown_lints,
                    unreachable_code,
                    clippy::diverging_sub_expression,
                    clippy::empty_loop,
                    clippy::let_unit_value,
                    clippy::unreachable,
                    clippy::needless_return
                )]
                if false {
                    let #value: #output = loop {};
                    return #value;
                }
            }
        } else {
            TokenStream::new()
        };
        let output = named_output.unwrap_or_else(|| quote!(_));
        quote! {
            #site_items
            let __tracehook_guard = if #private::hook_point!(__TRACEHOOK_SITE) {
                #view_traits
                #private::enter_async(&__TRACEHOOK_SITE, #arg_list)
            } else {
                #private::AsyncGuard::off()
            };
            #private::instrument::<#output, _>(__tracehook_guard, async move {
                #(#items)*
                #typed_return
                #(#restores)*
                #(#rest)*
            })
            .await
        }
    } else {
        let redirect_type = match &fn_pointer {
            None => quote!(::core::option::Option::None),
            Some(ty) => quote!(::core::option::Option::Some(
                ::core::any::TypeId::of::<#ty> as fn() -> ::core::any::TypeId
            )),
        };
        let redirect = fn_pointer.as_ref().map(|ty| {
            let bindings = params.iter().map(|p| &p.binding);
            let call = quote!(__tracehook_replacement(#(#bindings),*));
            let call = if sig.unsafety.is_some() {
                quote!(unsafe { #call })
            } else {
                call
            };
            // A replacement of a `-> !` function diverges by itself; `return` on it would be
            // unreachable.
            let diverges = matches!(
                &sig.output,
                ReturnType::Type(_, ty) if matches!(**ty, syn::Type::Never(_))
            );
            let call = if diverges {
                quote!(#call;)
            } else {
                quote!(return #call;)
            };
            (ty, call)
        });
        let pinned = Ident::new("__tracehook_pinned", Span::mixed_site());
        let slow = match redirect {
            None => quote! {
                let _ = #private::enter_slow(
                    #pinned.as_mut(),
                    &__TRACEHOOK_SITE,
                    #arg_list,
                    #redirect_type,
                );
            },
            Some((ty, call)) => quote! {
                if let ::core::option::Option::Some(__tracehook_replacement) =
                    #private::enter_slow(
                        #pinned.as_mut(),
                        &__TRACEHOOK_SITE,
                        #arg_list,
                        #redirect_type,
                    )
                    .get::<#ty>()
                {
                    #call
                }
            },
        };
        // The common entry (one plain ops), `enter`, says whether it took the call; `enter_slow`
        // takes the rest. In the body closure, `hooked` has already called the common entry.
        let slow = quote! {
            #view_traits
            #copy_lets
            #slow
        };
        match outlined {
            Some(output) => {
                // The body runs in a `move` closure: inlined where the function is not hooked, and
                // reached by a tail call of `hooked` (which keeps the call's state) where it is, so
                // the function itself calls nothing. It captures every parameter by value, in reverse
                // order, so they are dropped where and in the order a function drops them: after the
                // body's locals and temporaries, the last one first.
                let body = Ident::new("__tracehook_body", Span::mixed_site());
                let hook = Ident::new("__tracehook_hook", Span::mixed_site());
                let key = Ident::new("__TracehookSite", Span::mixed_site());
                let captures = params.iter().rev().map(|p| &p.binding);
                let capture_all = if params.is_empty() {
                    TokenStream::new()
                } else {
                    quote!(let _ = (#(&#captures,)*);)
                };
                // rustc's liveness takes a parameter captured by value as dead at the end of the
                // closure, where a function drops it: an assignment to (a field of) a parameter
                // that is only dropped afterwards would be reported as never read. Only bodies
                // that assign to a parameter lose the lint (it cannot be allowed for parameters
                // alone).
                let names: Vec<String> = params.iter().map(|p| p.binding.to_string()).collect();
                let rest_tokens = quote!(#(#rest)*);
                let allow = if assigns_to(&rest_tokens, &names) {
                    quote!(#[allow(unused_assignments)])
                } else {
                    TokenStream::new()
                };
                quote! {
                    #site_items
                    struct #key;
                    impl #private::SiteKey for #key {
                        const SITE: &'static #private::Site = &__TRACEHOOK_SITE;
                    }
                    #(#items)*
                    #allow
                    // clippy lints closures that return a `Result` with a large `Err` as it lints
                    // functions: the function already has that warning, the closure would repeat it.
                    #[allow(unknown_lints, clippy::result_large_err)]
                    let #body = #private::body::<#output, _>(move |#hook| {
                        #capture_all
                        if let ::core::option::Option::Some(mut #pinned) = #hook.guard() {
                            #slow
                        }
                        #(#restores)*
                        #(#rest)*
                    });
                    #private::hook_point!(__TRACEHOOK_SITE, #key, #body);
                    #private::unhooked(#body)
                }
            }
            None => {
                let guard = Ident::new("__tracehook_guard", Span::mixed_site());
                quote! {
                    #site_items
                    #(#items)*
                    // Initialised only on the hook path, so an unhooked call neither writes nor
                    // tests it (its drop flag is a constant there). Pinned where it is: `enter`
                    // links it into the thread's chain of hooked calls, and it unlinks itself when
                    // dropped.
                    let mut #guard: #private::Guard;
                    if #private::hook_point!(__TRACEHOOK_SITE) {
                        #guard = #private::Guard::new();
                        let mut #pinned = #private::pin_guard!(#guard);
                        if !#private::enter(#pinned.as_mut(), &__TRACEHOOK_SITE) {
                            #slow
                        }
                    }
                    #(#restores)*
                    #(#rest)*
                }
            }
        }
    };
    let new_block: Block = syn::parse2(quote_spanned!(block.brace_token.span.join()=> { #body }))?;
    block.stmts = new_block.stmts;
    Ok(())
}

/// Whether the function is `partial_cmp` with the body `Some(self.cmp(other))` (which clippy's
/// `non_canonical_partial_ord_impl` looks for) or `clone` with the body `*self`
/// (`non_canonical_clone_impl`).
fn is_canonical_body(sig: &Signature, block: &Block) -> bool {
    let [Stmt::Expr(expr, None)] = block.stmts.as_slice() else {
        return false;
    };
    let text: String = expr
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let other = match sig.inputs.iter().nth(1) {
        Some(FnArg::Typed(typed)) => match &*typed.pat {
            Pat::Ident(ident) => ident.ident.to_string(),
            _ => return false,
        },
        _ => String::new(),
    };
    match sig.ident.to_string().as_str() {
        "partial_cmp" if sig.inputs.len() == 2 => {
            let Some(inner) = text
                .strip_prefix("::core::option::Option::Some(")
                .or_else(|| text.strip_prefix("Option::Some("))
                .or_else(|| text.strip_prefix("Some("))
                .and_then(|rest| rest.strip_suffix(')'))
            else {
                return false;
            };
            [
                format!("self.cmp({other})"),
                format!("Self::cmp(self,{other})"),
                format!("Ord::cmp(self,{other})"),
                format!("std::cmp::Ord::cmp(self,{other})"),
                format!("core::cmp::Ord::cmp(self,{other})"),
                format!("::std::cmp::Ord::cmp(self,{other})"),
                format!("::core::cmp::Ord::cmp(self,{other})"),
            ]
            .iter()
            .any(|canonical| canonical == inner)
        }
        "clone" => sig.inputs.len() == 1 && text == "*self",
        _ => false,
    }
}

/// The 1-based line of `span` in its file.
fn line_of(span: Span) -> u32 {
    u32::try_from(span.unwrap().line()).unwrap_or(0)
}

/// The identifier without `r#`.
fn unraw(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#")
        .map_or_else(|| text.clone(), str::to_owned)
}

/// Collects the parameters, renaming destructuring ones so the whole value has a name.
fn params(sig: &mut Signature) -> Vec<Param> {
    let mut out = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => out.push(Param {
                name: "self".to_owned(),
                binding: receiver.self_token.to_token_stream(),
                restore: None,
            }),
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                    out.push(Param {
                        name: unraw(&ident.ident),
                        binding: ident.ident.to_token_stream(),
                        restore: None,
                    });
                }
                pattern => {
                    let renamed = format_ident!("__tracehook_arg{}", index, span = pattern.span());
                    let name = compact(&pattern.to_token_stream());
                    let restore = match pattern {
                        Pat::Wild(_) => None,
                        _ => Some(quote!(let #pattern = #renamed;)),
                    };
                    *typed.pat = syn::parse_quote!(#renamed);
                    out.push(Param {
                        name,
                        binding: renamed.to_token_stream(),
                        restore,
                    });
                }
            },
        }
    }
    out
}

/// The return type of a sync function whose body can run in a closure (see `rewrite`), or `None` for
/// one that keeps it inline: `#[track_caller]` (a closure cannot be), a method of a trait impl block
/// (the trait may declare it `#[track_caller]`), a return type with `impl Trait` (which the
/// closure's type cannot name) or `!` (not a type argument on stable).
fn outlined_return(sig: &Signature, attrs: &[Attribute], context: &Context) -> Option<TokenStream> {
    if context.trait_impl
        || attrs
            .iter()
            .any(|attr| mentions_ident(&attr.meta.to_token_stream(), "track_caller"))
    {
        return None;
    }
    match &sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if matches!(**ty, syn::Type::Never(_)) => None,
        ReturnType::Type(_, ty) if mentions_impl(&ty.to_token_stream()) => None,
        ReturnType::Type(_, ty) => Some(ty.to_token_stream()),
    }
}

/// Whether tokens assign to a place rooted at one of `names` (`x = ..`, `x.f[i] += ..`), at any
/// depth. Syntactic and conservative: a shadowing local of the same name counts too.
fn assigns_to(tokens: &TokenStream, names: &[String]) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    for (index, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                if assigns_to(&group.stream(), names) {
                    return true;
                }
            }
            TokenTree::Ident(ident) => {
                // Not a field of something else, and not a write through a dereference.
                let projected_or_deref = index > 0
                    && matches!(&trees[index - 1], TokenTree::Punct(p) if ".*".contains(p.as_char()));
                if !projected_or_deref && names.iter().any(|name| ident == name) {
                    let mut next = index + 1;
                    // Field, tuple-field and index projections.
                    loop {
                        match (trees.get(next), trees.get(next + 1)) {
                            (
                                Some(TokenTree::Punct(dot)),
                                Some(TokenTree::Ident(_) | TokenTree::Literal(_)),
                            ) if dot.as_char() == '.' => {
                                next += 2;
                            }
                            (Some(TokenTree::Group(group)), _)
                                if group.delimiter() == proc_macro2::Delimiter::Bracket =>
                            {
                                next += 1;
                            }
                            _ => break,
                        }
                    }
                    if is_assignment(&trees[next..]) {
                        return true;
                    }
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
    false
}

/// Whether tokens start with `=` or a compound assignment (`+=`, `<<=`, ..), not `==` or `=>`.
fn is_assignment(trees: &[TokenTree]) -> bool {
    let puncts: Vec<&proc_macro2::Punct> = trees
        .iter()
        .take(3)
        .map_while(|tree| match tree {
            TokenTree::Punct(punct) => Some(punct),
            _ => None,
        })
        .collect();
    let alone_eq = |punct: &proc_macro2::Punct| {
        punct.as_char() == '=' && punct.spacing() == proc_macro2::Spacing::Alone
    };
    match puncts.as_slice() {
        [first, ..] if alone_eq(first) => true,
        [op, eq, ..]
            if "+-*/%^&|".contains(op.as_char()) && op.spacing() == proc_macro2::Spacing::Joint =>
        {
            alone_eq(eq)
        }
        [a, b, eq]
            if (a.as_char() == '<' && b.as_char() == '<')
                || (a.as_char() == '>' && b.as_char() == '>') =>
        {
            alone_eq(eq)
        }
        _ => false,
    }
}

/// Whether tokens mention the identifier `name` anywhere.
pub(crate) fn mentions_ident(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions_ident(&group.stream(), name),
        _ => false,
    })
}

/// Whether tokens contain `impl` (an `impl Trait` type) anywhere.
fn mentions_impl(tokens: &TokenStream) -> bool {
    mentions_ident(tokens, "impl")
}

#[cfg(test)]
mod tests {
    use super::assigns_to;
    use quote::quote;

    #[test]
    fn assignments_to_parameters_are_found() {
        let names = ["x".to_owned(), "self".to_owned()];
        for body in [
            quote!(x = 1;),
            quote!(x.0 = "a";),
            quote!(x.field[3].inner += 2;),
            quote!(x <<= 1;),
            quote!(if a {
                self.n -= 1
            }),
            quote!(call(|| {
                x |= 4;
            })),
        ] {
            assert!(assigns_to(&body, &names), "{body}");
        }
        for body in [
            quote!(x == 1),
            quote!(x <= 1),
            quote!(x >= 1 && x != 2),
            quote!(match x {
                y => y,
            }),
            quote!(other.x = 1;),
            quote!(*x = 1;),
            quote!(y = x;),
            quote!(let z = x + 1;),
        ] {
            assert!(!assigns_to(&body, &names), "{body}");
        }
    }
}
