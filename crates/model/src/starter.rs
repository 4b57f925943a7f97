//! The starter files `matrix-render init` writes: a short `values.yaml` with the settings a new
//! install must decide, and a `.secrets.yaml` around secrets the caller drew.
//!
//! The text comes from here, not from the front-end, so that the names, ports and defaults it
//! mentions are the ones [`crate::load`] applies: every number and class name is read from
//! `defaults.yaml`, and the tests load both files back with no diagnostic. The caller brings
//! the randomness (the core has none), already validated host names and an IP address.

use serde_json::Value;

use crate::load::defaults;

/// Name of the secrets file, as the values file's header refers to it.
pub const SECRETS_FILE: &str = ".secrets.yaml";
/// Name of the schema file the modeline of both files points at.
pub const SCHEMA_FILE: &str = "matrix-render.schema.json";

/// What `init` was asked for. Host names are written in double quotes as given: the caller
/// checks that they hold only letters, digits, `-` and `.`.
#[derive(Debug, Clone, Default)]
pub struct StarterInput<'a> {
    /// `global.domain`: Synapse's host.
    pub domain: &'a str,
    /// `global.elementDomain`.
    pub element_domain: &'a str,
    /// `global.serverName`, when user IDs should carry another name than Synapse's host.
    pub server_name: Option<&'a str>,
    /// `coturn.realm` and `coturn.turn_url`.
    pub turn_host: &'a str,
    /// `matrixrtc.host`; `Some` turns MatrixRTC on.
    pub rtc_host: Option<&'a str>,
    /// `coturn.public_ip_static`.
    pub public_ip: Option<&'a str>,
}

/// The secrets to write, drawn by the caller.
#[derive(Debug, Clone, Default)]
pub struct StarterSecrets<'a> {
    /// `synapse.registration_shared_secret`.
    pub registration: &'a str,
    /// `coturn.turn_shared_secret`.
    pub turn: &'a str,
    /// `matrixrtc.livekit.key`.
    pub livekit_key: &'a str,
    /// `matrixrtc.livekit.secret`.
    pub livekit_secret: &'a str,
}

/// A default from `defaults.yaml`, by dotted path, as YAML would print a scalar.
///
/// # Panics
/// When the path names no scalar of the defaults: a bug the unit tests catch.
fn default(path: &str) -> String {
    let mut at: &Value = defaults().expect("the built-in defaults parse");
    for key in path.split('.') {
        at = at
            .get(key)
            .unwrap_or_else(|| panic!("`{path}` is not in defaults.yaml"));
    }
    match at {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("`{path}` is not a scalar in defaults.yaml: {other}"),
    }
}

