//! The live half of `weft demo`: the real `weft serve` (this binary, a child process on
//! `127.0.0.1:0`) over the demo database, with the demo in the vendors' place.
//!
//! One buyer, Lucía, orders in the Shopify shop (the order webhook, signed as Shopify signs
//! it), writes about it by email (a mail dropped into the watched Maildir), on Instagram (the
//! order number in her words) and by WhatsApp from the number on her order; the shop ships
//! (Shopify's fulfillment, with the tracking number) and EasyPost reports the parcel; then she
//! writes in the shop's chat while logged in (the shop signs her email). An agent answers
//! through the REST API, and the answer goes out on the channel she wrote on last: it reaches
//! her open chat widget over its stream. What the demo prints is read back from the store.
//!
//! Then a second buyer, Giulia, across the marketplaces: she writes through Amazon (a mail from
//! her Amazon alias, relayed into the same Maildir), then on eBay naming her Amazon order (the
//! eBay channel polls the Message API), and Amazon reports the order (`ORDER_CHANGE`, which
//! SP-API delivers only to an SQS queue, polled by the Amazon channel). Nothing but the order
//! number ties an eBay user to an Amazon buyer; weft makes one customer and one ticket, with the
//! order on it. The two polled vendors stand in on `127.0.0.1` in this process
//! ([`super::vendors`]).
//!
//! Every webhook is signed with a secret the demo makes up and hands to the child as
//! `WEFT_SECRET_*`, exactly as a deployment grants them; nothing here talks to a vendor.

use super::vendors::{self, Conversation, Vendors};
use crate::store::Store;
use anyhow::{Context as _, bail};
use base64::Engine as _;
use hmac::Mac as _;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the demo waits for the live loop before it says what is missing.
const PATIENCE: Duration = Duration::from_secs(60);

/// The secrets the demo makes up, by the name the channels file grants.
const SECRETS: [(&str, &str); 11] = [
    ("demo_shopify_app", "shpss_demo_client_secret"),
    ("demo_meta_app", "demo-meta-app-secret"),
    ("demo_meta_token", "demo-meta-page-token"),
    ("demo_chat_identity", "demo-chat-identity-secret"),
    ("demo_easypost", "demo-easypost-webhook-secret"),
    ("demo_aws_key_id", vendors::AWS_ACCESS_KEY_ID),
    ("demo_aws_secret", vendors::AWS_SECRET_ACCESS_KEY),
    ("demo_ebay_client_id", vendors::EBAY_CLIENT_ID),
    ("demo_ebay_client_secret", vendors::EBAY_CLIENT_SECRET),
    ("demo_ebay_refresh_token", vendors::EBAY_REFRESH_TOKEN),
    ("demo_ebay_verification", vendors::EBAY_VERIFICATION_TOKEN),
];

fn secret(name: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or_default()
}

