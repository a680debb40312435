//! The decision: which customer a message belongs to, and which customers it shows to be one.
//! An imported order (`order.placed`) is decided the same way, its buyer read as the sender,
//! its shipping address as the message's address and its number as the order it names: the
//! order's identifiers become one customer, and later messages naming the order find it.
//!
//! 1. **Extract** every identifier of the message and normalize it. What cannot be normalized
//!    is left out, logged, and named in the evidence; it never fails the step. A message whose
//!    channel reports no order number gives the first one its subject or body names
//!    ([`weft_sdk::order::find_order`]). A phone number written without a country code is
//!    read in the country of the message's address, else of the shipping address of the order
//!    it is about, else of the marketplace site that relayed it, else of its email's
//!    country-code domain, else of the address already known for the customer its email, buyer
//!    id, handle or known order finds, else in the workflow's `default_region` (numbering plans
//!    of every region, generated from libphonenumber's metadata: [`crate::normalize::phone`]).
//! 2. **Strong identifiers** (the kinds in `strong:`) are looked up exactly. Each customer found
//!    is followed through `merged_into` to the customer it lives on as.
//!    - One customer: link to it, score 1.
//!    - Several customers found through personal identifiers (email, phone, buyer id, handle):
//!      the message bridges them. They are merged into the oldest (smallest id) and the message
//!      is linked to it. A known order bridges too, unless the names say the sender is
//!      someone else (a household or a gift shares orders) or, without names to compare, the
//!      order's customer has a conflicting email, phone, buyer id or handle; a refused bridge
//!      is noted in the evidence.
//!    - A blocking-key candidate whose name and address reach `fuzzy.min_score`, without a
//!      conflicting identifier, joins the merge too (had this message come first, it would
//!      have been linked to it). The blocks are looked up only when the identifiers found
//!      several customers or the message brings a name or address its customer does not have
//!      yet: a returning buyer's known name and address were compared when they were recorded. The names and addresses already known for the customers the
//!      strong identifiers found count with the message's own: they are one person's.
//!    - Customers split apart by hand (`kept_apart`) are never merged again: the oldest is
//!      linked, the others are set aside with a `kept-apart` note, and identifiers found only
//!      on customers not linked are not recorded for the linked one.
//! 3. **Weak evidence** (when `fuzzy.enabled` and nothing strong matched): candidates come only
//!    from the blocking keys (below), so the cost per message does not grow with the number of
//!    customers beyond the size of one block. Each candidate is scored with Fellegi–Sunter
//!    ([`crate::score`]). A candidate whose strong identifiers conflict with the message's (a
//!    different email, a different phone, another buyer id on the same marketplace) is never
//!    linked on weak evidence, nor is one split by hand from another candidate that reaches
//!    `min_score` too (the name and address cannot choose between them). The best candidate at or above `min_score` is linked, with its
//!    probability as the score; otherwise the message gets a new customer.
//! 4. Anything else: a **new customer**. A message always gets a customer.
//!
//! The link carries every identity the engine should record, so that later messages find the
//! customer: the normalized strong identifiers and order number, the name (`name` identity,
//! folded words) and address (`address` identity, `country|postcode|city|street|house|unit`),
//! and the blocking keys:
//! - `name` = `blk:<code>|<country>-<postcode>` for each phonetic code of the name (Soundex of
//!   each word of two letters or more; `cjk-<first character>` and `cjk-<last character>` for
//!   a CJK name), when the address has a postcode;
//! - `name` = `blk:<code>+<code>|<country>-<city>|<house number>` for each pair of the name's
//!   phonetic codes (the one code of a one-word or one-character name), when the address has a
//!   city and a house number: a mistyped postcode would otherwise hide the customer (in the
//!   FEBRL 4 record-linkage data, 16% of the true pairs share no key built on the postcode),
//!   while the scoring still weighs the disagreeing postcode against the agreeing city, street
//!   and name. Such a candidate reaches the threshold only when its street and house number
//!   agree with the message's, so the house number belongs in the key: without it
//!   (`blk:H520+M460|DE-berlin`, as recorded until 2026-12) a block held everyone of alike
//!   names in the city, and grew with the customers there (on the identity benchmark, 1.2
//!   customers per key as seen by its members at 5,000 messages, 2.5 at 50,000; with the
//!   house number 1.10 and 1.12). On FEBRL 4 that loses 7 of the 5,000 true links at the
//!   threshold (recall 0.7188 to 0.7174: a postcode and a house number both mistyped), and 18
//!   of the 6,538 of its dedup set 3. Two codes together keep the blocks small as well; with
//!   one code per key they made the whole pipeline half again as slow on generated traffic. A
//!   CJK name pairs its first and last characters: on the family name alone
//!   (`blk:cjk-王|CN-上海市浦东新区`, as recorded until 2026-12) a block held every 王 of the
//!   city (on the identity benchmark, the keys of CJK names found 6.2 customers per lookup at
//!   50,000 messages against 1.3 at 5,000; 1.0 and 0.7 with the pair). A customer recorded
//!   under an earlier form of this key is still found by the postcode keys and the address
//!   key, which are unchanged, but no longer through the city alone;
//! - `address` = `blk:<country>~<postcode characters sorted>|<house number>`, when both are
//!   known (`blk:DE~01115|12` for 10115 and 12). Sorted, the characters of a postcode with two
//!   of them swapped (`4305` / `4350`, the commonest slip in typed numbers after a replaced
//!   digit) give the same key, so such a typo no longer hides a customer whose name was
//!   mistyped too. The block is still one house number in a handful of postcode areas (the
//!   codes that are permutations of one another: about four per multiset of digits among
//!   Germany's 8,200 codes), and it replaces the exact `postcode|house` key rather than adding
//!   a lookup. In the FEBRL 4 data it raised the share of true pairs sharing a key from 93%
//!   to 96% (95% once the city key took the house number), for a fifth more candidate pairs.
//!
//! - `name` = `blk:<pair>|<country>-<postcode less its last character>*` and
//!   `blk:<pair>|<country>~<postcode characters sorted>` for each pair of the name's codes: a
//!   replaced or swapped last digit, or two digits swapped anywhere, no longer hides a customer
//!   whose city or house number was mistyped too;
//! - `name` = `blk:<pair>|<country>#<house number>` across the country, for a postcode and a
//!   city both mistyped. On FEBRL 4 these three raised the share of true pairs sharing a key
//!   from 0.951 to 0.972 (FEBRL 3: 0.872 to 0.919) for 2% more candidate pairs.
//! - `name` = `blk:<code>|<country>@<region>|<street>` for each phonetic code, where
//!   `<region>` is the postcode's first character and `<street>` the street's first four
//!   letters or digits (spaces left out);
//! - `address` = `blk:<country>@<region>|<house number>|<street>`,
//!   `blk:<country>-<postcode>/<street>` and `blk:<country>-<city>/<street>`: the address
//!   without the name, for a name mistyped in every word or swapped with another field. They
//!   hold one street's customers (an address alone never links: the name must still agree).
//!   Measured before they were added, with only the fields a support desk sees: true pairs
//!   sharing a key rose from 0.972 to 0.995 on FEBRL 4 and from 0.919 to 0.986 on FEBRL 3
//!   (0.996 counting pairs joined through other true pairs, as online linking joins them),
//!   for 4% and 8% more candidate pairs. The FEBRL tests print the recall of each rule
//!   ([`BlockingRule`]).
//!
//! A message with a name but neither a postcode nor a city with a house number gets no
//! blocking key and so no weak candidates: a name with a city alone never reaches a useful
//! score anyway (see [`crate::score`]).

