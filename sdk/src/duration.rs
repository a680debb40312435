//! Durations as workflows and command lines write them (`200ms`, `30s`, `15m`, `72h`, `2d`,
//! `1h30m`): one grammar for the engine and every plugin.
//!
//! # Grammar
//! - One or more parts, each a whole number of ASCII digits followed by a unit: `ms`, `s`, `m`
//!   (minutes), `h` or `d` (24 hours). Units are lowercase; a bare number is refused (`72` could
//!   mean anything).
//! - Parts go from the largest unit to the smallest, each unit at most once (`1h30m`, not
//!   `30m1h` or `1h1h`): a duration reads the way a clock does.
//! - White space around the whole text is ignored; inside it is refused (`1h30m`, not `1h 30m`).
//! - No sign and no fraction (`1h30m`, not `1.5h`).
//! - At most [`Duration::MAX_DAYS`] days: anything longer is a typo, and every duration then
//!   fits the arithmetic of the engine and the plugins.
//! - Zero (`0s`) is a duration. Whether a field accepts it is that field's rule (a retry backoff
//!   may be zero, a deadline may not), checked where the field is read.

use std::borrow::Cow;
use std::fmt;

/// The accepted forms in words, the end of every [`DurationError`] message.
pub const FORMS: &str = "a number with a unit (ms, s, m, h, d) such as 200ms, 30s, 15m, 72h, 2d, or units combined from largest to smallest such as 1h30m";

/// A regular expression for the grammar, for JSON schemas. It does not bound the length
/// ([`Duration::MAX_DAYS`]); the parser does.
pub const PATTERN: &str = r"^\s*[0-9]+(d([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?|h([0-9]+m)?([0-9]+s)?([0-9]+ms)?|m([0-9]+s)?([0-9]+ms)?|s([0-9]+ms)?|ms)\s*$";

/// A non-negative span of time in whole milliseconds, at most [`Duration::MAX_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: i64,
}

/// Why a text is not a duration: the text and the problem, which names the bad part. The
/// message ends with what was expected ([`FORMS`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {problem}; expected {FORMS}")]
pub struct DurationError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a duration; each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Nothing but white space.
    #[error("it is empty")]
    Empty,
    /// A `+` or `-` in front.
    #[error("`{sign}` in front, a duration has no sign")]
    Sign {
        /// The sign.
        sign: char,
    },
    /// White space between the parts or between a number and its unit.
    #[error("white space after `{before}`, write the parts without spaces")]
    Space {
        /// The text before the white space.
        before: String,
    },
    /// A part that does not start with a digit.
    #[error("`{found}` does not start with a number")]
    ExpectedNumber {
        /// The rest of the text from there.
        found: String,
    },
    /// A number with no unit after it.
    #[error("`{number}` has no unit")]
    MissingUnit {
        /// The number.
        number: String,
    },
    /// A number with a decimal point or comma.
    #[error("`{part}` is a fraction, use a smaller unit (1h30m, not 1.5h)")]
    Fraction {
        /// The number with its fraction and unit.
        part: String,
    },
    /// Letters after a number that are not a unit.
    #[error("unknown unit `{unit}` in `{part}`")]
    UnknownUnit {
        /// The letters.
        unit: String,
        /// The number and the letters.
        part: String,
    },
    /// A unit not smaller than the one before it.
    #[error("`{part}` comes after `{previous}`, units go from the largest to the smallest, each at most once")]
    Order {
        /// The part out of order.
        part: String,
        /// The part before it.
        previous: String,
    },
    /// Longer than [`Duration::MAX_DAYS`].
    #[error("it is longer than {max} days", max = Duration::MAX_DAYS)]
    TooLong,
}

