//! The Extism flavour: exports for any Extism host (docs/extism.md has the ABI).
//!
//! | export | input | output |
//! |---|---|---|
//! | `render` | RenderRequest JSON | RenderResponse JSON, as `matrix_render_renderer::render_json` |
//! | `validate` | RenderRequest JSON | the same RenderResponse with `output` empty and no `objects` |
//! | `schema` | ignored | the values JSON Schema, byte for byte what `matrix-render schema` prints |
//! | `version` | ignored | the crate version, e.g. `0.1.0` |
//!
//! An invalid config is not an error of the call: it comes back as diagnostics with
//! `ok: false`. A call fails (non-zero return, message through Extism's error) only when
//! the input is not a RenderRequest in JSON, when the core panics (a bug), or when a limit of
//! the host (memory, timeout) stops it.
//!
//! The functions here hold the whole behaviour and build on every target; the exports that
//! wrap them in Extism's calling convention exist on wasm32 only.
//!
//! Built for `wasm32-wasip1` instead (deploy/helm4/build.sh), the module also exports
//! `helm_plugin_main`, the entry point of a Helm 4 `cli/v1` plugin on the `extism/v1` runtime
//! ([`helm`] holds its behaviour). It needs WASI: Helm connects the plugin's stdin, stdout and
//! stderr only through WASI. The `wasm32-unknown-unknown` build has no such export and stays
//! WASI-free.

use matrix_render_renderer::{RenderRequest, RenderResponse};

/// Decodes a RenderRequest, or says why the input is not one.
fn decode(input: &[u8]) -> Result<RenderRequest, String> {
    serde_json::from_slice(input).map_err(|e| format!("the render request is not valid: {e}"))
}

fn encode(response: &RenderResponse) -> String {
    matrix_render_renderer::response_json(response)
}

/// `render`: the RenderResponse JSON for a RenderRequest JSON.
///
/// # Errors
/// The input is not a RenderRequest in JSON.
pub fn render(input: &[u8]) -> Result<String, String> {
    Ok(encode(&matrix_render_renderer::render(&decode(input)?)))
}

/// `validate`: like [`render`], with the manifests dropped: `ok` and `diagnostics` only
/// (`output` empty, `objects` empty). The core has no cheaper validate-only path; this is
/// what `matrix-render validate` does too.
///
/// # Errors
/// The input is not a RenderRequest in JSON.
pub fn validate(input: &[u8]) -> Result<String, String> {
    let mut response = matrix_render_renderer::render(&decode(input)?);
    response.output = String::new();
    response.objects = Vec::new();
    Ok(encode(&response))
}

/// `schema`: the JSON Schema of a values file, with the trailing newline, exactly as
/// committed in schema/matrix-render.schema.json (a test in host-cli keeps that file equal
/// to what the model generates).
#[must_use]
pub fn schema() -> String {
    matrix_render_renderer::model::schema::COMMITTED_SCHEMA.to_owned()
}

/// `version`: the crate version.
#[must_use]
pub const fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The Helm 4 `cli/v1` plugin: `helm matrix-render [render|validate|schema|version] ...`.
///
/// Helm 4.1 calls the module's `helm_plugin_main` with `{"extraArgs": [...]}` (the words after
/// `helm matrix-render`, minus the flags Helm keeps for itself: `--debug`, `-n`/`--namespace`,
/// `--kube-context` and the other `--kube-*`, `--kubeconfig`, `--registry-config`,
/// `--repository-cache`, `--repository-config`), connects the terminal's stdin, stdout and
/// stderr through WASI, and maps no host directory: the plugin can read no file, so the values
/// come on stdin. Several values files are the YAML documents of that stream, separated by
/// `---` lines, merged in order. [`run`] is the whole command; the export only moves bytes.
pub mod helm {
    use std::io::Read;

    use matrix_render_renderer::model::diag::summary;
    use matrix_render_renderer::model::{Diagnostic, NamedText};
    use matrix_render_renderer::{Format, RenderOptions, RenderRequest, RenderResponse};

    /// The file diagnostics name for the values read on stdin; their lines count from the
    /// start of the stream, whatever document they are in.
    pub const STDIN_NAME: &str = "stdin";

