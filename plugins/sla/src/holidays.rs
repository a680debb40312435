//! Public holidays by country and region: rules where the law gives a rule, tables where it does not.
//!
//! Rule-based countries (Easter via the Gregorian computus, nth-weekday rules, observed-day
//! shifting) follow the law as in force since 2022 and answer for [`RULE_YEARS`]; earlier or
//! later years are an error, not a guess. Japan needs the equinox days, which the National
//! Astronomical Observatory of Japan computes and the Cabinet announces each February for the
//! following year: a table covers [`JP_YEARS`]. China's holidays and make-up working days are
//! announced per year by the General Office of the State Council: a table covers [`CN_YEARS`].
//!
//! What counts: the days that are statutory days off for the whole country or the whole region
//! named. Holidays of single towns or of parts of a region (Mariä Himmelfahrt in Catholic
//! Bavarian communities, Augsburg's Friedensfest), days off only for banks or the civil service
//! (Brazil's Carnaval and Corpus Christi are *ponto facultativo*; the NSW bank holiday) and the
//! yearly regional moves of a Sunday holiday to Monday in Spain are left out: a seller who closes
//! on such a day lists it under the calendar's `closed`.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// Years answered by the rule-based countries.
pub const RULE_YEARS: RangeInclusive<i16> = 2022..=2099;
/// Years for which Japan's equinox days are in the table.
pub const JP_YEARS: RangeInclusive<i16> = 2022..=2030;
/// Years for which China's official schedule is in the table.
pub const CN_YEARS: RangeInclusive<i16> = 2025..=2026;

/// Countries with holiday data, as ISO 3166-1 alpha-2 codes.
pub const COUNTRIES: &[&str] = &[
    "DE", "AT", "CH", "FR", "ES", "IT", "NL", "GB", "US", "CA", "JP", "CN", "AU", "BR",
];

/// What went wrong looking up holidays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidayError {
    /// The country has no data here.
    #[error("unknown holiday country `{country}` (expected one of {})", COUNTRIES.join(", "))]
    UnknownCountry { country: String },
    /// The region is not one of the country's known regions.
    #[error("unknown region `{region}` for {country} (expected one of {})", known.join(", "))]
    UnknownRegion {
        country: &'static str,
        region: String,
        known: &'static [&'static str],
    },
    /// The country's holidays differ so much by region that a region must be named.
    #[error("holidays for {country} depend on the region: name one of {}", known.join(", "))]
    RegionRequired {
        country: &'static str,
        known: &'static [&'static str],
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
    /// The holiday's name in the country's language.
    pub name: String,
}

/// A year's holidays of one country or region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearDays {
    /// Days off, sorted by date.
    pub holidays: Vec<Holiday>,
    /// Weekend days declared working days in exchange for a bridge (China), sorted by date.
    pub working: Vec<Holiday>,
}

/// A checked country and region whose holidays can be listed year by year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidaySet {
    country: Country,
    region: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Country {
    De,
    At,
    Ch,
    Fr,
    Es,
    It,
    Nl,
    Gb,
    Us,
    Ca,
    Jp,
    Cn,
    Au,
    Br,
}

const DE_REGIONS: &[&str] = &[
    "BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH",
];
const CH_REGIONS: &[&str] = &["ZH"];
const FR_REGIONS: &[&str] = &["57", "67", "68"];
const ES_REGIONS: &[&str] = &["MD", "CT"];
const GB_REGIONS: &[&str] = &["ENG", "WLS", "SCT", "NIR"];
const AU_REGIONS: &[&str] = &["NSW"];
const NONE: &[&str] = &[];

impl Country {
    fn code(self) -> &'static str {
        COUNTRIES[self as usize]
    }

    /// Known regions, and whether one must be named.
    fn regions(self) -> (&'static [&'static str], bool) {
        match self {
            Country::De => (DE_REGIONS, false),
            Country::Ch => (CH_REGIONS, true),
            Country::Fr => (FR_REGIONS, false),
            Country::Es => (ES_REGIONS, false),
            Country::Gb => (GB_REGIONS, true),
            Country::Au => (AU_REGIONS, true),
            _ => (NONE, false),
        }
    }

    fn years(self) -> RangeInclusive<i16> {
        match self {
            Country::Jp => JP_YEARS,
            Country::Cn => CN_YEARS,
            _ => RULE_YEARS,
        }
    }
}

