//! matrix-render's renderer: one pure function from a [`RenderRequest`] to a
//! [`RenderResponse`], the same in every front-end (CLI through wasmtime, Extism hosts,
//! the browser).
//!
//! Pipeline: load + merge + validate (`matrix-render-model`), then one module per component
//! builds Kubernetes objects (k8s-openapi types), which are ordered by install order and name
//! and emitted as YAML ([`yaml`]) or as a JSON `List`.

#![forbid(unsafe_code)]

mod checksum;
mod coturn;
mod element;
mod ingress;
mod matrixrtc;
mod objects;
mod policies;
mod secrets;
mod static_pages;
mod synapse;
mod wellknown;
pub mod yaml;

pub use matrix_render_model as model;
use model::Diagnostic;
pub use model::api::{Format, ObjectInfo, RenderOptions, RenderRequest, RenderResponse};
use serde_json::Value;

/// Renders a request. Never panics on any input; problems come back as diagnostics.
#[must_use]
pub fn render(request: &RenderRequest) -> RenderResponse {
    let loaded = model::load(model::LoadInput {
        values: &request.values,
        set: &request.set,
        set_string: &request.set_string,
    });
    let mut diagnostics = loaded.diagnostics;
    let Some(config) = loaded.config else {
        return failed(diagnostics);
    };
    let objects = match objects::build(&config, &request.files) {
        Ok((objects, warnings)) => {
            diagnostics.extend(warnings);
            objects
        }
        Err(errors) => {
            diagnostics.extend(errors);
            return failed(diagnostics);
        }
    };
    let values: Vec<&Value> = objects.iter().map(|o| &o.value).collect();
    let output = match request.options.format {
        Format::Yaml => yaml::stream(values.iter().copied()),
        Format::Json => json_list(&values),
    };
    let width = objects.len().to_string().len().max(2);
    let infos = objects
        .iter()
        .enumerate()
        .map(|(i, o)| ObjectInfo {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            component: o.component.to_owned(),
            file_name: format!(
                "{:0width$}-{}-{}.{}",
                i + 1,
                o.kind.to_ascii_lowercase(),
                o.name,
                match request.options.format {
                    Format::Yaml => "yaml",
                    Format::Json => "json",
                }
            ),
            document: request.options.split.then(|| match request.options.format {
                Format::Yaml => yaml::stream([&o.value]),
                Format::Json => json_text(&o.value),
            }),
        })
        .collect();
    RenderResponse {
        ok: true,
        output,
        diagnostics,
        objects: infos,
    }
}

fn failed(diagnostics: Vec<Diagnostic>) -> RenderResponse {
    RenderResponse {
        ok: false,
        output: String::new(),
        diagnostics,
        objects: Vec::new(),
    }
}

fn json_list(items: &[&Value]) -> String {
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    });
    json_text(&list)
}

fn json_text(value: &Value) -> String {
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
    serde_json::to_string(&response).unwrap_or_default()
}
