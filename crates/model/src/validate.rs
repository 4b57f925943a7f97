//! Semantic checks on a typed config: what the types cannot say. Each finding names the
//! config path; the loader adds the file, line and column.
//!
//! The checks of the stack as a whole are here; each component's own (its settings, what it
//! needs when it runs) are declared in its module of the renderer, which runs them through
//! [`ComponentChecks`], with the rules they share (a host name, a port, a URL, an image, a
//! secret, the host ports that may not collide) from here.

use std::net::IpAddr;

use crate::config::{Config, Image, RoutingMode, SecretValue};
use crate::diag::Diagnostic;

/// LiveKit refuses API secrets shorter than this.
pub const LIVEKIT_MIN_SECRET: usize = 32;

/// The components' part of the checks: the renderer's registry runs each component's checks
/// in its order, then those across them (the running components' images, their host ports).
pub type ComponentChecks = fn(&Config, &mut Vec<Diagnostic>);

/// Every semantic problem found, in a stable order: the stack's settings, then the
/// components' (when given), then the namespace layout and the network settings.
#[must_use]
pub fn check(config: &Config, components: Option<ComponentChecks>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    required(&mut out, config);
    hosts(&mut out, config);
    if let Some(components) = components {
        components(config, &mut out);
    }
    pod_security(&mut out, config);
    out.extend(crate::net::check(config));
    out.extend(crate::synapse_extra::check(config));
    out.extend(crate::metrics::check(config));
    out.extend(crate::pod::check(config));
    out
}

/// A required setting: `missing-value` when `value` is blank.
pub fn need(out: &mut Vec<Diagnostic>, path: &str, value: &str, what: &str) {
    if value.trim().is_empty() {
        out.push(
            Diagnostic::error("missing-value", path, format!("{what} must be set"))
                .with_hint(format!("set `{path}` in your values file")),
        );
    }
}

fn required(out: &mut Vec<Diagnostic>, c: &Config) {
    need(
        out,
        "global.domain",
        &c.global.domain,
        "the Synapse host name",
    );
    need(
        out,
        "global.elementDomain",
        &c.global.element_domain,
        "the Element host name",
    );
    need(out, "namespace", &c.namespace, "the namespace");
    for (path, value) in secret_values(c) {
        if let Some(r) = value.external() {
            if !r.name.is_empty() && (r.name.len() > 253 || !r.name.split('.').all(is_dns_label)) {
                out.push(
                    Diagnostic::error(
                        "invalid-name",
                        format!("{path}.existingSecret.name"),
                        format!("`{}` is not a valid Secret name", r.name),
                    )
                    .with_hint("use lowercase letters, digits, `-` and `.`"),
                );
            }
            if !r.key.is_empty()
                && !r
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            {
                out.push(
                    Diagnostic::error(
                        "invalid-name",
                        format!("{path}.existingSecret.key"),
                        format!("`{}` is not a valid Secret key", r.key),
                    )
                    .with_hint("keys are letters, digits, `-`, `_` and `.`"),
                );
            }
        }
    }
    if !c.namespace.is_empty() && !is_dns_label(&c.namespace) {
        out.push(
            Diagnostic::error("invalid-name", "namespace", format!("`{}` is not a valid namespace name", c.namespace))
                .with_hint("use lowercase letters, digits and `-`, at most 63 characters, starting and ending with a letter or digit"),
        );
    }
}

