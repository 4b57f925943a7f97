//! The request and response every front-end exchanges with the core, as JSON, and the
//! KRM function envelope (results of a ResourceList) that every front-end writes the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::load::NamedText;

/// Everything a render needs; front-ends read files and flags into this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderRequest {
    /// Values documents, merged in order over the defaults. A document may also be a
    /// Kubernetes-style object: a `MatrixStack` (`apiVersion:
    /// matrix-render.github.io/v1alpha1`) contributes its `spec`, and a KRM ResourceList
    /// whose `functionConfig` is one contributes that `spec` and, with `format: krm`, its
    /// items.
    #[serde(default)]
    pub values: Vec<NamedText>,
    /// `--set` arguments, applied after all values documents.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` arguments, applied after every `--set`.
    #[serde(default)]
    pub set_string: Vec<String>,
    /// `--set-json` arguments (`path=JSON`), applied after the values documents and before
    /// every `--set`, as Helm does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_json: Vec<String>,
    /// `--set-file` arguments with the files' text, applied last, as Helm does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_file: Vec<SetFile>,
    /// Extra input files by relative path: `pages/<name>` and `static-assets/<name>` replace
    /// the built-in static pages.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Output options.
    #[serde(default)]
    pub options: RenderOptions,
    /// Problems the front-end met reading its inputs (a file it could not read, an input
    /// over a limit). The core reports them as its own, in the requested format (a KRM
    /// function's failed ResourceList included), and renders nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Diagnostic>,
}

/// One `--set-file path.to.key=FILE`: the file's text becomes the string at the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetFile {
    /// The config path, in `--set` syntax (`synapse.extraConfig.x`).
    pub key: String,
    /// The file as the user named it (diagnostics name it, never its text).
    pub file: String,
    /// The file's text.
    pub text: String,
}

/// Output options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderOptions {
    /// Output format.
    #[serde(default)]
    pub format: Format,
    /// Also return each object as its own document (for `--output-dir`).
    #[serde(default)]
    pub split: bool,
    /// Also return the [`Plan`]: what to set up outside the cluster.
    #[serde(default)]
    pub plan: bool,
    /// Also compare the render with a live install of the Helm chart and return the
    /// [`Migration`]: the report and the script that switches the install over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate: Option<MigrateFrom>,
}

/// The Helm release a migration starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrateFrom {
    /// What `helm get manifest RELEASE -n NAMESPACE` printed for the chart's release.
    pub manifest: NamedText,
    /// The release name; when absent, read from the objects' `app.kubernetes.io/instance`
    /// (or `release`) label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The release namespace, which objects without a namespace live in; when absent, the
    /// namespace the manifest's objects name, else the config's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// How to switch a live chart install to the rendered stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The Helm release.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// Every object of the chart and of the render, in the render's order, then the
    /// chart's objects the render drops.
    pub objects: Vec<MigrationObject>,
    /// The report for people (no secret value).
    pub report: String,
    /// A POSIX shell script that performs the switch against the current kubectl context,
    /// the rendered stack embedded.
    pub script: String,
}

/// One object's fate in a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationObject {
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// What happens to it.
    pub status: MigrationStatus,
    /// Fields and list entries of the chart's object that the switch removes, e.g.
    /// `spec.template.spec.initContainers[name=synapse-generate]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Whether the object holds data that must survive (the Synapse volume).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holds_data: bool,
}

/// What happens to an object in a migration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MigrationStatus {
    /// The chart's object, already exactly as rendered.
    Kept,
    /// The chart's object, updated in place.
    Changed,
    /// The chart's object, which cannot change in place and holds no data (a Secret's type,
    /// an immutable ConfigMap or Secret): deleted, then created by the apply.
    Replaced,
    /// Not in the chart: created.
    New,
    /// The chart's object that the render does not produce: deleted.
    Removed,
}

/// Output format.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A multi-document YAML stream.
    #[default]
    Yaml,
    /// A Kubernetes `List` as JSON.
    Json,
    /// A KRM function's output, as one YAML ResourceList: the items of the ResourceList
    /// among `values` (exactly one is required) minus the objects an earlier run generated,
    /// then the rendered objects annotated with [`KRM_GENERATED_PATH`], and warnings as
    /// `results`. On failure `output` is empty, as in every format: a KRM front-end then
    /// writes [`krm_failure_output`] and exits non-zero.
    Krm,
}

/// The result of a render. `ok` is false exactly when a diagnostic is an error; then
/// `output` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenderResponse {
    /// Whether rendering succeeded.
    pub ok: bool,
    /// The manifests in the requested format.
    pub output: String,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// One entry per object, in output order.
    pub objects: Vec<ObjectInfo>,
    /// What to set up outside the cluster, when `options.plan` asked for it and the config
    /// is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The migration from a Helm release, when `options.migrate` asked for it and both the
    /// config and the release's manifest are usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
}

