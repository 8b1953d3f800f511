//! A YAML document as a tree of nodes that keep their `line:column`.
//!
//! Validation walks this tree instead of deserializing straight into typed structs, so one
//! run can report every problem of a file, each at its place. Parsing is bounded: files over
//! [`MAX_FILE_BYTES`] and alias expansion beyond a small budget ("billion laughs") are refused.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, FileProblem, shown};
use crate::suggest::did_you_mean;

/// Files larger than this are refused ([`crate::limits`]).
pub const MAX_FILE_BYTES: usize = crate::limits::CUSTOMER_FILE_BYTES;

/// How large a file may be: its bytes and its parser events (each scalar, mapping and list
/// start and end is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub bytes: usize,
    pub events: usize,
}

impl Bounds {
    /// Files customers, tenants and requests write.
    pub const CUSTOMER: Self = Self { bytes: MAX_FILE_BYTES, events: 100_000 };
    /// The provider's own `infra-manager.yml`, reviewed in the manager repository: its
    /// registry grows with the fleet (about 60 bytes and 10 events a customer).
    pub const MANAGER: Self = Self { bytes: crate::limits::MANAGER_CONFIG_BYTES, events: 2_000_000 };
}

/// The deepest nesting of mappings and lists a file may use.
pub const MAX_DEPTH: usize = 16;

/// A 1-based position in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// For a scalar YAML typed as null, a boolean or a number: the text as written (`on`,
    /// `0x1F`, `1.10`, `~`), so a message can show it and suggest quoting.
    pub source: Option<String>,
    /// Byte range of the defining scalar in the file, until `source` is filled in.
    span: Option<(usize, usize)>,
}

/// A mapping key and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Value {
    /// The name of this value's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// How every YAML file is read: bounded (aliases, events, depth), so a bomb is refused
/// rather than expanded. Tests that read a file as the product does use these too.
pub fn read_options() -> serde_saphyr::Options {
    options_within(Bounds::CUSTOMER)
}

fn options_within(bounds: Bounds) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_aliases: 100,
            max_anchors: 100,
            max_events: bounds.events,
            // `variables.yml` needs four levels and `infra-manager.yml` five. Each level costs
            // stack in the recursive deserializer (tens of KiB in a debug build), so the bound
            // keeps a hostile file far from overflowing even a 2 MiB thread stack.
            max_depth: MAX_DEPTH,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 8,
            max_alias_expansions_per_anchor: 100,
        },
        // Keys are read as strings (see `KeyName`): `~:` is the key "~", not an error.
        null_as_string: true,
        // `!!binary` is not decoded: a value is always the text that was written.
        ignore_binary_tag_for_string: true,
    }
}

/// Parses `text`, a file customers write, into a node tree. `file` names the file in
/// diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Node, Diagnostic> {
    parse_within(file, text, Bounds::CUSTOMER)
}

/// Parses `text` into a node tree, refused beyond `bounds`.
pub fn parse_within(file: &str, text: &str, bounds: Bounds) -> Result<Node, Diagnostic> {
    if text.len() > bounds.bytes {
        let problem = FileProblem::TooLarge { size: Some(text.len() as u64), limit: bounds.bytes as u64 };
        return Err(Diagnostic::whole_file(file, &problem));
    }
    let parsed: Result<Option<Spanned<Value>>, _> = serde_saphyr::from_str_with_options(text, options_within(bounds));
    match parsed {
        Ok(Some(spanned)) => {
            let mut root = node(spanned);
            fill_sources(&mut root, text);
            Ok(root)
        }
        Ok(None) => Ok(Node { value: Value::Null, pos: Pos { line: 1, column: 1 }, source: None, span: None }),
        Err(err) => Err(yaml_error(file, &err)),
    }
}

