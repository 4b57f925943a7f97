//! The object set: shared builders, labels, and install ordering.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    HTTPGetAction, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, Secret, SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::{ByteString, Resource};
use matrix_render_model::{Config, Diagnostic, limits};
use serde::Serialize;
use serde_json::Value;

use crate::checksum::{hmac_sha256_hex, secrets_key, sha256_hex};
use crate::tree::{Node, to_node};

/// One rendered object.
#[derive(Debug, Clone)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub component: &'static str,
    pub value: Node,
}

/// A workload's identity: its seed-compatible selector and its standard labels.
#[derive(Debug, Clone)]
pub struct App {
    /// `app.kubernetes.io/name`, also the object name of its Deployment and Service.
    pub name: &'static str,
    /// `app.kubernetes.io/component`.
    pub role: &'static str,
    /// The stack component the object belongs to (grouping in the preview).
    pub component: &'static str,
    /// The Deployment selector. Selectors are immutable, so these are the seed's own.
    pub selector: BTreeMap<String, String>,
}

impl App {
    pub fn new(
        name: &'static str,
        role: &'static str,
        component: &'static str,
        selector: (&str, &str),
    ) -> Self {
        Self {
            name,
            role,
            component,
            selector: BTreeMap::from([(selector.0.to_owned(), selector.1.to_owned())]),
        }
    }

    /// Selector labels plus the app.kubernetes.io/* set.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.selector.clone();
        for (k, v) in [
            ("app.kubernetes.io/name", self.name),
            ("app.kubernetes.io/component", self.role),
            ("app.kubernetes.io/part-of", "matrix-stack"),
            ("app.kubernetes.io/managed-by", "matrix-render"),
        ] {
            labels.insert(k.to_owned(), v.to_owned());
        }
        labels
    }
}

/// Collects objects while the components render.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub files: &'a BTreeMap<String, String>,
    objects: Vec<Object>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// The namespace the component being rendered lives in (see [`crate::namespaces`]).
    namespace: String,
    /// Where the data of some ConfigMaps and Secrets comes from, by object name.
    origins: Vec<(String, DataOrigin)>,
}

/// Where the data of a ConfigMap or Secret comes from: what the error names when the object
/// would be larger than Kubernetes accepts.
#[derive(Debug, Clone, Copy)]
pub struct DataOrigin {
    /// The config path that feeds it.
    pub path: &'static str,
    /// Each key is a file of the request under this prefix (`pages/`), if the data are files.
    pub file_prefix: Option<&'static str>,
    /// What the data are, for the hint: "the files of the static folder's `pages/`".
    pub what: &'static str,
    /// How to make it smaller, for the hint.
    pub fix: &'static str,
}

impl<'a> Ctx<'a> {
    /// A context with nothing rendered yet, in the stack's main namespace.
    #[must_use]
    pub fn new(config: &'a Config, files: &'a BTreeMap<String, String>) -> Self {
        Ctx {
            config,
            files,
            objects: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            namespace: config.namespace.clone(),
            origins: Vec::new(),
        }
    }

    /// Renders what follows into `namespace`.
    pub fn set_namespace(&mut self, namespace: &str) {
        namespace.clone_into(&mut self.namespace);
    }

    /// Records where the data of the ConfigMap or Secret `name` (of the current namespace)
    /// comes from; call it before pushing the object.
    pub fn data_origin(&mut self, name: &str, origin: DataOrigin) {
        self.origins.push((name.to_owned(), origin));
    }

    /// The objects rendered so far.
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// The namespace of the component being rendered.
    pub fn ns(&self) -> String {
        self.namespace.clone()
    }

