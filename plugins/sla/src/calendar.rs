//! Business calendars and business-time arithmetic: weekly hours in an IANA zone, minus holidays
//! and the seller's closed dates.
//!
//! # How wall-clock periods become instants
//! A period `09:00-18:00` on a date starts at the instant the zone's clocks show 09:00 that day
//! and ends when they show 18:00; its business time is the real time between the two. A period
//! that spans a transition is therefore as long as the clocks say it is: `01:00-05:00` in
//! Europe/Berlin lasts 3 hours on the last Sunday of March and 5 hours on the last Sunday of
//! October. Local times that do not exist or exist twice are resolved the way RFC 5545 and
//! `jiff`'s *compatible* strategy do, the same on every machine:
//! - a time in a gap (02:30 in Berlin on the spring-forward day) is moved forward by the gap's
//!   length (03:30 CEST);
//! - a time in a fold (02:30 on the fall-back day) is the earlier of the two (02:30 CEST).
//!
//! Time zones come from the IANA database bundled into the plugin, never from the machine.
//!
//! # Which days are open
//! In order: a date in `closed` is closed; an official make-up working day (China) is open with
//! the hours of Monday, when `make_up_days` is on; a public holiday is closed; otherwise the
//! weekday's hours apply.

use crate::holidays::{HolidayError, HolidaySet, YearDays};
use jiff::civil::{Date, DateTime};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::OnceLock;

/// How far [`add_business_duration`] looks for open hours before it gives up: ten years.
const MAX_DAYS: usize = 3660;

/// Seconds in a day; a period may end at `24:00`.
const DAY: u32 = 86_400;

/// Why business-time arithmetic failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The holiday data does not cover a year the computation reached.
    #[error("calendar `{calendar}`: {source}")]
    Holidays { calendar: String, source: HolidayError },
    /// No open hour within ten years of the start.
    #[error("calendar `{calendar}` has no business hours in the ten years from {from}")]
    NoBusinessTime { calendar: String, from: Timestamp },
    /// The computation left the range of representable times.
    #[error("calendar `{calendar}`: time out of range after {from}")]
    OutOfRange { calendar: String, from: Timestamp },
}

/// The IANA database bundled with the plugin.
pub fn tzdb() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// One opening period of a day, in seconds after local midnight: `start < end <= 86400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    start: u32,
    end: u32,
}

impl Period {
    /// Parses `09:00-12:30`; `24:00` is allowed as an end. Periods never cross midnight.
    pub fn parse(text: &str) -> Result<Period, String> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a period like \"09:00-12:30\""))?;
        let start = clock(a.trim(), false).map_err(|e| format!("{text:?}: {e}"))?;
        let end = clock(b.trim(), true).map_err(|e| format!("{text:?}: {e}"))?;
        if start >= end {
            return Err(format!(
                "{text:?} ends before it starts (a period cannot cross midnight: split it at 24:00)"
            ));
        }
        Ok(Period { start, end })
    }
}

fn clock(text: &str, may_be_midnight_end: bool) -> Result<u32, String> {
    let (h, m) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not a time like 09:30"))?;
    let h: u32 = h.parse().map_err(|_| format!("bad hour in {text:?}"))?;
    let m: u32 = m.parse().map_err(|_| format!("bad minute in {text:?}"))?;
    if h == 24 && m == 0 && may_be_midnight_end {
        return Ok(DAY);
    }
    if h > 23 || m > 59 {
        return Err(format!("{text:?} is not a time of day"));
    }
    Ok(h * 3600 + m * 60)
}

/// What to do when the holiday data does not cover a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownYears {
    /// Fail the computation.
    Error,
    /// Count the weekly hours and `closed` dates only, and say so in the evidence (the
    /// default: a deadline on the weekly hours is better than a ticket without one).
    WeeklyHoursOnly,
}

/// A compiled business calendar.
#[derive(Debug)]
pub struct Calendar {
    name: String,
    zone_name: String,
    tz: TimeZone,
    /// Monday first.
    week: [Vec<Period>; 7],
    holidays: Option<HolidaySet>,
    closed: BTreeMap<Date, String>,
    make_up_days: bool,
    unknown_years: UnknownYears,
    years: RefCell<BTreeMap<i16, Option<Rc<YearDays>>>>,
}