/// Records the written text of every non-string scalar (see [`Node::source`]).
fn fill_sources(node: &mut Node, text: &str) {
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| fill_sources(n, text)),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, n)| fill_sources(n, text)),
        Value::Str(_) => {}
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            node.source =
                node.span.and_then(|(start, len)| text.get(start..start.checked_add(len)?)).map(str::to_owned);
        }
    }
    node.span = None;
}

/// The YAML 1.1 words for a boolean (any case); YAML 1.2, which editors follow, reads them
/// as strings.
const YAML11_BOOLEAN_WORDS: [&str; 6] = ["yes", "no", "on", "off", "y", "n"];

/// The word as written, when `node` is a boolean only because YAML 1.1 says so (`yes`, `On`).
pub fn yaml11_boolean(node: &Node) -> Option<&str> {
    let written = node.source.as_deref()?;
    (matches!(node.value, Value::Bool(_)) && YAML11_BOOLEAN_WORDS.iter().any(|w| w.eq_ignore_ascii_case(written)))
        .then_some(written)
}

fn yaml_error(file: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let pos =
        err.location().map_or(Pos { line: 1, column: 1 }, |l| Pos { line: l.line().max(1), column: l.column().max(1) });
    let raw = err.without_snippet().to_string();
    // The library appends its own position; ours goes in front, so drop theirs.
    let library = raw.split(" at line ").next().unwrap_or(&raw).trim();
    let (message, hint) = explain(library);
    Diagnostic {
        file: file.to_owned(),
        line: pos.line,
        column: pos.column,
        message: format!("invalid YAML: {message}"),
        hint: Some(hint.to_owned()),
    }
}

const ALIAS_HINT: &str = "anchors and aliases are limited; write the values out instead";

/// The parser's message in the file author's terms (no library advice), and a hint.
fn explain(library: &str) -> (String, &'static str) {
    let lower = library.to_lowercase();
    let own = |m: &str, h| (m.to_owned(), h);
    if lower.contains("multiple yaml documents") {
        own(
            "the file holds more than one YAML document",
            "keep one document: remove the `---` line and what follows it",
        )
    } else if lower.contains("depth") || lower.contains("recursion limit") {
        own("the file is nested too deeply", "`variables.yml` needs only three levels of nesting")
    } else if lower.contains("recursive reference") {
        own("an alias refers to the anchor it is inside", ALIAS_HINT)
    } else if lower.contains("unknown anchor") {
        own("an alias (`*name`) refers to an anchor that is not defined", "define `&name` before using `*name`")
    } else if lower.contains("anchors {") {
        own("the file defines too many anchors (`&name`)", ALIAS_HINT)
    } else if lower.contains("alias") || lower.contains("anchor") || lower.contains("replay") {
        own("aliases expand to too much data", ALIAS_HINT)
    } else if lower.contains("budget") {
        own("the file is too complex to read", "write the file as plain keys and values, like the documented example")
    } else if lower.contains("duplicate") {
        // "duplicate mapping key: k, set DuplicateKeyPolicy in Options if acceptable"
        let message = library.split(", set ").next().unwrap_or(library);
        (shown_message(message), "each key may appear once in a mapping")
    } else if lower.contains("expected string scalar") {
        own("a key must be plain text, not a list, a mapping or an alias", "write the key as text")
    } else {
        (shown_message(library), "check the YAML syntax around this place (indentation, quotes, colons)")
    }
}

/// A library message, which may quote the file's text, with that text made visible.
fn shown_message(message: &str) -> String {
    message
        .chars()
        .map(|c| if crate::output::must_escape(c) { c.escape_unicode().to_string() } else { c.to_string() })
        .collect()
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    Pos { line: spanned.referenced.line(), column: spanned.referenced.column() }
}

