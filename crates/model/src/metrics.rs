//! Checks of the `metrics` settings: who may scrape, and metrics ports that no other port of
//! the same pod (or, on the host network, of the same node) already takes.

use crate::config::Config;
use crate::diag::Diagnostic;
use crate::net::Cidr;

/// A port range another setting takes: the setting, its first and last port.
type Taken<'a> = (&'a str, u16, u16);

/// Every problem of the `metrics` settings.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let m = &c.metrics;
    let scrapers = &m.prometheus;
    let ns = &scrapers.namespace;
    let dns_label = ns.len() <= 63
        && !ns.starts_with('-')
        && !ns.ends_with('-')
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ns.is_empty() && !dns_label {
        out.push(
            Diagnostic::error(
                "invalid-name",
                "metrics.prometheus.namespace",
                format!("`{ns}` is not a valid namespace name"),
            )
            .with_hint("use lowercase letters, digits and `-`, at most 63 characters"),
        );
    }
    for (i, block) in scrapers.ip_blocks.iter().enumerate() {
        let path = format!("metrics.prometheus.ipBlocks[{i}]");
        let Some(cidr) = Cidr::parse(&block.cidr) else {
            out.push(
                Diagnostic::error(
                    "invalid-cidr",
                    format!("{path}.cidr"),
                    format!("`{}` is not an address range", block.cidr),
                )
                .with_hint("write an address range in CIDR notation, e.g. `10.0.0.0/24`"),
            );
            continue;
        };
        for (j, except) in block.except.iter().enumerate() {
            let inside = Cidr::parse(except).is_some_and(|e| cidr.covers(&e) && e != cidr);
            if !inside {
                out.push(
                    Diagnostic::error(
                        "invalid-cidr",
                        format!("{path}.except[{j}]"),
                        format!("`{except}` is not a range strictly inside `{}`", block.cidr),
                    )
                    .with_hint("Kubernetes needs every `except` to be a sub-range of `cidr`"),
                );
            }
        }
    }
    if !m.enabled {
        if m.service_monitor.enabled {
            out.push(
                Diagnostic::warning(
                    "unused-setting",
                    "metrics.serviceMonitor.enabled",
                    "no ServiceMonitor is rendered while `metrics.enabled` is off",
                )
                .with_hint(
                    "set `metrics.enabled: true` to serve the metrics the ServiceMonitors scrape",
                )
                .related(&["metrics.enabled"]),
            );
        }
        return out;
    }
    if c.network_policies.enabled && scrapers.is_empty() {
        out.push(
            Diagnostic::error(
                "missing-value",
                "metrics.prometheus.namespace",
                "the NetworkPolicies need to know where Prometheus runs to let it scrape the \
                 metrics ports",
            )
            .with_hint(
                "set the namespace of Prometheus (kube-prometheus-stack: `monitoring`), its \
                 `podLabels`, or its addresses in `ipBlocks`",
            )
            .related(&["metrics.enabled"]),
        );
    }
    let lk = &c.matrixrtc.livekit;
    let t = &c.coturn;
    let mut clashes: Vec<(&str, u16, Vec<Taken<'_>>)> = Vec::new();
    if m.synapse.enabled {
        clashes.push((
            "metrics.synapse.port",
            m.synapse.port,
            vec![("synapse.port", c.synapse.port, c.synapse.port)],
        ));
    }
    if m.livekit.enabled && c.matrixrtc.enabled {
        let mut taken = vec![
            (
                "matrixrtc.livekit.service.port",
                lk.service.port,
                lk.service.port,
            ),
            (
                "matrixrtc.livekit.rtc.tcpPort",
                lk.rtc.tcp_port,
                lk.rtc.tcp_port,
            ),
        ];
        if lk.rtc.udp_port == 0 {
            taken.push((
                "matrixrtc.livekit.rtc.portRangeStart",
                lk.rtc.port_range_start,
                lk.rtc.port_range_end,
            ));
        } else {
            taken.push((
                "matrixrtc.livekit.rtc.udpPort",
                lk.rtc.udp_port,
                lk.rtc.udp_port,
            ));
        }
        clashes.push(("metrics.livekit.port", m.livekit.port, taken));
    }
    if m.coturn.enabled && t.enabled {
        let mut taken = vec![
            ("coturn.listeningPort", t.listening_port, t.listening_port),
            (
                "coturn.tlsListeningPort",
                t.tls_listening_port,
                t.tls_listening_port,
            ),
            ("coturn.minPort", t.min_port, t.max_port),
        ];
        // Both on the host network: one node may run both.
        if c.livekit_on_host_network() && m.livekit.enabled {
            taken.push(("metrics.livekit.port", m.livekit.port, m.livekit.port));
        }
        clashes.push(("metrics.coturn.port", m.coturn.port, taken));
    }
    for (path, port, taken) in clashes {
        if port == 0 {
            out.push(
                Diagnostic::error("invalid-port", path, "port 0 is not a usable port")
                    .with_hint("use a port from 1 to 65535"),
            );
            continue;
        }
        for (other, first, last) in taken {
            if (first..=last).contains(&port) {
                out.push(
                    Diagnostic::error(
                        "port-conflict",
                        path,
                        format!("port {port} is already taken by `{other}`"),
                    )
                    .with_hint("choose a port of its own for the metrics")
                    .related(&[other]),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{LoadInput, NamedText, load};

    /// The diagnostics (code, path) of the base config with `extra` layered over it.
    fn findings(extra: &str) -> Vec<(String, String)> {
        let base = "global: {domain: matrix.example.com, elementDomain: element.example.com}\n\
            synapse: {registration_shared_secret: reg-0123456789abcdef, registration: \
            {enabled: false, captchaEnabled: false}}\n\
            coturn: {realm: turn.example.com, turn_url: turn.example.com, turn_shared_secret: t}\n\
            matrixrtc: {enabled: true, host: rtc.example.com, livekit: {key: k, secret: \
            0123456789abcdef0123456789abcdef}}\n";
        let values = [
            NamedText {
                name: "values.yaml".to_owned(),
                text: base.to_owned(),
            },
            NamedText {
                name: "extra.yaml".to_owned(),
                text: extra.to_owned(),
            },
        ];
        let loaded = load(LoadInput {
            values: &values,
            ..Default::default()
        });
        loaded
            .diagnostics
            .iter()
            .map(|d| (d.code.clone(), d.path.clone()))
            .collect()
    }

    fn has(found: &[(String, String)], code: &str, path: &str) -> bool {
        found.iter().any(|(c, p)| c == code && p == path)
    }

    #[test]
    fn metrics_on_with_the_defaults_is_clean() {
        assert_eq!(findings("metrics: {enabled: true}\n"), Vec::new());
    }

    #[test]
    fn a_metrics_port_taken_by_another_port_of_the_pod_or_node_is_refused() {
        let found = findings(
            "metrics: {enabled: true, synapse: {port: 8008}, livekit: {port: 50150}, \
             coturn: {port: 50150}}\n",
        );
        assert!(
            has(&found, "port-conflict", "metrics.synapse.port"),
            "{found:?}"
        );
        assert!(
            has(&found, "port-conflict", "metrics.livekit.port"),
            "{found:?}"
        );
        // coturn and LiveKit both on the host network share the node's ports.
        assert!(
            has(&found, "port-conflict", "metrics.coturn.port"),
            "{found:?}"
        );
        // Off, a component's port is not checked.
        let found = findings("metrics: {enabled: true, synapse: {enabled: false, port: 8008}}\n");
        assert!(
            !has(&found, "port-conflict", "metrics.synapse.port"),
            "{found:?}"
        );
    }

    #[test]
    fn the_scrapers_must_be_known_and_well_formed() {
        let found = findings(
            "metrics: {enabled: true, prometheus: {namespace: \"\", podLabels: {}, ipBlocks: []}}\n",
        );
        assert!(
            has(&found, "missing-value", "metrics.prometheus.namespace"),
            "{found:?}"
        );
        let found = findings(
            "metrics: {enabled: true, prometheus: {namespace: Mon_itoring, ipBlocks: \
             [{cidr: 10.0.0.0/33}, {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]}}\n",
        );
        assert!(
            has(&found, "invalid-name", "metrics.prometheus.namespace"),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "invalid-cidr",
                "metrics.prometheus.ipBlocks[0].cidr"
            ),
            "{found:?}"
        );
        assert!(
            has(
                &found,
                "invalid-cidr",
                "metrics.prometheus.ipBlocks[1].except[0]"
            ),
            "{found:?}"
        );
        // No NetworkPolicies: nothing to open, so no selector is needed.
        let found = findings(
            "networkPolicies: {enabled: false}\n\
             metrics: {enabled: true, prometheus: {namespace: \"\"}}\n",
        );
        assert!(
            !has(&found, "missing-value", "metrics.prometheus.namespace"),
            "{found:?}"
        );
    }

    #[test]
    fn service_monitors_without_metrics_are_a_warning() {
        let found = findings("metrics: {serviceMonitor: {enabled: true}}\n");
        assert!(
            has(&found, "unused-setting", "metrics.serviceMonitor.enabled"),
            "{found:?}"
        );
    }
}
