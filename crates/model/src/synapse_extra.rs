//! `synapse.extraConfig` and its companions: the homeserver.yaml keys matrix-render owns
//! (refused, with the setting that writes them), the values that look secret (refused inline:
//! `extraConfig` is rendered into a ConfigMap), and the secrets Synapse reads from a file, for
//! which an `existingSecret: {name, key}` reference may stand in.

use serde_json::{Map, Value};

use crate::config::Config;
use crate::diag::Diagnostic;
use crate::synapse_version::Version;

/// The config path of the free-form homeserver.yaml keys.
pub const EXTRA: &str = "synapse.extraConfig";
/// The config path of the secret homeserver.yaml keys.
pub const EXTRA_SECRET: &str = "synapse.extraSecretConfig";

/// Top-level homeserver.yaml keys matrix-render writes, with what writes them. A key here
/// in `extraConfig` would fight the setting (or break the pod: the listener the Service
/// routes to, the volume paths, the secrets' files).
pub const OWNED: &[(&str, &str)] = &[
    ("server_name", "`global.serverName` (or `global.domain`)"),
    ("public_baseurl", "`global.domain`"),
    ("pid_file", "matrix-render (a file on the data volume)"),
    ("report_stats", "`synapse.reportStats`"),
    (
        "listeners",
        "`synapse.port` (the one HTTP listener the Service and Ingress route to)",
    ),
    ("database", "`synapse.database`"),
    ("log_config", "`synapse.logLevel`"),
    (
        "media_store_path",
        "the data volume (sized by `synapse.storage`)",
    ),
    (
        "signing_key_path",
        "the data volume (the init container writes the key there)",
    ),
    (
        "signing_key",
        "the data volume (the init container writes the key there)",
    ),
    (
        "registration_shared_secret",
        "`synapse.registration_shared_secret`",
    ),
    (
        "registration_shared_secret_path",
        "`synapse.registration_shared_secret`",
    ),
    ("recaptcha_public_key", "`synapse.recaptcha.siteKey`"),
    ("recaptcha_public_key_path", "`synapse.recaptcha.siteKey`"),
    ("recaptcha_private_key", "`synapse.recaptcha.secretKey`"),
    (
        "recaptcha_private_key_path",
        "`synapse.recaptcha.secretKey`",
    ),
    ("enable_registration", "`synapse.registration.enabled`"),
    (
        "enable_registration_without_verification",
        "`synapse.registration.allowWithoutVerification`",
    ),
    (
        "enable_registration_captcha",
        "`synapse.registration.captchaEnabled`",
    ),
    (
        "registration_requires_token",
        "`synapse.registration.requiresToken`",
    ),
    ("auto_join_rooms", "`synapse.onboarding.autoJoinRooms`"),
    (
        "autocreate_auto_join_rooms",
        "`synapse.onboarding.autoCreateAutoJoinRooms`",
    ),
    (
        "autocreate_auto_join_rooms_federated",
        "`synapse.onboarding.autoJoinRoomsFederated`",
    ),
    (
        "auto_join_mxid_localpart",
        "`synapse.onboarding.autoJoinMxidLocalpart`",
    ),
    ("serve_server_wellknown", "`synapse.wellKnown.serveServer`"),
    (
        "federation_domain_whitelist",
        "`synapse.federation.whitelist`",
    ),
    (
        "allow_public_rooms_over_federation",
        "`synapse.publicRooms.allowOverFederation`",
    ),
    (
        "allow_public_rooms_without_auth",
        "`synapse.publicRooms.allowWithoutAuth`",
    ),
    (
        "room_list_publication_rules",
        "`synapse.moderation.roomListPublicationRules` (or \
         `synapse.publicRooms.requireAdminToPublish`)",
    ),
    (
        "alias_creation_rules",
        "`synapse.moderation.aliasCreationRules`",
    ),
    ("retention", "`synapse.retention`"),
    ("media_retention", "`synapse.mediaRetention`"),
    ("max_upload_size", "`synapse.media.maxUploadSize`"),
    ("url_preview_enabled", "`synapse.media.urlPreviewsEnabled`"),
    (
        "url_preview_ip_range_blacklist",
        "`synapse.media.urlPreviewIpRangeBlacklist`",
    ),
    (
        "url_preview_ip_range_whitelist",
        "`synapse.media.urlPreviewIpRangeWhitelist`",
    ),
    ("server_notices", "`synapse.serverNotices`"),
    ("app_service_config_files", "`synapse.appServices`"),
];

