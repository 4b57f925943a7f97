//! No secret value reaches any output: every secret setting, written in every YAML style (and
//! as a flag, under a misspelled key, through an alias, inline in a KRM function config), is
//! rendered through every front-end of the test suite (the core's JSON response, the CLI's
//! text and JSON diagnostics, the KRM function, a batch), and every byte of stdout and stderr
//! is searched for it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use matrix_render_model::api::RenderRequest;
use matrix_render_model::config::SECRET_PATHS;
use matrix_render_model::mask::Secrets;
use matrix_render_model::{Diagnostic, NamedText};

use crate::common::repo;

/// How a case writes its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    NextLine,
    Flow,
    JsonLine,
    Alias,
    Duplicate,
    Misspelled,
    Set,
    SetString,
}

const STYLES: &[Style] = &[
    Style::Plain,
    Style::SingleQuoted,
    Style::DoubleQuoted,
    Style::Literal,
    Style::Folded,
    Style::NextLine,
    Style::Flow,
    Style::JsonLine,
    Style::Alias,
    Style::Duplicate,
    Style::Misspelled,
    Style::Set,
    Style::SetString,
];

/// One secret in one style: the values document (none for flags), the flags, and the texts
/// that must appear nowhere.
struct Case {
    name: String,
    doc: Option<String>,
    set: Vec<String>,
    set_string: Vec<String>,
    /// The secret, and each line of it as a file shows it.
    forbidden: Vec<String>,
}

/// The secret of case `n`: unlike any other text; short enough that LiveKit's length check
/// reports it (a warning at its line).
fn secret(n: usize, style: Style) -> String {
    match style {
        // Characters that quoting escapes.
        Style::DoubleQuoted => format!("Zq{n}\"q\\uote#Secret"),
        Style::SingleQuoted => format!("Zq{n}'quote #Secret"),
        _ => format!("Zq{n}xSecretValue"),
    }
}

/// `a.b.c` as nested block mappings, the last key's value written by `leaf` (the lines after
/// `c:`, at the given indent).
fn nested(path: &str, leaf: impl Fn(&str, &str) -> String) -> String {
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = String::new();
    for (depth, key) in keys[..keys.len() - 1].iter().enumerate() {
        out.push_str(&format!("{}{key}:\n", "  ".repeat(depth)));
    }
    let indent = "  ".repeat(keys.len() - 1);
    out.push_str(&leaf(&indent, keys[keys.len() - 1]));
    out
}

