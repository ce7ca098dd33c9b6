//! The function-pointer type a redirect (`IPMODIFY`) replacement must have, or why a site has none.
//!
//! The rule this module serves: `#[traceable]` never turns compiling code into non-compiling code.
//! The replacement's type is checked with `TypeId`, so the type written in the function's body must
//! be `'static` and must mean there exactly what the signature means. Where that cannot be shown from
//! the tokens the attribute sees, the site loses redirect (with the reason, which `IPMODIFY` reports)
//! and the function compiles as before.
//!
//! What the type is made of:
//! - every named lifetime of the signature (the function's own, and an enclosing impl's or trait's)
//!   is renamed to a fresh name bound by the type's own `for<..>` (rebinding the original names
//!   inside the body would shadow them); each must appear in an input, as `for<..>` requires;
//! - elided lifetimes of the return type are resolved as the function's elision resolves them
//!   (`&self`'s, or the one input lifetime) and written out, since a function-pointer type has no
//!   `self` rule;
//! - `Self` is replaced by the impl's type when the impl is not generic over types (its own lifetimes
//!   renamed and bound like the others);
//! - a type that may be a generic parameter of an enclosing item (which is not `'static`) loses
//!   redirect: a type parameter of the impl or trait the attribute is on, or, on a function annotated
//!   on its own, any single-name type the attribute cannot tell from one (a parameter of an impl
//!   it cannot see), other than the primitive and common `std` ones.

use crate::item_fn::mentions_ident;
use crate::print::compact;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use std::collections::BTreeSet;
use syn::{
    Expr, FnArg, GenericArgument, GenericParam, Generics, Lifetime, PathArguments, ReturnType,
    Signature, Type, TypeParamBound, WherePredicate,
};

/// What the attribute knows of the items around the function.
#[derive(Clone, Default)]
pub(crate) enum Scope {
    /// The attribute is on the function alone: an enclosing impl or trait, if any, is unseen.
    #[default]
    Unknown,
    /// A free function of an annotated inline module: no generics in scope.
    Module,
    /// A function of an annotated impl block.
    Impl {
        /// The impl's generics.
        generics: Generics,
        /// The impl's self type.
        self_ty: Box<Type>,
    },
    /// A default method of an annotated trait (`Self` is generic).
    Trait {
        /// The trait's generics.
        generics: Generics,
    },
}

/// A site's redirect type: the type used in the body, and the text shown by `Site::signature`.
pub(crate) struct Redirect {
    pub(crate) ty: TokenStream,
    pub(crate) text: String,
}

/// The redirect type of a function, or the reason it has none.
pub(crate) fn redirect_type(sig: &Signature, scope: &Scope) -> Result<Redirect, String> {
    if sig.asyncness.is_some() {
        return Err("it is an async fn".to_owned());
    }
    Builder::new(sig, scope)?.build()
}

/// Names no code uses for a generic parameter, whose types have no hidden lifetime parameter: a
/// single-name type in this list is concrete and `'static` given its arguments are.
const CLOSED: &[&str] = &[
    "bool",
    "char",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "String",
    "Vec",
    "Box",
    "Option",
    "Result",
    "Rc",
    "Arc",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "Cell",
    "RefCell",
    "Mutex",
    "RwLock",
    "PathBuf",
    "OsString",
    "Duration",
    "Instant",
    "SystemTime",
    "NonNull",
    "PhantomData",
    "Pin",
    "ManuallyDrop",
    "MaybeUninit",
    "Wrapping",
    "TypeId",
    "AtomicBool",
    "AtomicUsize",
    "AtomicU64",
    "AtomicU32",
    "AtomicI64",
    "AtomicI32",
    "NonZeroU32",
    "NonZeroU64",
    "NonZeroUsize",
];

fn is_closed(name: &str) -> bool {
    CLOSED.contains(&name)
}

/// Facts about one list of types (the inputs, or the output), gathered by [`Facts::walk`].
#[derive(Default)]
struct Facts {
    /// Free named lifetimes (not `'static`), where they constrain (outside associated-type
    /// bindings and `Fn(..) -> ..` outputs).
    named: BTreeSet<String>,
    /// Free named lifetimes seen anywhere.
    named_anywhere: BTreeSet<String>,
    /// `'static` appears at the outer level.
    has_static: bool,
    /// Elided lifetimes at the outer level (`&T`, `'_`).
    elided: usize,
    /// A path type that may hide lifetime parameters (`Formatter` for `Formatter<'_>`).
    hidden: bool,
    /// `Self` appears.
    self_used: bool,
    /// The first reason the type cannot be written in the body.
    problem: Option<String>,
}

