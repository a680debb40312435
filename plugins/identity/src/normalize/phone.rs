//! Phone numbers to E.164 (`+4930123456`), with a region for numbers written without a country
//! code.
//!
//! The numbering plans of every region — 245 of them: calling code, international and national
//! prefixes, how a national prefix is stripped, possible lengths and the patterns of numbers in
//! use — are generated from libphonenumber's published metadata (Apache-2.0) by
//! `data/generate_phone.py` into [`REGIONS`]; nothing here is a hand-written plan. The reading
//! follows libphonenumber's parser, reduced to what one canonical form needs:
//!
//! - separators: spaces, dashes (ASCII and typographic), dots, slashes, parentheses; full-width
//!   digits (Japanese and Chinese input) via NFKC; a `tel:` prefix; a bracketed trunk `(0)`
//!   written after the country code (`+49 (0)30 ...`);
//! - `+<country code>`, or the region's international prefix (`00`, `011` in the NANP, `010` in
//!   Japan, `0011` in Australia, carrier-selection forms too) in place of `+`;
//! - a national number: the region's national prefix stripped (or rewritten, as Argentina's
//!   mobile `15` and Brazil's carrier codes are) when what is left is still a number of the
//!   region; a national prefix written after the country code by mistake (`+49 030 ...`) is
//!   stripped the same way; a number written with its country code but without `+` (`4930
//!   1234567` in Germany) is read as such when it is not a national number;
//! - validity: the national significant number must have one of the region's possible lengths
//!   and match the pattern of one of its number types (fixed line, mobile, toll free, ...), as
//!   libphonenumber's `is_valid_number` asks. A number that cannot be in use in that region is
//!   not an identifier: the step records why and goes on without it.
//!
//! A calling code shared by several regions (`+1`, `+7`, `+44`, ...) accepts a number valid in
//! any of them. libphonenumber's non-geographic codes (`+800`, `+808`, `+870`, `+878`, `+881`
//! to `+883`, `+888`, `+979`) are not identifiers of a buyer and are refused.
//!
//! Not the `phonenumber` crate: it links the whole metadata and its formatting rules (about
//! 2 MB of component) and loads it on the first call of every fresh instance (~100 ms); these
//! tables hold only what reading needs, and each region's patterns are compiled on first use.

use super::NormalizeError;
use super::phone_plan::COUNT;
pub use super::phone_plan::REGIONS;
use regex_lite::Regex;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// One region's numbering plan, as libphonenumber's metadata gives it. The patterns are
/// libphonenumber's regular expressions over the national significant number.
#[derive(Debug)]
pub struct Region {
    /// ISO 3166-1 alpha-2 (`UN M.49`-style codes such as `AC` or `XK` where libphonenumber
    /// uses them).
    pub code: &'static str,
    /// ITU country calling code.
    pub calling_code: u16,
    /// Whether this is the main region of its calling code (`US` for `+1`).
    pub main: bool,
    /// What is dialled from this region before a country code (a pattern).
    pub international: Option<&'static str>,
    /// The national (trunk) prefix, as dialled.
    pub national_prefix: Option<&'static str>,
    /// What to strip from a national number before its significant digits (a pattern; a
    /// capturing group keeps part of it when [`Region::national_prefix_transform`] says so).
    pub national_prefix_for_parsing: Option<&'static str>,
    /// How the prefix is rewritten instead of dropped (`${1}` is the first group).
    pub national_prefix_transform: Option<&'static str>,
    /// Possible lengths of a national significant number.
    pub lengths: &'static [u8],
    /// Every number the plan describes (the union of its types): what a prefix strip must leave.
    pub general: &'static str,
    /// The numbers of a known type: what counts as valid.
    pub valid: &'static str,
}

/// A region's patterns, compiled once per instance, anchored at the start (and the end).
struct Compiled {
    international: Option<Regex>,
    national_prefix: Option<Regex>,
    general: Regex,
    valid: Regex,
}

static COMPILED: [OnceLock<Compiled>; COUNT] = [const { OnceLock::new() }; COUNT];

fn anchored(pattern: &str, whole: bool) -> Regex {
    let text = if whole {
        format!("^(?:{pattern})$")
    } else {
        format!("^(?:{pattern})")
    };
    // Every generated pattern compiles: `every_pattern_compiles` checks all of them.
    Regex::new(&text).unwrap_or_else(|e| panic!("libphonenumber pattern {pattern:?}: {e}"))
}

