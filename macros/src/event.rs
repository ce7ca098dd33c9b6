//! `eventhandler_declare!(name, fn(args..) [-> Output])`: the event's marker type and its typing.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{Ident, Lifetime, ReturnType, Token, Type, TypeBareFn, Visibility};

/// The macro's input.
pub(crate) struct Declaration {
    vis: Visibility,
    name: Ident,
    signature: TypeBareFn,
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let vis = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![,]>()?;
        let signature: TypeBareFn = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "eventhandler_declare! expects `name, fn(arg: Type, ..)` or `name, fn(..) -> ControlFlow<()>`",
            )
        })?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if let Some(lifetimes) = &signature.lifetimes {
            return Err(syn::Error::new_spanned(
                lifetimes,
                "eventhandler_declare! takes elided lifetimes only (`&Disk`, not `for<'a> .. &'a Disk`)",
            ));
        }
        if let Some(variadic) = &signature.variadic {
            return Err(syn::Error::new_spanned(
                variadic,
                "eventhandler_declare! handlers cannot be variadic",
            ));
        }
        Ok(Self {
            vis,
            name,
            signature,
        })
    }
}

/// Gives every elided lifetime (`&T`, `'_`) the name `'__a`, for the `Args<'__a>` tuple.
struct NameElided;

impl VisitMut for NameElided {
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(Lifetime::new("'__a", Span::call_site()));
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = Lifetime::new("'__a", lifetime.span());
        }
    }

    // Lifetimes inside nested fn pointers and trait objects' HRTBs stay as they are.
    fn visit_type_bare_fn_mut(&mut self, _: &mut TypeBareFn) {}
}

pub(crate) fn declare(input: Declaration) -> TokenStream {
    let Declaration {
        vis,
        name,
        signature,
    } = input;
    let types: Vec<Type> = signature.inputs.iter().map(|arg| arg.ty.clone()).collect();
    let args_types: Vec<Type> = types
        .iter()
        .map(|ty| {
            let mut ty = ty.clone();
            NameElided.visit_type_mut(&mut ty);
            ty
        })
        .collect();
    let output = match &signature.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let indices = (0..types.len()).map(syn::Index::from);
    let indices_with = (0..types.len()).map(syn::Index::from);
    let name_text = name.to_string();
    let signature_text =
        crate::print::compact(&quote!(fn(#(#types),*) -> #output)).replace(" -> ()", "");
    let arg = format_ident!("__A");
    let handler = format_ident!("__F");
    let private = quote!(::tracehook::eventhandler);
    quote! {
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #[doc = concat!("The `", #name_text, "` event: handlers are `", #signature_text, "`.")]
        #vis struct #name;

        impl #private::Event for #name {
            type Args<'__a> = (#(#args_types,)*);
            type Output = #output;
            const NAME: &'static str = #name_text;
            const SIGNATURE: &'static str = #signature_text;
            fn signature_id() -> ::core::any::TypeId {
                ::core::any::TypeId::of::<fn(#(#types),*) -> #output>()
            }
        }

        impl<#handler> #private::Accepts<#handler> for #name
        where
            #handler: ::core::ops::Fn(#(#types),*) -> #output,
        {
            #[inline(always)]
            fn call(handler: &#handler, args: &<Self as #private::Event>::Args<'_>) -> #output {
                handler(#(::core::clone::Clone::clone(&args.#indices)),*)
            }
        }

        impl<#arg, #handler> #private::AcceptsWith<#arg, #handler> for #name
        where
            #handler: ::core::ops::Fn(&#arg, #(#types),*) -> #output,
        {
            #[inline(always)]
            fn call_with(
                handler: &#handler,
                arg: &#arg,
                args: &<Self as #private::Event>::Args<'_>,
            ) -> #output {
                handler(arg, #(::core::clone::Clone::clone(&args.#indices_with)),*)
            }
        }

        #[allow(dead_code)]
        impl #name {
            /// The event's handler list (created with its static handlers on first use).
            #vis fn list() -> &'static #private::TypedList<Self> {
                static LIST: ::std::sync::OnceLock<&'static #private::TypedList<#name>> =
                    ::std::sync::OnceLock::new();
                LIST.get_or_init(#private::__list::<Self>)
            }

            #[doc(hidden)]
            #[inline(always)]
            #vis fn __closure<#handler>(handler: #handler) -> #handler
            where
                #handler: ::core::ops::Fn(#(#types),*) -> #output
                    + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                handler
            }

            #[doc(hidden)]
            #[inline(always)]
            #vis fn __with<#arg, #handler>(handler: #handler, arg: #arg) -> (#handler, #arg)
            where
                #handler: ::core::ops::Fn(&#arg, #(#types),*) -> #output
                    + ::core::marker::Send + ::core::marker::Sync + 'static,
                #arg: ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                (handler, arg)
            }
        }
    }
}
