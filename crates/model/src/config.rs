//! The typed config: the seed chart's values layout, plus matrix-render's own settings.
//!
//! Keys are accepted exactly as the seed spells them (mixed camelCase and snake_case); new
//! keys are camelCase. Every struct denies unknown keys. Defaults live in `defaults.yaml`,
//! the first layer of the merge, not in serde attributes, so that the defaults are one
//! readable document and a `null` in values behaves as in Helm.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::pod::PodSettings;

/// A whole matrix-render config: the seed chart's values layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Namespace of every namespaced object.
    pub namespace: String,
    /// Host names of the stack.
    pub global: Global,
    /// Ingress settings shared by every host.
    pub ingress: Ingress,
    /// How HTTP traffic reaches the stack: Ingress objects or Gateway API HTTPRoutes.
    pub routing: Routing,
    /// NetworkPolicies: deny by default, allow exactly the stack's flows.
    pub network_policies: NetworkPolicies,
    /// Namespace objects labelled for Pod Security Admission, and the namespace that holds
    /// the host-network workloads.
    pub pod_security: PodSecurity,
    /// Synapse, the homeserver.
    pub synapse: Synapse,
    /// Element Web, the client, and its static pages.
    pub element: Element,
    /// coturn, the TURN relay for calls.
    pub coturn: Coturn,
    /// MatrixRTC: the LiveKit SFU and the lk-jwt-service.
    pub matrixrtc: MatrixRtc,
    /// Backups of Synapse's database, media store and signing key (a CronJob).
    pub backup: Backup,
    /// Prometheus metrics: the components' metrics endpoints, their ServiceMonitors, and
    /// who may scrape them.
    pub metrics: Metrics,
    /// Redis, which carries the replication between Synapse's processes when workers run.
    pub redis: crate::workers::Redis,
}

/// Host names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Global {
    /// Synapse's host name; also the Matrix server name (the part after `:` in user IDs).
    /// Required.
    #[serde(default)]
    pub domain: String,
    /// Element Web's host name. Required.
    #[serde(default)]
    pub element_domain: String,
    /// The Matrix server name (the part after `:` in user IDs) when it differs from
    /// `domain`, e.g. `example.org` while Synapse runs at `matrix.example.org`. Empty: the
    /// same as `domain`. When set, the `.well-known/matrix` files are served on this host.
    #[serde(default)]
    pub server_name: String,
}

impl Global {
    /// The Matrix server name: `serverName`, or `domain` when that is empty.
    #[must_use]
    pub fn server_name(&self) -> &str {
        if self.server_name.is_empty() {
            &self.domain
        } else {
            &self.server_name
        }
    }

    /// Whether the server name differs from Synapse's host (delegation).
    #[must_use]
    pub fn delegates(&self) -> bool {
        !self.server_name.is_empty() && self.server_name != self.domain
    }
}

/// How HTTP traffic reaches the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Routing {
    /// `ingress` (Ingress objects, class `ingress.className`) or `gateway` (Gateway API
    /// HTTPRoutes attached to `routing.gateway`).
    pub mode: RoutingMode,
    /// The Gateway the HTTPRoutes attach to, in `gateway` mode. TLS is the Gateway's job.
    pub gateway: GatewayRef,
}

/// Ingress or Gateway API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoutingMode {
    /// networking.k8s.io/v1 Ingress.
    Ingress,
    /// gateway.networking.k8s.io/v1 HTTPRoute.
    Gateway,
}

/// A Gateway (`parentRefs` of the HTTPRoutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayRef {
    /// The Gateway's name. Required in `gateway` mode.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub name: String,
    /// The Gateway's namespace; empty for the stack's namespace.
    pub namespace: String,
    /// The Gateway listener to attach to; empty for every listener that accepts the routes.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub section_name: String,
}

/// NetworkPolicies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicies {
    /// Render a default-deny policy plus one policy per workload with exactly its flows.
    /// Pods on the host network (coturn, LiveKit with `hostNetwork`) are not subject to them.
    pub enabled: bool,
    /// Where the ingress controller or Gateway runs: only these pods (or addresses) may
    /// reach the web ports. lk-jwt-service may reach them too: it checks a caller's OpenID
    /// token at the homeserver's public URL, which in the cluster leads to the controller.
    pub ingress_controller: PeerSelector,
    /// The cluster DNS, the only place the stack's pods send name lookups to (UDP and TCP
    /// port 53). Most distributions label CoreDNS `k8s-app: kube-dns` in `kube-system`; with
    /// NodeLocal DNSCache add its link-local address (e.g. `169.254.20.10/32`) to `ipBlocks`.
    /// The default's label merges with labels set here: write `k8s-app: null` to drop it.
    pub dns: PeerSelector,
    /// Where Synapse's PostgreSQL server runs, when `synapse.database.postgresql.host` does
    /// not say it: all empty derives it from the host (an IP address: that address; a
    /// Service name `NAME` or `NAME.NAMESPACE.svc[...]`: the pods of that namespace; any
    /// other name: every pod and every private address, on the database port only).
    pub database: PeerSelector,
    /// Address ranges (CIDR) that the stack's public-internet rules (Synapse, LiveKit) and
    /// coturn's relay leave out, on top of the built-in private, loopback, link-local,
    /// shared, benchmark, documentation, multicast and reserved ranges: e.g. the nodes'
    /// public addresses or a public API server endpoint.
    pub denied_ranges: Vec<String>,
    /// Let lk-jwt-service reach other homeservers (public addresses, any port) to check
    /// the OpenID tokens of their users, so that users of other servers can join calls on
    /// this SFU. Off: only this stack's own users are admitted.
    pub jwt_federation: bool,
    /// More allow rules per component, in NetworkPolicy's own shape, appended to that
    /// component's policy (e.g. a Prometheus scrape, or an egress the stack cannot know).
    pub extra_rules: ExtraRules,
}

