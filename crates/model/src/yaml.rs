//! One pass over a YAML document: its value as JSON, and where every path sits.
//!
//! yaml-rust2's event parser does the scanning; this module builds the value from the events
//! and records each key's and value's position on the way, so a document is parsed once
//! whether or not a diagnostic later needs a line number.
//!
//! Plain scalars resolve by the YAML 1.2 core schema, with the spellings values files have
//! always been read with here: `null`/`Null`/`NULL`/`~`/empty, `true`/`True`/`TRUE` and the
//! `false` forms, integers in decimal, `0x`, `0o` and `0b` (a leading zero makes a string:
//! `0123`), and floats. `yes`, `on` and `1_000` are strings. Merge keys (`<<`) are applied,
//! explicit keys first and merged ones after. Limits keep hostile input cheap: 128 levels of
//! nesting, and aliases may expand to at most [`MAX_ALIAS_NODES`] values and
//! [`MAX_ALIAS_BYTES`] bytes of text in all.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::spans::{Span, SpanMap};

/// Deepest nesting of mappings and lists accepted.
pub const MAX_DEPTH: usize = 128;

/// Most values that aliases may copy in one document (in one stream, all its documents).
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Most bytes of text (keys and scalars) that aliases may copy in one document: as much as
/// a values document may hold itself ([`crate::load::MAX_DOCUMENT_BYTES`]).
pub const MAX_ALIAS_BYTES: usize = 1024 * 1024;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Stable diagnostic code: `yaml-syntax`, `duplicate-key`, `too-deep`, `too-many-aliases`
    /// or `unsupported-yaml`.
    pub code: &'static str,
    /// What is wrong; never contains a scalar's value.
    pub message: String,
    /// The config path of the offending node (its map for a bad key); empty at the top.
    pub path: String,
    /// Where, when known.
    pub span: Option<Span>,
}

/// A parsed document: `None` when the text holds no document at all (or only `null`).
pub type Document = Option<Value>;

/// Parses one YAML document. Positions are recorded up to the point of an error, so a
/// caller can still place other findings.
pub fn parse(text: &str) -> (Result<Document, YamlError>, SpanMap) {
    let mut builder = Builder::default();
    // A byte order mark is not part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(e) = unprintable(text) {
        return (Err(e), builder.spans);
    }
    let result = builder.run(text);
    (result, builder.spans)
}

