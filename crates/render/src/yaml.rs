//! A small deterministic YAML emitter that YAML 1.1 readers (kubectl, Helm) read back exactly.
//!
//! serde_yaml writes `yes`, `on`, `y` or `1_000` bare, which go-yaml v2 reads as booleans and
//! numbers. This emitter writes a string plain only when it passes a strict allow-list that no
//! YAML 1.1 or 1.2 resolver turns into anything but a string; every other string is
//! double-quoted, and multi-line strings become literal blocks. Keys follow the same rules.
//! The output is block style, two-space indentation, with list items at their key's indentation.

use std::fmt::Write as _;

use serde_json::{Number, Value};

use crate::ascii8;
use crate::tree::Node;

/// What the emitter needs to know of a tree. serde_json's `Value` (config files, KRM) and
/// the renderer's [`Node`] (objects) both provide it, so either is written without copying.
pub trait Tree: Sized {
    /// A map's entries, in order.
    type Entries<'a>: ExactSizeIterator<Item = (&'a str, &'a Self)>
    where
        Self: 'a;
    /// This node's shape.
    fn shape(&self) -> Shape<'_, Self>;
}

/// A node as the emitter sees it.
#[derive(Debug)]
pub enum Shape<'a, T: Tree + 'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    Seq(&'a [T]),
    Map(T::Entries<'a>),
}

fn value_entry<'a>((k, v): (&'a String, &'a Value)) -> (&'a str, &'a Value) {
    (k, v)
}

impl Tree for Value {
    type Entries<'a> = std::iter::Map<
        serde_json::map::Iter<'a>,
        fn((&'a String, &'a Value)) -> (&'a str, &'a Value),
    >;
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            Self::Null => Shape::Null,
            Self::Bool(b) => Shape::Bool(*b),
            Self::Number(n) => Shape::Number(n),
            Self::String(s) => Shape::Str(s),
            Self::Array(items) => Shape::Seq(items),
            Self::Object(map) => Shape::Map(map.iter().map(value_entry as _)),
        }
    }
}

fn node_entry((k, v): &(crate::tree::Key, Node)) -> (&str, &Node) {
    (k, v)
}

impl Tree for Node {
    type Entries<'a> = std::iter::Map<
        std::slice::Iter<'a, (crate::tree::Key, Node)>,
        fn(&'a (crate::tree::Key, Node)) -> (&'a str, &'a Node),
    >;
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            Self::Null => Shape::Null,
            Self::Bool(b) => Shape::Bool(*b),
            Self::Number(n) => Shape::Number(n),
            Self::String(s) => Shape::Str(s),
            Self::Seq(items) => Shape::Seq(items),
            Self::Map(entries) => Shape::Map(entries.iter().map(node_entry as _)),
        }
    }
}

/// Writes each value as one document of a multi-document stream.
#[must_use]
pub fn stream<'a, T: Tree + 'a>(docs: impl IntoIterator<Item = &'a T>) -> String {
    // A Matrix stack's objects take about 1.5 KB each (52 KB for 34): one buffer sized by
    // their count instead of doubling from a few bytes (each doubling copies what was
    // written, and leaves the old block behind in an arena). One object gets 2 KB.
    let docs = docs.into_iter();
    let mut out = String::with_capacity(docs.size_hint().0.max(1) * 2048);
    for doc in docs {
        out.push_str("---\n");
        document_into(&mut out, doc);
    }
    out
}

/// Writes one value as a document body (no `---`).
#[must_use]
pub fn document<T: Tree>(value: &T) -> String {
    let mut out = String::new();
    document_into(&mut out, value);
    out
}

fn document_into<T: Tree>(out: &mut String, value: &T) {
    match value.shape() {
        Shape::Map(entries) if entries.len() > 0 => write_map(out, entries, 0, false),
        Shape::Seq(list) if !list.is_empty() => write_list(out, list, 0, false),
        scalar => {
            write_scalar(out, scalar, 0);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

fn write_map<'a, T: Tree + 'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a str, &'a T)>,
    at: usize,
    first_inline: bool,
) {
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        if is_plain_safe(key) {
            out.push_str(key);
        } else {
            write_double_quoted(out, key);
        }
        out.push(':');
        match value.shape() {
            Shape::Map(m) if m.len() > 0 => {
                out.push('\n');
                write_map(out, m, at + 2, false);
            }
            Shape::Seq(l) if !l.is_empty() => {
                out.push('\n');
                write_list(out, l, at, false);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, at);
                out.push('\n');
            }
        }
    }
}