/// Every secret setting with its path, in a stable order.
pub fn secret_values(c: &Config) -> [(&'static str, &SecretValue); 10] {
    [
        (
            "synapse.database.postgresql.password",
            &c.synapse.database.postgresql.password,
        ),
        ("synapse.recaptcha.siteKey", &c.synapse.recaptcha.site_key),
        (
            "synapse.recaptcha.secretKey",
            &c.synapse.recaptcha.secret_key,
        ),
        (
            "synapse.registration_shared_secret",
            &c.synapse.registration_shared_secret,
        ),
        ("synapse.signingKey", &c.synapse.signing_key),
        (
            "synapse.workers.replicationSecret",
            &c.synapse.workers.replication_secret,
        ),
        ("redis.password", &c.redis.password),
        ("coturn.turn_shared_secret", &c.coturn.turn_shared_secret),
        ("matrixrtc.livekit.key", &c.matrixrtc.livekit.key),
        ("matrixrtc.livekit.secret", &c.matrixrtc.livekit.secret),
    ]
}

/// RFC 1123 label: lowercase alphanumerics and `-`, 1..=63, no leading or trailing `-`.
pub fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// An RFC 1123 host name as Ingress and cert-manager accept it: lowercase labels, at most
/// 253 characters, at least two labels.
pub fn is_dns_name(name: &str) -> bool {
    name.len() <= 253 && name.contains('.') && name.split('.').all(is_dns_label)
}

/// A host name setting: `invalid-host` when it is set and not a DNS name, with a hint at what
/// is wrong.
pub fn host_name(out: &mut Vec<Diagnostic>, path: &str, name: &str) {
    if name.is_empty() || is_dns_name(name) {
        return;
    }
    let hint = if name.contains("://") || name.contains('/') {
        "give the bare host name, without scheme or path (e.g. `matrix.example.org`)".to_owned()
    } else if name.contains(':') {
        "give the host name without a port".to_owned()
    } else if name.chars().any(|ch| ch.is_ascii_uppercase())
        && is_dns_name(&name.to_ascii_lowercase())
    {
        // Only when lowercase is all it lacks.
        format!("write it in lowercase: `{}`", name.to_ascii_lowercase())
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        "use lowercase letters, digits, `-` and `.` only (no spaces)".to_owned()
    } else if !name.contains('.') {
        "give a fully qualified name such as `matrix.example.org`".to_owned()
    } else {
        "use letters, digits, `-` and `.` only; labels may not start or end with `-`".to_owned()
    };
    out.push(
        Diagnostic::error(
            "invalid-host",
            path,
            format!("`{name}` is not a valid DNS host name"),
        )
        .with_hint(hint),
    );
}

fn hosts(out: &mut Vec<Diagnostic>, c: &Config) {
    for (path, name) in [
        ("global.domain", c.global.domain.as_str()),
        ("global.elementDomain", c.global.element_domain.as_str()),
        ("global.serverName", c.global.server_name.as_str()),
    ] {
        host_name(out, path, name);
    }
    if c.global.delegates() && c.global.server_name == c.global.element_domain {
        out.push(
            Diagnostic::error(
                "host-conflict",
                "global.serverName",
                "the server name and Element's host are the same: the `.well-known/matrix` route would \
                 shadow Element's own paths",
            )
            .with_hint("serve Element on its own host, e.g. `element.example.org`")
            .related(&["global.elementDomain"]),
        );
    }
    if !c.synapse.well_known.delegated_server.is_empty() && !c.global.delegates() {
        out.push(
            Diagnostic::warning(
                "unused-setting",
                "synapse.wellKnown.delegatedServer",
                "`delegatedServer` is announced only on the server-name host, and the server name \
                 is Synapse's own host here",
            )
            .with_hint("set `global.serverName` (e.g. `example.org`) to delegate from it to `global.domain`")
            .related(&["global.serverName"]),
        );
    }
    if c.routing.mode == RoutingMode::Gateway && c.routing.gateway.name.is_empty() {
        out.push(
            Diagnostic::error(
                "missing-value",
                "routing.gateway.name",
                "`routing.mode: gateway` needs the Gateway the routes attach to",
            )
            .with_hint("set `routing.gateway.name` (and `namespace` if it lives elsewhere)")
            .related(&["routing.mode"]),
        );
    }
    for (path, ns) in [
        ("routing.gateway.namespace", &c.routing.gateway.namespace),
        (
            "networkPolicies.ingressController.namespace",
            &c.network_policies.ingress_controller.namespace,
        ),
    ] {
        if !ns.is_empty() && !is_dns_label(ns) {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    path,
                    format!("`{ns}` is not a valid namespace name"),
                )
                .with_hint("use lowercase letters, digits and `-`, at most 63 characters"),
            );
        }
    }
    if c.network_policies.enabled && c.network_policies.ingress_controller.is_empty() {
        out.push(
            Diagnostic::error(
                "missing-value",
                "networkPolicies.ingressController.namespace",
                "the NetworkPolicies need the namespace of the ingress controller or Gateway (or its addresses in `ipBlocks`)",
            )
            .with_hint("k3s runs Traefik in `kube-system`; ingress-nginx runs in `ingress-nginx`"),
        );
    }
    if c.global.domain == c.global.element_domain && !c.global.domain.is_empty() {
        out.push(
            Diagnostic::error(
                "host-conflict",
                "global.elementDomain",
                "Element and Synapse need different host names: both Ingresses would claim `/`",
            )
            .with_hint(
                "use e.g. `matrix.example.org` for Synapse and `element.example.org` for Element",
            ),
        );
    }
}