/// Everything needed to build a [`Calendar`]; checked by [`Calendar::new`].
#[derive(Debug, Clone)]
pub struct CalendarSpec {
    pub name: String,
    /// An IANA zone name.
    pub timezone: String,
    /// Monday first; each day's periods in any order.
    pub week: [Vec<Period>; 7],
    pub holidays: Option<HolidaySet>,
    /// The seller's own closed dates with a label.
    pub closed: BTreeMap<Date, String>,
    pub make_up_days: bool,
    pub unknown_years: UnknownYears,
}

impl Calendar {
    /// Checks the zone and the weekly hours. Problems are returned as field-named messages.
    pub fn new(spec: CalendarSpec) -> Result<Calendar, Vec<String>> {
        let mut problems = Vec::new();
        let tz = match tzdb().get(&spec.timezone) {
            Ok(tz) => Some(tz),
            Err(e) => {
                problems.push(format!("timezone: {:?} is not an IANA time zone ({e})", spec.timezone));
                None
            }
        };
        let mut week = spec.week;
        for (day, periods) in week.iter_mut().enumerate() {
            periods.sort();
            for pair in periods.windows(2) {
                if pair[1].start < pair[0].end {
                    problems.push(format!("hours.{}: periods overlap", WEEKDAYS[day]));
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            problems.push("hours: no day has opening hours".to_owned());
        }
        match tz {
            Some(tz) if problems.is_empty() => Ok(Calendar {
                name: spec.name,
                zone_name: spec.timezone,
                tz,
                week,
                holidays: spec.holidays,
                closed: spec.closed,
                make_up_days: spec.make_up_days,
                unknown_years: spec.unknown_years,
                years: RefCell::new(BTreeMap::new()),
            }),
            _ => Err(problems),
        }
    }

    /// The calendar's name in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The IANA zone name.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The holiday set's label (`DE-BE`), if any.
    pub fn holiday_label(&self) -> Option<String> {
        self.holidays.as_ref().map(HolidaySet::label)
    }

    /// The years the holiday set's data covers, if there is a holiday set.
    pub fn holiday_years(&self) -> Option<std::ops::RangeInclusive<i16>> {
        self.holidays.as_ref().map(HolidaySet::years)
    }

    fn year(&self, year: i16) -> Result<Option<Rc<YearDays>>, CalendarError> {
        let Some(set) = &self.holidays else {
            return Ok(None);
        };
        if let Some(cached) = self.years.borrow().get(&year) {
            return Ok(cached.clone());
        }
        let days = match set.year(year) {
            Ok(days) => Some(Rc::new(days)),
            Err(_) if self.unknown_years == UnknownYears::WeeklyHoursOnly => None,
            Err(source) => {
                return Err(CalendarError::Holidays {
                    calendar: self.name.clone(),
                    source,
                });
            }
        };
        self.years.borrow_mut().insert(year, days.clone());
        Ok(days)
    }

    /// A date's open periods, why a normally open day is closed, and whether the holiday data
    /// did not cover the date's year.
    fn day(&self, date: Date) -> Result<Day<'_>, CalendarError> {
        let weekly = &self.week[date.weekday().to_monday_zero_offset() as usize];
        let closed = |why: String| Day {
            periods: &[],
            skipped: (!weekly.is_empty()).then_some(Skipped { date, why }),
            uncovered: false,
        };
        if let Some(label) = self.closed.get(&date) {
            return Ok(closed(label.clone()));
        }
        let open = |periods| Day {
            periods,
            skipped: None,
            uncovered: false,
        };
        let Some(year) = self.year(date.year())? else {
            return Ok(Day {
                uncovered: self.holidays.is_some(),
                ..open(weekly)
            });
        };
        if self.make_up_days && year.working.binary_search_by(|h| h.date.cmp(&date)).is_ok() {
            return Ok(open(&self.week[0]));
        }
        if let Ok(i) = year.holidays.binary_search_by(|h| h.date.cmp(&date)) {
            return Ok(closed(year.holidays[i].name.clone()));
        }
        Ok(open(weekly))
    }

    fn instant(&self, date: Date, seconds: u32) -> Option<Timestamp> {
        let (date, seconds) = if seconds == DAY {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, seconds)
        };
        let dt = DateTime::from_parts(
            date,
            jiff::civil::Time::new((seconds / 3600) as i8, ((seconds / 60) % 60) as i8, 0, 0).ok()?,
        );
        self.tz.to_ambiguous_timestamp(dt).compatible().ok()
    }