impl Region {
    fn compiled(&'static self) -> &'static Compiled {
        let index = REGIONS
            .binary_search_by(|r| r.code.cmp(self.code))
            .expect("a region of REGIONS");
        COMPILED[index].get_or_init(|| Compiled {
            international: self.international.map(|p| anchored(p, false)),
            national_prefix: self.national_prefix_for_parsing.map(|p| anchored(p, false)),
            general: anchored(self.general, true),
            valid: anchored(self.valid, true),
        })
    }

    fn possible_length(&self, nsn: &str) -> bool {
        self.lengths.iter().any(|&n| usize::from(n) == nsn.len())
    }

    /// Whether `nsn` is a number of a known type in this region.
    pub fn is_valid(&'static self, nsn: &str) -> bool {
        self.possible_length(nsn) && self.compiled().valid.is_match(nsn)
    }

    fn viable(&'static self, nsn: &str) -> bool {
        self.compiled().general.is_match(nsn)
    }

    /// The digits after this region's international prefix, if they start with it (and what
    /// follows does not start with `0`, which would make the prefix a national one).
    fn after_international_prefix<'a>(&'static self, digits: &'a str) -> Option<&'a str> {
        let m = self.compiled().international.as_ref()?.find(digits)?;
        let rest = &digits[m.end()..];
        (!rest.is_empty() && !rest.starts_with('0')).then_some(rest)
    }

    /// The national significant number of a number written nationally: the national prefix
    /// stripped (or rewritten), unless that would turn a number of the plan into one that is
    /// not (libphonenumber's rule).
    fn strip_national_prefix(&'static self, number: &str) -> String {
        let compiled = self.compiled();
        let Some(prefix) = &compiled.national_prefix else {
            return number.to_owned();
        };
        let Some(captures) = prefix.captures(number) else {
            return number.to_owned();
        };
        let whole = captures.get(0).expect("the whole match");
        let last_group = captures.len() - 1;
        let stripped = match self.national_prefix_transform {
            Some(rule) if last_group > 0 && captures.get(last_group).is_some() => {
                let mut out = String::new();
                captures.expand(rule, &mut out);
                out.push_str(&number[whole.end()..]);
                out
            }
            _ => number[whole.end()..].to_owned(),
        };
        if stripped.is_empty() || (self.viable(number) && !self.viable(&stripped)) {
            number.to_owned()
        } else {
            stripped
        }
    }

    /// Every region of this region's calling code, this one first.
    fn sharing_the_code(&'static self) -> impl Iterator<Item = &'static Region> {
        std::iter::once(self).chain(
            REGIONS
                .iter()
                .filter(move |r| r.calling_code == self.calling_code && r.code != self.code),
        )
    }
}

/// The numbering plan of a region code (case-insensitive).
pub fn region(code: &str) -> Result<&'static Region, NormalizeError> {
    let upper = code.trim().to_ascii_uppercase();
    REGIONS
        .binary_search_by(|r| r.code.cmp(upper.as_str()))
        .map(|i| &REGIONS[i])
        .map_err(|_| NormalizeError::UnknownRegion {
            field: "phone",
            region: code.to_owned(),
            supported: format!(
                "the {COUNT} regions of libphonenumber's metadata, by ISO 3166-1 alpha-2 code (DE, FR, US, JP, ...)"
            ),
        })
}

/// The regions of a calling code, the main one first.
fn regions_of(calling_code: u16) -> Vec<&'static Region> {
    let mut out: Vec<&'static Region> = REGIONS.iter().filter(|r| r.calling_code == calling_code).collect();
    out.sort_by_key(|r| !r.main);
    out
}

/// Normalizes a phone number to E.164, reading a number without a country code in `region`.
pub fn normalize_phone(raw: &str, region: &'static Region) -> Result<String, NormalizeError> {
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
    if plus {
        return international_number(&digits, raw);
    }
    if let Some(rest) = region.after_international_prefix(&digits) {
        return international_number(rest, raw);
    }
    national_number(&digits, region, raw)
}

fn national_number(digits: &str, region: &'static Region, raw: &str) -> Result<String, NormalizeError> {
    // Written with the country code but without `+` or an international prefix (`4930 1234567`
    // in Germany): read so when the digits are no number of the plan as they stand, or too
    // long for one, and are one without the code (libphonenumber's rule).
    if let Some(rest) = digits.strip_prefix(&region.calling_code.to_string()) {
        let nsn = region.strip_national_prefix(rest);
        let too_long = region.lengths.iter().all(|&n| digits.len() > usize::from(n));
        if (!region.viable(digits) && region.viable(&nsn)) || too_long {
            return valid_in(region.calling_code, rest)
                .ok_or_else(|| NormalizeError::invalid("phone", raw, not_in_use(&[region], &nsn)));
        }
    }
    let nsn = region.strip_national_prefix(digits);
    if let Some(r) = region.sharing_the_code().find(|r| r.is_valid(&nsn)) {
        return Ok(format!("+{}{nsn}", r.calling_code));
    }
    Err(NormalizeError::invalid("phone", raw, not_in_use(&[region], &nsn)))
}

fn international_number(digits: &str, raw: &str) -> Result<String, NormalizeError> {
    let invalid = |why: String| NormalizeError::invalid("phone", raw, why);
    if digits.starts_with('0') {
        return Err(invalid("a country code cannot start with 0".into()));
    }
    for len in 1..=3.min(digits.len()) {
        let code: u16 = digits[..len].parse().expect("digits");
        let regions = regions_of(code);
        if regions.is_empty() {
            continue;
        }
        let rest = &digits[len..];
        if rest.is_empty() {
            return Err(invalid("nothing after the country code".into()));
        }
        return valid_in(code, rest).ok_or_else(|| invalid(not_in_use(&regions, rest)));
    }
    Err(invalid(format!(
        "+{} is not the calling code of a country",
        &digits[..3.min(digits.len())]
    )))
}

