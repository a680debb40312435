//! Compiles the `with:` configuration into checked policies and calendars, reporting every
//! problem at once, each named by policy or calendar and field.

use crate::calendar::{Calendar, CalendarSpec, Period, UnknownYears, WEEKDAYS};
use crate::config::{ClockConfig, Config, MatchConfig, UnknownYearsConfig};
use crate::holidays::HolidaySet;
use jiff::SignedDuration;
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::rc::Rc;
use weft_sdk::Error;
use weft_sdk::duration::Duration;

/// The deadline kinds, as `SetDeadline::kind` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Target {
    /// `first-response`, `next-response` or `resolution`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first-response",
            Target::NextResponse => "next-response",
            Target::Resolution => "resolution",
        }
    }
}

/// The clock a policy counts on.
#[derive(Debug, Clone)]
pub enum Clock {
    /// Wall time, 24/7.
    Always,
    /// The open hours of a calendar.
    Business(Rc<Calendar>),
}

/// A checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub matcher: Matcher,
    /// The configured targets, in the order first-response, next-response, resolution.
    pub targets: Vec<(Target, SignedDuration)>,
    pub clock: Clock,
    /// Lead times, longest first.
    pub warn_before: Vec<SignedDuration>,
    pub pause_on: Vec<String>,
}

/// Accepted values per ticket fact, lowercased; `None` accepts anything.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub channel: Option<Vec<String>>,
    pub marketplace: Option<Vec<String>>,
    pub priority: Option<Vec<String>>,
    pub category: Option<Vec<String>>,
}

/// The facts about a ticket that policies match on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFacts {
    pub channel: Option<String>,
    pub marketplace: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
}

impl Matcher {
    /// Why the policy applies (each given key and the ticket's value), or `None`.
    pub fn check(&self, facts: &TicketFacts) -> Option<Vec<String>> {
        let keys = [
            ("channel", &self.channel, &facts.channel),
            ("marketplace", &self.marketplace, &facts.marketplace),
            ("priority", &self.priority, &facts.priority),
            ("category", &self.category, &facts.category),
        ];
        let mut why = Vec::new();
        for (key, accepted, value) in keys {
            let Some(accepted) = accepted else { continue };
            let value = value.as_deref()?;
            if !accepted.iter().any(|a| *a == value.to_lowercase()) {
                return None;
            }
            why.push(format!("{key} is {value}"));
        }
        if why.is_empty() {
            why.push("the policy matches every ticket".to_owned());
        }
        Some(why)
    }
}

/// A deadline or a lead time: a duration in the grammar of [`weft_sdk::duration`], and not zero
/// (a deadline due at once or a warning at the deadline itself means nothing).
pub fn positive_duration(text: &str) -> Result<SignedDuration, String> {
    let duration = Duration::parse(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err(format!("`{text}` is zero, expected a positive duration such as 24h"));
    }
    Ok(SignedDuration::from_millis(duration.as_millis()))
}

/// Renders a duration in hours and smaller units (`74h30m`): on a business clock a day is not
/// a unit of its own, so days are shown as hours.
pub fn show_duration(d: SignedDuration) -> String {
    let mut ms = d.as_millis().unsigned_abs();
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if out.is_empty() { "0s".to_owned() } else { out }
}

/// The compiled configuration.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub policies: Vec<Policy>,
}