use crate::config::Settings;
use crate::model::{MODEL_NAME, Model};
use crate::normalize::NormalizeError;
use crate::normalize::address::{PostalAddress, parse_address};
use crate::normalize::email::{country_of_domain, country_of_host, normalize_email};
use crate::normalize::ids::{normalize_buyer_id, normalize_handle, normalize_order};
use crate::normalize::name::{Name, NameAgreement, compare};
use crate::normalize::phone::{Region, normalize_phone, region};
use crate::score::{STRONG, Score, WeakProfile};
use serde::Deserialize as _;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use weft_sdk::order::find_order;
use weft_sdk::prelude::*;

/// The prefix of blocking-key identity values: the SDK's, so that the engine leaves them out of
/// customer views.
pub const BLOCKING_PREFIX: &str = weft_sdk::BLOCKING_KEY_PREFIX;

/// How many `merged_into` hops are followed before giving up on a chain (a cycle would be an
/// engine bug; the step then stops at the last customer it reached).
const MAX_MERGE_HOPS: usize = 32;

/// What a message says about its sender, normalized.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Email, phone, buyer id and handle identities.
    pub personal: Vec<Identity>,
    pub order: Option<Identity>,
    pub name: Option<Name>,
    pub address: Option<PostalAddress>,
    /// Identifiers that could not be normalized.
    pub problems: Vec<NormalizeError>,
}

impl Extracted {
    /// Reads and normalizes a message's identifiers.
    pub fn from_message(message: &Message, settings: &Settings) -> Extracted {
        let mut out = Extracted::default();
        let from = &message.from;
        let add = |kind: IdentityKind, result: Option<Result<String, NormalizeError>>, out: &mut Extracted| match result
        {
            Some(Ok(value)) => out.personal.push(Identity::new(kind, value)),
            Some(Err(e)) => out.problems.push(e),
            None => {}
        };
        let present = |s: &Option<String>| s.as_deref().filter(|s| !s.trim().is_empty()).map(str::to_owned);
        let market = message.marketplace.as_deref().unwrap_or(&message.channel);
        add(
            IdentityKind::Email,
            present(&from.email).map(|e| normalize_email(&e)),
            &mut out,
        );
        add(
            IdentityKind::BuyerId,
            present(&from.buyer_id).map(|b| normalize_buyer_id(&b, Some(market))),
            &mut out,
        );
        add(
            IdentityKind::Handle,
            present(&from.handle).map(|h| normalize_handle(&h, Some(&message.channel))),
            &mut out,
        );
        // The order the channel reported, else the first one the subject or body names.
        let order = present(&message.order).or_else(|| {
            [message.subject.as_deref(), Some(message.body.as_str())]
                .into_iter()
                .flatten()
                .find_map(find_order)
        });
        match order.map(|o| normalize_order(&o)) {
            Some(Ok(order)) => out.order = Some(Identity::new(IdentityKind::Order, order)),
            Some(Err(e)) => out.problems.push(e),
            None => {}
        }
        match present(&from.name).map(|n| Name::parse(&n)) {
            Some(Ok(name)) => out.name = Some(name),
            Some(Err(e)) => out.problems.push(e),
            None => {}
        }
        if let Some(address) = &message.address {
            match parse_address(address, settings.region.code) {
                Ok(parsed) => {
                    out.problems.extend(parsed.problems);
                    out.address = Some(parsed.address);
                }
                Err(NormalizeError::Empty { .. }) => {}
                Err(e) => out.problems.push(e),
            }
        }
        // A number written without a country code is read with the numbering plan of the
        // country the buyer gives as address; else of the marketplace site that relayed the
        // message (`amazon.co.uk`: GB); else of the email's country-code domain
        // (`…@yahoo.co.uk`: GB); else the workflow's `default_region`. (A French buyer's
        // `06 12 34 56 78` is +33 6…, not a German number.) What the step knows only from the
        // store (the shipping country of the message's order, the address of the customer an
        // email finds) is read in `read_phone_where_the_buyer_lives`.
        let phone_region = out
            .address
            .as_ref()
            .and_then(|a| region(&a.country).ok())
            .or_else(|| hinted_region(message, &out))
            .unwrap_or(settings.region);
        add(
            IdentityKind::Phone,
            present(&from.phone).map(|p| normalize_phone(&p, phone_region)),
            &mut out,
        );
        out
    }

