//! What `kubectl apply --prune` covers, checked against every kind the renderer can emit
//! (`matrix_render_renderer::KINDS`, which a render refuses to leave) and every object of
//! every fixture and golden output:
//!
//! - the README's label-based prune (section "Applying and pruning") selects on a label that
//!   every object carries, and its `--prune-allowlist` names exactly the kinds listed as
//!   prunable, in the list's order; the kinds never listed are named in the section;
//! - for ApplySets: namespaced kinds are always in a namespace and cluster-scoped ones never
//!   are, no object already carries an `applyset.kubernetes.io/` label (kubectl refuses such
//!   input), none is the set's parent (Secret `matrix-stack`), and the data volume is in every
//!   render, so a set never prunes it;
//! - the README's `grep -x` selections of `--output-dir` files (Namespace objects, one
//!   namespace's objects) pick exactly the right files.

use std::collections::BTreeSet;

use matrix_render_model::api::Format;
use matrix_render_renderer::{KINDS, Prune, kind_of};
use serde_json::Value;

use crate::common::{fixtures, repo, request};

/// The README's section on pruning, up to the next `## ` heading.
fn readme_section() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("\n## Applying and pruning\n")
        .expect("README.md has a section \"Applying and pruning\"");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].to_owned()
}

/// The values of every `FLAG=value` or `FLAG value` in `text`, in order.
fn flag_values(text: &str, flag: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if let Some(value) = word.strip_prefix(&format!("{flag}=")) {
            out.push(value.to_owned());
        } else if *word == flag
            && let Some(value) = words.get(i + 1)
        {
            out.push((*value).to_owned());
        }
    }
    out
}

/// The label-based command's selector, `key=value`.
fn readme_selector() -> (String, String) {
    let section = readme_section();
    // `-l` of kubectl, not of grep (`grep -l -x ...`).
    let selectors: Vec<String> = flag_values(&section, "-l")
        .into_iter()
        .filter(|s| s.contains('='))
        .collect();
    assert_eq!(
        selectors.len(),
        1,
        "one label selector in the README: {selectors:?}"
    );
    let (key, value) = selectors[0].split_once('=').unwrap();
    (key.to_owned(), value.to_owned())
}

/// Every object of every fixture, rendered by the core, and of every golden output.
fn all_objects() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, dir) in fixtures() {
        let response = matrix_render_renderer::render(&request(&dir, Format::Json));
        assert!(response.ok, "{name}: {:?}", response.diagnostics);
        let list: Value = serde_json::from_str(&response.output).unwrap();
        for item in list["items"].as_array().unwrap() {
            out.push((name.clone(), item.clone()));
        }
    }
    let goldens: Vec<_> = std::fs::read_dir(repo().join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(goldens.len() >= 7, "{goldens:?}");
    for path in goldens {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(document).unwrap();
            if !value.is_null() {
                out.push((name.clone(), value));
            }
        }
    }
    out
}

/// The keys of `metadata.<field>` (labels or annotations).
fn keys<'a>(object: &'a Value, field: &str) -> impl Iterator<Item = &'a String> {
    object["metadata"][field]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
}

fn describe(source: &str, object: &Value) -> String {
    format!(
        "{source}: {} {} {}",
        object["apiVersion"], object["kind"], object["metadata"]["name"]
    )
}

#[test]
fn every_rendered_kind_is_listed_and_every_listed_kind_is_rendered() {
    let mut seen = BTreeSet::new();
    for (source, object) in all_objects() {
        let (Some(api_version), Some(kind)) =
            (object["apiVersion"].as_str(), object["kind"].as_str())
        else {
            panic!("{}", describe(&source, &object));
        };
        let listed = kind_of(api_version, kind)
            .unwrap_or_else(|| panic!("{}: not in KINDS", describe(&source, &object)));
        seen.insert((listed.api_version, listed.kind));
        // ApplySets: kubectl prunes namespaced kinds in the set's namespaces and
        // cluster-scoped kinds across the cluster, so each object must be what its kind is.
        let namespace = object["metadata"]["namespace"].as_str();
        assert_eq!(
            namespace.is_some_and(|n| !n.is_empty()),
            listed.namespaced,
            "{}: namespace {namespace:?}",
            describe(&source, &object)
        );
    }
    let all: BTreeSet<_> = KINDS.iter().map(|k| (k.api_version, k.kind)).collect();
    assert_eq!(
        seen, all,
        "a listed kind that no fixture renders has nothing testing it"
    );
}