/// What an operator sets up outside Kubernetes for this config: DNS records, open and
/// forwarded ports, the secrets to provide, and notes for proxies such as Cloudflare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// One record per public host name, in a stable order.
    pub dns: Vec<DnsRecord>,
    /// Public inbound ports, in a stable order.
    pub ports: Vec<PortRule>,
    /// Every secret setting the enabled components use.
    pub secrets: Vec<SecretItem>,
    /// What the seed README told operators by hand (proxies, access rules).
    pub notes: Vec<String>,
    /// Each namespace the stack uses, the main one first, with its Pod Security level.
    #[serde(default)]
    pub namespaces: Vec<NamespacePlan>,
    /// What the cluster must have before the stack is applied (cert-manager and its
    /// ClusterIssuer, Traefik's CRDs, the Gateway API CRDs, ...).
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

/// A namespace of the stack and the Pod Security level it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacePlan {
    /// The namespace's name.
    pub name: String,
    /// The strictest level every pod in it meets: `restricted`, or `privileged` where a
    /// host-network pod runs (`baseline` refuses host namespaces and host ports too).
    pub needs: PodSecurityLevel,
    /// The level matrix-render's Namespace object enforces, when `podSecurity.enabled`
    /// renders it; absent when you label (or leave) the namespace yourself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforces: Option<PodSecurityLevel>,
    /// The workloads that run in it.
    pub holds: Vec<String>,
}

/// A Pod Security Standards level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    /// Heavily restricted, following current pod hardening practice.
    Restricted,
    /// Prevents known privilege escalations.
    Baseline,
    /// Unrestricted.
    Privileged,
}

impl PodSecurityLevel {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

/// A DNS record to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    /// The host name.
    pub host: String,
    /// What it must resolve to: `ingress` (the ingress controller's or Gateway's public
    /// address) or `node` (the public address of the node that runs a host-network pod).
    pub target: DnsTarget,
    /// What is served there, e.g. `synapse (client and federation API)`.
    pub serves: Vec<String>,
    /// Whether an HTTP proxy (Cloudflare's orange cloud) may sit in front: false means the
    /// record must be DNS-only.
    pub proxy_allowed: bool,
    /// Why, when the record must be DNS-only or needs care.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a host name must point at.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DnsTarget {
    /// The ingress controller's (or Gateway's) public address.
    Ingress,
    /// The public address of the node a host-network pod runs on.
    Node,
}

/// A public inbound port or port range to open and forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortRule {
    /// The component that listens: `ingress`, `coturn`, `livekit`.
    pub component: String,
    /// `TCP` or `UDP`.
    pub protocol: Protocol,
    /// First port.
    pub port: u16,
    /// Last port of a range; equal to `port` for a single port.
    pub end_port: u16,
    /// Where to forward it: the nodes that receive it.
    pub nodes: String,
    /// What the port is for.
    pub purpose: String,
}

/// A transport protocol.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Protocol {
    /// TCP.
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
}

/// A secret setting and where its value comes from. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretItem {
    /// The config path, e.g. `synapse.registration_shared_secret`.
    pub path: String,
    /// `inline` (a value in the config, rendered into our Secret), `existingSecret` (a
    /// Secret you create), or `missing` (not set; `required` tells whether that is an error).
    pub source: SecretSource,
    /// The Secret object that holds it (ours for inline values, yours for references).
    pub secret: String,
    /// The key in that Secret.
    pub key: String,
    /// Whether the enabled components need it.
    pub required: bool,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SecretSource {
    /// A value in the config.
    Inline,
    /// A Secret that already exists.
    ExistingSecret,
    /// Not set.
    Missing,
}

/// What was rendered, object by object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The stack component: synapse, element, static-pages, coturn, matrixrtc.
    pub component: String,
    /// A file name that sorts in install order and depends on the object alone: the kind's
    /// place in Helm's install order, the kind, the name, and the namespace when it is not the
    /// stack's, e.g. `07-configmap-element-config.yaml`, `06-secret-coturn-secret_matrix-host.yaml`.
    pub file_name: String,
    /// The object alone, in the requested format, when `options.split` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

/// The machine-readable contract every front-end speaks: JSON Schemas (draft 2020-12) of the
/// request and the response, as `schema/render-contract.schema.json` publishes them (a test
/// keeps that file equal to this).
#[must_use]
pub fn contract_schema() -> serde_json::Value {
    use serde_json::{Map, Value};
    // Each type's schema keeps its own definitions under `$defs`, referenced from the root
    // (`#/$defs/Name`): they are lifted into one `$defs` with the two roots beside them.
    let mut defs = Map::new();
    for (name, schema) in [
        ("RenderRequest", schemars::schema_for!(RenderRequest)),
        ("RenderResponse", schemars::schema_for!(RenderResponse)),
    ] {
        let mut root = match serde_json::to_value(schema) {
            Ok(Value::Object(root)) => root,
            _ => Map::new(),
        };
        root.remove("$schema");
        if let Some(Value::Object(inner)) = root.remove("$defs") {
            defs.extend(inner);
        }
        defs.insert(name.to_owned(), Value::Object(root));
    }
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": concat!(
            "https://raw.githubusercontent.com/matrix-render/matrix-render/v",
            env!("CARGO_PKG_VERSION"),
            "/schema/render-contract.schema.json"
        ),
        "title": "matrix-render render contract",
        "description": "What a front-end sends the core (RenderRequest, as JSON) and what it gets back (RenderResponse). The Extism plugin's render and validate functions, the browser module and the CLI's wasm core all speak it.",
        "$defs": defs,
    })
}
