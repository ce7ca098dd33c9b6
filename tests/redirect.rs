//! Redirect (`IPMODIFY`) across signatures: every form that keeps it is redirected for real, with
//! the function-pointer type `Site::signature` names; every form that loses it compiles, is traced,
//! and says why (`Site::redirect_refusal`, and the error `IPMODIFY` registration returns).

#![allow(
    clippy::needless_lifetimes,
    reason = "the replacements spell the lifetimes of the types they are cast to"
)]

use tracehook::ftrace::{self, Call, Error, Flags, Ops, Site};
use tracehook::traceable;

fn site(name: &str) -> &'static Site {
    ftrace::available_functions()
        .find(|site| site.name() == name)
        .unwrap_or_else(|| panic!("no site {name}"))
}

/// Registers an `IPMODIFY` ops on `name` whose callback calls `redirect`, runs `body`, and
/// unregisters.
fn with_redirect(
    name: &str,
    redirect: impl Fn(&Call<'_>) + Send + Sync + 'static,
    body: impl FnOnce(),
) {
    let ops = Ops::new(move |call| redirect(call)).with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
    ops.set_filter(name, true).unwrap();
    ops.register().unwrap();
    body();
    ops.unregister().unwrap();
}

// ---------- forms that keep redirect ----------

#[traceable]
pub fn first<'a>(v: &'a [String]) -> &'a String {
    &v[0]
}

fn last<'a>(v: &'a [String]) -> &'a String {
    &v[v.len() - 1]
}

#[test]
fn named_lifetime_of_the_function() {
    assert_eq!(
        site("first").signature(),
        "for<'a> fn(&'a [String]) -> &'a String"
    );
    let v = vec!["x".to_owned(), "y".to_owned()];
    with_redirect(
        "first",
        |call| {
            call.redirect(last as for<'a> fn(&'a [String]) -> &'a String)
                .unwrap();
        },
        || assert_eq!(first(&v), "y"),
    );
    assert_eq!(first(&v), "x");
}

#[traceable]
fn pick<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

fn pick_second<'a, 'b>(_a: &'a str, b: &'b str) -> &'a str
where
    'b: 'a,
{
    b
}

fn pick_none<'a, 'b>(_a: &'a str, _b: &'b str) -> &'a str {
    "none"
}

#[test]
fn bounded_lifetimes_are_bound_without_their_bounds() {
    // The replacement must work for all lifetimes: the bound `'b: 'a` is the caller's to keep.
    assert_eq!(
        site("pick").signature(),
        "for<'a, 'b> fn(&'a str, &'b str) -> &'a str"
    );
    let _ = pick_second("a", "b");
    with_redirect(
        "pick",
        |call| {
            call.redirect(pick_none as for<'a, 'b> fn(&'a str, &'b str) -> &'a str)
                .unwrap();
        },
        || assert_eq!(pick("long", "s"), "none"),
    );
    assert_eq!(pick("long", "s"), "long");
}

#[traceable]
fn trim_elided(s: &str) -> &str {
    s.trim()
}

fn trim_nothing(s: &str) -> &str {
    s
}

#[test]
fn elided_lifetime_of_the_one_argument() {
    assert_eq!(
        site("trim_elided").signature(),
        "for<'a> fn(&'a str) -> &'a str"
    );
    with_redirect(
        "trim_elided",
        |call| call.redirect(trim_nothing as fn(&str) -> &str).unwrap(),
        || assert_eq!(trim_elided(" x "), " x "),
    );
    assert_eq!(trim_elided(" x "), "x");
}

pub struct Store {
    v: Vec<String>,
    n: u32,
}

#[traceable]
impl Store {
    pub fn get(&self, _k: &str) -> Option<&String> {
        self.v.first()
    }

    pub fn bump(&mut self, by: u32) -> &mut u32 {
        self.n += by;
        &mut self.n
    }

    pub fn make(n: u32) -> Self {
        Self { v: Vec::new(), n }
    }
}

fn get_last<'s>(store: &'s Store, _k: &str) -> Option<&'s String> {
    store.v.last()
}