/// The TURN keys matrix-render writes while coturn is on (with coturn off, `extraConfig` may
/// point Synapse at another TURN server).
pub const OWNED_WITH_COTURN: &[&str] = &[
    "turn_uris",
    "turn_shared_secret",
    "turn_shared_secret_path",
    "turn_user_lifetime",
    "turn_allow_guests",
];

/// The keys matrix-render writes while workers run: the replication, the processes' names
/// and what each of them does.
pub const OWNED_WITH_WORKERS: &[&str] = &[
    "redis",
    "instance_map",
    "stream_writers",
    "worker_replication_secret",
    "worker_replication_secret_path",
    "federation_sender_instances",
    "send_federation",
    "pusher_instances",
    "start_pushers",
    "enable_media_repo",
    "media_instance_running_background_jobs",
    "update_user_directory_from_worker",
    "update_user_directory",
    "notify_appservices_from_worker",
    "notify_appservices",
    "run_background_tasks_on",
    "worker_app",
    "worker_name",
    "worker_listeners",
];

/// A secret Synapse reads from a file: in each item of the top-level list `list`, `key` may
/// be an `existingSecret: {name, key}` reference, which the render mounts as a file and names
/// in `option`.
#[derive(Debug)]
pub struct FileForm {
    /// The top-level list, e.g. `oidc_providers`.
    pub list: &'static str,
    /// The secret key in each item, e.g. `client_secret`.
    pub key: &'static str,
    /// The option that names the file instead, e.g. `client_secret_path`.
    pub option: &'static str,
    /// The first Synapse release that reads `option` (its changelog and config manual).
    pub since: Version,
}

/// Every secret of `extraConfig` that can come from an existing Secret.
pub const FILE_FORMS: &[FileForm] = &[FileForm {
    list: "oidc_providers",
    key: "client_secret",
    option: "client_secret_path",
    since: (1, 91, 0),
}];

/// The last words of key names whose values are secrets (`smtp_pass`, `client_secret`,
/// `macaroon_secret_key`, `as_token`, `password_config.pepper`, ...).
const SECRET_LAST_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "password",
    "passwd",
    "pass",
    "passphrase",
    "token",
    "key",
    "pepper",
    "credential",
    "credentials",
];

/// Whether a homeserver.yaml key holds a secret by its name: its last word is `secret`,
/// `password`, `pass`, `token`, `key`, ... (`trusted_key_servers` and
/// `refresh_token_lifetime` do not).
#[must_use]
pub fn is_secret_looking(key: &str) -> bool {
    crate::mask::words(key)
        .last()
        .is_some_and(|w| SECRET_LAST_WORDS.contains(&w.as_str()))
}

/// The secret key a `*_path` / `*_file` key names a file for (`client_secret_path` ->
/// `client_secret`), when that key looks secret.
fn secret_file_stem(key: &str) -> Option<&str> {
    let stem = key
        .strip_suffix("_path")
        .or_else(|| key.strip_suffix("_file"))?;
    is_secret_looking(stem).then_some(stem)
}

/// The Secret name and key of an `existingSecret: {name, key}` reference.
#[must_use]
pub fn reference(value: &Value) -> Option<(&str, &str)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let inner = map.get("existingSecret")?.as_object()?;
    let name = inner.get("name").and_then(Value::as_str).unwrap_or("");
    let key = inner.get("key").and_then(Value::as_str).unwrap_or("");
    Some((name, key))
}

/// Whether `value` is a map that mentions `existingSecret` (a reference, perhaps a broken
/// one).
fn mentions_reference(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|m| m.contains_key("existingSecret"))
}

/// The file form of `key` in an item of the top-level list `top`, if Synapse has one.
fn file_form(top: &str, in_list_item: bool, key: &str) -> Option<&'static FileForm> {
    in_list_item
        .then(|| FILE_FORMS.iter().find(|f| f.list == top && f.key == key))
        .flatten()
}