/// `http(s)://host[:port][/path]` with a valid host.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it must start with https:// (or http://)")?;
    if url.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        return Err("it contains whitespace");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || authority.starts_with('[') => {
            if !port.is_empty() && port.parse::<u16>().is_err() {
                return Err("its port is not a number from 1 to 65535");
            }
            h
        }
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<IpAddr>().is_ok()
        || host == "localhost"
        || is_dns_name(&host.to_ascii_lowercase())
    {
        Ok(())
    } else {
        Err("its host is not a valid host name")
    }
}

pub fn is_mxc(url: &str) -> bool {
    url.strip_prefix("mxc://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(server, id)| !server.is_empty() && !id.is_empty() && !id.contains('/'))
}

pub fn is_cidr(text: &str) -> bool {
    let (ip, prefix) = text.split_once('/').unwrap_or((text, ""));
    match ip.parse::<IpAddr>() {
        Ok(addr) if prefix.is_empty() => addr.is_ipv4() || addr.is_ipv6(),
        Ok(addr) => prefix
            .parse::<u8>()
            .is_ok_and(|p| p <= if addr.is_ipv4() { 32 } else { 128 }),
        Err(_) => false,
    }
}

/// A port or port range a component binds on the node's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    /// The setting it comes from.
    pub path: &'static str,
    /// What it is, for messages.
    pub what: &'static str,
    /// `TCP` or `UDP`.
    pub protocol: &'static str,
    pub start: u16,
    pub end: u16,
}

impl HostPort {
    /// One port.
    #[must_use]
    pub fn one(path: &'static str, what: &'static str, protocol: &'static str, port: u16) -> Self {
        Self {
            path,
            what,
            protocol,
            start: port,
            end: port,
        }
    }
}

/// A port setting: `invalid-port` when it is 0.
pub fn port(out: &mut Vec<Diagnostic>, path: &str, port: u16) {
    if port == 0 {
        out.push(
            Diagnostic::error("invalid-port", path, "port 0 is not a usable port")
                .with_hint("use a port from 1 to 65535"),
        );
    }
}

/// `port-collision` for each two host ports of different settings that overlap (same
/// protocol), reported once per pair at the later one.
pub fn host_port_collisions(out: &mut Vec<Diagnostic>, host: &[HostPort]) {
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for (i, a) in host.iter().enumerate() {
        for b in &host[i + 1..] {
            let same_owner = a.path == b.path;
            if same_owner || a.protocol != b.protocol || a.end < b.start || b.end < a.start {
                continue;
            }
            if reported.contains(&(a.path, b.path)) {
                continue;
            }
            reported.push((a.path, b.path));
            let range = |p: &HostPort| {
                if p.start == p.end {
                    format!("{}", p.start)
                } else {
                    format!("{}-{}", p.start, p.end)
                }
            };
            out.push(
                Diagnostic::error(
                    "port-collision",
                    b.path,
                    format!(
                        "{} ({}/{}) overlaps {} ({}/{}) on the node's network",
                        b.what,
                        range(b),
                        b.protocol.to_ascii_lowercase(),
                        a.what,
                        range(a),
                        a.protocol.to_ascii_lowercase()
                    ),
                )
                .with_hint(format!(
                    "move one of them; `{}` and `{}` share the host network",
                    a.path, b.path
                ))
                .related(&[a.path]),
            );
        }
    }
}