    /// Metadata for a namespaced object of `app`.
    pub fn meta(&self, name: &str, app: &App) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.ns()),
            labels: Some(app.labels()),
            ..ObjectMeta::default()
        }
    }

    /// Adds a typed object.
    pub fn push<T: Resource + Serialize>(&mut self, app: &App, name: &str, object: &T) {
        match to_node(object) {
            Ok(node) => self.push_node(app, T::API_VERSION, T::KIND, name, node),
            Err(e) => self.errors.push(Diagnostic::error(
                "internal",
                "",
                format!("cannot serialize {} {name}: {e}", T::KIND),
            )),
        }
    }

    /// Adds an object built as JSON (custom resources without k8s-openapi types).
    pub fn push_value(
        &mut self,
        app: &App,
        api_version: &str,
        kind: &str,
        name: &str,
        value: Value,
    ) {
        self.push_node(app, api_version, kind, name, Node::from(value));
    }

    /// Adds a cluster-scoped typed object (a Namespace).
    pub fn push_cluster<T: Resource + Serialize>(&mut self, app: &App, name: &str, object: &T) {
        if kind_of(T::API_VERSION, T::KIND).is_none_or(|k| k.namespaced) {
            self.errors.push(Diagnostic::error(
                "internal",
                "",
                format!(
                    "{} {} {name} is not a cluster-scoped kind in the renderer's list of kinds",
                    T::API_VERSION,
                    T::KIND
                ),
            ));
            return;
        }
        match to_node(object) {
            Ok(value) => self.objects.push(Object {
                api_version: T::API_VERSION.to_owned(),
                kind: T::KIND.to_owned(),
                name: name.to_owned(),
                namespace: None,
                component: app.component,
                value,
            }),
            Err(e) => self.errors.push(Diagnostic::error(
                "internal",
                "",
                format!("cannot serialize {} {name}: {e}", T::KIND),
            )),
        }
    }

    fn push_node(&mut self, app: &App, api_version: &str, kind: &str, name: &str, value: Node) {
        // The prune documentation and its tests are derived from KINDS: a kind missing there
        // fails every render that emits it, so it cannot reach a release unnoticed.
        if kind_of(api_version, kind).is_none() {
            self.errors.push(Diagnostic::error(
                "internal",
                "",
                format!("{api_version} {kind} {name} is not in the renderer's list of kinds"),
            ));
            return;
        }
        if let Some(error) = self.data_too_large(kind, name, &value) {
            self.errors.push(error);
            return;
        }
        self.objects.push(Object {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: Some(self.ns()),
            component: app.component,
            value,
        });
    }
}

impl Ctx<'_> {
    /// The error for a ConfigMap or Secret whose data is larger than the API server accepts
    /// ([`limits::MAX_OBJECT_DATA_BYTES`]: the values' bytes, decoded for a Secret, keys not
    /// counted), naming its largest entries and, when recorded, where they come from.
    fn data_too_large(&self, kind: &str, name: &str, value: &Node) -> Option<Diagnostic> {
        let secret = match kind {
            "ConfigMap" => false,
            "Secret" => true,
            _ => return None,
        };
        // A Secret's `data` and any `binaryData` are base64; the API server counts the bytes
        // they decode to (a Secret's `stringData` joins its `data`).
        let mut sizes: Vec<(&str, usize)> = Vec::new();
        for (field, base64) in [
            ("data", secret),
            ("binaryData", true),
            ("stringData", false),
        ] {
            if let Some(Node::Map(entries)) = value.get(field) {
                for (key, v) in entries {
                    let len = match v {
                        Node::String(text) if base64 => base64_decoded_len(text),
                        Node::String(text) => text.len(),
                        _ => 0,
                    };
                    sizes.push((key.as_ref(), len));
                }
            }
        }
        let total: usize = sizes.iter().map(|(_, len)| len).sum();
        if total <= limits::MAX_OBJECT_DATA_BYTES {
            return None;
        }
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let (largest, largest_len) = sizes[0];
        let origin = self
            .origins
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, o)| *o);
        let message = format!(
            "the {kind} `{name}` would hold {total} bytes of data; Kubernetes refuses a {kind} \
             whose data is over {} MiB ({} bytes)",
            limits::MAX_OBJECT_DATA_BYTES / 1024 / 1024,
            limits::MAX_OBJECT_DATA_BYTES
        );
        let entries = sizes
            .iter()
            .take(3)
            .map(|(k, len)| format!("`{k}` ({len} bytes)"))
            .collect::<Vec<_>>()
            .join(", ");
        let diagnostic = match origin {
            Some(o) => {
                let d = Diagnostic::error("object-too-large", o.path, message).with_hint(format!(
                    "its data are {}; the largest: {entries}; {}",
                    o.what, o.fix
                ));
                match o.file_prefix {
                    Some(prefix) => d.at(format!("{prefix}{largest}"), None, None),
                    None => d,
                }
            }
            None => Diagnostic::error("object-too-large", "", message).with_hint(format!(
                "its largest entry is `{largest}` ({largest_len} bytes); shorten the settings \
                 that go into it"
            )),
        };
        Some(diagnostic)
    }
}

