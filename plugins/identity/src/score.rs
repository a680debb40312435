//! Fellegi–Sunter scoring of the weak evidence: name, street address, postcode and city.
//!
//! Each field is compared at one of a few agreement levels. A level has an m-probability (how
//! often a *true* match shows it) and a u-probability (how often two *different* people show
//! it); its weight is `log2(m / u)`. The weights of all fields are summed with the prior log
//! odds [`PRIOR_LOG2_ODDS`] and turned into a match probability `1 / (1 + 2^-total)`. A missing
//! field weighs 0.
//!
//! # Where the numbers come from
//!
//! They are priors set by hand. `weft train identity` learns a [`crate::model::Model`] from
//! the seller's own messages ([`crate::train`]: u from random pairs, the prior odds, how common
//! each name word is, and m by EM when EM finds two groups to tell apart), and the step then
//! weighs with it ([`score_with`]); these tables stay the priors it is smoothed towards. The m-probabilities follow the ranges
//! reported for name and address fields in the record-linkage literature (Winkler's US Census
//! matching work: agreement on a name or address field for 85–97% of true matches, with the
//! rest split between typos and real changes). The u-probabilities are estimates from public
//! counts:
//! - **postcode**: Germany has about 8,200 five-digit postcodes (Deutsche Post), France about
//!   6,000, Spain about 11,000, the US about 41,000, Japan about 120,000; two unrelated
//!   customers of one country share a postcode with probability about 1/8,000 when spread like
//!   the population. The German figure is used for all countries; elsewhere it understates
//!   the evidence, which errs on the side of a new customer. About 2 true matches in 100 carry
//!   a postcode with one digit replaced or two neighbouring digits swapped (a typing slip, the
//!   commonest kinds in typed numbers); postcodes are handed out in runs, so a code has some
//!   20 to 40 used codes one such slip away among several thousand, and two unrelated
//!   customers are a slip apart about 5 times in 1,000 (u for "typo" 0.005; the remaining 3
//!   true matches in 100 have moved or written another code).
//! - **street address given the postcode agrees**: a German postcode area holds about 10,000
//!   people in about 3,000 buildings, so two random people of one area share a building about
//!   3 times in 10,000. Customers are not random people: buyers cluster in households (a
//!   household that buys shares its address by definition; about one buyer in twelve lives
//!   with another) and apartment blocks, so u is set at 1 in 100, and the address alone
//!   leaves the name to say which member of a household wrote. A fuzzy street needs the same
//!   house number and a street name within a Jaro–Winkler similarity of 0.9, which neighbours
//!   rarely show (`Parkstr. 5` / `Parkweg 5`): a quarter of the exact figure. Such an area
//!   has a few hundred streets, so two of its people live on one street about 3 times in 100;
//!   there a different number is the rule, and only about 3 numbers in 100 are a swapped,
//!   added or dropped digit away from a given one (u for "house number typo" 0.001, for
//!   "other house" 0.03). About 1 true match in 100 has such a slip, and 1 in 100 another
//!   number (a wrong digit, a move along the street). The same house number on a street whose
//!   name is unlike (`Binns St 21` / `Augustus Way 21`: a street renamed in writing, swapped
//!   with a building name, or replaced) is weak evidence: house numbers repeat on every
//!   street, and two customers of one area (or of one country: the figure hardly depends on
//!   the area) share one about 3 times in 100, as numbers are concentrated at the low end; a
//!   true match shows it about 12 times in 1,000 (u for "other street" 0.03, m 0.012, a weight
//!   of -1.3 against -5.7 for streets and numbers that both differ). A house number left
//!   out on either side is *missing*, not different: the street names are then compared
//!   alone, on two levels of their own ("street, no house number": about 3 true matches in
//!   100 leave the number out, and two people of one postcode area are on one street about
//!   3 times in 100, so about 3 in 1,000 show it; across areas, a street name recurs about
//!   once in 1,000 pairs), instead of the whole street comparison counting for nothing.
//! - **city given the postcodes are a typo apart**: neighbouring codes often lie in one town,
//!   so such a pair shares its city far more often than two random customers, about 3 times
//!   in 10 (u for "exact" 0.3): the city adds a little, it does not count as a second,
//!   independent agreement.
//! - **city given the postcode agrees**: almost always the same (u ≈ 0.9, postcodes crossing
//!   municipal borders and districts written as the city account for the rest).
//! - **name**: the most common German surname, Müller, is carried by about 0.3% of the
//!   population and first names are similarly concentrated at the top, so two unrelated
//!   people share a full name about 5 times in 10,000.
//! - **name given the address agrees**: people at one address are mostly one household, who
//!   share a family name (u for "partial": 0.36) but rarely the full name (u ≈ 0.01), and
//!   about as rarely given names a typo apart (`Anna` / `Anne`: u for "fuzzy" 0.01). An
//!   initial with the family name (`J. Köhler`) fits another member about 7 times in 100
//!   (first letters of given names are concentrated: J, M, A and S start a third of them).
//! - **two more name levels**, both for words that are present, so that a missing or merely
//!   alike word is not counted as a disagreement:
//!   - "similar": every word agrees but one pair, whose Jaro–Winkler similarity is 0.8 or
//!     more without reaching the typo bar of 0.9 (Winkler's lower agreement band: two typos
//!     in a short word, `Blaw` / `Blake`), and which is not merely another ending
//!     (`Anna` / `Anne`, another person). About 15 true matches in 1,000 show it; two random
//!     people about 2 in 1,000 (as often as a typo: the band is wider, the rest must agree
//!     exactly). In one household it is as common among different members as in one person
//!     (siblings get alike names; u = m = 0.015), so there it weighs 0.
//!   - "one word": a name of a single word (two letters or more) that agrees with a word of
//!     the other (`Köhler` / `Jürgen Köhler`): the given name is missing, not different. It
//!     tells less than an initial with the family name does (it fits everyone the initial
//!     fits), so it is set to weigh less: 1.7 random pairs in 1,000 against 19 true matches
//!     in 1,000 that write a single word (3.5 against the initial's 3.9), and nothing at all
//!     within a household (u = m: it says "this family", which the address said already). A
//!     family name alone at the household's address is therefore a household, as an address
//!     alone is, and is not linked at the default customer count.
//!   - "one word, the given name": which word a lone word meets matters within a household,
//!     and only there. The family name alone (`Köhler` / `Jürgen Köhler`) says "this family";
//!     the given name alone (`Jürgen` / `Jürgen Köhler`, the family name left out) says "this
//!     person", because members of one household rarely share a given name (3 in 100, as for
//!     "partial, family name differs" below). The 19 true matches in 1,000 that write one word
//!     are split evenly between the two levels. At one address, a lone given name fits another
//!     member only when the other writes one word (about 19 in 1,000) and shares the given
//!     name (3 in 100): u 0.0005, a weight of +4.2; a lone family name there keeps its weight
//!     of 0 (u = m = 0.0095; the rest of the former u went to "disagree"). Between strangers
//!     the two are set alike (u 0.00085 each): nothing tells them apart there. This holds
//!     beyond any one data set: it uses only that a household shares a family name and
//!     rarely a given name, which the household levels already rest on.
//!   - "partial" is split by which word agrees. Where the family name (the last word as
//!     written, a CJK name's first character) agrees and a given name differs, the pair looks
//!     like one household (u 0.33 at one address); where a given name agrees and the family
//!     name differs (`Liam Pauch` / `Liam Schwaz`: a married name, a mistyped or replaced
//!     family name), it does not: two different people share a given name about as often as
//!     two strangers do (the squared frequencies of given names sum to well under 1 in 100;
//!     0.008 elsewhere), and at one address they must also have different family names, which
//!     about half of the pairs there have (u 0.004 there; it was 0.03, which made a shared
//!     given name at one address weaker evidence than between strangers, though members of a
//!     household share given names less, not more, than strangers do).
//!   - "partial" counts a family name written with a typo as agreeing (`Lucy Hemsmings` /
//!     `Liam Hemmings` is one family, not two strangers).
//!
//!   The m of the other levels is lowered to make room (exact 0.85, fuzzy 0.07, partial
//!   0.012, disagree 0.004).
//!
//! # Dependence between fields
//!
//! Fellegi–Sunter assumes fields independent given match status; addresses and names are not
//! (a postcode implies its city; a household shares an address and a surname). The tables are
//! therefore **conditional**: the street and city tables depend on whether the postcode
//! agreed, and the name table on whether the street address agreed. Without this, one shared
//! address would count three times and outvote a different first name.
//!
//! # Prior
//!
//! Before any comparison, a message and one given stored customer are the same person about
//! one time in as many customers as the seller has: the prior log odds are
//! `log2(p / (1 - p))` with `p = 1 / customers` ([`Prior`]). The workflow sets the number
//! (`fuzzy.customers`, [`DEFAULT_CUSTOMERS`] unless given): a seller with fewer customers may
//! link on less evidence, one with more needs more. With 100,000, an exact name at the same
//! address and postcode scores about 0.998, a name with a typo there about 0.98, the family
//! name alone there about 0.88, an initial there about 0.75 (another member of the household
//! fits it too), a different first name with the same family name there (a household) about
//! 0.2, the same name on another street of the same postcode about 0.7, with the same house
//! number there about 0.98, the same name and address with a postcode typo about 0.999, and
//! a name alone never reaches 0.1.
//!
//! # An address alone
//!
//! An address without a name to compare stands for a household, not a person: [`Score::links`]
//! needs a compared name as well as the threshold.

