//! Integration tests of the `matrix-render` binary (wasmtime running the embedded core):
//! golden outputs and the bad-input corpus through it, its flags, output directories,
//! batches, KRM, init, migrate, plan and masking. The core's own tests are in
//! crates/render/tests and crates/model/tests.

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture or helper should fail the test loudly"
)]

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
mod output_dir;
mod output_safety;
mod plan;
mod schema;
mod versions;
