//! What governance adds to a run record: every field optional and defaulted, so records
//! written before it read back unchanged and a run without governance writes nothing more.
//! (Policy results, cost, approvals, the reviewed plan and window overrides add theirs
//! here, each documented where it is decided.)

use serde::{Deserialize, Serialize};

/// Flattened into [`super::RunRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Governance {}
