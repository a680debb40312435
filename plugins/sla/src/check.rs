//! The configuration check the engine runs when a workflow loads (`check-config`): every
//! problem that [`crate::policy::compile`] or the deadline arithmetic would fail on, each at the
//! value it concerns, so that a workflow that validates sets deadlines.
//!
//! The checks follow `compile` field by field, with a JSON Pointer instead of a message prefix;
//! if `compile` still refuses a configuration this check passed, its message is reported for the
//! whole configuration, so nothing that validates fails every event.

use crate::calendar::{Calendar, CalendarSpec, Period, UnknownYears, WEEKDAYS, business_duration_between};
use crate::config::{CalendarConfig, ClockConfig, Config, OneOrMany, PolicyConfig};
use crate::holidays::{HolidayError, HolidaySet};
use crate::policy::{compile, positive_duration, show_duration};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use weft_sdk::ConfigProblem;

/// The longest target on the 24/7 clock. Longer ones are representable, but a deadline more
/// than a year after the ticket's message is a slip of the keyboard (`3650d` for `365d`), not
/// a service level.
const MAX_ALWAYS: SignedDuration = SignedDuration::from_hours(365 * 24);

/// How many weeks of a calendar's weekly hours a business-clock target may use up. Business
/// arithmetic looks ten years ahead for open hours before it gives up (and then blames the
/// calendar for having none); a year of weekly hours stays inside that window even when
/// holidays and closed dates take nine tenths of the open days.
const MAX_BUSINESS_WEEKS: i32 = 52;

/// Every problem of the configuration; none when `compile` accepts it and the targets can be
/// counted on their clocks.
pub fn check(config: &Config) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut weekly = BTreeMap::new();
    for (name, calendar) in &config.calendars {
        if let Some(hours) = check_calendar(name, calendar, &mut problems) {
            weekly.insert(name.as_str(), hours);
        }
    }
    let mut names = BTreeMap::new();
    for (index, policy) in config.policies.iter().enumerate() {
        check_policy(config, index, policy, &weekly, &mut names, &mut problems);
    }
    if problems.is_empty()
        && let Err(error) = compile(config)
    {
        problems.push(ConfigProblem::at([] as [&str; 0], error.message()));
    }
    problems
}

/// The problems of one calendar; its open time in a week when its zone and hours are sound
/// (its holidays and closed dates do not change what a week holds).
fn check_calendar(name: &str, calendar: &CalendarConfig, problems: &mut Vec<ConfigProblem>) -> Option<SignedDuration> {
    let at = |path: &[&str], message: String| {
        let mut full = vec!["calendars", name];
        full.extend_from_slice(path);
        ConfigProblem::at(full, message)
    };
    let before = problems.len();
    let mut week: [Vec<Period>; 7] = Default::default();
    for (day, periods) in calendar.hours.days().into_iter().enumerate() {
        for (index, text) in periods.iter().enumerate() {
            match Period::parse(text) {
                Ok(period) => week[day].push(period),
                Err(error) => problems.push(at(&["hours", WEEKDAYS[day], &index.to_string()], error)),
            }
        }
    }
    let hours_parsed = problems.len() == before;
    if let Some(holidays) = &calendar.holidays
        && let Err(error) = HolidaySet::new(&holidays.country, holidays.region.as_deref())
    {
        let field = match error {
            HolidayError::UnknownCountry { .. } => "country",
            _ => "region",
        };
        problems.push(at(&["holidays", field], error.to_string()));
    }
    for (index, text) in calendar.closed.iter().enumerate() {
        if let Err(error) = text.trim().parse::<jiff::civil::Date>() {
            let message = format!("{text:?} is not a date like 2026-12-24 ({error})");
            problems.push(at(&["closed", &index.to_string()], message));
        }
    }
    // The zone and the week as a whole, checked as `compile` checks them; a calendar without
    // holidays or closed dates, to count the open time of one week.
    let spec = CalendarSpec {
        name: name.to_owned(),
        timezone: calendar.timezone.clone(),
        week,
        holidays: None,
        closed: BTreeMap::new(),
        make_up_days: false,
        unknown_years: UnknownYears::WeeklyHoursOnly,
    };
    match Calendar::new(spec) {
        Ok(built) => {
            // A week away from any change of daylight saving time.
            let monday = jiff::civil::date(2026, 1, 5);
            let start = built_instant(&built, monday)?;
            let end = start.checked_add(SignedDuration::from_hours(7 * 24)).ok()?;
            let weekly = business_duration_between(start, end, &built).ok();
            weekly.filter(|_| hours_parsed)
        }
        Err(found) => {
            for problem in found {
                // `Calendar::new` names the field first: `timezone: ...`, `hours.mon: ...`.
                let (field, message) = problem.split_once(": ").unwrap_or(("", &problem));
                let path: Vec<&str> = field.split('.').filter(|s| !s.is_empty()).collect();
                problems.push(at(&path, message.to_owned()));
            }
            None
        }
    }
}

