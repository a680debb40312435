//! What a vendor's HTTP answer asks of a channel: how long its `Retry-After` header says to
//! wait (RFC 9110 §10.2.3), read the same way by [`crate::HttpResponse::error`] and by every
//! channel that classifies answers itself.
//!
//! # The two forms
//! - **delay-seconds**: `Retry-After: 120`, one or more ASCII digits, that many seconds.
//! - **HTTP-date**: `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, in any of the three forms
//!   of RFC 9110 §5.6.7 (IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient
//!   must still read), parsed by the `httpdate` crate. The wait is measured from the answer's
//!   own `Date` header to that date: the SDK reads no clock, so the same answer means the same
//!   wait in every run and every test, and the vendor's date is compared with the vendor's
//!   clock, which a skew between the vendor's clock and the host's does not disturb. An
//!   HTTP-date without a `Date` beside it (RFC 9110 §6.6.1 has every origin server with a clock
//!   send one) is no wait the channel can know: it reads as no `Retry-After` at all.
//!
//! Anything else (a sign, a fraction, a date in another format, a zone other than `GMT`, a
//! weekday that is not the date's) is not a `Retry-After` either: the caller falls back to its
//! own backoff. A date at or before the answer's `Date` is no wait. A wait longer than
//! [`MAX_WAIT`] is [`MAX_WAIT`].
//!
//! In RFC 850 dates the two-digit year is read as `httpdate` reads it: `00`–`69` as 20xx,
//! `70`–`99` as 19xx. RFC 9110 asks instead for the latest year with those digits not more than
//! 50 years ahead, which differs only for `70`–`76` today; the form is obsolete, and both dates
//! of an answer are read alike.

use std::time::Duration;

/// The longest wait a `Retry-After` gives: 2^31 seconds (about 68 years). A larger value, or
/// one with more digits than a number holds, is taken as this, as RFC 9111 §1.2.2 has caches
/// take a `delta-seconds` value they cannot represent.
pub const MAX_WAIT: Duration = Duration::from_secs(1 << 31);

/// How long an answer with `Retry-After: value` and `Date: date` asks to wait before the next
/// try; None when `value` is neither form (see the [module](self)), or is an HTTP-date and
/// `date` is missing or not an HTTP-date.
///
/// ```
/// use std::time::Duration;
/// use weft_sdk::http::retry_after;
/// assert_eq!(retry_after("120", None), Some(Duration::from_secs(120)));
/// let date = Some("Mon, 07 Dec 2026 08:00:00 GMT");
/// assert_eq!(retry_after("Mon, 07 Dec 2026 08:01:30 GMT", date), Some(Duration::from_secs(90)));
/// assert_eq!(retry_after("Mon, 07 Dec 2026 08:01:30 GMT", None), None);
/// assert_eq!(retry_after("soon", date), None);
/// ```
pub fn retry_after(value: &str, date: Option<&str>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: a parse error is an overflow.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_WAIT));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = httpdate::parse_http_date(date?.trim()).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_WAIT))
}

/// An OAuth 2.0 token endpoint's error (RFC 6749 §5.2: `{"error", "error_description"}`) as
/// words for [`crate::HttpResponse::error_in_words`]: `invalid_grant (the refresh token
/// expired)`; None when the body is not such an error. eBay's, Amazon's (LWA) and Walmart's
/// token endpoints answer this way.
///
/// ```
/// use weft_sdk::http::oauth_error_words;
/// let body = br#"{"error":"invalid_grant","error_description":"token expired"}"#;
/// assert_eq!(oauth_error_words(body).as_deref(), Some("invalid_grant (token expired)"));
/// assert_eq!(oauth_error_words(b"<html>busy</html>"), None);
/// ```
pub fn oauth_error_words(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    let e: OAuthError = serde_json::from_slice(body).ok()?;
    Some(match e.error_description.filter(|d| !d.trim().is_empty()) {
        Some(description) => format!("{} ({description})", e.error),
        None => e.error,
    })
}

#[cfg(test)]
mod tests {
    use super::{MAX_WAIT, retry_after};
    use std::time::Duration;

    /// The `Date` of the answers below.
    const DATE: &str = "Mon, 07 Dec 2026 08:00:00 GMT";