/// The bytes a base64 text decodes to.
fn base64_decoded_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// The user nginx runs as where the whole nginx config is ours (static pages, well-known):
/// any UID works, and a high one keeps clear of host users.
pub const NGINX_UID: i64 = 10101;

/// Renders every component and orders the result.
pub fn build(
    config: &Config,
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Object>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut ctx = Ctx::new(config, files);
    for component in crate::components::enabled(config) {
        ctx.set_namespace((component.namespace)(config));
        (component.objects)(&mut ctx);
    }
    crate::metrics::render(&mut ctx);
    ctx.set_namespace(&config.namespace);
    crate::policies::render(&mut ctx);
    ctx.set_namespace(&config.namespace);
    crate::namespaces::render(&mut ctx);
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }
    let mut objects = ctx.objects;
    objects.sort_by(|a, b| {
        (install_rank(&a.kind), &a.kind, &a.name, &a.namespace).cmp(&(
            install_rank(&b.kind),
            &b.kind,
            &b.name,
            &b.namespace,
        ))
    });
    Ok((objects, ctx.warnings))
}

/// An object's file name in `--output-dir`, without the extension: `NN-kind-name`, where
/// `NN` is the kind's place in Helm's install order (`00` Namespace, `01` NetworkPolicy,
/// `06` Secret, ... `29` Certificate), so the names sort in install order of the kinds
/// (within a kind by name, except that `element-static.yaml` sorts before `element.yaml`),
/// and a name depends on its object alone: turning a component on or off adds or removes
/// its files and renames none. An object outside the stack's namespace `stack` (the
/// host-network namespace) is `NN-kind-name_NAMESPACE`: the same kind and name can be in
/// both, and `_` is in no Kubernetes name.
pub(crate) fn file_stem(kind: &str, name: &str, namespace: Option<&str>, stack: &str) -> String {
    let rank = install_rank(kind);
    let kind = kind.to_ascii_lowercase();
    match namespace.filter(|ns| *ns != stack) {
        Some(namespace) => format!("{rank:02}-{kind}-{name}_{namespace}"),
        None => format!("{rank:02}-{kind}-{name}"),
    }
}

/// A kind of object the renderer can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// `apiVersion`, e.g. `apps/v1`; `v1` for the core group.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// Whether objects of this kind live in a namespace (the configured one).
    pub namespaced: bool,
    /// Whether the README's label-based prune (`kubectl apply --prune -l ...
    /// --prune-allowlist`) lists this kind.
    pub prune: Prune,
}

/// Whether a kind is in the documented prune allowlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Listed: an object of this kind that a render no longer produces is deleted.
    Allowed,
    /// Never listed, for the reason given.
    Never(&'static str),
}

impl Kind {
    /// The kind as `kubectl apply --prune-allowlist` spells it: `group/version/kind`, with
    /// `core` for the core group.
    #[must_use]
    pub fn group_version_kind(&self) -> String {
        match self.api_version.split_once('/') {
            Some((group, version)) => format!("{group}/{version}/{}", self.kind),
            None => format!("core/{}/{}", self.api_version, self.kind),
        }
    }
}

