//! Integration tests: an embedded emulator on port 0, driven with raw signed HTTP requests.

mod common;

mod admin;
mod auth;
mod compatibility;
mod limits;
mod protocol;
mod recording;