    #[test]
    fn both_forms_and_what_is_neither() {
        let s = Duration::from_secs;
        // (Retry-After, Date, wait)
        let cases: &[(&str, Option<&str>, Option<Duration>)] = &[
            // delay-seconds
            ("120", None, Some(s(120))),
            ("0", None, Some(s(0))),
            ("  30 ", None, Some(s(30))),
            ("007", None, Some(s(7))),
            ("120", Some("not a date"), Some(s(120))),
            // huge: capped, also past what u64 holds
            ("2147483648", None, Some(MAX_WAIT)),
            ("2147483649", None, Some(MAX_WAIT)),
            ("18446744073709551616", None, Some(MAX_WAIT)),
            ("99999999999999999999999999999999999999", None, Some(MAX_WAIT)),
            // negative, signed, fractional, spaced, empty, words
            ("-5", None, None),
            ("+5", None, None),
            ("1.5", None, None),
            ("1 5", None, None),
            ("5s", None, None),
            ("", None, None),
            ("   ", None, None),
            ("soon", Some(DATE), None),
            ("١٢٠", None, None),    // Arabic-Indic digits are no DIGIT
            ("１２０", None, None), // nor are full-width ones
            // The three HTTP-date forms of RFC 9110 §5.6.7, 90 seconds after DATE.
            ("Mon, 07 Dec 2026 08:01:30 GMT", Some(DATE), Some(s(90))),
            ("Monday, 07-Dec-26 08:01:30 GMT", Some(DATE), Some(s(90))),
            ("Mon Dec  7 08:01:30 2026", Some(DATE), Some(s(90))),
            // The Date in another form than the Retry-After.
            (
                "Mon, 07 Dec 2026 08:01:30 GMT",
                Some("Mon Dec  7 08:00:00 2026"),
                Some(s(90)),
            ),
            (
                "Mon, 07 Dec 2026 08:01:30 GMT",
                Some(" Mon, 07 Dec 2026 08:00:00 GMT "),
                Some(s(90)),
            ),
            // A day and more later; across a year's end.
            ("Tue, 08 Dec 2026 09:00:00 GMT", Some(DATE), Some(s(90_000))),
            (
                "Fri, 01 Jan 2027 00:00:00 GMT",
                Some("Thu, 31 Dec 2026 23:59:59 GMT"),
                Some(s(1)),
            ),
            // At or before the Date: no wait.
            ("Mon, 07 Dec 2026 08:00:00 GMT", Some(DATE), Some(s(0))),
            ("Sun, 06 Dec 2026 08:00:00 GMT", Some(DATE), Some(s(0))),
            // A date far ahead is capped like a huge delay.
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(DATE), Some(MAX_WAIT)),
            // An HTTP-date needs a Date to measure from.
            ("Mon, 07 Dec 2026 08:01:30 GMT", None, None),
            ("Mon, 07 Dec 2026 08:01:30 GMT", Some(""), None),
            ("Mon, 07 Dec 2026 08:01:30 GMT", Some("yesterday"), None),
            // Not HTTP-dates: a weekday that is not the date's, another zone, a numeric offset,
            // ISO 8601, no leading zero in IMF-fixdate, a day that does not exist, lowercase.
            ("Tue, 07 Dec 2026 08:01:30 GMT", Some(DATE), None),
            ("Mon, 07 Dec 2026 08:01:30 UTC", Some(DATE), None),
            ("Mon, 07 Dec 2026 08:01:30 +0000", Some(DATE), None),
            ("2026-12-07T08:01:30Z", Some(DATE), None),
            ("Mon, 7 Dec 2026 08:01:30 GMT", Some(DATE), None),
            ("Thu, 31 Feb 2026 08:01:30 GMT", Some(DATE), None),
            ("mon, 07 dec 2026 08:01:30 gmt", Some(DATE), None),
            ("Mon, 07 Dec 2026 24:00:00 GMT", Some(DATE), None),
            // Text in other scripts and languages is no date either.
            ("Mo, 07 Dez 2026 08:01:30 GMT", Some(DATE), None),
            ("lun., 07 déc. 2026 08:01:30 GMT", Some(DATE), None),
            ("lun, 07 dic 2026 08:01:30 GMT", Some(DATE), None),
            ("2026年12月7日 8時01分30秒", Some(DATE), None),
            ("2026年12月7日 08:01:30", Some(DATE), None),
            ("الاثنين، ٠٧ ديسمبر ٢٠٢٦", Some(DATE), None),
            ("יום שני, 07 דצמבר 2026", Some(DATE), None),
        ];
        for (value, date, wait) in cases {
            assert_eq!(
                retry_after(value, *date),
                *wait,
                "Retry-After: {value:?}, Date: {date:?}"
            );
        }
    }
}
