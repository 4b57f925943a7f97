//! The Helm 4 plugin's command (`helm matrix-render ...`) natively: the bytes it writes are
//! the core's render of the stream on stdin, failures are the CLI's messages, and nothing it
//! cannot do (files) is attempted.

use matrix_render_plugin::helm::{args, run};
use matrix_render_renderer::model::NamedText;
use matrix_render_renderer::model::command::Outcome;
use matrix_render_renderer::{Format, RenderOptions, RenderRequest};

const BASE: &str = "global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n";
const SECRETS: &str = "coturn:\n  turn_shared_secret: helm-test-turn-secret-0123456789\nsynapse:\n  registration_shared_secret: helm-test-registration-secret-0123456789\n  recaptcha:\n    siteKey: k\n    secretKey: helm-test-recaptcha-secret\n";

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

fn helm(list: &[&str], stdin: &str) -> Outcome {
    run(&words(list), &mut stdin.as_bytes())
}

/// The request's values: the stream, as one text named `stdin`.
fn stdin(stream: &str) -> Vec<NamedText> {
    vec![NamedText {
        name: "stdin".to_owned(),
        text: stream.to_owned(),
    }]
}

/// A reader that fails: the command must not read stdin.
struct NoStdin;
impl std::io::Read for NoStdin {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("stdin was read"))
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
fn render_is_the_core_render_of_the_documents() {
    let stream = format!("---\n{BASE}---\n{SECRETS}");
    let got = helm(&["--set", "synapse.replicas=1", "--format=json"], &stream);
    let response = matrix_render_renderer::render(&RenderRequest {
        values: stdin(&stream),
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
    assert_eq!(got.message, None, "{}", got.stderr);
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
    let said = format!("{:?} {}", file.message, file.stderr);
    assert!(
        said.contains("`--set-file` is not available in the Helm plugin"),
        "{said}"
    );
    // --show-only picks objects as the CLI's does.
    let only = helm(
        &["-s", "Service/synapse", "--show-only=deployment/synapse"],
        &stream,
    );
    assert_eq!(only.message, None, "{}", only.stderr);
    assert!(
        only.stdout
            .starts_with("---\napiVersion: v1\nkind: Service\n")
            && only.stdout.contains("\nkind: Deployment\n")
            && only.stdout.matches("\nkind: ").count() == 2,
        "{}",
        only.stdout
    );
    let none = helm(&["-s", "Service/nope"], &stream);
    assert!(
        none.stderr
            .starts_with("error[no-such-object]: no object matches Service/nope")
    );
    assert!(
        none.message
            .is_some_and(|m| m.starts_with("matrix-render: no object matches"))
    );
    let yaml = helm(&[], &stream);
    let core_yaml = matrix_render_renderer::render(&RenderRequest {
        values: stdin(&stream),
        ..RenderRequest::default()
    });
    assert_eq!((yaml.stdout, yaml.message), (core_yaml.output, None));
}

#[test]
fn an_invalid_config_fails_with_its_diagnostics_on_stderr() {
    let stream = format!("{BASE}---\n{SECRETS}nope: 1\n");
    let got = helm(&["render"], &stream);
    assert_eq!(got.stdout, "");
    assert_eq!(
        got.message.as_deref(),
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
        json.message.as_deref(),
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
        let all = format!("{}{}{:?}", got.stdout, got.stderr, got.message);
        assert!(got.message.is_some(), "{all}");
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
    assert_eq!(got.message, None, "{}", got.stderr);
    assert_eq!(got.stdout, "");
    assert!(
        got.stderr
            .contains("matrix-render: the config is valid (0 errors, ")
    );
}

#[test]
fn schema_version_and_help_read_no_stdin() {
    let schema = run(&words(&["schema"]), &mut NoStdin);
    assert_eq!(schema.stdout, matrix_render_plugin::extism::schema());
    let version = run(&words(&["version"]), &mut NoStdin);
    assert_eq!(
        version.stdout,
        matrix_render_renderer::model::versions::version_text()
    );
    assert!(version.stdout.starts_with(&format!(
        "matrix-render {}\n",
        matrix_render_plugin::extism::version()
    )));
    assert_eq!(run(&words(&["--version"]), &mut NoStdin), version);
    for help in [&["--help"][..], &["-h"], &["help"], &["render", "--help"]] {
        let got = run(&words(help), &mut NoStdin);
        assert!(got.message.is_none() && got.stdout.starts_with("Render the Matrix stack"));
    }
    let unread = run(&words(&["render"]), &mut NoStdin);
    assert_eq!(
        unread.message.as_deref(),
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
        let error = got.message.unwrap_or_default();
        assert!(error.starts_with(wanted), "{list:?}: {error}");
        assert!(error.ends_with("(helm matrix-render --help shows the usage)"));
        assert_eq!((got.stdout.as_str(), got.stderr.as_str()), ("", ""));
    }
}
