//! Secret values appear only in Secret objects: never in a ConfigMap, a Deployment or any
//! other object, neither as text nor base64-encoded.

use matrix_render_model::api::Format;
use matrix_render_model::config::SECRET_PATHS;
use serde_json::Value;

use crate::common::{base64, fixtures, request};

fn lookup<'a>(mut value: &'a serde_yaml::Value, path: &str) -> Option<&'a str> {
    for key in path.split('.') {
        value = value.get(key)?;
    }
    value.as_str()
}

#[test]
fn base64_helper_is_right() {
    assert_eq!(base64(b"hello"), "aGVsbG8=");
    assert_eq!(base64(b"hi!"), "aGkh");
}

#[test]
fn secret_values_only_reach_secret_objects() {
    let mut checked = 0;
    let mut external_only = 0;
    for (name, dir) in fixtures() {
        let req = request(&dir, Format::Json);
        let mut secrets = Vec::new();
        for doc in &req.values {
            let yaml: serde_yaml::Value = serde_yaml::from_str(&doc.text).unwrap();
            for path in SECRET_PATHS {
                if let Some(v) = lookup(&yaml, path).filter(|v| !v.is_empty()) {
                    secrets.push(v.to_owned());
                }
            }
        }
        let response = matrix_render_renderer::render(&req);
        assert!(response.ok, "{name}");
        let list: Value = serde_json::from_str(&response.output).unwrap();
        if secrets.is_empty() {
            // Every secret is an `existingSecret` reference: no Secret object at all.
            let refs = req
                .values
                .iter()
                .map(|d| d.text.matches("existingSecret").count())
                .sum::<usize>();
            assert!(refs >= 5, "{name}: the fixture has no secrets to check");
            let kinds: Vec<&Value> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| &i["kind"])
                .collect();
            assert!(
                !kinds.contains(&&Value::from("Secret")),
                "{name}: all secrets are external, yet a Secret was rendered"
            );
            external_only += 1;
            continue;
        }
        let mut in_secret_objects = 0;
        for item in list["items"].as_array().unwrap() {
            let text = serde_json::to_string(item).unwrap();
            for secret in &secrets {
                let encoded = base64(secret.as_bytes());
                if item["kind"] == "Secret" {
                    in_secret_objects += usize::from(text.contains(&encoded));
                    continue;
                }
                assert!(
                    !text.contains(secret.as_str()) && !text.contains(&encoded),
                    "{name}: a secret value appears in {} {}",
                    item["kind"],
                    item["metadata"]["name"]
                );
                checked += 1;
            }
        }
        // With every component on, each secret from the values reached a Secret (siteKey is
        // public, but is kept there too). With RTC off, the LiveKit pair is simply unused.
        if ["seed-rtc", "rtc-custom", "example"].contains(&name.as_str()) {
            assert_eq!(
                in_secret_objects,
                secrets.len(),
                "{name}: every secret must land in a Secret"
            );
        } else {
            assert!(in_secret_objects > 0, "{name}");
        }
        for d in &response.diagnostics {
            let text = serde_json::to_string(d).unwrap();
            assert!(
                secrets.iter().all(|s| !text.contains(s.as_str())),
                "{name}: a diagnostic shows a secret"
            );
        }
    }
    assert!(checked > 100);
    assert!(
        external_only >= 1,
        "no fixture takes every secret from existing Secrets"
    );
}
