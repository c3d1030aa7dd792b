//! The `generator` binary.
fn main() {}
