//! Email both ways, end to end: the real `weft serve` watching a Maildir with the real email
//! plugin, agents' replies through the API submitted over SMTP to a real SMTP server on
//! `127.0.0.1` (PyPI's `aiosmtpd`, installed with pip into `target/` on first use, with a
//! handler of this test that keeps what it receives in a Maildir and answers some recipients
//! with 451 or 550). SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set.
//!
//! The story: a buyer's mail already in `new/` when weft starts becomes a ticket; the agent's
//! reply reaches the SMTP server threaded (`In-Reply-To`, `References`, our `Message-ID`) in
//! UTF-8 (German, Japanese, Arabic); the buyer's answer to it lands on the same ticket; a copy
//! of mail the seller sent counts as the seller's reply; an automatic acknowledgement goes to
//! a person's mail, marked `Auto-Submitted: auto-replied`, and none to auto-submitted mail;
//! an Amazon-relayed mail is answered to the relay alias from the authorized sender; a 451 is
//! tried again, a 550 fails with the server's text; a broken mail is dead-lettered; a restart
//! reads nothing twice, even a mail kept but not yet moved to `cur/`.
//!
//! Without python3 or PyPI the test prints SKIPPED and passes.

mod common;

use common::serve::{Serve, weft};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use weft::store::Store;
use weft::store::outbox::OutboxState;
use weft_plugin_email::{Config, parse_mail};
use weft_sdk::{Direction, Message};

const AIOSMTPD: &str = "1.4.6";

/// The handler the SMTP server runs: a recipient whose local part starts with `busy` is refused
/// once with 451, one starting with `unknown` always with 550; everything else is accepted and
/// kept, byte for byte, in the Maildir given, with the envelope in `X-Test-Envelope-*` fields.
const HANDLER: &str = r#"
import mailbox

class Handler:
    def __init__(self, maildir):
        self.box = mailbox.Maildir(maildir, create=True)
        self.refused = set()

    @classmethod
    def from_cli(cls, parser, maildir):
        return cls(maildir)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("busy") and address not in self.refused:
            self.refused.add(address)
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("unknown"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        head = "X-Test-Envelope-From: <%s>\r\nX-Test-Envelope-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        self.box.add(head.encode() + envelope.original_content)
        return "250 2.0.0 Ok: kept"
"#;

/// A running SMTP server, stopped when dropped.
struct Smtp {
    child: Child,
    port: u16,
    /// Where it keeps what it received.
    maildir: PathBuf,
}

impl Smtp {
    fn start(installed: &Path, dir: &Path) -> Smtp {
        let handler_dir = dir.join("smtp-handler");
        std::fs::create_dir_all(&handler_dir).unwrap();
        std::fs::write(handler_dir.join("weft_test_smtp.py"), HANDLER).unwrap();
        let maildir = dir.join("smtp-received");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let python_path = std::env::join_paths([installed, handler_dir.as_path()]).unwrap();
        let mut child = Command::new("python3")
            .env("PYTHONPATH", python_path)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "weft_test_smtp.Handler"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("smtp.log")).unwrap())
            .spawn()
            .expect("start aiosmtpd");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < common::serve::PATIENCE && child.try_wait().unwrap().is_none(),
                "aiosmtpd did not listen: {}",
                std::fs::read_to_string(dir.join("smtp.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Smtp { child, port, maildir }
    }

    /// Every mail received so far, raw.
    fn received(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir.join(sub)).ok())
            .flatten()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// The mail received with this `Message-ID`, parsed, with its raw text.
    fn find(&self, id: &str) -> Option<(Message, String)> {
        self.received().into_iter().find_map(|raw| {
            let message = parse_mail(&raw, &Config::default()).ok()?;
            (message.id == id).then(|| (message, String::from_utf8_lossy(&raw).into_owned()))
        })
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Maildir to watch.
fn maildir(dir: &Path) -> PathBuf {
    let inbox = dir.join("inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    inbox
}

/// Delivers `raw` into the Maildir as a mail server does: written to `tmp/`, then renamed into
/// `new/`. Returns the file name.
fn deliver(inbox: &Path, name: &str, raw: &str) -> String {
    let raw = raw.replace('\n', "\r\n");
    std::fs::write(inbox.join("tmp").join(name), raw).unwrap();
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name)).unwrap();
    name.to_owned()
}

fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn channels(port: u16) -> String {
    format!(
        "version: 1
channels:
  - id: support
    uses: email
    with:
      from: Laden Müller <support@shop.example>
      own_addresses: ['@shop.example']
      relay_senders: {{ amazon: amazon-seller@shop.example }}
      message_id_domain: mail.shop.example
    maildir: [inbox]
    smtp: {{ host: 127.0.0.1, port: {port}, security: none }}
"
    )
}

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: Laden Müller <support@shop.example>\nSubject: {subject}\nDate: Mon, 7 Dec 2026 09:30:00 +0100\n\
         Message-ID: <{id}>\n{extra}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}