/// Parses a YAML stream: every document, in order, each with its own positions, counted
/// from the start of the stream (so line 3 of the second document after a one-line first
/// one and its `---` is line 5). Anchors belong to their document; the alias limits hold
/// for the stream as a whole. A syntax error ends the stream: the document it is in comes
/// back as the error, the ones before it as they were. A stream without any document (empty,
/// or comments only) is one empty document.
pub fn parse_stream(text: &str) -> Vec<(Result<Document, YamlError>, SpanMap)> {
    let mut builder = Builder {
        stream: true,
        ..Builder::default()
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(e) = unprintable(text) {
        return vec![(Err(e), SpanMap::default())];
    }
    let result = builder.run(text);
    let mut documents: Vec<(Result<Document, YamlError>, SpanMap)> = builder
        .finished
        .into_iter()
        .map(|(document, spans)| (Ok(document), spans))
        .collect();
    match result {
        Err(e) => documents.push((Err(e), builder.spans)),
        Ok(_) if documents.is_empty() => documents.push((Ok(None), builder.spans)),
        Ok(_) => {}
    }
    documents
}

/// The first character YAML does not allow in a stream (outside its printable set: C0
/// controls other than tab, line feed and carriage return, DEL, C1 controls other than NEL,
/// U+FFFE and U+FFFF). A parser may stop at a NUL without a word, so that whatever follows
/// it (`\0namespace: evil`) would be silently dropped; refused, it is reported where it is.
fn unprintable(text: &str) -> Option<YamlError> {
    let (offset, c) = text.char_indices().find(|&(_, c)| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
            || matches!(c, '\u{80}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
    })?;
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(YamlError {
        code: "yaml-syntax",
        message: format!(
            "the file holds the control character U+{:04X}, which YAML does not allow",
            u32::from(c)
        ),
        path: String::new(),
        span: Some(Span {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }),
    })
}

#[derive(Debug)]
enum Frame {
    Map {
        map: Map<String, Value>,
        /// The key waiting for its value, and whether it is the merge key `<<`.
        key: Option<(String, bool)>,
        /// Values of `<<` keys, applied when the mapping ends.
        merges: Vec<(Value, Marker)>,
        anchor: usize,
        /// Length of the builder's path before this mapping's own segment was pushed.
        restore: usize,
    },
    Seq {
        items: Vec<Value>,
        anchor: usize,
        restore: usize,
    },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    /// The path of the innermost open collection, in diagnostics' spelling.
    path: String,
    /// Completed anchored values, by yaml-rust2's anchor id.
    anchors: Vec<Option<Value>>,
    /// Values copied by aliases so far.
    alias_nodes: usize,
    /// Bytes of text (keys and scalars) copied by aliases so far.
    alias_bytes: usize,
    spans: SpanMap,
    root: Option<Value>,
    documents: usize,
    /// Whether several documents are read ([`parse_stream`]) rather than refused.
    stream: bool,
    /// The documents of a stream read so far, with their positions.
    finished: Vec<(Document, SpanMap)>,
}

fn error(code: &'static str, message: impl Into<String>, path: &str, mark: Marker) -> YamlError {
    YamlError {
        code,
        message: message.into(),
        path: path.to_owned(),
        span: Some(mark.into()),
    }
}

fn too_deep(mark: Marker) -> YamlError {
    error(
        "too-deep",
        format!("the document nests deeper than {MAX_DEPTH} levels"),
        "",
        mark,
    )
}

impl Builder {
    fn run(&mut self, text: &str) -> Result<Document, YamlError> {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, mark) = parser.next_token().map_err(|e| {
                // The scanner's own limit: it reads flow collections ahead of the events.
                if e.info() == "recursion limit exceeded" {
                    return too_deep(*e.marker());
                }
                YamlError {
                    code: "yaml-syntax",
                    message: e.info().to_owned(),
                    path: String::new(),
                    span: Some((*e.marker()).into()),
                }
            })?;
            match event {
                Event::StreamEnd => return Ok(self.root.take().filter(|v| !v.is_null())),
                Event::DocumentStart => {
                    self.documents += 1;
                    if self.documents > 1 && !self.stream {
                        return Err(error(
                            "yaml-syntax",
                            "the file holds more than one YAML document (a second `---`)",
                            "",
                            mark,
                        ));
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    if self.is_key_slot() {
                        if anchor > 0 {
                            // An anchored key: an alias may repeat it, as a key or a value.
                            self.remember(anchor, Value::String(text.clone()));
                        }
                        self.key(text, style, tag.as_ref(), mark)?;
                    } else {
                        let segment = self.enter();
                        self.spans.values.insert(self.path.clone(), mark.into());
                        let value = scalar(text, style, tag.as_ref())
                            .map_err(|m| error("unsupported-yaml", m, &self.path, mark))?;
                        self.path.truncate(segment);
                        self.finish(value, anchor, mark)?;
                    }
                }
                Event::Alias(id) => {
                    let value = self.alias(id, mark)?;
                    if self.is_key_slot() {
                        let Value::String(text) = value else {
                            return Err(self.bad_key("an alias to a non-string value", mark));
                        };
                        self.key(text, TScalarStyle::SingleQuoted, None, mark)?;
                    } else {
                        let segment = self.enter();
                        self.spans.values.insert(self.path.clone(), mark.into());
                        self.path.truncate(segment);
                        self.finish(value, 0, mark)?;
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) if self.is_key_slot() => {
                    let what = if matches!(event, Event::MappingStart(..)) {
                        "a mapping"
                    } else {
                        "a list"
                    };
                    return Err(self.bad_key(what, mark));
                }
                Event::MappingStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "map")
                        .map_err(|m| error("unsupported-yaml", m, &self.path, mark))?;
                    let restore = self.open(mark)?;
                    self.stack.push(Frame::Map {
                        map: Map::new(),
                        key: None,
                        merges: Vec::new(),
                        anchor,
                        restore,
                    });
                }
                Event::SequenceStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "seq")
                        .map_err(|m| error("unsupported-yaml", m, &self.path, mark))?;
                    let restore = self.open(mark)?;
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        restore,
                    });
                }
                Event::MappingEnd => {
                    if let Some(Frame::Map {
                        mut map,
                        merges,
                        anchor,
                        restore,
                        ..
                    }) = self.stack.pop()
                    {
                        for (merge, at) in merges {
                            self.spans.merged = true;
                            apply_merge(&mut map, merge)
                                .map_err(|m| error("unsupported-yaml", m, &self.path, at))?;
                        }
                        self.path.truncate(restore);
                        self.finish(Value::Object(map), anchor, mark)?;
                    }
                }
                Event::SequenceEnd => {
                    if let Some(Frame::Seq {
                        items,
                        anchor,
                        restore,
                    }) = self.stack.pop()
                    {
                        self.path.truncate(restore);
                        self.finish(Value::Array(items), anchor, mark)?;
                    }
                }
                Event::DocumentEnd if self.stream => {
                    let document = self.root.take().filter(|v| !v.is_null());
                    self.finished
                        .push((document, std::mem::take(&mut self.spans)));
                    // Anchors are the document's own (YAML 1.2, 9.2).
                    self.anchors.clear();
                }
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            }
        }
    }

    /// Whether the next node is a mapping key.
    fn is_key_slot(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Pushes the path segment of the node that starts now; returns the length to restore.
    fn enter(&mut self) -> usize {
        let restore = self.path.len();
        match self.stack.last_mut() {
            None => {}
            Some(Frame::Map {
                key: Some((k, _)), ..
            }) => {
                if !self.path.is_empty() {
                    self.path.push('.');
                }
                self.path.push_str(k);
            }
            Some(Frame::Map { key: None, .. }) => {}
            Some(Frame::Seq { items, .. }) => {
                use std::fmt::Write as _;
                let _ = write!(self.path, "[{}]", items.len());
            }
        }
        restore
    }

    /// Enters a collection: its path, its position, and the depth limit.
    fn open(&mut self, mark: Marker) -> Result<usize, YamlError> {
        let restore = self.enter();
        if self.stack.len() >= MAX_DEPTH {
            self.path.truncate(restore);
            return Err(too_deep(mark));
        }
        self.spans
            .values
            .entry(self.path.clone())
            .or_insert(mark.into());
        Ok(restore)
    }

    fn bad_key(&self, what: &str, mark: Marker) -> YamlError {
        error(
            "unsupported-yaml",
            format!("a map key is {what}; keys must be strings"),
            &self.path,
            mark,
        )
    }

    /// Takes a scalar in a key position.
    fn key(
        &mut self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        mark: Marker,
    ) -> Result<(), YamlError> {
        let merge = style == TScalarStyle::Plain && tag.is_none() && text == "<<";
        // Most keys are quoted or start with a letter that no null, boolean or number starts
        // with: those are strings without resolving them.
        let surely_string = tag.is_none()
            && (style != TScalarStyle::Plain
                || text.bytes().next().is_some_and(|b| {
                    b.is_ascii_alphabetic() && !matches!(b, b'n' | b'N' | b't' | b'T' | b'f' | b'F')
                }));
        let is_string = surely_string
            || match scalar(text.clone(), style, tag) {
                Ok(value) => value.is_string(),
                Err(m) => return Err(error("unsupported-yaml", m, &self.path, mark)),
            };
        if !is_string {
            return Err(error(
                "unsupported-yaml",
                format!(
                    "map key {} is not a string",
                    if text.is_empty() { "null" } else { &text }
                ),
                &self.path,
                mark,
            ));
        }
        if let Some(Frame::Map { map, key, .. }) = self.stack.last_mut() {
            if !merge && map.contains_key(&text) {
                let path = self.path.clone();
                return Err(error(
                    "duplicate-key",
                    format!("the key `{text}` appears twice in the same map"),
                    &path,
                    mark,
                ));
            }
            if !merge {
                let restore = self.path.len();
                if restore > 0 {
                    self.path.push('.');
                }
                self.path.push_str(&text);
                self.spans.keys.insert(self.path.clone(), mark.into());
                self.path.truncate(restore);
            }
            *key = Some((text, merge));
        }
        Ok(())
    }

    /// A finished value: remember it under its anchor and hand it to its parent.
    fn finish(&mut self, value: Value, anchor: usize, mark: Marker) -> Result<(), YamlError> {
        if anchor > 0 {
            self.remember(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, key, merges, ..
            }) => match key.take() {
                Some((_, true)) => merges.push((value, mark)),
                Some((k, false)) => {
                    map.insert(k, value);
                }
                None => {}
            },
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, value: Value) {
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some(value);
    }

    /// A copy of an anchored value, within the alias budget.
    fn alias(&mut self, id: usize, mark: Marker) -> Result<Value, YamlError> {
        let Some(Some(value)) = self.anchors.get(id) else {
            return Err(error(
                "unsupported-yaml",
                "the alias refers to a value that contains it",
                &self.path,
                mark,
            ));
        };
        let budget = Size {
            nodes: MAX_ALIAS_NODES - self.alias_nodes,
            bytes: MAX_ALIAS_BYTES - self.alias_bytes,
        };
        match measure(value, budget) {
            Ok(size) => {
                self.alias_nodes += size.nodes;
                self.alias_bytes += size.bytes;
                Ok(value.clone())
            }
            Err(Over::Nodes) => Err(error(
                "too-many-aliases",
                "aliases expand to too many values (an alias bomb?)",
                &self.path,
                mark,
            )),
            Err(Over::Bytes) => Err(error(
                "too-many-aliases",
                format!(
                    "aliases copy more than {} MiB of text in all, as much as a values file \
                     may hold (an alias bomb?)",
                    MAX_ALIAS_BYTES / 1024 / 1024
                ),
                &self.path,
                mark,
            )),
        }
    }
}