/// A URL setting: `invalid-url` when it is set and not `http(s)://host[:port][/path]`.
pub fn url(out: &mut Vec<Diagnostic>, path: &str, url: &str) {
    if url.is_empty() {
        return;
    }
    if let Err(why) = check_url(url) {
        out.push(
            Diagnostic::error(
                "invalid-url",
                path,
                format!("`{url}` is not a valid URL: {why}"),
            )
            .with_hint("write a full URL such as `https://element.example.org/pages/home.html`"),
        );
    }
}

/// An address setting: `invalid-ip` when it is set and not an IP address.
pub fn ip(out: &mut Vec<Diagnostic>, path: &str, value: &str) {
    if !value.is_empty() && value.parse::<IpAddr>().is_err() {
        out.push(
            Diagnostic::error(
                "invalid-ip",
                path,
                format!("`{value}` is not an IP address"),
            )
            .with_hint("write an IPv4 or IPv6 address such as `203.0.113.10`"),
        );
    }
}

/// A replica count: `invalid-replicas` when negative.
pub fn replicas(out: &mut Vec<Diagnostic>, path: &str, replicas: i32) {
    if replicas < 0 {
        out.push(Diagnostic::error(
            "invalid-replicas",
            path,
            format!("replicas cannot be negative ({replicas})"),
        ));
    }
}

/// The namespace layout and its Pod Security levels: a level that refuses the pods that
/// would land in the namespace is an error, as is a layout that cannot exist.
fn pod_security(out: &mut Vec<Diagnostic>, c: &Config) {
    let ps = &c.pod_security;
    let host_ns = ps.host_network_namespace.as_str();
    if !host_ns.is_empty() {
        if !is_dns_label(host_ns) {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    "podSecurity.hostNetworkNamespace",
                    format!("`{host_ns}` is not a valid namespace name"),
                )
                .with_hint("use lowercase letters, digits and `-`, at most 63 characters"),
            );
        } else if host_ns == c.namespace {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    "podSecurity.hostNetworkNamespace",
                    format!(
                        "`{host_ns}` is `namespace` itself: the host-network workloads would not get \
                         a namespace of their own"
                    ),
                )
                .with_hint(format!(
                    "name another namespace, e.g. `{}-host`, or leave it empty",
                    c.namespace
                ))
                .related(&["namespace"]),
            );
        }
        if c.host_network_workloads().is_empty() {
            out.push(
                Diagnostic::warning(
                    "unused-setting",
                    "podSecurity.hostNetworkNamespace",
                    "no workload runs on the host network (coturn is off, and LiveKit is off or \
                     has no `hostNetwork`), so this namespace would stay empty",
                )
                .with_hint("remove `podSecurity.hostNetworkNamespace`: one `restricted` namespace holds the stack")
                .related(&["coturn.enabled", "matrixrtc.livekit.hostNetwork"]),
            );
        }
    }
    let version_ok = ps.version == "latest"
        || ps
            .version
            .strip_prefix("v1.")
            .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()));
    if !version_ok {
        out.push(
            Diagnostic::error(
                "invalid-version",
                "podSecurity.version",
                format!("`{}` is not a Pod Security Standards version", ps.version),
            )
            .with_hint("write `latest` or a Kubernetes minor version such as `v1.35`"),
        );
    }
    if !ps.enabled {
        if ps.level != crate::config::PodSecurityLevel::Auto {
            out.push(
                Diagnostic::warning(
                    "unused-setting",
                    "podSecurity.level",
                    "the level is written into the Namespace's labels, and no Namespace is rendered \
                     while `podSecurity.enabled` is off",
                )
                .with_hint("set `podSecurity.enabled: true`")
                .related(&["podSecurity.enabled"]),
            );
        }
        return;
    }
    let level = ps.level;
    if matches!(
        level,
        crate::config::PodSecurityLevel::Restricted | crate::config::PodSecurityLevel::Baseline
    ) {
        for (what, ns) in c.host_network_workloads() {
            if ns != c.namespace {
                continue;
            }
            let mut hint = format!(
                "set `podSecurity.hostNetworkNamespace` (e.g. `{}-host`) so that {what} runs in a \
                 `privileged` namespace of its own",
                c.namespace
            );
            let related: &[&str] = if what == "coturn" {
                hint.push_str(", or turn coturn off (`coturn.enabled: false`)");
                &["podSecurity.hostNetworkNamespace", "coturn.enabled"]
            } else {
                hint.push_str(
                    ", or run LiveKit without it (`matrixrtc.livekit.hostNetwork: false` with \
                     `rtc.udpPort` and `rtc.serviceType`)",
                );
                &[
                    "podSecurity.hostNetworkNamespace",
                    "matrixrtc.livekit.hostNetwork",
                ]
            };
            out.push(
                Diagnostic::error(
                    "pod-security",
                    "podSecurity.level",
                    format!(
                        "{what} runs on the host network in namespace `{ns}`, which Pod Security \
                         `{}` refuses (host namespaces, hostPort)",
                        level.as_str()
                    ),
                )
                .with_hint(hint)
                .related(related),
            );
        }
    }
}

