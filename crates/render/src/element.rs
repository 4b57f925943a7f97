//! Element Web: `config.json` (with `element.extraConfig` deep-merged last), Deployment,
//! Service and Ingress (which also routes the static pages' paths).

use crate::components::{self, Component, Host};
use crate::policies::Flow;
use matrix_render_model::api::DnsTarget;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, KeyToPath, PodSpec, Volume, VolumeMount};
use matrix_render_model::Config;
use serde_json::{Map, Value, json};

use crate::ingress::{IngressOverrides, Route, expose};
use crate::nginx;
use crate::objects::{
    App, Ctx, DataOrigin, DeploymentSpecParts, NGINX_UID, config_checksum, config_map,
    config_map_volume, deployment, empty_dir, http_service, pod_security,
};
use crate::static_pages;

pub const CONFIG_MAP: &str = "element-config";
pub const NGINX_CONFIG_MAP: &str = "element-nginx";

/// The security headers Element's own image sets.
const HEADERS: &str = "add_header X-Frame-Options SAMEORIGIN always;
            add_header X-Content-Type-Options nosniff always;
            add_header X-XSS-Protection \"1; mode=block\" always;
            add_header Content-Security-Policy \"frame-ancestors 'self'\" always;";

/// nginx for the Element bundle in `/app`: Element's security headers, and no caching of
/// the files that change on upgrade (a location's add_header replaces the server's, so the
/// headers are repeated there).
fn nginx_conf() -> String {
    nginx::conf(&format!(
        "        root /app;
        index index.html;
        absolute_redirect off;
        {server_headers}

        location ~ ^/(index\\.html|config.*\\.json|i18n/.*|version)?$ {{
            add_header Cache-Control \"no-cache\";
            {HEADERS}
        }}
",
        server_headers = HEADERS.replace("\n            ", "\n        "),
    ))
}

pub fn app() -> App {
    App::new("element", "web-client", "element", ("app", "element"))
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let mut config_json = serde_json::to_string_pretty(&element_config(c)).unwrap_or_default();
    config_json.push('\n');
    ctx.data_origin(
        CONFIG_MAP,
        DataOrigin {
            path: "element.extraConfig",
            file_prefix: None,
            what: "Element's config.json, which holds `element.extraConfig`",
            fix: "shorten `element.extraConfig`",
        },
    );
    let cm = config_map(
        ctx,
        CONFIG_MAP,
        &app,
        BTreeMap::from([("config.json".to_owned(), config_json)]),
    );

    let nginx_cm = config_map(
        ctx,
        NGINX_CONFIG_MAP,
        &app,
        BTreeMap::from([("nginx.conf".to_owned(), nginx_conf())]),
    );
    let checksum = config_checksum(ctx, &[&cm, &nginx_cm], &[]);
    // Our own nginx config instead of the image's entrypoint (which writes its config into
    // the image at start): the root filesystem stays read-only and any user works.
    let web = nginx::nginx_container(
        "element",
        &c.element.image,
        vec![VolumeMount {
            name: "config".to_owned(),
            mount_path: "/app/config.json".to_owned(),
            sub_path: Some("config.json".to_owned()),
            read_only: Some(true),
            ..VolumeMount::default()
        }],
        "/config.json",
    );

    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: c.element.replicas,
            settings: &c.element.pod,
            recreate: false,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(NGINX_UID))),
                containers: vec![web],
                volumes: Some(vec![
                    Volume {
                        name: "config".to_owned(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: CONFIG_MAP.to_owned(),
                            items: Some(vec![KeyToPath {
                                key: "config.json".to_owned(),
                                path: "config.json".to_owned(),
                                ..KeyToPath::default()
                            }]),
                            ..ConfigMapVolumeSource::default()
                        }),
                        ..Volume::default()
                    },
                    config_map_volume("nginx-conf", NGINX_CONFIG_MAP),
                    empty_dir("tmp"),
                ]),
                ..PodSpec::default()
            },
        },
    );
    let svc = http_service(ctx, &app, c.element.port);
    let mut routes = vec![Route::new("/", "element", c.element.port)];
    if c.element.static_pages.enabled {
        let sp = &c.element.static_pages;
        routes.push(Route::new(&sp.path_prefix, static_pages::NAME, sp.port));
        routes.push(Route::new(
            &sp.assets_path_prefix,
            static_pages::NAME,
            sp.port,
        ));
    }
    expose(
        ctx,
        &app,
        "element",
        &c.global.element_domain,
        &c.ingress.hosts.element,
        &IngressOverrides::default(),
        &routes,
    );
    ctx.push(&app, CONFIG_MAP, &cm);
    ctx.push(&app, NGINX_CONFIG_MAP, &nginx_cm);
    ctx.push(&app, "element", &dep);
    ctx.push(&app, "element", &svc);
}

