//! Filter tokens and their set semantics, as `set_ftrace_filter` reads them.
//!
//! A token is one of:
//! - a glob (`parse`, `parse*`, `*_inner`, `*lex*`, `[Pp]arse?`, `a\*b`): one without `::` is matched
//!   against [`Site::name`]; one with `::` against [`Site::path`] and also against `name()` (which is
//!   `Type::method` for methods whose impl type is known);
//! - a 1-based index into [`available_functions`](crate::site::available_functions) (`12`);
//! - `<glob>:mod:<module-glob>`: functions matching the glob whose [`Site::module_path`] matches the
//!   module glob (`:mod:!<glob>` inverts the module match; an empty function glob means all).
//!
//! A leading `!` removes what the rest selects. A token that selects no function at all is an error, and
//! a list of tokens is applied all-or-nothing: on any error the set is left exactly as it was.

use super::Error;
use super::glob::Glob;
use crate::site::Site;

/// A set of sites, as bits indexed by position in `available_functions()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SiteSet {
    words: Vec<u64>,
}

impl SiteSet {
    /// The empty set, usable in statics.
    pub(crate) const EMPTY: Self = Self { words: Vec::new() };

    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, index: usize) {
        let word = index / 64;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (index % 64);
    }

    pub(crate) fn remove(&mut self, index: usize) {
        if let Some(word) = self.words.get_mut(index / 64) {
            *word &= !(1 << (index % 64));
        }
    }

    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|&word| word == 0)
    }

    pub(crate) fn union_with(&mut self, other: &Self) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= theirs;
        }
    }

    pub(crate) fn subtract(&mut self, other: &Self) {
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine &= !theirs;
        }
    }

    /// The indices in the set, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| w * 64 + bit)
        })
    }
}

/// What a token selects, before `!`.
#[derive(Clone, Debug)]
enum Selector {
    /// 0-based position in `available_functions()`.
    Index(usize),
    Glob(NameGlob),
    Module {
        func: NameGlob,
        module: Glob,
        module_negated: bool,
    },
}

/// A glob and what it is matched against.
#[derive(Clone, Debug)]
struct NameGlob {
    glob: Glob,
    /// The pattern has `::`: match the path (and the name, for `Type::method` names).
    by_path: bool,
}

impl NameGlob {
    fn new(token: &str, pattern: &str) -> Result<Self, Error> {
        let glob = Glob::new(pattern).map_err(|reason| Error::invalid(token, reason))?;
        Ok(Self {
            glob,
            by_path: pattern.contains("::"),
        })
    }

    fn matches(&self, site: &Site) -> bool {
        self.glob.matches(site.name()) || (self.by_path && self.glob.matches(site.path()))
    }
}

/// One parsed filter token.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    text: String,
    negate: bool,
    selector: Selector,
}

/// Splits `glob:cmd:param` at its single colons (`::` belongs to paths and is not a separator).
/// Returns the glob and the command parts, if any.
pub(crate) fn split_command(token: &str) -> (&str, Vec<&str>) {
    let bytes = token.as_bytes();
    let mut cuts = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        let lone = b == b':'
            && (i == 0 || bytes[i - 1] != b':')
            && bytes.get(i + 1) != Some(&b':')
            && (i == 0 || bytes[i - 1] != b'\\');
        if lone {
            cuts.push(i);
        }
    }
    let Some(&first) = cuts.first() else {
        return (token, Vec::new());
    };
    let mut parts = Vec::new();
    let mut start = first + 1;
    for &cut in &cuts[1..] {
        parts.push(&token[start..cut]);
        start = cut + 1;
    }
    parts.push(&token[start..]);
    (&token[..first], parts)
}

impl Token {
    /// Parses one token. Commands other than `:mod:` are not filter syntax and are refused here.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        let (negate, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return Err(Error::invalid(text, "empty pattern"));
        }
        let (func, command) = split_command(body);
        let selector = match command.as_slice() {
            [] if body.bytes().all(|b| b.is_ascii_digit()) => {
                let index: usize = body
                    .parse()
                    .map_err(|_| Error::invalid(text, "index is too large"))?;
                if index == 0 {
                    return Err(Error::invalid(text, "indices start at 1"));
                }
                Selector::Index(index - 1)
            }
            [] => Selector::Glob(NameGlob::new(text, func)?),
            ["mod", module] => {
                let (module_negated, module) = match module.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, *module),
                };
                if module.is_empty() {
                    return Err(Error::invalid(text, "`:mod:` needs a module name"));
                }
                Selector::Module {
                    func: NameGlob::new(text, if func.is_empty() { "*" } else { func })?,
                    module: Glob::new(module).map_err(|reason| Error::invalid(text, reason))?,
                    module_negated,
                }
            }
            [cmd, ..] => {
                return Err(Error::invalid(
                    text,
                    format!(
                        "unknown command `{cmd}` (filters take `<glob>:mod:<module>`; triggers such as \
                         traceon are written to tracefs' set_ftrace_filter)"
                    ),
                ));
            }
        };
        Ok(Self {
            text: text.to_owned(),
            negate,
            selector,
        })
    }

    /// Whether the token removes (`!pattern`).
    pub(crate) fn is_negated(&self) -> bool {
        self.negate
    }

    /// The sites the token selects (before `!` is applied).
    pub(crate) fn select(&self, sites: &[&'static Site]) -> SiteSet {
        let mut set = SiteSet::new();
        match &self.selector {
            Selector::Index(index) => {
                if *index < sites.len() {
                    set.insert(*index);
                }
            }
            Selector::Glob(glob) => {
                for (i, site) in sites.iter().enumerate() {
                    if glob.matches(site) {
                        set.insert(i);
                    }
                }
            }
            Selector::Module {
                func,
                module,
                module_negated,
            } => {
                for (i, site) in sites.iter().enumerate() {
                    let in_module = module.matches(site.module_path()) != *module_negated;
                    if in_module && (func.glob.matches_everything() || func.matches(site)) {
                        set.insert(i);
                    }
                }
            }
        }
        set
    }

    /// The sites selected, or `NoMatch` naming the token.
    pub(crate) fn select_some(&self, sites: &[&'static Site]) -> Result<SiteSet, Error> {
        let set = self.select(sites);
        if set.is_empty() {
            return Err(Error::NoMatch {
                pattern: self.text.clone(),
            });
        }
        Ok(set)
    }
}

/// Applies whitespace-separated `patterns` to `current`: the set a write to `set_ftrace_filter` leaves
/// (`reset` is `>` rather than `>>`). All or nothing: `current` is not touched; the new set is returned.
pub(crate) fn apply(
    current: &SiteSet,
    patterns: &str,
    reset: bool,
    sites: &[&'static Site],
) -> Result<SiteSet, Error> {
    let tokens = patterns
        .split_whitespace()
        .map(Token::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut next = if reset {
        SiteSet::new()
    } else {
        current.clone()
    };
    for token in &tokens {
        let selected = token.select_some(sites)?;
        if token.is_negated() {
            next.subtract(&selected);
        } else {
            next.union_with(&selected);
        }
    }
    Ok(next)
}
