//! A module's inputs, read from its own `variables.tf`: name, type, default, description,
//! `sensitive`, and what its `validation` blocks say where they are simple enough to read
//! (`contains([...], var.x)`, `var.x >= N && var.x <= M`, `can(regex("...", var.x))`).
//! Anything else stays with the module ("validated by the module"), so the catalog never
//! claims a limit it did not read.

use std::fmt;

use hcl::expr::{BinaryOperator, Expression, Operation, TraversalOperator};
use serde::Serialize;
use serde_json::Number;

use crate::diagnostic::Diagnostic;

/// A Terraform type constraint, as written in a `type` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputType {
    Any,
    String,
    Number,
    Bool,
    List(Box<InputType>),
    Set(Box<InputType>),
    Map(Box<InputType>),
    Tuple(Vec<InputType>),
    Object(Vec<ObjectField>),
}

/// One attribute of an `object({...})` type; `optional(...)` ones may be left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectField {
    pub name: String,
    pub ty: InputType,
    pub optional: bool,
}

impl fmt::Display for InputType {
    /// Terraform's own syntax, so the catalog reads like the module.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::String => f.write_str("string"),
            Self::Number => f.write_str("number"),
            Self::Bool => f.write_str("bool"),
            Self::List(t) => write!(f, "list({t})"),
            Self::Set(t) => write!(f, "set({t})"),
            Self::Map(t) => write!(f, "map({t})"),
            Self::Tuple(items) => {
                f.write_str("tuple([")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Self::Object(fields) => {
                f.write_str("object({")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if field.optional {
                        write!(f, "{} = optional({})", field.name, field.ty)?;
                    } else {
                        write!(f, "{} = {}", field.name, field.ty)?;
                    }
                }
                f.write_str("})")
            }
        }
    }
}

impl Serialize for InputType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What the module's validations say about an input's values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.min.is_none() && self.max.is_none() && self.allowed.is_none() && self.pattern.is_none()
    }
}

/// One `variable` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: InputType,
    /// `None` when the variable has no default (the input is required); a default that
    /// is an expression rather than a literal is kept as its HCL text.
    pub default: Option<serde_json::Value>,
    pub required: bool,
    pub description: Option<String>,
    pub sensitive: bool,
    /// What the validations say, where they could be read.
    pub limits: Limits,
    /// The error messages of the validations (or parts) that could not be read: the module
    /// checks those itself when Terraform runs.
    pub validated_by_module: Vec<String>,
    /// Those validations themselves, evaluated for the customer's values before Terraform
    /// runs ([`crate::catalog::validation`]).
    #[serde(skip)]
    pub validations: Vec<Validation>,
}

/// One `validation` block whose condition is not all read into [`Limits`].
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub condition: Expression,
    pub error_message: String,
}

/// Reads the inputs from the text of a `variables.tf`; `file` names it in the error.
pub fn parse(file: &str, text: &str) -> Result<Vec<Input>, Diagnostic> {
    let body = hcl::parse(text).map_err(|e| parse_error(file, &e))?;
    let mut inputs = Vec::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let [label] = block.labels() else {
            return Err(at_start(file, "a `variable` block must have exactly one name".into()));
        };
        inputs.push(read_variable(file, text, label.as_str(), block.body())?);
    }
    Ok(inputs)
}

fn parse_error(file: &str, error: &hcl::Error) -> Diagnostic {
    let hint = Some("run `terraform fmt` and `terraform validate` on the module".to_owned());
    match error {
        hcl::Error::Parse(e) => Diagnostic {
            file: file.to_owned(),
            line: e.location().line() as u64,
            column: e.location().column() as u64,
            message: format!("the module's variables do not parse as HCL: {}", e.message()),
            hint,
        },
        other => Diagnostic { hint, ..at_start(file, format!("the module's variables do not parse as HCL: {other}")) },
    }
}

fn at_start(file: &str, message: String) -> Diagnostic {
    Diagnostic { file: file.to_owned(), line: 1, column: 1, message, hint: None }
}

/// Where `variable "<name>"` starts in `text` (the parsed tree keeps no positions), or 1:1.
fn block_start(file: &str, text: &str, name: &str, message: String) -> Diagnostic {
    let needle = format!("variable \"{name}\"");
    let Some(offset) = text.find(&needle) else { return at_start(file, message) };
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    Diagnostic { file: file.to_owned(), line, column, message, hint: None }
}

