//! Synapse: the complete homeserver.yaml (no runtime `generate` or merge), its log config,
//! the secrets it reads through `*_path` options, the data volume, Deployment, Service and
//! Ingress.

mod checks;

use crate::components::{self, Component, Host};
use crate::policies::{Egress, Flow};
use matrix_render_model::api::DnsTarget;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec, Probe, Secret,
    SecretProjection, Volume, VolumeProjection, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use matrix_render_model::config::{AppServiceSource, DatabaseKind, RuleAction};
use matrix_render_model::synapse_extra;
use serde_json::{Map, Value, json};

use crate::objects::{
    App, Ctx, DataOrigin, DeploymentSpecParts, ServicePortSpec, config_checksum, config_map,
    config_map_volume, container, container_port, container_security, deployment, empty_dir, mount,
    pod_security, resources, service,
};
use crate::secrets::{SecretSet, projected_volume};
use crate::{coturn, ingress, yaml};

pub const CONFIG_MAP: &str = "synapse-extra-config";
pub const SECRET: &str = "synapse-recaptcha";
pub const PVC: &str = "synapse-data";
/// The Secret with the homeserver.yaml sections `synapse.extraSecretConfig` touches.
pub const SECRET_CONFIG: &str = "synapse-secret-config";
/// Its key, and the file name in the pod's secrets directory.
const SECRET_CONFIG_FILE: &str = "extra-secret-config.yaml";
/// Where the app service registration files are mounted.
const APPSERVICES_DIR: &str = "/appservices";
/// The Synapse image's own user and group.
pub const UID: i64 = 991;
/// The main process's `app.kubernetes.io/component`.
pub const ROLE: &str = "homeserver";
/// Files of the `secrets` volume the workers add.
pub const SIGNING_KEY: &str = "SIGNING_KEY";
pub const REPLICATION_SECRET: &str = "REPLICATION_SECRET";
pub const REDIS_PASSWORD: &str = "REDIS_PASSWORD";
const CONFIG_DIR: &str = "/config";
const SECRETS_DIR: &str = "/secrets/synapse";
/// Private and special-purpose ranges URL previews must never reach (Synapse requires a
/// list whenever previews are on).
const DEFAULT_PREVIEW_BLACKLIST: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "192.0.0.0/24",
    "169.254.0.0/16",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "2001:db8::/32",
    "ff00::/8",
    "fec0::/10",
];

pub fn app() -> App {
    App::new(
        "synapse",
        ROLE,
        "synapse",
        ("app.kubernetes.io/name", "synapse"),
    )
}

const POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";

