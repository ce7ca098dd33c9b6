//! The arguments of `#[traceable(...)]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// Options of one `#[traceable]`.
#[derive(Clone, Default)]
pub(crate) struct Options {
    /// `name = "..."`: the site's name instead of the function's.
    pub(crate) name: Option<LitStr>,
    /// `skip_args`: the site never shows its arguments (`SAVE_REGS` refuses it).
    pub(crate) skip_args: bool,
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Self::default();
        let mut errors: Option<syn::Error> = None;
        let mut push = |error: syn::Error| match &mut errors {
            Some(all) => all.combine(error),
            None => errors = Some(error),
        };
        let mut seen_skip = false;
        while !input.is_empty() {
            let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            if key == "name" {
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse()?;
                if options.name.is_some() {
                    push(syn::Error::new_spanned(
                        &key,
                        "duplicate #[traceable] option `name`",
                    ));
                } else if value.value().trim().is_empty() {
                    push(syn::Error::new_spanned(
                        &value,
                        "#[traceable] `name` cannot be empty",
                    ));
                } else {
                    options.name = Some(value);
                }
            } else if key == "skip_args" {
                if seen_skip {
                    push(syn::Error::new_spanned(
                        &key,
                        "duplicate #[traceable] option `skip_args`",
                    ));
                }
                seen_skip = true;
                options.skip_args = true;
            } else {
                push(syn::Error::new_spanned(
                    &key,
                    format!(
                        "unknown #[traceable] option `{key}` (expected `name = \"...\"` or `skip_args`)"
                    ),
                ));
                if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    input.parse::<syn::Expr>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(options),
        }
    }
}

/// Whether `attr` is `#[notrace]` or `#[tracehook::notrace]`.
pub(crate) fn is_notrace(attr: &syn::Attribute) -> bool {
    last_segment_is(attr, "notrace")
}

/// Whether `attr` is `#[traceable]`, `#[traceable(...)]` or `#[tracehook::traceable...]`.
pub(crate) fn is_traceable(attr: &syn::Attribute) -> bool {
    last_segment_is(attr, "traceable")
}

fn last_segment_is(attr: &syn::Attribute, name: &str) -> bool {
    let path = attr.path();
    let Some(last) = path.segments.last() else {
        return false;
    };
    last.ident == name
        && (path.segments.len() == 1
            || (path.segments.len() == 2 && path.segments[0].ident == "tracehook"))
}

/// Takes the `#[traceable(...)]` and `#[notrace]` attributes out of `attrs`: returns whether `notrace`
/// was there and the options of a nested `traceable`, if any.
pub(crate) fn take_markers(
    attrs: &mut Vec<syn::Attribute>,
) -> syn::Result<(bool, Option<Options>)> {
    let mut notrace = false;
    let mut options = None;
    let mut error: Option<syn::Error> = None;
    attrs.retain(|attr| {
        if is_notrace(attr) {
            notrace = true;
            false
        } else if is_traceable(attr) {
            match parse_attr(attr) {
                Ok(parsed) if options.is_none() => options = Some(parsed),
                Ok(parsed) if options.as_ref().is_some_and(|first| first.same_as(&parsed)) => {}
                Ok(_) => {
                    let dup = syn::Error::new_spanned(
                        attr,
                        "conflicting #[traceable] attributes: a function is one site, and this \
                         attribute's options differ from the first one's",
                    );
                    match &mut error {
                        Some(all) => all.combine(dup),
                        None => error = Some(dup),
                    }
                }
                Err(e) => match &mut error {
                    Some(all) => all.combine(e),
                    None => error = Some(e),
                },
            }
            false
        } else {
            true
        }
    });
    match error {
        Some(error) => Err(error),
        None => Ok((notrace, options)),
    }
}

impl Options {
    /// Whether two attributes ask for the same site (attribute-copying macros repeat them).
    fn same_as(&self, other: &Self) -> bool {
        self.skip_args == other.skip_args
            && self.name.as_ref().map(LitStr::value) == other.name.as_ref().map(LitStr::value)
    }
}

/// The options of one `#[traceable]` attribute found among an item's attributes.
fn parse_attr(attr: &syn::Attribute) -> syn::Result<Options> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(Options::default()),
        syn::Meta::List(list) => list.parse_args::<Options>(),
        syn::Meta::NameValue(nv) => Err(syn::Error::new_spanned(
            nv,
            "#[traceable] takes options in parentheses: #[traceable(name = \"...\")]",
        )),
    }
}

/// Removes further `#[traceable]` attributes equal to `first` (macros such as rstest_reuse's
/// `#[apply]` copy attributes, so one function may carry the attribute twice: it is one site, with
/// the first one's options). A further attribute with other options is an error.
pub(crate) fn fold_repeats(first: &Options, attrs: &mut Vec<syn::Attribute>) -> syn::Result<()> {
    let mut error: Option<syn::Error> = None;
    attrs.retain(|attr| {
        if !is_traceable(attr) {
            return true;
        }
        match parse_attr(attr) {
            Ok(options) if options.same_as(first) => {}
            Ok(_) => {
                let conflict = syn::Error::new_spanned(
                    attr,
                    "conflicting #[traceable] attributes: a function is one site, and this \
                     attribute's options differ from the first one's",
                );
                match &mut error {
                    Some(all) => all.combine(conflict),
                    None => error = Some(conflict),
                }
            }
            Err(e) => match &mut error {
                Some(all) => all.combine(e),
                None => error = Some(e),
            },
        }
        false
    });
    error.map_or(Ok(()), Err)
}
