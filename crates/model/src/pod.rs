//! Where and how big a component's pods are: the settings every component takes under its own
//! key, in the same shape everywhere (`resources`, `nodeSelector`, `tolerations`, `affinity`,
//! `topologySpreadConstraints`, `priorityClassName`, `podAnnotations`, `podLabels`,
//! `imagePullSecrets`), as Helm charts spell them; and their semantic checks.
//!
//! The Kubernetes objects among them (tolerations, affinity, spread constraints) are
//! mirrored here with Kubernetes' field names and every field typed, so that an unknown or
//! misspelled field is an error at its line and column instead of a field the API server
//! drops; the renderer turns them into the k8s-openapi types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Config, LabelSelector, StringMap};
use crate::diag::Diagnostic;

/// Labels the renderer puts on every pod it makes: the Deployment selectors (`app`, and
/// `app.kubernetes.io/name` for Synapse) and the `app.kubernetes.io/*` set the
/// NetworkPolicies and disruption budgets select by. `podLabels` may not set them.
pub const RESERVED_POD_LABELS: &[&str] = &[
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
];

/// Annotations the renderer puts on every pod template: the checksum of the config it
/// mounts, which rolls the pods when the config changes. `podAnnotations` may not set it.
pub const RESERVED_POD_ANNOTATIONS: &[&str] = &["checksum/config"];

/// A component's pod settings. Each component's section carries these keys directly
/// (`synapse.resources`, `coturn.nodeSelector`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSettings {
    /// CPU, memory and ephemeral-storage requests and limits of the component's container,
    /// Kubernetes quantities (`250m`, `1Gi`). Maps merge with the defaults: write `null`
    /// to drop a default value (e.g. `limits: {cpu: null}`).
    pub resources: Resources,
    /// Node labels the pods must run on (`spec.nodeSelector`), e.g.
    /// `kubernetes.io/hostname: node-1`.
    #[schemars(extend(
        "propertyNames" = {"pattern": crate::names::LABEL_KEY, "maxLength": 317},
        "additionalProperties" = {
            "type": "string", "pattern": crate::names::LABEL_VALUE, "maxLength": 63
        }
    ))]
    pub node_selector: StringMap,
    /// Taints the pods tolerate (`spec.tolerations`).
    pub tolerations: Vec<Toleration>,
    /// Node affinity and pod (anti-)affinity (`spec.affinity`); `null` for none.
    pub affinity: Option<Affinity>,
    /// How the pods spread over nodes or zones (`spec.topologySpreadConstraints`). A
    /// constraint without `labelSelector` counts this component's own pods.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the pods (`spec.priorityClassName`); empty for the cluster's default.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub priority_class_name: String,
    /// Annotations added to the pod template (not to the Deployment).
    #[schemars(extend(
        "propertyNames" = {"pattern": crate::names::LABEL_KEY, "maxLength": 317}
    ))]
    pub pod_annotations: StringMap,
    /// Labels added to the pods, beside the ones the stack selects them by (`app`,
    /// `app.kubernetes.io/*`), which cannot be changed.
    #[schemars(extend(
        "propertyNames" = {"pattern": crate::names::LABEL_KEY, "maxLength": 317},
        "additionalProperties" = {
            "type": "string", "pattern": crate::names::LABEL_VALUE, "maxLength": 63
        }
    ))]
    pub pod_labels: StringMap,
    /// Secrets (of the component's namespace) holding registry credentials for its image
    /// (`spec.imagePullSecrets`), by name.
    #[schemars(extend("items" = {
        "type": "string", "pattern": crate::names::DNS_SUBDOMAIN, "maxLength": 253
    }))]
    pub image_pull_secrets: Vec<String>,
}

impl PodSettings {
    /// Whether the pods are bound to chosen nodes: a `nodeSelector`, or a required node
    /// affinity with at least one term.
    #[must_use]
    pub fn pins_nodes(&self) -> bool {
        !self.node_selector.is_empty()
            || self
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|n| {
                    n.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .is_some_and(|r| !r.node_selector_terms.is_empty())
    }
}

/// Requests and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// What the scheduler reserves for the container.
    pub requests: ResourceList,
    /// What the container may use at most: over the memory limit it is killed, over the CPU
    /// limit throttled.
    pub limits: ResourceList,
}

