//! Phone numbers to E.164 (`+4930123456`), with a default region for national numbers.
//!
//! Written here rather than with the `phonenumber` crate: the plugin only needs to bring one
//! number into one canonical form, which a table of numbering-plan facts does in a few KB,
//! where the full libphonenumber metadata would dominate the component's size.
//!
//! What is understood:
//! - separators: spaces, dashes (ASCII and typographic), dots, slashes, parentheses; full-width
//!   digits (Japanese and Chinese input) via NFKC; a `tel:` prefix;
//! - `+<country code>`; the international call prefix of the default region (`00` in most of
//!   Europe and China, `011` in the NANP, `010` in Japan, `0011` in Australia) in place of `+`;
//! - the national trunk prefix (`0` in DE, AT, CH, FR, GB, NL, BE, IE, JP, CN, AU; `1` in the
//!   NANP) in national numbers, and a trunk `0` written after the country code by mistake or
//!   as `(0)`, as in `+49 (0)30 ...`; Italy keeps its leading `0`, which is part of the number;
//!   Spain, Portugal, Poland and Mexico have no trunk prefix;
//! - the length of the national significant number, per region (see [`REGIONS`]); numbers of
//!   other countries reached with `+` or an international prefix are checked against the E.164
//!   limit of 15 digits only.
//!
//! Country codes are split off by the ITU assignment: `1` and `7` are one digit, the two-digit
//! codes are listed in [`TWO_DIGIT_CODES`], every other code has three digits.

use super::NormalizeError;
use unicode_normalization::UnicodeNormalization;

/// One numbering plan: the facts needed to read a national number.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// ISO 3166-1 alpha-2.
    pub code: &'static str,
    /// ITU country calling code.
    pub calling_code: &'static str,
    /// The national trunk prefix dropped in international form, if the plan has one.
    pub trunk: Option<&'static str>,
    /// Prefixes dialled from this region before a country code.
    pub international: &'static [&'static str],
    /// Allowed lengths of the national significant number.
    pub nsn_len: (usize, usize),
}

/// The supported regions, from the national numbering plans as published to the ITU.
pub const REGIONS: &[Region] = &[
    Region {
        code: "DE",
        calling_code: "49",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (5, 13),
    },
    Region {
        code: "AT",
        calling_code: "43",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (4, 13),
    },
    Region {
        code: "CH",
        calling_code: "41",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "FR",
        calling_code: "33",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "ES",
        calling_code: "34",
        trunk: None,
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "IT",
        calling_code: "39",
        trunk: None,
        international: &["00"],
        nsn_len: (6, 11),
    },
    Region {
        code: "PT",
        calling_code: "351",
        trunk: None,
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "GB",
        calling_code: "44",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (7, 10),
    },
    Region {
        code: "IE",
        calling_code: "353",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (7, 9),
    },
    Region {
        code: "NL",
        calling_code: "31",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "BE",
        calling_code: "32",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (8, 9),
    },
    Region {
        code: "PL",
        calling_code: "48",
        trunk: None,
        international: &["00"],
        nsn_len: (9, 9),
    },
    Region {
        code: "US",
        calling_code: "1",
        trunk: Some("1"),
        international: &["011"],
        nsn_len: (10, 10),
    },
    Region {
        code: "CA",
        calling_code: "1",
        trunk: Some("1"),
        international: &["011"],
        nsn_len: (10, 10),
    },
    Region {
        code: "MX",
        calling_code: "52",
        trunk: None,
        international: &["00"],
        nsn_len: (10, 10),
    },
    Region {
        code: "JP",
        calling_code: "81",
        trunk: Some("0"),
        international: &["010"],
        nsn_len: (9, 10),
    },
    Region {
        code: "CN",
        calling_code: "86",
        trunk: Some("0"),
        international: &["00"],
        nsn_len: (9, 11),
    },
    Region {
        code: "AU",
        calling_code: "61",
        trunk: Some("0"),
        international: &["0011"],
        nsn_len: (9, 9),
    },
];

/// The two-digit ITU country calling codes; `1` and `7` are the one-digit ones, all others have
/// three digits.
pub const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49", "51",
    "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90",
    "91", "92", "93", "94", "95", "98",
];

