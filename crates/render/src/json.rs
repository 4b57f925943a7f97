//! The RenderResponse as JSON, byte for byte what `serde_json::to_string` writes, with the
//! manifest text escaped eight bytes at a time.
//!
//! The manifests are most of a response (52 KB for the seed stack), and serde_json escapes a
//! string byte by byte through a lookup table. Embedded config files are long runs of text
//! with a line break every few dozen bytes, so skipping a whole word that needs no escape
//! makes encoding the response about four times cheaper. The other fields go through
//! serde_json, and a test compares the whole encoding with serde_json's. Measured against
//! `serde_json::to_string` in BENCHMARKS.md ("Hand-written serializers"): 1.5x fewer
//! instructions for the seed stack's response (`examples/serialize.rs`).

use std::fmt::Write as _;

use matrix_render_model::api::{ObjectInfo, RenderResponse};

/// Encodes a response exactly as `serde_json::to_string` does.
#[must_use]
pub fn response(response: &RenderResponse) -> String {
    let RenderResponse {
        ok,
        output,
        diagnostics,
        objects,
        plan,
        migration,
    } = response;
    // Escaping adds about one byte in sixteen to manifests (a `\n` per line); an object's
    // entry is a few hundred bytes besides its document, a diagnostic about as much. One
    // buffer, sized once, instead of doubling past 52 KB.
    let escaped = |text: &str| text.len() + text.len() / 16;
    let mut out = String::with_capacity(
        escaped(output)
            + objects
                .iter()
                .map(|o| 256 + o.document.as_deref().map_or(0, escaped))
                .sum::<usize>()
            + diagnostics.len() * 512
            + if plan.is_some() { 8192 } else { 0 }
            + migration
                .as_ref()
                .map_or(0, |m| escaped(&m.script) + escaped(&m.report) + 4096)
            + 1024,
    );
    out.push_str(if *ok {
        "{\"ok\":true,\"output\":"
    } else {
        "{\"ok\":false,\"output\":"
    });
    string(&mut out, output);
    out.push_str(",\"diagnostics\":");
    push_serde(&mut out, diagnostics);
    out.push_str(",\"objects\":[");
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match &object.document {
            // The split documents are as long as the output: escape them here too.
            Some(document) => {
                let head = ObjectInfo {
                    api_version: object.api_version.clone(),
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                    namespace: object.namespace.clone(),
                    component: object.component.clone(),
                    file_name: object.file_name.clone(),
                    document: None,
                };
                let mut text = String::new();
                push_serde(&mut text, &head);
                // `document` is the last field, so it goes before the closing brace.
                text.pop();
                out.push_str(&text);
                out.push_str(",\"document\":");
                string(&mut out, document);
                out.push('}');
            }
            None => push_serde(&mut out, object),
        }
    }
    out.push(']');
    if let Some(plan) = plan {
        out.push_str(",\"plan\":");
        push_serde(&mut out, plan);
    }
    if let Some(migration) = migration {
        out.push_str(",\"migration\":");
        push_serde(&mut out, migration);
    }
    out.push('}');
    out
}

fn push_serde<T: serde::Serialize>(out: &mut String, value: &T) {
    // Serializing plain data into memory cannot fail: no map has non-string keys.
    if let Ok(text) = serde_json::to_string(value) {
        out.push_str(&text);
    }
}

/// Bytes JSON must escape: control characters, `"` and `\`.
const fn escapes(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The bytes of the little-endian word `w` that need an escape, each marked by its high bit:
/// a byte below 0x20, or equal to `"` or `\` (the classic "has zero byte" test applied to
/// `w` and to `w` XOR the byte). The lowest mark is exact; marks above it may be false, as
/// a borrow can carry into the next byte, so only the lowest one is used.
const fn escape_marks(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * b'"' as u64);
    let backslash = w ^ (ONES * b'\\' as u64);
    (below_space
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGH
}

/// The offset of the next byte at or after `i` that needs an escape, or `bytes.len()`.
fn next_escape(bytes: &[u8], mut i: usize) -> usize {
    while let Some(word) = bytes.get(i..i + 8) {
        let mut le = [0; 8];
        le.copy_from_slice(word);
        let marks = escape_marks(u64::from_le_bytes(le));
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !escapes(bytes[i]) {
        i += 1;
    }
    i
}

/// Appends `s` as a JSON string literal, with serde_json's escapes.
fn string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start);
        // Runs end only before ASCII bytes, so they are whole characters.
        out.push_str(&s[start..i]);
        let Some(&byte) = bytes.get(i) else {
            break;
        };
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        start = i + 1;
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_render_model::api::{Migration, Plan};
    use matrix_render_model::diag::Diagnostic;

    fn serde(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_default()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_byte = String::new();
        for c in (0_u8..0x80).map(char::from) {
            every_byte.push(c);
        }
        let cases = [
            "",
            "a",
            "plain text longer than a word",
            "\"",
            "\\",
            "line\nline\n",
            "x\u{7f}y é ü 漢字 \u{2028} 😀\u{0}\u{1f}",
            "eight!!\"",
            "seven!\"x",
            &every_byte,
            &"0123456789abcdef\n".repeat(7),
        ];
        for case in cases {
            // Every alignment of every special character within a word.
            for shift in 0..9 {
                let s = format!("{}{case}", "-".repeat(shift));
                let mut ours = String::new();
                string(&mut ours, &s);
                assert_eq!(ours, serde(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn the_word_test_finds_the_first_byte_the_byte_test_finds() {
        // Every byte value at every position of a word, among bytes that need no escape and
        // bytes that nearly do.
        for fill in [b'a', 0x20, b'#', b'[', b']', 0x7f, 0x80, 0xff] {
            for position in 0..8 {
                for byte in 0..=u8::MAX {
                    let mut word = [fill; 8];
                    word[position] = byte;
                    let marks = escape_marks(u64::from_le_bytes(word));
                    let first = word.iter().position(|&b| escapes(b));
                    assert_eq!(
                        (marks != 0).then(|| (marks.trailing_zeros() / 8) as usize),
                        first,
                        "{word:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn responses_are_encoded_as_serde_json_encodes_them() {
        let object = |document: Option<&str>| ObjectInfo {
            api_version: "v1".to_owned(),
            kind: "ConfigMap".to_owned(),
            name: "a\"b".to_owned(),
            namespace: document.map(|_| "matrix".to_owned()),
            component: "synapse".to_owned(),
            file_name: "01-configmap-a.yaml".to_owned(),
            document: document.map(str::to_owned),
        };
        let responses = [
            RenderResponse::default(),
            RenderResponse {
                ok: true,
                output: "---\nkind: ConfigMap\ndata:\n  a: \"x\\ty\"\n".to_owned(),
                diagnostics: vec![Diagnostic::warning("w", "a.b", "say \"hi\"\n")],
                objects: vec![object(None), object(Some("kind: x\n")), object(None)],
                plan: Some(Plan::default()),
                migration: Some(Migration {
                    release: "matrix".to_owned(),
                    namespace: "matrix".to_owned(),
                    objects: Vec::new(),
                    report: "changed  Deployment/synapse\n".to_owned(),
                    script: "#!/bin/sh\necho \"ok\"\n".to_owned(),
                }),
            },
            RenderResponse {
                ok: false,
                output: String::new(),
                diagnostics: vec![Diagnostic::error("e", "", "bad\u{1}")],
                objects: Vec::new(),
                plan: None,
                migration: None,
            },
        ];
        for r in responses {
            assert_eq!(response(&r), serde_json::to_string(&r).unwrap_or_default());
        }
    }
}
