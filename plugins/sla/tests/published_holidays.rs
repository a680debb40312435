//! Holidays for 2025 and 2026 checked against the lists the governments publish.
//!
//! Every expected date below was written out from the official list named above it, not
//! computed by this crate. Where a country's rule covers more than the published list (or the
//! other way round), the comment says so.

use jiff::civil::Date;
use weft_plugin_sla::holidays::HolidaySet;

fn check(country: &str, region: Option<&str>, year: i16, expected: &str) {
    let set = HolidaySet::new(country, region).unwrap();
    let days = set.year(year).unwrap();
    let got: Vec<Date> = days.holidays.iter().map(|h| h.date).collect();
    let want: Vec<Date> = expected
        .split_whitespace()
        .map(|d| format!("{year}-{d}").parse().unwrap())
        .collect();
    let missing: Vec<_> = want.iter().filter(|d| !got.contains(d)).collect();
    let extra: Vec<_> = days.holidays.iter().filter(|h| !want.contains(&h.date)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} {year}: missing {missing:?}, not in the published list {extra:?}",
        set.label()
    );
}

fn working(country: &str, year: i16, expected: &str) {
    let days = HolidaySet::new(country, None).unwrap().year(year).unwrap();
    let got: Vec<String> = days
        .working
        .iter()
        .map(|h| h.date.strftime("%m-%d").to_string())
        .collect();
    assert_eq!(got.join(" "), expected, "{country} {year} make-up working days");
}

/// Germany. Bundesministerium des Innern, "Gesetzliche Feiertage"; the state holiday laws
/// (Berlin: Sonn- und Feiertagsgesetz, with the one-off 8 May 2025; Bayern: Feiertagsgesetz,
/// state-wide days only, so without Mariä Himmelfahrt, which is a holiday only in communities
/// with a predominantly Catholic population; Nordrhein-Westfalen: Feiertagsgesetz NW;
/// Sachsen: Sächsisches Sonn- und Feiertagsgesetz).
#[test]
fn germany() {
    check(
        "DE",
        None,
        2025,
        "01-01 04-18 04-21 05-01 05-29 06-09 10-03 12-25 12-26",
    );
    check(
        "DE",
        None,
        2026,
        "01-01 04-03 04-06 05-01 05-14 05-25 10-03 12-25 12-26",
    );
    check(
        "DE",
        Some("BE"),
        2025,
        "01-01 03-08 04-18 04-21 05-01 05-08 05-29 06-09 10-03 12-25 12-26",
    );
    check(
        "DE",
        Some("BE"),
        2026,
        "01-01 03-08 04-03 04-06 05-01 05-14 05-25 10-03 12-25 12-26",
    );
    check(
        "DE",
        Some("BY"),
        2025,
        "01-01 01-06 04-18 04-21 05-01 05-29 06-09 06-19 10-03 11-01 12-25 12-26",
    );
    check(
        "DE",
        Some("BY"),
        2026,
        "01-01 01-06 04-03 04-06 05-01 05-14 05-25 06-04 10-03 11-01 12-25 12-26",
    );
    check(
        "DE",
        Some("NW"),
        2025,
        "01-01 04-18 04-21 05-01 05-29 06-09 06-19 10-03 11-01 12-25 12-26",
    );
    check(
        "DE",
        Some("NW"),
        2026,
        "01-01 04-03 04-06 05-01 05-14 05-25 06-04 10-03 11-01 12-25 12-26",
    );
    check(
        "DE",
        Some("SN"),
        2025,
        "01-01 04-18 04-21 05-01 05-29 06-09 10-03 10-31 11-19 12-25 12-26",
    );
    check(
        "DE",
        Some("SN"),
        2026,
        "01-01 04-03 04-06 05-01 05-14 05-25 10-03 10-31 11-18 12-25 12-26",
    );
}

/// Austria. oesterreich.gv.at, "Gesetzliche Feiertage" (Feiertagsruhegesetz, ARG § 7).
#[test]
fn austria() {
    check(
        "AT",
        None,
        2025,
        "01-01 01-06 04-21 05-01 05-29 06-09 06-19 08-15 10-26 11-01 12-08 12-25 12-26",
    );
    check(
        "AT",
        None,
        2026,
        "01-01 01-06 04-06 05-01 05-14 05-25 06-04 08-15 10-26 11-01 12-08 12-25 12-26",
    );
}

/// Switzerland, canton of Zurich. zh.ch, "Feiertage und Ruhetage im Kanton Zürich".
#[test]
fn zurich() {
    check(
        "CH",
        Some("ZH"),
        2025,
        "01-01 01-02 04-18 04-21 05-01 05-29 06-09 08-01 12-25 12-26",
    );
    check(
        "CH",
        Some("ZH"),
        2026,
        "01-01 01-02 04-03 04-06 05-01 05-14 05-25 08-01 12-25 12-26",
    );
}

