//! The shipped calendars against python-holidays itself, computed live: every country and region,
//! every year 2000..=2040 the data covers, holidays and make-up working days.
//!
//! The reference is PyPI `holidays` at the version `data/generate.py` read, installed with
//! `pip install --target` into `target/python-holidays-<version>` on first use. Without python3
//! or PyPI the test prints SKIPPED and passes. The differences weft makes on purpose are listed
//! in [`deliberate`], each with its reason; any other difference fails the test.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use weft_plugin_sla::holidays::{self, HolidaySet};

const VERSION: &str = "0.108";
const YEARS: std::ops::RangeInclusive<i16> = 2000..=2040;

/// Lists, per country and subdivision python-holidays supports, its covered years and the
/// holidays (1999..=2041) and make-up working days (2000..=2040), as JSON lines. Categories: `public`, and for
/// the two sets where weft closes on more (see `CATEGORIES` in `data/generate.py`) those too.
const SCRIPT: &str = r#"
import json, re, sys, warnings
import holidays
assert holidays.__version__ == sys.argv[1], holidays.__version__
CATEGORIES = {("CA", None): ("public", "government"), ("NL", None): ("public", "optional")}
for country in sorted(c for c in holidays.list_supported_countries() if len(c) == 2):
    cls = holidays.country_holidays(country).__class__
    for region in [None] + list(cls.subdivisions):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = holidays.country_holidays(country, subdiv=region, years=range(1970, 2101),
                                          language=cls.default_language,
                                          categories=CATEGORIES.get((country, region), ("public",)))
        first, last = max(1970, cls.start_year), min(2100, cls.end_year)
        for w in caught:
            m = re.search(r"available only from (\d+) to (\d+)", str(w.message))
            if m:
                first, last = max(first, int(m.group(1))), min(last, int(m.group(2)))
        # A year either side, for observed days that cross the new year.
        days = {str(d): n for d, n in h.items() if 1999 <= d.year <= 2041 and first <= d.year <= last}
        working = sorted(str(d) for d in h.weekend_workdays
                         if 2000 <= d.year <= 2040 and first <= d.year <= last and d not in h)
        print(json.dumps({"country": country, "region": region, "first": first, "last": last,
                          "days": days, "working": working}, ensure_ascii=False))
"#;

/// One set as python-holidays sees it: date -> name.
struct Year<'a> {
    country: &'a str,
    region: Option<&'a str>,
    python: &'a BTreeMap<String, String>,
}

fn weekday(date: &str) -> jiff::civil::Weekday {
    date.parse::<jiff::civil::Date>().expect("a date").weekday()
}

fn is_weekend(date: &str) -> bool {
    matches!(
        weekday(date),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    )
}

/// Whether each name of a python-holidays weekend date has its moved day (`<name> (observed)`,
/// `<name> (substitute day)`) within three days after or before.
fn moved_to_a_weekday(year: &Year, date: &str) -> bool {
    let d: jiff::civil::Date = date.parse().expect("a date");
    year.python[date].split("; ").all(|name| {
        (-3..=3).filter(|k| *k != 0).any(|k| {
            let other = d.checked_add(jiff::Span::new().days(k)).expect("in range").to_string();
            year.python.get(&other).is_some_and(|n| {
                n.contains(&format!("{name} (observed)")) || n.contains(&format!("{name} (substitute day)"))
            })
        })
    })
}

/// Why a date is a holiday on one side only, if weft differs there on purpose. `weft_only` says
/// which side has it.
fn deliberate(year: &Year, date: &str, weft_only: bool) -> Option<&'static str> {
    let python_name = || year.python.get(date).map(String::as_str).unwrap_or("");
    match (year.country, year.region, weft_only) {
        ("CN", None, true) if (date.starts_with("2025-") || date.starts_with("2026-")) && is_weekend(date) => Some(
            "China 2025/2026: the State Council's notices give whole holiday periods; python-holidays lists only their weekdays",
        ),
        ("CH", Some("ZH"), true) if date.ends_with("-01-02") => {
            Some("Zurich: Berchtoldstag is a public holiday of the canton; python-holidays lacks it")
        }
        ("NL", None, false) if python_name().eq_ignore_ascii_case("goede vrijdag") => {
            Some("Netherlands: Good Friday is no general day off (not in the Algemene termijnenwet)")
        }
        ("GB", _, false) if python_name().contains("FIFA World Cup") => {
            Some("Scotland: a holiday conditional on reaching the World Cup final is not a day off yet")
        }
        ("GB", _, false) | ("US", None, false) if is_weekend(date) && moved_to_a_weekday(year, date) => Some(
            "GB and US: a weekend holiday whose day off moved to a weekday is listed on that weekday only (gov.uk, OPM)",
        ),
        ("ES", None, true) if weekday(date) == jiff::civil::Weekday::Sunday => {
            Some("Spain: a fiesta nacional on a Sunday stays on its date; the move to Monday is regional")
        }
        ("IT", _, false) if is_unity_day(python_name()) => {
            Some("Italy: the Giornata dell'Unità nazionale is a commemoration, not a day off")
        }
        ("AU", Some("NSW"), false) if python_name().eq_ignore_ascii_case("ANZAC Day (observed)") => {
            Some("New South Wales: no additional day when Anzac Day falls on a weekend (Public Holidays Act 2010)")
        }
        _ => None,
    }
}

