//! matrix-render's renderer: one pure function from a [`RenderRequest`] to a
//! [`RenderResponse`], the same in every front-end (CLI through wasmtime, Extism hosts,
//! the browser).
//!
//! Pipeline: load + merge + validate (`matrix-render-model`), then one module per component
//! builds Kubernetes objects (k8s-openapi types), which are ordered by install order and name
//! and emitted as YAML ([`yaml`]), as a JSON `List`, or as a KRM function's ResourceList
//! (`krm`: the items of the ResourceList given among the values documents, plus the objects).
//! On request the response also carries the [`plan`]: DNS records, ports and secrets to set
//! up outside the cluster.

#![forbid(unsafe_code)]

mod ascii8;
mod backup;
mod checksum;
pub mod components;
mod coturn;
mod element;
mod ingress;
mod json;
mod krm;
mod matrixrtc;
mod metrics;
mod migrate;
pub mod namespaces;
mod nginx;
mod objects;
pub mod plan;
mod policies;
mod redis;
mod router;
mod scheduling;
mod secrets;
mod static_pages;
mod synapse;
#[cfg(test)]
mod testing;
pub mod tree;
mod wellknown;
mod workers;
pub mod yaml;

pub use matrix_render_model as model;
pub use model::api::{Format, ObjectInfo, RenderOptions, RenderRequest, RenderResponse};
use model::{Diagnostic, NamedText};
pub use objects::{KINDS, Kind, Prune, kind_of};

/// Renders a request. Never panics on any input; problems come back as diagnostics, and no
/// diagnostic (nor a KRM result) holds a secret value of the request: see
/// [`model::mask`].
#[must_use]
pub fn render(request: &RenderRequest) -> RenderResponse {
    let mut response = if request.problems.is_empty() {
        render_unmasked(request)
    } else {
        failed(request.problems.clone())
    };
    mask(request, &mut response.diagnostics);
    // A KRM function that fails still writes a ResourceList: no items, the problems as its
    // results, which orchestrators show.
    if request.options.format == Format::Krm && !response.ok {
        let input = request
            .values
            .last()
            .map_or(krm::STDIN, |v| v.name.as_str());
        response.output = krm::failure_output(&response.diagnostics, input);
    }
    response
}

/// Masks the secret values of `request` in `diagnostics`; the values are only looked for
/// when there is a diagnostic to mask.
fn mask(request: &RenderRequest, diagnostics: &mut [Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let secrets = model::mask::Secrets::of_request(request);
    for d in diagnostics {
        secrets.mask_diagnostic(d, &request.values);
    }
}

/// The pipeline: load (the values, from plain documents or Kubernetes-style ones), build
/// (the objects, and the migration when asked), emit (the requested format).
fn render_unmasked(request: &RenderRequest) -> RenderResponse {
    let loaded = match load(request) {
        Ok(loaded) => loaded,
        Err(errors) => return failed(errors),
    };
    match build(request, &loaded) {
        Ok(built) => emit(request, &loaded, built),
        Err(errors) => failed(errors),
    }
}

/// What [`load`] read: the config, the KRM documents among the values, and the diagnostics
/// so far (located in the documents the user wrote).
struct Loaded<'r> {
    config: model::Config,
    /// The `MatrixStack` and ResourceList documents among the values.
    inputs: Vec<krm::Input<'r>>,
    diagnostics: Vec<Diagnostic>,
}

impl Loaded<'_> {
    /// The ResourceList among the values, if there is one.
    fn list(&self) -> Option<&krm::Input<'_>> {
        self.inputs.iter().find(|i| i.is_list())
    }

    /// Findings in a document's `spec` point into the document; unattributed ones at the
    /// ResourceList's function config.
    fn relocate(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        relocate(&self.inputs, diagnostics)
    }
}

fn relocate(inputs: &[krm::Input<'_>], diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if inputs.is_empty() {
        return diagnostics;
    }
    let list = inputs.iter().find(|i| i.is_list());
    diagnostics
        .into_iter()
        .map(|d| match inputs.iter().find(|i| i.owns(&d)) {
            Some(input) => input.relocate(d),
            None if d.file.is_none() => match list {
                Some(list) => list.relocate(d),
                None => d,
            },
            None => d,
        })
        .collect()
}

/// Reads the values: MatrixStack and ResourceList documents contribute their `spec` in
/// their place; then the model merges and validates.
fn load(request: &RenderRequest) -> Result<Loaded<'_>, Vec<Diagnostic>> {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for document in &request.values {
        match krm::Input::classify(document) {
            Ok(Some(input)) => {
                warnings.extend_from_slice(input.warnings());
                inputs.push(input);
            }
            Ok(None) => {}
            Err(e) => errors.extend(e),
        }
    }
    let lists = inputs.iter().filter(|i| i.is_list()).count();
    if request.options.format == Format::Krm && lists != 1 && errors.is_empty() {
        errors.push(krm::list_required(lists, request.values.last()));
    }
    if !errors.is_empty() {
        errors.extend(warnings);
        return Err(errors);
    }
    let documents: Vec<NamedText>;
    let values = if inputs.is_empty() {
        &request.values
    } else {
        documents = request
            .values
            .iter()
            .map(|doc| {
                inputs
                    .iter()
                    .find(|i| std::ptr::eq(i.source(), doc))
                    .map_or_else(|| doc.clone(), |i| i.spec().clone())
            })
            .collect();
        &documents
    };
    let loaded = model::load(model::LoadInput {
        values,
        set: &request.set,
        set_string: &request.set_string,
        set_json: &request.set_json,
        set_file: &request.set_file,
        checks: Some(components::check),
    });
    // The documents' own warnings are located already; `relocate` leaves them.
    let mut diagnostics = warnings;
    diagnostics.extend(loaded.diagnostics);
    match loaded.config {
        Some(config) => Ok(Loaded {
            config,
            inputs,
            diagnostics,
        }),
        None => Err(relocate(&inputs, diagnostics)),
    }
}