/// Extra NetworkPolicy rules for each component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraRules {
    /// Synapse.
    pub synapse: ComponentRules,
    /// Element Web.
    pub element: ComponentRules,
    /// The static pages (`element-static`).
    pub static_pages: ComponentRules,
    /// The `.well-known` delegation files (`matrix-wellknown`).
    pub well_known: ComponentRules,
    /// LiveKit (when it does not run on the host network).
    pub livekit: ComponentRules,
    /// lk-jwt-service.
    pub jwt: ComponentRules,
}

/// A component's extra rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentRules {
    /// NetworkPolicy `ingress` rules (`from`, `ports`).
    pub ingress: Vec<IngressRule>,
    /// NetworkPolicy `egress` rules (`to`, `ports`).
    pub egress: Vec<EgressRule>,
}

/// A NetworkPolicy ingress rule. As in Kubernetes, an empty or missing `from` allows every
/// source and empty or missing `ports` every port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressRule {
    /// Sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<NetworkPeer>,
    /// Ports on the component's pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<NetworkPort>,
}

/// A NetworkPolicy egress rule. As in Kubernetes, an empty or missing `to` allows every
/// destination and empty or missing `ports` every port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressRule {
    /// Destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<NetworkPeer>,
    /// Destination ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<NetworkPort>,
}

/// A NetworkPolicy peer: pods (by namespace and labels) or an address range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPeer {
    /// Pods by label (in the policy's namespace unless `namespaceSelector` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// Namespaces by label (`kubernetes.io/metadata.name` holds the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// An address range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block: Option<IpBlock>,
}

/// A Kubernetes label selector; `{}` selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all match.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    pub match_labels: StringMap,
    /// Requirements that must all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelRequirement>,
}

/// A label selector requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: LabelOperator,
    /// Values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LabelOperator {
    /// The label's value is one of `values`.
    In,
    /// The label's value is none of `values` (or the label is missing).
    NotIn,
    /// The label is set.
    Exists,
    /// The label is not set.
    DoesNotExist,
}

/// An address range in CIDR notation, less some sub-ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IpBlock {
    /// The range, e.g. `10.0.0.0/24` or `2001:db8::/64`.
    pub cidr: String,
    /// Sub-ranges of `cidr` left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

/// A NetworkPolicy port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPort {
    /// `TCP` (the default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<NetworkProtocol>,
    /// A port number or a named container port; missing for every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortRef>,
    /// The last port of a range starting at the numeric `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_port: Option<u16>,
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum NetworkProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// A port number or a container port's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortRef {
    /// A number.
    Number(u16),
    /// A named container port.
    Name(String),
}

/// Namespaces and Pod Security.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurity {
    /// Render the Namespace objects, labelled `pod-security.kubernetes.io/enforce`, `audit`
    /// and `warn` (each with its `-version`) at the level each namespace needs.
    pub enabled: bool,
    /// Level of `namespace`: `auto` (the strictest its pods meet: `restricted`, or
    /// `privileged` when coturn or LiveKit with `hostNetwork` runs there), `restricted`,
    /// `baseline` or `privileged`.
    pub level: PodSecurityLevel,
    /// Namespace for the host-network workloads (coturn; MatrixRTC when LiveKit has
    /// `hostNetwork`), labelled `privileged`, so that `namespace` can enforce `restricted`.
    /// Empty keeps them in `namespace`.
    pub host_network_namespace: String,
    /// The Pod Security Standards version in the `-version` labels: `latest` or `v1.N`.
    pub version: String,
}

impl Config {
    /// Whether LiveKit runs on the node's network.
    #[must_use]
    pub fn livekit_on_host_network(&self) -> bool {
        self.matrixrtc.enabled && self.matrixrtc.livekit.host_network
    }

    /// The namespace of the host-network workloads: `podSecurity.hostNetworkNamespace`, or
    /// `namespace` when that is empty.
    #[must_use]
    pub fn host_network_namespace(&self) -> &str {
        if self.pod_security.host_network_namespace.is_empty() {
            &self.namespace
        } else {
            &self.pod_security.host_network_namespace
        }
    }

    /// The namespace of coturn's objects.
    #[must_use]
    pub fn coturn_namespace(&self) -> &str {
        self.host_network_namespace()
    }