/// Every kind the renderer can emit, in install order. A render that builds an object of
/// any other kind fails with an internal error, so this list is complete; the README's prune
/// commands quote it and a test compares them.
pub const KINDS: &[Kind] = &[
    Kind {
        api_version: "v1",
        kind: "Namespace",
        namespaced: false,
        prune: Prune::Never(
            "deleting a Namespace deletes everything in it, the data volume and an ApplySet's \
             parent included",
        ),
    },
    Kind::namespaced("networking.k8s.io/v1", "NetworkPolicy"),
    Kind::namespaced("policy/v1", "PodDisruptionBudget"),
    Kind::namespaced("v1", "Secret"),
    Kind::namespaced("v1", "ConfigMap"),
    Kind {
        prune: Prune::Never(
            "the volume holds Synapse's database, media and signing key; every render has it, \
             so a prune that lists it could only ever delete it by mistake",
        ),
        ..Kind::namespaced("v1", "PersistentVolumeClaim")
    },
    Kind::namespaced("v1", "Service"),
    Kind::namespaced("apps/v1", "Deployment"),
    Kind::namespaced("apps/v1", "StatefulSet"),
    Kind::namespaced("batch/v1", "CronJob"),
    Kind::namespaced("traefik.io/v1alpha1", "Middleware"),
    Kind::namespaced("networking.k8s.io/v1", "Ingress"),
    Kind::namespaced("gateway.networking.k8s.io/v1", "HTTPRoute"),
    Kind::namespaced("cert-manager.io/v1", "Certificate"),
    Kind::namespaced("monitoring.coreos.com/v1", "ServiceMonitor"),
];

impl Kind {
    const fn namespaced(api_version: &'static str, kind: &'static str) -> Self {
        Self {
            api_version,
            kind,
            namespaced: true,
            prune: Prune::Allowed,
        }
    }
}

/// The entry of [`KINDS`] for an object, if there is one.
#[must_use]
pub fn kind_of(api_version: &str, kind: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.api_version == api_version && k.kind == kind)
}

/// Helm's install order; kinds it does not know come last, by kind name.
const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Middleware",
    "IngressClass",
    "Ingress",
    "HTTPRoute",
    "Certificate",
    "ServiceMonitor",
];

fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

// ---- builders shared by the components ------------------------------------------------

pub fn config_map(
    ctx: &Ctx<'_>,
    name: &str,
    app: &App,
    data: BTreeMap<String, String>,
) -> ConfigMap {
    ConfigMap {
        metadata: ctx.meta(name, app),
        data: Some(data),
        ..ConfigMap::default()
    }
}

pub fn secret(ctx: &Ctx<'_>, name: &str, app: &App, data: BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: ctx.meta(name, app),
        type_: Some("Opaque".to_owned()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// Checksum of the data of the ConfigMaps and Secrets a pod mounts: a plain SHA-256 when
/// the pod mounts no Secret data, otherwise an HMAC keyed by all of the stack's secrets, so
/// that the annotation gives away nothing about any secret (see [`crate::checksum`]).
pub fn config_checksum(ctx: &Ctx<'_>, config_maps: &[&ConfigMap], secrets: &[&Secret]) -> String {
    fn name(meta: &ObjectMeta) -> &[u8] {
        meta.name.as_deref().unwrap_or_default().as_bytes()
    }
    let maps = config_maps.iter().flat_map(|cm| {
        std::iter::once(name(&cm.metadata)).chain(
            cm.data
                .iter()
                .flatten()
                .flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()]),
        )
    });
    let has_secret_data = secrets
        .iter()
        .any(|s| s.data.as_ref().is_some_and(|d| !d.is_empty()));
    let secrets = secrets.iter().flat_map(|s| {
        std::iter::once(name(&s.metadata)).chain(
            s.data
                .iter()
                .flatten()
                .flat_map(|(k, v)| [k.as_bytes(), v.0.as_slice()]),
        )
    });
    if has_secret_data {
        let key = secrets_key(crate::secrets::stack_inline_values(ctx.config));
        hmac_sha256_hex(&key, maps.chain(secrets))
    } else {
        sha256_hex(maps.chain(secrets))
    }
}

pub struct ServicePortSpec {
    pub name: &'static str,
    pub port: u16,
    pub target: &'static str,
    pub protocol: &'static str,
}

