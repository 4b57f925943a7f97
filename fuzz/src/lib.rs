//! Shared invariant checks for the fuzz targets in `fuzz_targets/`.
//!
//! Every check panics (which libFuzzer reports as a crash) when an invariant of
//! `matrix_render_renderer::render` is broken:
//!
//! * rendering is deterministic: the same request twice gives byte-identical responses;
//! * `ok` is false exactly when some diagnostic is an error;
//! * `ok` implies a non-empty `output`; not `ok` implies an empty `output` and no objects;
//! * when `ok`, the same request as JSON (with `split`) renders `ok` too, with the same
//!   diagnostics and objects, its `output` parses as a `List` whose `items` match the
//!   objects one for one, and every split document is the matching item;
//! * the YAML output, read back by serde_yaml, equals the JSON items document by document;
//! * no secret value (a string of six or more characters at a path of `SECRET_PATHS` in a
//!   values document, or set there by a flag) appears in any diagnostic's message, hint,
//!   path or file, nor in the report for people with its snippets.

use matrix_render_model::Severity;
use matrix_render_renderer::{Format, RenderRequest, RenderResponse};
use serde_json::Value;

pub use matrix_render_model::NamedText;

/// A complete, valid values document: with only this (over the defaults) the render is ok.
pub const FIXED_VALUES: &str = "\
global:
  domain: matrix.example.org
  elementDomain: element.example.org
synapse:
  registration_shared_secret: s3cr3t-s3cr3t-s3cr3t-s3cr3t-0123
  recaptcha:
    siteKey: site-key-a
    secretKey: secret-key-b
coturn:
  realm: turn.example.org
  turn_url: turn.example.org
  turn_shared_secret: turn-s3cr3t-s3cr3t-s3cr3t-0123456
";

/// Name of the fixed document in requests.
pub const FIXED_NAME: &str = "fixed.yaml";

/// A values document.
#[must_use]
pub fn doc(name: &str, text: &str) -> NamedText {
    NamedText {
        name: name.to_owned(),
        text: text.to_owned(),
    }
}

/// The fixed document as a [`NamedText`].
#[must_use]
pub fn fixed_doc() -> NamedText {
    doc(FIXED_NAME, FIXED_VALUES)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("a response always serializes")
}

/// Renders `request` (its format is taken as is) and checks every invariant. Returns the
/// first response.
pub fn check(request: &RenderRequest) -> RenderResponse {
    let first = matrix_render_renderer::render(request);
    let second = matrix_render_renderer::render(request);
    assert_eq!(
        first.output, second.output,
        "nondeterministic output for the same request"
    );
    assert_eq!(
        to_json(&first.diagnostics),
        to_json(&second.diagnostics),
        "nondeterministic diagnostics for the same request"
    );
    assert_eq!(
        to_json(&first),
        to_json(&second),
        "nondeterministic response for the same request"
    );
    check_shape(&first);
    check_no_secret(request, &first);

    if first.ok {
        let mut json_request = request.clone();
        json_request.options.format = Format::Json;
        json_request.options.split = true;
        let json = matrix_render_renderer::render(&json_request);
        check_shape(&json);
        assert!(
            json.ok,
            "ok as YAML but not as JSON: {:?}",
            json.diagnostics
        );
        assert_eq!(
            to_json(&first.diagnostics),
            to_json(&json.diagnostics),
            "the output format changed the diagnostics"
        );
        assert_eq!(
            first.objects.len(),
            json.objects.len(),
            "the output format changed the object count"
        );
        for (a, b) in first.objects.iter().zip(&json.objects) {
            assert_eq!(
                (&a.api_version, &a.kind, &a.name, &a.namespace, &a.component),
                (&b.api_version, &b.kind, &b.name, &b.namespace, &b.component),
                "the output format changed an object"
            );
        }
        let list: Value = serde_json::from_str(&json.output)
            .unwrap_or_else(|e| panic!("JSON output does not parse: {e}\n{}", json.output));
        assert_eq!(list["kind"], "List", "JSON output is not a List");
        let items = list["items"]
            .as_array()
            .expect("JSON output has an `items` array");
        assert_eq!(
            items.len(),
            json.objects.len(),
            "JSON items and objects differ in number"
        );
        for (item, info) in items.iter().zip(&json.objects) {
            assert_eq!(item["kind"], info.kind.as_str(), "item kind != object kind");
            assert_eq!(
                item["apiVersion"],
                info.api_version.as_str(),
                "item apiVersion != object apiVersion"
            );
            assert_eq!(
                item["metadata"]["name"],
                info.name.as_str(),
                "item name != object name"
            );
            let document = info
                .document
                .as_deref()
                .expect("split is set, so every object has its document");
            let parsed: Value = serde_json::from_str(document)
                .unwrap_or_else(|e| panic!("split JSON document does not parse: {e}"));
            assert_eq!(&parsed, item, "split document != its item in the List");
        }
        if request.options.format == Format::Yaml {
            check_yaml_matches(&first.output, items);
        }
    }
    first
}