    /// The namespace of MatrixRTC's objects: with LiveKit on the host network, the
    /// host-network namespace (an Ingress routes only to Services of its own namespace, so
    /// lk-jwt-service goes along); otherwise `namespace`.
    #[must_use]
    pub fn matrixrtc_namespace(&self) -> &str {
        if self.matrixrtc.livekit.host_network {
            self.host_network_namespace()
        } else {
            &self.namespace
        }
    }

    /// The host-network workloads that run, with the namespace each lands in.
    #[must_use]
    pub fn host_network_workloads(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if self.coturn.enabled {
            out.push(("coturn", self.coturn_namespace()));
        }
        if self.livekit_on_host_network() {
            out.push(("LiveKit", self.matrixrtc_namespace()));
        }
        out
    }
}

/// A Pod Security Standards level, or `auto`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    /// The strictest level the namespace's pods meet.
    Auto,
    /// Heavily restricted: non-root, no capabilities, seccomp, safe volume types.
    Restricted,
    /// Minimally restrictive: no host namespaces, host ports or privileged containers.
    Baseline,
    /// Unrestricted.
    Privileged,
}

impl PodSecurityLevel {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

/// Pods in one namespace, by label, and address ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerSelector {
    /// The pods' namespace (k3s runs Traefik in `kube-system`; ingress-nginx uses
    /// `ingress-nginx`); empty for the stack's own namespace when `podLabels` are set, or
    /// for no pods at all (only `ipBlocks`).
    pub namespace: String,
    /// Labels of the pods; empty for every pod in the namespace.
    #[schemars(extend(
        "propertyNames" = {"pattern": crate::names::LABEL_KEY, "maxLength": 317},
        "additionalProperties" = {
            "type": "string", "pattern": crate::names::LABEL_VALUE, "maxLength": 63
        }
    ))]
    pub pod_labels: StringMap,
    /// Address ranges, e.g. the nodes' addresses for an ingress controller on the host
    /// network (its traffic comes from the node's address, which no pod selector matches).
    pub ip_blocks: Vec<IpBlock>,
}

impl PeerSelector {
    /// Whether it selects any pod.
    #[must_use]
    pub fn selects_pods(&self) -> bool {
        !self.namespace.is_empty() || !self.pod_labels.is_empty()
    }

    /// Whether it selects nothing at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.selects_pods() && self.ip_blocks.is_empty()
    }
}

/// Ingress settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    /// `spec.ingressClassName` of every Ingress (`traefik`, `nginx`, ...).
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub class_name: String,
    /// cert-manager ClusterIssuer that issues the TLS certificates; empty for none.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub cluster_issuer: String,
    /// Annotations added to every Ingress.
    pub annotations: StringMap,
    /// Per-host TLS secret names and annotations.
    pub hosts: IngressHosts,
}

/// Per-host ingress settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressHosts {
    /// The Synapse host (`global.domain`).
    pub synapse: IngressHost,
    /// The Element host (`global.elementDomain`).
    pub element: IngressHost,
    /// The MatrixRTC host (`matrixrtc.host`).
    pub matrixrtc: IngressHost,
    /// The server-name host (`global.serverName`), when it differs from `global.domain`.
    pub server_name: IngressHost,
}

/// One host's ingress settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressHost {
    /// Secret that holds this host's TLS certificate.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub tls_secret_name: String,
    /// Annotations added to this host's Ingress, over `ingress.annotations`.
    pub annotations: StringMap,
}

/// String-to-string map with a stable order.
pub type StringMap = std::collections::BTreeMap<String, String>;

/// A container image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    /// Image repository (registry host and path), without tag or digest.
    pub repository: String,
    /// Image tag; pin a version.
    pub tag: String,
    /// Image digest (`sha256:<64 hex>`), pinned in addition to the tag; empty for none.
    pub digest: String,
    /// Kubernetes image pull policy.
    pub pull_policy: PullPolicy,
}

impl Image {
    /// `repository:tag`, with `@digest` when one is pinned.
    #[must_use]
    pub fn reference(&self) -> String {
        if self.digest.is_empty() {
            format!("{}:{}", self.repository, self.tag)
        } else {
            format!("{}:{}@{}", self.repository, self.tag, self.digest)
        }
    }
}

