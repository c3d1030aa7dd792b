//! libFuzzer entry point for `fuzzing::s3_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::s3_request(data));
