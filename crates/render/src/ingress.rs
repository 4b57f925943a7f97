//! How each host is exposed: an Ingress (cert-manager TLS, per-controller path-prefix
//! stripping) or, with `routing.mode: gateway`, a Gateway API HTTPRoute (URLRewrite).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use matrix_render_model::Diagnostic;
use matrix_render_model::config::{IngressHost, RoutingMode};
use serde_json::{Map, Value, json};

use crate::objects::{App, Ctx};

/// One path routed to a Service port.
#[derive(Debug, Clone)]
pub struct Route {
    pub path: String,
    pub service: String,
    pub port: u16,
}

impl Route {
    pub fn new(path: &str, service: &str, port: u16) -> Self {
        Self {
            path: path.to_owned(),
            service: service.to_owned(),
            port,
        }
    }
}

/// Per-Ingress exceptions to the `ingress.*` settings.
#[derive(Debug, Clone, Default)]
pub struct IngressOverrides {
    /// Ingress class instead of `ingress.className`.
    pub class: Option<String>,
    /// ClusterIssuer instead of `ingress.clusterIssuer`.
    pub issuer: Option<String>,
    /// Strip the route's path prefix before the backend sees the request.
    pub strip_prefix: bool,
}

/// Exposes `routes` on `host`: an Ingress, or an HTTPRoute in gateway mode.
pub fn expose(
    ctx: &mut Ctx<'_>,
    app: &App,
    name: &str,
    host: &str,
    host_cfg: &IngressHost,
    overrides: &IngressOverrides,
    routes: &[Route],
) {
    if ctx.config.routing.mode == RoutingMode::Gateway {
        let route = http_route(ctx, app, name, host, overrides, routes);
        ctx.push_value(app, GATEWAY_API_VERSION, "HTTPRoute", name, route);
    } else {
        let ing = ingress(ctx, app, name, host, host_cfg, overrides, routes);
        ctx.push(app, name, &ing);
    }
}

const GATEWAY_API_VERSION: &str = "gateway.networking.k8s.io/v1";

/// An HTTPRoute for `host` attached to `routing.gateway`; prefixes are stripped with a
/// URLRewrite filter, which every conformant Gateway implements.
fn http_route(
    ctx: &Ctx<'_>,
    app: &App,
    name: &str,
    host: &str,
    overrides: &IngressOverrides,
    routes: &[Route],
) -> Value {
    let gw = &ctx.config.routing.gateway;
    let mut parent = Map::new();
    parent.insert("name".to_owned(), json!(gw.name));
    if !gw.namespace.is_empty() {
        parent.insert("namespace".to_owned(), json!(gw.namespace));
    } else if ctx.ns() != ctx.config.namespace {
        // An empty namespace means the stack's, not the route's own (the host-network one).
        parent.insert("namespace".to_owned(), json!(ctx.config.namespace));
    }
    if !gw.section_name.is_empty() {
        parent.insert("sectionName".to_owned(), json!(gw.section_name));
    }
    let rules: Vec<Value> = routes
        .iter()
        .map(|r| {
            let mut rule = Map::new();
            rule.insert(
                "matches".to_owned(),
                json!([{"path": {"type": "PathPrefix", "value": r.path}}]),
            );
            if overrides.strip_prefix && r.path != "/" {
                rule.insert(
                    "filters".to_owned(),
                    json!([{"type": "URLRewrite", "urlRewrite": {
                        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
                    }}]),
                );
            }
            rule.insert(
                "backendRefs".to_owned(),
                json!([{"name": r.service, "port": r.port}]),
            );
            Value::Object(rule)
        })
        .collect();
    json!({
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": ctx.meta(name, app),
        "spec": {
            "parentRefs": [Value::Object(parent)],
            "hostnames": [host],
            "rules": rules,
        },
    })
}

