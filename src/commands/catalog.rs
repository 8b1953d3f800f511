//! `catalog`: the component types offered, each with the inputs its module declares, the
//! module's own limits and each tier's (or, with `--customer`, what that customer's tier
//! allows).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::catalog::{Catalog, CatalogInput, ComponentType, InputLimit, Limits, STANDARD_INPUTS};
use crate::cli::CatalogArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{Owner, RepoId};

/// The listing, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The customer asked for, and their tier; `null` without `--customer`.
    pub customer: Option<String>,
    pub tier: Option<String>,
    /// Set by infra-manager on every component, never by the customer.
    pub standard_inputs: [&'static str; 4],
    pub types: Vec<TypeView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeView {
    pub name: String,
    pub module: String,
    pub description: String,
    pub protect_destroy: bool,
    /// The inputs a customer may set, in the module's order.
    pub inputs: Vec<InputView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputView {
    #[serde(flatten)]
    pub input: crate::catalog::Input,
    /// Tier → that tier's limits (with `--customer`, only the customer's tier).
    pub tiers: BTreeMap<String, InputLimit>,
    /// With `--customer`: what the customer's tier allows (the module's limits narrowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_for_tier: Option<Limits>,
}

impl Outcome for Listing {}

pub async fn run(ctx: &Context<'_>, args: &CatalogArgs) -> Result<Listing, CommandError> {
    let customer =
        args.customer.as_deref().map(RepoId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    let config = ctx.config().await?;
    listing(config, customer.as_ref())
}

/// Reads the modules and builds the listing; pure but for reading the modules' files.
pub fn listing(config: &Config, customer: Option<&RepoId>) -> Result<Listing, CommandError> {
    let tier = match customer {
        Some(id) if config.registration(&Owner::Customer(id.clone())).is_none() => {
            return Err(CommandError::usage(
                format!("customer `{id}` is not in the registry"),
                "pass a repository listed under `customers:` in infra-manager.yml",
            ));
        }
        Some(id) => config.tier_for(Some(&Owner::Customer(id.clone()))).map(|(name, _)| name.to_owned()),
        None => None,
    };
    let catalog = Catalog::load(config).map_err(CommandError::Invalid)?;
    let types = catalog.types.iter().map(|t| type_view(t, tier.as_deref())).collect();
    Ok(Listing { customer: customer.map(ToString::to_string), tier, standard_inputs: STANDARD_INPUTS, types })
}

fn type_view(ty: &ComponentType, tier: Option<&str>) -> TypeView {
    let inputs = ty.inputs.iter().filter(|i| !i.standard).map(|i| input_view(i, tier)).collect();
    TypeView {
        name: ty.name.clone(),
        module: ty.module.clone(),
        description: ty.description.clone(),
        protect_destroy: ty.protect_destroy,
        inputs,
    }
}

fn input_view(input: &CatalogInput, tier: Option<&str>) -> InputView {
    let tiers = match tier {
        Some(t) => {
            input.tiers.iter().filter(|(name, _)| name.as_str() == t).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        None => input.tiers.clone(),
    };
    InputView { input: input.input.clone(), tiers, allowed_for_tier: tier.map(|t| input.limits_for(t)) }
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(customer), Some(tier)) = (&self.customer, &self.tier) {
            writeln!(f, "Limits of tier `{tier}` (customer `{customer}`).")?;
        }
        writeln!(f, "Every component also gets {} from infra-manager.", self.standard_inputs.join(", "))?;
        for ty in &self.types {
            writeln!(f)?;
            writeln!(f, "{}: {}", ty.name, ty.description)?;
            writeln!(f, "  module: {}", ty.module)?;
            if ty.protect_destroy {
                writeln!(f, "  protect_destroy: removing a component takes `allow_destroy: true` applied first")?;
            }
            for input in &ty.inputs {
                write_input(f, input)?;
            }
        }
        Ok(())
    }
}

fn write_input(f: &mut fmt::Formatter<'_>, view: &InputView) -> fmt::Result {
    let input = &view.input;
    let default = match &input.default {
        Some(value) => format!("default {value}"),
        None => "required".to_owned(),
    };
    let sensitive = if input.sensitive { ", sensitive" } else { "" };
    writeln!(f, "  - {} ({}, {default}{sensitive})", input.name, input.ty)?;
    if let Some(description) = &input.description {
        writeln!(f, "      {description}")?;
    }
    if !input.limits.is_empty() {
        writeln!(f, "      module allows: {}", describe(&input.limits))?;
    }
    for message in &input.validated_by_module {
        writeln!(f, "      validated by the module: {message}")?;
    }
    // With `--customer`, what their tier allows (said once, where the tier narrows);
    // otherwise each tier's own limits.
    match &view.allowed_for_tier {
        Some(limits) if !view.tiers.is_empty() => writeln!(f, "      this tier allows: {}", describe(limits))?,
        Some(_) => {}
        None => {
            for (tier, limit) in &view.tiers {
                let limits = Limits {
                    min: limit.min.clone(),
                    max: limit.max.clone(),
                    allowed: limit.allowed.clone(),
                    pattern: None,
                };
                writeln!(f, "      tier {tier}: {}", describe(&limits))?;
            }
        }
    }
    Ok(())
}

fn describe(limits: &Limits) -> String {
    let mut parts = Vec::new();
    if let Some(min) = &limits.min {
        parts.push(format!("min {min}"));
    }
    if let Some(max) = &limits.max {
        parts.push(format!("max {max}"));
    }
    if let Some(allowed) = &limits.allowed {
        let values: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    if let Some(pattern) = &limits.pattern {
        parts.push(format!("matching {pattern}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn shipped(extra: &str) -> Config {
        let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
        let text = format!("terraform:\n  modules_dir: {}\n{extra}", modules.display());
        Config::parse("infra-manager.yml", &text, Path::new("/")).expect("valid config")
    }

    #[test]
    fn the_shipped_catalog_as_text() {
        let listing = listing(&shipped(""), None).expect("lists");
        insta::assert_snapshot!(listing.to_string());
    }

    #[test]
    fn the_shipped_catalog_as_json() {
        let listing = listing(&shipped(""), None).expect("lists");
        insta::assert_json_snapshot!(listing);
    }

    const REGISTRY: &str = "tiers:\n  standard: {}\n  small: {}\ncustomers:\n  - repo: acme/web\n    tier: small\ncatalog:\n  bucket:\n    module: catalog/bucket\n    description: A bucket.\n    tiers:\n      small:\n        retention_days: { max: 30 }\n        storage_class: { allowed: [STANDARD] }\n      standard:\n        retention_days: { max: 365 }\n  database:\n    module: catalog/database\n    description: A database.\n    protect_destroy: true\n    tiers:\n      small:\n        storage_gb: { max: 50 }\n";

    #[test]
    fn a_customer_sees_their_tier_only_narrowed() {
        let id = RepoId::parse("acme/web").expect("valid");
        let listing = listing(&shipped(REGISTRY), Some(&id)).expect("lists");
        assert_eq!(listing.tier.as_deref(), Some("small"));
        insta::assert_snapshot!(listing.to_string());
        insta::assert_json_snapshot!("a_customer_sees_their_tier_only_narrowed_json", listing);
        let json = serde_json::to_value(&listing).expect("json");
        let inputs = json["types"][0]["inputs"].as_array().expect("inputs");
        let retention = inputs.iter().find(|i| i["name"] == "retention_days").expect("retention_days");
        assert_eq!(retention["tiers"], serde_json::json!({"small": {"max": 30}}), "only the customer's tier");
        assert_eq!(retention["allowed_for_tier"], serde_json::json!({"min": 0, "max": 30}));
    }

    #[test]
    fn an_unregistered_customer_is_refused() {
        let id = RepoId::parse("acme/other").expect("valid");
        let err = listing(&shipped(REGISTRY), Some(&id)).expect_err("not registered");
        assert!(err.to_string().contains("customer `acme/other` is not in the registry"), "{err}");
    }
}
