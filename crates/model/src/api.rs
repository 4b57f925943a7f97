//! The request and response every front-end exchanges with the core, as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::load::NamedText;

/// Everything a render needs; front-ends read files and flags into this.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderRequest {
    /// Values documents, merged in order over the defaults.
    #[serde(default)]
    pub values: Vec<NamedText>,
    /// `--set` arguments, applied after all values documents.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` arguments, applied after every `--set`.
    #[serde(default)]
    pub set_string: Vec<String>,
    /// Extra input files by relative path: `pages/<name>` and `static-assets/<name>` replace
    /// the built-in static pages.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Output options.
    #[serde(default)]
    pub options: RenderOptions,
}

/// Output options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderOptions {
    /// Output format.
    #[serde(default)]
    pub format: Format,
    /// Also return each object as its own document (for `--output-dir`).
    #[serde(default)]
    pub split: bool,
}

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A multi-document YAML stream.
    #[default]
    Yaml,
    /// A Kubernetes `List` as JSON.
    Json,
}

/// The result of a render. `ok` is false exactly when a diagnostic is an error; then
/// `output` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// What was rendered, object by object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A file name that sorts in install order, e.g. `03-configmap-element-config.yaml`.
    pub file_name: String,
    /// The object alone, in the requested format, when `options.split` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}
