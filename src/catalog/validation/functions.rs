//! The Terraform functions the catalog modules' `validation` blocks call, as Terraform computes
//! them, for [`super::check`]. Only the functions the shipped modules use are here (`can` and
//! `try` are not functions of the evaluator: [`super`] rewrites them before evaluating).
//!
//! Where this build would not compute exactly what Terraform does (an IPv6 prefix, a pattern
//! the `regex` crate reads differently from RE2, a string whose length Terraform counts in
//! grapheme clusters, an argument Terraform would convert), the function marks the evaluation
//! *unsupported*: the validation is then not checked here and Terraform checks it. An error
//! that Terraform also raises (a malformed CIDR, a pattern that does not match) stays an error,
//! which `can(...)` turns into `false`.

use std::cell::Cell;
use std::net::Ipv4Addr;

use hcl::Value;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};

thread_local! {
    /// Set by a function that met a case this build does not compute as Terraform does.
    static UNSUPPORTED: Cell<bool> = const { Cell::new(false) };
}

/// The names of the functions [`declare`] provides, and the two [`super`] evaluates lazily.
pub const NAMES: [&str; 9] = ["can", "try", "regex", "contains", "length", "floor", "split", "cidrnetmask", "cidrhost"];

/// Declares every function in `ctx`.
pub fn declare(ctx: &mut Context<'_>) {
    let f = |func, n: usize| FuncDef::new(func, vec![ParamType::Any; n]);
    ctx.declare_func("regex", f(regex, 2));
    ctx.declare_func("contains", f(contains, 2));
    ctx.declare_func("length", f(length, 1));
    ctx.declare_func("floor", f(floor, 1));
    ctx.declare_func("split", f(split, 2));
    ctx.declare_func("cidrnetmask", f(cidrnetmask, 1));
    ctx.declare_func("cidrhost", f(cidrhost, 2));
}

/// Runs `f` with the unsupported mark cleared; whether a function set it.
pub fn watching<T>(f: impl FnOnce() -> T) -> (T, bool) {
    UNSUPPORTED.with(|u| u.set(false));
    let out = f();
    (out, UNSUPPORTED.with(Cell::get))
}

fn unsupported(what: &str) -> Result<Value, String> {
    Err(mark_unsupported(what))
}

fn mark_unsupported(what: &str) -> String {
    UNSUPPORTED.with(|u| u.set(true));
    format!("not evaluated by infra-manager: {what}")
}

/// `regex(pattern, string)`: the match (no groups), the list of groups, or the object of named
/// groups; an error when nothing matches.
fn regex(args: FuncArgs) -> Result<Value, String> {
    let (Value::String(pattern), Value::String(text)) = (&args[0], &args[1]) else {
        return unsupported("regex of a value that is not a string");
    };
    let Ok(re) = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build() else {
        return unsupported("a pattern the RE2-like engine does not compile");
    };
    let Some(caps) = re.captures(text) else { return Err("pattern did not match".into()) };
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let group = |i: usize| caps.get(i).map_or(Value::Null, |m| Value::String(m.as_str().to_owned()));
    Ok(if names.is_empty() {
        group(0)
    } else if names.iter().all(Option::is_some) {
        Value::Object(names.iter().enumerate().map(|(i, n)| (n.unwrap_or_default().to_owned(), group(i + 1))).collect())
    } else if names.iter().all(Option::is_none) {
        Value::Array((1..=names.len()).map(group).collect())
    } else {
        return Err("regex: named and unnamed groups together".into());
    })
}

/// `contains(list, value)`.
fn contains(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(items) => Ok(Value::Bool(items.contains(&args[1]))),
        _ => unsupported("contains of a value that is not a list"),
    }
}