/// France. service-public.fr, "Jours fériés" (Code du travail L3133-1); Alsace-Moselle adds
/// Vendredi saint and 26 December (Code du travail L3134-13).
#[test]
fn france() {
    check(
        "FR",
        None,
        2025,
        "01-01 04-21 05-01 05-08 05-29 06-09 07-14 08-15 11-01 11-11 12-25",
    );
    check(
        "FR",
        None,
        2026,
        "01-01 04-06 05-01 05-08 05-14 05-25 07-14 08-15 11-01 11-11 12-25",
    );
    check(
        "FR",
        Some("67"),
        2026,
        "01-01 04-03 04-06 05-01 05-08 05-14 05-25 07-14 08-15 11-01 11-11 12-25 12-26",
    );
}

/// Spain. BOE, the yearly *Resolución de la Dirección General de Trabajo* with the *fiestas
/// laborales* for 2025 and 2026: the national days common to every region, each on its date
/// (in 2026, 1 November and 6 December fall on Sunday; moving them to Monday is each region's
/// choice and is not modelled).
#[test]
fn spain() {
    check(
        "ES",
        None,
        2025,
        "01-01 01-06 04-18 05-01 08-15 10-12 11-01 12-06 12-08 12-25",
    );
    check(
        "ES",
        None,
        2026,
        "01-01 01-06 04-03 05-01 08-15 10-12 11-01 12-06 12-08 12-25",
    );
}

/// Italy. governo.it, "Festività nazionali" (Legge 260/1949 and successors); 4 October
/// (San Francesco d'Assisi) is a national holiday again from 2026.
#[test]
fn italy() {
    check(
        "IT",
        None,
        2025,
        "01-01 01-06 04-20 04-21 04-25 05-01 06-02 08-15 11-01 12-08 12-25 12-26",
    );
    check(
        "IT",
        None,
        2026,
        "01-01 01-06 04-05 04-06 04-25 05-01 06-02 08-15 10-04 11-01 12-08 12-25 12-26",
    );
}

/// The Netherlands. rijksoverheid.nl, "Officiële feestdagen" (Algemene termijnenwet; Good
/// Friday is listed there but is no general day off and is not in the law). Koningsdag 2025
/// moved to Saturday 26 April because 27 April was a Sunday.
#[test]
fn netherlands() {
    check(
        "NL",
        None,
        2025,
        "01-01 04-20 04-21 04-26 05-05 05-29 06-08 06-09 12-25 12-26",
    );
    check(
        "NL",
        None,
        2026,
        "01-01 04-05 04-06 04-27 05-05 05-14 05-24 05-25 12-25 12-26",
    );
}

/// United Kingdom. gov.uk/bank-holidays (England and Wales; Scotland).
#[test]
fn britain() {
    check(
        "GB",
        Some("ENG"),
        2025,
        "01-01 04-18 04-21 05-05 05-26 08-25 12-25 12-26",
    );
    check(
        "GB",
        Some("ENG"),
        2026,
        "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28",
    );
    check(
        "GB",
        Some("SCT"),
        2025,
        "01-01 01-02 04-18 05-05 05-26 08-04 12-01 12-25 12-26",
    );
    check(
        "GB",
        Some("SCT"),
        2026,
        "01-01 01-02 04-03 05-04 05-25 08-03 11-30 12-25 12-28",
    );
}

/// United States. U.S. Office of Personnel Management, "Federal Holidays" for 2025 and 2026
/// (observed dates; the one-off executive-order closures of 24 and 26 December 2025 are not
/// holidays and are left out).
#[test]
fn united_states() {
    check(
        "US",
        None,
        2025,
        "01-01 01-20 02-17 05-26 06-19 07-04 09-01 10-13 11-11 11-27 12-25",
    );
    check(
        "US",
        None,
        2026,
        "01-01 01-19 02-16 05-25 06-19 07-03 09-07 10-12 11-11 11-26 12-25",
    );
}

/// Canada. canada.ca, "Statutory holidays" for federally regulated workplaces (Canada Labour
/// Code, s. 166): Boxing Day 2026 is a Saturday and is observed on Monday 28 December.
#[test]
fn canada() {
    check(
        "CA",
        None,
        2025,
        "01-01 04-18 05-19 07-01 09-01 09-30 10-13 11-11 12-25 12-26",
    );
    check(
        "CA",
        None,
        2026,
        "01-01 04-03 05-18 07-01 09-07 09-30 10-12 11-11 12-25 12-26 12-28",
    );
}