/// Units from the largest to the smallest, with their length in milliseconds.
const UNITS: [(&str, i64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    /// The longest duration, in days (about 27 years).
    pub const MAX_DAYS: i64 = 10_000;
    /// The longest duration.
    pub const MAX: Duration = Duration {
        millis: Duration::MAX_DAYS * 86_400_000,
    };
    /// No time at all.
    pub const ZERO: Duration = Duration { millis: 0 };

    /// This many milliseconds, clamped to `0..=MAX`.
    pub const fn from_millis(millis: i64) -> Duration {
        Duration {
            millis: if millis < 0 {
                0
            } else if millis > Duration::MAX.millis {
                Duration::MAX.millis
            } else {
                millis
            },
        }
    }

    /// This many seconds, clamped like [`Duration::from_millis`].
    pub const fn from_secs(secs: i64) -> Duration {
        Duration::from_millis(secs.saturating_mul(1_000))
    }

    /// This many minutes, clamped like [`Duration::from_millis`].
    pub const fn from_minutes(minutes: i64) -> Duration {
        Duration::from_millis(minutes.saturating_mul(60_000))
    }

    /// This many hours, clamped like [`Duration::from_millis`].
    pub const fn from_hours(hours: i64) -> Duration {
        Duration::from_millis(hours.saturating_mul(3_600_000))
    }

    /// The length in milliseconds, `0..=MAX`.
    pub const fn as_millis(self) -> i64 {
        self.millis
    }

    /// Whether it is no time at all.
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }

    /// Reads a duration written in the grammar of this module.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        parse(text.trim()).map_err(|problem| DurationError {
            text: text.to_owned(),
            problem,
        })
    }
}

fn parse(text: &str) -> Result<Duration, Problem> {
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    if let Some(sign) = text.chars().next().filter(|c| matches!(c, '+' | '-')) {
        return Err(Problem::Sign { sign });
    }
    let mut total: i64 = 0;
    let mut previous: Option<(usize, &str)> = None;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let space = |at: usize| Problem::Space {
            before: text[..at].to_owned(),
        };
        if rest.starts_with(char::is_whitespace) {
            return Err(space(at));
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(Problem::ExpectedNumber { found: rest.to_owned() });
        }
        let after_number = &rest[digits..];
        if after_number.starts_with(['.', ',']) {
            let fraction = after_number[1..].bytes().take_while(u8::is_ascii_digit).count();
            let unit: usize = after_number[1 + fraction..]
                .chars()
                .take_while(|c| c.is_alphabetic())
                .map(char::len_utf8)
                .sum();
            return Err(Problem::Fraction {
                part: rest[..digits + 1 + fraction + unit].to_owned(),
            });
        }
        let unit_len: usize = after_number
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum();
        let unit = &after_number[..unit_len];
        let part = &rest[..digits + unit_len];
        if unit.is_empty() {
            if after_number.starts_with(char::is_whitespace) {
                return Err(space(at + digits));
            }
            return Err(Problem::MissingUnit {
                number: rest[..digits].to_owned(),
            });
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(Problem::UnknownUnit {
                unit: unit.to_owned(),
                part: part.to_owned(),
            });
        };
        if let Some((last, previous)) = previous
            && index <= last
        {
            return Err(Problem::Order {
                part: part.to_owned(),
                previous: previous.to_owned(),
            });
        }
        previous = Some((index, part));
        // More digits than fit an i64 are too long in any unit.
        let number: i64 = rest[..digits].parse().map_err(|_| Problem::TooLong)?;
        total = number
            .checked_mul(UNITS[index].1)
            .and_then(|millis| total.checked_add(millis))
            .filter(|total| *total <= Duration::MAX.millis)
            .ok_or(Problem::TooLong)?;
        at += part.len();
    }
    Ok(Duration { millis: total })
}