/// A secret of `extraConfig` that comes from an existing Secret through a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSecret {
    /// The top-level list (`oidc_providers`).
    pub list: &'static str,
    /// The item's index in it.
    pub index: usize,
    /// The secret key (`client_secret`).
    pub key: &'static str,
    /// The option that names the file (`client_secret_path`).
    pub option: &'static str,
    /// The existing Secret's name.
    pub secret: String,
    /// The key in its `data`.
    pub secret_key: String,
}

impl FileSecret {
    /// The file's name in the pod's secrets directory.
    #[must_use]
    pub fn file(&self) -> String {
        format!("extra.{}.{}.{}", self.list, self.index, self.key)
    }
}

/// Every `existingSecret` reference of `extraConfig` in a place Synapse reads from a file.
#[must_use]
pub fn file_secrets(extra: &Map<String, Value>) -> Vec<FileSecret> {
    let mut out = Vec::new();
    for form in FILE_FORMS {
        let Some(items) = extra.get(form.list).and_then(Value::as_array) else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            if let Some((name, key)) = item.get(form.key).and_then(reference) {
                out.push(FileSecret {
                    list: form.list,
                    index,
                    key: form.key,
                    option: form.option,
                    secret: name.to_owned(),
                    secret_key: key.to_owned(),
                });
            }
        }
    }
    out
}

/// Whether the render writes `option` (a [`FileForm::option`]) for this config.
#[must_use]
pub fn writes_option(c: &Config, option: &str) -> bool {
    file_secrets(&c.synapse.extra_config)
        .iter()
        .any(|s| s.option == option)
}

/// A DNS-1123 subdomain: what Kubernetes accepts as a Secret's or ConfigMap's name.
fn is_object_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A Secret or ConfigMap key: what Kubernetes accepts in `data`.
fn is_data_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Every problem with `synapse.extraConfig`, `extraSecretConfig`, `extraConfigSecrets` and
/// `appServices`, in a stable order.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let s = &c.synapse;
    let mut out = Vec::new();
    for (base, map) in [
        (EXTRA, &s.extra_config),
        (EXTRA_SECRET, &s.extra_secret_config),
    ] {
        for key in map.keys() {
            owned(&mut out, c, base, key);
        }
    }
    for (key, value) in &s.extra_config {
        let path = format!("{EXTRA}.{key}");
        inline_secrets(&mut out, &path, key, key, false, value);
    }
    for (key, value) in &s.extra_secret_config {
        let path = format!("{EXTRA_SECRET}.{key}");
        references_in_secret_config(&mut out, &path, value);
    }
    for (i, r) in s.extra_config_secrets.iter().enumerate() {
        let path = format!("synapse.extraConfigSecrets[{i}]");
        data_ref(&mut out, &path, &r.name, &r.key, "Secret");
    }
    let mut seen = Vec::new();
    for (i, a) in s.app_services.iter().enumerate() {
        let path = format!("synapse.appServices[{i}]");
        let kind = match a.kind {
            crate::config::AppServiceSource::Secret => "Secret",
            crate::config::AppServiceSource::ConfigMap => "ConfigMap",
        };
        data_ref(&mut out, &path, &a.name, &a.key, kind);
        let id = (a.kind, a.name.as_str(), a.key.as_str());
        if seen.contains(&id) {
            out.push(
                Diagnostic::error(
                    "duplicate-app-service",
                    path,
                    format!(
                        "the {kind} `{}` key `{}` is listed twice in `synapse.appServices`",
                        a.name, a.key
                    ),
                )
                .with_hint("list each registration file once"),
            );
        } else {
            seen.push(id);
        }
    }
    out
}

