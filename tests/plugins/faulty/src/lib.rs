//! A step that misbehaves on request, so the runtime's limits and capability checks can be tested
//! against a real component.
//!
//! `with: { fault: ok|loop|hog|trap|panic|garbage|http|secret|context|acknowledge|notify, port: 8080 }` picks the
//! behaviour; see [`Fault`]. `check: loop|hog|trap|problems` makes `check-config` misbehave
//! too; see [`CheckFault`].

use serde::Deserialize;
use weft_sdk::prelude::*;

/// The step.
pub struct Faulty;

/// What the step does when it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// Looks up the sender's email in the context and sets `tag=ok` (with the number of
    /// customers found as evidence).
    Ok,
    /// Spins forever.
    Loop,
    /// Allocates until memory runs out.
    Hog,
    /// Executes the `unreachable` instruction.
    Trap,
    /// Panics with a message.
    Panic,
    /// Returns a decision with an empty reason and a NaN confidence.
    Garbage,
    /// Fetches `http://127.0.0.1:<port>/` and tags the body length.
    Http,
    /// Reads the secret `api_token` and tags its length.
    Secret,
    /// Looks up the sender's email and links every customer found.
    Context,
    /// Answers the message with an automatic acknowledgement to its sender's email, on its
    /// channel, keyed `ack:<channel>:<id>` (for the outbox).
    Acknowledge,
    /// On an order event, sends a message about the order to its number through the mount
    /// `channel`, with `subject` (a marketplace's proactive message, such as an Amazon
    /// Messaging action), keyed `notify:<number>:<subject>`.
    Notify,
}

/// What `check-config` does when it is asked to misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckFault {
    /// Spins forever.
    Loop,
    /// Allocates until memory runs out.
    Hog,
    /// Executes the `unreachable` instruction.
    Trap,
    /// Finds two problems: one at `port` (German, with what is expected), one about the whole
    /// configuration (Japanese).
    Problems,
}

/// `with:` for the faulty step.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The behaviour. Example: `loop`.
    pub fault: Fault,
    /// The local port `http` fetches from. Example: `8080`.
    #[serde(default)]
    pub port: u16,
    /// How `check-config` misbehaves; by default it finds no problem. Example: `trap`.
    #[serde(default)]
    pub check: Option<CheckFault>,
    /// The mount `notify` sends through. Example: `amazon-sp`.
    #[serde(default)]
    pub channel: Option<String>,
    /// The subject `notify` sends with. Example: `confirmDeliveryDetails`.
    #[serde(default)]
    pub subject: Option<String>,
}

/// Spins until the host's deadline stops it.
fn spin() -> u64 {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
        if std::hint::black_box(n) == u64::MAX {
            return n;
        }
    }
}

fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// The message sender's email as an identity, or an error naming what is missing.
fn sender_email(event: &Event) -> Result<Identity, Error> {
    let email = event
        .message
        .as_ref()
        .and_then(|m| m.from.email.clone())
        .ok_or_else(|| Error::permanent("the event has no message with a sender email"))?;
    Ok(Identity::new(IdentityKind::Email, email))
}

fn tag(value: String, reason: &str) -> Decision {
    Decision::new(Command::SetField(SetField::new("tag", value)), reason)
}

/// Grows a vector of pages forever; the host's memory limit has to stop it.
fn hog() -> usize {
    let mut pages: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut page = vec![0u8; 1 << 20];
        page[0] = pages.len() as u8;
        pages.push(std::hint::black_box(page));
        if pages.len() == usize::MAX {
            return pages.len();
        }
    }
}

