//! Checked names: step ids, plugin names, hook ids, secret names, host patterns and event
//! patterns.
//!
//! Each is built with `parse` (or `FromStr`) and cannot hold an invalid value.

use std::fmt;
use std::str::FromStr;

/// Why a name or pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{text}`: {problem}")]
pub struct NameError {
    /// What kind of name it was meant to be (`step id`, `host pattern`, ...).
    pub what: &'static str,
    /// The text as written.
    pub text: String,
    /// What was wrong and what is expected.
    pub problem: String,
}

fn name_error(what: &'static str, text: &str, problem: impl Into<String>) -> NameError {
    NameError {
        what,
        text: text.to_owned(),
        problem: problem.into(),
    }
}

/// Checks `[a-z][a-z0-9_-]*` (or without `-` when `dash` is false), at most 64 characters;
/// the error says what is wrong, not what was expected.
fn check_identifier(text: &str, dash: bool) -> Result<(), String> {
    let mut chars = text.chars();
    match chars.next() {
        None => return Err("it is empty".to_owned()),
        Some(c) if !c.is_ascii_lowercase() => return Err(format!("it starts with `{c}`")),
        Some(_) => {}
    }
    if let Some(c) = chars.find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (dash && c == '-')))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if text.len() > 64 {
        return Err("it is longer than 64 characters".to_owned());
    }
    Ok(())
}

/// Checks an identifier and builds the full error, with what is expected.
fn check_name(what: &'static str, text: &str, dash: bool) -> Result<(), NameError> {
    check_identifier(text, dash).map_err(|problem| {
        let expected = if dash {
            "expected a lowercase letter followed by lowercase letters, digits, `_` or `-`"
        } else {
            "expected a lowercase letter followed by lowercase letters, digits or `_`"
        };
        name_error(what, text, format!("{problem}, {expected}"))
    })
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal, dash: $dash:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and wraps it.
            pub fn parse(text: &str) -> Result<Self, NameError> {
                check_name($what, text, $dash)?;
                Ok(Self(text.to_owned()))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(text: &str) -> Result<Self, NameError> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier!(
    /// A step's id within its workflow: `[a-z][a-z0-9_-]*`, e.g. `route`, `first-reply`.
    StepId, "step id", dash: true
);
identifier!(
    /// A plugin's name as used in `uses:`: `[a-z][a-z0-9_-]*`, e.g. `identity`, `shopify-orders`.
    PluginName, "plugin name", dash: true
);
identifier!(
    /// A hook id of the channels file, the last segment of its webhook URL (`/hooks/{id}`):
    /// `[a-z][a-z0-9_-]*`, e.g. `shop-de`.
    HookId, "hook id", dash: true
);
identifier!(
    /// A secret's name as granted in `allow.secrets`: `[a-z][a-z0-9_]*`, e.g. `shopify_token`.
    SecretName, "secret name", dash: false
);

/// An outbound HTTP host a step may call: a host name (`api.example.com`) or a wildcard over
/// the sub-domains of a domain (`*.shopify.com`, which does not match `shopify.com` itself).
/// Stored in lowercase; no scheme, path or port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPattern {
    /// The host, or the domain under the wildcard, lowercase.
    host: String,
    wildcard: bool,
}

impl HostPattern {
    /// Checks `text` and builds the pattern.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        const WHAT: &str = "host pattern";
        let fail = |problem: &str| {
            Err(name_error(
                WHAT,
                text,
                format!("{problem}, expected a host name like `api.example.com` or `*.example.com`"),
            ))
        };
        if let Some(index) = text.find("://") {
            return fail(&format!("remove the scheme `{}`", &text[..index + 3]));
        }
        if text.contains('/') {
            return fail("remove the path");
        }
        if text.contains(':') {
            return fail("remove the port");
        }
        let (wildcard, host) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if host.contains('*') {
            return fail("`*` is only allowed as the first label, followed by a dot");
        }
        if host.is_empty() {
            return fail("the host is empty");
        }
        if !host.is_ascii() {
            return fail("non-ASCII host names must be written in their punycode form (`xn--...`)");
        }
        if host.len() > 253 {
            return fail("it is longer than 253 characters");
        }
        for label in host.split('.') {
            if label.is_empty() {
                return fail("it has an empty label");
            }
            if label.len() > 63 {
                return fail("a label is longer than 63 characters");
            }
            if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
                return fail(&format!("`{c}` is not allowed in a host name"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return fail("a label starts or ends with `-`");
            }
        }
        if wildcard && !host.contains('.') {
            return fail("a wildcard needs a domain of at least two labels after `*.`");
        }
        Ok(HostPattern {
            host: host.to_ascii_lowercase(),
            wildcard,
        })
    }

    /// Whether `host` (any case, with or without a trailing dot) is allowed by this pattern.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if self.wildcard {
            host.strip_suffix(self.host.as_str())
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(|sub| !sub.is_empty() && !sub.starts_with('.'))
        } else {
            host == self.host
        }
    }
}

