//! The browser flavour: wasm-bindgen exports for the preview page in `web/`
//! (`scripts/build-web.sh` builds both into `dist/web/`).
//!
//! | export (JS) | arguments | returns |
//! |---|---|---|
//! | `render` | RenderRequest JSON | RenderResponse JSON, exactly `matrix_render_renderer::render_json` |
//! | `version` | | the crate version, e.g. `0.1.0` |
//! | `panicMessage` | | the message of the panic that trapped the last call (empty when none) |
//! | `utf16Column` | text, line, column | a diagnostic's column as a JavaScript string index counts it |
//!
//! An invalid config, or a request that is not JSON, is not an error of the call: it comes
//! back as diagnostics with `ok: false`. A panic in the core is a bug: the module is built
//! with `panic = "abort"`, so the call traps (a `WebAssembly.RuntimeError` in the page) after
//! the panic hook has stored the message for `panicMessage`. The page shows it as
//! `internal error: <message>` and loads a fresh instance for the next render.
//!
//! Diagnostics locate problems by 1-based line and column, the column counting Unicode scalar
//! values (`matrix_render_renderer::model::Diagnostic`). Editors in the browser index strings
//! in UTF-16 code units, where a character outside the Basic Multilingual Plane (an emoji)
//! takes two; `utf16Column` converts, reading the same text the request carried.
//!
//! The functions here hold the whole behaviour and build on every target (where they are
//! unit-tested); the `#[wasm_bindgen]` exports that wrap them exist on wasm32 only.

use std::sync::{Mutex, Once};

static PANIC_MESSAGE: Mutex<String> = Mutex::new(String::new());
static HOOK: Once = Once::new();

/// Keeps the message of a panic for [`panic_message`]; the trap follows it.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut slot) = PANIC_MESSAGE.lock() {
                *slot = info.to_string();
            }
            previous(info);
        }));
    });
}

/// `render`: the RenderResponse JSON for a RenderRequest JSON, as every front-end gets it.
#[must_use]
pub fn render(request_json: &str) -> String {
    install_panic_hook();
    matrix_render_renderer::render_json(request_json.as_bytes())
}

/// `version`: the crate version.
#[must_use]
pub const fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `panicMessage`: the message of the last panic (empty when there was none).
#[must_use]
pub fn panic_message() -> String {
    PANIC_MESSAGE
        .lock()
        .map(|message| message.clone())
        .unwrap_or_default()
}

/// `utf16Column`: the 1-based column, in UTF-16 code units, of the 1-based `column` (in
/// Unicode scalar values) on the 1-based `line` of `text`.
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as YAML counts them. A column past the end of
/// its line (a diagnostic just after the last character) keeps its distance from that end; a
/// line past the end of the text, or line or column 0, returns `column` unchanged.
#[must_use]
pub fn utf16_column(text: &str, line: u32, column: u32) -> u32 {
    let Some(index) = line.checked_sub(1) else {
        return column;
    };
    let Some(found) = text
        .split('\n')
        .flat_map(|l| {
            // A lone `\r` ends a line too; the `\r` of `\r\n` is then an empty last piece.
            let mut pieces: Vec<&str> = l.split('\r').collect();
            if l.ends_with('\r') {
                pieces.pop();
            }
            pieces
        })
        .nth(usize::try_from(index).unwrap_or(usize::MAX))
    else {
        return column;
    };
    let Some(before) = column.checked_sub(1) else {
        return column;
    };
    let before = usize::try_from(before).unwrap_or(usize::MAX);
    let mut units = 0_usize;
    let mut chars = 0_usize;
    for c in found.chars().take(before) {
        units += c.len_utf16();
        chars += 1;
    }
    let past_end = before - chars;
    u32::try_from(units + past_end + 1).unwrap_or(u32::MAX)
}

/// The exports, in wasm-bindgen's calling convention (strings in, strings out).
#[cfg(target_arch = "wasm32")]
mod exports {
    use wasm_bindgen::prelude::wasm_bindgen;

    /// The RenderResponse JSON for a RenderRequest JSON.
    #[wasm_bindgen(js_name = render)]
    #[must_use]
    pub fn render(request_json: &str) -> String {
        super::render(request_json)
    }

