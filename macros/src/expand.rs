//! Entry points: decide which form the attribute is on and hand it to that form's rewrite.

use crate::attr::{self, Options};
use crate::item_fn::{self, Context};
use crate::scopes;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Item;

/// `#[traceable]` on any item. On error the item is still emitted (the original one, or for a scope the
/// rewritten one with the markers taken out), so one mistake is one message.
pub(crate) fn traceable(args: TokenStream, input: TokenStream) -> TokenStream {
    let options = match syn::parse2::<Options>(args) {
        Ok(options) => options,
        Err(error) => {
            let error = error.into_compile_error();
            return quote!(#input #error);
        }
    };
    match rewrite_item(&options, input.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#input #error)
        }
    }
}

/// A rewritten scope, with the errors found in it.
fn scope(tokens: impl ToTokens, errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.into_iter().map(syn::Error::into_compile_error);
    quote!(#tokens #(#errors)*)
}

fn rewrite_item(options: &Options, input: TokenStream) -> syn::Result<TokenStream> {
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Verbatim(_)) | Err(_) => return Err(not_an_item(input)),
        Ok(item) => item,
    };
    let scope_only_name = |item: &dyn ToTokens| match &options.name {
        Some(name) => Err(syn::Error::new_spanned(
            name,
            format!(
                "#[traceable(name = ...)] names one function; it cannot be used on {}",
                describe(item)
            ),
        )),
        None => Ok(()),
    };
    match item {
        Item::Fn(mut function) => {
            attr::fold_repeats(options, &mut function.attrs)?;
            item_fn::rewrite(
                &mut function.attrs,
                &mut function.sig,
                &mut function.block,
                options,
                &Context::default(),
            )?;
            Ok(function.into_token_stream())
        }
        Item::Impl(mut block) => {
            scope_only_name(&block.impl_token)?;
            attr::fold_repeats(options, &mut block.attrs)?;
            let errors = scopes::impl_block(&mut block, options);
            Ok(scope(block, errors))
        }
        Item::Trait(mut block) => {
            scope_only_name(&block.trait_token)?;
            attr::fold_repeats(options, &mut block.attrs)?;
            let errors = scopes::trait_block(&mut block, options);
            Ok(scope(block, errors))
        }
        Item::Mod(mut module) => {
            scope_only_name(&module.mod_token)?;
            attr::fold_repeats(options, &mut module.attrs)?;
            if module.content.is_none() {
                return Err(syn::Error::new_spanned(
                    module.semi,
                    "#[traceable] on a module needs an inline module (`mod name { ... }`); put it \
                     inside the module's file as `#![traceable]` is not supported, or annotate its items",
                ));
            }
            let errors = scopes::module(&mut module, options);
            Ok(scope(module, errors))
        }
        other => Err(syn::Error::new_spanned(
            keyword_of(&other),
            "#[traceable] can be used on functions, impl blocks, traits and inline modules",
        )),
    }
}

/// The error for input that is not a complete item: most often a trait method without a body.
fn not_an_item(input: TokenStream) -> syn::Error {
    if let Ok(method) = syn::parse2::<syn::TraitItemFn>(input.clone())
        && method.default.is_none()
    {
        return syn::Error::new_spanned(
            &method.sig,
            "#[traceable] needs a function body: a trait method without a body cannot be traced \
             (put the attribute on the implementations)",
        );
    }
    syn::Error::new_spanned(
        input,
        "#[traceable] can be used on functions, impl blocks, traits and inline modules",
    )
}

fn describe(item: &dyn ToTokens) -> String {
    let keyword = item.to_token_stream().to_string();
    match keyword.as_str() {
        "impl" => "an impl block".to_owned(),
        "trait" => "a trait".to_owned(),
        "mod" => "a module".to_owned(),
        other => format!("`{other}`"),
    }
}

/// The item's leading keyword, where the error for a wrong item kind points.
fn keyword_of(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => i.struct_token.to_token_stream(),
        Item::Enum(i) => i.enum_token.to_token_stream(),
        Item::Union(i) => i.union_token.to_token_stream(),
        Item::Const(i) => i.const_token.to_token_stream(),
        Item::Static(i) => i.static_token.to_token_stream(),
        Item::Type(i) => i.type_token.to_token_stream(),
        Item::Use(i) => i.use_token.to_token_stream(),
        Item::ExternCrate(i) => i.extern_token.to_token_stream(),
        Item::ForeignMod(i) => i.abi.to_token_stream(),
        Item::Macro(i) => i.mac.path.to_token_stream(),
        Item::TraitAlias(i) => i.trait_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

/// `#[notrace]` outside a `#[traceable]` scope does nothing; inside one, the scope removes it.
pub(crate) fn notrace(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    if let Some(first) = args.into_iter().next() {
        return Err(syn::Error::new_spanned(
            first,
            "#[notrace] takes no arguments",
        ));
    }
    Ok(input)
}
