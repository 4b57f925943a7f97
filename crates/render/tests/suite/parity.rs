//! The seed's objects keep their kinds, names, namespace and Deployment selectors, so
//! `kubectl apply` over a running seed install changes them in place.

use serde_json::Value;

use crate::common::repo;

/// Objects we add on top of the seed's, with the reason.
const EXTRAS: &[(&str, &str, &str)] = &[
    (
        "ConfigMap",
        "element-static-nginx",
        "our nginx config for the static pages (non-root, port 8080)",
    ),
    (
        "ConfigMap",
        "element-nginx",
        "our nginx config for Element (any non-root user, read-only root filesystem)",
    ),
    (
        "NetworkPolicy",
        "default-deny",
        "deny all traffic that no other policy allows",
    ),
    (
        "NetworkPolicy",
        "synapse",
        "the ingress controller may reach Synapse; Synapse may reach the internet (federation)",
    ),
    (
        "NetworkPolicy",
        "element",
        "only the ingress controller may reach Element; it sends nothing",
    ),
    (
        "NetworkPolicy",
        "element-static",
        "only the ingress controller may reach the static pages; they send nothing",
    ),
    (
        "NetworkPolicy",
        "matrixrtc-jwt",
        "the ingress controller may reach lk-jwt-service; it may reach homeservers and LiveKit",
    ),
    (
        "NetworkPolicy",
        "acme-http01-solver",
        "the ingress controller may reach cert-manager's HTTP-01 solver pods",
    ),
    (
        "Middleware",
        "matrix-rtc-strip-prefix",
        "Traefik strips /livekit/sfu and /livekit/jwt before the backends",
    ),
];

fn golden_items(name: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(repo().join("tests/golden").join(format!("{name}.json"))).unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn seed_table(rtc: bool) -> Vec<(String, String, Option<String>)> {
    std::fs::read_to_string(repo().join("tests/seed-objects.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|cols| rtc || cols[3] == "no")
        .map(|cols| {
            let selector = (cols[2] != "-").then(|| cols[2].to_owned());
            (cols[0].to_owned(), cols[1].to_owned(), selector)
        })
        .collect()
}

fn check(fixture: &str, rtc: bool, seed_count: usize) {
    let items = golden_items(fixture);
    let table = seed_table(rtc);
    assert_eq!(table.len(), seed_count);
    for (kind, name, selector) in &table {
        let found = items
            .iter()
            .find(|o| o["kind"] == kind.as_str() && o["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{fixture}: the seed's {kind} {name} is missing"));
        assert_eq!(
            found["metadata"]["namespace"], "matrix",
            "{fixture}: {kind} {name}"
        );
        if let Some(selector) = selector {
            let (k, v) = selector.split_once('=').unwrap();
            let labels = found["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap();
            assert_eq!(
                labels.len(),
                1,
                "{fixture}: {name} selector must be exactly the seed's"
            );
            assert_eq!(labels[k], v, "{fixture}: {name} selector");
            assert_eq!(found["spec"]["template"]["metadata"]["labels"][k], v);
        }
    }
    for item in &items {
        let kind = item["kind"].as_str().unwrap();
        let name = item["metadata"]["name"].as_str().unwrap();
        let in_seed = table.iter().any(|(k, n, _)| k == kind && n == name);
        let extra = EXTRAS.iter().any(|(k, n, _)| *k == kind && *n == name);
        assert!(
            in_seed || extra,
            "{fixture}: {kind} {name} is neither the seed's nor a listed extra"
        );
    }
    let extras = items.len() - table.len();
    assert!(extras <= EXTRAS.len(), "{fixture}: {} objects", items.len());
}

#[test]
fn seed_values_keep_the_seed_objects_names_and_selectors() {
    check("seed", false, 18);
}

#[test]
fn seed_values_with_rtc_keep_the_seed_objects_names_and_selectors() {
    check("seed-rtc", true, 25);
}

#[test]
fn every_object_is_in_the_configured_namespace() {
    for (fixture, ns) in [
        ("registration-off", "chat"),
        ("custom-pages", "matrix-prod"),
        ("example", "matrix"),
    ] {
        for item in golden_items(fixture) {
            assert_eq!(
                item["metadata"]["namespace"], ns,
                "{fixture}: {}",
                item["metadata"]["name"]
            );
        }
    }
}

#[test]
fn booleans_mean_what_they_say() {
    // Every boolean in the registration-off fixture is false; the seed rendered them true.
    let items = golden_items("registration-off");
    let cm = items
        .iter()
        .find(|o| o["metadata"]["name"] == "synapse-extra-config")
        .unwrap();
    let hs: Value = serde_json::to_value(
        serde_yaml::from_str::<serde_yaml::Value>(cm["data"]["homeserver.yaml"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    for key in [
        "report_stats",
        "enable_registration",
        "enable_registration_without_verification",
        "enable_registration_captcha",
        "registration_requires_token",
        "serve_server_wellknown",
        "allow_public_rooms_over_federation",
        "allow_public_rooms_without_auth",
        "autocreate_auto_join_rooms",
        "autocreate_auto_join_rooms_federated",
        "url_preview_enabled",
    ] {
        assert_eq!(hs[key], Value::Bool(false), "homeserver.yaml {key}");
    }
    assert!(hs.get("server_notices").is_none());
    let element = items
        .iter()
        .find(|o| o["metadata"]["name"] == "element-config")
        .unwrap();
    let config: Value =
        serde_json::from_str(element["data"]["config.json"].as_str().unwrap()).unwrap();
    for key in ["show_labs_settings", "default_federate"] {
        assert_eq!(config[key], Value::Bool(false), "config.json {key}");
    }
    assert_eq!(
        config["enable_presence_by_hs_url"]["https://hs.example.net"],
        Value::Bool(false)
    );
    assert_eq!(
        config["setting_defaults"]["breadcrumbs"],
        Value::Bool(false)
    );
}

#[test]
fn coturn_certificate_names_come_from_the_config() {
    let items = golden_items("static-off");
    let cert = items.iter().find(|o| o["kind"] == "Certificate").unwrap();
    assert_eq!(
        cert["spec"]["dnsNames"],
        serde_json::json!(["turn.example.com", "example.com"])
    );
    assert_eq!(cert["spec"]["issuerRef"]["name"], "letsencrypt-prod");
}

#[test]
fn every_pod_template_carries_a_config_checksum() {
    for (fixture, _) in crate::common::fixtures() {
        for item in golden_items(&fixture)
            .iter()
            .filter(|o| o["kind"] == "Deployment")
        {
            let sum = item["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                .as_str()
                .unwrap_or_default();
            assert_eq!(sum.len(), 64, "{fixture}: {}", item["metadata"]["name"]);
        }
    }
}