/// The values in a value and the bytes of its text (keys and scalars; a number, boolean or
/// null counts as one byte).
#[derive(Debug, Clone, Copy)]
struct Size {
    nodes: usize,
    bytes: usize,
}

/// Which budget a copy would exceed.
#[derive(Debug)]
enum Over {
    Nodes,
    Bytes,
}

/// The size of `value`, or which part of `budget` it exceeds (counting stops there).
fn measure(value: &Value, budget: Size) -> Result<Size, Over> {
    let mut size = Size { nodes: 0, bytes: 0 };
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        size.nodes += 1;
        size.bytes += match v {
            Value::String(text) => text.len(),
            Value::Array(items) => {
                stack.extend(items);
                0
            }
            Value::Object(map) => {
                stack.extend(map.values());
                map.keys().map(String::len).sum()
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => 1,
        };
        if size.nodes > budget.nodes {
            return Err(Over::Nodes);
        }
        if size.bytes > budget.bytes {
            return Err(Over::Bytes);
        }
    }
    Ok(size)
}

/// Adds the entries of a `<<` value that the mapping does not set itself.
fn apply_merge(map: &mut Map<String, Value>, merge: Value) -> Result<(), String> {
    let sources = match merge {
        Value::Object(source) => vec![source],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(source) => Ok(source),
                _ => Err("a merge key (`<<`) list may hold only mappings".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("a merge key (`<<`) takes a mapping or a list of mappings".to_owned()),
    };
    for source in sources {
        for (k, v) in source {
            map.entry(k).or_insert(v);
        }
    }
    Ok(())
}

/// The core schema's tag prefix (`!!` expands to it).
const CORE: &str = "tag:yaml.org,2002:";

fn tag_name(tag: &Tag) -> String {
    if tag.handle == CORE {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == CORE && t.suffix == kind => Ok(()),
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Ok(()),
        Some(t) => Err(format!("YAML tag `{}` is not supported", tag_name(t))),
    }
}

/// Resolves a scalar to a JSON value. Errors never contain the scalar's text.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return if style == TScalarStyle::Plain {
            plain(text)
        } else {
            Ok(Value::String(text))
        };
    };
    if tag.handle == "!" && tag.suffix.is_empty() {
        // The non-specific tag `!`: a string.
        return Ok(Value::String(text));
    }
    if tag.handle != CORE {
        return Err(format!("YAML tag `{}` is not supported", tag_name(tag)));
    }
    let mismatch = || format!("the value does not match its tag `!!{}`", tag.suffix);
    match tag.suffix.as_str() {
        "str" => Ok(Value::String(text)),
        "null" => null(&text).then_some(Value::Null).ok_or_else(mismatch),
        "bool" => boolean(&text).map(Value::Bool).ok_or_else(mismatch),
        "int" => integer(&text).ok_or_else(mismatch)?.map_err(str::to_owned),
        "float" => match float(&text) {
            Some(Ok(n)) => Ok(Value::Number(n)),
            Some(Err(m)) => Err(m),
            None => integer(&text).ok_or_else(mismatch)?.map_err(str::to_owned),
        },
        other => Err(format!("YAML tag `!!{other}` is not supported")),
    }
}

