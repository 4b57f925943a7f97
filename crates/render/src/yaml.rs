//! A small deterministic YAML emitter that YAML 1.1 readers (kubectl, Helm) read back exactly.
//!
//! serde_yaml writes `yes`, `on`, `y` or `1_000` bare, which go-yaml v2 reads as booleans and
//! numbers. This emitter writes a string plain only when it passes a strict allow-list that no
//! YAML 1.1 or 1.2 resolver turns into anything but a string; every other string is
//! double-quoted, and multi-line strings become literal blocks. Keys follow the same rules.
//! The output is block style, two-space indentation, with list items at their key's indentation.

use serde_json::{Map, Value};

/// Writes each value as one document of a multi-document stream.
#[must_use]
pub fn stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        document_into(&mut out, doc);
    }
    out
}

/// Writes one value as a document body (no `---`).
#[must_use]
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    document_into(&mut out, value);
    out
}

fn document_into(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => write_map(out, map, 0, false),
        Value::Array(list) if !list.is_empty() => write_list(out, list, 0, false),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, map: &Map<String, Value>, at: usize, first_inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        out.push_str(&key_text(key));
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                write_map(out, m, at + 2, false);
            }
            Value::Array(l) if !l.is_empty() => {
                out.push('\n');
                write_list(out, l, at, false);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, at));
                out.push('\n');
            }
        }
    }
}

fn write_list(out: &mut String, list: &[Value], at: usize, first_inline: bool) {
    for (i, item) in list.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, at);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, at + 2, true),
            Value::Array(l) if !l.is_empty() => write_list(out, l, at + 2, true),
            scalar => {
                out.push_str(&scalar_text(scalar, at));
                out.push('\n');
            }
        }
    }
}

/// The text of a scalar (or empty collection) written after `key: ` or `- `, where the
/// parent node sits at column `parent`.
fn scalar_text(value: &Value, parent: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n),
        Value::String(s) => string_text(s, parent),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn key_text(key: &str) -> String {
    if is_plain_safe(key) {
        key.to_owned()
    } else {
        double_quoted(key)
    }
}

/// Integers as they are; floats always with a `.` and a signed exponent, which YAML 1.1
/// requires (`1e5` is a string there).
fn number_text(n: &serde_json::Number) -> String {
    let text = n.to_string();
    if n.is_i64() || n.is_u64() {
        return text;
    }
    match text.split_once(['e', 'E']) {
        Some((mantissa, exp)) => {
            let mantissa = if mantissa.contains('.') {
                mantissa.to_owned()
            } else {
                format!("{mantissa}.0")
            };
            let exp = if exp.starts_with(['-', '+']) {
                exp.to_owned()
            } else {
                format!("+{exp}")
            };
            format!("{mantissa}e{exp}")
        }
        None if text.contains('.') => text,
        None => format!("{text}.0"),
    }
}

fn string_text(s: &str, parent: usize) -> String {
    if is_plain_safe(s) {
        return s.to_owned();
    }
    if let Some(block) = literal_block(s, parent) {
        return block;
    }
    double_quoted(s)
}

/// Words that some YAML 1.1 or 1.2 resolver reads as a boolean or null, compared
/// case-insensitively.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

/// Plain only when nothing but a string can come out: starts with a letter or `/`, then
/// letters, digits, `_`, `.`, `/`, `-`, and single inner spaces; never a reserved word.
fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    if s.ends_with(' ') || s.contains("  ") {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ' '))
    {
        return false;
    }
    !RESERVED.iter().any(|w| w.eq_ignore_ascii_case(s))
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

/// `|`, `|-` or `|+` with the content indented two past the parent, or `None` when a
/// literal block could not carry the string exactly.
fn literal_block(s: &str, parent: usize) -> Option<String> {
    if !s.contains('\n') || s.chars().any(|c| needs_escape(c) || c == '\t') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    if body.is_empty() {
        return None;
    }
    let lines: Vec<&str> = body.split('\n').collect();
    // Trailing blanks are invisible and easy to lose; leading-blank-only lines confuse
    // indentation detection. Quote those.
    if lines.iter().any(|l| l.ends_with(' '))
        || lines.iter().any(|l| !l.is_empty() && l.trim().is_empty())
    {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let first_content = lines.iter().find(|l| !l.is_empty())?;
    let indicator = if first_content.starts_with(' ') {
        "2"
    } else {
        ""
    };
    let mut out = format!("|{indicator}{chomp}\n");
    let content_indent = parent + 2;
    for (i, line) in lines.iter().enumerate() {
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', content_indent));
            out.push_str(line);
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
    // Keep chomping: the extra newlines are empty lines.
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
