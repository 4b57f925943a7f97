//! `matrix-render krm`: a KRM function (kpt, kustomize). The ResourceList read on stdin goes
//! to the core as the one values document of a `format: krm` request; the core returns the
//! ResourceList to write, the stack added or, when it failed, the problems as results.
//! This module only builds the request and decides what goes to stdout, stderr and the exit
//! code.

use matrix_render_model::api::{Format, RenderOptions, RenderRequest, RenderResponse};
use matrix_render_model::{Diagnostic, NamedText};

use crate::report;

/// The name the ResourceList gets in diagnostics: it is stdin, not a package file.
pub const INPUT_NAME: &str = "<stdin>";

/// The request for a ResourceList text.
#[must_use]
pub fn request(text: String) -> RenderRequest {
    RenderRequest {
        values: vec![NamedText {
            name: INPUT_NAME.to_owned(),
            text,
        }],
        options: RenderOptions {
            format: Format::Krm,
            ..RenderOptions::default()
        },
        ..RenderRequest::default()
    }
}

/// What the function writes and how it exits.
#[derive(Debug)]
pub struct Outcome {
    /// The ResourceList: the package with the stack, or the results of a failure.
    pub stdout: String,
    /// Diagnostics for people, with snippets of the ResourceList text.
    pub stderr: String,
    /// 0 success (warnings included), 1 invalid input.
    pub code: u8,
}

/// Turns the core's response into the function's output. Warnings travel only as
/// `results` (kpt shows those, and would show stderr a second time); on a failure the core's
/// output is a ResourceList with the problems as `results`, as the KRM function specification
/// asks, and stderr explains them with the lines of the input.
#[must_use]
pub fn outcome(response: &RenderResponse, input: &str) -> Outcome {
    if response.ok {
        return Outcome {
            stdout: response.output.clone(),
            stderr: String::new(),
            code: 0,
        };
    }
    let sources = [NamedText {
        name: INPUT_NAME.to_owned(),
        text: input.to_owned(),
    }];
    let mut stderr = report::human_of(&response.diagnostics, &sources, &[], &[]);
    stderr.push_str(&format!(
        "matrix-render: {}; nothing was generated\n",
        report::summary(&response.diagnostics)
    ));
    Outcome {
        stdout: response.output.clone(),
        stderr,
        code: 1,
    }
}

/// The request when stdin could not be read at all (`code`: `unreadable-input`,
/// `input-too-large`, `not-a-file`): the core reports the problem as a failed ResourceList.
#[must_use]
pub fn unreadable(code: &str, message: &str) -> RenderRequest {
    RenderRequest {
        problems: vec![Diagnostic::error(code, "", message.to_owned()).at(INPUT_NAME, None, None)],
        ..request(String::new())
    }
}
