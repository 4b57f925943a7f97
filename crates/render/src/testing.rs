//! Helpers for the renderer's unit tests: a small valid config and its rendered objects.

use matrix_render_model::api::{Format, RenderOptions, RenderRequest};
use matrix_render_model::{Config, LoadInput, NamedText, load};
use serde_json::Value;

/// A small valid config: the required hosts and secrets, registration closed.
pub const BASE: &str = "global: {domain: matrix.example.com, elementDomain: element.example.com}\n\
    synapse: {registration_shared_secret: reg-0123456789abcdef, registration: {enabled: false, \
    captchaEnabled: false}}\n\
    coturn: {realm: turn.example.com, turn_url: turn.example.com, turn_shared_secret: t}\n";

/// [`BASE`] with MatrixRTC on.
pub const BASE_RTC: &str = "global: {domain: matrix.example.com, elementDomain: element.example.com}\n\
    synapse: {registration_shared_secret: reg-0123456789abcdef, registration: {enabled: false, \
    captchaEnabled: false}}\n\
    coturn: {realm: turn.example.com, turn_url: turn.example.com, turn_shared_secret: weak}\n\
    matrixrtc: {enabled: true, host: rtc.example.com, livekit: {key: k, secret: \
    0123456789abcdef0123456789abcdef}}\n";

fn documents(base: &str, extra: &str) -> Vec<NamedText> {
    let doc = |name: &str, text: &str| NamedText {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    vec![doc("values.yaml", base), doc("extra.yaml", extra)]
}

/// The config of `base` with `extra` layered over it; panics with the diagnostics if invalid.
#[must_use]
pub fn config(base: &str, extra: &str) -> Config {
    let values = documents(base, extra);
    let loaded = load(LoadInput {
        values: &values,
        set: &[],
        set_string: &[],
        checks: Some(crate::components::check),
        ..Default::default()
    });
    let diagnostics = format!("{:#?}", loaded.diagnostics);
    loaded.config.expect(&diagnostics)
}

/// The rendered objects (as JSON) of `base` with `extra` layered over it.
#[must_use]
pub fn render_items(base: &str, extra: &str) -> Vec<Value> {
    let response = crate::render(&RenderRequest {
        values: documents(base, extra),
        options: RenderOptions {
            format: Format::Json,
            ..RenderOptions::default()
        },
        ..RenderRequest::default()
    });
    assert!(response.ok, "{:?}", response.diagnostics);
    let list: Value = serde_json::from_str(&response.output).expect("a JSON List");
    list["items"].as_array().cloned().unwrap_or_default()
}

/// The (code, path) of every diagnostic of `base` with `extra` layered over it, with the
/// components' checks, as a render reports them.
#[must_use]
pub fn findings(base: &str, extra: &str) -> Vec<(String, String)> {
    let values = documents(base, extra);
    load(LoadInput {
        values: &values,
        checks: Some(crate::components::check),
        ..Default::default()
    })
    .diagnostics
    .into_iter()
    .map(|d| (d.code, d.path))
    .collect()
}

/// The text of `key` in the ConfigMap `name` of `items`.
#[must_use]
pub fn config_file<'a>(items: &'a [Value], name: &str, key: &str) -> &'a str {
    items
        .iter()
        .find(|i| i["kind"] == "ConfigMap" && i["metadata"]["name"] == name)
        .and_then(|cm| cm["data"][key].as_str())
        .unwrap_or_else(|| panic!("no ConfigMap {name} with {key}"))
}

/// `findings` as (code, path) pairs of string slices, for comparisons.
#[must_use]
pub fn pairs<'a>(list: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
        .collect()
}
