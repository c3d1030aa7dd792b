//! Integration tests of the cloudtrail crate: keys, bodies, presence rules, the delivery pipeline
//! (flush triggers, atomic visibility, crash replay, concurrency, failures), notifications, and
//! the boundary that keeps services out of the crate.

// Test helpers may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod body;
mod boundary;
mod common;
mod flush;
mod keys;
mod presence;
mod spool;
mod visibility;
