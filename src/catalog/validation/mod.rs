//! A module's `validation` conditions evaluated for the customer's values before Terraform
//! runs, so a value the module refuses is refused at its line in the customer's file, with the
//! module's own message. hcl-rs evaluates the expression; [`functions`] gives it the Terraform
//! functions the catalog's modules use.
//!
//! A condition this build cannot evaluate exactly as Terraform would (a function or a
//! reference it does not know, a case a function leaves to Terraform, an error Terraform
//! would raise rather than refuse) is [`Verdict::Unchecked`]: never a refusal, and Terraform
//! still checks it at plan time.

pub mod functions;

use std::collections::BTreeSet;

use hcl::Value;
use hcl::eval::{Context, ErrorKind, Evaluate};
use hcl::expr::{Expression, Operation, TraversalOperator};

/// What a condition says about the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// Not evaluated here (why, for the log); Terraform checks it.
    Unchecked(String),
}

/// Evaluates `condition` with `var` bound to `vars` (every input the module gets, by name).
pub fn check(condition: &Expression, vars: &serde_json::Map<String, serde_json::Value>) -> Verdict {
    if let Some(missing) = references(condition).into_iter().find(|name| !vars.contains_key(name)) {
        return Verdict::Unchecked(format!("`var.{missing}` is not known before Terraform runs"));
    }
    let Ok(var) = hcl::to_value(vars) else { return Verdict::Unchecked("the values do not convert".into()) };
    let mut ctx = Context::new();
    ctx.declare_var("var", var);
    functions::declare(&mut ctx);
    let mut expr = condition.clone();
    if let Err(why) = lazy(&mut expr, &ctx) {
        return Verdict::Unchecked(why);
    }
    match attempt(&expr, &ctx) {
        Ok(Value::Bool(true)) => Verdict::Holds,
        Ok(Value::Bool(false)) => Verdict::Fails,
        Ok(other) => Verdict::Unchecked(format!("the condition is not a boolean: {other:?}")),
        Err(Attempt::Unsupported(why)) => Verdict::Unchecked(why),
        // Terraform reports an error in the condition itself, not the module's message.
        Err(Attempt::Error(why)) => Verdict::Unchecked(format!("the condition does not evaluate: {why}")),
    }
}

/// The inputs `condition` names as `var.<name>`.
pub fn references(condition: &Expression) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(condition, &mut |e| {
        if let Expression::Traversal(t) = e
            && matches!(&t.expr, Expression::Variable(v) if v.as_str() == "var")
            && let Some(TraversalOperator::GetAttr(name)) = t.operators.first()
        {
            out.insert(name.as_str().to_owned());
        }
    });
    out
}

enum Attempt {
    /// Something this build does not evaluate as Terraform does.
    Unsupported(String),
    /// An error Terraform would raise too.
    Error(String),
}

fn attempt(expr: &Expression, ctx: &Context<'_>) -> Result<Value, Attempt> {
    let (out, unsupported) = functions::watching(|| expr.evaluate(ctx));
    out.map_err(|e| match e.kind() {
        ErrorKind::UndefinedFunc(_) | ErrorKind::UndefinedVar(_) => Attempt::Unsupported(e.to_string()),
        _ if unsupported => Attempt::Unsupported(e.to_string()),
        _ => Attempt::Error(e.to_string()),
    })
}

/// Replaces each `can(x)` with whether `x` evaluates, and each `try(a, b, ...)` with the first
/// argument that does, innermost first: hcl-rs evaluates a function's arguments before calling
/// it, and these two must see their argument's error instead.
fn lazy(expr: &mut Expression, ctx: &Context<'_>) -> Result<(), String> {
    match expr {
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            for arg in &mut call.args {
                lazy(arg, ctx)?;
            }
            match (call.name.name.as_str(), &call.args[..]) {
                ("can", [arg]) => {
                    let evaluates = match attempt(arg, ctx) {
                        Ok(_) => true,
                        Err(Attempt::Error(_)) => false,
                        Err(Attempt::Unsupported(why)) => return Err(why),
                    };
                    *expr = Expression::Bool(evaluates);
                }
                ("try", args) if !args.is_empty() => {
                    let mut first = None;
                    for arg in args {
                        match attempt(arg, ctx) {
                            Ok(value) => {
                                first = Some(value);
                                break;
                            }
                            Err(Attempt::Error(_)) => {}
                            Err(Attempt::Unsupported(why)) => return Err(why),
                        }
                    }
                    let value = first.ok_or("no argument of `try` evaluates (an error in Terraform too)")?;
                    *expr = Expression::from(value);
                }
                ("can" | "try", _) => return Err(format!("`{}` with unexpected arguments", call.name.name)),
                _ => {}
            }
            Ok(())
        }
        Expression::FuncCall(call) => call.args.iter_mut().try_for_each(|a| lazy(a, ctx)),
        Expression::Array(items) => items.iter_mut().try_for_each(|a| lazy(a, ctx)),
        Expression::Object(map) => map.values_mut().try_for_each(|a| lazy(a, ctx)),
        Expression::Parenthesis(inner) => lazy(inner, ctx),
        Expression::Conditional(c) => {
            lazy(&mut c.cond_expr, ctx)?;
            lazy(&mut c.true_expr, ctx)?;
            lazy(&mut c.false_expr, ctx)
        }
        Expression::Operation(op) => match op.as_mut() {
            Operation::Unary(u) => lazy(&mut u.expr, ctx),
            Operation::Binary(b) => {
                lazy(&mut b.lhs_expr, ctx)?;
                lazy(&mut b.rhs_expr, ctx)
            }
        },
        Expression::Traversal(t) => {
            lazy(&mut t.expr, ctx)?;
            t.operators.iter_mut().try_for_each(|op| match op {
                TraversalOperator::Index(i) => lazy(i, ctx),
                _ => Ok(()),
            })
        }
        // Templates and `for` expressions are evaluated as they are: a `can` or `try` inside
        // one is an unknown function to hcl-rs, so the condition stays unchecked.
        _ => Ok(()),
    }
}

