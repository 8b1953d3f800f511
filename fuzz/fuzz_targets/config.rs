//! `infra-manager.yml` from arbitrary text: the shared YAML reader and the config checks
//! never panic, and every refusal has a place.
#![no_main]

use std::path::Path;

use infra_manager::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(diagnostics) = Config::parse("infra-manager.yml", text, Path::new(".")) {
        assert!(!diagnostics.0.is_empty(), "refused without a diagnostic");
        for d in &diagnostics.0 {
            assert!(d.line >= 1 && d.column >= 1, "no place: {d}");
        }
    }
});