fn read_variable(file: &str, text: &str, name: &str, body: &hcl::Body) -> Result<Input, Diagnostic> {
    let attr = |key: &str| body.attributes().find(|a| a.key() == key).map(hcl::Attribute::expr);
    let ty = match attr("type") {
        Some(expr) => type_of(expr).ok_or_else(|| {
            let message = format!("variable `{name}` has a `type` this build cannot read: `{}`", hcl_text(expr));
            Diagnostic {
                hint: Some("write a Terraform type: string, number, bool, list(...), map(...), object({...})".into()),
                ..block_start(file, text, name, message)
            }
        })?,
        None => InputType::Any,
    };
    let default = attr("default").map(literal);
    let description = match attr("description") {
        Some(Expression::String(s)) => Some(s.clone()),
        _ => None,
    };
    let sensitive = matches!(attr("sensitive"), Some(Expression::Bool(true)));
    let mut limits = Limits::default();
    let mut validated_by_module = Vec::new();
    let mut validations = Vec::new();
    for validation in body.blocks().filter(|b| b.identifier() == "validation") {
        let condition = validation.body().attributes().find(|a| a.key() == "condition").map(hcl::Attribute::expr);
        let message =
            match validation.body().attributes().find(|a| a.key() == "error_message").map(hcl::Attribute::expr) {
                Some(Expression::String(s)) => s.clone(),
                Some(other) => hcl_text(other),
                None => String::new(),
            };
        let mut unread = false;
        for term in condition.map(conjuncts).unwrap_or_default() {
            unread |= !read_rule(term, name, &mut limits);
        }
        if unread || condition.is_none() {
            if let Some(condition) = condition {
                validations.push(Validation { condition: condition.clone(), error_message: message.clone() });
            }
            validated_by_module.push(message);
        }
    }
    Ok(Input {
        name: name.to_owned(),
        ty,
        required: default.is_none(),
        default,
        description,
        sensitive,
        limits,
        validated_by_module,
        validations,
    })
}

/// `a && b && c` as `[a, b, c]`; parentheses around the whole are looked through.
fn conjuncts(expr: &Expression) -> Vec<&Expression> {
    match expr {
        Expression::Parenthesis(inner) => conjuncts(inner),
        Expression::Operation(op) => match op.as_ref() {
            Operation::Binary(b) if b.operator == BinaryOperator::And => {
                let mut out = conjuncts(&b.lhs_expr);
                out.extend(conjuncts(&b.rhs_expr));
                out
            }
            _ => vec![expr],
        },
        _ => vec![expr],
    }
}