/// `rest` read as a number after the calling code `code`, in E.164, if it is valid in one of
/// the code's regions. A national prefix written after the country code is stripped as the
/// code's main region strips it (as libphonenumber reads `+49 030 ...`).
fn valid_in(code: u16, rest: &str) -> Option<String> {
    let regions = regions_of(code);
    let nsn = regions.first()?.strip_national_prefix(rest);
    regions
        .iter()
        .any(|r| r.is_valid(&nsn))
        .then(|| format!("+{code}{nsn}"))
}

/// Why `nsn` is not a number of `regions`: its length, or no number type of theirs.
fn not_in_use(regions: &[&'static Region], nsn: &str) -> String {
    let names = regions.iter().map(|r| r.code).collect::<Vec<_>>().join("/");
    let mut lengths: Vec<u8> = regions.iter().flat_map(|r| r.lengths.iter().copied()).collect();
    lengths.sort_unstable();
    lengths.dedup();
    if !regions.iter().any(|r| r.possible_length(nsn)) {
        let expected = match lengths.as_slice() {
            [one] => one.to_string(),
            [first, .., last] if usize::from(last - first) + 1 == lengths.len() => format!("{first} to {last}"),
            many => many.iter().map(u8::to_string).collect::<Vec<_>>().join(", "),
        };
        format!(
            "{names} numbers have {expected} digits after the country code, this has {}",
            nsn.len()
        )
    } else {
        format!(
            "{nsn} is not a number in use in {names} (+{}): no fixed-line, mobile or other range of its plan has it",
            regions[0].calling_code
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(REGIONS.len(), COUNT);
        assert!(REGIONS.windows(2).all(|w| w[0].code < w[1].code), "sorted by code");
        for r in &REGIONS {
            let c = r.compiled();
            assert!(c.general.as_str().len() >= r.general.len());
            assert!(!r.lengths.is_empty(), "{}", r.code);
        }
    }

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
            ("DE", "4930 1234567", "+49301234567"),
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
            ("GB", "07911 123456", "+447911123456"),
            ("GB", "+44 (0)20 7946 0018", "+442079460018"),
            // United States / Canada: the story's number, and a Canadian one read in the US
            ("US", "(512) 555-6879", "+15125556879"),
            ("US", "(212) 555-0123", "+12125550123"),
            ("US", "1-212-555-0123", "+12125550123"),
            ("US", "212.555.0123", "+12125550123"),
            ("US", "011 49 30 1234567", "+49301234567"),
            ("CA", "416 555 0199", "+14165550199"),
            ("US", "416 555 0199", "+14165550199"),
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
            // Regions that had no hand-written plan
            ("BR", "(11) 96123-4567", "+5511961234567"),
            ("SE", "070-123 45 67", "+46701234567"),
            ("KR", "010-1234-5678", "+821012345678"),
            ("IN", "081234 56789", "+918123456789"),
            ("IL", "050-234-5678", "+972502345678"),
            ("SA", "050 123 4567", "+966501234567"),
            ("AR", "011 15-2345-6789", "+5491123456789"),
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
            ("US", "(012) 555-0123", "not a number in use in US"),
            // Ofcom's range for drama: no UK number has it.
            ("GB", "07700 900123", "not a number in use in GB"),
            ("DE", "+", "no digits"),
            ("DE", "+0 123", "cannot start with 0"),
            ("DE", "+358 12345678901234", "FI/AX numbers have"),
            ("DE", "+800 1234 5678", "not the calling code of a country"),
        ] {
            let err = normalize_phone(input, region(region_code).unwrap()).unwrap_err();
            assert!(err.to_string().contains(why), "{input}: {err}");
        }
        assert!(
            region("XX")
                .unwrap_err()
                .to_string()
                .contains("245 regions of libphonenumber")
        );
        assert_eq!(region("jp").unwrap().calling_code, 81);
    }

    /// libphonenumber's example number of every type of every region, written nationally and
    /// internationally, and each with a digit dropped and one added: read as libphonenumber
    /// reads it (`data/phone_examples.tsv`, generated with the tables).
    #[test]
    fn libphonenumber_examples_of_every_region() {
        let fixture = include_str!("../../data/phone_examples.tsv");
        let mut regions = std::collections::BTreeSet::new();
        let mut wrong = Vec::new();
        let mut rows = 0;
        for line in fixture.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let [code, input, expected] = line.split('\t').collect::<Vec<_>>()[..] else {
                panic!("a row of three columns: {line:?}");
            };
            rows += 1;
            regions.insert(code);
            let got = normalize_phone(input, region(code).unwrap());
            let ok = match (expected, &got) {
                ("invalid", Err(_)) => true,
                (e164, Ok(got)) => e164 == got,
                _ => false,
            };
            if !ok {
                wrong.push(format!("{code} {input:?}: libphonenumber {expected}, here {got:?}"));
            }
        }
        assert_eq!(regions.len(), COUNT, "every region has examples");
        assert!(
            wrong.is_empty(),
            "{} of {rows} read otherwise than libphonenumber:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}
