//! `#[traceable]` on an `impl` block, a trait, or an inline module: every function with a body inside,
//! except those marked `#[notrace]`. A nested `#[traceable(...)]` on one function gives its own options.
//! `const fn`s cannot be traced and are passed over (naming one explicitly is an error).

use crate::attr::{Options, take_markers};
use crate::item_fn::{self, Context};
use crate::print::compact;
use crate::redirect::Scope;
use quote::ToTokens;
use syn::{ImplItem, Item, ItemImpl, ItemMod, ItemTrait, TraitItem, Type};

/// The options for one function: the scope's, overridden by its own `#[traceable(...)]`.
fn merge(outer: &Options, inner: Option<&Options>) -> Options {
    match inner {
        None => outer.clone(),
        Some(inner) => Options {
            name: inner.name.clone(),
            skip_args: outer.skip_args || inner.skip_args,
        },
    }
}

/// Reads and removes the markers on one item; `None` means the item is left out (`#[notrace]`).
fn markers(
    attrs: &mut Vec<syn::Attribute>,
    outer: &Options,
    errors: &mut Vec<syn::Error>,
) -> Option<(Options, bool)> {
    match take_markers(attrs) {
        Err(error) => {
            errors.push(error);
            None
        }
        Ok((true, _)) => None,
        Ok((false, inner)) => Some((merge(outer, inner.as_ref()), inner.is_some())),
    }
}

/// Rewrites the block in place; returns the errors (the functions they concern are left as written).
pub(crate) fn impl_block(block: &mut ItemImpl, options: &Options) -> Vec<syn::Error> {
    let context = Context {
        type_name: Some(type_name(&block.self_ty)),
        trait_impl: block.trait_.is_some(),
        scope: Scope::Impl {
            generics: block.generics.clone(),
            self_ty: block.self_ty.clone(),
        },
    };
    let mut errors = Vec::new();
    for item in &mut block.items {
        if let ImplItem::Fn(method) = item {
            let Some((options, explicit)) = markers(&mut method.attrs, options, &mut errors) else {
                continue;
            };
            if method.sig.constness.is_some() && !explicit {
                continue;
            }
            if let Err(error) = item_fn::rewrite(
                &mut method.attrs,
                &mut method.sig,
                &mut method.block,
                &options,
                &context,
            ) {
                errors.push(error);
            }
        }
    }
    errors
}

/// Rewrites the trait in place; returns the errors.
pub(crate) fn trait_block(block: &mut ItemTrait, options: &Options) -> Vec<syn::Error> {
    let context = Context {
        type_name: Some(block.ident.to_string()),
        trait_impl: false,
        scope: Scope::Trait {
            generics: block.generics.clone(),
        },
    };
    let mut errors = Vec::new();
    for item in &mut block.items {
        if let TraitItem::Fn(method) = item {
            let Some((options, explicit)) = markers(&mut method.attrs, options, &mut errors) else {
                continue;
            };
            match &mut method.default {
                Some(body) if method.sig.constness.is_none() || explicit => {
                    if let Err(error) = item_fn::rewrite(
                        &mut method.attrs,
                        &mut method.sig,
                        body,
                        &options,
                        &context,
                    ) {
                        errors.push(error);
                    }
                }
                None if explicit => errors.push(syn::Error::new_spanned(
                    &method.sig,
                    "#[traceable] needs a function body: a trait method without a body cannot be \
                     traced (put the attribute on the implementations)",
                )),
                _ => {}
            }
        }
    }
    errors
}

/// Rewrites the module's items in place, recursively; returns the errors.
pub(crate) fn module(module: &mut ItemMod, options: &Options) -> Vec<syn::Error> {
    let Some((_, items)) = &mut module.content else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for item in items {
        let result = match item {
            Item::Fn(function) => {
                let Some((options, explicit)) = markers(&mut function.attrs, options, &mut errors)
                else {
                    continue;
                };
                if function.sig.constness.is_some() && !explicit {
                    continue;
                }
                item_fn::rewrite(
                    &mut function.attrs,
                    &mut function.sig,
                    &mut function.block,
                    &options,
                    &Context {
                        scope: Scope::Module,
                        ..Context::default()
                    },
                )
            }
            Item::Impl(block) => {
                let Some((options, _)) = markers(&mut block.attrs, options, &mut errors) else {
                    continue;
                };
                errors.extend(impl_block(block, &options));
                Ok(())
            }
            Item::Trait(block) => {
                let Some((options, _)) = markers(&mut block.attrs, options, &mut errors) else {
                    continue;
                };
                errors.extend(trait_block(block, &options));
                Ok(())
            }
            Item::Mod(inner) => {
                let Some((options, _)) = markers(&mut inner.attrs, options, &mut errors) else {
                    continue;
                };
                errors.extend(self::module(inner, &options));
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    errors
}

/// `Parser` for `Parser`, `Parser<T>`, `&Parser`, `crate::Parser`; the compact text otherwise.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map_or_else(
            || compact(&ty.to_token_stream()),
            |segment| {
                let text = segment.ident.to_string();
                text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
            },
        ),
        Type::Reference(reference) => type_name(&reference.elem),
        Type::Paren(inner) => type_name(&inner.elem),
        Type::Group(inner) => type_name(&inner.elem),
        _ => compact(&ty.to_token_stream()),
    }
}
