//! ACD tests under virtual time. `harness` drives the engine like the
//! driver would; `prop` holds the proptest state-machine tests and the
//! invariant checker.

mod callback;
mod flow;
mod harness;
mod prop;
mod stats;
mod strategies;
