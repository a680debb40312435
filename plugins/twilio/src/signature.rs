//! `X-Twilio-Signature`: how Twilio signs the requests it makes.
//!
//! The signed text is the full URL Twilio requested (scheme, host, port if it wrote one, path,
//! query), then, for a form POST, every parameter's name followed by its value, ordered by name
//! and, for a repeated name, by value (bytewise). The signature is the base64 of the
//! HMAC-SHA1 of that text, keyed with the account's auth token. Nothing time-bound is signed.
//!
//! Twilio is not consistent about the port: like its own validators, a request is accepted
//! when it is signed over the URL without any port, or over the URL with its port (the
//! default one, 443 or 80, when it names none).

use base64::Engine as _;
use hmac::{KeyInit, Mac};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The header that carries the signature.
pub const HEADER: &str = "X-Twilio-Signature";

/// The signature of a request to `url` with these form parameters, keyed with `token`.
pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted(params) {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` signs a request to `url` with `params`, under either form of its port.
pub fn matches(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_forms(url).iter().any(|url| {
        let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(url.as_bytes());
        for (name, value) in sorted(params) {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        // Constant time: the comparison says nothing of how much of it matched.
        mac.verify_slice(&given).is_ok()
    })
}

/// The parameters in the order they are signed.
fn sorted(params: &[(String, String)]) -> Vec<&(String, String)> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted
}

/// The URL without any port, and with its port (the scheme's default when it names none).
pub fn url_forms(url: &str) -> [String; 2] {
    let Some((scheme, rest)) = url.split_once("://") else {
        return [url.to_owned(), url.to_owned()];
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The port follows the last colon, unless that colon is inside an IPv6 literal `[..]`.
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => (&authority[..colon], Some(&authority[colon + 1..])),
        _ => (authority, None),
    };
    let default = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    let port = port.unwrap_or(default);
    [
        format!("{scheme}://{host}{tail}"),
        format!("{scheme}://{host}:{port}{tail}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_with_and_without_the_port() {
        let table = [
            (
                "https://a.example/x?y=1",
                ["https://a.example/x?y=1", "https://a.example:443/x?y=1"],
            ),
            (
                "https://a.example:443/x",
                ["https://a.example/x", "https://a.example:443/x"],
            ),
            ("http://a.example/x", ["http://a.example/x", "http://a.example:80/x"]),
            ("http://a.example:1234", ["http://a.example", "http://a.example:1234"]),
            ("http://[::1]:8080/h", ["http://[::1]/h", "http://[::1]:8080/h"]),
            ("http://[::1]/h", ["http://[::1]/h", "http://[::1]:80/h"]),
        ];
        for (url, expected) in table {
            assert_eq!(url_forms(url), expected.map(str::to_owned), "{url}");
        }
    }
}
