//! Line and column of every key and value in a values document.
//!
//! serde_yaml gives values without positions, so a second, event-level pass over the same
//! text records where each config path starts. Paths use the diagnostics' spelling:
//! `a.b`, `a.list[0].c`.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
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
    keys: BTreeMap<String, Span>,
    values: BTreeMap<String, Span>,
}

impl SpanMap {
    /// Records the positions in `text`; a document that does not parse records what it can.
    #[must_use]
    pub fn build(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        // Errors are reported by the real parse; positions up to the error are kept.
        let _ = parser.load(&mut builder, false);
        builder.map
    }

    /// The position of the key that introduces `path`, if any.
    #[must_use]
    pub fn key(&self, path: &str) -> Option<Span> {
        self.keys.get(path).copied()
    }

    /// The position of the value at `path`, if any.
    #[must_use]
    pub fn value(&self, path: &str) -> Option<Span> {
        self.values.get(path).copied()
    }

    /// The value's position, or the key's, or the nearest ancestor's.
    #[must_use]
    pub fn find(&self, path: &str) -> Option<Span> {
        let mut probe = path.to_owned();
        loop {
            if let Some(span) = self.value(&probe).or_else(|| self.key(&probe)) {
                return Some(span);
            }
            let cut = probe.rfind(['.', '['])?;
            probe.truncate(cut);
        }
    }
}

#[derive(Debug)]
enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    map: SpanMap,
    /// Nesting depth inside a non-scalar mapping key being skipped.
    skipping: usize,
}

/// What the next event is in its parent.
enum Slot {
    /// A value, at this path.
    Value(String),
    /// A mapping key.
    Key,
}

impl Builder {
    /// Where the event that starts now sits, advancing the parent frame.
    fn slot(&mut self) -> Slot {
        match self.stack.last_mut() {
            None => Slot::Value(String::new()),
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Slot::Value(join(path, &k)),
                None => Slot::Key,
            },
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Slot::Value(p)
            }
        }
    }

    fn set_key(&mut self, text: String, mark: Marker) {
        if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
            let full = join(path, &text);
            self.map.keys.insert(full, mark.into());
            *key = Some(text);
        }
    }
}

/// Stands for a key that is not a plain scalar; no diagnostic path can name it.
const COMPLEX_KEY: &str = "\u{0}";

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.skipping > 0 {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skipping += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    self.skipping -= 1;
                    if self.skipping == 0 {
                        self.set_key(COMPLEX_KEY.to_owned(), mark);
                    }
                }
                _ => {}
            }
            return;
        }
        match ev {
            Event::Scalar(text, ..) => match self.slot() {
                Slot::Value(path) => {
                    self.map.values.insert(path, mark.into());
                }
                Slot::Key => self.set_key(text, mark),
            },
            Event::Alias(_) => match self.slot() {
                Slot::Value(path) => {
                    self.map.values.insert(path, mark.into());
                }
                Slot::Key => self.set_key(COMPLEX_KEY.to_owned(), mark),
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => match self.slot() {
                Slot::Value(path) => {
                    self.map.values.entry(path.clone()).or_insert(mark.into());
                    let frame = if matches!(ev, Event::MappingStart(..)) {
                        Frame::Map { path, key: None }
                    } else {
                        Frame::Seq { path, next: 0 }
                    };
                    self.stack.push(frame);
                }
                Slot::Key => self.skipping = 1,
            },
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
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
        assert_eq!(m.find("a.list[1].missing"), m.value("a.list[1]"));
    }
}