/// The URL of a static page or asset on the Element host.
fn static_url(c: &Config, prefix: &str, file: &str) -> String {
    format!(
        "https://{}{}/{file}",
        c.global.element_domain,
        prefix.trim_end_matches('/')
    )
}

fn or_default(value: &str, fallback: impl FnOnce() -> Option<String>) -> Option<String> {
    if value.is_empty() {
        fallback()
    } else {
        Some(value.to_owned())
    }
}

/// Element's `config.json`.
pub fn element_config(c: &Config) -> Value {
    let e = &c.element;
    let domain = &c.global.domain;
    let sp = &e.static_pages;
    let pages_on = sp.enabled;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put(
        "default_server_config",
        json!({
            "m.homeserver": {"base_url": format!("https://{domain}"), "server_name": c.global.server_name()},
            "m.identity_server": {"base_url": "https://vector.im"},
        }),
    );
    put("disable_custom_urls", json!(e.ui.disable_custom_urls));
    put("disable_guests", json!(e.ui.disable_guests));
    put(
        "disable_login_language_selector",
        json!(e.ui.disable_login_language_selector),
    );
    put("disable_3pid_login", json!(e.ui.disable_3pid_login));
    put("brand", json!(e.branding.app_name));
    if !e.integrations.ui_url.is_empty() {
        put("integrations_ui_url", json!(e.integrations.ui_url));
    }
    if !e.integrations.rest_url.is_empty() {
        put("integrations_rest_url", json!(e.integrations.rest_url));
    }
    put(
        "integrations_widgets_urls",
        json!(e.integrations.widgets_urls),
    );
    if !e.bug_report_endpoint_url.is_empty() {
        put("bug_report_endpoint_url", json!(e.bug_report_endpoint_url));
    }
    put("default_country_code", json!(e.ui.default_country_code));
    put("show_labs_settings", json!(e.ui.show_labs_settings));
    put("features", Value::Object(e.features.clone()));
    put("default_federate", json!(e.ui.default_federate));
    put("default_theme", json!(e.ui.default_theme));
    let servers = if e.ui.room_directory_servers.is_empty() {
        vec![c.global.server_name().to_owned()]
    } else {
        e.ui.room_directory_servers.clone()
    };
    put("room_directory", json!({"servers": servers}));
    put(
        "enable_presence_by_hs_url",
        json!({format!("https://{domain}"): e.ui.enable_presence}),
    );
    put(
        "setting_defaults",
        Value::Object(e.setting_defaults.clone()),
    );
    if !e.jitsi.preferred_domain.is_empty() {
        put(
            "jitsi",
            json!({"preferred_domain": e.jitsi.preferred_domain}),
        );
    }

    let mut branding = Map::new();
    if let Some(url) = or_default(&e.branding.auth_header_logo_url, || {
        pages_on.then(|| static_url(c, &sp.assets_path_prefix, "logo.svg"))
    }) {
        branding.insert("auth_header_logo_url".to_owned(), json!(url));
    }
    if let Some(url) = or_default(&e.branding.welcome_background_url, || {
        pages_on.then(|| static_url(c, &sp.assets_path_prefix, "welcome-bg.svg"))
    }) {
        branding.insert("welcome_background_url".to_owned(), json!(url));
    }
    if !e.branding.auth_footer_links.is_empty() {
        branding.insert(
            "auth_footer_links".to_owned(),
            json!(e.branding.auth_footer_links),
        );
    }
    if !branding.is_empty() {
        put("branding", Value::Object(branding));
    }
    if !e.branding.user_notice.is_empty() {
        put(
            "user_notice",
            json!({"title": e.branding.app_name, "description": e.branding.user_notice}),
        );
    }
    if e.embedded_pages.enabled {
        let mut pages = Map::new();
        if let Some(url) = or_default(&e.embedded_pages.home_url, || {
            pages_on.then(|| static_url(c, &sp.path_prefix, "home.html"))
        }) {
            pages.insert("home_url".to_owned(), json!(url));
        }
        if let Some(url) = or_default(&e.embedded_pages.welcome_url, || {
            pages_on.then(|| static_url(c, &sp.path_prefix, "welcome.html"))
        }) {
            pages.insert("welcome_url".to_owned(), json!(url));
        }
        put("embedded_pages", Value::Object(pages));
    }
    let mut config = Value::Object(m);
    deep_merge(&mut config, &Value::Object(e.extra_config.clone()));
    config
}