    /// Largest stdin read: what the CLI reads in all for one render by default (the core
    /// refuses a values document over 1 MiB with a diagnostic; this only bounds what is read).
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
  -f, --values -               read the values from stdin (what happens anyway)
  -h, --help                   show this help

Helm keeps -n/--namespace, --kube-context and --debug for itself; set the namespace with
--set namespace=NAME. `matrix-render render` gives the same bytes for the same input.
";

    /// What one run of the plugin produces.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Run {
        /// Written to Helm's stdout.
        pub stdout: String,
        /// Written to Helm's stderr.
        pub stderr: String,
        /// `Some` makes the call fail: Helm prints `Error: plugin error: <message>` and exits 1.
        pub error: Option<String>,
    }

    impl Run {
        fn failed(stderr: String, message: String) -> Self {
            Self {
                stdout: String::new(),
                stderr,
                error: Some(message),
            }
        }
    }

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

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Command {
        Render,
        Validate,
        Schema,
        Version,
        Help,
    }

    #[derive(Debug, Default)]
    struct Flags {
        set: Vec<String>,
        set_string: Vec<String>,
        set_json: Vec<String>,
        json: bool,
    }

    fn usage_error(message: &str) -> Run {
        Run::failed(
            String::new(),
            format!("{message} (helm matrix-render --help shows the usage)"),
        )
    }

    /// The command and its flags; `--flag=value` and `--flag value` both work.
    fn parse(args: &[String]) -> Result<(Command, Flags), String> {
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
        let mut flags = Flags::default();
        while let Some(word) = words.next() {
            let (name, inline) = match word.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (word, None),
            };
            let mut value = || {
                inline
                    .or_else(|| words.next())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{name}` needs a value"))
            };
            match name {
                "-h" | "--help" => command = Some(Command::Help),
                "--version" => command = Some(Command::Version),
                "--set" => flags.set.push(value()?),
                "--set-string" => flags.set_string.push(value()?),
                "--set-json" => flags.set_json.push(value()?),
                "--format" => match value()?.as_str() {
                    "yaml" => flags.json = false,
                    "json" => flags.json = true,
                    other => {
                        return Err(format!("`--format {other}`: use yaml or json"));
                    }
                },
                "-f-" => {}
                "-f" | "--values" => {
                    let file = value()?;
                    if file != "-" {
                        return Err(format!(
                            "cannot read `{file}`: Helm gives this plugin no access to files; \
                             pipe the values on stdin instead, several files separated by `---` lines"
                        ));
                    }
                }
                "--static-dir" | "--output-dir" | "--set-file" => {
                    return Err(format!(
                        "`{name}` is not available in the Helm plugin (it can reach no files); \
                         use the matrix-render CLI"
                    ));
                }
                _ if word.starts_with('-') => return Err(format!("unknown flag `{word}`")),
                _ => return Err(format!("unexpected argument `{word}`")),
            }
        }
        Ok((command.unwrap_or(Command::Render), flags))
    }

    /// Whether a line is a YAML document start marker with nothing after it but a comment.
    fn is_document_marker(line: &str) -> bool {
        line.strip_prefix("---").is_some_and(|rest| {
            let after = rest.trim_start_matches([' ', '\t']);
            let spaced = after.len() < rest.len();
            let after = after.trim_end_matches(['\r', '\n']);
            after.is_empty() || (spaced && after.starts_with('#'))
        })
    }

    /// One values document of the stream on stdin.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Document {
        /// Its text, without the `---` line before it.
        pub text: String,
        /// The line of the stream its first line is.
        pub first_line: u32,
    }

    /// The values documents of a YAML stream, in order: the text between `---` lines.
    /// Documents with nothing but blank lines and comments are dropped, as a stream that
    /// starts with `---` has nothing before it.
    #[must_use]
    pub fn documents(stream: &str) -> Vec<Document> {
        let mut docs = Vec::new();
        let mut current = Document {
            text: String::new(),
            first_line: 1,
        };
        let mut content = false;
        let mut line_no = 0u32;
        for line in stream.split_inclusive('\n') {
            line_no = line_no.saturating_add(1);
            if is_document_marker(line) {
                let next = Document {
                    text: String::new(),
                    first_line: line_no.saturating_add(1),
                };
                let done = std::mem::replace(&mut current, next);
                if std::mem::take(&mut content) {
                    docs.push(done);
                }
                continue;
            }
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                content = true;
            }
            current.text.push_str(line);
        }
        if content {
            docs.push(current);
        }
        docs
    }

    /// The name the request gives document `index` (from 0); [`locate`] turns it back into
    /// [`STDIN_NAME`] and a line of the stream.
    fn document_name(index: usize) -> String {
        format!("{STDIN_NAME} (document {})", index + 1)
    }

    /// The values of the request: each document under its own name, so that [`locate`] knows
    /// which document a diagnostic is in.
    #[must_use]
    pub fn values(docs: &[Document]) -> Vec<NamedText> {
        docs.iter()
            .enumerate()
            .map(|(index, doc)| NamedText {
                name: document_name(index),
                text: doc.text.clone(),
            })
            .collect()
    }

    /// Points the diagnostics about documents at the stream: file [`STDIN_NAME`], the line
    /// counted from the start of the stream.
    pub fn locate(diagnostics: &mut [Diagnostic], docs: &[Document]) {
        for d in diagnostics {
            let Some(doc) = d
                .file
                .as_deref()
                .and_then(|file| (0..docs.len()).find(|&i| document_name(i) == file))
                .and_then(|i| docs.get(i))
            else {
                continue;
            };
            d.file = Some(STDIN_NAME.to_owned());
            d.line = d.line.map(|line| line.saturating_add(doc.first_line - 1));
        }
    }

    /// The diagnostics for people, as the CLI prints them: with the lines of the stream they
    /// point at, every secret value of the request masked.
    #[must_use]
    pub fn human(diagnostics: &[Diagnostic], stream: &str, request: &RenderRequest) -> String {
        let sources = [NamedText {
            name: STDIN_NAME.to_owned(),
            text: stream.to_owned(),
        }];
        let secrets = matrix_render_renderer::model::mask::Secrets::of_request(request);
        matrix_render_renderer::model::report::human(diagnostics, &sources, &secrets)
    }

    fn json_diagnostics(diagnostics: &[Diagnostic]) -> String {
        let mut text = serde_json::to_string_pretty(diagnostics).unwrap_or_default();
        text.push('\n');
        text
    }

    fn read_stdin(stdin: &mut dyn Read) -> Result<String, String> {
        let mut bytes = Vec::new();
        stdin
            .take(READ_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        if bytes.len() as u64 > READ_LIMIT {
            return Err(format!(
                "stdin is larger than {} MiB; a values file is a few kilobytes",
                READ_LIMIT / 1024 / 1024
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            format!("stdin is not valid UTF-8 (byte offset {offset}); save the values as UTF-8")
        })
    }

    /// The request `matrix-render render -f FILE... --set ... --set-string ... --set-json ...
    /// --format ...` builds from the same documents.
    fn request(docs: &[Document], flags: Flags) -> RenderRequest {
        RenderRequest {
            values: values(docs),
            set: flags.set,
            set_string: flags.set_string,
            set_json: flags.set_json,
            files: std::collections::BTreeMap::new(),
            options: RenderOptions {
                format: if flags.json {
                    Format::Json
                } else {
                    Format::Yaml
                },
                ..RenderOptions::default()
            },
            ..RenderRequest::default()
        }
    }

    /// One run of `helm matrix-render ARGS`, stdin read only for render and validate. The
    /// exit status and streams follow `matrix-render render`/`validate`: the manifests on
    /// stdout; diagnostics and the summary on stderr; an invalid config fails the call.
    pub fn run(args: &[String], stdin: &mut dyn Read) -> Run {
        let (command, flags) = match parse(args) {
            Ok(parsed) => parsed,
            Err(message) => return usage_error(&message),
        };
        let validate_only = match command {
            Command::Help => {
                return Run {
                    stdout: HELP.to_owned(),
                    ..Run::default()
                };
            }
            Command::Version => {
                return Run {
                    stdout: matrix_render_renderer::model::versions::version_text(),
                    ..Run::default()
                };
            }
            Command::Schema => {
                return Run {
                    stdout: super::schema(),
                    ..Run::default()
                };
            }
            Command::Render => false,
            Command::Validate => true,
        };
        let stream = match read_stdin(stdin) {
            Ok(stream) => stream,
            Err(message) => {
                return Run::failed(
                    format!("error[unreadable-input]: {message}\n"),
                    format!("matrix-render: {message}"),
                );
            }
        };
        let json = flags.json;
        let docs = documents(&stream);
        let request = request(&docs, flags);
        let mut response: RenderResponse = matrix_render_renderer::render(&request);
        locate(&mut response.diagnostics, &docs);
        let mut run = Run::default();
        let diagnostics = &response.diagnostics;
        if validate_only && json {
            run.stdout = json_diagnostics(diagnostics);
        } else if !diagnostics.is_empty() {
            run.stderr = if json {
                json_diagnostics(diagnostics)
            } else {
                human(diagnostics, &stream, &request)
            };
        }
        if !response.ok {
            let what = if validate_only {
                ""
            } else {
                "; nothing was written"
            };
            run.error = Some(format!("matrix-render: {}{what}", summary(diagnostics)));
            return run;
        }
        if validate_only {
            if !json {
                run.stderr.push_str(&format!(
                    "matrix-render: the config is valid ({}; {} objects)\n",
                    summary(diagnostics),
                    response.objects.len()
                ));
            }
        } else {
            run.stdout = response.output;
        }
        run
    }
}

/// The exports in Extism's calling convention: no parameters, input and output through the
/// host's `input_*`/`output_set`, a non-zero return with `error_set` for a failed call.
#[cfg(target_arch = "wasm32")]
pub mod exports {
    use std::sync::Once;

    static HOOK: Once = Once::new();

    /// A panic traps the module; hand its message to the host first, so the host's error
    /// says what went wrong instead of only "unreachable".
    fn install_panic_hook() {
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let _ = fail(&format!("internal error in matrix-render (a bug): {info}"));
            }));
        });
    }

    /// The call's input; each call that reads one is a render as far as the allocator's
    /// arena goes (a plugin's second call on uses it).
    fn input() -> Vec<u8> {
        install_panic_hook();
        #[cfg(all(target_os = "unknown", not(target_feature = "atomics")))]
        crate::ALLOCATOR.render_starts();
        extism_pdk::input_bytes()
    }

    fn respond(result: Result<String, String>) -> i32 {
        match result {
            Ok(text) => match extism_pdk::output(text) {
                Ok(()) => 0,
                Err(e) => fail(&format!("setting the output: {e}")),
            },
            Err(message) => fail(&message),
        }
    }

    #[expect(
        unsafe_code,
        reason = "extism-pdk's error_set is an unsafe host call taking a memory offset"
    )]
    fn fail(message: &str) -> i32 {
        if let Ok(memory) = extism_pdk::Memory::from_bytes(message) {
            // SAFETY: the offset is a block the host just allocated and filled.
            unsafe { extism_pdk::extism::error_set(memory.offset()) };
        }
        1
    }

    /// `render`: RenderRequest JSON in, RenderResponse JSON out.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn render() -> i32 {
        respond(super::render(&input()))
    }

    /// `validate`: RenderRequest JSON in, RenderResponse JSON without manifests out.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn validate() -> i32 {
        respond(super::validate(&input()))
    }

    /// `schema`: the values JSON Schema.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn schema() -> i32 {
        install_panic_hook();
        respond(Ok(super::schema()))
    }

    /// `version`: the crate version.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn version() -> i32 {
        respond(Ok(super::version().to_owned()))
    }

    /// The Helm 4 `cli/v1` entry point, in the `wasm32-wasip1` build only: stdin, stdout and
    /// stderr are the WASI ones Helm connects to its own.
    #[cfg(target_os = "wasi")]
    pub mod helm {
        use std::io::Write;

        /// Writes everything, then flushes; a closed pipe (`| head`) is the reader's choice.
        fn write(mut stream: impl Write, text: &str) {
            let _ = stream
                .write_all(text.as_bytes())
                .and_then(|()| stream.flush());
        }

        /// `helm_plugin_main`: Helm's input message in, the command's bytes on stdout and
        /// stderr, `{}` as the output message (Helm decodes it as a `cli/v1` output and
        /// ignores it). An invalid config or bad flags fail the call with a one-line message.
        #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
        #[unsafe(no_mangle)]
        pub extern "C" fn helm_plugin_main() -> i32 {
            let args = match crate::extism::helm::args(&super::input()) {
                Ok(args) => args,
                Err(message) => return super::fail(&message),
            };
            let run = crate::extism::helm::run(&args, &mut std::io::stdin().lock());
            write(std::io::stdout().lock(), &run.stdout);
            write(std::io::stderr().lock(), &run.stderr);
            match run.error {
                None => super::respond(Ok("{}".to_owned())),
                Some(message) => super::fail(&message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_matches_render_json() {
        let request =
            br#"{"values":[{"name":"v.yaml","text":"global:\n  domain: matrix.example.org\n"}]}"#;
        assert_eq!(
            render(request).as_deref(),
            Ok(matrix_render_renderer::render_json(request).as_str())
        );
    }

    #[test]
    fn invalid_config_is_a_response_and_invalid_json_an_error() {
        let request = br#"{"values":[{"name":"v.yaml","text":"nope: 1\n"}]}"#;
        let response: serde_json::Value =
            serde_json::from_str(&validate(request).expect("a response")).expect("JSON");
        assert_eq!(response["ok"], false);
        assert_eq!(response["output"], "");
        assert!(
            response["diagnostics"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        );
        let error = render(b"{not json").expect_err("an error");
        assert!(
            error.starts_with("the render request is not valid: "),
            "{error}"
        );
        assert!(validate(br#"{"valuez":[]}"#).is_err());
    }

    #[test]
    fn validate_drops_the_manifests() {
        let request = br#"{"values":[{"name":"v.yaml","text":"global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  turn_shared_secret: bad-corpus-turn-secret-0123456789\nsynapse:\n  registration_shared_secret: bad-corpus-registration-secret-0123456789\n  recaptcha:\n    siteKey: k\n    secretKey: bad-corpus-recaptcha-secret\n"}],"options":{"split":true}}"#;
        let full: RenderResponse =
            serde_json::from_str(&render(request).expect("a response")).expect("JSON");
        let checked: RenderResponse =
            serde_json::from_str(&validate(request).expect("a response")).expect("JSON");
        assert!(full.ok, "{:#?}", full.diagnostics);
        assert!(!full.output.is_empty() && !full.objects.is_empty());
        assert!(checked.ok && checked.output.is_empty() && checked.objects.is_empty());
        assert_eq!(checked.diagnostics, full.diagnostics);
    }

    #[test]
    fn schema_is_the_committed_file() {
        assert!(schema() == include_str!("../../../schema/matrix-render.schema.json"));
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }

    mod helm {
        use super::super::helm::{Document, Run, args, documents, locate, run, values};
        use matrix_render_renderer::model::Diagnostic;
        use matrix_render_renderer::{Format, RenderOptions, RenderRequest};

        const BASE: &str = "global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n";
        const SECRETS: &str = "coturn:\n  turn_shared_secret: helm-test-turn-secret-0123456789\nsynapse:\n  registration_shared_secret: helm-test-registration-secret-0123456789\n  recaptcha:\n    siteKey: k\n    secretKey: helm-test-recaptcha-secret\n";

        fn words(list: &[&str]) -> Vec<String> {
            list.iter().map(|w| (*w).to_owned()).collect()
        }

        fn helm(list: &[&str], stdin: &str) -> Run {
            run(&words(list), &mut stdin.as_bytes())
        }

        /// A reader that fails: the command must not read stdin.
        struct NoStdin;
        impl std::io::Read for NoStdin {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("stdin was read"))
            }
        }

        fn doc(text: &str, first_line: u32) -> Document {
            Document {
                text: text.to_owned(),
                first_line,
            }
        }

        #[test]
        fn args_come_from_extra_args() {
            assert_eq!(
                args(br#"{"extraArgs":["render","--set","a=b"]}"#),
                Ok(words(&["render", "--set", "a=b"]))
            );
            assert_eq!(
                args(br#"{"extraArgs":["x"],"settings":{"debug":false}}"#),
                Ok(words(&["x"]))
            );
            assert_eq!(args(br#"{"extraArgs":null}"#), Ok(Vec::new()));
            assert_eq!(args(b"{}"), Ok(Vec::new()));
            assert!(args(b"[").is_err());
            assert!(args(br#"{"extraArgs":"render"}"#).is_err());
            assert!(args(br#"{"extraArgs":[1]}"#).is_err());
        }

        #[test]
        fn documents_know_their_stream_lines() {
            assert_eq!(
                documents("a: 1\n---\nb: 2\n"),
                vec![doc("a: 1\n", 1), doc("b: 2\n", 3)]
            );
            // A leading marker, a comment after a marker, comment-only documents, CRLF.
            assert_eq!(
                documents("---\n# only a comment\n---  # next\r\na: 1\r\n---\n\n"),
                vec![doc("a: 1\r\n", 4)]
            );
            // Not markers: `---` glued to text, or followed by a value, or indented.
            assert_eq!(documents("---#x\n"), vec![doc("---#x\n", 1)]);
            assert_eq!(documents("--- a\n"), vec![doc("--- a\n", 1)]);
            assert_eq!(documents("a: |\n  ---\n"), vec![doc("a: |\n  ---\n", 1)]);
            assert!(documents("").is_empty());
            assert!(documents("# nothing\n\n").is_empty());
            // The request names each document; diagnostics come back to `stdin` and the
            // stream's line.
            let docs = documents("a: 1\n---\n\nb: 2\n");
            let names: Vec<String> = values(&docs).into_iter().map(|v| v.name).collect();
            assert_eq!(names, ["stdin (document 1)", "stdin (document 2)"]);
            let mut found = vec![
                Diagnostic::error("x", "b", "m").at("stdin (document 2)", Some(2), Some(1)),
                Diagnostic::error("y", "", "m").at("stdin (document 1)", None, None),
                Diagnostic::error("z", "", "m").at("--set a=b", None, None),
            ];
            locate(&mut found, &docs);
            let at: Vec<_> = found.iter().map(|d| (d.file.as_deref(), d.line)).collect();
            assert_eq!(
                at,
                [
                    (Some("stdin"), Some(4)),
                    (Some("stdin"), None),
                    (Some("--set a=b"), None)
                ]
            );
        }

        #[test]
        fn render_is_the_core_render_of_the_documents() {
            let stream = format!("---\n{BASE}---\n{SECRETS}");
            let got = helm(&["--set", "synapse.replicas=1", "--format=json"], &stream);
            let response = matrix_render_renderer::render(&RenderRequest {
                values: values(&documents(&stream)),
                set: words(&["synapse.replicas=1"]),
                set_string: Vec::new(),
                files: std::collections::BTreeMap::new(),
                options: RenderOptions {
                    format: Format::Json,
                    ..RenderOptions::default()
                },
                ..RenderRequest::default()
            });
            assert!(response.ok, "{:#?}", response.diagnostics);
            assert_eq!(got.error, None, "{}", got.stderr);
            assert_eq!(got.stdout, response.output);
            // `render` is the default command, and `-f -` names stdin.
            assert_eq!(
                helm(
                    &[
                        "render",
                        "-f",
                        "-",
                        "--set=synapse.replicas=1",
                        "--format",
                        "json"
                    ],
                    &stream
                ),
                got
            );
            // --set-json as the CLI reads it: JSON, before every --set.
            assert_eq!(
                helm(
                    &["--set-json", "synapse.replicas=1", "--format=json"],
                    &stream
                ),
                got
            );
            // The plugin reaches no files: --set-file is refused, with the CLI named.
            let file = helm(&["--set-file", "a.b=c"], &stream);
            assert_eq!(file.stdout, "");
            let said = format!("{:?} {}", file.error, file.stderr);
            assert!(
                said.contains("`--set-file` is not available in the Helm plugin"),
                "{said}"
            );
            let yaml = helm(&[], &stream);
            let core_yaml = matrix_render_renderer::render(&RenderRequest {
                values: values(&documents(&stream)),
                ..RenderRequest::default()
            });
            assert_eq!((yaml.stdout, yaml.error), (core_yaml.output, None));
        }

        #[test]
        fn an_invalid_config_fails_with_its_diagnostics_on_stderr() {
            let stream = format!("{BASE}---\n{SECRETS}nope: 1\n");
            let got = helm(&["render"], &stream);
            assert_eq!(got.stdout, "");
            assert_eq!(
                got.error.as_deref(),
                Some("matrix-render: 1 error, 0 warnings; nothing was written")
            );
            // The unknown key is on line 15 of the stream (line 8 of the second document).
            assert!(
                got.stderr.starts_with(
                    "error[unknown-key]: unknown key `nope` in the top level\n  --> stdin:15:1\n   |\n15 | nope: 1\n   | ^^^^\n"
                ),
                "{}",
                got.stderr
            );
            let json = helm(&["validate", "--format", "json"], &stream);
            assert_eq!(
                json.error.as_deref(),
                Some("matrix-render: 1 error, 0 warnings")
            );
            let diagnostics: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
            assert_eq!(diagnostics[0]["code"], "unknown-key");
            assert_eq!(diagnostics[0]["line"], 15);
            assert_eq!(json.stderr, "");
        }

        #[test]
        fn no_secret_reaches_stderr_or_the_json_diagnostics() {
            // A misspelled secret key in a folded block, a flow map, a flag, and an alias
            // whose value a message would show.
            let stream = format!(
                "{BASE}---\n{SECRETS}matrixrtc:\n  livekit: {{key: \"helmFlowKey\", \
                 secret: \"helmFlowSecret\"}}\n  registration_shared_secert: >-\n    \
                 helmFoldedA\n    helmFoldedB\n---\nsynapse:\n  recaptcha:\n    \
                 secretKey: &s helmAnchoredSecret\ncoturn:\n  realm: *s\n"
            );
            for format in ["yaml", "json"] {
                let got = helm(
                    &[
                        "validate",
                        "--format",
                        format,
                        "--set-string",
                        "matrixrtc.livekit.key=helmFlagKey,nope=1",
                    ],
                    &stream,
                );
                let all = format!("{}{}{:?}", got.stdout, got.stderr, got.error);
                assert!(got.error.is_some(), "{all}");
                for secret in [
                    "helmFlowKey",
                    "helmFlowSecret",
                    "helmFoldedA",
                    "helmFoldedB",
                    "helmAnchoredSecret",
                    "helmanchoredsecret",
                    "helmFlagKey",
                    "helm-test-turn-secret",
                    "helm-test-registration-secret",
                    "helm-test-recaptcha-secret",
                ] {
                    assert!(!all.contains(secret), "{secret} shown:\n{all}");
                }
                assert!(all.contains("realm"), "{all}");
            }
        }

        #[test]
        fn validate_reports_and_writes_no_manifests() {
            let got = helm(&["validate"], &format!("{BASE}---\n{SECRETS}"));
            assert_eq!(got.error, None, "{}", got.stderr);
            assert_eq!(got.stdout, "");
            assert!(
                got.stderr
                    .contains("matrix-render: the config is valid (0 errors, ")
            );
        }

        #[test]
        fn schema_version_and_help_read_no_stdin() {
            let schema = run(&words(&["schema"]), &mut NoStdin);
            assert_eq!(schema.stdout, super::super::schema());
            let version = run(&words(&["version"]), &mut NoStdin);
            assert_eq!(
                version.stdout,
                matrix_render_renderer::model::versions::version_text()
            );
            assert!(
                version
                    .stdout
                    .starts_with(&format!("matrix-render {}\n", super::super::version()))
            );
            assert_eq!(run(&words(&["--version"]), &mut NoStdin), version);
            for help in [&["--help"][..], &["-h"], &["help"], &["render", "--help"]] {
                let got = run(&words(help), &mut NoStdin);
                assert!(got.error.is_none() && got.stdout.starts_with("Render the Matrix stack"));
            }
            let unread = run(&words(&["render"]), &mut NoStdin);
            assert_eq!(
                unread.error.as_deref(),
                Some("matrix-render: cannot read stdin: stdin was read")
            );
        }

        #[test]
        fn files_and_unknown_words_are_refused() {
            for (list, wanted) in [
                (
                    &["-f", "values.yaml"][..],
                    "cannot read `values.yaml`: Helm gives this plugin no access to files",
                ),
                (&["--values=values.yaml"], "cannot read `values.yaml`"),
                (
                    &["--static-dir", "static"],
                    "`--static-dir` is not available in the Helm plugin",
                ),
                (
                    &["render", "--output-dir", "out"],
                    "`--output-dir` is not available",
                ),
                (&["--nope"], "unknown flag `--nope`"),
                (&["install"], "unknown command `install`"),
                (&["render", "extra"], "unexpected argument `extra`"),
                (&["--set"], "`--set` needs a value"),
                (&["--format", "krm"], "`--format krm`: use yaml or json"),
            ] {
                let got = run(&words(list), &mut NoStdin);
                let error = got.error.unwrap_or_default();
                assert!(error.starts_with(wanted), "{list:?}: {error}");
                assert!(error.ends_with("(helm matrix-render --help shows the usage)"));
                assert_eq!((got.stdout.as_str(), got.stderr.as_str()), ("", ""));
            }
        }
    }
}