fn node(spanned: Spanned<Value>) -> Node {
    let pos = pos_of(&spanned);
    let span = spanned.defined.span();
    let span = span
        .byte_offset()
        .zip(span.byte_len())
        .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?)));
    Node { value: spanned.value, pos, source: None, span }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v).map(Value::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(node(item));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyName>>()? {
            let pos = pos_of(&key);
            let value = node(map.next_value::<Spanned<Value>>()?);
            if entries.iter().any(|(k, _)| k.name == key.value.0) {
                return Err(de::Error::custom(format!("duplicate key `{}`", crate::diagnostic::shown(&key.value.0))));
            }
            entries.push((Key { name: key.value.0, pos }, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key, always by its source text: `on:` is key `"on"` (not `"true"`), `0x1F:` is
/// `"0x1F"`, `~:` is `"~"`. Keys are read as strings, so YAML 1.1 typing never rewrites them.
struct KeyName(String);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyName, E> {
                Ok(KeyName("null".to_owned()))
            }
        }
        deserializer.deserialize_string(KeyVisitor)
    }
}

/// Collects diagnostics while walking one file's tree.
pub struct Checker {
    file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checker {
    pub fn new(file: &str) -> Self {
        Self { file: file.to_owned(), diagnostics: Vec::new() }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// Records a problem at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint,
        });
    }

    fn wrong_type(&mut self, path: &str, node: &Node, expected: &str) {
        let found = node.value.type_name();
        match node.source.as_deref().filter(|s| !s.is_empty()) {
            // A scalar YAML typed by its spelling (`on`, `0x1F`, `1.10`, `~`) where text is wanted.
            Some(written) if expected == "a string" && written.starts_with(['"', '\'']) => self.error(
                node.pos,
                format!("`{path}` must be a string, found {found} `{}`", shown(written)),
                Some("remove the explicit type tag (`!!int`, `!!bool`, …) to keep the text".into()),
            ),
            Some(written) if expected == "a string" => self.error(
                node.pos,
                format!("`{path}` must be a string, found {found} `{}`", shown(written)),
                Some(format!("YAML reads `{}` as {found}; put it in quotes to keep the text", shown(written))),
            ),
            Some(written) => self.error(
                node.pos,
                format!("`{path}` must be {expected}, found {found} `{}`", shown(written)),
                Some(format!("write `{path}` as {expected}")),
            ),
            None => self.error(
                node.pos,
                format!("`{path}` must be {expected}, found {found}"),
                Some(format!("write `{path}` as {expected}")),
            ),
        }
    }

    /// The entries of a mapping node; records an error (and gives `None`) otherwise.
    pub fn map<'a>(&mut self, path: &str, node: &'a Node) -> Option<&'a [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            _ => {
                self.wrong_type(path, node, "a mapping");
                None
            }
        }
    }

    /// Records every key of `entries` that is not in `known`, with a "did you mean" hint.
    pub fn unknown_keys(&mut self, path: &str, entries: &[(Key, Node)], known: &[&str]) {
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let place = if path.is_empty() { String::new() } else { format!(" in `{path}`") };
                let hint = match did_you_mean(&key.name, known.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("known keys here: {}", known.join(", ")),
                };
                self.error(key.pos, format!("unknown key `{}`{place}", shown(&key.name)), Some(hint));
            }
        }
    }

    /// A string; records an error for any other type.
    pub fn str<'a>(&mut self, path: &str, node: &'a Node) -> Option<&'a str> {
        match &node.value {
            Value::Str(s) => Some(s),
            _ => {
                self.wrong_type(path, node, "a string");
                None
            }
        }
    }

    /// An integer; records an error for any other type.
    pub fn int(&mut self, path: &str, node: &Node) -> Option<i64> {
        match node.value {
            Value::Int(i) => Some(i),
            _ => {
                self.wrong_type(path, node, "an integer");
                None
            }
        }
    }

    /// A boolean; records an error for any other type, and for a YAML 1.1 word (`yes`, `on`,
    /// …): editors and the JSON Schema read those as text, so `validate` refuses them too.
    pub fn bool(&mut self, path: &str, node: &Node) -> Option<bool> {
        match node.value {
            Value::Bool(b) => match yaml11_boolean(node) {
                Some(word) => {
                    self.error(
                        node.pos,
                        format!("`{path}` must be `true` or `false`, found `{}`", shown(word)),
                        Some(format!(
                            "`{}` is a boolean only in YAML 1.1, and editors and the JSON Schema read it as text: write `{b}`",
                            shown(word)
                        )),
                    );
                    None
                }
                None => Some(b),
            },
            _ => {
                self.wrong_type(path, node, "`true` or `false`");
                None
            }
        }
    }

    /// A list of strings; records an error for anything else.
    pub fn str_list(&mut self, path: &str, node: &Node) -> Option<Vec<(String, Pos)>> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type(path, node, "a list of strings");
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.str(&format!("{path}[{i}]"), item) {
                out.push((s.to_owned(), item.pos));
            }
        }
        Some(out)
    }
}

