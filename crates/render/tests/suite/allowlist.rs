//! Every key we write into Element Web's `config.json` and LiveKit's `config.yaml` is one the
//! projects document. The documented keys we use (or may use) are listed, with their sources,
//! in tests/allowlist/element-config.txt and tests/allowlist/livekit-config.txt.
//!
//! Key paths: objects recurse, one segment a key; the items of a list recurse under a `[]`
//! segment; the keys of user-data maps (`features`, `setting_defaults`) are keys like any
//! other. A list entry's `*` segment matches any one key (for maps keyed by data, such as
//! homeserver URLs). Keys that come only from the user's free-form `element.extraConfig` are
//! the user's responsibility and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use matrix_render_model::api::{Format, RenderRequest};
use matrix_render_model::load::NamedText;
use serde_json::Value;

use crate::common::{fixtures, repo, request};

type KeyPath = Vec<String>;

/// Key paths, each with the fixtures that emit it.
type Emitted = BTreeMap<KeyPath, BTreeSet<String>>;

fn show(path: &[String]) -> String {
    path.iter()
        .map(|s| {
            if s.contains('/') {
                format!("{s:?}")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every key path in `value`, parents included.
fn key_paths(value: &Value) -> BTreeSet<KeyPath> {
    fn walk(value: &Value, prefix: &mut KeyPath, out: &mut BTreeSet<KeyPath>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    prefix.push(key.clone());
                    out.insert(prefix.clone());
                    walk(v, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                prefix.push("[]".to_owned());
                for item in items {
                    walk(item, prefix, out);
                }
                prefix.pop();
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// Element's config.json and, when MatrixRTC is on, LiveKit's config.yaml, from a render.
fn rendered_configs(name: &str, req: &RenderRequest) -> (Value, Option<Value>) {
    let response = matrix_render_renderer::render(req);
    assert!(response.ok, "{name}: {:#?}", response.diagnostics);
    let list: Value = serde_json::from_str(&response.output).unwrap();
    let (mut element, mut livekit) = (None, None);
    for item in list["items"].as_array().unwrap() {
        if item["kind"] != "ConfigMap" {
            continue;
        }
        let app = item["metadata"]["labels"]["app.kubernetes.io/name"].as_str();
        let data = &item["data"];
        let (slot, text, parsed) = match (
            app,
            data["config.json"].as_str(),
            data["config.yaml"].as_str(),
        ) {
            (Some("element"), Some(text), _) => (
                &mut element,
                text,
                serde_json::from_str::<Value>(text).map_err(|e| e.to_string()),
            ),
            (Some("livekit"), _, Some(text)) => (
                &mut livekit,
                text,
                serde_yaml::from_str::<Value>(text).map_err(|e| e.to_string()),
            ),
            _ => continue,
        };
        let value = parsed.unwrap_or_else(|e| panic!("{name}: unparsable config ({e}):\n{text}"));
        assert!(
            slot.replace(value).is_none(),
            "{name}: two {app:?} config ConfigMaps"
        );
    }
    (
        element.unwrap_or_else(|| panic!("{name}: no Element config.json ConfigMap")),
        livekit,
    )
}

/// The key paths of the rendered Element config that come only from `element.extraConfig`:
/// the keys of the fixture's merged extraConfig that the same render without it lacks.
fn extra_config_only(name: &str, req: &RenderRequest) -> BTreeSet<KeyPath> {
    for arg in req.set.iter().chain(&req.set_string) {
        assert!(
            !arg.contains("extraConfig"),
            "{name}: --set {arg} touches element.extraConfig; teach this test to drop it below"
        );
    }
    let loaded = matrix_render_renderer::model::load(matrix_render_renderer::model::LoadInput {
        values: &req.values,
        set: &req.set,
        set_string: &req.set_string,
        ..Default::default()
    });
    let config = loaded
        .config
        .unwrap_or_else(|| panic!("{name}: {:#?}", loaded.diagnostics));
    let extra = key_paths(&Value::Object(config.element.extra_config));
    if extra.is_empty() {
        return extra;
    }
    // A `null` removes a key, then an empty map puts the required field back.
    let mut without = req.clone();
    for text in [
        "element:\n  extraConfig: null\n",
        "element:\n  extraConfig: {}\n",
    ] {
        without.values.push(NamedText {
            name: "allowlist test: no extraConfig".to_owned(),
            text: text.to_owned(),
        });
    }
    let ours = key_paths(&rendered_configs(name, &without).0);
    extra.difference(&ours).cloned().collect()
}

/// Adds the key paths one render emits to `element` and `livekit`, under `name`.
fn record(name: &str, req: &RenderRequest, element: &mut Emitted, livekit: &mut Emitted) {
    let (element_config, livekit_config) = rendered_configs(name, req);
    let excluded = extra_config_only(name, req);
    for path in key_paths(&element_config).difference(&excluded) {
        element
            .entry(path.clone())
            .or_default()
            .insert(name.to_owned());
    }
    for path in livekit_config.iter().flat_map(key_paths) {
        livekit.entry(path).or_default().insert(name.to_owned());
    }
}

/// The key paths the fixtures emit: (Element, LiveKit).
fn emitted() -> (Emitted, Emitted) {
    let (mut element, mut livekit) = (Emitted::new(), Emitted::new());
    for (name, dir) in fixtures() {
        record(
            &name,
            &request(&dir, Format::Json),
            &mut element,
            &mut livekit,
        );
    }
    assert!(
        !livekit.is_empty(),
        "no fixture renders LiveKit's config: nothing checks livekit-config.txt"
    );
    (element, livekit)
}

struct Entry {
    path: KeyPath,
    line: usize,
    unused: bool,
}

impl Entry {
    fn matches(&self, path: &[String]) -> bool {
        self.path.len() == path.len() && self.path.iter().zip(path).all(|(e, p)| e == "*" || e == p)
    }
}

struct AllowList {
    /// Relative to the repository root.
    file: PathBuf,
    sources: Vec<String>,
    entries: Vec<Entry>,
}

fn allow_list(file_name: &str) -> AllowList {
    let file = Path::new("tests/allowlist").join(file_name);
    let text = std::fs::read_to_string(repo().join(&file)).unwrap();
    let mut sources = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (key, comment) = line.split_once('#').unwrap_or((line, ""));
        let (key, comment) = (key.trim(), comment.trim());
        if key.is_empty() {
            if let Some(source) = comment.strip_prefix("Source:") {
                sources.push(source.trim().to_owned());
            }
            continue;
        }
        let path: KeyPath = key.split('/').map(str::to_owned).collect();
        assert!(
            path.iter().all(|s| !s.is_empty() && s.trim() == s),
            "{}:{}: bad key path {key:?}",
            file.display(),
            i + 1
        );
        if let Some(first) = entries.iter().find(|e| e.path == path) {
            panic!(
                "{}:{}: {key} is already listed on line {}",
                file.display(),
                i + 1,
                first.line
            );
        }
        entries.push(Entry {
            path,
            line: i + 1,
            unused: comment.starts_with("unused"),
        });
    }
    assert!(
        !sources.is_empty() && !entries.is_empty(),
        "{}: expected `# Source: ...` header lines and key paths",
        file.display()
    );
    AllowList {
        file,
        sources,
        entries,
    }
}

/// What is wrong with `list` given what the fixtures emit; empty when all is well.
fn problems(list: &AllowList, emitted: &Emitted) -> Vec<String> {
    let mut out = Vec::new();
    let unknown: Vec<String> = emitted
        .iter()
        .filter(|(path, _)| !list.entries.iter().any(|e| e.matches(path)))
        .map(|(path, names)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            format!("  {}  (fixtures: {})", show(path), names.join(", "))
        })
        .collect();
    if !unknown.is_empty() {
        out.push(format!(
            "we emit keys that {} does not list:\n{}\nLook each one up in the documentation its header names:\n  {}\n\
             If it is documented, add it to the list; if not, it is an error in crates/render (a misspelt or \
             invented option): fix the renderer, not the list.",
            list.file.display(),
            unknown.join("\n"),
            list.sources.join("\n  "),
        ));
    }
    for entry in &list.entries {
        let used = emitted.keys().any(|path| entry.matches(path));
        if !used && !entry.unused {
            out.push(format!(
                "{}:{}: {} is emitted by no fixture: remove it, or mark it `# unused` if we may emit it",
                list.file.display(),
                entry.line,
                show(&entry.path)
            ));
        }
        if used && entry.unused {
            out.push(format!(
                "{}:{}: {} is marked `# unused` but a fixture emits it: drop the marker",
                list.file.display(),
                entry.line,
                show(&entry.path)
            ));
        }
    }
    out
}

fn check(file_name: &str, emitted: &Emitted) {
    let problems = problems(&allow_list(file_name), emitted);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn element_config_keys_are_documented() {
    check("element-config.txt", &emitted().0);
}

#[test]
fn livekit_config_keys_are_documented() {
    check("livekit-config.txt", &emitted().1);
}

#[test]
fn only_keys_that_come_from_extra_config_alone_are_left_out() {
    let (_, dir) = fixtures().into_iter().find(|(n, _)| n == "seed").unwrap();
    let mut req = request(&dir, Format::Json);
    for text in [
        "element:\n  extraConfig: null\n",
        "element:\n  extraConfig:\n    brand: Over\n    x_extra: {deep: [{k: 1}]}\n    setting_defaults: {x_setting: true, breadcrumbs: false}\n",
    ] {
        req.values.push(NamedText {
            name: "extra".to_owned(),
            text: text.to_owned(),
        });
    }
    let excluded: BTreeSet<String> = extra_config_only("seed+extra", &req)
        .iter()
        .map(|p| show(p))
        .collect();
    // Not `brand`, `setting_defaults` or `setting_defaults/breadcrumbs`: we emit those too.
    let expected = [
        "setting_defaults/x_setting",
        "x_extra",
        "x_extra/deep",
        "x_extra/deep/[]/k",
    ];
    assert_eq!(excluded, BTreeSet::from(expected.map(str::to_owned)));
}

#[test]
fn unlisted_flags_and_settings_are_reported_unless_from_extra_config() {
    let (_, dir) = fixtures().into_iter().find(|(n, _)| n == "seed").unwrap();
    let mut req = request(&dir, Format::Json);
    req.values.push(NamedText {
        name: "unlisted".to_owned(),
        text: "element:\n  features: {feature_bogus: true}\n  settingDefaults: {bogusSetting: 1}\n  extraConfig: {bogus_extra: 1}\n".to_owned(),
    });
    let (mut element, mut livekit) = (Emitted::new(), Emitted::new());
    record("seed+unlisted", &req, &mut element, &mut livekit);
    let list = allow_list("element-config.txt");
    let problems = problems(&list, &element).join("\n");
    assert!(
        problems.contains("  features/feature_bogus  (fixtures: seed+unlisted)"),
        "{problems}"
    );
    assert!(
        problems.contains("  setting_defaults/bogusSetting  (fixtures: seed+unlisted)"),
        "{problems}"
    );
    assert!(!problems.contains("bogus_extra"), "{problems}");
}

#[test]
fn key_paths_and_list_matching() {
    let value = serde_json::json!({
        "a": {"m.b": [{"c": 1}, {"d": [2]}], "e": {}},
        "f": {"https://x.example": true},
    });
    let paths: Vec<String> = key_paths(&value).iter().map(|p| show(p)).collect();
    assert_eq!(
        paths,
        [
            "a",
            "a/e",
            "a/m.b",
            "a/m.b/[]/c",
            "a/m.b/[]/d",
            "f",
            "f/\"https://x.example\"",
        ]
    );
    let entry = |path: &str| Entry {
        path: path.split('/').map(str::to_owned).collect(),
        line: 1,
        unused: false,
    };
    let url: KeyPath = vec!["f".to_owned(), "https://x.example".to_owned()];
    assert!(entry("f/*").matches(&url));
    assert!(!entry("f").matches(&url));
    assert!(!entry("*").matches(&url));
}
