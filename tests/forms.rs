//! `#[traceable]` on every function form: it compiles, behaves as the plain function, and is hookable.
//! Each test filters a probe to its own functions, so tests do not see each other's calls.

mod common;

use common::{Probe, YieldOnce, block_on, poll_once};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use tracehook::traceable;

// ---------- free functions and methods ----------

#[traceable]
fn forms_free(a: i32, b: i32) -> i32 {
    a * 10 + b
}

#[test]
fn free_fn() {
    let probe = Probe::attach("forms_free");
    assert_eq!(forms_free(4, 2), 42);
    assert_eq!(
        probe.log(),
        ["forms_free <- [a=4, b=2]", "forms_free return"]
    );
}

#[derive(Debug, Clone, PartialEq)]
struct Counter {
    n: u32,
}

impl Counter {
    #[traceable]
    fn recv_ref(&self) -> u32 {
        self.n
    }

    #[traceable]
    fn recv_mut(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    #[traceable]
    fn recv_value(self) -> u32 {
        self.n * 2
    }

    #[traceable]
    fn recv_box(self: Box<Self>) -> u32 {
        self.n + 100
    }

    #[traceable]
    fn recv_arc(self: Arc<Self>) -> u32 {
        self.n + 1000
    }

    #[traceable]
    fn recv_pin(self: Pin<&mut Self>) -> u32 {
        self.get_mut().n += 5;
        7
    }
}

#[test]
fn method_receivers() {
    let probe = Probe::attach("recv_*");
    let mut c = Counter { n: 1 };
    assert_eq!(c.recv_ref(), 1);
    assert_eq!(c.recv_mut(), 2);
    assert_eq!(c.clone().recv_value(), 4);
    assert_eq!(Box::new(c.clone()).recv_box(), 102);
    assert_eq!(Arc::new(c.clone()).recv_arc(), 1002);
    assert_eq!(Pin::new(&mut c).recv_pin(), 7);
    assert_eq!(c.n, 7);
    assert_eq!(probe.entries(), 6);
    assert_eq!(probe.exits(), 6);
    let log = probe.log();
    assert!(
        log.contains(&"recv_ref <- [self=Counter { n: 1 }]".to_owned()),
        "{log:?}"
    );
}

struct Built {
    value: u8,
}

impl Built {
    #[traceable]
    fn assoc_new(value: u8) -> Self {
        struct Helper(u8);
        impl Helper {
            fn make(v: u8) -> Self {
                Self(v + 1)
            }
        }
        let helper = Helper::make(value);
        Self { value: helper.0 }
    }
}

#[test]
fn associated_fn_with_self_and_nested_items() {
    let probe = Probe::attach("assoc_new");
    assert_eq!(Built::assoc_new(1).value, 2);
    assert_eq!(probe.entries(), 1);
}

struct Shown(u8);

impl fmt::Display for Shown {
    #[traceable]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

trait Greet {
    fn who(&self) -> String;

