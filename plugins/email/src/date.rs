//! RFC 5322 dates as real mail writes them: obsolete two- and three-digit years, missing
//! seconds or weekday, named and military zones, comments such as `(CET)`, and the
//! `asctime`-like order some old mailers use (`Mon Nov 16 09:12:00 2026`).

use weft_sdk::Timestamp;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Zones written by name, with their offset in minutes. RFC 5322 names the US ones and
/// UT/GMT; the others are what European and Asian mailers are seen to write.
const NAMED_ZONES: [(&str, i32); 27] = [
    ("ut", 0),
    ("utc", 0),
    ("gmt", 0),
    ("z", 0),
    ("est", -300),
    ("edt", -240),
    ("cst", -360),
    ("cdt", -300),
    ("mst", -420),
    ("mdt", -360),
    ("pst", -480),
    ("pdt", -420),
    ("wet", 0),
    ("west", 60),
    ("bst", 60),
    ("cet", 60),
    ("met", 60),
    ("cest", 120),
    ("mest", 120),
    ("eet", 120),
    ("eest", 180),
    ("msk", 180),
    ("ist", 330),
    ("hkt", 480),
    ("jst", 540),
    ("kst", 540),
    ("aest", 600),
];

/// Milliseconds since the epoch for a date as written in a `Date` or `Received` header, or
/// why it is not one.
pub(crate) fn parse_date(text: &str) -> Result<Timestamp, String> {
    let cleaned = tighten_colons(&strip_comments(text));
    let mut day = None;
    let mut month = None;
    let mut year: Option<(i64, usize)> = None;
    let mut time = None;
    let mut offset_minutes = None;
    let tokens = cleaned
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty());
    // `16-Nov-99` (seen in old mailers) is three tokens.
    let tokens = tokens.flat_map(|t| {
        let dashed = t.split('-').collect::<Vec<_>>();
        let split = dashed.len() == 3 && dashed[1].chars().all(|c| c.is_ascii_alphabetic()) && !dashed[1].is_empty();
        if split { dashed } else { vec![t] }
    });
    for token in tokens {
        let lower = token.to_ascii_lowercase();
        if token.contains(':') && time.is_none() && token.starts_with(|c: char| c.is_ascii_digit()) {
            // A time, possibly with a zone glued to it (`09:12:00+0100`).
            let split = token.find(['+', '-']).unwrap_or(token.len());
            time = Some(parse_time(&token[..split])?);
            if split < token.len() {
                offset_minutes = Some(parse_numeric_zone(&token[split..])?);
            }
        } else if let Some(m) = month_number(&lower) {
            if month.is_some() {
                return Err(format!("two months in {text:?}"));
            }
            month = Some(m);
        } else if WEEKDAYS.iter().any(|w| lower.starts_with(w)) && lower.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        } else if token.starts_with(['+', '-']) && offset_minutes.is_none() {
            offset_minutes = Some(parse_numeric_zone(token)?);
        } else if token.chars().all(|c| c.is_ascii_digit()) {
            let value: i64 = token.parse().map_err(|_| format!("number {token:?} out of range"))?;
            if day.is_none() && token.len() <= 2 && (month.is_none() || year.is_none()) && value >= 1 {
                day = Some(value);
            } else if year.is_none() {
                year = Some((value, token.len()));
            } else {
                return Err(format!("unexpected number {token:?} in {text:?}"));
            }
        } else if let Some(zone) = named_zone(&lower) {
            if offset_minutes.is_none() {
                offset_minutes = Some(zone);
            }
        } else if lower.starts_with("gmt") || lower.starts_with("utc") {
            // `GMT+0100` and the like.
            offset_minutes = Some(parse_numeric_zone(&token[3..])?);
        } else {
            return Err(format!("unexpected {token:?} in {text:?}"));
        }
    }
    let day = day.ok_or_else(|| format!("no day in {text:?}"))?;
    let month = month.ok_or_else(|| format!("no month in {text:?}"))?;
    let (year, digits) = year.ok_or_else(|| format!("no year in {text:?}"))?;
    let (hour, minute, second) = time.ok_or_else(|| format!("no time of day in {text:?}"))?;
    // RFC 5322 4.3: two-digit years below 50 are 20xx, others and three-digit years are 19xx.
    let year = match digits {
        1 | 2 if year < 50 => year + 2000,
        1..=3 => year + 1900,
        _ => year,
    };
    // A missing zone is read as UTC (RFC 5322 says `-0000`: local time unknown).
    let offset = offset_minutes.unwrap_or(0);
    let date = jiff::civil::Date::new(
        i16::try_from(year).map_err(|_| format!("year {year} out of range"))?,
        month,
        i8::try_from(day).map_err(|_| format!("day {day} out of range"))?,
    )
    .map_err(|e| format!("{text:?} is not a calendar date: {e}"))?;
    let datetime = date
        .to_datetime(jiff::civil::Time::new(hour, minute, second.min(59), 0).map_err(|e| format!("bad time: {e}"))?);
    let zone = jiff::tz::Offset::from_seconds(offset * 60).map_err(|e| format!("bad zone: {e}"))?;
    let stamp = zone
        .to_timestamp(datetime)
        .map_err(|e| format!("{text:?} out of range: {e}"))?;
    Ok(stamp.as_millisecond())
}

