//! Line and column of every key and value in a values document.
//!
//! [`crate::yaml::parse`] records them while it builds the value. Paths use the
//! diagnostics' spelling: `a.b`, `a.list[0].c`.

use std::collections::BTreeMap;

use yaml_rust2::scanner::Marker;

/// A 1-based position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in Unicode scalar values.
    pub column: u32,
}

impl From<Marker> for Span {
    fn from(m: Marker) -> Self {
        Self {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Where each path's key and value start.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    pub(crate) keys: BTreeMap<String, Span>,
    pub(crate) values: BTreeMap<String, Span>,
    /// Whether a merge key (`<<`) copied entries into a map: those entries have no key of
    /// their own in the text, so [`SpanMap::has_key`] does not know them.
    pub(crate) merged: bool,
}

impl SpanMap {
    /// Records the positions in `text`; a document that does not parse records what it can.
    #[must_use]
    pub fn build(text: &str) -> Self {
        crate::yaml::parse(text).1
    }

    /// The position of the key that introduces `path`, if any.
    #[must_use]
    pub fn key(&self, path: &str) -> Option<Span> {
        self.keys.get(path).copied()
    }

    /// Whether the document wrote a key at `path`, when that can be told from the text
    /// alone: `None` for a document that used merge keys (`<<`).
    #[must_use]
    pub fn has_key(&self, path: &str) -> Option<bool> {
        (!self.merged).then(|| self.keys.contains_key(path))
    }

    /// The position of the value at `path`, if any.
    #[must_use]
    pub fn value(&self, path: &str) -> Option<Span> {
        self.values.get(path).copied()
    }

    /// The value's position, or the key's; for a path the document does not hold, the
    /// nearest ancestor's key (a missing `coturn.realm` is at `coturn:`, not at the first
    /// line of the map's value, which is another setting).
    #[must_use]
    pub fn find(&self, path: &str) -> Option<Span> {
        if let Some(span) = self.value(path).or_else(|| self.key(path)) {
            return Some(span);
        }
        let mut probe = path.to_owned();
        loop {
            let cut = probe.rfind(['.', '['])?;
            probe.truncate(cut);
            if let Some(span) = self.key(&probe).or_else(|| self.value(&probe)) {
                return Some(span);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_positions() {
        let text = "a:\n  b: 1\n  list:\n    - x\n    - c: 2\nd: [1, 2]\n";
        let m = SpanMap::build(text);
        assert_eq!(m.key("a.b"), Some(Span { line: 2, column: 3 }));
        assert_eq!(m.value("a.b"), Some(Span { line: 2, column: 6 }));
        assert_eq!(m.value("a.list[0]"), Some(Span { line: 4, column: 7 }));
        assert_eq!(m.key("a.list[1].c"), Some(Span { line: 5, column: 7 }));
        assert_eq!(m.value("d[1]"), Some(Span { line: 6, column: 8 }));
        // A list item has no key: its value stands for it.
        assert_eq!(m.find("a.list[1].missing"), m.value("a.list[1]"));
        assert_eq!(m.find("a.missing"), m.key("a"));
    }
}