/// Calls `f` on `expr` and every expression inside it.
fn walk(expr: &Expression, f: &mut impl FnMut(&Expression)) {
    f(expr);
    match expr {
        Expression::FuncCall(call) => call.args.iter().for_each(|a| walk(a, f)),
        Expression::Array(items) => items.iter().for_each(|a| walk(a, f)),
        Expression::Object(map) => map.values().for_each(|a| walk(a, f)),
        Expression::Parenthesis(inner) => walk(inner, f),
        Expression::Conditional(c) => {
            walk(&c.cond_expr, f);
            walk(&c.true_expr, f);
            walk(&c.false_expr, f);
        }
        Expression::Operation(op) => match op.as_ref() {
            Operation::Unary(u) => walk(&u.expr, f),
            Operation::Binary(b) => {
                walk(&b.lhs_expr, f);
                walk(&b.rhs_expr, f);
            }
        },
        Expression::Traversal(t) => {
            walk(&t.expr, f);
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op {
                    walk(i, f);
                }
            }
        }
        Expression::TemplateExpr(_) | Expression::ForExpr(_) => {}
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn verdict(condition: &str, vars: serde_json::Value) -> Verdict {
        let expr: Expression = condition.parse().expect("an expression");
        let serde_json::Value::Object(vars) = vars else { panic!("an object") };
        check(&expr, &vars)
    }

    #[test]
    fn the_catalogs_conditions_hold_or_fail_as_in_terraform() {
        let cidr = r#"can(cidrnetmask(var.vpc_cidr)) && can(regex("/(1[6-9]|2[0-8])$", var.vpc_cidr))"#;
        let host_bits = r#"try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)"#;
        let whole = "var.n >= 0 && floor(var.n) == var.n";
        let cases = [
            (cidr, json!({"vpc_cidr": "10.0.0.0/16"}), Verdict::Holds),
            (cidr, json!({"vpc_cidr": "999.0.0.0/16"}), Verdict::Fails),
            (cidr, json!({"vpc_cidr": "10.0.0.0/8"}), Verdict::Fails),
            (host_bits, json!({"vpc_cidr": "10.0.0.0/16"}), Verdict::Holds),
            (host_bits, json!({"vpc_cidr": "10.0.0.1/16"}), Verdict::Fails),
            (host_bits, json!({"vpc_cidr": "nonsense"}), Verdict::Fails),
            (whole, json!({"n": 2}), Verdict::Holds),
            (whole, json!({"n": 1.5}), Verdict::Fails),
            ("var.max >= var.min", json!({"min": 3, "max": 2}), Verdict::Fails),
            ("var.max >= var.min", json!({"min": 2, "max": 2}), Verdict::Holds),
            (r#"length(var.s) <= 3 && can(regex("^[a-z]+$", var.s))"#, json!({"s": "abcd"}), Verdict::Fails),
            (r#"contains(["a"], var.s)"#, json!({"s": "a"}), Verdict::Holds),
            ("can(var.o.missing)", json!({"o": {}}), Verdict::Fails),
        ];
        for (condition, vars, expected) in cases {
            assert_eq!(verdict(condition, vars.clone()), expected, "{condition} with {vars}");
        }
    }

    #[test]
    fn what_cannot_be_evaluated_as_terraform_would_is_unchecked_never_a_refusal() {
        let unchecked = [
            ("can(cidrsubnet(var.c, 8, 0))", json!({"c": "10.0.0.0/16"})),
            ("var.other == 1", json!({"c": 1})),
            ("can(cidrnetmask(var.c))", json!({"c": "fd00::/16"})),
            (r#"can(regex("(?<!a)b", var.c))"#, json!({"c": "b"})),
            ("floor(var.c) == 1", json!({"c": "one"})),
            ("try(floor(var.c))", json!({"c": "one"})),
            (r#"alltrue([for x in var.c : x > 0])"#, json!({"c": [1]})),
            ("var.c", json!({"c": "text"})),
        ];
        for (condition, vars) in unchecked {
            assert!(
                matches!(verdict(condition, vars.clone()), Verdict::Unchecked(_)),
                "{condition} with {vars}: {:?}",
                verdict(condition, vars.clone())
            );
        }
    }

    #[test]
    fn references_are_the_var_names() {
        let expr: Expression = "var.a >= var.b && can(regex(\"x\", var.c[0]))".parse().expect("expr");
        assert_eq!(references(&expr).into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