/// Synapse's own secrets (the `synapse-recaptcha` Secret holds the inline ones).
pub fn secret_set(c: &Config) -> SecretSet<'_> {
    let s = &c.synapse;
    let postgres = s.database.kind == DatabaseKind::Postgresql;
    let mut entries = vec![
        (
            "RECAPTCHA_SITE_KEY",
            "synapse.recaptcha.siteKey",
            &s.recaptcha.site_key,
        ),
        (
            "RECAPTCHA_SECRET_KEY",
            "synapse.recaptcha.secretKey",
            &s.recaptcha.secret_key,
        ),
        (
            "REGISTRATION_SHARED_SECRET",
            "synapse.registration_shared_secret",
            &s.registration_shared_secret,
        ),
    ];
    if postgres {
        entries.push((
            POSTGRES_PASSWORD,
            "synapse.database.postgresql.password",
            &s.database.postgresql.password,
        ));
    }
    entries.push((SIGNING_KEY, "synapse.signingKey", &s.signing_key));
    if s.workers.enabled {
        entries.push((
            REPLICATION_SECRET,
            "synapse.workers.replicationSecret",
            &s.workers.replication_secret,
        ));
        entries.push((REDIS_PASSWORD, "redis.password", &c.redis.password));
    }
    SecretSet::new(SECRET, &entries)
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let secret_set = secret_set(c);
    let turn_set = c.coturn.enabled.then(|| coturn::secret_set(c));

    let (homeserver, secret_sections) = with_extra(homeserver_config(ctx, &secret_set), c);
    let data = BTreeMap::from([
        ("homeserver.yaml".to_owned(), yaml::document(&homeserver)),
        (
            "log.config".to_owned(),
            yaml::document(&log_config(c.synapse.log_level.as_str())),
        ),
    ]);
    ctx.data_origin(
        CONFIG_MAP,
        DataOrigin {
            path: "synapse.extraConfig",
            file_prefix: None,
            what: "Synapse's homeserver.yaml, which holds `synapse.extraConfig`",
            fix: "shorten `synapse.extraConfig`",
        },
    );
    let cm = config_map(ctx, CONFIG_MAP, &app, data);
    let sec = secret_set.object(ctx, &app);
    let turn_secret = turn_set
        .as_ref()
        .and_then(|t| t.object(ctx, &coturn::app()));
    let secret_config = (!secret_sections.is_empty()).then(|| {
        crate::objects::secret(
            ctx,
            SECRET_CONFIG,
            &app,
            BTreeMap::from([(
                SECRET_CONFIG_FILE.to_owned(),
                yaml::document(&Value::Object(secret_sections)),
            )]),
        )
    });
    let secrets: Vec<&Secret> = sec
        .iter()
        .chain(turn_secret.iter())
        .chain(secret_config.iter())
        .collect();
    let checksum = config_checksum(ctx, &[&cm], &secrets);

    let pvc = PersistentVolumeClaim {
        metadata: ctx.meta(PVC, &app),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            storage_class_name: (!c.synapse.storage.storage_class_name.is_empty())
                .then(|| c.synapse.storage.storage_class_name.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(c.synapse.storage.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };

    let mut projections = secret_set.projections(&[POSTGRES_PASSWORD]);
    projections.extend(turn_set.iter().flat_map(|t| t.projections(&[])));
    let extra_files = extra_config_files(c);
    projections.extend(
        extra_files
            .iter()
            .map(|(name, key, file)| secret_projection(name, key, file)),
    );
    let secrets_volume = projected_volume("secrets", projections);
    let appservices_volume = appservices_volume(c);
    let mut mounts = vec![
        mount("data", "/data", false),
        mount("config", CONFIG_DIR, true),
        mount("tmp", "/tmp", false),
    ];
    if secrets_volume.is_some() {
        mounts.push(mount("secrets", SECRETS_DIR, true));
    }
    if appservices_volume.is_some() {
        mounts.push(mount("appservices", APPSERVICES_DIR, true));
    }
    // The volumes every Synapse process mounts (the workers too), then the data volume:
    // the media worker's when one runs (it alone writes media), else the main process's.
    let data = if crate::workers::media_worker(c) {
        empty_dir("data")
    } else {
        Volume {
            name: "data".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: PVC.to_owned(),
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        }
    };
    let mut volumes = vec![
        data,
        config_map_volume("config", CONFIG_MAP),
        empty_dir("tmp"),
    ];
    volumes.extend(secrets_volume);
    volumes.extend(appservices_volume);
    let shared_volumes: Vec<Volume> = volumes
        .iter()
        .filter(|v| v.name != "data" && v.name != "tmp")
        .cloned()
        .collect();

    // homeserver.yaml first; each further file replaces the top-level sections it holds.
    let mut config_args = vec![
        "--config-path".to_owned(),
        format!("{CONFIG_DIR}/homeserver.yaml"),
    ];
    for (_, _, file) in extra_files.iter().filter(|(.., f)| f.ends_with(".yaml")) {
        config_args.extend(["--config-path".to_owned(), format!("{SECRETS_DIR}/{file}")]);
    }
    let homeserver_command = |extra: &[&str]| {
        ["python", "-m", "synapse.app.homeserver"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(config_args.iter().cloned())
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .collect::<Vec<_>>()
    };
    // Without a key from the Secret, Synapse generates one on the data volume once.
    let init = (!secret_set.has(SIGNING_KEY)).then(|| {
        let mut init = container("generate-signing-key", &c.synapse.image);
        init.command = Some(homeserver_command(&["--generate-keys"]));
        init.volume_mounts = Some(mounts.clone());
        init.security_context = Some(container_security(true, &[]));
        init.resources = Some(resources("50m", "128Mi", "500m", "512Mi"));
        init
    });

    let mut main = container("synapse", &c.synapse.image);
    main.command = Some(homeserver_command(&[]));
    let metrics_port = crate::metrics::port(c, &c.metrics.synapse);
    let workers = c.synapse.workers.enabled;
    main.ports = Some(
        std::iter::once(container_port("http", c.synapse.port, "TCP"))
            .chain(workers.then(|| {
                container_port(
                    crate::workers::REPLICATION,
                    crate::workers::REPLICATION_PORT,
                    "TCP",
                )
            }))
            .chain(metrics_port.map(|p| container_port(crate::metrics::PORT, p, "TCP")))
            .collect(),
    );
    // libpq reads the password from PGPASSWORD; Synapse has no file option for it.
    let env: Vec<EnvVar> = secret_set
        .key_ref(POSTGRES_PASSWORD)
        .map(|password| EnvVar {
            name: "PGPASSWORD".to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(password),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        })
        .into_iter()
        .collect();
    if !env.is_empty() {
        main.env = Some(env.clone());
    }
    let shared_mounts: Vec<_> = mounts
        .iter()
        .filter(|m| m.name != "data")
        .cloned()
        .collect();
    main.volume_mounts = Some(mounts);
    main.security_context = Some(container_security(true, &[]));
    health_probes(&mut main);

    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: synapse_skips(c),
            replicas: c.synapse.replicas,
            settings: &c.synapse.pod,
            recreate: true,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(UID))),
                init_containers: init.map(|i| vec![i]),
                containers: vec![main],
                volumes: Some(volumes),
                ..PodSpec::default()
            },
        },
    );
    let mut svc_ports = vec![ServicePortSpec {
        name: "http",
        port: c.synapse.port,
        target: "http",
        protocol: "TCP",
    }];
    if workers {
        svc_ports.push(ServicePortSpec {
            name: crate::workers::REPLICATION,
            port: crate::workers::REPLICATION_PORT,
            target: crate::workers::REPLICATION,
            protocol: "TCP",
        });
    }
    // Never routed: the Ingress and HTTPRoute name the `http` port.
    svc_ports.extend(metrics_port.map(|port| ServicePortSpec {
        name: crate::metrics::PORT,
        port,
        target: crate::metrics::PORT,
        protocol: "TCP",
    }));
    let svc = service(ctx, &app, &svc_ports);
    ingress::expose(
        ctx,
        &app,
        "synapse",
        &c.global.domain,
        &c.ingress.hosts.synapse,
        &ingress::IngressOverrides::default(),
        &[if workers {
            ingress::Route::new("/", crate::router::NAME, crate::router::PORT)
        } else {
            ingress::Route::new("/", "synapse", c.synapse.port)
        }],
    );

    ctx.push(&app, CONFIG_MAP, &cm);
    if let Some(sec) = &sec {
        ctx.push(&app, SECRET, sec);
    }
    if let Some(sec) = &secret_config {
        ctx.push(&app, SECRET_CONFIG, sec);
    }
    ctx.push(&app, PVC, &pvc);
    ctx.push(&app, "synapse", &dep);
    ctx.push(&app, "synapse", &svc);
    if workers {
        let parts = PodParts {
            volumes: shared_volumes,
            mounts: shared_mounts,
            config_args,
            env,
        };
        crate::workers::render(ctx, &parts, &[&cm], &secrets);
    }
    // A pod mounts Secrets of its own namespace only: when coturn runs in the host-network
    // namespace, Synapse gets its own copy of the TURN shared secret, under the same name.
    if let Some(turn) = &turn_secret
        && c.coturn_namespace() != c.namespace
    {
        ctx.push(&coturn::app(), coturn::SECRET, turn);
    }
}

