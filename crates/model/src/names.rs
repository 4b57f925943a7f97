//! Names that Kubernetes or one of the stack's programs constrain, each checked with the rule
//! its consumer applies.
//!
//! Every rule has the regular expression that the file schema carries as `pattern` (for
//! editors and any other JSON Schema validator) and a matcher of its own that the core runs:
//! the core has no regular-expression engine, so a `pattern` the schema uses must be one of
//! [`RULES`] (crates/model/build.rs refuses any other), and each matcher accepts exactly what
//! its expression accepts (the tests below hold them together on a list of samples).
//! Lengths are the schema's `maxLength`, checked apart from the pattern.

/// One naming rule.
#[derive(Debug)]
pub struct Rule {
    /// The ECMA-262 regular expression of the schema's `pattern`.
    pub pattern: &'static str,
    /// The matcher the core runs for [`Rule::pattern`].
    pub matches: fn(&str) -> bool,
    /// What a matching value is, for messages: "`X` is not {what}".
    pub what: &'static str,
    /// How to write one.
    pub hint: &'static str,
}

/// A DNS-1123 subdomain (Kubernetes object names: Secrets, IngressClasses, ClusterIssuers,
/// Gateways; Gateway API's `SectionName`), or empty for "not set". Up to 253 characters
/// (`maxLength`).
pub const DNS_SUBDOMAIN: &str =
    r"^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$";

/// A label value: empty, or up to 63 (`maxLength`) of `[A-Za-z0-9._-]` beginning and ending
/// with a letter or digit.
pub const LABEL_VALUE: &str = r"^(|[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$";

/// A label key: an optional DNS-1123 subdomain prefix and `/`, then a name of up to 63
/// characters of `[A-Za-z0-9._-]` beginning and ending with a letter or digit. The name's
/// limit is in the expression; the prefix's (253) only in the matcher, the schema bounding
/// the whole key (`maxLength` 317).
pub const LABEL_KEY: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

/// A Matrix server name (spec appendix "Server Name"): a DNS name of letters, digits, `-` and
/// `.`, an IPv4 literal or a bracketed IPv6 literal, then an optional `:port` of one to five
/// digits; or empty for "not set".
pub const SERVER_NAME: &str = r"^(|([A-Za-z0-9.-]{1,255}|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?)$";

/// Element Web's `default_theme`: a built-in theme, a `custom-` theme named in
/// `setting_defaults.custom_themes`, or empty for Element's own choice.
pub const ELEMENT_THEME: &str = r"^(|light|dark|light-high-contrast|custom-[^\x00-\x1f\x7f]+)$";

/// A libpq connection word (PostgreSQL user or database name): no whitespace and no control
/// character, which the connection string and PostgreSQL's identifiers would not carry.
pub const LIBPQ_WORD: &str = r"^[^\s\x00-\x1f\x7f]*$";

/// A PostgreSQL host: a host name (letters, digits, `-`, `.`, `_`), an IPv4 address or an
/// IPv6 address; or empty for "not set".
pub const DATABASE_HOST: &str = r"^(|[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$";

/// A Prometheus duration as the Prometheus Operator's CRDs spell it: `0`, or numbers with the
/// units `y`, `w`, `d`, `h`, `m`, `s`, `ms`, each at most once and in that order (`1m30s`);
/// or empty for "not set".
pub const PROMETHEUS_DURATION: &str =
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";

/// Every rule a `pattern` of the file schema may name.
pub const RULES: &[Rule] = &[
    Rule {
        pattern: DNS_SUBDOMAIN,
        matches: |s| s.is_empty() || is_dns_subdomain(s),
        what: "a valid Kubernetes object name (a DNS-1123 subdomain)",
        hint: "use lowercase letters, digits, `-` and `.`, starting and ending with a letter or \
               digit",
    },
    Rule {
        pattern: LABEL_VALUE,
        matches: |s| s.is_empty() || is_label_name(s, usize::MAX),
        what: "a valid label value",
        hint: "use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, \
               at most 63 characters",
    },
    Rule {
        pattern: LABEL_KEY,
        matches: is_label_key,
        what: "a valid label key",
        hint: "write `name` or `prefix/name`: the name is letters, digits, `-`, `_` and `.` (at \
               most 63, starting and ending with a letter or digit), the prefix a lowercase DNS \
               name such as `app.kubernetes.io`",
    },
    Rule {
        pattern: SERVER_NAME,
        matches: |s| s.is_empty() || is_server_name(s),
        what: "a Matrix server name",
        hint: "write a host name with an optional port, e.g. `matrix.example.org:443`, without \
               scheme or path",
    },
    Rule {
        pattern: ELEMENT_THEME,
        matches: |s| {
            matches!(s, "" | "light" | "dark" | "light-high-contrast")
                || s.strip_prefix("custom-").is_some_and(|name| {
                    !name.is_empty() && !name.chars().any(|c| c.is_ascii_control())
                })
        },
        what: "an Element theme",
        hint: "write `light`, `dark`, `light-high-contrast`, or `custom-NAME` for a theme in \
               `element.settingDefaults.custom_themes`",
    },
    Rule {
        pattern: LIBPQ_WORD,
        matches: |s| !s.chars().any(|c| c.is_whitespace() || c.is_control()),
        what: "usable in a PostgreSQL connection",
        hint: "remove the spaces, line breaks and control characters",
    },
    Rule {
        pattern: DATABASE_HOST,
        matches: |s| s.is_empty() || is_database_host(s),
        what: "a host name or IP address",
        hint: "write the server's host name (e.g. `postgres.db.svc.cluster.local`) or IP \
               address, without port or scheme",
    },
    Rule {
        pattern: PROMETHEUS_DURATION,
        matches: is_prometheus_duration,
        what: "a Prometheus duration",
        hint: "write numbers with the units y, w, d, h, m, s, ms in that order, e.g. `30s` or \
               `1m30s`",
    },
];

