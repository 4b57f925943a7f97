//! The oldest Synapse that can run the config matrix-render renders. Some options the render
//! relies on are recent (secrets read from files above all); an older Synapse ignores an
//! option it does not know, so an old `synapse.image.tag` would start and then miss its TURN
//! secret or its reCAPTCHA keys. [`check`] warns before that happens.

use crate::config::Config;
use crate::diag::Diagnostic;

/// A Synapse version, `(major, minor, patch)`.
pub type Version = (u32, u32, u32);

/// An option of homeserver.yaml that the render writes under a condition, and the first
/// Synapse release that reads it (from Synapse's configuration manual and changelog).
#[derive(Debug)]
pub struct Requirement {
    /// The homeserver.yaml option.
    pub option: &'static str,
    /// The first Synapse release that has it.
    pub since: Version,
    /// When the render writes it, in words for the message.
    pub when: &'static str,
    /// Whether the render writes it for this config.
    pub applies: fn(&Config) -> bool,
}

/// Every such option. The test suite checks that each appears in the rendered homeserver.yaml
/// when `applies` holds, so a new option cannot be added without its version here.
pub const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        option: "extra_well_known_client_content",
        since: (1, 62, 0),
        when: "MatrixRTC is on",
        applies: |c| c.matrixrtc.enabled,
    },
    Requirement {
        option: "registration_shared_secret_path",
        since: (1, 67, 0),
        when: "a registration shared secret is set",
        applies: |c| c.synapse.registration_shared_secret.is_set(),
    },
    Requirement {
        option: "turn_shared_secret_path",
        since: (1, 116, 0),
        when: "coturn is on",
        applies: |c| c.coturn.enabled,
    },
    Requirement {
        option: "recaptcha_public_key_path",
        since: (1, 135, 0),
        when: "registration uses reCAPTCHA",
        applies: |c| {
            c.synapse.registration.captcha_enabled && c.synapse.recaptcha.site_key.is_set()
        },
    },
    Requirement {
        option: "recaptcha_private_key_path",
        since: (1, 135, 0),
        when: "registration uses reCAPTCHA",
        applies: |c| {
            c.synapse.registration.captcha_enabled && c.synapse.recaptcha.secret_key.is_set()
        },
    },
    Requirement {
        option: "client_secret_path",
        since: (1, 91, 0),
        when: "an OIDC provider in `synapse.extraConfig` reads its `client_secret` from an \
               existing Secret",
        applies: |c| crate::synapse_extra::writes_option(c, "client_secret_path"),
    },
];

/// The version a Synapse image tag names: `v1.162.0`, `1.162.0`, `v1.135.0rc2` (a release
/// candidate counts as its release). `None` for tags that name no version (`latest`,
/// `develop`, a digest-only build).
#[must_use]
pub fn parse_tag(tag: &str) -> Option<Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = text.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let patch = rest[..digits].parse().ok()?;
    let suffix = &rest[digits..];
    let suffix_ok = suffix.is_empty()
        || suffix
            .strip_prefix("rc")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    suffix_ok.then_some((major, minor, patch))
}

/// The options this config makes the render write that the tagged Synapse does not have.
#[must_use]
pub fn missing(config: &Config, version: Version) -> Vec<&'static Requirement> {
    REQUIREMENTS
        .iter()
        .filter(|r| (r.applies)(config) && r.since > version)
        .collect()
}

/// A warning when `synapse.image.tag` names a release older than an option the rendered
/// config needs; nothing for tags that name no version.
#[must_use]
pub fn check(config: &Config) -> Option<Diagnostic> {
    let tag = &config.synapse.image.tag;
    let version = parse_tag(tag)?;
    let missing = missing(config, version);
    let needed = missing.iter().map(|r| r.since).max()?;
    let options: Vec<String> = missing
        .iter()
        .map(|r| {
            let (a, b, c) = r.since;
            format!(
                "`{}` (Synapse {a}.{b}.{c}, written when {})",
                r.option, r.when
            )
        })
        .collect();
    let (a, b, c) = needed;
    Some(
        Diagnostic::warning(
            "synapse-too-old",
            "synapse.image.tag",
            format!(
                "Synapse {tag} is older than the rendered config needs: it ignores {}, so \
                 what they configure would silently not work",
                options.join(", ")
            ),
        )
        .with_hint(format!(
            "use v{a}.{b}.{c} or newer (the default is {}), or turn off what needs it",
            crate::versions::default_images()
                .into_iter()
                .find(|i| i.setting == "synapse.image")
                .map_or_else(String::new, |i| i.tag)
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_versions_or_nothing() {
        assert_eq!(parse_tag("v1.162.0"), Some((1, 162, 0)));
        assert_eq!(parse_tag("1.116.3"), Some((1, 116, 3)));
        assert_eq!(parse_tag("v1.135.0rc2"), Some((1, 135, 0)));
        for none in [
            "latest",
            "develop",
            "",
            "v1",
            "v1.2",
            "v1.2.x",
            "v1.2.3-custom",
            "1.2.3rc",
        ] {
            assert_eq!(parse_tag(none), None, "{none:?}");
        }
    }

    #[test]
    fn versions_compare_numerically() {
        assert!((1, 116, 0) > (1, 99, 9));
        assert!((1, 135, 0) > (1, 116, 5));
        assert!((2, 0, 0) > (1, 200, 0));
    }
}
