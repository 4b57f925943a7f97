//! `matrix-render krm`, the KRM function, through the real binary: a ResourceList in, the
//! same ResourceList with the stack's objects out; run twice, nothing is duplicated; bad
//! input is an error result and exit 1. Also: a MatrixStack document is a values document.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::repo;

/// The annotations the function adds for kpt; kpt strips them when it writes files.
const KPT_ANNOTATIONS: &[&str] = &[
    "config.kubernetes.io/path",
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "internal.config.kubernetes.io/index",
];

fn krm(stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("krm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn read_yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

/// Helm's merge of values documents, for maps of plain values: later documents win.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                match base.get_mut(&k) {
                    Some(b) if b.is_object() && v.is_object() => merge(b, v),
                    _ => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// The seed fixture's values and secrets as one `spec`.
fn seed_spec() -> Value {
    let mut spec = read_yaml("tests/fixtures/seed/values.yaml");
    merge(&mut spec, read_yaml("tests/fixtures/seed/secrets.yaml"));
    spec
}

fn stack(spec: Value) -> Value {
    json!({
        "apiVersion": "matrix-render.github.io/v1alpha1",
        "kind": "MatrixStack",
        "metadata": {"name": "matrix-stack"},
        "spec": spec,
    })
}

fn resource_list(items: Vec<Value>, function_config: Value) -> String {
    serde_yaml::to_string(&json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
        "functionConfig": function_config,
    }))
    .unwrap()
}

/// An object of the package that is not matrix-render's.
fn unrelated() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "unrelated",
            "namespace": "other",
            "annotations": {"config.kubernetes.io/path": "unrelated.yaml"},
        },
        "data": {"flag": "on"},
    })
}

/// The object without the annotations the function adds for kpt.
fn without_kpt_annotations(mut item: Value) -> Value {
    let metadata = item["metadata"].as_object_mut().unwrap();
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        for key in KPT_ANNOTATIONS {
            annotations.remove(*key);
        }
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
    item
}

fn list(out: &Output) -> Value {
    serde_yaml::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}\n{}", stdout(out)))
}

fn results(list: &Value) -> Vec<Value> {
    list["results"].as_array().cloned().unwrap_or_default()
}

fn result_codes(list: &Value) -> Vec<String> {
    results(list)
        .iter()
        .map(|r| r["tags"]["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn seed_values_generate_the_golden_objects_and_a_second_run_changes_nothing() {
    let input = resource_list(vec![unrelated()], stack(seed_spec()));
    let first = krm(&input);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let output = list(&first);
    assert_eq!(output["kind"], "ResourceList");
    assert_eq!(output["apiVersion"], "config.kubernetes.io/v1");
    let items = output["items"].as_array().unwrap();
    assert_eq!(
        items[0],
        unrelated(),
        "the package's own objects come first, unchanged"
    );

    let golden =
        yaml_docs(&std::fs::read_to_string(repo().join("tests/golden/seed.yaml")).unwrap());
    let generated = &items[1..];
    assert_eq!(generated.len(), golden.len());
    for (index, (item, expected)) in generated.iter().zip(&golden).enumerate() {
        let annotations = &item["metadata"]["annotations"];
        for key in [
            "config.kubernetes.io/path",
            "internal.config.kubernetes.io/path",
        ] {
            assert_eq!(annotations[key], "matrix-stack.yaml", "{item}");
        }
        for key in [
            "config.kubernetes.io/index",
            "internal.config.kubernetes.io/index",
        ] {
            assert_eq!(annotations[key], index.to_string().as_str(), "{item}");
        }
        assert_eq!(
            &without_kpt_annotations(item.clone()),
            expected,
            "generated object {index} differs from tests/golden/seed.yaml"
        );
    }
    // The seed pins `latest`: a warning, as a result (only: kpt shows results and stderr
    // both); rendering still succeeds.
    assert!(result_codes(&output).contains(&"latest-tag".to_owned()));
    assert_eq!(stderr(&first), "");
    assert!(results(&output).iter().all(|r| r["severity"] == "warning"));
    assert_eq!(output["functionConfig"]["kind"], "MatrixStack");

    // The output is a valid input: running it again replaces the generated objects.
    let second = krm(&stdout(&first));
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(
        stdout(&second),
        stdout(&first),
        "a second run must give the same ResourceList, without duplicates"
    );

    // The native core gives the same bytes as the CLI's wasm core.
    let native = matrix_render_renderer::render(&matrix_render::krm::request(input));
    assert!(native.ok);
    assert_eq!(native.output, stdout(&first));
}

#[test]
fn stale_generated_objects_go_and_other_stacks_stay() {
    let generated = |name: &str, namespace: &str| {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "matrix-render"},
            },
        })
    };
    // `livekit` is what an earlier run rendered with MatrixRTC on; the seed has it off.
    let stale = generated("livekit", "matrix");
    let other_stack = generated("synapse", "matrix-two");
    let input = resource_list(vec![stale, other_stack.clone()], stack(seed_spec()));
    let out = krm(&input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let output = list(&out);
    let items = output["items"].as_array().unwrap();
    assert_eq!(items[0], other_stack);
    assert!(
        !items
            .iter()
            .any(|i| i["metadata"]["name"] == "livekit" && i["kind"] == "Deployment"),
        "the stale LiveKit Deployment must be removed"
    );
    let synapses = items
        .iter()
        .filter(|i| i["metadata"]["name"] == "synapse" && i["kind"] == "Deployment")
        .count();
    assert_eq!(synapses, 2, "one per stack");
}

