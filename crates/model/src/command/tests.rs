use std::collections::BTreeMap;

use super::words::{self, Command};
use super::*;
use crate::api::{ObjectInfo, RenderResponse};
use crate::diag::Diagnostic;

/// Files in memory; `-` is stdin.
#[derive(Default)]
struct Memory {
    files: BTreeMap<String, String>,
    read: Vec<String>,
}

impl Environment for Memory {
    fn read(&mut self, file: &str) -> Result<String, Refusal> {
        self.read.push(file.to_owned());
        self.files.get(file).cloned().ok_or_else(|| {
            Refusal::new(
                "unreadable-input",
                file,
                "cannot read: not found".to_owned(),
            )
        })
    }

    fn static_files(&mut self, dir: &str) -> Result<BTreeMap<String, String>, Refusal> {
        self.read.push(dir.to_owned());
        Ok(BTreeMap::from([(
            "pages/index.html".to_owned(),
            "<p>hi</p>".to_owned(),
        )]))
    }

    fn name(&self, file: &str) -> String {
        if file == "-" { "stdin" } else { file }.to_owned()
    }

    fn refuses(&self, flag: &str, value: &str) -> Option<String> {
        (flag == "--output-dir").then(|| format!("no folders here ({value})"))
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

fn memory(files: &[(&str, &str)]) -> Memory {
    Memory {
        files: files
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        read: Vec::new(),
    }
}

#[test]
fn inputs_become_the_request_in_the_order_they_are_read() {
    let mut env = memory(&[("-", "a: 1\n"), ("b.yaml", "b: 2\n"), ("key.pem", "PEM")]);
    let inputs = Inputs {
        values: strings(&["-", "b.yaml"]),
        set: strings(&["x=1"]),
        set_string: strings(&["y=2"]),
        set_json: strings(&["z={}"]),
        set_file: strings(&["tls.key=key.pem"]),
        static_dir: Some("static".to_owned()),
        format: Format::Json,
        split: true,
        plan: false,
        namespace: Some("chat".to_owned()),
    };
    let request = request(&inputs, &mut env).expect("a request");
    assert_eq!(env.read, ["static", "-", "b.yaml", "key.pem"]);
    let names: Vec<_> = request.values.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["stdin", "b.yaml"]);
    assert_eq!(request.set_string, ["y=2", "namespace=chat"]);
    assert_eq!(request.set_file[0].key, "tls.key");
    assert_eq!(request.set_file[0].file, "key.pem");
    assert_eq!(request.set_file[0].text, "PEM");
    assert_eq!(request.files.len(), 1);
    assert!(request.options.split && request.options.format == Format::Json);

    let missing = request_of(&["nope.yaml"], &[]);
    assert_eq!(
        missing.expect_err("refused").report(),
        "error[unreadable-input]: nope.yaml: cannot read: not found\n"
    );
    let malformed = request_of(&[], &["tls.key"]);
    assert_eq!(
        malformed.expect_err("refused").report(),
        "error[invalid-set]: --set-file tls.key: write `path.to.key=FILE`\n"
    );
}

fn request_of(values: &[&str], set_file: &[&str]) -> Result<RenderRequest, Refusal> {
    let inputs = Inputs {
        values: strings(values),
        set_file: strings(set_file),
        ..Inputs::default()
    };
    request(&inputs, &mut memory(&[]))
}

#[test]
fn words_parse_as_the_cli_spells_its_flags() {
    let env = memory(&[]);
    let parsed = words::parse(
        &strings(&[
            "validate",
            "-f-",
            "--values=a.yaml",
            "--set",
            "a=b",
            "--set-string=c=d",
            "--set-json",
            "e={}",
            "-n",
            "chat",
            "-s",
            "Deployment/synapse",
            "--format",
            "json",
        ]),
        &env,
    )
    .expect("parsed");
    assert_eq!(parsed.command, Command::Validate);
    assert_eq!(parsed.inputs.values, ["-", "a.yaml"]);
    assert_eq!(parsed.inputs.set, ["a=b"]);
    assert_eq!(parsed.inputs.set_string, ["c=d"]);
    assert_eq!(parsed.inputs.set_json, ["e={}"]);
    assert_eq!(parsed.inputs.namespace.as_deref(), Some("chat"));
    assert_eq!(parsed.show_only, ["Deployment/synapse"]);
    assert!(parsed.inputs.split);
    assert_eq!(
        (parsed.inputs.format, parsed.shown),
        (Format::Json, Shown::Json)
    );
    assert_eq!(
        words::parse(&[], &env).map(|p| p.command),
        Ok(Command::Render)
    );
    assert_eq!(
        words::parse(&strings(&["render", "--help"]), &env).map(|p| p.command),
        Ok(Command::Help)
    );
    for (list, wanted) in [
        (
            &["install"][..],
            "unknown command `install`: use render, validate, schema or version",
        ),
        (&["--nope"], "unknown flag `--nope`"),
        (&["render", "x"], "unexpected argument `x`"),
        (&["--set"], "`--set` needs a value"),
        (&["--format", "krm"], "`--format krm`: use yaml or json"),
        (&["--output-dir", "out"], "no folders here (out)"),
    ] {
        assert_eq!(words::parse(&strings(list), &env), Err(wanted.to_owned()));
    }
}

fn response(ok: bool, diagnostics: Vec<Diagnostic>) -> RenderResponse {
    let object = |kind: &str, name: &str| ObjectInfo {
        api_version: "v1".to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: None,
        component: "synapse".to_owned(),
        file_name: format!("{}-{name}.yaml", kind.to_lowercase()),
        document: Some(format!("---\nkind: {kind}\nname: {name}\n")),
    };
    RenderResponse {
        ok,
        output: if ok {
            "---\nkind: All\n".to_owned()
        } else {
            String::new()
        },
        diagnostics,
        objects: vec![object("Service", "synapse"), object("Secret", "turn")],
        ..RenderResponse::default()
    }
}

fn values(text: &str) -> RenderRequest {
    RenderRequest {
        values: vec![NamedText {
            name: "v.yaml".to_owned(),
            text: text.to_owned(),
        }],
        ..RenderRequest::default()
    }
}

#[test]
fn a_valid_render_prints_the_manifests_and_its_warnings() {
    let warning = Diagnostic::warning("w", "a", "careful").at("v.yaml", Some(1), Some(1));
    let request = values("a: 1\n");
    let out = outcome(
        &Action::Render {
            show_only: Vec::new(),
        },
        Shown::Human,
        Style::Stderr,
        &request,
        &mut response(true, vec![warning.clone()]),
    );
    assert_eq!(out.stdout, "---\nkind: All\n");
    assert_eq!(out.stderr, human(std::slice::from_ref(&warning), &request));
    assert!(
        out.stderr
            .starts_with("warning[w]: careful\n --> v.yaml:1:1\n")
    );
    assert_eq!((out.code, out.message), (0, None));
    // Validate: the summary on stderr, or the diagnostics as JSON on stdout.
    let out = outcome(
        &Action::Validate,
        Shown::Human,
        Style::Stderr,
        &request,
        &mut response(true, Vec::new()),
    );
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        (
            "",
            "matrix-render: the config is valid (0 errors, 0 warnings; 2 objects)\n"
        )
    );
    let out = outcome(
        &Action::Validate,
        Shown::Json,
        Style::Stderr,
        &request,
        &mut response(true, vec![warning]),
    );
    assert_eq!(out.stderr, "");
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(listed[0]["code"], "w");
}

