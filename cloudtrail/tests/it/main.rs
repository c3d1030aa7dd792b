//! Integration tests of the cloudtrail crate: keys, bodies, presence rules, the delivery pipeline
//! (flush triggers, atomic visibility, crash replay, concurrency, failures), notifications, and
//! the boundary that keeps services out of the crate.

#![allow(
    clippy::unwrap_used,
    reason = "a test that unwraps, helpers included, fails as a test should"
)]

mod body;
mod boundary;
mod common;
mod flush;
mod keys;
mod presence;
mod spool;
mod visibility;