/// Kubernetes image pull policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// Pull on every start.
    Always,
    /// Pull when the image is missing on the node.
    IfNotPresent,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// Synapse, the homeserver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Synapse {
    /// The data volume (`synapse-data`).
    pub storage: Storage,
    /// Synapse image.
    pub image: Image,
    /// The database: SQLite on the data volume (the seed's) or an external PostgreSQL.
    pub database: Database,
    /// HTTP port of the client and federation listener.
    pub port: u16,
    /// Pod replicas: 1 (or 0 to stop it). Synapse runs one main process whatever the
    /// database; it scales out with worker processes, not copies of the main process.
    pub replicas: i32,
    /// Whether Synapse reports anonymous usage statistics (`report_stats`).
    pub report_stats: bool,
    /// Root log level, as Python's logging spells it: DEBUG, INFO, WARNING, ERROR or
    /// CRITICAL (upper case; Synapse refuses to start on any other word).
    pub log_level: LogLevel,
    /// reCAPTCHA keys (secrets: keep them in .secrets.yaml).
    pub recaptcha: Recaptcha,
    /// Shared secret for admin registration with `register_new_matrix_user` (secret).
    #[serde(rename = "registration_shared_secret")]
    pub registration_shared_secret: SecretValue,
    /// Account registration.
    pub registration: Registration,
    /// `.well-known` delegation.
    pub well_known: WellKnown,
    /// Federation.
    pub federation: Federation,
    /// The public room directory.
    pub public_rooms: PublicRooms,
    /// What new users join.
    pub onboarding: Onboarding,
    /// Room directory and alias rules.
    pub moderation: Moderation,
    /// Message retention.
    pub retention: Retention,
    /// Media retention.
    pub media_retention: MediaRetention,
    /// Uploads and URL previews.
    pub media: Media,
    /// Server notices.
    pub server_notices: ServerNotices,
    /// Any homeserver.yaml keys, deep-merged last (maps merge key by key, anything else
    /// replaces), free-form. Keys matrix-render owns are refused with the setting to use;
    /// secrets go in `extraSecretConfig`, or as `client_secret: {existingSecret: {name, key}}`
    /// in an OIDC provider.
    pub extra_config: Map<String, Value>,
    /// homeserver.yaml keys that hold secrets (`email.smtp_pass`, ...), free-form: keep them
    /// in .secrets.yaml. Deep-merged over `extraConfig`; every top-level section that holds
    /// one is rendered whole into a Secret, loaded as a second config file.
    pub extra_secret_config: Map<String, Value>,
    /// Existing Secrets' keys, each a YAML file of homeserver.yaml sections, loaded after
    /// the rendered config: a top-level section there replaces the rendered one whole.
    pub extra_config_secrets: Vec<SecretKeyRef>,
    /// App service registration files (bridges) in existing Secrets or ConfigMaps, mounted
    /// read-only and listed in `app_service_config_files`.
    pub app_services: Vec<AppService>,
    /// The server's signing key, as Synapse writes it (`ed25519 a_XXXX <base64>`; secret).
    /// Empty: Synapse generates one on its data volume at first start. Required with
    /// workers, which all sign with it: copy the generated one from the volume.
    pub signing_key: SecretValue,
    /// Worker processes, Redis replication and the router in front of them.
    pub workers: crate::workers::Workers,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// An app service registration file in an existing object of the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppService {
    /// `Secret` or `ConfigMap`.
    pub kind: AppServiceSource,
    /// The object's name.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub name: String,
    /// The key in its `data` that holds the registration YAML.
    pub key: String,
}

/// The kind of object an app service registration is read from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum AppServiceSource {
    /// A Secret (registrations hold the `as_token` and `hs_token`).
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

/// Synapse's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Database {
    /// `sqlite` (at /data/homeserver.db on the data volume) or `postgresql`.
    #[serde(rename = "type")]
    pub kind: DatabaseKind,
    /// The PostgreSQL server, when `type` is `postgresql`.
    pub postgresql: Postgresql,
}

/// The database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// SQLite on the data volume: fine for small servers.
    Sqlite,
    /// An external PostgreSQL server.
    Postgresql,
}

/// An external PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postgresql {
    /// Host name or address of the server. Required with `type: postgresql`.
    #[schemars(extend("pattern" = crate::names::DATABASE_HOST, "maxLength" = 253))]
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name; create it with `ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C'`.
    #[schemars(extend("pattern" = crate::names::LIBPQ_WORD))]
    pub database: String,
    /// Database user.
    #[schemars(extend("pattern" = crate::names::LIBPQ_WORD))]
    pub user: String,
    /// The user's password (secret): inline, or `existingSecret: {name, key}`.
    pub password: SecretValue,
    /// libpq `sslmode`.
    pub sslmode: SslMode,
    /// Smallest connection pool size (`cp_min`).
    pub cp_min: u16,
    /// Largest connection pool size (`cp_max`).
    pub cp_max: u16,
}

/// A Python logging level name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Everything, SQL included: verbose.
    Debug,
    /// Normal operation.
    Info,
    /// Problems only.
    Warning,
    /// Errors only.
    Error,
    /// Fatal errors only.
    Critical,
}

impl LogLevel {
    /// The name Python's logging reads.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS only if the server insists.
    Allow,
    /// TLS when the server offers it (libpq's default).
    Prefer,
    /// TLS, without checking the certificate.
    Require,
    /// TLS, with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, with a trusted certificate for the host name.
    VerifyFull,
}

impl SslMode {
    /// libpq's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A secret value: written inline (keep it in .secrets.yaml), or read from a key of a
/// Secret that already exists in the namespace. An empty string means "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretValue {
    /// The value itself.
    Inline(String),
    /// A key of an existing Secret.
    External(ExternalSecret),
}

/// `existingSecret: {name, key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalSecret {
    /// The Secret that holds the value (same namespace), and its key.
    pub existing_secret: SecretKeyRef,
}

