//! Backups (`backup.enabled`): a CronJob `synapse-backup` that copies Synapse's database,
//! media store and signing key into a timestamped directory of a backup volume, and deletes
//! the oldest copies beyond `backup.keep`.
//!
//! - SQLite: the database is copied through SQLite's online backup API (Python's
//!   `sqlite3.Connection.backup`) while Synapse runs: a consistent copy, which copying the
//!   file (with its write-ahead log beside it) is not. It runs in Synapse's own image,
//!   whose Python has `sqlite3` and whose user owns the data.
//! - PostgreSQL: `pg_dump` (custom format) in `backup.postgresImage`, with the password
//!   Synapse uses, read from the same Secret (a file, exported to `pg_dump` alone).
//!
//! The data volume `synapse-data` is ReadWriteOnce: it can be mounted by pods of one node
//! only, the node Synapse runs on. The backup pod therefore asks for that node (a required
//! pod affinity to the Synapse pod, topology `kubernetes.io/hostname`) and mounts the volume
//! read-only: it never writes there, and SQLite opened read-only (`mode=ro`) takes only the
//! read locks that let Synapse go on writing. The backup volume (`synapse-backup`, or
//! `backup.volume.existingClaim`) is mounted read-write; a new ReadWriteOnce volume binds on
//! the node of its first pod, which is Synapse's.
//!
//! Each backup is `<volume>/<UTC time as YYYYMMDDTHHMMSSZ>/` holding `homeserver.db` (SQLite)
//! or `synapse.pgdump` (PostgreSQL), `<server name>.signing.key` and `media_store/`. It is
//! written as `.partial-<time>` and renamed when complete, so a directory with a time name
//! is always a whole backup. The README's "Backups and restore" gives the restore steps.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, KeyToPath, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodAffinity, PodAffinityTerm, PodSpec, PodTemplateSpec,
    SecretVolumeSource, Volume, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use matrix_render_model::Config;
use matrix_render_model::config::{ComponentRules, DatabaseKind, Image};

use crate::components::{self, Component};
use crate::objects::{
    App, Ctx, checkov_skips, container, container_security, empty_dir, mount, pod_security,
};
use crate::policies::{Egress, Flow};
use crate::synapse;

/// The CronJob, its NetworkPolicy and its pods' name.
pub const NAME: &str = "synapse-backup";
/// The backup volume's claim, unless `backup.volume.existingClaim` names one.
pub const PVC: &str = "synapse-backup";
/// Where the pod sees Synapse's data volume (as Synapse does) and the backup volume.
const DATA_DIR: &str = "/data";
const BACKUP_DIR: &str = "/backup";
/// Where the PostgreSQL password file is mounted.
const PASSWORD_DIR: &str = "/secrets/postgres";
/// Synapse's user and group, which own the data.
const UID: i64 = 991;
/// The node label every node carries with its own name.
const HOSTNAME: &str = "kubernetes.io/hostname";

/// The backup pod accepts no traffic; its egress is derived from its flows alone.
static NO_EXTRA_RULES: ComponentRules = ComponentRules {
    ingress: Vec::new(),
    egress: Vec::new(),
};

fn app() -> App {
    App::new(
        NAME,
        "backup",
        "backup",
        ("app.kubernetes.io/name", "synapse-backup"),
    )
}

/// The claim the backups are written to.
fn claim(c: &Config) -> &str {
    let existing = &c.backup.volume.existing_claim;
    if existing.is_empty() { PVC } else { existing }
}