/// The mounts of the live demo: where each vendor's traffic comes in, and the stand-ins the
/// polled ones ask.
fn channels_file(maildir: &Path, vendors: &Vendors) -> String {
    format!(
        r#"version: 1
channels:
  - id: shopify
    uses: shopify
    with: {{ secret: demo_shopify_app }}
    allow: {{ secrets: [demo_shopify_app] }}
  - id: support
    uses: email
    with: {{ from: "Shop Support <support@shop.example>", own_addresses: ["@shop.example"], message_id_domain: shop.example, relay_senders: {{ amazon: amazon-sales@shop.example }} }}
    maildir: [{maildir}]
  - id: instagram
    uses: meta
    with: {{ platform: instagram, sender_id: "17841400000000077", app_secret: demo_meta_app, access_token: demo_meta_token, verify_token: demo_meta_token }}
    allow: {{ secrets: [demo_meta_app, demo_meta_token] }}
  - id: whatsapp
    uses: meta
    with: {{ platform: whatsapp, sender_id: "106540352242977", app_secret: demo_meta_app, access_token: demo_meta_token, verify_token: demo_meta_token }}
    allow: {{ secrets: [demo_meta_app, demo_meta_token] }}
  - id: site
    uses: chat
    with: {{ identity_secret: demo_chat_identity }}
    allow: {{ secrets: [demo_chat_identity] }}
  - id: easypost
    uses: carriers
    with: {{ service: easypost, secret: demo_easypost }}
    allow: {{ secrets: [demo_easypost] }}
  - id: amazon-sp
    uses: amazon
    with:
      sqs: {{ queue_url: "{queue}", region: {region}, endpoint: "{base}", access_key_id: demo_aws_key_id, secret_access_key: demo_aws_secret, wait_seconds: 0 }}
    allow: {{ http: [127.0.0.1], secrets: [demo_aws_key_id, demo_aws_secret] }}
    poll: 1s
  - id: ebay
    uses: ebay
    with:
      api_url: "{base}"
      client_id: demo_ebay_client_id
      client_secret: demo_ebay_client_secret
      refresh_token: demo_ebay_refresh_token
      verification_token: demo_ebay_verification
      endpoint: "https://shop.example/ebay/notifications"
      seller: {seller}
    allow: {{ http: [127.0.0.1], secrets: [demo_ebay_client_id, demo_ebay_client_secret, demo_ebay_refresh_token, demo_ebay_verification] }}
    poll: 1s
"#,
        maildir = maildir.display(),
        queue = vendors.queue_url(),
        region = vendors::REGION,
        base = vendors.base,
        seller = vendors::EBAY_SELLER,
    )
}

