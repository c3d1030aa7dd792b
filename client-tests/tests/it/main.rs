//! Real AWS clients against an in-process emulator: aws-sdk-rust, the AWS CLI and boto3, then
//! the delivered log files read back and checked field by field.

#![allow(
    clippy::unwrap_used,
    reason = "a test that unwraps, helpers included, fails as a test should"
)]

mod auth;
mod boto3;
mod cli;
mod cloudtrail_api;
mod conformance;
mod console;
mod errors;
mod generator_live;
mod generator_s3;
mod saml;
mod sts;
mod validate_logs;
mod workflow;