fn case(n: usize, path: &str, style: Style) -> Case {
    let value = secret(n, style);
    let mut forbidden = vec![value.clone()];
    let json_inner = |v: &str| {
        let j = serde_json::to_string(v).unwrap();
        j[1..j.len() - 1].to_owned()
    };
    let mut set = Vec::new();
    let mut set_string = Vec::new();
    // An unknown key next to the secret makes the render fail with a located error.
    let doc = match style {
        Style::Plain => Some(nested(path, |i, k| {
            format!("{i}{k}: {value}\n{i}unknownSibling: 1\n")
        })),
        Style::SingleQuoted => {
            forbidden.push(value.replace('\'', "''"));
            Some(nested(path, |i, k| {
                format!(
                    "{i}{k}: '{}'\n{i}unknownSibling: 1\n",
                    value.replace('\'', "''")
                )
            }))
        }
        Style::DoubleQuoted => {
            forbidden.push(json_inner(&value));
            Some(nested(path, |i, k| {
                format!("{i}{k}: \"{}\"\n{i}unknownSibling: 1\n", json_inner(&value))
            }))
        }
        Style::Literal => Some(nested(path, |i, k| {
            format!("{i}{k}: |-\n{i}  {value}\n{i}unknownSibling: 1\n")
        })),
        Style::Folded => {
            // Two lines, folded into one value with a space.
            let (a, b) = value.split_at(value.len() / 2);
            forbidden.extend([a.to_owned(), b.to_owned()]);
            let value = format!("{a} {b}");
            forbidden[0] = value.clone();
            Some(nested(path, |i, k| {
                format!("{i}{k}: >-\n{i}  {a}\n{i}  {b}\n{i}unknownSibling: 1\n")
            }))
        }
        Style::NextLine => Some(nested(path, |i, k| {
            format!("{i}{k}:\n{i}  {value}\n{i}unknownSibling: 1\n")
        })),
        Style::Flow => {
            let keys: Vec<&str> = path.split('.').collect();
            let mut inner = format!("{{other: \"k\", {}: \"{value}\"}}", keys[keys.len() - 1]);
            for key in keys[..keys.len() - 1].iter().rev() {
                inner = format!("{{{key}: {inner}}}");
            }
            // The unknown key `other` is on the secret's line.
            Some(format!("{}\n", &inner[1..inner.len() - 1]))
        }
        Style::JsonLine => {
            let mut v = serde_json::json!(value);
            for key in path.split('.').rev() {
                v = serde_json::json!({ key: v });
            }
            v["unknownTop"] = serde_json::json!(1);
            Some(format!("{v}\n"))
        }
        Style::Alias => Some(format!(
            "{}global:\n  domain: *a\n  elementDomain: *a\n",
            nested(path, |i, k| format!("{i}{k}: &a {value}\n"))
        )),
        Style::Duplicate => Some(nested(path, |i, k| {
            format!("{i}{k}: {value}\n{i}{k}: {value}\n")
        })),
        Style::Misspelled => Some(nested(path, |i, k| {
            let mut typo: Vec<char> = k.chars().collect();
            typo.remove(typo.len() - 2);
            let typo: String = typo.into_iter().collect();
            format!("{i}{typo}: {value}\n")
        })),
        Style::Set => {
            set.push(format!("{path}={value}"));
            set.push("unknownTop=1".to_owned());
            None
        }
        Style::SetString => {
            set_string.push(format!("{path}={value}"));
            set_string.push("unknownTop=1".to_owned());
            None
        }
    };
    Case {
        name: format!("{path} {style:?}"),
        doc,
        set,
        set_string,
        forbidden,
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for path in SECRET_PATHS {
        for style in STYLES {
            out.push(case(out.len(), path, *style));
        }
    }
    out
}

/// Fails when any forbidden text, as written or JSON-escaped, is in `output`.
fn assert_clean(case: &Case, front_end: &str, output: &str) {
    // A hint may show a value in another case.
    let output = output.to_lowercase();
    for secret in &case.forbidden {
        let json = serde_json::to_string(secret).unwrap();
        for form in [secret.as_str(), &json[1..json.len() - 1]] {
            assert!(
                !output.contains(&form.to_lowercase()),
                "{}: {front_end} shows the secret {form:?}:\n{output}",
                case.name
            );
        }
    }
}

fn seed_values() -> NamedText {
    let path = repo().join("tests/fixtures/seed/values.yaml");
    NamedText {
        name: path.display().to_string(),
        text: std::fs::read_to_string(&path).unwrap(),
    }
}

fn request(case: &Case) -> RenderRequest {
    let mut values = vec![seed_values()];
    if let Some(doc) = &case.doc {
        values.push(NamedText {
            name: "stack.yaml".to_owned(),
            text: doc.clone(),
        });
    }
    RenderRequest {
        values,
        set: case.set.clone(),
        set_string: case.set_string.clone(),
        ..RenderRequest::default()
    }
}

#[test]
fn the_core_response_holds_no_secret() {
    let mut located_on_secret_line = 0;
    for case in cases() {
        let request = request(&case);
        let response = matrix_render_renderer::render(&request);
        assert!(
            !response.ok,
            "{}: the case must fail to show its errors",
            case.name
        );
        assert!(!response.diagnostics.is_empty(), "{}", case.name);
        assert_clean(
            &case,
            "the core's JSON response",
            &serde_json::to_string(&response).unwrap(),
        );
        assert_clean(
            &case,
            "the core's fast JSON response",
            &matrix_render_renderer::response_json(&response),
        );
        let secrets = Secrets::of_request(&request);
        let report =
            matrix_render_model::report::human(&response.diagnostics, &request.values, &secrets);
        assert_clean(&case, "the report", &report);
        // Every line of every document, shown as a snippet, masked.
        let everywhere: Vec<Diagnostic> = request
            .values
            .iter()
            .flat_map(|doc| {
                (1..=doc.text.lines().count()).map(|line| {
                    Diagnostic::error("probe", "", "probe").at(
                        &doc.name,
                        Some(u32::try_from(line).unwrap()),
                        Some(1),
                    )
                })
            })
            .collect();
        let report = matrix_render_model::report::human(&everywhere, &request.values, &secrets);
        assert_clean(&case, "a snippet of any line", &report);
        // The test means something: a diagnostic points at the secret's own line.
        if let Some(doc) = &case.doc {
            let secret_lines: Vec<usize> = doc
                .lines()
                .enumerate()
                .filter(|(_, l)| case.forbidden.iter().any(|s| l.contains(s.as_str())))
                .map(|(i, _)| i + 1)
                .collect();
            located_on_secret_line += usize::from(response.diagnostics.iter().any(|d| {
                d.file.as_deref() == Some("stack.yaml")
                    && d.line.is_some_and(|l| secret_lines.contains(&(l as usize)))
            }));
        }
    }
    assert!(
        located_on_secret_line >= 4 * SECRET_PATHS.len(),
        "only {located_on_secret_line} cases put a diagnostic on the secret's line"
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-mask-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn cli_args(case: &Case, dir: &Path) -> Vec<String> {
    let mut args = vec!["-f".to_owned(), seed_values().name];
    if let Some(doc) = &case.doc {
        let file = dir.join("stack.yaml");
        std::fs::write(&file, doc).unwrap();
        args.extend(["-f".to_owned(), file.display().to_string()]);
    }
    for s in &case.set {
        args.extend(["--set".to_owned(), s.clone()]);
    }
    for s in &case.set_string {
        args.extend(["--set-string".to_owned(), s.clone()]);
    }
    args
}

#[test]
fn the_cli_shows_no_secret_in_text_or_json() {
    let dir = scratch("cli");
    let mut snippets = 0;
    for case in cases() {
        let args = cli_args(&case, &dir);
        for command in [
            &["validate"][..],
            &["validate", "--format", "json"],
            &["render"],
            &["render", "--format", "json"],
        ] {
            let out = bin().args(command).args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{} {command:?}", case.name);
            let text = all_output(&out);
            assert_clean(&case, &format!("matrix-render {command:?}"), &text);
            snippets += text.matches("\n  |").count();
        }
    }
    assert!(snippets > 0, "no snippet was shown at all");
}

/// A ResourceList whose function config's `spec` is the case's document, indented.
fn resource_list(doc: &str) -> String {
    let spec: String = doc.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  \
         apiVersion: matrix-render.github.io/v1alpha1\n  kind: MatrixStack\n  metadata:\n    \
         name: stack\n  spec:\n{spec}"
    )
}

#[test]
fn the_krm_function_shows_no_secret() {
    let mut ran = 0;
    for case in cases() {
        // JSON on one line cannot be indented under `spec:`; flags do not exist in KRM.
        let Some(doc) = case.doc.as_ref().filter(|d| !d.starts_with('{')) else {
            continue;
        };
        let input = resource_list(doc);
        let mut child = bin()
            .arg("krm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        assert_clean(&case, "matrix-render krm", &all_output(&out));
        ran += 1;
    }
    assert!(ran >= 9 * SECRET_PATHS.len(), "{ran}");
}

#[test]
fn a_batch_never_echoes_a_secrets_file() {
    let root = scratch("batch");
    let tenants = root.join("tenants");
    let home = tenants.join("alpha");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/seed/values.yaml"),
        home.join("values.yaml"),
    )
    .unwrap();
    // The secrets file is a link to a file that is no values file at all (a password file).
    let passwd = root.join("passwd");
    std::fs::write(
        &passwd,
        "rootZq:x:0:0:ZqSecretLine:/root:/bin/zqsh\ndaemonZq:x:1:1:ZqOther:/usr/sbin:/bin/zqsh\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&passwd, home.join("secrets.yaml")).unwrap();
    let out = bin()
        .args(["render", "--batch"])
        .arg(&tenants)
        .arg("--output-dir")
        .arg(root.join("out"))
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for forbidden in ["rootZq", "ZqSecretLine", "zqsh", "daemonZq", "ZqOther"] {
        assert!(
            !text.contains(forbidden),
            "the batch shows {forbidden}:\n{text}"
        );
    }
    assert!(
        text.contains("secrets.yaml"),
        "the file is still named:\n{text}"
    );
}

#[test]
fn an_empty_secret_is_shown_as_written() {
    let dir = scratch("empty");
    let file = dir.join("stack.yaml");
    std::fs::write(
        &file,
        "synapse:\n  registration_shared_secret: \"\"\n  registraton: {}\n",
    )
    .unwrap();
    let out = bin()
        .args(["validate", "-f"])
        .arg(repo().join("tests/fixtures/seed/values.yaml"))
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(
        text.contains("registration_shared_secret: \"\"\n"),
        "the empty value is not shown:\n{text}"
    );
    // Nor with a comment after it, as in the seed chart's values.
    let out = bin()
        .args(["validate", "-f"])
        .arg(repo().join("tests/fixtures/seed/values.yaml"))
        .output()
        .unwrap();
    let text = all_output(&out);
    assert!(
        text.contains("registration_shared_secret: \"\" #"),
        "the empty value is not shown:\n{text}"
    );
}
