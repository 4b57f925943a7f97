//! Semantic checks on a typed config, beyond what its types say.

use crate::config::Config;
use crate::diag::Diagnostic;

/// Every semantic problem found, in a stable order.
#[must_use]
pub fn check(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut required = |path: &str, value: &str, what: &str| {
        if value.trim().is_empty() {
            out.push(
                Diagnostic::error("missing-value", path, format!("{what} must not be empty"))
                    .with_hint(format!("set `{path}` in your values file")),
            );
        }
    };
    required(
        "global.domain",
        &config.global.domain,
        "the Synapse host name",
    );
    required(
        "global.elementDomain",
        &config.global.element_domain,
        "the Element host name",
    );
    required("namespace", &config.namespace, "the namespace");
    if config.coturn.enabled {
        required("coturn.realm", &config.coturn.realm, "the TURN realm");
        required(
            "coturn.turn_url",
            &config.coturn.turn_url,
            "the TURN host name",
        );
    }
    if config.matrixrtc.enabled {
        required(
            "matrixrtc.host",
            &config.matrixrtc.host,
            "the MatrixRTC host name",
        );
    }
    out
}
