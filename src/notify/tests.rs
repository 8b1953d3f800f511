//! The notifier against a recording sender: which webhooks are told, with what, and what
//! a webhook that can't be used becomes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::deliver::{SendError, Sender};
use super::*;
use crate::config::Webhook;
use crate::identity::{EnvName, Owner, RepoId};
use crate::store::{RunKind, RunStatus};

/// What one POST carried.
#[derive(Debug, Clone)]
struct Sent {
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// Records every POST and answers `status`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Sent>>>, u16);

#[async_trait]
impl Sender for Recorder {
    async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: &[u8],
        _timeout: Duration,
    ) -> Result<u16, SendError> {
        let sent = Sent { url: url.uri().to_string(), headers: headers.to_vec(), body: body.to_vec() };
        self.0.lock().expect("lock").push(sent);
        Ok(self.1)
    }
}

fn webhook(name: &str, format: NotifyFormat, events: &[EventKind]) -> Webhook {
    Webhook { name: name.into(), url_env: format!("{}_URL", name.to_uppercase()), format, events: events.to_vec() }
}

fn config(webhooks: Vec<Webhook>) -> NotifyConfig {
    NotifyConfig { webhooks, attempts: 2, backoff: Duration::from_millis(1), timeout: Duration::from_secs(1) }
}

fn target() -> Target {
    Target {
        owner: Owner::Customer(RepoId::parse("acme/web").expect("valid")),
        env: EnvName::parse("staging").expect("valid"),
    }
}

fn drifted_record() -> RunRecord {
    RunRecord {
        run_id: "2026-12-07T10:00:00Z#0000002a".into(),
        customer: "acme/web".into(),
        environment: "staging".into(),
        sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d".into(),
        started_at: "2026-12-07T10:00:00Z".into(),
        message: Some("drifted: 1 changed outside Terraform; 1 to add, 0 to change, 0 to destroy".into()),
        drifted: Some(true),
        ..RunRecord::empty(RunKind::Drift, RunStatus::Succeeded)
    }
}

fn event(kind: EventKind) -> Event {
    Event { kind, summary: "drifted: 1 changed outside Terraform".into(), request: None }
}

#[tokio::test]
async fn each_webhook_that_wants_the_event_gets_it_signed_or_as_a_slack_message() {
    let json = NotifyFormat::Json { secret_env: "OPS_SECRET".into() };
    let hooks = vec![
        webhook("ops", json, &[EventKind::Drifted, EventKind::BackInSync]),
        webhook("chat", NotifyFormat::Slack, &[EventKind::Drifted]),
        webhook("pager", NotifyFormat::Slack, &[EventKind::ApplyFailed]),
    ];
    let vars = |name: &str| match name {
        "OPS_URL" => Some("http://127.0.0.1:9/ops".to_owned()),
        "OPS_SECRET" => Some("s3cret".to_owned()),
        "CHAT_URL" | "PAGER_URL" => Some("http://127.0.0.1:9/chat".to_owned()),
        _ => None,
    };
    let recorder = Recorder(Arc::default(), 204);
    let notifier = Notifier::new(&config(hooks), vars, Box::new(recorder.clone()));
    assert!(!notifier.is_empty());
    let lines = notifier.tell(&target(), &drifted_record(), &[event(EventKind::Drifted)], &Cancel::new()).await;
    assert_eq!(
        lines,
        ["ops drifted: delivered (HTTP 204, 1 attempt)", "chat drifted: delivered (HTTP 204, 1 attempt)"]
    );
    let sent = recorder.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 2, "pager does not want drift");
    let header = |s: &Sent, name: &str| s.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    // The generic payload, signed over its exact bytes with the key from the environment.
    assert_eq!(sent[0].url, "http://127.0.0.1:9/ops");
    assert_eq!(header(&sent[0], payload::SIGNATURE_HEADER), Some(payload::signature(b"s3cret", &sent[0].body)));
    assert_eq!(header(&sent[0], payload::EVENT_HEADER).as_deref(), Some("drifted"));
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).expect("json");
    assert_eq!((body["owner"].as_str(), body["environment"].as_str()), (Some("acme/web"), Some("staging")));
    assert_eq!(body["delivery"].as_str(), header(&sent[0], payload::DELIVERY_HEADER).as_deref());
    // Slack's message: never signed (its URL is the secret).
    assert_eq!(header(&sent[1], payload::SIGNATURE_HEADER), None);
    let slack: serde_json::Value = serde_json::from_slice(&sent[1].body).expect("json");
    assert!(
        slack["text"].as_str().is_some_and(|t| t.starts_with(":warning: *Drifted*: customer `acme/web`")),
        "{slack}"
    );
}

#[tokio::test]
async fn a_webhook_that_cant_be_used_is_told_as_such_never_sent_unsigned_or_to_metadata() {
    let json = |s: &str| NotifyFormat::Json { secret_env: s.into() };
    let hooks = vec![
        webhook("unset", NotifyFormat::Slack, &[EventKind::Drifted]),
        webhook("nokey", json("NOKEY_SECRET"), &[EventKind::Drifted]),
        webhook("meta", NotifyFormat::Slack, &[EventKind::Drifted]),
    ];
    let vars = |name: &str| match name {
        "NOKEY_URL" => Some("http://127.0.0.1:9/x".to_owned()),
        "META_URL" => Some("http://169.254.169.254/latest/meta-data?token=abc".to_owned()),
        _ => None,
    };
    let recorder = Recorder(Arc::default(), 204);
    let notifier = Notifier::new(&config(hooks), vars, Box::new(recorder.clone()));
    let lines = notifier.tell(&target(), &drifted_record(), &[event(EventKind::Drifted)], &Cancel::new()).await;
    assert_eq!(lines[0], "unset drifted: not sent: `UNSET_URL` is not set");
    assert_eq!(lines[1], "nokey drifted: not sent: `NOKEY_SECRET` is not set: a `json` webhook is never sent unsigned");
    assert!(lines[2].starts_with("meta drifted: not sent: `META_URL` is not a URL a webhook may have: its host is the address `169.254.169.254`"), "{}", lines[2]);
    assert!(!lines.concat().contains("token=abc"), "the URL, a secret, is never shown: {lines:?}");
    assert!(recorder.0.lock().expect("lock").is_empty(), "nothing was sent");
    let debug = format!("{notifier:?}");
    assert!(!debug.contains("127.0.0.1") && debug.contains("nokey"), "{debug}");
}

#[test]
fn no_webhook_means_nothing_is_read() {
    assert!(Notifier::none().is_empty());
    let hooks = vec![webhook("quiet", NotifyFormat::Slack, &[])];
    assert!(Notifier::new(&config(hooks), |_| None, Box::new(Recorder::default())).is_empty());
}