impl Facts {
    /// Distinct lifetimes visible at the outer level, counting each elided one.
    fn visible(&self) -> usize {
        self.named.len() + usize::from(self.has_static) + self.elided
    }

    fn refuse(&mut self, reason: String) {
        self.problem.get_or_insert(reason);
    }
}

/// What the walk of a type may change.
#[derive(Default)]
struct Edits {
    /// Renamed free lifetimes: original name (without `'`) to fresh name.
    rename: Vec<(String, String)>,
    /// The lifetime written for each outer-level elided lifetime (output only), if any.
    elided_to: Option<String>,
    /// The lifetime written for the first outer-level elided lifetime (one input only).
    first_elided_to: Option<String>,
    /// The type written for `Self`.
    self_ty: Option<Type>,
}

struct Walker<'a> {
    scope: &'a Scope,
    /// The function's own type and const parameters are refused before any walk; these are the
    /// enclosing item's.
    outer_params: Vec<String>,
    /// Lifetimes bound by `for<..>` binders around the current position.
    bound: Vec<String>,
    /// Inside a nested elision scope (a `fn(..)` type, or `Fn(..)` arguments).
    nested: usize,
    /// Inside an associated-type binding or an `Fn(..) -> ..` output (does not constrain).
    unconstrained: usize,
    /// `first_elided_to` was written.
    first_elided_done: bool,
    edits: Edits,
    facts: Facts,
}

impl<'a> Walker<'a> {
    fn new(scope: &'a Scope) -> Self {
        let outer_params = match scope {
            Scope::Impl { generics, .. } | Scope::Trait { generics } => generics
                .params
                .iter()
                .filter_map(|param| match param {
                    GenericParam::Type(t) => Some(t.ident.to_string()),
                    GenericParam::Const(c) => Some(c.ident.to_string()),
                    GenericParam::Lifetime(_) => None,
                })
                .collect(),
            Scope::Unknown | Scope::Module => Vec::new(),
        };
        Self {
            scope,
            outer_params,
            bound: Vec::new(),
            nested: 0,
            unconstrained: 0,
            first_elided_done: false,
            edits: Edits::default(),
            facts: Facts::default(),
        }
    }

    fn take_facts(&mut self) -> Facts {
        std::mem::take(&mut self.facts)
    }

    fn lifetime(&mut self, lifetime: &mut Lifetime) {
        let name = lifetime.ident.to_string();
        if name == "static" {
            if self.nested == 0 {
                self.facts.has_static = true;
            }
            return;
        }
        if name == "_" {
            if self.nested == 0 {
                self.elided_here(|to| *lifetime = Lifetime::new(to, lifetime.span()));
            }
            return;
        }
        if self.bound.contains(&name) {
            return;
        }
        let written = match self.edits.rename.iter().find(|(from, _)| *from == name) {
            Some((_, fresh)) => {
                *lifetime = Lifetime::new(&format!("'{fresh}"), lifetime.span());
                fresh.clone()
            }
            None => name,
        };
        self.facts.named_anywhere.insert(written.clone());
        if self.unconstrained == 0 {
            self.facts.named.insert(written);
        }
    }

    /// An outer-level elided lifetime: counts it, and writes it out where an edit says so.
    /// A lifetime written out is counted as the named lifetime it becomes.
    fn elided_here(&mut self, write: impl FnOnce(&str)) {
        let to = match (&self.edits.elided_to, &self.edits.first_elided_to) {
            (Some(to), _) => Some(to.clone()),
            (None, Some(to)) => Some(to.clone()).filter(|_| !self.first_elided_done),
            (None, None) => None,
        };
        match to {
            None => self.facts.elided += 1,
            Some(to) => {
                write(&format!("'{to}"));
                self.first_elided_done = true;
                if to == "static" {
                    self.facts.has_static = true;
                } else {
                    self.facts.named_anywhere.insert(to.clone());
                    if self.unconstrained == 0 {
                        self.facts.named.insert(to);
                    }
                }
            }
        }
    }