/// What [`build`] made: the objects, the migration when asked, the ResourceList items a KRM
/// run keeps, and every diagnostic so far.
struct Built<'l> {
    objects: Vec<objects::Object>,
    migration: Option<model::api::Migration>,
    kept: Vec<&'l serde_json::Value>,
    diagnostics: Vec<Diagnostic>,
}

/// Builds every component's objects, then the migration from a chart when asked, then (as a
/// KRM function) which items of the ResourceList stay.
fn build<'l>(
    request: &RenderRequest,
    loaded: &'l Loaded<'_>,
) -> Result<Built<'l>, Vec<Diagnostic>> {
    let config = &loaded.config;
    let mut diagnostics = loaded.diagnostics.clone();
    let objects = match objects::build(config, &request.files) {
        Ok((objects, warnings)) => {
            diagnostics.extend(warnings);
            objects
        }
        Err(errors) => {
            diagnostics.extend(errors);
            return Err(loaded.relocate(diagnostics));
        }
    };
    let mut diagnostics = loaded.relocate(diagnostics);
    let migration = match &request.options.migrate {
        Some(from) => match migrate::build(config, &objects, from, request) {
            Ok((migration, warnings)) => {
                diagnostics.extend(warnings);
                Some(migration)
            }
            Err(errors) => {
                diagnostics.extend(errors);
                return Err(diagnostics);
            }
        },
        None => None,
    };
    let mut kept = Vec::new();
    if let (Format::Krm, Some(list)) = (request.options.format, loaded.list()) {
        let conflicts;
        (kept, conflicts) = list.keep(
            &objects,
            &[&config.namespace, config.host_network_namespace()],
        );
        if !conflicts.is_empty() {
            diagnostics.extend(conflicts);
            return Err(diagnostics);
        }
    }
    Ok(Built {
        objects,
        migration,
        kept,
        diagnostics,
    })
}

/// Writes the objects in the requested format, with their list and, when asked, the plan.
fn emit(request: &RenderRequest, loaded: &Loaded<'_>, built: Built<'_>) -> RenderResponse {
    let Built {
        objects,
        migration,
        kept,
        diagnostics,
    } = built;
    let config = &loaded.config;
    let output = match request.options.format {
        Format::Yaml => yaml::stream(objects.iter().map(|o| &o.value)),
        Format::Json => json_list(objects.iter().map(|o| &o.value).collect()),
        Format::Krm => match loaded.list() {
            Some(list) => {
                // The warnings travel as the ResourceList's results.
                let mut results = diagnostics.clone();
                mask(request, &mut results);
                list.output(&kept, &objects, &results)
            }
            None => String::new(),
        },
    };
    let infos = objects
        .iter()
        .map(|o| ObjectInfo {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            component: o.component.to_owned(),
            file_name: format!(
                "{}.{}",
                objects::file_stem(&o.kind, &o.name, o.namespace.as_deref(), &config.namespace),
                match request.options.format {
                    Format::Yaml | Format::Krm => "yaml",
                    Format::Json => "json",
                }
            ),
            document: request.options.split.then(|| match request.options.format {
                Format::Yaml | Format::Krm => yaml::stream([&o.value]),
                Format::Json => json_text(&o.value),
            }),
        })
        .collect();
    RenderResponse {
        ok: true,
        output,
        diagnostics,
        objects: infos,
        plan: request.options.plan.then(|| plan::build(config)),
        migration,
    }
}

fn failed(diagnostics: Vec<Diagnostic>) -> RenderResponse {
    RenderResponse {
        ok: false,
        output: String::new(),
        diagnostics,
        objects: Vec::new(),
        plan: None,
        migration: None,
    }
}

fn json_list(items: Vec<&tree::Node>) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        api_version: &'static str,
        kind: &'static str,
        items: Vec<&'a tree::Node>,
    }
    json_text(&List {
        api_version: "v1",
        kind: "List",
        items,
    })
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Renders a request given as JSON and returns the response as JSON: the one call every
/// wasm flavour exports. A request that is not valid JSON gets a response with one
/// `invalid-request` diagnostic.
#[must_use]
pub fn render_json(request: &[u8]) -> String {
    let response = match serde_json::from_slice::<RenderRequest>(request) {
        Ok(request) => render(&request),
        Err(e) => failed(vec![Diagnostic::error(
            "invalid-request",
            "",
            format!("the render request is not valid: {e}"),
        )]),
    };
    response_json(&response)
}

/// A response as JSON: exactly `serde_json::to_string(response)`, only faster (the manifests
/// are escaped a word at a time).
#[must_use]
pub fn response_json(response: &RenderResponse) -> String {
    json::response(response)
}
