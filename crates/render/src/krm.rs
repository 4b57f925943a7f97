//! Kubernetes-style values documents and the KRM function mode: matrix-render as a
//! generator in kpt or kustomize pipelines.
//!
//! A values document may be a `MatrixStack` (apiVersion `matrix-render.github.io/v1alpha1`;
//! the earlier `matrix-render.dev/v1alpha1` is read with a warning) with the values under
//! `spec`, or a `config.kubernetes.io/v1` ResourceList whose
//! `functionConfig` is one. Either contributes its `spec` to the merge; with `format: krm`
//! the output is the ResourceList again: its items, minus the ones an earlier run generated
//! (so a second run replaces instead of appending), then the rendered objects, annotated so
//! that kpt writes them to [`KRM_GENERATED_PATH`].
//!
//! Generated objects are recognised by the `app.kubernetes.io/managed-by: matrix-render`
//! label every rendered object carries, together with one of the stack's namespaces (the
//! main one and `podSecurity.hostNetworkNamespace`; for a Namespace object, its name) or the
//! exact identity of an object this run renders. So objects a config change no longer renders
//! (MatrixRTC switched off) disappear too, while another stack's objects in another
//! namespace of the same package are left alone.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use std::collections::BTreeMap;

use matrix_render_model::Severity;
use matrix_render_model::spans::{Span, SpanMap};
use matrix_render_model::{Diagnostic, NamedText, limits};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::objects::Object;
use crate::yaml;

/// The `apiVersion` of matrix-render's KRM function config (a group under the project's
/// GitHub organisation's domain, which it owns).
pub const KRM_FUNCTION_CONFIG_API_VERSION: &str = "matrix-render.github.io/v1alpha1";
/// Earlier `apiVersion`s of the `MatrixStack`, still read, with a `deprecated-api-version`
/// warning that names [`KRM_FUNCTION_CONFIG_API_VERSION`].
pub const KRM_FUNCTION_CONFIG_DEPRECATED_API_VERSIONS: &[&str] = &["matrix-render.dev/v1alpha1"];
/// The fields of the kustomize generator's earlier config shape (file names and flags instead
/// of the values under `spec`), which only that generator reads.
pub const KUSTOMIZE_GENERATOR_FIELDS: &[&str] = &["valuesFiles", "set", "setString", "staticDir"];
/// The `kind` of matrix-render's KRM function config.
pub const KRM_FUNCTION_CONFIG_KIND: &str = "MatrixStack";
/// The `apiVersion` of a ResourceList that matrix-render writes when the input had none.
pub const KRM_RESOURCE_LIST_API_VERSION: &str = "config.kubernetes.io/v1";
/// The name a KRM function's input gets in diagnostics when the request names none: stdin.
pub const STDIN: &str = "<stdin>";
/// The package file, relative to the package root, that kpt writes the generated objects to.
pub const KRM_GENERATED_PATH: &str = "matrix-stack.yaml";

/// One entry of a ResourceList's `results`, as the KRM function specification defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KrmResult {
    /// What is wrong, with the hint when there is one.
    pub message: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The field of the function config: `spec.<config path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<KrmField>,
    /// The package file the problem is in, when the input named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<KrmFile>,
    /// `code`: the diagnostic's stable code, e.g. `unknown-key`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// `results[].field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KrmField {
    /// Dotted path in the function config, e.g. `spec.synapse.registration.enabled`.
    pub path: String,
}

/// `results[].file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KrmFile {
    /// Package-relative path.
    pub path: String,
}

/// Diagnostics as KRM `results`. A diagnostic's config path becomes `spec.<path>` (the
/// values sit under the function config's `spec`); its file is kept unless it is
/// `input_name`, the name the ResourceList itself was given (stdin is no package file).
#[must_use]
pub fn results(diagnostics: &[Diagnostic], input_name: &str) -> Vec<KrmResult> {
    diagnostics
        .iter()
        .map(|d| KrmResult {
            message: match &d.hint {
                Some(hint) => format!("{} (hint: {hint})", d.message),
                None => d.message.clone(),
            },
            severity: d.severity,
            field: (!d.path.is_empty()).then(|| KrmField {
                path: format!("spec.{}", d.path),
            }),
            file: d
                .file
                .as_ref()
                .filter(|f| f.as_str() != input_name)
                .map(|f| KrmFile { path: f.clone() }),
            tags: BTreeMap::from([("code".to_owned(), d.code.clone())]),
        })
        .collect()
}

