//! `matrix-render plan`: the core's plan for people (aligned text) or machines (JSON).

use std::fmt::Write as _;

use matrix_render_model::api::{DnsTarget, Plan, PodSecurityLevel, Protocol, SecretSource};

/// The plan as pretty-printed JSON, exactly the core's `plan` object.
#[must_use]
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}

/// The plan as text: one section each for DNS, ports, secrets, namespaces with their Pod
/// Security levels, prerequisites and notes, with aligned columns.
#[must_use]
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str("DNS records\n");
    let rows: Vec<[String; 4]> = plan
        .dns
        .iter()
        .map(|r| {
            [
                r.host.clone(),
                match r.target {
                    DnsTarget::Ingress => "-> ingress address".to_owned(),
                    DnsTarget::Node => "-> node address".to_owned(),
                },
                if r.proxy_allowed {
                    "proxy ok".to_owned()
                } else {
                    "DNS-only".to_owned()
                },
                r.serves.join("; "),
            ]
        })
        .collect();
    table(&mut out, &rows);
    for r in plan.dns.iter().filter(|r| r.note.is_some()) {
        let _ = writeln!(
            out,
            "  note: {}: {}",
            r.host,
            r.note.as_deref().unwrap_or("")
        );
    }

    out.push_str("\nPorts to open and forward\n");
    let rows: Vec<[String; 4]> = plan
        .ports
        .iter()
        .map(|p| {
            let protocol = match p.protocol {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
            };
            let ports = if p.end_port == p.port {
                p.port.to_string()
            } else {
                format!("{}-{}", p.port, p.end_port)
            };
            [
                format!("{ports}/{protocol}"),
                p.component.clone(),
                p.purpose.clone(),
                format!("on {}", p.nodes),
            ]
        })
        .collect();
    table(&mut out, &rows);

    out.push_str("\nSecrets\n");
    let rows: Vec<[String; 4]> = plan
        .secrets
        .iter()
        .map(|s| {
            let source = match s.source {
                SecretSource::Inline => "from your config, rendered into",
                SecretSource::ExistingSecret => "you create",
                SecretSource::Missing if s.required => "MISSING, needed in",
                SecretSource::Missing => "not set, optional",
            };
            [
                s.path.clone(),
                source.to_owned(),
                format!("Secret {}", s.secret),
                format!("key {}", s.key),
            ]
        })
        .collect();
    table(&mut out, &rows);

    out.push_str("\nNamespaces and Pod Security\n");
    let rows: Vec<[String; 4]> = plan
        .namespaces
        .iter()
        .map(|n| {
            [
                n.name.clone(),
                format!("needs {}", n.needs.as_str()),
                match n.enforces {
                    Some(level) => format!("labelled {}", level.as_str()),
                    None if n.needs == PodSecurityLevel::Privileged => {
                        "you label it privileged or leave it unenforced".to_owned()
                    }
                    None => "you label it (or set podSecurity.enabled)".to_owned(),
                },
                n.holds.join(", "),
            ]
        })
        .collect();
    table(&mut out, &rows);

    if !plan.prerequisites.is_empty() {
        out.push_str("\nPrerequisites\n");
        for item in &plan.prerequisites {
            let _ = writeln!(out, "  - {item}");
        }
    }

    if !plan.notes.is_empty() {
        out.push_str("\nNotes\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    out
}

/// Rows indented by two spaces, columns two spaces apart and padded to their widest cell
/// (in characters), the last column unpadded.
fn table(out: &mut String, rows: &[[String; 4]]) {
    let mut widths = [0_usize; 4];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        out.push(' ');
        for (i, cell) in row.iter().enumerate() {
            out.push(' ');
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 1;
                out.push_str(&" ".repeat(pad));
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use matrix_render_model::api::{DnsRecord, NamespacePlan, PortRule, SecretItem};

    use super::*;

    #[test]
    fn text_aligns_columns_and_names_ranges() {
        let plan = Plan {
            dns: vec![DnsRecord {
                host: "turn.example.com".to_owned(),
                target: DnsTarget::Node,
                serves: vec!["coturn".to_owned()],
                proxy_allowed: false,
                note: Some("TURN is not HTTP".to_owned()),
            }],
            ports: vec![
                PortRule {
                    component: "coturn".to_owned(),
                    protocol: Protocol::Udp,
                    port: 49160,
                    end_port: 49200,
                    nodes: "the coturn node".to_owned(),
                    purpose: "relay".to_owned(),
                },
                PortRule {
                    component: "ingress".to_owned(),
                    protocol: Protocol::Tcp,
                    port: 443,
                    end_port: 443,
                    nodes: "every node".to_owned(),
                    purpose: "HTTPS".to_owned(),
                },
            ],
            secrets: vec![SecretItem {
                path: "coturn.turn_shared_secret".to_owned(),
                source: SecretSource::ExistingSecret,
                secret: "ops".to_owned(),
                key: "turn".to_owned(),
                required: true,
            }],
            notes: vec!["a note".to_owned()],
            namespaces: vec![
                NamespacePlan {
                    name: "matrix".to_owned(),
                    needs: PodSecurityLevel::Restricted,
                    enforces: Some(PodSecurityLevel::Restricted),
                    holds: vec!["synapse".to_owned(), "element".to_owned()],
                },
                NamespacePlan {
                    name: "matrix-host".to_owned(),
                    needs: PodSecurityLevel::Privileged,
                    enforces: None,
                    holds: vec!["coturn (host network)".to_owned()],
                },
            ],
            prerequisites: vec!["cert-manager".to_owned()],
        };
        let text = text(&plan);
        assert!(
            text.contains("  49160-49200/UDP  coturn   relay  on the coturn node\n"),
            "{text}"
        );
        assert!(
            text.contains("  443/TCP          ingress  HTTPS  on every node\n"),
            "{text}"
        );
        assert!(
            text.contains("  turn.example.com  -> node address  DNS-only  coturn\n"),
            "{text}"
        );
        assert!(text.contains("  note: turn.example.com: TURN is not HTTP\n"));
        assert!(text.contains("  coturn.turn_shared_secret  you create  Secret ops  key turn\n"));
        assert!(
            text.contains(
                "\nNamespaces and Pod Security\n  matrix       needs restricted  labelled restricted"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  matrix-host  needs privileged  you label it privileged or leave it unenforced  coturn (host network)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nPrerequisites\n  - cert-manager\n"),
            "{text}"
        );
        assert!(text.ends_with("\nNotes\n  - a note\n"));
    }
}
