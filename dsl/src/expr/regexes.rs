//! The regular expressions of one compilation: each distinct `matches` pattern is compiled once
//! and shared by every expression that uses it, and all of them together are bounded in memory.
//!
//! A pattern may compile to at most [`MAX_REGEX_SIZE`] (its automata), and the patterns of one
//! library to at most [`MAX_LIBRARY_REGEX_MEMORY`] together, as the regex engine counts its
//! memory, plus a fixed [`REGEX_OVERHEAD`] for what it does not count, plus what its searches
//! may cache in each thread that evaluates it ([`search_memory`]). Without the second bound
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

/// The regexes of one library may take at most this many bytes together, RP0204 beyond: about
/// 38 patterns of the largest size, about 800 ordinary ones (`(?i)impossible travel` counts
/// about 82 KiB with what its searches may cache, `^adm-` 72 KiB).
pub const MAX_LIBRARY_REGEX_MEMORY: usize = 64 << 20;

/// The most each of a pattern's two lazy DFAs (forward and reverse) caches while searching.
/// The caches fill as searches meet new states: crafted text can fill them for every pattern,
/// so thousands of patterns with the engine's usual megabytes each could take gigabytes while
/// planning. Past it a DFA clears its cache, and a search that keeps clearing it goes on with
/// the PikeVM (the bounded backtracker is off: it would keep up to 256 KiB of its own).
pub(crate) const SEARCH_CACHE: usize = 32 << 10;

/// What the searches of a pattern whose automata take `automata` bytes may cache, in each
/// thread: the two lazy DFAs' caches, and the PikeVM's, which grows with the automaton (to
/// about a quarter of it, measured on text that sends every search down it; half is counted).
pub(crate) fn search_memory(automata: usize) -> usize {
    (2 * SEARCH_CACHE).saturating_add(automata / 2)
}

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
        let fixed = (REGEX_OVERHEAD + search_memory(0)).saturating_add(pattern.len());
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
        let used = re.memory_usage();
        let cost = fixed.saturating_add(used).saturating_add(used / 2);
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

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::Input;

    /// What a pattern's searches cache stays within what it is charged for, on text crafted to
    /// send them down every engine: long runs of word characters, Unicode and ASCII.
    #[test]
    fn searches_cache_no_more_than_is_counted() {
        let unicode: String = (0..20_000u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000).unwrap_or('a'))
            .collect();
        let ascii: String = (0..20_000u32)
            .map(|i| char::from(b'a' + u8::try_from(i * 7 % 26).unwrap_or(0)))
            .collect();
        for pattern in [
            r"\w{20}0",
            r"(\w+)Z(\w+)",
            r"^adm-",
            r"(?i)impossible travel",
            r"[a-z]{5}q[a-z]{3}",
            r"\w{2}0",
            r"(a|b|c|d)+x\d{3}",
            r"(?i)(\w+\s+){3,8}ransom",
        ] {
            let Ok(re) = build(pattern, MAX_REGEX_SIZE) else {
                panic!("{pattern} compiles");
            };
            let mut cache = re.create_cache();
            for text in [&unicode, &ascii] {
                re.search_half_with(&mut cache, &Input::new(text.as_str()).earliest(true));
                re.search_with(&mut cache, &Input::new(text.as_str()));
            }
            let counted = search_memory(re.memory_usage()) + REGEX_OVERHEAD;
            assert!(
                cache.memory_usage() <= counted,
                "{pattern}: {} cached, {counted} counted",
                cache.memory_usage()
            );
        }
    }
}