/// Italy's Giornata dell'Unità nazionale alone on its date (in any of python-holidays' spellings).
fn is_unity_day(name: &str) -> bool {
    let name = name.to_lowercase();
    !name.contains(';') && (name.contains("unità nazionale") || name.contains("national unity day"))
}

#[test]
fn calendars_match_python_holidays() {
    let dir = match weft_test_support::pip_package("holidays", "holidays", VERSION) {
        Ok(dir) => dir,
        Err(why) => {
            eprintln!("\n*** SKIPPED: python-holidays {VERSION} is not available ({why}) ***\n");
            return;
        }
    };
    let out = Command::new("python3")
        .args(["-W", "ignore", "-c", SCRIPT, VERSION])
        .env("PYTHONPATH", &dir)
        .output()
        .expect("python3 ran a moment ago");
    assert!(
        out.status.success(),
        "the reference script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut python_countries = BTreeSet::new();
    let (mut sets, mut set_years, mut compared, mut working_compared) = (0, 0, 0, 0);
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let set: Value = serde_json::from_str(line).expect("a JSON line");
        let country = set["country"].as_str().expect("country");
        let region = set["region"].as_str();
        python_countries.insert(country.to_owned());
        if region.is_none() && holidays::country(country).is_some_and(|c| c.region_required) {
            // weft asks for a region here; python-holidays' national set is the common days.
            continue;
        }
        let weft = HolidaySet::new(country, region)
            .unwrap_or_else(|e| panic!("{country} {region:?} is in python-holidays but not shipped: {e}"));
        sets += 1;
        let covered = set["first"].as_i64().expect("first") as i16..=set["last"].as_i64().expect("last") as i16;
        assert_eq!(
            weft.years(),
            covered,
            "{} covers other years than python-holidays",
            weft.label()
        );
        let python: BTreeMap<String, String> = serde_json::from_value(set["days"].clone()).expect("days");
        let python_working: BTreeSet<String> = serde_json::from_value(set["working"].clone()).expect("working");
        for y in YEARS.clone().filter(|y| covered.contains(y)) {
            set_years += 1;
            let days = weft.year(y).expect("a covered year");
            let prefix = format!("{y}-");
            let weft_dates: BTreeSet<String> = days.holidays.iter().map(|h| h.date.to_string()).collect();
            let python_year: BTreeMap<String, String> = python
                .iter()
                .filter(|(d, _)| d.starts_with(&prefix))
                .map(|(d, n)| (d.clone(), n.clone()))
                .collect();
            // Neighbouring days are looked up in every year: a Saturday 1 January is observed
            // on 31 December of the year before.
            let year = Year {
                country,
                region,
                python: &python,
            };
            for date in weft_dates.iter().chain(python_year.keys()).collect::<BTreeSet<_>>() {
                compared += 1;
                let (in_weft, in_python) = (weft_dates.contains(date), python_year.contains_key(date));
                if in_weft == in_python {
                    continue;
                }
                match deliberate(&year, date, in_weft) {
                    Some(reason) => *reasons.entry(reason).or_default() += 1,
                    None => wrong.push(format!(
                        "{} {date}: {}",
                        weft.label(),
                        if in_weft {
                            format!(
                                "weft only ({})",
                                days.holidays
                                    .iter()
                                    .find(|h| h.date.to_string() == *date)
                                    .map(|h| h.name.as_str())
                                    .unwrap_or("")
                            )
                        } else {
                            format!("python-holidays only ({})", python_year[date])
                        }
                    )),
                }
            }
            let weft_working: BTreeSet<String> = days.working.iter().map(|h| h.date.to_string()).collect();
            let python_working: BTreeSet<String> = python_working
                .iter()
                .filter(|d| d.starts_with(&prefix))
                .cloned()
                .collect();
            working_compared += weft_working.union(&python_working).count();
            if weft_working != python_working {
                wrong.push(format!(
                    "{} {y} make-up working days: weft {weft_working:?}, python-holidays {python_working:?}",
                    weft.label()
                ));
            }
        }
    }
    let shipped: BTreeSet<String> = holidays::countries().into_iter().map(str::to_owned).collect();
    assert_eq!(
        shipped, python_countries,
        "the shipped countries are python-holidays' countries"
    );
    let deliberate_total: usize = reasons.values().sum();
    eprintln!(
        "python-holidays {VERSION}: {} countries, {sets} sets, {set_years} set-years of {}..={}, \
         {compared} holiday dates and {working_compared} make-up working days compared; \
         {deliberate_total} deliberate differences, {} unexplained",
        shipped.len(),
        YEARS.start(),
        YEARS.end(),
        wrong.len()
    );
    for (reason, n) in &reasons {
        eprintln!("  {n:>5} × {reason}");
    }
    assert!(
        wrong.is_empty(),
        "{} differences from python-holidays (first 60):\n{}",
        wrong.len(),
        wrong.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}
