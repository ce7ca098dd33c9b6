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
        let mut push = |error: syn::Error| push_error(&mut errors, error);
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
    attrs.retain(|attr| {
        let found = is_notrace(attr);
        notrace |= found;
        !found
    });
    let options = take_traceable(attrs, None)?;
    Ok((notrace, options))
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
    take_traceable(attrs, Some(first.clone())).map(|_| ())
}

/// Takes every `#[traceable]` out of `attrs`. The first one's options are the site's, unless `first`
/// already gives them; a repeat with the same options is dropped, one with other options is an
/// error (all errors are reported together).
fn take_traceable(
    attrs: &mut Vec<syn::Attribute>,
    first: Option<Options>,
) -> syn::Result<Option<Options>> {
    let mut options = first;
    let mut error: Option<syn::Error> = None;
    attrs.retain(|attr| {
        if !is_traceable(attr) {
            return true;
        }
        match parse_attr(attr) {
            Ok(parsed) => match &options {
                None => options = Some(parsed),
                Some(first) if first.same_as(&parsed) => {}
                Some(_) => push_error(
                    &mut error,
                    syn::Error::new_spanned(
                        attr,
                        "conflicting #[traceable] attributes: a function is one site, and this \
                         attribute's options differ from the first one's",
                    ),
                ),
            },
            Err(e) => push_error(&mut error, e),
        }
        false
    });
    error.map_or(Ok(options), Err)
}

/// Adds `error` to the errors found so far.
fn push_error(errors: &mut Option<syn::Error>, error: syn::Error) {
    match errors {
        Some(all) => all.combine(error),
        None => *errors = Some(error),
    }
}
