//! Diagnostics for people, rustc/ruff style with the offending line, the same in every
//! front-end that shows them (the CLI, the Helm plugin).
//!
//! Nothing secret and nothing that drives a terminal gets through: every line is masked with
//! the request's [`Secrets`] (and a line of a secret-named file, or the value after a
//! secret-looking key, is hidden even where the file did not parse), control characters
//! become U+FFFD, and long lines and messages are cut around what they point at.

use std::fmt::Write as _;

use crate::diag::{Diagnostic, Severity};
use crate::load::NamedText;
use crate::mask::{MASK, Secrets, is_secret_key};

/// Most characters of a source line shown; a longer one is cut around the column.
pub const MAX_LINE_CHARS: usize = 160;

/// Most characters of a message, hint, path or file name shown; a longer one loses its
/// middle.
pub const MAX_TEXT_CHARS: usize = 400;

/// Formats diagnostics with the lines of `sources` they point at.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], sources: &[NamedText], secrets: &Secrets) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let text = |s: &str| shown_text(&secrets.mask(s));
        let _ = writeln!(out, "{level}[{}]: {}", text(&d.code), text(&d.message));
        let gutter = d.line.map_or(1, |l| l.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(file) = &d.file {
            let source = sources.iter().find(|s| &s.name == file);
            let file = match source {
                Some(_) => shown_text(file),
                None => text(file),
            };
            match (d.line, d.column) {
                (Some(line), Some(col)) => {
                    let _ = writeln!(out, "{pad}--> {file}:{line}:{col}");
                    let text = source.and_then(|s| {
                        let index = usize::try_from(line).ok()?.checked_sub(1)?;
                        Some((s, s.text.lines().nth(index)?))
                    });
                    if let Some((source, text)) = text {
                        let whole = secrets.is_secret_document(&source.name);
                        let col0 = (col as usize).saturating_sub(1);
                        // Masked before the cut to the window, so that no cut leaves part
                        // of a secret; far enough around the column for any secret to fit.
                        let (text, col0) = around(text, col0, PRE_CUT_CHARS);
                        let masked = hide_secret_value(&secrets.mask(&text), whole);
                        let (shown, col0) = window(&masked, col0);
                        let shown = shown_line(&shown);
                        let width = token_width(&shown, col0);
                        let _ = writeln!(out, "{pad} |");
                        let _ = writeln!(out, "{line} | {shown}");
                        let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col0), "^".repeat(width));
                    }
                }
                (Some(line), None) => {
                    let _ = writeln!(out, "{pad}--> {file}:{line}");
                }
                _ => {
                    let _ = writeln!(out, "{pad}--> {file}");
                }
            }
        }
        if !d.path.is_empty() {
            let _ = writeln!(out, "{pad} = path: {}", text(&d.path));
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "{pad} = hint: {}", text(hint));
        }
        out.push('\n');
    }
    out
}

/// How far around the column a long line is masked before it is cut to the window.
const PRE_CUT_CHARS: usize = 8192;

/// At most `radius` characters on each side of `col0`, and the column in them.
fn around(line: &str, col0: usize, radius: usize) -> (String, usize) {
    let start = col0.saturating_sub(radius);
    if start == 0 && line.len() <= radius * 2 {
        return (line.to_owned(), col0);
    }
    let shown: String = line.chars().skip(start).take(radius * 2).collect();
    let prefix = if start > 0 { "…" } else { "" };
    (
        format!("{prefix}{shown}"),
        col0 - start + usize::from(start > 0),
    )
}