fn write_list<T: Tree>(out: &mut String, list: &[T], at: usize, first_inline: bool) {
    for (i, item) in list.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        out.push_str("- ");
        match item.shape() {
            Shape::Map(m) if m.len() > 0 => write_map(out, m, at + 2, true),
            Shape::Seq(l) if !l.is_empty() => write_list(out, l, at + 2, true),
            scalar => {
                write_scalar(out, scalar, at);
                out.push('\n');
            }
        }
    }
}

/// The text of a scalar (or empty collection) written after `key: ` or `- `, where the
/// parent node sits at column `parent`.
#[cfg(test)]
fn scalar_text(value: &Value, parent: usize) -> String {
    let mut out = String::new();
    write_scalar(&mut out, value.shape(), parent);
    out
}

fn write_scalar<T: Tree>(out: &mut String, shape: Shape<'_, T>, parent: usize) {
    match shape {
        Shape::Null => out.push_str("null"),
        Shape::Bool(true) => out.push_str("true"),
        Shape::Bool(false) => out.push_str("false"),
        Shape::Number(n) => write_number(out, n),
        Shape::Str(s) => write_string(out, s, parent),
        Shape::Seq(_) => out.push_str("[]"),
        Shape::Map(_) => out.push_str("{}"),
    }
}

/// Integers as they are; floats always with a `.` and a signed exponent, which YAML 1.1
/// requires (`1e5` is a string there).
fn write_number(out: &mut String, n: &Number) {
    let text = n.to_string();
    if n.is_i64() || n.is_u64() {
        out.push_str(&text);
        return;
    }
    match text.split_once(['e', 'E']) {
        Some((mantissa, exp)) => {
            out.push_str(mantissa);
            if !mantissa.contains('.') {
                out.push_str(".0");
            }
            out.push('e');
            if !exp.starts_with(['-', '+']) {
                out.push('+');
            }
            out.push_str(exp);
        }
        None => {
            out.push_str(&text);
            if !text.contains('.') {
                out.push_str(".0");
            }
        }
    }
}

fn write_string(out: &mut String, s: &str, parent: usize) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !write_literal_block(out, s, parent) {
        write_double_quoted(out, s);
    }
}

/// Words that some YAML 1.1 or 1.2 resolver reads as a boolean or null, compared
/// case-insensitively.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

/// Plain only when nothing but a string can come out: starts with a letter or `/`, then
/// letters, digits, `_`, `.`, `/`, `-`, and single inner spaces; never a reserved word.
fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'/') || last == b' ' {
        return false;
    }
    if !ascii8::plain_bytes(bytes) {
        return false;
    }
    // Reserved words are at most five bytes long.
    s.len() > 5 || !RESERVED.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A character YAML must escape: not printable in YAML 1.1's sense, or a line break other
