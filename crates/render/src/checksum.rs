//! Checksums for pod-template annotations, so a config change rolls the pods.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of several parts, each length-prefixed so that boundaries count.
pub fn sha256_hex<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
