//! Daylight-saving transitions: the bundled tz data against the published transition instants,
//! and business-time arithmetic across them giving the wall-clock-correct answer.
//!
//! Transition instants are from the IANA tz database rules as published (EU: last Sunday of
//! March and October at 01:00 UTC; US: second Sunday of March and first Sunday of November at
//! 02:00 local; New South Wales: first Sunday of April and October at 02:00 standard time;
//! Japan and China: no DST since 1951 and 1991).

use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use weft_plugin_sla::calendar::{Calendar, CalendarSpec, Period, UnknownYears, tzdb};
use weft_plugin_sla::holidays::HolidaySet;
use weft_plugin_sla::{add_business_duration, business_duration_between};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn calendar(zone: &str, week: [&[&str]; 7], holidays: Option<(&str, Option<&str>)>) -> Calendar {
    let week = week.map(|day| day.iter().map(|p| Period::parse(p).unwrap()).collect());
    Calendar::new(CalendarSpec {
        name: "test".into(),
        timezone: zone.into(),
        week,
        holidays: holidays.map(|(c, r)| HolidaySet::new(c, r).unwrap()),
        closed: BTreeMap::new(),
        make_up_days: true,
        unknown_years: UnknownYears::Error,
    })
    .unwrap()
}

const OFFICE: &[&str] = &["09:00-17:00"];
const NONE: &[&str] = &[];
const ALL_DAY: &[&str] = &["00:00-24:00"];

fn weekdays(hours: &'static [&'static str]) -> [&'static [&'static str]; 7] {
    [hours, hours, hours, hours, hours, NONE, NONE]
}

fn offset_hours(zone: &str, at: &str) -> i32 {
    tzdb().get(zone).unwrap().to_offset(ts(at)).seconds() / 3600
}

#[test]
fn bundled_tz_data_has_the_published_transitions() {
    for (zone, before, after, from, to) in [
        ("Europe/Berlin", "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", 1, 2),
        ("Europe/Berlin", "2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z", 2, 1),
        (
            "America/New_York",
            "2026-03-08T06:59:59Z",
            "2026-03-08T07:00:00Z",
            -5,
            -4,
        ),
        (
            "America/New_York",
            "2026-11-01T05:59:59Z",
            "2026-11-01T06:00:00Z",
            -4,
            -5,
        ),
        (
            "Australia/Sydney",
            "2026-04-04T15:59:59Z",
            "2026-04-04T16:00:00Z",
            11,
            10,
        ),
        (
            "Australia/Sydney",
            "2026-10-03T15:59:59Z",
            "2026-10-03T16:00:00Z",
            10,
            11,
        ),
        ("Asia/Tokyo", "2026-03-29T00:59:59Z", "2026-10-25T01:00:00Z", 9, 9),
        ("Asia/Shanghai", "2026-03-08T06:59:59Z", "2026-11-01T06:00:00Z", 8, 8),
    ] {
        assert_eq!(offset_hours(zone, before), from, "{zone} at {before}");
        assert_eq!(offset_hours(zone, after), to, "{zone} at {after}");
    }
}

#[test]
fn round_the_clock_hours_equal_elapsed_time_across_transitions() {
    let cal = calendar("Europe/Berlin", [ALL_DAY; 7], None);
    // Saturday noon CET + 24h: the Sunday has only 23 hours on the clock.
    let r = add_business_duration(ts("2026-03-28T11:00:00Z"), SignedDuration::from_hours(24), &cal).unwrap();
    assert_eq!(r.at, ts("2026-03-29T11:00:00Z"));
    let week = business_duration_between(ts("2026-03-23T00:00:00+01:00"), ts("2026-03-30T00:00:00+02:00"), &cal);
    assert_eq!(week.unwrap(), SignedDuration::from_hours(7 * 24 - 1));
    let week = business_duration_between(ts("2026-10-19T00:00:00+02:00"), ts("2026-10-26T00:00:00+01:00"), &cal);
    assert_eq!(week.unwrap(), SignedDuration::from_hours(7 * 24 + 1));
}

#[test]
fn a_period_spanning_a_transition_lasts_as_long_as_the_clock_says() {
    let sunday_night = [NONE, NONE, NONE, NONE, NONE, NONE, &["01:00-05:00"][..]];
    let cal = calendar("Europe/Berlin", sunday_night, None);
    let between = |a: &str, b: &str| business_duration_between(ts(a), ts(b), &cal).unwrap();
    // 01:00 CET to 05:00 CEST is three real hours; 01:00 CEST to 05:00 CET five.
    assert_eq!(
        between("2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z"),
        SignedDuration::from_hours(3)
    );
    assert_eq!(
        between("2026-10-19T00:00:00Z", "2026-10-26T00:00:00Z"),
        SignedDuration::from_hours(5)
    );
    assert_eq!(
        between("2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"),
        SignedDuration::from_hours(4)
    );
}

