//! How alike two texts are, without knowing their language: character n-grams and topic cues.
//!
//! # The measure
//! Both texts are [normalized](crate::text::normalize) (width, case, punctuation folded; reply
//! prefixes already taken off the subjects). Each word of a space-separated script gives its
//! character **trigrams**, padded with a space on each side (`" wo"`, `"wo "`); each run of
//! CJK text gives its character **bigrams**. A run shorter than its window (a one-letter word,
//! a single CJK char) is one gram.
//!
//! - [`dice`]: `2·|A∩B| / (|A|+|B|)`, for two texts of the same kind (subject and subject);
//! - [`containment`]: `|A∩B| / |A|`, how much of a short text (a ticket's subject) is found in
//!   a longer one (a message's subject and body); `0` when the short text has fewer than
//!   [`MIN_CONTAINED_GRAMS`] grams, so that `"Hi"` is not found in everything.
//!
//! [`Similarity`] combines this text score with the [topics](crate::topic) both sides name:
//! the score is the larger of the text score and the Jaccard overlap of the topic sets, and two
//! texts that both name topics but no common one are [`Similarity::different_issue`], whatever
//! their words.

use crate::text::normalize;
use crate::topic::{Topic, topics_of};
use std::collections::BTreeSet;
use weft_sdk::text::is_cjk;

/// A short text with fewer grams than this is never [contained](containment) in another.
pub const MIN_CONTAINED_GRAMS: usize = 6;

/// The n-grams of a text, as described in the [module docs](self).
pub fn grams(text: &str) -> BTreeSet<String> {
    let normalized = normalize(text);
    let mut out = BTreeSet::new();
    for word in normalized.split(' ').filter(|w| !w.is_empty()) {
        // A word may mix scripts (`iphone充电器`): split it into CJK and other runs.
        let chars: Vec<char> = word.chars().collect();
        let mut start = 0;
        while start < chars.len() {
            let cjk = is_cjk(chars[start]);
            let end = chars[start..]
                .iter()
                .position(|&c| is_cjk(c) != cjk)
                .map_or(chars.len(), |n| start + n);
            let run = &chars[start..end];
            if cjk {
                add_windows(&mut out, run, 2);
            } else {
                let padded: Vec<char> = std::iter::once(' ').chain(run.iter().copied()).chain([' ']).collect();
                add_windows(&mut out, &padded, 3);
            }
            start = end;
        }
    }
    out
}

/// Every window of `n` chars of `run`, or the whole run when it is shorter.
fn add_windows(out: &mut BTreeSet<String>, run: &[char], n: usize) {
    if run.len() <= n {
        out.insert(run.iter().collect());
    } else {
        out.extend(run.windows(n).map(|w| w.iter().collect::<String>()));
    }
}

/// Dice's coefficient of two gram sets, `0` when either is empty.
pub fn dice(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * a.intersection(b).count() as f64 / (a.len() + b.len()) as f64
}

/// The share of `short`'s grams found in `long`; `0` for a short text of fewer than
/// [`MIN_CONTAINED_GRAMS`] grams.
pub fn containment(short: &BTreeSet<String>, long: &BTreeSet<String>) -> f64 {
    if short.len() < MIN_CONTAINED_GRAMS {
        return 0.0;
    }
    short.intersection(long).count() as f64 / short.len() as f64
}

/// What is compared on each side: a subject (prefixes already stripped), a body, a category.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side<'a> {
    pub subject: Option<&'a str>,
    pub body: Option<&'a str>,
    /// A ticket category set by a router (`refund`, `where-is-my-order`).
    pub category: Option<&'a str>,
}

impl Side<'_> {
    fn topics(&self) -> BTreeSet<Topic> {
        let mut topics = topics_of(&format!("{} {}", self.subject.unwrap_or(""), self.body.unwrap_or("")));
        topics.extend(self.category.and_then(Topic::from_category));
        topics
    }

    fn text(&self) -> String {
        format!("{} {}", self.subject.unwrap_or(""), self.body.unwrap_or(""))
    }
}

/// How alike a ticket and a message are, with the parts that went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// The n-gram score of the texts, 0..=1.
    pub text: f64,
    /// Topics the two sides share.
    pub shared_topics: BTreeSet<Topic>,
    /// Both sides name topics, and none in common: a different issue.
    pub different_issue: bool,
    /// The combined score, 0..=1 (0 for a different issue).
    pub score: f64,
}

/// One side read for comparing: its gram sets and topics, computed once. A message is read
/// once and compared with each of its customer's tickets.
#[derive(Debug, Clone)]
pub struct Profile {
    subject: Option<BTreeSet<String>>,
    text: BTreeSet<String>,
    topics: BTreeSet<Topic>,
}

impl Side<'_> {
    /// Reads this side for [`compare_profiles`].
    pub fn profile(&self) -> Profile {
        Profile {
            subject: self.subject.map(grams),
            text: grams(&self.text()),
            topics: self.topics(),
        }
    }
}