/// Builds an Ingress for `host`. Stripping prefixes may add a Traefik Middleware to `ctx`.
fn ingress(
    ctx: &mut Ctx<'_>,
    app: &App,
    name: &str,
    host: &str,
    host_cfg: &IngressHost,
    overrides: &IngressOverrides,
    routes: &[Route],
) -> Ingress {
    let cfg = &ctx.config.ingress;
    let class = overrides
        .class
        .clone()
        .unwrap_or_else(|| cfg.class_name.clone());
    let issuer = overrides
        .issuer
        .clone()
        .unwrap_or_else(|| cfg.cluster_issuer.clone());

    let mut annotations = BTreeMap::new();
    if !issuer.is_empty() {
        annotations.insert("cert-manager.io/cluster-issuer".to_owned(), issuer);
    }
    let mut path_type = "Prefix";
    let mut paths: Vec<String> = routes.iter().map(|r| r.path.clone()).collect();
    if class == "traefik" {
        annotations.insert(
            "traefik.ingress.kubernetes.io/router.entrypoints".to_owned(),
            "web,websecure".to_owned(),
        );
    }
    if overrides.strip_prefix {
        match class.as_str() {
            "traefik" => {
                let mw = format!("{name}-strip-prefix");
                let prefixes: Vec<&str> = routes.iter().map(|r| r.path.as_str()).collect();
                let meta = ctx.meta(&mw, app);
                ctx.push_value(
                    app,
                    "traefik.io/v1alpha1",
                    "Middleware",
                    &mw,
                    json!({
                        "apiVersion": "traefik.io/v1alpha1",
                        "kind": "Middleware",
                        "metadata": meta,
                        "spec": {"stripPrefix": {"prefixes": prefixes}},
                    }),
                );
                annotations.insert(
                    "traefik.ingress.kubernetes.io/router.middlewares".to_owned(),
                    format!("{}-{mw}@kubernetescrd", ctx.ns()),
                );
            }
            "nginx" => {
                annotations.insert(
                    "nginx.ingress.kubernetes.io/use-regex".to_owned(),
                    "true".to_owned(),
                );
                annotations.insert(
                    "nginx.ingress.kubernetes.io/rewrite-target".to_owned(),
                    "/$2".to_owned(),
                );
                path_type = "ImplementationSpecific";
                paths = routes
                    .iter()
                    .map(|r| format!("{}(/|$)(.*)", r.path.trim_end_matches('/')))
                    .collect();
            }
            other => ctx.warnings.push(
                Diagnostic::warning(
                    "prefix-not-stripped",
                    "ingress.className",
                    format!(
                        "matrix-render does not know how ingress class `{other}` strips path prefixes; \
                         {} must be rewritten by your controller",
                        routes.iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(" and ")
                    ),
                )
                .with_hint("use `traefik` or `nginx`, or configure the rewrite in your controller"),
            ),
        }
    }
    annotations.extend(cfg.annotations.clone());
    annotations.extend(host_cfg.annotations.clone());

    let mut meta = ctx.meta(name, app);
    meta.annotations = Some(annotations);
    Ingress {
        metadata: meta,
        spec: Some(IngressSpec {
            ingress_class_name: (!class.is_empty()).then_some(class),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![host.to_owned()]),
                secret_name: Some(host_cfg.tls_secret_name.clone()),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(host.to_owned()),
                http: Some(HTTPIngressRuleValue {
                    paths: routes
                        .iter()
                        .zip(paths)
                        .map(|(r, path)| HTTPIngressPath {
                            path: Some(path),
                            path_type: path_type.to_owned(),
                            backend: IngressBackend {
                                service: Some(IngressServiceBackend {
                                    name: r.service.clone(),
                                    port: Some(ServiceBackendPort {
                                        number: Some(i32::from(r.port)),
                                        ..ServiceBackendPort::default()
                                    }),
                                }),
                                ..IngressBackend::default()
                            },
                        })
                        .collect(),
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }
}