fn owned(out: &mut Vec<Diagnostic>, c: &Config, base: &str, key: &str) {
    let by = OWNED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, by)| *by)
        .or_else(|| {
            (c.coturn.enabled && OWNED_WITH_COTURN.contains(&key))
                .then_some("`coturn` (turn `coturn.enabled` off to use another TURN server)")
        })
        .or_else(|| {
            (c.synapse.workers.enabled && OWNED_WITH_WORKERS.contains(&key))
                .then_some("`synapse.workers` (its types' `replicas`)")
        });
    if let Some(by) = by {
        out.push(
            Diagnostic::error(
                "owned-key",
                format!("{base}.{key}"),
                format!("`{key}` in homeserver.yaml belongs to {by}; `{base}` cannot set it"),
            )
            .with_hint(if by.starts_with('`') {
                format!("remove `{key}` here and set {by} instead")
            } else {
                format!("remove `{key}` here: {by} decides it")
            }),
        );
    }
}

/// The hint for a secret at `path` (top-level section `top`) that cannot stay inline.
fn secret_hint(top: &str, form: Option<&FileForm>) -> String {
    let section = format!(
        "move it to `{EXTRA_SECRET}.{top}` (kept in .secrets.yaml; the whole `{top}` section is \
         then rendered into a Secret), or keep the `{top}` section in an existing Secret \
         listed in `synapse.extraConfigSecrets`"
    );
    match form {
        Some(f) => format!(
            "write `{}: {{existingSecret: {{name, key}}}}` (Synapse reads it from a file, \
             `{}`), or {section}",
            f.key, f.option
        ),
        None => section,
    }
}

/// Secret-looking values written inline, `*_path` keys naming secret files, and references
/// where Synapse reads no file.
fn inline_secrets(
    out: &mut Vec<Diagnostic>,
    path: &str,
    top: &str,
    key: &str,
    in_list_item: bool,
    value: &Value,
) {
    let form = file_form(top, in_list_item, key);
    if mentions_reference(value) {
        match (form, reference(value)) {
            (Some(_), Some((name, secret_key))) => {
                data_ref(
                    out,
                    &format!("{path}.existingSecret"),
                    name,
                    secret_key,
                    "Secret",
                );
            }
            (Some(_), None) => out.push(
                Diagnostic::error(
                    "bad-reference",
                    path,
                    "a reference to a Secret is `existingSecret: {name, key}` and nothing else",
                )
                .with_hint("write `existingSecret: {name: SECRET, key: KEY}` alone"),
            ),
            (None, _) => out.push(
                Diagnostic::error(
                    "no-file-form",
                    path,
                    format!(
                        "Synapse reads `{key}` here from no file, so an `existingSecret` \
                         reference cannot stand in for it"
                    ),
                )
                .with_hint(secret_hint(top, None)),
            ),
        }
        return;
    }
    let inline = match value {
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => true,
        _ => false,
    };
    if inline && is_secret_looking(key) {
        out.push(
            Diagnostic::error(
                "inline-secret",
                path,
                format!(
                    "`{key}` looks like a secret, and `{EXTRA}` is rendered into a ConfigMap, \
                     which anyone who may read the namespace's configuration can read"
                ),
            )
            .with_hint(secret_hint(top, form)),
        );
        return;
    }
    if let Some(stem) = secret_file_stem(key)
        && !value.is_null()
    {
        let form = file_form(top, in_list_item, stem);
        out.push(
            Diagnostic::error(
                "secret-file-path",
                path,
                format!(
                    "`{key}` names a file in the Synapse pod, where matrix-render mounts no \
                     such file"
                ),
            )
            .with_hint(format!(
                "give `{stem}` itself, not a path: {}",
                secret_hint(top, form)
            )),
        );
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                inline_secrets(out, &format!("{path}.{k}"), top, k, false, v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                match v {
                    Value::Object(map) => {
                        for (k, v) in map {
                            inline_secrets(out, &format!("{item_path}.{k}"), top, k, true, v);
                        }
                    }
                    other => inline_secrets(out, &item_path, top, key, false, other),
                }
            }
        }
        _ => {}
    }
}

/// `extraSecretConfig` is rendered as it is: a reference there would reach Synapse as a map.
fn references_in_secret_config(out: &mut Vec<Diagnostic>, path: &str, value: &Value) {
    if mentions_reference(value) {
        out.push(
            Diagnostic::error(
                "reference-in-secret-config",
                path,
                format!("`{EXTRA_SECRET}` holds the secret values themselves, not references"),
            )
            .with_hint(
                "write the value here (in .secrets.yaml), or keep the whole section in an \
                 existing Secret listed in `synapse.extraConfigSecrets`",
            ),
        );
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                references_in_secret_config(out, &format!("{path}.{k}"), v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                references_in_secret_config(out, &format!("{path}[{i}]"), v);
            }
        }
        _ => {}
    }
}

