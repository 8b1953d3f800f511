//! What the policies said, as the PR comment, the check run and the step summary show it:
//! denies first, then warnings, each message in a code span (the one Markdown rule for
//! untrusted text), a component's messages at its line, the whole within a budget.

use std::fmt::Write;

use crate::report::markdown::code;
use crate::store::governance::PolicyMessage;

/// Most characters the policy note takes in a comment.
const MAX_NOTE_CHARS: usize = 12_000;

/// The policy messages of one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyNote {
    pub denies: Vec<PolicyMessage>,
    pub warnings: Vec<PolicyMessage>,
    pub cost: Option<crate::cost::Change>,
}

impl PolicyNote {
    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.denies.is_empty() && self.warnings.is_empty() && self.cost.is_none()
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if let Some(cost) = &self.cost {
            let before = cost.before.map_or_else(|| "nothing applied".to_owned(), |b| b.to_string());
            let sign = if cost.delta.0 > 0 { "+" } else { "" };
            let _ = writeln!(
                out,
                "**Monthly cost** of this environment: {before} → **{}** ({sign}{}), by the catalog's prices.\n",
                cost.after, cost.delta
            );
        }
        if !self.denies.is_empty() {
            let _ = writeln!(
                out,
                "> [!CAUTION]\n> **Denied by policy**: this plan can't be applied ({} message{}).",
                self.denies.len(),
                if self.denies.len() == 1 { "" } else { "s" }
            );
            list(&mut out, &self.denies);
        }
        if !self.warnings.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "> [!WARNING]\n> **Policy warnings** (the plan passes):");
            list(&mut out, &self.warnings);
        }
        out
    }
}

fn list(out: &mut String, messages: &[PolicyMessage]) {
    for (i, m) in messages.iter().enumerate() {
        let line = match &m.component {
            Some(c) => format!("> - component {}: {} ({})\n", code(c), code(&m.msg), code(&m.policy)),
            None => format!("> - {} ({})\n", code(&m.msg), code(&m.policy)),
        };
        if out.chars().count() + line.chars().count() > MAX_NOTE_CHARS {
            let _ = writeln!(out, "> - … and {} more (see the run)", messages.len() - i);
            return;
        }
        out.push_str(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rule: &str, msg: &str, component: Option<&str>) -> PolicyMessage {
        PolicyMessage {
            policy: "production.rego".into(),
            rule: rule.into(),
            msg: msg.into(),
            component: component.map(str::to_owned),
        }
    }

    #[test]
    fn the_note_lists_denies_then_warnings_each_at_its_component_escaped() {
        let note = PolicyNote {
            denies: vec![
                m("deny", "module.jobs.x would be destroyed", Some("jobs")),
                m("deny", "no `tricks` | <b>", None),
            ],
            warnings: vec![m("warn", "reviewed by the platform team", None)],
            cost: Some(crate::cost::Change {
                before: Some(crate::cost::Cents(1200)),
                after: crate::cost::Cents(2050),
                delta: crate::cost::Cents(850),
            }),
        };
        insta::assert_snapshot!(note.markdown());
    }

    #[test]
    fn the_note_stays_within_its_budget() {
        let many: Vec<_> = (0..100).map(|i| m("deny", &format!("{i} {}", "x".repeat(400)), None)).collect();
        let text = PolicyNote { denies: many, warnings: vec![], cost: None }.markdown();
        assert!(text.chars().count() <= MAX_NOTE_CHARS + 100, "{}", text.len());
        assert!(text.contains("more (see the run)"));
    }
}