/// A running `weft serve`, stopped (SIGTERM, then killed) when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(
        dir: &Path,
        db: &str,
        plugins: &super::Plugins,
        workflows: &Path,
        vendors: &Vendors,
    ) -> anyhow::Result<Server> {
        let channels = dir.join("channels.yaml");
        std::fs::write(&channels, channels_file(&dir.join("maildir"), vendors))?;
        let log = dir.join("serve.log");
        let mut command = Command::new(std::env::current_exe().context("finding the weft binary")?);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--workflows")
            .arg(workflows)
            .arg("--channels")
            .arg(&channels)
            .arg("--plugins")
            .arg(plugins.plugins)
            .arg("--models")
            .arg(plugins.models)
            .env("WEFT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?);
        for (name, value) in SECRETS {
            command.env(crate::runtime::secret_env_var(name), value);
        }
        let mut child = command.spawn().context("starting weft serve")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("weft serve's output")?).read_line(&mut line)?;
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!(
                "weft serve did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Ok(Server {
            base: base.to_owned(),
            child,
            log,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets it finish what it kept; the demo has already read what it shows.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hmac_sha256(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Posts `body` with `headers`; fails unless the answer is 2xx.
async fn post(client: &reqwest::Client, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> anyhow::Result<Value> {
    let mut request = client.post(url).header("content-type", "application/json").body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("POST {url} answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Waits until `check` finds what it looks for in the store.
async fn eventually<T>(
    server: &Server,
    what: &str,
    mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        if start.elapsed() > PATIENCE {
            bail!(
                "{what} did not happen within {PATIENCE:?}; weft serve's log:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a message id on a ticket is the message the demo sent as `id` (the chat channel
/// keeps a visitor's message as `chat:<conversation>:<id>`).
fn is_message(on_ticket: &Value, id: &str) -> bool {
    on_ticket.as_str().is_some_and(|m| {
        m == id
            || m.strip_suffix(id)
                .is_some_and(|head| head.starts_with("chat:") && head.ends_with(':'))
    })
}

/// The ticket that holds message `id`, from `weft export tickets`' rows.
async fn ticket_of(store: &Store, id: &str) -> anyhow::Result<Option<Value>> {
    Ok(store.export_tickets().await?.into_iter().find(|t| {
        t["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| is_message(m, id)))
    }))
}

const ORDER_NUMBER: &str = "#10733";
const ORDER_ID: u64 = 5_731_234_567_890_123_456;
const TRACKING: &str = "JD014600006281930144";
const EMAIL: &str = "lucia.fernandez@example.es";
const PHONE: &str = "+34 612 987 654";
const WHATSAPP: &str = "34612987654";

/// Runs the live stories and returns their account.
pub async fn run(db: &str, plugins: &super::Plugins<'_>, workflows: &Path) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("weft-demo-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join("maildir").join(sub))?;
    }
    let vendors = Vendors::start().await?;
    let server = Server::start(&dir, db, plugins, workflows, &vendors)?;
    let result = match stories(&server, &dir, db).await {
        Ok(mut out) => marketplaces(&server, &vendors, &dir, db).await.map(|more| {
            out.push_str(&more);
            out
        }),
        Err(error) => Err(error),
    };
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn stories(server: &Server, dir: &Path, db: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let store = Store::open(db).await?;
    let now = jiff::Timestamp::now();
    let at = |minutes_ago: i64| -> anyhow::Result<jiff::Timestamp> {
        Ok(now.checked_sub(jiff::SignedDuration::from_mins(minutes_ago))?)
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nLive: weft serve on {} over the same database; the demo signs what the vendors would send",
        server.base
    );

    // 1. Shopify: the order, signed with the app's client secret.
    let order = json!({
        "id": ORDER_ID, "admin_graphql_api_id": format!("gid://shopify/Order/{ORDER_ID}"),
        "name": ORDER_NUMBER, "order_number": 10733, "email": EMAIL, "phone": PHONE,
        "created_at": at(180)?.to_string(), "updated_at": at(180)?.to_string(),
        "currency": "EUR", "total_price": "89.90", "subtotal_price": "84.95",
        "financial_status": "paid", "fulfillment_status": null, "cancelled_at": null,
        "customer": {"id": 8_123_456_789_012_345_678u64, "email": EMAIL, "first_name": "Lucía", "last_name": "Fernández Ruiz", "phone": PHONE},
        "shipping_address": {"first_name": "Lucía", "last_name": "Fernández Ruiz", "address1": "Calle de Toledo 112, 2º izq.", "city": "Madrid", "zip": "28005", "country_code": "ES", "phone": PHONE},
        "line_items": [{"id": 14_123_456_789_012_345u64, "sku": "MOCHILA-42", "title": "Mochila de viaje 42 l", "quantity": 1, "price": "84.95"}],
        "shipping_lines": [{"title": "Estándar", "price": "4.95"}],
        "customer_locale": "es"
    });
    shopify(&client, server, "orders/create", "evt-demo-1", &order).await?;
    let _ = writeln!(
        out,
        "  Shopify  orders/create {ORDER_NUMBER} (id {ORDER_ID}, beyond 2^53) for Lucía Fernández Ruiz, {EMAIL}, {PHONE}"
    );

    // 2. Her mail about it, delivered into the watched Maildir.
    let mail = format!(
        "From: =?UTF-8?Q?Luc=C3=ADa_Fern=C3=A1ndez?= <{EMAIL}>\r\nTo: support@shop.example\r\n\
         Subject: =?UTF-8?Q?Pedido_#10733:_=C2=BFcu=C3=A1ndo_llega=3F?=\r\nDate: {}\r\n\
         Message-ID: <demo-lucia-1@example.es>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hola, hice el pedido #10733 hace tres días y todavía no sé nada del envío. ¿Cuándo llega?\r\nLucía\r\n",
        jiff::fmt::rfc2822::to_string(&at(150)?.to_zoned(jiff::tz::TimeZone::UTC))?
    );
    let tmp = dir.join("maildir/tmp/demo-lucia-1.eml");
    std::fs::write(&tmp, mail)?;
    std::fs::rename(&tmp, dir.join("maildir/new/1765100000.demo-lucia-1.shop"))?;
    let mail_ticket = eventually(server, "her mail on a ticket", async || {
        ticket_of(&store, "demo-lucia-1@example.es").await
    })
    .await?;
    let number = mail_ticket["ticket"].as_i64().context("a ticket number")?;
    let _ = writeln!(out, "  email    a mail dropped into the Maildir → ticket {number}");

    // 3. Instagram: a direct message naming the order.
    let instagram = json!({"object": "instagram", "entry": [{"id": "17841400000000077", "time": at(120)?.as_millisecond(),
        "messaging": [{"sender": {"id": "6543210987654321"}, "recipient": {"id": "17841400000000077"},
        "timestamp": at(120)?.as_millisecond(),
        "message": {"mid": "aWdfZAG1faXRlbTo1OkRFTU8=", "text": "Hola 👋 os escribí por email por el pedido #10733, ¿hay novedades?"}}]}]});
    meta(&client, server, "instagram", &instagram).await?;
    // 4. WhatsApp from the number on her order.
    let whatsapp = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "34910000000", "phone_number_id": "106540352242977"},
        "contacts": [{"profile": {"name": "Lucía"}, "wa_id": WHATSAPP}],
        "messages": [{"from": WHATSAPP, "id": "wamid.DEMO_LUCIA_1", "timestamp": at(90)?.as_second().to_string(), "type": "text",
        "text": {"body": "Perdón por insistir: ¿sabéis algo del paquete?"}}]}}]}]});
    meta(&client, server, "whatsapp", &whatsapp).await?;
    let _ = writeln!(
        out,
        "  Instagram a direct message naming {ORDER_NUMBER}; WhatsApp from {PHONE}, the number on the order"
    );

    // 5. The shop ships; EasyPost reports the parcel out for delivery.
    let fulfillment = json!({"id": 4_567_890_123_456_789_012u64, "order_id": ORDER_ID, "name": format!("{ORDER_NUMBER}.1"),
        "status": "success", "shipment_status": "in_transit", "tracking_company": "DHL",
        "tracking_number": TRACKING, "created_at": at(60)?.to_string(), "updated_at": at(60)?.to_string()});
    shopify(&client, server, "fulfillments/create", "evt-demo-2", &fulfillment).await?;
    let tracker = json!({"object": "Event", "id": "evt_demo_1", "description": "tracker.updated", "mode": "production",
        "created_at": at(30)?.to_string(), "updated_at": at(30)?.to_string(),
        "result": {"object": "Tracker", "id": "trk_demo_1", "mode": "production", "tracking_code": TRACKING, "carrier": "DHLExpress",
        "status": "out_for_delivery", "status_detail": "out_for_delivery", "est_delivery_date": now.to_string(),
        "created_at": at(60)?.to_string(), "updated_at": at(30)?.to_string(),
        "tracking_details": [
            {"object": "TrackingDetail", "message": "Shipment picked up", "status": "in_transit", "datetime": at(60)?.to_string(), "tracking_location": {"city": "Barcelona", "country": "ES"}},
            {"object": "TrackingDetail", "message": "Con el repartidor", "status": "out_for_delivery", "datetime": at(30)?.to_string(), "tracking_location": {"city": "Madrid", "country": "ES"}}]}});
    let body = serde_json::to_vec(&tracker)?;
    let signature = format!(
        "hmac-sha256-hex={}",
        hex::encode(hmac_sha256(secret("demo_easypost"), &body))
    );
    post(
        &client,
        &server.url("/hooks/easypost"),
        &[("x-hmac-signature", signature)],
        body,
    )
    .await?;
    let _ = writeln!(
        out,
        "  Shopify  fulfillments/create: DHL {TRACKING}; EasyPost tracker.updated: out for delivery"
    );

    // 6. The shop's chat, logged in: the shop signs her email for the widget.
    let conversation = post(&client, &server.url("/chat/site/conversations"), &[], b"{}".to_vec()).await?;
    let (id, token) = (
        conversation["conversation"]
            .as_str()
            .context("a conversation id")?
            .to_owned(),
        conversation["token"]
            .as_str()
            .context("a conversation token")?
            .to_owned(),
    );
    // Where the conversation's stream stood when it opened: the widget reads from there.
    let position = match &conversation["position"] {
        Value::String(p) => p.clone(),
        other => other.to_string(),
    };
    let expires = (now.as_second() + 600).to_string();
    let signed = format!("weft-chat-identity:v1\nsite\n{EMAIL}\n\nLucía Fernández\n{expires}");
    let identity = json!({"email": EMAIL, "name": "Lucía Fernández", "expires": expires.parse::<i64>()?,
        "signature": hex::encode(hmac_sha256(secret("demo_chat_identity"), signed.as_bytes()))});
    let chat = json!({"id": "demo-chat-1", "text": "Hola, sigo esperando el pedido #10733. ¿Me llega hoy?", "lang": "es",
        "page": "https://shop.example/es/cuenta", "identity": identity});
    post(
        &client,
        &server.url(&format!("/chat/site/messages?conversation={id}")),
        &[("x-weft-chat-token", token.clone())],
        serde_json::to_vec(&chat)?,
    )
    .await?;
    let _ = writeln!(
        out,
        "  chat     the shop's widget, logged in (her email signed by the shop)"
    );

    // Everything on one ticket, and the parcel on it.
    let ids = [
        "demo-lucia-1@example.es",
        "aWdfZAG1faXRlbTo1OkRFTU8=",
        "wamid.DEMO_LUCIA_1",
        "demo-chat-1",
    ];
    let ticket = eventually(server, "her four messages and the parcel on her ticket", async || {
        let Some(ticket) = ticket_of(&store, "demo-chat-1").await? else {
            return Ok(None);
        };
        let messages = ticket["messages"].as_array().cloned().unwrap_or_default();
        let all = ids.iter().all(|id| messages.iter().any(|m| is_message(m, id)));
        let shipped = ticket.to_string().contains(TRACKING);
        Ok((all && shipped && !ticket["deadlines"].as_array().is_none_or(Vec::is_empty)).then_some(ticket))
    })
    .await;
    let ticket = match ticket {
        Ok(ticket) => ticket,
        Err(error) => {
            // Say where each message went, so a broken story is plain to see.
            for id in ids {
                let on = ticket_of(&store, id).await?.and_then(|t| t["ticket"].as_i64());
                let _ = writeln!(out, "  {id}: ticket {on:?}");
            }
            return Err(error.context(out));
        }
    };
    let number = ticket["ticket"].as_i64().context("a ticket number")?;
    let customer = ticket["customer"].as_i64().context("a customer")?;
    // No other customer holds her email or phone: identity joined them all.
    let hers: Vec<i64> = store
        .export_customers()
        .await?
        .iter()
        .filter(|c| c["merged_into"].is_null())
        .filter(|c| {
            c["identities"].as_array().into_iter().flatten().any(|i| {
                let value = i["value"].as_str().unwrap_or_default();
                value == EMAIL || value == "+34612987654"
            })
        })
        .filter_map(|c| c["customer"].as_i64())
        .collect();
    if hers != [customer] {
        bail!("Lucía should be one customer ({customer}), but her email and phone are on customers {hers:?}\n{out}");
    }
    let mut channels = Vec::new();
    for entry in store.ticket_timeline(number).await? {
        if !channels.contains(&entry.message.channel) {
            channels.push(entry.message.channel.clone());
        }
    }
    let _ = writeln!(
        out,
        "  → one customer ({customer}) and one ticket ({number}) for all four messages, on {}",
        channels.join(", ")
    );
    let _ = writeln!(
        out,
        "    order {ORDER_NUMBER} on the ticket, parcel {TRACKING}: {}",
        shipment_line(&ticket)
    );

    // 7. An agent answers through the API; it goes out on the chat, her last channel.
    let (_, agent) = crate::auth::issue_token(&store, "demo-agent", crate::auth::Role::Agent)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = server.url(&format!("/api/v1/tickets/{number}"));
    let reply = loop {
        let detail: Value = client
            .get(&path)
            .bearer_auth(&agent)
            .send()
            .await?
            .json_or_text()
            .await?;
        let response = client
            .post(format!("{path}/replies"))
            .bearer_auth(&agent)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&json!({
                "body": "¡Hola Lucía! Tu pedido #10733 está con el repartidor de DHL y llega hoy. Un saludo, Marta",
                "expected_version": detail["version"],
            }))?)
            .send()
            .await?;
        let status = response.status().as_u16();
        let answer = response.json_or_text().await?;
        if status == 409 {
            continue;
        }
        if status != 201 {
            bail!("the agent's reply was answered {status}: {answer}");
        }
        break answer["reply"].clone();
    };
    let stream = format!("/chat/site/stream?conversation={id}&token={token}&after={position}");
    let seen = read_stream_until(&client, &server.url(&stream), "Marta").await?;
    let _ = writeln!(
        out,
        "  agent    replies through POST /api/v1/tickets/{number}/replies → channel {} (she wrote there last)",
        reply["channel"].as_str().unwrap_or("?")
    );
    let _ = writeln!(out, "           her open chat widget receives it: {seen}");
    let _ = writeln!(
        out,
        "  Explore: weft explain ticket {number} --db {db}   (the timeline across five channels, the order and its parcel)"
    );
    Ok(out)
}

