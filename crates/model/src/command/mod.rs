//! The command layer every front-end runs: the render and validate flags to a
//! [`RenderRequest`], and the core's [`RenderResponse`] to what the command prints
//! ([`Outcome`]: stdout, stderr, exit code).
//!
//! The layer reads nothing itself. A front-end implements [`Environment`] over what it can
//! reach: the `matrix-render` CLI over files (each read bounded), the Helm 4 plugin over
//! stdin alone. Flags come in as [`Inputs`], from clap in the CLI or from [`words::parse`]
//! in a front-end that gets bare words.

use std::collections::BTreeMap;

use crate::api::{Format, RenderOptions, RenderRequest, SetFile};
use crate::load::NamedText;

mod outcome;
pub mod words;

pub use outcome::{
    Action, Outcome, Shown, Style, diagnostics_json, human, outcome, refused, show_only,
};

/// The flags `render`, `validate` and `plan` share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// `-f/--values FILE`, in order; `-` is stdin.
    pub values: Vec<String>,
    /// `--set PATH=VALUE`.
    pub set: Vec<String>,
    /// `--set-string PATH=VALUE`.
    pub set_string: Vec<String>,
    /// `--set-json PATH=JSON`.
    pub set_json: Vec<String>,
    /// `--set-file PATH=FILE`: the file is read through the [`Environment`].
    pub set_file: Vec<String>,
    /// `--static-dir DIR`.
    pub static_dir: Option<String>,
    /// `--format`: the manifests' format.
    pub format: Format,
    /// One document per object in the response (`--output-dir`, `--show-only`).
    pub split: bool,
    /// Ask the core for the plan (`matrix-render plan`).
    pub plan: bool,
    /// `-n`: the `namespace` setting, over the values and every `--set`.
    pub namespace: Option<String>,
}

/// An input the front-end cannot or will not read (exit 1, before the core runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable code: `unreadable-input`, `file-too-large`, `input-too-large`, `not-a-file`,
    /// `invalid-environment`, `invalid-set`, ...
    pub code: &'static str,
    /// The file, as given; empty when the problem is not a file's.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl Refusal {
    /// A refusal of `file` (empty: of no file in particular).
    #[must_use]
    pub fn new(code: &'static str, file: &str, message: String) -> Self {
        Self {
            code,
            file: file.to_owned(),
            message,
        }
    }

    /// The refusal as printed on stderr: `error[code]: file: message`.
    #[must_use]
    pub fn report(&self) -> String {
        format!("error[{}]: {self}\n", self.code)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// What a front-end can reach.
pub trait Environment {
    /// The text of a values file or of a `--set-file` file (`-`: stdin).
    ///
    /// # Errors
    /// The file cannot be read, is too large, or this front-end reads no such file.
    fn read(&mut self, file: &str) -> Result<String, Refusal>;

    /// The files of `--static-dir DIR`, keyed `pages/<name>` and `static-assets/<name>`.
    ///
    /// # Errors
    /// The folder cannot be read, or this front-end reads no folder.
    fn static_files(&mut self, dir: &str) -> Result<BTreeMap<String, String>, Refusal>;

    /// The name diagnostics give a values file (`-` may be named `stdin`).
    fn name(&self, file: &str) -> String {
        file.to_owned()
    }

    /// Why this front-end refuses `--flag VALUE` as it parses the words, if it does.
    fn refuses(&self, _flag: &str, _value: &str) -> Option<String> {
        None
    }
}

/// The request for `inputs`: the static folder first, then the values files in order, then
/// the `--set-file` files, each read through `env`; `-n` is the last `--set-string`.
///
/// # Errors
/// The first input that cannot be read, or a malformed `--set-file`.
pub fn request(inputs: &Inputs, env: &mut dyn Environment) -> Result<RenderRequest, Refusal> {
    let files = match &inputs.static_dir {
        Some(dir) => env.static_files(dir)?,
        None => BTreeMap::new(),
    };
    let mut values = Vec::with_capacity(inputs.values.len());
    for file in &inputs.values {
        values.push(NamedText {
            name: env.name(file),
            text: env.read(file)?,
        });
    }
    let mut set_file = Vec::with_capacity(inputs.set_file.len());
    for arg in &inputs.set_file {
        let Some((key, file)) = arg.split_once('=') else {
            return Err(Refusal::new(
                "invalid-set",
                "",
                format!("--set-file {arg}: write `path.to.key=FILE`"),
            ));
        };
        set_file.push(SetFile {
            key: key.to_owned(),
            file: file.to_owned(),
            text: env.read(file)?,
        });
    }
    let mut set_string = inputs.set_string.clone();
    if let Some(namespace) = &inputs.namespace {
        // `-n` wins over the values and every `--set`.
        set_string.push(format!("namespace={namespace}"));
    }
    Ok(RenderRequest {
        values,
        set: inputs.set.clone(),
        set_string,
        set_json: inputs.set_json.clone(),
        set_file,
        files,
        options: RenderOptions {
            format: inputs.format,
            split: inputs.split,
            plan: inputs.plan,
            migrate: None,
        },
        problems: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
