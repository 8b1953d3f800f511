//! Apply's checks, separated from its effects: [`verify`] is pure. Given what the store
//! holds and what this run rebuilt, it either names every check that passed or the one
//! that refused.

use serde::Serialize;

use super::{Request, sha256_hex};
use crate::refusal::Refusal;
use crate::store::PlanMeta;
use crate::terraform::StateId;

/// The stored plan as it was found, before any check.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The newest plan's metadata for the target (`None`: never planned).
    pub latest: Option<PlanMeta>,
    /// The plan for the requested commit.
    pub requested: Lookup,
}

/// What looking up the requested commit's plan gave.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found {
        bytes: Vec<u8>,
        meta: Box<PlanMeta>,
    },
    Missing,
    /// The store itself found the bytes don't match their digest (S3 checksums).
    ChecksumMismatch {
        expected: String,
        actual: String,
    },
    /// The metadata can't be read.
    Unreadable {
        message: String,
    },
}

/// What this run rebuilt: the facts the plan must still match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub config_sha256: String,
    /// The running Terraform's version (known from `init`: no process of its own).
    pub terraform_version: String,
    pub state: StateCheck,
}

/// How the state the plan was made against is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateCheck {
    /// This run read the current state (`state pull`, a dry run): compared here.
    Current(Option<StateId>),
    /// Terraform compares the saved plan's prior state with the current one itself when it
    /// applies, and refuses a stale plan before changing anything; the apply flow turns
    /// that refusal into [`Refusal::StaleState`]. No state is read here.
    AtApply,
}

/// One check that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The plan is the newest one stored for the target.
    Newest,
    /// Its metadata names this customer, environment and commit.
    Target,
    /// Its bytes match the recorded sha256.
    Checksum,
    /// The rebuilt configuration (and provider lock) has the recorded digest.
    Configuration,
    /// Terraform is the version that made the plan.
    TerraformVersion,
    /// The state's lineage and serial are the ones the plan was made against.
    State,
}

impl Check {
    pub const ALL: [Check; 6] =
        [Check::Newest, Check::Target, Check::Checksum, Check::Configuration, Check::TerraformVersion, Check::State];
}

/// A plan that passed every check: safe to apply.
#[derive(Debug, Clone)]
pub struct Verified {
    pub bytes: Vec<u8>,
    pub meta: PlanMeta,
    pub checks: Vec<Check>,
}

/// The checks that need nothing rebuilt; run first so a plan that can't be applied is
/// refused before any working directory is prepared.
pub fn check_stored<'a>(req: &Request, stored: &'a Stored) -> Result<(&'a [u8], &'a PlanMeta), Refusal> {
    let target = &req.target;
    let Some(latest) = &stored.latest else {
        return Err(Refusal::NoPlan { target: target.clone() });
    };
    let (bytes, meta) = match &stored.requested {
        Lookup::Found { bytes, meta } => (bytes, meta),
        Lookup::Missing => {
            return Err(Refusal::NoPlanForCommit {
                target: target.clone(),
                sha: req.sha.clone(),
                newest: latest.sha.clone(),
            });
        }
        Lookup::ChecksumMismatch { expected, actual } => {
            return Err(Refusal::Tampered { expected: expected.clone(), actual: actual.clone() });
        }
        Lookup::Unreadable { message } => return Err(Refusal::Unreadable { message: message.clone() }),
    };
    if latest.sha != req.sha.as_str() {
        return Err(Refusal::Superseded { sha: req.sha.clone(), newest: latest.sha.clone() });
    }
    let planned_for = (meta.customer.as_str(), meta.environment.as_str(), meta.sha.as_str());
    let requested = (target.owner.to_string(), target.env.to_string(), req.sha.to_string());
    if planned_for != (requested.0.as_str(), requested.1.as_str(), requested.2.as_str()) {
        return Err(Refusal::WrongTarget {
            planned: format!("{}/{}@{}", planned_for.0, planned_for.1, planned_for.2),
            requested: format!("{}/{}@{}", requested.0, requested.1, requested.2),
        });
    }
    let actual = sha256_hex(bytes);
    if actual != meta.plan_sha256 {
        return Err(Refusal::Tampered { expected: meta.plan_sha256.clone(), actual });
    }
    Ok((bytes, meta))
}

