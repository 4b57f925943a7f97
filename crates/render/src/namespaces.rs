//! The namespace layout and its Pod Security levels.
//!
//! Every workload meets the Pod Security Standards' `restricted` level except the ones on
//! the node's network (coturn, LiveKit with `hostNetwork`), which need `privileged`
//! (`baseline` refuses host namespaces and host ports too). Those can go to a namespace of
//! their own (`podSecurity.hostNetworkNamespace`), so that the main one enforces
//! `restricted`. With `podSecurity.enabled` the Namespace objects are rendered with the
//! `pod-security.kubernetes.io/*` labels: `enforce`, `audit` and `warn` at the namespace's
//! level, each with `podSecurity.version`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use matrix_render_model::Config;
use matrix_render_model::api::{NamespacePlan, PodSecurityLevel as Level};
use matrix_render_model::config::PodSecurityLevel;

use crate::objects::{App, Ctx};

/// The label prefix of Pod Security Admission.
const LABEL: &str = "pod-security.kubernetes.io";

/// Each namespace the stack uses, the main one first: the level its pods need, the level
/// its labels enforce (when rendered), and what runs there.
#[must_use]
pub fn layout(c: &Config) -> Vec<NamespacePlan> {
    let mut out = vec![NamespacePlan {
        name: c.namespace.clone(),
        needs: Level::Restricted,
        enforces: None,
        holds: vec!["synapse".to_owned(), "element".to_owned()],
    }];
    let main = 0;
    if c.element.static_pages.enabled {
        out[main].holds.push("static pages".to_owned());
    }
    if c.global.delegates() {
        out[main].holds.push("well-known nginx".to_owned());
    }
    let mut place = |ns: &str, what: &str, host_network: bool| {
        let index = match out.iter().position(|n| n.name == ns) {
            Some(i) => i,
            None => {
                out.push(NamespacePlan {
                    name: ns.to_owned(),
                    needs: Level::Restricted,
                    enforces: None,
                    holds: Vec::new(),
                });
                out.len() - 1
            }
        };
        let entry = &mut out[index];
        entry.holds.push(what.to_owned());
        if host_network {
            entry.needs = Level::Privileged;
        }
    };
    if c.coturn.enabled {
        place(c.coturn_namespace(), "coturn (host network)", true);
    }
    if c.matrixrtc.enabled {
        let ns = c.matrixrtc_namespace();
        if c.matrixrtc.livekit.host_network {
            place(ns, "LiveKit (host network)", true);
        } else {
            place(ns, "LiveKit", false);
        }
        place(ns, "lk-jwt-service", false);
    }
    if c.pod_security.enabled {
        for (i, ns) in out.iter_mut().enumerate() {
            let chosen = match c.pod_security.level {
                _ if i != main => ns.needs,
                PodSecurityLevel::Auto => ns.needs,
                PodSecurityLevel::Restricted => Level::Restricted,
                PodSecurityLevel::Baseline => Level::Baseline,
                PodSecurityLevel::Privileged => Level::Privileged,
            };
            ns.enforces = Some(chosen);
        }
    }
    out
}

/// The Namespace objects, when `podSecurity.enabled` asks for them.
pub fn render(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    if !c.pod_security.enabled {
        return;
    }
    let app = App::new(
        "matrix-stack",
        "namespace",
        "namespaces",
        ("app.kubernetes.io/part-of", "matrix-stack"),
    );
    for ns in layout(c) {
        let Some(level) = ns.enforces else { continue };
        let mut labels: BTreeMap<String, String> = BTreeMap::from([
            (
                "app.kubernetes.io/part-of".to_owned(),
                "matrix-stack".to_owned(),
            ),
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "matrix-render".to_owned(),
            ),
        ]);
        for mode in ["enforce", "audit", "warn"] {
            labels.insert(format!("{LABEL}/{mode}"), level.as_str().to_owned());
            labels.insert(
                format!("{LABEL}/{mode}-version"),
                c.pod_security.version.clone(),
            );
        }
        let object = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.name.clone()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        ctx.push_cluster(&app, &ns.name, &object);
    }
}
