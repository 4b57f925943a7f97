//! The `matrix-render` command line: reads files and flags into a RenderRequest, runs the
//! embedded wasm core, and writes the response. It renders nothing itself.

pub mod batch;
pub mod call;
pub mod engine;
#[path = "engine_config.rs"]
mod engine_config;
pub mod init;
pub mod input;
pub mod krm;
pub mod output;
pub mod plan;
pub mod report;

/// The committed JSON Schema of a values file, printed by `matrix-render schema`: the model
/// crate's copy, so that the packaged crate needs no file outside its own directory.
pub const SCHEMA: &str = matrix_render_model::schema::COMMITTED_SCHEMA;