/// Drops the white space the obsolete syntax allows around `:` in a time.
fn tighten_colons(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' {
            while out.ends_with(char::is_whitespace) {
                out.pop();
            }
            out.push(':');
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Removes `(comments)`, nested ones included.
fn strip_comments(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn month_number(lower: &str) -> Option<i8> {
    if lower.len() < 3 || !lower.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let index = MONTHS.iter().position(|m| lower.starts_with(m))?;
    Some(index as i8 + 1)
}

fn named_zone(lower: &str) -> Option<i32> {
    if let Some((_, offset)) = NAMED_ZONES.iter().find(|(name, _)| *name == lower) {
        return Some(*offset);
    }
    // Military single letters: RFC 5322 says their meaning is unreliable, read them as UTC.
    (lower.len() == 1 && lower.chars().all(|c| c.is_ascii_alphabetic() && c != 'j')).then_some(0)
}

fn parse_time(text: &str) -> Result<(i8, i8, i8), String> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
        return Err(format!("{text:?} is not a time of day"));
    }
    let number = |p: &str| p.parse::<i8>().map_err(|_| format!("{text:?} is not a time of day"));
    let (hour, minute) = (number(parts[0])?, number(parts[1])?);
    let second = if parts.len() == 3 { number(parts[2])? } else { 0 };
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("{text:?} is not a time of day"));
    }
    Ok((hour, minute, second))
}

fn parse_numeric_zone(text: &str) -> Result<i32, String> {
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(format!("{text:?} is not a zone")),
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 4 || digits.len() <= 2) || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{text:?} is not a zone"));
    }
    let value: i32 = digits.parse().map_err(|_| format!("{text:?} is not a zone"))?;
    let (hours, minutes) = if digits.len() == 4 {
        (value / 100, value % 100)
    } else {
        (value, 0)
    };
    if hours > 18 || minutes > 59 {
        return Err(format!("{text:?} is not a zone"));
    }
    Ok(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        let ms = parse_date(text).unwrap();
        jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
    }

    #[test]
    fn modern_and_obsolete_forms() {
        assert_eq!(at("Mon, 16 Nov 2026 09:12:00 +0100"), "2026-11-16T08:12:00Z");
        assert_eq!(at("Mon, 16 Nov 2026 09:12:00 +0100 (CET)"), "2026-11-16T08:12:00Z");
        assert_eq!(at("16 Nov 2026 09:12 +0100"), "2026-11-16T08:12:00Z");
        assert_eq!(at("Mon, 16 Nov 26 09:12:00 EST"), "2026-11-16T14:12:00Z");
        assert_eq!(at("Monday, 16-Nov-99 09:12:00 GMT"), "1999-11-16T09:12:00Z");
        assert_eq!(at("Mon,  16  Nov  2026  09 : 12 : 00  +0900"), "2026-11-16T00:12:00Z");
        assert_eq!(at("Mon Nov 16 09:12:00 2026"), "2026-11-16T09:12:00Z");
        assert_eq!(at("Mon, 16 Nov 2026 09:12:00 JST"), "2026-11-16T00:12:00Z");
        assert_eq!(at("Mon, 16 Nov 2026 09:12:00 CET"), "2026-11-16T08:12:00Z");
        assert_eq!(at("16 November 2026 09:12:00 GMT+0100"), "2026-11-16T08:12:00Z");
        assert_eq!(at("Mon, 16 Nov 2026 09:12:00 Z"), "2026-11-16T09:12:00Z");
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "yesterday",
            "Mon, 31 Feb 2026 09:12:00 +0100",
            "16 Nov 2026",
            "16 Nov 2026 25:00 +0100",
            "16 Nov 2026 09:12 +9999",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
