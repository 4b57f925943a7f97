//! Switching a live install of the Helm chart to the rendered stack, with nothing lost.
//!
//! The input is what `helm get manifest RELEASE -n NAMESPACE` prints for the chart's release.
//! Its objects are compared with the render: each is kept, changed in place, new or removed,
//! with the fields and list entries the switch takes away. What cannot change in place (a
//! Deployment's selector, a volume claim's spec, a Service's cluster IP, a Secret's type) is
//! an error, as is a manifest that is not the chart's. The result is a report for people and
//! a POSIX shell script ([`script`]) that performs the switch against the current kubectl
//! context.
//!
//! Why the script does what it does (measured on a real API server): objects Helm created
//! carry no `kubectl.kubernetes.io/last-applied-configuration`, so a plain `kubectl apply`
//! removes nothing it did not set itself (the chart's ConfigMap keys, init containers and
//! volumes stay; list entries merged by key collide), and Helm still owns the objects
//! (`helm uninstall` would delete the data volume). So the script first records the chart's
//! manifest as each object's last-applied configuration, then makes Helm forget the release
//! without deleting anything, and only then applies the stack: kubectl's three-way merge then
//! removes exactly what the chart set and the render does not.

mod script;

use std::collections::{BTreeMap, BTreeSet};

use matrix_render_model::api::{
    MigrateFrom, Migration, MigrationObject, MigrationStatus, RenderRequest,
};
use matrix_render_model::config::{Config, DatabaseKind};
use matrix_render_model::spans::SpanMap;
use matrix_render_model::{Diagnostic, NamedText};
use serde_json::Value;

use crate::objects::Object;

/// The objects the chart renders (all of its templates, MatrixRTC's included), and whether
/// each holds data that must survive the switch.
const CHART_OBJECTS: &[(&str, &str, bool)] = &[
    ("ConfigMap", "synapse-extra-config", false),
    ("Secret", "synapse-recaptcha", false),
    ("PersistentVolumeClaim", "synapse-data", true),
    ("Deployment", "synapse", false),
    ("Service", "synapse", false),
    ("Ingress", "synapse", false),
    ("ConfigMap", "element-config", false),
    ("Deployment", "element", false),
    ("Service", "element", false),
    ("Ingress", "element", false),
    ("ConfigMap", "element-static-pages", false),
    ("ConfigMap", "element-static-assets", false),
    ("Deployment", "element-static", false),
    ("Service", "element-static", false),
    ("ConfigMap", "coturn-config", false),
    ("Secret", "coturn-secret", false),
    ("Deployment", "coturn", false),
    ("Certificate", "coturn-tls", false),
    ("ConfigMap", "livekit-config", false),
    ("Deployment", "livekit", false),
    ("Service", "livekit", false),
    ("Secret", "matrixrtc-jwt", false),
    ("Deployment", "matrixrtc-jwt", false),
    ("Service", "matrixrtc-jwt", false),
    ("Ingress", "matrix-rtc", false),
];

const HELM_MANIFEST_HINT: &str = "give `migrate --from-helm` what `helm get manifest RELEASE -n \
NAMESPACE` prints for the matrix-synapse chart's release";

/// One object of the chart's manifest.
#[derive(Debug)]
struct ChartObject {
    kind: String,
    name: String,
    namespace: Option<String>,
    value: Value,
    /// Line of the document's first line in the manifest (0-based offset).
    offset: u32,
    spans: SpanMap,
}

impl ChartObject {
    /// An error about `field` of this object, at its line in the manifest.
    fn diagnostic(&self, from: &NamedText, code: &str, field: &str, message: String) -> Diagnostic {
        let error = Diagnostic::error(
            code,
            format!("{}/{} {field}", self.kind, self.name),
            message,
        );
        self.place(from, field, error)
    }

    /// `diagnostic` placed at `field` of this object (or its `kind`) in the manifest.
    fn place(&self, from: &NamedText, field: &str, diagnostic: Diagnostic) -> Diagnostic {
        let span = self.spans.find(field).or_else(|| self.spans.find("kind"));
        diagnostic.at(
            &from.name,
            span.map(|s| s.line + self.offset),
            span.map(|s| s.column),
        )
    }
}