/// Quantities by resource; `null` for none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceList {
    /// CPU, in cores (`1`, `"1.5"`) or millicores (`250m`).
    #[serde(default)]
    pub cpu: Option<Quantity>,
    /// Memory, in bytes with a suffix (`512Mi`, `4Gi`).
    #[serde(default)]
    pub memory: Option<Quantity>,
    /// Local scratch space: the writable layer, logs and emptyDir volumes (`1Gi`).
    #[serde(default, rename = "ephemeral-storage")]
    pub ephemeral_storage: Option<Quantity>,
}

impl ResourceList {
    /// The quantities that are set, by Kubernetes resource name.
    #[must_use]
    pub fn entries(&self) -> Vec<(&'static str, &str)> {
        [
            ("cpu", &self.cpu),
            ("memory", &self.memory),
            ("ephemeral-storage", &self.ephemeral_storage),
        ]
        .into_iter()
        .filter_map(|(name, q)| {
            q.as_ref()
                .map(|q| q.0.as_str())
                .filter(|q| !q.is_empty())
                .map(|q| (name, q))
        })
        .collect()
    }
}

/// A Kubernetes quantity, written as a string (`250m`, `4Gi`) or a whole number (`2`), as
/// Kubernetes accepts it; kept as its text (the model has no floats: write `"0.5"` or `500m`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Quantity(pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quantity such as `250m` or `4Gi`, or a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "integer"]})
    }
}

/// A toleration of node taints (Kubernetes `Toleration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// The taint key; missing (with `operator: Exists`) for every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `Equal` (the default: the taint's value is `value`) or `Exists` (any value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<TolerationOperator>,
    /// The taint value, with `Equal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The taint effect; missing for every effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
    /// How long the pod stays on a node after a `NoExecute` taint appears; missing for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// How a toleration matches a taint's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TolerationOperator {
    /// Any value.
    Exists,
    /// The same value.
    Equal,
}

/// A taint effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    /// No new pods without the toleration.
    NoSchedule,
    /// Avoid the node for new pods without the toleration.
    PreferNoSchedule,
    /// Evict running pods without the toleration.
    NoExecute,
}

/// Scheduling constraints (Kubernetes `Affinity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Affinity {
    /// Nodes the pods may or should run on, by node labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
    /// Pods the pods must or should run near.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    /// Pods the pods must or should run away from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_anti_affinity: Option<PodAffinity>,
}

/// Kubernetes `NodeAffinity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeAffinity {
    /// Nodes the pods must run on: any one of the terms matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
    /// Nodes the pods prefer, by weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<PreferredSchedulingTerm>,
}

/// Kubernetes `NodeSelector`: terms of which one must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelector {
    /// The terms.
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

/// Kubernetes `NodeSelectorTerm`: requirements that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    /// Requirements on node labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<NodeSelectorRequirement>,
    /// Requirements on node fields (`metadata.name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<NodeSelectorRequirement>,
}

/// Kubernetes `NodeSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelectorRequirement {
    /// The label key (or field name).
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.
    pub operator: NodeSelectorOperator,
    /// Values for `In` and `NotIn`; one integer for `Gt` and `Lt`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A node selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodeSelectorOperator {
    /// The label's value is one of `values`.
    In,
    /// The label's value is none of `values`.
    NotIn,
    /// The label is set.
    Exists,
    /// The label is not set.
    DoesNotExist,
    /// The label's value, an integer, is greater than the one value.
    Gt,
    /// The label's value, an integer, is less than the one value.
    Lt,
}

/// Kubernetes `PreferredSchedulingTerm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreferredSchedulingTerm {
    /// 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,
    /// The term.
    pub preference: NodeSelectorTerm,
}

/// Kubernetes `PodAffinity` or `PodAntiAffinity` (the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAffinity {
    /// Terms that must all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_during_scheduling_ignored_during_execution: Vec<PodAffinityTerm>,
    /// Terms preferred, by weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<WeightedPodAffinityTerm>,
}

