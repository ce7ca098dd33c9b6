//! Glob patterns as the kernel's `glob_match()` reads them: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` or `[^x]`,
//! and `\` to take the next character literally.

/// One element of a compiled glob.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(char),
    AnyOne,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    pieces: Vec<Piece>,
}

impl Glob {
    /// Compiles `pattern`, or says what is wrong with it.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let piece = match c {
                '*' => {
                    if pieces.last() == Some(&Piece::AnyRun) {
                        continue;
                    }
                    Piece::AnyRun
                }
                '?' => Piece::AnyOne,
                '\\' => match chars.next() {
                    Some(escaped) => Piece::Literal(escaped),
                    None => return Err("trailing `\\` escapes nothing".to_owned()),
                },
                '[' => {
                    let negated = matches!(chars.peek(), Some('!' | '^'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(mut lo) = chars.next() else {
                            return Err("unterminated `[` character class".to_owned());
                        };
                        // As in glob(7), a `]` right after `[` or `[!` is a member, not the end.
                        if lo == ']' && !first {
                            break;
                        }
                        first = false;
                        if lo == '\\' {
                            lo = chars
                                .next()
                                .ok_or_else(|| "unterminated `[` character class".to_owned())?;
                        }
                        let mut hi = lo;
                        if chars.peek() == Some(&'-') {
                            let mut ahead = chars.clone();
                            ahead.next();
                            if let Some(&end) = ahead.peek().filter(|&&end| end != ']') {
                                chars.next();
                                chars.next();
                                if end < lo {
                                    return Err(format!("range `{lo}-{end}` is backwards"));
                                }
                                hi = end;
                            }
                        }
                        ranges.push((lo, hi));
                    }
                    Piece::Class { negated, ranges }
                }
                other => Piece::Literal(other),
            };
            pieces.push(piece);
        }
        Ok(Self { pieces })
    }

    /// Whether the whole of `text` matches.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Iterative matcher with one backtrack point (the last `*`), as in the kernel's glob_match().
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            let step = match self.pieces.get(p) {
                Some(Piece::AnyRun) => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(Piece::AnyOne) => true,
                Some(Piece::Literal(c)) => *c == text[t],
                Some(Piece::Class { negated, ranges }) => {
                    let c = text[t];
                    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                }
                None => false,
            };
            if step {
                p += 1;
                t += 1;
            } else if let Some((star_p, star_t)) = star {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            } else {
                return false;
            }
        }
        self.pieces[p..].iter().all(|piece| *piece == Piece::AnyRun)
    }

    /// Whether the pattern is a lone `*`, which matches every name.
    pub(crate) fn matches_everything(&self) -> bool {
        self.pieces == [Piece::AnyRun]
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).unwrap().matches(text)
    }

    #[test]
    fn kernel_forms() {
        assert!(m("schedule", "schedule"));
        assert!(!m("schedule", "schedule_tail"));
        assert!(m("schedule*", "schedule_tail"));
        assert!(m("*schedule", "preempt_schedule"));
        assert!(m("*schedule*", "preempt_schedule_irq"));
        assert!(m("*pin*lock", "spin_unlock"));
        assert!(m("mutex*unl*", "mutex_unlock_slowpath"));
        assert!(m("sch*ule", "schedule"));
        assert!(m("[Ss]y[Ss]_*", "SyS_read"));
        assert!(m("[Ss]y[Ss]_*", "sys_read"));
        assert!(!m("[Ss]y[Ss]_*", "xys_read"));
        assert!(m("sch?dule", "schedule"));
        assert!(!m("sch?dule", "schdule"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("[a-]", "-"));
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("abc\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    #[test]
    fn stars_backtrack() {
        assert!(m("*a*b*c", "xxaxxbxxbxc"));
        assert!(!m("*a*b*c", "xxaxxbxxbx"));
        assert!(m("*", ""));
        assert!(!m("?", ""));
    }
}
