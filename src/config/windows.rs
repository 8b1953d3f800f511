//! `environments.<env>.windows` and `environments.<env>.freezes`: when applies may run
//! (the rule itself is [`crate::pipeline::window`]).

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use crate::yaml::{self, Checker, Node};

/// A weekly apply window: on `days`, from `from` until `to` (local time in `time_zone`;
/// `to` at or before `from` runs past midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub from: Time,
    pub to: Time,
    pub time_zone: TimeZone,
    /// The zone's name as written (`Europe/Berlin`), for messages.
    pub zone_name: String,
    /// Only for owners of these tiers (empty: every tier).
    pub tiers: Vec<String>,
}

/// A dated freeze: no applies from `from` through `to` (whole days in `time_zone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    pub from: Date,
    pub to: Date,
    pub reason: String,
    pub time_zone: TimeZone,
    pub tiers: Vec<String>,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// The short name of `day` (`mon`).
pub fn day_name(day: Weekday) -> &'static str {
    DAYS.iter().find(|(_, d)| *d == day).map_or("?", |(n, _)| n)
}

fn zone(c: &mut Checker, path: &str, node: Option<&Node>) -> Option<(TimeZone, String)> {
    let Some(node) = node else { return Some((TimeZone::UTC, "UTC".to_owned())) };
    let name = c.str(path, node)?;
    match TimeZone::get(name) {
        Ok(tz) => Some((tz, name.to_owned())),
        Err(e) => {
            c.error(
                node.pos,
                format!("`{path}` `{}` is not a known time zone: {e}", crate::diagnostic::shown(name)),
                Some("use an IANA name such as `Europe/Berlin` or `UTC`".into()),
            );
            None
        }
    }
}

fn tiers(c: &mut Checker, path: &str, fields: &[(yaml::Key, Node)]) -> Vec<String> {
    yaml::get(fields, "tiers")
        .and_then(|v| c.str_list(&format!("{path}.tiers"), v))
        .map(|l| l.into_iter().map(|(s, _)| s).collect())
        .unwrap_or_default()
}

fn parse<T: std::str::FromStr>(c: &mut Checker, path: &str, node: &Node, what: &str, example: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let text = c.str(path, node)?;
    match text.parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            c.error(
                node.pos,
                format!("`{path}` `{}` is not {what}: {e}", crate::diagnostic::shown(text)),
                Some(format!("write it as `{example}` (in quotes)")),
            );
            None
        }
    }
}

/// Reads `windows` at `path`: a list of `{days, from, to, time_zone, tiers}`.
pub(super) fn read_windows(c: &mut Checker, path: &str, node: &Node) -> Vec<Window> {
    let yaml::Value::Seq(items) = &node.value else {
        c.error(node.pos, format!("`{path}` must be a list of windows"), None);
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let Some(fields) = c.map(&path, item) else { continue };
        c.unknown_keys(&path, fields, &["days", "from", "to", "time_zone", "tiers"]);
        let mut days = Vec::new();
        if let Some(list) = yaml::get(fields, "days").and_then(|v| c.str_list(&format!("{path}.days"), v)) {
            for (name, pos) in list {
                match DAYS.iter().find(|(n, _)| name.eq_ignore_ascii_case(n)) {
                    Some((_, day)) => days.push(*day),
                    None => c.error(
                        pos,
                        format!("`{path}.days` `{}` is not a day", crate::diagnostic::shown(&name)),
                        Some("days are mon, tue, wed, thu, fri, sat, sun".into()),
                    ),
                }
            }
        } else {
            days = DAYS.iter().map(|(_, d)| *d).collect();
        }
        let time = |c: &mut Checker, key: &str| {
            let Some(v) = yaml::get(fields, key) else {
                c.error(item.pos, format!("`{path}` needs `{key}`"), Some("e.g. `from: \"09:00\"`".into()));
                return None;
            };
            parse::<Time>(c, &format!("{path}.{key}"), v, "a time of day", "09:00")
        };
        let (from, to) = (time(c, "from"), time(c, "to"));
        let zone = zone(c, &format!("{path}.time_zone"), yaml::get(fields, "time_zone"));
        let tiers = tiers(c, &path, fields);
        if let (Some(from), Some(to), Some((time_zone, zone_name))) = (from, to, zone) {
            out.push(Window { days, from, to, time_zone, zone_name, tiers });
        }
    }
    out
}

