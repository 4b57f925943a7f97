//! From the core's response to what a command prints.

use crate::api::{Format, ObjectInfo, RenderRequest, RenderResponse};
use crate::diag::{Diagnostic, summary};
use crate::mask::Secrets;

use super::Refusal;

/// What the command does with a valid render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print the manifests; with selectors (`--show-only`), only the objects they name.
    Render {
        /// `Kind/name` or an `--output-dir` file name, each matching at least one object.
        show_only: Vec<String>,
    },
    /// Report, and leave the output to the front-end (`--output-dir`, `plan`).
    Deliver {
        /// Whether the front-end writes files: a failure then says nothing was written.
        writes: bool,
    },
    /// Report only.
    Validate,
}

/// How diagnostics are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shown {
    /// For people, with the lines they point at ([`crate::report::human`]) on stderr.
    #[default]
    Human,
    /// As a JSON array: on stdout for `validate`, else on stderr.
    Json,
}

/// How a failed command says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Style {
    /// A closing line on stderr and exit code 1 (the CLI).
    #[default]
    Stderr,
    /// A one-line [`Outcome::message`] (a host that fails the call with it: Helm prints
    /// `Error: plugin error: <message>`).
    Message,
}

/// What a command prints, and how it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// For stdout.
    pub stdout: String,
    /// For stderr.
    pub stderr: String,
    /// 0 success, 1 invalid input.
    pub code: u8,
    /// With [`Style::Message`], why the command failed, on one line.
    pub message: Option<String>,
}

impl Outcome {
    /// Ends the command with `line`: on stderr (unless `quiet`) or as the message.
    fn fail(mut self, style: Style, line: String, quiet: bool) -> Self {
        self.code = 1;
        match style {
            Style::Stderr if !quiet => {
                self.stderr.push_str(&line);
                self.stderr.push('\n');
            }
            Style::Stderr => {}
            Style::Message => self.message = Some(line),
        }
        self
    }
}

/// The outcome of an input the front-end refused (the core did not run).
#[must_use]
pub fn refused(refusal: &Refusal, style: Style) -> Outcome {
    let out = Outcome {
        stderr: refusal.report(),
        code: 1,
        ..Outcome::default()
    };
    match style {
        Style::Stderr => out,
        Style::Message => Outcome {
            message: Some(format!("matrix-render: {refusal}")),
            ..out
        },
    }
}

/// The outcome of `response`, the core's answer to `request`: the diagnostics as `shown`
/// (every secret of the request masked), a closing summary, and for [`Action::Render`] the
/// manifests, taken out of `response`.
#[must_use]
pub fn outcome(
    action: &Action,
    shown: Shown,
    style: Style,
    request: &RenderRequest,
    response: &mut RenderResponse,
) -> Outcome {
    let mut out = Outcome::default();
    let diagnostics = &response.diagnostics;
    let json_on_stdout = *action == Action::Validate && shown == Shown::Json;
    if json_on_stdout {
        out.stdout = diagnostics_json(diagnostics);
    } else if !diagnostics.is_empty() {
        out.stderr = match shown {
            Shown::Json => diagnostics_json(diagnostics),
            Shown::Human => human(diagnostics, request),
        };
    }
    if !response.ok {
        let what = match action {
            Action::Render { .. } | Action::Deliver { writes: true } => "; nothing was written",
            Action::Deliver { writes: false } | Action::Validate => "",
        };
        let line = format!("matrix-render: {}{what}", summary(diagnostics));
        return out.fail(style, line, json_on_stdout);
    }
    match action {
        Action::Validate if !json_on_stdout => {
            out.stderr.push_str(&format!(
                "matrix-render: the config is valid ({}; {} objects)\n",
                summary(diagnostics),
                response.objects.len()
            ));
        }
        Action::Validate | Action::Deliver { .. } => {}
        Action::Render {
            show_only: selectors,
        } if selectors.is_empty() => {
            out.stdout = std::mem::take(&mut response.output);
        }
        Action::Render {
            show_only: selectors,
        } => match show_only(&response.objects, selectors, request.options.format) {
            Ok(text) => out.stdout = text,
            Err(e) => {
                out.stderr
                    .push_str(&format!("error[no-such-object]: {e}\n"));
                out.code = 1;
                if style == Style::Message {
                    out.message = Some(format!("matrix-render: {e}"));
                }
            }
        },
    }
    out
}

/// Diagnostics for people, with snippets of the request's values, no secret value of the
/// request in them.
#[must_use]
pub fn human(diagnostics: &[Diagnostic], request: &RenderRequest) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let secrets = Secrets::of_request(request);
    crate::report::human(diagnostics, &request.values, &secrets)
}

/// Diagnostics for machines: a JSON array, with a newline.
#[must_use]
pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> String {
    let mut text = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
    text.push('\n');
    text
}

/// The objects that `selectors` name, as Helm's `--show-only`: `Kind/name` (the kind in any
/// case) or an `--output-dir` file name; a YAML stream, or a JSON List with
/// [`Format::Json`]. Needs a response with one document per object (`split`).
///
/// # Errors
/// The selectors that match no object, with the objects there are.
pub fn show_only(
    objects: &[ObjectInfo],
    selectors: &[String],
    format: Format,
) -> Result<String, String> {
    let matches = |o: &ObjectInfo, selector: &str| {
        selector == o.file_name
            || selector
                .split_once('/')
                .is_some_and(|(kind, name)| kind.eq_ignore_ascii_case(&o.kind) && name == o.name)
    };
    let missing: Vec<&str> = selectors
        .iter()
        .filter(|s| !objects.iter().any(|o| matches(o, s)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let known: Vec<String> = objects
            .iter()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .collect();
        return Err(format!(
            "no object matches {} (the render has {})",
            missing.join(", "),
            known.join(", ")
        ));
    }
    let chosen = objects
        .iter()
        .filter(|o| selectors.iter().any(|s| matches(o, s)))
        .filter_map(|o| o.document.as_deref());
    Ok(match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = chosen
                .filter_map(|d| serde_json::from_str(d).ok())
                .collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Yaml | Format::Krm => chosen.collect(),
    })
}
