//! Durations as sellers write them: `200ms`, `30s`, `15m`, `72h`, `2d`, `1h30m`.

use std::time::Duration;

/// The forms a duration may take, quoted in every duration error.
pub const DURATION_FORMS: &str = "a number with a unit (ms, s, m, h, d) such as 200ms, 30s, 15m, 72h, 2d, or units combined from largest to smallest such as 1h30m";

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {problem}, expected {DURATION_FORMS}")]
pub struct DurationError {
    /// The text as written.
    pub text: String,
    /// What was wrong with it.
    pub problem: String,
}

/// Units from largest to smallest, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration such as `200ms`, `30s`, `15m`, `72h`, `2d` or `1h30m`.
///
/// Each part is a whole number followed by a unit; parts go from the largest unit to the
/// smallest and each unit appears at most once.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |problem: &str| DurationError {
        text: text.to_owned(),
        problem: problem.to_owned(),
    };
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut rest = text;
    let mut total: u64 = 0;
    // Index into UNITS of the last unit used: the next must be strictly smaller.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail(if rest.starts_with(['-', '+']) {
                "a duration has no sign"
            } else if rest.starts_with('.') || rest.contains('.') {
                "fractions are not accepted, use a smaller unit"
            } else {
                "a number is missing"
            }));
        }
        let number: u64 = rest[..digits].parse().map_err(|_| fail("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(fail(if rest.starts_with('.') {
                "fractions are not accepted, use a smaller unit"
            } else {
                "the unit is missing"
            }));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(fail(&format!("unknown unit `{unit}`")));
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(fail("units must go from largest to smallest, each at most once"));
        }
        last_unit = Some(index);
        let millis = number
            .checked_mul(UNITS[index].1)
            .ok_or_else(|| fail("it is too long"))?;
        total = total.checked_add(millis).ok_or_else(|| fail("it is too long"))?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration in the same notation, largest units first (`1h30m`, `200ms`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    let mut millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, size) in UNITS {
        if millis >= size {
            out.push_str(&format!("{}{name}", millis / size));
            millis %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let table = [
            ("200ms", 200),
            ("30s", 30_000),
            ("15m", 900_000),
            ("72h", 259_200_000),
            ("2d", 172_800_000),
            ("1h30m", 5_400_000),
            ("1d2h3m4s5ms", 93_784_005),
            ("0s", 0),
            ("1500ms", 1_500),
        ];
        for (text, millis) in table {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(millis)), "{text}");
        }
    }

    #[test]
    fn rejected_forms_say_why() {
        let table = [
            ("", "it is empty"),
            ("200", "the unit is missing"),
            ("1.5s", "fractions are not accepted, use a smaller unit"),
            ("5 s", "the unit is missing"),
            ("-5s", "a duration has no sign"),
            ("3w", "unknown unit `w`"),
            ("2sec", "unknown unit `sec`"),
            ("30m1h", "units must go from largest to smallest, each at most once"),
            ("1h1h", "units must go from largest to smallest, each at most once"),
            ("h", "a number is missing"),
            ("99999999999999999999s", "the number is too large"),
            ("999999999999999d", "it is too long"),
            ("１s", "a number is missing"),
        ];
        for (text, problem) in table {
            let error = parse_duration(text).unwrap_err();
            assert_eq!(error.problem, problem, "{text}");
            assert!(error.to_string().contains("such as 200ms"), "{error}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["200ms", "1s", "1h30m", "2d", "1d2h3m4s5ms", "0s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
