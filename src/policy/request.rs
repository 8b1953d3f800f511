//! `input.request`: the provisioning request that made the change planned, believed only
//! from the store. A commit's `Request-Id:` trailer is written by whoever pushes it, so it
//! only says which record to read; the request is the record's, and only when that record
//! names exactly the commit that carries the trailer (the commit that last changed the
//! tenant's file, [`crate::codehost::Files::request_claim`]). A customer's repository makes
//! no claims: its plans read `null` through the same call.

use serde_json::{Value, json};

use crate::codehost::RequestClaim;
use crate::error::CommandError;
use crate::identity::Owner;
use crate::pipeline::{Deps, Request};
use crate::store::request::RequestRecord;
use crate::terraform::PlanKind;

/// The request behind the change `req` plans, as policies read it; `null` when none is
/// proven. A destroy from the commit last applied is a request's only when it reports on a
/// pushed commit (a deleted tenant file); an operator's destroy or an expiry is nobody's.
pub async fn made_by(deps: &Deps<'_>, req: &Request, kind: PlanKind) -> Result<Value, CommandError> {
    let sha = match (kind, &req.report_to) {
        (PlanKind::Destroy, None) => return Ok(Value::Null),
        _ => req.reported_sha(),
    };
    let Some(claim) = deps.files.request_claim(&req.target.owner, sha).await? else { return Ok(Value::Null) };
    let record = deps.store.request(&claim.request_id).await?;
    match record.filter(|r| believed(r, &claim, &req.target.owner)) {
        Some(record) => Ok(document(&record, &claim)),
        None => {
            crate::output::log(&format!(
                "commit {} names request `{}`, whose record does not name that commit: `input.request` is null",
                claim.commit.short(),
                claim.request_id
            ));
            Ok(Value::Null)
        }
    }
}

/// The record proves the claim: it is that request's, for this tenant, and the commit it
/// made is the claiming commit. A record of a request that committed nothing names the
/// branch's head then (someone else's commit), so it proves nothing.
fn believed(record: &RequestRecord, claim: &RequestClaim, owner: &Owner) -> bool {
    let tenant = match owner {
        Owner::Tenant(tenant) => tenant.as_str(),
        Owner::Customer(_) => return false,
    };
    record.committed
        && record.sha == claim.commit.as_str()
        && record.request_id == claim.request_id.as_str()
        && record.tenant == tenant
}

/// What a policy reads of a proven request. The trailers of a proven commit are
/// infra-manager's own (the commit's SHA covers its message), so `requested_by` is the
/// checked requester.
fn document(record: &RequestRecord, claim: &RequestClaim) -> Value {
    let content = record.content.as_ref();
    json!({
        "id": record.request_id,
        "action": record.action,
        "type": record.type_name,
        "tenant": record.tenant,
        "environments": record.environments,
        "tier": content.and_then(|c| c.tier.as_deref()),
        "expires_at": content.and_then(|c| c.expires_at.as_deref()),
        "inputs_sha256": content.and_then(|c| c.inputs_sha256.as_deref()),
        "requested_by": claim.requested_by,
        "requested_at": record.requested_at,
        "auto_approved": record.auto_approved,
        "branch": record.branch,
        "commit": record.sha,
        "run_url": record.run_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{RequestId, Sha, TenantName};

    fn record() -> RequestRecord {
        RequestRecord::example()
    }

    fn claim(commit: char, id: &str) -> RequestClaim {
        RequestClaim {
            commit: Sha::parse(&commit.to_string().repeat(40)).expect("sha"),
            request_id: RequestId::parse(id).expect("id"),
            requested_by: Some("octocat".into()),
        }
    }

    #[test]
    fn a_claim_is_believed_only_when_the_record_names_the_claiming_commit() {
        let alice = Owner::Tenant(TenantName::parse("alice-xero").expect("name"));
        let bob = Owner::Tenant(TenantName::parse("bob-xero").expect("name"));
        let customer = Owner::Customer(crate::identity::RepoId::parse("acme/web").expect("repo"));
        assert!(believed(&record(), &claim('a', "req-1"), &alice));
        // A hand-made commit whose trailer names a real request.
        assert!(!believed(&record(), &claim('b', "req-1"), &alice), "another commit");
        assert!(!believed(&record(), &claim('a', "req-1"), &bob), "another tenant");
        assert!(!believed(&record(), &claim('a', "req-1"), &customer), "a customer");
        assert!(!believed(&record(), &claim('a', "req-2"), &alice), "another request's record");
        // The request found the file already as asked: its record names someone's commit.
        let nothing = RequestRecord { committed: false, ..record() };
        assert!(!believed(&nothing, &claim('a', "req-1"), &alice), "a request that committed nothing");
    }

    #[test]
    fn a_proven_request_reads_as_its_record_says() {
        let doc = document(&record(), &claim('a', "req-1"));
        assert_eq!(doc["type"], "connector");
        assert_eq!(doc["action"], "write");
        assert_eq!(doc["environments"], json!(["staging"]));
        assert_eq!(doc["requested_by"], "octocat");
        assert_eq!(doc["commit"], "a".repeat(40));
        assert_eq!(doc["tier"], Value::Null);
    }
}