/// Kubernetes `PodAffinityTerm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAffinityTerm {
    /// The pods, by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Their namespaces, by label; missing for `namespaces` (or the pod's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Their namespaces, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The node label whose value defines "near" (`kubernetes.io/hostname`,
    /// `topology.kubernetes.io/zone`).
    pub topology_key: String,
    /// Pod label keys whose values, taken from the incoming pod, are added to the selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_label_keys: Vec<String>,
    /// Pod label keys whose values, taken from the incoming pod, must differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatch_label_keys: Vec<String>,
}

/// Kubernetes `WeightedPodAffinityTerm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeightedPodAffinityTerm {
    /// 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,
    /// The term.
    pub pod_affinity_term: PodAffinityTerm,
}

/// Kubernetes `TopologySpreadConstraint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologySpreadConstraint {
    /// Largest allowed difference in matching pods between two domains, at least 1.
    #[schemars(range(min = 1))]
    pub max_skew: i32,
    /// The node label whose values are the domains (`topology.kubernetes.io/zone`).
    pub topology_key: String,
    /// `DoNotSchedule` or `ScheduleAnyway`.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// The pods counted; missing for this component's own pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Smallest number of eligible domains, with `DoNotSchedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_domains: Option<i32>,
    /// Whether node affinity and `nodeSelector` limit the domains (`Honor`, the default)
    /// or not (`Ignore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity_policy: Option<NodeInclusionPolicy>,
    /// Whether node taints limit the domains (`Honor`) or not (`Ignore`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_taints_policy: Option<NodeInclusionPolicy>,
    /// Pod label keys whose values, taken from the incoming pod, narrow the counted pods
    /// (`pod-template-hash` counts one rollout's pods only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_label_keys: Vec<String>,
}

/// What the scheduler does when a spread constraint cannot be met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    /// Leave the pod pending.
    DoNotSchedule,
    /// Schedule it anyway, preferring the least skew.
    ScheduleAnyway,
}

/// Whether a spread constraint honours a node's affinity or taints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodeInclusionPolicy {
    /// Take it into account.
    Honor,
    /// Leave it out.
    Ignore,
}

/// Every component's pod settings, with its config path, whether it runs or not.
#[must_use]
pub fn settings(c: &Config) -> [(&'static str, &PodSettings); 11] {
    [
        ("synapse", &c.synapse.pod),
        ("synapse.wellKnown", &c.synapse.well_known.pod),
        ("element", &c.element.pod),
        ("element.staticPages", &c.element.static_pages.pod),
        ("coturn", &c.coturn.pod),
        ("matrixrtc.livekit", &c.matrixrtc.livekit.pod),
        ("matrixrtc.jwt", &c.matrixrtc.jwt.pod),
        ("backup", &c.backup.pod),
        ("synapse.workers", &c.synapse.workers.pod),
        ("synapse.workers.router", &c.synapse.workers.router.pod),
        ("redis", &c.redis.pod),
    ]
}

/// The checks of every component's pod settings, and the warning for host-network
/// components that advertise one node's address without being pinned to that node.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (path, pod) in settings(c) {
        check_resources(&mut out, path, &pod.resources);
        check_metadata(&mut out, path, pod);
        for (i, t) in pod.tolerations.iter().enumerate() {
            check_toleration(&mut out, &format!("{path}.tolerations[{i}]"), t);
        }
        for (i, name) in pod.image_pull_secrets.iter().enumerate() {
            if name.is_empty() {
                out.push(
                    Diagnostic::error(
                        "invalid-name",
                        format!("{path}.imagePullSecrets[{i}]"),
                        "an image pull Secret needs a name",
                    )
                    .with_hint("write the name of a Secret of type kubernetes.io/dockerconfigjson, or remove the entry"),
                );
            }
        }
    }
    unpinned_host_addresses(&mut out, c);
    out
}

/// The checks of one `resources` setting at `path`.
pub fn check_resources_at(out: &mut Vec<Diagnostic>, path: &str, r: &Resources) {
    check_resources(out, path, r);
}

