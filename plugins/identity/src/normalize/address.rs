//! Postal addresses: country, postcode, city, street, house number and unit, each normalized.
//!
//! - **Country**: ISO 3166-1 alpha-2, from a code or a common name (`Deutschland`, `España`,
//!   `日本`, ...); missing means the step's default region.
//! - **Postcode**, per country ([`normalize_postcode`]): five digits in DE, FR, ES, IT, MX and
//!   US (a ZIP+4 extension is dropped; a `D-`/`F-`-style country prefix is removed); four
//!   digits in AT, CH, BE, DK, NO, HU, AU; NL `1234AB`; GB and CA upper case with the inward
//!   part after one space (`SW1A 1AA`, `K1A 0B6`); JP `100-0001` (a `〒` is removed); CN six
//!   digits; PT `1000-001`; PL `00-950`; elsewhere upper case without spaces and dashes.
//! - **Street and house number** (Latin script): folded, street types shortened to one form
//!   each — `Straße`/`Strasse`/`Str.` → `str` (also at the end of a compound, `Hauptstraße` →
//!   `hauptstr`), `Street`/`St.` → `st`, `Avenue`/`Ave`/`Av.`/`Avenida`/`Avda` → `ave`,
//!   `Road`/`Rd` → `rd`, `Boulevard`/`Bd`/`Blvd` → `blvd`, `Calle`/`C/`/`Cl` → `calle`,
//!   `Plaza`/`Place`/`Platz`/`Piazza`/`Pl.` → `pl`, `Rue` stays `rue`, `Via`/`V.` → `via`;
//!   a street type written out with one typo (`Stret`, `Setreet`, `Strase`: one insertion,
//!   deletion, substitution or swap from a form of six letters or more) is read as that type;
//!   articles (`de`, `la`, `del`, `di`, `du`, ...) are dropped. The house number is the first
//!   word with a digit, with a letter or `bis`/`ter` suffix joined (`12 a` → `12a`). It may
//!   come first (`12 rue de la Paix`, `221B Baker Street`) or after the street
//!   (`Hauptstraße 12`, `Calle Mayor 5`). Words after the house number, or after a unit word
//!   (`Apt`, `Unit`, `Suite`, `#`, `Wohnung`/`Whg.`, `OG`, `Piso`, `Puerta`, `Esc.`, `Appartement`,
//!   `Bât.`, `Scala`, `Interno`, `Flat`), make the unit, with Spanish ordinals read as numbers
//!   (`3º B` → `3b`).
//! - **Japanese and Chinese addresses**: no spaces; `丁目`, `番地`, `番`, `号` after a number
//!   become `-` (`1丁目2番3号` = `1-2-3`); numbers marked `号室`, `室`, `单元`, `楼`, `階`,
//!   `棟`, `栋` make the unit; the house number is the first run of digits and dashes, the street
//!   everything written before it (prefecture, city, ward, district, road). Numbers written in
//!   kanji (`一丁目`) are not converted.

use super::NormalizeError;
use crate::text::{fold, jaro_winkler, optimal_string_alignment};
use unicode_normalization::UnicodeNormalization;
use weft_sdk::Address;
use weft_sdk::text::is_cjk;

/// A normalized postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostalAddress {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub street: Option<String>,
    pub house: Option<String>,
    pub unit: Option<String>,
}

/// An address and what could not be read in it (a postcode of the wrong shape, say): the rest
/// is still used.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAddress {
    pub address: PostalAddress,
    pub problems: Vec<NormalizeError>,
}

/// How two addresses' street, house number and unit agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreetAgreement {
    /// Same street, house number and (where both have one) unit.
    Exact,
    /// Same house number, street names alike (the Jaro–Winkler similarity is kept).
    Fuzzy(f64),
    /// Same building, different units (a named unit with a typo, `stonyirdge` / `stonyridge`,
    /// is the same unit): neighbours.
    OtherUnit,
    /// Same street, house numbers one slip of the keyboard apart: two digits swapped or one
    /// digit added or dropped (`952` / `925`, `11` / `1`). A different digit (`12` / `14`) is a
    /// neighbour, [`StreetAgreement::OtherHouse`].
    HouseTypo,
    /// Same street, another house number.
    OtherHouse,
    /// Same house number, street names unlike (a street name rewritten, lost to the other
    /// line, or replaced): weak evidence, house numbers repeat on every street.
    OtherStreet,
    Disagree,
    /// Street names alike (the similarity is kept), a house number missing on one side or
    /// both: the street still counts, the missing number counts for nothing.
    StreetOnly(f64),
    /// Street names unlike, a house number missing on one side or both.
    OtherStreetNoHouse,
    /// One side lacks a street.
    Missing,
}