/// A key of a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key in its `data`.
    pub key: String,
}

impl SecretValue {
    /// Whether a value is given (a non-empty string or a reference).
    #[must_use]
    pub fn is_set(&self) -> bool {
        match self {
            Self::Inline(s) => !s.is_empty(),
            Self::External(_) => true,
        }
    }

    /// The inline value, when there is a non-empty one.
    #[must_use]
    pub fn inline(&self) -> Option<&str> {
        match self {
            Self::Inline(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// The existing Secret's key, when the value is a reference.
    #[must_use]
    pub fn external(&self) -> Option<&SecretKeyRef> {
        match self {
            Self::External(e) => Some(&e.existing_secret),
            Self::Inline(_) => None,
        }
    }
}

impl Default for SecretValue {
    fn default() -> Self {
        Self::Inline(String::new())
    }
}

/// A PersistentVolumeClaim's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// Requested size, a Kubernetes quantity such as `10Gi`.
    pub size: String,
    /// StorageClass; empty for the cluster's default.
    pub storage_class_name: String,
}

/// reCAPTCHA keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Recaptcha {
    /// reCAPTCHA site (public) key.
    pub site_key: SecretValue,
    /// reCAPTCHA secret (private) key.
    pub secret_key: SecretValue,
}

/// Account registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Registration {
    /// Whether anyone may register an account (`enable_registration`).
    pub enabled: bool,
    /// Allow registration without email or captcha (`enable_registration_without_verification`).
    pub allow_without_verification: bool,
    /// Require a reCAPTCHA on registration (`enable_registration_captcha`).
    pub captcha_enabled: bool,
    /// Require a registration token (`registration_requires_token`).
    pub requires_token: bool,
}

/// `.well-known` delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WellKnown {
    /// Serve `/.well-known/matrix/server` (`serve_server_wellknown`).
    pub serve_server: bool,
    /// Federation target `host:port` announced as `m.server` on the server-name host;
    /// empty for `<global.domain>:443`. Used when `global.serverName` differs from
    /// `global.domain`.
    #[schemars(extend("pattern" = crate::names::SERVER_NAME))]
    pub delegated_server: String,
    /// nginx image that serves the `.well-known/matrix` files on the server-name host.
    pub image: Image,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// Federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Federation {
    /// Allowed remote server names (`federation_domain_whitelist`); empty federates with all.
    #[schemars(extend("items" = {"type": "string", "pattern": crate::names::SERVER_NAME}))]
    pub whitelist: Vec<String>,
}

/// The public room directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PublicRooms {
    /// Let other servers read the directory (`allow_public_rooms_over_federation`).
    pub allow_over_federation: bool,
    /// Let unauthenticated clients read the directory (`allow_public_rooms_without_auth`).
    pub allow_without_auth: bool,
    /// Only admins may publish rooms to the directory.
    pub require_admin_to_publish: bool,
}

/// What new users join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Onboarding {
    /// Room aliases every new user joins (`auto_join_rooms`).
    pub auto_join_rooms: Vec<String>,
    /// Create the auto-join rooms when missing (`autocreate_auto_join_rooms`).
    pub auto_create_auto_join_rooms: bool,
    /// Make auto-created rooms federated (`autocreate_auto_join_rooms_federated`).
    pub auto_join_rooms_federated: bool,
    /// Local user that creates the auto-join rooms (`auto_join_mxid_localpart`); empty for the first user.
    pub auto_join_mxid_localpart: String,
}

/// Room directory and alias rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Moderation {
    /// `room_list_publication_rules`; empty derives them from `publicRooms.requireAdminToPublish`.
    pub room_list_publication_rules: Vec<PolicyRule>,
    /// `alias_creation_rules`; empty keeps Synapse's default.
    pub alias_creation_rules: Vec<PolicyRule>,
}

/// One Synapse directory or alias rule, in Synapse's own spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// User ID glob the rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Alias glob the rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Room ID glob the rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// `allow` or `deny`.
    pub action: RuleAction,
}

/// A rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// Message retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retention {
    /// Enable message retention policies.
    pub enabled: bool,
    /// The server's default policy.
    pub default_policy: RetentionPolicy,
    /// Shortest lifetime a room may set, a Synapse duration (`1d`); empty for no limit.
    pub allowed_lifetime_min: String,
    /// Longest lifetime a room may set, a Synapse duration (`1y`); empty for no limit.
    pub allowed_lifetime_max: String,
}

/// A retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetentionPolicy {
    /// Minimum lifetime, a Synapse duration; empty for none.
    pub min_lifetime: String,
    /// Maximum lifetime, a Synapse duration; empty for none.
    pub max_lifetime: String,
}

/// Media retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MediaRetention {
    /// Enable media retention.
    pub enabled: bool,
    /// Lifetime of local media, a Synapse duration (`365d`); empty keeps it forever.
    pub local_media_lifetime: String,
    /// Lifetime of cached remote media, a Synapse duration; empty keeps it forever.
    pub remote_media_lifetime: String,
}