/// than `\n`.
fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// Writes `|`, `|-` or `|+` with the content indented two past the parent; false (and
/// nothing written) when a literal block could not carry the string exactly.
fn write_literal_block(out: &mut String, s: &str, parent: usize) -> bool {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    if body.is_empty() || (trailing == 0 && !body.contains('\n')) {
        return false;
    }
    // Embedded config files are ASCII: one pass over their bytes decides; other text is
    // decoded. Control characters other than `\n` (tabs too) must be escaped. Trailing blanks
    // are invisible and easy to lose, and blank-only lines confuse indentation detection:
    // quote those. (In ASCII without control characters a blank-only line is all spaces, so
    // it too ends with a space: a space before a line break, or at the very end.)
    let quote = if body.is_ascii() {
        ascii8::literal_breakers(body.as_bytes()) || body.ends_with(' ')
    } else {
        s.chars().any(|c| needs_escape(c) || c == '\t')
            || body
                .split('\n')
                .any(|l| l.ends_with(' ') || (!l.is_empty() && l.trim().is_empty()))
    };
    if quote {
        return false;
    }
    let Some(first_content) = body.split('\n').find(|l| !l.is_empty()) else {
        return false;
    };
    out.push('|');
    if first_content.starts_with(' ') {
        out.push('2');
    }
    out.push_str(match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    });
    out.push('\n');
    let content_indent = parent + 2;
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            indent(out, content_indent);
            out.push_str(line);
        }
    }
    // Keep chomping: the extra newlines are empty lines.
    for _ in 1..trailing {
        out.push('\n');
    }
    true
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Copy the runs between escapes whole; decode only bytes outside ASCII.
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let c = if b < 0x80 {
            char::from(b)
        } else {
            s[i..].chars().next().unwrap_or_default()
        };
        let len = c.len_utf8();
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\t' => "\\t",
            c if needs_escape(c) => "",
            _ => {
                i += len;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push_str(escape);
        }
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_ascii_fast_paths_decide_as_the_general_rules() {
        // The rules written for any text, as the ASCII fast paths must apply them.
        fn general(s: &str) -> bool {
            let body = s.trim_end_matches('\n');
            s.contains('\n')
                && !s.chars().any(|c| needs_escape(c) || c == '\t')
                && !body.is_empty()
                && !body
                    .split('\n')
                    .any(|l| l.ends_with(' ') || (!l.is_empty() && l.trim().is_empty()))
        }
        for s in [
            "a\nb\n",
            "a \nb\n",
            "a\n \nb\n",
            "a\n\nb",
            "a\nb ",
            "a\tb\nc\n",
            "a\r\nb\n",
            "a\u{7f}\nb",
            "\n\n",
            "  lead\nx\n",
            "x\n  y\n",
            "é\nb\n",
            "é\n\u{a0}\nb\n",
            "é \nb",
            "\u{2028}\nb",
            "\u{85}x\ny",
            "\nx\n",
            "x\n\n",
            "x \n\n",
            " \n",
            "x\n ",
            "x\n \n",
            "x",
            "\n",
        ] {
            let mut out = String::new();
            assert_eq!(write_literal_block(&mut out, s, 0), general(s), "{s:?}");
            assert_eq!(out.is_empty(), !general(s), "{s:?}");
        }
        let mut out = String::new();
        write_double_quoted(&mut out, "a\"b\\c\nd\te\u{1}f\u{2028}gé");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u2028gé\"");
    }

    #[test]
    fn plain_scalars_take_single_inner_spaces_only() {
        assert!(is_plain_safe("Server Notices"));
        assert!(is_plain_safe("a b c d"));
        assert!(!is_plain_safe("Server  Notices"));
        assert!(!is_plain_safe("a b  c"));
        assert!(!is_plain_safe("Server Notices "));
    }

    #[test]
    fn yaml11_traps_are_quoted() {
        for s in [
            "yes", "Yes", "YES", "no", "on", "Off", "y", "N", "true", "null", "~", "1_000", "0x1F",
            "012", "1e3", "1.5", ".inf", "-", "<<", "=", "", " lead", "trail ", "a: b", "#c",
            "10Gi", "@x", "*a", "&a", "!t", "%p", "a#b", "`x`", "'q'", "1:20",
        ] {
            let text = scalar_text(&json!(s), 0);
            assert!(text.starts_with('"'), "{s:?} was written as {text}");
        }
    }

    #[test]
    fn ordinary_words_stay_plain() {
        for s in [
            "IfNotPresent",
            "app.kubernetes.io/name",
            "/data",
            "Server Notices",
            "v1.9.3",
            "synapse-tls",
        ] {
            assert_eq!(scalar_text(&json!(s), 0), s);
        }
    }

    #[test]
    fn multi_line_strings_become_literal_blocks() {
        let v = json!({"a": "x\ny\n", "b": "x\ny", "c": "  indented\nz\n", "d": "x\n\n\n"});
        assert_eq!(
            document(&v),
            "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |2\n    indented\n  z\nd: |+\n  x\n\n\n"
        );
    }

    #[test]
    fn unsafe_multi_line_strings_are_quoted() {
        assert_eq!(scalar_text(&json!("a \nb"), 0), "\"a \\nb\"");
        assert_eq!(scalar_text(&json!("a\tb\nc"), 0), "\"a\\tb\\nc\"");
        assert_eq!(scalar_text(&json!("a\r\nb"), 0), "\"a\\u000d\\nb\"");
        assert_eq!(scalar_text(&json!("\n\n"), 0), "\"\\n\\n\"");
    }

    #[test]
    fn floats_carry_a_dot_and_a_signed_exponent() {
        assert_eq!(scalar_text(&json!(1.5), 0), "1.5");
        assert_eq!(scalar_text(&json!(1e20), 0), "1.0e+20");
        assert_eq!(scalar_text(&json!(2.5e-7), 0), "2.5e-7");
        assert_eq!(scalar_text(&json!(-3), 0), "-3");
    }

    #[test]
    fn nesting_layout() {
        let v = json!({
            "metadata": {"name": "x", "labels": {}},
            "items": [{"a": 1, "b": [1, 2]}, [3, 4], "s", []],
            "empty": [],
        });
        assert_eq!(
            document(&v),
            "metadata:\n  name: x\n  labels: {}\nitems:\n- a: 1\n  b:\n  - 1\n  - 2\n- - 3\n  - 4\n- s\n- []\nempty: []\n"
        );
    }

    #[test]
    fn list_item_blocks_indent_past_the_dash() {
        let v = json!({"args": ["one\ntwo\n"]});
        assert_eq!(document(&v), "args:\n- |\n  one\n  two\n");
    }
}
