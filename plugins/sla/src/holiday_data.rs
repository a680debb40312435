//! The generated holiday data (`data/holidays.bin`, made by `data/generate.py` from
//! python-holidays) and its decoding into rules and date lists.
//!
//! # Layout (little-endian)
//! - `WEFTHOL1`, first and last year (u16 each);
//! - strings: u32 count, each u16 length + UTF-8 (holiday names, country and region codes);
//! - shift tables: u16 count, each 7 bytes, Monday first: the days a holiday moves from its base
//!   date when the base date is that weekday (`i8`), or 99 for "no holiday that year";
//! - date lists: u32 count, each u16 length + the dates as LEB128 gaps in days since 1970-01-01;
//! - entries: u32 count, 9 bytes each: kind, three arguments, shift table, first and last base
//!   year (offsets from the first year), name (u16 string index). Kinds: 0 fixed (month, day),
//!   1 Western Easter + days, 2 Orthodox Easter + days, 3 the weekday on or after a date (month,
//!   day, weekday), 4 the last weekday of a month (month, weekday), 5 a date list (u16 index);
//! - sets (a country, or one of its regions): u16 count, each country and region (string
//!   indices, 0xFFFF for none), first and last covered year, make-up working days (a date list
//!   or 0xFFFF), u16 entry count and the entry indices, u8 alias count and the aliases;
//! - the countries that need a region: u8 count, two ASCII bytes each.

use jiff::civil::{Date, Weekday, date};
use std::sync::OnceLock;

static BYTES: &[u8] = include_bytes!("../data/holidays.bin");

/// No date on this weekday, in a shift table.
const NO_DATE: u8 = 99;
/// No index.
const NONE: u16 = 0xFFFF;

/// How a holiday's base date is found in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Fixed {
        month: i8,
        day: i8,
    },
    Easter {
        days: i8,
    },
    OrthodoxEaster {
        days: i8,
    },
    OnOrAfter {
        month: i8,
        day: i8,
        weekday: Weekday,
    },
    LastWeekday {
        month: i8,
        weekday: Weekday,
    },
    /// Dates with no rule, listed.
    Dates {
        list: u16,
    },
}

/// One holiday of a set: a rule (with its weekday shift) over a range of base years.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub rule: Rule,
    shift: u16,
    pub first: i16,
    pub last: i16,
    pub name: u16,
}

/// A country, or one region of it.
#[derive(Debug)]
pub(crate) struct Set {
    pub country: &'static str,
    pub region: Option<&'static str>,
    pub first: i16,
    pub last: i16,
    pub working: Option<u16>,
    pub entries: Vec<u16>,
    pub aliases: Vec<&'static str>,
}

/// The decoded index; date lists stay encoded until a year needs them.
#[derive(Debug)]
pub(crate) struct Data {
    strings: Vec<&'static str>,
    shifts: Vec<[u8; 7]>,
    /// Offset and length of each date list.
    lists: Vec<(usize, u16)>,
    entries: Vec<Entry>,
    pub sets: Vec<Set>,
    pub region_required: Vec<&'static str>,
}

struct Reader {
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> &'static [u8] {
        let out = &BYTES[self.at..self.at + n];
        self.at += n;
        out
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        u16::from_le_bytes([b[0], b[1]])
    }
    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn leb(&mut self) -> u32 {
        let (mut value, mut shift) = (0u32, 0);
        loop {
            let byte = self.u8();
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
}

fn weekday(index: u8) -> Weekday {
    Weekday::from_monday_zero_offset(index as i8 % 7).unwrap_or(Weekday::Monday)
}

/// The data, decoded on first use. The file is generated and compiled in; a unit test decodes
/// it, so a malformed file fails the build's tests, not a ticket.
pub(crate) fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(decode)
}