/// Reads `freezes` at `path`: a list of `{from, to, reason, time_zone, tiers}`.
pub(super) fn read_freezes(c: &mut Checker, path: &str, node: &Node) -> Vec<Freeze> {
    let yaml::Value::Seq(items) = &node.value else {
        c.error(node.pos, format!("`{path}` must be a list of freezes"), None);
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let Some(fields) = c.map(&path, item) else { continue };
        c.unknown_keys(&path, fields, &["from", "to", "reason", "time_zone", "tiers"]);
        let date = |c: &mut Checker, key: &str| {
            let Some(v) = yaml::get(fields, key) else {
                c.error(item.pos, format!("`{path}` needs `{key}`"), Some("e.g. `from: \"2026-12-20\"`".into()));
                return None;
            };
            parse::<Date>(c, &format!("{path}.{key}"), v, "a date", "2026-12-20")
        };
        let (from, to) = (date(c, "from"), date(c, "to"));
        let reason = match yaml::get(fields, "reason").and_then(|v| c.str(&format!("{path}.reason"), v)) {
            Some(r) if !r.trim().is_empty() => Some(r.trim().to_owned()),
            _ => {
                c.error(item.pos, format!("`{path}` needs a `reason`"), Some("say why applies are frozen".into()));
                None
            }
        };
        let zone = zone(c, &format!("{path}.time_zone"), yaml::get(fields, "time_zone"));
        let tiers = tiers(c, &path, fields);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            c.error(item.pos, format!("`{path}` ends (`{to}`) before it starts (`{from}`)"), None);
            continue;
        }
        if let (Some(from), Some(to), Some(reason), Some((time_zone, _))) = (from, to, reason, zone) {
            out.push(Freeze { from, to, reason, time_zone, tiers });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ApprovalRule, Config};

    #[test]
    fn approval_windows_and_freezes_are_read_and_bad_ones_named_at_their_line() {
        let text = "environments:\n  production:\n    approval: { reviewers: [alice] }\n    windows:\n      - { days: [mon, fri], from: \"09:00\", to: \"17:00\", time_zone: Europe/Berlin, tiers: [standard] }\n    freezes:\n      - { from: \"2026-12-21\", to: \"2027-01-04\", reason: year-end }\n";
        let config = Config::parse("infra-manager.yml", text, Path::new(".")).expect("valid");
        let env = config.environment(&crate::identity::EnvName::parse("production").expect("env")).expect("production");
        assert_eq!(env.approval, Some(ApprovalRule::Reviewers(vec!["alice".into()])));
        assert_eq!((env.windows.len(), env.windows[0].zone_name.as_str()), (1, "Europe/Berlin"));
        assert_eq!(env.windows[0].tiers, ["standard"]);
        assert_eq!(env.freezes[0].reason, "year-end");

        let bad = "environments:\n  production:\n    approval: { environment: x, reviewers: [a] }\n    windows:\n      - { days: [someday], from: \"25:00\", to: \"17:00\", time_zone: Mars/Base }\n    freezes:\n      - { from: \"2027-01-04\", to: \"2026-12-21\" }\n";
        let err = Config::parse("infra-manager.yml", bad, Path::new(".")).expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|d| format!("{}:{}", d.line, d.message)).collect();
        for want in [
            "3:`environments.production.approval` names both `environment` and `reviewers`",
            "5:`environments.production.windows[0].days` `someday` is not a day",
            "5:`environments.production.windows[0].from` `25:00` is not a time of day",
            "5:`environments.production.windows[0].time_zone` `Mars/Base` is not a known time zone",
            "7:`environments.production.freezes[0]` needs a `reason`",
        ] {
            assert!(lines.iter().any(|l| l.starts_with(want)), "{want} in {lines:#?}");
        }
    }
}
