//! The `matrix-render` command line: reads files and flags into a RenderRequest, runs the
//! embedded wasm core, and writes the response. It renders nothing itself.

pub mod batch;
pub mod engine;
#[path = "engine_config.rs"]
mod engine_config;
pub mod init;
pub mod input;
pub mod krm;
pub mod output;
pub mod plan;
pub mod report;

/// The committed JSON Schema of a values file, printed by `matrix-render schema`.
pub const SCHEMA: &str = include_str!("../../../schema/matrix-render.schema.json");