    /// The crate version.
    #[wasm_bindgen(js_name = version)]
    #[must_use]
    pub fn version() -> String {
        super::version().to_owned()
    }

    /// The message of the panic that trapped the last call, empty when none.
    #[wasm_bindgen(js_name = panicMessage)]
    #[must_use]
    pub fn panic_message() -> String {
        super::panic_message()
    }

    /// A diagnostic's column in UTF-16 code units.
    #[wasm_bindgen(js_name = utf16Column)]
    #[must_use]
    pub fn utf16_column(text: &str, line: u32, column: u32) -> u32 {
        super::utf16_column(text, line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::{panic_message, render, utf16_column, version};

    #[test]
    fn render_is_render_json() {
        let request = r#"{"values":[{"name":"values.yaml","text":"global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  turn_shared_secret: web-test-turn-secret-0123456789\nsynapse:\n  registration_shared_secret: web-test-registration-secret-0123456789\n  recaptcha:\n    siteKey: k\n    secretKey: web-test-recaptcha-secret\n"}],"options":{"split":true}}"#;
        let got = render(request);
        assert_eq!(got, matrix_render_renderer::render_json(request.as_bytes()));
        assert!(got.starts_with(r#"{"ok":true,"#), "{got}");
        // Not a request: an answer with a diagnostic, not a failed call.
        let bad = render("{not json");
        assert!(bad.starts_with(r#"{"ok":false,"#), "{bad}");
        assert!(bad.contains(r#""code":"invalid-request""#), "{bad}");
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn a_panic_leaves_its_message() {
        // The first render installs the hook.
        assert!(!render("{}").is_empty());
        let caught = std::panic::catch_unwind(|| {
            std::panic::panic_any("web flavour test panic".to_owned());
        });
        assert!(caught.is_err());
        assert!(
            panic_message().contains("web flavour test panic"),
            "{}",
            panic_message()
        );
    }

    #[test]
    fn columns_become_utf16_columns() {
        // `é` is one UTF-16 unit, the emoji (outside the BMP) two.
        let text = "a: 1\nname: \"é🎉\"  x: y\nb: 2\n";
        // Line 2: `name: "é🎉"  x` has `x` at column 13 in scalar values.
        let line = text.lines().nth(1).unwrap_or_default();
        let x = line.chars().position(|c| c == 'x').unwrap_or_default() + 1;
        assert_eq!(x, 13);
        assert_eq!(utf16_column(text, 2, 13), 14);
        // The JavaScript index of `x`, plus one, is what the editor needs.
        let js_index = line.encode_utf16().position(|u| u == u16::from(b'x'));
        assert_eq!(js_index, Some(13));
        // Before the non-ASCII characters nothing changes.
        assert_eq!(utf16_column(text, 2, 1), 1);
        assert_eq!(utf16_column(text, 2, 8), 8);
        // Just after `é`: the emoji starts at column 9 either way; after it, one more.
        assert_eq!(utf16_column(text, 2, 9), 9);
        assert_eq!(utf16_column(text, 2, 10), 11);
        // Other lines are unaffected.
        assert_eq!(utf16_column(text, 1, 4), 4);
        assert_eq!(utf16_column(text, 3, 3), 3);
    }

    #[test]
    fn columns_past_the_end_and_odd_line_breaks() {
        // Past the end of the line: the distance from its end is kept.
        assert_eq!(utf16_column("🎉\n", 1, 2), 3);
        assert_eq!(utf16_column("🎉\n", 1, 4), 5);
        // CRLF and lone CR end lines as in YAML.
        assert_eq!(utf16_column("a\r\n🎉 b\r\n", 2, 3), 4);
        assert_eq!(utf16_column("a\r🎉 b", 2, 3), 4);
        assert_eq!(utf16_column("a\r\n\r\n🎉b", 3, 2), 3);
        // Out of range: unchanged.
        assert_eq!(utf16_column("🎉", 5, 2), 2);
        assert_eq!(utf16_column("🎉", 0, 2), 2);
        assert_eq!(utf16_column("🎉", 1, 0), 0);
        assert_eq!(utf16_column("", 1, 1), 1);
    }
}
