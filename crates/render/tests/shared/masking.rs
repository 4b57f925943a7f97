//! The cases of the masking tests: every secret setting, written in every YAML style (and as
//! a flag, under a misspelled key, through an alias), each with the texts that must appear in
//! no output. Shared by the core's tests (crates/render/tests) and the CLI's
//! (crates/host-cli/tests, which include this file).

use matrix_render_model::NamedText;
use matrix_render_model::api::RenderRequest;
use matrix_render_model::config::SECRET_PATHS;

use crate::common::repo;

/// How a case writes its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
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

pub const STYLES: &[Style] = &[
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
pub struct Case {
    pub name: String,
    pub doc: Option<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    /// The secret, and each line of it as a file shows it.
    pub forbidden: Vec<String>,
}

/// The secret of case `n`: unlike any other text; short enough that LiveKit's length check
/// reports it (a warning at its line).
pub fn secret(n: usize, style: Style) -> String {
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

pub fn case(n: usize, path: &str, style: Style) -> Case {
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

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for path in SECRET_PATHS {
        for style in STYLES {
            out.push(case(out.len(), path, *style));
        }
    }
    out
}

/// Fails when any forbidden text, as written or JSON-escaped, is in `output`.
pub fn assert_clean(case: &Case, front_end: &str, output: &str) {
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

pub fn seed_values() -> NamedText {
    let path = repo().join("tests/fixtures/seed/values.yaml");
    NamedText {
        name: path.display().to_string(),
        text: std::fs::read_to_string(&path).unwrap(),
    }
}

pub fn request(case: &Case) -> RenderRequest {
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
