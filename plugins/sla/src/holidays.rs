//! Public holidays by country and region, for every year a ticket can carry.
//!
//! The data is generated from python-holidays (PyPI `holidays`, MIT licence; the version and how
//! to regenerate are in `data/generate.py`): 251 countries (ISO 3166-1 alpha-2) and their
//! subdivisions (ISO 3166-2 suffixes, for France also `6AE`, with weft's earlier `67` and `68`
//! for Alsace-Moselle), over 1970..=2100 where python-holidays covers those years. Holidays are
//! stored as rules where a rule reproduces python-holidays' dates (fixed dates, Western and
//! Orthodox Easter, the nth or last weekday of a month, observed and substitute days as a shift
//! per weekday, each for its range of years) and as date lists where none does (lunar and
//! Islamic calendars, decrees). Official make-up working days (China's 调休, Russia's переносы
//! and those of a dozen more countries) come along. weft's deliberate differences from
//! python-holidays are applied by the generator, each with its reason, and listed again in
//! `tests/python_holidays.rs`, which checks every set against python-holidays itself.
//!
//! A year outside a country's data is [`HolidayError::YearNotCovered`]; the calendar then counts
//! weekly hours only and says so (see [`crate::calendar::UnknownYears`]). [`country`] answers,
//! for a configuration check, whether a country is known, its regions, whether it needs one and
//! which years are covered.

use crate::holiday_data::{Rule, Set, data};
use jiff::civil::{Date, date};
use std::ops::RangeInclusive;

/// What went wrong looking up holidays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidayError {
    /// The country has no data here.
    #[error(
        "unknown holiday country `{country}` (expected an ISO 3166-1 alpha-2 code of one of the {known} countries with holiday data, e.g. DE, FR, US, JP, CN)"
    )]
    UnknownCountry { country: String, known: usize },
    /// The region is not one of the country's known regions.
    #[error("unknown region `{region}` for {country} (expected one of {})", known.join(", "))]
    UnknownRegion {
        country: &'static str,
        region: String,
        known: Vec<&'static str>,
    },
    /// The country's holidays differ so much by region that a region must be named.
    #[error("holidays for {country} depend on the region: name one of {}", known.join(", "))]
    RegionRequired {
        country: &'static str,
        known: Vec<&'static str>,
    },
    /// The year is outside the data.
    #[error("no holiday data for {country} in {year} (covered: {}..={})", covered.start(), covered.end())]
    YearNotCovered {
        country: &'static str,
        year: i16,
        covered: RangeInclusive<i16>,
    },
}

/// One day off (or, in [`YearDays::working`], one official make-up working day).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holiday {
    pub date: Date,
    /// The holiday's name in the country's language (python-holidays' default language for it).
    pub name: String,
}

/// A year's holidays of one country or region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearDays {
    /// Days off, sorted by date; a date with several holidays has their names joined by `; `.
    pub holidays: Vec<Holiday>,
    /// Weekend days declared working days in exchange for a bridge (China, Russia, ...), sorted.
    pub working: Vec<Holiday>,
}

/// What a configuration check needs to know about a country's holiday data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryInfo {
    /// The ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// The region codes a calendar may name (ISO 3166-2 suffixes, and aliases), sorted.
    pub regions: Vec<&'static str>,
    /// Whether a calendar of this country must name a region.
    pub region_required: bool,
    /// The years with holiday data; other years count weekly hours only.
    pub years: RangeInclusive<i16>,
}

/// Every country with holiday data, as ISO 3166-1 alpha-2 codes, sorted.
pub fn countries() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = data().sets.iter().map(|s| s.country).collect();
    out.dedup();
    out
}

/// The holiday data known for a country code (any case), or `None` if there is none.
pub fn country(code: &str) -> Option<CountryInfo> {
    let code = code.trim().to_ascii_uppercase();
    let data = data();
    let sets: Vec<&Set> = data.sets.iter().filter(|s| s.country == code).collect();
    let national = sets.iter().find(|s| s.region.is_none())?;
    let mut regions: Vec<&'static str> = sets
        .iter()
        .flat_map(|s| s.region.into_iter().chain(s.aliases.iter().copied()))
        .collect();
    regions.sort_unstable();
    Some(CountryInfo {
        code: national.country,
        regions,
        region_required: data.region_required.contains(&national.country),
        years: national.first..=national.last,
    })
}

/// A checked country and region whose holidays can be listed year by year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidaySet {
    set: usize,
}

