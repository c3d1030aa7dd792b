//! libFuzzer entry point for `fuzzing::aws_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::aws_json(data));
