//! matrix-render's config model: typed settings in the seed chart's values layout, Helm-style
//! layering of several values documents and `--set` flags, and diagnostics that point at the
//! file, line and column.
//!
//! This crate is pure: it reads no files, environment, clock or randomness. Front-ends pass
//! every input in.

#![forbid(unsafe_code)]

pub mod api;
pub mod backup;
pub mod command;
pub mod config;
pub mod diag;
pub mod limits;
pub mod load;
pub mod mask;
pub mod merge;
pub mod metrics;
pub mod names;
pub mod net;
pub mod pod;
pub mod reference;
pub mod report;
pub mod schema;
pub mod set;
pub mod spans;
pub mod starter;
pub mod suggest;
pub mod synapse_extra;
pub mod synapse_version;
pub mod validate;
pub mod versions;
pub mod workers;
pub mod yaml;

pub use config::Config;
pub use diag::{Diagnostic, Severity};
pub use load::{LoadInput, Loaded, NamedText, load};

/// The JSON Schema of a values file, as committed in `schema/matrix-render.schema.json`.
#[must_use]
pub fn json_schema() -> serde_json::Value {
    schema::json_schema().clone()
}