fn check_resources(out: &mut Vec<Diagnostic>, path: &str, r: &Resources) {
    for (kind, list) in [("requests", &r.requests), ("limits", &r.limits)] {
        for (name, q) in list.entries() {
            if !is_resource_quantity(q) {
                out.push(
                    Diagnostic::error(
                        "invalid-quantity",
                        format!("{path}.resources.{kind}.{name}"),
                        format!("`{q}` is not a Kubernetes quantity"),
                    )
                    .with_hint(if name == "cpu" {
                        "write cores or millicores, e.g. `1`, `1.5` or `250m`"
                    } else {
                        "write bytes with a binary suffix, e.g. `512Mi` or `4Gi` (not `4GB`)"
                    }),
                );
            }
        }
    }
    for (name, limit) in r.limits.entries() {
        let Some((_, request)) = r.requests.entries().into_iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if let Some(std::cmp::Ordering::Greater) = compare_quantities(request, limit) {
            let limit_path = format!("{path}.resources.limits.{name}");
            out.push(
                Diagnostic::error(
                    "request-over-limit",
                    format!("{path}.resources.requests.{name}"),
                    format!(
                        "the {name} request `{request}` is more than the limit `{limit}`; \
                         Kubernetes refuses the pod"
                    ),
                )
                .related(&[limit_path.as_str()])
                .with_hint(format!(
                    "raise `{path}.resources.limits.{name}` too (values merge with the \
                     defaults), or write `{name}: null` under `limits` for no limit"
                )),
            );
        }
    }
}

