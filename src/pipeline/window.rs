//! Apply windows and freezes (issue 22): whether an apply may run now. Pure: the time is
//! passed in, so the rule is tested without a clock or a server.
//!
//! A target's windows and freezes are its environment's, less those that name other tiers
//! (`tiers:`). With no window every time is open; with windows, only a time inside one is.
//! A freeze closes whole days (from its first day through its last, in its time zone)
//! whatever the windows say.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::config::{EnvironmentConfig, Freeze, Window, day_name};

/// Why an apply may not run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Frozen {
        reason: String,
        through: Date,
    },
    /// Outside every window; `next` says when the next one opens (`None`: none in a year).
    Outside {
        next: Option<String>,
    },
}

fn for_tier(tiers: &[String], tier: &str) -> bool {
    tiers.is_empty() || tiers.iter().any(|t| t == tier)
}

fn in_window(w: &Window, now: Timestamp) -> bool {
    let local = now.to_zoned_datetime(w.time_zone.clone());
    let (day, time) = (local.weekday(), local.time());
    let yesterday = local.date().yesterday().map_or(day, |d| d.weekday());
    if w.from < w.to {
        w.days.contains(&day) && w.from <= time && time < w.to
    } else {
        (w.days.contains(&day) && time >= w.from) || (w.days.contains(&yesterday) && time < w.to)
    }
}

fn frozen<'f>(freezes: &[&'f Freeze], now: Timestamp) -> Option<&'f Freeze> {
    freezes.iter().copied().find(|f| {
        let today = now.to_zoned_datetime(f.time_zone.clone()).date();
        f.from <= today && today <= f.to
    })
}

/// When the next of `windows` opens after `now` outside every freeze, as
/// `tue 2026-12-08 09:00 Europe/Berlin`.
fn next_opening(windows: &[&Window], freezes: &[&Freeze], now: Timestamp) -> Option<String> {
    let mut best: Option<(Timestamp, String)> = None;
    for w in windows {
        let today = now.to_zoned_datetime(w.time_zone.clone()).date();
        for offset in 0..=366_i64 {
            let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else { break };
            if !w.days.contains(&date.weekday()) {
                continue;
            }
            let Ok(start) = date.to_datetime(w.from).to_zoned_datetime(w.time_zone.clone()) else { continue };
            let at = start.timestamp();
            if at <= now || frozen(freezes, at).is_some() {
                continue;
            }
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                let text =
                    format!("{} {} {} {}", day_name(date.weekday()), date, w.from.strftime("%H:%M"), w.zone_name);
                best = Some((at, text));
            }
            break;
        }
    }
    best.map(|(_, text)| text)
}

/// Whether an apply to an environment configured as `env`, for an owner of `tier`, may run at `now`.
pub fn check(env: &EnvironmentConfig, tier: &str, now: Timestamp) -> Result<(), Closed> {
    let freezes: Vec<&Freeze> = env.freezes.iter().filter(|f| for_tier(&f.tiers, tier)).collect();
    if let Some(f) = frozen(&freezes, now) {
        return Err(Closed::Frozen { reason: f.reason.clone(), through: f.to });
    }
    let windows: Vec<&Window> = env.windows.iter().filter(|w| for_tier(&w.tiers, tier)).collect();
    if windows.is_empty() || windows.iter().any(|w| in_window(w, now)) {
        return Ok(());
    }
    Err(Closed::Outside { next: next_opening(&windows, &freezes, now) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date, time};
    use jiff::tz::TimeZone;

    fn env(windows: Vec<Window>, freezes: Vec<Freeze>) -> EnvironmentConfig {
        EnvironmentConfig { auto_apply: false, approval: None, windows, freezes }
    }

    const EVERY_DAY: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    fn berlin_weekdays(tiers: &[&str]) -> Window {
        Window {
            days: EVERY_DAY[..5].to_vec(),
            from: time(9, 0, 0, 0),
            to: time(17, 0, 0, 0),
            time_zone: TimeZone::get("Europe/Berlin").expect("zone"),
            zone_name: "Europe/Berlin".into(),
            tiers: tiers.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn a_weekly_window_in_its_time_zone_opens_and_closes() {
        let env = env(vec![berlin_weekdays(&[])], vec![]);
        // Mon 2026-12-07: 08:30 UTC is 09:30 in Berlin (CET, UTC+1).
        let cases = [
            ("2026-12-07T08:30:00Z", Ok(())),
            ("2026-12-07T07:59:00Z", Err(Closed::Outside { next: Some("mon 2026-12-07 09:00 Europe/Berlin".into()) })),
            ("2026-12-07T16:00:00Z", Err(Closed::Outside { next: Some("tue 2026-12-08 09:00 Europe/Berlin".into()) })),
            ("2026-12-12T10:00:00Z", Err(Closed::Outside { next: Some("mon 2026-12-14 09:00 Europe/Berlin".into()) })),
        ];
        for (now, want) in cases {
            assert_eq!(check(&env, "standard", at(now)), want, "{now}");
        }
    }

    #[test]
    fn a_window_past_midnight_covers_the_early_hours_of_the_next_day() {
        let mut w = berlin_weekdays(&[]);
        (w.from, w.to, w.days) = (time(22, 0, 0, 0), time(2, 0, 0, 0), vec![Weekday::Friday]);
        let env = env(vec![w], vec![]);
        assert_eq!(check(&env, "standard", at("2026-12-11T22:00:00Z")), Ok(()), "fri 23:00");
        assert_eq!(check(&env, "standard", at("2026-12-12T00:30:00Z")), Ok(()), "sat 01:30");
        assert!(check(&env, "standard", at("2026-12-12T02:00:00Z")).is_err(), "sat 03:00");
    }

    #[test]
    fn a_freeze_closes_whole_days_and_the_next_window_is_after_it() {
        let freeze = Freeze {
            from: date(2026, 12, 7),
            to: date(2026, 12, 8),
            reason: "year-end".into(),
            time_zone: TimeZone::UTC,
            tiers: vec![],
        };
        let env = env(vec![berlin_weekdays(&[])], vec![freeze]);
        assert_eq!(
            check(&env, "standard", at("2026-12-07T10:00:00Z")),
            Err(Closed::Frozen { reason: "year-end".into(), through: date(2026, 12, 8) })
        );
        assert_eq!(check(&env, "standard", at("2026-12-09T10:00:00Z")), Ok(()));
        let only_freeze = EnvironmentConfig { windows: vec![berlin_weekdays(&[])], ..env.clone() };
        assert!(check(&only_freeze, "standard", at("2026-12-06T10:00:00Z")).is_err());
        assert_eq!(
            check(&only_freeze, "standard", at("2026-12-06T10:00:00Z")),
            Err(Closed::Outside { next: Some("wed 2026-12-09 09:00 Europe/Berlin".into()) })
        );
    }

    #[test]
    fn windows_and_freezes_naming_other_tiers_do_not_apply() {
        let env = env(vec![berlin_weekdays(&["premium"])], vec![]);
        assert_eq!(check(&env, "standard", at("2026-12-12T10:00:00Z")), Ok(()), "no window for this tier");
        assert!(check(&env, "premium", at("2026-12-12T10:00:00Z")).is_err());
        assert_eq!(check(&env, "premium", at("2026-12-07T10:00:00Z")), Ok(()));
    }
}
