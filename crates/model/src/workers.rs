//! Synapse's worker processes (`synapse.workers`) and Redis (`redis`), which carries their
//! replication: the settings, the table of worker types, and their checks.
//!
//! Each worker type is a group of identical processes of `synapse.app.generic_worker` that
//! take one share of the work: a set of endpoints the router sends them, a stream they
//! write, or a duty taken off the main process. The table [`TYPES`] says, for each, what it
//! is called in the settings and in the cluster, and whether Synapse allows more than one
//! process of it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Config, DatabaseKind, Image, SecretValue};
use crate::diag::Diagnostic;
use crate::pod::{PodSettings, Resources};
use crate::validate;

/// `synapse.workers`: the worker processes, the router in front of them, and the shared
/// settings of their pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workers {
    /// Run Synapse as a main process plus worker processes, with Redis for replication and
    /// a router (HAProxy) in front that sends each endpoint to the processes that serve
    /// it. Needs PostgreSQL, `synapse.signingKey`, `synapse.workers.replicationSecret` and
    /// `redis.password`.
    pub enabled: bool,
    /// The secret the processes authenticate replication requests with
    /// (`worker_replication_secret`; secret: keep it in .secrets.yaml).
    pub replication_secret: SecretValue,
    /// The router: HAProxy, which the Ingress or HTTPRoute of Synapse's host points at.
    pub router: Router,
    /// Generic client endpoints (room state and members, profiles, login and
    /// registration, keys, `/messages` sticky per room).
    pub client_reader: WorkerType,
    /// Federation endpoints; inbound transactions (`/send`) sticky per origin server.
    pub federation_reader: WorkerType,
    /// `/sync`, `/events`, `/initialSync` and sliding sync, sticky per user.
    pub synchrotron: WorkerType,
    /// Event creation (`/send`, `/state`, membership, redactions), sticky per room.
    pub event_creator: WorkerType,
    /// Writers of the `events` stream: events are persisted by room, sharded over them.
    pub event_persister: WorkerType,
    /// Writer of the `typing` stream (0 or 1).
    pub typing: WorkerType,
    /// Writer of the `to_device` stream (0 or 1).
    pub to_device: WorkerType,
    /// Writer of the `account_data` stream (0 or 1).
    pub account_data: WorkerType,
    /// Writers of the `receipts` stream.
    pub receipts: WorkerType,
    /// Writer of the `presence` stream (0 or 1).
    pub presence: WorkerType,
    /// Writer of the `push_rules` stream (0 or 1).
    pub push_rules: WorkerType,
    /// Writers of the `device_lists` stream.
    pub device_lists: WorkerType,
    /// Senders of outgoing federation traffic (`federation_sender_instances`).
    pub federation_sender: WorkerType,
    /// Senders of push notifications (`pusher_instances`).
    pub pusher: WorkerType,
    /// The media repository: uploads, downloads and thumbnails, for clients and
    /// federation (0 or 1: the only process that mounts the media store).
    pub media_repository: WorkerType,
    /// Updates the user directory and serves its search (0 or 1).
    pub user_directory: WorkerType,
    /// Sends events to application services (0 or 1).
    pub appservice: WorkerType,
    /// Runs the background tasks (0 or 1).
    pub background: WorkerType,
    /// Resources, scheduling and pod metadata of every worker pod (see [`PodSettings`]);
    /// a type's `resources` replaces `resources` here.
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// One worker type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkerType {
    /// How many processes of this type run (0: none; its work stays on the main process).
    #[schemars(range(max = 64))]
    pub replicas: u16,
    /// This type's container resources, instead of `synapse.workers.resources`; `null`
    /// for those.
    pub resources: Option<Resources>,
}

/// The router in front of Synapse's processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Router {
    /// HAProxy replicas (a PodDisruptionBudget keeps one up when more than one run).
    #[schemars(range(min = 1, max = 16))]
    pub replicas: u16,
    /// HAProxy image (2.6 or newer).
    pub image: Image,
    /// Resources, scheduling and pod metadata of the router's pods.
    #[serde(flatten)]
    pub pod: PodSettings,
}

/// `redis`: the Redis that carries Synapse's replication when workers run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redis {
    /// An external Redis server's host name or address; empty: a Redis Deployment
    /// `synapse-redis` is rendered in the stack's namespace (only while workers run).
    #[schemars(extend("pattern" = crate::names::DATABASE_HOST, "maxLength" = 253))]
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The password (secret): inline, or `existingSecret: {name, key}`. Required with
    /// workers; the rendered Redis requires it of every client.
    pub password: SecretValue,
    /// Connect over TLS (an external server that offers it).
    pub tls: bool,
    /// Image of the rendered Redis.
    pub image: Image,
    /// Resources, scheduling and pod metadata of the rendered Redis.
    #[serde(flatten)]
    pub pod: PodSettings,
}