    fn ty(&mut self, ty: &mut Type) {
        match ty {
            Type::Reference(reference) => {
                match &mut reference.lifetime {
                    Some(lifetime) => self.lifetime(lifetime),
                    None if self.nested == 0 => {
                        let mut written = None;
                        self.elided_here(|to| written = Some(Lifetime::new(to, Span::call_site())));
                        reference.lifetime = written;
                    }
                    None => {}
                }
                self.ty(&mut reference.elem);
            }
            Type::Path(path) => {
                if path.qself.is_some() {
                    self.facts.refuse(format!(
                        "its signature has a qualified path (`{}`)",
                        compact(&path.to_token_stream())
                    ));
                    return;
                }
                if path.path.leading_colon.is_none()
                    && path.path.segments.len() == 1
                    && path.path.segments[0].ident == "Self"
                    && path.path.segments[0].arguments.is_empty()
                {
                    self.facts.self_used = true;
                    if let Some(self_ty) = &self.edits.self_ty {
                        *ty = self_ty.clone();
                        self.ty(ty);
                    }
                    return;
                }
                self.type_path(&mut path.path);
            }
            Type::BareFn(function) => {
                self.within_binder(function.lifetimes.as_ref(), |walker| {
                    walker.nested += 1;
                    for input in &mut function.inputs {
                        walker.ty(&mut input.ty);
                    }
                    if let ReturnType::Type(_, output) = &mut function.output {
                        walker.ty(output);
                    }
                    walker.nested -= 1;
                });
            }
            Type::TraitObject(object) => {
                for bound in &mut object.bounds {
                    self.bound(bound);
                }
            }
            Type::ImplTrait(_) => self
                .facts
                .refuse("its signature has `impl Trait`".to_owned()),
            Type::Array(array) => {
                self.ty(&mut array.elem);
                self.expr(&array.len);
            }
            Type::Slice(slice) => self.ty(&mut slice.elem),
            Type::Ptr(pointer) => self.ty(&mut pointer.elem),
            Type::Paren(inner) => self.ty(&mut inner.elem),
            Type::Group(inner) => self.ty(&mut inner.elem),
            Type::Tuple(tuple) => {
                for elem in &mut tuple.elems {
                    self.ty(elem);
                }
            }
            Type::Never(_) => {}
            Type::Macro(mac) => self.facts.refuse(format!(
                "its signature has a type written by a macro (`{}!`)",
                compact(&mac.mac.path.to_token_stream())
            )),
            other => self.facts.refuse(format!(
                "its signature has a type the attribute cannot read (`{}`)",
                compact(&other.to_token_stream())
            )),
        }
    }

    /// A path in type position: its first name may be a generic parameter; each segment may hide
    /// lifetimes; the arguments are walked.
    fn type_path(&mut self, path: &mut syn::Path) {
        let first = path.segments[0].ident.to_string();
        let single = path.segments.len() == 1;
        if path.leading_colon.is_none() {
            if self.outer_params.contains(&first) {
                let what = match self.scope {
                    Scope::Trait { .. } => "the trait's",
                    _ => "the impl's",
                };
                self.facts.refuse(format!(
                    "its signature uses {what} generic parameter `{first}`"
                ));
            } else if first == "Self" {
                self.facts.refuse(format!(
                    "its signature has an associated type of `Self` (`{}`)",
                    compact(&path.to_token_stream())
                ));
            } else if matches!(self.scope, Scope::Unknown) {
                let module = first.starts_with(|c: char| c.is_ascii_lowercase())
                    || ["crate", "self", "super"].contains(&first.as_str());
                let open = if single {
                    !is_closed(&first)
                } else {
                    !module && !is_closed(&first)
                };
                if open {
                    self.facts.refuse(format!(
                        "its signature names `{first}`, which may be a generic parameter of an impl \
                         or trait the attribute cannot see: put #[traceable] on the impl block (or \
                         the module), or write the type as a path such as `crate::{first}`"
                    ));
                }
            }
        }
        let last = path.segments.len() - 1;
        for (index, segment) in path.segments.iter_mut().enumerate() {
            match &mut segment.arguments {
                PathArguments::None => {
                    if index == last && !is_closed(&segment.ident.to_string()) && self.nested == 0 {
                        self.facts.hidden = true;
                    }
                }
                PathArguments::AngleBracketed(args) => {
                    let has_lifetime = args
                        .args
                        .iter()
                        .any(|arg| matches!(arg, GenericArgument::Lifetime(_)));
                    if index == last
                        && !has_lifetime
                        && !is_closed(&segment.ident.to_string())
                        && self.nested == 0
                    {
                        self.facts.hidden = true;
                    }
                    for arg in &mut args.args {
                        self.generic_argument(arg);
                    }
                }
                PathArguments::Parenthesized(args) => self.fn_sugar(args),
            }
        }
    }

