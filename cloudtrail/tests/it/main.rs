//! Integration tests of the cloudtrail crate: keys, bodies, presence rules, the delivery pipeline
//! (flush triggers, atomic visibility, crash replay, concurrency, failures) and notifications.

mod body;
mod common;
mod flush;
mod keys;
mod presence;
mod spool;
mod visibility;
