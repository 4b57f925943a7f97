//! The renderer's integration tests, natively (no wasm module is built): golden outputs of
//! every fixture, the bad-input corpus, seed parity, secrets and masking, the NetworkPolicy
//! evaluator, the namespace layout, pruning, and the keys written into Element's and
//! LiveKit's configs. Fixtures and goldens are the repository's (tests/).

#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture or helper should fail the test loudly"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests read the repository's fixtures and goldens (and UPDATE_GOLDEN); the core they call stays pure"
)]

mod allowlist;
mod common;
mod corpus;
mod golden;
mod masking;
mod namespaces;
mod parity;
mod policies;
mod prune;
mod secrets;
mod versions;
mod workers;