/// Midnight of `date` on the calendar's clocks.
fn built_instant(calendar: &Calendar, date: jiff::civil::Date) -> Option<Timestamp> {
    let zone = crate::calendar::tzdb().get(calendar.zone_name()).ok()?;
    let midnight = date.to_datetime(jiff::civil::Time::midnight());
    zone.to_ambiguous_timestamp(midnight).compatible().ok()
}

/// The problems of one policy.
fn check_policy(
    config: &Config,
    index: usize,
    policy: &PolicyConfig,
    weekly: &BTreeMap<&str, SignedDuration>,
    names: &mut BTreeMap<String, usize>,
    problems: &mut Vec<ConfigProblem>,
) {
    let position = index.to_string();
    let at = |path: &[&str], message: String| {
        let mut full = vec!["policies", position.as_str()];
        full.extend_from_slice(path);
        ConfigProblem::at(full, message)
    };
    let name = policy.name.clone().unwrap_or_else(|| format!("policy-{}", index + 1));
    if name.trim().is_empty() {
        problems.push(at(&["name"], "the policy's name is empty".to_owned()));
    }
    if let Some(first) = names.insert(name.clone(), index) {
        problems.push(at(
            &["name"],
            format!("policy name {name:?} is also used by policy #{}", first + 1),
        ));
    }

    let clock = match (policy.clock, &policy.calendar) {
        (ClockConfig::Always, None) => Some(Limit::Always),
        (ClockConfig::Always, Some(calendar)) => {
            let message = format!("calendar {calendar:?} is only used with clock: business-hours");
            problems.push(at(&["calendar"], message));
            None
        }
        (ClockConfig::BusinessHours, None) => {
            problems.push(at(&["clock"], "clock: business-hours needs a calendar".to_owned()));
            None
        }
        (ClockConfig::BusinessHours, Some(calendar)) => match weekly.get(calendar.as_str()) {
            Some(hours) => Some(Limit::Business {
                calendar,
                weekly: *hours,
            }),
            // Its hours' problems are reported at the calendar.
            None if config.calendars.contains_key(calendar) => None,
            None => {
                let known: Vec<&str> = config.calendars.keys().map(String::as_str).collect();
                let message = format!("no calendar named {calendar:?}");
                let expected = if known.is_empty() {
                    "a calendar defined under `calendars`".to_owned()
                } else {
                    format!("one of {}", known.join(", "))
                };
                problems.push(at(&["calendar"], message).expected(expected));
                None
            }
        },
    };

    let targets = [
        ("first_response", &policy.first_response),
        ("next_response", &policy.next_response),
        ("resolution", &policy.resolution),
    ];
    if targets.iter().all(|(_, value)| value.is_none()) {
        let message = "the policy sets no deadline".to_owned();
        problems.push(at(&[], message).expected("at least one of first_response, next_response, resolution"));
    }
    for (field, value) in targets {
        let Some(text) = value else { continue };
        match positive_duration(text) {
            Ok(duration) => {
                if let Some(limit) = &clock
                    && let Some((message, expected)) = limit.exceeded(text, duration)
                {
                    problems.push(at(&[field], message).expected(expected));
                }
            }
            Err(error) => problems.push(at(&[field], error)),
        }
    }
    for (lead, text) in policy.warn_before.iter().enumerate() {
        if let Err(error) = positive_duration(text) {
            problems.push(at(&["warn_before", &lead.to_string()], error));
        }
    }
    for (key, value) in [
        ("channel", &policy.matches.channel),
        ("marketplace", &policy.matches.marketplace),
        ("priority", &policy.matches.priority),
        ("category", &policy.matches.category),
    ] {
        let Some(value) = value else { continue };
        let values = value.values();
        if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            let path = match value {
                OneOrMany::Many(many) if !many.is_empty() => {
                    let empty = many.iter().position(|v| v.trim().is_empty()).unwrap_or(0);
                    vec!["match".to_owned(), key.to_owned(), empty.to_string()]
                }
                _ => vec!["match".to_owned(), key.to_owned()],
            };
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let message = "empty value (leave the key out to match everything)".to_owned();
            problems.push(at(&path, message));
        }
    }
    for (position, status) in policy.pause_on.iter().enumerate() {
        if status.trim().is_empty() {
            problems.push(at(&["pause_on", &position.to_string()], "empty status".to_owned()));
        }
    }
}

