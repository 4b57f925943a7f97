//! Diagnostics for people (rustc/ruff style, with the offending line) and for machines (JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use matrix_render_model::config::SECRET_PATHS;
use matrix_render_model::{Diagnostic, Severity};

/// Formats diagnostics with source snippets. `sources` maps file names to their text.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], sources: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{level}[{}]: {}", d.code, d.message);
        let gutter = d.line.map_or(1, |l| l.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(file) = &d.file {
            match (d.line, d.column) {
                (Some(line), Some(col)) => {
                    let _ = writeln!(out, "{pad}--> {file}:{line}:{col}");
                    if let Some(text) = sources
                        .get(file)
                        .and_then(|t| t.lines().nth(line as usize - 1))
                    {
                        // One character for one, so the caret stays under its column: no
                        // control character of the file but a tab reaches the terminal.
                        let shown: String = mask_secret(text)
                            .chars()
                            .map(|c| match c {
                                '\t' => '\t',
                                c if c.is_control() => '\u{fffd}',
                                c => c,
                            })
                            .collect();
                        let col0 = (col as usize).saturating_sub(1);
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
            let _ = writeln!(out, "{pad} = path: {}", d.path);
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out.push('\n');
    }
    out
}

/// Machine-readable diagnostics.
#[must_use]
pub fn json(diagnostics: &[Diagnostic]) -> String {
    let mut text = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
    text.push('\n');
    text
}

pub use matrix_render_model::diag::summary;

/// The width of the token starting at `col0`: a key up to its `:`, or a value to the end of
/// the line (without a trailing comment).
fn token_width(line: &str, col0: usize) -> usize {
    let rest: String = line.chars().skip(col0).collect();
    let end = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(str::len))
        .or_else(|| rest.find(" #"))
        .unwrap_or(rest.trim_end().chars().count());
    rest.chars().take(end).count().max(1)
}

/// Hides the value on a line whose key names a secret, so snippets never show one.
fn mask_secret(line: &str) -> String {
    let Some((key, value)) = line.split_once(':') else {
        return line.to_owned();
    };
    let bare = key
        .trim()
        .trim_start_matches("- ")
        .trim_matches(['"', '\'']);
    let secret = SECRET_PATHS
        .iter()
        .any(|p| p.rsplit('.').next() == Some(bare));
    if secret && !value.trim().is_empty() {
        format!("{key}: \"********\"")
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_lines_are_masked() {
        assert_eq!(
            mask_secret("  registration_shared_secret: \"hunter2hunter2\""),
            "  registration_shared_secret: \"********\""
        );
        assert_eq!(mask_secret("    secret: abc"), "    secret: \"********\"");
        assert_eq!(mask_secret("  enabled: true"), "  enabled: true");
    }

    #[test]
    fn snippet_points_at_the_key() {
        let d = Diagnostic::error("unknown-key", "a.enabeld", "unknown key `enabeld` in `a`")
            .at("v.yaml", Some(2), Some(3))
            .with_hint("did you mean `enabled`?");
        let sources = BTreeMap::from([("v.yaml".to_owned(), "a:\n  enabeld: true\n".to_owned())]);
        assert_eq!(
            human(&[d], &sources),
            "error[unknown-key]: unknown key `enabeld` in `a`\n --> v.yaml:2:3\n  |\n2 |   enabeld: true\n  |   ^^^^^^^\n  = path: a.enabeld\n  = hint: did you mean `enabled`?\n\n"
        );
    }
}