fn null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0123` is a string in YAML 1.2, not an octal or decimal number.
fn leading_zero_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `Some(Ok)` for an integer, `Some(Err)` for one beyond 64 bits, `None` for no integer.
fn integer(text: &str) -> Option<Result<Value, &'static str>> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(d) = unsigned.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = unsigned.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = unsigned.strip_prefix("0b") {
        (2, d)
    } else {
        if leading_zero_digits(text) {
            return None;
        }
        (10, unsigned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let Ok(magnitude) = u64::from_str_radix(digits, radix) else {
        return Some(Err(TOO_LARGE));
    };
    if !negative {
        return Some(Ok(Value::from(magnitude)));
    }
    match i64::try_from(magnitude) {
        Ok(m) => Some(Ok(Value::from(-m))),
        Err(_) if magnitude == i64::MIN.unsigned_abs() => Some(Ok(Value::from(i64::MIN))),
        Err(_) => Some(Err(TOO_LARGE)),
    }
}

const TOO_LARGE: &str = "integers beyond 64 bits are not supported";

/// `Some(Ok)` for a finite float, `Some(Err)` for infinity and NaN, `None` otherwise.
///
/// The only `f64` in the model crate, and it is the reader's, not the config's: a decimal in
/// a values file must read as a number so that the schema can say `expected an integer,
/// found a decimal number` for a typed setting (no `Config` field is a float), and so that
/// free-form maps such as `element.extraConfig` pass it on to Element's config.json as the
/// number it is, as serde_yaml read it before.
fn float(text: &str) -> Option<Result<Number, String>> {
    if leading_zero_digits(text) {
        return None;
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return Some(Err("infinite and NaN numbers are not supported".to_owned()));
    }
    if text.starts_with("+-") || text.starts_with("++") {
        return None;
    }
    let parsed: f64 = text.strip_prefix('+').unwrap_or(text).parse().ok()?;
    // `inf`, `nan` and overflowing literals stay strings.
    Number::from_f64(parsed)
        .filter(|_| parsed.is_finite())
        .map(Ok)
}

