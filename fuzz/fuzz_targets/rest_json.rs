//! libFuzzer entry point for `fuzzing::rest_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::rest_json(data));
