//! The Helm 4 `cli/v1` plugin: `helm matrix-render [render|validate|schema|version] ...`.
//!
//! Helm 4.1 calls the module's `helm_plugin_main` (an export of [`crate::extism`], in the
//! `wasm32-wasip1` build) with `{"extraArgs": [...]}` (the words after `helm matrix-render`,
//! minus the flags Helm keeps for itself: `--debug`, `-n`/`--namespace`, `--kube-context` and
//! the other `--kube-*`, `--kubeconfig`, `--registry-config`, `--repository-cache`,
//! `--repository-config`), connects the terminal's stdin, stdout and stderr through WASI, and
//! maps no host directory: the plugin can read no file, so the values come on stdin, several
//! values files as the `---` documents of that stream (the core merges them in order).
//!
//! The command is the core's command layer ([`matrix_render_renderer::model::command`]) over
//! an environment that is stdin alone; this file holds only what is the plugin's own: its
//! usage text and what it refuses.

use std::collections::BTreeMap;
use std::io::Read;

use matrix_render_renderer::model::command::words::{self, Command};
use matrix_render_renderer::model::command::{
    self, Action, Environment, Outcome, Refusal, Shown, Style,
};

/// The file diagnostics name for the values read on stdin.
pub const STDIN_NAME: &str = "stdin";

/// Largest stdin read: what the CLI reads in all for one render by default (the core
/// refuses a values text over 1 MiB with a diagnostic; this only bounds what is read).
const READ_LIMIT: u64 = matrix_render_renderer::model::limits::DEFAULT_INPUT_BYTES as u64;

/// `helm matrix-render --help`.
pub const HELP: &str = "\
Render the Matrix stack (Synapse, Element, coturn, MatrixRTC) to Kubernetes manifests.

Usage:
  helm matrix-render [render] [flags] < values.yaml
  helm matrix-render validate [flags] < values.yaml
  helm matrix-render schema
  helm matrix-render version

The values come on stdin: Helm gives this plugin no access to your files. Several values
files are YAML documents of one stream, separated by `---` lines; later ones win:

  awk 'FNR==1 {print \"---\"} {print}' values.yaml .secrets.yaml | helm matrix-render

Flags:
      --set PATH=VALUE         set a value (Helm syntax and typing); repeat for more
      --set-string PATH=VALUE  set a value as a string; repeat for more
      --set-json PATH=JSON     set a value from JSON (before every --set, as Helm does)
      --format yaml|json       render: the manifests as a YAML stream (default) or a JSON
                               List; validate: json prints the diagnostics as JSON on stdout
  -s, --show-only KIND/NAME    render only this object (e.g. Deployment/synapse); repeat
  -f, --values -               read the values from stdin (what happens anyway)
  -h, --help                   show this help

Helm keeps -n/--namespace, --kube-context and --debug for itself; set the namespace with
--set namespace=NAME. `matrix-render render` gives the same bytes for the same input.
";

/// The words after `helm matrix-render`, from the input message Helm sends
/// (`{"extraArgs": [...]}`; other fields, such as a later Helm's `settings`, are ignored).
///
/// # Errors
/// The input is not such a message.
pub fn args(input: &[u8]) -> Result<Vec<String>, String> {
    let message: serde_json::Value = serde_json::from_slice(input)
        .map_err(|e| format!("the Helm plugin input is not JSON: {e}"))?;
    match message.get("extraArgs") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(words)) => words
            .iter()
            .map(|w| {
                w.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("the Helm plugin input has a non-string extraArgs entry: {w}")
                })
            })
            .collect(),
        Some(other) => Err(format!(
            "the Helm plugin input's extraArgs is not a list: {other}"
        )),
    }
}

/// Stdin, and no file.
struct Stdin<'a>(&'a mut dyn Read);

/// Why a file cannot be read here.
fn no_files(file: &str) -> String {
    format!(
        "cannot read `{file}`: Helm gives this plugin no access to files; pipe the values on \
         stdin instead, several files separated by `---` lines"
    )
}

fn unavailable(flag: &str) -> String {
    format!(
        "`{flag}` is not available in the Helm plugin (it can reach no files); use the \
         matrix-render CLI"
    )
}

impl Environment for Stdin<'_> {
    fn read(&mut self, file: &str) -> Result<String, Refusal> {
        let refuse = |message: String| Refusal::new("unreadable-input", "", message);
        if file != "-" {
            return Err(refuse(no_files(file)));
        }
        let mut bytes = Vec::new();
        (&mut self.0)
            .take(READ_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| refuse(format!("cannot read stdin: {e}")))?;
        if bytes.len() as u64 > READ_LIMIT {
            return Err(refuse(format!(
                "stdin is larger than {} MiB; a values file is a few kilobytes",
                READ_LIMIT / 1024 / 1024
            )));
        }
        String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            refuse(format!(
                "stdin is not valid UTF-8 (byte offset {offset}); save the values as UTF-8"
            ))
        })
    }

    fn static_files(&mut self, _dir: &str) -> Result<BTreeMap<String, String>, Refusal> {
        Err(Refusal::new(
            "unreadable-input",
            "",
            unavailable("--static-dir"),
        ))
    }

    fn name(&self, file: &str) -> String {
        if file == "-" { STDIN_NAME } else { file }.to_owned()
    }

    fn refuses(&self, flag: &str, value: &str) -> Option<String> {
        match flag {
            "-f" | "--values" if value != "-" => Some(no_files(value)),
            "--static-dir" | "--output-dir" | "--set-file" => Some(unavailable(flag)),
            _ => None,
        }
    }
}

fn printed(stdout: String) -> Outcome {
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

/// One run of `helm matrix-render ARGS`, stdin read only for render and validate. The
/// streams follow `matrix-render render`/`validate`: the manifests on stdout; diagnostics
/// and the summary on stderr; a failure ends with [`Outcome::message`], which fails the call.
pub fn run(args: &[String], stdin: &mut dyn Read) -> Outcome {
    let mut env = Stdin(stdin);
    let mut invocation = match words::parse(args, &env) {
        Ok(invocation) => invocation,
        Err(message) => {
            return Outcome {
                code: 1,
                message: Some(format!(
                    "{message} (helm matrix-render --help shows the usage)"
                )),
                ..Outcome::default()
            };
        }
    };
    let action = match invocation.command {
        Command::Help => return printed(HELP.to_owned()),
        Command::Version => {
            return printed(matrix_render_renderer::model::versions::version_text());
        }
        Command::Schema => return printed(crate::extism::schema()),
        Command::Render => Action::Render {
            show_only: invocation.show_only,
        },
        Command::Validate => Action::Validate,
    };
    // Every `-f` is stdin (others are refused): read it once.
    invocation.inputs.values = vec!["-".to_owned()];
    let request = match command::request(&invocation.inputs, &mut env) {
        Ok(request) => request,
        Err(refusal) => return command::refused(&refusal, Style::Message),
    };
    let mut response = matrix_render_renderer::render(&request);
    let shown: Shown = invocation.shown;
    command::outcome(&action, shown, Style::Message, &request, &mut response)
}