#[test]
fn stale_objects_of_the_host_network_namespace_go_too() {
    let generated = |kind: &str, name: &str, namespace: Option<&str>| {
        let mut metadata = json!({
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "matrix-render"},
        });
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        json!({"apiVersion": "v1", "kind": kind, "metadata": metadata})
    };
    // An earlier run had MatrixRTC on in the split layout, and a Namespace of an old name.
    let stale_rtc = generated("Service", "livekit", Some("matrix-host"));
    let stale_ns = generated("Namespace", "matrix-host", None);
    let other_stack = generated("Service", "livekit", Some("matrix-two"));
    let mut spec = seed_spec();
    merge(
        &mut spec,
        json!({"podSecurity": {"enabled": true, "hostNetworkNamespace": "matrix-host"}}),
    );
    let input = resource_list(vec![stale_rtc, stale_ns, other_stack.clone()], stack(spec));
    let out = krm(&input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let output = list(&out);
    let items = output["items"].as_array().unwrap();
    assert_eq!(items[0], other_stack, "another stack's object stays first");
    let livekit: Vec<&Value> = items
        .iter()
        .filter(|i| i["metadata"]["name"] == "livekit")
        .collect();
    assert_eq!(
        livekit.len(),
        1,
        "only the other stack's LiveKit Service is left"
    );
    // The Namespace is generated again (coturn runs there), with its labels.
    let host_ns: Vec<&Value> = items
        .iter()
        .filter(|i| i["kind"] == "Namespace" && i["metadata"]["name"] == "matrix-host")
        .collect();
    assert_eq!(host_ns.len(), 1);
    assert_eq!(
        host_ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    let coturn = items
        .iter()
        .find(|i| i["kind"] == "Deployment" && i["metadata"]["name"] == "coturn")
        .expect("coturn");
    assert_eq!(coturn["metadata"]["namespace"], "matrix-host");
}

#[test]
fn an_unmarked_object_with_a_generated_name_is_a_conflict() {
    let mine = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "synapse-extra-config",
            "namespace": "matrix",
            "annotations": {"internal.config.kubernetes.io/path": "hand-written.yaml"},
        },
    });
    let out = krm(&resource_list(vec![mine], stack(seed_spec())));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let output = list(&out);
    let errors: Vec<Value> = results(&output)
        .into_iter()
        .filter(|r| r["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{output}");
    let result = &errors[0];
    assert_eq!(result["tags"]["code"], "object-conflict");
    assert_eq!(result["severity"], "error");
    assert_eq!(result["file"]["path"], "hand-written.yaml");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("ConfigMap `synapse-extra-config`")
    );
    assert!(stderr(&out).contains("nothing was generated"));
}