    #[traceable]
    fn greet_default(&self) -> String {
        format!("hello {}", self.who())
    }
}

struct World;

impl Greet for World {
    fn who(&self) -> String {
        "world".into()
    }
}

#[test]
fn trait_impl_and_default_methods() {
    let probe = Probe::attach("fmt greet_default");
    assert_eq!(Shown(3).to_string(), "<3>");
    assert_eq!(World.greet_default(), "hello world");
    assert_eq!(probe.entries(), 2);
    let log = probe.log();
    assert!(
        log[0].starts_with("fmt <- [self=<&forms::Shown>, f=<&mut core::fmt::Formatter"),
        "{log:?}"
    );
}

// ---------- async ----------

#[traceable]
async fn async_leaf(x: u32) -> u32 {
    YieldOnce(false).await;
    x + 1
}

#[traceable]
async fn async_outer(x: u32) -> Result<u32, String> {
    let y = async_leaf(x).await;
    if y > 100 {
        return Err("too big".into());
    }
    let z: u32 = "5".parse().map_err(|_| "bad".to_owned())?;
    Ok(y + z)
}

struct Service {
    base: u32,
}

impl Service {
    #[traceable]
    async fn async_method(&self, add: u32) -> u32 {
        YieldOnce(false).await;
        self.base + add
    }
}

/// The async tests share `async_leaf` and count its calls: one at a time.
static ASYNC_SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn async_fns_hook_at_first_poll_and_complete() {
    let _serial = ASYNC_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Probe::attach("async_*");
    let future = async_outer(1);
    assert_eq!(probe.entries(), 0, "no hook before the first poll");
    assert_eq!(block_on(future), Ok(7));
    assert_eq!(block_on(Service { base: 10 }.async_method(5)), 15);
    assert_eq!(
        probe.log(),
        [
            "async_outer <- [x=1]",
            "async_leaf <-async_outer [x=1]",
            "async_leaf return",
            "async_outer return",
            "async_method <- [self=<&forms::Service>, add=5]",
            "async_method return",
        ]
    );
}

#[test]
fn async_future_moves_between_threads() {
    let _serial = ASYNC_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Probe::attach("async_leaf");
    let mut future = Box::pin(async_leaf(41));
    assert_eq!(poll_once(&mut future), None);
    assert_eq!(probe.entries(), 1);
    assert_eq!(probe.exits(), 0);
    let result = std::thread::spawn(move || block_on(future)).join().unwrap();
    assert_eq!(result, 42);
    assert_eq!(probe.exits(), 1);
    // The parent while polled elsewhere is the future itself, not left behind on this thread.
    assert!(tracehook::ftrace::current_stack().is_empty());
}

#[test]
fn async_future_dropped_before_completion() {
    let _serial = ASYNC_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Probe::attach("async_leaf");
    let mut future = Box::pin(async_leaf(1));
    assert_eq!(poll_once(&mut future), None);
    drop(future);
    assert_eq!(probe.log(), ["async_leaf <- [x=1]", "async_leaf return"]);
    // A future dropped before its first poll was never entered.
    drop(async_leaf(2));
    assert_eq!(probe.entries(), 1);
}

// ---------- unsafe, extern, visibility ----------

#[traceable]
unsafe fn unsafe_read(p: *const u32) -> u32 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[traceable]
async unsafe fn unsafe_async(x: u32) -> u32 {
    x * 3
}

#[traceable]
extern "C" fn extern_c_add(a: u32, b: u32) -> u32 {
    a + b
}

mod visibility {
    use tracehook::traceable;

    #[traceable]
    pub(crate) fn vis_crate() -> u8 {
        1
    }

    #[traceable]
    pub(super) fn vis_super() -> u8 {
        2
    }