const AMAZON_ORDER: &str = "171-4455667-1122334";
const AMAZON_ALIAS: &str = "q8v3k2m7x1z9w4t@marketplace.amazon.it";
const AMAZON_MAIL: &str = "demo-giulia-1@marketplace.amazon.it";
const EBAY_BUYER: &str = "giulia.romano.mi";
const EBAY_MESSAGE: &str = "demo-ebay-giulia-1";

/// A mail delivered into the Maildir as a mail server does: written to `tmp/`, renamed into
/// `new/`.
fn deliver_mail(dir: &Path, name: &str, mail: &str) -> anyhow::Result<()> {
    let tmp = dir.join("maildir/tmp").join(name);
    std::fs::write(&tmp, mail)?;
    std::fs::rename(&tmp, dir.join("maildir/new").join(name))?;
    Ok(())
}

/// The second story: Giulia on Amazon and eBay, and Amazon's notification of her order.
async fn marketplaces(server: &Server, vendors: &Vendors, dir: &Path, db: &str) -> anyhow::Result<String> {
    let store = Store::open(db).await?;
    // Amazon and eBay write their times in whole seconds or milliseconds.
    let now = jiff::Timestamp::now().round(jiff::Unit::Second)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nLive, the marketplaces: one buyer on Amazon and eBay; the demo stands in for SQS and eBay's APIs on {}",
        vendors.base
    );

    // 1. Amazon relays her mail from her anonymous alias; the order is in the subject.
    let written = now - jiff::SignedDuration::from_mins(3);
    let date = jiff::fmt::rfc2822::to_string(&written.to_zoned(jiff::tz::TimeZone::UTC))?;
    deliver_mail(
        dir,
        "1765200000.demo-giulia-1.mx",
        &format!(
            "From: Giulia Romano <{AMAZON_ALIAS}>\r\nTo: support@shop.example\r\n\
             Subject: Richiesta di informazioni da un cliente Amazon: Giulia Romano (Ordine: {AMAZON_ORDER})\r\n\
             Date: {date}\r\nMessage-ID: <{AMAZON_MAIL}>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             Buongiorno, ho ordinato lo zaino da viaggio cinque giorni fa e non è ancora arrivato. Dov'è il mio pacco?\r\nGiulia\r\n"
        ),
    )?;
    let first = eventually(server, "her relayed mail on a ticket", async || {
        ticket_of(&store, AMAZON_MAIL).await
    })
    .await?;
    let number = first["ticket"].as_i64().context("a ticket number")?;
    let _ = writeln!(
        out,
        "  Amazon   a mail relayed from her alias {AMAZON_ALIAS} about {AMAZON_ORDER} → ticket {number}"
    );

    // 2. She writes on eBay too, naming the Amazon order; the eBay channel polls the Message API.
    vendors.converse(Conversation {
        id: "demo-conversation-giulia".into(),
        title: "Zaino da viaggio 42 l".into(),
        buyer: EBAY_BUYER.into(),
        listing: "226012345678".into(),
        messages: vec![(
            EBAY_MESSAGE.into(),
            now - jiff::SignedDuration::from_mins(1),
            format!(
                "Salve, ho comprato lo zaino nel vostro negozio Amazon (ordine {AMAZON_ORDER}) e vi scrivo anche qui: \
                 potete controllare dove si trova la spedizione?"
            ),
        )],
    });
    eventually(server, "her eBay message on a ticket", async || {
        ticket_of(&store, EBAY_MESSAGE).await
    })
    .await?;
    let _ = writeln!(
        out,
        "  eBay     her message, read from the Message API by the eBay channel's poll, naming {AMAZON_ORDER}"
    );

    // 3. Amazon reports the order to the seller's SQS queue; the Amazon channel polls it.
    let notification = json!({"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": now.to_string(),
        "Payload": {"OrderChangeNotification": {"NotificationLevel": "OrderLevel", "SellerId": "A2DEMO5ELLER1D",
            "AmazonOrderId": AMAZON_ORDER, "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": now.to_string(), "ChangeReason": "Order status changed"},
            "Summary": {"MarketplaceId": "APJ6JRA9NG5V4", "OrderStatus": "Unshipped", "PurchaseDate": (now - jiff::SignedDuration::from_hours(120)).to_string(),
                "DestinationPostalCode": "20121", "FulfillmentType": "MFN", "OrderType": "StandardOrder",
                "OrderPrograms": [], "ShippingPrograms": [],
                "OrderItems": [{"OrderItemId": "23470766441234", "SupplySourceId": null, "SellerSKU": "ZAINO-42", "Quantity": 1}]}}},
        "NotificationMetadata": {"ApplicationId": "amzn1.sp.solution.00000000-demo-0000-0000-000000000000",
            "SubscriptionId": "00000000-demo-0000-0000-000000000001", "PublishTime": now.to_string(),
            "NotificationId": "demo-notification-giulia-1"}});
    vendors.notify("demo-sqs-message-1", &notification);
    let ticket = eventually(server, "the order on her ticket, both messages with it", async || {
        let Some(ticket) = ticket_of(&store, EBAY_MESSAGE).await? else {
            return Ok(None);
        };
        let messages = ticket["messages"].as_array().cloned().unwrap_or_default();
        let both = [AMAZON_MAIL, EBAY_MESSAGE]
            .iter()
            .all(|id| messages.iter().any(|m| is_message(m, id)));
        let order = &ticket["orders"][0];
        let linked = order["channel"] == "amazon" && order["customer"] == ticket["customer"];
        Ok((both && linked).then_some(ticket))
    })
    .await;
    let ticket = match ticket {
        Ok(ticket) => ticket,
        Err(error) => {
            for id in [AMAZON_MAIL, EBAY_MESSAGE] {
                let on = ticket_of(&store, id).await?.and_then(|t| t["ticket"].as_i64());
                let _ = writeln!(out, "  {id}: ticket {on:?}");
            }
            return Err(error.context(out));
        }
    };
    eventually(server, "the notification deleted from the queue", async || {
        Ok(vendors.queue_drained().then_some(()))
    })
    .await?;
    let _ = writeln!(
        out,
        "  SP-API   ORDER_CHANGE for {AMAZON_ORDER} in the seller's SQS queue, received and then deleted by the Amazon channel"
    );
    let number = ticket["ticket"].as_i64().context("a ticket number")?;
    let customer = ticket["customer"].as_i64().context("a customer")?;
    // Her Amazon alias and her eBay user are one customer, and no other holds either.
    let amazon_buyer = format!("amazon:{}", AMAZON_ALIAS.split('@').next().unwrap_or_default());
    let ebay_buyer = format!("ebay:{EBAY_BUYER}");
    let hers: Vec<i64> = store
        .export_customers()
        .await?
        .iter()
        .filter(|c| c["merged_into"].is_null())
        .filter(|c| {
            c["identities"].as_array().into_iter().flatten().any(|i| {
                let value = i["value"].as_str().unwrap_or_default();
                value == amazon_buyer || value == ebay_buyer
            })
        })
        .filter_map(|c| c["customer"].as_i64())
        .collect();
    if hers != [customer] {
        bail!(
            "Giulia should be one customer ({customer}), but her Amazon and eBay ids are on customers {hers:?}\n{out}"
        );
    }
    let mut channels = Vec::new();
    for entry in store.ticket_timeline(number).await? {
        if !channels.contains(&entry.message.channel) {
            channels.push(entry.message.channel.clone());
        }
    }
    let order = &ticket["orders"][0];
    let _ = writeln!(
        out,
        "  → one customer ({customer}: {amazon_buyer} and {ebay_buyer}) and one ticket ({number}) for both messages, on {}",
        channels.join(", ")
    );
    let _ = writeln!(
        out,
        "    order {AMAZON_ORDER} on the ticket: {} at {}, {}; routed to {} ({}), in {}",
        order["status"].as_str().unwrap_or("?"),
        order["channel"].as_str().unwrap_or("?"),
        order["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|line| format!(
                "{} × {}",
                line["quantity"],
                line["sku"].as_str().or(line["title"].as_str()).unwrap_or("?")
            ))
            .collect::<Vec<_>>()
            .join(", "),
        ticket["category"].as_str().unwrap_or("?"),
        ticket["team"].as_str().unwrap_or("no team"),
        ticket["language"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        out,
        "  Explore: weft explain ticket {number} --db {db}   (Amazon and eBay on one timeline, the Amazon order on it)"
    );
    Ok(out)
}