fn data_ref(out: &mut Vec<Diagnostic>, path: &str, name: &str, key: &str, kind: &str) {
    if name.is_empty() {
        out.push(
            Diagnostic::error(
                "missing-value",
                format!("{path}.name"),
                format!("the {kind} needs a `name`"),
            )
            .with_hint(format!("write the name of the {kind} in the namespace")),
        );
    } else if !is_object_name(name) {
        out.push(
            Diagnostic::error(
                "invalid-name",
                format!("{path}.name"),
                format!("`{name}` is not a valid {kind} name"),
            )
            .with_hint("use lowercase letters, digits, `-` and `.`"),
        );
    }
    if !is_data_key(key) {
        out.push(
            Diagnostic::error(
                "bad-data-key",
                format!("{path}.key"),
                format!("`{key}` is no key a {kind} can hold"),
            )
            .with_hint(
                "write the key of the file in its `data`: letters, digits, `-`, `_` and `.`",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_extra(extra: Value, secret: Value) -> Config {
        let values = [crate::load::NamedText {
            name: "v.yaml".to_owned(),
            text: "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                   coturn: {enabled: false}\n\
                   synapse: {registration_shared_secret: r, registration: {enabled: false, captchaEnabled: false}}\n"
                .to_owned(),
        }];
        let loaded = crate::load::load(crate::load::LoadInput {
            values: &values,
            ..Default::default()
        });
        let mut c = loaded
            .config
            .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics));
        c.synapse.extra_config = extra.as_object().cloned().unwrap_or_default();
        c.synapse.extra_secret_config = secret.as_object().cloned().unwrap_or_default();
        c
    }

    fn codes(d: &[Diagnostic]) -> Vec<(String, String)> {
        d.iter().map(|d| (d.code.clone(), d.path.clone())).collect()
    }

    #[test]
    fn secret_looking_keys_by_their_last_word() {
        for key in [
            "client_secret",
            "smtp_pass",
            "password",
            "macaroon_secret_key",
            "form_secret",
            "as_token",
            "admin_token",
            "pepper",
            "apiKey",
        ] {
            assert!(is_secret_looking(key), "{key}");
        }
        for key in [
            "trusted_key_servers",
            "refresh_token_lifetime",
            "suppress_key_server_warning",
            "smtp_user",
            "client_id",
            "client_secret_path",
            "key_file",
            "enabled",
        ] {
            assert!(!is_secret_looking(key), "{key}");
        }
    }

    #[test]
    fn owned_keys_are_refused_with_their_setting() {
        let c = with_extra(
            json!({"listeners": [], "database": {}, "email": {"smtp_host": "mail"}}),
            json!({"signing_key_path": "/x"}),
        );
        let d = check(&c);
        assert_eq!(
            codes(&d),
            [
                ("owned-key".into(), "synapse.extraConfig.listeners".into()),
                ("owned-key".into(), "synapse.extraConfig.database".into()),
                (
                    "owned-key".into(),
                    "synapse.extraSecretConfig.signing_key_path".into()
                ),
            ]
        );
        assert!(d[0].hint.as_deref().unwrap().contains("`synapse.port`"));
        assert!(d[1].hint.as_deref().unwrap().contains("`synapse.database`"));
    }

    #[test]
    fn turn_keys_are_owned_only_while_coturn_is_on() {
        let mut c = with_extra(json!({"turn_uris": ["turn:x"]}), json!({}));
        c.coturn.enabled = true;
        assert_eq!(check(&c).len(), 1);
        c.coturn.enabled = false;
        assert!(check(&c).is_empty());
    }

    #[test]
    fn inline_secrets_are_refused_with_the_way_in() {
        let c = with_extra(
            json!({
                "email": {"smtp_host": "mail", "smtp_pass": "hunter22", "enable_notifs": true},
                "oidc_providers": [
                    {"idp_id": "a", "client_id": "x", "client_secret": "s3cr3t"},
                    {"idp_id": "b", "client_secret": {"existingSecret": {"name": "oidc", "key": "secret"}}},
                    {"idp_id": "c", "client_secret_path": "/etc/secret"},
                ],
                "redis": {"password": {"existingSecret": {"name": "r", "key": "k"}}},
                "registration_requires_token_x": true,
                "smtp_pass": "",
            }),
            json!({"email": {"smtp_pass": "hunter22"}}),
        );
        let d = check(&c);
        assert_eq!(
            codes(&d),
            [
                (
                    "inline-secret".into(),
                    "synapse.extraConfig.email.smtp_pass".into()
                ),
                (
                    "inline-secret".into(),
                    "synapse.extraConfig.oidc_providers[0].client_secret".into()
                ),
                (
                    "secret-file-path".into(),
                    "synapse.extraConfig.oidc_providers[2].client_secret_path".into()
                ),
                (
                    "no-file-form".into(),
                    "synapse.extraConfig.redis.password".into()
                ),
            ]
        );
        let hint = |i: usize| d[i].hint.clone().unwrap();
        assert!(
            hint(0).contains("`synapse.extraSecretConfig.email`"),
            "{}",
            hint(0)
        );
        assert!(
            hint(1).contains("client_secret: {existingSecret"),
            "{}",
            hint(1)
        );
        assert!(
            hint(2).contains("client_secret: {existingSecret"),
            "{}",
            hint(2)
        );
        assert!(d.iter().all(|d| !d.message.contains("hunter22")
            && !d.message.contains("s3cr3t")
            && !d.hint.as_deref().unwrap_or("").contains("hunter22")));
    }

    #[test]
    fn references_are_found_only_where_synapse_reads_a_file() {
        let extra = json!({
            "oidc_providers": [
                {"idp_id": "a", "client_secret": {"existingSecret": {"name": "oidc", "key": "a"}}},
                {"idp_id": "b"},
                {"idp_id": "c", "client_secret": {"existingSecret": {"name": "oidc", "key": "c"}}},
            ],
            "email": {"smtp_pass": {"existingSecret": {"name": "mail", "key": "p"}}},
        });
        let found = file_secrets(extra.as_object().unwrap());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].file(), "extra.oidc_providers.0.client_secret");
        assert_eq!(
            (
                found[1].index,
                found[1].secret.as_str(),
                found[1].secret_key.as_str()
            ),
            (2, "oidc", "c")
        );
    }

    #[test]
    fn an_old_synapse_is_warned_about_the_client_secret_file() {
        let mut c = with_extra(
            json!({"oidc_providers": [{"client_secret": {"existingSecret": {"name": "sso", "key": "k"}}}]}),
            json!({}),
        );
        let options = |c: &Config, v| {
            crate::synapse_version::missing(c, v)
                .iter()
                .map(|r| r.option)
                .collect::<Vec<_>>()
        };
        assert!(options(&c, (1, 90, 0)).contains(&"client_secret_path"));
        assert!(!options(&c, FILE_FORMS[0].since).contains(&"client_secret_path"));
        c.synapse.extra_config = json!({"oidc_providers": [{"client_id": "x"}]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(!options(&c, (1, 90, 0)).contains(&"client_secret_path"));
    }

    #[test]
    fn a_reference_needs_its_name_and_key() {
        let c = with_extra(
            json!({"oidc_providers": [
                {"client_secret": {"existingSecret": {"name": "", "key": "k"}}},
                {"client_secret": {"existingSecret": {"name": "sso", "key": "a b"}}},
            ]}),
            json!({"email": {"smtp_pass": {"existingSecret": {"name": "m", "key": "k"}}}}),
        );
        assert_eq!(
            codes(&check(&c)),
            [
                (
                    "missing-value".into(),
                    "synapse.extraConfig.oidc_providers[0].client_secret.existingSecret.name"
                        .into()
                ),
                (
                    "bad-data-key".into(),
                    "synapse.extraConfig.oidc_providers[1].client_secret.existingSecret.key".into()
                ),
                (
                    "reference-in-secret-config".into(),
                    "synapse.extraSecretConfig.email.smtp_pass".into()
                ),
            ]
        );
    }
}