/// Compares the rendered `objects` with the chart's release and plans the switch.
///
/// # Errors
/// Diagnostics (errors, with warnings beside them) when the manifest is not the chart's or
/// an object cannot change in place.
pub fn build(
    config: &Config,
    objects: &[Object],
    from: &MigrateFrom,
    request: &RenderRequest,
) -> Result<(Migration, Vec<Diagnostic>), Vec<Diagnostic>> {
    let manifest = &from.manifest;
    let chart = parse(manifest)?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    // Only the chart's own objects: anything else means this is not its manifest.
    for object in &chart {
        if !CHART_OBJECTS
            .iter()
            .any(|(k, n, _)| *k == object.kind && *n == object.name)
        {
            errors.push(
                object
                    .diagnostic(
                        manifest,
                        "not-the-chart",
                        "metadata.name",
                        format!(
                            "{} `{}` is not an object the matrix-synapse chart renders",
                            object.kind, object.name
                        ),
                    )
                    .with_hint(HELM_MANIFEST_HINT),
            );
        }
    }
    if chart.is_empty() {
        errors.push(
            Diagnostic::error(
                "not-the-chart",
                "",
                "the manifest holds no Kubernetes object".to_owned(),
            )
            .with_hint(HELM_MANIFEST_HINT)
            .at(&manifest.name, None, None),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let release = match release_name(from, &chart) {
        Ok(r) => r,
        Err(e) => return Err(vec![*e]),
    };
    let namespace = release_namespace(from, &chart, config);
    // Names the script writes into its commands and comments must be names Kubernetes and
    // Helm accept (DNS labels), nothing a shell could read otherwise.
    let names = std::iter::once(("the release name", release.as_str(), None))
        .chain(std::iter::once((
            "the release namespace",
            namespace.as_str(),
            None,
        )))
        .chain(chart.iter().filter_map(|c| {
            c.namespace
                .as_deref()
                .map(|ns| ("the namespace", ns, Some(c)))
        }));
    for (what, name, object) in names {
        if !dns_label(name) {
            let diagnostic = Diagnostic::error(
                "invalid-name",
                "",
                format!("{what} {name:?} is not a valid Kubernetes name"),
            )
            .with_hint(
                "Helm releases and namespaces are DNS labels: lower-case letters, digits and \
                 `-`, at most 63 characters; check `--release`, `--namespace` and the manifest",
            );
            errors.push(match object {
                Some(object) => object.place(manifest, "metadata.namespace", diagnostic),
                None => diagnostic.at(&manifest.name, None, None),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Every chart object lives in its own namespace or the release's. The data volume must
    // be updated where it is: rendered into another namespace, it would be a new, empty one.
    let home = |c: &ChartObject| c.namespace.clone().unwrap_or_else(|| namespace.clone());
    for object in chart.iter().filter(|c| holds_data(&c.kind, &c.name)) {
        let ns = home(object);
        let ours = objects
            .iter()
            .find(|o| o.kind == object.kind && o.name == object.name);
        if let Some(ours_ns) = ours.and_then(|o| o.namespace.as_deref())
            && ours_ns != ns
        {
            errors.push(
                object
                    .diagnostic(
                        manifest,
                        "namespace-mismatch",
                        "metadata.namespace",
                        format!(
                            "the chart's {} `{}`, which holds Synapse's data, is in namespace \
                             `{ns}`; the values render it into `{ours_ns}`",
                            object.kind, object.name
                        ),
                    )
                    .with_hint(format!(
                        "set `namespace: {ns}` in the values, so that the data volume is \
                         updated where it is"
                    )),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut report = Vec::new();
    let mut seen = BTreeSet::new();
    for ours in objects {
        let ns = ours.namespace.clone().unwrap_or_default();
        let Some(theirs) = chart
            .iter()
            .find(|c| c.kind == ours.kind && c.name == ours.name && home(c) == ns)
        else {
            report.push(MigrationObject {
                kind: ours.kind.clone(),
                name: ours.name.clone(),
                namespace: ns,
                status: MigrationStatus::New,
                removed: Vec::new(),
                holds_data: false,
            });
            continue;
        };
        seen.insert((theirs.kind.clone(), theirs.name.clone(), ns.clone()));
        let ours_value = ours.value.to_value();
        let replace = immutable(theirs, &ours_value, manifest, &mut errors, &mut warnings);
        let mut removed = Vec::new();
        removals(&stored(&theirs.value), &ours_value, "", &mut removed);
        report.push(MigrationObject {
            kind: ours.kind.clone(),
            name: ours.name.clone(),
            namespace: ns,
            status: if replace {
                MigrationStatus::Replaced
            } else if theirs.value == ours_value {
                MigrationStatus::Kept
            } else {
                MigrationStatus::Changed
            },
            removed,
            holds_data: holds_data(&ours.kind, &ours.name),
        });
    }
    for theirs in &chart {
        if seen.contains(&(theirs.kind.clone(), theirs.name.clone(), home(theirs))) {
            continue;
        }
        let data = holds_data(&theirs.kind, &theirs.name);
        if data {
            errors.push(
                theirs
                    .diagnostic(
                        manifest,
                        "data-volume-removed",
                        "metadata.name",
                        format!(
                            "the values do not render {} `{}`, which holds Synapse's data",
                            theirs.kind, theirs.name
                        ),
                    )
                    .with_hint("render with the values the chart was installed with"),
            );
        } else {
            let moved = objects
                .iter()
                .find(|o| o.kind == theirs.kind && o.name == theirs.name)
                .and_then(|o| o.namespace.as_deref());
            let (message, hint) = match moved {
                Some(to) => (
                    format!(
                        "the values render {} `{}` into namespace `{to}`: the script deletes the \
                         chart's in `{}`",
                        theirs.kind,
                        theirs.name,
                        home(theirs)
                    ),
                    "nothing to do if the new namespace layout is what you want",
                ),
                None => (
                    format!(
                        "the chart runs {} `{}`, which these values do not render: the script \
                         deletes it",
                        theirs.kind, theirs.name
                    ),
                    "if the chart had that component on, render with the chart's values \
                     (`helm get values RELEASE -n NAMESPACE`)",
                ),
            };
            warnings.push(
                theirs.place(
                    manifest,
                    "metadata.name",
                    Diagnostic::warning(
                        "object-removed",
                        format!("{}/{}", theirs.kind, theirs.name),
                        message,
                    )
                    .with_hint(hint),
                ),
            );
        }
        report.push(MigrationObject {
            kind: theirs.kind.clone(),
            name: theirs.name.clone(),
            namespace: home(theirs),
            status: MigrationStatus::Removed,
            removed: Vec::new(),
            holds_data: data,
        });
    }
    if !errors.is_empty() {
        errors.extend(warnings);
        return Err(errors);
    }

    let handover: Vec<Value> = chart.iter().map(|c| handover(c, &namespace)).collect();
    let stack = crate::yaml::stream(objects.iter().map(|o| &o.value));
    // kubectl keeps an ApplySet with a Secret parent in one namespace and refuses
    // cluster-scoped members' pruning risks: one set per namespace, namespaced objects only.
    let mut namespaces: BTreeMap<&str, Vec<&crate::tree::Node>> = BTreeMap::new();
    for object in objects {
        if let Some(ns) = &object.namespace {
            namespaces.entry(ns).or_default().push(&object.value);
        }
    }
    let whole = namespaces.len() == 1 && objects.iter().all(|o| o.namespace.is_some());
    let applysets: Vec<(&str, Option<String>)> = namespaces
        .into_iter()
        .map(|(ns, values)| (ns, (!whole).then(|| crate::yaml::stream(values))))
        .collect();
    let facts = script::Facts {
        release: &release,
        namespace: &config.namespace,
        handover: &crate::yaml::stream(handover.iter()),
        stack: &stack,
        applysets,
        removed: report
            .iter()
            .filter(|o| o.status == MigrationStatus::Removed)
            .collect(),
        replaced: report
            .iter()
            .filter(|o| o.status == MigrationStatus::Replaced)
            .collect(),
        sqlite: config.synapse.database.kind == DatabaseKind::Sqlite,
        server_name: if config.global.server_name.is_empty() {
            &config.global.domain
        } else {
            &config.global.server_name
        },
        synapse_tag: &config.synapse.image.tag,
        values: request.values.iter().map(|v| v.name.as_str()).collect(),
    };
    let script = script::write(&facts);
    let mut text = report_text(&release, &config.namespace, &report, &script);
    if script::version(&config.synapse.image.tag).is_none() {
        text.push_str(&format!(
            "note: pin `synapse.image.tag` to the version the chart runs now, or a later one \
             (`kubectl -n {} exec deploy/synapse -- python -c 'import synapse; \
             print(synapse.__version__)'`): `{}` may start an older Synapse, which refuses the \
             database; the script stops before any change when the pinned version is older\n",
            config.namespace, config.synapse.image.tag
        ));
    }
    Ok((
        Migration {
            release,
            namespace: config.namespace.clone(),
            objects: report,
            report: text,
            script,
        },
        warnings,
    ))
}

fn holds_data(kind: &str, name: &str) -> bool {
    CHART_OBJECTS
        .iter()
        .any(|(k, n, data)| *data && *k == kind && *n == name)
}

/// The documents of a YAML stream with the line each starts after.
fn documents(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0_u32;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = u32::try_from(i).unwrap_or(u32::MAX);
        let marker = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']));
        if marker {
            out.push((start, std::mem::take(&mut current)));
            start = n.saturating_add(1);
        } else {
            current.push_str(line);
        }
    }
    out.push((start, current));
    out
}

fn parse(manifest: &NamedText) -> Result<Vec<ChartObject>, Vec<Diagnostic>> {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for (offset, text) in documents(&manifest.text) {
        let (parsed, spans) = matrix_render_model::yaml::parse(&text);
        let value = match parsed {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(e) => {
                errors.push(
                    Diagnostic::error(
                        "yaml-syntax",
                        e.path,
                        format!("the Helm manifest is not valid YAML: {}", e.message),
                    )
                    .with_hint(HELM_MANIFEST_HINT)
                    .at(
                        &manifest.name,
                        e.span.map(|s| s.line + offset),
                        e.span.map(|s| s.column),
                    ),
                );
                continue;
            }
        };
        let text_at = |path: &str| {
            value
                .pointer(path)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (Some(kind), Some(name)) = (text_at("/kind"), text_at("/metadata/name")) else {
            let span = spans.find("kind").or_else(|| spans.find(""));
            errors.push(
                Diagnostic::error(
                    "not-the-chart",
                    "",
                    "a document of the manifest is not a Kubernetes object (no `kind` or \
                     `metadata.name`)",
                )
                .with_hint(HELM_MANIFEST_HINT)
                .at(
                    &manifest.name,
                    Some(span.map_or(offset + 1, |s| s.line + offset)),
                    span.map(|s| s.column),
                ),
            );
            continue;
        };
        let namespace = text_at("/metadata/namespace");
        objects.push(ChartObject {
            kind,
            name,
            namespace,
            value,
            offset,
            spans,
        });
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(errors)
    }
}

fn release_name(from: &MigrateFrom, chart: &[ChartObject]) -> Result<String, Box<Diagnostic>> {
    if let Some(release) = &from.release {
        return Ok(release.clone());
    }
    let mut names = BTreeSet::new();
    for object in chart {
        for label in ["app.kubernetes.io/instance", "release"] {
            if let Some(name) = object
                .value
                .pointer("/metadata/labels")
                .and_then(|l| l.get(label))
                .and_then(Value::as_str)
            {
                names.insert(name.to_owned());
                break;
            }
        }
    }
    let mut names = names.into_iter();
    match (names.next(), names.next()) {
        (Some(name), None) => Ok(name),
        (first, _) => Err(Box::new(
            Diagnostic::error(
                "missing-release",
                "",
                if first.is_some() {
                    "the manifest's objects name different Helm releases".to_owned()
                } else {
                    "the manifest does not name its Helm release".to_owned()
                },
            )
            .with_hint("pass the release name: `--release NAME`")
            .at(&from.manifest.name, None, None),
        )),
    }
}

/// A DNS label (RFC 1123), what namespaces and Helm release names are.
fn dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

fn release_namespace(from: &MigrateFrom, chart: &[ChartObject], config: &Config) -> String {
    if let Some(ns) = &from.namespace {
        return ns.clone();
    }
    let named: BTreeSet<&str> = chart
        .iter()
        .filter_map(|c| c.namespace.as_deref())
        .collect();
    let mut named = named.into_iter();
    match (named.next(), named.next()) {
        (Some(ns), None) => ns.to_owned(),
        _ => config.namespace.clone(),
    }
}

/// The chart's object as kubectl's last-applied configuration: its namespace filled in, a
/// Secret's `stringData` recorded as `data`, and the values of ConfigMap and Secret data and
/// of env variables replaced by empty strings.
/// kubectl's three-way merge reads only the last-applied configuration's keys (what to
/// delete) and list entries' merge keys, never those values, so the script carries no
/// secret of the chart's.
fn handover(object: &ChartObject, namespace: &str) -> Value {
    let mut value = object.value.clone();
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut)
        && !meta.contains_key("namespace")
    {
        meta.insert("namespace".to_owned(), Value::String(namespace.to_owned()));
    }
    // Recorded as `data`, the keys the render drops are deleted from the live Secret.
    value = stored(&value);
    if let Value::Object(map) = &mut value {
        for field in ["data", "binaryData"] {
            if let Some(Value::Object(data)) = map.get_mut(field) {
                for v in data.values_mut() {
                    *v = Value::String(String::new());
                }
            }
        }
    }
    blank_env(&mut value);
    value
}

/// An object as the API server stores it, as far as the comparison cares: a Secret's
/// `stringData` keys are `data` keys (their values are not compared).
fn stored(value: &Value) -> Value {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value
        && let Some(Value::Object(strings)) = map.remove("stringData")
        && let Value::Object(data) = map
            .entry("data")
            .or_insert_with(|| Value::Object(serde_json::Map::new()))
    {
        for key in strings.keys() {
            data.entry(key.clone()).or_insert(Value::Null);
        }
    }
    value
}

fn blank_env(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "env" {
                    if let Value::Array(items) = v {
                        for item in items {
                            if let Some(Value::String(s)) = item.get_mut("value") {
                                s.clear();
                            }
                        }
                    }
                } else {
                    blank_env(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_env),
        _ => {}
    }
}

/// The key that identifies an entry of the list at `field` in a strategic merge patch.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "hostAliases" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" if items.iter().all(|i| i.get("containerPort").is_some()) => Some("containerPort"),
        "ports" if items.iter().all(|i| i.get("port").is_some()) => Some("port"),
        _ => None,
    }
}

fn field_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Paths of what `theirs` has and `ours` lacks: map keys, list entries by their merge key,
/// entries of other lists by position.
fn removals(theirs: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (theirs, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = field_path(path, key);
                match b.get(key) {
                    None => out.push(here),
                    Some(other) => {
                        if let (Value::Array(x), Value::Array(y)) = (value, other) {
                            list_removals(key, x, y, &here, out);
                        } else {
                            removals(value, other, &here, out);
                        }
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => list_removals("", x, y, path, out),
        _ => {}
    }
}

fn list_removals(field: &str, theirs: &[Value], ours: &[Value], path: &str, out: &mut Vec<String>) {
    match merge_key(field, theirs) {
        Some(key) => {
            for item in theirs {
                let Some(id) = item.get(key) else { continue };
                let here = format!("{path}[{key}={}]", scalar_text(id));
                match ours.iter().find(|o| o.get(key) == Some(id)) {
                    Some(other) => removals(item, other, &here, out),
                    None => out.push(here),
                }
            }
        }
        None => {
            for (i, item) in theirs.iter().enumerate() {
                match ours.get(i) {
                    Some(other) if other == item => {}
                    Some(other) if item.is_object() && other.is_object() => {
                        removals(item, other, &format!("{path}[{i}]"), out);
                    }
                    Some(_) => {}
                    None => out.push(format!("{path}[{i}]")),
                }
            }
        }
    }
}

/// Bytes of a Kubernetes quantity written as an integer with an optional suffix.
fn quantity_bytes(text: &str) -> Option<u128> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = text.split_at(digits);
    let number: u128 = number.parse().ok()?;
    let factor: u128 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// What the API server refuses to change in place: errors for what holds data or cannot be
/// recreated without an outage the operator should choose; `true` when the object must be
/// replaced (deleted, then created by the apply).
fn immutable(
    theirs: &ChartObject,
    ours: &Value,
    manifest: &NamedText,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> bool {
    let at = |pointer: &str| theirs.value.pointer(pointer);
    let our = |pointer: &str| ours.pointer(pointer);
    let mut refuse = |field: &str, message: String, hint: &str| {
        errors.push(
            theirs
                .diagnostic(manifest, "immutable-field", field, message)
                .with_hint(hint),
        );
    };
    match theirs.kind.as_str() {
        "Deployment" if at("/spec/selector") != our("/spec/selector") => {
            refuse(
                "spec.selector",
                format!(
                    "Deployment `{}`: the chart's selector differs from the render's, and a \
                         selector cannot change in place",
                    theirs.name
                ),
                "the chart's selectors are matrix-render's; if yours were changed, delete \
                     the Deployment (`kubectl delete deployment NAME`; it holds no data) before \
                     running the script",
            );
        }
        "PersistentVolumeClaim" => {
            for (pointer, field) in [
                ("/spec/accessModes", "spec.accessModes"),
                ("/spec/storageClassName", "spec.storageClassName"),
                ("/spec/volumeMode", "spec.volumeMode"),
                ("/spec/volumeName", "spec.volumeName"),
                ("/spec/selector", "spec.selector"),
            ] {
                if at(pointer).is_some() && at(pointer) != our(pointer) {
                    refuse(
                        field,
                        format!(
                            "volume claim `{}`: the chart's `{field}` differs from the render's, \
                             and a claim's spec cannot change",
                            theirs.name
                        ),
                        if field == "spec.storageClassName" {
                            "set `synapse.storage.storageClassName` to the chart's value"
                        } else {
                            "the render must match the claim the chart created"
                        },
                    );
                }
            }
            let size = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            let (old, new) = (
                size(at("/spec/resources/requests/storage")),
                size(our("/spec/resources/requests/storage")),
            );
            if let (Some(old), Some(new)) = (old, new) {
                match (quantity_bytes(&old), quantity_bytes(&new)) {
                    (Some(a), Some(b)) if b < a => refuse(
                        "spec.resources.requests.storage",
                        format!(
                            "volume claim `{}`: the render asks for {new}, the chart's claim has \
                             {old}, and a claim cannot shrink",
                            theirs.name
                        ),
                        "set `synapse.storage.size` to the chart's size or more",
                    ),
                    (Some(a), Some(b)) if b > a => warnings.push(
                        Diagnostic::warning(
                            "volume-expansion",
                            format!(
                                "{}/{} spec.resources.requests.storage",
                                theirs.kind, theirs.name
                            ),
                            format!(
                                "volume claim `{}` grows from {old} to {new}: this needs a \
                                 StorageClass with `allowVolumeExpansion: true`",
                                theirs.name
                            ),
                        )
                        .with_hint(
                            "keep `synapse.storage.size` at the chart's size to change nothing",
                        ),
                    ),
                    _ => {}
                }
            }
        }
        "Service" => {
            let ip = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
            let (old, new) = (ip(at("/spec/clusterIP")), ip(our("/spec/clusterIP")));
            if !old.is_empty() && old != new {
                refuse(
                    "spec.clusterIP",
                    format!(
                        "Service `{}`: the chart sets clusterIP `{old}`, the render does not, and \
                         a cluster IP cannot change",
                        theirs.name
                    ),
                    "delete the Service before running the script (it holds no data)",
                );
            }
            let kind =
                |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("ClusterIP").to_owned();
            let (old, new) = (kind(at("/spec/type")), kind(our("/spec/type")));
            if old != new && (old == "ExternalName" || new == "ExternalName") {
                refuse(
                    "spec.type",
                    format!(
                        "Service `{}`: type {old} cannot become {new} in place",
                        theirs.name
                    ),
                    "delete the Service before running the script (it holds no data)",
                );
            } else if old != new {
                warnings.push(Diagnostic::warning(
                    "service-type",
                    format!("{}/{} spec.type", theirs.kind, theirs.name),
                    format!(
                        "Service `{}` changes from {old} to {new}: its node ports and load \
                         balancer address change",
                        theirs.name
                    ),
                ));
            }
        }
        "Secret" => {
            let kind = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("Opaque").to_owned();
            let (old, new) = (kind(at("/type")), kind(our("/type")));
            if old != new {
                return true;
            }
        }
        _ => {}
    }
    // A Secret's type and an immutable ConfigMap's or Secret's content cannot change, but
    // these objects hold no data: the render creates them again from the values.
    matches!(theirs.kind.as_str(), "ConfigMap" | "Secret")
        && at("/immutable") == Some(&Value::Bool(true))
}

fn report_text(
    release: &str,
    namespace: &str,
    objects: &[MigrationObject],
    script: &str,
) -> String {
    use std::fmt::Write as _;
    let count = |s: MigrationStatus| objects.iter().filter(|o| o.status == s).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "migration of Helm release `{release}` in namespace `{namespace}` to matrix-render:"
    );
    let width = objects
        .iter()
        .map(|o| {
            let ns = if o.namespace.is_empty() || o.namespace == namespace {
                0
            } else {
                o.namespace.len() + 4
            };
            o.kind.len() + o.name.len() + 1 + ns
        })
        .max()
        .unwrap_or(0);
    for object in objects {
        let status = match object.status {
            MigrationStatus::Kept => "kept",
            MigrationStatus::Changed => "changed",
            MigrationStatus::Replaced => "replaced",
            MigrationStatus::New => "new",
            MigrationStatus::Removed => "removed",
        };
        // Objects outside the release's namespace (a host-network namespace) say where.
        let id = if object.namespace.is_empty() || object.namespace == namespace {
            format!("{}/{}", object.kind, object.name)
        } else {
            format!("{}/{} -n {}", object.kind, object.name, object.namespace)
        };
        let note = if object.holds_data {
            match object.status {
                MigrationStatus::Removed => "  HOLDS DATA: would be lost",
                _ => "  holds data: kept in place, its volume set to Retain",
            }
        } else {
            ""
        };
        let line = format!("  {status:<8} {id:<width$}{note}");
        let _ = writeln!(out, "{}", line.trim_end());
        for field in &object.removed {
            let _ = writeln!(out, "             - {field}");
        }
    }
    let removed_fields: usize = objects.iter().map(|o| o.removed.len()).sum();
    let _ = writeln!(
        out,
        "{} kept, {} changed ({removed_fields} fields and list entries removed), {} replaced, {} new, {} removed; the script has {} lines",
        count(MigrationStatus::Kept),
        count(MigrationStatus::Changed),
        count(MigrationStatus::Replaced),
        count(MigrationStatus::New),
        count(MigrationStatus::Removed),
        script.lines().count(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_split_at_markers_and_keep_their_lines() {
        let docs = documents("---\n# Source: a\nkind: A\n---\nkind: B\n--- \nkind: C\n");
        let starts: Vec<u32> = docs.iter().map(|d| d.0).collect();
        assert_eq!(starts, [0, 1, 4, 6]);
        assert_eq!(docs[2].1, "kind: B\n");
    }

    #[test]
    fn removals_follow_strategic_merge_keys() {
        let theirs = json!({"spec": {"containers": [
            {"name": "web", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 8080}]},
            {"name": "old"}
        ], "args": ["a", "b"]}, "data": {"x.yaml": "1", "y": "2"}});
        let ours = json!({"spec": {"containers": [
            {"name": "web", "ports": [{"containerPort": 8080, "name": "http"}]}
        ], "args": ["a"]}, "data": {"y": "3"}});
        let mut out = Vec::new();
        removals(&theirs, &ours, "", &mut out);
        assert_eq!(
            out,
            [
                "spec.containers[name=web].ports[containerPort=80]",
                "spec.containers[name=old]",
                "spec.args[1]",
                "data[\"x.yaml\"]",
            ]
        );
    }

    #[test]
    fn release_names_and_namespaces_are_dns_labels() {
        for good in ["matrix", "a", "my-release-2"] {
            assert!(dns_label(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "Matrix",
            "a.b",
            "a\nb",
            "x'y",
            &"a".repeat(64),
        ] {
            assert!(!dns_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn quantities_compare_in_bytes() {
        assert_eq!(quantity_bytes("10Gi"), Some(10 << 30));
        assert_eq!(quantity_bytes("500M"), Some(500_000_000));
        assert!(quantity_bytes("1Gi").unwrap_or(0) > quantity_bytes("1000M").unwrap_or(u128::MAX));
        assert_eq!(quantity_bytes("1.5Gi"), None);
        assert_eq!(quantity_bytes("lots"), None);
    }

    #[test]
    fn the_handover_carries_no_data_or_env_value() {
        let object = ChartObject {
            kind: "Secret".to_owned(),
            name: "s".to_owned(),
            namespace: None,
            value: json!({"kind": "Secret", "metadata": {"name": "s"},
                "stringData": {"KEY": "hunter2"},
                "spec": {"template": {"spec": {"containers": [{"name": "c",
                    "env": [{"name": "PASSWORD", "value": "hunter2"}]}]}}}}),
            offset: 0,
            spans: SpanMap::default(),
        };
        let value = handover(&object, "matrix");
        assert!(!value.to_string().contains("hunter2"));
        assert_eq!(value.pointer("/metadata/namespace"), Some(&json!("matrix")));
        assert_eq!(value.get("stringData"), None);
        let data = value.get("data").and_then(Value::as_object);
        assert_eq!(
            data.map(|d| d.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["KEY".to_owned()])
        );
    }
}
