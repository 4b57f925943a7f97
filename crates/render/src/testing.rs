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
