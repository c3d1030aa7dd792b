//! Integration tests: an embedded emulator on port 0, driven with raw signed HTTP requests.

#![allow(
    clippy::unwrap_used,
    reason = "a test that unwraps, helpers included, fails as a test should"
)]

mod common;

mod admin;
mod auth;
mod compatibility;
mod console;
mod faults;
mod layers;
mod limits;
mod persistence;
mod protocol;
mod recording;
mod saml;
mod seams;
mod signing;
mod sts;
mod tls;