    /// Walks what a `for<..>` binder covers, with its lifetimes taken as bound there.
    fn within_binder(
        &mut self,
        binder: Option<&syn::BoundLifetimes>,
        walk: impl FnOnce(&mut Self),
    ) {
        let depth = self.bound.len();
        if let Some(binder) = binder {
            self.bound
                .extend(binder.lifetimes.iter().filter_map(|param| match param {
                    GenericParam::Lifetime(lt) => Some(lt.lifetime.ident.to_string()),
                    _ => None,
                }));
        }
        walk(self);
        self.bound.truncate(depth);
    }

    /// `Fn(A, B) -> C`: its own elision scope; its output does not constrain.
    fn fn_sugar(&mut self, args: &mut syn::ParenthesizedGenericArguments) {
        self.nested += 1;
        for input in &mut args.inputs {
            self.ty(input);
        }
        if let ReturnType::Type(_, output) = &mut args.output {
            self.unconstrained += 1;
            self.ty(output);
            self.unconstrained -= 1;
        }
        self.nested -= 1;
    }

    fn generic_argument(&mut self, arg: &mut GenericArgument) {
        match arg {
            GenericArgument::Lifetime(lifetime) => self.lifetime(lifetime),
            GenericArgument::Type(ty) => self.ty(ty),
            GenericArgument::Const(expr) => self.expr(expr),
            GenericArgument::AssocType(assoc) => {
                self.unconstrained += 1;
                self.ty(&mut assoc.ty);
                self.unconstrained -= 1;
            }
            GenericArgument::AssocConst(assoc) => self.expr(&assoc.value),
            GenericArgument::Constraint(constraint) => {
                self.unconstrained += 1;
                for bound in &mut constraint.bounds {
                    self.bound(bound);
                }
                self.unconstrained -= 1;
            }
            other => self.facts.refuse(format!(
                "its signature has a generic argument the attribute cannot read (`{}`)",
                compact(&other.to_token_stream())
            )),
        }
    }

    fn bound(&mut self, bound: &mut TypeParamBound) {
        match bound {
            TypeParamBound::Trait(trait_bound) => {
                let path = &mut trait_bound.path;
                self.within_binder(trait_bound.lifetimes.as_ref(), |walker| {
                    // A trait's name is not a type: only its arguments can name parameters.
                    for segment in &mut path.segments {
                        match &mut segment.arguments {
                            PathArguments::None => {}
                            PathArguments::AngleBracketed(args) => {
                                for arg in &mut args.args {
                                    walker.generic_argument(arg);
                                }
                            }
                            PathArguments::Parenthesized(args) => walker.fn_sugar(args),
                        }
                    }
                });
            }
            TypeParamBound::Lifetime(lifetime) => self.lifetime(lifetime),
            other => self.facts.refuse(format!(
                "its signature has a bound the attribute cannot read (`{}`)",
                compact(&other.to_token_stream())
            )),
        }
    }

    /// A const expression in a type (`[u8; N]`): literals are fine; a name may be a const parameter.
    fn expr(&mut self, expr: &Expr) {
        if let Expr::Lit(_) = expr {
            return;
        }
        if has_ident(&expr.to_token_stream()) {
            self.facts.refuse(format!(
                "its signature has a const expression with a name (`{}`), which may be a const \
                 parameter",
                compact(&expr.to_token_stream())
            ));
        }
    }
}

fn has_ident(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(_) => true,
        TokenTree::Group(group) => has_ident(&group.stream()),
        _ => false,
    })
}