#[test]
fn nonexistent_and_ambiguous_local_times_resolve_compatibly() {
    // 02:30 does not exist on 2026-03-29 in Berlin: it becomes 03:30 CEST (01:30 UTC).
    let gap = [NONE, NONE, NONE, NONE, NONE, NONE, &["02:30-04:00"][..]];
    let cal = calendar("Europe/Berlin", gap, None);
    let r = add_business_duration(ts("2026-03-28T12:00:00Z"), SignedDuration::from_mins(10), &cal).unwrap();
    assert_eq!(r.at, ts("2026-03-29T01:40:00Z"));
    // 02:30 exists twice on 2026-10-25: the earlier one (CEST, 00:30 UTC) starts the period,
    // 03:30 CET (02:30 UTC) ends it: two real hours.
    let fold = [NONE, NONE, NONE, NONE, NONE, NONE, &["02:30-03:30"][..]];
    let cal = calendar("Europe/Berlin", fold, None);
    let r = add_business_duration(ts("2026-10-24T12:00:00Z"), SignedDuration::from_mins(10), &cal).unwrap();
    assert_eq!(r.at, ts("2026-10-25T00:40:00Z"));
    let day = business_duration_between(ts("2026-10-24T12:00:00Z"), ts("2026-10-26T12:00:00Z"), &cal);
    assert_eq!(day.unwrap(), SignedDuration::from_hours(2));
}

#[test]
fn office_hours_over_the_spring_forward_weekends() {
    let two_hours = SignedDuration::from_hours(2);
    // Berlin: Friday 16:00 CET + 2h = Monday 10:00 CEST.
    let cal = calendar("Europe/Berlin", weekdays(OFFICE), None);
    let r = add_business_duration(ts("2026-03-27T15:00:00Z"), two_hours, &cal).unwrap();
    assert_eq!(r.at, ts("2026-03-30T08:00:00Z"));
    // New York: Friday 16:00 EST + 2h = Monday 10:00 EDT.
    let cal = calendar("America/New_York", weekdays(OFFICE), None);
    let r = add_business_duration(ts("2026-03-06T21:00:00Z"), two_hours, &cal).unwrap();
    assert_eq!(r.at, ts("2026-03-09T14:00:00Z"));
    // Sydney, DST ending: Friday 16:00 AEDT + 2h = Monday 10:00 AEST (no holidays here).
    let cal = calendar("Australia/Sydney", weekdays(OFFICE), None);
    let r = add_business_duration(ts("2026-04-03T05:00:00Z"), two_hours, &cal).unwrap();
    assert_eq!(r.at, ts("2026-04-06T00:00:00Z"));
    // Tokyo has no transitions: Friday 16:00 JST + 2h = Monday 10:00 JST.
    let cal = calendar("Asia/Tokyo", weekdays(OFFICE), None);
    let r = add_business_duration(ts("2026-03-27T07:00:00Z"), two_hours, &cal).unwrap();
    assert_eq!(r.at, ts("2026-03-30T01:00:00Z"));
}

#[test]
fn easter_in_sydney_skips_good_friday_and_easter_monday_across_the_transition() {
    let cal = calendar("Australia/Sydney", weekdays(OFFICE), Some(("AU", Some("NSW"))));
    // Thursday 2 April 16:00 AEDT + 2h: Friday and Monday are holidays, the clocks went back
    // on Sunday: Tuesday 7 April 10:00 AEST.
    let r = add_business_duration(ts("2026-04-02T05:00:00Z"), SignedDuration::from_hours(2), &cal).unwrap();
    assert_eq!(r.at, ts("2026-04-07T00:00:00Z"));
    let skipped: Vec<String> = r.skipped.iter().map(|s| format!("{} {}", s.date, s.why)).collect();
    assert_eq!(skipped, ["2026-04-03 Good Friday", "2026-04-06 Easter Monday"]);
}

