//! Integration tests.
mod validate_logs;
