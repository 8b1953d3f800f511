//! What a webhook is sent for one event: the generic JSON payload with its HMAC-SHA256
//! signature, or a Slack incoming-webhook message whose every value went through
//! [`crate::report::slack::text`].

use serde::Serialize;

use super::event::Event;
use crate::identity::Target;
use crate::store::RunRecord;

/// The header carrying the signature of a `json` payload: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-infra-manager-signature";
/// The header naming the event (`drifted`).
pub const EVENT_HEADER: &str = "x-infra-manager-event";
/// The header naming the delivery (the same on every attempt of it).
pub const DELIVERY_HEADER: &str = "x-infra-manager-delivery";
/// The payload's `schema`: bumped if a field changes meaning.
pub const SCHEMA: &str = "infra-manager.notification/v1";

/// One event of one run, as every format tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub schema: &'static str,
    /// `drifted`, `back-in-sync`, … ([`super::EventKind`]).
    pub event: String,
    /// Which target: `customer` or `tenant`, its name as people write it, the environment.
    pub owner_kind: &'static str,
    pub owner: String,
    pub environment: String,
    /// The commit (or, locally, the file digest) the run was about.
    pub sha: String,
    pub revision: crate::store::Revision,
    /// One line: what happened.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    pub run: Run,
    /// Unique per event and webhook, the same on each attempt: a receiver drops repeats by it.
    pub delivery: String,
    /// When the event was decided (RFC 3339); signed with the rest, so an old payload
    /// replayed later can be told by it.
    pub sent_at: String,
}

/// The run that made the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: String,
    pub kind: crate::store::RunKind,
    pub status: crate::store::RunStatus,
    pub url: Option<String>,
}

impl Notice {
    /// The notice of `event`, made by run `record` on `target`.
    pub fn new(target: &Target, record: &RunRecord, event: &Event, webhook: &str) -> Self {
        let sent_at = crate::pipeline::now();
        Self {
            schema: SCHEMA,
            event: event.kind.name(),
            owner_kind: target.owner.kind(),
            owner: target.owner.to_string(),
            environment: target.env.to_string(),
            sha: record.sha.clone(),
            revision: record.revision,
            summary: event.summary.clone(),
            request: event.request.clone(),
            run: Run {
                id: record.run_id.clone(),
                kind: record.kind,
                status: record.status,
                url: record.run_url.clone(),
            },
            delivery: delivery_id(&record.run_id, &event.kind.name(), event.request.as_deref(), webhook),
            sent_at,
        }
    }

    /// The generic payload: this notice as JSON.
    pub fn json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Slack's incoming-webhook message: one line of text, every value escaped by Slack's
    /// rule ([`crate::report::slack::text`]).
    pub fn slack(&self) -> Vec<u8> {
        use crate::report::slack::text;
        let (icon, title) = headline(&self.event);
        let mut line = format!(
            "{icon} *{title}*: {} `{}` `{}` at {}",
            self.owner_kind,
            text(&self.owner),
            text(&self.environment),
            text(&self.revision.shown(&self.sha)),
        );
        if let Some(request) = &self.request {
            line.push_str(&format!(" (request `{}`)", text(request)));
        }
        if !self.summary.is_empty() {
            line.push_str(&format!(": {}", text(&self.summary)));
        }
        if let Some(url) = &self.run.url {
            line.push_str(&format!(" (run: {})", text(url)));
        }
        serde_json::to_vec(&serde_json::json!({ "text": line })).unwrap_or_default()
    }
}

/// The emoji and title of an event's Slack line.
fn headline(event: &str) -> (&'static str, &'static str) {
    match event {
        "drifted" => (":warning:", "Drifted"),
        "back-in-sync" => (":white_check_mark:", "Back in sync"),
        "apply-failed" => (":x:", "Apply failed"),
        "unhealthy" => (":x:", "Unhealthy after the apply"),
        "expiring" => (":hourglass:", "Expiring"),
        "request-applied" => (":white_check_mark:", "Request applied"),
        "request-failed" => (":x:", "Request failed"),
        "policy-denied" => (":no_entry:", "Denied by policy"),
        _ => (":bell:", "Event"),
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `key`, as the signature header carries
/// it (ring's HMAC: the crypto the TLS stack already uses).
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    format!("sha256={}", hex::encode(ring::hmac::sign(&key, body).as_ref()))
}

/// A delivery's id: derived from what it is about, so a retry (or the same run's record
/// written again) carries the same one.
fn delivery_id(run_id: &str, event: &str, request: Option<&str>, webhook: &str) -> String {
    let text = format!("{run_id}\n{event}\n{}\n{webhook}", request.unwrap_or_default());
    crate::pipeline::sha256_hex(text.as_bytes())[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::EventKind;
    use crate::store::{Revision, RunKind, RunStatus};

    fn notice(owner: &str, summary: &str) -> Notice {
        Notice {
            schema: SCHEMA,
            event: EventKind::Drifted.name(),
            owner_kind: "customer",
            owner: owner.into(),
            environment: "staging".into(),
            sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d".into(),
            revision: Revision::Commit,
            summary: summary.into(),
            request: None,
            run: Run {
                id: "2026-12-07T10:00:00Z#0000002a".into(),
                kind: RunKind::Drift,
                status: RunStatus::Succeeded,
                url: Some("https://github.com/p/m/actions/runs/7".into()),
            },
            delivery: "d".repeat(32),
            sent_at: "2026-12-07T10:01:00Z".into(),
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_exact_body() {
        // RFC 4231, test case 2.
        let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(signature(b"Jefe", b"what do ya want for nothing?"), expected);
        let body = notice("acme/web", "in sync").json();
        assert_ne!(signature(b"k", &body), signature(b"k2", &body));
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(parsed["event"], "drifted");
        assert_eq!(parsed["run"]["kind"], "drift");
    }

    #[test]
    fn a_hostile_name_in_a_slack_message_links_mentions_and_breaks_nothing() {
        let hostile = notice(
            "<!channel> & <https://evil.example|click here>\n*pwned*",
            "drifted: 1 changed outside Terraform; <@U0123> `x` &amp;",
        );
        let message: serde_json::Value = serde_json::from_slice(&hostile.slack()).expect("json");
        let text = message["text"].as_str().expect("text");
        assert!(!text.contains("<!") && !text.contains("<@") && !text.contains("<http"), "{text}");
        insta::assert_json_snapshot!(message);
    }

    #[test]
    fn the_same_event_of_the_same_run_keeps_its_delivery_id() {
        let a = delivery_id("r1", "drifted", None, "ops");
        assert_eq!(a, delivery_id("r1", "drifted", None, "ops"));
        assert_ne!(a, delivery_id("r1", "drifted", None, "chat"));
        assert_ne!(a, delivery_id("r2", "drifted", None, "ops"));
        assert_eq!(a.len(), 32);
    }
}
