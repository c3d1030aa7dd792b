//! libFuzzer entry point for `fuzzing::sigv4`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::sigv4(data));
