//! A component's pod settings (`resources`, `nodeSelector`, `tolerations`, `affinity`,
//! `topologySpreadConstraints`, `priorityClassName`, `podAnnotations`, `podLabels`,
//! `imagePullSecrets`: crates/model/src/pod.rs) in its pod template. One helper for every
//! workload: [`crate::objects::deployment`] calls it, and so must any other builder of pods.
//!
//! The model mirrors the Kubernetes objects with every field typed; here they become the
//! k8s-openapi types field by field, so a field the model gains and this module forgets
//! does not compile.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::core::v1::{LocalObjectReference, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use matrix_render_model::config::{LabelOperator, LabelRequirement, LabelSelector};
use matrix_render_model::pod::{
    Affinity, NodeSelectorRequirement, NodeSelectorTerm, PodAffinity, PodAffinityTerm, PodSettings,
    ResourceList, Toleration, TopologySpreadConstraint,
};
use serde::Serialize;

/// Puts `settings` into `template`: `resources` on its first container (the component's
/// own; init containers keep theirs), the scheduling fields on the pod, `podLabels` and
/// `podAnnotations` beside the labels and annotations already there, which they never
/// replace. A spread constraint without `labelSelector` counts the pods `selector` selects.
pub fn apply(
    template: &mut PodTemplateSpec,
    settings: &PodSettings,
    selector: &BTreeMap<String, String>,
) {
    let meta = template.metadata.get_or_insert_with(Default::default);
    merge_map(&mut meta.labels, &settings.pod_labels);
    merge_map(&mut meta.annotations, &settings.pod_annotations);
    let pod = template.spec.get_or_insert_with(Default::default);
    if let Some(main) = pod.containers.first_mut() {
        main.resources = resources(settings);
    }
    pod.node_selector = non_empty_map(&settings.node_selector);
    pod.tolerations = non_empty(settings.tolerations.iter().map(toleration).collect());
    pod.affinity = settings.affinity.as_ref().and_then(affinity);
    pod.topology_spread_constraints = non_empty(
        settings
            .topology_spread_constraints
            .iter()
            .map(|t| spread(t, selector))
            .collect(),
    );
    pod.priority_class_name =
        (!settings.priority_class_name.is_empty()).then(|| settings.priority_class_name.clone());
    pod.image_pull_secrets = non_empty(
        settings
            .image_pull_secrets
            .iter()
            .map(|name| LocalObjectReference { name: name.clone() })
            .collect(),
    );
}

/// Requests and limits; `None` when neither has a value.
#[must_use]
pub fn resources(settings: &PodSettings) -> Option<ResourceRequirements> {
    let list = |l: &ResourceList| -> Option<BTreeMap<String, Quantity>> {
        let map: BTreeMap<String, Quantity> = l
            .entries()
            .into_iter()
            .map(|(name, q)| (name.to_owned(), Quantity(q.to_owned())))
            .collect();
        (!map.is_empty()).then_some(map)
    };
    let requests = list(&settings.resources.requests);
    let limits = list(&settings.resources.limits);
    (requests.is_some() || limits.is_some()).then(|| ResourceRequirements {
        requests,
        limits,
        ..ResourceRequirements::default()
    })
}