/// The YAML stream, read back by a YAML reader (serde_yaml), holds exactly the JSON items.
fn check_yaml_matches(yaml: &str, items: &[Value]) {
    use serde::Deserialize as _;
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(yaml)
        .map(|d| {
            Value::deserialize(d)
                .unwrap_or_else(|e| panic!("YAML output does not read back: {e}\n{yaml}"))
        })
        .collect();
    assert_eq!(
        docs.len(),
        items.len(),
        "YAML documents and JSON items differ in number"
    );
    for (doc, item) in docs.iter().zip(items) {
        assert_eq!(
            doc, item,
            "a YAML document reads back differently from its JSON item"
        );
    }
}

/// The secret values of a request, found independently of the masking: strings at the
/// paths of `SECRET_PATHS` in each document and in each flag, at least as long as the
/// masking's "anywhere" minimum (shorter ones are masked only where they stand alone), and
/// with no `*` (the mask itself).
fn secret_values(request: &RenderRequest) -> Vec<String> {
    use matrix_render_model::config::SECRET_PATHS;
    let mut out = Vec::new();
    let mut keep = |value: &str| {
        let value = value.trim();
        if value.chars().count() >= matrix_render_model::mask::MIN_ANYWHERE && !value.contains('*')
        {
            out.push(value.to_ascii_lowercase());
        }
    };
    for doc in &request.values {
        let Ok(Some(root)) = matrix_render_model::yaml::parse(&doc.text).0 else {
            continue;
        };
        for path in SECRET_PATHS {
            let found = path.split('.').try_fold(&root, |v, k| v.get(k));
            if let Some(Value::String(value)) = found {
                keep(value);
            }
        }
    }
    for (args, as_string) in [(&request.set, false), (&request.set_string, true)] {
        for arg in args {
            for a in matrix_render_model::set::parse(arg, as_string).unwrap_or_default() {
                if SECRET_PATHS.contains(&a.key_path().as_str())
                    && let Value::String(value) = a.value()
                {
                    keep(value);
                }
            }
        }
    }
    out
}

/// No secret value of the request in any diagnostic, nor in the report with its snippets.
pub fn check_no_secret(request: &RenderRequest, response: &RenderResponse) {
    if response.diagnostics.is_empty() {
        return;
    }
    let secrets = secret_values(request);
    if secrets.is_empty() {
        return;
    }
    let report = matrix_render_model::report::human(
        &response.diagnostics,
        &request.values,
        &matrix_render_model::mask::Secrets::of_request(request),
    );
    let mut texts = vec![report];
    for d in &response.diagnostics {
        texts.extend([d.message.clone(), d.path.clone()]);
        texts.extend(d.hint.clone());
        texts.extend(d.file.clone());
    }
    for text in texts {
        // A file's own name is shown as it is, whatever a value in it says.
        let text = request
            .values
            .iter()
            .fold(text, |text, doc| text.replace(&doc.name, ""))
            .to_ascii_lowercase();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret value ({secret:?}) appears in a diagnostic:\n{text}"
            );
        }
    }
}

/// Checks the invariants of one response on its own.
pub fn check_shape(response: &RenderResponse) {
    let has_error = response
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    assert_eq!(
        response.ok, !has_error,
        "ok must be false exactly when a diagnostic is an error: {:?}",
        response.diagnostics
    );
    if response.ok {
        assert!(!response.output.is_empty(), "ok but the output is empty");
        assert!(!response.objects.is_empty(), "ok but no objects");
    } else {
        assert!(
            response.output.is_empty(),
            "not ok but the output is not empty"
        );
        assert!(
            response.objects.is_empty(),
            "not ok but objects were returned"
        );
    }
}

/// Checks `render_json` on raw bytes: same bytes twice give the same text, which is a JSON
/// object with a boolean `ok` consistent with its diagnostics; a request that parses also
/// passes [`check`] and `render` on it gives the same response.
pub fn check_json(bytes: &[u8]) {
    let first = matrix_render_renderer::render_json(bytes);
    let second = matrix_render_renderer::render_json(bytes);
    assert_eq!(first, second, "render_json is nondeterministic");
    let value: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("render_json returned invalid JSON: {e}\n{first}"));
    let ok = value["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("render_json returned no boolean `ok`: {first}"));
    let response: RenderResponse = serde_json::from_value(value)
        .unwrap_or_else(|e| panic!("render_json returned no RenderResponse: {e}\n{first}"));
    assert_eq!(ok, response.ok);
    check_shape(&response);
    // A request that parses must render exactly like `render` on it.
    if let Ok(request) = serde_json::from_slice::<RenderRequest>(bytes) {
        let direct = check(&request);
        assert_eq!(
            to_json(&direct),
            first,
            "render_json != render on the same request"
        );
    }
}
