//! The run-records table: one DynamoDB item per run, queried per customer, newest first.
//!
//! Key design: partition key `customer` (`owner/repo`), sort key
//! `sk` = `<started_at as UTC, fixed 9-digit fraction>#<env>#<run_id>`. A run keeps the same
//! key from `started` to `succeeded`/`failed` (its `started_at`, environment and `run_id`
//! don't change), so `record_run` is a plain upsert. History is one Query on the
//! partition, in descending sort-key order (newest first), with an `environment` filter
//! when one environment is asked for; every page is followed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use crate::store::{RunRecord, StoreError};

use super::S3Store;
use super::client::remote;

/// The records table's partition key attribute (`owner/repo`).
pub const PARTITION_KEY: &str = "customer";
/// The records table's sort key attribute.
pub const SORT_KEY: &str = "sk";
/// Items per Query page; pages are followed until the partition is exhausted.
const PAGE_SIZE: i32 = 100;

pub(super) async fn record_run(store: &S3Store, record: &RunRecord) -> Result<(), StoreError> {
    let table = &store.settings().records_table;
    let location = || format!("table {table}, run {}", record.run_id);
    let item = record_item(record).map_err(|message| StoreError::Corrupt { location: location(), message })?;
    store
        .clients()
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| remote("dynamodb", "PutItem", location(), e))?;
    Ok(())
}

pub(super) async fn history(store: &S3Store, customer: &str, env: Option<&str>) -> Result<Vec<RunRecord>, StoreError> {
    let table = &store.settings().records_table;
    let mut query = store
        .clients()
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :customer")
        .expression_attribute_names("#pk", PARTITION_KEY)
        .expression_attribute_values(":customer", AttributeValue::S(customer.to_owned()))
        .scan_index_forward(false)
        .limit(PAGE_SIZE);
    if let Some(env) = env {
        query = query
            .filter_expression("#env = :env")
            .expression_attribute_names("#env", "environment")
            .expression_attribute_values(":env", AttributeValue::S(env.to_owned()));
    }
    let location = format!("table {table}, customer {customer}");
    let mut pages = query.into_paginator().send();
    let mut records = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| remote("dynamodb", "Query", location.clone(), e))?;
        for item in page.items() {
            let record = record_from_item(item)
                .map_err(|message| StoreError::Corrupt { location: location.clone(), message })?;
            records.push(record);
        }
    }
    Ok(records)
}

/// `<started_at in UTC with 9 fractional digits>#<env>#<run_id>`: sorts by start time
/// whatever offset or precision the record's timestamp was written with.
pub fn sort_key(record: &RunRecord) -> Result<String, String> {
    let started: jiff::Timestamp = record
        .started_at
        .parse()
        .map_err(|e| format!("`started_at` `{}` is not an RFC 3339 timestamp: {e}", record.started_at))?;
    let started = started.strftime("%Y-%m-%dT%H:%M:%S%.9fZ");
    Ok(format!("{started}#{}#{}", record.environment, record.run_id))
}

/// The record as a DynamoDB item: one attribute per field (absent when `None`), plus `sk`.
pub fn record_item(record: &RunRecord) -> Result<HashMap<String, AttributeValue>, String> {
    let Value::Object(fields) = serde_json::to_value(record).map_err(|e| e.to_string())? else {
        return Err("a run record is not a JSON object".to_owned());
    };
    let mut item = HashMap::with_capacity(fields.len() + 1);
    for (name, value) in fields {
        let attribute = match value {
            Value::Null => continue,
            Value::String(s) => AttributeValue::S(s),
            Value::Number(n) => AttributeValue::N(n.to_string()),
            Value::Bool(b) => AttributeValue::Bool(b),
            other => return Err(format!("field `{name}` has an unsupported value `{other}`")),
        };
        item.insert(name, attribute);
    }
    item.insert(SORT_KEY.to_owned(), AttributeValue::S(sort_key(record)?));
    Ok(item)
}

/// Reads an item written by [`record_item`] back.
pub fn record_from_item(item: &HashMap<String, AttributeValue>) -> Result<RunRecord, String> {
    let mut fields = Map::new();
    for (name, attribute) in item {
        if name == SORT_KEY {
            continue;
        }
        let value = match attribute {
            AttributeValue::S(s) => Value::String(s.clone()),
            AttributeValue::N(n) => {
                Value::Number(parse_number(n).ok_or_else(|| format!("`{name}` = `{n}` is not a number"))?)
            }
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Null(_) => Value::Null,
            other => return Err(format!("`{name}` has an unexpected type: {other:?}")),
        };
        fields.insert(name.clone(), value);
    }
    let run_id = fields.get("run_id").and_then(Value::as_str).unwrap_or("?").to_owned();
    serde_json::from_value(Value::Object(fields)).map_err(|e| format!("run `{run_id}` is not a run record: {e}"))
}

fn parse_number(n: &str) -> Option<Number> {
    if let Ok(u) = n.parse::<u64>() {
        return Some(u.into());
    }
    if let Ok(i) = n.parse::<i64>() {
        return Some(i.into());
    }
    n.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunKind, RunStatus};

    fn record() -> RunRecord {
        RunRecord {
            run_id: "2025-01-02T03:04:05Z#k3j2".into(),
            customer: "acme/webshop".into(),
            environment: "staging".into(),
            sha: "a".repeat(40),
            pull_request: Some(42),
            started_at: "2025-01-02T03:04:05Z".into(),
            finished_at: Some("2025-01-02T03:05:00Z".into()),
            add: Some(1),
            change: Some(0),
            message: Some("applied".into()),
            health: Some(crate::store::HealthState::Healthy),
            outputs: Some(r#"{"web_url":"https://shop.example"}"#.into()),
            ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded)
        }
    }

    #[test]
    fn items_round_trip_and_omit_absent_fields() {
        let item = record_item(&record()).expect("converts");
        assert_eq!(item.get("customer"), Some(&AttributeValue::S("acme/webshop".into())));
        assert_eq!(item.get("kind"), Some(&AttributeValue::S("apply".into())));
        assert_eq!(item.get("pull_request"), Some(&AttributeValue::N("42".into())));
        assert!(!item.contains_key("run_url"));
        assert!(!item.contains_key("destroy"));
        assert_eq!(item.get("health"), Some(&AttributeValue::S("healthy".into())));
        assert_eq!(record_from_item(&item).expect("reads back"), record());
        let older = RunRecord { health: None, outputs: None, ..record() };
        assert_eq!(record_from_item(&record_item(&older).expect("converts")).expect("reads back"), older);
    }

    #[test]
    fn sort_keys_order_by_instant_then_env_then_run() {
        let key = |started: &str| sort_key(&RunRecord { started_at: started.into(), ..record() }).expect("valid");
        assert_eq!(key("2025-01-02T03:04:05Z"), "2025-01-02T03:04:05.000000000Z#staging#2025-01-02T03:04:05Z#k3j2");
        // Different offsets and precisions still sort as instants.
        assert!(key("2025-01-02T04:04:05.5+01:00") > key("2025-01-02T03:04:05Z"));
        assert!(key("2025-01-02T03:04:05.123Z") < key("2025-01-02T03:04:05.2Z"));
        assert!(sort_key(&RunRecord { started_at: "now".into(), ..record() }).is_err());
    }

    #[test]
    fn unreadable_items_name_the_run() {
        let mut item = record_item(&record()).expect("converts");
        item.insert("status".into(), AttributeValue::S("exploded".into()));
        let error = record_from_item(&item).expect_err("unknown status");
        assert!(error.contains("2025-01-02T03:04:05Z#k3j2"), "{error}");
    }
}
