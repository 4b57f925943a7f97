//! Diagnostics for people (rustc/ruff style, with the offending line) and for machines (JSON).
//!
//! The people's form is the core's ([`matrix_render_model::report`]), shared with the Helm
//! plugin: every line it shows is masked with the secrets of the request.

use matrix_render_model::api::RenderRequest;
use matrix_render_model::mask::Secrets;
use matrix_render_model::{Diagnostic, NamedText};

/// Formats diagnostics with snippets of the request's values documents, with no secret
/// value of the request in them.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], request: &RenderRequest) -> String {
    human_of(
        diagnostics,
        &request.values,
        &request.set,
        &request.set_string,
    )
}

/// [`human`] for values documents and flags that are not (yet) a request.
#[must_use]
pub fn human_of(
    diagnostics: &[Diagnostic],
    values: &[NamedText],
    set: &[String],
    set_string: &[String],
) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let secrets = Secrets::collect(values, set, set_string);
    matrix_render_model::report::human(diagnostics, values, &secrets)
}

/// Machine-readable diagnostics.
#[must_use]
pub fn json(diagnostics: &[Diagnostic]) -> String {
    let mut text = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
    text.push('\n');
    text
}

pub use matrix_render_model::diag::summary;