/// Uploads and URL previews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Media {
    /// Largest upload, a Synapse size (`100M`).
    pub max_upload_size: String,
    /// Generate URL previews (`url_preview_enabled`).
    pub url_previews_enabled: bool,
    /// CIDR ranges URL previews may never fetch, on top of Synapse's private-range defaults.
    pub url_preview_ip_range_blacklist: Vec<String>,
    /// CIDR ranges URL previews may fetch even when blacklisted.
    pub url_preview_ip_range_whitelist: Vec<String>,
}

/// Server notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerNotices {
    /// Enable server notices.
    pub enabled: bool,
    /// Localpart of the user that sends notices.
    pub system_mxid_localpart: String,
    /// Name of the notices room.
    pub room_name: String,
    /// `mxc://` avatar of the notices room; empty for none.
    pub room_avatar_url: String,
    /// Topic of the notices room; empty for none.
    pub room_topic: String,
    /// Join users to the notices room automatically.
    pub auto_join: bool,
}

/// Element Web.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Element {
    /// Element Web image.
    pub image: Image,
    /// HTTP port Element's nginx listens on.
    pub port: u16,
    /// Pod replicas.
    pub replicas: i32,
    /// Branding.
    pub branding: Branding,
    /// Element's home and welcome pages.
    pub embedded_pages: EmbeddedPages,
    /// In-cluster nginx serving the static pages.
    pub static_pages: StaticPages,
    /// UI switches.
    pub ui: ElementUi,
    /// Integration manager.
    pub integrations: Integrations,
    /// Jitsi.
    pub jitsi: Jitsi,
    /// Rageshake endpoint (`bug_report_endpoint_url`); empty for none.
    pub bug_report_endpoint_url: String,
    /// Element labs features (`features`), free-form.
    pub features: Map<String, Value>,
    /// Element setting defaults (`setting_defaults`), free-form.
    pub setting_defaults: Map<String, Value>,
    /// Any Element `config.json` keys, deep-merged last, free-form.
    pub extra_config: Map<String, Value>,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// Branding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Branding {
    /// Application name (`brand`).
    pub app_name: String,
    /// Logo on the login page; empty uses the static pages' logo when they are on.
    pub auth_header_logo_url: String,
    /// Login background; empty uses the static pages' background when they are on.
    pub welcome_background_url: String,
    /// Links under the login form.
    pub auth_footer_links: Vec<FooterLink>,
    /// Notice shown on the login page; empty for none.
    pub user_notice: String,
}

/// A link under the login form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FooterLink {
    /// Link text.
    pub text: String,
    /// Link target.
    pub url: String,
}

/// Element's home and welcome pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmbeddedPages {
    /// Set `embedded_pages` in Element's config.
    pub enabled: bool,
    /// Home page URL; empty uses the static pages' `home.html` when they are on.
    pub home_url: String,
    /// Welcome page URL; empty uses the static pages' `welcome.html` when they are on.
    pub welcome_url: String,
}

/// In-cluster nginx serving the static pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StaticPages {
    /// Deploy the static pages.
    pub enabled: bool,
    /// nginx image.
    pub image: Image,
    /// Pod replicas.
    pub replicas: i32,
    /// HTTP port nginx listens on.
    pub port: u16,
    /// URL path of the pages on the Element host.
    pub path_prefix: String,
    /// URL path of the assets on the Element host.
    pub assets_path_prefix: String,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// Element UI switches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ElementUi {
    /// `disable_custom_urls`.
    pub disable_custom_urls: bool,
    /// `disable_guests`.
    pub disable_guests: bool,
    /// `disable_login_language_selector`.
    pub disable_login_language_selector: bool,
    /// `disable_3pid_login`.
    #[serde(rename = "disable3pidLogin")]
    pub disable_3pid_login: bool,
    /// `default_country_code`, ISO 3166 alpha-2.
    pub default_country_code: String,
    /// `show_labs_settings`.
    pub show_labs_settings: bool,
    /// `default_federate`.
    pub default_federate: bool,
    /// `default_theme`: `light`, `dark`, `light-high-contrast` or `custom-` and the name of
    /// a theme in `custom_themes`; empty for Element's own choice.
    #[schemars(extend("pattern" = crate::names::ELEMENT_THEME))]
    pub default_theme: String,
    /// `room_directory.servers`; empty lists `global.domain`.
    #[schemars(extend("items" = {"type": "string", "pattern": crate::names::SERVER_NAME}))]
    pub room_directory_servers: Vec<String>,
    /// Show presence (`enable_presence_by_hs_url`).
    pub enable_presence: bool,
}

/// Integration manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Integrations {
    /// `integrations_ui_url`; empty for none.
    pub ui_url: String,
    /// `integrations_rest_url`; empty for none.
    pub rest_url: String,
    /// `integrations_widgets_urls`.
    pub widgets_urls: Vec<String>,
}

/// Jitsi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Jitsi {
    /// `jitsi.preferred_domain`; empty for none.
    pub preferred_domain: String,
}

