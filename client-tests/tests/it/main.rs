//! Real AWS clients against an in-process emulator: aws-sdk-rust, the AWS CLI and boto3, then
//! the delivered log files read back and checked field by field.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod auth;
mod boto3;
mod cli;
mod cloudtrail_api;
mod conformance;
mod errors;
mod generator_live;
mod generator_s3;
mod validate_logs;
mod workflow;
