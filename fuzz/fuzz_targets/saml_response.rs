//! libFuzzer entry point for `fuzzing::saml_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzing::saml_response(data));
