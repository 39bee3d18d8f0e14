//! Fuzz target: see `ferry_registry_fuzz::names` (src/lib.rs) for what it feeds and checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry_registry_fuzz::names(data));