impl Step for Faulty {
    type Config = Config;
    const DESCRIPTION: &'static str = "misbehaves on request, for testing the runtime";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        match config.check {
            None => Vec::new(),
            Some(CheckFault::Loop) => vec![ConfigProblem::at([] as [&str; 0], spin().to_string())],
            Some(CheckFault::Hog) => vec![ConfigProblem::at([] as [&str; 0], hog().to_string())],
            Some(CheckFault::Trap) => trap(),
            Some(CheckFault::Problems) => vec![
                ConfigProblem::at(["port"], format!("Port {} ist hier nicht erlaubt", config.port))
                    .expected("ein Port über 1023"),
                ConfigProblem::at([] as [&str; 0], "設定が不完全です"),
            ],
        }
    }

    fn decide(event: &Event, config: &Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        match config.fault {
            Fault::Ok => {
                let found = ctx.find_customers(&sender_email(event)?);
                ctx.log(LogLevel::Info, &format!("found {} customers", found.len()));
                Ok(vec![tag("ok".into(), "asked to behave").with_evidence([
                    Evidence::new("email", format!("{} customers known", found.len()), 0.0),
                ])])
            }
            Fault::Loop => Ok(vec![tag(spin().to_string(), "counted")]),
            Fault::Hog => Ok(vec![tag(hog().to_string(), "allocated")]),
            Fault::Trap => trap(),
            Fault::Panic => panic!("faulty step panicked on purpose: 顧客 nicht gefunden"),
            Fault::Garbage => Ok(vec![Decision::new(
                Command::SetField(SetField {
                    ticket: TicketRef::Current,
                    name: "tag".into(),
                    value: "garbage".into(),
                    confidence: f64::NAN,
                }),
                "",
            )]),
            Fault::Http => {
                let request = HttpRequest {
                    method: "GET".into(),
                    url: format!("http://127.0.0.1:{}/", config.port),
                    headers: vec![],
                    body: vec![],
                };
                let response = ctx.fetch(&request).map_err(Error::permanent)?;
                if response.status != 200 {
                    return Err(Error::retryable(format!("the server answered {}", response.status)));
                }
                Ok(vec![tag(response.body.len().to_string(), "fetched the page")])
            }
            Fault::Secret => {
                let secret = ctx.secret("api_token").map_err(Error::permanent)?;
                Ok(vec![tag(secret.chars().count().to_string(), "read the secret")])
            }
            Fault::Acknowledge => {
                let message = event
                    .message
                    .as_ref()
                    .ok_or_else(|| Error::permanent("the event has no message to acknowledge"))?;
                Ok(vec![Decision::new(
                    Command::SendMessage(SendMessage {
                        channel: message.channel.clone(),
                        to: sender_email(event)?.value,
                        ticket: TicketRef::Current,
                        subject: None,
                        body: "Merci, nous avons bien reçu votre message. 受け付けました。".into(),
                        lang: message.lang.clone(),
                        key: format!("ack:{}:{}", message.channel, message.id),
                    }),
                    "every message is acknowledged",
                )])
            }
            Fault::Notify => {
                let order = weft_sdk::Order::deserialize(&event.payload)
                    .map_err(|e| Error::permanent(format!("the event carries no order: {e}")))?;
                let channel = config.channel.clone().unwrap_or_default();
                let subject = config.subject.clone().unwrap_or_default();
                Ok(vec![Decision::new(
                    Command::SendMessage(SendMessage {
                        channel,
                        to: order.number.clone(),
                        ticket: TicketRef::Current,
                        key: format!("notify:{}:{subject}", order.number),
                        subject: Some(subject),
                        body: "Ihre Bestellung kommt am Dienstag — 火曜日にお届けします".into(),
                        lang: None,
                    }),
                    "every order is notified",
                )])
            }
            Fault::Context => {
                let found = ctx.find_customers(&sender_email(event)?);
                Ok(found
                    .into_iter()
                    .map(|c| {
                        Decision::new(
                            Command::LinkCustomer(LinkCustomer {
                                customer: CustomerRef::Existing(c.id),
                                identities: c.identities,
                                score: 1.0,
                            }),
                            "known by this email",
                        )
                    })
                    .collect())
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Faulty);

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::MemoryContext;

    fn event() -> Event {
        let mut message = Message::new("chat", "m-1", 0);
        message.from.email = Some("marie@exemple.fr".into());
        Event {
            id: 1,
            kind: "message.received".into(),
            at: 0,
            message: Some(message),
            customer: None,
            ticket: None,
            payload: serde_json::Value::Null,
        }
    }

    fn config(fault: Fault) -> Config {
        Config {
            fault,
            port: 0,
            check: None,
            channel: None,
            subject: None,
        }
    }

    fn ctx() -> MemoryContext {
        MemoryContext::new().with_customer(9, &[Identity::new(IdentityKind::Email, "marie@exemple.fr")])
    }

    #[test]
    fn ok_tags_and_counts_customers() {
        let ctx = ctx();
        let decisions = Faulty::decide(&event(), &config(Fault::Ok), &ctx).unwrap();
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].evidence[0].detail, "1 customers known");
        assert_eq!(ctx.logs.lock().unwrap().len(), 1);
    }

    #[test]
    fn context_links_the_customers_found() {
        let decisions = Faulty::decide(&event(), &config(Fault::Context), &ctx()).unwrap();
        assert!(matches!(
            &decisions[..],
            [Decision {
                command: Command::LinkCustomer(LinkCustomer {
                    customer: CustomerRef::Existing(9),
                    ..
                }),
                ..
            }]
        ));
    }

    #[test]
    fn garbage_is_garbage() {
        let decisions = Faulty::decide(&event(), &config(Fault::Garbage), &ctx()).unwrap();
        assert!(decisions[0].reason.is_empty());
    }

    #[test]
    fn denials_become_permanent_errors() {
        let error = Faulty::decide(&event(), &config(Fault::Http), &ctx()).unwrap_err();
        assert!(matches!(error, Error::Permanent(m) if m.contains("127.0.0.1")));
        let error = Faulty::decide(&event(), &config(Fault::Secret), &ctx()).unwrap_err();
        assert!(
            matches!(&error, Error::Permanent(m) if m.starts_with("secret `api_token` is not granted")),
            "{error}"
        );
    }

    #[test]
    fn the_config_names_the_fault() {
        let parsed: Config = serde_json::from_str(r#"{"fault":"hog"}"#).unwrap();
        assert_eq!(parsed.fault, Fault::Hog);
        assert!(serde_json::from_str::<Config>(r#"{"fault":"nap"}"#).is_err());
    }
}