/// The starter `values.yaml`: host names and the few settings a new install must decide; no
/// secret. Ports and names in its comments are the defaults the render will use.
#[must_use]
pub fn values_yaml(input: &StarterInput<'_>) -> String {
    let namespace = default("namespace");
    let class = default("ingress.className");
    let issuer = default("ingress.clusterIssuer");
    let (turn_port, turn_tls_port) = (
        default("coturn.listeningPort"),
        default("coturn.tlsListeningPort"),
    );
    let (relay_min, relay_max) = (default("coturn.minPort"), default("coturn.maxPort"));
    let rtc_tcp = default("matrixrtc.livekit.rtc.tcpPort");
    let (rtc_min, rtc_max) = (
        default("matrixrtc.livekit.rtc.portRangeStart"),
        default("matrixrtc.livekit.rtc.portRangeEnd"),
    );
    let StarterInput {
        domain,
        element_domain,
        server_name,
        turn_host,
        rtc_host,
        public_ip,
    } = *input;

    let mut out = String::new();
    out.push_str(&format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}\n\
         # matrix-render values, written by `matrix-render init`. The secrets are in {SECRETS_FILE}.\n\
         # Every setting, with its default and an example, is in the schema ({SCHEMA_FILE},\n\
         # which `matrix-render schema` prints); editors complete and check keys through the\n\
         # line above. Objects go to the namespace `{namespace}`, Ingresses use class `{class}`\n\
         # and TLS from the cert-manager ClusterIssuer `{issuer}` (keys `namespace`, `ingress`).\n\
         global:\n"
    ));
    match server_name {
        Some(name) => out.push_str(&format!(
            "  # The Matrix server name: user IDs look like @alice:{name}, forever. Synapse runs at\n  \
             # `domain`; {name} must serve /.well-known/matrix (see `plan`).\n  \
             serverName: \"{name}\"\n  \
             # Synapse host\n  \
             domain: \"{domain}\"\n"
        )),
        None => out.push_str(&format!(
            "  # Synapse host and Matrix server name: user IDs look like @alice:{domain}, forever.\n  \
             # To use a shorter name (@alice:example.org), set serverName before the first start.\n  \
             domain: \"{domain}\"\n"
        )),
    }
    out.push_str(&format!(
        "  # Element Web host\n  \
         elementDomain: \"{element_domain}\"\n\
         \n\
         synapse:\n  \
           registration:\n    \
             # Closed: create accounts with `register_new_matrix_user` and the registration\n    \
             # shared secret. To open it, set enabled: true with requiresToken: true, or with\n    \
             # captchaEnabled: true and reCAPTCHA keys from Google in {SECRETS_FILE}.\n    \
             enabled: false\n    \
             captchaEnabled: false\n\
         \n\
         # coturn (TURN relay for calls) uses the node's network: open TCP/UDP {turn_port}, TCP\n\
         # {turn_tls_port} and UDP {relay_min}-{relay_max} to it.\n\
         coturn:\n  \
           realm: \"{turn_host}\"\n  \
           turn_url: \"{turn_host}\"\n"
    ));
    match public_ip {
        Some(ip) => out.push_str(&format!("  public_ip_static: \"{ip}\"\n")),
        None => out.push_str(
            "  # The node's public IP address, if coturn is behind NAT:\n  \
             # public_ip_static: \"203.0.113.10\"\n",
        ),
    }
    out.push_str(
        "  # The node's internal IP address, to relay from:\n  \
         # relay_ip: \"192.168.0.150\"\n  \
         # With either address set, keep coturn on the node that has it (validate warns\n  \
         # until then): nodeSelector: {kubernetes.io/hostname: NODE-NAME}\n\
         \n",
    );
    match rtc_host {
        Some(host) => out.push_str(&format!(
            "# MatrixRTC (LiveKit SFU + lk-jwt-service) for Element Call. LiveKit uses the node's\n\
             # network: open TCP {rtc_tcp} and UDP {rtc_min}-{rtc_max} to it.\n\
             matrixrtc:\n  enabled: true\n  host: \"{host}\"\n"
        )),
        None => out.push_str(
            "# MatrixRTC (LiveKit, for Element Call) is off. To turn it on:\n\
             # matrixrtc:\n#   enabled: true\n#   host: \"rtc.example.org\"\n",
        ),
    }
    out
}