    #[traceable]
    pub fn vis_pub() -> u8 {
        3
    }
}

#[test]
fn unsafe_extern_and_visibilities() {
    let probe = Probe::attach("unsafe_* extern_c_add vis_*");
    let value = 9;
    // SAFETY: a valid pointer.
    assert_eq!(unsafe { unsafe_read(&raw const value) }, 9);
    // SAFETY: nothing unsafe inside.
    assert_eq!(block_on(unsafe { unsafe_async(2) }), 6);
    let f: extern "C" fn(u32, u32) -> u32 = extern_c_add;
    assert_eq!(f(2, 3), 5);
    assert_eq!(
        visibility::vis_crate() + visibility::vis_super() + visibility::vis_pub(),
        6
    );
    assert_eq!(probe.entries(), 6);
}

// ---------- generics ----------

#[traceable]
fn gen_type<T: Clone + fmt::Debug>(value: &T) -> (T, T) {
    (value.clone(), value.clone())
}

#[traceable]
fn gen_lifetime<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

#[traceable]
fn gen_const<const N: usize>(values: [u8; N]) -> usize {
    values.len() * N
}

#[traceable]
fn gen_where<T>(items: &[T]) -> usize
where
    T: PartialEq + Copy,
{
    items.windows(2).filter(|w| w[0] == w[1]).count()
}

#[traceable]
fn gen_hrtb<F>(f: F) -> usize
where
    F: for<'x> Fn(&'x str) -> &'x str,
{
    f("hello").len()
}

#[traceable]
fn gen_arg_impl(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[traceable]
fn gen_ret_impl(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[traceable]
fn gen_result_impl(ok: bool) -> Result<impl fmt::Display, String> {
    if ok { Ok(5) } else { Err("no".into()) }
}

struct NotDebug;

#[test]
fn generics() {
    let probe = Probe::attach("gen_*");
    assert_eq!(gen_type(&3u8), (3, 3));
    assert_eq!(gen_type(&"x"), ("x", "x"));
    assert_eq!(gen_lifetime("a", "b"), "a");
    assert_eq!(gen_const([1, 2, 3]), 9);
    assert_eq!(gen_where(&[1, 1, 2, 2, 2]), 3);
    assert_eq!(gen_hrtb(|s| &s[1..]), 4);
    assert_eq!(gen_arg_impl(vec![1, 2, 3]), 6);
    assert_eq!(gen_ret_impl(4).sum::<u32>(), 6);
    assert_eq!(gen_result_impl(true).unwrap().to_string(), "5");
    assert!(gen_result_impl(false).is_err());
    assert_eq!(probe.entries(), 10);
    let log = probe.log();
    assert!(log.contains(&"gen_type <- [value=3]".to_owned()), "{log:?}");
    // A generic argument that is not Debug shows its type.
    drop(log);
    let probe2 = Probe::attach("gen_arg_impl");
    let _ = gen_arg_impl(std::iter::empty());
    assert_eq!(
        probe2.log()[0],
        "gen_arg_impl <- [items=<core::iter::sources::empty::Empty<u32>>]"
    );
    let _ = NotDebug;
}

// ---------- argument patterns ----------

struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug)]
struct Meters(f64);

#[traceable]
fn pat_tuple((a, b): (i32, i32)) -> i32 {
    a - b
}

#[traceable]
fn pat_struct(Point { x, y }: Point) -> i32 {
    x * y
}

#[traceable]
fn pat_tuple_struct(Meters(m): Meters) -> f64 {
    m * 2.0
}

#[traceable]
fn pat_ref(&x: &u32) -> u32 {
    x + 1
}

#[traceable]
fn pat_mut(mut x: Vec<u8>) -> usize {
    x.push(1);
    x.len()
}

#[traceable]
fn pat_wild(_: u32, keep: u32) -> u32 {
    keep
}

#[traceable]
fn pat_raw(r#type: &str, r#match: u8) -> String {
    format!("{type}{match}")
}

/// Arguments of two words (callbacks view a copy) and of more (viewed in place), mutated by the body.
#[traceable]
fn pat_sizes(mut pair: (u64, u64), mut triple: (u64, u64, u64), mut text: String) -> u64 {
    pair.0 += 1;
    triple.2 += 1;
    text.push('!');
    pair.0 + triple.2 + text.len() as u64
}

#[test]
fn argument_patterns() {
    let probe = Probe::attach("pat_*");
    assert_eq!(pat_tuple((5, 3)), 2);
    assert_eq!(pat_struct(Point { x: 2, y: 4 }), 8);
    assert!((pat_tuple_struct(Meters(1.5)) - 3.0).abs() < f64::EPSILON);
    assert_eq!(pat_ref(&4), 5);
    assert_eq!(pat_mut(vec![0]), 2);
    assert_eq!(pat_wild(1, 2), 2);
    assert_eq!(pat_raw("t", 1), "t1");
    assert_eq!(pat_sizes((1, 2), (3, 4, 5), "ab".to_owned()), 2 + 6 + 3);
    let log: Vec<String> = probe
        .log()
        .into_iter()
        .filter(|l| !l.ends_with("return"))
        .collect();
    assert_eq!(
        log,
        [
            "pat_tuple <- [(a, b)=(5, 3)]",
            "pat_struct <- [Point { x, y }=<forms::Point>]",
            "pat_tuple_struct <- [Meters(m)=Meters(1.5)]",
            "pat_ref <- [&x=4]",
            "pat_mut <- [x=[0]]",
            "pat_wild <- [_=1, keep=2]",
            "pat_raw <- [type=\"t\", match=1]",
            "pat_sizes <- [pair=(1, 2), triple=(3, 4, 5), text=\"ab\"]",
        ]
    );
}

// ---------- bodies ----------

#[traceable]
fn body_early_return(x: i32) -> &'static str {
    if x < 0 {
        return "negative";
    }
    "non-negative"
}