impl Redis {
    /// Whether the stack renders its own Redis: workers on and no external host.
    #[must_use]
    pub fn in_cluster(&self, c: &Config) -> bool {
        c.synapse.workers.enabled && self.host.is_empty()
    }
}

/// What Synapse lets a worker type do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves the endpoints the router sends it.
    Endpoints,
    /// Writes these streams (`stream_writers`), and serves their endpoints.
    Writes(&'static [&'static str]),
    /// Takes a duty off the main process, named by this shared option (an instance list,
    /// or one instance name).
    Duty(&'static str),
}

/// One entry of [`TYPES`].
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Its key under `synapse.workers`.
    pub key: &'static str,
    /// Its name in the cluster: the StatefulSet and Service `synapse-<name>`, the pods
    /// (and worker names) `synapse-<name>-<i>`.
    pub name: &'static str,
    /// `synapse-<name>`: its StatefulSet, headless Service and NetworkPolicy.
    pub object: &'static str,
    pub role: Role,
    /// Whether Synapse allows more than one process of it.
    pub many: bool,
    /// Its settings.
    pub get: fn(&Workers) -> &WorkerType,
}

/// Every worker type, in the order they are rendered.
pub const TYPES: &[Kind] = &[
    Kind {
        key: "clientReader",
        name: "client-reader",
        object: "synapse-client-reader",
        role: Role::Endpoints,
        many: true,
        get: |w| &w.client_reader,
    },
    Kind {
        key: "federationReader",
        name: "federation-reader",
        object: "synapse-federation-reader",
        role: Role::Endpoints,
        many: true,
        get: |w| &w.federation_reader,
    },
    Kind {
        key: "synchrotron",
        name: "synchrotron",
        object: "synapse-synchrotron",
        role: Role::Endpoints,
        many: true,
        get: |w| &w.synchrotron,
    },
    Kind {
        key: "eventCreator",
        name: "event-creator",
        object: "synapse-event-creator",
        role: Role::Endpoints,
        many: true,
        get: |w| &w.event_creator,
    },
    Kind {
        key: "eventPersister",
        name: "event-persister",
        object: "synapse-event-persister",
        role: Role::Writes(&["events"]),
        many: true,
        get: |w| &w.event_persister,
    },
    Kind {
        key: "typing",
        name: "typing",
        object: "synapse-typing",
        role: Role::Writes(&["typing"]),
        many: false,
        get: |w| &w.typing,
    },
    Kind {
        key: "toDevice",
        name: "to-device",
        object: "synapse-to-device",
        role: Role::Writes(&["to_device"]),
        many: false,
        get: |w| &w.to_device,
    },
    Kind {
        key: "accountData",
        name: "account-data",
        object: "synapse-account-data",
        role: Role::Writes(&["account_data"]),
        many: false,
        get: |w| &w.account_data,
    },
    Kind {
        key: "receipts",
        name: "receipts",
        object: "synapse-receipts",
        role: Role::Writes(&["receipts"]),
        many: true,
        get: |w| &w.receipts,
    },
    Kind {
        key: "presence",
        name: "presence",
        object: "synapse-presence",
        role: Role::Writes(&["presence"]),
        many: false,
        get: |w| &w.presence,
    },
    Kind {
        key: "pushRules",
        name: "push-rules",
        object: "synapse-push-rules",
        role: Role::Writes(&["push_rules"]),
        many: false,
        get: |w| &w.push_rules,
    },
    Kind {
        key: "deviceLists",
        name: "device-lists",
        object: "synapse-device-lists",
        role: Role::Writes(&["device_lists"]),
        many: true,
        get: |w| &w.device_lists,
    },
    Kind {
        key: "federationSender",
        name: "federation-sender",
        object: "synapse-federation-sender",
        role: Role::Duty("federation_sender_instances"),
        many: true,
        get: |w| &w.federation_sender,
    },
    Kind {
        key: "pusher",
        name: "pusher",
        object: "synapse-pusher",
        role: Role::Duty("pusher_instances"),
        many: true,
        get: |w| &w.pusher,
    },
    Kind {
        key: "mediaRepository",
        name: "media-repository",
        object: "synapse-media-repository",
        role: Role::Duty("media_instance_running_background_jobs"),
        many: false,
        get: |w| &w.media_repository,
    },
    Kind {
        key: "userDirectory",
        name: "user-directory",
        object: "synapse-user-directory",
        role: Role::Duty("update_user_directory_from_worker"),
        many: false,
        get: |w| &w.user_directory,
    },
    Kind {
        key: "appservice",
        name: "appservice",
        object: "synapse-appservice",
        role: Role::Duty("notify_appservices_from_worker"),
        many: false,
        get: |w| &w.appservice,
    },
    Kind {
        key: "background",
        name: "background",
        object: "synapse-background",
        role: Role::Duty("run_background_tasks_on"),
        many: false,
        get: |w| &w.background,
    },
];

