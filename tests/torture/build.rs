//! Generates the torture forms: the cross product of what function signatures contain (where the
//! function is, its receiver, its arguments, its return type, its qualifiers), keeping the
//! combinations that compile without the attribute. Each form is written four times, in the modules
//! `plain` (no attribute), `on_fn` (on the function), `on_impl` (on its impl block or trait; a free
//! function gets it on itself) and `on_mod` (on the inline module around everything). Each copy has
//! a caller that runs the form and prints what it returned (and what it did to its receiver), so
//! `tests/torture.rs` can compare the copies and check that each annotated one was hooked.

use std::collections::BTreeSet;
use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ctx {
    Free,
    S0,
    G,
    L,
    K,
    TraitImpl,
    TraitDefault,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Recv {
    None,
    Value,
    Ref,
    Mut,
    Boxed,
    Rc,
    Arc,
    Pin,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Arg {
    U64,
    Str,
    StrF,
    StrFG,
    StrFGBound,
    StrStatic,
    StrAnon,
    VecMut,
    ImplFn,
    GenU,
    HrtbF,
    ArrM,
    DynDisp,
    Tuple,
    MutX,
    Wild,
    IterI,
    OptStr,
    BoxErrF,
    SelfVal,
    S0Pat,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ret {
    Unit,
    U64,
    StrElided,
    StrNamed,
    SelfTy,
    OptRef,
    ImplIter,
    ImplDisplay,
    ResultBox,
    Never,
    BoxFn,
    GenU,
    IterItem,
    ResultBoxF,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Qual {
    Plain,
    Async,
    Unsafe,
    ExternC,
}

const MODES: [&str; 4] = ["plain", "on_fn", "on_impl", "on_mod"];

struct Form {
    id: usize,
    ctx: Ctx,
    recv: Recv,
    args: Vec<Arg>,
    ret: Ret,
    qual: Qual,
}

/// Lifetimes visible in the arguments, as elision counts them: named ones once each, elided ones
/// each.
fn input_lifetimes(args: &[Arg]) -> (BTreeSet<&'static str>, usize) {
    let mut named = BTreeSet::new();
    let mut elided = 0;
    for arg in args {
        match arg {
            Arg::Str | Arg::StrAnon | Arg::VecMut | Arg::DynDisp | Arg::OptStr => elided += 1,
            Arg::StrF | Arg::BoxErrF => {
                named.insert("f");
            }
            Arg::StrFG | Arg::StrFGBound => {
                named.insert("f");
                named.insert("g");
            }
            Arg::StrStatic => {
                named.insert("static");
            }
            _ => {}
        }
    }
    (named, elided)
}

fn has_f(args: &[Arg]) -> bool {
    args.iter()
        .any(|a| matches!(a, Arg::StrF | Arg::StrFG | Arg::StrFGBound | Arg::BoxErrF))
}

impl Form {
    fn is_method(&self) -> bool {
        self.ctx != Ctx::Free
    }

    fn self_rule(&self) -> bool {
        matches!(self.recv, Recv::Ref | Recv::Mut)
    }

    /// The arguments have one lifetime, elided (an elided output referring to a named one is
    /// `mismatched_lifetime_syntaxes`).
    fn single_input_lifetime(&self) -> bool {
        let (named, elided) = input_lifetimes(&self.args);
        named.is_empty() && elided == 1 && !matches!(self.recv, Recv::Ref | Recv::Mut | Recv::Pin)
    }

    fn valid(&self) -> bool {
        let ctx_ok = match self.ctx {
            Ctx::Free => self.recv == Recv::None,
            _ => true,
        };
        if !ctx_ok {
            return false;
        }
        if self.ctx == Ctx::Free && (self.args.contains(&Arg::SelfVal) || self.ret == Ret::SelfTy) {
            return false;
        }
        let ret_ok = match self.ret {
            Ret::StrElided | Ret::OptRef => {
                self.self_rule()
                    || (self.recv == Recv::Pin
                        && input_lifetimes(&self.args).1 == 0
                        && input_lifetimes(&self.args).0.is_empty())
                    || self.single_input_lifetime()
            }
            Ret::StrNamed => has_f(&self.args) || self.ctx == Ctx::L,
            Ret::SelfTy => self.ctx != Ctx::Free,
            Ret::GenU => self.args.contains(&Arg::GenU),
            Ret::IterItem => self.args.contains(&Arg::IterI),
            Ret::ResultBoxF => has_f(&self.args),
            _ => true,
        };
        if !ret_ok {
            return false;
        }
        match self.qual {
            Qual::Plain | Qual::Unsafe => true,
            Qual::Async => self.ret != Ret::Never,
            Qual::ExternC => {
                matches!(self.ctx, Ctx::Free | Ctx::S0)
                    && self.recv == Recv::None
                    && self
                        .args
                        .iter()
                        .all(|a| matches!(a, Arg::U64 | Arg::MutX | Arg::Wild))
                    && matches!(self.ret, Ret::Unit | Ret::U64)
            }
        }
    }

    fn name(&self) -> String {
        if self.is_method() {
            format!("m{}", self.id)
        } else {
            format!("f{}", self.id)
        }
    }

    /// The type the method's `Self` is, as written at a call.
    fn self_path(&self) -> &'static str {
        match self.ctx {
            Ctx::G => "G::<u64>",
            Ctx::K => "K::<3>",
            Ctx::L => "L",
            _ => "S0",
        }
    }

    fn generics(&self) -> (String, Vec<String>) {
        let mut params = Vec::new();
        let mut wheres = Vec::new();
        if has_f(&self.args) {
            params.push("'f".to_owned());
        }
        if self.args.contains(&Arg::StrFGBound) {
            params.push("'g: 'f".to_owned());
        } else if self.args.contains(&Arg::StrFG) {
            params.push("'g".to_owned());
        }
        if self.args.contains(&Arg::GenU) {
            params.push("U: Clone + ::std::fmt::Debug".to_owned());
        }
        if self.args.contains(&Arg::HrtbF) {
            params.push("F".to_owned());
            wheres.push("F: for<'x> Fn(&'x str) -> &'x str".to_owned());
        }
        if self.args.contains(&Arg::IterI) {
            params.push("I".to_owned());
            wheres.push("I: Iterator<Item = u64>".to_owned());
        }
        if self.args.contains(&Arg::ArrM) {
            params.push("const M: usize".to_owned());
        }
        let generics = if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        };
        (generics, wheres)
    }

    fn receiver(&self) -> &'static str {
        match self.recv {
            Recv::None => "",
            Recv::Value => "self",
            Recv::Ref => "&self",
            Recv::Mut => "&mut self",
            Recv::Boxed => "self: Box<Self>",
            Recv::Rc => "self: ::std::rc::Rc<Self>",
            Recv::Arc => "self: ::std::sync::Arc<Self>",
            Recv::Pin => "self: ::std::pin::Pin<&mut Self>",
        }
    }

    /// The parameter list; `decl` for a trait's declaration (no patterns).
    fn params(&self, decl: bool) -> String {
        let mut out = Vec::new();
        if self.recv != Recv::None {
            out.push(self.receiver().to_owned());
        }
        for (i, arg) in self.args.iter().enumerate() {
            let a = format!("a{i}");
            let p = match arg {
                Arg::U64 => format!("{a}: u64"),
                Arg::Str => format!("{a}: &str"),
                Arg::StrF => format!("{a}: &'f str"),
                Arg::StrFG | Arg::StrFGBound => format!("{a}x: &'f str, {a}y: &'g str"),
                Arg::StrStatic => format!("{a}: &'static str"),
                Arg::StrAnon => format!("{a}: &'_ str"),
                Arg::VecMut => format!("{a}: &mut Vec<u64>"),
                Arg::ImplFn => format!("{a}: impl Fn(u64) -> u64"),
                Arg::GenU => format!("{a}: U"),
                Arg::HrtbF => format!("{a}: F"),
                Arg::ArrM => format!("{a}: [u8; M]"),
                Arg::DynDisp => format!("{a}: &dyn ::std::fmt::Display"),
                Arg::Tuple if decl => format!("{a}: (u64, u64)"),
                Arg::Tuple => format!("({a}x, {a}y): (u64, u64)"),
                Arg::MutX if decl => format!("{a}: u64"),
                Arg::MutX => format!("mut {a}: u64"),
                Arg::Wild => "_: u64".to_owned(),
                Arg::IterI => format!("{a}: I"),
                Arg::OptStr => format!("{a}: Option<&str>"),
                Arg::BoxErrF => {
                    format!("{a}: Box<dyn ::std::error::Error + Send + Sync + 'f>")
                }
                Arg::SelfVal => format!("{a}: Self"),
                Arg::S0Pat if decl => format!("{a}: S0"),
                Arg::S0Pat => format!("S0 {{ n: {a}n, .. }}: S0"),
            };
            out.push(p);
        }
        out.join(", ")
    }

    fn ret_type(&self) -> String {
        let lt = if has_f(&self.args) { "'f" } else { "'a" };
        match self.ret {
            Ret::Unit => String::new(),
            Ret::U64 => " -> u64".into(),
            Ret::StrElided => " -> &str".into(),
            Ret::StrNamed => format!(" -> &{lt} str"),
            Ret::SelfTy => " -> Self".into(),
            Ret::OptRef => " -> Option<&u64>".into(),
            Ret::ImplIter => " -> impl Iterator<Item = u64>".into(),
            Ret::ImplDisplay => " -> impl ::std::fmt::Display".into(),
            Ret::ResultBox => {
                " -> Result<u64, Box<dyn ::std::error::Error + Send + Sync + 'static>>".into()
            }
            Ret::Never => " -> !".into(),
            Ret::BoxFn => " -> Box<dyn Fn(u64) -> u64>".into(),
            Ret::GenU => " -> U".into(),
            Ret::IterItem => " -> Option<I::Item>".into(),
            Ret::ResultBoxF => {
                " -> Result<u64, Box<dyn ::std::error::Error + Send + Sync + 'f>>".into()
            }
        }
    }

    fn signature(&self, decl: bool) -> String {
        let (generics, wheres) = self.generics();
        let qual = match self.qual {
            Qual::Plain => "",
            Qual::Async => "async ",
            Qual::Unsafe => "unsafe ",
            Qual::ExternC => "extern \"C\" ",
        };
        let where_clause = if wheres.is_empty() {
            String::new()
        } else {
            format!(" where {}", wheres.join(", "))
        };
        format!(
            "{qual}fn {}{generics}({}){}{where_clause}",
            self.name(),
            self.params(decl),
            self.ret_type()
        )
    }

    /// The argument that carries the one input lifetime, as a `&str` expression.
    fn single_str_source(&self) -> String {
        for (i, arg) in self.args.iter().enumerate() {
            match arg {
                Arg::Str | Arg::StrAnon | Arg::StrStatic | Arg::StrF => return format!("a{i}"),
                Arg::OptStr => return format!("a{i}.unwrap_or(\"\")"),
                _ => {}
            }
        }
        "\"lit\"".to_owned()
    }

    fn body(&self) -> String {
        let mut b = String::from("let mut dg: u64 = 0;\ndg += 1;\n");
        match self.recv {
            Recv::None => {}
            Recv::Value => b.push_str("dg += Common::dig(&self);\n"),
            _ => b.push_str("dg += Common::dig(&*self);\n"),
        }
        if self.ctx == Ctx::K {
            b.push_str("dg += N as u64;\n");
        }
        for (i, arg) in self.args.iter().enumerate() {
            let a = format!("a{i}");
            let line = match arg {
                Arg::U64 => format!("dg += {a};"),
                Arg::Str | Arg::StrF | Arg::StrStatic | Arg::StrAnon => {
                    format!("dg += {a}.len() as u64;")
                }
                Arg::StrFG | Arg::StrFGBound => {
                    format!("dg += {a}x.len() as u64 + {a}y.len() as u64;")
                }
                Arg::VecMut => format!("{a}.push(9);\ndg += {a}.len() as u64;"),
                Arg::ImplFn => format!("dg += {a}(2);"),
                Arg::GenU => format!("dg += format!(\"{{:?}}\", {a}).len() as u64;"),
                Arg::HrtbF => format!("dg += {a}(\"hey\").len() as u64;"),
                Arg::ArrM => format!("dg += {a}.len() as u64 + M as u64;"),
                Arg::DynDisp => format!("dg += {a}.to_string().len() as u64;"),
                Arg::Tuple => format!("dg += {a}x + {a}y;"),
                Arg::MutX => format!("{a} += 1;\ndg += {a};"),
                Arg::Wild => String::new(),
                Arg::IterI => format!(
                    "let items: Vec<u64> = {a}.collect();\ndg += items.iter().sum::<u64>();"
                ),
                Arg::OptStr => format!("dg += {a}.map_or(0, str::len) as u64;"),
                Arg::BoxErrF => format!("dg += {a}.to_string().len() as u64;"),
                Arg::SelfVal => format!("dg += Common::dig(&{a});"),
                Arg::S0Pat => format!("dg += {a}n;"),
            };
            b.push_str(&line);
            b.push('\n');
        }
        if self.qual == Qual::Unsafe {
            // SAFETY: reads a live local.
            b.push_str("dg = unsafe { ::core::ptr::read(&dg) };\n");
        }
        b.push_str("crate::sink(dg);\n");
        let tail = match self.ret {
            Ret::Unit => String::new(),
            Ret::U64 => "dg".to_owned(),
            Ret::StrElided => {
                if self.self_rule() {
                    "Common::cname(self)".to_owned()
                } else if self.recv == Recv::Pin {
                    "Common::cname(::std::pin::Pin::into_ref(self).get_ref())".to_owned()
                } else {
                    self.single_str_source()
                }
            }
            Ret::OptRef => {
                if self.self_rule() {
                    "Some(Common::nref(self))".to_owned()
                } else if self.recv == Recv::Pin {
                    "Some(Common::nref(::std::pin::Pin::into_ref(self).get_ref()))".to_owned()
                } else {
                    "None".to_owned()
                }
            }
            Ret::StrNamed => {
                if has_f(&self.args) {
                    let i = self
                        .args
                        .iter()
                        .position(|a| matches!(a, Arg::StrF | Arg::StrFG | Arg::StrFGBound));
                    match (i, i.map(|i| self.args[i])) {
                        (Some(i), Some(Arg::StrF)) => format!("a{i}"),
                        (Some(i), Some(_)) => format!("a{i}x"),
                        _ => "\"lit\"".to_owned(),
                    }
                } else if self.recv == Recv::None {
                    "\"\"".to_owned()
                } else {
                    "self.s".to_owned()
                }
            }
            Ret::SelfTy => "<Self as Common>::mk(dg)".to_owned(),
            Ret::ImplIter => "::std::iter::once(dg)".to_owned(),
            Ret::ImplDisplay => "dg".to_owned(),
            Ret::ResultBox | Ret::ResultBoxF => "let p: u64 = \"5\".parse::<u64>()?;\n\
                 if (dg + p) % 2 == 0 { Ok(dg) } else { Err(\"odd\".into()) }"
                .to_owned(),
            Ret::Never => "panic!(\"never {dg}\")".to_owned(),
            Ret::BoxFn => "Box::new(move |x: u64| x + dg)".to_owned(),
            Ret::GenU => {
                let i = self.args.iter().position(|a| *a == Arg::GenU).unwrap();
                format!("a{i}")
            }
            Ret::IterItem => "items.first().copied()".to_owned(),
        };
        b.push_str(&tail);
        b
    }

    fn call_args(&self) -> String {
        let mut out = Vec::new();
        for arg in &self.args {
            let a = match arg {
                Arg::U64 => "7".to_owned(),
                Arg::Str => "\"abc\"".to_owned(),
                Arg::StrF => "\"abcd\"".to_owned(),
                Arg::StrFG | Arg::StrFGBound => "\"ab\", \"cde\"".to_owned(),
                Arg::StrStatic => "\"st\"".to_owned(),
                Arg::StrAnon => "\"anon\"".to_owned(),
                Arg::VecMut => "&mut v".to_owned(),
                Arg::ImplFn => "|x: u64| x + 1".to_owned(),
                Arg::GenU => "5u64".to_owned(),
                Arg::HrtbF => "crate::ident_str".to_owned(),
                Arg::ArrM => "[1u8, 2, 3]".to_owned(),
                Arg::DynDisp => "&5u32".to_owned(),
                Arg::Tuple => "(1, 2)".to_owned(),
                Arg::MutX => "3".to_owned(),
                Arg::Wild => "9".to_owned(),
                Arg::IterI => "vec![1u64, 2, 3].into_iter()".to_owned(),
                Arg::OptStr => "Some(\"opt\")".to_owned(),
                Arg::BoxErrF => {
                    "Box::<dyn ::std::error::Error + Send + Sync>::from(\"e\")".to_owned()
                }
                Arg::SelfVal => format!("<{} as Common>::mk(4)", self.self_path()),
                Arg::S0Pat => "<S0 as Common>::mk(6)".to_owned(),
            };
            out.push(a);
        }
        out.join(", ")
    }

    /// The caller: runs the form and prints what it returned and its receiver afterwards.
    fn caller(&self) -> String {
        let name = self.name();
        let args = self.call_args();
        let mut setup = String::new();
        let target = match self.ctx {
            Ctx::Free => name.clone(),
            Ctx::TraitImpl => format!("<S0 as T{}>::{name}", self.id),
            Ctx::TraitDefault => format!("<S0 as D{}>::{name}", self.id),
            _ => format!("{}::{name}", self.self_path()),
        };
        let recv_expr = match self.recv {
            Recv::None => None,
            Recv::Value => Some("r.clone()".to_owned()),
            Recv::Ref => Some("&r".to_owned()),
            Recv::Mut => Some("&mut r".to_owned()),
            Recv::Boxed => Some("Box::new(r.clone())".to_owned()),
            Recv::Rc => Some("::std::rc::Rc::new(r.clone())".to_owned()),
            Recv::Arc => Some("::std::sync::Arc::new(r.clone())".to_owned()),
            Recv::Pin => Some("::std::pin::Pin::new(&mut r)".to_owned()),
        };
        if recv_expr.is_some() {
            let _ = writeln!(
                setup,
                "let mut r = <{} as Common>::mk(1);",
                self.self_path()
            );
        }
        if self.args.contains(&Arg::VecMut) {
            setup.push_str("let mut v = vec![1u64, 2];\n");
        }
        let all_args = match (&recv_expr, args.is_empty()) {
            (Some(r), true) => r.clone(),
            (Some(r), false) => format!("{r}, {args}"),
            (None, _) => args,
        };
        let mut call = format!("{target}({all_args})");
        if self.qual == Qual::Async {
            call = format!("crate::block_on({call})");
        }
        if self.qual == Qual::Unsafe {
            // SAFETY (generated): the form's unsafe body only reads a live local.
            call = format!("unsafe {{ {call} }}");
        }
        let show = match self.ret {
            Ret::Unit => format!("{{ {call}; format!(\"sink={{}}\", crate::take_sink()) }}"),
            Ret::ImplIter => format!("format!(\"{{:?}}\", {call}.collect::<Vec<u64>>())"),
            Ret::ImplDisplay => format!("{call}.to_string()"),
            Ret::BoxFn => format!("format!(\"{{}}\", ({call})(1))"),
            Ret::Never => format!(
                "crate::caught(::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| {{ {call}; }})))"
            ),
            _ => format!("format!(\"{{:?}}\", {call})"),
        };
        let after = if recv_expr.is_some() {
            "format!(\"{} | {:?}\", out, r)"
        } else {
            "out"
        };
        // `r` is mutable for `&mut self` and `Pin` receivers only.
        let setup = if matches!(self.recv, Recv::Mut | Recv::Pin) {
            setup
        } else {
            setup.replace("let mut r", "let r")
        };
        format!(
            "    #[tracehook::notrace]\n    pub(crate) fn call_{id}() -> String {{\n        {setup}let out: String = {show};\n        {after}\n    }}\n",
            id = self.id
        )
    }

    fn describe(&self) -> String {
        format!(
            "{:?} {:?} {:?} -> {:?} {:?}",
            self.ctx, self.recv, self.args, self.ret, self.qual
        )
    }

    /// The name the site has in `mode`.
    fn site_name(&self, mode: &str) -> String {
        let name = self.name();
        if mode == "on_fn" || self.ctx == Ctx::Free {
            return name;
        }
        let ty = match self.ctx {
            Ctx::G => "G".to_owned(),
            Ctx::L => "L".to_owned(),
            Ctx::K => "K".to_owned(),
            Ctx::TraitDefault => format!("D{}", self.id),
            _ => "S0".to_owned(),
        };
        format!("{ty}::{name}")
    }
}

/// One valid form in `SAMPLE` is kept.
const SAMPLE: u64 = 12;

/// A fixed mixing function (splitmix64's finalizer), so the sample is the same in every build.
fn mix(n: usize) -> u64 {
    let mut z = (n as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn forms() -> Vec<Form> {
    use Arg::*;
    let ctxs = [
        Ctx::Free,
        Ctx::S0,
        Ctx::G,
        Ctx::L,
        Ctx::K,
        Ctx::TraitImpl,
        Ctx::TraitDefault,
    ];
    let recvs = [
        Recv::None,
        Recv::Value,
        Recv::Ref,
        Recv::Mut,
        Recv::Boxed,
        Recv::Rc,
        Recv::Arc,
        Recv::Pin,
    ];
    let mut argsets: Vec<Vec<Arg>> = vec![vec![]];
    for a in [
        U64, Str, StrF, StrFG, StrFGBound, StrStatic, StrAnon, VecMut, ImplFn, GenU, HrtbF, ArrM,
        DynDisp, Tuple, MutX, Wild, IterI, OptStr, BoxErrF, SelfVal, S0Pat,
    ] {
        argsets.push(vec![a]);
    }
    for pair in [
        [Str, Str],
        [U64, Str],
        [StrF, Str],
        [Str, VecMut],
        [GenU, IterI],
        [StrStatic, U64],
        [Tuple, MutX],
        [SelfVal, Str],
    ] {
        argsets.push(pair.to_vec());
    }
    let rets = [
        Ret::Unit,
        Ret::U64,
        Ret::StrElided,
        Ret::StrNamed,
        Ret::SelfTy,
        Ret::OptRef,
        Ret::ImplIter,
        Ret::ImplDisplay,
        Ret::ResultBox,
        Ret::Never,
        Ret::BoxFn,
        Ret::GenU,
        Ret::IterItem,
        Ret::ResultBoxF,
    ];
    let quals = [Qual::Plain, Qual::Async, Qual::Unsafe, Qual::ExternC];
    let mut out = Vec::new();
    let mut n = 0usize;
    for ctx in ctxs {
        for recv in recvs {
            for args in &argsets {
                for ret in rets {
                    for qual in quals {
                        let form = Form {
                            id: out.len(),
                            ctx,
                            recv,
                            args: args.clone(),
                            ret,
                            qual,
                        };
                        if !form.valid() {
                            continue;
                        }
                        // The whole product is about 40,000 valid forms; a fixed pseudo-random
                        // twelfth of it keeps every context, receiver, argument, return shape and
                        // qualifier and most of their pairs.
                        n += 1;
                        if mix(n) % SAMPLE != 0 {
                            continue;
                        }
                        out.push(form);
                    }
                }
            }
        }
    }
    out
}

const TYPES: &str = r#"
    #[derive(Debug, Clone)]
    pub(crate) struct S0 { pub(crate) n: u64, pub(crate) name: String }
    #[derive(Debug, Clone)]
    pub(crate) struct G<T> { pub(crate) n: u64, pub(crate) name: String, pub(crate) t: T }
    #[derive(Debug, Clone)]
    pub(crate) struct L<'a> { pub(crate) s: &'a str, pub(crate) n: u64, pub(crate) name: String }
    #[derive(Debug, Clone)]
    pub(crate) struct K<const N: usize> { pub(crate) n: u64, pub(crate) name: String }

    #[tracehook::notrace]
    impl Common for S0 {
        fn mk(n: u64) -> Self { S0 { n, name: format!("s0-{n}") } }
        fn dig(&self) -> u64 { self.n }
        fn cname(&self) -> &str { &self.name }
        fn nref(&self) -> &u64 { &self.n }
    }
    #[tracehook::notrace]
    impl<T: Clone + ::std::fmt::Debug + Default> Common for G<T> {
        fn mk(n: u64) -> Self { G { n, name: format!("g-{n}"), t: T::default() } }
        fn dig(&self) -> u64 { self.n + format!("{:?}", self.t).len() as u64 }
        fn cname(&self) -> &str { &self.name }
        fn nref(&self) -> &u64 { &self.n }
    }
    #[tracehook::notrace]
    impl<'a> Common for L<'a> {
        fn mk(n: u64) -> Self { L { s: "ell", n, name: format!("l-{n}") } }
        fn dig(&self) -> u64 { self.n + self.s.len() as u64 }
        fn cname(&self) -> &str { &self.name }
        fn nref(&self) -> &u64 { &self.n }
    }
    #[tracehook::notrace]
    impl<const N: usize> Common for K<N> {
        fn mk(n: u64) -> Self { K { n, name: format!("k-{n}") } }
        fn dig(&self) -> u64 { self.n + N as u64 }
        fn cname(&self) -> &str { &self.name }
        fn nref(&self) -> &u64 { &self.n }
    }
"#;

fn impl_header(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::S0 => "impl S0",
        Ctx::G => "impl<T: Clone + ::std::fmt::Debug + Default> G<T>",
        Ctx::L => "impl<'a> L<'a>",
        Ctx::K => "impl<const N: usize> K<N>",
        _ => unreachable!(),
    }
}

fn module(mode: &str, forms: &[Form]) -> String {
    let attr = |on: bool| if on { "#[tracehook::traceable] " } else { "" };
    let on_fn = mode == "on_fn";
    let on_impl = mode == "on_impl";
    let mut m = String::new();
    if mode == "on_mod" {
        m.push_str("#[tracehook::traceable]\n");
    }
    let _ = writeln!(m, "pub(crate) mod {mode} {{");
    m.push_str("    #![allow(unused_imports)]\n    use crate::Common;\n");
    m.push_str(TYPES);
    // Free functions: on the function itself in both `on_fn` and `on_impl`.
    for f in forms.iter().filter(|f| f.ctx == Ctx::Free) {
        let vis = if f.id % 2 == 0 { "pub(crate) " } else { "" };
        let _ = writeln!(
            m,
            "    {}{vis}{} {{\n{}\n    }}",
            attr(on_fn || on_impl),
            f.signature(false),
            f.body()
        );
    }
    for ctx in [Ctx::S0, Ctx::G, Ctx::L, Ctx::K] {
        let _ = writeln!(m, "    {}{} {{", attr(on_impl), impl_header(ctx));
        for f in forms.iter().filter(|f| f.ctx == ctx) {
            let _ = writeln!(
                m,
                "        {}pub(crate) {} {{\n{}\n        }}",
                attr(on_fn),
                f.signature(false),
                f.body()
            );
        }
        m.push_str("    }\n");
    }
    for f in forms.iter().filter(|f| f.ctx == Ctx::TraitImpl) {
        let _ = writeln!(
            m,
            "    pub(crate) trait T{id}: Common {{ {}; }}\n    {}impl T{id} for S0 {{\n        {}{} {{\n{}\n        }}\n    }}",
            f.signature(true),
            attr(on_impl),
            attr(on_fn),
            f.signature(false),
            f.body(),
            id = f.id
        );
    }
    for f in forms.iter().filter(|f| f.ctx == Ctx::TraitDefault) {
        let _ = writeln!(
            m,
            "    {}pub(crate) trait D{id}: Common {{\n        {}{} {{\n{}\n        }}\n    }}\n    impl D{id} for S0 {{}}",
            attr(on_impl),
            attr(on_fn),
            f.signature(false),
            f.body(),
            id = f.id
        );
    }
    for f in forms {
        m.push_str(&f.caller());
    }
    m.push_str("}\n");
    m
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let forms = forms();
    let mut out = String::new();
    out.push_str(
        "/// The helpers every copy shares.\npub(crate) trait Common: Sized {\n    fn mk(n: u64) -> Self;\n    fn dig(&self) -> u64;\n    fn cname(&self) -> &str;\n    fn nref(&self) -> &u64;\n}\n",
    );
    for mode in MODES {
        out.push_str(&module(mode, &forms));
    }
    out.push_str("/// One form: its description, the plain copy's caller, and each annotated copy's caller with the site path it must hit.\npub struct Form {\n    pub id: usize,\n    pub describe: &'static str,\n    pub plain: fn() -> String,\n    pub annotated: [(&'static str, fn() -> String, &'static str); 3],\n}\n");
    out.push_str("pub static FORMS: &[Form] = &[\n");
    for f in &forms {
        let _ = write!(
            out,
            "    Form {{ id: {id}, describe: {desc:?}, plain: plain::call_{id}, annotated: [",
            id = f.id,
            desc = f.describe()
        );
        for mode in &MODES[1..] {
            let _ = write!(
                out,
                "({mode:?}, {mode}::call_{id}, \"tracehook_torture::{mode}::{name}\"), ",
                id = f.id,
                name = f.site_name(mode)
            );
        }
        out.push_str("] },\n");
    }
    out.push_str("];\n");
    out.push_str(RUNTIME);
    let dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(format!("{dir}/forms.rs"), out).expect("write forms.rs");
}

const RUNTIME: &str = r#"
thread_local! {
    static SINK: ::std::cell::Cell<u64> = const { ::std::cell::Cell::new(u64::MAX) };
}

pub(crate) fn sink(value: u64) {
    SINK.with(|cell| cell.set(value));
}

pub(crate) fn take_sink() -> u64 {
    SINK.with(|cell| cell.replace(u64::MAX))
}

pub(crate) fn ident_str(s: &str) -> &str {
    s
}

pub(crate) fn caught(result: ::std::thread::Result<()>) -> String {
    match result {
        Ok(()) => "returned".to_owned(),
        Err(payload) => match payload.downcast::<String>() {
            Ok(text) => format!("panicked: {text}"),
            Err(_) => "panicked".to_owned(),
        },
    }
}

/// Polls a future that completes without waiting (the forms' bodies await nothing).
pub(crate) fn block_on<F: ::std::future::Future>(future: F) -> F::Output {
    let mut future = ::std::pin::pin!(future);
    let mut context = ::std::task::Context::from_waker(::std::task::Waker::noop());
    loop {
        if let ::std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
    }
}
"#;