impl HolidaySet {
    /// Checks a country code (ISO 3166-1 alpha-2) and an optional region code (the ISO 3166-2
    /// suffix: `BY` for Bavaria, `SCT` for Scotland; for France the département number).
    pub fn new(country: &str, region: Option<&str>) -> Result<Self, HolidayError> {
        let upper = country.trim().to_ascii_uppercase();
        let index = COUNTRIES
            .iter()
            .position(|c| *c == upper)
            .ok_or_else(|| HolidayError::UnknownCountry {
                country: country.to_owned(),
            })?;
        let all = [
            Country::De,
            Country::At,
            Country::Ch,
            Country::Fr,
            Country::Es,
            Country::It,
            Country::Nl,
            Country::Gb,
            Country::Us,
            Country::Ca,
            Country::Jp,
            Country::Cn,
            Country::Au,
            Country::Br,
        ];
        let country = all[index];
        let (known, required) = country.regions();
        let region = match region.map(|r| r.trim().to_ascii_uppercase()) {
            None if required => {
                return Err(HolidayError::RegionRequired {
                    country: country.code(),
                    known,
                });
            }
            None => None,
            Some(r) => Some(*known.iter().find(|k| **k == r).ok_or(HolidayError::UnknownRegion {
                country: country.code(),
                region: r.clone(),
                known,
            })?),
        };
        Ok(HolidaySet { country, region })
    }

    /// `DE-BE`, `JP`: the set's name for evidence.
    pub fn label(&self) -> String {
        match self.region {
            Some(r) => format!("{}-{r}", self.country.code()),
            None => self.country.code().to_owned(),
        }
    }

