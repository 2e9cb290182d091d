//! Source files and byte spans.
//!
//! Every diagnostic points into a [`SourceFile`] by a [`Span`] of byte offsets. Line and column
//! numbers are computed only when a diagnostic is rendered.

use std::fmt;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: clamp_u32(start),
            end: clamp_u32(end.max(start)),
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// This span moved right by `offset` bytes (for expressions embedded in a YAML scalar).
    pub fn shift(self, offset: u32) -> Span {
        Span {
            start: self.start.saturating_add(offset),
            end: self.end.saturating_add(offset),
        }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One loaded file: its display name (a path, relative when possible) and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// [`Self::shown_text`], worked out once, when the text needs it.
    shown: std::sync::OnceLock<Option<String>>,
}

/// Invisible characters that reorder or break the text around them on a terminal
/// (right-to-left embeddings, overrides, isolates and marks; line and paragraph separators):
/// in a file or in incident data they could make text read otherwise than it is.
pub fn is_layout_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
            shown: std::sync::OnceLock::new(),
        }
    }

    /// The text as a terminal may show it: every control character but line ends and tabs,
    /// and every layout control ([`is_layout_control`]), replaced by a character of the same UTF-8 length, so
    /// a file's bytes cannot drive the terminal (`ESC ]0;…`) or reorder what it shows, and
    /// spans keep their offsets.
    pub fn shown_text(&self) -> &str {
        let shown = self.shown.get_or_init(|| {
            let bad = |c: char| {
                (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_layout_control(c)
            };
            self.text.chars().any(bad).then(|| {
                self.text
                    .chars()
                    .map(|c| match (bad(c), c.len_utf8()) {
                        (false, _) => c,
                        (true, 1) => '?',
                        (true, 2) => '¿',
                        // The others are three bytes, as `�` is.
                        (true, _) => '\u{fffd}',
                    })
                    .collect()
            })
        });
        shown.as_deref().unwrap_or(&self.text)
    }

    /// Line and column of a byte offset; offsets past the end map to the end.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// Byte offset of a 1-based line and character column, if it exists.
    pub fn offset_of(&self, line: usize, column: usize) -> Option<usize> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        let col = column.checked_sub(1)?;
        match line_text.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            None => Some(start + line_text.len()),
        }
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// The whole lines around bytes `start..end`: `before` lines before the line of `start`
    /// and `after` lines after the line of `end`, as a byte range and the 0-based index of its
    /// first line. Found in the line index, so showing a diagnostic does not read the file
    /// from its start.
    pub fn lines_around(
        &self,
        start: usize,
        end: usize,
        before: usize,
        after: usize,
    ) -> (std::ops::Range<usize>, usize) {
        let line_of = |offset: usize| {
            let offset = offset.min(self.text.len());
            self.line_starts.partition_point(|&s| s <= offset) - 1
        };
        let first = line_of(start).saturating_sub(before);
        let last = line_of(end.max(start)).saturating_add(after);
        let from = self.line_starts.get(first).copied().unwrap_or(0);
        let to = self
            .line_starts
            .get(last.saturating_add(1))
            .copied()
            .unwrap_or(self.text.len());
        (from..to, first)
    }
}

/// All files of one compilation, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(clamp_u32(self.files.len() - 1))
    }

    /// The file behind an id handed out by [`SourceMap::add`] of this map.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(clamp_u32(i)), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("a.yaml", "ab\nçd: x\n");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        // `d` follows the two-byte `ç`.
        assert_eq!(f.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(f.offset_of(2, 2), Some(5));
    }
}
