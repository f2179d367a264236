//! Unit tests for the SDP module. Each file lists the requirement it checks.

mod errors;
mod mutation;
mod negotiate;
mod parse_vectors;
mod query;
mod rewrite;
mod t38;
pub(super) mod vectors;
