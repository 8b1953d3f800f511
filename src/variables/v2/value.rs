//! One input value checked against its catalog type ([`InputType`]) and its limits (the
//! module's, narrowed by the tier's), and turned into the JSON Terraform will get.

use serde_json::{Number, Value as Json};

use crate::catalog::{InputType, Limits};
use crate::diagnostic::shown;
use crate::yaml::{Checker, Node, Value};

/// The value of `node` as `ty`, or `None` after recording why it is not one.
pub(super) fn typed(c: &mut Checker, path: &str, node: &Node, ty: &InputType) -> Option<Json> {
    let wrong = |c: &mut Checker| {
        let written = node.source.as_deref().map(|s| format!(" `{}`", shown(s))).unwrap_or_default();
        let quote = matches!(ty, InputType::String) && node.source.is_some();
        let hint = if quote {
            format!("YAML reads{written} as {}; put it in quotes to keep the text", node.value.type_name())
        } else {
            format!("the module declares this input as `{ty}`")
        };
        c.error(node.pos, format!("`{path}` must be `{ty}`, found {}{written}", node.value.type_name()), Some(hint));
        None
    };
    match (ty, &node.value) {
        (InputType::Any, v) => Some(plain(v)),
        (InputType::String, Value::Str(s)) => Some(Json::String(s.clone())),
        (InputType::Number, Value::Int(i)) => Some(Json::Number((*i).into())),
        (InputType::Number, Value::Float(f)) => Number::from_f64(*f).map(Json::Number).or_else(|| wrong(c)),
        (InputType::Bool, Value::Bool(_)) => c.bool(path, node).map(Json::Bool),
        (InputType::List(item) | InputType::Set(item), Value::Seq(items)) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (i, n) in items.iter().enumerate() {
                match typed(c, &format!("{path}[{i}]"), n, item) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then_some(Json::Array(out))
        }
        (InputType::Tuple(types), Value::Seq(items)) => {
            if types.len() != items.len() {
                c.error(
                    node.pos,
                    format!("`{path}` must have {} items, found {}", types.len(), items.len()),
                    Some(format!("the module declares this input as `{ty}`")),
                );
                return None;
            }
            let mut out = Vec::new();
            let mut ok = true;
            for (i, (n, t)) in items.iter().zip(types).enumerate() {
                match typed(c, &format!("{path}[{i}]"), n, t) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then_some(Json::Array(out))
        }
        (InputType::Map(item), Value::Map(entries)) => {
            let mut out = serde_json::Map::new();
            let mut ok = true;
            for (k, n) in entries {
                match typed(c, &format!("{path}.{}", shown(&k.name)), n, item) {
                    Some(v) => {
                        out.insert(k.name.clone(), v);
                    }
                    None => ok = false,
                }
            }
            ok.then_some(Json::Object(out))
        }
        (InputType::Object(fields), Value::Map(entries)) => {
            let mut out = serde_json::Map::new();
            let mut ok = true;
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            c.unknown_keys(path, entries, &known);
            ok &= entries.iter().all(|(k, _)| known.contains(&k.name.as_str()));
            for field in fields {
                match entries.iter().find(|(k, _)| k.name == field.name) {
                    Some((k, n)) => match typed(c, &format!("{path}.{}", k.name), n, &field.ty) {
                        Some(v) => {
                            out.insert(k.name.clone(), v);
                        }
                        None => ok = false,
                    },
                    None if !field.optional => {
                        c.error(
                            node.pos,
                            format!("missing required key `{path}.{}`", field.name),
                            Some(format!("the module declares this input as `{ty}`")),
                        );
                        ok = false;
                    }
                    None => {}
                }
            }
            ok.then_some(Json::Object(out))
        }
        _ => wrong(c),
    }
}

/// A YAML value as JSON, for `any`.
fn plain(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(|n| plain(&n.value)).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, n)| (k.name.clone(), plain(&n.value))).collect()),
    }
}

/// Where a limit comes from, for the message: the tier's own when it narrowed the module's.
pub(super) struct Bounds<'a> {
    pub limits: Limits,
    pub module: &'a Limits,
    pub tier: Option<&'a str>,
}

impl Bounds<'_> {
    fn whose(&self, narrowed: bool) -> String {
        match self.tier {
            Some(tier) if narrowed => format!("tier `{tier}`"),
            _ => "the module".to_owned(),
        }
    }

    /// Records every limit `value` breaks; `true` when it fits.
    pub(super) fn check(&self, c: &mut Checker, path: &str, node: &Node, value: &Json) -> bool {
        let mut ok = true;
        let f = |n: &Option<Number>| n.as_ref().and_then(Number::as_f64);
        if let Some(n) = value.as_f64() {
            if let Some(min) = f(&self.limits.min)
                && n < min
            {
                let who = self.whose(self.limits.min != self.module.min);
                c.error(
                    node.pos,
                    format!("`{path}` is {value}, below the minimum {min}"),
                    Some(format!("{who} allows {}", range(f(&self.limits.min), f(&self.limits.max)))),
                );
                ok = false;
            }
            if let Some(max) = f(&self.limits.max)
                && n > max
            {
                let who = self.whose(self.limits.max != self.module.max);
                c.error(
                    node.pos,
                    format!("`{path}` is {value}, above the maximum {max}"),
                    Some(format!("{who} allows {}", range(f(&self.limits.min), f(&self.limits.max)))),
                );
                ok = false;
            }
        }
        if let Some(allowed) = &self.limits.allowed
            && !allowed.iter().any(|a| a == value || (a.as_f64().is_some() && a.as_f64() == value.as_f64()))
        {
            let who = self.whose(self.limits.allowed != self.module.allowed);
            let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            let suggestion = value
                .as_str()
                .and_then(|s| crate::suggest::did_you_mean(s, allowed.iter().filter_map(Json::as_str)))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            c.error(
                node.pos,
                format!("`{path}` is {}, not an allowed value", shown(&value.to_string())),
                Some(format!("{suggestion}{who} allows: {}", names.join(", "))),
            );
            ok = false;
        }
        if let (Some(pattern), Some(s)) = (&self.limits.pattern, value.as_str())
            && let Some(false) = matches(pattern, s)
        {
            c.error(
                node.pos,
                format!("`{path}` is {}, which does not match the module's pattern", shown(&value.to_string())),
                Some(format!("the module's validation requires a match of `{}`", shown(pattern))),
            );
            ok = false;
        }
        ok
    }
}

/// Whether `text` matches `pattern` as Terraform's `regex` finds it (anywhere, unless the
/// pattern anchors it); `None` when this build can't compile the pattern (the module's own
/// validation still runs in Terraform).
fn matches(pattern: &str, text: &str) -> Option<bool> {
    let re = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().ok()?;
    Some(re.is_match(text))
}

fn range(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any number".to_owned(),
    }
}
