//! Semantic checks on a typed config: what the types cannot say. Each finding names the
//! config path; the loader adds the file, line and column.

use std::net::IpAddr;

use crate::config::{Config, DatabaseKind, Image, RoutingMode, SecretValue};
use crate::diag::Diagnostic;

/// LiveKit refuses API secrets shorter than this.
pub const LIVEKIT_MIN_SECRET: usize = 32;

/// Every semantic problem found, in a stable order.
#[must_use]
pub fn check(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    required(&mut out, config);
    hosts(&mut out, config);
    urls(&mut out, config);
    addresses(&mut out, config);
    ports(&mut out, config);
    durations_and_sizes(&mut out, config);
    matrix_ids(&mut out, config);
    images_and_quantities(&mut out, config);
    secrets(&mut out, config);
    registration(&mut out, config);
    paths(&mut out, config);
    pod_security(&mut out, config);
    livekit_exposure(&mut out, config);
    out.extend(crate::net::check(config));
    out.extend(crate::synapse_version::check(config));
    out.extend(crate::pod::check(config));
    out
}

fn required(out: &mut Vec<Diagnostic>, c: &Config) {
    let mut need = |path: &str, value: &str, what: &str| {
        if value.trim().is_empty() {
            out.push(
                Diagnostic::error("missing-value", path, format!("{what} must be set"))
                    .with_hint(format!("set `{path}` in your values file")),
            );
        }
    };
    need("global.domain", &c.global.domain, "the Synapse host name");
    need(
        "global.elementDomain",
        &c.global.element_domain,
        "the Element host name",
    );
    need("namespace", &c.namespace, "the namespace");
    if c.coturn.enabled {
        need("coturn.realm", &c.coturn.realm, "the TURN realm");
        need("coturn.turn_url", &c.coturn.turn_url, "the TURN host name");
    }
    if c.matrixrtc.enabled {
        need(
            "matrixrtc.host",
            &c.matrixrtc.host,
            "the MatrixRTC host name",
        );
    }
    let db = &c.synapse.database;
    if db.kind == DatabaseKind::Postgresql {
        need(
            "synapse.database.postgresql.host",
            &db.postgresql.host,
            "the PostgreSQL host",
        );
        need(
            "synapse.database.postgresql.database",
            &db.postgresql.database,
            "the PostgreSQL database name",
        );
        need(
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
pub fn secret_values(c: &Config) -> [(&'static str, &SecretValue); 7] {
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
        ("coturn.turn_shared_secret", &c.coturn.turn_shared_secret),
        ("matrixrtc.livekit.key", &c.matrixrtc.livekit.key),
        ("matrixrtc.livekit.secret", &c.matrixrtc.livekit.secret),
    ]
}

/// RFC 1123 label: lowercase alphanumerics and `-`, 1..=63, no leading or trailing `-`.
fn is_dns_label(label: &str) -> bool {
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

fn hosts(out: &mut Vec<Diagnostic>, c: &Config) {
    let mut names = vec![
        ("global.domain", c.global.domain.as_str()),
        ("global.elementDomain", c.global.element_domain.as_str()),
        ("global.serverName", c.global.server_name.as_str()),
    ];
    if c.coturn.enabled {
        names.push(("coturn.realm", c.coturn.realm.as_str()));
        names.push(("coturn.turn_url", c.coturn.turn_url.as_str()));
    }
    if c.matrixrtc.enabled {
        names.push(("matrixrtc.host", c.matrixrtc.host.as_str()));
    }
    for (path, name) in names {
        if name.is_empty() || is_dns_name(name) {
            continue;
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
fn check_url(url: &str) -> Result<(), &'static str> {
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

fn urls(out: &mut Vec<Diagnostic>, c: &Config) {
    let e = &c.element;
    let mut list: Vec<(String, &str)> = vec![
        (
            "element.branding.authHeaderLogoUrl".to_owned(),
            e.branding.auth_header_logo_url.as_str(),
        ),
        (
            "element.branding.welcomeBackgroundUrl".to_owned(),
            e.branding.welcome_background_url.as_str(),
        ),
        (
            "element.embeddedPages.homeUrl".to_owned(),
            e.embedded_pages.home_url.as_str(),
        ),
        (
            "element.embeddedPages.welcomeUrl".to_owned(),
            e.embedded_pages.welcome_url.as_str(),
        ),
        (
            "element.integrations.uiUrl".to_owned(),
            e.integrations.ui_url.as_str(),
        ),
        (
            "element.integrations.restUrl".to_owned(),
            e.integrations.rest_url.as_str(),
        ),
        (
            "element.bugReportEndpointUrl".to_owned(),
            e.bug_report_endpoint_url.as_str(),
        ),
        (
            "matrixrtc.element.livekit_service_url".to_owned(),
            c.matrixrtc.element.livekit_service_url.as_str(),
        ),
    ];
    for (i, link) in e.branding.auth_footer_links.iter().enumerate() {
        list.push((
            format!("element.branding.authFooterLinks[{i}].url"),
            link.url.as_str(),
        ));
    }
    for (i, url) in e.integrations.widgets_urls.iter().enumerate() {
        list.push((
            format!("element.integrations.widgetsUrls[{i}]"),
            url.as_str(),
        ));
    }
    for (path, url) in list {
        if url.is_empty() {
            continue;
        }
        if let Err(why) = check_url(url) {
            out.push(
                Diagnostic::error(
                    "invalid-url",
                    path,
                    format!("`{url}` is not a valid URL: {why}"),
                )
                .with_hint(
                    "write a full URL such as `https://element.example.org/pages/home.html`",
                ),
            );
        }
    }
    let avatar = &c.synapse.server_notices.room_avatar_url;
    if !avatar.is_empty() && !is_mxc(avatar) {
        out.push(
            Diagnostic::error(
                "invalid-url",
                "synapse.serverNotices.roomAvatarUrl",
                format!("`{avatar}` is not an mxc:// URL"),
            )
            .with_hint("upload the image to Synapse and use its `mxc://server/media-id` URL"),
        );
    }
}

fn is_mxc(url: &str) -> bool {
    url.strip_prefix("mxc://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(server, id)| !server.is_empty() && !id.is_empty() && !id.contains('/'))
}

fn addresses(out: &mut Vec<Diagnostic>, c: &Config) {
    for (path, value) in [
        ("coturn.relay_ip", &c.coturn.relay_ip),
        ("coturn.public_ip_static", &c.coturn.public_ip_static),
        (
            "matrixrtc.livekit.rtc.nodeIp",
            &c.matrixrtc.livekit.rtc.node_ip,
        ),
    ] {
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
            if !is_cidr(cidr) {
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

fn is_cidr(text: &str) -> bool {
    let (ip, prefix) = text.split_once('/').unwrap_or((text, ""));
    match ip.parse::<IpAddr>() {
        Ok(addr) if prefix.is_empty() => addr.is_ipv4() || addr.is_ipv6(),
        Ok(addr) => prefix
            .parse::<u8>()
            .is_ok_and(|p| p <= if addr.is_ipv4() { 32 } else { 128 }),
        Err(_) => false,
    }
}

/// A port or port range bound on the node's network.
struct HostPort {
    path: &'static str,
    what: &'static str,
    protocol: &'static str,
    start: u16,
    end: u16,
}

fn ports(out: &mut Vec<Diagnostic>, c: &Config) {
    let mut zero = |path: &str, port: u16| {
        if port == 0 {
            out.push(
                Diagnostic::error("invalid-port", path, "port 0 is not a usable port")
                    .with_hint("use a port from 1 to 65535"),
            );
        }
    };
    zero("synapse.port", c.synapse.port);
    zero("element.port", c.element.port);
    zero("element.staticPages.port", c.element.static_pages.port);
    let t = &c.coturn;
    let rtc = &c.matrixrtc.livekit;
    if t.enabled {
        zero("coturn.listeningPort", t.listening_port);
        zero("coturn.tlsListeningPort", t.tls_listening_port);
        zero("coturn.minPort", t.min_port);
    }
    if c.matrixrtc.enabled {
        zero("matrixrtc.livekit.service.port", rtc.service.port);
        zero("matrixrtc.livekit.rtc.tcpPort", rtc.rtc.tcp_port);
        zero(
            "matrixrtc.livekit.rtc.portRangeStart",
            rtc.rtc.port_range_start,
        );
        zero("matrixrtc.jwt.service.port", c.matrixrtc.jwt.service.port);
    }
    if t.enabled && t.min_port > t.max_port {
        out.push(
            Diagnostic::error(
                "invalid-port-range",
                "coturn.maxPort",
                format!(
                    "the relay range ends ({}) before it starts ({})",
                    t.max_port, t.min_port
                ),
            )
            .with_hint("make `coturn.minPort` less than or equal to `coturn.maxPort`"),
        );
    }
    if c.matrixrtc.enabled && rtc.rtc.port_range_start > rtc.rtc.port_range_end {
        out.push(
            Diagnostic::error(
                "invalid-port-range",
                "matrixrtc.livekit.rtc.portRangeEnd",
                format!(
                    "the UDP range ends ({}) before it starts ({})",
                    rtc.rtc.port_range_end, rtc.rtc.port_range_start
                ),
            )
            .with_hint("make `portRangeStart` less than or equal to `portRangeEnd`"),
        );
    }

    // Everything that binds on the node's own network.
    let mut host = Vec::new();
    if t.enabled {
        for protocol in ["UDP", "TCP"] {
            host.push(HostPort {
                path: "coturn.listeningPort",
                what: "coturn's TURN port",
                protocol,
                start: t.listening_port,
                end: t.listening_port,
            });
            host.push(HostPort {
                path: "coturn.tlsListeningPort",
                what: "coturn's TLS port",
                protocol,
                start: t.tls_listening_port,
                end: t.tls_listening_port,
            });
        }
        if t.min_port <= t.max_port {
            host.push(HostPort {
                path: "coturn.minPort",
                what: "coturn's relay range",
                protocol: "UDP",
                start: t.min_port,
                end: t.max_port,
            });
        }
    }
    if c.matrixrtc.enabled && rtc.host_network {
        host.push(HostPort {
            path: "matrixrtc.livekit.service.port",
            what: "LiveKit's signalling port",
            protocol: "TCP",
            start: rtc.service.port,
            end: rtc.service.port,
        });
        host.push(HostPort {
            path: "matrixrtc.livekit.rtc.tcpPort",
            what: "LiveKit's ICE/TCP port",
            protocol: "TCP",
            start: rtc.rtc.tcp_port,
            end: rtc.rtc.tcp_port,
        });
        if rtc.rtc.udp_port != 0 {
            host.push(HostPort {
                path: "matrixrtc.livekit.rtc.udpPort",
                what: "LiveKit's UDP media port",
                protocol: "UDP",
                start: rtc.rtc.udp_port,
                end: rtc.rtc.udp_port,
            });
        } else if rtc.rtc.port_range_start <= rtc.rtc.port_range_end {
            host.push(HostPort {
                path: "matrixrtc.livekit.rtc.portRangeStart",
                what: "LiveKit's UDP media range",
                protocol: "UDP",
                start: rtc.rtc.port_range_start,
                end: rtc.rtc.port_range_end,
            });
        }
    }
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

/// LiveKit without the host network, exposed through a Service of its media ports.
fn livekit_exposure(out: &mut Vec<Diagnostic>, c: &Config) {
    use crate::config::RtcServiceType;
    let lk = &c.matrixrtc.livekit;
    if !c.matrixrtc.enabled || lk.rtc.service_type == RtcServiceType::None {
        return;
    }
    if lk.host_network {
        out.push(
            Diagnostic::warning(
                "unused-setting",
                "matrixrtc.livekit.rtc.serviceType",
                "with `hostNetwork` LiveKit's media ports are the node's own; no `livekit-rtc` \
                 Service is rendered",
            )
            .with_hint(
                "set `matrixrtc.livekit.hostNetwork: false` to expose LiveKit through the Service",
            )
            .related(&["matrixrtc.livekit.hostNetwork"]),
        );
        return;
    }
    if lk.rtc.udp_port == 0 {
        out.push(
            Diagnostic::error(
                "missing-value",
                "matrixrtc.livekit.rtc.udpPort",
                "a Service cannot carry LiveKit's UDP media range; it needs one UDP port",
            )
            .with_hint("set `matrixrtc.livekit.rtc.udpPort` (LiveKit's `udp_port`, e.g. `7882`; with NodePort e.g. `30882`)")
            .related(&["matrixrtc.livekit.rtc.serviceType"]),
        );
    }
    if lk.rtc.service_type == RtcServiceType::NodePort {
        for (path, port) in [
            ("matrixrtc.livekit.rtc.tcpPort", lk.rtc.tcp_port),
            ("matrixrtc.livekit.rtc.udpPort", lk.rtc.udp_port),
        ] {
            if port != 0 && !(30000..=32767).contains(&port) {
                out.push(
                    Diagnostic::warning(
                        "invalid-port",
                        path,
                        format!(
                            "{port} is outside Kubernetes' default node port range (30000-32767); \
                             LiveKit advertises this port, so the node port must be the same"
                        ),
                    )
                    .with_hint("pick a port from 30000 to 32767, unless your API server's `--service-node-port-range` allows it")
                    .related(&["matrixrtc.livekit.rtc.serviceType"]),
                );
            }
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
        if !value.is_empty() && !is_duration(value) {
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
    if !is_size(size) {
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

/// Matrix user localparts: lowercase letters, digits and `._=-/+`.
pub fn is_localpart(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-/+".contains(&b))
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
        if !value.is_empty() && !is_localpart(value) {
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

fn images_and_quantities(out: &mut Vec<Diagnostic>, c: &Config) {
    let mut images: Vec<(&str, &Image)> = vec![
        ("synapse.image", &c.synapse.image),
        ("element.image", &c.element.image),
    ];
    if c.element.static_pages.enabled {
        images.push(("element.staticPages.image", &c.element.static_pages.image));
    }
    if c.coturn.enabled {
        images.push(("coturn.image", &c.coturn.image));
    }
    if c.global.delegates() {
        images.push(("synapse.wellKnown.image", &c.synapse.well_known.image));
    }
    if c.matrixrtc.enabled {
        images.push(("matrixrtc.livekit.image", &c.matrixrtc.livekit.image));
        images.push(("matrixrtc.jwt.image", &c.matrixrtc.jwt.image));
    }
    for (path, image) in images {
        if !is_repository(&image.repository) {
            out.push(
                Diagnostic::error(
                    "invalid-image",
                    format!("{path}.repository"),
                    format!("`{}` is not an image repository", image.repository),
                )
                .with_hint("write e.g. `matrixdotorg/synapse` or `ghcr.io/org/name`, lowercase, without a tag"),
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
    let size = &c.synapse.storage.size;
    if !is_quantity(size) {
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
    if !class.is_empty() && !class.split('.').all(is_dns_label) {
        out.push(
            Diagnostic::error(
                "invalid-name",
                "synapse.storage.storageClassName",
                format!("`{class}` is not a valid StorageClass name"),
            )
            .with_hint("use lowercase letters, digits, `-` and `.`"),
        );
    }
    for (path, replicas) in [
        ("synapse.replicas", c.synapse.replicas),
        ("element.replicas", c.element.replicas),
        (
            "element.staticPages.replicas",
            c.element.static_pages.replicas,
        ),
        ("matrixrtc.jwt.replicas", c.matrixrtc.jwt.replicas),
    ] {
        if replicas < 0 {
            out.push(Diagnostic::error(
                "invalid-replicas",
                path,
                format!("replicas cannot be negative ({replicas})"),
            ));
        }
    }
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
                "set `synapse.replicas: 1`; Synapse scales out with worker processes (not \
                 rendered yet), not with copies of the main process",
            ),
        );
    }
}

fn need_secret(out: &mut Vec<Diagnostic>, path: &str, value: &SecretValue, why: &str) {
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

fn secrets(out: &mut Vec<Diagnostic>, c: &Config) {
    let need = |out: &mut Vec<Diagnostic>, path: &str, value: &SecretValue, why: &str| {
        need_secret(out, path, value, why)
    };
    need(
        out,
        "synapse.registration_shared_secret",
        &c.synapse.registration_shared_secret,
        "admin registration (`register_new_matrix_user`)",
    );
    if c.coturn.enabled {
        need(
            out,
            "coturn.turn_shared_secret",
            &c.coturn.turn_shared_secret,
            "coturn (and Synapse's TURN credentials)",
        );
    }
    if c.matrixrtc.enabled {
        need(
            out,
            "matrixrtc.livekit.key",
            &c.matrixrtc.livekit.key,
            "MatrixRTC",
        );
        need(
            out,
            "matrixrtc.livekit.secret",
            &c.matrixrtc.livekit.secret,
            "MatrixRTC",
        );
        let len = c
            .matrixrtc
            .livekit
            .secret
            .inline()
            .map_or(0, |s| s.chars().count());
        if len > 0 && len < LIVEKIT_MIN_SECRET {
            out.push(
                Diagnostic::error(
                    "weak-secret",
                    "matrixrtc.livekit.secret",
                    format!("LiveKit refuses API secrets shorter than {LIVEKIT_MIN_SECRET} characters (this one has {len})"),
                )
                .with_hint("generate one with `openssl rand -hex 32`"),
            );
        }
    }
    let db = &c.synapse.database;
    if db.kind == DatabaseKind::Postgresql {
        need(
            out,
            "synapse.database.postgresql.password",
            &db.postgresql.password,
            "PostgreSQL",
        );
    }
    let r = &c.synapse.registration;
    if r.enabled && r.captcha_enabled {
        need(
            out,
            "synapse.recaptcha.siteKey",
            &c.synapse.recaptcha.site_key,
            "registration with captcha",
        );
        need(
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

fn paths(out: &mut Vec<Diagnostic>, c: &Config) {
    let sp = &c.element.static_pages;
    if !sp.enabled {
        return;
    }
    for (path, value) in [
        ("element.staticPages.pathPrefix", &sp.path_prefix),
        (
            "element.staticPages.assetsPathPrefix",
            &sp.assets_path_prefix,
        ),
    ] {
        let trimmed = value.trim_end_matches('/');
        let valid = trimmed.starts_with('/')
            && trimmed.len() > 1
            && trimmed[1..].split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !valid {
            out.push(
                Diagnostic::error(
                    "invalid-path",
                    path,
                    format!("`{value}` is not a usable URL path prefix"),
                )
                .with_hint("write a path such as `/pages` (not `/`, which is Element's)"),
            );
        }
    }
    if sp.path_prefix.trim_end_matches('/') == sp.assets_path_prefix.trim_end_matches('/') {
        out.push(
            Diagnostic::error(
                "invalid-path",
                "element.staticPages.assetsPathPrefix",
                "the pages and the assets need different path prefixes",
            )
            .with_hint("e.g. `/pages` and `/static-assets`"),
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