impl HolidaySet {
    /// Checks a country code (ISO 3166-1 alpha-2) and an optional region code (the ISO 3166-2
    /// suffix: `BY` for Bavaria, `SCT` for Scotland).
    pub fn new(country: &str, region: Option<&str>) -> Result<Self, HolidayError> {
        let info = self::country(country).ok_or_else(|| HolidayError::UnknownCountry {
            country: country.to_owned(),
            known: countries().len(),
        })?;
        let sets = &data().sets;
        let region = region.map(|r| r.trim().to_ascii_uppercase());
        let set = match &region {
            None if info.region_required => {
                return Err(HolidayError::RegionRequired {
                    country: info.code,
                    known: info.regions,
                });
            }
            None => sets.iter().position(|s| s.country == info.code && s.region.is_none()),
            Some(r) => sets.iter().position(|s| {
                s.country == info.code
                    && (s.region.is_some_and(|own| own.eq_ignore_ascii_case(r))
                        || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(r)))
            }),
        };
        match (set, region) {
            (Some(set), _) => Ok(HolidaySet { set }),
            (None, region) => Err(HolidayError::UnknownRegion {
                country: info.code,
                region: region.unwrap_or_default(),
                known: info.regions,
            }),
        }
    }

    fn data(&self) -> &'static Set {
        &data().sets[self.set]
    }

    /// `DE-BE`, `JP`: the set's name for evidence.
    pub fn label(&self) -> String {
        let set = self.data();
        match set.region {
            Some(r) => format!("{}-{r}", set.country),
            None => set.country.to_owned(),
        }
    }

    /// The years the data covers.
    pub fn years(&self) -> RangeInclusive<i16> {
        let set = self.data();
        set.first..=set.last
    }

    /// The year's holidays and make-up working days.
    pub fn year(&self, year: i16) -> Result<YearDays, HolidayError> {
        let set = self.data();
        if !(set.first..=set.last).contains(&year) {
            return Err(HolidayError::YearNotCovered {
                country: set.country,
                year,
                covered: set.first..=set.last,
            });
        }
        let data = data();
        let mut days: Vec<(Date, u16)> = Vec::new();
        for &index in &set.entries {
            let entry = data.entry(index);
            if let Rule::Dates { list } = entry.rule {
                days.extend(data.list_dates(list, year).into_iter().map(|d| (d, entry.name)));
                continue;
            }
            // An observed day can fall in the year before or after its base date's year.
            for base in [year - 1, year, year + 1] {
                if !(entry.first..=entry.last).contains(&base) {
                    continue;
                }
                if let Some(d) = data.rule_date(entry, base).filter(|d| d.year() == year) {
                    days.push((d, entry.name));
                }
            }
        }
        days.sort();
        days.dedup();
        let mut holidays: Vec<Holiday> = Vec::with_capacity(days.len());
        for (d, name) in days {
            let name = data.string(name);
            match holidays.last_mut() {
                Some(last) if last.date == d => {
                    last.name.push_str("; ");
                    last.name.push_str(name);
                }
                _ => holidays.push(Holiday {
                    date: d,
                    name: name.to_owned(),
                }),
            }
        }
        let working = set
            .working
            .map(|list| data.list_dates(list, year))
            .unwrap_or_default()
            .into_iter()
            .map(|d| Holiday {
                date: d,
                name: "make-up working day".to_owned(),
            })
            .collect();
        Ok(YearDays { holidays, working })
    }
}

/// Easter Sunday in the Gregorian calendar (the anonymous "Meeus/Jones/Butcher" computus).
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction of the computus.
    date(year, month as i8, day as i8)
}

/// Orthodox Easter Sunday as a Gregorian date: the Julian computus (Meeus), moved by the
/// difference between the Julian and Gregorian calendars in that year (13 days in 1900..=2099).
pub fn orthodox_easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 4;
    let b = y % 7;
    let c = y % 19;
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    let gap = y / 100 - y / 400 - 2;
    // month is 3 or 4 and day 1..=31, a date as the Julian calendar writes it.
    date(year, month as i8, 1)
        .checked_add(jiff::Span::new().days(i64::from(day - 1 + gap)))
        .unwrap_or(date(year, month as i8, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computus_matches_known_easter_sundays() {
        // Published Easter dates (e.g. the tables of the Physikalisch-Technische Bundesanstalt).
        for (y, m, d) in [
            (2022, 4, 17),
            (2023, 4, 9),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2049, 4, 18),
        ] {
            assert_eq!(easter(y), date(y, m, d), "{y}");
        }
        // Orthodox Easter (the Greek and Serbian churches' published dates).
        for (y, m, d) in [(2023, 4, 16), (2024, 5, 5), (2025, 4, 20), (2026, 4, 12), (2027, 5, 2)] {
            assert_eq!(orthodox_easter(y), date(y, m, d), "{y}");
        }
    }

    #[test]
    fn unknown_inputs_are_typed_errors() {
        assert!(matches!(
            HolidaySet::new("XX", None),
            Err(HolidayError::UnknownCountry { .. })
        ));
        assert!(matches!(
            HolidaySet::new("DE", Some("ZZ")),
            Err(HolidayError::UnknownRegion { .. })
        ));
        assert!(matches!(
            HolidaySet::new("GB", None),
            Err(HolidayError::RegionRequired { .. })
        ));
        let de = HolidaySet::new("de", Some("by")).unwrap();
        assert_eq!(
            de.year(1985).unwrap_err().to_string(),
            "no holiday data for DE in 1985 (covered: 1991..=2100)"
        );
        assert!(de.year(2021).is_ok());
        assert!(HolidaySet::new("CN", None).unwrap().year(2027).is_ok());
        assert_eq!(HolidaySet::new("fr", Some("67")).unwrap().label(), "FR-6AE");
    }

    #[test]
    fn country_answers_what_a_configuration_check_asks() {
        let gb = country("gb").unwrap();
        assert!(gb.region_required);
        assert!(gb.regions.contains(&"SCT"));
        let de = country("DE").unwrap();
        assert!(!de.region_required);
        // The 16 Länder, and Augsburg with its Friedensfest.
        assert_eq!(de.regions.len(), 17);
        assert!(de.regions.contains(&"BY") && de.regions.contains(&"Augsburg"));
        assert_eq!(de.years, 1991..=2100);
        assert!(country("XX").is_none());
        assert!(countries().len() >= 250);
    }
}