/// Japan. 内閣府「国民の祝日について」: the lists for 令和7年 (2025) and 令和8年 (2026), with
/// 振替休日 and, in 2026, 国民の休日 on 22 September.
#[test]
fn japan() {
    check(
        "JP",
        None,
        2025,
        "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 05-05 05-06 07-21 08-11 09-15 09-23 10-13 11-03 11-23 11-24",
    );
    check(
        "JP",
        None,
        2026,
        "01-01 01-12 02-11 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-20 08-11 09-21 09-22 09-23 10-12 11-03 11-23",
    );
}

/// China. 国务院办公厅关于2025年部分节假日安排的通知 (gov.cn, November 2024) and
/// 国务院办公厅关于2026年部分节假日安排的通知 (gov.cn, November 2025): days off, and the
/// weekend days worked in exchange.
#[test]
fn china() {
    check(
        "CN",
        None,
        2025,
        "01-01 01-28 01-29 01-30 01-31 02-01 02-02 02-03 02-04 04-04 04-05 04-06 05-01 05-02 05-03 05-04 05-05 \
         05-31 06-01 06-02 10-01 10-02 10-03 10-04 10-05 10-06 10-07 10-08",
    );
    working("CN", 2025, "01-26 02-08 04-27 09-28 10-11");
    check(
        "CN",
        None,
        2026,
        "01-01 01-02 01-03 02-15 02-16 02-17 02-18 02-19 02-20 02-21 02-22 02-23 04-04 04-05 04-06 05-01 05-02 \
         05-03 05-04 05-05 06-19 06-20 06-21 09-25 09-26 09-27 10-01 10-02 10-03 10-04 10-05 10-06 10-07",
    );
    working("CN", 2026, "01-04 02-14 02-28 05-09 09-20 10-10");
}

/// Australia, New South Wales. nsw.gov.au, "Public holidays" (Public Holidays Act 2010): Easter
/// Saturday and Sunday are public holidays; Australia Day 2025 moved to Monday 27 January;
/// Boxing Day 2026 (a Saturday) gets an additional day on Monday 28 December; Anzac Day on a
/// Saturday (2026) gets none. The NSW bank holiday in August is for banks only.
#[test]
fn new_south_wales() {
    check(
        "AU",
        Some("NSW"),
        2025,
        "01-01 01-27 04-18 04-19 04-20 04-21 04-25 06-09 10-06 12-25 12-26",
    );
    check(
        "AU",
        Some("NSW"),
        2026,
        "01-01 01-26 04-03 04-04 04-05 04-06 04-25 06-08 10-05 12-25 12-26 12-28",
    );
}

/// Brazil. Ministério da Gestão e da Inovação em Serviços Públicos, the yearly *portaria* on
/// *feriados nacionais e pontos facultativos* for 2025 and 2026: the feriados only (Carnaval
/// and Corpus Christi are pontos facultativos).
#[test]
fn brazil() {
    check(
        "BR",
        None,
        2025,
        "01-01 04-18 04-21 05-01 09-07 10-12 11-02 11-15 11-20 12-25",
    );
    check(
        "BR",
        None,
        2026,
        "01-01 04-03 04-21 05-01 09-07 10-12 11-02 11-15 11-20 12-25",
    );
}

/// Names are kept in the country's language and script (python-holidays' default language for
/// the country: Spanish for Catalonia).
#[test]
fn names_in_their_language() {
    let name = |country: &str, region: Option<&str>, y: i16, md: &str| {
        let d: Date = format!("{y}-{md}").parse().unwrap();
        let days = HolidaySet::new(country, region).unwrap().year(y).unwrap();
        days.holidays
            .into_iter()
            .find(|h| h.date == d)
            .map(|h| h.name)
            .unwrap_or_default()
    };
    assert_eq!(name("DE", Some("SN"), 2026, "11-18"), "Buß- und Bettag");
    assert_eq!(name("JP", None, 2026, "09-22"), "国民の休日");
    assert_eq!(name("JP", None, 2026, "05-06"), "振替休日");
    assert_eq!(name("CN", None, 2026, "02-17"), "春节");
    assert_eq!(name("FR", None, 2026, "04-06"), "Lundi de Pâques");
    assert_eq!(name("ES", Some("CT"), 2026, "09-11"), "Fiesta Nacional de Cataluña");
    assert_eq!(name("GB", Some("ENG"), 2026, "12-28"), "Boxing Day (observed)");
    assert_eq!(
        name("IT", None, 2026, "10-04"),
        "Festa nazionale di San Francesco d'Assisi, patrono d'Italia"
    );
}