/// `length(x)`: characters of an ASCII string (Terraform counts grapheme clusters, which agree
/// only there), items of a list or attributes of an object.
fn length(args: FuncArgs) -> Result<Value, String> {
    let n = match &args[0] {
        Value::String(s) if s.is_ascii() => s.len(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => return unsupported("length of a non-ASCII string or a scalar"),
    };
    Ok(Value::from(n as u64))
}

/// `floor(n)`.
fn floor(args: FuncArgs) -> Result<Value, String> {
    let Value::Number(n) = &args[0] else { return unsupported("floor of a value that is not a number") };
    if n.is_i64() || n.is_u64() {
        return Ok(args[0].clone());
    }
    let Some(f) = n.as_f64() else { return unsupported("floor of a number out of range") };
    let down = f.floor();
    // A whole result is an integer, so `floor(x) == x` compares as Terraform's numbers do.
    if down.abs() < 9.0e15 {
        Ok(Value::from(down as i64))
    } else {
        hcl::Number::from_f64(down).map(Value::Number).ok_or_else(|| "floor: not a finite number".into())
    }
}

/// `split(separator, string)`.
fn split(args: FuncArgs) -> Result<Value, String> {
    let (Value::String(sep), Value::String(text)) = (&args[0], &args[1]) else {
        return unsupported("split of a value that is not a string");
    };
    if sep.is_empty() {
        return unsupported("split on an empty separator");
    }
    Ok(Value::Array(text.split(sep.as_str()).map(|s| Value::String(s.to_owned())).collect()))
}

/// `cidrnetmask(prefix)`: the netmask of an IPv4 prefix in dotted form.
fn cidrnetmask(args: FuncArgs) -> Result<Value, String> {
    let (_, bits) = ipv4_prefix(&args[0])?;
    Ok(Value::String(Ipv4Addr::from(mask(bits)).to_string()))
}

/// `cidrhost(prefix, hostnum)`: the address of host `hostnum` in an IPv4 prefix (from the
/// end when negative).
fn cidrhost(args: FuncArgs) -> Result<Value, String> {
    let (address, bits) = ipv4_prefix(&args[0])?;
    let Value::Number(n) = &args[1] else { return unsupported("cidrhost with a host number that is not a number") };
    let Some(host) = n.as_i64() else { return unsupported("cidrhost with a fractional host number") };
    let size = 1_i64 << (32 - bits);
    let offset = if host >= 0 { host } else { size + host };
    if !(0..size).contains(&offset) {
        return Err(format!("prefix of {bits} bits cannot accommodate a host numbered {host}"));
    }
    let network = u32::from(address) & mask(bits);
    Ok(Value::String(Ipv4Addr::from(network | offset as u32).to_string()))
}

fn mask(bits: u32) -> u32 {
    if bits == 0 { 0 } else { u32::MAX << (32 - bits) }
}

/// An IPv4 prefix as Terraform's CIDR functions parse it (Go's `net.ParseCIDR` of Go 1.16,
/// which Terraform keeps: octets in decimal, leading zeros allowed); an IPv6 one is left to
/// Terraform.
fn ipv4_prefix(value: &Value) -> Result<(Ipv4Addr, u32), String> {
    let Value::String(text) = value else { return Err(mark_unsupported("a CIDR prefix that is not a string")) };
    let invalid = || format!("invalid CIDR address: {text}");
    let (address, bits) = text.split_once('/').ok_or_else(invalid)?;
    if address.contains(':') {
        return Err(mark_unsupported("an IPv6 prefix"));
    }
    let decimal = |s: &str, max: u32| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.bytes().try_fold(0_u32, |n, b| n.checked_mul(10)?.checked_add(u32::from(b - b'0'))).filter(|n| *n <= max)
    };
    let octets: Vec<u32> = address.split('.').map(|o| decimal(o, 255)).collect::<Option<_>>().ok_or_else(invalid)?;
    let [a, b, c, d] = octets[..] else { return Err(invalid()) };
    let bits = decimal(bits, 32).ok_or_else(invalid)?;
    let byte = |o: u32| u8::try_from(o).unwrap_or_default();
    Ok((Ipv4Addr::new(byte(a), byte(b), byte(c), byte(d)), bits))
}

#[cfg(test)]
mod tests {
    use hcl::eval::Evaluate;

    use super::*;

    /// Evaluates `expr` with the functions; `Err(true)` when unsupported.
    fn eval(expr: &str) -> Result<Value, bool> {
        let mut ctx = Context::new();
        declare(&mut ctx);
        let parsed: hcl::Expression = expr.parse().expect("an expression");
        let (out, unsupported) = watching(|| parsed.evaluate(&ctx));
        out.map_err(|_| unsupported)
    }