fn check_metadata(out: &mut Vec<Diagnostic>, path: &str, pod: &PodSettings) {
    for key in pod.pod_labels.keys() {
        if RESERVED_POD_LABELS.contains(&key.as_str()) {
            out.push(
                Diagnostic::error(
                    "reserved-label",
                    format!("{path}.podLabels.{key}"),
                    format!(
                        "`{key}` is a label matrix-render sets on the pods itself: the \
                         Deployments, Services, NetworkPolicies and disruption budgets select \
                         pods by these labels"
                    ),
                )
                .with_hint(format!(
                    "choose another key; these are fixed: {}",
                    RESERVED_POD_LABELS
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
    for key in pod.pod_annotations.keys() {
        if RESERVED_POD_ANNOTATIONS.contains(&key.as_str()) {
            out.push(
                Diagnostic::error(
                    "reserved-annotation",
                    format!("{path}.podAnnotations.{key}"),
                    format!(
                        "`{key}` is an annotation matrix-render sets itself: it rolls the pods \
                         when their config changes"
                    ),
                )
                .with_hint("choose another key"),
            );
        }
    }
}

fn check_toleration(out: &mut Vec<Diagnostic>, path: &str, t: &Toleration) {
    let exists = t.operator == Some(TolerationOperator::Exists);
    if t.key.as_deref().is_none_or(str::is_empty) && !exists {
        out.push(
            Diagnostic::error(
                "invalid-toleration",
                format!("{path}.operator"),
                "a toleration without `key` matches every taint only with `operator: Exists`",
            )
            .with_hint("add the taint's `key`, or write `operator: Exists`"),
        );
    }
    if exists && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
        out.push(
            Diagnostic::error(
                "invalid-toleration",
                format!("{path}.value"),
                "a toleration with `operator: Exists` matches any value and takes no `value`",
            )
            .with_hint("remove `value`, or write `operator: Equal`"),
        );
    }
    if t.toleration_seconds.is_some() && t.effect != Some(TaintEffect::NoExecute) {
        out.push(
            Diagnostic::error(
                "invalid-toleration",
                format!("{path}.tolerationSeconds"),
                "`tolerationSeconds` applies to `effect: NoExecute` only; Kubernetes refuses \
                 it with any other effect",
            )
            .with_hint("write `effect: NoExecute`, or remove `tolerationSeconds`"),
        );
    }
}

/// coturn and LiveKit on the host network advertise or bind one node's address; on another
/// node the address is wrong and calls fail without an error anywhere.
fn unpinned_host_addresses(out: &mut Vec<Diagnostic>, c: &Config) {
    // An address that is not one is an error of its own already.
    let ip = |text: &str| text.parse::<std::net::IpAddr>().is_ok();
    let mut found: Vec<(&str, &str, &str)> = Vec::new();
    if c.coturn.enabled && !c.coturn.pod.pins_nodes() {
        if ip(&c.coturn.relay_ip) {
            found.push(("coturn.relay_ip", "coturn", "relays from"));
        }
        if ip(&c.coturn.public_ip_static) {
            found.push(("coturn.public_ip_static", "coturn", "advertises"));
        }
    }
    if c.livekit_on_host_network()
        && ip(&c.matrixrtc.livekit.rtc.node_ip)
        && !c.matrixrtc.livekit.pod.pins_nodes()
    {
        found.push((
            "matrixrtc.livekit.rtc.nodeIp",
            "matrixrtc.livekit",
            "advertises",
        ));
    }
    for (path, component, verb) in found {
        out.push(
            Diagnostic::warning(
                "unpinned-host-address",
                path,
                format!(
                    "`{component}` runs on the host network and {verb} one node's address, but \
                     nothing keeps its pod on that node: scheduled elsewhere, calls fail"
                ),
            )
            .with_hint(format!(
                "pin it to the node that has the address: `{component}.nodeSelector: \
                 {{kubernetes.io/hostname: <node name>}}` (or a required node affinity)"
            )),
        );
    }
}

/// A quantity Kubernetes accepts in requests and limits: not negative.
fn is_resource_quantity(q: &str) -> bool {
    !q.starts_with('-') && crate::validate::is_quantity(q)
}

/// A quantity as an exact fraction: `numerator / 10^scale`, numerator as `digits * 10^e10 *
/// 2^e2` folded in. `None` when it does not parse or does not fit.
fn quantity_value(q: &str) -> Option<(u128, u32)> {
    let body = q.strip_prefix('+').unwrap_or(q);
    let end = body
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    let mut scale = u32::try_from(frac.len()).ok()?;
    let (pow10, pow2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exp => (exp.strip_prefix(['e', 'E'])?.parse().ok()?, 0),
    };
    let mut value = digits.checked_mul(1u128.checked_shl(pow2)?)?;
    if pow10 >= 0 {
        value = value.checked_mul(10u128.checked_pow(pow10.unsigned_abs())?)?;
    } else {
        scale = scale.checked_add(pow10.unsigned_abs())?;
    }
    Some((value, scale))
}

/// Compares two quantities exactly; `None` when either does not parse or is too large.
fn compare_quantities(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let (va, sa) = quantity_value(a)?;
    let (vb, sb) = quantity_value(b)?;
    let common = sa.max(sb);
    let va = va.checked_mul(10u128.checked_pow(common - sa)?)?;
    let vb = vb.checked_mul(10u128.checked_pow(common - sb)?)?;
    Some(va.cmp(&vb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn quantities_compare_exactly() {
        let cmp = |a, b| compare_quantities(a, b);
        assert_eq!(cmp("500m", "1"), Some(Ordering::Less));
        assert_eq!(cmp("1.5", "1500m"), Some(Ordering::Equal));
        assert_eq!(cmp("2", "1500m"), Some(Ordering::Greater));
        assert_eq!(cmp("1Gi", "1000Mi"), Some(Ordering::Greater));
        assert_eq!(cmp("1G", "1Gi"), Some(Ordering::Less));
        assert_eq!(cmp("1024Mi", "1Gi"), Some(Ordering::Equal));
        assert_eq!(cmp("1e3", "1k"), Some(Ordering::Equal));
        assert_eq!(cmp("0.5Gi", "512Mi"), Some(Ordering::Equal));
        assert_eq!(cmp("100n", "1u"), Some(Ordering::Less));
        assert_eq!(cmp("ten", "1"), None);
        assert_eq!(cmp("1e99", "1"), None);
    }

    #[test]
    fn negative_quantities_are_refused() {
        assert!(is_resource_quantity("250m"));
        assert!(is_resource_quantity("+1Gi"));
        assert!(!is_resource_quantity("-1"));
        assert!(!is_resource_quantity("4GB"));
    }

    fn config(values: &str) -> Config {
        let base = "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                    coturn: {realm: turn.example.org, turn_url: turn.example.org}\n";
        let docs = [
            crate::NamedText {
                name: "base.yaml".to_owned(),
                text: base.to_owned(),
            },
            crate::NamedText {
                name: "values.yaml".to_owned(),
                text: values.to_owned(),
            },
        ];
        let loaded = crate::load(crate::LoadInput {
            values: &docs,
            ..crate::LoadInput::default()
        });
        let merged = loaded.merged;
        Config::deserialize(&merged).unwrap_or_else(|e| panic!("{e}"))
    }

    fn codes(values: &str) -> Vec<(String, String)> {
        check(&config(values))
            .into_iter()
            .map(|d| (d.code, d.path))
            .collect()
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(codes(""), Vec::new());
    }

    #[test]
    fn a_request_over_the_merged_default_limit_is_refused() {
        assert_eq!(
            codes("synapse: {resources: {requests: {memory: 8Gi}}}"),
            [(
                "request-over-limit".to_owned(),
                "synapse.resources.requests.memory".to_owned()
            )]
        );
        assert_eq!(
            codes("synapse: {resources: {requests: {memory: 8Gi}, limits: {memory: null}}}"),
            Vec::new()
        );
    }

    #[test]
    fn reserved_labels_and_annotations_are_refused_on_every_component() {
        for (path, _) in settings(&config("")) {
            let inner = "{podLabels: {app: x, team: chat}, podAnnotations: {checksum/config: x}}";
            let values = path
                .rsplit('.')
                .fold(inner.to_owned(), |inner, key| format!("{{{key}: {inner}}}"));
            let values = &values[1..values.len() - 1];
            assert_eq!(
                codes(values),
                [
                    ("reserved-label".to_owned(), format!("{path}.podLabels.app")),
                    (
                        "reserved-annotation".to_owned(),
                        format!("{path}.podAnnotations.checksum/config")
                    ),
                ],
                "{values}"
            );
        }
    }

    #[test]
    fn tolerations_follow_the_api_servers_rules() {
        let found = codes(
            "element:\n  tolerations:\n    - {operator: Equal}\n    - {key: a, operator: Exists, value: b}\n    \
             - {key: a, value: b, effect: NoSchedule, tolerationSeconds: 5}\n    \
             - {operator: Exists}\n    - {key: a, value: b, effect: NoExecute, tolerationSeconds: 5}\n",
        );
        assert_eq!(
            found,
            [
                ("invalid-toleration", "element.tolerations[0].operator"),
                ("invalid-toleration", "element.tolerations[1].value"),
                (
                    "invalid-toleration",
                    "element.tolerations[2].tolerationSeconds"
                ),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn host_addresses_without_a_pin_warn() {
        let rtc = "matrixrtc: {enabled: true, host: rtc.example.org, livekit: {rtc: {nodeIp: 203.0.113.5}}}\n";
        let found = codes(&format!(
            "coturn: {{relay_ip: 10.0.0.5, public_ip_static: 203.0.113.4}}\n{rtc}"
        ));
        assert_eq!(
            found,
            [
                "coturn.relay_ip",
                "coturn.public_ip_static",
                "matrixrtc.livekit.rtc.nodeIp"
            ]
            .map(|p| ("unpinned-host-address".to_owned(), p.to_owned()))
        );
        let pinned = codes(
            "coturn: {relay_ip: 10.0.0.5, nodeSelector: {kubernetes.io/hostname: n1}}\n\
             matrixrtc: {enabled: true, host: rtc.example.org, livekit: {rtc: {nodeIp: 203.0.113.5}, \
             affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: \
             {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n1]}]}]}}}}}\n",
        );
        assert_eq!(pinned, Vec::new());
        // Off the host network, LiveKit's address is a load balancer's: no pin needed.
        let off = codes(
            "matrixrtc: {enabled: true, host: rtc.example.org, livekit: {hostNetwork: false, rtc: {nodeIp: 203.0.113.5}}}\n",
        );
        assert_eq!(off, Vec::new());
    }
}