#[test]
fn an_invalid_config_fails_on_stderr_or_with_a_message() {
    let secret = "outcome-test-secret-value";
    let request = values(&format!(
        "synapse:\n  registration_shared_secret: {secret}\n  nope: 1\n"
    ));
    let error = Diagnostic::error("unknown-key", "synapse.nope", "unknown key `nope`").at(
        "v.yaml",
        Some(2),
        Some(3),
    );
    let render = Action::Render {
        show_only: Vec::new(),
    };
    let out = outcome(
        &render,
        Shown::Human,
        Style::Stderr,
        &request,
        &mut response(false, vec![error.clone()]),
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("2 |   registration_shared_secret: ********\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("\nmatrix-render: 1 error, 0 warnings; nothing was written\n")
    );
    let helm = outcome(
        &render,
        Shown::Human,
        Style::Message,
        &request,
        &mut response(false, vec![error.clone()]),
    );
    assert_eq!(
        helm.stderr.len() + "matrix-render: 1 error, 0 warnings; nothing was written\n".len(),
        out.stderr.len()
    );
    assert_eq!(
        helm.message.as_deref(),
        Some("matrix-render: 1 error, 0 warnings; nothing was written")
    );
    // validate --format json: the JSON is the whole report; a host that needs a message
    // still gets one.
    let json = outcome(
        &Action::Validate,
        Shown::Json,
        Style::Stderr,
        &request,
        &mut response(false, vec![error.clone()]),
    );
    assert_eq!((json.stderr.as_str(), json.code), ("", 1));
    let json = outcome(
        &Action::Validate,
        Shown::Json,
        Style::Message,
        &request,
        &mut response(false, vec![error]),
    );
    assert_eq!(
        json.message.as_deref(),
        Some("matrix-render: 1 error, 0 warnings")
    );
}

#[test]
fn show_only_picks_objects_and_names_the_missing_ones() {
    let request = values("");
    let pick = |selectors: &[&str]| {
        outcome(
            &Action::Render {
                show_only: strings(selectors),
            },
            Shown::Human,
            Style::Stderr,
            &request,
            &mut response(true, Vec::new()),
        )
    };
    assert_eq!(
        pick(&["secret/turn"]).stdout,
        "---\nkind: Secret\nname: turn\n"
    );
    assert_eq!(
        pick(&["service-synapse.yaml", "Secret/turn"]).stdout,
        "---\nkind: Service\nname: synapse\n---\nkind: Secret\nname: turn\n"
    );
    let missing = pick(&["Deployment/x"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error[no-such-object]: no object matches Deployment/x (the render has Service/synapse, Secret/turn)\n"
    );
}

#[test]
fn a_refusal_is_reported_before_the_core_runs() {
    let refusal = Refusal::new(
        "unreadable-input",
        "",
        "cannot read stdin: closed".to_owned(),
    );
    assert_eq!(
        refused(&refusal, Style::Stderr),
        Outcome {
            stderr: "error[unreadable-input]: cannot read stdin: closed\n".to_owned(),
            code: 1,
            ..Outcome::default()
        }
    );
    assert_eq!(
        refused(&refusal, Style::Message).message.as_deref(),
        Some("matrix-render: cannot read stdin: closed")
    );
}