/// Where the function's own elision resolves the return type's elided lifetimes.
enum Target {
    /// No elided lifetime in the return type.
    None,
    /// A named lifetime (after renaming) or the fresh name of the one elided input lifetime.
    Named(String),
    /// Left to the function-pointer type's own elision, which resolves it the same way.
    Same,
}

struct Builder<'a> {
    scope: &'a Scope,
    inputs: Vec<Type>,
    /// The receiver's type, when the function has one, as the first input.
    receiver: bool,
    output: Option<Type>,
    unsafety: Option<syn::token::Unsafe>,
    abi: Option<syn::Abi>,
    used: BTreeSet<String>,
}

impl<'a> Builder<'a> {
    fn new(sig: &Signature, scope: &'a Scope) -> Result<Self, String> {
        if let Some(param) = sig
            .generics
            .params
            .iter()
            .find(|p| !matches!(p, GenericParam::Lifetime(_)))
        {
            let name = match param {
                GenericParam::Type(t) => t.ident.to_string(),
                GenericParam::Const(c) => c.ident.to_string(),
                GenericParam::Lifetime(l) => l.lifetime.to_string(),
            };
            return Err(format!("it is generic over `{name}`"));
        }
        if let Some(clause) = &sig.generics.where_clause
            && clause
                .predicates
                .iter()
                .any(|p| !matches!(p, WherePredicate::Lifetime(_)))
        {
            return Err("it has a `where` clause on types".to_owned());
        }
        let mut inputs = Vec::new();
        let mut receiver = false;
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(r) => {
                    receiver = true;
                    inputs.push((*r.ty).clone());
                }
                FnArg::Typed(typed) => inputs.push((*typed.ty).clone()),
            }
        }
        let output = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        let mut used = BTreeSet::new();
        collect_lifetime_names(&sig.to_token_stream(), &mut used);
        if let Scope::Impl { self_ty, .. } = scope {
            collect_lifetime_names(&self_ty.to_token_stream(), &mut used);
        }
        Ok(Self {
            scope,
            inputs,
            receiver,
            output,
            unsafety: sig.unsafety,
            abi: sig.abi.clone(),
            used,
        })
    }

    /// A lifetime name (without `'`) used nowhere in the signature or the impl's type.
    fn fresh(&mut self, hint: &str) -> String {
        let mut name = hint.to_owned();
        let mut n = 0;
        while self.used.contains(&name) || self.used.contains(&format!("__th_{name}")) {
            n += 1;
            name = format!("{hint}{n}");
        }
        self.used.insert(name.clone());
        name
    }

    /// Walks the inputs (and then the output) with `edits`; returns the facts of each.
    fn walk(
        &self,
        edits: Edits,
        inputs: &mut [Type],
        output: Option<&mut Type>,
    ) -> Result<(Facts, Facts), String> {
        let mut walker = Walker::new(self.scope);
        let output_edits = Edits {
            rename: edits.rename.clone(),
            elided_to: edits.elided_to.clone(),
            first_elided_to: None,
            self_ty: edits.self_ty.clone(),
        };
        walker.edits = Edits {
            elided_to: None,
            ..edits
        };
        for ty in inputs.iter_mut() {
            walker.ty(ty);
        }
        let in_facts = walker.take_facts();
        walker.edits = output_edits;
        if let Some(output) = output {
            walker.ty(output);
        }
        let out_facts = walker.take_facts();
        if let Some(problem) = in_facts
            .problem
            .clone()
            .or_else(|| out_facts.problem.clone())
        {
            return Err(problem);
        }
        Ok((in_facts, out_facts))
    }

    /// The impl's self type with its elided lifetimes named (fresh names, bound like the others),
    /// or why `Self` cannot be written.
    fn self_type(&mut self) -> Result<Type, String> {
        match self.scope {
            Scope::Impl { generics, self_ty } => {
                let mut ty = (**self_ty).clone();
                let mut walker = Walker::new(self.scope);
                walker.ty(&mut ty);
                if let Some(problem) = walker.facts.problem {
                    return Err(format!("`Self` cannot be written: {}", problem.trim_start_matches("its signature ")));
                }
                if mentions_ident(&ty.to_token_stream(), "dyn") {
                    return Err("`Self` is a trait object".to_owned());
                }
                if generics.params.iter().any(|p| !matches!(p, GenericParam::Lifetime(_))) {
                    // A parameter the type does not name is still unconstrained nowhere: an impl's
                    // type names all its type parameters, so this is unreachable for valid code.
                    return Err("the impl is generic over types".to_owned());
                }
                // Name the elided lifetimes of the impl's type.
                let count = walker.facts.elided;
                if count > 0 {
                    let names: Vec<String> = (0..count).map(|i| self.fresh(&format!("i{i}"))).collect();
                    let mut namer = Namer { names, next: 0 };
                    namer.ty(&mut ty);
                }
                Ok(ty)
            }
            Scope::Trait { .. } => Err("`Self` is generic in a trait's default method".to_owned()),
            Scope::Module => Err("`Self` is not a type here".to_owned()),
            Scope::Unknown => Err(
                "`Self` is the type of an impl block the attribute cannot see: put #[traceable] on \
                 the impl block"
                    .to_owned(),
            ),
        }
    }

    fn build(mut self) -> Result<Redirect, String> {
        // First pass: facts of the signature as written (`Self` not replaced).
        let mut inputs = self.inputs.clone();
        let mut output = self.output.clone();
        let (original_in, original_out) =
            self.walk(Edits::default(), &mut inputs, output.as_mut())?;
        let self_ty = if original_in.self_used || original_out.self_used {
            Some(self.self_type()?)
        } else {
            None
        };

        // Every named lifetime gets a fresh name, bound by the type's `for<..>`.
        let mut names: BTreeSet<String> = original_in.named_anywhere.clone();
        names.extend(original_out.named_anywhere.iter().cloned());
        if let Some(ty) = &self_ty {
            collect_lifetime_names(&ty.to_token_stream(), &mut names);
        }
        let rename: Vec<(String, String)> = names
            .iter()
            .filter(|name| !name.starts_with("__th_") && *name != "static" && *name != "_")
            .map(|name| (name.clone(), format!("__th_{name}")))
            .collect();

        // Where the function's own elision sends the output's elided lifetimes.
        let output_elides = original_out.elided > 0 || original_out.hidden;
        let reference_receiver =
            self.receiver && matches!(&self.inputs[0], Type::Reference(r) if is_self(&r.elem));
        let receiver_has_ref =
            self.receiver && contains_punct(&self.inputs[0].to_token_stream(), '&');
        let self_rule = reference_receiver || receiver_has_ref;
        let mut first_elided_to = None;
        let single_input = original_in.visible() == 1 && !original_in.hidden;
        let target = if !output_elides {
            Target::None
        } else if reference_receiver {
            let fresh = format!("__th_{}", self.fresh("s"));
            let Type::Reference(receiver) = &mut self.inputs[0] else {
                unreachable!("a reference receiver")
            };
            match &receiver.lifetime {
                Some(lifetime) if lifetime.ident != "_" => {
                    Target::Named(rename_of(&rename, &lifetime.ident.to_string()))
                }
                _ => {
                    receiver.lifetime =
                        Some(Lifetime::new(&format!("'{fresh}"), Span::call_site()));
                    Target::Named(fresh)
                }
            }
        } else if receiver_has_ref && !single_input {
            // `self: Pin<&mut Self>` and the like, with other input lifetimes: the self rule may
            // apply, and which lifetime it picks is not certain from the tokens.
            return Err("its return type borrows through the `self` elision rule with a receiver other than `&self` or `&mut self`"
                .to_owned());
        } else if single_input {
            if original_in.elided == 1 {
                let fresh = format!("__th_{}", self.fresh("a"));
                first_elided_to = Some(fresh.clone());
                Target::Named(fresh)
            } else if original_in.has_static {
                Target::Named("static".to_owned())
            } else {
                let name = original_in.named.iter().next().cloned().unwrap_or_default();
                Target::Named(rename_of(&rename, &name))
            }
        } else if original_in.visible() == 0 && original_in.hidden {
            Target::Same
        } else {
            // Two or more input lifetimes (or none): the function compiles, so its return type
            // elides none, and its paths hide none.
            Target::None
        };

        // Second pass: rename, write `Self` out, and write the output's elided lifetimes.
        let elided_to = match &target {
            Target::Named(name) if original_out.elided > 0 => Some(name.clone()),
            _ => None,
        };
        let edits = Edits {
            rename,
            elided_to,
            first_elided_to,
            self_ty,
        };
        let mut inputs = self.inputs.clone();
        let mut output = self.output.clone();
        let (new_in, new_out) = self.walk(edits, &mut inputs, output.as_mut())?;

        // Where elided lifetimes are left to the function-pointer type's own elision (a path that
        // may hide one), it must resolve them as the function does.
        let left =
            original_out.hidden || (matches!(target, Target::Same) && original_out.elided > 0);
        if left {
            let same_inputs = !self_rule
                && new_in.visible() == original_in.visible()
                && new_in.hidden == original_in.hidden;
            let single = new_in.visible() == 1 && !new_in.hidden;
            if !(same_inputs || single) {
                return Err(
                    "its return type may hide a lifetime (a path without `<'_>`) that the \
                            attribute cannot write out"
                        .to_owned(),
                );
            }
        }
        // `for<..>` binds every named lifetime; one in the return type must appear in an argument.
        let mut bound = BTreeSet::new();
        for name in new_in.named_anywhere.iter().chain(&new_out.named_anywhere) {
            if !new_in.named.contains(name) && new_out.named_anywhere.contains(name) {
                return Err(format!(
                    "the lifetime `'{}` of its return type appears in no argument",
                    name.trim_start_matches("__th_")
                ));
            }
            bound.insert(name.clone());
        }
        let bound: Vec<Lifetime> = bound
            .iter()
            .map(|name| Lifetime::new(&format!("'{name}"), Span::call_site()))
            .collect();
        let binder = if bound.is_empty() {
            TokenStream::new()
        } else {
            quote!(for<#(#bound),*>)
        };
        let unsafety = &self.unsafety;
        let abi = &self.abi;
        let output = output.map(|ty| quote!(-> #ty));
        let ty = quote!(#binder #unsafety #abi fn(#(#inputs),*) #output);
        let text = compact(&ty).replace("'__th_", "'");
        Ok(Redirect { ty, text })
    }
}

fn rename_of(rename: &[(String, String)], name: &str) -> String {
    rename
        .iter()
        .find(|(from, _)| from == name)
        .map_or_else(|| name.to_owned(), |(_, to)| to.clone())
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

fn contains_punct(tokens: &TokenStream, c: char) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Punct(p) => p.as_char() == c,
        TokenTree::Group(g) => contains_punct(&g.stream(), c),
        _ => false,
    })
}

/// Every lifetime name (without `'`) in the tokens.
fn collect_lifetime_names(tokens: &TokenStream, out: &mut BTreeSet<String>) {
    let mut after_quote = false;
    for tree in tokens.clone() {
        match &tree {
            TokenTree::Ident(ident) if after_quote => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => collect_lifetime_names(&group.stream(), out),
            _ => {}
        }
        after_quote = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '\'');
    }
}