#[traceable]
fn body_question(text: &str) -> Result<i32, std::num::ParseIntError> {
    let n: i32 = text.parse()?;
    Ok(n * 2)
}

#[traceable]
fn body_never(message: &str) -> ! {
    panic!("{message}")
}

#[traceable]
fn body_loop(limit: u32) -> ! {
    let mut n = 0;
    loop {
        n += 1;
        assert!(n < limit, "looped {n} times");
    }
}

#[traceable]
fn body_borrow(v: &mut Vec<u32>) -> &mut u32 {
    v.push(7);
    v.last_mut().unwrap()
}

#[traceable]
fn body_inner_attr() -> u32 {
    #![allow(clippy::let_and_return)]
    let x = 3;
    x
}

#[traceable]
#[track_caller]
fn body_track_caller() -> u32 {
    std::panic::Location::caller().line()
}

trait Locate {
    #[track_caller]
    fn here(&self) -> u32;
}

struct Here;

/// On a trait impl block, methods keep their statements in place: the trait's `#[track_caller]`
/// still applies.
#[traceable]
impl Locate for Here {
    fn here(&self) -> u32 {
        std::panic::Location::caller().line()
    }
}

struct There;

impl Locate for There {
    /// On one method of a trait impl, the attribute cannot see the trait: `#[track_caller]` is
    /// repeated.
    #[traceable]
    #[track_caller]
    fn here(&self) -> u32 {
        std::panic::Location::caller().line()
    }
}

/// Documented.
#[traceable]
#[inline]
#[must_use]
#[cfg_attr(test, allow(clippy::unnecessary_wraps))]
fn body_attrs() -> Option<u8> {
    Some(1)
}

#[test]
fn bodies() {
    let probe = Probe::attach("body_*");
    assert_eq!(body_early_return(-1), "negative");
    assert_eq!(body_early_return(1), "non-negative");
    assert_eq!(body_question("21"), Ok(42));
    assert!(body_question("x").is_err());
    let mut v = vec![];
    *body_borrow(&mut v) += 1;
    assert_eq!(v, [8]);
    assert_eq!(body_inner_attr(), 3);
    let line = line!() + 1;
    assert_eq!(body_track_caller(), line);
    let line = line!() + 1;
    assert_eq!(Here.here(), line);
    let line = line!() + 1;
    assert_eq!(There.here(), line);
    assert_eq!(body_attrs(), Some(1));
    let never = std::panic::catch_unwind(|| body_never("boom"));
    assert!(never.is_err());
    let looped = std::panic::catch_unwind(|| body_loop(3));
    assert!(looped.is_err());
    assert_eq!(probe.entries(), 10);
    let log = probe.log();
    assert!(log.contains(&"body_never unwind".to_owned()), "{log:?}");
    assert!(log.contains(&"body_loop unwind".to_owned()), "{log:?}");
}

// ---------- the body closure: drops, temporaries, coercions, wide calls ----------

std::thread_local! {
    static DROPS: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Logs its drop to `DROPS`.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.with(|drops| drops.borrow_mut().push(self.0));
    }
}

fn take_drops() -> Vec<&'static str> {
    DROPS.with(std::cell::RefCell::take)
}

/// The same function twice, `#[traceable]` and plain, so their behaviour can be compared.
macro_rules! twins {
    (fn $traced:ident / $plain:ident $($rest:tt)*) => {
        #[traceable]
        fn $traced $($rest)*
        fn $plain $($rest)*
    };
}

twins! {
    fn closure_drops / closure_drops_plain(
        first: Noisy,
        moved: Noisy,
        _: Noisy,
        _unused: Noisy,
        mut last: Noisy,
    ) -> usize {
        let _local = Noisy("local");
        drop(moved);
        last.0 = "last (mutated)";
        Noisy("tail temporary").0.len() + first.0.len()
    }
}

