//! Integration tests of the cloudtrail crate: keys, bodies, presence rules, the delivery pipeline
//! (flush triggers, atomic visibility, crash replay, concurrency, failures) and notifications.

// Test helpers may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod body;
mod common;
mod flush;
mod keys;
mod presence;
mod spool;
mod visibility;
