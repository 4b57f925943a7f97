//! Delegation: when the Matrix server name (`global.serverName`, e.g. `example.org`) is not
//! Synapse's host (`global.domain`, e.g. `matrix.example.org`), clients and other servers
//! look up `https://<server name>/.well-known/matrix/{client,server}`. A small nginx serves
//! those two files on the server-name host; nothing else of that host is touched.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use matrix_render_model::Config;
use serde_json::{Value, json};

use crate::ingress::{IngressOverrides, Route, expose};
use crate::objects::{
    App, Ctx, DeploymentSpecParts, NGINX_UID, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, empty_dir, http_probe, http_service,
    mount, pod_security, resources,
};

pub const NAME: &str = "matrix-wellknown";
const CONTAINER_PORT: u16 = 8080;
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
    format!(
        "worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {{
    worker_connections 256;
}}

http {{
    access_log /dev/stdout;
    server_tokens off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {{
        listen {CONTAINER_PORT};
        default_type application/json;
        add_header Access-Control-Allow-Origin * always;
        add_header X-Content-Type-Options nosniff always;

        location = /healthz {{
            access_log off;
            default_type text/plain;
            return 200 \"ok\\n\";
        }}

        location = {PATH}/client {{
            alias {FILES}/client.json;
        }}

        location = {PATH}/server {{
            alias {FILES}/server.json;
        }}

        location / {{
            return 404;
        }}
    }}
}}
"
    )
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
    let checksum = config_checksum(&[&cm], &[]);

    let mut web = container("nginx", &c.synapse.well_known.image);
    web.command = Some(
        [
            "nginx",
            "-c",
            "/etc/nginx/well-known/nginx.conf",
            "-g",
            "daemon off;",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    web.ports = Some(vec![container_port("http", CONTAINER_PORT, "TCP")]);
    web.volume_mounts = Some(vec![
        mount("files", FILES, true),
        mount("tmp", "/tmp", false),
    ]);
    web.readiness_probe = Some(http_probe("/healthz"));
    web.liveness_probe = Some(http_probe("/healthz"));
    web.security_context = Some(container_security(true, &[]));
    web.resources = Some(resources("10m", "16Mi", "100m", "64Mi"));
    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: 1,
            recreate: false,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(NGINX_UID))),
                containers: vec![web],
                volumes: Some(vec![config_map_volume("files", NAME), empty_dir("tmp")]),
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