/// The shell script of the backup container: `/bin/sh -c SCRIPT`. The paths are the
/// container's; the first lines name them, so that they can be read off.
#[must_use]
pub fn script(c: &Config) -> String {
    let server_name = c.global.server_name();
    let postgres = c.synapse.database.kind == DatabaseKind::Postgresql;
    let mut s = String::new();
    s.push_str("set -eu\n");
    s.push_str("umask 077\n");
    s.push_str(&format!("data={DATA_DIR}\n"));
    s.push_str(&format!("backups={BACKUP_DIR}\n"));
    s.push_str(&format!("keep={}\n", c.backup.keep));
    s.push_str(&format!("key='{server_name}.signing.key'\n"));
    s.push_str("stamp=$(date -u +%Y%m%dT%H%M%SZ)\n");
    s.push_str("part=\"$backups/.partial-$stamp\"\n");
    s.push_str(
        "if [ -e \"$backups/$stamp\" ]; then echo \"backup $stamp exists already\" >&2; exit 1; fi\n",
    );
    s.push_str("rm -rf \"$backups\"/.partial-*\n");
    s.push_str("mkdir \"$part\"\n");
    if postgres {
        s.push_str(&format!(
            "PGPASSWORD=$(cat {PASSWORD_DIR}/password) pg_dump --format=custom --no-owner \
             --file=\"$part/synapse.pgdump\"\n"
        ));
        s.push_str("echo \"database: pg_dump of $PGDATABASE on $PGHOST:$PGPORT\"\n");
    } else {
        // The online backup API: a consistent copy while Synapse writes, then a check of it.
        s.push_str(
            "python -c '\n\
             import pathlib, sqlite3, sys\n\
             src = sqlite3.connect(pathlib.Path(sys.argv[1]).as_uri() + \"?mode=ro\", uri=True)\n\
             dst = sqlite3.connect(sys.argv[2])\n\
             src.backup(dst)\n\
             src.close()\n\
             check = dst.execute(\"PRAGMA quick_check\").fetchone()[0]\n\
             dst.close()\n\
             sys.exit(0 if check == \"ok\" else \"the copy fails PRAGMA quick_check: \" + check)\n\
             ' \"$data/homeserver.db\" \"$part/homeserver.db\"\n",
        );
        s.push_str("echo \"database: homeserver.db copied through the SQLite backup API\"\n");
    }
    if c.synapse.signing_key.is_set() {
        // The key comes from `synapse.signingKey` (keep the secrets file); a key Synapse
        // generated on the volume before is copied too.
        s.push_str("if [ -e \"$data/$key\" ]; then cp -p \"$data/$key\" \"$part/$key\"; fi\n");
    } else {
        s.push_str("cp -p \"$data/$key\" \"$part/$key\"\n");
    }
    s.push_str(
        "if [ -d \"$data/media_store\" ]; then cp -R -p \"$data/media_store\" \"$part/media_store\"; \
         else mkdir \"$part/media_store\"; fi\n",
    );
    s.push_str("mv \"$part\" \"$backups/$stamp\"\n");
    s.push_str(
        "echo \"backup $stamp: $(find \"$backups/$stamp/media_store\" -type f | wc -l) media files, \
         signing key $key\"\n",
    );
    // Every backup's name is its time: the newest `keep` stay.
    s.push_str(
        "ls -1 \"$backups\" | grep -E '^[0-9]{8}T[0-9]{6}Z$' | sort -r | sed \"1,${keep}d\" |\n\
         while IFS= read -r old; do rm -rf \"${backups:?}/$old\"; echo \"deleted backup $old\"; done\n",
    );
    s
}

