//! The component catalog: the types a provider offers (`catalog:` in `infra-manager.yml`,
//! read by [`crate::config::catalog`]), each with the inputs its module declares (read from
//! the module's own `variables.tf`, [`variables`]) and the limits each tier puts on them.
//! The module's validations say what any customer may set; a tier may only narrow that.

pub mod validation;
pub mod variables;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

pub use crate::config::catalog::{CatalogConfig, InputLimit, TierLimits, TypeConfig};
pub use variables::{Input, InputType, Limits, Validation};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::yaml::Pos;

/// The names infra-manager passes to every component's module, whatever the customer
/// writes; resource names follow `<project_name>-<component>-<environment>`.
pub const STANDARD_INPUTS: [&str; 4] = ["customer", "environment", "project_name", COMPONENT_INPUT];

/// The one standard name a module may leave out: the schema v1 module names its resources
/// `<project_name>-<environment>`, so a migrated v1 file keeps its resources' names (and
/// such a type can serve only one component per file).
pub const COMPONENT_INPUT: &str = "component";

/// The largest `variables.tf` read.
const MAX_VARIABLES_BYTES: usize = 1024 * 1024;

/// Every type with its inputs, as the modules declare them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub types: Vec<ComponentType>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentType {
    pub name: String,
    /// The module directory, relative to `modules_dir`.
    pub module: String,
    pub description: String,
    pub protect_destroy: bool,
    /// In the order of the module's `variables.tf`.
    pub inputs: Vec<CatalogInput>,
}

/// One module input, and what each tier allows for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogInput {
    #[serde(flatten)]
    pub input: Input,
    /// One of [`STANDARD_INPUTS`]: set by infra-manager, never by the customer.
    pub standard: bool,
    /// Tier name → that tier's limits (only tiers that limit this input).
    pub tiers: BTreeMap<String, InputLimit>,
}

impl Catalog {
    /// Reads every type's module under `config.terraform.modules_dir` and checks the tier
    /// limits against the inputs; every problem is reported, each at its place.
    pub fn load(config: &Config) -> Result<Self, Vec<Diagnostic>> {
        let config_file = config.source.as_ref().map(|p| p.display().to_string());
        let mut problems = Vec::new();
        let mut types = Vec::new();
        for ty in &config.catalog.types {
            match load_type(ty, &config.terraform.modules_dir, config_file.as_deref()) {
                Ok(t) => types.push(t),
                Err(mut d) => problems.append(&mut d),
            }
        }
        if problems.is_empty() { Ok(Self { types }) } else { Err(problems) }
    }

    pub fn get(&self, name: &str) -> Option<&ComponentType> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The types `owner` may use, as the registry says.
    pub fn for_owner(mut self, config: &Config, owner: &crate::identity::Owner) -> Self {
        if let Some(allowed) = config.registration(owner).and_then(|r| r.types) {
            self.types.retain(|t| allowed.contains(&t.name));
        }
        self
    }
}

impl ComponentType {
    /// Whether the module takes `component` (puts the component in resource names).
    pub fn names_component(&self) -> bool {
        self.inputs.iter().any(|i| i.input.name == COMPONENT_INPUT)
    }
}

impl CatalogInput {
    /// What `tier` allows: the module's limits narrowed by the tier's.
    pub fn limits_for(&self, tier: &str) -> Limits {
        let mut limits = self.input.limits.clone();
        if let Some(t) = self.tiers.get(tier) {
            if t.min.is_some() {
                limits.min.clone_from(&t.min);
            }
            if t.max.is_some() {
                limits.max.clone_from(&t.max);
            }
            if t.allowed.is_some() {
                limits.allowed.clone_from(&t.allowed);
            }
        }
        limits
    }
}

/// `variables::parse`, remembered by the file's name and text: a fleet run validates each
/// target's file against the catalog, and parsing the same few `variables.tf` files again
/// for every target was most of a `--changed-since` selection's time. Keyed by the text
/// itself, so an edited module is parsed afresh; bounded, as a process may see many.
fn parsed(file_name: &str, text: String) -> Result<Vec<variables::Input>, Diagnostic> {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};
    type Parsed = Result<Vec<variables::Input>, Diagnostic>;
    static PARSED: Mutex<Option<HashMap<(String, String), Parsed>>> = Mutex::new(None);
    const KEPT: usize = 256;
    let key = (file_name.to_owned(), text);
    if let Some(found) = PARSED.lock().unwrap_or_else(PoisonError::into_inner).as_ref().and_then(|m| m.get(&key)) {
        return found.clone();
    }
    let result = variables::parse(&key.0, &key.1);
    let mut memo = PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    let memo = memo.get_or_insert_with(HashMap::new);
    if memo.len() >= KEPT {
        memo.clear();
    }
    memo.insert(key, result.clone());
    result
}

