//! Diagnostics for people (rustc/ruff style, with the offending line) and for machines (JSON).
//!
//! Both forms are the core's command layer's ([`matrix_render_model::command`]), shared with
//! the Helm plugin: every line the people's form shows is masked with the secrets of the
//! request.

use matrix_render_model::api::RenderRequest;
use matrix_render_model::mask::Secrets;
use matrix_render_model::{Diagnostic, NamedText};

/// Formats diagnostics with snippets of the request's values documents, with no secret
/// value of the request in them (the command layer's report).
#[must_use]
pub fn human(diagnostics: &[Diagnostic], request: &RenderRequest) -> String {
    matrix_render_model::command::human(diagnostics, request)
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
pub use matrix_render_model::command::diagnostics_json as json;

pub use matrix_render_model::diag::summary;
