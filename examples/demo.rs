//! tracehook's demo: an arithmetic-expression calculator (tokenizer, recursive-descent parser, generic
//! evaluator, and an async batch runner) whose functions are all `#[traceable]`.
//!
//! ```text
//! cargo run --example demo                 # the default filter
//! cargo run --example demo -- 'Parser::*'  # only the parser's methods
//! cargo run --example demo -- 'eval* !*::number'
//! ```
//!
//! Part 1 uses the built-in tracers through tracefs: function_graph on the filtered functions, with
//! the profiler on, prints the call graph and the profile in the kernel's formats and writes the
//! trace as Chrome Trace Event JSON (open it in <https://ui.perfetto.dev>).
//!
//! Part 2 writes its own callback: an ops that prints `function <-parent` and the arguments for each
//! call, then unregisters and runs the workload again to show that nothing is printed any more.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use tracehook::ftrace::{self, Flags, Ops};
use tracehook::{traceable, tracefs};

/// The calculator, traced as a whole module.
#[traceable]
mod calc {
    use std::fmt;

    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Token {
        Number(f64),
        Op(char),
        Open,
        Close,
    }

    #[derive(Debug, PartialEq)]
    pub enum Error {
        Unexpected(char),
        UnexpectedEnd,
        Trailing(Token),
        DivisionByZero,
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Unexpected(c) => write!(f, "unexpected character {c:?}"),
                Self::UnexpectedEnd => write!(f, "unexpected end of input"),
                Self::Trailing(t) => write!(f, "unexpected {t:?} after the expression"),
                Self::DivisionByZero => write!(f, "division by zero"),
            }
        }
    }

    pub struct Lexer<'a> {
        rest: &'a str,
    }

    impl<'a> Lexer<'a> {
        pub fn new(input: &'a str) -> Self {
            Self { rest: input }
        }

        pub fn tokens(mut self) -> Result<Vec<Token>, Error> {
            let mut out = Vec::new();
            while let Some(token) = self.next_token()? {
                out.push(token);
            }
            Ok(out)
        }

        fn next_token(&mut self) -> Result<Option<Token>, Error> {
            self.rest = self.rest.trim_start();
            let Some(c) = self.rest.chars().next() else {
                return Ok(None);
            };
            let token = match c {
                '0'..='9' | '.' => return Ok(Some(self.number())),
                '+' | '-' | '*' | '/' => Token::Op(c),
                '(' => Token::Open,
                ')' => Token::Close,
                other => return Err(Error::Unexpected(other)),
            };
            self.rest = &self.rest[1..];
            Ok(Some(token))
        }

        fn number(&mut self) -> Token {
            let end = self
                .rest
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .unwrap_or(self.rest.len());
            let (digits, rest) = self.rest.split_at(end);
            self.rest = rest;
            Token::Number(digits.parse().unwrap_or(f64::NAN))
        }
    }

    #[derive(Debug)]
    pub enum Ast {
        Number(f64),
        Binary(char, Box<Ast>, Box<Ast>),
        Negate(Box<Ast>),
    }

    pub struct Parser {
        tokens: Vec<Token>,
        pos: usize,
    }

    impl Parser {
        pub fn new(tokens: Vec<Token>) -> Self {
            Self { tokens, pos: 0 }
        }

        pub fn parse(mut self) -> Result<Ast, Error> {
            let ast = self.expr()?;
            match self.tokens.get(self.pos) {
                Some(&token) => Err(Error::Trailing(token)),
                None => Ok(ast),
            }
        }

        fn expr(&mut self) -> Result<Ast, Error> {
            let mut left = self.term()?;
            while let Some(Token::Op(op @ ('+' | '-'))) = self.peek() {
                self.pos += 1;
                left = Ast::Binary(op, Box::new(left), Box::new(self.term()?));
            }
            Ok(left)
        }

        fn term(&mut self) -> Result<Ast, Error> {
            let mut left = self.factor()?;
            while let Some(Token::Op(op @ ('*' | '/'))) = self.peek() {
                self.pos += 1;
                left = Ast::Binary(op, Box::new(left), Box::new(self.factor()?));
            }
            Ok(left)
        }

        fn factor(&mut self) -> Result<Ast, Error> {
            let token = self.peek().ok_or(Error::UnexpectedEnd)?;
            self.pos += 1;
            match token {
                Token::Number(n) => Ok(Ast::Number(n)),
                Token::Op('-') => Ok(Ast::Negate(Box::new(self.factor()?))),
                Token::Open => {
                    let inner = self.expr()?;
                    match self.peek() {
                        Some(Token::Close) => {
                            self.pos += 1;
                            Ok(inner)
                        }
                        Some(other) => Err(Error::Trailing(other)),
                        None => Err(Error::UnexpectedEnd),
                    }
                }
                other => Err(Error::Trailing(other)),
            }
        }

        fn peek(&self) -> Option<Token> {
            self.tokens.get(self.pos).copied()
        }
    }

    /// A number type the evaluator can work in.
    pub trait Number: Copy + fmt::Debug {
        fn from_f64(value: f64) -> Self;
        fn apply(op: char, a: Self, b: Self) -> Result<Self, Error>;
        fn negate(self) -> Self;
    }

    impl Number for f64 {
        fn from_f64(value: f64) -> Self {
            value
        }

        fn apply(op: char, a: Self, b: Self) -> Result<Self, Error> {
            Ok(match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                _ if b == 0.0 => return Err(Error::DivisionByZero),
                _ => a / b,
            })
        }

        fn negate(self) -> Self {
            -self
        }
    }

    impl Number for i64 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "integer evaluation truncates"
        )]
        fn from_f64(value: f64) -> Self {
            value as i64
        }

        fn apply(op: char, a: Self, b: Self) -> Result<Self, Error> {
            Ok(match op {
                '+' => a.wrapping_add(b),
                '-' => a.wrapping_sub(b),
                '*' => a.wrapping_mul(b),
                _ => a.checked_div(b).ok_or(Error::DivisionByZero)?,
            })
        }

        fn negate(self) -> Self {
            self.wrapping_neg()
        }
    }

    /// Evaluates in any [`Number`] type (a generic function).
    pub fn eval<N: Number>(ast: &Ast) -> Result<N, Error> {
        match ast {
            Ast::Number(n) => Ok(N::from_f64(*n)),
            Ast::Negate(inner) => Ok(eval::<N>(inner)?.negate()),
            Ast::Binary(op, a, b) => N::apply(*op, eval(a)?, eval(b)?),
        }
    }

    /// Tokenize, parse and evaluate one expression.
    pub fn calculate<N: Number>(input: &str) -> Result<N, Error> {
        let tokens = Lexer::new(input).tokens()?;
        let ast = Parser::new(tokens).parse()?;
        eval(&ast)
    }

    /// Evaluates a batch, yielding to the executor between expressions (an async function).
    pub async fn calculate_all(inputs: Vec<String>) -> Vec<Result<f64, Error>> {
        let mut results = Vec::new();
        for input in inputs {
            super::yield_now().await;
            results.push(calculate::<f64>(&input));
        }
        results
    }
}