/// Reads one term of a condition into `limits`; false when it is not a shape we read.
fn read_rule(term: &Expression, var: &str, limits: &mut Limits) -> bool {
    match term {
        Expression::Parenthesis(inner) => read_rule(inner, var, limits),
        Expression::FuncCall(call) if call.name.namespace.is_empty() => match (call.name.name.as_str(), &call.args[..])
        {
            ("contains", [Expression::Array(items), subject]) if is_var(subject, var) => {
                let values: Option<Vec<_>> = items.iter().map(scalar).collect();
                values.map(|v| limits.allowed = Some(v)).is_some()
            }
            ("can", [Expression::FuncCall(inner)]) if inner.name.namespace.is_empty() => {
                match (inner.name.name.as_str(), &inner.args[..]) {
                    ("regex", [Expression::String(pattern), subject]) if is_var(subject, var) => {
                        limits.pattern = Some(pattern.clone());
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        },
        Expression::Operation(op) => match op.as_ref() {
            Operation::Binary(b) => {
                // `var.x >= N` and its mirror `N <= var.x` say the same.
                let (op, number) = if is_var(&b.lhs_expr, var) {
                    (b.operator, &b.rhs_expr)
                } else if is_var(&b.rhs_expr, var) {
                    (mirror(b.operator), &b.lhs_expr)
                } else {
                    return false;
                };
                let Some(n) = number_of(number) else { return false };
                match op {
                    BinaryOperator::GreaterEq => limits.min = Some(n),
                    BinaryOperator::LessEq => limits.max = Some(n),
                    _ => return false,
                }
                true
            }
            Operation::Unary(_) => false,
        },
        _ => false,
    }
}

fn mirror(op: BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::LessEq => BinaryOperator::GreaterEq,
        BinaryOperator::GreaterEq => BinaryOperator::LessEq,
        BinaryOperator::Less => BinaryOperator::Greater,
        BinaryOperator::Greater => BinaryOperator::Less,
        other => other,
    }
}

/// Whether `expr` is exactly `var.<name>`.
fn is_var(expr: &Expression, name: &str) -> bool {
    let Expression::Traversal(t) = expr else { return false };
    matches!(&t.expr, Expression::Variable(v) if v.as_str() == "var")
        && matches!(&t.operators[..], [TraversalOperator::GetAttr(attr)] if attr.as_str() == name)
}

fn number_of(expr: &Expression) -> Option<Number> {
    match expr {
        Expression::Number(n) => json_number(n),
        Expression::Operation(op) => match op.as_ref() {
            Operation::Unary(u) if u.operator == hcl::expr::UnaryOperator::Neg => {
                number_of(&u.expr).and_then(|n| json_number(&-hcl::Number::from_f64(n.as_f64()?)?))
            }
            _ => None,
        },
        _ => None,
    }
}

fn json_number(n: &hcl::Number) -> Option<Number> {
    if let Some(i) = n.as_i64() { Some(Number::from(i)) } else { Number::from_f64(n.as_f64()?) }
}

fn scalar(expr: &Expression) -> Option<serde_json::Value> {
    match expr {
        Expression::String(s) => Some(serde_json::Value::String(s.clone())),
        Expression::Bool(b) => Some(serde_json::Value::Bool(*b)),
        Expression::Number(n) => json_number(n).map(serde_json::Value::Number),
        _ => None,
    }
}

/// A default as JSON: literals as they are; any other expression as its HCL text.
fn literal(expr: &Expression) -> serde_json::Value {
    use serde_json::Value;
    let parts = match expr {
        Expression::Null => return Value::Null,
        Expression::Array(items) => {
            items.iter().map(|e| Some(literal(e))).collect::<Option<Vec<_>>>().map(Value::Array)
        }
        Expression::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let key = match k {
                    hcl::ObjectKey::Identifier(id) => id.as_str().to_owned(),
                    hcl::ObjectKey::Expression(Expression::String(s)) => s.clone(),
                    _ => return None,
                };
                Some((key, literal(v)))
            })
            .collect::<Option<serde_json::Map<_, _>>>()
            .map(Value::Object),
        other => scalar(other).or_else(|| number_of(other).map(Value::Number)),
    };
    parts.unwrap_or_else(|| Value::String(hcl_text(expr)))
}

fn hcl_text(expr: &Expression) -> String {
    hcl::format::to_string(expr).unwrap_or_else(|_| "<expression>".to_owned())
}

