//! The plan summariser on arbitrary JSON (`terraform show -json` is Terraform's output, but a
//! provider or module can put almost anything in it): it never panics.
#![no_main]

use infra_manager::terraform::summary::summarize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(plan) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let summary = summarize(&plan);
    let _ = summary.headline();
    let _ = summary.has_changes();
});