impl Kind {
    /// How many processes of it run (none unless workers are on).
    #[must_use]
    pub fn replicas(&self, c: &Config) -> u16 {
        if c.synapse.workers.enabled {
            (self.get)(&c.synapse.workers).replicas
        } else {
            0
        }
    }

    /// Its worker names, which are its pods' names.
    #[must_use]
    pub fn instances(&self, c: &Config) -> Vec<String> {
        (0..self.replicas(c))
            .map(|i| format!("{}-{i}", self.object))
            .collect()
    }
}

/// The worker types that run, with their replica counts.
pub fn running(c: &Config) -> impl Iterator<Item = (&'static Kind, u16)> + '_ {
    TYPES
        .iter()
        .map(move |k| (k, k.replicas(c)))
        .filter(|(_, n)| *n > 0)
}

/// The checks of the worker and Redis settings.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let w = &c.synapse.workers;
    let mut out = Vec::new();
    for kind in TYPES {
        let t = (kind.get)(w);
        if !kind.many && t.replicas > 1 {
            let why = if kind.key == "mediaRepository" {
                "the media store is one volume, mounted by one process"
            } else {
                "Synapse allows one process for it"
            };
            out.push(
                Diagnostic::error(
                    "too-many-replicas",
                    format!("synapse.workers.{}.replicas", kind.key),
                    format!("`{}` runs at most one process: {why}", kind.key),
                )
                .with_hint("set `replicas` to 0 or 1"),
            );
        }
        if let Some(r) = &t.resources {
            crate::pod::check_resources_at(&mut out, &format!("synapse.workers.{}", kind.key), r);
        }
    }
    if !w.enabled {
        return out;
    }
    if c.synapse.database.kind == DatabaseKind::Sqlite {
        out.push(
            Diagnostic::error(
                "workers-need-postgresql",
                "synapse.workers.enabled",
                "worker processes share one database, which SQLite cannot be",
            )
            .with_hint(
                "move the database to PostgreSQL first with `synapse_port_db` (README: \
                 \"From one process to many\"), then set `synapse.database.type: postgresql`",
            ),
        );
    }
    let mut secrets = Vec::new();
    validate::need_secret(
        &mut secrets,
        "synapse.signingKey",
        &c.synapse.signing_key,
        "Running workers (every process signs with the server's key)",
    );
    if !c.synapse.signing_key.is_set()
        && let Some(d) = secrets.pop()
    {
        secrets.push(d.with_hint(
            "copy the key Synapse generated into .secrets.yaml as `synapse.signingKey`: \
             `kubectl exec deploy/synapse -- cat /data/<server name>.signing.key` (a new \
             key would make other servers distrust what this server signed before)",
        ));
    }
    validate::need_secret(
        &mut secrets,
        "synapse.workers.replicationSecret",
        &w.replication_secret,
        "Running workers (the processes authenticate replication requests)",
    );
    validate::need_secret(
        &mut secrets,
        "redis.password",
        &c.redis.password,
        "Running workers (they replicate through Redis)",
    );
    // Shown at `synapse.workers.enabled` when the secrets file has no line for them.
    out.extend(
        secrets
            .into_iter()
            .map(|d| d.related(&["synapse.workers.enabled"])),
    );
    if c.redis.port == 0 {
        out.push(
            Diagnostic::error("out-of-range", "redis.port", "port 0 is not a TCP port")
                .with_hint("Redis listens on 6379 unless told otherwise"),
        );
    }
    if c.redis.host.contains(':') && c.redis.host.parse::<std::net::IpAddr>().is_err() {
        out.push(
            Diagnostic::error(
                "invalid-host",
                "redis.host",
                format!(
                    "`{}` is neither a host name nor an IPv6 address",
                    c.redis.host
                ),
            )
            .with_hint("give the port in `redis.port`, not in the host"),
        );
    }
    out
}
