//! nginx as the stack runs it (Element, the static pages, the well-known files): our whole
//! config instead of an image's entrypoint, so any non-root user works and the root
//! filesystem stays read-only; the pid file and temp files live in an emptyDir at /tmp.

use k8s_openapi::api::core::v1::{Container, VolumeMount};
use matrix_render_model::config::Image;

use crate::objects::{container, container_port, container_security, http_probe, mount};

/// The port nginx listens on in the pod (unprivileged).
pub const PORT: u16 = 8080;
/// Where the config ConfigMap is mounted.
const CONF_DIR: &str = "/etc/nginx/custom";

/// A complete nginx.conf around `server`, the lines inside `server { listen 8080; ... }`,
/// indented by eight spaces.
pub fn conf(server: &str) -> String {
    format!(
        "worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    server_tokens off;
    sendfile on;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {{
        listen {PORT};
{server}    }}
}}
"
    )
}

/// The `/healthz` location the probes of [`container`] ask.
pub const HEALTHZ: &str = "        location = /healthz {
            access_log off;
            default_type text/plain;
            return 200 \"ok\\n\";
        }
";

/// An nginx container running the config from the volume `nginx-conf`, with `mounts` plus
/// the config and /tmp mounts, probed at `probe_path`.
pub fn nginx_container(
    name: &str,
    image: &Image,
    mounts: Vec<VolumeMount>,
    probe_path: &str,
) -> Container {
    let mut web = container(name, image);
    web.command = Some(
        [
            "nginx",
            "-c",
            &format!("{CONF_DIR}/nginx.conf"),
            "-g",
            "daemon off;",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    web.ports = Some(vec![container_port("http", PORT, "TCP")]);
    let mut all = mounts;
    all.push(mount("nginx-conf", CONF_DIR, true));
    all.push(mount("tmp", "/tmp", false));
    web.volume_mounts = Some(all);
    web.readiness_probe = Some(http_probe(probe_path));
    web.liveness_probe = Some(http_probe(probe_path));
    web.security_context = Some(container_security(true, &[]));
    web
}
