//! The fake's commit graph: which commits a repository knows, their parents, and what the
//! compare API says about two of them.

use std::collections::{BTreeMap, BTreeSet};

/// `git merge-base` and `git rev-list` over a graph of SHA → parents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    /// SHA → parents, in the order the test added them.
    parents: BTreeMap<String, Vec<String>>,
    /// SHA → the order it was added in (GitHub lists compared commits oldest first).
    order: BTreeMap<String, usize>,
}

/// What `GET /compare/{base}...{head}` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// `identical`, `ahead`, `behind` or `diverged`.
    pub status: &'static str,
    pub ahead_by: usize,
    pub behind_by: usize,
    pub merge_base: String,
    /// Commits reachable from head and not from base, oldest first.
    pub commits: Vec<String>,
}

impl Graph {
    /// Adds `sha` with `parents`; parents it does not know become parentless commits.
    pub(crate) fn add(&mut self, sha: &str, parents: &[&str]) {
        for parent in parents {
            if !self.parents.contains_key(*parent) {
                self.add(parent, &[]);
            }
        }
        let next = self.order.len();
        self.order.entry(sha.to_owned()).or_insert(next);
        self.parents.insert(sha.to_owned(), parents.iter().map(|p| (*p).to_owned()).collect());
    }

    pub(crate) fn contains(&self, sha: &str) -> bool {
        self.parents.contains_key(sha)
    }

    pub(crate) fn parents(&self, sha: &str) -> &[String] {
        self.parents.get(sha).map(Vec::as_slice).unwrap_or_default()
    }

    /// `sha` and every commit it descends from.
    fn ancestry(&self, sha: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![sha.to_owned()];
        while let Some(next) = stack.pop() {
            if seen.insert(next.clone()) {
                stack.extend(self.parents(&next).iter().cloned());
            }
        }
        seen
    }

    /// Compares `base...head`, both known; `None` when they share no ancestor.
    pub(crate) fn compare(&self, base: &str, head: &str) -> Option<Comparison> {
        let of_base = self.ancestry(base);
        let of_head = self.ancestry(head);
        let common: BTreeSet<&String> = of_base.intersection(&of_head).collect();
        // The best common ancestor: one that no other common ancestor descends from.
        let merge_base = common.iter().find(|candidate| {
            !common.iter().any(|other| other != *candidate && self.ancestry(other).contains(**candidate))
        })?;
        let mut commits: Vec<String> = of_head.difference(&of_base).cloned().collect();
        commits.sort_by_key(|sha| self.order.get(sha).copied().unwrap_or(usize::MAX));
        let behind_by = of_base.difference(&of_head).count();
        let status = match (commits.len(), behind_by) {
            (0, 0) => "identical",
            (_, 0) => "ahead",
            (0, _) => "behind",
            _ => "diverged",
        };
        Some(Comparison { status, ahead_by: commits.len(), behind_by, merge_base: (*merge_base).clone(), commits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    ///   a ─ b ─ c ─ m        d is on a side branch from b; m merges c and d;
    ///        \     /          x is unrelated.
    ///         d ──┘
    fn graph() -> Graph {
        let mut g = Graph::default();
        g.add("a", &[]);
        g.add("b", &["a"]);
        g.add("c", &["b"]);
        g.add("d", &["b"]);
        g.add("m", &["c", "d"]);
        g.add("x", &[]);
        g
    }

    #[test]
    fn table_of_comparisons() {
        let g = graph();
        let cases = [
            ("a", "a", "identical", 0, 0, "a"),
            ("a", "c", "ahead", 2, 0, "a"),
            ("b", "m", "ahead", 3, 0, "b"),
            ("m", "b", "behind", 0, 3, "b"),
            ("c", "d", "diverged", 1, 1, "b"),
        ];
        for (base, head, status, ahead, behind, merge_base) in cases {
            let got = g.compare(base, head).expect("related");
            assert_eq!((got.status, got.ahead_by, got.behind_by), (status, ahead, behind), "{base}...{head}");
            assert_eq!(got.merge_base, merge_base, "{base}...{head}");
        }
        assert_eq!(g.compare("a", "m").expect("related").commits, ["b", "c", "d", "m"], "oldest first");
        assert_eq!(g.compare("a", "x"), None, "no common ancestor");
    }
}
