//! The two keys of a channels file entry that only mail mounts use: `maildir:` (the folders
//! `weft serve` watches for new mail) and `smtp:` (the relay outbound mail is submitted to).
//!
//! ```yaml
//! - id: support
//!   uses: email
//!   maildir: [/var/mail/support, /var/mail/support/.Sent]
//!   smtp: { host: smtp.example.com, port: 587, security: starttls, username: support@shop.example, password: smtp_password }
//! ```

use crate::runtime::{SmtpRelay, SmtpSecurity};
use crate::workflow::compile::Checker;
use crate::workflow::names::SecretName;
use crate::workflow::yaml::{Node, Value};
use std::path::PathBuf;

/// Keys of a channel's `smtp:`.
pub(crate) const SMTP_KEYS: [&str; 5] = ["host", "port", "security", "username", "password"];

/// The Maildir folders of `maildir:` (a list of paths, relative ones to the channels file's
/// folder), each of which must be a Maildir (with `new/`, `cur/` and `tmp/`).
pub(super) fn maildirs(checker: &mut Checker<'_>, node: &Node, label: &str) -> Vec<PathBuf> {
    let what = format!("`maildir` of {label}");
    let base = checker.file().parent().map(PathBuf::from).unwrap_or_default();
    let mut folders = Vec::new();
    for item in checker.string_list(node, &what, "[/var/mail/support]") {
        let text = item.as_scalar().unwrap_or_default();
        let path = base.join(text);
        let missing: Vec<&str> = ["new", "cur", "tmp"]
            .into_iter()
            .filter(|sub| !path.join(sub).is_dir())
            .collect();
        if text.trim().is_empty() {
            checker.report(item.pos, format!("{what} holds an empty path"));
        } else if !missing.is_empty() {
            checker.report(
                item.pos,
                format!(
                    "{what}: `{}` is not a Maildir (no {} folder), expected a folder with new/, cur/ and tmp/",
                    path.display(),
                    missing.join("/, ") + "/"
                ),
            );
        } else if folders.contains(&path) {
            checker.report(item.pos, format!("{what} names `{text}` twice"));
        } else {
            folders.push(path);
        }
    }
    if matches!(&node.value, Value::Seq(items) if items.is_empty()) {
        checker.report(
            node.pos,
            format!("{what} is empty, expected at least one Maildir folder"),
        );
    }
    folders
}

/// The relay of `smtp:`.
pub(super) fn smtp(checker: &mut Checker<'_>, node: &Node, label: &str) -> Option<SmtpRelay> {
    let what = format!("`smtp` of {label}");
    if node.as_map().is_none() {
        checker.report(
            node.pos,
            format!(
                "{what} must be a mapping like `{{ host: smtp.example.com, port: 587 }}`, found {}",
                node.type_name()
            ),
        );
        return None;
    }
    let before = checker.diagnostics.len();
    checker.check_keys(node, &SMTP_KEYS, &format!("in {what}"));
    let text = |checker: &mut Checker<'_>, key: &str| -> Option<(String, crate::workflow::yaml::Pos)> {
        let value = node.get(key)?;
        match value.as_str() {
            Some(s) if !s.trim().is_empty() => Some((s.trim().to_owned(), value.pos)),
            _ => {
                checker.report(
                    value.pos,
                    format!(
                        "`{key}` in {what} must be a non-empty string, found {}",
                        value.type_name()
                    ),
                );
                None
            }
        }
    };
    let host = text(checker, "host").map(|(h, _)| h);
    if host.is_none() && node.get("host").is_none() {
        checker.report(
            node.pos,
            format!("missing key `host` in {what}, expected the relay's host name like `host: smtp.example.com`"),
        );
    }
    let security = match text(checker, "security") {
        None => SmtpSecurity::default(),
        Some((name, pos)) => SmtpSecurity::parse(&name).unwrap_or_else(|| {
            checker.report(
                pos,
                format!(
                    "unknown `security` `{name}` in {what}, expected one of: {}",
                    SmtpSecurity::NAMES.join(", ")
                ),
            );
            SmtpSecurity::default()
        }),
    };
    let port = match node.get("port") {
        None => match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        },
        Some(port) => match port
            .to_json()
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
        {
            Some(p) => p,
            None => {
                checker.report(
                    port.pos,
                    format!("`port` in {what} must be a port number from 1 to 65535"),
                );
                0
            }
        },
    };
    let username = text(checker, "username").map(|(u, _)| u);
    let password_secret = match text(checker, "password") {
        None => None,
        Some((name, pos)) => match SecretName::parse(&name) {
            Ok(secret) => Some(secret.to_string()),
            Err(error) => {
                checker.report(pos, format!("`password` in {what} names a secret: {error}"));
                None
            }
        },
    };
    if let (Some(pos), None) = (node.get("password").map(|p| p.pos), &username) {
        checker.report(pos, format!("`password` in {what} needs a `username` to log in with"));
    }
    if checker.diagnostics.len() > before {
        return None;
    }
    Some(SmtpRelay {
        host: host?,
        port,
        security,
        username,
        password_secret,
    })
}