/// The ticket's messages (ids), as the export shows them.
async fn messages_of(store: &Store, ticket: i64) -> Vec<String> {
    let tickets = store.export_tickets().await.unwrap();
    let ticket = tickets.iter().find(|t| t["ticket"] == ticket).unwrap();
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

async fn mail_end_to_end(installed: &Path, db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(installed, dir.path());
    let inbox = maildir(dir.path());
    let ack = dir.path().join("ack.yaml");
    std::fs::write(
        &ack,
        "version: 1\nname: ack\non: [message.received]\nsteps:\n  - id: acknowledge\n    uses: weft-test-faulty\n    with: { fault: acknowledge }\n",
    )
    .unwrap();
    let start = || Serve::start_with_workflows(dir.path(), db, &channels(smtp.port), &[], std::slice::from_ref(&ack));

    // Already waiting when weft starts.
    let first = deliver(
        &inbox,
        "1765096200.M1P1.mx",
        &mail(
            "=?UTF-8?Q?J=C3=BCrgen_Gro=C3=9F?= <juergen@example.de>",
            "b1@example.de",
            "=?UTF-8?B?V28gaXN0IG1laW4gUGFrZXQ/IOazqOaWhw==?=",
            "",
            "Hallo, wo bleibt meine Bestellung? Grüße, Jürgen",
        ),
    );
    let serve = start();
    let store = Store::open(db).await.unwrap();
    let client = reqwest::Client::new();
    let (ok, out, err) = weft(&["token", "create", "--name", "anna", "--role", "agent", "--db", db]);
    assert!(ok, "{err}");
    let agent = out.lines().last().unwrap().to_owned();

    let ticket = serve.processed_ticket_of(&store, "b1@example.de").await;
    assert_eq!(names(&inbox.join("new")), Vec::<String>::new());
    assert_eq!(names(&inbox.join("cur")), [format!("{first}:2,S")]);

    // The automatic acknowledgement went out, marked as such, threaded.
    let ack_row = serve
        .settled(
            &store,
            "ack:email:b1@example.de",
            "the acknowledgement delivered",
            |r| r.state == OutboxState::Delivered,
        )
        .await;
    let (_, ack_raw) = smtp
        .find(ack_row.external_id.as_deref().unwrap())
        .expect("the acknowledgement at the SMTP server");
    assert!(ack_raw.contains("Auto-Submitted: auto-replied"), "{ack_raw}");
    assert!(ack_raw.contains("In-Reply-To: <b1@example.de>"), "{ack_raw}");

    // The agent's reply, in three scripts.
    let text = "Guten Tag Herr Groß, Ihr Paket ist unterwegs. 荷物は発送済みです。 طردك في الطريق.";
    let reply = serve.reply(&client, &agent, ticket, text).await;
    let key = reply["key"].as_str().unwrap().to_owned();
    let row = serve
        .settled(&store, &key, "the reply delivered", |r| {
            r.state == OutboxState::Delivered
        })
        .await;
    let message_id = row.external_id.clone().unwrap();
    assert!(message_id.ends_with("@mail.shop.example"), "{message_id}");
    let (sent, raw) = smtp.find(&message_id).expect("the reply at the SMTP server");
    assert!(raw.contains("X-Test-Envelope-From: <support@shop.example>"), "{raw}");
    assert!(raw.contains("X-Test-Envelope-To: juergen@example.de"), "{raw}");
    assert!(!raw.contains("Auto-Submitted"), "{raw}");
    assert_eq!(sent.body, text);
    assert_eq!(sent.subject.as_deref(), Some("Re: Wo ist mein Paket? 注文"));
    assert_eq!(sent.replies_to, ["b1@example.de"]);
    assert_eq!(sent.from.email.as_deref(), Some("support@shop.example"));

    // The buyer answers our reply, from another mail program (new subject): the same ticket.
    deliver(
        &inbox,
        "1765096300.M2P1.mx",
        &mail(
            "juergen@example.de",
            "b2@example.de",
            "Danke!",
            &format!("In-Reply-To: <{message_id}>\nReferences: <b1@example.de> <{message_id}>\n"),
            "Danke, 素晴らしい!",
        ),
    );
    assert_eq!(serve.ticket_of(&store, "b2@example.de").await, ticket);

    // A copy of mail the seller sent from a mail program: the seller's reply on that ticket.
    deliver(
        &inbox,
        "1765096400.M3P1.mx",
        "From: Laden Müller <support@shop.example>\nTo: juergen@example.de\nSubject: Re: Danke!\n\
         Date: Mon, 7 Dec 2026 11:00:00 +0100\nMessage-ID: <s1@shop.example>\nIn-Reply-To: <b2@example.de>\n\
         Content-Type: text/plain; charset=utf-8\n\nGern geschehen!\n",
    );
    assert_eq!(serve.ticket_of(&store, "s1@shop.example").await, ticket);
    let timeline = store.ticket_timeline(ticket).await.unwrap();
    let copy = timeline.iter().find(|e| e.message.id == "s1@shop.example").unwrap();
    assert_eq!(copy.message.direction, Direction::Outbound);

    // An out-of-office answer gets no automatic acknowledgement (RFC 3834), said on its row.
    deliver(
        &inbox,
        "1765096500.M4P1.mx",
        &mail(
            "Fatima Al-Sayed <fatima@example.ae>",
            "ooo1@example.ae",
            "=?UTF-8?B?2LrYp9im2Kgg2LnZhiDYp9mE2YXZg9iq2Kg=?=",
            "Auto-Submitted: auto-replied\n",
            "أنا خارج المكتب حتى الأحد.",
        ),
    );
    let refused = serve
        .settled(
            &store,
            "ack:email:ooo1@example.ae",
            "the acknowledgement refused",
            |r| r.state == OutboxState::Failed,
        )
        .await;
    let error = refused.error.unwrap();
    assert!(
        error.contains("RFC 3834") && error.contains("auto-submitted"),
        "{error}"
    );
    assert_eq!(refused.attempts, 1);
    // An agent may still answer it by hand.
    let ooo_ticket = serve.ticket_of(&store, "ooo1@example.ae").await;
    let by_hand = serve.reply(&client, &agent, ooo_ticket, "مرحبا فاطمة، شكرا لك.").await;
    let by_hand = serve
        .settled(
            &store,
            by_hand["key"].as_str().unwrap(),
            "the reply by hand delivered",
            |r| r.state == OutboxState::Delivered,
        )
        .await;
    assert!(smtp.find(by_hand.external_id.as_deref().unwrap()).is_some());

    // Amazon relays: the reply goes to the alias, from the authorized sender.
    deliver(
        &inbox,
        "1765096600.M5P1.mx",
        &mail(
            "\"Jane - Amazon Marketplace\" <6bmcx2l1t7cwrwb@marketplace.amazon.de>",
            "0102018c-amz-1@email.amazonses.com",
            "Anfrage von Amazon-Kunde Jane (Bestellung: 302-1234567-7654321)",
            "",
            "Wann kommt mein Paket?",
        ),
    );
    let amazon_ticket = serve.ticket_of(&store, "0102018c-amz-1@email.amazonses.com").await;
    let amazon = serve
        .reply(&client, &agent, amazon_ticket, "Ihr Paket kommt morgen.")
        .await;
    assert_eq!(amazon["channel"], "amazon", "{amazon}");
    let amazon = serve
        .settled(
            &store,
            amazon["key"].as_str().unwrap(),
            "the Amazon reply delivered",
            |r| r.state == OutboxState::Delivered,
        )
        .await;
    let (_, raw) = smtp.find(amazon.external_id.as_deref().unwrap()).unwrap();
    assert!(
        raw.contains("X-Test-Envelope-From: <amazon-seller@shop.example>"),
        "{raw}"
    );
    assert!(
        raw.contains("X-Test-Envelope-To: 6bmcx2l1t7cwrwb@marketplace.amazon.de"),
        "{raw}"
    );
    assert!(
        raw.contains("In-Reply-To: <0102018c-amz-1@email.amazonses.com>"),
        "{raw}"
    );

    // 451 is tried again and then delivered (the acknowledgement meets it first); 550 fails
    // with the server's own text.
    for (local, id) in [("busy.chiara", "it1@example.it"), ("unknown.pierre", "fr1@example.fr")] {
        deliver(
            &inbox,
            &format!("1765096700.{local}.mx"),
            &mail(
                &format!("{local}@example.net"),
                id,
                "Domanda / Question",
                "",
                "Dov'è il mio ordine? Où est ma commande ?",
            ),
        );
    }
    let busy = serve
        .settled(
            &store,
            "ack:email:it1@example.it",
            "the busy acknowledgement delivered",
            |r| r.state == OutboxState::Delivered,
        )
        .await;
    assert_eq!(busy.attempts, 2, "one 451, then accepted");
    let unknown_ticket = serve.ticket_of(&store, "fr1@example.fr").await;
    let unknown = serve
        .reply(&client, &agent, unknown_ticket, "Votre colis arrive.")
        .await;
    let unknown = serve
        .settled(&store, unknown["key"].as_str().unwrap(), "the reply refused", |r| {
            r.state == OutboxState::Failed
        })
        .await;
    let error = unknown.error.unwrap();
    assert!(error.contains("550") && error.contains("User unknown"), "{error}");
    assert_eq!(unknown.attempts, 1);

    // A broken mail is dead-lettered with the channel's reason, never lost.
    deliver(&inbox, "1765096800.M9P1.mx", "this is not a mail at all\n");
    let letter = serve
        .eventually("the broken mail dead-lettered", async || {
            store
                .dead_letters(true)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.inbound.is_some() && l.error.contains("no header block"))
        })
        .await;
    assert!(
        letter.error.contains("inbox/new/1765096800.M9P1.mx"),
        "{}",
        letter.error
    );

    // Restart: nothing is read twice, not even a mail that was kept but not moved (as if weft
    // had stopped in between): it is recognized and moved, and nothing new is made of it.
    let log = serve.stop();
    assert!(log.contains("Maildir reader stopped"), "{log}");
    let kept = messages_of(&store, ticket).await;
    let cur = names(&inbox.join("cur"));
    let again = cur.iter().find(|n| n.starts_with(&first)).unwrap();
    std::fs::copy(inbox.join("cur").join(again), inbox.join("new").join(&first)).unwrap();
    let serve = start();
    serve
        .eventually("the copy moved to cur/", async || {
            names(&inbox.join("new")).is_empty().then_some(())
        })
        .await;
    assert_eq!(names(&inbox.join("cur")), cur);
    // One more mail proves the loop ran past the copy.
    deliver(
        &inbox,
        "1765096900.M10P1.mx",
        &mail(
            "juergen@example.de",
            "b3@example.de",
            "Noch eine Frage",
            &format!("In-Reply-To: <{message_id}>\n"),
            "Und die Rechnung?",
        ),
    );
    assert_eq!(serve.ticket_of(&store, "b3@example.de").await, ticket);
    let mut expected = kept.clone();
    expected.push("b3@example.de".to_owned());
    let mut now = messages_of(&store, ticket).await;
    now.retain(|m| !m.starts_with("ack:"));
    expected.retain(|m| !m.starts_with("ack:"));
    now.sort();
    expected.sort();
    assert_eq!(now, expected);
    serve.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_both_ways_through_maildir_and_smtp() {
    let installed = match weft_test_support::pip_package("aiosmtpd", "aiosmtpd", AIOSMTPD) {
        Ok(dir) => dir,
        Err(why) => {
            eprintln!("SKIPPED mail_both_ways_through_maildir_and_smtp: no SMTP server to test against: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("weft.db").display());
    mail_end_to_end(&installed, &sqlite).await;
    if let Some(db) = common::postgres_database("mail_both_ways").await {
        mail_end_to_end(&installed, &db).await;
    }
}
