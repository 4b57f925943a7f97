//! Synapse's part of the semantic checks: its database, media, retention, onboarding,
//! registration and secrets, and the oldest Synapse the rendered config needs.

use std::net::IpAddr;

use matrix_render_model::config::DatabaseKind;
use matrix_render_model::{Config, Diagnostic, validate};

/// Synapse's checks, in the order its settings are read.
pub fn checks(c: &Config, out: &mut Vec<Diagnostic>) {
    database(out, c);
    let avatar = &c.synapse.server_notices.room_avatar_url;
    if !avatar.is_empty() && !validate::is_mxc(avatar) {
        out.push(
            Diagnostic::error(
                "invalid-url",
                "synapse.serverNotices.roomAvatarUrl",
                format!("`{avatar}` is not an mxc:// URL"),
            )
            .with_hint("upload the image to Synapse and use its `mxc://server/media-id` URL"),
        );
    }
    url_preview_ranges(out, c);
    validate::port(out, "synapse.port", c.synapse.port);
    durations_and_sizes(out, c);
    matrix_ids(out, c);
    storage_and_replicas(out, c);
    secrets(out, c);
    registration(out, c);
    out.extend(matrix_render_model::synapse_version::check(c));
}

/// PostgreSQL's connection settings, when Synapse uses it.
fn database(out: &mut Vec<Diagnostic>, c: &Config) {
    let db = &c.synapse.database;
    if db.kind == DatabaseKind::Postgresql {
        validate::need(
            out,
            "synapse.database.postgresql.host",
            &db.postgresql.host,
            "the PostgreSQL host",
        );
        validate::need(
            out,
            "synapse.database.postgresql.database",
            &db.postgresql.database,
            "the PostgreSQL database name",
        );
        validate::need(
            out,
            "synapse.database.postgresql.user",
            &db.postgresql.user,
            "the PostgreSQL user",
        );
        let host = &db.postgresql.host;
        if host.contains(':') && host.parse::<IpAddr>().is_err() {
            out.push(
                Diagnostic::error(
                    "invalid-host",
                    "synapse.database.postgresql.host",
                    format!("`{host}` is neither a host name nor an IPv6 address"),
                )
                .with_hint("give the port in `synapse.database.postgresql.port`, not in the host")
                .related(&["synapse.database.postgresql.port"]),
            );
        }
        if db.postgresql.port == 0 {
            out.push(
                Diagnostic::error(
                    "out-of-range",
                    "synapse.database.postgresql.port",
                    "port 0 is not a TCP port",
                )
                .with_hint("PostgreSQL listens on 5432 unless told otherwise"),
            );
        }
        if db.postgresql.cp_min > db.postgresql.cp_max {
            out.push(
                Diagnostic::error(
                    "invalid-range",
                    "synapse.database.postgresql.cpMin",
                    format!(
                        "the pool's minimum ({}) is larger than its maximum ({})",
                        db.postgresql.cp_min, db.postgresql.cp_max
                    ),
                )
                .with_hint("make `cpMin` at most `cpMax`")
                .related(&["synapse.database.postgresql.cpMax"]),
            );
        }
    }
}

/// The address ranges URL previews may or may not fetch from.
fn url_preview_ranges(out: &mut Vec<Diagnostic>, c: &Config) {
    for (field, list) in [
        (
            "urlPreviewIpRangeBlacklist",
            &c.synapse.media.url_preview_ip_range_blacklist,
        ),
        (
            "urlPreviewIpRangeWhitelist",
            &c.synapse.media.url_preview_ip_range_whitelist,
        ),
    ] {
        for (i, cidr) in list.iter().enumerate() {
            if !validate::is_cidr(cidr) {
                out.push(
                    Diagnostic::error(
                        "invalid-cidr",
                        format!("synapse.media.{field}[{i}]"),
                        format!("`{cidr}` is not an IP range"),
                    )
                    .with_hint(
                        "write an address with a prefix length, such as `10.0.0.0/8` or `fc00::/7`",
                    ),
                );
            }
        }
    }
}

