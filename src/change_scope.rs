//! Which targets a change to the manager repository can affect (`plan --all
//! --changed-since SHA`): re-plans proportional to the change. A change below one module's
//! directory selects the targets that render that module (schema v1 files render
//! `terraform.module`; a v2 or tenant file renders its components' catalog types); a change
//! to `infra-manager.yml` selects the targets whose registry entry, tier or catalog type
//! changed; a tenant file selects its tenant. Anything else, or a doubt, selects every
//! target: a re-plan too many costs minutes, one too few hides a change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Config;
use crate::identity::Owner;

/// What a change touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Every target, and why.
    pub all: Option<String>,
    /// Module directories (relative to `modules_dir`) that changed.
    pub modules: BTreeSet<String>,
    /// Tiers whose limits changed.
    pub tiers: BTreeSet<String>,
    /// Owners selected by name, and why.
    pub owners: BTreeMap<Owner, String>,
}

impl Scope {
    fn everything(&mut self, why: String) {
        self.all.get_or_insert(why);
    }
}

/// Where things are in the manager checkout, relative to its root.
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// `terraform.modules_dir`, e.g. `manager-terraform` (`None`: outside the checkout).
    pub modules_dir: Option<&'a str>,
    /// `infra-manager.yml`'s path (`None`: outside the checkout).
    pub config: Option<&'a str>,
}

/// The scope of `changed` (paths relative to the checkout's root). `old` is the
/// configuration at the base commit (`None`: absent or unreadable there), `new` the one
/// in use.
pub fn scope(changed: &[String], layout: &Layout<'_>, old: Option<&Config>, new: &Config) -> Scope {
    let mut scope = Scope::default();
    let modules = module_dirs(new);
    for path in changed {
        // Terraform reads no Markdown: a module's README changes nothing rendered.
        if path.ends_with(".md") {
            continue;
        }
        if Some(path.as_str()) == layout.config {
            config_changes(old, new, &mut scope);
            continue;
        }
        if path.starts_with(&format!("{}/", crate::tenants::git::TENANTS_DIR)) {
            match crate::tenants::changes::tenant_of(path) {
                Ok(name) => {
                    scope.owners.insert(Owner::Tenant(name), "its file changed".to_owned());
                }
                Err(_) => scope.everything(format!("`{}` changed", crate::diagnostic::shown(path))),
            }
            continue;
        }
        let in_modules = layout.modules_dir.and_then(|dir| path.strip_prefix(dir)).and_then(|r| r.strip_prefix('/'));
        match in_modules {
            Some(rest) => match modules.iter().filter(|m| rest.starts_with(&format!("{m}/"))).max_by_key(|m| m.len()) {
                Some(module) => {
                    scope.modules.insert(module.clone());
                }
                // A module the others use (`../modules/names`) or none at all: a doubt.
                None => scope.everything(format!(
                    "`{}` is in no module a target renders directly",
                    crate::diagnostic::shown(path)
                )),
            },
            None => scope.everything(format!("`{}` changed", crate::diagnostic::shown(path))),
        }
    }
    scope
}

/// Every module directory a target may render: the v1 module and each catalog type's.
fn module_dirs(config: &Config) -> BTreeSet<String> {
    let mut dirs: BTreeSet<String> = config.catalog.types.iter().map(|t| t.module.clone()).collect();
    dirs.insert(config.terraform.module.clone());
    dirs
}

fn config_changes(old: Option<&Config>, new: &Config, scope: &mut Scope) {
    let Some(old) = old else {
        scope.everything("infra-manager.yml can't be read at the base commit".to_owned());
        return;
    };
    let sections = [
        ("terraform", old.terraform != new.terraform),
        ("state", old.state != new.state),
        ("health", old.health != new.health),
        ("retry", old.retry != new.retry),
        ("environments", old.environments != new.environments),
        ("oidc", old.oidc_issuer != new.oidc_issuer),
        ("tenants", old.tenants != new.tenants),
    ];
    for (name, changed) in sections {
        if changed {
            scope.everything(format!("`{name}` in infra-manager.yml changed"));
        }
    }
    for (name, tier) in &new.tiers {
        if old.tiers.get(name) != Some(tier) {
            scope.tiers.insert(name.clone());
        }
    }
    for t in &new.catalog.types {
        if old.catalog.types.iter().find(|o| o.name == t.name) != Some(t) {
            // A type's settings changed: its module's users, as for a module change.
            scope.modules.insert(t.module.clone());
        }
    }
    for c in &new.customers {
        if old.customers.iter().find(|o| o.repo == c.repo) != Some(c) {
            scope.owners.insert(Owner::Customer(c.repo.clone()), "its registry entry changed".to_owned());
        }
    }
}

