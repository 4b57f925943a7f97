//! The model's integration tests: the YAML reader against an independent parser, and the
//! committed schemas and README table against what the model generates.

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture or helper should fail the test loudly"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests read the repository's fixtures and goldens (and UPDATE_GOLDEN); the core they call stays pure"
)]

mod schema;
mod yaml_parse;
