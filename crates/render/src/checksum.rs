//! Checksums for pod-template annotations, so a config change rolls the pods.
//!
//! A pod template is readable by more people than the Secrets it mounts (`get deployments`
//! is a weaker right than `get secrets`), so its annotation must not let anyone test
//! guesses of a secret offline. A plain hash of the mounted data would: hash a guess with
//! the (readable) ConfigMaps, compare. So:
//!
//! - a pod that mounts no Secret data of ours gets a plain SHA-256 of its ConfigMaps, which
//!   hold nothing secret;
//! - a pod that mounts Secret data gets HMAC-SHA256 over the same length-prefixed parts,
//!   keyed by a SHA-256 of *every* inline secret value of the stack, each with its config
//!   path, length-prefixed, in a fixed order. A guess now has to get all of the stack's
//!   secrets right at once; the generated ones (the registration secret, the TURN secret,
//!   the LiveKit secret) are long and random, so guessing a weak one alongside them is out
//!   of reach. The annotation stays deterministic and still changes whenever the pod's own
//!   config or secrets change.
//!
//! The price: rotating any one secret changes the key, so every pod with Secret data rolls
//! (Synapse, coturn, LiveKit, lk-jwt-service), not only the one that uses it. Pods without
//! secrets (Element, the static pages, the delegation files) are unaffected. When every
//! secret comes from an `existingSecret`, no Secret data of ours exists and the annotations
//! are plain hashes of the ConfigMaps: the values are not ours to read, and rotating them
//! needs a restart, as with any reference.

use sha2::{Digest, Sha256};

/// Separates this key derivation from any other use of the same values.
const KEY_DOMAIN: &[u8] = b"matrix-render checksum/config key v1";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn update_framed<'a>(hasher: &mut Sha256, parts: impl IntoIterator<Item = &'a [u8]>) {
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
}

/// Lowercase hex SHA-256 of several parts, each length-prefixed so that boundaries count.
pub fn sha256_hex<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    update_framed(&mut hasher, parts);
    hex(&hasher.finalize())
}

/// The HMAC key: SHA-256 over a domain string and every secret's (path, value), framed.
pub fn secrets_key<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a str)>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(KEY_DOMAIN);
    for (path, value) in secrets {
        update_framed(&mut hasher, [path.as_bytes(), value.as_bytes()]);
    }
    hasher.finalize().into()
}

/// Lowercase hex HMAC-SHA256 (RFC 2104) of several length-prefixed parts.
pub fn hmac_sha256_hex<'a>(key: &[u8; 32], parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    const BLOCK: usize = 64;
    // A 32-byte key is shorter than the block: it is zero-padded, never hashed first.
    let mut padded = [0u8; BLOCK];
    padded[..key.len()].copy_from_slice(key);
    let inner_key: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
    let outer_key: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
    let mut inner = Sha256::new();
    inner.update(&inner_key);
    update_framed(&mut inner, parts);
    let mut outer = Sha256::new();
    outer.update(&outer_key);
    outer.update(inner.finalize());
    hex(&outer.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the construction with a 32-byte key, as ours are, against a value
    /// computed independently (Python's hmac module):
    /// hmac.new(bytes(range(32)), b"\0\0\0\0\0\0\0\x03abc", "sha256").hexdigest()
    #[test]
    fn hmac_matches_an_independent_implementation() {
        let key: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        assert_eq!(
            hmac_sha256_hex(&key, [b"abc".as_slice()]),
            "8dd9401ea4e5af73c5d169c6484b3c13ab4b9e48b9a8c682b06bcd74e3d5bd6f"
        );
    }

    #[test]
    fn the_key_depends_on_every_secret_and_on_the_boundaries() {
        let base = secrets_key([("a", "x"), ("b", "y")]);
        assert_ne!(base, secrets_key([("a", "x"), ("b", "z")]));
        assert_ne!(base, secrets_key([("a", "x")]));
        assert_ne!(base, secrets_key([("a", "xb"), ("", "y")]));
        assert_eq!(base, secrets_key([("a", "x"), ("b", "y")]));
    }

    #[test]
    fn the_keyed_checksum_is_not_the_plain_one() {
        let key = secrets_key([("a", "secret")]);
        let parts = [b"config".as_slice(), b"secret".as_slice()];
        assert_ne!(hmac_sha256_hex(&key, parts), sha256_hex(parts));
        assert_eq!(hmac_sha256_hex(&key, parts).len(), 64);
    }

    /// The rendered objects of a base config (MatrixRTC on) plus `extra`.
    fn render(extra: &str) -> Vec<serde_json::Value> {
        crate::testing::render_items(crate::testing::BASE_RTC, extra)
    }

    fn annotation(items: &[serde_json::Value], deployment: &str) -> String {
        let d = items
            .iter()
            .find(|i| i["kind"] == "Deployment" && i["metadata"]["name"] == deployment)
            .unwrap();
        d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The plain hash someone who reads Deployments and ConfigMaps could compute for a
    /// guess of coturn's secret.
    fn guess(items: &[serde_json::Value], secret: Option<&str>) -> String {
        let cm = items
            .iter()
            .find(|i| i["kind"] == "ConfigMap" && i["metadata"]["name"] == "coturn-config")
            .unwrap();
        let conf = cm["data"]["turnserver.conf"].as_str().unwrap();
        let mut parts: Vec<&[u8]> = vec![
            b"coturn-config".as_slice(),
            b"turnserver.conf".as_slice(),
            conf.as_bytes(),
        ];
        if let Some(secret) = secret {
            parts.extend([
                b"coturn-secret".as_slice(),
                b"TURN_SHARED_SECRET".as_slice(),
                secret.as_bytes(),
            ]);
        }
        sha256_hex(parts)
    }

    #[test]
    fn a_weak_secret_cannot_be_checked_against_the_annotation() {
        let a = render("");
        // A right guess of the weak TURN secret does not reproduce the annotation.
        assert_ne!(annotation(&a, "coturn"), guess(&a, Some("weak")));
        // The key takes every secret: one coturn does not mount changes its annotation, so
        // a guess would have to cover the registration and LiveKit secrets as well.
        let b = render("synapse: {registration_shared_secret: reg-other-0123456789}\n");
        assert_ne!(annotation(&a, "coturn"), annotation(&b, "coturn"));
        // It changes with the pod's own secret, and stays put for pods without secrets.
        let c = render("coturn: {turn_shared_secret: weak2}\n");
        assert_ne!(annotation(&a, "coturn"), annotation(&c, "coturn"));
        assert_ne!(annotation(&a, "synapse"), annotation(&c, "synapse"));
        assert_eq!(annotation(&a, "element"), annotation(&c, "element"));
        // Same input, same bytes.
        assert_eq!(annotation(&a, "coturn"), annotation(&render(""), "coturn"));
    }

    #[test]
    fn without_secret_data_the_annotation_is_the_plain_hash_of_the_config() {
        let d = render(
            "synapse: {registration_shared_secret: {existingSecret: {name: s, key: r}}}\n\
             coturn: {turn_shared_secret: {existingSecret: {name: s, key: t}}}\n\
             matrixrtc: {livekit: {key: {existingSecret: {name: s, key: k}}, secret: {existingSecret: {name: s, key: x}}}}\n",
        );
        assert!(!d.iter().any(|i| i["kind"] == "Secret"));
        assert_eq!(annotation(&d, "coturn"), guess(&d, None));
    }
}