/// How long a target may be on a policy's clock.
enum Limit<'a> {
    Always,
    Business { calendar: &'a str, weekly: SignedDuration },
}

impl Limit<'_> {
    /// Why `duration` (written `text`) is too long for this clock, and what is accepted.
    fn exceeded(&self, text: &str, duration: SignedDuration) -> Option<(String, String)> {
        match self {
            Limit::Always if duration > MAX_ALWAYS => Some((
                format!("{text} is longer than a year on the 24/7 clock"),
                "at most 365d".to_owned(),
            )),
            Limit::Always => None,
            Limit::Business { calendar, weekly } => {
                let year = *weekly * MAX_BUSINESS_WEEKS;
                (duration > year).then(|| {
                    (
                        format!(
                            "{text} is more business time than calendar `{calendar}` is open in a year ({} a week)",
                            show_duration(*weekly)
                        ),
                        format!("at most {}", show_duration(year)),
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(with: serde_json::Value) -> Vec<String> {
        let config: Config = serde_json::from_value(with).expect("the config parses");
        check(&config).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn weekly_hours_are_counted_in_the_calendars_zone() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "calendars": { "tokyo": {
                "timezone": "Asia/Tokyo",
                "hours": { "mon": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-12:00"] }
            } }
        }))
        .unwrap();
        let mut found = Vec::new();
        let weekly = check_calendar("tokyo", &config.calendars["tokyo"], &mut found);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(weekly, Some(SignedDuration::from_hours(10)));
    }

    #[test]
    fn every_problem_at_its_value() {
        let found = problems(serde_json::json!({
            "calendars": {
                "london": {
                    "timezone": "Europe/London",
                    "hours": { "mon": ["09:00-17:00", "25:00-26:00"] },
                    "holidays": { "country": "GB" },
                    "closed": ["2026-02-30"]
                },
                "mars": { "timezone": "Mars/Olympus", "hours": {}, "holidays": { "country": "XX" } }
            },
            "policies": [
                { "name": "team", "first_response": "8h", "resolution": "3650d", "clock": "business-hours", "calendar": "london" },
                { "name": "team", "first_response": "24", "clock": "business-hours", "calendar": "paris" },
                { "match": { "channel": ["amazon", " "] }, "clock": "always", "pause_on": [""] }
            ]
        }));
        let expected = [
            "/calendars/london/hours/mon/1: \"25:00-26:00\": \"25:00\" is not a time of day",
            "/calendars/london/holidays/region: holidays for GB depend on the region: name one of ENG, NIR, SCT, WLS",
            "/calendars/london/closed/0: \"2026-02-30\" is not a date like 2026-12-24",
            "/calendars/mars/holidays/country: unknown holiday country `XX`",
            "/calendars/mars/timezone: \"Mars/Olympus\" is not an IANA time zone",
            "/calendars/mars/hours: no day has opening hours",
            "/policies/1/name: policy name \"team\" is also used by policy #1",
            "/policies/1/calendar: no calendar named \"paris\", expected one of london, mars",
            "/policies/1/first_response: invalid duration `24`: `24` has no unit",
            "/policies/2: the policy sets no deadline, expected at least one of first_response, next_response, resolution",
            "/policies/2/match/channel/1: empty value (leave the key out to match everything)",
            "/policies/2/pause_on/0: empty status",
        ];
        for text in expected {
            assert!(
                found.iter().any(|f| f.starts_with(text)),
                "{text}\nnot in\n{}",
                found.join("\n")
            );
        }
        assert_eq!(found.len(), expected.len(), "{}", found.join("\n"));
    }

    #[test]
    fn targets_must_fit_their_clock() {
        let found = problems(serde_json::json!({
            "calendars": { "berlin": { "timezone": "Europe/Berlin", "hours": {
                "mon": ["09:00-17:00"], "tue": ["09:00-17:00"], "wed": ["09:00-17:00"],
                "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]
            }, "holidays": { "country": "DE", "region": "BE" } } },
            "policies": [
                { "name": "hours", "first_response": "2080h", "resolution": "3650d", "clock": "business-hours", "calendar": "berlin" },
                { "name": "wall", "first_response": "365d", "resolution": "3650d", "clock": "always" }
            ]
        }));
        assert_eq!(
            found,
            [
                "/policies/0/resolution: 3650d is more business time than calendar `berlin` is open in a year (40h a week), expected at most 2080h",
                "/policies/1/resolution: 3650d is longer than a year on the 24/7 clock, expected at most 365d",
            ]
        );
    }
}