fn plain(text: String) -> Result<Value, String> {
    if null(&text) {
        return Ok(Value::Null);
    }
    if let Some(b) = boolean(&text) {
        return Ok(Value::Bool(b));
    }
    let first = text.as_bytes().first().copied().unwrap_or(b' ');
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if let Some(n) = integer(&text) {
            return n.map_err(str::to_owned);
        }
        match float(&text) {
            Some(Ok(n)) => return Ok(Value::Number(n)),
            Some(Err(m)) => return Err(m),
            None => {}
        }
    }
    Ok(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        parse(text).0.unwrap().unwrap_or(Value::Null)
    }

    fn err(text: &str) -> YamlError {
        parse(text).0.unwrap_err()
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let v = value(
            "a: ~\nb: null\nc: NULL\nd:\ne: true\nf: False\ng: yes\nh: on\ni: 1_000\nj: 0123\n\
             k: 0x1F\nl: -0x10\nm: 0o17\nn: 0b101\no: -12\np: +7\nq: 1.5\nr: 1e3\ns: '1'\n\
             t: \"true\"\nu: inf\nv: 18446744073709551615\nw: -9223372036854775808\nx: 0\n\
             y: .5\nz: 1.2.3\n",
        );
        assert_eq!(
            v,
            json!({"a": null, "b": null, "c": null, "d": null, "e": true, "f": false,
                   "g": "yes", "h": "on", "i": "1_000", "j": "0123", "k": 31, "l": -16,
                   "m": 15, "n": 5, "o": -12, "p": 7, "q": 1.5, "r": 1000.0, "s": "1",
                   "t": "true", "u": "inf", "v": 18_446_744_073_709_551_615_u64,
                   "w": i64::MIN, "x": 0, "y": 0.5, "z": "1.2.3"})
        );
    }

    #[test]
    fn core_tags_apply_and_others_are_refused() {
        assert_eq!(
            value("a: !!str 123\nb: !!int '7'\n"),
            json!({"a": "123", "b": 7})
        );
        let e = err("a:\n  b: !vault x\n");
        assert_eq!(e.code, "unsupported-yaml");
        assert_eq!(e.message, "YAML tag `!vault` is not supported");
        assert_eq!(e.path, "a.b");
        assert_eq!(
            e.span,
            Some(Span {
                line: 2,
                column: 13
            })
        );
        assert_eq!(
            err("a: !!binary aGk=\n").message,
            "YAML tag `!!binary` is not supported"
        );
    }

    #[test]
    fn keys_must_be_unique_strings() {
        let e = err("a:\n  port: 1\n  port: 2\n");
        assert_eq!(
            (e.code, e.path.as_str(), e.span),
            ("duplicate-key", "a", Some(Span { line: 3, column: 3 }))
        );
        assert_eq!(e.message, "the key `port` appears twice in the same map");
        let e = err("a:\n  1: x\n");
        assert_eq!(
            (e.code, e.message.as_str()),
            ("unsupported-yaml", "map key 1 is not a string")
        );
        assert_eq!(e.span, Some(Span { line: 2, column: 3 }));
        assert_eq!(
            err("? [a]\n: b\n").message,
            "a map key is a list; keys must be strings"
        );
        assert_eq!(
            value("'1': x\n\"true\": y\n"),
            json!({"1": "x", "true": "y"})
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let v = value(
            "base: &b {x: 1, y: 2}\nlist: &l [a, b]\nuse: *l\n\
             over:\n  <<: *b\n  y: 3\n  z: 4\nmany:\n  <<: [{p: 1}, {p: 2, q: 2}]\n",
        );
        assert_eq!(v["use"], json!(["a", "b"]));
        assert_eq!(v["over"], json!({"y": 3, "z": 4, "x": 1}));
        assert_eq!(
            v["over"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["y", "z", "x"]
        );
        assert_eq!(v["many"], json!({"p": 1, "q": 2}));
        assert_eq!(err("a:\n  <<: 5\n").code, "unsupported-yaml");
    }

    #[test]
    fn limits_stop_hostile_documents() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f"][i];
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let e = err(&bomb);
        assert_eq!(e.code, "too-many-aliases");
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let e = err(&deep);
        assert_eq!(e.code, "too-deep");
        assert_eq!(
            e.span,
            Some(Span {
                line: 1,
                column: 131
            })
        );
        assert!(value(&format!("a: {}{}\n", "[".repeat(126), "]".repeat(126))).is_object());
        let deeper = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
        assert_eq!(err(&deeper).code, "too-deep");
        let mut block = String::new();
        for level in 0..130 {
            block.push_str(&format!("{}k:\n", "  ".repeat(level)));
        }
        assert_eq!(err(&block).code, "too-deep");
    }

    /// Few aliases of a long text are as costly as many of a short one: the limit counts
    /// the bytes copied, and the alias that goes over it is the one reported.
    #[test]
    fn aliases_are_limited_by_the_bytes_they_copy() {
        let text = "x".repeat(400_000);
        let two = format!("s: &s \"{text}\"\nl: [*s, *s]\n");
        assert_eq!(value(&two)["l"][1].as_str().map(str::len), Some(400_000));
        let three = format!("s: &s \"{text}\"\nl:\n  - *s\n  - *s\n  - *s\n");
        let e = err(&three);
        assert_eq!(e.code, "too-many-aliases");
        assert!(
            e.message.contains("more than 1 MiB of text"),
            "{}",
            e.message
        );
        assert_eq!(e.span, Some(Span { line: 5, column: 5 }));
        assert_eq!(e.path, "l");
        // Keys count too: a map whose keys are long, copied.
        let keys = format!("m: &m {{{text}: 1, b{text}: 2}}\nn: *m\no: *m\n");
        assert_eq!(err(&keys).code, "too-many-aliases");
    }

    #[test]
    fn syntax_errors_and_documents() {
        let e = err("a: [1, 2\n");
        assert_eq!(e.code, "yaml-syntax");
        assert!(e.span.is_some());
        assert_eq!(err("a: 1\n---\nb: 2\n").code, "yaml-syntax");
        assert_eq!(parse("").0, Ok(None));
        assert_eq!(parse("# only a comment\n").0, Ok(None));
        assert_eq!(parse("---\na: 1\n...\n").0, Ok(Some(json!({"a": 1}))));
        assert_eq!(value("- a\n- b\n"), json!(["a", "b"]));
    }

    #[test]
    fn a_stream_is_its_documents_with_the_stream_lines() {
        let docs = parse_stream("a: 1\n---\n# note\nb:\n  c: 2\n---\n---\nd: 3\n");
        let values: Vec<_> = docs.iter().map(|(v, _)| v.clone()).collect();
        assert_eq!(
            values,
            [
                Ok(Some(json!({"a": 1}))),
                Ok(Some(json!({"b": {"c": 2}}))),
                Ok(None),
                Ok(Some(json!({"d": 3})))
            ]
        );
        assert_eq!(docs[0].1.key("a"), Some(Span { line: 1, column: 1 }));
        assert_eq!(docs[1].1.key("b.c"), Some(Span { line: 5, column: 3 }));
        assert_eq!(docs[1].1.key("a"), None);
        assert_eq!(docs[3].1.value("d"), Some(Span { line: 8, column: 4 }));
        // One document, or none: as `parse`.
        assert_eq!(parse_stream("a: 1\n").len(), 1);
        assert_eq!(parse_stream("").len(), 1);
        assert_eq!(parse_stream("# only\n")[0].0, Ok(None));
        // An anchor is its document's own; an error ends the stream where it is.
        let docs = parse_stream("a: &x 1\n---\nb: *x\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1].0.as_ref().map_err(|e| e.code),
            Err("unsupported-yaml")
        );
        let docs = parse_stream("a: 1\n---\nb: [1\nc: 2\n");
        assert_eq!(docs[0].0, Ok(Some(json!({"a": 1}))));
        let e = docs[1].0.as_ref().expect_err("a syntax error");
        assert_eq!((e.code, e.span.map(|s| s.line)), ("yaml-syntax", Some(4)));
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        let e = err("global:\n  domain: a\u{0}namespace: evil\nbogus: key\n");
        assert_eq!(e.code, "yaml-syntax");
        assert!(e.message.contains("U+0000"), "{}", e.message);
        assert_eq!(
            e.span,
            Some(Span {
                line: 2,
                column: 12
            })
        );
        for c in ['\u{1}', '\u{1b}', '\u{7f}', '\u{9b}', '\u{ffff}'] {
            assert_eq!(err(&format!("a: b{c}\n")).code, "yaml-syntax", "{c:?}");
        }
        // Tabs, carriage returns, NEL and other text stay what they were.
        assert_eq!(
            value("a:\t\"x\ty\"\r\nb: \"\u{85}é\"\n"),
            json!({"a": "x\ty", "b": "\u{85}é"})
        );
    }

    #[test]
    fn errors_never_echo_scalars() {
        let e = err("a: !!int hunter2\n");
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = err("hunter2: 1\nhunter2: 2\n");
        // A duplicate key names the key, which is not a secret value.
        assert!(e.message.contains("hunter2"));
    }

    #[test]
    fn spans_are_recorded_in_the_same_pass() {
        let (result, spans) = parse("a:\n  b: 1\n  list:\n    - x\n    - c: 2\nd: [1, 2]\n");
        assert!(result.is_ok());
        assert_eq!(spans.key("a.b"), Some(Span { line: 2, column: 3 }));
        assert_eq!(spans.value("a.b"), Some(Span { line: 2, column: 6 }));
        assert_eq!(spans.value("a.list[0]"), Some(Span { line: 4, column: 7 }));
        assert_eq!(spans.key("a.list[1].c"), Some(Span { line: 5, column: 7 }));
        assert_eq!(spans.value("d[1]"), Some(Span { line: 6, column: 8 }));
    }
}