/// A `type` argument: `string`, `list(string)`, `object({a = string, b = optional(number)})`, ...
fn type_of(expr: &Expression) -> Option<InputType> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "any" => Some(InputType::Any),
            "string" => Some(InputType::String),
            "number" => Some(InputType::Number),
            "bool" => Some(InputType::Bool),
            _ => None,
        },
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            match (call.name.name.as_str(), &call.args[..]) {
                ("list", [t]) => Some(InputType::List(Box::new(type_of(t)?))),
                ("set", [t]) => Some(InputType::Set(Box::new(type_of(t)?))),
                ("map", [t]) => Some(InputType::Map(Box::new(type_of(t)?))),
                ("tuple", [Expression::Array(items)]) => {
                    items.iter().map(type_of).collect::<Option<Vec<_>>>().map(InputType::Tuple)
                }
                ("object", [Expression::Object(fields)]) => fields
                    .iter()
                    .map(|(key, value)| {
                        let name = match key {
                            hcl::ObjectKey::Identifier(id) => id.as_str().to_owned(),
                            hcl::ObjectKey::Expression(Expression::String(s)) => s.clone(),
                            _ => return None,
                        };
                        let (ty, optional) = match value {
                            Expression::FuncCall(c) if c.name.name.as_str() == "optional" && !c.args.is_empty() => {
                                (type_of(&c.args[0])?, true)
                            }
                            other => (type_of(other)?, false),
                        };
                        Some(ObjectField { name, ty, optional })
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(InputType::Object),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Input {
        let mut inputs = parse("variables.tf", text).expect("parses");
        assert_eq!(inputs.len(), 1, "{inputs:?}");
        inputs.remove(0)
    }

    #[test]
    fn types_are_read_into_their_typed_form() {
        let text = r#"
variable "a" { type = string }
variable "b" { type = number }
variable "c" { type = bool }
variable "d" { type = list(string) }
variable "e" { type = map(number) }
variable "f" {
  type = object({
    name = string
    size = optional(number, 10)
    tags = map(string)
  })
}
variable "g" {}
variable "h" { type = set(tuple([string, number])) }
"#;
        let inputs = parse("variables.tf", text).expect("parses");
        let types: Vec<String> = inputs.iter().map(|i| format!("{} {}", i.name, i.ty)).collect();
        assert_eq!(
            types,
            [
                "a string",
                "b number",
                "c bool",
                "d list(string)",
                "e map(number)",
                "f object({name = string, size = optional(number), tags = map(string)})",
                "g any",
                "h set(tuple([string, number]))",
            ]
        );
        assert_eq!(inputs[1].ty, InputType::Number);
        assert_eq!(inputs[3].ty, InputType::List(Box::new(InputType::String)));
        let InputType::Object(fields) = &inputs[5].ty else { panic!("object expected") };
        assert_eq!(fields[1], ObjectField { name: "size".into(), ty: InputType::Number, optional: true });
    }

    #[test]
    fn defaults_descriptions_and_sensitivity_are_kept() {
        let input = one(r#"
variable "tags" {
  description = "Extra tags."
  type        = map(string)
  default     = { team = "web", "cost-center" = "42" }
  sensitive   = true
}
"#);
        assert_eq!(input.description.as_deref(), Some("Extra tags."));
        assert_eq!(input.default, Some(serde_json::json!({"team": "web", "cost-center": "42"})));
        assert!(!input.required);
        assert!(input.sensitive);

        let required = one("variable \"name\" {\n  type = string\n}\n");
        assert_eq!(required.default, None);
        assert!(required.required);
        assert!(!required.sensitive);

        let computed = one("variable \"n\" {\n  default = 2 * 3\n}\n");
        assert_eq!(computed.default, Some(serde_json::json!("2 * 3")));
        let list = one("variable \"l\" {\n  default = [-1, true, null]\n}\n");
        assert_eq!(list.default, Some(serde_json::json!([-1, true, null])));
    }

    #[test]
    fn contains_gives_the_allowed_values() {
        let input = one(r#"
variable "engine" {
  type    = string
  default = "postgres"
  validation {
    condition     = contains(["postgres", "mysql"], var.engine)
    error_message = "The engine must be postgres or mysql."
  }
}
"#);
        assert_eq!(input.limits.allowed, Some(vec![serde_json::json!("postgres"), serde_json::json!("mysql")]));
        assert!(input.validated_by_module.is_empty());
    }

    #[test]
    fn comparisons_give_min_and_max_either_way_round() {
        let input = one(r#"
variable "size" {
  type = number
  validation {
    condition     = var.size >= 1 && 100 >= var.size
    error_message = "1 to 100."
  }
}
"#);
        assert_eq!(input.limits.min, Some(Number::from(1)));
        assert_eq!(input.limits.max, Some(Number::from(100)));
        assert!(input.validated_by_module.is_empty());

        let negative = one(
            "variable \"t\" {\n  validation {\n    condition     = (var.t >= -5)\n    error_message = \"x\"\n  }\n}\n",
        );
        assert_eq!(negative.limits.min, Some(Number::from(-5)));
    }

    #[test]
    fn can_regex_gives_the_pattern() {
        let input = one(r#"
variable "name" {
  type = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.name))
    error_message = "Lowercase."
  }
}
"#);
        assert_eq!(input.limits.pattern.as_deref(), Some("^[a-z][a-z0-9-]*$"));
    }

    #[test]
    fn what_cannot_be_read_stays_with_the_module_and_the_rest_is_still_read() {
        let input = one(r#"
variable "name" {
  type = string
  validation {
    condition     = length(var.name) <= 63 && can(regex("^[a-z]+$", var.name))
    error_message = "At most 63 lowercase letters."
  }
  validation {
    condition     = var.name != "admin"
    error_message = "Not admin."
  }
}
"#);
        assert_eq!(input.limits.pattern.as_deref(), Some("^[a-z]+$"));
        assert_eq!(input.limits.max, None, "length() is not the value");
        assert_eq!(input.validated_by_module, ["At most 63 lowercase letters.", "Not admin."]);
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_the_place() {
        let err = parse("modules/bucket/variables.tf", "variable \"a\" {\n  type = \n}\n").expect_err("invalid");
        assert_eq!(err.file, "modules/bucket/variables.tf");
        assert_eq!((err.line, err.column), (2, 10), "{err}");
        assert!(err.message.contains("do not parse as HCL"), "{err}");

        let err =
            parse("v.tf", "variable \"ok\" {}\n\n  variable \"a\" {\n  type = strin\n}\n").expect_err("unknown type");
        assert!(
            err.to_string().starts_with("v.tf:3:3: variable `a` has a `type` this build cannot read: `strin`"),
            "{err}"
        );
    }
}