/// A Synapse process's probes, on `/health` of its `http` port: five minutes to start, then
/// readiness every 10 s and liveness every 30 s.
pub(crate) fn health_probes(main: &mut k8s_openapi::api::core::v1::Container) {
    let health = |period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    main.startup_probe = Some(health(5, 60));
    main.readiness_probe = Some(health(10, 3));
    main.liveness_probe = Some(health(30, 5));
}

/// What every Synapse process's pod shares: the volumes and mounts of the config and the
/// secrets (not the data volume), the config files Synapse loads, and the env.
#[derive(Debug)]
pub struct PodParts {
    pub volumes: Vec<Volume>,
    pub mounts: Vec<k8s_openapi::api::core::v1::VolumeMount>,
    /// `--config-path FILE` for homeserver.yaml and each further file.
    pub config_args: Vec<String>,
    pub env: Vec<EnvVar>,
}

/// The Secret keys the Synapse pod reads beyond its own settings, as (Secret, key, file in
/// the secrets directory): the sections of `synapse.extraSecretConfig` (ours), each
/// `synapse.extraConfigSecrets` file (the operator's), and each OIDC client secret from an
/// existing Secret. The `.yaml` files are config files, in the order Synapse loads them.
fn extra_config_files(c: &Config) -> Vec<(String, String, String)> {
    let s = &c.synapse;
    let mut out = Vec::new();
    if !s.extra_secret_config.is_empty() {
        out.push((
            SECRET_CONFIG.to_owned(),
            SECRET_CONFIG_FILE.to_owned(),
            SECRET_CONFIG_FILE.to_owned(),
        ));
    }
    for (i, r) in s.extra_config_secrets.iter().enumerate() {
        out.push((
            r.name.clone(),
            r.key.clone(),
            format!("extra-config-{i}.yaml"),
        ));
    }
    for f in synapse_extra::file_secrets(&s.extra_config) {
        let file = f.file();
        out.push((f.secret, f.secret_key, file));
    }
    out
}

fn secret_projection(name: &str, key: &str, file: &str) -> VolumeProjection {
    VolumeProjection {
        secret: Some(SecretProjection {
            name: name.to_owned(),
            items: Some(vec![KeyToPath {
                key: key.to_owned(),
                path: file.to_owned(),
                ..KeyToPath::default()
            }]),
            ..SecretProjection::default()
        }),
        ..VolumeProjection::default()
    }
}

/// Where an app service registration is mounted, below [`APPSERVICES_DIR`].
fn appservice_file(kind: AppServiceSource, name: &str, key: &str) -> String {
    let kind = match kind {
        AppServiceSource::Secret => "secret",
        AppServiceSource::ConfigMap => "configmap",
    };
    format!("{kind}-{name}/{key}")
}