    /// Every identity the engine should record for the customer: identifiers, name, address
    /// and blocking keys, without repeats.
    pub fn identities(&self) -> Vec<Identity> {
        let mut out: Vec<Identity> = self.personal.clone();
        out.extend(self.order.clone());
        if let Some(name) = &self.name {
            out.push(Identity::new(IdentityKind::Name, name.key()));
        }
        if let Some(address) = &self.address {
            out.push(Identity::new(IdentityKind::Address, address.key()));
        }
        out.extend(self.blocking_keys());
        let mut seen = BTreeSet::new();
        out.retain(|i| seen.insert(i.clone()));
        out
    }

    /// The blocking keys of the message (see the module docs), without repeats.
    pub fn blocking_keys(&self) -> Vec<Identity> {
        let mut keys: Vec<Identity> = Vec::new();
        for (_, key) in self.blocking_rules() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// The blocking keys of the message, each with the rule that made it (so that the recall
    /// of each rule can be measured; see [`BlockingRule`]).
    pub fn blocking_rules(&self) -> Vec<(BlockingRule, Identity)> {
        let mut keys = Vec::new();
        let Some(address) = &self.address else {
            return keys;
        };
        let mut push = |rule: BlockingRule, kind: IdentityKind, value: String| {
            keys.push((rule, Identity::new(kind, format!("{BLOCKING_PREFIX}{value}"))));
        };
        let country = &address.country;
        let street = address.street.as_deref().map(street_prefix).filter(|s| !s.is_empty());
        // The first character of a postcode names a region in most countries' schemes
        // (Germany's ten zones, France's departments by their first digit's group, Australia's
        // states, the US's ZIP zones): a block qualified by it grows with the customers of a
        // region, not of the country.
        let region = address
            .postcode
            .as_deref()
            .and_then(|p| p.chars().find(|c| c.is_alphanumeric()));
        if let Some(name) = &self.name {
            let codes = name.blocking_codes();
            let pairs = name_pairs(&codes);
            if let Some(postcode) = address.qualified_postcode() {
                for code in &codes {
                    push(
                        BlockingRule::CodePostcode,
                        IdentityKind::Name,
                        format!("{code}|{postcode}"),
                    );
                }
            }
            // A city holds many postcodes: two codes of the name and the house number keep
            // its blocks as small as a postcode's with one code, however many customers the
            // city has.
            if let (Some(city), Some(house)) = (&address.city, &address.house) {
                for pair in &pairs {
                    push(
                        BlockingRule::PairCityHouse,
                        IdentityKind::Name,
                        format!("{pair}|{country}-{city}|{house}"),
                    );
                }
            }
            // The name's codes with the postcode read two ways that survive the commonest slips
            // in typed numbers: without its last character (a replaced or swapped last digit:
            // `5054` / `5045`, `6219` / `6210`) and with its characters sorted (two digits
            // swapped anywhere: `3070` / `0370`).
            if let Some(postcode) = &address.postcode {
                let chars: Vec<char> = postcode.chars().filter(|c| c.is_alphanumeric()).collect();
                let mut sorted = chars.clone();
                sorted.sort_unstable();
                let sorted: String = sorted.into_iter().collect();
                let prefix: String = chars[..chars.len().saturating_sub(1)].iter().collect();
                for pair in &pairs {
                    if !prefix.is_empty() {
                        push(
                            BlockingRule::PairPostcodePrefix,
                            IdentityKind::Name,
                            format!("{pair}|{country}-{prefix}*"),
                        );
                    }
                    push(
                        BlockingRule::PairPostcodeSorted,
                        IdentityKind::Name,
                        format!("{pair}|{country}~{sorted}"),
                    );
                }
            }
            // The name's codes and the house number across the country: a mistyped postcode
            // together with a mistyped city (`pannawpnoica`) would otherwise hide the customer.
            // People of alike names at one house number are few in any country.
            if let Some(house) = &address.house {
                for pair in &pairs {
                    push(
                        BlockingRule::PairHouse,
                        IdentityKind::Name,
                        format!("{pair}|{country}#{house}"),
                    );
                }
            }
            // Each code with the street's first letters in the postcode's region: a house
            // number dropped or mistyped together with the postcode, and one of the name's
            // words mistyped beyond its code.
            if let (Some(street), Some(region)) = (&street, region) {
                for code in &codes {
                    push(
                        BlockingRule::CodeStreetRegion,
                        IdentityKind::Name,
                        format!("{code}|{country}@{region}|{street}"),
                    );
                }
            }
        }
        if let (Some(postcode), Some(house)) = (&address.postcode, &address.house) {
            let mut sorted: Vec<char> = postcode.chars().filter(|c| c.is_alphanumeric()).collect();
            sorted.sort_unstable();
            let sorted: String = sorted.into_iter().collect();
            push(
                BlockingRule::PostcodeSortedHouse,
                IdentityKind::Address,
                format!("{country}~{sorted}|{house}"),
            );
        }
        // The address without the name, for a name mistyped in every word (or its words
        // swapped with another field): the house number and the street's first letters in the
        // postcode's region, and the street's first letters in the postcode or in the city.
        // Such blocks hold a street's customers, so they stay as small as a street is, and an
        // address alone never links (a household): the name must still agree.
        if let Some(street) = &street {
            if let (Some(house), Some(region)) = (&address.house, region) {
                push(
                    BlockingRule::HouseStreetRegion,
                    IdentityKind::Address,
                    format!("{country}@{region}|{house}|{street}"),
                );
            }
            if let Some(postcode) = &address.postcode {
                push(
                    BlockingRule::StreetPostcode,
                    IdentityKind::Address,
                    format!("{country}-{postcode}/{street}"),
                );
            }
            if let Some(city) = &address.city {
                push(
                    BlockingRule::StreetCity,
                    IdentityKind::Address,
                    format!("{country}-{city}/{street}"),
                );
            }
        }
        keys
    }

    fn weak_profile(&self) -> WeakProfile {
        WeakProfile {
            names: self.name.iter().cloned().collect(),
            addresses: self.address.iter().cloned().collect(),
        }
    }
}

/// The blocking rules, unioned: a pair of records is a candidate when any rule gives them a
/// common key. Each rule survives errors the others do not (see the module docs); the FEBRL
/// tests print the recall of each alone and of all together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockingRule {
    /// A phonetic code of the name and the postcode.
    CodePostcode,
    /// Two codes of the name, the city and the house number.
    PairCityHouse,
    /// Two codes and the postcode less its last character.
    PairPostcodePrefix,
    /// Two codes and the postcode's characters sorted.
    PairPostcodeSorted,
    /// Two codes and the house number, in the country.
    PairHouse,
    /// A code and the street's first letters, in the postcode's region.
    CodeStreetRegion,
    /// The postcode's characters sorted and the house number.
    PostcodeSortedHouse,
    /// The house number and the street's first letters, in the postcode's region.
    HouseStreetRegion,
    /// The street's first letters and the postcode.
    StreetPostcode,
    /// The street's first letters and the city.
    StreetCity,
}