/// Finds `name` among mapping entries.
pub fn get<'a>(entries: &'a [(Key, Node)], name: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_their_line_and_column() {
        let root = parse("f.yml", "a: 1\nb:\n  c: \"x\"\n  d: [1, 2]\n").expect("parses");
        let Value::Map(entries) = &root.value else { panic!("map") };
        assert_eq!(entries[0].0.pos, Pos { line: 1, column: 1 });
        assert_eq!(entries[0].1.pos, Pos { line: 1, column: 4 });
        let Value::Map(inner) = &entries[1].1.value else { panic!("map") };
        assert_eq!(inner[0].0.pos, Pos { line: 3, column: 3 });
        assert_eq!(inner[0].1.value, Value::Str("x".into()));
        assert_eq!(inner[0].1.pos, Pos { line: 3, column: 6 });
        let Value::Seq(items) = &inner[1].1.value else { panic!("seq") };
        assert_eq!(items[1].pos, Pos { line: 4, column: 10 });
    }

    #[test]
    fn oversized_files_are_refused() {
        let text = format!("a: \"{}\"\n", "x".repeat(MAX_FILE_BYTES));
        let err = parse("f.yml", &text).expect_err("too large");
        assert!(err.message.contains("larger than the 65536-byte limit"), "{err}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse("f.yml", &text).expect_err("bomb refused");
        assert!(err.hint.as_deref().is_some_and(|h| h.contains("aliases")), "{err}");
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("f.yml", "a: 1\nb: [1, 2\nc: 3\n").expect_err("bad yaml");
        assert!(err.line >= 2, "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");
    }

    /// YAML 1.1 would type these keys as booleans, numbers or null; they keep their text.
    #[test]
    fn keys_keep_their_source_text() {
        let text = "on: 1\nyes: 2\n0x1F: 3\n~: 4\n1.10: 5\n1e3: 6\n.inf: 7\n-0: 8\n+1: 9\nnull: 10\n0o17: 11\n";
        let root = parse("f.yml", text).expect("parses");
        let Value::Map(entries) = &root.value else { panic!("map") };
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["on", "yes", "0x1F", "~", "1.10", "1e3", ".inf", "-0", "+1", "null", "0o17"]);
    }

    #[test]
    fn typed_scalars_keep_their_written_text_for_messages() {
        let root = parse("f.yml", "a: on\nb: 0x1F\nc: 1.10\nd: ~\ne: \"on\"\nf: !!binary aGk=\n").expect("parses");
        let Value::Map(entries) = &root.value else { panic!("map") };
        let sources: Vec<Option<&str>> = entries.iter().map(|(_, n)| n.source.as_deref()).collect();
        assert_eq!(sources, [Some("on"), Some("0x1F"), Some("1.10"), Some("~"), None, None]);
        assert_eq!(entries[4].1.value, Value::Str("on".into()));
        assert_eq!(entries[5].1.value, Value::Str("aGk=".into()), "`!!binary` is not decoded");
        let mut c = Checker::new("f.yml");
        assert_eq!(c.str("a", &entries[0].1), None);
        assert_eq!(c.diagnostics[0].message, "`a` must be a string, found a boolean `on`");
        assert_eq!(
            c.diagnostics[0].hint.as_deref(),
            Some("YAML reads `on` as a boolean; put it in quotes to keep the text")
        );
    }

    /// Issue 21, item 14: `validate` agrees with the editor (YAML 1.2) on what a boolean is.
    #[test]
    fn a_yaml11_word_is_not_a_boolean() {
        let root = parse("f.yml", "a: yes\nb: On\nc: n\nd: true\ne: False\n").expect("parses");
        let Value::Map(entries) = &root.value else { panic!("map") };
        let mut c = Checker::new("f.yml");
        let read: Vec<Option<bool>> = entries.iter().map(|(k, n)| c.bool(&k.name, n)).collect();
        assert_eq!(read, [None, None, None, Some(true), Some(false)]);
        let messages: Vec<&str> = c.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`a` must be `true` or `false`, found `yes`",
                "`b` must be `true` or `false`, found `On`",
                "`c` must be `true` or `false`, found `n`"
            ]
        );
        assert_eq!(
            c.diagnostics[0].hint.as_deref(),
            Some("`yes` is a boolean only in YAML 1.1, and editors and the JSON Schema read it as text: write `true`")
        );
    }

    #[test]
    fn parser_errors_are_explained_without_library_advice() {
        let cases = [
            ("a: 1\n---\nb: 2\n", "invalid YAML: the file holds more than one YAML document"),
            ("a: &a [*a]\n", "invalid YAML: an alias refers to the anchor it is inside"),
            ("a: *nope\n", "invalid YAML: an alias (`*name`) refers to an anchor that is not defined"),
            ("a: 1\na: 2\n", "invalid YAML: duplicate mapping key: a"),
            ("? [a]\n: 1\n", "invalid YAML: a key must be plain text, not a list, a mapping or an alias"),
        ];
        for (text, message) in cases {
            let err = parse("f.yml", text).expect_err(text);
            assert_eq!(err.message, message, "{text:?}");
        }
        let deep = format!("a: {}{}\n", "[".repeat(500), "]".repeat(500));
        assert_eq!(parse("f.yml", &deep).expect_err("deep").message, "invalid YAML: the file is nested too deeply");
        let anchors: String = (0..150).map(|i| format!("k{i}: &a{i} v\n")).collect();
        assert_eq!(
            parse("f.yml", &anchors).expect_err("anchors").message,
            "invalid YAML: the file defines too many anchors (`&name`)"
        );
    }

    /// The deserializer recurses once per level (tens of KiB of stack each in a debug build):
    /// the depth bound, which also counts aliases replayed inside nesting, keeps every input
    /// within a small thread stack.
    #[test]
    fn deep_nesting_is_refused_before_it_can_exhaust_a_small_stack() {
        let deepest = MAX_DEPTH - 1;
        let nested = |open: &str, close: &str, depth: usize, inner: &str| {
            format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
        };
        let ok = format!("a: {}\n", nested("{x: ", "}", deepest - 1, "1"));
        let too_deep = [
            format!("a: {}\n", nested("[", "]", 20_000, "")),
            format!("a: {}\n", nested("{x: ", "}", 5_000, "1")),
            format!("a: &a {}\nb: {}\n", nested("[", "]", deepest - 1, "1"), nested("[", "]", deepest - 1, "*a")),
        ];
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                parse("f.yml", &ok).expect("the deepest allowed nesting parses");
                for text in too_deep {
                    let err = parse("f.yml", &text).expect_err("too deep");
                    assert!(err.message.contains("nested too deeply") || err.message.contains("larger than"), "{err}");
                }
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse("f.yml", "a: 1\na: 2\n").expect_err("dup");
        assert!(err.message.contains("duplicate"), "{err}");
    }
}