use crate::model::{Model, Table};
use crate::normalize::address::{PostalAddress, StreetAgreement, compare_street, postcode_typo};
use crate::normalize::name::{
    Name, NameAgreement, agreeing_words, compare, family_name_agrees, lone_word_is_given_name,
};
use crate::text::jaro_winkler;
use weft_sdk::Evidence;

/// How many customers a seller is assumed to have when the workflow does not say.
pub const DEFAULT_CUSTOMERS: u64 = 100_000;

/// The prior odds that a message and one stored customer are the same person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    log2_odds: f64,
}

impl Prior {
    /// One chance in `customers` (at least 2).
    pub fn customers(customers: u64) -> Prior {
        let p = 1.0 / customers.max(2) as f64;
        Prior {
            log2_odds: (p / (1.0 - p)).log2(),
        }
    }

    /// A prior given as its log odds (negative: a match is the exception).
    pub fn from_log2_odds(log2_odds: f64) -> Prior {
        Prior { log2_odds }
    }

    /// `log2(p / (1 - p))`.
    pub fn log2_odds(&self) -> f64 {
        self.log2_odds
    }

    /// Converts summed field weights to a match probability: `1 / (1 + 2^-(weight + prior))`.
    pub fn probability(&self, weight: f64) -> f64 {
        1.0 / (1.0 + (-(weight + self.log2_odds)).exp2())
    }
}