/// What a KRM function writes to stdout when the render failed (`ok` false), before it
/// exits non-zero: a ResourceList with no items and every diagnostic as a result. Orchestrators
/// discard the items of a failed function and show the results. JSON, which every YAML
/// reader reads.
#[must_use]
pub fn failure_output(diagnostics: &[Diagnostic], input_name: &str) -> String {
    let list = serde_json::json!({
        "apiVersion": KRM_RESOURCE_LIST_API_VERSION,
        "kind": "ResourceList",
        "items": [],
        "results": results(diagnostics, input_name),
    });
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads the YAML (or JSON) document a KRM function receives on stdin into JSON values.
/// The core does the rest (see [`RenderRequest::values`]); this only parses.
///
/// # Errors
/// An `invalid-resource-list` diagnostic at the line and column of the syntax error.
pub fn parse_input(source: &NamedText) -> Result<serde_json::Value, Box<Diagnostic>> {
    let not_yaml = |message: String, line: Option<u32>, column: Option<u32>| {
        Box::new(
            Diagnostic::error(
                "invalid-resource-list",
                "",
                format!("the input is not a YAML ResourceList: {message}"),
            )
            .with_hint("a KRM function reads one YAML (or JSON) ResourceList document on stdin")
            .at(&source.name, line, column),
        )
    };
    match matrix_render_model::yaml::parse(&source.text).0 {
        Ok(value) => Ok(value.unwrap_or(serde_json::Value::Null)),
        Err(e) => Err(not_yaml(
            e.message,
            e.span.map(|s| s.line),
            e.span.map(|s| s.column),
        )),
    }
}

/// ResourceList versions of the KRM function specification.
const RESOURCE_LIST_VERSIONS: &[&str] =
    &["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1"];

/// The label that marks an object as generated by matrix-render.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "matrix-render");

/// Where an orchestrator records an object's file, newest first.
const PATH_ANNOTATIONS: &[&str] = &[
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];

/// The annotations that place a generated object in the package: file and position.
const INDEX_ANNOTATIONS: &[&str] = &[
    "config.kubernetes.io/index",
    "internal.config.kubernetes.io/index",
];

const RUN_FROM_KPT: &str = "run it from kpt (`kpt fn eval DIR --exec matrix-render-krm \
--fn-config stack.yaml`, or `exec:` with `configPath: stack.yaml` in a Kptfile pipeline), or \
write `apiVersion: config.kubernetes.io/v1`, `kind: ResourceList`, `items: [...]` and a \
`functionConfig:` holding the MatrixStack";

/// A values document that is a Kubernetes-style object: a `MatrixStack`, or a ResourceList
/// whose function config is one.
#[derive(Debug)]
pub struct Input<'a> {
    source: &'a NamedText,
    /// The ResourceList's `apiVersion`; `None` for a bare MatrixStack.
    list_version: Option<String>,
    /// Input items with their index in the input's `items`.
    items: Vec<(usize, Value)>,
    /// The ResourceList's `functionConfig`, written back unchanged.
    function_config: Value,
    /// The `spec` as a values document for the loader.
    spec: NamedText,
    /// The path of the `spec` in the document: `spec` or `functionConfig.spec`.
    spec_path: &'static str,
    /// The package file of the function config, when the orchestrator named one.
    config_file: Option<String>,
    /// Warnings about the document's shape (a deprecated apiVersion).
    warnings: Vec<Diagnostic>,
    spans: OnceCell<SpanMap>,
}