fn durations_and_sizes(out: &mut Vec<Diagnostic>, c: &Config) {
    let s = &c.synapse;
    let mut list = vec![
        (
            "synapse.mediaRetention.localMediaLifetime",
            &s.media_retention.local_media_lifetime,
        ),
        (
            "synapse.mediaRetention.remoteMediaLifetime",
            &s.media_retention.remote_media_lifetime,
        ),
    ];
    if s.retention.enabled {
        list.extend([
            (
                "synapse.retention.defaultPolicy.minLifetime",
                &s.retention.default_policy.min_lifetime,
            ),
            (
                "synapse.retention.defaultPolicy.maxLifetime",
                &s.retention.default_policy.max_lifetime,
            ),
            (
                "synapse.retention.allowedLifetimeMin",
                &s.retention.allowed_lifetime_min,
            ),
            (
                "synapse.retention.allowedLifetimeMax",
                &s.retention.allowed_lifetime_max,
            ),
        ]);
    }
    for (path, value) in list {
        if !value.is_empty() && !validate::is_duration(value) {
            out.push(
                Diagnostic::error(
                    "invalid-duration",
                    path,
                    format!("`{value}` is not a Synapse duration"),
                )
                .with_hint("write a number and a unit: `30d`, `12h`, `1y` (ms, s, m, h, d, w, y)"),
            );
        }
    }
    let size = &s.media.max_upload_size;
    if !validate::is_size(size) {
        out.push(
            Diagnostic::error(
                "invalid-size",
                "synapse.media.maxUploadSize",
                format!("`{size}` is not a Synapse size"),
            )
            .with_hint("write a number and an optional unit: `100M`, `2G` (K, M, G, T)"),
        );
    }
}

fn matrix_ids(out: &mut Vec<Diagnostic>, c: &Config) {
    let s = &c.synapse;
    for (i, alias) in s.onboarding.auto_join_rooms.iter().enumerate() {
        let ok = alias
            .strip_prefix('#')
            .or_else(|| alias.strip_prefix('!'))
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(local, server)| {
                !local.is_empty() && !server.is_empty() && !local.contains(char::is_whitespace)
            });
        if !ok {
            out.push(
                Diagnostic::error(
                    "invalid-room-alias",
                    format!("synapse.onboarding.autoJoinRooms[{i}]"),
                    format!("`{alias}` is not a room alias"),
                )
                .with_hint(format!(
                    "write `#name:{}` (quote it: `#` starts a YAML comment)",
                    c.global.domain
                )),
            );
        }
    }
    let mut local = |path: &str, value: &str| {
        if !value.is_empty() && !validate::is_localpart(value) {
            out.push(
                Diagnostic::error(
                    "invalid-localpart",
                    path,
                    format!("`{value}` is not a valid user localpart"),
                )
                .with_hint("use lowercase letters, digits and `._=-/+`, without `@` or `:server`"),
            );
        }
    };
    local(
        "synapse.onboarding.autoJoinMxidLocalpart",
        &s.onboarding.auto_join_mxid_localpart,
    );
    if s.server_notices.enabled {
        local(
            "synapse.serverNotices.systemMxidLocalpart",
            &s.server_notices.system_mxid_localpart,
        );
        if s.server_notices.system_mxid_localpart.is_empty() {
            out.push(
                Diagnostic::error(
                    "missing-value",
                    "synapse.serverNotices.systemMxidLocalpart",
                    "server notices need a sender",
                )
                .with_hint("set a localpart such as `notices`, or turn server notices off"),
            );
        }
    }
}

/// The data volume, and the one main process.
fn storage_and_replicas(out: &mut Vec<Diagnostic>, c: &Config) {
    let size = &c.synapse.storage.size;
    if !validate::is_quantity(size) {
        out.push(
            Diagnostic::error(
                "invalid-quantity",
                "synapse.storage.size",
                format!("`{size}` is not a Kubernetes quantity"),
            )
            .with_hint("write e.g. `10Gi` or `500Mi`"),
        );
    }
    let class = &c.synapse.storage.storage_class_name;
    if !class.is_empty() && !class.split('.').all(validate::is_dns_label) {
        out.push(
            Diagnostic::error(
                "invalid-name",
                "synapse.storage.storageClassName",
                format!("`{class}` is not a valid StorageClass name"),
            )
            .with_hint("use lowercase letters, digits, `-` and `.`"),
        );
    }
    validate::replicas(out, "synapse.replicas", c.synapse.replicas);
    if c.synapse.replicas > 1 {
        out.push(
            Diagnostic::error(
                "invalid-replicas",
                "synapse.replicas",
                format!(
                    "Synapse runs one main process whatever the database, not {} replicas",
                    c.synapse.replicas
                ),
            )
            .with_hint(
                "set `synapse.replicas: 1`; Synapse scales out with worker processes \
                 (`synapse.workers`, README: \"Scaling out\"), not with copies of the main \
                 process",
            ),
        );
    }
}

/// The secrets Synapse needs: the registration secret always, the database password with
/// PostgreSQL, the reCAPTCHA keys with captcha registration.
fn secrets(out: &mut Vec<Diagnostic>, c: &Config) {
    validate::need_secret(
        out,
        "synapse.registration_shared_secret",
        &c.synapse.registration_shared_secret,
        "admin registration (`register_new_matrix_user`)",
    );
    let db = &c.synapse.database;
    if db.kind == DatabaseKind::Postgresql {
        validate::need_secret(
            out,
            "synapse.database.postgresql.password",
            &db.postgresql.password,
            "PostgreSQL",
        );
    }
    let r = &c.synapse.registration;
    if r.enabled && r.captcha_enabled {
        validate::need_secret(
            out,
            "synapse.recaptcha.siteKey",
            &c.synapse.recaptcha.site_key,
            "registration with captcha",
        );
        validate::need_secret(
            out,
            "synapse.recaptcha.secretKey",
            &c.synapse.recaptcha.secret_key,
            "registration with captcha",
        );
    }
}