impl Default for Prior {
    fn default() -> Self {
        Prior::customers(DEFAULT_CUSTOMERS)
    }
}

/// One agreement level of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub label: &'static str,
    /// P(level | same person).
    pub m: f64,
    /// P(level | different people).
    pub u: f64,
}

impl Level {
    const fn new(label: &'static str, m: f64, u: f64) -> Self {
        Level { label, m, u }
    }

    /// `log2(m / u)`.
    pub fn weight(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

/// Postcode: exact, typo (one character replaced or two swapped), disagree.
pub const POSTCODE: [Level; 3] = [
    Level::new("exact", 0.95, 1.25e-4),
    Level::new("typo", 0.02, 0.005),
    Level::new("disagree", 0.03, 0.994_875),
];

/// City when the postcode agreed: exact, fuzzy, disagree.
pub const CITY_GIVEN_POSTCODE: [Level; 3] = [
    Level::new("exact", 0.95, 0.90),
    Level::new("fuzzy", 0.04, 0.05),
    Level::new("disagree", 0.01, 0.05),
];
/// City when the postcodes are a typo apart: exact, fuzzy, disagree.
pub const CITY_GIVEN_POSTCODE_TYPO: [Level; 3] = [
    Level::new("exact", 0.90, 0.30),
    Level::new("fuzzy", 0.05, 0.02),
    Level::new("disagree", 0.05, 0.68),
];
/// City otherwise: exact, fuzzy, disagree.
pub const CITY: [Level; 3] = [
    Level::new("exact", 0.90, 0.01),
    Level::new("fuzzy", 0.05, 0.01),
    Level::new("disagree", 0.05, 0.98),
];

/// Street address when the postcode agreed: exact, fuzzy, other unit, house-number typo, other
/// house on the same street, the same house number on another street, disagree; and, with a
/// house number missing, the street alike or not.
pub const STREET_GIVEN_POSTCODE: [Level; 9] = [
    Level::new("exact", 0.852, 0.01),
    Level::new("fuzzy", 0.06, 0.002_5),
    Level::new("other unit", 0.005, 0.005),
    Level::new("house number typo", 0.01, 0.001),
    Level::new("other house", 0.01, 0.03),
    Level::new("other street", 0.012, 0.03),
    Level::new("disagree", 0.018, 0.858_5),
    Level::new("street, no house number", 0.03, 0.003),
    Level::new("other street, no house number", 0.003, 0.06),
];
/// Street address otherwise: exact, fuzzy, other unit, house-number typo, other house on the
/// same street, the same house number on another street, disagree; and, with a house number
/// missing, the street alike or not.
pub const STREET: [Level; 9] = [
    Level::new("exact", 0.852, 1e-5),
    Level::new("fuzzy", 0.06, 5e-6),
    Level::new("other unit", 0.005, 1e-5),
    Level::new("house number typo", 0.01, 1e-4),
    Level::new("other house", 0.01, 1e-3),
    Level::new("other street", 0.012, 0.03),
    Level::new("disagree", 0.018, 0.867_875),
    Level::new("street, no house number", 0.03, 1e-3),
    Level::new("other street, no house number", 0.003, 0.1),
];

/// Name when the street address agreed (one household): exact, fuzzy, initial, similar, one
/// word (the family name, or a word that is not the given name), partial (the family name
/// agrees), disagree, partial with the family name differing, one word that is the given name.
pub const NAME_GIVEN_ADDRESS: [Level; 9] = [
    Level::new("exact", 0.85, 0.01),
    Level::new("fuzzy", 0.07, 0.01),
    Level::new("initial", 0.03, 0.07),
    Level::new("similar", 0.015, 0.015),
    Level::new("one word", 0.0095, 0.0095),
    Level::new("partial", 0.008, 0.33),
    Level::new("disagree", 0.004, 0.551),
    Level::new("partial, family name differs", 0.004, 0.004),
    Level::new("one word, the given name", 0.0095, 0.0005),
];
/// Name otherwise: exact, fuzzy, initial, similar, one word (the family name, or a word that
/// is not the given name), partial (the family name agrees), disagree, partial with the family
/// name differing, one word that is the given name.
pub const NAME: [Level; 9] = [
    Level::new("exact", 0.85, 5e-4),
    Level::new("fuzzy", 0.07, 2e-3),
    Level::new("initial", 0.03, 2e-3),
    Level::new("similar", 0.015, 2e-3),
    Level::new("one word", 0.0095, 8.5e-4),
    Level::new("partial", 0.008, 0.012),
    Level::new("disagree", 0.004, 0.9718),
    Level::new("partial, family name differs", 0.004, 0.008),
    Level::new("one word, the given name", 0.0095, 8.5e-4),
];

/// A strong identifier (email, phone, buyer id, handle, known order): exact, disagree. Strong
/// identifiers link or merge by rule, not by score; the weights are recorded as evidence so
/// that every link reads the same way. u for exact: a normalized email or number is shared by
/// about one pair in ten million (family addresses, recycled numbers); m for disagree: about
/// three in ten returning customers write from another address or number than the one known.
pub const STRONG: [Level; 2] = [Level::new("exact", 0.70, 1e-7), Level::new("differs", 0.30, 1.0 - 1e-7)];

/// What is known of one side of a comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeakProfile {
    pub names: Vec<Name>,
    pub addresses: Vec<PostalAddress>,
}

/// The outcome of comparing a message's weak evidence with a customer's.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Sum of the field weights, without the prior.
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
    /// One entry per compared field, with its level and weight.
    pub evidence: Vec<Evidence>,
    /// Whether names were compared.
    pub name_compared: bool,
    /// The level each compared field landed on, as (table, level index): what training
    /// counts.
    pub outcomes: Vec<(Table, usize)>,
}

