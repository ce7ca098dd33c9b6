//! Turning types and patterns into the short text shown in site names, signatures and argument names.

use proc_macro2::{Spacing, TokenStream, TokenTree};

/// Prints tokens the way a person writes them: `fn(&str) -> u32`, `(a, b)`, `Vec<u8>`.
pub(crate) fn compact(tokens: &TokenStream) -> String {
    let mut out = String::new();
    write(tokens.clone(), &mut out);
    out
}

fn write(tokens: TokenStream, out: &mut String) {
    let mut prev_word = false;
    let mut prev_joint_lifetime = false;
    // The last token was a lifetime's name: `&'a [u8]` keeps its space before a group.
    let mut prev_lifetime = false;
    for tree in tokens {
        let after_lifetime = std::mem::take(&mut prev_lifetime);
        match tree {
            TokenTree::Ident(ident) => {
                if prev_word && !prev_joint_lifetime {
                    out.push(' ');
                }
                out.push_str(&ident.to_string());
                prev_word = true;
                prev_lifetime = prev_joint_lifetime;
                prev_joint_lifetime = false;
            }
            TokenTree::Literal(lit) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&lit.to_string());
                prev_word = true;
                prev_joint_lifetime = false;
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                match c {
                    ',' => out.push_str(", "),
                    '-' if punct.spacing() == Spacing::Joint => out.push_str(" -"),
                    '>' if out.ends_with(" -") => out.push_str("> "),
                    '=' => out.push_str(" = "),
                    '+' => out.push_str(" + "),
                    ':' if punct.spacing() == Spacing::Alone && !out.ends_with(':') => {
                        out.push_str(": ");
                    }
                    _ => out.push(c),
                }
                prev_joint_lifetime = c == '\'';
                prev_word = c == '\'' || (c == '>' && !out.ends_with("> ")) || c == ')';
                if c == '\'' {
                    prev_word = false;
                }
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => {
                        if prev_word {
                            out.push(' ');
                        }
                        ("{ ", " }")
                    }
                    proc_macro2::Delimiter::None => ("", ""),
                };
                if after_lifetime && !open.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(open);
                write(group.stream(), out);
                out.push_str(close);
                prev_word = false;
                prev_joint_lifetime = false;
            }
        }
        if out.ends_with("  ") {
            out.pop();
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
}