impl<'a> Input<'a> {
    /// `Some` when `source` is a MatrixStack or a ResourceList, `None` for a values file
    /// (anything without a top-level `apiVersion` and `kind`, or that does not parse: the
    /// loader reports that).
    ///
    /// # Errors
    /// A Kubernetes object of another kind, or a malformed MatrixStack or ResourceList;
    /// every problem with its shape at once.
    pub fn classify(source: &'a NamedText) -> Result<Option<Self>, Vec<Diagnostic>> {
        if !source.text.contains("apiVersion") {
            return Ok(None);
        }
        let Ok(value) = parse_input(source) else {
            return Ok(None);
        };
        let Some(document) = value.as_object() else {
            return Ok(None);
        };
        let text = |key: &str| document.get(key).and_then(Value::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) else {
            return Ok(None);
        };
        let mut input = Self {
            source,
            list_version: None,
            items: Vec::new(),
            function_config: Value::Null,
            spec: NamedText {
                name: format!("{}#spec", source.name),
                text: String::new(),
            },
            spec_path: "spec",
            config_file: None,
            warnings: Vec::new(),
            spans: OnceCell::new(),
        };
        let mut errors = Vec::new();
        let spec = match kind.as_str() {
            KRM_FUNCTION_CONFIG_KIND => match function_config(&value, "the document") {
                Ok(config) => {
                    input.deprecated(config.deprecated, "apiVersion");
                    config.spec
                }
                Err((field, message, hint)) => {
                    errors.push(input.error("invalid-function-config", &field, message, &hint));
                    Value::Null
                }
            },
            "ResourceList" if RESOURCE_LIST_VERSIONS.contains(&api_version.as_str()) => {
                input.list_version = Some(api_version);
                input.spec_path = "functionConfig.spec";
                input.items = input.items(document, &mut errors);
                match document.get("functionConfig") {
                    None | Some(Value::Null) => {
                        errors.push(input.error(
                            "invalid-function-config",
                            "",
                            "the ResourceList has no functionConfig".to_owned(),
                            &function_config_hint(),
                        ));
                        Value::Null
                    }
                    Some(config) => match function_config(config, "the functionConfig") {
                        Ok(read) => {
                            input.deprecated(read.deprecated, "functionConfig.apiVersion");
                            input.config_file = read.file;
                            input.function_config = config.clone();
                            read.spec
                        }
                        Err((field, message, hint)) => {
                            let field = format!("functionConfig.{field}");
                            errors.push(input.error(
                                "invalid-function-config",
                                field.trim_end_matches('.'),
                                message,
                                &hint,
                            ));
                            Value::Null
                        }
                    },
                }
            }
            _ => {
                errors.push(input.error(
                    "unknown-kind",
                    "kind",
                    format!(
                        "this document is a `{kind}` (apiVersion `{api_version}`), not a values \
                         file, a {KRM_FUNCTION_CONFIG_KIND} or a KRM ResourceList"
                    ),
                    &format!(
                        "as a values file, drop `apiVersion` and `kind`; as a KRM function, \
                         {RUN_FROM_KPT}"
                    ),
                ));
                Value::Null
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        input.spec.text = yaml::document(&spec);
        Ok(Some(input))
    }

    /// Warnings about the document itself, located in it.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The document this was read from.
    pub fn source(&self) -> &NamedText {
        self.source
    }

    /// Whether this is a ResourceList (and not a bare MatrixStack).
    pub fn is_list(&self) -> bool {
        self.list_version.is_some()
    }

    /// The document's values, to merge in its place.
    pub fn spec(&self) -> &NamedText {
        &self.spec
    }

    /// Whether `d` was found in this document's values.
    pub fn owns(&self, d: &Diagnostic) -> bool {
        d.file.as_deref() == Some(self.spec.name.as_str())
    }

    /// Points a diagnostic about the values at the document: the function config's package
    /// file when the orchestrator named one, else the line and column in the document text.
    pub fn relocate(&self, d: Diagnostic) -> Diagnostic {
        if let Some(file) = &self.config_file {
            return d.at(file.clone(), None, None);
        }
        let path = if d.path.is_empty() {
            self.spec_path.to_owned()
        } else {
            format!("{}.{}", self.spec_path, d.path)
        };
        let span = find(self.spans(), &path, d.code == "unknown-key");
        d.at(
            self.source.name.clone(),
            span.map(|s| s.line),
            span.map(|s| s.column),
        )
    }

    /// The input items to keep: all but those an earlier run generated in one of
    /// `namespaces`. An item this run
    /// would generate that is not marked as generated is an error (`object-conflict`): it
    /// is someone else's object, and replacing it silently would lose their edits.
    pub fn keep(&self, objects: &[Object], namespaces: &[&str]) -> (Vec<&Value>, Vec<Diagnostic>) {
        let generated: BTreeSet<Identity> = objects
            .iter()
            .map(|o| Identity::new(&o.api_version, &o.kind, o.namespace.as_deref(), &o.name))
            .collect();
        let mut kept = Vec::new();
        let mut conflicts = Vec::new();
        for (index, item) in &self.items {
            let identity = Identity::of(item);
            let ours = label(item, MANAGED_BY.0) == Some(MANAGED_BY.1)
                && (namespaces.contains(&identity.namespace.as_str())
                    || (identity.kind == "Namespace"
                        && namespaces.contains(&identity.name.as_str()))
                    || generated.contains(&identity));
            if ours {
                continue;
            }
            if generated.contains(&identity) {
                let d = Diagnostic::error(
                    "object-conflict",
                    "",
                    format!(
                        "the input already has {} `{}` in namespace `{}`, which matrix-render \
                         generates, and it is not marked as generated by matrix-render",
                        identity.kind, identity.name, identity.namespace
                    ),
                )
                .with_hint(
                    "delete it, or label it `app.kubernetes.io/managed-by: matrix-render` to let \
                     matrix-render replace it",
                );
                conflicts.push(match annotation(item, PATH_ANNOTATIONS) {
                    Some(file) => d.at(file, None, None),
                    None => self.at(d, &format!("items[{index}]")),
                });
            }
            kept.push(item);
        }
        (kept, conflicts)
    }

    /// The output ResourceList: the kept items, then the rendered objects, the function
    /// config as it came (so the output can be run again), and the warnings as `results`.
    pub fn output(
        &self,
        kept: &[&Value],
        objects: &[Object],
        diagnostics: &[Diagnostic],
    ) -> String {
        let mut items: Vec<Value> = kept.iter().map(|v| (*v).clone()).collect();
        for (index, object) in objects.iter().enumerate() {
            let mut value = object.value.to_value();
            annotate(&mut value, index);
            items.push(value);
        }
        let mut list = Map::new();
        list.insert(
            "apiVersion".to_owned(),
            Value::from(self.list_version.as_deref().unwrap_or_default()),
        );
        list.insert("kind".to_owned(), Value::from("ResourceList"));
        list.insert("items".to_owned(), Value::Array(items));
        list.insert("functionConfig".to_owned(), self.function_config.clone());
        let results = results(diagnostics, &self.source.name);
        if !results.is_empty() {
            list.insert(
                "results".to_owned(),
                serde_json::to_value(results).unwrap_or_default(),
            );
        }
        yaml::document(&Value::Object(list))
    }

    fn spans(&self) -> &SpanMap {
        self.spans.get_or_init(|| SpanMap::build(&self.source.text))
    }

    /// `d` at `field` of the document text (`""`: the whole document).
    fn at(&self, d: Diagnostic, field: &str) -> Diagnostic {
        let span = if field.is_empty() {
            None
        } else {
            find(self.spans(), field, false)
        };
        d.at(
            self.source.name.clone(),
            span.map(|s| s.line),
            span.map(|s| s.column),
        )
    }

    /// Records the `deprecated-api-version` warning for a MatrixStack written with an earlier
    /// apiVersion (`None`: the current one).
    fn deprecated(&mut self, api_version: Option<&'static str>, field: &str) {
        let Some(old) = api_version else {
            return;
        };
        let d = Diagnostic::warning(
            "deprecated-api-version",
            "",
            format!(
                "apiVersion `{old}` of the {KRM_FUNCTION_CONFIG_KIND} is deprecated; it is read \
                 as `{KRM_FUNCTION_CONFIG_API_VERSION}`"
            ),
        )
        .with_hint(format!(
            "write `apiVersion: {KRM_FUNCTION_CONFIG_API_VERSION}` (the kustomize generator \
             then lives under `{KRM_FUNCTION_CONFIG_API_VERSION}/` in the plugin home)"
        ));
        let d = self.at(d, field);
        self.warnings.push(d);
    }

    fn error(&self, code: &str, field: &str, message: String, hint: &str) -> Diagnostic {
        self.at(Diagnostic::error(code, "", message).with_hint(hint), field)
    }

    /// The ResourceList's items.
    fn items(
        &self,
        list: &Map<String, Value>,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<(usize, Value)> {
        let mut items = Vec::new();
        match list.get("items") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if list.len() > limits::MAX_KRM_ITEMS => {
                errors.push(self.error(
                    "invalid-resource-list",
                    "items",
                    format!(
                        "the ResourceList holds {} items; a package may hold at most {}",
                        list.len(),
                        limits::MAX_KRM_ITEMS
                    ),
                    "run the function on a smaller package (split it into several)",
                ));
            }
            Some(Value::Array(list)) => {
                for (i, item) in list.iter().enumerate() {
                    match item {
                        Value::Object(_) => items.push((i, item.clone())),
                        Value::Null => {}
                        _ => errors.push(self.error(
                            "invalid-resource-list",
                            &format!("items[{i}]"),
                            format!("`items[{i}]` is not a Kubernetes object"),
                            "every item is a mapping with apiVersion, kind and metadata",
                        )),
                    }
                }
            }
            Some(_) => errors.push(self.error(
                "invalid-resource-list",
                "items",
                "`items` is not a list".to_owned(),
                "write `items: []` for an empty package",
            )),
        }
        items
    }
}

/// The error for a `format: krm` request without exactly one ResourceList among its values:
/// the syntax error of the last document when it is not YAML.
pub fn list_required(lists: usize, last: Option<&NamedText>) -> Diagnostic {
    if lists > 0 {
        return Diagnostic::error(
            "invalid-resource-list",
            "",
            format!("the input has {lists} ResourceLists; a KRM function reads one"),
        );
    }
    if let Some(Err(d)) = last.map(parse_input) {
        return *d;
    }
    let d = Diagnostic::error(
        "invalid-resource-list",
        "",
        "the input is not a KRM ResourceList",
    )
    .with_hint(format!(
        "a KRM function reads a ResourceList on stdin; {RUN_FROM_KPT}"
    ));
    match last {
        Some(doc) => d.at(doc.name.clone(), None, None),
        None => d,
    }
}

/// Adds the file and position annotations kpt writes a generated object by.
fn annotate(value: &mut Value, index: usize) {
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(annotations) = annotations {
        for key in PATH_ANNOTATIONS.iter().rev() {
            annotations.insert((*key).to_owned(), Value::from(KRM_GENERATED_PATH));
        }
        for key in INDEX_ANNOTATIONS {
            annotations.insert((*key).to_owned(), Value::from(index.to_string()));
        }
    }
}

fn function_config_hint() -> String {
    format!(
        "pass a function config of apiVersion `{KRM_FUNCTION_CONFIG_API_VERSION}` and kind \
         `{KRM_FUNCTION_CONFIG_KIND}` with the values under `spec`: `kpt fn eval DIR --exec \
         matrix-render-krm --fn-config stack.yaml`, or `configPath: stack.yaml` in the \
         Kptfile pipeline"
    )
}

/// A function config that matrix-render reads.
struct FunctionConfig {
    /// Its `spec`: the values.
    spec: Value,
    /// Its package file, when the orchestrator named one.
    file: Option<String>,
    /// Its apiVersion, when that is a deprecated one.
    deprecated: Option<&'static str>,
}

/// A function config, or the field (relative to the config), message and hint of what is
/// wrong with it.
fn function_config(config: &Value, what: &str) -> Result<FunctionConfig, (String, String, String)> {
    let Value::Object(config) = config else {
        return Err((
            String::new(),
            format!("{what} is not a mapping"),
            function_config_hint(),
        ));
    };
    let text = |key: &str| config.get(key).and_then(Value::as_str).unwrap_or_default();
    let deprecated = KRM_FUNCTION_CONFIG_DEPRECATED_API_VERSIONS
        .iter()
        .copied()
        .find(|v| *v == text("apiVersion"));
    if (text("apiVersion") != KRM_FUNCTION_CONFIG_API_VERSION && deprecated.is_none())
        || text("kind") != KRM_FUNCTION_CONFIG_KIND
    {
        let hint = if text("kind") == "ConfigMap" {
            format!(
                "kpt makes a ConfigMap of `-- key=value` arguments; matrix-render takes its \
                 values as a {KRM_FUNCTION_CONFIG_KIND}: {}",
                function_config_hint()
            )
        } else {
            function_config_hint()
        };
        return Err((
            if text("kind") == KRM_FUNCTION_CONFIG_KIND {
                "apiVersion"
            } else {
                "kind"
            }
            .to_owned(),
            format!(
                "{what} has apiVersion `{}` and kind `{}`; matrix-render reads \
                 `{KRM_FUNCTION_CONFIG_API_VERSION}` `{KRM_FUNCTION_CONFIG_KIND}`",
                text("apiVersion"),
                text("kind")
            ),
            hint,
        ));
    }
    if let Some(field) = KUSTOMIZE_GENERATOR_FIELDS
        .iter()
        .copied()
        .find(|f| config.contains_key(*f))
    {
        return Err((
            field.to_owned(),
            format!(
                "the {KRM_FUNCTION_CONFIG_KIND} has `{field}`, a field of the kustomize \
                 generator's config that only that generator reads"
            ),
            format!(
                "here the {KRM_FUNCTION_CONFIG_KIND} holds the values themselves under `spec` \
                 (the keys of a values file: global, synapse, ...), not file names or `--set` \
                 flags; move them under `spec:` (the kustomize generator reads that shape too), \
                 or pass the files and flags to `matrix-render render` (`-f`, `--set`)"
            ),
        ));
    }
    let spec = match config.get("spec") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(spec @ Value::Object(_)) => spec.clone(),
        Some(_) => {
            return Err((
                "spec".to_owned(),
                format!("the {KRM_FUNCTION_CONFIG_KIND}'s `spec` is not a mapping of values"),
                "put the values file's keys (global, synapse, ...) under `spec:`".to_owned(),
            ));
        }
    };
    let file = config
        .get("metadata")
        .and_then(|m| annotation_of(m, PATH_ANNOTATIONS));
    Ok(FunctionConfig {
        spec,
        file,
        deprecated,
    })
}

/// The position of `path`'s value (its key for `key_first`), or else of the key of its
/// nearest ancestor that the text has.
fn find(spans: &SpanMap, path: &str, key_first: bool) -> Option<Span> {
    let exact = if key_first {
        spans.key(path).or_else(|| spans.value(path))
    } else {
        spans.value(path).or_else(|| spans.key(path))
    };
    exact.or_else(|| {
        let mut probe = path.to_owned();
        loop {
            let cut = probe.rfind(['.', '['])?;
            probe.truncate(cut);
            if let Some(span) = spans.key(&probe).or_else(|| spans.value(&probe)) {
                return Some(span);
            }
        }
    })
}

fn label<'v>(item: &'v Value, key: &str) -> Option<&'v str> {
    item.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn annotation(item: &Value, keys: &[&str]) -> Option<String> {
    annotation_of(item.get("metadata")?, keys)
}

