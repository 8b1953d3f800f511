//! Notifications on transitions (`notify:` in `infra-manager.yml`): when a run changes its
//! target's state (drifted, back in sync, an apply failing, unhealthy, expiring, a request
//! applied or failed, denied by policy), each webhook that wants the event is told once.
//!
//! One call, [`after_run`], made by the frame once a run's record is finished, for every
//! target kind through the same code: the target's earlier records are read, the events
//! decided by the pure [`event::transitions`], each delivered ([`deliver`]) as the webhook's
//! format asks ([`payload`]), and what became of each delivery written to the log and to the
//! run's record (`notifications`). Nothing here fails the run: a webhook that can't be
//! reached is a warning.

pub mod deliver;
pub mod event;
pub mod payload;
mod requests;

use std::time::Duration;

pub use event::{Event, EventKind};

use crate::cancel::Cancel;
use crate::config::{NotifyConfig, NotifyFormat, RetryConfig};
use crate::egress::Url;
use crate::identity::Target;
use crate::output;
use crate::pipeline::{Deps, Request};
use crate::store::RunRecord;
use deliver::{Delivery, Sender};
use payload::{DELIVERY_HEADER, EVENT_HEADER, Notice, SIGNATURE_HEADER};

/// The webhooks of `notify:`, their URLs and keys read from the environment once.
pub struct Notifier {
    endpoints: Vec<Endpoint>,
    policy: RetryConfig,
    timeout: Duration,
    sender: Box<dyn Sender>,
}

/// One webhook, or why it can't be used (a variable unset, a URL the egress rule refuses):
/// said as a warning when an event it wants comes, never as a failure.
struct Endpoint {
    name: String,
    events: Vec<EventKind>,
    resolved: Result<Resolved, String>,
}

struct Resolved {
    url: Url,
    /// The HMAC key of a `json` webhook; `None` for `slack`.
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Notifier {
    /// Names only: URLs and keys are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.endpoints.iter().map(|e| e.name.as_str()).collect();
        f.debug_struct("Notifier").field("webhooks", &names).finish_non_exhaustive()
    }
}

impl Notifier {
    /// No webhooks: nothing is read or sent.
    pub fn none() -> Self {
        Self::new(&NotifyConfig::default(), |_| None, Box::new(deliver::HttpSender))
    }

    /// The webhooks of `config`, each variable it names looked up with `var`.
    pub fn new(config: &NotifyConfig, var: impl Fn(&str) -> Option<String>, sender: Box<dyn Sender>) -> Self {
        let unset = |name: &str| format!("`{name}` is not set");
        let endpoints = config
            .webhooks
            .iter()
            .map(|w| {
                let resolved = var(&w.url_env).ok_or_else(|| unset(&w.url_env)).and_then(|text| {
                    let url = Url::parse(text.trim())
                        .map_err(|reason| format!("`{}` is not a URL a webhook may have: {reason}", w.url_env))?;
                    let key = match &w.format {
                        NotifyFormat::Slack => None,
                        NotifyFormat::Json { secret_env } => Some(
                            var(secret_env)
                                .ok_or_else(|| {
                                    format!("{}: a `json` webhook is never sent unsigned", unset(secret_env))
                                })?
                                .into_bytes(),
                        ),
                    };
                    Ok(Resolved { url, key })
                });
                Endpoint { name: w.name.clone(), events: w.events.clone(), resolved }
            })
            .collect();
        let policy =
            RetryConfig { attempts: config.attempts, backoff: config.backoff, max_backoff: deliver::MAX_BACKOFF };
        Self { endpoints, policy, timeout: config.timeout, sender }
    }

    /// Whether any webhook wants any event (else no record is read for it).
    pub fn is_empty(&self) -> bool {
        self.endpoints.iter().all(|e| e.events.is_empty())
    }

    fn wants(&self, kind: EventKind) -> bool {
        self.endpoints.iter().any(|e| e.events.contains(&kind))
    }

    /// Tells each webhook that wants them of `events`; one line per delivery, for the record.
    async fn tell(&self, target: &Target, record: &RunRecord, events: &[Event], cancel: &Cancel) -> Vec<String> {
        let mut lines = Vec::new();
        for event in events {
            for endpoint in self.endpoints.iter().filter(|e| e.events.contains(&event.kind)) {
                let outcome = match &endpoint.resolved {
                    Ok(resolved) => {
                        Ok(self.send(resolved, &Notice::new(target, record, event, &endpoint.name), cancel).await)
                    }
                    Err(why) => Err(why.clone()),
                };
                let kind = event.kind.name();
                let told = format!("webhook `{}` ({kind}, {target})", endpoint.name);
                match &outcome {
                    Ok(delivered @ Delivery::Delivered { .. }) => output::log(&format!("{told}: {delivered}")),
                    Ok(failed) => warn(&format!("{told}: {failed}")),
                    Err(why) => warn(&format!("{told}: not sent: {why}")),
                }
                let shown = match outcome {
                    Ok(delivery) => delivery.to_string(),
                    Err(why) => format!("not sent: {why}"),
                };
                lines.push(format!("{} {kind}: {shown}", endpoint.name));
            }
        }
        lines
    }

    async fn send(&self, to: &Resolved, notice: &Notice, cancel: &Cancel) -> Delivery {
        let mut headers = vec![(EVENT_HEADER, notice.event.clone()), (DELIVERY_HEADER, notice.delivery.clone())];
        let body = match &to.key {
            Some(key) => {
                let body = notice.json();
                headers.push((SIGNATURE_HEADER, payload::signature(key, &body)));
                body
            }
            None => notice.slack(),
        };
        deliver::deliver(self.sender.as_ref(), &to.url, &headers, &body, &self.policy, self.timeout, cancel).await
    }
}

/// A delivery that failed: an annotation in GitHub Actions' log, a line elsewhere.
fn warn(message: &str) {
    crate::actions::warning(&mut std::io::stderr(), message);
}

/// After run `record` for `req` finished (and was recorded): the events it made, told to
/// the webhooks that want them. `expires_at` is the target's expiry, when admission read
/// it. Returns what became of the deliveries, for the record; `None` when nothing was sent.
pub async fn after_run(
    deps: &Deps<'_>,
    req: &Request,
    record: &RunRecord,
    expires_at: Option<jiff::Timestamp>,
) -> Option<String> {
    let notifier = deps.notifier;
    let target = &req.target;
    if notifier.is_empty() {
        return None;
    }
    let before: Vec<RunRecord> = match deps.store.history(&target.owner, Some(&target.env)).await {
        Ok(history) => history.into_iter().filter(|r| r.run_id != record.run_id).collect(),
        Err(e) => {
            let message = format!("can't read {target}'s records to decide its notifications: {e}");
            warn(&message);
            return Some(message);
        }
    };
    let wants_requests = notifier.wants(EventKind::RequestApplied) || notifier.wants(EventKind::RequestFailed);
    let carried = if wants_requests { requests::carried(deps, req, record, &before).await } else { Vec::new() };
    let context = event::Context { expires_at, carried };
    let events: Vec<Event> =
        event::transitions(&before, record, &context).into_iter().filter(|e| notifier.wants(e.kind)).collect();
    if events.is_empty() {
        return None;
    }
    let lines = notifier.tell(target, record, &events, &deps.cancel).await;
    Some(lines.join("; "))
}

#[cfg(test)]
mod tests;