pub fn service(ctx: &Ctx<'_>, app: &App, ports: &[ServicePortSpec]) -> Service {
    Service {
        metadata: ctx.meta(app.name, app),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(app.selector.clone()),
            ports: Some(
                ports
                    .iter()
                    .map(|p| ServicePort {
                        name: Some(p.name.to_owned()),
                        port: i32::from(p.port),
                        target_port: Some(IntOrString::String(p.target.to_owned())),
                        protocol: Some(p.protocol.to_owned()),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A Service with one TCP port named `http` that targets the pods' `http` port.
pub fn http_service(ctx: &Ctx<'_>, app: &App, port: u16) -> Service {
    service(
        ctx,
        app,
        &[ServicePortSpec {
            name: "http",
            port,
            target: "http",
            protocol: "TCP",
        }],
    )
}

pub struct DeploymentSpecParts<'s> {
    pub replicas: i32,
    /// checkov checks this workload cannot pass, each with the reason (no `=` in it).
    /// Image pinning is added by [`deployment`] itself.
    pub skips: Vec<(&'static str, &'static str)>,
    /// `Recreate` for workloads on a ReadWriteOnce volume or the host network.
    pub recreate: bool,
    pub checksum: String,
    pub pod: PodSpec,
    /// The component's resources, scheduling and pod metadata settings.
    pub settings: &'s matrix_render_model::config::PodSettings,
}

pub fn deployment(ctx: &Ctx<'_>, app: &App, parts: DeploymentSpecParts<'_>) -> Deployment {
    let mut pod = parts.pod;
    pod.automount_service_account_token = Some(false);
    if pod.security_context.is_none() {
        pod.security_context = Some(pod_security(None));
    }
    let mut meta = ctx.meta(app.name, app);
    let mut template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(app.labels()),
            annotations: Some(BTreeMap::from([(
                "checksum/config".to_owned(),
                parts.checksum,
            )])),
            ..ObjectMeta::default()
        }),
        spec: Some(pod),
    };
    crate::scheduling::apply(&mut template, parts.settings, &app.selector);
    let skips = checkov_skips(template.spec.as_ref(), &parts.skips);
    if !skips.is_empty() {
        meta.annotations = Some(skips);
    }
    Deployment {
        metadata: meta,
        spec: Some(DeploymentSpec {
            replicas: Some(parts.replicas),
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(app.selector.clone()),
                ..LabelSelector::default()
            },
            strategy: parts.recreate.then(|| DeploymentStrategy {
                type_: Some("Recreate".to_owned()),
                ..DeploymentStrategy::default()
            }),
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// `checkov.io/skipN` annotations: the workload's own exceptions, then image pinning, then
/// resources. Images pinned by tag only cannot pass the digest checks (and `IfNotPresent` is
/// right for them); a `latest` tag is the values' choice, already warned about by
/// `latest-tag`, and so is a request or limit the values removed (`cpu: null`).
pub fn checkov_skips(pod: Option<&PodSpec>, own: &[(&str, &str)]) -> BTreeMap<String, String> {
    let containers: Vec<&Container> = pod
        .into_iter()
        .flat_map(|p| p.init_containers.iter().flatten().chain(&p.containers))
        .collect();
    let images: Vec<&str> = containers
        .iter()
        .filter_map(|c| c.image.as_deref())
        .collect();
    let mut skips: Vec<(&str, &str)> = own.to_vec();
    if images.iter().any(|i| !i.contains('@')) {
        skips.push((
            "CKV_K8S_43",
            "images are pinned by version tag; set image.digest to pin them by digest",
        ));
        skips.push((
            "CKV_K8S_15",
            "a pinned version tag does not move, so IfNotPresent is safe; with image.digest checkov passes",
        ));
    }
    if images.iter().any(|i| {
        !i.contains('@')
            && (i.ends_with(":latest") || !i.rsplit('/').next().unwrap_or(i).contains(':'))
    }) {
        skips.push((
            "CKV_K8S_14",
            "the values choose the latest tag (matrix-render validate warns: latest-tag); pin a version",
        ));
    }
    for (check, kind, resource, reason) in [
        (
            "CKV_K8S_10",
            "requests",
            "cpu",
            "the values set no CPU request (resources.requests.cpu: null)",
        ),
        (
            "CKV_K8S_11",
            "limits",
            "cpu",
            "the values set no CPU limit (resources.limits.cpu: null)",
        ),
        (
            "CKV_K8S_12",
            "requests",
            "memory",
            "the values set no memory request (resources.requests.memory: null)",
        ),
        (
            "CKV_K8S_13",
            "limits",
            "memory",
            "the values set no memory limit (resources.limits.memory: null)",
        ),
    ] {
        let unset = containers.iter().any(|c| {
            let resources = c.resources.as_ref();
            let list = match kind {
                "requests" => resources.and_then(|r| r.requests.as_ref()),
                _ => resources.and_then(|r| r.limits.as_ref()),
            };
            list.is_none_or(|l| !l.contains_key(resource))
        });
        if unset {
            skips.push((check, reason));
        }
    }
    skips
        .into_iter()
        .enumerate()
        .map(|(i, (check, reason))| {
            (
                format!("checkov.io/skip{}", i + 1),
                format!("{check}={reason}"),
            )
        })
        .collect()
}

/// Pod-level security: a fixed non-root user when the image's is known (its group owning the
/// volumes, changed only when the volume's root does not match), seccomp always.
pub fn pod_security(user: Option<i64>) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: user.map(|_| true),
        run_as_user: user,
        run_as_group: user,
        fs_group: user,
        // Without it the kubelet re-owns every file of the volume at each start: minutes
        // for a large media store. The volume's root owned by the group means the rest is.
        fs_group_change_policy: user.map(|_| "OnRootMismatch".to_owned()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

/// Container-level security: no privilege escalation, no capabilities (plus those given).
pub fn container_security(read_only_root: bool, add: &[&str]) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(read_only_root),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: (!add.is_empty()).then(|| add.iter().map(|s| (*s).to_owned()).collect()),
        }),
        ..SecurityContext::default()
    }
}

pub fn resources(
    cpu_req: &str,
    mem_req: &str,
    cpu_lim: &str,
    mem_lim: &str,
) -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), q(cpu_req)),
            ("memory".to_owned(), q(mem_req)),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_owned(), q(cpu_lim)),
            ("memory".to_owned(), q(mem_lim)),
        ])),
        ..ResourceRequirements::default()
    }
}

