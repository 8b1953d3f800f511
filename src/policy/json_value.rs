//! JSON text straight into regorus's values, for a large document (a 5,000-resource plan's
//! `show -json` is megabytes, and building it is mostly allocating). A plan repeats itself:
//! the same dozen keys in every change, and under a key often the value the previous change
//! had there (`"mode": "managed"`, `"actions": ["create"]`, `"after_sensitive": {"input":
//! {}}`). Each key is made once and shared (regorus's values are reference-counted), found
//! by the text itself; a value equal to the last one read under the same key is shared too,
//! found by one comparison (no table a crafted document could fill with collisions).
//! `regorus::Value::from_json_str` allocates each key before it looks it up and shares
//! nothing else; going through `serde_json::Value` builds the document twice.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use regorus::Value;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Most distinct keys kept for sharing; past it, new keys are only made (a document of
/// made-up keys keeps the table bounded).
const SHARED_KEYS: usize = 4096;

/// `text` as one regorus value; serde_json's nesting limit applies.
pub fn read(text: &str) -> Result<Value, serde_json::Error> {
    let shared = Shared::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = AnyValue { shared: &shared, under: None }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The keys made so far (by their text: their value and their slot), and the last value
/// read under each.
#[derive(Default)]
struct Shared<'de> {
    keys: RefCell<HashMap<&'de str, (Value, usize)>>,
    last: RefCell<Vec<Value>>,
}

impl<'de> Shared<'de> {
    /// The key `text`, and its slot when it has one.
    fn key(&self, text: &'de str) -> (Value, Option<usize>) {
        let mut keys = self.keys.borrow_mut();
        if let Some((value, slot)) = keys.get(text) {
            return (value.clone(), Some(*slot));
        }
        let value = Value::from(text);
        if keys.len() >= SHARED_KEYS {
            return (value, None);
        }
        let mut last = self.last.borrow_mut();
        keys.insert(text, (value.clone(), last.len()));
        last.push(Value::Undefined);
        (value, Some(last.len() - 1))
    }

    /// The last value read under `slot`, when `same` says it equals the one being read.
    fn again(&self, slot: Option<usize>, same: impl FnOnce(&Value) -> bool) -> Option<Value> {
        let last = self.last.borrow();
        let value = last.get(slot?)?;
        same(value).then(|| value.clone())
    }

    /// `value` becomes the last one read under `slot`.
    fn keep(&self, slot: Option<usize>, value: &Value) {
        if let Some(slot) = slot
            && let Some(kept) = self.last.borrow_mut().get_mut(slot)
        {
            *kept = value.clone();
        }
    }
}

/// A value, read under the key slot `under` (`None`: not an object's member).
#[derive(Clone, Copy)]
struct AnyValue<'s, 'de> {
    shared: &'s Shared<'de>,
    under: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for AnyValue<'_, 'de> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl AnyValue<'_, '_> {
    /// The last value read under the same key when `same` says it equals what was read,
    /// else the value `make` makes of it, which becomes the last.
    fn again_or<T>(self, read: T, same: impl FnOnce(&Value, &T) -> bool, make: impl FnOnce(T) -> Value) -> Value {
        if let Some(last) = self.shared.again(self.under, |last| same(last, &read)) {
            return last;
        }
        let value = make(read);
        self.shared.keep(self.under, &value);
        value
    }
}

impl<'de> Visitor<'de> for AnyValue<'_, 'de> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no non-finite number: serde_json refuses one before it gets here.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(self.again_or(v, |last, v| matches!(last, Value::String(s) if s.as_ref() == *v), Value::from))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let item = AnyValue { under: None, ..self };
        while let Some(value) = seq.next_element_seed(item)? {
            items.push(value);
        }
        let same = |last: &Value, items: &Vec<Value>| matches!(last, Value::Array(a) if a.iter().eq(items.iter()));
        Ok(self.again_or(items, same, Value::from))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = BTreeMap::new();
        while let Some((key, slot)) = map.next_key_seed(Key(self.shared))? {
            // A key given twice keeps its last value, as serde_json's own maps do.
            members.insert(key, map.next_value_seed(AnyValue { under: slot, ..self })?);
        }
        let same = |last: &Value, members: &BTreeMap<Value, Value>| matches!(last, Value::Object(o) if o.iter_sorted().eq(members.iter()));
        Ok(self.again_or(members, same, Value::from))
    }
}

/// An object key: shared when the text holds it as is, made afresh when it had escapes.
struct Key<'s, 'de>(&'s Shared<'de>);

impl<'de> DeserializeSeed<'de> for Key<'_, 'de> {
    type Value = (Value, Option<usize>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, 'de> {
    type Value = (Value, Option<usize>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.0.key(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((Value::from(v), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_as_regorus_reads_json() {
        for text in [
            r#"{"a": [1, -2, 3.5, 1e300, 18446744073709551615, true, null, "s\"q"], "b": {"a": {}}, "\u00e9": [], "k": 1, "k": 2}"#,
            r#"[{"x": ["create"], "y": {}}, {"x": ["create"], "y": {}}, {"x": ["delete", "create"], "y": {"z": []}}]"#,
            "[]",
            "\"x\"",
            "-0",
        ] {
            assert_eq!(read(text).expect(text), Value::from_json_str(text).expect(text), "{text}");
        }
        for bad in ["{", "[1,]", "1 2", "nan", "1e999"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(read(&deep).is_err(), "serde_json's nesting limit holds");
    }

    /// A value equal to the last one under the same key is the same value, and still one of
    /// its own: changed in place (as masking does; regorus copies on write), the other
    /// stays as it was.
    #[test]
    fn a_repeated_value_is_shared_and_changing_one_leaves_the_other() {
        let mut doc =
            read(r#"[{"x": {"a": "s", "b": ["create"]}}, {"x": {"a": "s", "b": ["create"]}}]"#).expect("valid");
        let x = Value::from("x");
        let list = doc.as_array().expect("array");
        let member = |i: usize| list[i].as_object().ok().and_then(|o| o.get(&x)).cloned();
        match (member(0), member(1)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => assert!(regorus::Rc::ptr_eq(&a, &b), "shared"),
            other => panic!("{other:?}"),
        }
        let first = doc.as_array_mut().expect("array").get_mut(0).expect("first");
        let x = first.as_object_mut().expect("object").get_mut(&x).expect("x");
        *x.as_object_mut().expect("object").get_mut(&Value::from("a")).expect("a") = Value::from("changed");
        let json = serde_json::to_value(&doc).expect("json");
        assert_eq!(
            json,
            serde_json::json!([{"x": {"a": "changed", "b": ["create"]}}, {"x": {"a": "s", "b": ["create"]}}])
        );
    }
}