/// The CronJob, and the backup volume unless an existing claim is named.
pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let b = &c.backup;
    let postgres = c.synapse.database.kind == DatabaseKind::Postgresql;

    let image: &Image = if postgres {
        &b.postgres_image
    } else {
        &c.synapse.image
    };
    let mut main = container("backup", image);
    main.command = Some(vec!["/bin/sh".to_owned(), "-c".to_owned(), script(c)]);
    let mut mounts = vec![
        mount("data", DATA_DIR, true),
        mount("backup", BACKUP_DIR, false),
        mount("tmp", "/tmp", false),
    ];
    let mut volumes = vec![
        claim_volume("data", synapse::PVC),
        claim_volume("backup", claim(c)),
        empty_dir("tmp"),
    ];
    if postgres {
        let p = &c.synapse.database.postgresql;
        let env = |name: &str, value: String| EnvVar {
            name: name.to_owned(),
            value: Some(value),
            ..EnvVar::default()
        };
        main.env = Some(vec![
            env("PGHOST", p.host.clone()),
            env("PGPORT", p.port.to_string()),
            env("PGDATABASE", p.database.clone()),
            env("PGUSER", p.user.clone()),
            env("PGSSLMODE", p.sslmode.as_str().to_owned()),
        ]);
        // The password Synapse uses, from the same Secret, as a file: only `pg_dump`'s
        // environment gets it.
        if let Some(password) = synapse::secret_set(c).key_ref("POSTGRES_PASSWORD") {
            mounts.push(mount("postgres-password", PASSWORD_DIR, true));
            volumes.push(Volume {
                name: "postgres-password".to_owned(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(password.name),
                    items: Some(vec![KeyToPath {
                        key: password.key,
                        path: "password".to_owned(),
                        ..KeyToPath::default()
                    }]),
                    default_mode: Some(0o440),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            });
        }
    }
    main.volume_mounts = Some(mounts);
    main.security_context = Some(container_security(true, &[]));

    let mut template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(app.labels()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(false),
            security_context: Some(pod_security(Some(UID))),
            restart_policy: Some("Never".to_owned()),
            containers: vec![main],
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    };
    crate::scheduling::apply(&mut template, &b.pod, &app.selector);
    // On the node of the pod that mounts the data volume (Synapse's, or its media worker's),
    // whatever else the settings ask: the volume is ReadWriteOnce (see the module doc).
    let owner = if crate::workers::media_worker(c) {
        crate::workers::media_app()
    } else {
        synapse::app()
    };
    let on_synapses_node = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(owner.selector),
            ..LabelSelector::default()
        }),
        topology_key: HOSTNAME.to_owned(),
        ..PodAffinityTerm::default()
    };
    if let Some(pod) = template.spec.as_mut() {
        pod.affinity
            .get_or_insert_with(Affinity::default)
            .pod_affinity
            .get_or_insert_with(PodAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(on_synapses_node);
    }
    let mut meta = ctx.meta(NAME, &app);
    meta.annotations = Some(checkov_skips(
        template.spec.as_ref(),
        &[(
            "CKV_K8S_40",
            "UID 991 is the Synapse image's user and owns the data the backup reads",
        )],
    ));
    let cron_job = CronJob {
        metadata: meta,
        spec: Some(CronJobSpec {
            schedule: b.schedule.trim().to_owned(),
            // One backup at a time; a run missed by more than an hour waits for the next.
            concurrency_policy: Some("Forbid".to_owned()),
            starting_deadline_seconds: Some(3600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template,
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    };

    if b.volume.existing_claim.is_empty() {
        let v = &b.volume;
        let pvc = PersistentVolumeClaim {
            metadata: ctx.meta(PVC, &app),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
                storage_class_name: (!v.storage_class_name.is_empty())
                    .then(|| v.storage_class_name.clone()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".to_owned(),
                        Quantity(v.size.clone()),
                    )])),
                    ..VolumeResourceRequirements::default()
                }),
                ..PersistentVolumeClaimSpec::default()
            }),
            ..PersistentVolumeClaim::default()
        };
        ctx.push(&app, PVC, &pvc);
    }
    ctx.push(&app, NAME, &cron_job);
}

fn claim_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.to_owned(),
            ..PersistentVolumeClaimVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Backups in the registry: on with `backup.enabled`, in the stack's namespace.
pub const COMPONENT: Component = Component {
    name: "backup",
    enabled,
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts: components::no_hosts,
    ports: components::no_ports,
    secrets: None,
    images,
    metrics: crate::metrics::none,
    prerequisites,
    checks,
    host_ports: components::no_host_ports,
};

/// The backup settings' checks (schedule, retention, volume, image), made by the model.
fn checks(c: &Config, out: &mut Vec<matrix_render_model::Diagnostic>) {
    out.extend(matrix_render_model::backup::check(c));
}

fn enabled(c: &Config) -> bool {
    c.backup.enabled
}

/// No ingress; DNS, and the database when it is PostgreSQL (the egress rule of
/// [`Egress::Database`] exists only then).
fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow {
        app: app(),
        namespace: c.namespace.clone(),
        web_ports: Vec::new(),
        public_ports: Vec::new(),
        egress: vec![Egress::Dns, Egress::Database],
        extra: &NO_EXTRA_RULES,
        from_stack: Vec::new(),
    }]
}

/// A claim named by `backup.volume.existingClaim` is the operator's to create.
fn prerequisites(c: &Config) -> Vec<String> {
    let claim = &c.backup.volume.existing_claim;
    if claim.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "The PersistentVolumeClaim `{claim}` in namespace `{}` (backup.volume.existingClaim), \
         writable by group 991 and usable on the node Synapse runs on: the backups are written \
         to it.",
        c.namespace
    )]
}

