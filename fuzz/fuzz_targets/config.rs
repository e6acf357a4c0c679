#![no_main]
//! The configuration parser must never panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cf_bluegreen::config::Config::parse(text, Path::new("deploy.toml"));
    }
});