impl fmt::Display for Duration {
    /// The shortest exact form in the largest units: `72h` prints as `3d`, `90m` as `1h30m`,
    /// zero as `0s`. What it prints parses back to the same duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, size) in UNITS {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;
    fn from_str(text: &str) -> Result<Duration, DurationError> {
        Duration::parse(text)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(duration: Duration) -> std::time::Duration {
        std::time::Duration::from_millis(duration.millis.unsigned_abs())
    }
}

impl From<std::time::Duration> for Duration {
    /// Whole milliseconds, clamped to [`Duration::MAX`].
    fn from(duration: std::time::Duration) -> Duration {
        Duration::from_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
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
            "pattern": PATTERN,
            "description": format!("a duration: {FORMS}"),
            "examples": ["72h", "30m", "1d12h"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let table: &[(&str, i64)] = &[
            ("200ms", 200),
            ("30s", 30_000),
            ("15m", 900_000),
            ("72h", 259_200_000),
            ("2d", 172_800_000),
            ("1h30m", 5_400_000),
            ("1d12h", 129_600_000),
            ("1m30s250ms", 90_250),
            ("1d2h3m4s5ms", 93_784_005),
            ("1500ms", 1_500),
            ("0s", 0),
            ("0h", 0),
            ("007m", 420_000),
            (" 2h ", 7_200_000),
            ("\t45s\n", 45_000),
            ("10000d", 864_000_000_000),
            ("9999d23h59m59s999ms", 863_999_999_999),
        ];
        for (text, millis) in table {
            assert_eq!(Duration::parse(text).map(Duration::as_millis), Ok(*millis), "{text:?}");
        }
    }

    #[test]
    fn refused_forms_name_the_bad_part() {
        let table: &[(&str, &str)] = &[
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("72", "`72` has no unit"),
            ("1h30", "`30` has no unit"),
            ("h", "`h` does not start with a number"),
            ("forever", "`forever` does not start with a number"),
            ("1h-30m", "`-30m` does not start with a number"),
            ("-5s", "`-` in front, a duration has no sign"),
            ("+5s", "`+` in front, a duration has no sign"),
            ("1.5h", "`1.5h` is a fraction, use a smaller unit (1h30m, not 1.5h)"),
            ("2,5 Tage", "`2,5` is a fraction, use a smaller unit (1h30m, not 1.5h)"),
            ("72 h", "white space after `72`, write the parts without spaces"),
            ("1h 30m", "white space after `1h`, write the parts without spaces"),
            ("2 minutes", "white space after `2`, write the parts without spaces"),
            ("3w", "unknown unit `w` in `3w`"),
            ("2sec", "unknown unit `sec` in `2sec`"),
            ("72H", "unknown unit `H` in `72H`"),
            ("3Tage", "unknown unit `Tage` in `3Tage`"),
            ("3日", "unknown unit `日` in `3日`"),
            ("5分", "unknown unit `分` in `5分`"),
            ("3ש", "unknown unit `ש` in `3ש`"),
            ("１h", "`１h` does not start with a number"),
            ("٣h", "`٣h` does not start with a number"),
            (
                "30m1h",
                "`1h` comes after `30m`, units go from the largest to the smallest, each at most once",
            ),
            (
                "1h1h",
                "`1h` comes after `1h`, units go from the largest to the smallest, each at most once",
            ),
            (
                "1s2m",
                "`2m` comes after `1s`, units go from the largest to the smallest, each at most once",
            ),
            ("10001d", "it is longer than 10000 days"),
            ("10000d1ms", "it is longer than 10000 days"),
            ("99999999999999999999h", "it is longer than 10000 days"),
        ];
        for (text, problem) in table {
            let error = Duration::parse(text).unwrap_err();
            assert_eq!(error.problem.to_string(), *problem, "{text:?}");
            assert_eq!(error.text, *text);
            assert_eq!(
                error.to_string(),
                format!("invalid duration `{text}`: {problem}; expected {FORMS}")
            );
        }
    }

    #[test]
    fn prints_the_shortest_exact_form_which_parses_back() {
        let table = [
            ("72h", "3d"),
            ("90m", "1h30m"),
            ("1500ms", "1s500ms"),
            ("0h", "0s"),
            ("1d2h3m4s5ms", "1d2h3m4s5ms"),
            ("10000d", "10000d"),
        ];
        for (text, printed) in table {
            let duration = Duration::parse(text).unwrap();
            assert_eq!(duration.to_string(), printed);
            assert_eq!(Duration::parse(printed), Ok(duration));
        }
    }

    #[test]
    fn constructors_clamp_and_convert() {
        assert_eq!(Duration::from_millis(-5), Duration::ZERO);
        assert_eq!(Duration::from_hours(i64::MAX), Duration::MAX);
        assert_eq!(Duration::from_minutes(90).to_string(), "1h30m");
        assert_eq!(Duration::from_secs(2).as_millis(), 2_000);
        let std: std::time::Duration = Duration::from_hours(2).into();
        assert_eq!(std, std::time::Duration::from_secs(7_200));
        assert_eq!(
            Duration::from(std::time::Duration::from_micros(1_999)),
            Duration::from_millis(1)
        );
        assert_eq!(Duration::from(std::time::Duration::MAX), Duration::MAX);
    }

    #[test]
    fn serde_reads_and_writes_the_text_form() {
        let d: Duration = serde_json::from_str(r#""36h""#).unwrap();
        assert_eq!(d, Duration::from_hours(36));
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""1d12h""#);
        let error = serde_json::from_str::<Duration>(r#""36""#).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid duration `36`: `36` has no unit; expected"),
            "{error}"
        );
    }
}
