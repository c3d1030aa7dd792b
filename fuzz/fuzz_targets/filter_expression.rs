//! libFuzzer entry point for `fuzzing::filter_expression`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::filter_expression(data));
