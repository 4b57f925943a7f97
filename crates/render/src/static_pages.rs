//! The static pages: nginx serving the home, welcome and rules pages and their assets on
//! the Element host. Built-in starter files unless the request brings its own.

use crate::components::{self, Component, Host};
use crate::policies::Flow;
use matrix_render_model::Config;
use matrix_render_model::api::DnsTarget;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use matrix_render_model::Diagnostic;

use crate::nginx;
use crate::objects::{
    App, Ctx, DataOrigin, DeploymentSpecParts, NGINX_UID, config_checksum, config_map,
    config_map_volume, deployment, empty_dir, http_service, mount, pod_security,
};

pub const NAME: &str = "element-static";
pub const PAGES: &str = "element-static-pages";
pub const ASSETS: &str = "element-static-assets";
pub const NGINX: &str = "element-static-nginx";
const ROOT: &str = "/usr/share/nginx/html";

const BUILTIN_PAGES: &[(&str, &str)] = &[
    (
        "home.html",
        include_str!("../assets/static/pages/home.html"),
    ),
    (
        "rules.html",
        include_str!("../assets/static/pages/rules.html"),
    ),
    (
        "welcome.html",
        include_str!("../assets/static/pages/welcome.html"),
    ),
];
const BUILTIN_ASSETS: &[(&str, &str)] = &[
    (
        "logo.svg",
        include_str!("../assets/static/static-assets/logo.svg"),
    ),
    (
        "welcome-bg.svg",
        include_str!("../assets/static/static-assets/welcome-bg.svg"),
    ),
];

pub fn app() -> App {
    App::new(NAME, "static-pages", "static-pages", ("app", NAME))
}

/// The user's files under `pages/` and `static-assets/`, or the built-in ones when the
/// request has none.
fn files(ctx: &mut Ctx<'_>) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut pages = BTreeMap::new();
    let mut assets = BTreeMap::new();
    for (path, text) in ctx.files {
        let (dir, name) = match path.split_once('/') {
            Some(("pages", name)) => (&mut pages, name),
            Some(("static-assets", name)) => (&mut assets, name),
            _ => continue,
        };
        if !is_config_map_key(name) {
            ctx.errors.push(
                Diagnostic::error(
                    "invalid-file-name",
                    "element.staticPages",
                    format!("static file `{path}` cannot be served: its name is not a valid ConfigMap key"),
                )
                .at(path.clone(), None, None)
                .with_hint("use only letters, digits, `-`, `_` and `.` in file names, no subfolders"),
            );
            continue;
        }
        dir.insert(name.to_owned(), text.clone());
    }
    if pages.is_empty() && assets.is_empty() {
        let own = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        return (own(BUILTIN_PAGES), own(BUILTIN_ASSETS));
    }
    (pages, assets)
}

fn is_config_map_key(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The nginx config: one location per prefix.
pub fn nginx_conf(pages_prefix: &str, assets_prefix: &str) -> String {
    let pages = pages_prefix.trim_end_matches('/');
    let assets = assets_prefix.trim_end_matches('/');
    nginx::conf(&format!(
        "        absolute_redirect off;
        add_header X-Content-Type-Options nosniff always;

{healthz}
        location {pages}/ {{
            alias {ROOT}/pages/;
            index home.html;
        }}

        location {assets}/ {{
            alias {ROOT}/static-assets/;
        }}
",
        healthz = nginx::HEALTHZ,
    ))
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let sp = &c.element.static_pages;
    let (pages, assets) = files(ctx);
    for (name, prefix, what) in [
        (PAGES, "pages/", "the files of the static folder's `pages/`"),
        (
            ASSETS,
            "static-assets/",
            "the files of the static folder's `static-assets/`",
        ),
    ] {
        ctx.data_origin(
            name,
            DataOrigin {
                path: "element.staticPages",
                file_prefix: Some(prefix),
                what,
                fix: "make them smaller, or serve large files from elsewhere",
            },
        );
    }
    let pages_cm = config_map(ctx, PAGES, &app, pages);
    let assets_cm = config_map(ctx, ASSETS, &app, assets);
    let nginx_cm = config_map(
        ctx,
        NGINX,
        &app,
        BTreeMap::from([(
            "nginx.conf".to_owned(),
            nginx_conf(&sp.path_prefix, &sp.assets_path_prefix),
        )]),
    );
    let checksum = config_checksum(ctx, &[&pages_cm, &assets_cm, &nginx_cm], &[]);

    let web = nginx::nginx_container(
        "nginx",
        &sp.image,
        vec![
            mount("pages", &format!("{ROOT}/pages"), true),
            mount("assets", &format!("{ROOT}/static-assets"), true),
        ],
        "/healthz",
    );

    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: sp.replicas,
            settings: &sp.pod,
            recreate: false,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(NGINX_UID))),
                containers: vec![web],
                volumes: Some(vec![
                    config_map_volume("pages", PAGES),
                    config_map_volume("assets", ASSETS),
                    config_map_volume("nginx-conf", NGINX),
                    empty_dir("tmp"),
                ]),
                ..PodSpec::default()
            },
        },
    );
    let svc = http_service(ctx, &app, sp.port);
    ctx.push(&app, PAGES, &pages_cm);
    ctx.push(&app, ASSETS, &assets_cm);
    ctx.push(&app, NGINX, &nginx_cm);
    ctx.push(&app, NAME, &dep);
    ctx.push(&app, NAME, &svc);
}