fn bump_nothing(store: &mut Store, _by: u32) -> &mut u32 {
    &mut store.n
}

fn make_ten(_n: u32) -> Store {
    Store {
        v: Vec::new(),
        n: 10,
    }
}

#[test]
fn elided_self_lifetime_and_self_type() {
    // `&self`'s lifetime, which elision gives the return type, is written out.
    assert_eq!(
        site("Store::get").signature(),
        "for<'s> fn(&'s Store, &str) -> Option<&'s String>"
    );
    let mut store = Store {
        v: vec!["a".into(), "b".into()],
        n: 0,
    };
    with_redirect(
        "Store::get",
        |call| {
            call.redirect(get_last as for<'s> fn(&'s Store, &str) -> Option<&'s String>)
                .unwrap();
        },
        || assert_eq!(store.get("k").map(String::as_str), Some("b")),
    );
    assert_eq!(store.get("k").map(String::as_str), Some("a"));

    assert_eq!(
        site("Store::bump").signature(),
        "for<'s> fn(&'s mut Store, u32) -> &'s mut u32"
    );
    with_redirect(
        "Store::bump",
        |call| {
            call.redirect(bump_nothing as for<'s> fn(&'s mut Store, u32) -> &'s mut u32)
                .unwrap();
        },
        || assert_eq!(*store.bump(5), 0),
    );
    assert_eq!(*store.bump(5), 5);

    // `Self` is the impl's type.
    assert_eq!(site("Store::make").signature(), "fn(u32) -> Store");
    with_redirect(
        "Store::make",
        |call| call.redirect(make_ten as fn(u32) -> Store).unwrap(),
        || assert_eq!(Store::make(1).n, 10),
    );
    assert_eq!(Store::make(1).n, 1);
}

pub struct Cursor<'a> {
    text: &'a str,
}

#[traceable]
impl<'a> Cursor<'a> {
    pub fn rest(&self) -> &'a str {
        self.text
    }

    pub fn at(text: &'a str) -> Self {
        Cursor { text }
    }
}

fn rest_empty<'a>(_cursor: &Cursor<'a>) -> &'a str {
    ""
}

fn at_fixed(_text: &str) -> Cursor<'_> {
    Cursor { text: "fixed" }
}

#[test]
fn lifetimes_of_the_impl_are_bound_too() {
    assert_eq!(
        site("Cursor::rest").signature(),
        "for<'a> fn(&Cursor<'a>) -> &'a str"
    );
    let cursor = Cursor::at("text");
    with_redirect(
        "Cursor::rest",
        |call| {
            call.redirect(rest_empty as for<'a> fn(&Cursor<'a>) -> &'a str)
                .unwrap();
        },
        || assert_eq!(cursor.rest(), ""),
    );
    assert_eq!(cursor.rest(), "text");

    assert_eq!(
        site("Cursor::at").signature(),
        "for<'a> fn(&'a str) -> Cursor<'a>"
    );
    with_redirect(
        "Cursor::at",
        |call| {
            call.redirect(at_fixed as for<'a> fn(&'a str) -> Cursor<'a>)
                .unwrap();
        },
        || assert_eq!(Cursor::at("mine").text, "fixed"),
    );
}

pub struct Name(String);

#[traceable]
impl<'a> From<&'a str> for Name {
    fn from(s: &'a str) -> Name {
        Name(s.to_owned())
    }
}

fn from_upper(s: &str) -> Name {
    Name(s.to_uppercase())
}

#[test]
fn trait_impl_with_a_lifetime_of_the_impl() {
    assert_eq!(
        site("Name::from").signature(),
        "for<'a> fn(&'a str) -> Name"
    );
    with_redirect(
        "Name::from",
        |call| call.redirect(from_upper as fn(&str) -> Name).unwrap(),
        || assert_eq!(Name::from("ab").0, "AB"),
    );
    assert_eq!(Name::from("ab").0, "ab");
}

pub struct Anon<'a>(&'a str);

#[traceable]
impl Anon<'_> {
    pub fn len_of(&self, extra: &str) -> usize {
        self.0.len() + extra.len()
    }
}

fn len_zero(_anon: &Anon<'_>, _extra: &str) -> usize {
    0
}

