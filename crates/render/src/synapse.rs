//! Synapse: the complete homeserver.yaml (no runtime `generate` or merge), its log config,
//! the secrets it reads through `*_path` options, the data volume, Deployment, Service and
//! Ingress.

use crate::components::{self, Component, Host};
use crate::policies::{Egress, Flow};
use matrix_render_model::api::DnsTarget;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, HTTPGetAction, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSpec, Probe, Secret, Volume, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use matrix_render_model::config::{DatabaseKind, RuleAction};
use serde_json::{Map, Value, json};

use crate::objects::{
    App, Ctx, DataOrigin, DeploymentSpecParts, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, empty_dir, http_service, mount,
    pod_security, resources,
};
use crate::secrets::{SecretSet, projected_volume};
use crate::{coturn, ingress, yaml};

pub const CONFIG_MAP: &str = "synapse-extra-config";
pub const SECRET: &str = "synapse-recaptcha";
pub const PVC: &str = "synapse-data";
/// The Synapse image's own user and group.
const UID: i64 = 991;
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
        "homeserver",
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
    SecretSet::new(SECRET, &entries)
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let secret_set = secret_set(c);
    let turn_set = c.coturn.enabled.then(|| coturn::secret_set(c));

    let homeserver = homeserver_config(ctx, &secret_set);
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
    let secrets: Vec<&Secret> = sec.iter().chain(turn_secret.iter()).collect();
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
    let secrets_volume = projected_volume("secrets", projections);
    let mut mounts = vec![
        mount("data", "/data", false),
        mount("config", CONFIG_DIR, true),
        mount("tmp", "/tmp", false),
    ];
    if secrets_volume.is_some() {
        mounts.push(mount("secrets", SECRETS_DIR, true));
    }
    let mut volumes = vec![
        Volume {
            name: "data".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: PVC.to_owned(),
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        },
        config_map_volume("config", CONFIG_MAP),
        empty_dir("tmp"),
    ];
    volumes.extend(secrets_volume);

    let config_path = format!("{CONFIG_DIR}/homeserver.yaml");
    let mut init = container("generate-signing-key", &c.synapse.image);
    init.command = Some(
        [
            "python",
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            &config_path,
            "--generate-keys",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    init.volume_mounts = Some(mounts.clone());
    init.security_context = Some(container_security(true, &[]));
    init.resources = Some(resources("50m", "128Mi", "500m", "512Mi"));

    let mut main = container("synapse", &c.synapse.image);
    main.command = Some(
        [
            "python",
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            &config_path,
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    main.ports = Some(vec![container_port("http", c.synapse.port, "TCP")]);
    if let Some(password) = secret_set.key_ref(POSTGRES_PASSWORD) {
        // libpq reads the password from PGPASSWORD; Synapse has no file option for it.
        main.env = Some(vec![EnvVar {
            name: "PGPASSWORD".to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(password),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        }]);
    }
    main.volume_mounts = Some(mounts);
    main.security_context = Some(container_security(true, &[]));
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
                init_containers: Some(vec![init]),
                containers: vec![main],
                volumes: Some(volumes),
                ..PodSpec::default()
            },
        },
    );
    let svc = http_service(ctx, &app, c.synapse.port);
    ingress::expose(
        ctx,
        &app,
        "synapse",
        &c.global.domain,
        &c.ingress.hosts.synapse,
        &ingress::IngressOverrides::default(),
        &[ingress::Route::new("/", "synapse", c.synapse.port)],
    );

    ctx.push(&app, CONFIG_MAP, &cm);
    if let Some(sec) = &sec {
        ctx.push(&app, SECRET, sec);
    }
    ctx.push(&app, PVC, &pvc);
    ctx.push(&app, "synapse", &dep);
    ctx.push(&app, "synapse", &svc);
    // A pod mounts Secrets of its own namespace only: when coturn runs in the host-network
    // namespace, Synapse gets its own copy of the TURN shared secret, under the same name.
    if let Some(turn) = &turn_secret
        && c.coturn_namespace() != c.namespace
    {
        ctx.push(&coturn::app(), coturn::SECRET, turn);
    }
}

/// The checkov checks Synapse cannot pass, with the reasons.
fn synapse_skips(c: &Config) -> Vec<(&'static str, &'static str)> {
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
    insert(
        &mut m,
        "listeners",
        json!([{
            "port": s.port,
            "tls": false,
            "type": "http",
            "x_forwarded": true,
            "resources": [{"names": ["client", "federation"], "compress": false}],
        }]),
    );
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
    insert(
        &mut m,
        "signing_key_path",
        json!(format!("/data/{server_name}.signing.key")),
    );
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
};

/// DNS for the client and federation APIs, the public internet (federation and URL
/// previews name any port; push gateways and identity servers are public HTTPS), the
/// database.
fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow {
        egress: vec![Egress::Dns, Egress::Internet, Egress::Database],
        ..Flow::web(c, app(), &c.network_policies.extra_rules.synapse)
    }]
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
