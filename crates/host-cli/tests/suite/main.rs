//! Integration tests of `matrix-render`: golden outputs through the native core and through

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture or helper should fail the test loudly"
)]
//! the real binary (wasmtime), seed parity, secrets, and error handling.

mod allowlist;
mod batch;
mod common;
mod corpus;
mod errors;
mod golden;
mod helm_habits;
mod init;
mod krm;
mod limits;
mod masking;
mod migrate;
mod namespaces;
mod output_dir;
mod output_safety;
mod parity;
mod plan;
mod policies;
mod prune;
mod schema;
mod secrets;
mod versions;
mod yaml_parse;