/// coturn, the TURN relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Coturn {
    /// Deploy coturn.
    pub enabled: bool,
    /// coturn image.
    pub image: Image,
    /// TURN realm. Required when coturn is on.
    #[serde(default)]
    pub realm: String,
    /// Host name of the TURN server, used in Synapse's `turn_uris` and the certificate.
    /// Required when coturn is on.
    #[serde(rename = "turn_url", default)]
    pub turn_url: String,
    /// Node-internal IP that relays traffic (`relay-ip`); empty lets coturn choose.
    #[serde(rename = "relay_ip")]
    pub relay_ip: String,
    /// TURN REST shared secret, shared with Synapse (secret).
    #[serde(rename = "turn_shared_secret")]
    pub turn_shared_secret: SecretValue,
    /// Public IP advertised to clients (`external-ip`); empty for none.
    #[serde(rename = "public_ip_static")]
    pub public_ip_static: String,
    /// Relay TCP as well as UDP (RFC 6062, `no-tcp-relay` off). Calls need only UDP; a TCP
    /// relay lets a caller open connections to services on public addresses.
    pub tcp_relay: bool,
    /// TURN/STUN port, UDP and TCP.
    pub listening_port: u16,
    /// TURN over TLS port.
    pub tls_listening_port: u16,
    /// First port of the UDP relay range.
    pub min_port: u16,
    /// Last port of the UDP relay range.
    pub max_port: u16,
    /// Secret of the TLS certificate (issued by cert-manager).
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub tls_secret_name: String,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// MatrixRTC: LiveKit and the JWT service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatrixRtc {
    /// Deploy MatrixRTC.
    pub enabled: bool,
    /// Host name of the MatrixRTC endpoints (`/livekit/sfu`, `/livekit/jwt`).
    pub host: String,
    /// Ingress class for the MatrixRTC host; empty uses `ingress.className`.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub ingress_class_name: String,
    /// ClusterIssuer for the MatrixRTC host; empty uses `ingress.clusterIssuer`.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub cert_manager_cluster_issuer: String,
    /// The LiveKit SFU.
    pub livekit: Livekit,
    /// lk-jwt-service.
    pub jwt: Jwt,
    /// Element-side helper values.
    pub element: RtcElement,
}

/// The LiveKit SFU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Livekit {
    /// LiveKit image.
    pub image: Image,
    /// The signalling Service.
    pub service: ServicePort,
    /// Run on the node's network so media ports are reachable directly.
    pub host_network: bool,
    /// WebRTC media ports.
    pub rtc: LivekitRtc,
    /// API key (secret).
    pub key: SecretValue,
    /// API secret, at least 32 characters (secret).
    pub secret: SecretValue,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// WebRTC media ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LivekitRtc {
    /// ICE/TCP fallback port.
    pub tcp_port: u16,
    /// First UDP media port.
    pub port_range_start: u16,
    /// Last UDP media port.
    pub port_range_end: u16,
    /// Discover and advertise the node's external IP.
    pub use_external_ip: bool,
    /// One UDP port for all media (LiveKit's `udp_port`, a UDP mux) instead of the range;
    /// 0 uses the range. Needed to expose LiveKit through `serviceType`.
    pub udp_port: u16,
    /// The address LiveKit advertises to clients (`node_ip`), e.g. the load balancer's;
    /// empty discovers it (`useExternalIp`) or uses the pod's own.
    pub node_ip: String,
    /// Without `hostNetwork`: a Service `livekit-rtc` of this type exposes `tcpPort` and
    /// `udpPort` (`none`, `LoadBalancer`, `NodePort`).
    pub service_type: RtcServiceType,
    /// Annotations of the `livekit-rtc` Service (e.g. a load balancer's address pool).
    pub service_annotations: StringMap,
}

/// How LiveKit's media ports are exposed without the host network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RtcServiceType {
    /// No Service: expose the ports yourself.
    #[serde(rename = "none")]
    None,
    /// A LoadBalancer Service with `tcpPort` and `udpPort`.
    LoadBalancer,
    /// A NodePort Service whose node ports are `tcpPort` and `udpPort` themselves.
    NodePort,
}

/// A Service port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServicePort {
    /// Port number.
    pub port: u16,
}

/// lk-jwt-service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Jwt {
    /// lk-jwt-service image.
    pub image: Image,
    /// Pod replicas.
    pub replicas: i32,
    /// The Service.
    pub service: ServicePort,
    /// Resources, scheduling and pod metadata (see [`PodSettings`]).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// Element-side MatrixRTC values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RtcElement {
    /// The JWT service URL advertised in `.well-known` (`rtc_foci`); empty derives
    /// `https://<matrixrtc.host>/livekit/jwt`.
    #[serde(rename = "livekit_service_url")]
    pub livekit_service_url: String,
}

/// Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Serve the components' metrics: Synapse's metrics listener (a port of its own that
    /// no Ingress or HTTPRoute routes), LiveKit's and coturn's Prometheus endpoints, each
    /// as a port named `metrics` of the component's Service. lk-jwt-service has no metrics
    /// endpoint.
    pub enabled: bool,
    /// Synapse's metrics listener (`type: metrics`, `enable_metrics`), path
    /// `/_synapse/metrics`.
    pub synapse: MetricsEndpoint,
    /// LiveKit's Prometheus endpoint (`prometheus_port`), path `/metrics`. With
    /// `matrixrtc.livekit.hostNetwork` the port is open on the node's addresses: keep it
    /// closed to the internet in the node's firewall.
    pub livekit: MetricsEndpoint,
    /// coturn's Prometheus endpoint (`prometheus`, `prometheus-port`), path `/metrics`.
    /// coturn runs on the host network, so the port is open on the node's addresses: keep
    /// it closed to the internet in the node's firewall. The coturn binary must be built
    /// with Prometheus support (the `coturn/coturn` images are; Debian's package is not).
    pub coturn: MetricsEndpoint,
    /// ServiceMonitors (Prometheus Operator, `monitoring.coreos.com/v1`) for the endpoints.
    pub service_monitor: ServiceMonitor,
    /// Where Prometheus runs: only these pods (or addresses) may reach the metrics ports
    /// through the NetworkPolicies (kube-prometheus-stack usually runs in `monitoring`).
    /// Host-network pods (coturn, LiveKit with `hostNetwork`) are not subject to them.
    pub prometheus: PeerSelector,
}

/// One component's metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricsEndpoint {
    /// Serve this component's metrics when `metrics.enabled` is on.
    pub enabled: bool,
    /// The port the metrics are served on.
    pub port: u16,
}

/// The ServiceMonitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceMonitor {
    /// Render a ServiceMonitor per component with metrics (needs `metrics.enabled` and the
    /// Prometheus Operator's CRDs in the cluster).
    pub enabled: bool,
    /// Labels added to every ServiceMonitor, e.g. the one the Prometheus resource's
    /// `serviceMonitorSelector` wants (`release: kube-prometheus-stack`).
    #[schemars(extend(
        "propertyNames" = {"pattern": crate::names::LABEL_KEY, "maxLength": 317},
        "additionalProperties" = {
            "type": "string", "pattern": crate::names::LABEL_VALUE, "maxLength": 63
        }
    ))]
    pub labels: StringMap,
    /// Scrape interval, a Prometheus duration (`30s`, `1m`); empty for Prometheus's own.
    #[schemars(extend("pattern" = crate::names::PROMETHEUS_DURATION))]
    pub interval: String,
    /// Scrape timeout, a Prometheus duration no longer than the interval; empty for
    /// Prometheus's own.
    #[schemars(extend("pattern" = crate::names::PROMETHEUS_DURATION))]
    pub scrape_timeout: String,
}

/// Scheduled backups of Synapse's data: a CronJob `synapse-backup` that copies the
/// database (SQLite through its online backup API while Synapse runs, or `pg_dump` of
/// PostgreSQL), the media store and the signing key into a timestamped directory of the
/// backup volume, and deletes the oldest beyond `keep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// Render the backup CronJob (and its volume and NetworkPolicy).
    pub enabled: bool,
    /// When the backup runs: five cron fields (minute, hour, day of month, month, day of
    /// week) or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`, in the time zone of
    /// the cluster's controller manager (usually UTC).
    pub schedule: String,
    /// How many backups the volume keeps: after each successful run the oldest beyond this
    /// number are deleted.
    #[schemars(range(min = 1, max = 1000))]
    pub keep: u16,
    /// The volume the backups are written to.
    pub volume: BackupVolume,
    /// The image of the PostgreSQL dump (`pg_dump`, whose major version must be at least
    /// the server's). With SQLite the backup runs in `synapse.image`, whose Python has
    /// `sqlite3` and whose user owns the data.
    pub postgres_image: Image,
    /// Resources, scheduling and pod metadata of the backup pod (see [`PodSettings`]). It
    /// always runs on Synapse's node (a required pod affinity, added to any given here).
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// The backup volume: a PersistentVolumeClaim `synapse-backup`, or an existing one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupVolume {
    /// Requested size of `synapse-backup`, a Kubernetes quantity such as `20Gi`: room for
    /// `keep` copies of the database and the media store.
    pub size: String,
    /// StorageClass of `synapse-backup`; empty for the cluster's default.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub storage_class_name: String,
    /// An existing PersistentVolumeClaim of the stack's namespace to write the backups to
    /// (e.g. one on another storage system); `synapse-backup` is then not rendered. A
    /// ReadWriteOnce claim must be usable on Synapse's node, where the backup runs.
    #[schemars(extend("pattern" = crate::names::DNS_SUBDOMAIN, "maxLength" = 253))]
    pub existing_claim: String,
}

/// Config paths whose values are secrets: they only ever reach Secret objects, and no
/// diagnostic or log shows them.
pub const SECRET_PATHS: &[&str] = &[
    "synapse.database.postgresql.password",
    "synapse.recaptcha.siteKey",
    "synapse.recaptcha.secretKey",
    "synapse.registration_shared_secret",
    "synapse.signingKey",
    "synapse.workers.replicationSecret",
    "redis.password",
    "coturn.turn_shared_secret",
    "matrixrtc.livekit.key",
    "matrixrtc.livekit.secret",
];
