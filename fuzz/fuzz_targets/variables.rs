//! `variables.yml` from arbitrary bytes: the YAML reader, validation, template expansion and
//! resolution never panic; a refusal always has a place; an accepted file only ever resolves
//! to values that pass the rules Terraform's modules apply.
#![no_main]

use std::path::Path;

use infra_manager::config::Config;
use infra_manager::identity::CustomerId;
use infra_manager::output::{must_escape, neutralise};
use infra_manager::variables::{PATH, Rules, Variables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let config = Config::defaults(Path::new("."));
    let customer = CustomerId::parse("acme/webshop").expect("valid");
    match Variables::parse(PATH, text, &customer, &Rules::for_customer(&config, None)) {
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "refused without a diagnostic");
            for d in &diagnostics.0 {
                assert!(d.line >= 1 && d.column >= 1, "no place: {d}");
                assert!(!d.message.is_empty());
                let shown = neutralise(&d.to_string());
                assert!(!shown.chars().any(|c| c != '\n' && must_escape(c)), "raw control in {shown:?}");
                for line in shown.lines() {
                    assert!(!line.trim_start().starts_with("::"), "command line {line:?}");
                    assert!(!line.contains("##["), "legacy command {line:?}");
                }
            }
        }
        Ok(vars) => {
            let envs: Vec<_> = vars.environments().cloned().collect();
            assert!(!envs.is_empty(), "accepted with no environment");
            for env in &envs {
                let r = vars.resolve(env).expect("a defined environment resolves");
                assert!(config.tiers["standard"].regions.contains(&r.region), "region {:?}", r.region);
                assert!(
                    config.tiers["standard"].instance_types.contains(&r.instance_type),
                    "type {:?}",
                    r.instance_type
                );
                assert!((0..=r.max_instances).contains(&r.min_instances));
                assert!((1..=6).contains(&r.availability_zones));
                let (addr, prefix) = r.vpc_cidr.split_once('/').expect("a CIDR");
                assert!(
                    addr.parse::<std::net::Ipv4Addr>().is_ok()
                        && (16..=28).contains(&prefix.parse::<u8>().expect("prefix"))
                );
                assert!(!prefix.starts_with(['0', '+']), "prefix {prefix:?}");
                for (k, v) in &r.tags {
                    let ok = |s: &str| s.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c));
                    assert!(ok(k) && ok(v), "tag {k:?}={v:?}");
                    assert!(!v.contains("{{"), "unexpanded tag {v:?}");
                }
            }
        }
    }
});