/// A future that is pending once.
async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await;
}

/// A minimal executor: polls on this thread until the future is ready.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn workload() {
    for input in ["1 + 2 * 3", "(1 + 2) * -3", "7 / 0"] {
        match calc::calculate::<f64>(input) {
            Ok(value) => println!("  = {input} -> {value}"),
            Err(error) => println!("  = {input} -> error: {error}"),
        }
    }
    let as_int = calc::calculate::<i64>("10 / 4 + 1");
    println!("  = 10 / 4 + 1 (as i64) -> {as_int:?}");
    let batch = block_on(calc::calculate_all(vec![
        "2 * (3 + 4)".into(),
        "1 +".into(),
    ]));
    for result in batch {
        println!("  = batch -> {}", Display(result));
    }
}

struct Display(Result<f64, calc::Error>);

impl fmt::Display for Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(v) => write!(f, "{v}"),
            Err(e) => write!(f, "error: {e}"),
        }
    }
}

/// The functions part 1 traces when no filter is given.
const DEFAULT_FILTER: &str = "calculate* Parser::* eval* Lexer::tokens";

fn main() {
    let pattern = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if let Err(error) = tracers(&pattern) {
        eprintln!("demo: {error}");
        std::process::exit(2);
    }
    if let Err(error) = own_callback(&pattern) {
        eprintln!("demo: {error}");
        std::process::exit(2);
    }
}

/// Part 1: function_graph, the profiler and the Perfetto export, through tracefs.
fn tracers(pattern: &str) -> Result<(), Box<dyn std::error::Error>> {
    let filter = if pattern.is_empty() {
        DEFAULT_FILTER
    } else {
        pattern
    };
    println!("== part 1: the function_graph tracer on {filter:?}\n");
    tracefs::write("set_ftrace_filter", filter)?;
    tracefs::write("current_tracer", "function_graph")?;
    tracefs::write("function_profile_enabled", "1")?;
    tracefs::write("trace_marker", "workload starts")?;
    workload();
    tracefs::write("tracing_on", "0")?;
    println!("\n$ cat trace\n{}", tracefs::read("trace")?);
    println!(
        "$ cat trace_stat/function\n{}",
        tracefs::read("trace_stat/function")?
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir)?;
    let json = dir.join("tracehook-demo.json");
    std::fs::write(&json, tracefs::read("trace_json")?)?;
    println!(
        "Chrome trace written to {} (open it in https://ui.perfetto.dev)\n",
        json.display()
    );
    tracehook::tracer::Tracer::new().reset()?;
    Ok(())
}

/// Part 2: an ops of our own.
fn own_callback(pattern: &str) -> Result<(), ftrace::Error> {
    let pattern = if pattern.is_empty() { "*" } else { pattern };
    println!("== part 2: our own callback on {pattern:?}");
    println!(
        "{} traceable functions",
        ftrace::available_functions().len()
    );

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let ops = Ops::new(move |call| {
        counter.fetch_add(1, Ordering::Relaxed);
        let parent = call.parent().map_or("", |p| p.name());
        let args = call
            .args()
            .map(|args| {
                args.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!("  {:<24} <-{:<20} {args}", call.site().name(), parent);
    })
    .with_flags(Flags::SAVE_REGS_IF_SUPPORTED | Flags::RECURSION);
    ops.set_filter(pattern, true)?;
    let selected = ftrace::available_functions()
        .filter(|site| ops.selects(site))
        .count();
    println!("{selected} functions selected");

    ops.register()?;
    println!("\nregistered; enabled_functions:");
    for line in ftrace::enabled_functions() {
        println!("  {line}");
    }
    println!("\ntraced run:");
    workload();
    ops.unregister()?;
    let traced = calls.load(Ordering::Relaxed);

    println!("\nunregistered; the same run prints no trace lines:");
    workload();
    assert_eq!(
        calls.load(Ordering::Relaxed),
        traced,
        "no callback after unregister"
    );
    println!("\n{traced} calls traced while registered, none after unregister");
    Ok(())
}
