//! `annotate DIR...`: adds `#[tracehook::traceable]` to every function with a body in every `.rs`
//! file under each DIR (free functions, inherent and trait impl methods, trait default methods and
//! functions nested in other functions' bodies), skipping `const fn`s, variadic functions and
//! functions that already carry the attribute. Only the inserted text changes in a file. Prints one
//! line per file (`path annotated skipped`) and a total; a file syn cannot parse is left as it is
//! and reported.

use proc_macro2::LineColumn;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::visit::Visit;

const ATTRIBUTE: &str = "#[tracehook::traceable] ";

#[derive(Default)]
struct Finder {
    points: Vec<LineColumn>,
    skipped: usize,
}

impl Finder {
    fn consider(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        first: proc_macro2::Span,
    ) {
        let traced = attrs.iter().any(|attr| {
            attr.path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "traceable" || s.ident == "notrace")
        });
        if sig.constness.is_some() || sig.variadic.is_some() || traced {
            self.skipped += 1;
            return;
        }
        self.points.push(first.start());
    }
}

fn start_of(vis: &syn::Visibility, sig: &syn::Signature) -> proc_macro2::Span {
    match vis {
        syn::Visibility::Inherited => sig.span(),
        other => other.span(),
    }
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.consider(&item.attrs, &item.sig, start_of(&item.vis, &item.sig));
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let first = match &item.defaultness {
            Some(default) => default.span(),
            None => start_of(&item.vis, &item.sig),
        };
        self.consider(&item.attrs, &item.sig, first);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if item.default.is_some() {
            self.consider(&item.attrs, &item.sig, item.sig.span());
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

/// Inserts the attribute at each point (1-based line, 0-based column in characters).
fn insert(source: &str, mut points: Vec<LineColumn>) -> String {
    points.sort_by_key(|p| (p.line, p.column));
    points.dedup_by_key(|p| (p.line, p.column));
    let mut out = String::with_capacity(source.len() + points.len() * ATTRIBUTE.len());
    let mut points = points.into_iter().peekable();
    for (index, line) in source.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let mut columns = Vec::new();
        while let Some(point) = points.next_if(|p| p.line == number) {
            columns.push(point.column);
        }
        if columns.is_empty() {
            out.push_str(line);
            continue;
        }
        for (column, c) in line.chars().enumerate() {
            if columns.contains(&column) {
                out.push_str(ATTRIBUTE);
            }
            out.push(c);
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let mut total = 0;
    let mut unparsed = 0;
    for dir in std::env::args().skip(1) {
        let mut paths = Vec::new();
        files(Path::new(&dir), &mut paths);
        for path in paths {
            let source = std::fs::read_to_string(&path).expect("read");
            let file = match syn::parse_file(&source) {
                Ok(file) => file,
                Err(error) => {
                    println!("{} unparsed: {error}", path.display());
                    unparsed += 1;
                    continue;
                }
            };
            let mut finder = Finder::default();
            finder.visit_file(&file);
            let count = finder.points.len();
            if count > 0 {
                std::fs::write(&path, insert(&source, finder.points)).expect("write");
            }
            println!("{} {count} {}", path.display(), finder.skipped);
            total += count;
        }
    }
    println!("total {total} unparsed {unparsed}");
}