/// The numbering plan of a region code (case-insensitive).
pub fn region(code: &str) -> Result<&'static Region, NormalizeError> {
    REGIONS
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code.trim()))
        .ok_or_else(|| NormalizeError::UnknownRegion {
            field: "phone",
            region: code.to_owned(),
            supported: REGIONS.iter().map(|r| r.code).collect::<Vec<_>>().join(", "),
        })
}

/// Normalizes a phone number to E.164, reading national numbers in `default_region`.
pub fn normalize_phone(raw: &str, default_region: &Region) -> Result<String, NormalizeError> {
    const FIELD: &str = "phone";
    let invalid = |why: &str| NormalizeError::invalid(FIELD, raw, why);
    let text: String = raw.trim().nfkc().collect();
    let text = text.strip_prefix("tel:").unwrap_or(&text);
    if text.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    // `+49 (0)30 ...`: the bracketed trunk prefix is dialled nationally only.
    let text = text.replace("(0)", "");
    let plus = text.starts_with('+');
    let mut digits = String::new();
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '/' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' => {}
            _ => return Err(invalid(&format!("unexpected character {c:?}"))),
        }
    }
    if digits.is_empty() {
        return Err(invalid("no digits"));
    }
    let international = if plus {
        Some(digits.as_str())
    } else {
        default_region.international.iter().find_map(|p| digits.strip_prefix(p))
    };
    match international {
        Some(rest) => international_number(rest, raw),
        None => {
            let nsn = strip_trunk(&digits, default_region);
            check_nsn(nsn, default_region, raw)?;
            Ok(format!("+{}{nsn}", default_region.calling_code))
        }
    }
}

fn international_number(digits: &str, raw: &str) -> Result<String, NormalizeError> {
    let invalid = |why: String| NormalizeError::invalid("phone", raw, why);
    let code_len = match digits.as_bytes().first() {
        None => return Err(invalid("no digits after the international prefix".into())),
        Some(b'0') => return Err(invalid("a country code cannot start with 0".into())),
        Some(b'1' | b'7') => 1,
        _ if digits.len() >= 2 && TWO_DIGIT_CODES.contains(&&digits[..2]) => 2,
        _ => 3,
    };
    if digits.len() <= code_len {
        return Err(invalid("nothing after the country code".into()));
    }
    let (code, rest) = digits.split_at(code_len);
    match REGIONS.iter().find(|r| r.calling_code == code) {
        Some(region) => {
            // A trunk `0` written after the country code (`+49 030 ...`) is a common mistake.
            let nsn = match region.trunk {
                Some("0") => rest.strip_prefix('0').unwrap_or(rest),
                _ => rest,
            };
            check_nsn(nsn, region, raw)?;
            Ok(format!("+{code}{nsn}"))
        }
        None => {
            if digits.len() > 15 || rest.len() < 4 {
                return Err(invalid(format!(
                    "+{code} {rest} has {} digits; E.164 allows 15 in all",
                    digits.len()
                )));
            }
            Ok(format!("+{digits}"))
        }
    }
}

fn strip_trunk<'a>(digits: &'a str, region: &Region) -> &'a str {
    match region.trunk {
        // The NANP trunk `1` is optional: only an 11-digit number carries it.
        Some(trunk) if region.calling_code == "1" => {
            if digits.len() == 11 {
                digits.strip_prefix(trunk).unwrap_or(digits)
            } else {
                digits
            }
        }
        Some(trunk) => digits.strip_prefix(trunk).unwrap_or(digits),
        None => digits,
    }
}

