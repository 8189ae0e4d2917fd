//! The tracker's integration tests, one binary with a module per area (as ripgrep does): each
//! runs the real `tracker` binary against a private broker (testkit). Tests that also run the
//! producer or the monitor are in `crates/system-tests`.
//!
//! One area: `cargo test -p tracker --test it stopping`; one test: add its name.

mod bad_config;
mod cut_dead_letters;
mod end_to_end;
mod exactly_once;
mod group_protocol;
mod hostile;
mod no_broker;
mod secrets;
mod stopping;