/// Common country names, folded, to ISO codes.
const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("germany", "DE"),
    ("deutschland", "DE"),
    ("france", "FR"),
    ("spain", "ES"),
    ("espana", "ES"),
    ("italy", "IT"),
    ("italia", "IT"),
    ("united kingdom", "GB"),
    ("uk", "GB"),
    ("great britain", "GB"),
    ("united states", "US"),
    ("usa", "US"),
    ("united states of america", "US"),
    ("japan", "JP"),
    ("日本", "JP"),
    ("china", "CN"),
    ("中国", "CN"),
    ("austria", "AT"),
    ("osterreich", "AT"),
    ("switzerland", "CH"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("netherlands", "NL"),
    ("nederland", "NL"),
    ("belgium", "BE"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("portugal", "PT"),
    ("poland", "PL"),
    ("polska", "PL"),
    ("mexico", "MX"),
    ("canada", "CA"),
    ("australia", "AU"),
];

/// Street-type words and their one canonical form.
const STREET_TYPES: &[(&str, &str)] = &[
    ("strasse", "str"),
    ("str", "str"),
    ("street", "st"),
    ("st", "st"),
    ("avenue", "ave"),
    ("ave", "ave"),
    ("av", "ave"),
    ("avenida", "ave"),
    ("avda", "ave"),
    ("avd", "ave"),
    ("road", "rd"),
    ("rd", "rd"),
    ("boulevard", "blvd"),
    ("bd", "blvd"),
    ("bld", "blvd"),
    ("blvd", "blvd"),
    ("calle", "calle"),
    ("cl", "calle"),
    ("c", "calle"),
    ("plaza", "pl"),
    ("place", "pl"),
    ("platz", "pl"),
    ("piazza", "pl"),
    ("pza", "pl"),
    ("pl", "pl"),
    ("via", "via"),
    ("v", "via"),
    ("drive", "dr"),
    ("dr", "dr"),
    ("lane", "ln"),
    ("ln", "ln"),
    ("paseo", "paseo"),
    ("po", "paseo"),
];

/// Articles and prepositions dropped from street names.
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "el", "le", "les", "du", "des", "di", "della", "dei", "d", "l",
];

/// Words that introduce a unit (apartment, floor, staircase); they are dropped, what follows
/// them is the unit.
const UNIT_WORDS: &[&str] = &[
    "apt",
    "apartment",
    "app",
    "appartement",
    "unit",
    "suite",
    "ste",
    "wohnung",
    "whg",
    "og",
    "etage",
    "stock",
    "piso",
    "puerta",
    "pta",
    "escalera",
    "esc",
    "bat",
    "batiment",
    "scala",
    "interno",
    "int",
    "flat",
    "room",
    "izq",
    "izda",
    "dcha",
    "der",
    "dch",
];

/// CJK markers of a unit number, longest first.
const CJK_UNIT_MARKERS: &[&str] = &["号室", "号楼", "单元", "室", "楼", "階", "棟", "栋"];
/// CJK markers of the parts of a block number, longest first.
const CJK_NUMBER_MARKERS: &[&str] = &["丁目", "番地", "番", "号"];