    /// The open intervals of a date as instants.
    fn intervals(&self, date: Date) -> Result<(Vec<(Timestamp, Timestamp)>, Day<'_>), CalendarError> {
        let day = self.day(date)?;
        let mut out = Vec::with_capacity(day.periods.len());
        for p in day.periods {
            let (Some(a), Some(b)) = (self.instant(date, p.start), self.instant(date, p.end)) else {
                return Err(CalendarError::OutOfRange {
                    calendar: self.name.clone(),
                    from: Timestamp::MIN,
                });
            };
            if a < b {
                out.push((a, b));
            }
        }
        Ok((out, day))
    }

    /// An instant as the calendar's clocks show it: `Tue 2026-04-07 17:00 CEST`.
    pub fn local(&self, at: Timestamp) -> String {
        at.to_zoned(self.tz.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }
}

/// The seven weekday keys, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A normally open day the computation skipped, and why (a holiday's name or a closed date's
/// label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub date: Date,
    pub why: String,
}

/// One date as the calendar sees it.
struct Day<'a> {
    periods: &'a [Period],
    skipped: Option<Skipped>,
    /// The holiday data did not cover the year and `unknown_years` said to go on.
    uncovered: bool,
}

/// Where a business duration ends, and what it skipped on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub at: Timestamp,
    /// Normally open days that were closed (holidays, closed dates), in order.
    pub skipped: Vec<Skipped>,
    /// Years the holiday data did not cover, counted on weekly hours only.
    pub uncovered_years: Vec<i16>,
}

/// The instant at which `duration` of business time has passed since `start`.
///
/// If the duration is used up exactly at the end of a period, that end is the answer (not the
/// start of the next period). A zero duration answers `start`.
pub fn add_business_duration(
    start: Timestamp,
    duration: SignedDuration,
    calendar: &Calendar,
) -> Result<Reached, CalendarError> {
    let mut left = duration.max(SignedDuration::ZERO);
    let mut reached = Reached {
        at: start,
        skipped: Vec::new(),
        uncovered_years: Vec::new(),
    };
    if left.is_zero() {
        return Ok(reached);
    }
    let first = calendar.local_date(start);
    let mut date = first.saturating_sub(1.day());
    for _ in 0..MAX_DAYS {
        let (intervals, day) = calendar.intervals(date)?;
        if date >= first {
            reached.skipped.extend(day.skipped);
            if day.uncovered && !reached.uncovered_years.contains(&date.year()) {
                reached.uncovered_years.push(date.year());
            }
        }
        for (a, b) in intervals {
            if b <= start {
                continue;
            }
            let a = a.max(start);
            let available = b.duration_since(a);
            if left <= available {
                let at = a.checked_add(left).map_err(|_| CalendarError::OutOfRange {
                    calendar: calendar.name.clone(),
                    from: start,
                })?;
                reached.at = at;
                return Ok(reached);
            }
            left -= available;
        }
        date = date.tomorrow().map_err(|_| CalendarError::OutOfRange {
            calendar: calendar.name.clone(),
            from: start,
        })?;
    }
    Err(CalendarError::NoBusinessTime {
        calendar: calendar.name.clone(),
        from: start,
    })
}

/// The business time between two instants; negative when `b` is before `a`.
pub fn business_duration_between(
    a: Timestamp,
    b: Timestamp,
    calendar: &Calendar,
) -> Result<SignedDuration, CalendarError> {
    if b < a {
        return business_duration_between(b, a, calendar).map(|d| -d);
    }
    let mut total = SignedDuration::ZERO;
    let mut date = calendar.local_date(a).saturating_sub(1.day());
    let last = calendar.local_date(b);
    while date <= last {
        for (start, end) in calendar.intervals(date)?.0 {
            let (start, end) = (start.max(a), end.min(b));
            if start < end {
                total += end.duration_since(start);
            }
        }
        date = date.tomorrow().map_err(|_| CalendarError::OutOfRange {
            calendar: calendar.name.clone(),
            from: a,
        })?;
    }
    Ok(total)
}