fn check_nsn(nsn: &str, region: &Region, raw: &str) -> Result<(), NormalizeError> {
    let (lo, hi) = region.nsn_len;
    if nsn.len() < lo || nsn.len() > hi {
        let expected = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo} to {hi}")
        };
        return Err(NormalizeError::invalid(
            "phone",
            raw,
            format!(
                "{} numbers have {expected} digits after the country code, this has {}",
                region.code,
                nsn.len()
            ),
        ));
    }
    if region.calling_code == "1" && matches!(nsn.as_bytes()[0], b'0' | b'1') {
        return Err(NormalizeError::invalid(
            "phone",
            raw,
            "a NANP area code cannot start with 0 or 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        for (region_code, input, expected) in [
            // Germany
            ("DE", "030 1234567", "+49301234567"),
            ("DE", "+49 30 1234567", "+49301234567"),
            ("DE", "+49 (0)30 123 45 67", "+49301234567"),
            ("DE", "0049 30 1234567", "+49301234567"),
            ("DE", "0170/1234567", "+491701234567"),
            ("DE", "+49 0170 1234567", "+491701234567"),
            ("DE", "(030) 12 34 56-7", "+49301234567"),
            ("DE", "tel:+49-89-123456", "+4989123456"),
            // France
            ("FR", "06 12 34 56 78", "+33612345678"),
            ("FR", "06.12.34.56.78", "+33612345678"),
            ("DE", "+33 6 12 34 56 78", "+33612345678"),
            ("FR", "0033 1 42 68 53 00", "+33142685300"),
            // Spain: no trunk prefix
            ("ES", "612 345 678", "+34612345678"),
            ("ES", "91 123 45 67", "+34911234567"),
            ("DE", "0034 612345678", "+34612345678"),
            // Italy: the leading 0 of landlines stays
            ("IT", "06 1234 5678", "+390612345678"),
            ("IT", "333 123 4567", "+393331234567"),
            ("DE", "+39 06 1234 5678", "+390612345678"),
            // United Kingdom
            ("GB", "020 7946 0018", "+442079460018"),
            ("GB", "07700 900123", "+447700900123"),
            ("GB", "+44 (0)20 7946 0018", "+442079460018"),
            // United States / Canada
            ("US", "(212) 555-0123", "+12125550123"),
            ("US", "1-212-555-0123", "+12125550123"),
            ("US", "212.555.0123", "+12125550123"),
            ("US", "011 49 30 1234567", "+49301234567"),
            ("CA", "416 555 0199", "+14165550199"),
            // Japan: full-width input, 010 international prefix
            ("JP", "090-1234-5678", "+819012345678"),
            ("JP", "０９０－１２３４－５６７８", "+819012345678"),
            ("JP", "03-1234-5678", "+81312345678"),
            ("JP", "010-49-30-1234567", "+49301234567"),
            ("DE", "+81 3 1234 5678", "+81312345678"),
            // China
            ("CN", "138 0013 8000", "+8613800138000"),
            ("CN", "010-12345678", "+861012345678"),
            ("CN", "0086 138 0013 8000", "+8613800138000"),
            ("DE", "+86 571 8888 8888", "+8657188888888"),
            // others
            ("AT", "0664 1234567", "+436641234567"),
            ("NL", "06 12345678", "+31612345678"),
            ("AU", "0412 345 678", "+61412345678"),
            ("AU", "0011 44 20 7946 0018", "+442079460018"),
            ("MX", "55 1234 5678", "+525512345678"),
            ("DE", "+358 40 1234567", "+358401234567"),
            ("DE", "+7 495 123-45-67", "+74951234567"),
        ] {
            let region = region(region_code).unwrap();
            assert_eq!(
                normalize_phone(input, region).as_deref(),
                Ok(expected),
                "{region_code} {input}"
            );
        }
    }

    #[test]
    fn rejects() {
        for (region_code, input, why) in [
            ("DE", "", "empty"),
            ("DE", "call me", "unexpected character"),
            ("DE", "030 1234567 ext 5", "unexpected character"),
            ("FR", "06 12 34 56", "FR numbers have 9 digits"),
            ("US", "555-0123", "US numbers have 10 digits"),
            ("US", "(012) 555-0123", "area code"),
            ("DE", "+", "no digits"),
            ("DE", "+0 123", "cannot start with 0"),
            ("DE", "+358 12345678901234", "15 in all"),
        ] {
            let err = normalize_phone(input, region(region_code).unwrap()).unwrap_err();
            assert!(err.to_string().contains(why), "{input}: {err}");
        }
        assert!(region("XX").unwrap_err().to_string().contains("supported: DE"));
    }
}