#[test]
fn berlin_easter_with_a_lunch_break() {
    let hours: &[&str] = &["09:00-12:30", "13:30-18:00"];
    let cal = calendar("Europe/Berlin", weekdays(hours), Some(("DE", Some("BE"))));
    // Thursday 2 April 17:00 CEST + 8h: 1h on Thursday, Karfreitag and Ostermontag closed,
    // Tuesday 3.5h + 3.5h: Tuesday 7 April 17:00 CEST.
    let r = add_business_duration(ts("2026-04-02T15:00:00Z"), SignedDuration::from_hours(8), &cal).unwrap();
    assert_eq!(r.at, ts("2026-04-07T15:00:00Z"));
    assert_eq!(r.skipped.len(), 2);
}

#[test]
fn japanese_silver_week_and_chinese_make_up_saturday() {
    let cal = calendar("Asia/Tokyo", weekdays(&["09:00-18:00"]), Some(("JP", None)));
    // Friday 18 September 2026 17:00 JST + 2h: 21, 22, 23 September are holidays.
    let r = add_business_duration(ts("2026-09-18T08:00:00Z"), SignedDuration::from_hours(2), &cal).unwrap();
    assert_eq!(r.at, ts("2026-09-24T01:00:00Z"));
    let why: Vec<&str> = r.skipped.iter().map(|s| s.why.as_str()).collect();
    assert_eq!(why, ["敬老の日", "国民の休日", "秋分の日"]);

    let cal = calendar("Asia/Shanghai", weekdays(&["09:00-18:00"]), Some(("CN", None)));
    // Friday 13 February 2026 17:00 CST + 2h: Saturday the 14th is an official working day.
    let r = add_business_duration(ts("2026-02-13T09:00:00Z"), SignedDuration::from_hours(2), &cal).unwrap();
    assert_eq!(r.at, ts("2026-02-14T02:00:00Z"));
    // + 11h from the same start: the Spring Festival closes 15 to 23 February.
    let r = add_business_duration(ts("2026-02-13T09:00:00Z"), SignedDuration::from_hours(11), &cal).unwrap();
    assert_eq!(r.at, ts("2026-02-24T02:00:00Z"));
}

#[test]
fn unknown_holiday_years_are_an_error_when_asked_not_a_guess() {
    // python-holidays knows Germany's holidays from 1991 on.
    let cal = calendar("Europe/Berlin", weekdays(OFFICE), Some(("DE", None)));
    let err = add_business_duration(ts("1990-12-28T08:00:00Z"), SignedDuration::from_hours(20), &cal).unwrap_err();
    assert_eq!(
        err.to_string(),
        "calendar `test`: no holiday data for DE in 1990 (covered: 1991..=2100)"
    );
}

#[test]
fn unknown_holiday_years_count_weekly_hours_and_say_so() {
    let week = weekdays(OFFICE).map(|day| day.iter().map(|p| Period::parse(p).unwrap()).collect());
    let cal = Calendar::new(CalendarSpec {
        name: "test".into(),
        timezone: "Europe/Berlin".into(),
        week,
        holidays: Some(HolidaySet::new("DE", Some("BW")).unwrap()),
        closed: BTreeMap::new(),
        make_up_days: true,
        unknown_years: UnknownYears::WeeklyHoursOnly,
    })
    .unwrap();
    // Friday 28 December 1990 09:00 CET + 20h: Friday 8h, Monday 31 December 8h, then 1991
    // (covered), where Neujahr closes 1 January and Heilige Drei Könige is a Sunday: Wednesday
    // 2 January 13:00 CET.
    let r = add_business_duration(ts("1990-12-28T08:00:00Z"), SignedDuration::from_hours(20), &cal).unwrap();
    assert_eq!(r.at, ts("1991-01-02T12:00:00Z"));
    assert_eq!(r.uncovered_years, [1990]);
    let why: Vec<&str> = r.skipped.iter().map(|s| s.why.as_str()).collect();
    assert_eq!(why, ["Neujahr"]);
}

#[test]
fn adding_then_measuring_gives_back_the_duration() {
    let hours: &[&str] = &["08:30-12:00", "13:00-17:45"];
    let zones = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo"];
    for zone in zones {
        let cal = calendar(
            zone,
            [hours, hours, hours, hours, hours, &["10:00-14:00"][..], NONE],
            None,
        );
        let mut start = ts("2026-03-01T00:00:00Z");
        for step in 0..200 {
            let duration = SignedDuration::from_mins(37 * (step % 40) + 1);
            let end = add_business_duration(start, duration, &cal).unwrap().at;
            assert!(end > start);
            assert_eq!(
                business_duration_between(start, end, &cal).unwrap(),
                duration,
                "{zone} from {start}"
            );
            assert_eq!(business_duration_between(end, start, &cal).unwrap(), -duration);
            start += SignedDuration::from_mins(1307);
        }
    }
}