    fn s(v: &str) -> Result<Value, bool> {
        Ok(Value::String(v.to_owned()))
    }

    #[test]
    fn regex_matches_anywhere_unless_anchored_and_fails_without_a_match() {
        assert_eq!(eval(r#"regex("[0-9]+", "ab12cd")"#), s("12"));
        assert_eq!(eval(r#"regex("^[a-z]+$", "ab1")"#), Err(false));
        assert_eq!(eval(r#"regex("(a)(b)", "ab")"#), Ok(Value::Array(vec!["a".into(), "b".into()])));
        assert_eq!(eval(r#"regex("(?P<x>a)", "a")"#), Ok(hcl::value!({ x = "a" })));
        assert!(eval(r#"regex("/(1[6-9]|2[0-8])$", "10.0.0.0/16")"#).is_ok());
        assert_eq!(eval(r#"regex("(?<!a)b", "b")"#), Err(true), "look-behind is not RE2: left to Terraform");
        assert_eq!(eval(r#"regex("^[0-9]+$", 12)"#), Err(true), "Terraform would convert the number");
    }

    #[test]
    fn contains_length_floor_and_split() {
        assert_eq!(eval(r#"contains(["a", "b"], "b")"#), Ok(Value::Bool(true)));
        assert_eq!(eval(r#"contains(["a", "b"], "c")"#), Ok(Value::Bool(false)));
        assert_eq!(eval(r#"contains([1, 2], 2.0)"#), Ok(Value::Bool(true)));
        assert_eq!(eval(r#"length("shop")"#), Ok(Value::from(4_u64)));
        assert_eq!(eval(r#"length(["a"])"#), Ok(Value::from(1_u64)));
        assert_eq!(eval(r#"length("é")"#), Err(true), "Terraform counts grapheme clusters");
        assert_eq!(eval("floor(1.5)"), Ok(Value::from(1_i64)));
        assert_eq!(eval("floor(-1.5)"), Ok(Value::from(-2_i64)));
        assert_eq!(eval("floor(3) == 3"), Ok(Value::Bool(true)));
        assert_eq!(eval("floor(2.5) == 2.5"), Ok(Value::Bool(false)));
        assert_eq!(eval("floor(2.0) == 2"), Ok(Value::Bool(true)));
        assert_eq!(eval(r#"split("/", "10.0.0.0/16")"#), Ok(Value::Array(vec!["10.0.0.0".into(), "16".into()])));
    }

    #[test]
    fn cidr_functions_parse_as_terraform_and_leave_ipv6_to_it() {
        assert_eq!(eval(r#"cidrnetmask("10.0.0.0/16")"#), s("255.255.0.0"));
        assert_eq!(eval(r#"cidrnetmask("10.0.0.1/28")"#), s("255.255.255.240"), "host bits are no error");
        assert_eq!(eval(r#"cidrnetmask("010.0.0.0/16")"#), s("255.255.0.0"), "leading zeros, as Go 1.16");
        for bad in ["999.0.0.0/16", "10.0.0.0", "10.0.0/16", "10.0.0.0/33", "10.0.0.0/", "a.b.c.d/8", "10.0.0.0/-1"] {
            assert_eq!(eval(&format!(r#"cidrnetmask("{bad}")"#)), Err(false), "{bad}");
        }
        assert_eq!(eval(r#"cidrnetmask("fd00::/16")"#), Err(true));
        assert_eq!(eval(r#"cidrhost("10.0.0.1/16", 0)"#), s("10.0.0.0"));
        assert_eq!(eval(r#"cidrhost("10.0.0.0/16", 5)"#), s("10.0.0.5"));
        assert_eq!(eval(r#"cidrhost("10.0.0.0/24", -1)"#), s("10.0.0.255"));
        assert_eq!(eval(r#"cidrhost("10.0.0.0/24", 256)"#), Err(false));
        assert_eq!(eval(r#"cidrhost("10.0.0.0/0", 0)"#), s("0.0.0.0"));
        assert_eq!(eval(r#"cidrhost("fd00::/64", 1)"#), Err(true));
    }
}