#[test]
fn config_errors_are_results_with_the_field_path_and_exit_1() {
    let mut spec = seed_spec();
    spec["synapse"]["registration"]["enabeld"] = json!(false);
    let input = resource_list(vec![unrelated()], stack(spec.clone()));
    let out = krm(&input);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let output = list(&out);
    assert_eq!(output["kind"], "ResourceList");
    let errors: Vec<Value> = results(&output)
        .into_iter()
        .filter(|r| r["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{output}");
    assert_eq!(
        errors[0]["field"]["path"],
        "spec.synapse.registration.enabeld"
    );
    assert_eq!(errors[0]["tags"]["code"], "unknown-key");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `enabled`?")
    );
    // People get the line of the ResourceList on stderr.
    let err = stderr(&out);
    let line: usize = err
        .split("--> <stdin>:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no <stdin> location in {err}"));
    assert!(
        input.lines().nth(line - 1).unwrap().contains("enabeld:"),
        "line {line} of the input is not the bad key:\n{err}"
    );
    // No secret value reaches stdout or stderr.
    let secret = "example-registration-shared-secret-0123456789";
    assert!(!err.contains(secret) && !stdout(&out).contains(secret));

    // Under kpt the function config carries its package file: results name it.
    let mut config = stack(spec);
    config["metadata"]["annotations"] = json!({"internal.config.kubernetes.io/path": "stack.yaml", "config.kubernetes.io/path": "stack.yaml"});
    let out = krm(&resource_list(vec![], config));
    assert_eq!(out.status.code(), Some(1));
    let output = list(&out);
    let error = results(&output)
        .into_iter()
        .find(|r| r["severity"] == "error")
        .unwrap();
    assert_eq!(error["file"]["path"], "stack.yaml");
    assert_eq!(error["field"]["path"], "spec.synapse.registration.enabeld");
}

#[test]
fn malformed_input_is_a_clear_error_result() {
    let stack_doc = serde_yaml::to_string(&stack(seed_spec())).unwrap();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("empty", String::new(), "invalid-resource-list", "not a KRM ResourceList"),
        ("not YAML", "items: [\n".to_owned(), "invalid-resource-list", "not a YAML ResourceList"),
        (
            "a ConfigMap",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".to_owned(),
            "unknown-kind",
            "is a `ConfigMap`",
        ),
        (
            "a bare MatrixStack",
            stack_doc,
            "invalid-resource-list",
            "not a KRM ResourceList",
        ),
        (
            "no functionConfig",
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n".to_owned(),
            "invalid-function-config",
            "has no functionConfig",
        ),
        (
            "a ConfigMap functionConfig",
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  data: {a: b}\n".to_owned(),
            "invalid-function-config",
            "kind `ConfigMap`",
        ),
        (
            "a wrong apiVersion",
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: example.com/v1\n  kind: MatrixStack\n  spec: {}\n".to_owned(),
            "invalid-function-config",
            "apiVersion `example.com/v1`",
        ),
        (
            "items that are not objects",
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [3]\nfunctionConfig:\n  apiVersion: matrix-render.github.io/v1alpha1\n  kind: MatrixStack\n".to_owned(),
            "invalid-resource-list",
            "`items[0]` is not a Kubernetes object",
        ),
    ];
    for (name, input, code, message) in cases {
        let out = krm(&input);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let output = list(&out);
        assert_eq!(output["kind"], "ResourceList", "{name}");
        let result = &results(&output)[0];
        assert_eq!(result["severity"], "error", "{name}");
        assert_eq!(result["tags"]["code"], code, "{name}: {output}");
        assert!(
            result["message"].as_str().unwrap().contains(message),
            "{name}: {}",
            result["message"]
        );
        assert!(stderr(&out).contains(&format!("error[{code}]")), "{name}");
    }
}