fn decode() -> Data {
    let mut r = Reader { at: 0 };
    assert_eq!(r.take(8), b"WEFTHOL1", "data/holidays.bin: not weft holiday data");
    let first_year = r.u16() as i16;
    let _last_year = r.u16();
    let strings: Vec<&'static str> = (0..r.u32())
        .map(|_| {
            let n = r.u16() as usize;
            std::str::from_utf8(r.take(n)).expect("data/holidays.bin: strings are UTF-8")
        })
        .collect();
    let shifts: Vec<[u8; 7]> = (0..r.u16())
        .map(|_| r.take(7).try_into().expect("seven bytes"))
        .collect();
    let lists: Vec<(usize, u16)> = (0..r.u32())
        .map(|_| {
            let n = r.u16();
            let at = r.at;
            for _ in 0..n {
                r.leb();
            }
            (at, n)
        })
        .collect();
    let entries = (0..r.u32())
        .map(|_| {
            let b = r.take(9);
            let (a, c, d) = (b[1] as i8, b[2] as i8, b[3] as i8);
            let rule = match b[0] {
                0 => Rule::Fixed { month: a, day: c },
                1 => Rule::Easter { days: d },
                2 => Rule::OrthodoxEaster { days: d },
                3 => Rule::OnOrAfter {
                    month: a,
                    day: c,
                    weekday: weekday(b[3]),
                },
                4 => Rule::LastWeekday {
                    month: a,
                    weekday: weekday(b[3]),
                },
                5 => Rule::Dates {
                    list: u16::from_le_bytes([b[1], b[2]]),
                },
                other => panic!("data/holidays.bin: unknown rule kind {other}"),
            };
            let shift = if b[0] == 5 { NONE } else { u16::from(b[4]) };
            Entry {
                rule,
                shift,
                first: first_year + i16::from(b[5]),
                last: first_year + i16::from(b[6]),
                name: u16::from_le_bytes([b[7], b[8]]),
            }
        })
        .collect::<Vec<_>>();
    let string = |strings: &[&'static str], i: u16| strings[i as usize];
    let sets = (0..r.u16())
        .map(|_| {
            let country = string(&strings, r.u16());
            let region = match r.u16() {
                NONE => None,
                i => Some(string(&strings, i)),
            };
            let first = first_year + i16::from(r.u8());
            let last = first_year + i16::from(r.u8());
            let working = match r.u16() {
                NONE => None,
                i => Some(i),
            };
            let entries = (0..r.u16()).map(|_| r.u16()).collect();
            let aliases = (0..r.u8()).map(|_| string(&strings, r.u16())).collect();
            Set {
                country,
                region,
                first,
                last,
                working,
                entries,
                aliases,
            }
        })
        .collect();
    let region_required = (0..r.u8())
        .map(|_| std::str::from_utf8(r.take(2)).expect("ASCII country code"))
        .collect();
    assert_eq!(r.at, BYTES.len(), "data/holidays.bin: trailing bytes");
    Data {
        strings,
        shifts,
        lists,
        entries,
        sets,
        region_required,
    }
}

/// The date `days` after 1970-01-01 (days-from-civil inverted, as in H. Hinnant's
/// `civil_from_days`: cheaper than calendar arithmetic through spans for lists of thousands).
fn from_days(days: u32) -> Date {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Every list date lies within the generated years 1970..=2100.
    date(year as i16, month as i8, day as i8)
}

impl Data {
    pub fn string(&self, index: u16) -> &'static str {
        self.strings[index as usize]
    }

    pub fn entry(&self, index: u16) -> &Entry {
        &self.entries[index as usize]
    }

    /// The dates of a list that fall in `year`.
    pub fn list_dates(&self, list: u16, year: i16) -> Vec<Date> {
        let (at, n) = self.lists[list as usize];
        let mut r = Reader { at };
        let mut day = 0u32;
        let mut out = Vec::new();
        for _ in 0..n {
            day += r.leb();
            let d = from_days(day);
            if d.year() > year {
                break;
            }
            if d.year() == year {
                out.push(d);
            }
        }
        out
    }

    /// The date an entry gives for the base year `year`, after its weekday shift.
    pub fn rule_date(&self, entry: &Entry, year: i16) -> Option<Date> {
        let base = match entry.rule {
            Rule::Fixed { month, day } => Date::new(year, month, day).ok()?,
            Rule::Easter { days } => crate::holidays::easter(year)
                .checked_add(i64::from(days).days_span())
                .ok()?,
            Rule::OrthodoxEaster { days } => crate::holidays::orthodox_easter(year)
                .checked_add(i64::from(days).days_span())
                .ok()?,
            Rule::OnOrAfter { month, day, weekday } => {
                let start = Date::new(year, month, day).ok()?;
                let ahead = (weekday.to_monday_zero_offset() - start.weekday().to_monday_zero_offset()).rem_euclid(7);
                start.checked_add(i64::from(ahead).days_span()).ok()?
            }
            Rule::LastWeekday { month, weekday } => {
                let end = Date::new(year, month, 1).ok()?.last_of_month();
                let back = (end.weekday().to_monday_zero_offset() - weekday.to_monday_zero_offset()).rem_euclid(7);
                end.checked_sub(i64::from(back).days_span()).ok()?
            }
            Rule::Dates { .. } => return None,
        };
        let shift = self.shifts[entry.shift as usize][base.weekday().to_monday_zero_offset() as usize];
        if shift == NO_DATE {
            return None;
        }
        base.checked_add(i64::from(shift as i8).days_span()).ok()
    }
}

/// `n.days_span()`: a span of whole days.
trait DaysSpan {
    fn days_span(self) -> jiff::Span;
}

impl DaysSpan for i64 {
    fn days_span(self) -> jiff::Span {
        jiff::Span::new().days(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_file_decodes() {
        let data = data();
        assert!(data.sets.len() > 800, "{} sets", data.sets.len());
        assert!(data.sets.iter().any(|s| s.country == "DE" && s.region == Some("BY")));
        assert!(data.region_required.contains(&"GB"));
        for set in &data.sets {
            assert!(set.first <= set.last, "{}", set.country);
            for &e in &set.entries {
                assert!((e as usize) < data.entries.len());
            }
        }
    }

    #[test]
    fn days_since_1970_become_dates() {
        assert_eq!(from_days(0), date(1970, 1, 1));
        assert_eq!(from_days(59), date(1970, 3, 1));
        assert_eq!(from_days(20_454), date(2026, 1, 1));
        assert_eq!(from_days(47_846), date(2100, 12, 31));
    }
}