impl Score {
    /// Whether this is enough to link: the probability reaches `min_score` and names were
    /// compared (an address alone stands for a household).
    pub fn links(&self, min_score: f64) -> bool {
        self.name_compared && self.probability >= min_score
    }
}

/// One address comparison, field by field.
struct AddressComparison {
    weight: f64,
    street_agreed: bool,
    evidence: Vec<Evidence>,
    outcomes: Vec<(Table, usize)>,
}

fn compare_address(a: &PostalAddress, b: &PostalAddress, model: &Model) -> AddressComparison {
    let mut evidence = Vec::new();
    let mut outcomes = Vec::new();
    let mut weight = 0.0;
    let mut push = |table: Table, level: usize, detail: String| {
        let w = model.weight(table, level);
        weight += w;
        outcomes.push((table, level));
        evidence.push(Evidence::new(
            table.field(),
            format!("{}: {detail}", table.defaults()[level].label),
            w,
        ));
    };
    let (postcode_agreed, postcode_typo) = match (&a.postcode, &b.postcode) {
        (Some(x), Some(y)) => {
            let agreed = x == y && a.country == b.country;
            let typo = !agreed && a.country == b.country && postcode_typo(x, y);
            let level = if agreed {
                0
            } else if typo {
                1
            } else {
                2
            };
            push(
                Table::Postcode,
                level,
                format!("{}-{x} vs {}-{y}", a.country, b.country),
            );
            (agreed, typo)
        }
        _ => (false, false),
    };
    if let (Some(x), Some(y)) = (&a.city, &b.city) {
        let table = if postcode_agreed {
            Table::CityGivenPostcode
        } else if postcode_typo {
            Table::CityGivenPostcodeTypo
        } else {
            Table::City
        };
        let similarity = jaro_winkler(x, y);
        let level = if x == y {
            0
        } else if similarity >= 0.9 {
            1
        } else {
            2
        };
        push(table, level, format!("{x} vs {y} (similarity {similarity:.2})"));
    }
    let table = if postcode_agreed {
        Table::StreetGivenPostcode
    } else {
        Table::Street
    };
    let street = |s: &PostalAddress| {
        format!(
            "{} {}{}",
            s.street.as_deref().unwrap_or(""),
            s.house.as_deref().unwrap_or(""),
            s.unit.as_deref().map(|u| format!(" / {u}")).unwrap_or_default()
        )
    };
    let agreement = compare_street(a, b);
    let (level, agreed, extra) = match agreement {
        StreetAgreement::Missing => (None, false, String::new()),
        StreetAgreement::Exact => (Some(0), true, String::new()),
        StreetAgreement::Fuzzy(s) => (Some(1), true, format!(" (similarity {s:.2})")),
        StreetAgreement::OtherUnit => (Some(2), false, String::new()),
        StreetAgreement::HouseTypo => (Some(3), false, String::new()),
        StreetAgreement::OtherHouse => (Some(4), false, String::new()),
        StreetAgreement::OtherStreet => (Some(5), false, String::new()),
        StreetAgreement::Disagree => (Some(6), false, String::new()),
        StreetAgreement::StreetOnly(s) => (Some(7), true, format!(" (similarity {s:.2})")),
        StreetAgreement::OtherStreetNoHouse => (Some(8), false, String::new()),
    };
    if let Some(level) = level {
        push(table, level, format!("{} vs {}{extra}", street(a), street(b)));
    }
    AddressComparison {
        weight,
        street_agreed: agreed,
        evidence,
        outcomes,
    }
}

