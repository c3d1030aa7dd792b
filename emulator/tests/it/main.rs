//! Integration tests: an embedded emulator on port 0, driven with raw signed HTTP requests.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

mod admin;
mod auth;
mod compatibility;
mod faults;
mod layers;
mod limits;
mod persistence;
mod protocol;
mod recording;
mod seams;
mod signing;
