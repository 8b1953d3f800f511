//! Reading a saved plan file without Terraform: it is a zip whose `tfstate` entry is the
//! prior state the plan was made against. Its lineage and serial are what apply checks, so
//! the plan flow needs no `state pull` of its own.

use std::io::Read;

use serde::Deserialize;

use super::StateId;

/// The plan file is not the zip Terraform writes, or its `tfstate` is not a state.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanFileError(String);

/// The state entry's only fields read here (a state holds secrets; nothing else is kept).
#[derive(Deserialize)]
struct Snapshot {
    #[serde(default)]
    lineage: String,
    #[serde(default)]
    serial: u64,
}

/// The prior state of a saved plan: `None` for a plan made against no state (no `tfstate`
/// entry, an empty one, or one without a lineage, which Terraform writes for an empty state).
pub fn prior_state(plan: &[u8]) -> Result<Option<StateId>, PlanFileError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(plan))
        .map_err(|e| PlanFileError(format!("not a saved plan (zip): {e}")))?;
    let mut entry = match zip.by_name("tfstate") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(PlanFileError(format!("can't read its `tfstate`: {e}"))),
    };
    let mut text = Vec::new();
    entry.read_to_end(&mut text).map_err(|e| PlanFileError(format!("can't read its `tfstate`: {e}")))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let snapshot: Snapshot =
        serde_json::from_slice(&text).map_err(|e| PlanFileError(format!("its `tfstate` is not a state: {e}")))?;
    Ok((!snapshot.lineage.is_empty()).then_some(StateId { lineage: snapshot.lineage, serial: snapshot.serial }))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn plan_with(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, text) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
            zip.write_all(text.as_bytes()).expect("write");
        }
        zip.finish().expect("finish").into_inner()
    }

    #[test]
    fn the_prior_state_is_read_from_the_plan_file() {
        let plan = plan_with(&[
            ("tfplan", "x"),
            ("tfstate", r#"{"version":4,"serial":7,"lineage":"abc","resources":[{"secret":"s"}]}"#),
        ]);
        assert_eq!(prior_state(&plan).expect("read"), Some(StateId { lineage: "abc".into(), serial: 7 }));
    }

    #[test]
    fn a_plan_against_no_state_has_none() {
        let empty_state = r#"{"version":4,"serial":0,"lineage":"","resources":[]}"#;
        for plan in
            [plan_with(&[("tfplan", "x")]), plan_with(&[("tfstate", "")]), plan_with(&[("tfstate", empty_state)])]
        {
            assert_eq!(prior_state(&plan).expect("read"), None);
        }
    }

    #[test]
    fn a_file_that_is_not_a_plan_is_an_error() {
        assert!(prior_state(b"fake plan").is_err());
        assert!(prior_state(&plan_with(&[("tfstate", "{not json")])).is_err());
    }
}