twins! {
    fn closure_temporaries / closure_temporaries_plain(lock: std::sync::Mutex<Noisy>) -> usize {
        // The guard is a temporary of the tail expression that borrows a parameter: it must be
        // dropped before the parameter, as in a function.
        lock.lock().unwrap().0.len()
    }
}

fn noisy_args() -> (Noisy, Noisy, Noisy, Noisy, Noisy) {
    (
        Noisy("first"),
        Noisy("moved"),
        Noisy("wild"),
        Noisy("unused"),
        Noisy("last"),
    )
}

#[test]
fn body_closure_drops_as_the_function_does() {
    let (a, b, c, d, e) = noisy_args();
    assert_eq!(closure_drops_plain(a, b, c, d, e), 19);
    let plain = take_drops();
    assert_eq!(
        plain,
        [
            "moved",
            "tail temporary",
            "local",
            "last (mutated)",
            "unused",
            "wild",
            "first"
        ]
    );
    let (a, b, c, d, e) = noisy_args();
    assert_eq!(closure_drops(a, b, c, d, e), 19);
    assert_eq!(take_drops(), plain, "unhooked");

    closure_temporaries_plain(std::sync::Mutex::new(Noisy("lock")));
    let plain = take_drops();
    closure_temporaries(std::sync::Mutex::new(Noisy("lock")));
    assert_eq!(take_drops(), plain, "unhooked");

    let probe = Probe::attach("closure_*");
    let (a, b, c, d, e) = noisy_args();
    assert_eq!(closure_drops(a, b, c, d, e), 19);
    assert_eq!(take_drops(), plain_drops_of_closure_drops(), "hooked");
    closure_temporaries(std::sync::Mutex::new(Noisy("lock")));
    assert_eq!(take_drops(), ["lock"], "hooked");
    assert_eq!(probe.entries(), 2);
    assert_eq!(probe.exits(), 2);
}

fn plain_drops_of_closure_drops() -> Vec<&'static str> {
    let (a, b, c, d, e) = noisy_args();
    closure_drops_plain(a, b, c, d, e);
    take_drops()
}

trait Shape: fmt::Debug {}
impl Shape for u8 {}
impl Shape for String {}

#[derive(Debug)]
struct Fields {
    name: String,
    hits: u32,
}

#[traceable]
impl Fields {
    /// A borrow of a field returned from `&mut self`, with the body using `self` before.
    fn name_mut(&mut self) -> &mut String {
        self.hits += 1;
        &mut self.name
    }

    /// Several returns coerced to the return type, and `?` converting its error with `From`.
    fn coerce(&self, text: &str) -> Result<Box<dyn Shape>, Box<dyn std::error::Error>> {
        let n: u8 = text.parse()?;
        if n == 0 {
            return Ok(Box::new(n));
        }
        Ok(Box::new(format!("{}{n}", self.name)))
    }

    /// A parameter moved out in the body, and one returned.
    fn consume(self, extra: Vec<u32>) -> (String, Vec<u32>) {
        let Self { name, hits } = self;
        let mut extra = extra;
        extra.push(hits);
        (name, extra)
    }
}

/// More arguments than argument registers, and a return value returned through memory.
#[traceable]
#[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
fn closure_wide(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: [u64; 3]) -> [u64; 10] {
    [a, b, c, d, e, f, g, h[0], h[1], h[2]]
}

