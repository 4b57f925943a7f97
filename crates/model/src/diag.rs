//! The one diagnostic type every front-end receives.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config cannot be rendered.
    Error,
    /// Legal but risky; rendering goes on.
    Warning,
}

/// A finding about the input, located as precisely as the input allows.
///
/// `line` and `column` are 1-based; `column` counts Unicode scalar values. Messages never
/// contain a secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable, kebab-case identifier of the rule, e.g. `unknown-key`.
    pub code: String,
    /// Dotted config path, e.g. `synapse.registration.enabled`; empty for a whole document.
    pub path: String,
    /// Values file name, `--set` / `--set-string` for flags, absent when not attributable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Other config paths involved; locates the diagnostic when `path` itself was not set
    /// in any file (e.g. a port collision where only one side was configured).
    #[serde(skip)]
    pub related: Vec<String>,
}

impl Diagnostic {
    /// An error with no location yet.
    #[must_use]
    pub fn error(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code: code.to_owned(),
            path: path.into(),
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            related: Vec::new(),
        }
    }

    /// A warning with no location yet.
    #[must_use]
    pub fn warning(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, path, message)
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Names other paths involved, used for the location when `path` has none.
    #[must_use]
    pub fn related(mut self, paths: &[&str]) -> Self {
        self.related = paths.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// Sets the file, line and column.
    #[must_use]
    pub fn at(mut self, file: impl Into<String>, line: Option<u32>, column: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self.column = column;
        self
    }

    /// Whether this is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A one-line count, e.g. `2 errors, 1 warning`: the same words in every front-end.
#[must_use]
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