/// The starter `.secrets.yaml`: every generated secret, double-quoted, in the layout of
/// `examples/secrets.yaml`. The caller draws them from characters YAML reads as plain text.
#[must_use]
pub fn secrets_yaml(secrets: &StarterSecrets<'_>) -> String {
    let StarterSecrets {
        registration,
        turn,
        livekit_key,
        livekit_secret,
    } = *secrets;
    format!(
        "# yaml-language-server: $schema=./{SCHEMA_FILE}\n\
         # Secrets written by `matrix-render init`. Keep this file out of git and private.\n\
         synapse:\n  \
           registration_shared_secret: \"{registration}\"\n  \
           # reCAPTCHA keys are not generated: Google issues them for your Element host at\n  \
           # https://www.google.com/recaptcha/admin. Add them to use captchaEnabled: true.\n  \
           # recaptcha:\n  \
           #   siteKey: \"\"\n  \
           #   secretKey: \"\"\n\
         \n\
         coturn:\n  \
           turn_shared_secret: \"{turn}\"\n\
         \n\
         # Used only when matrixrtc.enabled is true.\n\
         matrixrtc:\n  \
           livekit:\n    \
             key: \"{livekit_key}\"\n    \
             secret: \"{livekit_secret}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadInput, NamedText, load};

    const SECRETS: StarterSecrets<'static> = StarterSecrets {
        registration: "Reg0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        turn: "Turn0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHI",
        livekit_key: "APIabcdefghijkl",
        livekit_secret: "Lk0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK",
    };

    fn loads_clean(values: &str) -> crate::Config {
        loads_warning_about(values, &[])
    }

    /// Loads with no diagnostic but `unpinned-host-address` warnings at `unpinned`: the
    /// starter cannot know which node has the addresses it is given.
    fn loads_warning_about(values: &str, unpinned: &[&str]) -> crate::Config {
        let secrets = secrets_yaml(&SECRETS);
        let files = [
            NamedText {
                name: "values.yaml".to_owned(),
                text: values.to_owned(),
            },
            NamedText {
                name: SECRETS_FILE.to_owned(),
                text: secrets,
            },
        ];
        let loaded = load(LoadInput {
            values: &files,
            set: &[],
            set_string: &[],
            ..Default::default()
        });
        let found: Vec<(&str, &str)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.path.as_str()))
            .collect();
        let expected: Vec<(&str, &str)> = unpinned
            .iter()
            .map(|p| ("unpinned-host-address", *p))
            .collect();
        assert_eq!(found, expected, "{:#?}\n{values}", loaded.diagnostics);
        loaded.config.expect("a config")
    }

    /// Whether a comment's text is a commented-out setting: `key:` or `key: value`, the key
    /// in lower camel or snake case, the value one word or a quoted string.
    fn is_setting(text: &str) -> bool {
        let Some((key, value)) = text.split_once(':') else {
            return false;
        };
        let key_ok = key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        let value = value.trim();
        let value_ok = value.is_empty()
            || !value.contains(' ')
            || (value.starts_with('"') && value.ends_with('"'));
        key_ok && value_ok
    }

    /// The values with every commented-out setting put back: each must name a key the schema
    /// has, so uncommenting it loads.
    fn uncommented(values: &str) -> String {
        values
            .lines()
            .map(|line| {
                let body = line.trim_start();
                let indent = &line[..line.len() - body.len()];
                // `#   enabled: true` is `enabled` two levels under the comment's own indent.
                let rest = body.strip_prefix("# ").unwrap_or_default();
                let text = rest.trim_start();
                let nested = &rest[..rest.len() - text.len()];
                if is_setting(text) {
                    format!("{indent}{nested}{text}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect()
    }

    #[test]
    fn the_starter_files_load_without_a_diagnostic() {
        let input = StarterInput {
            domain: "matrix.example.org",
            element_domain: "element.example.org",
            turn_host: "turn.matrix.example.org",
            ..StarterInput::default()
        };
        let values = values_yaml(&input);
        let config = loads_clean(&values);
        assert!(!config.matrixrtc.enabled);
        assert!(values.contains("@alice:matrix.example.org"));
        // The commented-out settings are real keys too.
        let open = uncommented(&values);
        for line in [
            "\n  relay_ip: \"192.168.0.150\"\n",
            "\n  public_ip_static: \"203.0.113.10\"\n",
            "\nmatrixrtc:\n  enabled: true\n  host: \"rtc.example.org\"\n",
        ] {
            assert!(open.contains(line), "{line:?} not in\n{open}");
        }
        let config = loads_warning_about(&open, &["coturn.relay_ip", "coturn.public_ip_static"]);
        assert!(config.matrixrtc.enabled);
    }

    #[test]
    fn every_option_lands_in_its_setting() {
        let input = StarterInput {
            domain: "matrix.example.org",
            element_domain: "element.example.org",
            server_name: Some("example.org"),
            turn_host: "turn.example.org",
            rtc_host: Some("rtc.example.org"),
            public_ip: Some("203.0.113.7"),
        };
        let values = values_yaml(&input);
        let config = loads_warning_about(&values, &["coturn.public_ip_static"]);
        assert_eq!(config.global.server_name, "example.org");
        assert_eq!(config.global.domain, "matrix.example.org");
        assert_eq!(config.coturn.realm, "turn.example.org");
        assert_eq!(config.coturn.public_ip_static, "203.0.113.7");
        assert!(config.matrixrtc.enabled);
        assert_eq!(config.matrixrtc.host, "rtc.example.org");
        assert!(values.contains("@alice:example.org"));
    }

    #[test]
    fn the_comments_quote_the_defaults() {
        let values = values_yaml(&StarterInput {
            domain: "a.example",
            element_domain: "b.example",
            turn_host: "c.example",
            rtc_host: Some("d.example"),
            ..StarterInput::default()
        });
        let d = defaults().expect("defaults");
        let coturn = &d["coturn"];
        let rtc = &d["matrixrtc"]["livekit"]["rtc"];
        for expected in [
            format!("namespace `{}`", d["namespace"].as_str().unwrap()),
            format!("class `{}`", d["ingress"]["className"].as_str().unwrap()),
            format!("TCP/UDP {}", coturn["listeningPort"]),
            format!("UDP {}-{}", coturn["minPort"], coturn["maxPort"]),
            format!("TCP {}", rtc["tcpPort"]),
            format!("UDP {}-{}", rtc["portRangeStart"], rtc["portRangeEnd"]),
        ] {
            assert!(
                values.contains(&expected),
                "{expected:?} missing:\n{values}"
            );
        }
    }

    #[test]
    fn the_secrets_land_in_their_settings() {
        let values = values_yaml(&StarterInput {
            domain: "a.example",
            element_domain: "b.example",
            turn_host: "c.example",
            ..StarterInput::default()
        });
        let secrets = secrets_yaml(&SECRETS);
        for value in [
            SECRETS.registration,
            SECRETS.turn,
            SECRETS.livekit_key,
            SECRETS.livekit_secret,
        ] {
            assert_eq!(secrets.matches(value).count(), 1);
            assert!(!values.contains(value));
        }
        loads_clean(&values);
    }
}