impl BlockingRule {
    /// Every rule.
    pub const ALL: [BlockingRule; 10] = [
        BlockingRule::CodePostcode,
        BlockingRule::PairCityHouse,
        BlockingRule::PairPostcodePrefix,
        BlockingRule::PairPostcodeSorted,
        BlockingRule::PairHouse,
        BlockingRule::CodeStreetRegion,
        BlockingRule::PostcodeSortedHouse,
        BlockingRule::HouseStreetRegion,
        BlockingRule::StreetPostcode,
        BlockingRule::StreetCity,
    ];

    /// A short name, for reports.
    pub fn label(self) -> &'static str {
        match self {
            BlockingRule::CodePostcode => "code+postcode",
            BlockingRule::PairCityHouse => "codes+city+house",
            BlockingRule::PairPostcodePrefix => "codes+postcode prefix",
            BlockingRule::PairPostcodeSorted => "codes+postcode sorted",
            BlockingRule::PairHouse => "codes+house",
            BlockingRule::CodeStreetRegion => "code+street+region",
            BlockingRule::PostcodeSortedHouse => "postcode sorted+house",
            BlockingRule::HouseStreetRegion => "house+street+region",
            BlockingRule::StreetPostcode => "street+postcode",
            BlockingRule::StreetCity => "street+city",
        }
    }
}

/// The first four letters or digits of a street, spaces left out (`jervois st` and
/// `jervoisstreet` both `jerv`): a street name mistyped after its beginning, or run together
/// with its type, keeps them.
fn street_prefix(street: &str) -> String {
    street.chars().filter(|c| c.is_alphanumeric()).take(4).collect()
}

/// Each pair of a name's phonetic codes, in order (`H520+M460`); the one code of a one-word
/// name.
fn name_pairs(codes: &[String]) -> Vec<String> {
    let mut pairs: Vec<String> = Vec::new();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            pairs.push(format!("{a}+{b}"));
        }
    }
    if codes.len() == 1 {
        pairs.extend(codes.iter().cloned());
    }
    pairs
}

/// The weak evidence a stored customer carries.
fn customer_profile(customer: &CustomerView) -> WeakProfile {
    let mut profile = WeakProfile::default();
    // Views come without blocking keys; a view built by hand may still carry them.
    for identity in customer.identities.iter().filter(|i| !i.is_blocking_key()) {
        match identity.kind {
            IdentityKind::Name => profile.names.extend(Name::from_key(&identity.value)),
            IdentityKind::Address => profile.addresses.extend(PostalAddress::from_key(&identity.value)),
            _ => {}
        }
    }
    profile
}

/// Two identities of one namespace name one person each: two emails, two phones, two buyer ids
/// on one marketplace, two handles on one platform. Orders, names and addresses have none.
fn namespace(identity: &Identity) -> Option<String> {
    match identity.kind {
        IdentityKind::Email | IdentityKind::Phone => Some(identity.kind.as_str().to_owned()),
        IdentityKind::BuyerId | IdentityKind::Handle => identity
            .value
            .split_once(':')
            .map(|(ns, _)| format!("{} on {ns}", identity.kind)),
        IdentityKind::Order | IdentityKind::Name | IdentityKind::Address => None,
    }
}

/// The message's personal identifiers that a customer contradicts: the customer has values
/// in the same namespace, none of them equal.
fn conflicts<'a>(personal: &'a [Identity], customer: &CustomerView) -> Vec<&'a Identity> {
    conflicting(personal, &customer.identities)
}

/// The identities of `personal` that `theirs` contradicts: `theirs` has values in the same
/// namespace (emails, phones, buyer ids on one marketplace, handles on one platform), none of
/// them equal. Two customers with such a conflict are not joined on names and addresses.
pub fn conflicting<'a>(personal: &'a [Identity], theirs: &[Identity]) -> Vec<&'a Identity> {
    personal
        .iter()
        .filter(|mine| {
            let Some(ns) = namespace(mine) else {
                return false;
            };
            let mut same_kind = theirs
                .iter()
                .filter(|i| namespace(i).as_deref() == Some(ns.as_str()))
                .peekable();
            same_kind.peek().is_some() && !same_kind.any(|i| i == *mine)
        })
        .collect()
}