#[test]
fn every_object_carries_the_label_the_readme_prunes_by_and_no_applyset_label() {
    let (key, value) = readme_selector();
    let mut checked = 0;
    for (source, object) in all_objects() {
        let labels = &object["metadata"]["labels"];
        assert_eq!(
            labels[key.as_str()].as_str(),
            Some(value.as_str()),
            "{}: kubectl apply -l {key}={value} would neither apply nor prune it",
            describe(&source, &object)
        );
        // What --output-dir and the KRM function take as proof that an object is ours.
        assert_eq!(
            labels["app.kubernetes.io/managed-by"].as_str(),
            Some("matrix-render"),
            "{}",
            describe(&source, &object)
        );
        assert!(
            keys(&object, "labels")
                .chain(keys(&object, "annotations"))
                .all(|k| !k.starts_with("applyset.kubernetes.io/")),
            "{}: kubectl refuses input that already has ApplySet metadata",
            describe(&source, &object)
        );
        assert!(
            !(object["kind"] == "Secret" && object["metadata"]["name"] == "matrix-stack"),
            "{}: the name of the ApplySet's parent",
            describe(&source, &object)
        );
        checked += 1;
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn the_readme_allowlist_is_the_list_of_prunable_kinds() {
    let section = readme_section();
    let documented = flag_values(&section, "--prune-allowlist");
    let prunable: Vec<String> = KINDS
        .iter()
        .filter(|k| k.prune == Prune::Allowed)
        .map(matrix_render_renderer::Kind::group_version_kind)
        .collect();
    assert_eq!(
        documented, prunable,
        "README.md \"Applying and pruning\": the --prune-allowlist flags"
    );
    for kind in KINDS.iter().filter(|k| k.prune != Prune::Allowed) {
        assert!(
            section.contains(kind.kind),
            "the README does not say why {} is never pruned",
            kind.kind
        );
        // Cluster-scoped kinds delete more than themselves (a Namespace, its contents).
        assert!(kind.namespaced || matches!(kind.prune, Prune::Never(_)));
    }
    assert!(
        KINDS
            .iter()
            .filter(|k| !k.namespaced)
            .all(|k| k.prune != Prune::Allowed),
        "a cluster-scoped kind in the allowlist"
    );
    // The ApplySet commands name the set the migration script continues.
    let applysets = flag_values(&section, "--applyset");
    assert!(!applysets.is_empty());
    assert!(
        applysets.iter().all(|a| a == "matrix-stack"),
        "{applysets:?}"
    );
}

#[test]
fn the_data_volume_is_in_every_render() {
    for (name, dir) in fixtures() {
        let response = matrix_render_renderer::render(&request(&dir, Format::Yaml));
        assert!(response.ok, "{name}");
        let claims: Vec<&str> = response
            .objects
            .iter()
            .filter(|o| o.kind == "PersistentVolumeClaim")
            .map(|o| o.name.as_str())
            .collect();
        assert!(claims.contains(&"synapse-data"), "{name}: {claims:?}");
    }
    let pvc = kind_of("v1", "PersistentVolumeClaim").unwrap();
    assert!(
        matches!(pvc.prune, Prune::Never(_)),
        "the data volume's kind must stay out of the label-based allowlist"
    );
}

/// The README picks `--output-dir` files with `grep -x`: the Namespace objects by a line
/// `kind: Namespace`, a namespace's objects by a line `  namespace: NS`. Each object file has
/// the first line exactly when it is a Namespace, and the second exactly once when its kind
/// is namespaced.
#[test]
fn the_readme_can_pick_files_by_kind_and_namespace() {
    let section = readme_section();
    assert!(section.contains("grep -l -x 'kind: Namespace' out/*.yaml"));
    assert!(section.contains("grep -L -x 'kind: Namespace' out/*.yaml"));
    assert!(section.contains(r#"grep -l -x "  namespace: $ns" out/*.yaml"#));
    for (name, dir) in fixtures() {
        let mut req = request(&dir, Format::Yaml);
        req.options.split = true;
        let response = matrix_render_renderer::render(&req);
        assert!(response.ok, "{name}");
        for object in &response.objects {
            let document = object.document.as_deref().unwrap();
            let count = |line: &str| document.lines().filter(|l| *l == line).count();
            assert_eq!(
                count("kind: Namespace"),
                usize::from(object.kind == "Namespace"),
                "{name}: {}",
                object.file_name
            );
            let listed = kind_of(&object.api_version, &object.kind).unwrap();
            let in_namespace = object
                .namespace
                .as_deref()
                .map_or(0, |ns| count(&format!("  namespace: {ns}")));
            assert_eq!(
                in_namespace,
                usize::from(listed.namespaced),
                "{name}: {}",
                object.file_name
            );
            assert_eq!(
                document
                    .lines()
                    .filter(|l| l.starts_with("  namespace:"))
                    .count(),
                usize::from(listed.namespaced),
                "{name}: {}",
                object.file_name
            );
        }
    }
}