fn load_type(ty: &TypeConfig, modules_dir: &Path, config_file: Option<&str>) -> Result<ComponentType, Vec<Diagnostic>> {
    let dir = modules_dir.join(&ty.module);
    let file = dir.join("variables.tf");
    let file_name = file.display().to_string();
    // From the configuration file, a problem is shown at the type's line there; for the
    // built-in catalog, at the module's file.
    let at = |pos: Pos, message: String, hint: Option<String>| match config_file {
        Some(f) if pos != Pos::default() => {
            Diagnostic { file: f.to_owned(), line: pos.line, column: pos.column, message, hint }
        }
        _ => Diagnostic { file: file_name.clone(), line: 1, column: 1, message, hint },
    };
    if !dir.is_dir() {
        return Err(vec![at(
            ty.pos,
            format!("component type `{}`: module directory `{}` does not exist", ty.name, dir.display()),
            Some("set `module` to a directory under `terraform.modules_dir`".into()),
        )]);
    }
    let text = crate::source_file::read(&file, MAX_VARIABLES_BYTES).map_err(|e| {
        vec![at(
            ty.pos,
            format!("component type `{}`: {e}", ty.name),
            Some("every catalog module declares its inputs in `variables.tf`".into()),
        )]
    })?;
    let inputs = parsed(&file_name, text).map_err(|d| vec![d])?;

    let mut problems = Vec::new();
    for name in STANDARD_INPUTS.into_iter().filter(|n| *n != COMPONENT_INPUT) {
        if !inputs.iter().any(|i| i.name == name) {
            problems.push(Diagnostic {
                file: file_name.clone(),
                line: 1,
                column: 1,
                message: format!("component type `{}`: the module does not declare `variable \"{name}\"`", ty.name),
                hint: Some(format!(
                    "every catalog module takes {} (and `{COMPONENT_INPUT}` to name its resources)",
                    STANDARD_INPUTS
                        .iter()
                        .filter(|n| **n != COMPONENT_INPUT)
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
        }
    }
    let mut out: Vec<CatalogInput> = inputs
        .into_iter()
        .map(|input| CatalogInput {
            standard: STANDARD_INPUTS.contains(&input.name.as_str()),
            input,
            tiers: BTreeMap::new(),
        })
        .collect();
    for tier in &ty.tiers {
        for limit in &tier.inputs {
            let Some(target) = out.iter_mut().find(|i| i.input.name == limit.input) else {
                let names: Vec<&str> = out.iter().filter(|i| !i.standard).map(|i| i.input.name.as_str()).collect();
                let hint = crate::suggest::did_you_mean(&limit.input, names.iter().copied()).map_or_else(
                    || format!("the module's inputs: {}", names.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                problems.push(at(
                    limit.pos,
                    format!("component type `{}` has no input `{}` (tier `{}`)", ty.name, limit.input, tier.tier),
                    Some(hint),
                ));
                continue;
            };
            if target.standard {
                problems.push(at(
                    limit.pos,
                    format!(
                        "`catalog.{}.tiers.{}.{}` limits a name infra-manager sets",
                        ty.name, tier.tier, limit.input
                    ),
                    Some(format!(
                        "{} come from the registry and the customer's file, not from a tier",
                        STANDARD_INPUTS.join(", ")
                    )),
                ));
                continue;
            }
            for problem in narrowing_problems(&target.input, limit) {
                problems.push(at(
                    limit.pos,
                    format!("`catalog.{}.tiers.{}.{}`: {problem}", ty.name, tier.tier, limit.input),
                    Some("a tier may only narrow what the module's validations allow".into()),
                ));
            }
            target.tiers.insert(tier.tier.clone(), limit.clone());
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ComponentType {
        name: ty.name.clone(),
        module: ty.module.clone(),
        description: ty.description.clone(),
        protect_destroy: ty.protect_destroy,
        inputs: out,
    })
}

/// Why a tier's limit does not fit the input: a limit of the wrong kind for its type, or
/// one that widens what the module allows.
fn narrowing_problems(input: &Input, limit: &InputLimit) -> Vec<String> {
    let mut out = Vec::new();
    let numeric = matches!(input.ty, InputType::Number);
    if (limit.min.is_some() || limit.max.is_some()) && !numeric {
        out.push(format!("`min`/`max` only apply to numbers, and the input is `{}`", input.ty));
    }
    let f = |n: &Option<serde_json::Number>| n.as_ref().and_then(serde_json::Number::as_f64);
    if numeric {
        if let (Some(tier), Some(module)) = (f(&limit.min), f(&input.limits.min))
            && tier < module
        {
            out.push(format!("`min` {tier} is below the module's minimum {module}"));
        }
        if let (Some(tier), Some(module)) = (f(&limit.max), f(&input.limits.max))
            && tier > module
        {
            out.push(format!("`max` {tier} is above the module's maximum {module}"));
        }
        // A range that misses the module's entirely would allow nothing.
        if let (Some(tier), Some(module)) = (f(&limit.min), f(&input.limits.max))
            && tier > module
        {
            out.push(format!("`min` {tier} is above the module's maximum {module}"));
        }
        if let (Some(tier), Some(module)) = (f(&limit.max), f(&input.limits.min))
            && tier < module
        {
            out.push(format!("`max` {tier} is below the module's minimum {module}"));
        }
    }
    if let Some(allowed) = &limit.allowed {
        for value in allowed {
            let fits = matches!(
                (&input.ty, value),
                (InputType::String, serde_json::Value::String(_))
                    | (InputType::Number, serde_json::Value::Number(_))
                    | (InputType::Bool, serde_json::Value::Bool(_))
                    | (InputType::Any, _)
            );
            if !fits {
                out.push(format!("allowed value {value} is not a `{}`", input.ty));
            } else if let Some(module) = &input.limits.allowed
                && !module.contains(value)
            {
                out.push(format!("allowed value {value} is not one the module allows"));
            } else if let Some(n) = value.as_f64()
                && (f(&input.limits.min).is_some_and(|min| n < min) || f(&input.limits.max).is_some_and(|max| n > max))
            {
                out.push(format!("allowed value {value} is outside the module's range"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(modules_dir: &Path, catalog: &str) -> Config {
        let text = format!("terraform:\n  modules_dir: {}\n{catalog}", modules_dir.display());
        let mut config = Config::parse("infra-manager.yml", &text, Path::new("/")).expect("valid config");
        config.source = Some(PathBuf::from("infra-manager.yml"));
        config
    }

    fn module(dir: &Path, name: &str, variables: &str) {
        let standard: String =
            STANDARD_INPUTS.iter().map(|n| format!("variable \"{n}\" {{\n  type = string\n}}\n")).collect();
        std::fs::create_dir_all(dir.join(name)).expect("mkdir");
        std::fs::write(dir.join(name).join("variables.tf"), format!("{standard}{variables}")).expect("write");
    }

    const SIZE: &str = "variable \"size\" {\n  type = number\n  validation {\n    condition     = var.size >= 1 && var.size <= 50\n    error_message = \"1-50\"\n  }\n}\nvariable \"kind\" {\n  type = string\n  validation {\n    condition     = contains([\"a\", \"b\"], var.kind)\n    error_message = \"a or b\"\n  }\n}\n";

    /// The parse is remembered by the file's text: a module edited between two loads in one
    /// process is read afresh, and the same text gives the same inputs.
    #[test]
    fn a_module_edited_between_two_loads_is_read_afresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        module(dir.path(), "thing", SIZE);
        let config = config(dir.path(), "catalog:\n  thing:\n    module: thing\n");
        let names = |c: &Catalog| -> Vec<String> {
            c.get("thing").expect("type").inputs.iter().map(|i| i.input.name.clone()).collect()
        };
        let first = names(&Catalog::load(&config).expect("loads"));
        assert!(first.contains(&"size".to_owned()));
        assert_eq!(names(&Catalog::load(&config).expect("loads")), first, "the same text, the same inputs");
        module(dir.path(), "thing", "variable \"colour\" {\n  type = string\n}\n");
        let edited = names(&Catalog::load(&config).expect("loads"));
        assert!(edited.contains(&"colour".to_owned()) && !edited.contains(&"size".to_owned()), "{edited:?}");
    }

    #[test]
    fn tier_limits_narrow_the_modules_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        module(dir.path(), "thing", SIZE);
        let config = config(
            dir.path(),
            "catalog:\n  thing:\n    module: thing\n    tiers:\n      standard:\n        size: { max: 10 }\n        kind: { allowed: [a] }\n",
        );
        let catalog = Catalog::load(&config).expect("loads");
        let thing = catalog.get("thing").expect("type");
        let size = thing.inputs.iter().find(|i| i.input.name == "size").expect("size");
        assert!(!size.standard);
        assert!(thing.inputs.iter().find(|i| i.input.name == "customer").is_some_and(|i| i.standard));
        let limits = size.limits_for("standard");
        assert_eq!((limits.min, limits.max), (Some(1.into()), Some(10.into())));
        assert_eq!(size.limits_for("other").max, Some(50.into()), "no tier limit: the module's");
        let kind = thing.inputs.iter().find(|i| i.input.name == "kind").expect("kind");
        assert_eq!(kind.limits_for("standard").allowed, Some(vec![serde_json::json!("a")]));
    }

    #[test]
    fn limits_that_widen_misname_or_mistype_an_input_are_errors_at_their_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        module(dir.path(), "thing", SIZE);
        let config = config(
            dir.path(),
            "catalog:\n  thing:\n    module: thing\n    tiers:\n      standard:\n        size: { max: 100 }\n        kind: { allowed: [c, 1], min: 1 }\n        sise: { max: 2 }\n      small:\n        size: { min: 60, allowed: [0, 5] }\n        customer: { allowed: [acme/web] }\ntiers:\n  standard: {}\n  small: {}\n",
        );
        let errors: Vec<String> =
            Catalog::load(&config).expect_err("invalid").iter().map(ToString::to_string).collect();
        let first_lines: Vec<&str> = errors.iter().map(|e| e.lines().next().unwrap_or_default()).collect();
        assert_eq!(
            first_lines,
            [
                "infra-manager.yml:8:9: `catalog.thing.tiers.standard.size`: `max` 100 is above the module's maximum 50",
                "infra-manager.yml:9:9: `catalog.thing.tiers.standard.kind`: `min`/`max` only apply to numbers, and the input is `string`",
                "infra-manager.yml:9:9: `catalog.thing.tiers.standard.kind`: allowed value \"c\" is not one the module allows",
                "infra-manager.yml:9:9: `catalog.thing.tiers.standard.kind`: allowed value 1 is not a `string`",
                "infra-manager.yml:10:9: component type `thing` has no input `sise` (tier `standard`)",
                "infra-manager.yml:12:9: `catalog.thing.tiers.small.size`: `min` 60 is above the module's maximum 50",
                "infra-manager.yml:12:9: `catalog.thing.tiers.small.size`: allowed value 0 is outside the module's range",
                "infra-manager.yml:13:9: `catalog.thing.tiers.small.customer` limits a name infra-manager sets",
            ]
        );
        assert!(errors[4].contains("did you mean `size`?"), "{}", errors[4]);
    }

    #[test]
    fn a_missing_module_or_a_broken_variables_tf_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("broken")).expect("mkdir");
        std::fs::write(dir.path().join("broken/variables.tf"), "variable \"x\" {\n").expect("write");
        let config = config(dir.path(), "catalog:\n  gone:\n    module: nowhere\n  broken:\n    module: broken\n");
        let errors: Vec<String> =
            Catalog::load(&config).expect_err("invalid").iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("infra-manager.yml:4:3: component type `gone`: module directory `"),
            "{errors:?}"
        );
        assert!(errors[0].contains("nowhere` does not exist"), "{errors:?}");
        let broken = dir.path().join("broken/variables.tf").display().to_string();
        assert!(errors[1].starts_with(&format!("{broken}:")), "{errors:?}");
        assert!(errors[1].contains("do not parse as HCL"), "{errors:?}");
    }

    #[test]
    fn a_module_without_the_standard_names_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bare")).expect("mkdir");
        std::fs::write(dir.path().join("bare/variables.tf"), "variable \"customer\" {}\n").expect("write");
        let config = config(dir.path(), "catalog:\n  bare:\n    module: bare\n");
        let errors = Catalog::load(&config).expect_err("invalid");
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "component type `bare`: the module does not declare `variable \"environment\"`",
                "component type `bare`: the module does not declare `variable \"project_name\"`",
            ],
            "`component` may be left out (the v1 module's resources are named without it)"
        );
    }

    #[test]
    fn the_shipped_sandbox_catalog_loads() {
        let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
        let config = Config::parse(
            "infra-manager.yml",
            &format!("terraform:\n  modules_dir: {}\n", modules.display()),
            Path::new("/"),
        )
        .expect("valid");
        let catalog = Catalog::load(&config).expect("the shipped modules load");
        let names: Vec<&str> = catalog.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["app-environment", "bucket", "queue", "database", "connector", "poc-environment", "app-environment-v1"]
        );
        let named: Vec<bool> = catalog.types.iter().map(ComponentType::names_component).collect();
        assert_eq!(
            named,
            [true, true, true, true, true, true, false],
            "only the v1 module names resources without the component"
        );
    }
}