/// Normalizes a postcode for a country, or says why it does not have the country's shape.
pub fn normalize_postcode(country: &str, raw: &str) -> Result<String, NormalizeError> {
    const FIELD: &str = "postcode";
    let text: String = raw.trim().nfkc().collect();
    let text = text.trim_start_matches('〒').trim();
    let upper = text.to_uppercase();
    // `D-10115`, `F-75001`, `DE-10115`: a country prefix from before the postcode reforms.
    let upper = match upper.split_once('-') {
        Some((prefix, rest))
            if prefix.chars().all(|c| c.is_ascii_alphabetic())
                && prefix.len() <= 2
                && !matches!(country, "GB" | "CA" | "NL") =>
        {
            rest.to_owned()
        }
        _ => upper,
    };
    let compact: String = upper.chars().filter(|c| !matches!(c, ' ' | '-' | '.')).collect();
    if compact.is_empty() {
        return Err(NormalizeError::Empty { field: FIELD });
    }
    let digits = |n: usize| compact.len() == n && compact.chars().all(|c| c.is_ascii_digit());
    let bad = |shape: &str| NormalizeError::invalid(FIELD, raw, format!("a {country} postcode has {shape}"));
    match country {
        "DE" | "FR" | "ES" | "IT" | "MX" => digits(5).then(|| compact.clone()).ok_or_else(|| bad("5 digits")),
        "US" => {
            if digits(5) {
                Ok(compact)
            } else if digits(9) {
                Ok(compact[..5].to_owned())
            } else {
                Err(bad("5 digits, or 9 with ZIP+4"))
            }
        }
        "AT" | "CH" | "BE" | "DK" | "NO" | "HU" | "AU" => {
            digits(4).then(|| compact.clone()).ok_or_else(|| bad("4 digits"))
        }
        "NL" => {
            let ok = compact.len() == 6
                && compact[..4].chars().all(|c| c.is_ascii_digit())
                && compact[4..].chars().all(|c| c.is_ascii_uppercase());
            ok.then(|| compact.clone()).ok_or_else(|| bad("4 digits and 2 letters"))
        }
        "GB" => {
            let ok = (5..=7).contains(&compact.len())
                && compact.chars().all(|c| c.is_ascii_alphanumeric())
                && compact.starts_with(|c: char| c.is_ascii_alphabetic())
                && {
                    let inward: Vec<char> = compact[compact.len() - 3..].chars().collect();
                    inward[0].is_ascii_digit() && inward[1].is_ascii_alphabetic() && inward[2].is_ascii_alphabetic()
                };
            ok.then(|| format!("{} {}", &compact[..compact.len() - 3], &compact[compact.len() - 3..]))
                .ok_or_else(|| bad("an outward code and an inward code like `SW1A 1AA`"))
        }
        "CA" => {
            let ok = compact.len() == 6
                && compact.chars().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_digit()
                    }
                });
            ok.then(|| format!("{} {}", &compact[..3], &compact[3..]))
                .ok_or_else(|| bad("the shape `A1A 1A1`"))
        }
        "JP" => digits(7)
            .then(|| format!("{}-{}", &compact[..3], &compact[3..]))
            .ok_or_else(|| bad("7 digits")),
        "CN" => digits(6).then(|| compact.clone()).ok_or_else(|| bad("6 digits")),
        "PT" => digits(7)
            .then(|| format!("{}-{}", &compact[..4], &compact[4..]))
            .ok_or_else(|| bad("7 digits")),
        "PL" => digits(5)
            .then(|| format!("{}-{}", &compact[..2], &compact[2..]))
            .ok_or_else(|| bad("5 digits")),
        _ => {
            if compact.chars().all(|c| c.is_alphanumeric()) && compact.len() <= 10 {
                Ok(compact)
            } else {
                Err(NormalizeError::invalid(
                    FIELD,
                    raw,
                    "a postcode has at most 10 letters and digits",
                ))
            }
        }
    }
}

/// A country code from a code or a common name.
pub fn normalize_country(raw: &str) -> Result<String, NormalizeError> {
    let folded = fold(raw.trim());
    if folded.len() == 2 && folded.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(folded.to_ascii_uppercase());
    }
    COUNTRY_NAMES
        .iter()
        .find(|(name, _)| *name == folded)
        .map(|(_, code)| (*code).to_owned())
        .ok_or_else(|| NormalizeError::invalid("country", raw, "not an ISO 3166 code or a known country name"))
}

/// Normalizes an address as a channel gave it. Fails only when nothing at all is usable.
pub fn parse_address(address: &Address, default_country: &str) -> Result<ParsedAddress, NormalizeError> {
    let mut problems = Vec::new();
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let country = match present(&address.country) {
        Some(raw) => normalize_country(&raw).unwrap_or_else(|e| {
            problems.push(e);
            default_country.to_owned()
        }),
        None => default_country.to_owned(),
    };
    let postcode = present(&address.postcode)
        .and_then(|raw| normalize_postcode(&country, &raw).map_err(|e| problems.push(e)).ok());
    let city = present(&address.city)
        .map(|c| normalize_city(&c))
        .filter(|c| !c.is_empty());
    let lines: Vec<String> = [present(&address.line1), present(&address.line2)]
        .into_iter()
        .flatten()
        .collect();
    let text = lines.join(", ");
    let (street, house, unit) = if text.chars().any(is_cjk) {
        split_cjk(&text)
    } else {
        split_latin(&text)
    };
    let normalized = PostalAddress {
        country,
        postcode,
        city,
        street,
        house,
        unit,
    };
    if normalized.postcode.is_none()
        && normalized.city.is_none()
        && normalized.street.is_none()
        && normalized.house.is_none()
    {
        return Err(problems.pop().unwrap_or(NormalizeError::Empty { field: "address" }));
    }
    Ok(ParsedAddress {
        address: normalized,
        problems,
    })
}

fn normalize_city(raw: &str) -> String {
    let folded = fold(raw.trim());
    if folded.chars().any(is_cjk) {
        let joined: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
        return joined.trim_end_matches(['市', '都']).to_owned();
    }
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "cedex")
        .collect::<Vec<_>>()
        .join(" ")
}

