//! The core's one-pass YAML reader against an independent parser (serde_yaml, libyaml's
//! scanner): every values file in the repository and a list of tricky scalars must read the
//! same, and a document one refuses the other must refuse too.

use std::path::{Path, PathBuf};

use matrix_render_model::yaml;
use serde_json::Value;

/// serde_yaml's reading, in the core's terms: JSON with string keys, merge keys applied,
/// tags and non-finite numbers refused. `None` when it refuses the document.
fn reference(text: &str) -> Option<Option<Value>> {
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    value.apply_merge().ok()?;
    if value.is_null() {
        return Some(None);
    }
    to_json(value).map(Some)
}

fn to_json(value: serde_yaml::Value) -> Option<Value> {
    Some(match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64()?;
                Value::Number(serde_json::Number::from_f64(f)?)
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Option<_>>()?)
        }
        serde_yaml::Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let serde_yaml::Value::String(k) = k else {
                    return None;
                };
                out.insert(k, to_json(v)?);
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(_) => return None,
    })
}

fn ours(text: &str) -> Option<Option<Value>> {
    yaml::parse(text).0.ok()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Documents of the bad-input corpus our reader refuses for a limit serde_yaml does not have.
const STRICTER: &[&str] = &["tests/bad/yaml-alias-bytes.yaml"];

#[test]
fn every_values_file_reads_as_serde_yaml_reads_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["tests/bad", "tests/fixtures", "examples"] {
        yaml_files(&root.join(dir), &mut files);
    }
    files.push(root.join("crates/model/src/defaults.yaml"));
    assert!(files.len() > 80, "only {} files", files.len());
    let mut refused = 0;
    let mut differ = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let (a, b) = (ours(&text), reference(&text));
        // Our reader limits what aliases copy by bytes as well, which serde_yaml does not:
        // those cases must be refused for that reason, and serde_yaml reads them.
        if STRICTER.iter().any(|name| file.ends_with(name)) {
            let code = yaml::parse(&text).0.err().map(|e| e.code);
            assert_eq!(code, Some("too-many-aliases"), "{}", file.display());
            assert!(b.is_some(), "{}", file.display());
            refused += 1;
            continue;
        }
        if a != b {
            differ.push(format!("{}: {a:?} != {b:?}", file.display()));
        }
        refused += usize::from(a.is_none());
    }
    assert!(differ.is_empty(), "{differ:#?}");
    // The corpus's YAML-level mistakes (syntax, tags, duplicate and non-string keys, alias
    // bombs, nesting) are refused by both.
    assert!(refused >= 6, "only {refused} documents refused");
}

#[test]
fn tricky_scalars_read_as_serde_yaml_reads_them() {
    let scalars = [
        "0",
        "-0",
        "+0",
        "00",
        "0123",
        "-0123",
        "+0123",
        "7",
        "+7",
        "-7",
        "1_000",
        "0x1F",
        "-0x1F",
        "+0x1F",
        "0x",
        "0x-1",
        "0x+1",
        "0xG",
        "0o17",
        "-0o17",
        "0o8",
        "0b101",
        "-0b11",
        "0b2",
        "1e3",
        "1E3",
        "-1e3",
        "1e-3",
        ".5",
        "-.5",
        "+.5",
        "1.",
        "0.",
        "1.5",
        "-1.5",
        "+-1",
        "-+1",
        "++1",
        "--1",
        "+",
        "-",
        ".",
        "..",
        "1e",
        "e1",
        "1__0",
        ".inf",
        "-.Inf",
        "+.INF",
        ".NaN",
        ".nan",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "infinity",
        "1e400",
        "-1e400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "0x7FFFFFFFFFFFFFFF",
        "0x8000000000000000",
        "-0x8000000000000000",
        "0xFFFFFFFFFFFFFFFF",
        "0x10000000000000000",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "False",
        "FALSE",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "n",
        "1:2",
        "12:30:00",
        "2001-12-14",
        "1.2.3",
        "0.0.0.0/0",
        "::1",
        "10.0.0.1",
        "'1'",
        "\"1\"",
        "'true'",
        "\"~\"",
        "!!str 1",
        "!!str true",
        "!!int \"2\"",
        "!!int x",
        "!!float 1",
        "!!float 1.5",
        "!!bool true",
        "!!bool yes",
        "!!null ~",
        "!!null x",
        "!vault x",
        "! 12",
        "[1, '2', three]",
        "{a: 1}",
        "\"a\\tb\\u00e9\"",
        "'it''s'",
    ];
    let differ: Vec<String> = scalars
        .iter()
        .map(|scalar| format!("key: {scalar}\n"))
        .filter_map(|text| {
            let (a, b) = (ours(&text), reference(&text));
            (a != b).then(|| format!("{text:?}: {a:?} != {b:?}"))
        })
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn binary_is_refused_rather_than_read_as_its_base64_text() {
    // serde_yaml reads `!!binary` as the base64 text; Helm's parser decodes it. A values
    // file has no use for either, so the core refuses the tag instead of guessing.
    assert_eq!(
        reference("key: !!binary aGk=\n"),
        Some(Some(serde_json::json!({"key": "aGk="})))
    );
    assert_eq!(ours("key: !!binary aGk=\n"), None);
}

#[test]
fn structures_read_as_serde_yaml_reads_them() {
    let documents = [
        "",
        "# nothing\n",
        "---\n",
        "---\na: 1\n...\n",
        "a: 1\n---\nb: 2\n",
        "- 1\n- 2\n",
        "a:\n  - b: 1\n    c: [x, {d: e}]\n",
        "a: |\n  line one\n  line two\n",
        "a: >-\n  folded\n  text\n",
        "a: &x {p: 1}\nb: *x\n",
        "base: &b {x: 1, y: 2}\nover:\n  <<: *b\n  y: 3\n",
        "over:\n  <<: [{p: 1}, {p: 2, q: 2}]\n  r: 0\n",
        "a:\n  <<: 5\n",
        "a:\n  <<: [1]\n",
        "a: 1\na: 2\n",
        "1: x\n",
        "? [a]\n: b\n",
        "null: x\n",
        "'null': x\n",
        "a: [1, 2\n",
        "a:\n\tb: 1\n",
        "a: *missing\n",
        "a: &a [*a]\n",
        "\u{feff}a: 1\n",
        "a: 'multi\n  line'\n",
        "\"key with: colon\": 1\n",
        "&k key: 1\nother: *k\n",
        "a:\n  &k key: 1\nb:\n  *k : 2\n",
    ];
    let differ: Vec<String> = documents
        .iter()
        .filter_map(|text| {
            let (a, b) = (ours(text), reference(text));
            (a != b).then(|| format!("{text:?}: {a:?} != {b:?}"))
        })
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
}