#[test]
fn elided_lifetime_in_the_impl_type() {
    assert_eq!(
        site("Anon::len_of").signature(),
        "for<'i0> fn(&Anon<'i0>, &str) -> usize"
    );
    with_redirect(
        "Anon::len_of",
        |call| {
            call.redirect(len_zero as fn(&Anon<'_>, &str) -> usize)
                .unwrap()
        },
        || assert_eq!(Anon("ab").len_of("c"), 0),
    );
    assert_eq!(Anon("ab").len_of("c"), 3);
}

// ---------- forms that lose redirect: they compile, are traced, and say why ----------

pub struct Wrap<T>(pub T);

impl<T> Wrap<T> {
    #[traceable]
    pub fn wrap_new(t: T) -> Wrap<T> {
        Wrap(t)
    }
}

#[traceable]
impl<T: Clone> Wrap<T> {
    pub fn wrap_clone(&self) -> Wrap<T> {
        Wrap(self.0.clone())
    }
}

pub struct Alone {
    n: u32,
}

impl Alone {
    #[traceable]
    pub fn alone_get(&self) -> u32 {
        self.n
    }
}

#[traceable]
async fn loses_async(x: u32) -> u32 {
    x
}

#[traceable]
fn loses_impl(x: u32) -> impl std::fmt::Display {
    x
}

#[traceable]
impl<'a> Cursor<'a> {
    pub fn unconstrained() -> &'a str {
        ""
    }
}

#[traceable]
fn loses_generic<T: Copy>(t: T) -> T {
    t
}

#[test]
fn forms_that_lose_redirect_say_why() {
    let _ = Wrap::wrap_new(1u8).wrap_clone();
    let _ = Alone { n: 1 }.alone_get();
    let _ = loses_impl(1).to_string();
    let _ = Cursor::unconstrained();
    let _ = loses_generic(1);
    drop(loses_async(1));
    let cases = [
        (
            "wrap_new",
            "`T`, which may be a generic parameter of an impl or trait the attribute cannot see",
        ),
        ("Wrap::wrap_clone", "the impl's generic parameter `T`"),
        (
            "alone_get",
            "`Self` is the type of an impl block the attribute cannot see",
        ),
        ("loses_async", "async fn"),
        ("loses_impl", "`impl Trait`"),
        (
            "Cursor::unconstrained",
            "the lifetime `'a` of its return type appears in no argument",
        ),
        ("loses_generic", "generic over `T`"),
    ];
    for (name, why) in cases {
        let site = site(name);
        assert!(!site.can_redirect(), "{name}");
        assert_eq!(site.signature(), "", "{name}");
        let reason = site.redirect_refusal().unwrap();
        assert!(reason.contains(why), "{name}: {reason}");
        let ops = Ops::new(|_| {}).with_flags(Flags::IPMODIFY | Flags::SAVE_REGS);
        ops.set_filter(name, true).unwrap();
        let error = ops.register().unwrap_err();
        assert_eq!(error, Error::IpmodifyUnsupported { site });
        let message = error.to_string();
        assert!(
            message.contains(name) && message.contains(why),
            "the error names the site and why: {message}"
        );
    }
}

// ---------- a repeated attribute (as attribute-copying macros make) is one site ----------

#[traceable]
#[traceable]
fn repeated(x: u32) -> u32 {
    x + 1
}

#[traceable(name = "renamed_once")]
#[tracehook::traceable(name = "renamed_once")]
fn repeated_with_options(x: u32) -> u32 {
    x + 2
}

#[test]
fn a_repeated_identical_attribute_is_one_site() {
    assert_eq!(repeated(1), 2);
    assert_eq!(repeated_with_options(1), 3);
    for name in ["repeated", "renamed_once"] {
        let count = ftrace::available_functions()
            .filter(|site| site.name() == name)
            .count();
        assert_eq!(count, 1, "{name}");
    }
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&seen);
    let ops = Ops::new(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    ops.set_filter("repeated renamed_once", true).unwrap();
    ops.register().unwrap();
    repeated(1);
    repeated_with_options(1);
    ops.unregister().unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
}