fn annotation_of(metadata: &Value, keys: &[&str]) -> Option<String> {
    let annotations = metadata.get("annotations")?;
    keys.iter()
        .find_map(|k| annotations.get(*k)?.as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// What names an object in a cluster: API group (not version), kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Identity {
    group: String,
    kind: String,
    namespace: String,
    name: String,
}

impl Identity {
    fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            group: api_version
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: name.to_owned(),
        }
    }

    fn of(item: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let metadata = item.get("metadata");
        Self::new(
            &text(item.get("apiVersion")),
            &text(item.get("kind")),
            Some(&text(metadata.and_then(|m| m.get("namespace")))),
            &text(metadata.and_then(|m| m.get("name"))),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_carry_the_spec_path_code_and_hint() {
        let diagnostics = [
            Diagnostic::error("unknown-key", "synapse.enabeld", "unknown key `enabeld`")
                .with_hint("did you mean `enabled`?")
                .at("<stdin>", Some(9), Some(5)),
            Diagnostic::warning("latest-tag", "synapse.image.tag", "`latest` moves").at(
                "stack.yaml",
                None,
                None,
            ),
            Diagnostic::error("invalid-resource-list", "", "not a ResourceList"),
        ];
        let results = results(&diagnostics, "<stdin>");
        assert_eq!(
            results[0].message,
            "unknown key `enabeld` (hint: did you mean `enabled`?)"
        );
        assert_eq!(
            results[0].field.as_ref().map(|f| f.path.as_str()),
            Some("spec.synapse.enabeld")
        );
        assert_eq!(results[0].file, None);
        assert_eq!(results[0].tags["code"], "unknown-key");
        assert_eq!(
            results[1].file.as_ref().map(|f| f.path.as_str()),
            Some("stack.yaml")
        );
        assert_eq!(results[1].severity, Severity::Warning);
        assert_eq!(results[2].field, None);
        let list: serde_json::Value =
            serde_json::from_str(&failure_output(&diagnostics, "<stdin>")).unwrap();
        assert_eq!(list["kind"], "ResourceList");
        assert_eq!(list["items"], serde_json::json!([]));
        assert_eq!(list["results"][0]["severity"], "error");
        assert_eq!(list["results"][1]["severity"], "warning");
    }

    use super::*;

    fn named(text: &str) -> NamedText {
        NamedText {
            name: "<stdin>".to_owned(),
            text: text.to_owned(),
        }
    }

    const LIST: &str = "\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: other
functionConfig:
  apiVersion: matrix-render.github.io/v1alpha1
  kind: MatrixStack
  metadata:
    name: stack
  spec:
    global:
      domain: matrix.example.org
";

    fn input(source: &NamedText) -> Input<'_> {
        Input::classify(source).unwrap().unwrap()
    }

    #[test]
    fn values_files_are_not_objects() {
        for text in [
            "global:\n  domain: a\n",
            "apiVersion: 3\n",
            "a: [\n",
            "- apiVersion\n",
        ] {
            assert!(Input::classify(&named(text)).unwrap().is_none(), "{text}");
        }
    }

    #[test]
    fn spec_becomes_a_values_document() {
        let source = named(LIST);
        let input = input(&source);
        assert!(input.is_list());
        assert_eq!(input.spec().text, "global:\n  domain: matrix.example.org\n");
        assert_eq!(input.items.len(), 1);
        assert_eq!(input.config_file, None);
        let stack = named(LIST.split_once("functionConfig:\n").unwrap().1);
        let stack = Input::classify(&stack).unwrap();
        assert!(stack.is_some_and(|s| !s.is_list() && s.spec().text == input.spec().text));
    }

    #[test]
    fn values_diagnostics_point_into_the_document() {
        let source = named(LIST);
        let input = input(&source);
        let d = Diagnostic::error("invalid-host", "global.domain", "bad").at(
            input.spec().name.clone(),
            Some(2),
            Some(11),
        );
        assert!(input.owns(&d));
        let d = input.relocate(d);
        assert_eq!(d.file.as_deref(), Some("<stdin>"));
        assert_eq!((d.line, d.column), (Some(15), Some(15)));
        // A key the spec does not have: its nearest ancestor's key.
        let d = input.relocate(Diagnostic::error(
            "missing-value",
            "coturn.realm",
            "missing",
        ));
        assert_eq!((d.line, d.column), (Some(13), Some(3)));
    }

    /// More items than a package may hold are refused at `items`, before any is copied.
    #[test]
    fn a_resource_list_with_too_many_items_is_refused() {
        let mut text =
            String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
        let list = |n: usize| "- {}\n".repeat(n);
        let function_config = &LIST[LIST.find("functionConfig:").unwrap()..];
        text.push_str(&list(limits::MAX_KRM_ITEMS));
        text.push_str(function_config);
        let source = named(&text);
        assert_eq!(input(&source).items.len(), limits::MAX_KRM_ITEMS);
        let text = text.replacen("items:\n", "items:\n- {}\n", 1);
        let source = named(&text);
        let errors = Input::classify(&source).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, "invalid-resource-list");
        assert_eq!(
            errors[0].message,
            "the ResourceList holds 10001 items; a package may hold at most 10000"
        );
        assert_eq!(errors[0].line, Some(4));
    }

    #[test]
    fn shape_errors_are_all_reported() {
        let source = named("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: 3\n");
        let errors = Input::classify(&source).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["invalid-resource-list", "invalid-function-config"]);
        assert_eq!(errors[0].line, Some(3));
        let source = named(
            "kind: ResourceList\napiVersion: config.kubernetes.io/v1\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n",
        );
        let errors = Input::classify(&source).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].hint.as_deref().unwrap().contains("ConfigMap"));
        assert_eq!(errors[0].line, Some(5));
        let source = named("apiVersion: v1\nkind: List\nitems: []\n");
        let errors = Input::classify(&source).unwrap_err();
        assert_eq!(errors[0].code, "unknown-kind");
        assert_eq!(errors[0].line, Some(2));
    }

    #[test]
    fn the_earlier_api_version_is_read_with_a_warning() {
        let old = LIST.replace(
            KRM_FUNCTION_CONFIG_API_VERSION,
            KRM_FUNCTION_CONFIG_DEPRECATED_API_VERSIONS[0],
        );
        assert_ne!(old, LIST);
        let source = named(&old);
        let list = input(&source);
        assert_eq!(list.spec().text, "global:\n  domain: matrix.example.org\n");
        let [warning] = list.warnings() else {
            panic!("{:?}", list.warnings());
        };
        assert!(!warning.is_error());
        assert_eq!(warning.code, "deprecated-api-version");
        assert_eq!(
            (warning.file.as_deref(), warning.line, warning.column),
            (Some("<stdin>"), Some(9), Some(15))
        );
        assert!(warning.message.contains("`matrix-render.dev/v1alpha1`"));
        let hint = warning.hint.as_deref().unwrap();
        assert!(
            hint.contains("`apiVersion: matrix-render.github.io/v1alpha1`"),
            "{hint}"
        );
        // A bare MatrixStack: the same warning, at its own apiVersion line.
        let stack = named(old.split_once("functionConfig:\n").unwrap().1);
        let stack = input(&stack);
        assert_eq!(stack.warnings()[0].code, "deprecated-api-version");
        assert_eq!(stack.warnings()[0].line, Some(1));
        // The current apiVersion: no warning.
        assert!(input(&named(LIST)).warnings().is_empty());
        // Other versions of the group are still refused.
        let other = named(&LIST.replace("github.io/v1alpha1", "dev/v1beta1"));
        let errors = Input::classify(&other).unwrap_err();
        assert_eq!(errors[0].code, "invalid-function-config");
    }

    #[test]
    fn the_kustomize_generator_shape_is_refused_with_the_difference() {
        // (field, text, the line of its value)
        for (field, extra, line) in [
            ("valuesFiles", "valuesFiles:\n- values.yaml\n", 6),
            ("set", "set: [namespace=chat]\n", 5),
            ("staticDir", "staticDir: static\n", 5),
        ] {
            for version in [
                KRM_FUNCTION_CONFIG_API_VERSION,
                KRM_FUNCTION_CONFIG_DEPRECATED_API_VERSIONS[0],
            ] {
                let text = format!(
                    "apiVersion: {version}\nkind: MatrixStack\nmetadata:\n  name: m\n{extra}"
                );
                let source = named(&text);
                let errors = Input::classify(&source).unwrap_err();
                let [error] = errors.as_slice() else {
                    panic!("{errors:?}");
                };
                assert_eq!(error.code, "invalid-function-config");
                assert!(error.message.contains(&format!("`{field}`")), "{error:?}");
                assert_eq!(error.line, Some(line));
                let hint = error.hint.as_deref().unwrap();
                assert!(
                    hint.contains("under `spec`") && hint.contains("kustomize"),
                    "{hint}"
                );
                // Inside a ResourceList: the same, under functionConfig.
                let list = format!(
                    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{}",
                    text.lines().map(|l| format!("  {l}\n")).collect::<String>()
                );
                let errors = Input::classify(&named(&list)).unwrap_err();
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].line, Some(line + 4), "{errors:?}");
                assert!(errors[0].message.contains(&format!("`{field}`")));
            }
        }
    }

    #[test]
    fn identity_ignores_the_version() {
        assert_eq!(
            Identity::new("networking.k8s.io/v1", "Ingress", Some("m"), "x"),
            Identity::new("networking.k8s.io/v1beta1", "Ingress", Some("m"), "x"),
        );
        assert_eq!(Identity::new("v1", "Service", None, "x").group, "");
    }

    /// The invariants the fuzz targets check, for the `krm` format: the same diagnostics and
    /// objects as JSON when it succeeds, nothing but diagnostics when it fails.
    #[test]
    fn krm_format_keeps_the_response_invariants() {
        use crate::{Format, RenderOptions, RenderRequest, render};
        let values = concat!(
            "    global: {domain: matrix.example.org, elementDomain: element.example.org}\n",
            "    synapse:\n",
            "      registration_shared_secret: s3cr3t-s3cr3t-s3cr3t-s3cr3t-0123\n",
            "      recaptcha: {siteKey: site-key-a, secretKey: secret-key-b}\n",
            "      image: {tag: latest}\n",
            "    coturn:\n",
            "      realm: turn.example.org\n",
            "      turn_url: turn.example.org\n",
            "      turn_shared_secret: turn-s3cr3t-s3cr3t-s3cr3t-0123456\n",
        );
        let list = format!("{}{values}", LIST.split_once("    global:").unwrap().0);
        let request = |text: &str, format| RenderRequest {
            values: vec![named(text)],
            options: RenderOptions {
                format,
                split: true,
                plan: false,
                migrate: None,
            },
            ..RenderRequest::default()
        };
        let krm = render(&request(&list, Format::Krm));
        assert!(krm.ok, "{:?}", krm.diagnostics);
        assert!(krm.diagnostics.iter().any(|d| d.code == "latest-tag"));
        let json = render(&request(&list, Format::Json));
        assert!(json.ok);
        assert_eq!(krm.diagnostics, json.diagnostics);
        assert_eq!(krm.objects.len(), json.objects.len());
        assert!(krm.output.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"));
        assert!(krm.output.contains("\nresults:\n- message: "));
        assert_eq!(render(&request(&list, Format::Krm)), krm, "deterministic");
        for bad in [
            list.replace("elementDomain", "elementDomian"),
            values.to_owned(),
            String::new(),
            format!("{list}\n  extra: [\n"),
        ] {
            let response = render(&request(&bad, Format::Krm));
            assert!(!response.ok);
            assert!(response.objects.is_empty());
            assert!(response.diagnostics.iter().any(Diagnostic::is_error));
            // A failed function still writes a ResourceList: no items, the problems as results.
            let list: Value = serde_json::from_str(&response.output).expect("a JSON ResourceList");
            assert_eq!(list["kind"], "ResourceList");
            assert_eq!(list["items"], serde_json::json!([]));
            let results = list["results"].as_array().expect("results");
            assert_eq!(results.len(), response.diagnostics.len());
            assert!(results.iter().any(|r| r["severity"] == "error"));
        }
    }
}