/// Whether a known order may bridge the customers of the message's personal identifiers
/// (`ours`) with a customer the order belongs to (`theirs`), or why not.
///
/// An order is a strong identifier, but a household or a gift shares one: a spouse writes
/// about the order of the other. So it bridges only when nothing says they are other people:
/// - the names (the message's and those on `ours`, against those on `theirs`) agree, exactly
///   or with typos or initials: it bridges, even across a second email or phone (one person
///   with two addresses);
/// - some names were compared and none agree (another first name in one family, a family
///   name alone, names only alike): it does not;
/// - no names to compare: it bridges unless `theirs` has a different email, phone, buyer id
///   on the same marketplace or handle on the same platform than the message or `ours`.
fn order_bridges(extracted: &Extracted, ours: &[CustomerView], theirs: &CustomerView) -> Result<(), String> {
    let their_names = customer_profile(theirs).names;
    let mut our_names: Vec<Name> = extracted.name.iter().cloned().collect();
    for view in ours {
        our_names.extend(customer_profile(view).names);
    }
    let mut compared = false;
    for a in &our_names {
        for b in &their_names {
            match compare(a, b) {
                NameAgreement::Exact | NameAgreement::Fuzzy(_) | NameAgreement::Initial => return Ok(()),
                NameAgreement::Similar(_)
                | NameAgreement::OneWord
                | NameAgreement::Partial
                | NameAgreement::Disagree => compared = true,
                NameAgreement::Incomparable => {}
            }
        }
    }
    if compared {
        return Err(format!(
            "the order also belongs to customer {}, whose names do not agree with this sender's: a household or a gift shares orders, not merged",
            theirs.id
        ));
    }
    let mut personal: Vec<Identity> = extracted.personal.clone();
    for view in ours {
        personal.extend(view.identities.iter().filter(|i| namespace(i).is_some()).cloned());
    }
    if let Some(conflict) = conflicts(&personal, theirs).first() {
        return Err(format!(
            "the order also belongs to customer {}, who has another {} than {}: not merged on the order alone",
            theirs.id, conflict.kind, conflict.value
        ));
    }
    Ok(())
}

/// Whether two customers were split apart by hand (either may name the other).
fn kept_apart(a: &CustomerView, b: &CustomerView) -> bool {
    a.kept_apart.contains(&b.id) || b.kept_apart.contains(&a.id)
}

/// The customer a stored customer lives on as, following merges.
fn resolve(ctx: &dyn Context, customer: CustomerView) -> CustomerView {
    let mut current = customer;
    for _ in 0..MAX_MERGE_HOPS {
        let Some(next) = current.merged_into else {
            break;
        };
        match ctx.customer(next) {
            Some(view) => current = view,
            None => break,
        }
    }
    current
}

/// The country a message points to without an address: the marketplace site that relayed it
/// (`amazon.de`, `ebay.co.uk`), else the country-code domain of the sender's email.
fn hinted_region(message: &Message, extracted: &Extracted) -> Option<&'static Region> {
    let site = message.marketplace.as_deref().and_then(country_of_host);
    let email = || {
        extracted
            .personal
            .iter()
            .find(|i| i.kind == IdentityKind::Email)
            .and_then(|e| country_of_domain(&e.value))
    };
    site.or_else(email).and_then(|c| region(&c).ok())
}

/// A number written without a country code, in a message that names no country (no address,
/// no email on a country-code domain), is read in the country of the address already known for
/// the customer its email, buyer id or handle finds: that is where the buyer lives. (A Briton
/// writing from a gmail.com address with `07911 143046` has +44 7911 143046, not the German
/// number the workflow's `default_region` would make of it.) Nothing changes when no such
/// customer or address is known, or when the number has its country code.
fn read_phone_where_the_buyer_lives(
    extracted: &mut Extracted,
    message: &Message,
    settings: &Settings,
    ctx: &dyn Context,
) {
    let Some(raw) = message.from.phone.as_deref().filter(|p| !p.trim().is_empty()) else {
        return;
    };
    if extracted.address.is_some() {
        return;
    }

    // The shipping country of the order the message is about comes first: it is where this
    // buyer had the parcel sent, as a written address would be.
    let shipped_to = message
        .order
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .and_then(|number| {
            let mut channels = vec![message.channel.as_str()];
            channels.extend(message.marketplace.as_deref());
            channels.into_iter().find_map(|channel| ctx.order(channel, number))
        })
        .and_then(|o| o.order.shipping)
        .and_then(|a| a.country)
        .and_then(|c| region(&c).ok());
    if let Some(shipped_to) = shipped_to {
        reread(extracted, raw, shipped_to);
        return;
    }
    if hinted_region(message, extracted).is_some() {
        return;
    }
    let known = extracted
        .personal
        .iter()
        .chain(extracted.order.iter())
        .filter(|i| i.kind != IdentityKind::Phone && settings.strong.contains(&i.kind))
        .flat_map(|i| ctx.find_customers(i))
        .map(|c| resolve(ctx, c))
        .find_map(|c| {
            customer_profile(&c)
                .addresses
                .iter()
                .find_map(|a| region(&a.country).ok())
        });
    if let Some(buyer_region) = known {
        reread(extracted, raw, buyer_region);
    }
}

/// Reads the phone number again in `region`. The number as read in the workflow's region, or
/// why it could not be read there (a number valid only in the buyer's country), is replaced
/// by the reading in `region` when that one is a number in use.
fn reread(extracted: &mut Extracted, raw: &str, region: &'static Region) {
    if let Ok(phone) = normalize_phone(raw, region) {
        extracted.problems.retain(|p| p.field() != "phone");
        let phone = Identity::new(IdentityKind::Phone, phone);
        match extracted.personal.iter().position(|i| i.kind == IdentityKind::Phone) {
            Some(at) => extracted.personal[at] = phone,
            None => extracted.personal.push(phone),
        }
    }
}

/// Decides the customer of a message event, or of an order (an order event: [`ORDER_PLACED`],
/// imported or from a connector, `order.updated`, `order.cancelled`: the order's buyer is read
/// as a message's sender, its shipping address as the message's address).
pub fn decide(event: &Event, settings: &Settings, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
    let order_message;
    let message = match &event.message {
        Some(message) => message,
        None if is_order_event(&event.kind) => {
            let order = Order::deserialize(&event.payload)
                .map_err(|e| Error::permanent(format!("event {}: the payload is not an order: {e}", event.id)))?;
            order_message = order.as_message(event.at);
            &order_message
        }
        None => {
            return Err(Error::permanent(format!(
                "the identity step needs an event with a message (kind `message.received`) or an order (`{ORDER_PLACED}`); event {} of kind `{}` has neither",
                event.id, event.kind
            )));
        }
    };
    let settings = &settings.with_model(stored_model(ctx));
    let mut extracted = Extracted::from_message(message, settings);
    read_phone_where_the_buyer_lives(&mut extracted, message, settings, ctx);
    let mut notes: Vec<Evidence> = Vec::new();
    for problem in &extracted.problems {
        ctx.log(LogLevel::Warn, &format!("message {}: {problem}", message.id));
        notes.push(Evidence::new(problem.field(), format!("ignored: {problem}"), 0.0));
    }
    let identities = extracted.identities();
    if let Some(decisions) = strong_link(&extracted, &identities, settings, ctx, &notes) {
        return Ok(decisions);
    }
    Ok(vec![weak_link(&extracted, identities, settings, ctx, notes)])
}