/// The PostgreSQL client image; with SQLite the backup runs in `synapse.image`, which
/// Synapse declares.
fn images(c: &Config) -> Vec<(&'static str, &Image)> {
    vec![("backup.postgresImage", &c.backup.postgres_image)]
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::testing::{BASE, render_items};

    const ON: &str = "backup: {enabled: true}\n";
    const POSTGRES: &str = "backup: {enabled: true}\n\
        synapse: {database: {type: postgresql, postgresql: {host: db.example.internal, \
        database: synapse, user: synapse_user, password: pg-secret-0123}}}\n";

    fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
        items
            .iter()
            .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
    }

    fn pod(items: &[Value]) -> &Value {
        &find(items, "CronJob", super::NAME).expect("the CronJob")["spec"]["jobTemplate"]["spec"]["template"]
            ["spec"]
    }

    fn script(items: &[Value]) -> String {
        let command = &pod(items)["containers"][0]["command"];
        assert_eq!(command[0], "/bin/sh");
        assert_eq!(command[1], "-c");
        command[2].as_str().expect("the script").to_owned()
    }

    /// The rendered homeserver.yaml, parsed.
    fn homeserver(items: &[Value]) -> Value {
        let cm = find(items, "ConfigMap", crate::synapse::CONFIG_MAP).expect("Synapse's config");
        let text = cm["data"]["homeserver.yaml"]
            .as_str()
            .expect("homeserver.yaml");
        matrix_render_model::yaml::parse(text)
            .0
            .ok()
            .flatten()
            .expect("a document")
    }

    #[test]
    fn off_by_default_it_renders_nothing() {
        let items = render_items(BASE, "");
        assert!(
            items
                .iter()
                .all(|i| i["metadata"]["name"] != "synapse-backup"),
            "{items:#?}"
        );
    }

    #[test]
    fn sqlite_is_copied_through_the_backup_api_on_synapses_node_read_only() {
        let items = render_items(BASE, ON);
        let job = find(&items, "CronJob", "synapse-backup").expect("the CronJob");
        assert_eq!(job["metadata"]["namespace"], "matrix");
        assert_eq!(job["spec"]["schedule"], "17 3 * * *");
        assert_eq!(job["spec"]["concurrencyPolicy"], "Forbid");
        let pod = pod(&items);
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "matrixdotorg/synapse:v1.162.0");
        assert!(c.get("env").is_none());
        assert_eq!(
            c["volumeMounts"],
            json!([
                {"name": "data", "mountPath": "/data", "readOnly": true},
                {"name": "backup", "mountPath": "/backup"},
                {"name": "tmp", "mountPath": "/tmp"},
            ])
        );
        assert_eq!(
            pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "synapse-data"
        );
        assert_eq!(
            pod["volumes"][1]["persistentVolumeClaim"]["claimName"],
            "synapse-backup"
        );
        assert_eq!(
            pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!([{
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "synapse"}},
                "topologyKey": "kubernetes.io/hostname",
            }])
        );
        // Hardened like the other pods.
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["securityContext"]["runAsUser"], 991);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));

        let pvc = find(&items, "PersistentVolumeClaim", "synapse-backup").expect("its volume");
        assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "20Gi");
        assert_eq!(pvc["spec"]["accessModes"], json!(["ReadWriteOnce"]));

        let s = script(&items);
        assert!(s.contains(".backup(dst)"), "{s}");
        assert!(s.contains("\"?mode=ro\""), "{s}");
        assert!(s.contains("keep=7\n"), "{s}");
        assert!(!s.contains("pg_dump"), "{s}");
    }

    /// The script reads exactly the files homeserver.yaml puts on the data volume.
    #[test]
    fn the_script_copies_the_files_synapse_writes() {
        let items = render_items(
            BASE,
            "global: {serverName: example.com}\nbackup: {enabled: true}\n",
        );
        let hs = homeserver(&items);
        let s = script(&items);
        assert!(s.contains("data=/data\n"), "{s}");
        assert_eq!(hs["database"]["args"]["database"], "/data/homeserver.db");
        assert!(s.contains("\"$data/homeserver.db\""), "{s}");
        assert_eq!(hs["media_store_path"], "/data/media_store");
        assert!(s.contains("\"$data/media_store\""), "{s}");
        assert_eq!(hs["signing_key_path"], "/data/example.com.signing.key");
        assert!(s.contains("key='example.com.signing.key'\n"), "{s}");
    }

    #[test]
    fn postgresql_is_dumped_with_synapses_password_from_a_file() {
        let items = render_items(BASE, POSTGRES);
        let pod = pod(&items);
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "postgres:18.1-alpine");
        let env: Vec<(&str, &str)> = c["env"]
            .as_array()
            .expect("env")
            .iter()
            .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("PGHOST", "db.example.internal"),
                ("PGPORT", "5432"),
                ("PGDATABASE", "synapse"),
                ("PGUSER", "synapse_user"),
                ("PGSSLMODE", "prefer"),
            ]
        );
        let password = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == "postgres-password")
            .expect("the password volume");
        assert_eq!(
            password["secret"],
            json!({"secretName": "synapse-recaptcha", "items": [{"key": "POSTGRES_PASSWORD", "path": "password"}], "defaultMode": 0o440})
        );
        let s = script(&items);
        assert!(
            s.contains("PGPASSWORD=$(cat /secrets/postgres/password) pg_dump --format=custom"),
            "{s}"
        );
        assert!(!s.contains("sqlite3"), "{s}");
        // The media store and the signing key are on the data volume all the same.
        assert!(s.contains("\"$data/media_store\""), "{s}");

        let external = render_items(
            BASE,
            &POSTGRES.replace(
                "password: pg-secret-0123",
                "password: {existingSecret: {name: db-credentials, key: pw}}",
            ),
        );
        let volumes = &super::tests::pod(&external)["volumes"];
        assert_eq!(volumes[3]["secret"]["secretName"], "db-credentials");
        assert_eq!(volumes[3]["secret"]["items"][0]["key"], "pw");
    }

    #[test]
    fn its_network_policy_allows_dns_and_postgresql_only() {
        let egress = |extra: &str| {
            let items = render_items(BASE, extra);
            let np = find(&items, "NetworkPolicy", "synapse-backup").expect("its policy");
            assert_eq!(
                np["spec"]["podSelector"]["matchLabels"],
                json!({"app.kubernetes.io/name": "synapse-backup"})
            );
            assert_eq!(np["spec"]["ingress"], json!([]));
            np["spec"]["egress"].clone()
        };
        let sqlite = egress(ON);
        assert_eq!(sqlite.as_array().map(Vec::len), Some(1), "{sqlite:#}");
        assert_eq!(sqlite[0]["ports"][0]["port"], 53);
        let postgres = egress(POSTGRES);
        assert_eq!(postgres.as_array().map(Vec::len), Some(2), "{postgres:#}");
        assert_eq!(
            postgres[1]["ports"],
            json!([{"protocol": "TCP", "port": 5432}])
        );
    }

    #[test]
    fn an_existing_claim_is_a_prerequisite_of_the_plan() {
        let plan =
            |extra: &str| crate::plan::build(&crate::testing::config(BASE, extra)).prerequisites;
        let named = plan("backup: {enabled: true, volume: {existingClaim: nas-backups}}\n");
        assert!(
            named
                .iter()
                .any(|p| p
                    .starts_with("The PersistentVolumeClaim `nas-backups` in namespace `matrix`")),
            "{named:?}"
        );
        for without in [
            "backup: {enabled: true}\n",
            "backup: {volume: {existingClaim: nas-backups}}\n",
        ] {
            assert!(
                plan(without)
                    .iter()
                    .all(|p| !p.contains("PersistentVolumeClaim")),
                "{without}"
            );
        }
    }

    #[test]
    fn an_existing_claim_replaces_the_backup_volume() {
        let items = render_items(
            BASE,
            "backup: {enabled: true, keep: 3, schedule: '@daily', volume: {existingClaim: nas-backups}}\n",
        );
        assert!(find(&items, "PersistentVolumeClaim", "synapse-backup").is_none());
        assert_eq!(
            pod(&items)["volumes"][1]["persistentVolumeClaim"]["claimName"],
            "nas-backups"
        );
        assert_eq!(
            find(&items, "CronJob", "synapse-backup").unwrap()["spec"]["schedule"],
            "@daily"
        );
        assert!(script(&items).contains("keep=3\n"));
    }
}