    /// The year's holidays and make-up working days.
    pub fn year(&self, year: i16) -> Result<YearDays, HolidayError> {
        let covered = self.country.years();
        if !covered.contains(&year) {
            return Err(HolidayError::YearNotCovered {
                country: self.country.code(),
                year,
                covered,
            });
        }
        let mut days = Days::default();
        let region = self.region.unwrap_or("");
        match self.country {
            Country::De => germany(&mut days, year, region),
            Country::At => austria(&mut days, year),
            Country::Ch => zurich(&mut days, year),
            Country::Fr => france(&mut days, year, region),
            Country::Es => spain(&mut days, year, region),
            Country::It => italy(&mut days, year),
            Country::Nl => netherlands(&mut days, year),
            Country::Gb => britain(&mut days, year, region),
            Country::Us => united_states(&mut days, year),
            Country::Ca => canada(&mut days, year),
            Country::Jp => japan(&mut days, year),
            Country::Cn => return Ok(china(year)),
            Country::Au => new_south_wales(&mut days, year),
            Country::Br => brazil(&mut days, year),
        }
        let mut holidays = days.0;
        holidays.sort();
        holidays.dedup_by(|a, b| a.date == b.date);
        Ok(YearDays {
            holidays,
            working: Vec::new(),
        })
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

fn plus(d: Date, days: i32) -> Date {
    d.saturating_add(days.days())
}

/// The `n`th `weekday` of a month; `n = -1` is the last.
fn nth(year: i16, month: i8, n: i8, weekday: Weekday) -> Date {
    let first = date(year, month, 1);
    // n is 1..=4 or -1 at every call site, which always exists.
    first.nth_weekday_of_month(n, weekday).unwrap_or(first)
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[derive(Default)]
struct Days(Vec<Holiday>);

impl Days {
    fn add(&mut self, d: Date, name: &str) {
        self.0.push(Holiday {
            date: d,
            name: name.to_owned(),
        });
    }
    fn ymd(&mut self, year: i16, month: i8, day: i8, name: &str) {
        self.add(date(year, month, day), name);
    }
    fn contains(&self, d: Date) -> bool {
        self.0.iter().any(|h| h.date == d)
    }
    /// Gives each of `fixed` that falls on a weekend a substitute: the next weekday that is not
    /// already a holiday, in date order (the British, Australian and Canadian rule). With
    /// `replace` the weekend date stops being a holiday (a British bank holiday moves); without,
    /// the substitute is an additional day (Australia, Canada).
    fn substitute_weekends(&mut self, fixed: &[Date], suffix: &str, replace: bool) {
        let mut fixed = fixed.to_vec();
        fixed.sort();
        for d in fixed {
            if !is_weekend(d) {
                continue;
            }
            let name = self
                .0
                .iter()
                .find(|h| h.date == d)
                .map(|h| h.name.clone())
                .unwrap_or_default();
            let mut sub = plus(d, 1);
            while is_weekend(sub) || self.contains(sub) {
                sub = plus(sub, 1);
            }
            self.add(sub, &format!("{name} {suffix}"));
            if replace {
                self.0.retain(|h| h.date != d);
            }
        }
    }
}

fn germany(days: &mut Days, y: i16, region: &str) {
    let e = easter(y);
    let is = |list: &[&str]| list.contains(&region);
    days.ymd(y, 1, 1, "Neujahr");
    if is(&["BW", "BY", "ST"]) {
        days.ymd(y, 1, 6, "Heilige Drei Könige");
    }
    if region == "BE" || (region == "MV" && y >= 2023) {
        days.ymd(y, 3, 8, "Internationaler Frauentag");
    }
    days.add(plus(e, -2), "Karfreitag");
    if region == "BB" {
        days.add(e, "Ostersonntag");
    }
    days.add(plus(e, 1), "Ostermontag");
    days.ymd(y, 5, 1, "Tag der Arbeit");
    if region == "BE" && y == 2025 {
        // One-off: 80th anniversary of the end of the Second World War (Berlin law of 2024).
        days.ymd(y, 5, 8, "80. Jahrestag der Befreiung vom Nationalsozialismus");
    }
    days.add(plus(e, 39), "Christi Himmelfahrt");
    if region == "BB" {
        days.add(plus(e, 49), "Pfingstsonntag");
    }
    days.add(plus(e, 50), "Pfingstmontag");
    if is(&["BW", "BY", "HE", "NW", "RP", "SL"]) {
        days.add(plus(e, 60), "Fronleichnam");
    }
    if region == "SL" {
        days.ymd(y, 8, 15, "Mariä Himmelfahrt");
    }
    if region == "TH" {
        days.ymd(y, 9, 20, "Weltkindertag");
    }
    days.ymd(y, 10, 3, "Tag der Deutschen Einheit");
    if is(&["BB", "HB", "HH", "MV", "NI", "SN", "ST", "SH", "TH"]) {
        days.ymd(y, 10, 31, "Reformationstag");
    }
    if is(&["BW", "BY", "NW", "RP", "SL"]) {
        days.ymd(y, 11, 1, "Allerheiligen");
    }
    if region == "SN" {
        // The last Wednesday before 23 November.
        let mut d = date(y, 11, 22);
        while d.weekday() != Weekday::Wednesday {
            d = plus(d, -1);
        }
        days.add(d, "Buß- und Bettag");
    }
    days.ymd(y, 12, 25, "1. Weihnachtstag");
    days.ymd(y, 12, 26, "2. Weihnachtstag");
}

fn austria(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Neujahr");
    days.ymd(y, 1, 6, "Heilige Drei Könige");
    days.add(plus(e, 1), "Ostermontag");
    days.ymd(y, 5, 1, "Staatsfeiertag");
    days.add(plus(e, 39), "Christi Himmelfahrt");
    days.add(plus(e, 50), "Pfingstmontag");
    days.add(plus(e, 60), "Fronleichnam");
    days.ymd(y, 8, 15, "Mariä Himmelfahrt");
    days.ymd(y, 10, 26, "Nationalfeiertag");
    days.ymd(y, 11, 1, "Allerheiligen");
    days.ymd(y, 12, 8, "Mariä Empfängnis");
    days.ymd(y, 12, 25, "Christtag");
    days.ymd(y, 12, 26, "Stefanitag");
}

/// Canton of Zurich (Ruhetagsgesetz), with the federal 1 August.
fn zurich(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Neujahrstag");
    days.ymd(y, 1, 2, "Berchtoldstag");
    days.add(plus(e, -2), "Karfreitag");
    days.add(plus(e, 1), "Ostermontag");
    days.ymd(y, 5, 1, "Tag der Arbeit");
    days.add(plus(e, 39), "Auffahrt");
    days.add(plus(e, 50), "Pfingstmontag");
    days.ymd(y, 8, 1, "Bundesfeier");
    days.ymd(y, 12, 25, "Weihnachtstag");
    days.ymd(y, 12, 26, "Stephanstag");
}

fn france(days: &mut Days, y: i16, region: &str) {
    let e = easter(y);
    let alsace_moselle = !region.is_empty();
    days.ymd(y, 1, 1, "Jour de l'an");
    if alsace_moselle {
        days.add(plus(e, -2), "Vendredi saint");
    }
    days.add(plus(e, 1), "Lundi de Pâques");
    days.ymd(y, 5, 1, "Fête du Travail");
    days.ymd(y, 5, 8, "Victoire 1945");
    days.add(plus(e, 39), "Ascension");
    days.add(plus(e, 50), "Lundi de Pentecôte");
    days.ymd(y, 7, 14, "Fête nationale");
    days.ymd(y, 8, 15, "Assomption");
    days.ymd(y, 11, 1, "Toussaint");
    days.ymd(y, 11, 11, "Armistice 1918");
    days.ymd(y, 12, 25, "Noël");
    if alsace_moselle {
        days.ymd(y, 12, 26, "Saint-Étienne");
    }
}

/// The *fiestas nacionales* every region keeps, plus the regional days Madrid and Catalonia keep
/// every year. The days a region picks anew each year (and the Monday after a national holiday
/// on Sunday) are announced in the BOE and the regional gazettes; list them under `closed`.
fn spain(days: &mut Days, y: i16, region: &str) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Año Nuevo");
    days.ymd(y, 1, 6, "Epifanía del Señor");
    if region == "MD" {
        days.add(plus(e, -3), "Jueves Santo");
    }
    days.add(plus(e, -2), "Viernes Santo");
    if region == "CT" {
        days.add(plus(e, 1), "Dilluns de Pasqua Florida");
    }
    days.ymd(y, 5, 1, "Fiesta del Trabajo");
    if region == "MD" {
        days.ymd(y, 5, 2, "Fiesta de la Comunidad de Madrid");
    }
    if region == "CT" {
        days.ymd(y, 6, 24, "Sant Joan");
    }
    days.ymd(y, 8, 15, "Asunción de la Virgen");
    if region == "CT" {
        days.ymd(y, 9, 11, "Diada Nacional de Catalunya");
    }
    days.ymd(y, 10, 12, "Fiesta Nacional de España");
    days.ymd(y, 11, 1, "Todos los Santos");
    days.ymd(y, 12, 6, "Día de la Constitución Española");
    days.ymd(y, 12, 8, "Inmaculada Concepción");
    days.ymd(y, 12, 25, "Natividad del Señor");
    if region == "CT" {
        days.ymd(y, 12, 26, "Sant Esteve");
    }
}

fn italy(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Capodanno");
    days.ymd(y, 1, 6, "Epifania");
    days.add(e, "Pasqua");
    days.add(plus(e, 1), "Lunedì dell'Angelo");
    days.ymd(y, 4, 25, "Festa della Liberazione");
    days.ymd(y, 5, 1, "Festa del Lavoro");
    days.ymd(y, 6, 2, "Festa della Repubblica");
    days.ymd(y, 8, 15, "Ferragosto");
    if y >= 2026 {
        // Restored as a national holiday from 2026 (law of October 2025).
        days.ymd(y, 10, 4, "San Francesco d'Assisi");
    }
    days.ymd(y, 11, 1, "Ognissanti");
    days.ymd(y, 12, 8, "Immacolata Concezione");
    days.ymd(y, 12, 25, "Natale");
    days.ymd(y, 12, 26, "Santo Stefano");
}

/// The days of the *Algemene termijnenwet*. Good Friday is not one of them.
fn netherlands(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Nieuwjaarsdag");
    days.add(e, "Eerste Paasdag");
    days.add(plus(e, 1), "Tweede Paasdag");
    let kings_day = date(y, 4, 27);
    let kings_day = if kings_day.weekday() == Weekday::Sunday {
        plus(kings_day, -1)
    } else {
        kings_day
    };
    days.add(kings_day, "Koningsdag");
    days.ymd(y, 5, 5, "Bevrijdingsdag");
    days.add(plus(e, 39), "Hemelvaartsdag");
    days.add(plus(e, 49), "Eerste Pinksterdag");
    days.add(plus(e, 50), "Tweede Pinksterdag");
    days.ymd(y, 12, 25, "Eerste Kerstdag");
    days.ymd(y, 12, 26, "Tweede Kerstdag");
}

fn britain(days: &mut Days, y: i16, region: &str) {
    let e = easter(y);
    let scotland = region == "SCT";
    let mut fixed = vec![date(y, 1, 1)];
    days.ymd(y, 1, 1, "New Year’s Day");
    if scotland {
        days.ymd(y, 1, 2, "2nd January");
        fixed.push(date(y, 1, 2));
    }
    if region == "NIR" {
        days.ymd(y, 3, 17, "St Patrick’s Day");
        fixed.push(date(y, 3, 17));
    }
    days.add(plus(e, -2), "Good Friday");
    if !scotland {
        days.add(plus(e, 1), "Easter Monday");
    }
    days.add(nth(y, 5, 1, Weekday::Monday), "Early May bank holiday");
    days.add(nth(y, 5, -1, Weekday::Monday), "Spring bank holiday");
    if region == "NIR" {
        days.ymd(y, 7, 12, "Battle of the Boyne (Orangemen’s Day)");
        fixed.push(date(y, 7, 12));
    }
    if scotland {
        days.add(nth(y, 8, 1, Weekday::Monday), "Summer bank holiday");
        days.ymd(y, 11, 30, "St Andrew’s Day");
        fixed.push(date(y, 11, 30));
    } else {
        days.add(nth(y, 8, -1, Weekday::Monday), "Summer bank holiday");
    }
    days.ymd(y, 12, 25, "Christmas Day");
    days.ymd(y, 12, 26, "Boxing Day");
    fixed.extend([date(y, 12, 25), date(y, 12, 26)]);
    days.substitute_weekends(&fixed, "(substitute day)", true);
}

/// Federal holidays (5 U.S.C. 6103), observed on the Friday before a Saturday and the Monday
/// after a Sunday. A Saturday 1 January is observed on 31 December of the year before.
fn united_states(days: &mut Days, y: i16) {
    let observed = |d: Date| match d.weekday() {
        Weekday::Saturday => (plus(d, -1), true),
        Weekday::Sunday => (plus(d, 1), true),
        _ => (d, false),
    };
    let fixed = |days: &mut Days, month: i8, day: i8, name: &str| {
        let (d, moved) = observed(date(y, month, day));
        if d.year() == y {
            days.add(
                d,
                &if moved {
                    format!("{name} (observed)")
                } else {
                    name.to_owned()
                },
            );
        }
    };
    fixed(days, 1, 1, "New Year’s Day");
    days.add(nth(y, 1, 3, Weekday::Monday), "Birthday of Martin Luther King, Jr.");
    days.add(nth(y, 2, 3, Weekday::Monday), "Washington’s Birthday");
    days.add(nth(y, 5, -1, Weekday::Monday), "Memorial Day");
    fixed(days, 6, 19, "Juneteenth National Independence Day");
    fixed(days, 7, 4, "Independence Day");
    days.add(nth(y, 9, 1, Weekday::Monday), "Labor Day");
    days.add(nth(y, 10, 2, Weekday::Monday), "Columbus Day");
    fixed(days, 11, 11, "Veterans Day");
    days.add(nth(y, 11, 4, Weekday::Thursday), "Thanksgiving Day");
    fixed(days, 12, 25, "Christmas Day");
    if y < *RULE_YEARS.end() && date(y + 1, 1, 1).weekday() == Weekday::Saturday {
        days.ymd(y, 12, 31, "New Year’s Day (observed)");
    }
}

/// The general holidays of the Canada Labour Code (federally regulated work), a fixed-date
/// holiday on a weekend moving to the next working day.
fn canada(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "New Year’s Day / Jour de l’An");
    days.add(plus(e, -2), "Good Friday / Vendredi saint");
    // Victoria Day: the Monday before 25 May.
    let mut victoria = date(y, 5, 24);
    while victoria.weekday() != Weekday::Monday {
        victoria = plus(victoria, -1);
    }
    days.add(victoria, "Victoria Day / Fête de la Reine");
    days.ymd(y, 7, 1, "Canada Day / Fête du Canada");
    days.add(nth(y, 9, 1, Weekday::Monday), "Labour Day / Fête du Travail");
    days.ymd(
        y,
        9,
        30,
        "National Day for Truth and Reconciliation / Journée nationale de la vérité et de la réconciliation",
    );
    days.add(nth(y, 10, 2, Weekday::Monday), "Thanksgiving / Action de grâce");
    days.ymd(y, 11, 11, "Remembrance Day / Jour du Souvenir");
    days.ymd(y, 12, 25, "Christmas Day / Noël");
    days.ymd(y, 12, 26, "Boxing Day / Lendemain de Noël");
    let fixed: Vec<Date> = [(1, 1), (7, 1), (9, 30), (11, 11), (12, 25), (12, 26)]
        .into_iter()
        .map(|(m, d)| date(y, m, d))
        .collect();
    days.substitute_weekends(&fixed, "(observed / jour férié reporté)", false);
}

/// Vernal and autumnal equinox days (month 3 and 9), as computed by the National Astronomical
/// Observatory of Japan and announced in the Official Gazette (官報).
const JP_EQUINOXES: &[(i16, i8, i8)] = &[
    (2022, 21, 23),
    (2023, 21, 23),
    (2024, 20, 22),
    (2025, 20, 23),
    (2026, 20, 23),
    (2027, 21, 23),
    (2028, 20, 22),
    (2029, 20, 23),
    (2030, 20, 23),
];

/// 国民の祝日に関する法律: the holidays, 振替休日 (a holiday on a Sunday moves to the next day
/// that is not a holiday) and 国民の休日 (a day between two holidays is a day off).
fn japan(days: &mut Days, y: i16) {
    let Some(&(_, vernal, autumnal)) = JP_EQUINOXES.iter().find(|(year, ..)| *year == y) else {
        return;
    };
    days.ymd(y, 1, 1, "元日");
    days.add(nth(y, 1, 2, Weekday::Monday), "成人の日");
    days.ymd(y, 2, 11, "建国記念の日");
    days.ymd(y, 2, 23, "天皇誕生日");
    days.ymd(y, 3, vernal, "春分の日");
    days.ymd(y, 4, 29, "昭和の日");
    days.ymd(y, 5, 3, "憲法記念日");
    days.ymd(y, 5, 4, "みどりの日");
    days.ymd(y, 5, 5, "こどもの日");
    days.add(nth(y, 7, 3, Weekday::Monday), "海の日");
    days.ymd(y, 8, 11, "山の日");
    days.add(nth(y, 9, 3, Weekday::Monday), "敬老の日");
    days.ymd(y, 9, autumnal, "秋分の日");
    days.add(nth(y, 10, 2, Weekday::Monday), "スポーツの日");
    days.ymd(y, 11, 3, "文化の日");
    days.ymd(y, 11, 23, "勤労感謝の日");
    let national: BTreeSet<Date> = days.0.iter().map(|h| h.date).collect();
    for d in national.iter().filter(|d| d.weekday() == Weekday::Sunday) {
        let mut sub = plus(*d, 1);
        while days.contains(sub) {
            sub = plus(sub, 1);
        }
        days.add(sub, "振替休日");
    }
    for d in &national {
        let between = plus(*d, 1);
        if national.contains(&plus(*d, 2)) && !days.contains(between) {
            days.add(between, "国民の休日");
        }
    }
}

/// The official schedules of the General Office of the State Council (国务院办公厅关于…部分节假日
/// 安排的通知): days off and the weekend days worked in exchange.
fn china(y: i16) -> YearDays {
    type Row = (&'static str, &'static [(i8, i8)], &'static [(i8, i8)]);
    // (holiday, days off, make-up working days)
    const Y2025: &[Row] = &[
        ("元旦", &[(1, 1)], &[]),
        (
            "春节",
            &[(1, 28), (1, 29), (1, 30), (1, 31), (2, 1), (2, 2), (2, 3), (2, 4)],
            &[(1, 26), (2, 8)],
        ),
        ("清明节", &[(4, 4), (4, 5), (4, 6)], &[]),
        ("劳动节", &[(5, 1), (5, 2), (5, 3), (5, 4), (5, 5)], &[(4, 27)]),
        ("端午节", &[(5, 31), (6, 1), (6, 2)], &[]),
        (
            "国庆节、中秋节",
            &[(10, 1), (10, 2), (10, 3), (10, 4), (10, 5), (10, 6), (10, 7), (10, 8)],
            &[(9, 28), (10, 11)],
        ),
    ];
    const Y2026: &[Row] = &[
        ("元旦", &[(1, 1), (1, 2), (1, 3)], &[(1, 4)]),
        (
            "春节",
            &[
                (2, 15),
                (2, 16),
                (2, 17),
                (2, 18),
                (2, 19),
                (2, 20),
                (2, 21),
                (2, 22),
                (2, 23),
            ],
            &[(2, 14), (2, 28)],
        ),
        ("清明节", &[(4, 4), (4, 5), (4, 6)], &[]),
        ("劳动节", &[(5, 1), (5, 2), (5, 3), (5, 4), (5, 5)], &[(5, 9)]),
        ("端午节", &[(6, 19), (6, 20), (6, 21)], &[]),
        ("中秋节", &[(9, 25), (9, 26), (9, 27)], &[]),
        (
            "国庆节",
            &[(10, 1), (10, 2), (10, 3), (10, 4), (10, 5), (10, 6), (10, 7)],
            &[(9, 20), (10, 10)],
        ),
    ];
    let rows = match y {
        2025 => Y2025,
        2026 => Y2026,
        _ => &[],
    };
    let mut out = YearDays::default();
    for (name, off, work) in rows {
        for &(m, d) in *off {
            out.holidays.push(Holiday {
                date: date(y, m, d),
                name: (*name).to_owned(),
            });
        }
        for &(m, d) in *work {
            out.working.push(Holiday {
                date: date(y, m, d),
                name: format!("{name}调休上班"),
            });
        }
    }
    out.holidays.sort();
    out.working.sort();
    out
}

/// New South Wales (Public Holidays Act 2010), with its additional days when a holiday falls
/// on a weekend. Anzac Day gets no additional day.
fn new_south_wales(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "New Year’s Day");
    let australia_day = match date(y, 1, 26).weekday() {
        Weekday::Saturday => date(y, 1, 28),
        Weekday::Sunday => date(y, 1, 27),
        _ => date(y, 1, 26),
    };
    days.add(australia_day, "Australia Day");
    days.add(plus(e, -2), "Good Friday");
    days.add(plus(e, -1), "Easter Saturday");
    days.add(e, "Easter Sunday");
    days.add(plus(e, 1), "Easter Monday");
    days.ymd(y, 4, 25, "Anzac Day");
    days.add(nth(y, 6, 2, Weekday::Monday), "King’s Birthday");
    days.add(nth(y, 10, 1, Weekday::Monday), "Labour Day");
    days.ymd(y, 12, 25, "Christmas Day");
    days.ymd(y, 12, 26, "Boxing Day");
    days.substitute_weekends(
        &[date(y, 1, 1), date(y, 12, 25), date(y, 12, 26)],
        "(additional day)",
        false,
    );
}

/// The *feriados nacionais* (Lei 662/1949 and successors, Lei 14.759/2023 for 20 November).
fn brazil(days: &mut Days, y: i16) {
    let e = easter(y);
    days.ymd(y, 1, 1, "Confraternização Universal");
    days.add(plus(e, -2), "Paixão de Cristo");
    days.ymd(y, 4, 21, "Tiradentes");
    days.ymd(y, 5, 1, "Dia Mundial do Trabalho");
    days.ymd(y, 9, 7, "Independência do Brasil");
    days.ymd(y, 10, 12, "Nossa Senhora Aparecida");
    days.ymd(y, 11, 2, "Finados");
    days.ymd(y, 11, 15, "Proclamação da República");
    if y >= 2024 {
        days.ymd(y, 11, 20, "Dia Nacional de Zumbi e da Consciência Negra");
    }
    days.ymd(y, 12, 25, "Natal");
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
        let cn = HolidaySet::new("cn", None).unwrap();
        let err = cn.year(2027).unwrap_err();
        assert_eq!(err.to_string(), "no holiday data for CN in 2027 (covered: 2025..=2026)");
        assert!(HolidaySet::new("JP", None).unwrap().year(2031).is_err());
        assert!(HolidaySet::new("de", Some("by")).unwrap().year(2021).is_err());
    }
}