/// What a target renders, to match it against a [`Scope`].
#[derive(Debug, Clone, Default)]
pub struct Uses {
    pub modules: BTreeSet<String>,
    pub tier: Option<String>,
}

/// Why `owner`, rendering `uses`, is in `scope`; `None` when it is not.
pub fn why(scope: &Scope, owner: &Owner, uses: Option<&Uses>) -> Option<String> {
    if let Some(all) = &scope.all {
        return Some(all.clone());
    }
    if let Some(why) = scope.owners.get(owner) {
        return Some(why.clone());
    }
    let Some(uses) = uses else {
        return (!scope.modules.is_empty() || !scope.tiers.is_empty())
            .then(|| "its file can't be read to tell which modules it uses".to_owned());
    };
    if let Some(module) = uses.modules.iter().find(|m| scope.modules.contains(*m)) {
        return Some(format!("it uses `{module}`, which changed"));
    }
    uses.tier.as_ref().filter(|t| scope.tiers.contains(*t)).map(|t| format!("its tier `{t}` changed"))
}

/// `--changed-since` in a report: the base and each target selected with why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ChangeSelection {
    pub since: String,
    /// Set when every target was selected: why.
    pub all: Option<String>,
    pub selected: Vec<SelectedTarget>,
    /// Targets left out: nothing they render changed.
    pub skipped: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SelectedTarget {
    pub customer: String,
    pub environment: String,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{RepoId, TenantName};
    use std::path::Path;

    fn config(text: &str) -> Config {
        Config::parse("infra-manager.yml", text, Path::new("/m")).expect("valid config")
    }

    const BASE: &str = "customers:\n  - repo: acme/web\n    environments: [staging]\n  - repo: acme/shop\n    environments: [staging]\n";
    const LAYOUT: Layout<'static> =
        Layout { modules_dir: Some("manager-terraform"), config: Some("infra-manager.yml") };

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_change_in_one_module_selects_its_users_only() {
        let c = config(BASE);
        let s = scope(
            &paths(&["manager-terraform/catalog/queue/main.tf", "manager-terraform/catalog/queue/README.md"]),
            &LAYOUT,
            Some(&c),
            &c,
        );
        assert_eq!(
            (s.all.as_deref(), s.modules.iter().map(String::as_str).collect::<Vec<_>>()),
            (None, vec!["catalog/queue"])
        );
        let queue = Uses { modules: ["catalog/queue".to_owned()].into(), tier: None };
        let bucket = Uses { modules: ["catalog/bucket".to_owned()].into(), tier: None };
        let web = Owner::Customer(RepoId::parse("acme/web").expect("repo"));
        assert_eq!(why(&s, &web, Some(&queue)).as_deref(), Some("it uses `catalog/queue`, which changed"));
        assert_eq!(why(&s, &web, Some(&bucket)), None);
        assert!(why(&s, &web, None).is_some(), "a file that can't be read is a doubt");
    }

    #[test]
    fn a_doubt_selects_everything_and_says_why() {
        let c = config(BASE);
        for (path, reason) in [
            ("manager-terraform/modules/names/main.tf", "is in no module a target renders directly"),
            ("src/main.rs", "`src/main.rs` changed"),
            ("tenants/sub/x.yml", "changed"),
        ] {
            let s = scope(&paths(&[path]), &LAYOUT, Some(&c), &c);
            assert!(s.all.as_deref().is_some_and(|a| a.contains(reason)), "{path}: {s:?}");
        }
        let none = scope(&paths(&["infra-manager.yml"]), &LAYOUT, None, &c);
        assert_eq!(none.all.as_deref(), Some("infra-manager.yml can't be read at the base commit"));
        assert_eq!(scope(&paths(&["docs/x.md"]), &LAYOUT, Some(&c), &c), Scope::default());
    }

    #[test]
    fn a_registry_change_selects_the_customers_whose_entry_changed() {
        let old = config(BASE);
        let new = config(&BASE.replace(
            "repo: acme/shop\n    environments: [staging]",
            "repo: acme/shop\n    environments: [staging, production]",
        ));
        let s = scope(&paths(&["infra-manager.yml", "tenants/billing.yml"]), &LAYOUT, Some(&old), &new);
        assert_eq!(s.all, None);
        let owners: Vec<String> = s.owners.keys().map(ToString::to_string).collect();
        assert_eq!(owners, ["acme/shop", "tenants/billing"]);
        let billing = Owner::Tenant(TenantName::parse("billing").expect("name"));
        assert_eq!(why(&s, &billing, None).as_deref(), Some("its file changed"));
        let retry = config(&format!("{BASE}retry:\n  attempts: 5\n"));
        let s = scope(&paths(&["infra-manager.yml"]), &LAYOUT, Some(&old), &retry);
        assert_eq!(s.all.as_deref(), Some("`retry` in infra-manager.yml changed"));
    }
}