/// The app service registrations, each from its Secret or ConfigMap; `None` without any.
fn appservices_volume(c: &Config) -> Option<Volume> {
    let sources: Vec<VolumeProjection> = c
        .synapse
        .app_services
        .iter()
        .map(|a| {
            let items = Some(vec![KeyToPath {
                key: a.key.clone(),
                path: appservice_file(a.kind, &a.name, &a.key),
                ..KeyToPath::default()
            }]);
            match a.kind {
                AppServiceSource::Secret => VolumeProjection {
                    secret: Some(SecretProjection {
                        name: a.name.clone(),
                        items,
                        ..SecretProjection::default()
                    }),
                    ..VolumeProjection::default()
                },
                AppServiceSource::ConfigMap => VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: a.name.clone(),
                        items,
                        ..ConfigMapProjection::default()
                    }),
                    ..VolumeProjection::default()
                },
            }
        })
        .collect();
    projected_volume("appservices", sources)
}

/// `synapse.extraConfig` deep-merged last into `homeserver`, each OIDC client secret from an
/// existing Secret named by its file (`client_secret_path`); and, apart, every top-level
/// section `synapse.extraSecretConfig` touches, with its secrets merged in, whole: Synapse
/// merges config files by top-level key, so the Secret's file must carry the section entire.
fn with_extra(mut homeserver: Value, c: &Config) -> (Value, Map<String, Value>) {
    let s = &c.synapse;
    let mut extra = Value::Object(s.extra_config.clone());
    for f in synapse_extra::file_secrets(&s.extra_config) {
        if let Some(item) = extra
            .get_mut(f.list)
            .and_then(|list| list.get_mut(f.index))
            .and_then(Value::as_object_mut)
        {
            item.remove(f.key);
            item.insert(
                f.option.to_owned(),
                json!(format!("{SECRETS_DIR}/{}", f.file())),
            );
        }
    }
    crate::element::deep_merge(&mut homeserver, &extra);
    let mut secret = Map::new();
    if let Value::Object(m) = &mut homeserver {
        for (key, over) in &s.extra_secret_config {
            let mut section = m.remove(key).unwrap_or(Value::Null);
            crate::element::deep_merge(&mut section, over);
            secret.insert(key.clone(), section);
        }
    }
    (homeserver, secret)
}

/// The checkov checks Synapse cannot pass, with the reasons.
pub(crate) fn synapse_skips(c: &Config) -> Vec<(&'static str, &'static str)> {
    let mut skips = vec![(
        "CKV_K8S_40",
        "UID 991 is the Synapse image's user and owns the data on the existing synapse-data volume",
    )];
    if c.synapse.database.kind == DatabaseKind::Postgresql {
        skips.push((
            "CKV_K8S_35",
            "Synapse has no file option for the database password; libpq reads PGPASSWORD",
        ));
    }
    skips
}

/// What `/.well-known/matrix/client` announces beyond the homeserver: the MatrixRTC focus.
pub fn extra_client(c: &Config) -> Option<Map<String, Value>> {
    c.matrixrtc.enabled.then(|| {
        let url = crate::matrixrtc::jwt_service_url(c);
        let mut m = Map::new();
        m.insert(
            "org.matrix.msc4143.rtc_foci".to_owned(),
            json!([{"type": "livekit", "livekit_service_url": url}]),
        );
        m
    })
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Value) {
    map.insert(key.to_owned(), value);
}