/// The static pages in the registry: on with `element.staticPages.enabled`.
pub const COMPONENT: Component = Component {
    name: "static-pages",
    enabled: |c| c.element.static_pages.enabled,
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
    vec![Flow::web(
        c,
        app(),
        &c.network_policies.extra_rules.static_pages,
    )]
}

fn hosts(c: &Config) -> Vec<Host> {
    let p = &c.element.static_pages;
    vec![Host {
        host: c.global.element_domain.clone(),
        target: DnsTarget::Ingress,
        serves: format!(
            "static pages under {} and {}",
            p.path_prefix, p.assets_path_prefix
        ),
        proxy: None,
    }]
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![("element.staticPages.image", &c.element.static_pages.image)]
}

/// The port and replicas, and with the pages on, their path prefixes.
fn checks(c: &Config, out: &mut Vec<Diagnostic>) {
    let sp = &c.element.static_pages;
    matrix_render_model::validate::port(out, "element.staticPages.port", sp.port);
    matrix_render_model::validate::replicas(out, "element.staticPages.replicas", sp.replicas);
    if !sp.enabled {
        return;
    }
    for (path, value) in [
        ("element.staticPages.pathPrefix", &sp.path_prefix),
        (
            "element.staticPages.assetsPathPrefix",
            &sp.assets_path_prefix,
        ),
    ] {
        let trimmed = value.trim_end_matches('/');
        let valid = trimmed.starts_with('/')
            && trimmed.len() > 1
            && trimmed[1..].split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !valid {
            out.push(
                Diagnostic::error(
                    "invalid-path",
                    path,
                    format!("`{value}` is not a usable URL path prefix"),
                )
                .with_hint("write a path such as `/pages` (not `/`, which is Element's)"),
            );
        }
    }
    if sp.path_prefix.trim_end_matches('/') == sp.assets_path_prefix.trim_end_matches('/') {
        out.push(
            Diagnostic::error(
                "invalid-path",
                "element.staticPages.assetsPathPrefix",
                "the pages and the assets need different path prefixes",
            )
            .with_hint("e.g. `/pages` and `/static-assets`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{BASE, config_file, findings, pairs, render_items};

    #[test]
    fn nginx_serves_the_configured_prefixes() {
        let extra = "element:\n  staticPages: {enabled: true, pathPrefix: /info, assetsPathPrefix: /media}\n";
        let items = render_items(BASE, extra);
        let conf = config_file(&items, "element-static-nginx", "nginx.conf");
        assert!(conf.contains("        location /info/ {"), "{conf}");
        assert!(conf.contains("        location /media/ {"), "{conf}");
        assert!(conf.contains("listen 8080;"), "{conf}");
    }

    #[test]
    fn prefixes_are_checked_only_when_the_pages_are_on() {
        let same =
            "element:\n  staticPages: {enabled: true, pathPrefix: /x, assetsPathPrefix: /x/}\n";
        assert_eq!(
            findings(BASE, same),
            pairs(&[("invalid-path", "element.staticPages.assetsPathPrefix")])
        );
        let off = "element:\n  staticPages: {enabled: false, pathPrefix: /, port: 0}\n";
        // The port's form is checked whether or not the pages run.
        assert_eq!(
            findings(BASE, off),
            pairs(&[("invalid-port", "element.staticPages.port")])
        );
    }
}