/// A container with the image settings filled in.
pub fn container(name: &str, image: &matrix_render_model::config::Image) -> Container {
    Container {
        name: name.to_owned(),
        image: Some(image.reference()),
        image_pull_policy: Some(image.pull_policy.as_str().to_owned()),
        ..Container::default()
    }
}

/// An HTTP GET probe on the container's `http` port.
pub fn http_probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    }
}

/// A TCP probe on the container's `http` port.
pub fn tcp_probe() -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String("http".to_owned()),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    }
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

pub fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.to_owned(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// A Secret volume readable by the pod's group only.
pub fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_owned()),
            default_mode: Some(0o440),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

pub fn container_port(name: &str, port: u16, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: i32::from(port),
        protocol: Some(protocol.to_owned()),
        ..ContainerPort::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_of_an_unlisted_kind_fails_the_render() {
        let config = small_config();
        let files = BTreeMap::new();
        let mut ctx = empty_ctx(&config, &files);
        let app = App::new("synapse", "homeserver", "synapse", ("app", "synapse"));
        ctx.push_value(&app, "v1", "ConfigMap", "listed", Value::Null);
        ctx.push_value(&app, "batch/v1", "Job", "unlisted", Value::Null);
        ctx.push_value(&app, "v2", "ConfigMap", "other-version", Value::Null);
        let names: Vec<&str> = ctx.objects().iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["listed"]);
        assert_eq!(ctx.errors.len(), 2, "{:?}", ctx.errors);
        assert!(ctx.errors.iter().all(|e| e.code == "internal"));
    }

    fn small_config() -> Config {
        crate::testing::config(crate::testing::BASE, "")
    }

    /// A render context with nothing rendered yet.
    fn empty_ctx<'c>(config: &'c Config, files: &'c BTreeMap<String, String>) -> Ctx<'c> {
        Ctx::new(config, files)
    }

    /// The API server's rule: the values' bytes (a Secret's decoded) up to 1 MiB, keys not
    /// counted; one byte more is refused, for every ConfigMap and Secret.
    #[test]
    fn config_maps_and_secrets_over_1_mib_fail_the_render() {
        let config = small_config();
        let files = BTreeMap::new();
        let mut ctx = empty_ctx(&config, &files);
        let app = App::new("synapse", "homeserver", "synapse", ("app", "synapse"));
        let half = limits::MAX_OBJECT_DATA_BYTES / 2;
        let fits = BTreeMap::from([
            ("a".to_owned(), "x".repeat(half)),
            ("b".to_owned(), "y".repeat(half)),
        ]);
        let mut over = fits.clone();
        over.insert("c".to_owned(), "z".to_owned());
        let cm = config_map(&ctx, "fits", &app, fits.clone());
        ctx.push(&app, "fits", &cm);
        let secret_fits = secret(&ctx, "secret-fits", &app, fits);
        ctx.push(&app, "secret-fits", &secret_fits);
        assert!(ctx.errors.is_empty(), "{:?}", ctx.errors);
        let cm = config_map(&ctx, "over", &app, over.clone());
        ctx.push(&app, "over", &cm);
        let secret_over = secret(&ctx, "secret-over", &app, over);
        ctx.push(&app, "secret-over", &secret_over);
        let names: Vec<&str> = ctx.objects().iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["fits", "secret-fits"]);
        assert_eq!(ctx.errors.len(), 2, "{:?}", ctx.errors);
        let e = &ctx.errors[0];
        assert_eq!(e.code, "object-too-large");
        assert_eq!(
            e.message,
            "the ConfigMap `over` would hold 1048577 bytes of data; Kubernetes refuses a \
             ConfigMap whose data is over 1 MiB (1048576 bytes)"
        );
        assert!(
            e.hint
                .as_deref()
                .is_some_and(|h| h.contains("`a` (524288 bytes)"))
        );
        assert!(
            ctx.errors[1]
                .message
                .starts_with("the Secret `secret-over` would hold 1048577")
        );
        assert_eq!(base64_decoded_len("eHk="), 2);
        assert_eq!(base64_decoded_len("eA=="), 1);
        assert_eq!(base64_decoded_len("eHl6"), 3);
    }

    /// A static page too large for its ConfigMap is reported at the file it came from.
    #[test]
    fn a_static_page_over_1_mib_is_refused_at_its_file() {
        let config = small_config();
        let files = BTreeMap::from([
            ("pages/home.html".to_owned(), "<p>".repeat(700_000)),
            ("pages/rules.html".to_owned(), "<p>rules</p>".to_owned()),
            ("static-assets/logo.svg".to_owned(), "<svg/>".to_owned()),
        ]);
        let errors = build(&config, &files).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.code, "object-too-large");
        assert_eq!(e.path, "element.staticPages");
        assert_eq!(e.file.as_deref(), Some("pages/home.html"));
        assert!(
            e.message
                .starts_with("the ConfigMap `element-static-pages` would hold 2100012 bytes"),
            "{}",
            e.message
        );
        let hint = e.hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains("the files of the static folder's `pages/`"),
            "{hint}"
        );
        assert!(hint.contains("`home.html` (2100000 bytes)"), "{hint}");
    }

    #[test]
    fn the_kinds_are_listed_in_install_order_once_each() {
        let ranks: Vec<usize> = KINDS.iter().map(|k| install_rank(k.kind)).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
        assert!(ranks.iter().all(|r| *r < INSTALL_ORDER.len()));
        assert_eq!(
            KINDS
                .iter()
                .map(Kind::group_version_kind)
                .collect::<Vec<_>>()[..4],
            [
                "core/v1/Namespace",
                "networking.k8s.io/v1/NetworkPolicy",
                "policy/v1/PodDisruptionBudget",
                "core/v1/Secret"
            ]
        );
    }
}
