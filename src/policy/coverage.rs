//! `policy coverage`: which policy rules ever fired, from the run records. A rule is a
//! policy file's `deny` or `warn` (the unit every message is recorded with); it fired when a
//! record lists a message of it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::load::PolicyFile;
use crate::store::RunRecord;

/// One rule and how many recorded messages it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCoverage {
    pub policy: String,
    pub rule: String,
    pub fired: usize,
}

/// Each `deny`/`warn` rule `files` define, with its count in `records`; never fired first,
/// then by file and rule.
pub fn coverage(files: &[PolicyFile], records: &[RunRecord]) -> Vec<RuleCoverage> {
    let mut fired: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for record in records {
        let g = &record.governance;
        for m in g.policy_denies.iter().chain(&g.policy_warnings) {
            *fired.entry((m.policy.as_str(), m.rule.as_str())).or_default() += 1;
        }
    }
    let mut out: Vec<RuleCoverage> = files
        .iter()
        .flat_map(|f| defined(&f.text).into_iter().map(move |rule| (f.name.as_str(), rule)))
        .map(|(policy, rule)| RuleCoverage {
            policy: policy.to_owned(),
            rule: rule.to_owned(),
            fired: fired.get(&(policy, rule)).copied().unwrap_or(0),
        })
        .collect();
    out.sort_by(|a, b| (a.fired > 0, &a.policy, &a.rule).cmp(&(b.fired > 0, &b.policy, &b.rule)));
    out
}

/// The rules among `deny`/`warn` a file defines (a rule head starts a line).
fn defined(text: &str) -> Vec<&'static str> {
    super::evaluate::RULES
        .into_iter()
        .filter(|rule| text.lines().any(|l| l.strip_prefix(rule).is_some_and(|rest| rest.starts_with([' ', '[', '{']))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::governance::PolicyMessage;

    #[test]
    fn rules_that_never_fired_come_first() {
        let files = vec![
            PolicyFile {
                name: "a.rego".into(),
                text: "package infra_manager\ndeny contains \"x\" if false\nwarn contains \"y\" if true\n".into(),
            },
            PolicyFile { name: "b.rego".into(), text: "package infra_manager\ndeny contains \"z\" if true\n".into() },
        ];
        let mut record = RunRecord::started(
            crate::store::RunKind::Plan,
            &crate::identity::Target {
                owner: crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/web").expect("repo")),
                env: crate::identity::EnvName::parse("staging").expect("env"),
            },
            &crate::identity::Sha::parse(&"a".repeat(40)).expect("sha"),
            None,
            None,
        );
        let m = |policy: &str, rule: &str| PolicyMessage {
            policy: policy.into(),
            rule: rule.into(),
            msg: "m".into(),
            component: None,
        };
        record.governance.policy_denies = vec![m("b.rego", "deny"), m("b.rego", "deny")];
        record.governance.policy_warnings = vec![m("a.rego", "warn")];
        let got: Vec<(String, String, usize)> =
            coverage(&files, &[record]).into_iter().map(|r| (r.policy, r.rule, r.fired)).collect();
        assert_eq!(
            got,
            [
                ("a.rego".into(), "deny".into(), 0),
                ("a.rego".into(), "warn".into(), 1),
                ("b.rego".into(), "deny".into(), 2)
            ]
        );
    }
}
