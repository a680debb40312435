//! Durations as workflows write them: `72h`, `30m`, `1d12h`, `500ms`.

use std::borrow::Cow;
use std::fmt;

/// A non-negative span of time with a unit on every number, e.g. `72h` or `1h30m`.
///
/// Units: `ms`, `s`, `m` (minutes), `h`, `d` (24 hours). A bare number is refused: `72` could
/// mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration {
    millis: i64,
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration, expected a number with a unit such as `72h`")]
    Empty,
    #[error("`{text}`: expected a number at byte {at}, such as `72h`")]
    ExpectedNumber { text: String, at: usize },
    #[error("`{text}`: the number at byte {at} has no unit, expected one of ms, s, m, h, d")]
    MissingUnit { text: String, at: usize },
    #[error("`{text}`: unknown unit `{unit}`, expected one of ms, s, m, h, d")]
    UnknownUnit { text: String, unit: String },
    #[error("`{text}`: too long, at most {max_days} days", max_days = Duration::MAX_DAYS)]
    TooLong { text: String },
}

impl Duration {
    /// The longest duration accepted, in days (about 27 years): anything beyond is a typo.
    pub const MAX_DAYS: i64 = 10_000;

    /// A duration of this many milliseconds; negative values count as zero.
    pub const fn from_millis(millis: i64) -> Self {
        Duration {
            millis: if millis < 0 { 0 } else { millis },
        }
    }

    /// A duration of this many hours.
    pub const fn from_hours(hours: i64) -> Self {
        Duration::from_millis(hours * 3_600_000)
    }

    /// A duration of this many minutes.
    pub const fn from_minutes(minutes: i64) -> Self {
        Duration::from_millis(minutes * 60_000)
    }

    /// The length in milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.millis
    }

    /// Parses `72h`, `1h30m`, `500ms`; whitespace around the whole text is ignored.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DurationError::Empty);
        }
        let owned = || trimmed.to_owned();
        let bytes = trimmed.as_bytes();
        let max = Duration::MAX_DAYS * 86_400_000;
        let mut total: i64 = 0;
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(DurationError::ExpectedNumber {
                    text: owned(),
                    at: start,
                });
            }
            // At most 19 digits fit in an i64; longer runs are too long anyway.
            let number: i64 = trimmed[start..i]
                .parse()
                .map_err(|_| DurationError::TooLong { text: owned() })?;
            let unit_start = i;
            while i < bytes.len() && !bytes[i].is_ascii_digit() {
                i += 1;
            }
            let unit = &trimmed[unit_start..i];
            let scale = match unit {
                "" => {
                    return Err(DurationError::MissingUnit {
                        text: owned(),
                        at: start,
                    });
                }
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                other => {
                    return Err(DurationError::UnknownUnit {
                        text: owned(),
                        unit: other.to_owned(),
                    });
                }
            };
            total = number
                .checked_mul(scale)
                .and_then(|part| total.checked_add(part))
                .filter(|t| *t <= max)
                .ok_or_else(|| DurationError::TooLong { text: owned() })?;
        }
        Ok(Duration { millis: total })
    }
}

impl fmt::Display for Duration {
    /// The shortest exact form in the largest units: `72h` prints as `3d`, `90m` as `1h30m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, scale) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if rest >= scale {
                write!(f, "{}{unit}", rest / scale)?;
                rest %= scale;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\s*([0-9]+(ms|s|m|h|d))+\\s*$",
            "description": "a duration with a unit on every number: ms, s, m, h, d (e.g. `72h`, `1h30m`)",
            "examples": ["72h", "30m", "1d12h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        let cases: &[(&str, i64)] = &[
            ("500ms", 500),
            ("90s", 90_000),
            ("15m", 900_000),
            ("72h", 259_200_000),
            ("3d", 259_200_000),
            ("1h30m", 5_400_000),
            ("1d12h", 129_600_000),
            (" 2h ", 7_200_000),
            ("0s", 0),
            ("1m30s250ms", 90_250),
        ];
        for (text, millis) in cases {
            assert_eq!(Duration::parse(text).map(Duration::as_millis), Ok(*millis), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        let cases: &[(&str, &str)] = &[
            ("", "empty duration"),
            ("72", "has no unit"),
            ("h", "expected a number at byte 0"),
            ("1h30", "the number at byte 2 has no unit"),
            ("3w", "unknown unit `w`"),
            ("1.5h", "unknown unit `.`"),
            ("-1h", "expected a number at byte 0"),
            ("72 h", "unknown unit ` h`"),
            ("3 Tage", "unknown unit ` Tage`"),
            ("２h", "expected a number at byte 0"),
            ("99999999999999999999d", "too long"),
            ("10001d", "too long"),
        ];
        for (text, expected) in cases {
            let err = Duration::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn prints_the_shortest_exact_form() {
        for (text, printed) in [("72h", "3d"), ("90m", "1h30m"), ("1500ms", "1s500ms"), ("0h", "0s")] {
            assert_eq!(Duration::parse(text).unwrap().to_string(), printed);
        }
    }

    #[test]
    fn deserializes_from_a_string_and_names_the_problem() {
        let d: Duration = serde_json::from_str(r#""36h""#).unwrap();
        assert_eq!(d, Duration::from_hours(36));
        let err = serde_json::from_str::<Duration>(r#""36""#).unwrap_err().to_string();
        assert!(err.contains("has no unit"), "{err}");
    }
}