/// Checks the configuration. All problems come back in one [`Error::BadConfig`], separated by
/// `; `, each starting with `policy "<name>": <field>` or `calendar "<name>": <field>`.
pub fn compile(config: &Config) -> Result<Compiled, Error> {
    let mut problems = Vec::new();
    let mut calendars = BTreeMap::new();
    for (name, cal) in &config.calendars {
        let mut local = Vec::new();
        let mut week: [Vec<Period>; 7] = Default::default();
        for (day, periods) in cal.hours.days().into_iter().enumerate() {
            for text in periods {
                match Period::parse(text) {
                    Ok(p) => week[day].push(p),
                    Err(e) => local.push(format!("hours.{}: {e}", WEEKDAYS[day])),
                }
            }
        }
        let mut holidays = None;
        let (mut make_up_days, mut unknown_years) = (true, UnknownYears::WeeklyHoursOnly);
        if let Some(h) = &cal.holidays {
            match HolidaySet::new(&h.country, h.region.as_deref()) {
                Ok(set) => holidays = Some(set),
                Err(e) => local.push(format!("holidays: {e}")),
            }
            make_up_days = h.make_up_days;
            unknown_years = match h.unknown_years {
                UnknownYearsConfig::Error => UnknownYears::Error,
                UnknownYearsConfig::WeeklyHoursOnly => UnknownYears::WeeklyHoursOnly,
            };
        }
        let mut closed = BTreeMap::new();
        for text in &cal.closed {
            match text.trim().parse::<Date>() {
                Ok(d) => {
                    closed.insert(d, format!("closed on {d} (calendar `{name}`)"));
                }
                Err(e) => local.push(format!("closed: {text:?} is not a date like 2026-12-24 ({e})")),
            }
        }
        let spec = CalendarSpec {
            name: name.clone(),
            timezone: cal.timezone.clone(),
            week,
            holidays,
            closed,
            make_up_days,
            unknown_years,
        };
        match Calendar::new(spec) {
            Ok(c) if local.is_empty() => {
                calendars.insert(name.clone(), Rc::new(c));
            }
            Ok(_) => {}
            Err(more) => local.extend(more),
        }
        problems.extend(local.into_iter().map(|p| format!("calendar {name:?}: {p}")));
    }

    let mut policies = Vec::new();
    let mut seen = BTreeMap::new();
    for (index, p) in config.policies.iter().enumerate() {
        let name = p.name.clone().unwrap_or_else(|| format!("policy-{}", index + 1));
        let mut local = Vec::new();
        if name.trim().is_empty() {
            local.push("name: empty".to_owned());
        }
        if let Some(first) = seen.insert(name.clone(), index) {
            local.push(format!("name: also used by policy #{}", first + 1));
        }
        let mut targets = Vec::new();
        for (target, field, value) in [
            (Target::FirstResponse, "first_response", &p.first_response),
            (Target::NextResponse, "next_response", &p.next_response),
            (Target::Resolution, "resolution", &p.resolution),
        ] {
            if let Some(text) = value {
                match positive_duration(text) {
                    Ok(d) => targets.push((target, d)),
                    Err(e) => local.push(format!("{field}: {e}")),
                }
            }
        }
        if p.first_response.is_none() && p.next_response.is_none() && p.resolution.is_none() {
            local.push(
                "first_response: a policy needs at least one of first_response, next_response, resolution".to_owned(),
            );
        }
        let mut warn_before = Vec::new();
        for text in &p.warn_before {
            match positive_duration(text) {
                Ok(d) => warn_before.push(d),
                Err(e) => local.push(format!("warn_before: {e}")),
            }
        }
        warn_before.sort_by(|a, b| b.cmp(a));
        warn_before.dedup();
        let clock = match (p.clock, &p.calendar) {
            (ClockConfig::Always, None) => Some(Clock::Always),
            (ClockConfig::Always, Some(c)) => {
                local.push(format!("calendar: {c:?} is only used with clock: business-hours"));
                None
            }
            (ClockConfig::BusinessHours, None) => {
                local.push("calendar: clock: business-hours needs a calendar".to_owned());
                None
            }
            (ClockConfig::BusinessHours, Some(c)) => match calendars.get(c) {
                Some(cal) => Some(Clock::Business(Rc::clone(cal))),
                None if config.calendars.contains_key(c) => None,
                None => {
                    let known: Vec<&str> = config.calendars.keys().map(String::as_str).collect();
                    local.push(format!(
                        "calendar: no calendar named {c:?} (defined: {})",
                        known.join(", ")
                    ));
                    None
                }
            },
        };
        let matcher = matcher(&p.matches, &mut local);
        let pause_on: Vec<String> = p.pause_on.iter().map(|s| s.trim().to_lowercase()).collect();
        if pause_on.iter().any(String::is_empty) {
            local.push("pause_on: empty status".to_owned());
        }
        match clock {
            Some(clock) if local.is_empty() => policies.push(Policy {
                name,
                matcher,
                targets,
                clock,
                warn_before,
                pause_on,
            }),
            _ => problems.extend(local.into_iter().map(|l| format!("policy {name:?}: {l}"))),
        }
    }
    if problems.is_empty() {
        Ok(Compiled { policies })
    } else {
        Err(Error::bad_config(problems.join("; ")))
    }
}

fn matcher(m: &MatchConfig, problems: &mut Vec<String>) -> Matcher {
    let mut one = |key: &str, value: &Option<crate::config::OneOrMany>| {
        let values: Vec<String> = value
            .as_ref()?
            .values()
            .iter()
            .map(|v| v.trim().to_lowercase())
            .collect();
        if values.is_empty() || values.iter().any(String::is_empty) {
            problems.push(format!(
                "match.{key}: empty value (leave the key out to match everything)"
            ));
        }
        Some(values)
    };
    Matcher {
        channel: one("channel", &m.channel),
        marketplace: one("marketplace", &m.marketplace),
        priority: one("priority", &m.priority),
        category: one("category", &m.category),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_and_lead_times_are_positive_durations() {
        let accepted = [
            ("24h", SignedDuration::from_hours(24)),
            ("1h30m", SignedDuration::from_mins(90)),
            ("3d", SignedDuration::from_hours(72)),
            ("1500ms", SignedDuration::from_millis(1500)),
        ];
        for (text, expected) in accepted {
            assert_eq!(positive_duration(text), Ok(expected), "{text}");
        }
        let refused = [
            ("0h", "`0h` is zero, expected a positive duration such as 24h"),
            ("24", "invalid duration `24`: `24` has no unit; expected"),
            ("2w", "invalid duration `2w`: unknown unit `w` in `2w`; expected"),
            ("30m1h", "invalid duration `30m1h`: `1h` comes after `30m`"),
            ("36500d", "invalid duration `36500d`: it is longer than 10000 days"),
        ];
        for (text, expected) in refused {
            let error = positive_duration(text).unwrap_err();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
        assert_eq!(show_duration(SignedDuration::from_mins(1590)), "26h30m");
        assert_eq!(show_duration(SignedDuration::from_millis(90_500)), "1m30s500ms");
    }
}