/// The whole homeserver.yaml. Secrets are referenced by path, never inlined.
fn homeserver_config(ctx: &Ctx<'_>, secrets: &SecretSet<'_>) -> Value {
    let c = ctx.config;
    let s = &c.synapse;
    let domain = &c.global.domain;
    let mut m = Map::new();
    let server_name = c.global.server_name();
    insert(&mut m, "server_name", json!(server_name));
    insert(
        &mut m,
        "public_baseurl",
        json!(format!("https://{domain}/")),
    );
    insert(&mut m, "pid_file", json!("/data/homeserver.pid"));
    insert(&mut m, "report_stats", json!(s.report_stats));
    let mut listeners = vec![json!({
        "port": s.port,
        "tls": false,
        "type": "http",
        "x_forwarded": true,
        "resources": [{"names": ["client", "federation"], "compress": false}],
    })];
    if let Some(port) = crate::metrics::port(c, &c.metrics.synapse) {
        // A listener of its own (plain HTTP, `/_synapse/metrics`), on the pod's IPv4
        // address as Synapse's metrics guide has it; no route leads to it.
        listeners.push(json!({"type": "metrics", "port": port, "bind_addresses": ["0.0.0.0"]}));
    }
    if s.workers.enabled {
        // Replication requests from the workers; the Service names it, no route leads to it.
        listeners.push(json!({
            "port": crate::workers::REPLICATION_PORT,
            "tls": false,
            "type": "http",
            "resources": [{"names": ["replication"], "compress": false}],
        }));
    }
    insert(&mut m, "listeners", Value::Array(listeners));
    if crate::metrics::port(c, &c.metrics.synapse).is_some() {
        insert(&mut m, "enable_metrics", json!(true));
    }
    let database = match s.database.kind {
        DatabaseKind::Sqlite => {
            json!({"name": "sqlite3", "args": {"database": "/data/homeserver.db"}})
        }
        DatabaseKind::Postgresql => {
            let p = &s.database.postgresql;
            // No password here: libpq takes it from PGPASSWORD (set from the Secret).
            json!({"name": "psycopg2", "args": {
                "user": p.user,
                "dbname": p.database,
                "host": p.host,
                "port": p.port,
                "sslmode": p.sslmode.as_str(),
                "cp_min": p.cp_min,
                "cp_max": p.cp_max,
            }})
        }
    };
    insert(&mut m, "database", database);
    insert(
        &mut m,
        "log_config",
        json!(format!("{CONFIG_DIR}/log.config")),
    );
    insert(&mut m, "media_store_path", json!("/data/media_store"));
    // From the Secret when it is given (workers need it: every process signs), else the
    // key Synapse generated on the data volume at its first start.
    let signing_key = if secrets.has(SIGNING_KEY) {
        format!("{SECRETS_DIR}/{SIGNING_KEY}")
    } else {
        format!("/data/{server_name}.signing.key")
    };
    insert(&mut m, "signing_key_path", json!(signing_key));
    insert(
        &mut m,
        "trusted_key_servers",
        json!([{"server_name": "matrix.org"}]),
    );
    insert(&mut m, "suppress_key_server_warning", json!(true));

    // Registration.
    if secrets.has("REGISTRATION_SHARED_SECRET") {
        insert(
            &mut m,
            "registration_shared_secret_path",
            json!(format!("{SECRETS_DIR}/REGISTRATION_SHARED_SECRET")),
        );
    }
    insert(&mut m, "enable_registration", json!(s.registration.enabled));
    insert(
        &mut m,
        "enable_registration_without_verification",
        json!(s.registration.allow_without_verification),
    );
    insert(
        &mut m,
        "enable_registration_captcha",
        json!(s.registration.captcha_enabled),
    );
    if s.registration.captcha_enabled {
        if secrets.has("RECAPTCHA_SITE_KEY") {
            insert(
                &mut m,
                "recaptcha_public_key_path",
                json!(format!("{SECRETS_DIR}/RECAPTCHA_SITE_KEY")),
            );
        }
        if secrets.has("RECAPTCHA_SECRET_KEY") {
            insert(
                &mut m,
                "recaptcha_private_key_path",
                json!(format!("{SECRETS_DIR}/RECAPTCHA_SECRET_KEY")),
            );
        }
    }
    insert(
        &mut m,
        "registration_requires_token",
        json!(s.registration.requires_token),
    );

    // Onboarding.
    if !s.onboarding.auto_join_rooms.is_empty() {
        insert(
            &mut m,
            "auto_join_rooms",
            json!(s.onboarding.auto_join_rooms),
        );
        insert(
            &mut m,
            "autocreate_auto_join_rooms",
            json!(s.onboarding.auto_create_auto_join_rooms),
        );
        insert(
            &mut m,
            "autocreate_auto_join_rooms_federated",
            json!(s.onboarding.auto_join_rooms_federated),
        );
        if let Some(local) = non_empty(&s.onboarding.auto_join_mxid_localpart) {
            insert(&mut m, "auto_join_mxid_localpart", json!(local));
        }
    }

    // Well-known and federation.
    insert(
        &mut m,
        "serve_server_wellknown",
        // With delegation the server-name host answers; Synapse's own answer would name
        // the server name, not this host.
        json!(s.well_known.serve_server && !c.global.delegates()),
    );
    if let Some(extra) = extra_client(c) {
        insert(
            &mut m,
            "extra_well_known_client_content",
            Value::Object(extra),
        );
    }
    if !s.federation.whitelist.is_empty() {
        insert(
            &mut m,
            "federation_domain_whitelist",
            json!(s.federation.whitelist),
        );
    }

    // TURN.
    if c.coturn.enabled {
        let host = &c.coturn.turn_url;
        let port = c.coturn.listening_port;
        let tls = c.coturn.tls_listening_port;
        insert(
            &mut m,
            "turn_uris",
            json!([
                format!("turn:{host}:{port}?transport=udp"),
                format!("turn:{host}:{port}?transport=tcp"),
                format!("turns:{host}:{tls}?transport=tcp"),
            ]),
        );
        insert(
            &mut m,
            "turn_shared_secret_path",
            json!(format!("{SECRETS_DIR}/{}", coturn::SECRET_KEY)),
        );
        insert(&mut m, "turn_user_lifetime", json!(86_400_000));
        insert(&mut m, "turn_allow_guests", json!(true));
    }

    // Room directory.
    insert(
        &mut m,
        "allow_public_rooms_over_federation",
        json!(s.public_rooms.allow_over_federation),
    );
    insert(
        &mut m,
        "allow_public_rooms_without_auth",
        json!(s.public_rooms.allow_without_auth),
    );
    let publication = if s.moderation.room_list_publication_rules.is_empty() {
        let action = if s.public_rooms.require_admin_to_publish {
            RuleAction::Deny
        } else {
            RuleAction::Allow
        };
        json!([{"user_id": "*", "alias": "*", "room_id": "*", "action": action}])
    } else {
        json!(s.moderation.room_list_publication_rules)
    };
    insert(&mut m, "room_list_publication_rules", publication);
    if !s.moderation.alias_creation_rules.is_empty() {
        insert(
            &mut m,
            "alias_creation_rules",
            json!(s.moderation.alias_creation_rules),
        );
    }

    // Retention.
    if s.retention.enabled {
        let mut policy = Map::new();
        if let Some(v) = non_empty(&s.retention.default_policy.min_lifetime) {
            insert(&mut policy, "min_lifetime", json!(v));
        }
        if let Some(v) = non_empty(&s.retention.default_policy.max_lifetime) {
            insert(&mut policy, "max_lifetime", json!(v));
        }
        let mut retention = Map::new();
        insert(&mut retention, "enabled", json!(true));
        if !policy.is_empty() {
            insert(&mut retention, "default_policy", Value::Object(policy));
        }
        if let Some(v) = non_empty(&s.retention.allowed_lifetime_min) {
            insert(&mut retention, "allowed_lifetime_min", json!(v));
        }
        if let Some(v) = non_empty(&s.retention.allowed_lifetime_max) {
            insert(&mut retention, "allowed_lifetime_max", json!(v));
        }
        insert(&mut m, "retention", Value::Object(retention));
    }
    if s.media_retention.enabled {
        let mut mr = Map::new();
        if let Some(v) = non_empty(&s.media_retention.local_media_lifetime) {
            insert(&mut mr, "local_media_lifetime", json!(v));
        }
        if let Some(v) = non_empty(&s.media_retention.remote_media_lifetime) {
            insert(&mut mr, "remote_media_lifetime", json!(v));
        }
        insert(&mut m, "media_retention", Value::Object(mr));
    }

    // Media.
    insert(&mut m, "max_upload_size", json!(s.media.max_upload_size));
    insert(
        &mut m,
        "url_preview_enabled",
        json!(s.media.url_previews_enabled),
    );
    if s.media.url_previews_enabled {
        let mut blacklist: Vec<String> = DEFAULT_PREVIEW_BLACKLIST
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for extra in &s.media.url_preview_ip_range_blacklist {
            if !blacklist.contains(extra) {
                blacklist.push(extra.clone());
            }
        }
        insert(&mut m, "url_preview_ip_range_blacklist", json!(blacklist));
        if !s.media.url_preview_ip_range_whitelist.is_empty() {
            insert(
                &mut m,
                "url_preview_ip_range_whitelist",
                json!(s.media.url_preview_ip_range_whitelist),
            );
        }
    }

    // App services (bridges).
    if !s.app_services.is_empty() {
        let files: Vec<String> = s
            .app_services
            .iter()
            .map(|a| {
                format!(
                    "{APPSERVICES_DIR}/{}",
                    appservice_file(a.kind, &a.name, &a.key)
                )
            })
            .collect();
        insert(&mut m, "app_service_config_files", json!(files));
    }

    // Server notices.
    if s.server_notices.enabled {
        let n = &s.server_notices;
        let mut notices = Map::new();
        insert(
            &mut notices,
            "system_mxid_localpart",
            json!(n.system_mxid_localpart),
        );
        insert(&mut notices, "room_name", json!(n.room_name));
        if let Some(v) = non_empty(&n.room_avatar_url) {
            insert(&mut notices, "room_avatar_url", json!(v));
        }
        if let Some(v) = non_empty(&n.room_topic) {
            insert(&mut notices, "room_topic", json!(v));
        }
        insert(&mut notices, "auto_join", json!(n.auto_join));
        insert(&mut m, "server_notices", Value::Object(notices));
    }
    if let Some(shared) = crate::workers::shared_config(c, SECRETS_DIR) {
        m.extend(shared);
    }
    Value::Object(m)
}