/// Synapse durations: a number with an optional unit (`ms`, `s`, `m`, `h`, `d`, `w`, `y`).
pub fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|ch: char| ch.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "" | "ms" | "s" | "m" | "h" | "d" | "w" | "y")
}

/// Synapse sizes: a number with an optional `K`, `M`, `G` or `T`.
pub fn is_size(text: &str) -> bool {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T']);
    let unit = &text[digits.len()..];
    !digits.is_empty() && unit.len() <= 1 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Matrix user localparts: lowercase letters, digits and `._=-/+`.
pub fn is_localpart(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-/+".contains(&b))
}

/// An image repository: optional registry host (with port), then lowercase path components.
pub fn is_repository(repo: &str) -> bool {
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let registry = parts.remove(0);
        let (host, port) = registry.split_once(':').unwrap_or((registry, ""));
        if !(host == "localhost" || is_dns_name(host))
            || (!port.is_empty() && port.parse::<u16>().is_err())
        {
            return false;
        }
    }
    !parts.is_empty()
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && p.as_bytes()[0].is_ascii_alphanumeric()
                && p.as_bytes()[p.len() - 1].is_ascii_alphanumeric()
        })
}

/// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.starts_with('_'))
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A Kubernetes quantity such as `10Gi`, `500m`, `1.5G`.
pub fn is_quantity(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_end = body
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_end);
    let number_ok = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix.strip_prefix(['e', 'E']).is_some_and(|exp| {
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    number_ok && suffix_ok
}

/// An image setting of a running component: its repository, digest and tag.
pub fn image(out: &mut Vec<Diagnostic>, path: &str, image: &Image) {
    if !is_repository(&image.repository) {
        out.push(
            Diagnostic::error(
                "invalid-image",
                format!("{path}.repository"),
                format!("`{}` is not an image repository", image.repository),
            )
            .with_hint(
                "write e.g. `matrixdotorg/synapse` or `ghcr.io/org/name`, lowercase, without a tag",
            ),
        );
    }
    let hex = image.digest.strip_prefix("sha256:").unwrap_or("");
    let digest_ok = hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !image.digest.is_empty() && !digest_ok {
        out.push(
            Diagnostic::error(
                "invalid-image",
                format!("{path}.digest"),
                "an image digest is `sha256:` and 64 lowercase hex digits",
            )
            .with_hint(
                "copy it from `docker buildx imagetools inspect <image>` or the registry page",
            ),
        );
    }
    if !is_tag(&image.tag) {
        out.push(
            Diagnostic::error(
                "invalid-image",
                format!("{path}.tag"),
                format!("`{}` is not an image tag", image.tag),
            )
            .with_hint("write a version such as `v1.162.0`"),
        );
    } else if image.tag == "latest" {
        out.push(
            Diagnostic::warning(
                "latest-tag",
                format!("{path}.tag"),
                format!(
                    "`{}:latest` changes under you: every pod restart may run another version",
                    image.repository
                ),
            )
            .with_hint("pin a version, e.g. the one in matrix-render's defaults"),
        );
    }
}

/// A secret a running component needs: `missing-secret` when it is not set, `missing-value`
/// when an `existingSecret` lacks its name or key.
pub fn need_secret(out: &mut Vec<Diagnostic>, path: &str, value: &SecretValue, why: &str) {
    if let Some(r) = value.external() {
        for (field, v) in [("name", &r.name), ("key", &r.key)] {
            if v.is_empty() {
                out.push(
                    Diagnostic::error(
                        "missing-value",
                        format!("{path}.existingSecret.{field}"),
                        format!("`existingSecret` needs a `{field}`"),
                    )
                    .with_hint("write the Secret's name and the key that holds the value"),
                );
            }
        }
        return;
    }
    if !value.is_set() {
        // reCAPTCHA keys are issued by Google for the site; every other secret is ours to
        // generate.
        let hint = if path.starts_with("synapse.recaptcha.") {
            "register the site for reCAPTCHA v2 (\"I'm not a robot\") at \
             https://www.google.com/recaptcha/admin, which issues the site key and the secret \
             key; set them in .secrets.yaml, or use `existingSecret: {name, key}`"
        } else {
            "set it in .secrets.yaml (generate one with `openssl rand -hex 32`), or use \
             `existingSecret: {name, key}`"
        };
        out.push(
            Diagnostic::error(
                "missing-secret",
                path,
                format!("{why} needs `{path}`, which is empty or not set"),
            )
            .with_hint(hint),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_dns_name("matrix.example.org"));
        assert!(
            !is_dns_name("Matrix.example.org") && !is_dns_name("localhost") && !is_dns_name("-a.b")
        );
        assert!(
            is_duration("90d") && is_duration("1y") && is_duration("12h") && is_duration("500")
        );
        assert!(!is_duration("90 days") && !is_duration("d") && !is_duration("1.5d"));
        assert!(is_size("100M") && is_size("1024") && !is_size("100MB") && !is_size("M"));
        assert!(is_localpart("notices") && !is_localpart("@notices:x") && !is_localpart("Notices"));
        assert!(
            is_repository("matrixdotorg/synapse")
                && is_repository("ghcr.io/element-hq/lk-jwt-service")
        );
        assert!(
            is_repository("localhost:5000/x")
                && !is_repository("Matrix/Synapse")
                && !is_repository("a//b")
        );
        assert!(is_tag("v1.162.0") && is_tag("1.27-alpine") && !is_tag("-x") && !is_tag("a b"));
        assert!(
            is_quantity("10Gi") && is_quantity("500m") && is_quantity("1.5G") && is_quantity("1e3")
        );
        assert!(
            !is_quantity("10GB")
                && !is_quantity("ten")
                && !is_quantity("")
                && !is_quantity("1.2.3")
        );
        assert!(
            is_cidr("10.0.0.0/8")
                && is_cidr("fc00::/7")
                && is_cidr("1.2.3.4")
                && !is_cidr("10.0.0.0/33")
        );
        assert!(
            check_url("https://a.example.org/x").is_ok()
                && check_url("https://a.example.org:8443").is_ok()
        );
        assert!(
            check_url("ftp://a.example.org").is_err() && check_url("https://bad host").is_err()
        );
        assert!(is_mxc("mxc://example.org/abc") && !is_mxc("https://example.org/abc"));
    }

    #[test]
    fn secret_values_cover_exactly_the_secret_paths() {
        let loaded = crate::load(crate::LoadInput {
            values: &[crate::load::NamedText {
                name: "v.yaml".to_owned(),
                text: "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                       coturn: {realm: turn.example.org, turn_url: turn.example.org, turn_shared_secret: t}\n\
                       synapse: {registration_shared_secret: r, registration: {captchaEnabled: false, requiresToken: true}}\n"
                    .to_owned(),
            }],
            set: &[],
            set_string: &[],
            ..Default::default()
        });
        let config = loaded.config.expect("a config that needs only its secrets");
        let mut paths: Vec<&str> = secret_values(&config).iter().map(|(p, _)| *p).collect();
        let mut expected = crate::config::SECRET_PATHS.to_vec();
        paths.sort_unstable();
        expected.sort_unstable();
        assert_eq!(paths, expected);
    }
}
