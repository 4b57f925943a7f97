//! The command line as bare words, for a front-end that has no argument parser of its own
//! (the Helm 4 plugin): `[render|validate|schema|version|help] [flags]`, with the flags of
//! [`super::Inputs`] spelled as the CLI spells them. `--flag=value` and `--flag value` both
//! work; the [`super::Environment`] may refuse a flag it cannot serve.

use crate::api::Format;

use super::{Environment, Inputs, Shown};

/// The command named by the first word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Command {
    /// Print the manifests (the default).
    #[default]
    Render,
    /// Report only.
    Validate,
    /// Print the values JSON Schema.
    Schema,
    /// Print the version and the default images.
    Version,
    /// Print the usage.
    Help,
}

/// A parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub command: Command,
    /// The inputs of `render` and `validate`.
    pub inputs: Inputs,
    /// `-s/--show-only`.
    pub show_only: Vec<String>,
    /// `--output-dir`.
    pub output_dir: Option<String>,
    /// How diagnostics are shown (`--format json`: as JSON).
    pub shown: Shown,
}

/// Parses `args`, the words after the program's name.
///
/// # Errors
/// An unknown command or flag, a flag without its value, a bad `--format`, a word out of
/// place, or a flag that `env` refuses; the message names the word.
pub fn parse(args: &[String], env: &dyn Environment) -> Result<Invocation, String> {
    let mut words = args.iter().map(String::as_str).peekable();
    let mut command = match words.peek().copied() {
        Some("render") => Some(Command::Render),
        Some("validate") => Some(Command::Validate),
        Some("schema") => Some(Command::Schema),
        Some("version") => Some(Command::Version),
        Some("help") => Some(Command::Help),
        Some(word) if !word.starts_with('-') => {
            return Err(format!(
                "unknown command `{word}`: use render, validate, schema or version"
            ));
        }
        _ => None,
    };
    if command.is_some() {
        words.next();
    }
    let mut found = Invocation::default();
    let inputs = &mut found.inputs;
    while let Some(word) = words.next() {
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ if word == "-f-" => ("-f", Some("-")),
            _ => (word, None),
        };
        let mut value = || {
            let value = inline
                .or_else(|| words.next())
                .ok_or_else(|| format!("`{name}` needs a value"))?;
            match env.refuses(name, value) {
                Some(refusal) => Err(refusal),
                None => Ok(value.to_owned()),
            }
        };
        match name {
            "-h" | "--help" => command = Some(Command::Help),
            "--version" => command = Some(Command::Version),
            "--set" => inputs.set.push(value()?),
            "--set-string" => inputs.set_string.push(value()?),
            "--set-json" => inputs.set_json.push(value()?),
            "--set-file" => inputs.set_file.push(value()?),
            "-f" | "--values" => inputs.values.push(value()?),
            "--static-dir" => inputs.static_dir = Some(value()?),
            "--output-dir" => found.output_dir = Some(value()?),
            "-n" | "--namespace" => inputs.namespace = Some(value()?),
            "-s" | "--show-only" => found.show_only.push(value()?),
            "--format" => match value()?.as_str() {
                "yaml" => (inputs.format, found.shown) = (Format::Yaml, Shown::Human),
                "json" => (inputs.format, found.shown) = (Format::Json, Shown::Json),
                other => return Err(format!("`--format {other}`: use yaml or json")),
            },
            _ if word.starts_with('-') => return Err(format!("unknown flag `{word}`")),
            _ => return Err(format!("unexpected argument `{word}`")),
        }
    }
    found.command = command.unwrap_or_default();
    inputs.split = found.output_dir.is_some() || !found.show_only.is_empty();
    Ok(found)
}
