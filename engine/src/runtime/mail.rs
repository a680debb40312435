//! The `mail` capability: submits a message the plugin rendered through the SMTP relay the
//! channels file gives the mount (`smtp:`), with lettre. Sockets are the host's: a plugin
//! without a relay gets a refusal, and never picks the server itself.

use crate::runtime::bindings::step::weft::plugin::mail as wit;
use crate::runtime::state::CallState;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Instant;

/// How a connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpSecurity {
    /// `STARTTLS` after connecting, required (port 587): the default.
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text: only for a relay on the same machine or in tests.
    None,
}

impl SmtpSecurity {
    /// As written in the channels file.
    pub const NAMES: [&'static str; 3] = ["starttls", "tls", "none"];

    /// The security named `name` in the channels file.
    pub fn parse(name: &str) -> Option<SmtpSecurity> {
        match name {
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" => Some(SmtpSecurity::Tls),
            "none" => Some(SmtpSecurity::None),
            _ => None,
        }
    }
}

/// The SMTP relay a mount submits mail through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The user to log in as, if the relay wants a login.
    pub username: Option<String>,
    /// The secret holding the password (`WEFT_SECRET_<NAME>`), read by the host only.
    pub password_secret: Option<String>,
}

/// What the `mail` import of one call may do.
pub(crate) struct MailState {
    /// The relay of the mount; none refuses every submission.
    pub relay: Option<SmtpRelay>,
    /// The mount (or step) id, named in refusals.
    pub step: String,
    /// When the call's time is up; a submission gets what is left.
    pub deadline: Instant,
}

/// The borrowed view the generated `mail` host trait is implemented on.
pub(crate) struct MailView<'a> {
    state: &'a MailState,
    denials: &'a mut Vec<String>,
    requests_sent: &'a mut u32,
}

impl MailView<'_> {
    async fn submit(&mut self, envelope: wit::Envelope, message: Vec<u8>) -> Result<String, wit::SubmitError> {
        let Some(relay) = &self.state.relay else {
            let denial = format!(
                "mail submission is not allowed for `{}`: give the mount an SMTP relay in the channels file, \
                 `smtp: {{ host: smtp.example.com, port: 587 }}`",
                self.state.step
            );
            self.denials.push(denial.clone());
            return Err(wit::SubmitError::Refused(denial));
        };
        let envelope = smtp_envelope(&envelope).map_err(wit::SubmitError::Refused)?;
        let remaining = self.state.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(wit::SubmitError::Transient(
                "the call has no time left to submit mail".to_owned(),
            ));
        }
        let transport = transport(relay, remaining).map_err(wit::SubmitError::Refused)?;
        // Counted before the connection: from here on the relay may have taken the message.
        *self.requests_sent += 1;
        match transport.send_raw(&envelope, &message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(error) => {
                let text = format!("SMTP relay {}:{}: {error}", relay.host, relay.port);
                if error.is_permanent() {
                    Err(wit::SubmitError::Permanent(text))
                } else {
                    // 4xx, or no connection: the relay did not take the message.
                    Err(wit::SubmitError::Transient(text))
                }
            }
        }
    }
}

/// The SMTP envelope of a submission; why it is unusable otherwise.
fn smtp_envelope(envelope: &wit::Envelope) -> Result<Envelope, String> {
    let address = |text: &str| {
        text.trim()
            .parse::<Address>()
            .map_err(|e| format!("`{text}` is not a mail address: {e}"))
    };
    let sender = match envelope.sender.trim() {
        "" => None,
        sender => Some(address(sender)?),
    };
    let recipients = envelope
        .recipients
        .iter()
        .map(|r| address(r))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(sender, recipients).map_err(|e| format!("the envelope is not usable: {e}"))
}

/// A transport to `relay` for one submission, with the password read from its secret.
fn transport(relay: &SmtpRelay, timeout: std::time::Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |host: &str| TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS to {host}: {e}"));
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
        .port(relay.port)
        .timeout(Some(timeout));
    builder = match relay.security {
        SmtpSecurity::StartTls => builder.tls(Tls::Required(tls(&relay.host)?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(&relay.host)?)),
        SmtpSecurity::None => builder.tls(Tls::None),
    };
    if let Some(user) = &relay.username {
        let password = match &relay.password_secret {
            Some(secret) => {
                let var = crate::runtime::secrets::env_var(secret);
                std::env::var(&var)
                    .map_err(|_| format!("the SMTP password secret `{secret}` is not configured: set {var}"))?
            }
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

impl wit::Host for MailView<'_> {
    async fn submit(
        &mut self,
        envelope: wit::Envelope,
        message: Vec<u8>,
    ) -> wasmtime::Result<Result<String, wit::SubmitError>> {
        Ok(MailView::submit(self, envelope, message).await)
    }
}

struct MailData;

impl wasmtime::component::HasData for MailData {
    type Data<'a> = MailView<'a>;
}

/// Links the `mail` import.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, MailData>(linker, |state| MailView {
        state: &state.mail,
        denials: &mut state.denials,
        requests_sent: &mut state.requests_sent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_what_is_wrong_with_them() {
        let ok = smtp_envelope(&wit::Envelope {
            sender: "shop@example.de".into(),
            recipients: vec!["kaeufer@example.de".into()],
        });
        assert!(ok.is_ok(), "{ok:?}");
        let null = smtp_envelope(&wit::Envelope {
            sender: String::new(),
            recipients: vec!["a@example.com".into()],
        })
        .unwrap();
        assert!(null.from().is_none());
        let bad = smtp_envelope(&wit::Envelope {
            sender: "shop@example.de".into(),
            recipients: vec!["not an address".into()],
        })
        .unwrap_err();
        assert!(bad.starts_with("`not an address` is not a mail address"), "{bad}");
        let none = smtp_envelope(&wit::Envelope {
            sender: "shop@example.de".into(),
            recipients: vec![],
        })
        .unwrap_err();
        assert!(none.contains("envelope is not usable"), "{none}");
    }
}
