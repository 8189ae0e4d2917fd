//! Integration tests of the producer against a real (private) broker, most of them through the
//! real binary, since exit codes, signals and stdout are part of the contract.
//!
//! Every wait has a deadline and fails loudly when it passes.

mod util;

mod bad_config;
mod color;
mod delivery;
mod flags;
mod messages;
mod poison;
mod secrets;
mod shutdown;
mod transactions;