#[test]
fn a_matrix_stack_document_is_a_values_file() {
    let dir = std::env::temp_dir().join(format!("mr-krm-stack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("stack.yaml"),
        serde_yaml::to_string(&stack(seed_spec())).unwrap(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(&dir)
        .args(["render", "-f", "stack.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let golden = std::fs::read_to_string(repo().join("tests/golden/seed.yaml")).unwrap();
    assert!(
        out.stdout == golden.as_bytes(),
        "`render -f stack.yaml` must give tests/golden/seed.yaml"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The apiVersion the kustomize generator used to document, `matrix-render.dev/v1alpha1`,
/// still works in both front-ends, with a warning naming the current one.
#[test]
fn the_deprecated_api_version_renders_the_same_with_a_warning() {
    let mut old = stack(seed_spec());
    old["apiVersion"] = json!("matrix-render.dev/v1alpha1");
    let current = krm(&resource_list(vec![], stack(seed_spec())));
    let aliased = krm(&resource_list(vec![], old.clone()));
    assert_eq!(current.status.code(), Some(0), "{}", stderr(&current));
    assert_eq!(aliased.status.code(), Some(0), "{}", stderr(&aliased));
    let (current, aliased) = (list(&current), list(&aliased));
    assert_eq!(current["items"], aliased["items"]);
    let codes = result_codes(&aliased);
    assert_eq!(
        codes
            .iter()
            .filter(|c| *c == "deprecated-api-version")
            .count(),
        1,
        "{codes:?}"
    );
    assert!(!result_codes(&current).contains(&"deprecated-api-version".to_owned()));
    let warning = results(&aliased)
        .into_iter()
        .find(|r| r["tags"]["code"] == "deprecated-api-version")
        .unwrap();
    assert_eq!(warning["severity"], "warning", "{warning}");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("matrix-render.github.io/v1alpha1"),
        "{warning}"
    );

    // `render -f`: the golden objects, exit 0, the warning on stderr at the apiVersion line.
    let dir = std::env::temp_dir().join(format!("mr-krm-alias-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_yaml::to_string(&old).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("apiVersion:"))
        .unwrap()
        + 1;
    std::fs::write(dir.join("stack.yaml"), &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(&dir)
        .args(["render", "-f", "stack.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let golden = std::fs::read_to_string(repo().join("tests/golden/seed.yaml")).unwrap();
    assert!(
        out.stdout == golden.as_bytes(),
        "must give tests/golden/seed.yaml"
    );
    let err = stderr(&out);
    assert!(err.contains("warning[deprecated-api-version]"), "{err}");
    assert!(err.contains(&format!("--> stack.yaml:{line}:")), "{err}");
    assert!(
        err.contains("hint: write `apiVersion: matrix-render.github.io/v1alpha1`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A MatrixStack in the kustomize generator's file-list shape is refused by the KRM function
/// with a hint that says where the values go instead.
#[test]
fn a_generator_style_config_is_an_error_that_names_spec() {
    let config = json!({
        "apiVersion": "matrix-render.dev/v1alpha1",
        "kind": "MatrixStack",
        "metadata": {"name": "matrix"},
        "valuesFiles": ["values.yaml"],
        "set": ["namespace=chat"],
    });
    let out = krm(&resource_list(vec![unrelated()], config));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let list = list(&out);
    let error = results(&list)
        .into_iter()
        .find(|r| r["severity"] == "error")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(error["tags"]["code"], "invalid-function-config", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("`valuesFiles`"),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("under `spec`") && text.contains("kustomize generator"),
        "{text}"
    );
}
