//! Unit tests for the SDP module. Each file lists the requirement it checks.

mod errors;
mod mutation;
mod parse_vectors;
mod query;
mod rewrite;
pub(super) mod vectors;