fn merge_map(target: &mut Option<BTreeMap<String, String>>, extra: &BTreeMap<String, String>) {
    if extra.is_empty() {
        return;
    }
    let map = target.get_or_insert_with(BTreeMap::new);
    for (k, v) in extra {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn non_empty_map(map: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then(|| map.clone())
}

fn strings(items: &[String]) -> Option<Vec<String>> {
    non_empty(items.to_vec())
}

/// The Kubernetes spelling of one of the model's enums (its serde name).
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn toleration(t: &Toleration) -> core::Toleration {
    core::Toleration {
        key: t.key.clone(),
        operator: t.operator.as_ref().map(name),
        value: t.value.clone(),
        effect: t.effect.as_ref().map(name),
        toleration_seconds: t.toleration_seconds,
    }
}

fn affinity(a: &Affinity) -> Option<core::Affinity> {
    let node_affinity = a.node_affinity.as_ref().map(|n| core::NodeAffinity {
        required_during_scheduling_ignored_during_execution: n
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .map(|r| core::NodeSelector {
                node_selector_terms: r.node_selector_terms.iter().map(node_term).collect(),
            }),
        preferred_during_scheduling_ignored_during_execution: non_empty(
            n.preferred_during_scheduling_ignored_during_execution
                .iter()
                .map(|p| core::PreferredSchedulingTerm {
                    weight: p.weight,
                    preference: node_term(&p.preference),
                })
                .collect(),
        ),
    });
    let pod_affinity = a.pod_affinity.as_ref().map(|p| core::PodAffinity {
        required_during_scheduling_ignored_during_execution: required(p),
        preferred_during_scheduling_ignored_during_execution: preferred(p),
    });
    let pod_anti_affinity = a.pod_anti_affinity.as_ref().map(|p| core::PodAntiAffinity {
        required_during_scheduling_ignored_during_execution: required(p),
        preferred_during_scheduling_ignored_during_execution: preferred(p),
    });
    (node_affinity.is_some() || pod_affinity.is_some() || pod_anti_affinity.is_some()).then_some(
        core::Affinity {
            node_affinity,
            pod_affinity,
            pod_anti_affinity,
        },
    )
}

fn required(p: &PodAffinity) -> Option<Vec<core::PodAffinityTerm>> {
    non_empty(
        p.required_during_scheduling_ignored_during_execution
            .iter()
            .map(pod_term)
            .collect(),
    )
}

fn preferred(p: &PodAffinity) -> Option<Vec<core::WeightedPodAffinityTerm>> {
    non_empty(
        p.preferred_during_scheduling_ignored_during_execution
            .iter()
            .map(|w| core::WeightedPodAffinityTerm {
                weight: w.weight,
                pod_affinity_term: pod_term(&w.pod_affinity_term),
            })
            .collect(),
    )
}

fn node_term(t: &NodeSelectorTerm) -> core::NodeSelectorTerm {
    let requirements = |rs: &[NodeSelectorRequirement]| {
        non_empty(
            rs.iter()
                .map(|r| core::NodeSelectorRequirement {
                    key: r.key.clone(),
                    operator: name(&r.operator),
                    values: strings(&r.values),
                })
                .collect(),
        )
    };
    core::NodeSelectorTerm {
        match_expressions: requirements(&t.match_expressions),
        match_fields: requirements(&t.match_fields),
    }
}

fn pod_term(t: &PodAffinityTerm) -> core::PodAffinityTerm {
    core::PodAffinityTerm {
        label_selector: t.label_selector.as_ref().map(label_selector),
        namespace_selector: t.namespace_selector.as_ref().map(label_selector),
        namespaces: strings(&t.namespaces),
        topology_key: t.topology_key.clone(),
        match_label_keys: strings(&t.match_label_keys),
        mismatch_label_keys: strings(&t.mismatch_label_keys),
    }
}

fn spread(
    t: &TopologySpreadConstraint,
    own: &BTreeMap<String, String>,
) -> core::TopologySpreadConstraint {
    core::TopologySpreadConstraint {
        max_skew: t.max_skew,
        topology_key: t.topology_key.clone(),
        when_unsatisfiable: name(&t.when_unsatisfiable),
        label_selector: Some(t.label_selector.as_ref().map_or_else(
            || meta::LabelSelector {
                match_labels: Some(own.clone()),
                ..meta::LabelSelector::default()
            },
            label_selector,
        )),
        min_domains: t.min_domains,
        node_affinity_policy: t.node_affinity_policy.as_ref().map(name),
        node_taints_policy: t.node_taints_policy.as_ref().map(name),
        match_label_keys: strings(&t.match_label_keys),
    }
}

fn label_selector(s: &LabelSelector) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: non_empty_map(&s.match_labels),
        match_expressions: non_empty(
            s.match_expressions
                .iter()
                .map(|r: &LabelRequirement| meta::LabelSelectorRequirement {
                    key: r.key.clone(),
                    operator: name::<LabelOperator>(&r.operator),
                    values: strings(&r.values),
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{BASE_RTC, render_items};
    use matrix_render_model::pod::{RESERVED_POD_ANNOTATIONS, RESERVED_POD_LABELS};
    use serde_json::{Value, json};

    /// Every pod template the stack renders, by Deployment name.
    fn templates(items: &[Value]) -> Vec<(String, Value)> {
        items
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .map(|o| {
                (
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    o["spec"]["template"].clone(),
                )
            })
            .collect()
    }

    /// One document that sets `inner` on every component with pod settings.
    fn on_every_component(inner: &str) -> String {
        format!(
            "global: {{serverName: example.org}}\n\
             synapse: {{{inner}, wellKnown: {{{inner}}}}}\n\
             element: {{{inner}, staticPages: {{{inner}}}}}\n\
             coturn: {{{inner}}}\n\
             matrixrtc: {{livekit: {{{inner}}}, jwt: {{{inner}}}}}\n"
        )
    }

    /// The labels and annotations the renderer sets on pods are exactly the ones the model
    /// refuses in `podLabels` and `podAnnotations`: a new one cannot be overridden unnoticed.
    #[test]
    fn the_reserved_keys_are_the_ones_the_renderer_sets() {
        let items = render_items(BASE_RTC, "global: {serverName: example.org}\n");
        let found = templates(&items);
        assert_eq!(
            found.len(),
            7,
            "{:?}",
            found.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        let mut labels: Vec<String> = Vec::new();
        let mut annotations: Vec<String> = Vec::new();
        for (_, t) in &found {
            for (field, out) in [("labels", &mut labels), ("annotations", &mut annotations)] {
                out.extend(
                    t["metadata"][field]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone()),
                );
            }
        }
        for (keys, reserved) in [
            (&mut labels, RESERVED_POD_LABELS),
            (&mut annotations, RESERVED_POD_ANNOTATIONS),
        ] {
            keys.sort();
            keys.dedup();
            let mut reserved: Vec<&str> = reserved.to_vec();
            reserved.sort_unstable();
            assert_eq!(
                keys.iter().map(String::as_str).collect::<Vec<_>>(),
                reserved
            );
        }
    }

    #[test]
    fn every_pod_template_gets_every_setting() {
        let inner = "nodeSelector: {disk: ssd}, \
            tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}], \
            affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: \
            [{weight: 5, podAffinityTerm: {topologyKey: kubernetes.io/hostname}}]}}, \
            topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}], \
            priorityClassName: high, podAnnotations: {example.org/a: b}, podLabels: {team: chat}, \
            imagePullSecrets: [pull], resources: {requests: {ephemeral-storage: 1Gi}}";
        let items = render_items(BASE_RTC, &on_every_component(inner));
        let found = templates(&items);
        assert_eq!(found.len(), 7);
        for (name, t) in found {
            let spec = &t["spec"];
            assert_eq!(spec["nodeSelector"], json!({"disk": "ssd"}), "{name}");
            assert_eq!(
                spec["tolerations"],
                json!([{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]),
                "{name}"
            );
            assert_eq!(
                spec["affinity"],
                json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 5, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                ]}}),
                "{name}"
            );
            // Without a label selector, a spread constraint counts the component's own pods.
            let selector = &items
                .iter()
                .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name.as_str())
                .map(|o| o["spec"]["selector"]["matchLabels"].clone())
                .unwrap_or_default();
            assert_eq!(
                spec["topologySpreadConstraints"],
                json!([{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector}}]),
                "{name}"
            );
            assert_eq!(spec["priorityClassName"], "high", "{name}");
            assert_eq!(
                spec["imagePullSecrets"],
                json!([{"name": "pull"}]),
                "{name}"
            );
            assert_eq!(t["metadata"]["labels"]["team"], "chat", "{name}");
            assert!(t["metadata"]["labels"]["app.kubernetes.io/part-of"].is_string());
            assert_eq!(t["metadata"]["annotations"]["example.org/a"], "b", "{name}");
            assert!(t["metadata"]["annotations"]["checksum/config"].is_string());
            // Merged with the defaults: the component's own requests stay.
            let requests = &spec["containers"][0]["resources"]["requests"];
            assert_eq!(requests["ephemeral-storage"], "1Gi", "{name}");
            assert!(requests["cpu"].is_string() && requests["memory"].is_string());
        }
    }

    #[test]
    fn nothing_set_renders_no_field() {
        let nulls =
            "resources: {requests: {cpu: null, memory: null}, limits: {cpu: null, memory: null}}";
        let items = render_items(BASE_RTC, &on_every_component(nulls));
        // The security scanner's resource checks are skipped with the values' reason.
        for d in items.iter().filter(|o| o["kind"] == "Deployment") {
            let skips: Vec<&str> = d["metadata"]["annotations"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v.as_str()?.split('=').next())
                .collect();
            for check in ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"] {
                assert!(
                    skips.contains(&check),
                    "{}: {skips:?}",
                    d["metadata"]["name"]
                );
            }
        }
        for (name, t) in templates(&items) {
            let spec = t["spec"].as_object().cloned().unwrap_or_default();
            for field in [
                "nodeSelector",
                "tolerations",
                "affinity",
                "topologySpreadConstraints",
                "priorityClassName",
                "imagePullSecrets",
            ] {
                assert!(!spec.contains_key(field), "{name}: {field}");
            }
            let main = &spec["containers"][0];
            assert!(main.get("resources").is_none(), "{name}: {main}");
            // Synapse's init container keeps its own.
            if name == "synapse" {
                assert!(spec["initContainers"][0]["resources"]["limits"].is_object());
            }
        }
    }

    #[test]
    fn pod_labels_never_replace_the_stacks_own() {
        let mut template = PodTemplateSpec {
            metadata: Some(meta::ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_owned(), "element".to_owned())])),
                ..meta::ObjectMeta::default()
            }),
            ..PodTemplateSpec::default()
        };
        let mut settings = crate::testing::config(crate::testing::BASE, "").element.pod;
        settings
            .pod_labels
            .insert("app".to_owned(), "other".to_owned());
        settings
            .pod_labels
            .insert("team".to_owned(), "chat".to_owned());
        apply(&mut template, &settings, &BTreeMap::new());
        let labels = template.metadata.and_then(|m| m.labels).unwrap_or_default();
        assert_eq!(labels["app"], "element");
        assert_eq!(labels["team"], "chat");
    }
}