/// Python logging config: everything to stdout at the configured level.
fn log_config(level: &str) -> Value {
    json!({
        "version": 1,
        "formatters": {
            "precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"}
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "precise", "stream": "ext://sys.stdout"}
        },
        "loggers": {"synapse.storage.SQL": {"level": "INFO"}},
        "root": {"level": level, "handlers": ["console"]},
        "disable_existing_loggers": false,
    })
}

/// Synapse in the registry: always on, in the stack's namespace.
pub const COMPONENT: Component = Component {
    name: "synapse",
    enabled: components::always,
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts,
    ports: components::no_ports,
    secrets: Some(secret_set),
    images,
    metrics,
    prerequisites: components::no_prerequisites,
    checks: checks::checks,
    host_ports: components::no_host_ports,
};

/// The ingress controller reaches the client and federation APIs (the router, with
/// workers); it sends DNS, the public internet (federation and URL
/// previews name any port; push gateways and identity servers are public HTTPS), the
/// database.
fn flows(c: &Config) -> Vec<Flow<'_>> {
    let web = Flow::web(c, app(), &c.network_policies.extra_rules.synapse);
    if !c.synapse.workers.enabled {
        return vec![Flow {
            egress: vec![Egress::Dns, Egress::Internet, Egress::Database],
            ..web
        }];
    }
    // With workers, HTTP comes through the router, replication from the other processes.
    vec![Flow {
        web_ports: Vec::new(),
        egress: crate::workers::EGRESS.to_vec(),
        from_stack: vec![
            (crate::router::pods(), vec!["http"]),
            (
                crate::workers::synapse_pods(),
                vec![crate::workers::REPLICATION],
            ),
        ],
        ..web
    }]
}