/// Every check, stored and rebuilt.
pub fn verify(req: &Request, stored: &Stored, rebuilt: &Rebuilt) -> Result<Verified, Refusal> {
    let (bytes, meta) = check_stored(req, stored)?;
    if rebuilt.config_sha256 != meta.config_sha256 {
        return Err(Refusal::ConfigChanged);
    }
    if rebuilt.terraform_version != meta.terraform_version {
        return Err(Refusal::TerraformVersion {
            planned: meta.terraform_version.clone(),
            running: rebuilt.terraform_version.clone(),
        });
    }
    if let StateCheck::Current(state) = &rebuilt.state {
        let planned = (meta.state_lineage.as_deref(), meta.state_serial);
        let current = (state.as_ref().map(|s| s.lineage.as_str()), state.as_ref().map(|s| s.serial));
        if planned != current {
            return Err(Refusal::StaleState { planned: planned.1, current: current.1 });
        }
    }
    Ok(Verified { bytes: bytes.to_vec(), meta: meta.clone(), checks: Check::ALL.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, RepoId, Sha, Target};

    const SHA: &str = "1111111111111111111111111111111111111111";
    const NEWER: &str = "2222222222222222222222222222222222222222";

    fn req() -> Request {
        Request {
            target: Target {
                owner: crate::identity::Owner::Customer(RepoId::parse("acme/web").expect("valid")),
                env: EnvName::parse("staging").expect("valid"),
            },
            sha: Sha::parse(SHA).expect("valid"),
            pull_request: None,
            report_to: None,
            allow_protected: false,
            break_glass: None,
            destroy_reason: crate::pipeline::DestroyReason::default(),
        }
    }

    fn meta(sha: &str) -> PlanMeta {
        PlanMeta {
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: sha.into(),
            plan_sha256: sha256_hex(b"plan"),
            terraform_version: "1.11.4".into(),
            config_sha256: "config".into(),
            manager_commit: "local".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            run_url: None,
            state_lineage: Some("l".into()),
            state_serial: Some(3),
            has_changes: true,
            add: 1,
            change: 0,
            destroy: 0,
        }
    }

    fn stored() -> Stored {
        Stored {
            latest: Some(meta(SHA)),
            requested: Lookup::Found { bytes: b"plan".to_vec(), meta: Box::new(meta(SHA)) },
        }
    }

    fn rebuilt() -> Rebuilt {
        Rebuilt {
            config_sha256: "config".into(),
            terraform_version: "1.11.4".into(),
            state: StateCheck::Current(Some(StateId { lineage: "l".into(), serial: 3 })),
        }
    }

    #[test]
    fn a_plan_that_matches_passes_every_check() {
        let verified = verify(&req(), &stored(), &rebuilt()).expect("verified");
        assert_eq!(verified.checks, Check::ALL);
        assert_eq!(verified.bytes, b"plan");
    }

    /// Apply leaves the state to Terraform; every other check still runs here, first.
    #[test]
    fn a_state_checked_at_apply_is_not_compared_but_the_rest_is() {
        let at_apply = Rebuilt { state: StateCheck::AtApply, ..rebuilt() };
        assert_eq!(verify(&req(), &stored(), &at_apply).expect("verified").checks, Check::ALL);
        let other_version = Rebuilt { terraform_version: "1.15.5".into(), ..at_apply.clone() };
        assert!(matches!(verify(&req(), &stored(), &other_version), Err(Refusal::TerraformVersion { .. })));
        let other_config = Rebuilt { config_sha256: "changed".into(), ..at_apply };
        assert_eq!(verify(&req(), &stored(), &other_config).expect_err("refused"), Refusal::ConfigChanged);
    }

    /// What differs, and a test of the refusal it must give.
    type Case = (&'static str, Stored, Rebuilt, fn(&Refusal) -> bool);

    /// One row per refusal.
    #[test]
    fn every_difference_is_refused_with_its_own_reason() {
        let found = |bytes: &[u8], meta: PlanMeta| Lookup::Found { bytes: bytes.to_vec(), meta: Box::new(meta) };
        let other_env = PlanMeta { environment: "production".into(), ..meta(SHA) };
        let other_customer = PlanMeta { customer: "acme/other".into(), ..meta(SHA) };
        let cases: Vec<Case> = vec![
            ("missing", Stored { latest: None, requested: Lookup::Missing }, rebuilt(), |r| {
                matches!(r, Refusal::NoPlan { .. })
            }),
            (
                "no plan for this commit",
                Stored { requested: Lookup::Missing, latest: Some(meta(NEWER)) },
                rebuilt(),
                |r| matches!(r, Refusal::NoPlanForCommit { newest, .. } if newest == NEWER),
            ),
            (
                "superseded",
                Stored { latest: Some(meta(NEWER)), ..stored() },
                rebuilt(),
                |r| matches!(r, Refusal::Superseded { newest, .. } if newest == NEWER),
            ),
            ("tampered", Stored { requested: found(b"other bytes", meta(SHA)), ..stored() }, rebuilt(), |r| {
                matches!(r, Refusal::Tampered { .. })
            }),
            (
                "tampered, found by the store",
                Stored { requested: Lookup::ChecksumMismatch { expected: "a".into(), actual: "b".into() }, ..stored() },
                rebuilt(),
                |r| matches!(r, Refusal::Tampered { .. }),
            ),
            (
                "unreadable metadata",
                Stored { requested: Lookup::Unreadable { message: "bad json".into() }, ..stored() },
                rebuilt(),
                |r| matches!(r, Refusal::Unreadable { .. }),
            ),
            ("wrong environment", Stored { requested: found(b"plan", other_env), ..stored() }, rebuilt(), |r| {
                matches!(r, Refusal::WrongTarget { .. })
            }),
            ("wrong customer", Stored { requested: found(b"plan", other_customer), ..stored() }, rebuilt(), |r| {
                matches!(r, Refusal::WrongTarget { .. })
            }),
            ("configuration changed", stored(), Rebuilt { config_sha256: "changed".into(), ..rebuilt() }, |r| {
                matches!(r, Refusal::ConfigChanged)
            }),
            (
                "terraform version changed",
                stored(),
                Rebuilt { terraform_version: "1.15.5".into(), ..rebuilt() },
                |r| matches!(r, Refusal::TerraformVersion { planned, running } if planned == "1.11.4" && running == "1.15.5"),
            ),
            (
                "stale state",
                stored(),
                Rebuilt { state: StateCheck::Current(Some(StateId { lineage: "l".into(), serial: 4 })), ..rebuilt() },
                |r| matches!(r, Refusal::StaleState { planned: Some(3), current: Some(4) }),
            ),
            (
                "state replaced (new lineage)",
                stored(),
                Rebuilt {
                    state: StateCheck::Current(Some(StateId { lineage: "other".into(), serial: 3 })),
                    ..rebuilt()
                },
                |r| matches!(r, Refusal::StaleState { .. }),
            ),
            ("state deleted", stored(), Rebuilt { state: StateCheck::Current(None), ..rebuilt() }, |r| {
                matches!(r, Refusal::StaleState { current: None, .. })
            }),
        ];
        for (name, stored, rebuilt, expected) in cases {
            let refusal = verify(&req(), &stored, &rebuilt).expect_err(name);
            assert!(expected(&refusal), "{name}: got {refusal:?}");
            assert!(refusal.hint().is_some(), "{name}: a refusal says what to do");
            assert_eq!(refusal.exit_status(), crate::error::ExitStatus::Failure, "{name}");
        }
    }
}