#[cfg(test)]
mod tests {
    use crate::runtime::{SmtpRelay, SmtpSecurity};
    use crate::workflow::PluginSummary;
    use crate::workflow::catalog::{Catalog, PluginKind};
    use crate::workflow::channels::compile::load_channels_str;

    fn catalog() -> Catalog {
        let mut catalog = Catalog::new();
        catalog.insert(
            "email",
            PluginSummary {
                version: "0.1.0".into(),
                kind: PluginKind::Channel,
                config_schema: serde_json::json!({ "type": "object" }),
            },
        );
        catalog
    }

    /// A good mount with both keys, and every problem of bad ones at its place.
    #[test]
    fn maildirs_and_relays_as_written() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(dir.path().join("Maildir").join(sub)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("half/new")).unwrap();
        let file = dir.path().join("channels.yaml");
        let good = "version: 1\nchannels:\n  - id: support\n    uses: email\n    maildir: [Maildir]\n    \
                    smtp: { host: smtp.example.com, username: support@shop.example, password: smtp_password }\n";
        let channels = load_channels_str(&file, good, &catalog()).unwrap();
        let mount = channels.get("support").unwrap();
        assert_eq!(mount.maildir, [dir.path().join("Maildir")]);
        assert_eq!(
            mount.smtp,
            Some(SmtpRelay {
                host: "smtp.example.com".into(),
                port: 587,
                security: SmtpSecurity::StartTls,
                username: Some("support@shop.example".into()),
                password_secret: Some("smtp_password".into()),
            })
        );
        let bad = "version: 1\nchannels:\n  - id: support\n    uses: email\n    maildir: [half, nowhere, 7]\n    \
                   smtp: { host: '', port: 70000, security: ssl, password: Bad-Name, colour: red }\n  \
                   - { id: other, uses: email, maildir: [], smtp: relay.example.com }\n";
        let problems: Vec<String> = load_channels_str(&file, bad, &catalog())
            .unwrap_err()
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect();
        let expected = [
            "no cur/, tmp/ folder",
            "nowhere` is not a Maildir (no new/, cur/, tmp/ folder)",
            "`maildir` of channel `support` must hold strings, found a number",
            "unknown key `colour` in `smtp` of channel `support`",
            "`host` in `smtp` of channel `support` must be a non-empty string",
            "`port` in `smtp` of channel `support` must be a port number from 1 to 65535",
            "unknown `security` `ssl` in `smtp` of channel `support`, expected one of: starttls, tls, none",
            "`password` in `smtp` of channel `support` names a secret: invalid secret name `Bad-Name`",
            "`password` in `smtp` of channel `support` needs a `username` to log in with",
            "`maildir` of channel `other` is empty, expected at least one Maildir folder",
            "`smtp` of channel `other` must be a mapping like `{ host: smtp.example.com, port: 587 }`, found a string",
        ];
        for want in expected {
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "missing {want:?} in:\n{}",
                problems.join("\n")
            );
        }
        assert!(
            problems
                .iter()
                .all(|p| p.starts_with(|c: char| c.is_ascii_digit()) && !p.starts_with("0:")),
            "{problems:?}"
        );
    }
}