/// The metrics listener, with `metrics.synapse`.
fn metrics(c: &Config) -> Vec<crate::metrics::Endpoint> {
    crate::metrics::port(c, &c.metrics.synapse)
        .map(|port| crate::metrics::Endpoint {
            app: app(),
            namespace: c.namespace.clone(),
            port,
            path: "/_synapse/metrics",
        })
        .into_iter()
        .collect()
}

fn hosts(c: &Config) -> Vec<Host> {
    let wellknown_here = if c.global.delegates() {
        ""
    } else {
        " and /.well-known/matrix"
    };
    vec![Host {
        host: c.global.domain.clone(),
        target: DnsTarget::Ingress,
        serves: format!("synapse: client and federation API{wellknown_here}"),
        proxy: None,
    }]
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![("synapse.image", &c.synapse.image)]
}

#[cfg(test)]
mod tests {
    use crate::testing::{BASE, render_items};
    use serde_json::Value;

    const EXTRA: &str = "synapse:\n  extraConfig:\n    trusted_key_servers: []\n    \
        email:\n      smtp_host: smtp.example.org\n      smtp_port: 587\n    \
        extra_well_known_client_content:\n      io.example.flag: true\n    \
        oidc_providers:\n      - idp_id: keycloak\n        client_id: synapse\n        \
        client_secret:\n          existingSecret: {name: sso, key: keycloak}\n  \
        extraSecretConfig:\n    email:\n      smtp_pass: smtp-pass-0123\n  \
        extraConfigSecrets:\n    - {name: more-config, key: homeserver.yaml}\n  \
        appServices:\n    - {kind: Secret, name: telegram, key: registration.yaml}\n    \
        - {kind: ConfigMap, name: irc, key: irc.yaml}\n";

    fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
        items
            .iter()
            .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name}"))
    }

    fn yaml(text: &str) -> Value {
        matrix_render_model::yaml::parse(text)
            .0
            .expect("YAML")
            .expect("a document")
    }

    fn homeserver(items: &[Value]) -> Value {
        let cm = find(items, "ConfigMap", super::CONFIG_MAP);
        yaml(cm["data"]["homeserver.yaml"].as_str().unwrap())
    }

    /// Standard base64, as Kubernetes writes a Secret's `data`.
    fn base64(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for b in text.bytes().filter(|b| *b != b'=') {
            let v = ALPHABET.iter().position(|a| *a == b).expect("base64") as u32;
            bits = (bits << 6) | v;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn extra_config_is_merged_last_and_its_secrets_stay_out_of_the_config_map() {
        let items = render_items(BASE, EXTRA);
        let hs = homeserver(&items);
        // Replaced, merged and added keys.
        assert_eq!(hs["trusted_key_servers"], serde_json::json!([]));
        assert_eq!(
            hs["extra_well_known_client_content"]["io.example.flag"],
            true
        );
        let oidc = &hs["oidc_providers"][0];
        assert_eq!(oidc["client_id"], "synapse");
        assert!(oidc.get("client_secret").is_none(), "{oidc}");
        assert_eq!(
            oidc["client_secret_path"],
            "/secrets/synapse/extra.oidc_providers.0.client_secret"
        );
        // The email section moved whole into the Secret.
        assert!(hs.get("email").is_none(), "{hs}");
        let cm_text = serde_json::to_string(&find(&items, "ConfigMap", super::CONFIG_MAP)).unwrap();
        assert!(!cm_text.contains("smtp-pass-0123") && !cm_text.contains("smtp.example.org"));
        let secret = find(&items, "Secret", super::SECRET_CONFIG);
        let b64 = secret["data"][super::SECRET_CONFIG_FILE].as_str().unwrap();
        let email = yaml(&base64(b64));
        assert_eq!(
            email,
            serde_json::json!({"email": {"smtp_host": "smtp.example.org", "smtp_port": 587, "smtp_pass": "smtp-pass-0123"}})
        );
        assert_eq!(
            hs["app_service_config_files"],
            serde_json::json!([
                "/appservices/secret-telegram/registration.yaml",
                "/appservices/configmap-irc/irc.yaml"
            ])
        );
    }

    #[test]
    fn the_pod_loads_every_config_file_and_mounts_every_reference() {
        let items = render_items(BASE, EXTRA);
        let dep = find(&items, "Deployment", "synapse");
        let pod = &dep["spec"]["template"]["spec"];
        let command = |c: &Value| -> Vec<String> {
            c["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect()
        };
        let main = command(&pod["containers"][0]);
        assert_eq!(
            main[3..],
            [
                "--config-path",
                "/config/homeserver.yaml",
                "--config-path",
                "/secrets/synapse/extra-secret-config.yaml",
                "--config-path",
                "/secrets/synapse/extra-config-0.yaml",
            ]
        );
        let init = command(&pod["initContainers"][0]);
        assert_eq!(init[3..init.len() - 1], main[3..]);
        let volumes = pod["volumes"].as_array().unwrap();
        let projected = |name: &str| {
            volumes.iter().find(|v| v["name"] == name).unwrap()["projected"]["sources"]
                .as_array()
                .unwrap()
                .clone()
        };
        let secrets = serde_json::to_string(&projected("secrets")).unwrap();
        for needle in [
            r#""name":"sso""#,
            r#""key":"keycloak","path":"extra.oidc_providers.0.client_secret""#,
            r#""name":"more-config""#,
            r#""path":"extra-config-0.yaml""#,
            r#""name":"synapse-secret-config""#,
        ] {
            assert!(secrets.contains(needle), "{needle}: {secrets}");
        }
        let apps = projected("appservices");
        assert_eq!(apps[0]["secret"]["name"], "telegram");
        assert_eq!(apps[1]["configMap"]["name"], "irc");
        assert_eq!(
            apps[1]["configMap"]["items"][0]["path"],
            "configmap-irc/irc.yaml"
        );
        let mounts = pod["containers"][0]["volumeMounts"].to_string();
        assert!(mounts.contains(r#""mountPath":"/appservices""#), "{mounts}");
    }

    #[test]
    fn without_extras_nothing_changes_in_the_pod() {
        let items = render_items(BASE, "");
        assert!(
            !items
                .iter()
                .any(|i| i["metadata"]["name"] == super::SECRET_CONFIG)
        );
        let dep = find(&items, "Deployment", "synapse");
        let pod = &dep["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["command"].as_array().unwrap().len(), 5);
        assert!(!pod["volumes"].to_string().contains("appservices"));
    }
}

#[cfg(test)]
mod key_tests {
    use crate::testing::{BASE, config_file, render_items};
    use serde_json::Value;

    fn homeserver(extra: &str) -> (Value, String) {
        let items = render_items(BASE, extra);
        let text = config_file(&items, "synapse-extra-config", "homeserver.yaml").to_owned();
        let value: Value = serde_yaml::from_str(&text).expect("homeserver.yaml parses");
        (value, text)
    }

    #[test]
    fn homeserver_yaml_names_the_server_and_reads_secrets_from_files() {
        let (hs, text) = homeserver("");
        assert_eq!(hs["server_name"], "matrix.example.com");
        assert_eq!(hs["public_baseurl"], "https://matrix.example.com/");
        assert!(hs["registration_shared_secret_path"].is_string());
        assert!(hs.get("registration_shared_secret").is_none());
        assert!(!text.contains("reg-0123456789abcdef"), "{text}");
        // Delegated: user IDs carry the server name, clients still reach Synapse's host.
        let (hs, _) = homeserver("global: {serverName: example.com}\n");
        assert_eq!(hs["server_name"], "example.com");
        assert_eq!(hs["public_baseurl"], "https://matrix.example.com/");
    }

    #[test]
    fn turn_keys_follow_coturn() {
        let (hs, _) = homeserver("coturn: {listeningPort: 3479, tlsListeningPort: 5350}\n");
        assert_eq!(
            hs["turn_uris"],
            serde_json::json!([
                "turn:turn.example.com:3479?transport=udp",
                "turn:turn.example.com:3479?transport=tcp",
                "turns:turn.example.com:5350?transport=tcp",
            ])
        );
        assert!(hs["turn_shared_secret_path"].is_string());
        let (hs, _) = homeserver("coturn: {enabled: false}\n");
        assert!(hs.get("turn_uris").is_none() && hs.get("turn_shared_secret_path").is_none());
    }
}