/// The shipment timeline on a ticket, in a line.
fn shipment_line(ticket: &Value) -> String {
    let mut steps = Vec::new();
    for order in ticket["orders"].as_array().into_iter().flatten() {
        for shipment in order["shipments"].as_array().into_iter().flatten() {
            for step in shipment["history"].as_array().into_iter().flatten() {
                if let Some(status) = step["status"].as_str() {
                    steps.push(status.to_owned());
                }
            }
        }
    }
    if steps.is_empty() {
        "(no history)".into()
    } else {
        steps.join(" → ")
    }
}

/// Reads the visitor's Server-Sent Events until an event's data contains `needle`; its text.
async fn read_stream_until(client: &reqwest::Client, url: &str, needle: &str) -> anyhow::Result<String> {
    let mut response = client.get(url).send().await?;
    if !response.status().is_success() {
        bail!("the chat stream answered {}", response.status());
    }
    let mut buffer = String::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, response.chunk())
            .await
            .map_err(|_| anyhow::anyhow!("the chat stream sent no reply within {PATIENCE:?}"))??;
        let Some(chunk) = chunk else {
            bail!("the chat stream ended before the reply");
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.contains(needle) {
                let value: Value = serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
                let text = value["body"].as_str().or(value["text"].as_str()).unwrap_or(&data);
                return Ok(format!("\"{text}\""));
            }
        }
    }
}