/// Names the outer-level elided lifetimes of a type, in order.
struct Namer {
    names: Vec<String>,
    next: usize,
}

impl Namer {
    fn take(&mut self) -> Lifetime {
        let name = &self.names[self.next.min(self.names.len() - 1)];
        self.next += 1;
        Lifetime::new(&format!("'__th_{name}"), Span::call_site())
    }

    fn ty(&mut self, ty: &mut Type) {
        match ty {
            Type::Reference(reference) => {
                match &reference.lifetime {
                    None => reference.lifetime = Some(self.take()),
                    Some(lt) if lt.ident == "_" => reference.lifetime = Some(self.take()),
                    Some(_) => {}
                }
                self.ty(&mut reference.elem);
            }
            Type::Path(path) => {
                for segment in &mut path.path.segments {
                    if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                        for arg in &mut args.args {
                            match arg {
                                GenericArgument::Lifetime(lt) if lt.ident == "_" => {
                                    *lt = self.take()
                                }
                                GenericArgument::Type(ty) => self.ty(ty),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Type::Array(array) => self.ty(&mut array.elem),
            Type::Slice(slice) => self.ty(&mut slice.elem),
            Type::Ptr(pointer) => self.ty(&mut pointer.elem),
            Type::Paren(inner) => self.ty(&mut inner.elem),
            Type::Group(inner) => self.ty(&mut inner.elem),
            Type::Tuple(tuple) => {
                for elem in &mut tuple.elems {
                    self.ty(elem);
                }
            }
            _ => {}
        }
    }
}