impl FromStr for HostPattern {
    type Err = NameError;
    fn from_str(text: &str) -> Result<Self, NameError> {
        Self::parse(text)
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)
    }
}

/// Which events start a workflow: an event kind (`message.received`) or a family
/// (`ticket.*`, matching `ticket.opened`, `ticket.sla.warned`, but not `ticket` itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPattern {
    /// The kind, or the family prefix without `.*`.
    kind: String,
    family: bool,
}

impl EventPattern {
    /// Checks `text` (dot-separated `[a-z][a-z0-9_]*` segments, optionally ending in `.*`).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        const WHAT: &str = "event pattern";
        let (family, kind) = match text.strip_suffix(".*") {
            Some(prefix) => (true, prefix),
            None => (false, text),
        };
        for segment in kind.split('.') {
            check_identifier(segment, false).map_err(|problem| {
                name_error(
                    WHAT,
                    text,
                    format!(
                        "segment `{segment}`: {problem}; expected an event kind like `message.received` or a family like `ticket.*`, each segment a lowercase letter followed by lowercase letters, digits or `_`"
                    ),
                )
            })?;
        }
        Ok(EventPattern {
            kind: kind.to_owned(),
            family,
        })
    }

    /// Whether an event of `kind` starts the workflow.
    pub fn matches(&self, kind: &str) -> bool {
        if self.family {
            kind.strip_prefix(self.kind.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
        } else {
            kind == self.kind
        }
    }
}

impl FromStr for EventPattern {
    type Err = NameError;
    fn from_str(text: &str) -> Result<Self, NameError> {
        Self::parse(text)
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if self.family {
            f.write_str(".*")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_match() {
        let table = [
            ("api.example.com", "api.example.com", true),
            ("api.example.com", "API.Example.COM.", true),
            ("api.example.com", "x.api.example.com", false),
            ("api.example.com", "example.com", false),
            ("*.shopify.com", "acme.shopify.com", true),
            ("*.shopify.com", "a.b.shopify.com", true),
            ("*.shopify.com", "shopify.com", false),
            ("*.shopify.com", "evilshopify.com", false),
            ("*.shopify.com", "shopify.com.evil.net", false),
            ("*.shopify.com", ".shopify.com", false),
            ("Mail.Example.DE", "mail.example.de", true),
            ("localhost", "localhost", true),
        ];
        for (pattern, host, expected) in table {
            let parsed = HostPattern::parse(pattern).unwrap();
            assert_eq!(parsed.matches(host), expected, "{pattern} vs {host}");
        }
    }

    #[test]
    fn host_patterns_rejected() {
        let table = [
            ("https://api.example.com", "remove the scheme `https://`"),
            ("api.example.com/v1", "remove the path"),
            ("api.example.com:443", "remove the port"),
            ("*.com", "a wildcard needs a domain of at least two labels after `*.`"),
            ("api.*.com", "`*` is only allowed as the first label, followed by a dot"),
            ("*", "`*` is only allowed as the first label, followed by a dot"),
            ("", "the host is empty"),
            (
                "bücher.de",
                "non-ASCII host names must be written in their punycode form (`xn--...`)",
            ),
            ("api..example.com", "it has an empty label"),
            ("api_x.example.com", "`_` is not allowed in a host name"),
            ("-api.example.com", "a label starts or ends with `-`"),
            ("api example.com", "` ` is not allowed in a host name"),
        ];
        for (pattern, problem) in table {
            let error = HostPattern::parse(pattern).unwrap_err();
            assert!(error.problem.starts_with(problem), "{pattern}: {}", error.problem);
        }
    }

    #[test]
    fn event_patterns_match() {
        let table = [
            ("message.received", "message.received", true),
            ("message.received", "message.received.late", false),
            ("ticket.*", "ticket.opened", true),
            ("ticket.*", "ticket.sla.warned", true),
            ("ticket.*", "ticket", false),
            ("ticket.*", "tickets.opened", false),
            ("timer.fired", "timer.fire", false),
        ];
        for (pattern, kind, expected) in table {
            assert_eq!(
                EventPattern::parse(pattern).unwrap().matches(kind),
                expected,
                "{pattern} vs {kind}"
            );
        }
        for bad in [
            "",
            "Message.received",
            "message..received",
            "message.*.x",
            "*",
            "ticket.*.*",
            "nachricht.empfangen.ä",
        ] {
            assert!(EventPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        assert!(StepId::parse("first-reply_2").is_ok());
        assert!(SecretName::parse("shopify-token").is_err());
        assert!(SecretName::parse("shopify_token").is_ok());
        assert_eq!(
            StepId::parse("Route").unwrap_err().to_string(),
            "invalid step id `Route`: it starts with `R`, expected a lowercase letter followed by lowercase letters, digits, `_` or `-`"
        );
        assert!(PluginName::parse("ルーター").is_err());
        assert!(StepId::parse(&"a".repeat(65)).is_err());
    }
}
