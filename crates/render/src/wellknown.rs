//! Delegation: when the Matrix server name (`global.serverName`, e.g. `example.org`) is not
//! Synapse's host (`global.domain`, e.g. `matrix.example.org`), clients and other servers
//! look up `https://<server name>/.well-known/matrix/{client,server}`. A small nginx serves
//! those two files on the server-name host; nothing else of that host is touched.

use crate::components::{self, Component, Host};
use crate::policies::Flow;
use matrix_render_model::api::DnsTarget;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use matrix_render_model::Config;
use serde_json::{Value, json};

use crate::ingress::{IngressOverrides, Route, expose};
use crate::nginx;
use crate::objects::{
    App, Ctx, DeploymentSpecParts, NGINX_UID, config_checksum, config_map, config_map_volume,
    deployment, empty_dir, http_service, mount, pod_security,
};

pub const NAME: &str = "matrix-wellknown";
const SERVICE_PORT: u16 = 80;
const PATH: &str = "/.well-known/matrix";
const FILES: &str = "/etc/nginx/well-known";

pub fn app() -> App {
    App::new(NAME, "well-known", "synapse", ("app", NAME))
}

/// `/.well-known/matrix/client`: where clients find the homeserver (and MatrixRTC).
pub fn client(c: &Config) -> Value {
    let mut doc = json!({"m.homeserver": {"base_url": format!("https://{}/", c.global.domain)}});
    if let (Some(map), Some(extra)) = (doc.as_object_mut(), crate::synapse::extra_client(c)) {
        map.extend(extra);
    }
    doc
}

/// `/.well-known/matrix/server`: where other servers federate with this one.
pub fn server(c: &Config) -> Value {
    let target = &c.synapse.well_known.delegated_server;
    let target = if target.is_empty() {
        format!("{}:443", c.global.domain)
    } else {
        target.clone()
    };
    json!({"m.server": target})
}

fn nginx_conf() -> String {
    nginx::conf(&format!(
        "        default_type application/json;
        add_header Access-Control-Allow-Origin * always;
        add_header X-Content-Type-Options nosniff always;

{healthz}
        location = {PATH}/client {{
            alias {FILES}/client.json;
        }}

        location = {PATH}/server {{
            alias {FILES}/server.json;
        }}

        location / {{
            return 404;
        }}
",
        healthz = nginx::HEALTHZ,
    ))
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let pretty = |v: &Value| {
        let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
        text.push('\n');
        text
    };
    let cm = config_map(
        ctx,
        NAME,
        &app,
        BTreeMap::from([
            ("nginx.conf".to_owned(), nginx_conf()),
            ("client.json".to_owned(), pretty(&client(c))),
            ("server.json".to_owned(), pretty(&server(c))),
        ]),
    );
    let checksum = config_checksum(ctx, &[&cm], &[]);

    let web = nginx::nginx_container(
        "nginx",
        &c.synapse.well_known.image,
        vec![mount("files", FILES, true)],
        "/healthz",
    );
    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: 1,
            settings: &c.synapse.well_known.pod,
            recreate: false,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(NGINX_UID))),
                containers: vec![web],
                volumes: Some(vec![
                    config_map_volume("files", NAME),
                    config_map_volume("nginx-conf", NAME),
                    empty_dir("tmp"),
                ]),
                ..PodSpec::default()
            },
        },
    );
    let svc = http_service(ctx, &app, SERVICE_PORT);
    expose(
        ctx,
        &app,
        NAME,
        c.global.server_name(),
        &c.ingress.hosts.server_name,
        &IngressOverrides::default(),
        &[Route::new(PATH, NAME, SERVICE_PORT)],
    );
    ctx.push(&app, NAME, &cm);
    ctx.push(&app, NAME, &dep);
    ctx.push(&app, NAME, &svc);
}

/// The delegation files in the registry: on when the server name is not Synapse's host.
pub const COMPONENT: Component = Component {
    name: "well-known",
    enabled: |c| c.global.delegates(),
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts,
    ports: components::no_ports,
    secrets: None,
    images,
    metrics: crate::metrics::none,
    prerequisites: components::no_prerequisites,
    checks: components::no_checks,
    host_ports: components::no_host_ports,
};

fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow::web(
        c,
        app(),
        &c.network_policies.extra_rules.well_known,
    )]
}

fn hosts(c: &Config) -> Vec<Host> {
    vec![Host {
        host: c.global.server_name().to_owned(),
        target: DnsTarget::Ingress,
        serves: "/.well-known/matrix delegation".to_owned(),
        proxy: None,
    }]
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![("synapse.wellKnown.image", &c.synapse.well_known.image)]
}

#[cfg(test)]
mod tests {
    use crate::testing::{BASE, config_file, render_items};
    use serde_json::Value;

    fn documents(extra: &str) -> (Value, Value) {
        let items = render_items(BASE, extra);
        let doc =
            |key| serde_json::from_str(config_file(&items, "matrix-wellknown", key)).expect("JSON");
        (doc("server.json"), doc("client.json"))
    }

    #[test]
    fn delegation_announces_synapses_host() {
        let (server, client) = documents("global: {serverName: example.com}\n");
        assert_eq!(
            server,
            serde_json::json!({"m.server": "matrix.example.com:443"})
        );
        assert_eq!(
            client["m.homeserver"]["base_url"],
            "https://matrix.example.com/"
        );
        let (server, _) = documents(
            "global: {serverName: example.com}\nsynapse: {wellKnown: {delegatedServer: fed.example.com:8448}}\n",
        );
        assert_eq!(
            server,
            serde_json::json!({"m.server": "fed.example.com:8448"})
        );
    }

    #[test]
    fn without_delegation_nothing_is_rendered() {
        let items = render_items(BASE, "");
        assert!(
            items
                .iter()
                .all(|i| i["metadata"]["name"] != "matrix-wellknown")
        );
    }
}