#[test]
fn body_closure_checks_as_the_function_does() {
    for hooked in [false, true] {
        let probe = hooked.then(|| Probe::attach("Fields::*"));
        let mut fields = Fields {
            name: "n".to_owned(),
            hits: 0,
        };
        fields.name_mut().push('!');
        assert_eq!(fields.name, "n!");
        assert_eq!(format!("{:?}", fields.coerce("0").unwrap()), "0");
        assert_eq!(format!("{:?}", fields.coerce("7").unwrap()), "\"n!7\"");
        assert!(fields.coerce("x").is_err());
        assert_eq!(fields.consume(vec![9]), ("n!".to_owned(), vec![9, 1]));
        if let Some(probe) = probe {
            assert_eq!(probe.entries(), 5);
            assert!(probe.log().contains(&"Fields::consume return".to_owned()));
        }
        let wide = closure_wide(1, 2, 3, 4, 5, 6, 7, [8, 9, 10]);
        assert_eq!(wide, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    let probe = Probe::attach("closure_wide");
    assert_eq!(
        closure_wide(1, 2, 3, 4, 5, 6, 7, [8, 9, 10]),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(
        probe.log(),
        [
            "closure_wide <- [a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=[8, 9, 10]]",
            "closure_wide return"
        ]
    );
}

// ---------- macro_rules ----------

macro_rules! make_traced {
    ($($name:ident => $value:expr),*) => {
        $(
            #[traceable]
            fn $name() -> u32 {
                $value
            }
        )*
    };
}

make_traced!(macro_one => 1, macro_two => 2);

#[test]
fn functions_generated_by_macro_rules() {
    let probe = Probe::attach("macro_*");
    assert_eq!(macro_one() + macro_two(), 3);
    assert_eq!(probe.entries(), 2);
    let site = tracehook::ftrace::available_functions()
        .find(|s| s.name() == "macro_two")
        .unwrap();
    assert_eq!(site.path(), "forms::macro_two");
}

// ---------- impl blocks, trait impl blocks, modules ----------

struct Parser {
    pos: usize,
}

#[traceable]
impl Parser {
    fn block_new() -> Self {
        Self { pos: 0 }
    }

    fn block_advance(&mut self, by: usize) -> usize {
        self.pos += by;
        self.block_peek()
    }

    fn block_peek(&self) -> usize {
        self.pos
    }

    #[tracehook::notrace]
    fn block_untraced(&self) -> usize {
        self.pos
    }

    const fn block_const() -> u8 {
        1
    }

    #[traceable(name = "renamed_in_block")]
    fn block_named(&self) -> u8 {
        2
    }
}

struct Celsius(f64);

#[traceable]
impl fmt::Debug for Celsius {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}C", self.0)
    }
}

#[traceable]
mod traced_module {
    pub fn mod_top() -> u32 {
        inner::mod_inner() + 1
    }

    #[tracehook::notrace]
    pub fn mod_skipped() -> u32 {
        0
    }

    pub mod inner {
        pub fn mod_inner() -> u32 {
            41
        }
    }

    pub struct Widget;

    impl Widget {
        pub fn mod_method(&self) -> u32 {
            5
        }
    }
}

#[test]
fn impl_blocks_trait_impl_blocks_and_modules() {
    let probe = Probe::attach("Parser::* Celsius::* mod_* Widget::* renamed_in_block");
    let mut parser = Parser::block_new();
    assert_eq!(parser.block_advance(3), 3);
    assert_eq!(parser.block_untraced(), 3);
    assert_eq!(Parser::block_const(), 1);
    assert_eq!(parser.block_named(), 2);
    assert_eq!(format!("{:?}", Celsius(1.5)), "1.5C");
    assert_eq!(traced_module::mod_top(), 42);
    assert_eq!(traced_module::mod_skipped(), 0);
    assert_eq!(traced_module::Widget.mod_method(), 5);
    let entered: Vec<String> = probe
        .log()
        .into_iter()
        .filter(|l| !l.ends_with("return"))
        .map(|l| l.split(" [").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        entered,
        [
            "Parser::block_new <-",
            "Parser::block_advance <-",
            "Parser::block_peek <-Parser::block_advance",
            "renamed_in_block <-",
            "Celsius::fmt <-",
            "mod_top <-",
            "mod_inner <-mod_top",
            "Widget::mod_method <-",
        ]
    );
    let names: Vec<&str> = tracehook::ftrace::available_functions()
        .map(|s| s.path())
        .filter(|p| p.starts_with("forms::traced_module"))
        .collect();
    assert_eq!(
        names,
        [
            "forms::traced_module::Widget::mod_method",
            "forms::traced_module::inner::mod_inner",
            "forms::traced_module::mod_top",
        ]
    );
}
