//! The regular expressions of one compilation: each distinct `matches` pattern is compiled once
//! and shared by every expression that uses it, and all of them together are bounded in memory.
//!
//! A pattern may compile to at most [`MAX_REGEX_SIZE`] (its automata), and the patterns of one
//! library to at most [`MAX_LIBRARY_REGEX_MEMORY`] together, as the regex engine counts its
//! memory plus a fixed [`REGEX_OVERHEAD`] for what it does not count and [`SEARCH_CACHE`], the
//! most its searches cache (in each thread that evaluates it). Without the second bound
//! thousands of distinct patterns of a megabyte each (`\w{20}1`, `\w{20}2`, …) would take
//! gigabytes and minutes to check. A pattern is only compiled with the budget left, so once
//! the budget is spent every new pattern fails at once, and a pattern that stops for its size
//! spends what it was allowed: the work of compiling is bounded by the budget too.

use std::collections::HashMap;
use std::sync::Arc;

use regex_automata::util::syntax;
use regex_automata::{meta, MatchKind};

/// Regexes may compile to at most this many bytes each (the size of each automaton), RP0204
/// beyond.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// The regexes of one library may take at most this many bytes together, RP0204 beyond: 60
/// patterns of the largest size, about 800 ordinary ones (`(?i)impossible travel` takes about
/// 12 KiB, `^adm-` 7 KiB, each plus [`SEARCH_CACHE`]).
pub const MAX_LIBRARY_REGEX_MEMORY: usize = 64 << 20;

/// The most one pattern's lazy DFA caches while searching, counted with the pattern. The
/// cache fills as searches meet new states: crafted text can fill it for every pattern, so
/// thousands of patterns with the engine's usual megabyte each could take gigabytes while
/// planning. Past it the DFA clears its cache, and a search that keeps clearing it goes on with
/// the PikeVM, which needs no more than its automaton (the bounded backtracker is off: it would
/// keep up to 256 KiB of its own per pattern).
pub(crate) const SEARCH_CACHE: usize = 64 << 10;

/// What a compiled regex costs besides the memory the regex engine reports (its own
/// structures and the allocator's overhead, measured at 3 to 9 KiB), so that many tiny patterns
/// count too.
pub(crate) const REGEX_OVERHEAD: usize = 4 << 10;

/// A compiled pattern, shared by every expression of the compilation that uses it (and with it
/// the caches its searches use).
pub(crate) type Regex = Arc<meta::Regex>;

/// The regular expressions one compilation has built, and the memory they take.
#[derive(Debug)]
pub struct Regexes {
    compiled: HashMap<Box<str>, Regex>,
    /// Bytes spent: the cost of every pattern compiled, and the allowance of those that
    /// stopped for their size.
    spent: usize,
    budget: usize,
}

/// Why a pattern was not compiled.
pub(crate) enum RegexError {
    /// Not valid `regex` syntax: what the parser says is wrong.
    Syntax(String),
    /// Larger than [`MAX_REGEX_SIZE`].
    TooLarge,
    /// It does not fit in what is left of the compilation's budget.
    OverBudget { budget: usize },
}

impl Default for Regexes {
    fn default() -> Self {
        Regexes::new()
    }
}

impl Regexes {
    /// A compilation's regexes, bounded by [`MAX_LIBRARY_REGEX_MEMORY`].
    pub fn new() -> Self {
        Regexes::with_budget(MAX_LIBRARY_REGEX_MEMORY)
    }

    /// Regexes bounded by `budget` bytes together.
    pub(crate) fn with_budget(budget: usize) -> Self {
        Regexes {
            compiled: HashMap::new(),
            spent: 0,
            budget,
        }
    }

    /// Bytes the compiled patterns take, as counted against the budget.
    pub fn spent(&self) -> usize {
        self.spent
    }

    /// The number of distinct patterns compiled.
    pub fn len(&self) -> usize {
        self.compiled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.compiled.is_empty()
    }

    /// `pattern` compiled: the one compiled before if the same text was, else a new one paid
    /// for from the budget.
    pub(crate) fn get(&mut self, pattern: &str) -> Result<Regex, RegexError> {
        if let Some(re) = self.compiled.get(pattern) {
            return Ok(Arc::clone(re));
        }
        let over = RegexError::OverBudget {
            budget: self.budget,
        };
        let fixed = (REGEX_OVERHEAD + SEARCH_CACHE).saturating_add(pattern.len());
        let left = self.budget.saturating_sub(self.spent);
        if left < fixed {
            return Err(over);
        }
        // The automata may take what is left after the fixed cost, up to the size limit.
        let allowed = (left - fixed).min(MAX_REGEX_SIZE);
        let re = match build(pattern, allowed) {
            Ok(re) => re,
            Err(RegexError::TooLarge) => {
                // Compiling went as far as the allowance before it stopped.
                self.spent = self.spent.saturating_add(fixed + allowed);
                return Err(if allowed < MAX_REGEX_SIZE {
                    over
                } else {
                    RegexError::TooLarge
                });
            }
            Err(e) => return Err(e),
        };
        let cost = fixed.saturating_add(re.memory_usage());
        if cost > left {
            // The engine's other structures (reverse automaton, one-pass DFA, prefilter) can
            // take more than the allowance of one automaton. What it built is spent.
            self.spent = self.budget;
            return Err(over);
        }
        self.spent += cost;
        let re = Arc::new(re);
        self.compiled.insert(pattern.into(), Arc::clone(&re));
        Ok(re)
    }
}

/// Compiles as the `regex` crate's `Regex` does (leftmost-first, UTF-8 text), with `size` as
/// the size limit of each automaton and [`SEARCH_CACHE`] as the lazy DFA's cache capacity.
/// Fails with [`RegexError::TooLarge`] past `size`, else with [`RegexError::Syntax`].
fn build(pattern: &str, size: usize) -> Result<meta::Regex, RegexError> {
    let config = meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(size))
        .hybrid_cache_capacity(SEARCH_CACHE)
        .backtrack(false);
    meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().utf8(true))
        .build(pattern)
        .map_err(|e| {
            if e.size_limit().is_some() {
                return RegexError::TooLarge;
            }
            let text = match e.syntax_error() {
                Some(syntax) => syntax.to_string(),
                None => e.to_string(),
            };
            RegexError::Syntax(syntax_detail(&text))
        })
}

/// The last line of a syntax error (the parser draws the pattern with a caret above it).
fn syntax_detail(text: &str) -> String {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}