fn split_latin(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let folded = fold(text).replace("c/", "calle ").replace("s/n", " ");
    // Segments at commas; words at spaces and dots (keeping `12.` a number).
    let segments: Vec<Vec<String>> = folded
        .split([',', ';'])
        .map(|seg| {
            seg.split(|c: char| c.is_whitespace() || c == '.')
                .map(|w| {
                    w.chars()
                        .filter(|c| c.is_alphanumeric() || *c == '#' || *c == '-')
                        .collect::<String>()
                })
                .map(|w| w.trim_matches('-').to_owned())
                .filter(|w| !w.is_empty())
                .collect()
        })
        .filter(|seg: &Vec<String>| !seg.is_empty())
        .collect();
    let mut street: Vec<String> = Vec::new();
    let mut house: Option<String> = None;
    let mut unit: Vec<String> = Vec::new();
    let mut in_unit = false;
    for (seg_index, seg) in segments.iter().enumerate() {
        let mut i = 0;
        while i < seg.len() {
            let word = seg[i].as_str();
            let bare = word.trim_start_matches('#');
            if word.starts_with('#') || UNIT_WORDS.contains(&word) {
                in_unit = true;
                if !bare.is_empty() && bare != word {
                    unit.push(ordinal(bare));
                }
            } else if in_unit {
                unit.push(ordinal(word));
            } else if house.is_none() && word.starts_with(|c: char| c.is_ascii_digit()) {
                let mut number = word.to_owned();
                if let Some(next) = seg.get(i + 1)
                    && ((next.len() == 1 && next.chars().all(|c| c.is_ascii_alphabetic()))
                        || matches!(next.as_str(), "bis" | "ter"))
                    && !(street.is_empty() && STREET_TYPES.iter().any(|(w, _)| w == next))
                {
                    number.push_str(next);
                    i += 1;
                }
                house = Some(number);
                // Street-first ("Hauptstraße 12"): whatever follows is the unit.
                if !street.is_empty() {
                    in_unit = true;
                }
            } else if house.is_some() && seg_index > 0 && !street.is_empty() {
                unit.push(ordinal(word));
            } else if !PARTICLES.contains(&word) {
                street.push(canonical_street_word(word));
            }
            i += 1;
        }
    }
    // "Haupt Str" → "hauptstr", as it is written in one word almost always.
    let mut joined: Vec<String> = Vec::new();
    for word in street {
        match joined.last_mut() {
            Some(prev) if word == "str" && !prev.ends_with("str") => prev.push_str("str"),
            _ => joined.push(word),
        }
    }
    let street = (!joined.is_empty()).then(|| joined.join(" "));
    let unit = (!unit.is_empty()).then(|| unit.concat());
    (street, house, unit)
}

fn canonical_street_word(word: &str) -> String {
    if let Some((_, canonical)) = STREET_TYPES.iter().find(|(w, _)| *w == word) {
        return (*canonical).to_owned();
    }
    // A street type written out with one typo (`stret`, `stteet`, `setreet`, `strase`): only
    // the written-out forms of six letters or more, which no street name is one typo from.
    if word.chars().count() >= 5
        && let Some((_, canonical)) = STREET_TYPES
            .iter()
            .find(|(w, _)| w.len() >= 6 && optimal_string_alignment(word, w) <= 1)
    {
        return (*canonical).to_owned();
    }
    for suffix in ["strasse", "str"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= 2
        {
            return format!("{stem}str");
        }
    }
    word.to_owned()
}

/// `3o` (from `3º`) and `2a` (from `2ª`) are Spanish ordinals: the number.
fn ordinal(word: &str) -> String {
    match word.strip_suffix(['o', 'a']) {
        Some(number) if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) => number.to_owned(),
        _ => word.to_owned(),
    }
}

fn split_cjk(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let mut rest: String = text
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != '、')
        .collect();
    rest = rest.replace(['ー', '−', '‐', '－'], "-");
    // Units: digits followed by a unit marker.
    let mut units = Vec::new();
    loop {
        let found = CJK_UNIT_MARKERS
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min_by_key(|(at, _)| *at);
        let Some((at, marker)) = found else { break };
        let before = &rest[..at];
        let start = before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let number = &rest[start..at];
        if !number.is_empty() {
            units.push(number.to_owned());
        }
        rest = format!("{}{}", &rest[..start], &rest[at + marker.len()..]);
    }
    for marker in CJK_NUMBER_MARKERS {
        rest = rest.replace(marker, "-");
    }
    let start = rest.find(|c: char| c.is_ascii_digit());
    let (street, house) = match start {
        Some(start) => {
            let tail = &rest[start..];
            let end = tail
                .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                .unwrap_or(tail.len());
            let house = tail[..end].trim_matches('-').to_owned();
            (
                rest[..start].trim_end_matches('-').to_owned(),
                Some(house).filter(|h| !h.is_empty()),
            )
        }
        None => (rest.clone(), None),
    };
    let street = fold(&street);
    let street = (!street.is_empty()).then_some(street);
    let unit = (!units.is_empty()).then(|| units.join("-"));
    (street, house, unit)
}