/// A message, hint, path or file name as shown: control characters (but line feeds) as
/// U+FFFD, and at most [`MAX_TEXT_CHARS`] characters.
fn shown_text(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| match c {
            '\n' => '\n',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    let count = clean.chars().count();
    if count <= MAX_TEXT_CHARS {
        return clean;
    }
    let head = MAX_TEXT_CHARS * 3 / 4;
    let tail = MAX_TEXT_CHARS - head;
    let start: String = clean.chars().take(head).collect();
    let end: String = clean.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// A source line as shown: one character for one, so the caret stays under its column; no
/// control character but a tab reaches the terminal.
fn shown_line(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => '\t',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// At most [`MAX_LINE_CHARS`] characters of `line` around `col0` (0-based), with `…` where it
/// was cut, and the column in what is shown.
fn window(line: &str, col0: usize) -> (String, usize) {
    let count = line.chars().count();
    let col0 = col0.min(count);
    if count <= MAX_LINE_CHARS {
        return (line.to_owned(), col0);
    }
    let before = MAX_LINE_CHARS / 3;
    let start = col0.saturating_sub(before);
    let end = (start + MAX_LINE_CHARS).min(count);
    let mut shown = String::new();
    let mut column = col0 - start;
    if start > 0 {
        shown.push('…');
        column += 1;
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < count {
        shown.push('…');
    }
    (shown, column)
}

/// The value after a key that looks secret (`password: ...`) hidden, for a line whose values
/// the masking may not know (a file that did not parse); all of a line of a secret-named
/// file but an identifier-like key.
fn hide_secret_value(line: &str, whole: bool) -> String {
    let indent = line.len() - line.trim_start().len();
    let (lead, body) = line.split_at(indent);
    let item = if body.starts_with("- ") { "- " } else { "" };
    let body = &body[item.len()..];
    let Some((key, value)) = body.split_once(':') else {
        return if whole && !body.trim().is_empty() {
            format!("{lead}{item}{MASK}")
        } else {
            line.to_owned()
        };
    };
    let bare = key.trim().trim_matches(['"', '\'']);
    let identifier = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if whole && !identifier {
        return format!("{lead}{item}{MASK}");
    }
    // Without a trailing comment: `secret: "" # set it elsewhere` shows an empty secret.
    let value = match value.find(" #") {
        Some(comment) => &value[..comment],
        None => value,
    }
    .trim();
    let hidden = value.is_empty()
        || value == MASK
        || value.trim_matches(['"', '\'']) == MASK
        || value == "\"\""
        || value == "''"
        || (!whole && value.starts_with(['{', '[', '|', '>', '&', '*', '#']));
    if (whole || (identifier && is_secret_key(bare))) && !hidden {
        format!("{lead}{item}{key}: {MASK}")
    } else {
        line.to_owned()
    }
}

/// The width of the token starting at `col0`: a key up to its `:`, or a value to the end of
/// the line (without a trailing comment).
fn token_width(line: &str, col0: usize) -> usize {
    let rest: String = line.chars().skip(col0).collect();
    let end = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(str::len))
        .or_else(|| rest.find(" #"))
        .unwrap_or(rest.trim_end().len());
    rest[..end].chars().count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Vec<NamedText> {
        vec![NamedText {
            name: name.to_owned(),
            text: text.to_owned(),
        }]
    }

    #[test]
    fn snippet_points_at_the_key() {
        let d = Diagnostic::error("unknown-key", "a.enabeld", "unknown key `enabeld` in `a`")
            .at("v.yaml", Some(2), Some(3))
            .with_hint("did you mean `enabled`?");
        let sources = source("v.yaml", "a:\n  enabeld: true\n");
        assert_eq!(
            human(&[d], &sources, &Secrets::default()),
            "error[unknown-key]: unknown key `enabeld` in `a`\n --> v.yaml:2:3\n  |\n2 |   enabeld: true\n  |   ^^^^^^^\n  = path: a.enabeld\n  = hint: did you mean `enabled`?\n\n"
        );
    }

    #[test]
    fn lines_after_secret_keys_are_hidden_even_unparsed() {
        assert_eq!(
            hide_secret_value("  registration_shared_secret: \"hunter2hunter2", false),
            "  registration_shared_secret: ********"
        );
        assert_eq!(
            hide_secret_value("    secret: abc", false),
            "    secret: ********"
        );
        assert_eq!(
            hide_secret_value("  enabled: true", false),
            "  enabled: true"
        );
        // An empty secret is shown as it is written.
        assert_eq!(hide_secret_value("  secret: \"\"", false), "  secret: \"\"");
        assert_eq!(
            hide_secret_value("  secret: '' # set it in .secrets.yaml", false),
            "  secret: '' # set it in .secrets.yaml"
        );
        assert_eq!(
            hide_secret_value("root:x:0:0:root:/root", true),
            "root: ********"
        );
        assert_eq!(hide_secret_value("a b c", true), MASK);
        assert_eq!(hide_secret_value("\"a b\": c", true), MASK);
    }

    #[test]
    fn long_lines_are_cut_around_the_column_and_controls_escaped() {
        let key = "k".repeat(900_000);
        let text = format!("a:\n  {key}: 1\n");
        let d = Diagnostic::error(
            "unknown-key",
            format!("a.{key}"),
            format!("unknown `{key}`"),
        )
        .at("v.yaml", Some(2), Some(3));
        let out = human(&[d], &source("v.yaml", &text), &Secrets::default());
        assert!(out.len() < 2_000, "{}", out.len());
        assert!(out.contains("2 |   kkk"), "{out}");
        let d = Diagnostic::error("unknown-key", "", "bad \u{1b}]0;title\u{7}").at(
            "--set \u{1b}[31m",
            None,
            None,
        );
        let out = human(&[d], &[], &Secrets::default());
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    }

    #[test]
    fn the_window_keeps_the_caret_under_its_column() {
        let line = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (shown, col) = window(&line, 500);
        assert_eq!(shown.chars().nth(col), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert!(shown.chars().count() <= MAX_LINE_CHARS + 2);
    }
}