/// Compares a ticket (usually only a subject and a category) with a new message.
///
/// The text score is the larger of the Dice coefficient of the two subjects and the
/// [containment] of the ticket's text in the message's subject and body.
pub fn compare(ticket: &Side<'_>, message: &Side<'_>) -> Similarity {
    compare_profiles(&ticket.profile(), &message.profile())
}

/// [`compare`] of two sides already read.
pub fn compare_profiles(ticket: &Profile, message: &Profile) -> Similarity {
    let subjects = match (&ticket.subject, &message.subject) {
        (Some(a), Some(b)) => dice(a, b),
        _ => 0.0,
    };
    let text = subjects.max(containment(&ticket.text, &message.text));

    let shared_topics: BTreeSet<Topic> = ticket.topics.intersection(&message.topics).copied().collect();
    let union = ticket.topics.union(&message.topics).count();
    let topic = if union == 0 {
        0.0
    } else {
        shared_topics.len() as f64 / union as f64
    };
    let different_issue = !ticket.topics.is_empty() && !message.topics.is_empty() && shared_topics.is_empty();
    let score = if different_issue { 0.0 } else { text.max(topic) };
    Similarity {
        text,
        shared_topics,
        different_issue,
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grams_by_script() {
        assert_eq!(grams("Wo ist"), set(&[" wo", "wo ", " is", "ist", "st "]));
        assert_eq!(grams("退款"), set(&["退款"]));
        assert_eq!(grams("没收到货"), set(&["没收", "收到", "到货"]));
        assert_eq!(
            grams("iPhone充电"),
            set(&[" ip", "iph", "pho", "hon", "one", "ne ", "充电"])
        );
        assert_eq!(grams("Ｒｅ！ a"), set(&[" re", "re ", " a "]));
        assert!(grams("?!").is_empty());
    }

    #[test]
    fn text_scores() {
        // (a, b, lowest expected dice, highest expected dice)
        let cases: &[(&str, &str, f64, f64)] = &[
            ("Where is my order", "where is my order?", 1.0, 1.0),
            ("Where is my order", "Where is my order #123", 0.75, 0.95),
            ("Wo ist mein Paket", "Wo ist mein Paket???", 1.0, 1.0),
            ("Lampe kaputt", "Die Lampe ist kaputt angekommen", 0.4, 0.8),
            ("我的订单还没到", "订单还没到", 0.7, 0.9),
            ("商品が届きません", "商品がまだ届きません", 0.6, 0.9),
            ("Invoice request", "Shoes too small", 0.0, 0.1),
            ("返品について", "請求書について", 0.2, 0.6),
            ("", "anything", 0.0, 0.0),
        ];
        for &(a, b, low, high) in cases {
            let score = dice(&grams(a), &grams(b));
            assert!((low..=high).contains(&score), "{a:?} ~ {b:?} = {score}");
        }
    }

    #[test]
    fn containment_needs_enough_grams() {
        let long = grams("Hi, where is my order? I ordered last week.");
        assert_eq!(containment(&grams("Hi"), &long), 0.0);
        assert_eq!(containment(&grams("Where is my order"), &long), 1.0);
        assert!(containment(&grams("Broken lamp"), &long) < 0.2);
    }

    #[test]
    fn topics_decide_same_and_different_issues() {
        let ticket = Side {
            subject: Some("Wo ist mein Paket?"),
            body: None,
            category: None,
        };
        let same = Side {
            subject: None,
            body: Some("Mein Paket ist immer noch nicht angekommen!"),
            category: None,
        };
        let s = compare(&ticket, &same);
        assert!(s.score >= 0.99, "{s:?}");
        assert_eq!(s.shared_topics.into_iter().collect::<Vec<_>>(), [Topic::WhereIsMyOrder]);

        let other = Side {
            subject: Some("Wo ist meine Rechnung?"),
            body: None,
            category: None,
        };
        let s = compare(&ticket, &other);
        assert!(s.different_issue && s.score == 0.0, "{s:?}");

        // A router's category counts as the ticket's topic.
        let categorized = Side {
            subject: Some("Bestellung 123"),
            body: None,
            category: Some("refund"),
        };
        let refund = Side {
            subject: Some("返金"),
            body: Some("返金をお願いします"),
            category: None,
        };
        assert!(compare(&categorized, &refund).score >= 0.99);

        // No topics on either side: the words alone.
        let a = Side {
            subject: Some("Question about the blue sofa"),
            body: None,
            category: None,
        };
        let b = Side {
            subject: Some("Question about the sofa"),
            body: Some("And the cushions?"),
            category: None,
        };
        let s = compare(&a, &b);
        assert!(!s.different_issue && s.score > 0.5 && s.score < 1.0, "{s:?}");
    }
}