impl PostalAddress {
    /// The value stored as an `address` identity:
    /// `country|postcode|city|street|house|unit`, empty where unknown.
    pub fn key(&self) -> String {
        let part = |s: &Option<String>| s.as_deref().unwrap_or("").replace('|', " ");
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.country,
            part(&self.postcode),
            part(&self.city),
            part(&self.street),
            part(&self.house),
            part(&self.unit)
        )
    }

    /// Reads back a value written by [`PostalAddress::key`].
    pub fn from_key(key: &str) -> Option<PostalAddress> {
        let parts: Vec<&str> = key.split('|').collect();
        let [country, postcode, city, street, house, unit] = parts.as_slice() else {
            return None;
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Some(PostalAddress {
            country: (*country).to_owned(),
            postcode: opt(postcode),
            city: opt(city),
            street: opt(street),
            house: opt(house),
            unit: opt(unit),
        })
    }

    /// The postcode qualified by its country (`DE-10115`): postcodes repeat across countries.
    pub fn qualified_postcode(&self) -> Option<String> {
        self.postcode.as_ref().map(|p| format!("{}-{p}", self.country))
    }
}

/// Whether two units are one: equal, or a named unit (a building, a home, a hostel: three
/// letters or more) with a typo, that is with the same digits and a Jaro–Winkler similarity of
/// at least 0.9 (`stonyridge` / `stonyirdge`). Numbered units differ by any digit or letter
/// (`3b` / `3c` are neighbours).
fn same_unit(x: &str, y: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let letters = |s: &str| s.chars().filter(|c| c.is_alphabetic()).count();
    x == y || (letters(x) >= 3 && letters(y) >= 3 && digits(x) == digits(y) && jaro_winkler(x, y) >= 0.9)
}

/// Compares street, house number and unit. Address lines written the other way round (the
/// building name first, the street second) are recognized: each side's street is compared with
/// the other's unit.
pub fn compare_street(a: &PostalAddress, b: &PostalAddress) -> StreetAgreement {
    let (Some(sa), Some(sb)) = (&a.street, &b.street) else {
        return StreetAgreement::Missing;
    };
    if a.country != b.country {
        return StreetAgreement::Disagree;
    }
    let (Some(ha), Some(hb)) = (&a.house, &b.house) else {
        // A house number left out is missing, not different: the street names are compared
        // alone (missing is a level of its own, as Splink and fastLink keep it).
        let similarity = if sa == sb {
            1.0
        } else {
            jaro_winkler(sa, sb).max(swapped_lines(a, b).unwrap_or(0.0))
        };
        return if similarity >= 0.9 {
            StreetAgreement::StreetOnly(similarity)
        } else {
            StreetAgreement::OtherStreetNoHouse
        };
    };
    let mut similarity = if sa == sb { 1.0 } else { jaro_winkler(sa, sb) };
    let mut other_unit = matches!((&a.unit, &b.unit), (Some(x), Some(y)) if !same_unit(x, y));
    if similarity < 0.9
        && let Some(swapped) = swapped_lines(a, b)
    {
        similarity = swapped;
        other_unit = false;
    }
    if similarity < 0.9 {
        return if ha == hb {
            StreetAgreement::OtherStreet
        } else {
            StreetAgreement::Disagree
        };
    }
    if ha != hb {
        return if house_typo(ha, hb) {
            StreetAgreement::HouseTypo
        } else {
            StreetAgreement::OtherHouse
        };
    }
    match (similarity, other_unit) {
        (_, true) => StreetAgreement::OtherUnit,
        (s, false) if s >= 1.0 => StreetAgreement::Exact,
        (s, false) => StreetAgreement::Fuzzy(s),
    }
}

/// The similarity of two addresses whose lines were swapped: `a`'s street against `b`'s unit
/// and `a`'s unit against `b`'s street, both at least 0.9, or `None`.
fn swapped_lines(a: &PostalAddress, b: &PostalAddress) -> Option<f64> {
    let (Some(sa), Some(ua), Some(sb), Some(ub)) = (&a.street, &a.unit, &b.street, &b.unit) else {
        return None;
    };
    let similarity = |street: &str, unit: &str| {
        let (street, unit) = (compact_street(street), unit_as_street(unit));
        if street == unit {
            1.0
        } else {
            jaro_winkler(&street, &unit)
        }
    };
    let (x, y) = (similarity(sa, ub), similarity(sb, ua));
    (x >= 0.9 && y >= 0.9).then_some(x.min(y))
}