/// The model stored with the data (`weft train identity`), parsed once per version and kept
/// while the version stays the same; the hand-set priors when none is stored, or when the
/// stored one cannot be read (logged).
fn stored_model(ctx: &dyn Context) -> Arc<Model> {
    static PARSED: Mutex<Option<(u64, Arc<Model>)>> = Mutex::new(None);
    let Some(version) = ctx.model_version(MODEL_NAME) else {
        return Model::shared_default();
    };
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((v, model)) = parsed.as_ref()
        && *v == version
    {
        return model.clone();
    }
    let model = match ctx.model(MODEL_NAME).map(|json| Model::from_json(&json)) {
        Some(Ok(model)) => Arc::new(model),
        Some(Err(e)) => {
            ctx.log(
                LogLevel::Warn,
                &format!(
                    "the stored identity model (version {version}) cannot be read, the hand-set weights are used: {e}"
                ),
            );
            Model::shared_default()
        }
        None => Model::shared_default(),
    };
    *parsed = Some((version, model.clone()));
    model
}

/// A strong identifier that found customers.
struct Hit<'a> {
    identity: &'a Identity,
    customers: Vec<u64>,
}

fn strong_link(
    extracted: &Extracted,
    identities: &[Identity],
    settings: &Settings,
    ctx: &dyn Context,
    notes: &[Evidence],
) -> Option<Vec<Decision>> {
    let lookup = |identity: &Identity| -> Vec<CustomerView> {
        let mut found: Vec<CustomerView> = ctx
            .find_customers(identity)
            .into_iter()
            .map(|c| resolve(ctx, c))
            .collect();
        found.sort_by_key(|c| c.id);
        found.dedup_by_key(|c| c.id);
        found
    };
    let mut views: Vec<CustomerView> = Vec::new();
    let mut personal_hits: Vec<Hit> = Vec::new();
    for identity in extracted.personal.iter().filter(|i| settings.strong.contains(&i.kind)) {
        let found = lookup(identity);
        if !found.is_empty() {
            personal_hits.push(Hit {
                identity,
                customers: found.iter().map(|c| c.id).collect(),
            });
            views.extend(found);
        }
    }
    let order_hit = extracted
        .order
        .as_ref()
        .filter(|_| settings.strong.contains(&IdentityKind::Order))
        .map(|order| {
            let found = lookup(order);
            let hit = Hit {
                identity: order,
                customers: found.iter().map(|c| c.id).collect(),
            };
            views.extend(found);
            hit
        })
        .filter(|hit| !hit.customers.is_empty());
    let personal_ids: BTreeSet<u64> = personal_hits.iter().flat_map(|h| h.customers.iter().copied()).collect();
    let view_of = |id: u64| views.iter().find(|v| v.id == id).cloned().or_else(|| ctx.customer(id));
    let mut order_refusals: Vec<Evidence> = Vec::new();
    let linked: BTreeSet<u64> = if personal_ids.is_empty() {
        // Only the order is known: it belongs to the oldest customer who has it.
        order_hit.as_ref()?.customers.iter().take(1).copied().collect()
    } else {
        // The order's customers join those of the personal identifiers unless something says
        // they are other people (see `order_bridges`).
        let mut linked = personal_ids.clone();
        let ours: Vec<CustomerView> = personal_ids.iter().filter_map(|id| view_of(*id)).collect();
        for owner in order_hit.iter().flat_map(|h| h.customers.iter()) {
            if linked.contains(owner) {
                continue;
            }
            let Some(theirs) = view_of(*owner) else { continue };
            match order_bridges(extracted, &ours, &theirs) {
                Ok(()) => {
                    linked.insert(*owner);
                }
                Err(why) => order_refusals.push(Evidence::new("order", why, 0.0)),
            }
        }
        linked
    };
    // Customers split apart by hand are never merged again: the oldest stays, and each other
    // one joins only if it was split from none of those already in.
    let mut group: Vec<CustomerView> = Vec::new();
    let mut set_aside: Vec<(u64, u64)> = Vec::new();
    for id in &linked {
        let Some(view) = view_of(*id) else { continue };
        match group.iter().find(|g| kept_apart(g, &view)) {
            Some(g) => set_aside.push((view.id, g.id)),
            None => group.push(view),
        }
    }
    let weak_merges = weak_bridges(extracted, &mut group, settings, ctx);
    group.sort_by_key(|c| c.id);
    let into_view = group.first()?.clone();
    let into = into_view.id;
    let from: Vec<u64> = group.iter().skip(1).map(|c| c.id).collect();
    let linked: BTreeSet<u64> = group.iter().map(|c| c.id).collect();
    // Identifiers found only on customers it is not linked to stay theirs.
    let foreign: Vec<&Identity> = personal_hits
        .iter()
        .chain(order_hit.iter())
        .filter(|h| !h.customers.iter().any(|c| linked.contains(c)))
        .map(|h| h.identity)
        .collect();
    let identities: Vec<Identity> = identities.iter().filter(|i| !foreign.contains(i)).cloned().collect();

    let mut evidence: Vec<Evidence> = Vec::new();
    let exact = &STRONG[0];
    for hit in personal_hits.iter().chain(order_hit.iter()) {
        let owners = hit
            .customers
            .iter()
            .map(|c| format!("customer {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let detail = format!("exact: {} belongs to {owners}", hit.identity.value);
        evidence.push(Evidence::new(hit.identity.kind.as_str(), detail, exact.weight()));
    }
    evidence.extend(order_refusals);
    // Strong identifiers of the message that the customer does not have yet: new, or differing.
    let differs = &STRONG[1];
    for identity in &extracted.personal {
        if personal_hits.iter().any(|h| h.identity == identity) {
            continue;
        }
        let conflict = !conflicts(std::slice::from_ref(identity), &into_view).is_empty();
        let (detail, weight) = if conflict {
            (
                format!("{}: {} is not among customer {into}'s", differs.label, identity.value),
                differs.weight(),
            )
        } else {
            (format!("new: {} is recorded for customer {into}", identity.value), 0.0)
        };
        evidence.push(Evidence::new(identity.kind.as_str(), detail, weight));
    }
    let weak = settings.score(&extracted.weak_profile(), &customer_profile(&into_view));
    evidence.extend(weak.evidence);
    for (customer, apart_from) in &set_aside {
        evidence.push(Evidence::new(
            "kept-apart",
            format!(
                "customer {customer} was split from customer {apart_from} by hand: not merged again, its identifiers stay its own"
            ),
            0.0,
        ));
    }
    evidence.extend(notes.iter().cloned());

    let mut decisions = Vec::new();
    let reason_parts: Vec<String> = personal_hits
        .iter()
        .chain(order_hit.iter())
        .filter(|h| h.customers.iter().any(|c| linked.contains(c)))
        .map(|h| {
            let owners = h
                .customers
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" and ");
            format!("{} {} belongs to customer {owners}", h.identity.kind, h.identity.value)
        })
        .collect();
    if !from.is_empty() {
        let merged = from.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let mut merge_evidence: Vec<Evidence> = evidence
            .iter()
            .filter(|e| e.weight == exact.weight())
            .cloned()
            .collect();
        let mut parts = reason_parts.clone();
        for (customer, weak) in &weak_merges {
            parts.push(format!(
                "its name and address match customer {customer} with probability {:.3}",
                weak.probability
            ));
            merge_evidence.push(Evidence::new(
                "weak-match",
                format!(
                    "customer {customer}: name and address match with probability {:.3}, no conflicting identifier",
                    weak.probability
                ),
                weak.weight,
            ));
            merge_evidence.extend(weak.evidence.iter().cloned());
        }
        decisions.push(
            Decision::new(
                Command::MergeCustomers(MergeCustomers { into, from: from.clone() }),
                format!(
                    "one message carries identifiers of customers {into} and {merged}: {}; merged into the oldest, {into}",
                    parts.join(", ")
                ),
            )
            .with_evidence(merge_evidence),
        );
    }
    decisions.push(
        Decision::new(
            Command::LinkCustomer(LinkCustomer {
                customer: CustomerRef::Existing(into),
                identities,
                score: 1.0,
            }),
            format!("strong identifier match: {}", reason_parts.join(", ")),
        )
        .with_evidence(evidence),
    );
    Some(decisions)
}

/// Customers that the message's name and address show to be the one its strong identifiers
/// found (`group`): each blocking-key candidate outside the group that scores at least
/// `fuzzy.min_score`, has no email, phone, buyer id or handle conflicting with the message's
/// or the group's, and was not split by hand from any of them, joins `group`. Without this,
/// the result would depend on arrival order: had this message come first, it would have linked
/// to that customer by name and address, and later ones by their identifiers.
fn weak_bridges(
    extracted: &Extracted,
    group: &mut Vec<CustomerView>,
    settings: &Settings,
    ctx: &dyn Context,
) -> Vec<(u64, Score)> {
    let mut merged = Vec::new();
    let Some(min_score) = settings.min_score else {
        return merged;
    };
    let keys = extracted.blocking_keys();
    if keys.is_empty() || group.is_empty() || knows_name_and_address(&group[..], extracted) {
        return merged;
    }
    // The message's name and address, and those the group already has: the strong identifiers
    // say they are one person, so the name from one message and the address from another are
    // both that person's (an email giving only the address still finds the marketplace buyer
    // whose name and address match the names known for that email). Candidates still come
    // from the message's own blocking keys only, so that a message that brings no new address
    // or name costs no lookups.
    let mut mine = extracted.weak_profile();
    for g in group.iter() {
        let profile = customer_profile(g);
        mine.names.extend(profile.names);
        mine.addresses.extend(profile.addresses);
    }
    let mut seen: BTreeSet<u64> = group.iter().map(|g| g.id).collect();
    for key in keys {
        for found in ctx.find_customers(&key) {
            let candidate = resolve(ctx, found);
            if !seen.insert(candidate.id) || group.iter().any(|g| kept_apart(g, &candidate)) {
                continue;
            }
            let mut personal: Vec<Identity> = extracted.personal.clone();
            for g in group.iter() {
                personal.extend(g.identities.iter().filter(|i| namespace(i).is_some()).cloned());
            }
            if !conflicts(&personal, &candidate).is_empty() {
                continue;
            }
            let weak = settings.score(&mine, &customer_profile(&candidate));
            if weak.links(min_score) {
                merged.push((candidate.id, weak));
                group.push(candidate);
            }
        }
    }
    merged
}

/// Whether `group` is one customer that has the message's name and address already (or the
/// one of them the message gives): then the message brings nothing to compare that was not
/// compared when they were recorded. That message looked up the same blocking keys and scored
/// their customers against the customer's names and addresses of the time, and a customer
/// who came into those blocks later was scored against this one when it came. Skipping the
/// lookups keeps the cost of a returning buyer's messages from growing with the size of the
/// blocks, which grow with the number of customers.
///
/// Names and addresses recorded from two different messages (a name by email, an address
/// from a marketplace) were never looked up together: a message bringing both for the first
/// time still compares them only when one of the two is new to the customer.
fn knows_name_and_address(group: &[CustomerView], extracted: &Extracted) -> bool {
    let [customer] = group else {
        return false;
    };
    let has =
        |kind: IdentityKind, value: String| customer.identities.iter().any(|i| i.kind == kind && i.value == value);
    extracted.name.as_ref().is_none_or(|n| has(IdentityKind::Name, n.key()))
        && extracted
            .address
            .as_ref()
            .is_none_or(|a| has(IdentityKind::Address, a.key()))
}

/// Where a weak match's weights start from: the prior odds that a message and one given
/// customer are one person, in bits, and where they come from. `weft explain` adds the
/// comparisons' weights to it, one by one.
fn prior_evidence(settings: &Settings) -> Evidence {
    let source = if settings.model.prior.is_some() {
        "learned from this store's messages by `weft train identity`"
    } else {
        "from the workflow's fuzzy.customers"
    };
    Evidence::new(
        "prior",
        format!(
            "before comparing: one customer in {:.0} ({source})",
            1.0 / settings.prior.probability(0.0)
        ),
        settings.prior.log2_odds(),
    )
}

/// A scored candidate.
struct Candidate {
    id: u64,
    score: Score,
    /// Conflicting strong identifiers, or a split by hand from another candidate as close:
    /// such a candidate is never linked on weak evidence.
    vetoes: Vec<Evidence>,
    /// Customers it was split from by hand.
    kept_apart: Vec<u64>,
}

fn weak_link(
    extracted: &Extracted,
    identities: Vec<Identity>,
    settings: &Settings,
    ctx: &dyn Context,
    notes: Vec<Evidence>,
) -> Decision {
    let new = |score: f64, reason: String, evidence: Vec<Evidence>| {
        Decision::new(
            Command::LinkCustomer(LinkCustomer {
                customer: CustomerRef::New,
                identities: identities.clone(),
                score,
            }),
            reason,
        )
        .with_evidence(evidence)
    };
    let Some(min_score) = settings.min_score else {
        return new(
            1.0,
            "no strong identifier matched and fuzzy matching is off: a new customer".into(),
            notes,
        );
    };
    let mut seen = BTreeSet::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mine = extracted.weak_profile();
    for key in extracted.blocking_keys() {
        for found in ctx.find_customers(&key) {
            let customer = resolve(ctx, found);
            if !seen.insert(customer.id) {
                continue;
            }
            let differs = &STRONG[1];
            let vetoes = conflicts(&extracted.personal, &customer)
                .into_iter()
                .map(|identity| {
                    Evidence::new(
                        identity.kind.as_str(),
                        format!(
                            "{}: {} is not among customer {}'s; names and addresses alone do not link across it",
                            differs.label, identity.value, customer.id
                        ),
                        differs.weight(),
                    )
                })
                .collect();
            candidates.push(Candidate {
                id: customer.id,
                score: settings.score(&mine, &customer_profile(&customer)),
                vetoes,
                kept_apart: customer.kept_apart.clone(),
            });
        }
    }
    // Best first; ties go to the older customer.
    candidates.sort_by(|a, b| {
        b.score
            .probability
            .total_cmp(&a.score.probability)
            .then(a.id.cmp(&b.id))
    });
    // Two candidates split apart by hand that this name and address both match: weak evidence
    // is what once joined them wrongly, so it links to neither.
    let reaching: Vec<(u64, Vec<u64>)> = candidates
        .iter()
        .filter(|c| c.score.links(min_score))
        .map(|c| (c.id, c.kept_apart.clone()))
        .collect();
    for candidate in candidates.iter_mut() {
        if !candidate.score.links(min_score) {
            continue;
        }
        for (other, other_apart) in &reaching {
            if *other != candidate.id && (candidate.kept_apart.contains(other) || other_apart.contains(&candidate.id)) {
                candidate.vetoes.push(Evidence::new(
                    "kept-apart",
                    format!(
                        "customers {} and {other} were split apart by hand and this name and address match both: weak evidence does not choose between them",
                        candidate.id
                    ),
                    0.0,
                ));
            }
        }
    }
    let best_allowed = candidates.iter().find(|c| c.vetoes.is_empty());
    if let Some(best) = best_allowed.filter(|c| c.score.links(min_score)) {
        let mut evidence = vec![prior_evidence(settings)];
        evidence.extend(best.score.evidence.iter().cloned());
        evidence.extend(notes);
        return Decision::new(
            Command::LinkCustomer(LinkCustomer {
                customer: CustomerRef::Existing(best.id),
                identities,
                score: best.score.probability,
            }),
            format!(
                "name and address match customer {} with probability {:.3} (threshold {min_score})",
                best.id, best.score.probability
            ),
        )
        .with_evidence(evidence);
    }
    let Some(best) = candidates.first() else {
        let why = if extracted.blocking_keys().is_empty() {
            "no strong identifier matched and there is no name or address with a postcode, or a city and house number, to compare: a new customer"
        } else {
            "no strong identifier matched and no customer shares a blocking key: a new customer"
        };
        return new(1.0, why.into(), notes);
    };
    let mut evidence = vec![prior_evidence(settings)];
    evidence.extend(best.score.evidence.iter().cloned());
    evidence.extend(best.vetoes.iter().cloned());
    evidence.extend(notes);
    let reason = if best.vetoes.is_empty() && !best.score.name_compared {
        format!(
            "the closest customer, {}, matches the address with probability {:.3}, but there is no name to compare and an address alone stands for a household: a new customer",
            best.id, best.score.probability
        )
    } else if best.vetoes.is_empty() {
        format!(
            "the closest customer, {}, matches with probability {:.3}, below the threshold {min_score}: a new customer",
            best.id, best.score.probability
        )
    } else if best.vetoes.iter().all(|v| v.field == "kept-apart") {
        format!(
            "the closest customer, {}, matches names and addresses with probability {:.3} but was split by hand from another customer they match as well: a new customer",
            best.id, best.score.probability
        )
    } else {
        format!(
            "the closest customer, {}, matches names and addresses with probability {:.3} but has conflicting strong identifiers: a new customer",
            best.id, best.score.probability
        )
    };
    let confidence = if best.vetoes.is_empty() {
        1.0 - best.score.probability
    } else {
        1.0
    };
    new(confidence, reason, evidence)
}