/// `extraConfig` wins; maps merge key by key; anything else replaces.
pub(crate) fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Element Web in the registry: always on, in the stack's namespace.
pub const COMPONENT: Component = Component {
    name: "element",
    enabled: components::always,
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts,
    ports: components::no_ports,
    secrets: None,
    images,
    metrics: crate::metrics::none,
    prerequisites: components::no_prerequisites,
    checks,
    host_ports: components::no_host_ports,
};

fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow::web(c, app(), &c.network_policies.extra_rules.element)]
}

fn hosts(c: &Config) -> Vec<Host> {
    vec![Host {
        host: c.global.element_domain.clone(),
        target: DnsTarget::Ingress,
        serves: "element".to_owned(),
        proxy: None,
    }]
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![("element.image", &c.element.image)]
}

/// The URLs config.json links to, Element's port and replicas.
fn checks(c: &Config, out: &mut Vec<matrix_render_model::Diagnostic>) {
    use matrix_render_model::validate;
    let e = &c.element;
    for (path, url) in [
        (
            "element.branding.authHeaderLogoUrl",
            &e.branding.auth_header_logo_url,
        ),
        (
            "element.branding.welcomeBackgroundUrl",
            &e.branding.welcome_background_url,
        ),
        ("element.embeddedPages.homeUrl", &e.embedded_pages.home_url),
        (
            "element.embeddedPages.welcomeUrl",
            &e.embedded_pages.welcome_url,
        ),
        ("element.integrations.uiUrl", &e.integrations.ui_url),
        ("element.integrations.restUrl", &e.integrations.rest_url),
        ("element.bugReportEndpointUrl", &e.bug_report_endpoint_url),
    ] {
        validate::url(out, path, url);
    }
    for (i, link) in e.branding.auth_footer_links.iter().enumerate() {
        validate::url(
            out,
            &format!("element.branding.authFooterLinks[{i}].url"),
            &link.url,
        );
    }
    for (i, url) in e.integrations.widgets_urls.iter().enumerate() {
        validate::url(out, &format!("element.integrations.widgetsUrls[{i}]"), url);
    }
    validate::port(out, "element.port", e.port);
    validate::replicas(out, "element.replicas", e.replicas);
}

#[cfg(test)]
mod tests {
    use crate::testing::{BASE, config_file, findings, pairs, render_items};
    use serde_json::Value;

    fn config(extra: &str) -> Value {
        let items = render_items(BASE, extra);
        serde_json::from_str(config_file(&items, "element-config", "config.json"))
            .expect("config.json parses")
    }

    #[test]
    fn config_json_points_at_the_homeserver() {
        let c = config("");
        let hs = &c["default_server_config"]["m.homeserver"];
        assert_eq!(hs["base_url"], "https://matrix.example.com");
        assert_eq!(hs["server_name"], "matrix.example.com");
        let c = config("global: {serverName: example.com}\n");
        let hs = &c["default_server_config"]["m.homeserver"];
        assert_eq!(hs["base_url"], "https://matrix.example.com");
        assert_eq!(hs["server_name"], "example.com");
    }

    #[test]
    fn its_urls_port_and_replicas_are_checked() {
        let extra = "element:\n  port: 0\n  replicas: -1\n  bugReportEndpointUrl: ftp://x.example.com\n  \
                     integrations: {widgetsUrls: ['https://ok.example.com', 'not a url']}\n";
        assert_eq!(
            findings(BASE, extra),
            pairs(&[
                ("invalid-url", "element.bugReportEndpointUrl"),
                ("invalid-url", "element.integrations.widgetsUrls[1]"),
                ("invalid-port", "element.port"),
                ("invalid-replicas", "element.replicas"),
            ])
        );
    }
}
