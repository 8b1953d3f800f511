use std::sync::Mutex;

use async_trait::async_trait;

use super::*;

fn result(env: &str, state: DriftState) -> DriftResult {
    DriftResult {
        customer: "acme/webshop".into(),
        environment: env.into(),
        sha: Some("1111111111111111111111111111111111111111".into()),
        result: state,
        add: u32::from(state == DriftState::Drifted),
        change: 0,
        destroy: 0,
        changed_outside: 0,
        resources: Vec::new(),
        resources_drifted: 0,
        message: (state == DriftState::Error).then(|| "terraform failed".to_owned()),
    }
}

fn issue(number: u64, env: &str, extra: &str) -> TrackedIssue {
    TrackedIssue {
        number,
        title: format!("Drift: acme/webshop ({env})"),
        body: format!("{}\n{extra}", body::marker("acme/webshop", env)),
    }
}

/// A step as the table writes it: environment, what, which issue.
type Seen = (String, &'static str, Option<u64>);
/// A case: its name, the results, the open issues, the steps expected.
type Case = (&'static str, Vec<DriftResult>, Vec<TrackedIssue>, Vec<Seen>);

fn steps(results: &[DriftResult], open: &[TrackedIssue]) -> Vec<Seen> {
    plan(results, open, None)
        .into_iter()
        .map(|p| {
            let (name, number) = match p.step {
                Step::Open { .. } => ("open", None),
                Step::Edit { number, .. } => ("edit", Some(number)),
                Step::Close { number, .. } => ("close", Some(number)),
                Step::Unchanged { number } => ("unchanged", Some(number)),
                Step::Leave { number } => ("leave", Some(number)),
            };
            (p.environment, name, number)
        })
        .collect()
}

#[test]
fn table_of_sync_decisions() {
    use DriftState::{Drifted, Error, InSync, NeverApplied};
    let s = |env: &str, name: &'static str, n: Option<u64>| (env.to_owned(), name, n);
    let cases: Vec<Case> = vec![
        ("drifted, no issue: open one", vec![result("staging", Drifted)], vec![], vec![s("staging", "open", None)]),
        (
            "drifted, an open issue: edit it",
            vec![result("staging", Drifted)],
            vec![issue(4, "staging", "old")],
            vec![s("staging", "edit", Some(4))],
        ),
        (
            "two issues with the marker (a race): the oldest is the one",
            vec![result("staging", Drifted)],
            vec![issue(9, "staging", "b"), issue(4, "staging", "a")],
            vec![s("staging", "edit", Some(4))],
        ),
        ("in sync, no issue: nothing", vec![result("staging", InSync)], vec![], vec![]),
        (
            "in sync, an open issue: close it",
            vec![result("staging", InSync)],
            vec![issue(4, "staging", "")],
            vec![s("staging", "close", Some(4))],
        ),
        (
            "error: the issue is left as it is",
            vec![result("staging", Error)],
            vec![issue(4, "staging", "")],
            vec![s("staging", "leave", Some(4))],
        ),
        ("error, no issue: nothing", vec![result("staging", Error)], vec![], vec![]),
        (
            "never applied: left as it is",
            vec![result("staging", NeverApplied)],
            vec![issue(4, "staging", "")],
            vec![s("staging", "leave", Some(4))],
        ),
        (
            "another environment's issue is not this one's",
            vec![result("staging", Drifted), result("production", InSync)],
            vec![issue(4, "staging-eu", ""), issue(5, "production", "")],
            vec![s("staging", "open", None), s("production", "close", Some(5))],
        ),
        (
            "an issue of a target not checked is never touched",
            vec![result("staging", InSync)],
            vec![issue(4, "production", "")],
            vec![],
        ),
        (
            "the marker must start the body",
            vec![result("staging", Drifted)],
            vec![TrackedIssue {
                number: 4,
                title: "quoted".into(),
                body: format!("> {}", body::marker("acme/webshop", "staging")),
            }],
            vec![s("staging", "open", None)],
        ),
    ];
    for (name, results, open, expected) in cases {
        assert_eq!(steps(&results, &open), expected, "{name}");
    }
}

#[test]
fn an_issue_that_already_says_it_is_not_edited_whichever_run_it_links() {
    let r = result("staging", DriftState::Drifted);
    let current = TrackedIssue { number: 4, title: body::title(&r), body: body::drifted(&r, Some("https://run/1")) };
    for run in [None, Some("https://run/1"), Some("https://run/2")] {
        assert_eq!(
            plan(std::slice::from_ref(&r), std::slice::from_ref(&current), run)[0].step,
            Step::Unchanged { number: 4 }
        );
    }
    let changed = DriftResult { change: 3, ..r };
    assert!(matches!(plan(&[changed], &[current], Some("https://run/2"))[0].step, Step::Edit { number: 4, .. }));
}

/// An in-memory tracker that records what was done to it.
#[derive(Default)]
struct FakeTracker {
    issues: Mutex<Vec<(TrackedIssue, bool)>>,
    calls: Mutex<Vec<String>>,
    fail_edits: bool,
}

#[async_trait]
impl IssueTracker for FakeTracker {
    async fn open_issues(&self, label: &str) -> Result<Vec<TrackedIssue>, CodeHostError> {
        self.calls.lock().expect("lock").push(format!("list {label}"));
        Ok(self.issues.lock().expect("lock").iter().filter(|(_, open)| *open).map(|(i, _)| i.clone()).collect())
    }

    async fn create_issue(&self, title: &str, body: &str, label: &str) -> Result<u64, CodeHostError> {
        let mut issues = self.issues.lock().expect("lock");
        let number = issues.len() as u64 + 1;
        self.calls.lock().expect("lock").push(format!("create #{number} {label}"));
        issues.push((TrackedIssue { number, title: title.into(), body: body.into() }, true));
        Ok(number)
    }

    async fn edit_issue(&self, number: u64, edit: &IssueEdit) -> Result<(), CodeHostError> {
        self.calls.lock().expect("lock").push(format!("edit #{number} close={:?}", edit.close));
        if self.fail_edits {
            return Err(CodeHostError::Call { call: format!("PATCH /issues/{number}"), message: "502".into() });
        }
        let mut issues = self.issues.lock().expect("lock");
        let (issue, open) = issues.iter_mut().find(|(i, _)| i.number == number).expect("known issue");
        (issue.title, issue.body) = (edit.title.clone(), edit.body.clone());
        *open = edit.close != Some(true);
        Ok(())
    }
}

fn calls(tracker: &FakeTracker) -> Vec<String> {
    std::mem::take(&mut *tracker.calls.lock().expect("lock"))
}

#[tokio::test]
async fn drift_opens_then_edits_then_closes_and_a_new_drift_opens_a_new_issue() {
    let tracker = FakeTracker::default();
    let drifted = [result("staging", DriftState::Drifted)];
    assert_eq!(sync(&drifted, &tracker, Some("https://run/1")).await.expect("sync").opened, [1]);
    assert_eq!(calls(&tracker), ["list infra-drift", "create #1 infra-drift"]);

    let synced = sync(&drifted, &tracker, Some("https://run/2")).await.expect("sync");
    assert_eq!((synced.opened.len(), synced.edited.len(), synced.left.as_slice()), (0, 0, [1].as_slice()));
    assert_eq!(calls(&tracker), ["list infra-drift"], "the same drift: no write");

    let more = [DriftResult { destroy: 2, ..result("staging", DriftState::Drifted) }];
    let synced = sync(&more, &tracker, Some("https://run/3")).await.expect("sync");
    assert_eq!((synced.opened.len(), synced.edited.as_slice()), (0, [1].as_slice()));
    assert_eq!(calls(&tracker), ["list infra-drift", "edit #1 close=None"]);

    let error = [result("staging", DriftState::Error)];
    assert_eq!(sync(&error, &tracker, None).await.expect("sync").left, [1]);
    assert_eq!(calls(&tracker), ["list infra-drift"], "an error writes nothing");

    let in_sync = [result("staging", DriftState::InSync)];
    assert_eq!(sync(&in_sync, &tracker, None).await.expect("sync").closed, [1]);
    assert_eq!(calls(&tracker), ["list infra-drift", "edit #1 close=Some(true)"]);
    assert!(tracker.issues.lock().expect("lock")[0].0.body.contains("Back in sync"));

    assert_eq!(sync(&drifted, &tracker, None).await.expect("sync").opened, [2], "a closed issue is not reused");
}

#[tokio::test]
async fn a_failed_step_does_not_stop_the_others_and_fails_the_sync() {
    let tracker = FakeTracker { fail_edits: true, ..FakeTracker::default() };
    tracker.issues.lock().expect("lock").push((issue(1, "staging", ""), true));
    let results = [result("staging", DriftState::InSync), result("production", DriftState::Drifted)];
    let err = sync(&results, &tracker, None).await.expect_err("the close failed");
    assert!(err.to_string().contains("PATCH /issues/1"), "{err}");
    assert_eq!(calls(&tracker), ["list infra-drift", "edit #1 close=Some(true)", "create #2 infra-drift"]);
}