/// Compares a message's weak evidence with a customer's, with the hand-set priors. With
/// several names or addresses on either side, the best-scoring pair of each counts.
pub fn score(message: &WeakProfile, customer: &WeakProfile, prior: Prior) -> Score {
    score_with(message, customer, prior, &Model::shared_default())
}

/// [`score`] with the weights of `model`: its levels' m and u, and its name-word frequencies
/// (a name word two names agree on exactly weighs more the rarer it is). The prior is the
/// caller's (the step uses the model's learned prior when it has one).
pub fn score_with(message: &WeakProfile, customer: &WeakProfile, prior: Prior, model: &Model) -> Score {
    let mut weight = 0.0;
    let mut evidence = Vec::new();
    let mut outcomes = Vec::new();
    let best_address = message
        .addresses
        .iter()
        .flat_map(|a| customer.addresses.iter().map(move |b| compare_address(a, b, model)))
        .max_by(|x, y| x.weight.total_cmp(&y.weight));
    let street_agreed = best_address.as_ref().is_some_and(|a| a.street_agreed);
    if let Some(address) = best_address {
        weight += address.weight;
        evidence.extend(address.evidence);
        outcomes.extend(address.outcomes);
    }
    let table = if street_agreed {
        Table::NameGivenAddress
    } else {
        Table::Name
    };
    let best_name = message
        .names
        .iter()
        .flat_map(|a| customer.names.iter().map(move |b| (a, b, compare(a, b))))
        .filter_map(|(a, b, agreement)| {
            let (level, extra) = match agreement {
                NameAgreement::Exact => (0, String::new()),
                NameAgreement::Fuzzy(s) => (1, format!(" (lowest word similarity {s:.2})")),
                NameAgreement::Initial => (2, String::new()),
                NameAgreement::Similar(s) => (3, format!(" (most alike other words {s:.2})")),
                NameAgreement::OneWord if lone_word_is_given_name(a, b) => (8, String::new()),
                NameAgreement::OneWord => (4, String::new()),
                NameAgreement::Partial if family_name_agrees(a, b) => (5, String::new()),
                NameAgreement::Partial => (7, String::new()),
                NameAgreement::Disagree => (6, String::new()),
                NameAgreement::Incomparable => return None,
            };
            // Words agreeing exactly, each weighed by how common it is (none for a name that
            // disagrees: nothing was shared). Not where only the family name is shared at one
            // address (an initial, one word, partial): that is what a household shows, and a
            // rare family name there says "this family" more surely, not "this person".
            let mut frequency = 0.0;
            let mut words = Vec::new();
            let household = table == Table::NameGivenAddress && matches!(level, 2 | 4 | 5);
            if level != 6 && !household && !model.names.is_empty() {
                for word in agreeing_words(a, b) {
                    let bits = model.names.adjustment(&word);
                    frequency += bits;
                    words.push(format!(
                        "{word} ({} of {} name words, {bits:+.2})",
                        model.names.occurrences(&word),
                        model.names.total()
                    ));
                }
            }
            let w = model.weight(table, level) + frequency;
            let detail = format!("{}: {} vs {}{extra}", table.defaults()[level].label, a.key(), b.key());
            Some((level, w, frequency, detail, words))
        })
        .max_by(|x, y| x.1.total_cmp(&y.1));
    let name_compared = best_name.is_some();
    if let Some((level, w, frequency, detail, words)) = best_name {
        weight += w;
        outcomes.push((table, level));
        evidence.push(Evidence::new("name", detail, w - frequency));
        if !words.is_empty() {
            evidence.push(Evidence::new(
                "name frequency",
                format!("agreeing words weighed by how common they are: {}", words.join(", ")),
                frequency,
            ));
        }
    }
    Score {
        weight,
        probability: prior.probability(weight),
        evidence,
        name_compared,
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::address::parse_address;
    use weft_sdk::Address;

    fn profile(name: &str, line1: &str, postcode: &str, city: &str) -> WeakProfile {
        let address = Address {
            line1: (!line1.is_empty()).then(|| line1.into()),
            postcode: (!postcode.is_empty()).then(|| postcode.into()),
            city: (!city.is_empty()).then(|| city.into()),
            ..Address::default()
        };
        WeakProfile {
            names: Name::parse(name).into_iter().collect(),
            addresses: parse_address(&address, "DE").map(|p| p.address).into_iter().collect(),
        }
    }

    #[test]
    fn tables_are_probabilities() {
        let tables: [&[Level]; 9] = [
            &POSTCODE,
            &CITY_GIVEN_POSTCODE,
            &CITY_GIVEN_POSTCODE_TYPO,
            &CITY,
            &STREET_GIVEN_POSTCODE,
            &STREET,
            &NAME_GIVEN_ADDRESS,
            &NAME,
            &STRONG,
        ];
        for table in tables {
            let m: f64 = table.iter().map(|l| l.m).sum();
            let u: f64 = table.iter().map(|l| l.u).sum();
            assert!(
                (m - 1.0).abs() < 1e-9 && (u - 1.0).abs() < 1e-9,
                "{table:?}: m {m} u {u}"
            );
            // Better agreement never weighs less than worse agreement, except the "other unit"
            // level, which sits between.
            assert!(table.first().unwrap().weight() > table.last().unwrap().weight());
        }
        assert!((Prior::customers(1_000_000).log2_odds() - (1e-6_f64 / (1.0 - 1e-6)).log2()).abs() < 1e-9);
        assert_eq!(Prior::default(), Prior::customers(DEFAULT_CUSTOMERS));
    }

    #[test]
    fn probability_is_logistic_in_base_two() {
        let prior = Prior::default();
        let odds = prior.log2_odds();
        assert!((prior.probability(-odds) - 0.5).abs() < 1e-12);
        assert!((prior.probability(-odds + 1.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!(prior.probability(0.0) < 1e-4);
        assert!(prior.probability(60.0) > 0.999_999);
        // More customers, more evidence needed.
        assert!(Prior::customers(1_000_000).probability(20.0) < Prior::customers(10_000).probability(20.0));
    }

    #[test]
    fn scenarios() {
        let stored = profile("Hans Müller", "Hauptstraße 12", "10115", "Berlin");
        for (name, line1, postcode, city, lo, hi, links) in [
            // the same person, written differently
            ("Herr Hans Mueller", "Hauptstr. 12", "10115", "Berlin", 0.99, 1.0, true),
            // a typo in the name, same address
            ("Hans Müler", "Hauptstraße 12", "10115", "Berlin", 0.95, 0.999, true),
            // an initial: Hanna Müller of the same household fits it as well
            ("H. Müller", "Hauptstr 12", "10115", "Berlin", 0.5, 0.9, false),
            // a typo in the house number
            ("Hans Müller", "Hauptstraße 21", "10115", "Berlin", 0.99, 1.0, true),
            // household: same address, same family name, other first name
            ("Anna Müller", "Hauptstraße 12", "10115", "Berlin", 0.0, 0.5, false),
            // someone else at the same address
            ("Peter Weber", "Hauptstraße 12", "10115", "Berlin", 0.0, 0.5, false),
            // same name, other street in the same postcode
            ("Hans Müller", "Gartenweg 3", "10115", "Berlin", 0.0, 0.9, false),
            // same name, a neighbour's house number
            ("Hans Müller", "Hauptstraße 14", "10115", "Berlin", 0.5, 0.99, true),
            // the family name alone at the address: the household, not a person
            ("Müller", "Hauptstraße 12", "10115", "Berlin", 0.8, 0.9, false),
            // the given name alone there (the family name left out): this person
            ("Hans", "Hauptstraße 12", "10115", "Berlin", 0.98, 1.0, true),
            // same name, the same house number on a street written quite differently
            ("Hans Müller", "Gartenweg 12", "10115", "Berlin", 0.95, 0.999, true),
            // a postcode with two digits swapped
            ("Hans Müller", "Hauptstraße 12", "10151", "Berlin", 0.99, 1.0, true),
            // and with a household's other first name
            ("Anna Müller", "Hauptstraße 12", "10151", "Berlin", 0.0, 0.5, false),
            // a name alone
            ("Hans Müller", "", "", "", 0.0, 0.05, false),
            // an address alone: a household, not a person
            ("", "Hauptstraße 12", "10115", "Berlin", 0.5, 1.0, false),
        ] {
            let score = score(&profile(name, line1, postcode, city), &stored, Prior::default());
            assert!(
                score.probability >= lo && score.probability <= hi && score.links(0.9) == links,
                "{name} / {line1}: {} not in {lo}..{hi} or links is not {links}: {:#?}",
                score.probability,
                score.evidence
            );
        }
    }

    /// A household with a rare family name: the learned name-word frequencies make the shared
    /// family name no stronger evidence of one person, so two members stay apart.
    #[test]
    fn a_rare_family_name_does_not_join_a_household() {
        let mut model = Model::default();
        let mut words: Vec<String> = (0..2_000).map(|i| format!("common{}", i % 50)).collect();
        words.push("zyborski".into());
        words.extend(["hans", "anna"].map(String::from));
        model.names = crate::model::TermFrequencies::count(words.iter().map(String::as_str));
        let stored = profile("Hans Zyborski", "Hauptstraße 12", "10115", "Berlin");
        for (name, links) in [
            ("Anna Zyborski", false),
            ("Zyborski", false),
            ("A. Zyborski", false),
            ("Hans Zyborski", true),
            // the same given name, another family name: not a household
            ("Hans Zyborsky", true),
        ] {
            let score = score_with(
                &profile(name, "Hauptstraße 12", "10115", "Berlin"),
                &stored,
                Prior::default(),
                &model,
            );
            assert_eq!(score.links(0.9), links, "{name}: {:#?}", score.evidence);
        }
    }

    #[test]
    fn evidence_names_every_compared_field() {
        let stored = profile("Hans Müller", "Hauptstraße 12", "10115", "Berlin");
        let score = score(
            &profile("Hans Müler", "Hauptstraße 12", "10115", "Berlin"),
            &stored,
            Prior::default(),
        );
        let fields: Vec<&str> = score.evidence.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["postcode", "city", "address", "name"]);
        assert!(
            score.evidence[3].detail.starts_with("fuzzy: hans muler vs hans muller"),
            "{:?}",
            score.evidence[3]
        );
        let total: f64 = score.evidence.iter().map(|e| e.weight).sum();
        assert!((total - score.weight).abs() < 1e-9);
    }

    #[test]
    fn cjk_profiles() {
        let address = |line1: &str| Address {
            line1: Some(line1.into()),
            postcode: Some("100-0001".into()),
            city: Some("千代田区".into()),
            country: Some("JP".into()),
            ..Address::default()
        };
        let p = |name: &str, line1: &str| WeakProfile {
            names: vec![Name::parse(name).unwrap()],
            addresses: vec![parse_address(&address(line1), "DE").unwrap().address],
        };
        let stored = p("山田太郎", "東京都千代田区千代田1-1-1");
        assert!(
            score(
                &p("山田 太郎 様", "東京都千代田区千代田1丁目1番1号"),
                &stored,
                Prior::default()
            )
            .probability
                > 0.99
        );
        // The same household, another given name.
        assert!(!score(&p("山田花子", "東京都千代田区千代田1-1-1"), &stored, Prior::default()).links(0.9));
    }
}
