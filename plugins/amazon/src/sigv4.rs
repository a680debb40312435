//! AWS Signature Version 4, as SQS asks it of every call: a canonical form of the request
//! (method, path, query, the signed headers, the SHA-256 of the body), a string to sign that
//! names the time and the scope (`date/region/service/aws4_request`), and an HMAC-SHA256 chain
//! from the secret key through the date, region and service.
//!
//! Written here rather than taken from the `aws-sigv4` crate: that crate signs the request
//! types of the AWS SDK's runtime (`aws-smithy-runtime-api`, `http`), which a plugin does not
//! have — its requests go out through the host's `http` import as plain method, URL, headers
//! and body. What is signed is small and fixed (AWS publishes the algorithm and a test suite;
//! the tests below pass its vectors).

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use weft_sdk::HttpRequest;

/// The algorithm's name, first in the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An IAM identity's keys; the session token only for temporary credentials (STS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Where a signature is valid: the region and the service (`sqs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// Signs `request` at time `at`: adds `X-Amz-Date`, `X-Amz-Security-Token` (temporary
/// credentials) and `Authorization`. Every header the request already has is signed, and
/// `host`, taken from the URL as the HTTP client will send it.
pub fn sign(request: &mut HttpRequest, credentials: &Credentials, scope: Scope<'_>, at: jiff::Timestamp) {
    let amz_date = at.strftime("%Y%m%dT%H%M%SZ").to_string();
    request.headers.retain(|(name, _)| {
        !name.eq_ignore_ascii_case("x-amz-date")
            && !name.eq_ignore_ascii_case("authorization")
            && !name.eq_ignore_ascii_case("x-amz-security-token")
    });
    request.headers.push(("X-Amz-Date".into(), amz_date.clone()));
    if let Some(token) = &credentials.session_token {
        request.headers.push(("X-Amz-Security-Token".into(), token.clone()));
    }
    let (url_host, path, query) = split_url(&request.url);
    let mut headers: Vec<(String, String)> = request.headers.clone();
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        headers.push(("host".into(), url_host.to_owned()));
    }
    let authorization = authorization(
        &request.method,
        path,
        query,
        &headers,
        &request.body,
        credentials,
        scope,
        &amz_date,
    );
    request.headers.push(("Authorization".into(), authorization));
}

/// The `Authorization` header of a request with these parts, `amz_date` its `X-Amz-Date`.
/// `path` and `query` as they appear in the URL (percent-encoded); `headers` every header to
/// sign, `host` among them.
#[expect(clippy::too_many_arguments, reason = "the parts of a request, each signed")]
pub fn authorization(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &Credentials,
    scope: Scope<'_>,
    amz_date: &str,
) -> String {
    let (signed_headers, canonical) = canonical_request(method, path, query, headers, body);
    let date = &amz_date[..amz_date.len().min(8)];
    let scope_text = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope_text}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(&credentials.secret_access_key, date, scope);
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    format!(
        "{ALGORITHM} Credential={}/{scope_text}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    )
}

/// The canonical request, and the list of signed headers it names.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (String, String) {
    let mut named: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match named.iter_mut().find(|(n, _)| *n == name) {
            // Repeated headers are one, their values joined by commas.
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => named.push((name, value)),
        }
    }
    named.sort();
    let signed: Vec<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = named.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let canonical = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        canonical_path(path),
        canonical_query(query),
        hex::encode(Sha256::digest(body))
    );
    (signed, canonical)
}

/// Each segment of the path, decoded and encoded again the way AWS wants it (only `A-Z a-z
/// 0-9 - _ . ~` left as they are); `/` for an empty path.
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|segment| uri_encode(&percent_decode(segment)))
        .collect::<Vec<_>>()
        .join("/")
}

/// The query's pairs, decoded, encoded again, sorted by name and then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (uri_encode(&percent_decode(name)), uri_encode(&percent_decode(value)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding as SigV4 defines it: unreserved characters kept, every other byte `%XX`
/// in uppercase hex.
pub fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `%XX` sequences as bytes (an invalid one is kept as written), then the text.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
        {
            let byte = high * 16 + low;
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// The URL's authority (`host[:port]`), path and query.
fn split_url(url: &str) -> (&str, &str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (authority, path_and_query) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => match rest.find('?') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        },
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    (authority, path, query)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials, time and scope of AWS's Signature Version 4 test suite
    /// (`aws-sig-v4-test-suite`, the same in aws-c-auth's `tests/aws-signing-test-suite/v4`).
    fn suite() -> (Credentials, Scope<'static>, jiff::Timestamp) {
        (
            Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
            },
            Scope {
                region: "us-east-1",
                service: "service",
            },
            "2015-08-30T12:36:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn the_aws_test_suite_signs_alike() {
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=";
        // (case, method, URL, AWS's signature)
        let cases = [
            (
                "get-vanilla",
                "GET",
                "https://example.amazonaws.com/",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "get-vanilla-query-order-key-case",
                "GET",
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "post-vanilla",
                "POST",
                "https://example.amazonaws.com/",
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
        ];
        let (credentials, scope, at) = suite();
        for (case, method, url, signature) in cases {
            let mut request = HttpRequest::new(method, url);
            sign(&mut request, &credentials, scope, at);
            assert_eq!(request.header("x-amz-date"), Some("20150830T123600Z"), "{case}");
            assert_eq!(
                request.header("authorization"),
                Some(format!("{prefix}{signature}").as_str()),
                "{case}"
            );
        }
    }

    #[test]
    fn the_suite_canonical_request_is_as_published() {
        // get-vanilla-query-order-key-case.creq of the suite.
        let headers = [
            ("Host".to_owned(), "example.amazonaws.com".to_owned()),
            ("X-Amz-Date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let (signed, canonical) = canonical_request("GET", "/", "Param2=value2&Param1=value1", &headers, b"");
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            canonical,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn an_sqs_call_signs_its_target_body_and_session_token() {
        let (mut credentials, _, at) = suite();
        credentials.session_token = Some("FwoGZXIvYXdzE-トークン".into());
        let mut request = HttpRequest::new("POST", "http://127.0.0.1:4566/")
            .with_header("Content-Type", "application/x-amz-json-1.0")
            .with_header("X-Amz-Target", "AmazonSQS.ReceiveMessage")
            .with_body(r#"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api"}"#);
        let scope = Scope {
            region: "eu-west-1",
            service: "sqs",
        };
        sign(&mut request, &credentials, scope, at);
        let auth = request.header("authorization").unwrap().to_owned();
        assert!(
            auth.contains("/20150830/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "),
            "{auth}"
        );
        // Another body, another signature.
        let mut other = request.clone();
        other.body = br#"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/other"}"#.to_vec();
        sign(&mut other, &credentials, scope, at);
        assert_ne!(other.header("authorization"), Some(auth.as_str()));
        assert_eq!(
            split_url("http://127.0.0.1:4566/a/b?x=1"),
            ("127.0.0.1:4566", "/a/b", "x=1")
        );
        assert_eq!(canonical_path("/a b/ü"), "/a%20b/%C3%BC");
    }
}