async fn shopify(
    client: &reqwest::Client,
    server: &Server,
    topic: &str,
    event: &str,
    body: &Value,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec(body)?;
    let signature = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret("demo_shopify_app"), &body));
    let headers = [
        ("x-shopify-topic", topic.to_owned()),
        ("x-shopify-hmac-sha256", signature),
        ("x-shopify-shop-domain", "demo-shop.myshopify.com".to_owned()),
        ("x-shopify-api-version", "2026-10".to_owned()),
        ("x-shopify-webhook-id", format!("wh-{event}")),
        ("x-shopify-event-id", event.to_owned()),
    ];
    post(client, &server.url("/hooks/shopify"), &headers, body).await?;
    Ok(())
}

async fn meta(client: &reqwest::Client, server: &Server, hook: &str, body: &Value) -> anyhow::Result<()> {
    let body = serde_json::to_vec(body)?;
    let signature = format!("sha256={}", hex::encode(hmac_sha256(secret("demo_meta_app"), &body)));
    post(
        client,
        &server.url(&format!("/hooks/{hook}")),
        &[("x-hub-signature-256", signature)],
        body,
    )
    .await?;
    Ok(())
}

/// A response's body as JSON, or as a JSON string when it is not JSON.
trait JsonOrText {
    async fn json_or_text(self) -> anyhow::Result<Value>;
}

impl JsonOrText for reqwest::Response {
    async fn json_or_text(self) -> anyhow::Result<Value> {
        let text = self.text().await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