/// The rule whose expression is `pattern`.
#[must_use]
pub fn rule(pattern: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.pattern == pattern)
}

/// A DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`. (Its 63-character limit is the caller's.)
fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && bytes.iter().all(|&b| edge(b) || b == b'-')
}

/// A DNS-1123 subdomain without its length limit: labels joined by `.`.
fn is_dns_subdomain(name: &str) -> bool {
    name.split('.').all(is_label)
}

/// A label name (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`) of at most `max` characters.
fn is_label_name(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn is_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253 && is_dns_subdomain(prefix) && is_label_name(name, 63)
        }
        None => is_label_name(key, 63),
    }
}

fn is_server_name(name: &str) -> bool {
    let (host, port) = if let Some(rest) = name.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        let ok = (2..=45).contains(&inner.len())
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok {
            return false;
        }
        (None, after)
    } else {
        let end = name.find(':').unwrap_or(name.len());
        (Some(&name[..end]), &name[end..])
    };
    let host_ok = host.is_none_or(|h| {
        (1..=255).contains(&h.len())
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    });
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        });
    host_ok && port_ok
}

fn is_prometheus_duration(text: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    if text == "0" {
        return true;
    }
    let mut rest = text;
    let mut next = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            rest.get(..1).unwrap_or_default()
        };
        match UNITS[next..].iter().position(|u| *u == unit) {
            Some(i) => next += i + 1,
            None => return false,
        }
        rest = &rest[unit.len()..];
    }
    true
}

fn is_database_host(host: &str) -> bool {
    let name = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    let ipv6 = host.contains(':')
        && host
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    name || ipv6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher of each rule on values it must accept and refuse; the schema conformance
    /// test runs the same rules' expressions through Python's `re` over the bad-input corpus.
    #[test]
    fn each_rule_accepts_its_names_and_refuses_the_rest() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                DNS_SUBDOMAIN,
                &["", "a", "matrix-tls", "le.prod", "0x"],
                &["Bad", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b"],
            ),
            (
                LABEL_VALUE,
                &["", "a", "Traefik", "ingress-nginx", "v1.2_3"],
                &["Bad Name!", "-a", "a.", "_a", "é"],
            ),
            (
                LABEL_KEY,
                &["app", "app.kubernetes.io/name", "A_b.c-d", "x/Y"],
                &["", "/a", "a/", "Bad Name!", "A.io/x", "a/b/c", "-a"],
            ),
            (
                SERVER_NAME,
                &[
                    "",
                    "matrix.example.org",
                    "matrix.example.org:443",
                    "1.2.3.4:8448",
                    "[::1]",
                    "[2001:db8::1]:8448",
                    "localhost",
                ],
                &[
                    "https://x.org",
                    "x.org/path",
                    "x.org:",
                    "x.org:123456",
                    "a b",
                    "[::1",
                    "[x]",
                    "x.org:44a",
                ],
            ),
            (
                ELEMENT_THEME,
                &[
                    "",
                    "light",
                    "dark",
                    "light-high-contrast",
                    "custom-Electric Blue",
                ],
                &["Light", "custom-", "solarized", "dark ", "custom-a\nb"],
            ),
            (
                LIBPQ_WORD,
                &["", "synapse", "syn-apse_1", "Ünïcode"],
                &["a b", "a\nb", "a\tb", "a\u{7}b"],
            ),
            (
                DATABASE_HOST,
                &[
                    "",
                    "postgres",
                    "db.example.org",
                    "10.0.0.5",
                    "fd00::5",
                    "pg_1",
                ],
                &["db example", "db:5432x", "postgres://db", "db/x", "a\nb"],
            ),
            (
                PROMETHEUS_DURATION,
                &[
                    "",
                    "0",
                    "30s",
                    "1m30s",
                    "5ms",
                    "1m5ms",
                    "1y2w3d4h5m6s7ms",
                    "90s",
                ],
                &[
                    "30", "s", "1s1m", "1m1m", "30 s", "1.5s", "-1s", "1x", "00", "1mms",
                ],
            ),
        ];
        for (pattern, good, bad) in cases {
            let rule = rule(pattern).expect("a rule for every pattern");
            for g in *good {
                assert!((rule.matches)(g), "{pattern} must accept {g:?}");
            }
            for b in *bad {
                assert!(!(rule.matches)(b), "{pattern} must refuse {b:?}");
            }
        }
    }
}
