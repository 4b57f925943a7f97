//! Every limit on the size of an input, in one place; the README's "Limits" section lists
//! them with the settings that change the adjustable ones. The core enforces its own on
//! every front-end; hosts bound what they read before the core sees it.

pub use crate::load::MAX_DOCUMENT_BYTES;
pub use crate::yaml::{MAX_ALIAS_BYTES, MAX_ALIAS_NODES, MAX_DEPTH};

/// The most a ConfigMap's or a Secret's data may hold, in bytes: the sum of the lengths of
/// its values (decoded, for a Secret), keys not counted, as the Kubernetes API server counts
/// it (`MaxSecretSize`, which also bounds ConfigMaps). A render that would emit a larger
/// one is refused.
pub const MAX_OBJECT_DATA_BYTES: usize = 1024 * 1024;

/// The most items a KRM ResourceList may hold.
pub const MAX_KRM_ITEMS: usize = 10_000;

/// What a host reads in all for one render unless told otherwise: the CLI's default for
/// `MATRIX_RENDER_INPUT_MIB`, and the most the Helm plugin reads on stdin.
pub const DEFAULT_INPUT_BYTES: usize = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadInput, NamedText, load};

    fn codes(text: String) -> Vec<String> {
        let values = [NamedText {
            name: "values.yaml".to_owned(),
            text,
        }];
        load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            ..Default::default()
        })
        .diagnostics
        .into_iter()
        .map(|d| d.code)
        .collect()
    }

    /// The core refuses a document over its limit by itself, whatever front-end sent it.
    #[test]
    fn a_document_over_the_limit_is_refused_by_the_core() {
        let fill = |len: usize| format!("# {}\n", "x".repeat(len - 3));
        assert!(!codes(fill(MAX_DOCUMENT_BYTES)).contains(&"file-too-large".to_owned()));
        assert_eq!(codes(fill(MAX_DOCUMENT_BYTES + 1)), ["file-too-large"]);
    }
}