fn registration(out: &mut Vec<Diagnostic>, c: &Config) {
    let r = &c.synapse.registration;
    if !r.enabled || r.captcha_enabled || r.requires_token {
        return;
    }
    if r.allow_without_verification {
        out.push(
            Diagnostic::warning(
                "open-registration",
                "synapse.registration.allowWithoutVerification",
                "anyone can create accounts with no captcha, token or verification: expect spam bots",
            )
            .with_hint("turn on `captchaEnabled` or `requiresToken`")
            .related(&["synapse.registration.captchaEnabled", "synapse.registration.requiresToken"]),
        );
    } else {
        out.push(
            Diagnostic::error(
                "unverified-registration",
                "synapse.registration.enabled",
                "Synapse refuses to start with registration open and no captcha, token or verification",
            )
            .with_hint("turn on `captchaEnabled` or `requiresToken`, or turn registration off")
            .related(&[
                "synapse.registration.captchaEnabled",
                "synapse.registration.requiresToken",
                "synapse.registration.allowWithoutVerification",
            ]),
        );
    }
}

#[cfg(test)]
mod tests {
    use matrix_render_model::{LoadInput, NamedText, load};

    const BASE: &str = "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                        coturn: {realm: turn.example.org, turn_url: turn.example.org, turn_shared_secret: t}\n\
                        synapse: {registration_shared_secret: r, registration: {captchaEnabled: false, requiresToken: true}}\n";

    /// (code, path, line) of every error, with the components' checks.
    fn errors_of(texts: &[&str]) -> Vec<(String, String, Option<u32>)> {
        let values: Vec<NamedText> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| NamedText {
                name: format!("{i}.yaml"),
                text: (*text).to_owned(),
            })
            .collect();
        load(LoadInput {
            values: &values,
            checks: Some(crate::components::check),
            ..Default::default()
        })
        .diagnostics
        .into_iter()
        .filter(matrix_render_model::Diagnostic::is_error)
        .map(|d| (d.code, d.path, d.line))
        .collect()
    }

    fn paths(texts: &[&str]) -> Vec<String> {
        errors_of(texts)
            .into_iter()
            .map(|(_, path, _)| path)
            .collect()
    }

    #[test]
    fn a_misspelled_section_is_checked_as_the_one_it_resembles() {
        // Read as `registration`, the section turns the captcha off: no reCAPTCHA keys asked.
        let typo = "synapse:\n  registraton: {captchaEnabled: false, requiresToken: true}\n";
        let base = BASE.replace(
            "registration: {captchaEnabled: false, requiresToken: true}",
            "registration: {}",
        );
        assert_eq!(
            errors_of(&[&base, typo]),
            [(
                "unknown-key".to_owned(),
                "synapse.registraton".to_owned(),
                Some(2)
            )]
        );
        // A guess that the schema would refuse is not made: the defaults apply as before.
        let bad = "synapse:\n  registraton: {captchaEnabled: maybe}\n";
        let found = errors_of(&[&base, bad]);
        assert_eq!(found[0].1, "synapse.registraton");
        assert!(
            found
                .iter()
                .any(|(_, path, _)| path == "synapse.recaptcha.siteKey")
        );
    }

    #[test]
    fn postgresql_needs_its_connection_and_password() {
        assert_eq!(paths(&[BASE]), Vec::<String>::new());
        let pg = "synapse:\n  database: {type: postgresql, postgresql: {host: 'db:5432', database: '', user: '', cpMin: 9, cpMax: 3}}\n";
        assert_eq!(
            paths(&[BASE, pg]),
            [
                "synapse.database.postgresql.database",
                "synapse.database.postgresql.user",
                "synapse.database.postgresql.host",
                "synapse.database.postgresql.cpMin",
                "synapse.database.postgresql.password",
            ]
        );
    }

    #[test]
    fn captcha_registration_needs_both_recaptcha_keys() {
        let captcha = "synapse:\n  registration: {enabled: true, captchaEnabled: true}\n";
        assert_eq!(
            paths(&[BASE, captcha]),
            ["synapse.recaptcha.siteKey", "synapse.recaptcha.secretKey"]
        );
    }

    #[test]
    fn one_main_process_and_synapse_durations() {
        let extra = "synapse:\n  replicas: 2\n  mediaRetention: {localMediaLifetime: 90 days}\n";
        assert_eq!(
            paths(&[BASE, extra]),
            [
                "synapse.mediaRetention.localMediaLifetime",
                "synapse.replicas"
            ]
        );
    }
}