/// A street without its spaces, as a unit is kept (`dryandra st` → `dryandrast`).
fn compact_street(street: &str) -> String {
    street.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A unit read as a street would be: a written-out street type at its end shortened
/// (`dryandrastreet` → `dryandrast`).
fn unit_as_street(unit: &str) -> String {
    STREET_TYPES
        .iter()
        .filter(|(w, c)| w.len() > c.len())
        .find_map(|(w, c)| {
            unit.strip_suffix(w)
                .filter(|stem| stem.chars().count() >= 2)
                .map(|stem| format!("{stem}{c}"))
        })
        .unwrap_or_else(|| unit.to_owned())
}

/// Whether two different postcodes of one country are one slip of the keyboard apart: one
/// character replaced, or two neighbouring characters swapped (`4223` / `4233`, `10115` /
/// `10151`). Postcodes of one country have one length, so an added or dropped character is not
/// a slip but a malformed code, which normalization already refused.
pub fn postcode_typo(x: &str, y: &str) -> bool {
    x != y && x.chars().count() == y.chars().count() && optimal_string_alignment(x, y) <= 1
}

/// Whether two different house numbers are one slip apart: two neighbouring characters swapped,
/// or one character added or dropped. A replaced character is not: `12` and `14` are
/// neighbours far more often than a typo.
fn house_typo(x: &str, y: &str) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
    if x.len() == y.len() {
        let differ: Vec<usize> = (0..x.len()).filter(|&i| x[i] != y[i]).collect();
        return differ.len() == 2
            && differ[1] == differ[0] + 1
            && x[differ[0]] == y[differ[1]]
            && x[differ[1]] == y[differ[0]];
    }
    let (short, long) = if x.len() < y.len() { (&x, &y) } else { (&y, &x) };
    long.len() == short.len() + 1
        && (0..long.len()).any(|skip| {
            long.iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, c)| c)
                .eq(short.iter())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(line1: &str, line2: Option<&str>, postcode: &str, city: &str, country: Option<&str>) -> Address {
        Address {
            line1: Some(line1.into()),
            line2: line2.map(Into::into),
            city: Some(city.into()),
            postcode: Some(postcode.into()),
            region: None,
            country: country.map(Into::into),
        }
    }

    #[test]
    fn postcodes() {
        for (country, input, expected) in [
            ("DE", "10115", "10115"),
            ("DE", "D-10115", "10115"),
            ("DE", " 80 331 ", "80331"),
            ("FR", "75001", "75001"),
            ("FR", "F-75001", "75001"),
            ("ES", "28013", "28013"),
            ("IT", "00184", "00184"),
            ("US", "10001-1234", "10001"),
            ("AT", "1010", "1010"),
            ("CH", "CH-8001", "8001"),
            ("NL", "1012 ab", "1012AB"),
            ("GB", "sw1a1aa", "SW1A 1AA"),
            ("GB", "EC1A 1BB", "EC1A 1BB"),
            ("CA", "k1a0b6", "K1A 0B6"),
            ("JP", "〒100-0001", "100-0001"),
            ("JP", "１００００１３", "100-0013"),
            ("CN", "100020", "100020"),
            ("PT", "1000-001", "1000-001"),
            ("PL", "00950", "00-950"),
            ("SE", "114 55", "11455"),
        ] {
            assert_eq!(
                normalize_postcode(country, input).as_deref(),
                Ok(expected),
                "{country} {input}"
            );
        }
        for (country, input, why) in [
            ("DE", "1011", "5 digits"),
            ("GB", "SW1A", "inward code"),
            ("JP", "100-001", "7 digits"),
            ("NL", "ABCD12", "4 digits and 2 letters"),
            ("DE", " ", "empty"),
        ] {
            let err = normalize_postcode(country, input).unwrap_err();
            assert!(err.to_string().contains(why), "{country} {input}: {err}");
        }
    }

    #[test]
    fn addresses() {
        type Row<'a> = (&'a str, Option<&'a str>, &'a str, &'a str, Option<&'a str>, &'a str);
        let rows: &[Row] = &[
            (
                "Hauptstraße 12",
                None,
                "10115",
                "Berlin",
                None,
                "DE|10115|berlin|hauptstr|12|",
            ),
            (
                "Hauptstr. 12a",
                None,
                "10115",
                "Berlin",
                Some("Deutschland"),
                "DE|10115|berlin|hauptstr|12a|",
            ),
            (
                "Haupt Str 12 a",
                Some("Whg. 4"),
                "D-10115",
                "Berlin",
                Some("DE"),
                "DE|10115|berlin|hauptstr|12a|4",
            ),
            (
                "12 rue de la Paix",
                None,
                "75002",
                "Paris Cedex",
                Some("France"),
                "FR|75002|paris|rue paix|12|",
            ),
            (
                "12 bis Avenue des Champs-Élysées",
                Some("Appartement 5"),
                "75008",
                "Paris",
                Some("FR"),
                "FR|75008|paris|ave champs-elysees|12bis|5",
            ),
            (
                "C/ Mayor 5, 3º B",
                None,
                "28013",
                "Madrid",
                Some("España"),
                "ES|28013|madrid|calle mayor|5|3b",
            ),
            (
                "Calle de Alcalá 42",
                Some("2º izq"),
                "28014",
                "Madrid",
                Some("ES"),
                "ES|28014|madrid|calle alcala|42|2",
            ),
            (
                "Avda. de la Constitución 3",
                None,
                "41004",
                "Sevilla",
                Some("ES"),
                "ES|41004|sevilla|ave constitucion|3|",
            ),
            (
                "Via Roma 10",
                Some("Scala B, Interno 4"),
                "00184",
                "Roma",
                Some("Italia"),
                "IT|00184|roma|via roma|10|b4",
            ),
            (
                "221B Baker Street",
                Some("Flat 2"),
                "nw16xe",
                "London",
                Some("GB"),
                "GB|NW1 6XE|london|baker st|221b|2",
            ),
            (
                "350 Fifth Ave Apt 4",
                None,
                "10118",
                "New York",
                Some("USA"),
                "US|10118|new york|fifth ave|350|4",
            ),
            (
                "東京都千代田区千代田1丁目1番1号",
                Some("〇〇ビル 101号室"),
                "100-0001",
                "千代田区",
                Some("JP"),
                "JP|100-0001|千代田区|東京都千代田区千代田|1-1-1|101",
            ),
            (
                "東京都千代田区千代田１－１－１",
                None,
                "1000001",
                "千代田区",
                Some("日本"),
                "JP|100-0001|千代田区|東京都千代田区千代田|1-1-1|",
            ),
            (
                "北京市朝阳区建国路88号",
                None,
                "100020",
                "北京市",
                Some("CN"),
                "CN|100020|北京|北京市朝阳区建国路|88|",
            ),
            (
                "上海市浦东新区世纪大道100号3单元501室",
                None,
                "200120",
                "上海",
                Some("中国"),
                "CN|200120|上海|上海市浦东新区世纪大道|100|3-501",
            ),
        ];
        for (line1, line2, postcode, city, country, expected) in rows {
            let parsed = parse_address(&address(line1, *line2, postcode, city, *country), "DE").unwrap();
            assert_eq!(parsed.address.key(), *expected, "{line1}");
            assert!(parsed.problems.is_empty(), "{line1}: {:?}", parsed.problems);
            assert_eq!(PostalAddress::from_key(expected).as_ref(), Some(&parsed.address));
        }
    }

    #[test]
    fn bad_parts_are_reported_not_fatal() {
        let parsed = parse_address(
            &address("Hauptstraße 12", None, "1011", "Berlin", Some("Atlantis")),
            "DE",
        )
        .unwrap();
        assert_eq!(parsed.address.key(), "DE||berlin|hauptstr|12|");
        assert_eq!(parsed.problems.len(), 2);
        assert!(parse_address(&Address::default(), "DE").is_err());
    }

    #[test]
    fn street_comparison() {
        let a = |line1: &str, line2: Option<&str>| {
            parse_address(&address(line1, line2, "10115", "Berlin", None), "DE")
                .unwrap()
                .address
        };
        assert_eq!(
            compare_street(&a("Hauptstraße 12", None), &a("Hauptstr. 12", None)),
            StreetAgreement::Exact
        );
        assert!(matches!(
            compare_street(&a("Hauptstraße 12", None), &a("Hauptstrase 12", None)),
            StreetAgreement::Fuzzy(_)
        ));
        assert_eq!(
            compare_street(&a("Hauptstraße 12", Some("Whg 3")), &a("Hauptstraße 12", Some("Whg 4"))),
            StreetAgreement::OtherUnit
        );
        // House numbers: a slip of the keyboard, or a neighbour.
        for (x, y, expected) in [
            ("Hauptstraße 12", "Hauptstraße 14", StreetAgreement::OtherHouse),
            ("Hauptstraße 12", "Hauptstraße 13", StreetAgreement::OtherHouse),
            ("Hauptstraße 952", "Hauptstraße 925", StreetAgreement::HouseTypo),
            ("Hauptstraße 11", "Hauptstraße 1", StreetAgreement::HouseTypo),
            ("Hauptstraße 12", "Hauptstraße 122", StreetAgreement::HouseTypo),
            ("Hauptstraße 12a", "Hauptstraße 12", StreetAgreement::HouseTypo),
            ("Hauptstraße 12", "Hauptstraße 21", StreetAgreement::HouseTypo),
            ("Hauptstraße 123", "Hauptstraße 321", StreetAgreement::OtherHouse),
            ("Hauptstraße 12", "Gartenweg 13", StreetAgreement::Disagree),
            ("Hauptstraße 12", "Gartenweg 12", StreetAgreement::OtherStreet),
            // A number missing is not a different one.
            ("Hauptstraße 12", "Hauptstraße", StreetAgreement::StreetOnly(1.0)),
            ("Hauptstraße", "Hauptstraße", StreetAgreement::StreetOnly(1.0)),
            ("Hauptstraße", "Gartenweg 12", StreetAgreement::OtherStreetNoHouse),
        ] {
            assert_eq!(compare_street(&a(x, None), &a(y, None)), expected, "{x} / {y}");
        }
        // Lines written the other way round: the building first, the street second.
        for (x, y, expected) in [
            (
                ("3 Dryandra Street", Some("Ferndale")),
                ("3 Ferndale", Some("Dryandra Street")),
                StreetAgreement::Exact,
            ),
            (
                ("24 Barunga Street", Some("Villa 3")),
                ("24 Villa 3", Some("Barunga Street")),
                StreetAgreement::Exact,
            ),
            (
                ("5 Tweed Place", Some("Fiveoaks")),
                ("5 Fiveoak", Some("Tweed Place")),
                StreetAgreement::Fuzzy(0.0),
            ),
            (
                ("3 Dryandra Street", Some("Ferndale")),
                ("3 Ferndale", Some("Banksia Street")),
                StreetAgreement::OtherStreet,
            ),
        ] {
            let got = compare_street(&a(x.0, x.1), &a(y.0, y.1));
            match expected {
                StreetAgreement::Fuzzy(_) => assert!(
                    matches!(got, StreetAgreement::Fuzzy(s) if s >= 0.9),
                    "{x:?} / {y:?}: {got:?}"
                ),
                _ => assert_eq!(got, expected, "{x:?} / {y:?}"),
            }
        }
        // A street type written out with one typo is still that type.
        for (x, y, expected) in [
            ("9 Araluen Stteet", "9 Araluen St", StreetAgreement::Exact),
            ("11 Coxen Stret", "11 Coxen Street", StreetAgreement::Exact),
            ("3 Light Setreet", "3 Light St.", StreetAgreement::Exact),
            ("Garten Strase 4", "Gartenstraße 4", StreetAgreement::Exact),
            ("Calle Mayor 5", "Calle Mayor 5", StreetAgreement::Exact),
            ("4 Avenu Foch", "4 Avenue Foch", StreetAgreement::Exact),
            // more than one typo away: a name, not a street type
            ("7 Strand", "7 Street", StreetAgreement::OtherStreet),
        ] {
            assert_eq!(compare_street(&a(x, None), &a(y, None)), expected, "{x} / {y}");
        }
        // Units: a named unit with a typo is the same unit; numbered units differ by any sign.
        for (x, y, expected) in [
            ("Stonyridge", "Stonyirdge", StreetAgreement::Exact),
            ("Whispering Pines", "Whispernig Pines", StreetAgreement::Exact),
            ("Haus Lindenhof", "Haus Lindenhof", StreetAgreement::Exact),
            ("Whg 3", "Whg 4", StreetAgreement::OtherUnit),
            ("Whg 13", "Whg 31", StreetAgreement::OtherUnit),
            ("3º B", "3º C", StreetAgreement::OtherUnit),
            ("Block A 12", "Block A 21", StreetAgreement::OtherUnit),
            ("Stonyridge", "Sunnyside", StreetAgreement::OtherUnit),
        ] {
            assert_eq!(
                compare_street(&a("Hauptstraße 12", Some(x)), &a("Hauptstraße 12", Some(y))),
                expected,
                "{x} / {y}"
            );
        }
        assert_eq!(
            compare_street(&a("Hauptstraße 12", None), &a("Gartenweg 12", None)),
            StreetAgreement::OtherStreet
        );
        // A house number missing on one side: the streets compared alone.
        assert_eq!(
            compare_street(&a("Hauptstraße", None), &a("Hauptstraße 12", None)),
            StreetAgreement::StreetOnly(1.0)
        );
    }
}
