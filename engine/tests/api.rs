//! The REST API of `weft serve` as agents, admins and integrators use it: the real binary on
//! `127.0.0.1:0`, tokens made with `weft token create`, real HTTP clients, real plugins and a
//! real store (SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set).
//!
//! Tokens and roles (401 and 403, each saying which); lists with filters and cursors; one
//! ticket with its version, timeline, customer, order and deadlines; every action; the
//! stale-reply guard (409 with what changed, drafts sent anyway or discarded) and two agents
//! racing to answer the same version; the OpenAPI document against the routes.

mod common;

use common::serve::{Serve, weft};
use hmac::Mac;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SECRET: &str = "api-geheim-秘密";
const PATIENCE: Duration = Duration::from_secs(120);

const CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
";

fn start(dir: &std::path::Path, db: &str) -> Serve {
    Serve::start(dir, db, CHANNELS, &[("WEFT_SECRET_SHOP_SIGNING", SECRET)])
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Makes a token with `weft token create`; it is alone on the last line.
fn token(db: &str, name: &str, role: &str) -> String {
    let (ok, out, err) = weft(&["token", "create", "--name", name, "--role", role, "--db", db]);
    assert!(ok, "weft token create: {err}");
    let last = out.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("weft_") && last.len() == 69, "{out}");
    last
}

/// One HTTP call: method, path, bearer token, JSON body; the status and the body as JSON (a
/// string when it is not JSON).
async fn call(
    client: &reqwest::Client,
    serve: &Serve,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, serve.url(path));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Posts one signed JSON line to `/hooks/shop`.
async fn webhook(client: &reqwest::Client, serve: &Serve, message: Value) {
    let body = message.to_string();
    let response = client
        .post(serve.url("/hooks/shop"))
        .header("X-Weft-Signature", sign(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

fn message(id: &str, name: &str, email: &str, body: &str, lang: &str) -> Value {
    json!({
        "channel": "shop", "id": id, "at": jiff::Timestamp::now().to_string(), "lang": lang,
        "body": body, "from": { "name": name, "email": email },
    })
}

/// Polls GET `path` until `check` accepts the body.
async fn eventually(
    client: &reqwest::Client,
    serve: &Serve,
    token: &str,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let (status, body) = call(client, serve, "GET", path, Some(token), None).await;
        if status == 200 && check(&body) {
            return body;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: last answer {status} {body}\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ticket a message landed on, once it has.
async fn ticket_of(client: &reqwest::Client, serve: &Serve, token: &str, message_id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, page) = call(client, serve, "GET", "/api/v1/tickets?limit=200", Some(token), None).await;
        for summary in page["tickets"].as_array().into_iter().flatten() {
            let number = summary["number"].as_i64().unwrap();
            let (_, ticket) = call(
                client,
                serve,
                "GET",
                &format!("/api/v1/tickets/{number}"),
                Some(token),
                None,
            )
            .await;
            let has = ticket["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "message" && e["id"] == message_id);
            // Processed: its deadlines are set.
            if has && !ticket["deadlines"].as_array().unwrap().is_empty() {
                return ticket;
            }
        }
        assert!(
            start.elapsed() < PATIENCE,
            "message {message_id} is on no ticket\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request and what it must get: method, path, token, status, error code, words of the
/// message.
type Case<'a> = (&'a str, &'a str, Option<&'a str>, u16, &'a str, &'a str);

async fn tokens_and_roles(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(dir.path(), db);
    let agent = token(db, "anna", "agent");
    let admin = token(db, "root-admin", "admin");
    let integrator = token(db, "shop-sync", "integrator");
    let revoked = token(db, "old-laptop", "agent");
    let (ok, out, err) = weft(&["token", "revoke", "old-laptop", "--db", db]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "revoked token `old-laptop`");
    // A live name cannot be taken twice; a revoked one can.
    let (ok, _, err) = weft(&["token", "create", "--name", "anna", "--role", "admin", "--db", db]);
    assert!(!ok && err.contains("a live token is already named `anna`"), "{err}");
    let (ok, out, err) = weft(&["token", "list", "--db", db]);
    assert!(ok, "{err}");
    for (name, role) in [("anna", "agent"), ("root-admin", "admin"), ("shop-sync", "integrator")] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{name} · {role} · created "))),
            "{out}"
        );
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("old-laptop · agent") && l.contains("revoked")),
        "{out}"
    );
    for secret in [&agent, &admin, &integrator, &revoked] {
        assert!(!out.contains(secret.as_str()), "token list shows a token");
    }

    let client = reqwest::Client::new();
    let bad = "weft_0000000000000000000000000000000000000000000000000000000000000000";
    // (method, path, token, status, code, words the message has)
    let cases: &[Case] = &[
        (
            "GET",
            "/api/v1/tickets",
            None,
            401,
            "token_missing",
            "this route needs a bearer token with the agent, admin or integrator role",
        ),
        (
            "GET",
            "/api/v1/tickets",
            Some(bad),
            401,
            "token_invalid",
            "the bearer token is not valid",
        ),
        (
            "GET",
            "/api/v1/tickets",
            Some(&revoked),
            401,
            "token_invalid",
            "it was revoked",
        ),
        (
            "POST",
            "/api/v1/tickets/1/replies",
            None,
            401,
            "token_missing",
            "with the agent or admin role",
        ),
        (
            "POST",
            "/api/v1/tickets/1/replies",
            Some(&integrator),
            403,
            "forbidden",
            "this route needs the agent or admin role; token `shop-sync` has integrator",
        ),
        (
            "POST",
            "/api/v1/tickets/1/merge",
            Some(&agent),
            403,
            "forbidden",
            "this route needs the admin role; token `anna` has agent",
        ),
        (
            "POST",
            "/api/v1/customers/1/split",
            Some(&agent),
            403,
            "forbidden",
            "this route needs the admin role; token `anna` has agent",
        ),
        (
            "POST",
            "/api/v1/dead-letters/1/replay",
            Some(&integrator),
            403,
            "forbidden",
            "this route needs the admin role; token `shop-sync` has integrator",
        ),
        (
            "POST",
            "/api/v1/tickets/1/status",
            Some(&integrator),
            403,
            "forbidden",
            "token `shop-sync` has integrator",
        ),
        (
            "DELETE",
            "/api/v1/tickets/1/drafts/1",
            Some(&integrator),
            403,
            "forbidden",
            "token `shop-sync` has integrator",
        ),
        (
            "GET",
            "/api/v1/tickets/999999",
            Some(&integrator),
            404,
            "no_ticket",
            "ticket 999999 does not exist",
        ),
        (
            "POST",
            "/api/v1/tickets/999999/replies",
            Some(&agent),
            404,
            "no_ticket",
            "ticket 999999 does not exist",
        ),
        (
            "POST",
            "/api/v1/tickets/999999/merge",
            Some(&admin),
            422,
            "invalid",
            "does not exist",
        ),
        ("GET", "/api/v1/tickets/abc", Some(&agent), 400, "bad_path", "abc"),
        (
            "GET",
            "/api/v1/tickets?limit=0",
            Some(&agent),
            422,
            "invalid",
            "limit 0: expected 1 to 200",
        ),
        (
            "GET",
            "/api/v1/tickets?cursor=xyz",
            Some(&agent),
            422,
            "invalid",
            "cursor \"xyz\"",
        ),
        (
            "GET",
            "/api/v1/customers",
            Some(&agent),
            422,
            "invalid",
            "search by at least one of email, phone, order, name",
        ),
    ];
    for &(method, path, token, status, code, words) in cases {
        let body = match path.rsplit('/').next() {
            _ if method != "POST" => None,
            Some("replies") => Some(json!({ "body": "x", "expected_version": 0 })),
            Some("merge") => Some(json!({ "from": [2] })),
            Some("status") => Some(json!({ "status": "open" })),
            Some(_) => Some(json!({})),
            None => None,
        };
        let (got, answer) = call(&client, &serve, method, path, token, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{method} {path}: {message}");
    }
    // A 401 says how to authenticate.
    let response = client.get(serve.url("/api/v1/tickets")).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"weft\"");
    // Each role is who it says; the open routes need no token.
    for (secret, name, role) in [
        (&agent, "anna", "agent"),
        (&admin, "root-admin", "admin"),
        (&integrator, "shop-sync", "integrator"),
    ] {
        let (status, me) = call(&client, &serve, "GET", "/api/v1/me", Some(secret), None).await;
        assert_eq!((status, me), (200, json!({ "name": name, "role": role })));
    }
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        let (status, body) = call(&client, &serve, "GET", path, None, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // Admins manage tokens over the API as `weft token` does; nobody else may.
    for caller in [&agent, &integrator] {
        let (status, answer) = call(&client, &serve, "GET", "/api/v1/tokens", Some(caller), None).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{answer}"
        );
    }
    let (status, made) = call(
        &client,
        &serve,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        Some(json!({ "name": "Zoë-ライン", "role": "agent" })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["token"]["name"].as_str(), made["token"]["role"].as_str()),
        (Some("Zoë-ライン"), Some("agent"))
    );
    let made_secret = made["secret"].as_str().unwrap().to_owned();
    assert!(
        made_secret.starts_with("weft_") && made_secret.len() == 69,
        "{made_secret}"
    );
    let (status, me) = call(&client, &serve, "GET", "/api/v1/me", Some(&made_secret), None).await;
    assert_eq!((status, me), (200, json!({ "name": "Zoë-ライン", "role": "agent" })));
    let (status, list) = call(&client, &serve, "GET", "/api/v1/tokens", Some(&admin), None).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<(&str, &str, bool)> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["role"].as_str().unwrap(),
                t["revoked_at"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("anna", "agent", true),
            ("root-admin", "admin", true),
            ("shop-sync", "integrator", true),
            ("old-laptop", "agent", false),
            ("Zoë-ライン", "agent", true)
        ]
    );
    assert!(!list.to_string().contains("weft_"), "the list shows a token: {list}");
    for (body, words) in [
        (
            json!({ "name": "Zoë-ライン", "role": "admin" }),
            "a live token is already named `Zoë-ライン`",
        ),
        (
            json!({ "name": "two words", "role": "agent" }),
            "token name \"two words\"",
        ),
        (
            json!({ "name": "ok", "role": "owner" }),
            "role \"owner\": expected agent, admin or integrator",
        ),
    ] {
        let (status, answer) = call(&client, &serve, "POST", "/api/v1/tokens", Some(&admin), Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("invalid")),
            "{answer}"
        );
        assert!(answer["error"]["message"].as_str().unwrap().contains(words), "{answer}");
    }
    let (status, _) = call(
        &client,
        &serve,
        "DELETE",
        "/api/v1/tokens/Zoë-ライン",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, answer) = call(&client, &serve, "GET", "/api/v1/me", Some(&made_secret), None).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("token_invalid")),
        "{answer}"
    );
    let (status, answer) = call(
        &client,
        &serve,
        "DELETE",
        "/api/v1/tokens/Zoë-ライン",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("no_token")),
        "{answer}"
    );
    let log = serve.stop();
    for secret in [&agent, &admin, &integrator, &revoked, &made_secret] {
        assert!(!log.contains(secret.as_str()), "a token is in the log");
    }
    assert!(log.contains("api request forbidden"), "{log}");
    assert!(log.contains("token created") && log.contains("token revoked"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_roles_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let (ok, _, err) = weft(&["token", "create", "--name", "x", "--role", "agent", "--db", &db]);
    assert!(
        !ok && err.contains("does not exist"),
        "a token for a database that does not exist: {err}"
    );
    tokens_and_roles(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_roles_on_postgres() {
    let Some(db) = common::postgres_database("api_tokens").await else {
        return;
    };
    tokens_and_roles(&db).await;
}

/// The numbers of every ticket a filter lists, page by page (`limit` each), checking that the
/// pages neither repeat nor skip.
async fn all_pages(client: &reqwest::Client, serve: &Serve, token: &str, query: &str, limit: usize) -> Vec<i64> {
    let mut numbers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/tickets?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = call(client, serve, "GET", &path, Some(token), None).await;
        assert_eq!(status, 200, "{path}: {page}");
        let tickets = page["tickets"].as_array().unwrap();
        assert!(tickets.len() <= limit);
        numbers.extend(tickets.iter().map(|t| t["number"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(tickets.len(), limit, "a page before the last is full");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    let unique: BTreeSet<i64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "pages repeat a ticket: {numbers:?}");
    numbers
}

fn timeline_has(ticket: &Value, check: impl Fn(&Value) -> bool) -> bool {
    ticket["timeline"].as_array().unwrap().iter().any(check)
}

async fn working_tickets(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(dir.path(), db);
    let agent = token(db, "anna", "agent");
    let colleague = token(db, "jonas", "agent");
    let admin = token(db, "chef", "admin");
    let integrator = token(db, "shop-sync", "integrator");
    let client = reqwest::Client::new();

    // Buyers in six languages and right to left: one ticket each.
    let buyers = [
        (
            "de-1",
            "Jürgen Groß",
            "juergen@example.de",
            "Wo bleibt meine Bestellung? Die Lieferung ist überfällig.",
            "de",
        ),
        (
            "fr-1",
            "Zoé Lefèvre",
            "zoe@example.fr",
            "Où est ma commande ? Je l’attends depuis une semaine.",
            "fr",
        ),
        (
            "es-1",
            "Begoña Muñoz",
            "begona@example.es",
            "¿Dónde está mi pedido? Quiero una devolución.",
            "es",
        ),
        (
            "it-1",
            "Niccolò Rossi",
            "niccolo@example.it",
            "Dov'è il mio ordine? È già passata una settimana.",
            "it",
        ),
        (
            "ja-1",
            "山田 花子",
            "hanako@example.jp",
            "注文した商品がまだ届きません。",
            "ja",
        ),
        (
            "zh-1",
            "王 小明",
            "xiaoming@example.cn",
            "我的订单还没有到，请帮我查一下。",
            "zh",
        ),
        ("ar-1", "ليلى حداد", "layla@example.com", "أين طلبي؟ لم يصل بعد.", "ar"),
    ];
    for (id, name, email, body, lang) in buyers {
        webhook(&client, &serve, message(id, name, email, body, lang)).await;
    }
    let mut tickets = Vec::new();
    for (id, ..) in buyers {
        tickets.push(ticket_of(&client, &serve, &agent, id).await);
    }
    let numbers: BTreeSet<i64> = tickets.iter().map(|t| t["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers.len(), buyers.len(), "one ticket per buyer");

    // One ticket: version, customer, deadlines, the message and the decisions with reasons.
    let ticket = &tickets[0];
    assert!(ticket["version"].as_i64().unwrap() >= 1, "{ticket}");
    assert_eq!(ticket["channel"], "shop");
    assert_eq!(ticket["status"], "open");
    let customer = ticket["customer_detail"]["id"].as_i64().unwrap();
    assert!(
        ticket["customer_detail"]["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "email" && i["value"] == "juergen@example.de"),
        "{ticket}"
    );
    let deadline = &ticket["deadlines"][0];
    assert!(
        deadline["due"].as_str().unwrap().ends_with('Z') && deadline["state"] == "pending",
        "{deadline}"
    );
    assert!(timeline_has(ticket, |e| e["type"] == "message"
        && e["direction"] == "in"
        && e["from"]["name"] == "Jürgen Groß"
        && e["body"].as_str().unwrap().contains("überfällig")));
    assert!(timeline_has(ticket, |e| e["type"] == "decision"
        && e["step"] == "deadlines"
        && e["command"]["command"] == "set-deadline"
        && !e["reason"].as_str().unwrap().is_empty()));
    assert!(
        timeline_has(ticket, |e| e["type"] == "decision"
            && e["step"] == "identify"
            && !e["reason"].as_str().unwrap().is_empty()),
        "{ticket:#}"
    );

    // Lists: every page once, by any page size; filters.
    let everything = all_pages(&client, &serve, &integrator, "", 200).await;
    assert_eq!(everything.iter().copied().collect::<BTreeSet<_>>(), numbers);
    for limit in [1, 2, 3, 7] {
        assert_eq!(
            all_pages(&client, &serve, &agent, "", limit).await,
            everything,
            "limit {limit}"
        );
    }
    assert_eq!(all_pages(&client, &serve, &agent, "&channel=shop", 3).await, everything);
    assert!(
        all_pages(&client, &serve, &agent, "&channel=amazon", 3)
            .await
            .is_empty()
    );
    assert_eq!(all_pages(&client, &serve, &agent, "&status=open", 3).await, everything);
    // The clocks run for a day or more: none is at risk within the hour, all within a year.
    assert!(all_pages(&client, &serve, &agent, "&at_risk=true", 5).await.is_empty());
    assert_eq!(
        all_pages(&client, &serve, &agent, "&at_risk=true&at_risk_within=365d", 5).await,
        everything
    );
    let category = tickets[0]["category"].as_str().unwrap().to_owned();
    let of_category = all_pages(&client, &serve, &agent, &format!("&category={category}"), 2).await;
    assert!(
        of_category.contains(&tickets[0]["number"].as_i64().unwrap()),
        "{of_category:?}"
    );
    let team = tickets[0]["team"].as_str().unwrap().to_owned();
    assert!(
        all_pages(&client, &serve, &agent, &format!("&team={team}"), 2)
            .await
            .contains(&tickets[0]["number"].as_i64().unwrap())
    );

    // Status and assignment: the version moves, the change is on the timeline with its author.
    let number = tickets[0]["number"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{number}");
    let v0 = tickets[0]["version"].as_i64().unwrap();
    let (status, changed) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/status"),
        Some(&agent),
        Some(json!({ "status": "waiting-on-buyer" })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["from"].as_str(), changed["to"].as_str()),
        (Some("open"), Some("waiting-on-buyer"))
    );
    assert!(
        changed["stopped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("first-response")),
        "{changed}"
    );
    assert_eq!(changed["version"], v0 + 1);
    let (status, assigned) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/assignment"),
        Some(&agent),
        Some(json!({ "agent": "anna", "team": "shipping" })),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(
        (assigned["assignee"].as_str(), assigned["version"].as_i64()),
        (Some("anna"), Some(v0 + 2))
    );
    assert_eq!(
        all_pages(&client, &serve, &agent, "&assignee=anna", 5).await,
        vec![number]
    );
    assert_eq!(
        all_pages(&client, &serve, &agent, "&status=waiting-on-buyer", 5).await,
        vec![number]
    );
    let (_, ticket) = call(&client, &serve, "GET", &path, Some(&agent), None).await;
    assert!(timeline_has(&ticket, |e| e["type"] == "change"
        && e["kind"] == "status"
        && e["author"] == "anna"
        && e["detail"]["to"] == "waiting-on-buyer"));
    assert!(timeline_has(&ticket, |e| e["type"] == "change"
        && e["kind"] == "assigned"
        && e["detail"]["team"] == "shipping"));
    let deadline = ticket["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "first-response")
        .unwrap();
    assert_eq!(
        (deadline["state"].as_str(), deadline["stopped_by"].as_str()),
        (Some("met"), Some("waiting-on-buyer"))
    );
    let bad = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/status"),
        Some(&agent),
        Some(json!({ "status": "Done!" })),
    )
    .await;
    assert_eq!(
        (bad.0, bad.1["error"]["code"].as_str()),
        (422, Some("invalid")),
        "{}",
        bad.1
    );
    let bad = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/status"),
        Some(&agent),
        Some(json!({ "state": "open" })),
    )
    .await;
    assert_eq!(
        (bad.0, bad.1["error"]["code"].as_str()),
        (422, Some("bad_body")),
        "{}",
        bad.1
    );

    // A reply at the current version goes out: an outbox row to the buyer on the channel.
    let version = ticket["version"].as_i64().unwrap();
    let (status, accepted) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&agent),
        Some(json!({ "body": "Ihr Paket ist unterwegs und kommt morgen an.", "expected_version": version })),
    )
    .await;
    assert_eq!(status, 201, "{accepted}");
    let reply = &accepted["reply"];
    assert_eq!(
        (
            reply["channel"].as_str(),
            reply["recipient"].as_str(),
            reply["author"].as_str()
        ),
        (Some("shop"), Some("juergen@example.de"), Some("anna"))
    );
    assert_eq!(
        (reply["state"].as_str(), accepted["version"].as_i64()),
        (Some("pending"), Some(version + 1))
    );
    assert_eq!(reply["key"], format!("reply:{number}:v{}", version + 1));
    assert_eq!(reply["lang"], "de");

    // The buyer writes again meanwhile; a reply to the version before is refused with exactly
    // what changed (the agent's own reply, the buyer's message, the status it reopened), and
    // kept as a draft.
    webhook(&client, &serve, json!({
        "channel": "shop", "id": "de-2", "at": jiff::Timestamp::now().to_string(), "lang": "de",
        "thread": null, "replies_to": ["de-1"],
        "body": "Danke! Können Sie die Adresse noch ändern? Straße 5, 10115 Berlin", "from": { "name": "Jürgen Groß", "email": "juergen@example.de" },
    })).await;
    let seen = version + 1;
    let ticket = eventually(
        &client,
        &serve,
        &agent,
        &path,
        "the buyer's second message on the ticket",
        |t| timeline_has(t, |e| e["type"] == "message" && e["id"] == "de-2"),
    )
    .await;
    let current = ticket["version"].as_i64().unwrap();
    assert!(current > seen);
    let (status, refused) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&colleague),
        Some(json!({ "body": "Wir prüfen das.", "expected_version": version })),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("stale_version")),
        "{refused}"
    );
    let details = &refused["error"]["details"];
    assert_eq!(
        (
            details["expected_version"].as_i64(),
            details["current_version"].as_i64()
        ),
        (Some(version), Some(current))
    );
    let changes = details["changes"].as_array().unwrap();
    let versions: Vec<i64> = changes.iter().map(|c| c["version"].as_i64().unwrap()).collect();
    assert_eq!(
        versions,
        ((version + 1)..=current).collect::<Vec<_>>(),
        "every change since, in order: {changes:?}"
    );
    assert!(
        changes.iter().any(|c| c["type"] == "reply"
            && c["author"] == "anna"
            && c["body"].as_str().unwrap().contains("unterwegs")),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c["type"] == "message"
            && c["id"] == "de-2"
            && c["direction"] == "in"
            && c["body"].as_str().unwrap().contains("Straße")),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["type"] == "change" && c["kind"] == "status" && c["detail"]["to"] == "open"),
        "{changes:?}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("changed since version {version}"))
    );
    let draft = details["draft"].as_i64().unwrap();
    let (_, ticket) = call(&client, &serve, "GET", &path, Some(&agent), None).await;
    assert_eq!(ticket["drafts"][0]["id"], draft);
    assert_eq!(ticket["drafts"][0]["author"], "jonas");
    assert_eq!(ticket["version"], current, "a refused reply changes nothing");
    // Sending the draft with the version it was refused at is refused again (same draft).
    let (status, again) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&colleague),
        Some(json!({ "draft": draft })),
    )
    .await;
    assert_eq!(
        (status, again["error"]["details"]["draft"].as_i64()),
        (409, Some(draft)),
        "{again}"
    );
    // With the current version (after reading what changed), it goes out, text amended.
    let (status, sent) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&colleague),
        Some(json!({ "draft": draft, "expected_version": current, "body": "Die neue Adresse ist notiert: Straße 5." })),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        (sent["draft"].as_i64(), sent["reply"]["body"].as_str()),
        (Some(draft), Some("Die neue Adresse ist notiert: Straße 5."))
    );
    let (status, closed) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&colleague),
        Some(json!({ "draft": draft, "send_anyway": true })),
    )
    .await;
    assert_eq!(
        (status, closed["error"]["code"].as_str()),
        (409, Some("draft_closed")),
        "{closed}"
    );
    // A stale reply sent anyway, and one discarded.
    let stale = json!({ "body": "Antwort A", "expected_version": version });
    let (_, first) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&agent),
        Some(stale.clone()),
    )
    .await;
    let (_, second) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&agent),
        Some(stale),
    )
    .await;
    let (a, b) = (
        first["error"]["details"]["draft"].as_i64().unwrap(),
        second["error"]["details"]["draft"].as_i64().unwrap(),
    );
    assert_ne!(a, b);
    let (status, anyway) = call(
        &client,
        &serve,
        "POST",
        &format!("{path}/replies"),
        Some(&agent),
        Some(json!({ "draft": a, "send_anyway": true })),
    )
    .await;
    assert_eq!(
        (status, anyway["reply"]["body"].as_str()),
        (201, Some("Antwort A")),
        "{anyway}"
    );
    let (status, _) = call(
        &client,
        &serve,
        "DELETE",
        &format!("{path}/drafts/{b}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = call(
        &client,
        &serve,
        "DELETE",
        &format!("{path}/drafts/{b}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (409, Some("draft_closed")),
        "{gone}"
    );
    let (status, none) = call(
        &client,
        &serve,
        "DELETE",
        &format!("{path}/drafts/999999"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(
        (status, none["error"]["code"].as_str()),
        (404, Some("no_draft")),
        "{none}"
    );
    let (_, ticket) = call(&client, &serve, "GET", &path, Some(&agent), None).await;
    assert!(ticket["drafts"].as_array().unwrap().is_empty(), "{ticket}");
    let replies: Vec<&str> = ticket["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "reply")
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        replies,
        [
            "Ihr Paket ist unterwegs und kommt morgen an.",
            "Die neue Adresse ist notiert: Straße 5.",
            "Antwort A"
        ]
    );
    // Bad replies: no version, no text, a version from the future.
    for (body, words) in [
        (json!({ "body": "x" }), "give `expected_version`"),
        (json!({ "body": " ", "expected_version": 1 }), "the reply has no text"),
        (
            json!({ "body": "x", "expected_version": 1_000_000 }),
            "is newer than ticket",
        ),
        (
            json!({ "body": "x", "send_anyway": true }),
            "`send_anyway` sends a kept draft",
        ),
    ] {
        let (status, answer) = call(
            &client,
            &serve,
            "POST",
            &format!("{path}/replies"),
            Some(&agent),
            Some(body),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(words), "{answer}");
    }

    // Customers: by id with the evidence of each link; found by email, phone digits, name.
    let (status, found) = call(
        &client,
        &serve,
        "GET",
        &format!("/api/v1/customers/{customer}"),
        Some(&integrator),
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let email = found["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "email")
        .unwrap();
    assert_eq!(
        (email["value"].as_str(), email["seen_on"]["message"].as_str()),
        (Some("juergen@example.de"), Some("de-1"))
    );
    assert!(
        email["linked_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["step"] == "identify" && !l["reason"].as_str().unwrap().is_empty()),
        "{email}"
    );
    for query in [
        "email=JUERGEN@example.de",
        "name=j%C3%BCrgen",
        "email=juergen@example.de&name=gro",
    ] {
        let (status, list) = call(
            &client,
            &serve,
            "GET",
            &format!("/api/v1/customers?{query}"),
            Some(&agent),
            None,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<i64> = list["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![customer], "{query}");
    }
    let (_, list) = call(
        &client,
        &serve,
        "GET",
        "/api/v1/customers?name=%E5%B1%B1%E7%94%B0",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(list["customers"].as_array().unwrap().len(), 1, "山田: {list}");
    let (_, list) = call(
        &client,
        &serve,
        "GET",
        "/api/v1/customers?email=nobody@example.com",
        Some(&agent),
        None,
    )
    .await;
    assert!(list["customers"].as_array().unwrap().is_empty());

    // Merges and splits (admins): tickets merge and unmerge, and the merged one refuses replies.
    let (a, b) = (
        tickets[1]["number"].as_i64().unwrap(),
        tickets[2]["number"].as_i64().unwrap(),
    );
    let (status, merged) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/tickets/{a}/merge"),
        Some(&admin),
        Some(json!({ "from": [b], "reason": "la même cliente" })),
    )
    .await;
    assert_eq!((status, merged["merged"].clone()), (200, json!([b])), "{merged}");
    let (_, merged_view) = call(
        &client,
        &serve,
        "GET",
        &format!("/api/v1/tickets/{b}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(merged_view["merged_into"], a);
    let (status, refused) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/tickets/{b}/replies"),
        Some(&agent),
        Some(json!({ "body": "x", "expected_version": merged_view["version"] })),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["details"]["merged_into"].as_i64()),
        (409, Some(a)),
        "{refused}"
    );
    let (_, into) = call(
        &client,
        &serve,
        "GET",
        &format!("/api/v1/tickets/{a}"),
        Some(&agent),
        None,
    )
    .await;
    assert!(timeline_has(&into, |e| e["type"] == "merge"
        && e["from"] == b
        && e["reason"].as_str().unwrap().contains("la même cliente")));
    assert!(
        timeline_has(&into, |e| e["type"] == "message"
            && e["id"] == "es-1"
            && e["via_ticket"] == b),
        "{into}"
    );
    assert!(
        !all_pages(&client, &serve, &agent, "", 50).await.contains(&b),
        "a merged ticket is not listed"
    );
    let (status, unmerged) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/tickets/{b}/unmerge"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!((status, unmerged["was_in"].as_i64()), (200, Some(a)), "{unmerged}");
    let (status, again) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/tickets/{b}/unmerge"),
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 422, "{again}");
    let (c1, c2) = (
        tickets[3]["customer_detail"]["id"].as_i64().unwrap(),
        tickets[4]["customer_detail"]["id"].as_i64().unwrap(),
    );
    let (status, merged) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/customers/{c1}/merge"),
        Some(&admin),
        Some(json!({ "from": [c2], "reason": "same household" })),
    )
    .await;
    assert_eq!((status, merged["merged"].clone()), (200, json!([c2])), "{merged}");
    let (_, family) = call(
        &client,
        &serve,
        "GET",
        &format!("/api/v1/customers/{c1}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(family["members"], json!([c2]));
    assert!(
        family["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["value"] == "hanako@example.jp" && i["customer"] == c2),
        "{family}"
    );
    assert!(
        family["links"].as_array().unwrap().iter().any(
            |l| l["command"] == "merge-customers" && l["reason"].as_str().unwrap().contains("chef: same household")
        ),
        "{family}"
    );
    let (status, split) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/customers/{c1}/split"),
        Some(&admin),
        Some(json!({ "reason": "two people" })),
    )
    .await;
    assert_eq!((status, split["split"].as_i64()), (200, Some(c2)), "{split}");
    let (_, apart) = call(
        &client,
        &serve,
        "GET",
        &format!("/api/v1/customers/{c1}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(apart["kept_apart"], json!([c2]));
    let (status, bad) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/customers/{c1}/split"),
        Some(&admin),
        Some(json!({ "identities": ["fax:123"] })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("identities[0]: unknown identity kind `fax`"),
        "{bad}"
    );

    // Dead letters: an authentic but malformed delivery is kept with its reason; replaying it
    // as it is fails again, and says so.
    let body = "{\"channel\": \"shop\", \"id\": ";
    let response = client
        .post(serve.url("/hooks/shop"))
        .header("X-Weft-Signature", sign(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let letters = eventually(
        &client,
        &serve,
        &admin,
        "/api/v1/dead-letters",
        "the malformed delivery dead-lettered",
        |l| !l["dead_letters"].as_array().unwrap().is_empty(),
    )
    .await;
    let letter = letters["dead_letters"][0]["id"].as_i64().unwrap();
    let (status, replayed) = call(
        &client,
        &serve,
        "POST",
        &format!("/api/v1/dead-letters/{letter}/replay"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, replayed["outcome"].as_str()),
        (200, Some("failed_again")),
        "{replayed}"
    );
    let (_, letters) = call(&client, &serve, "GET", "/api/v1/dead-letters", Some(&admin), None).await;
    assert_eq!(letters["dead_letters"][0]["attempts"], 2, "{letters}");
    let (status, none) = call(
        &client,
        &serve,
        "POST",
        "/api/v1/dead-letters/999999/replay",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((status, none["error"]["code"].as_str()), (404, Some("no_dead_letter")));
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn working_tickets_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    working_tickets(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn working_tickets_on_postgres() {
    let Some(db) = common::postgres_database("api_tickets").await else {
        return;
    };
    working_tickets(&db).await;
}

/// Two agents, each with a client of their own, answer the same version at the same moment,
/// round after round: every round exactly one reply goes out and the other gets 409 naming
/// the winner's reply.
async fn racing_replies(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(dir.path(), db);
    let agents = [token(db, "ana", "agent"), token(db, "li", "agent")];
    let reader = reqwest::Client::new();
    webhook(
        &reader,
        &serve,
        message("race-1", "Chen Wei", "chen@example.cn", "订单什么时候发货？", "zh"),
    )
    .await;
    let ticket = ticket_of(&reader, &serve, &agents[0], "race-1").await;
    let path = format!("/api/v1/tickets/{}/replies", ticket["number"]);
    let mut version = ticket["version"].as_i64().unwrap();
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..12 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let mut racers = Vec::new();
        for (i, secret) in agents.iter().enumerate() {
            let (url, secret, barrier) = (serve.url(&path), secret.clone(), barrier.clone());
            racers.push(tokio::spawn(async move {
                // A client (and connection) of its own.
                let client = reqwest::Client::new();
                let body = json!({ "body": format!("第{round}轮，回复 {i}"), "expected_version": version }).to_string();
                barrier.wait().await;
                let response = client
                    .post(url)
                    .header("authorization", format!("Bearer {secret}"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (
                    status,
                    serde_json::from_str::<Value>(&response.text().await.unwrap()).unwrap(),
                )
            }));
        }
        let mut answers = Vec::new();
        for racer in racers {
            answers.push(racer.await.unwrap());
        }
        answers.sort_by_key(|(status, _)| *status);
        let [(won, winner), (lost, loser)] = [answers[0].clone(), answers[1].clone()];
        assert_eq!((won, lost), (201, 409), "round {round}: {winner} {loser}");
        let changes = loser["error"]["details"]["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{loser}");
        assert_eq!(changes[0]["key"], winner["reply"]["key"]);
        version = winner["version"].as_i64().unwrap();
        accepted += 1;
        refused += 1;
    }
    let (_, ticket) = call(
        &reader,
        &serve,
        "GET",
        &format!("/api/v1/tickets/{}", ticket["number"]),
        Some(&agents[0]),
        None,
    )
    .await;
    let replies = ticket["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "reply")
        .count();
    assert_eq!((replies, accepted, refused), (12, 12, 12));
    assert_eq!(
        ticket["drafts"].as_array().unwrap().len(),
        12,
        "each refused reply kept"
    );
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_replies_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    racing_replies(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_replies_on_postgres() {
    let Some(db) = common::postgres_database("api_race").await else {
        return;
    };
    racing_replies(&db).await;
}

/// Every route in the OpenAPI document answers as a route (not the fallback's 404), every
/// route of the API is in the document, and no route is mounted around it.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_covers_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let serve = start(dir.path(), &db);
    let client = reqwest::Client::new();
    let (status, doc) = call(&client, &serve, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        serde_json::to_value(weft::server::api::openapi()).unwrap(),
        "served as generated"
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            assert!(
                operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            // Called with ids in the path and no token: a route answers (401 where it needs a
            // token), the fallback would say `not_found`.
            let concrete = path
                .replace("{number}", "1")
                .replace("{id}", "1")
                .replace("{draft}", "1");
            let (status, answer) = call(&client, &serve, &method.to_uppercase(), &concrete, None, None).await;
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let expected = if secured { 401 } else { 200 };
            assert_eq!(status, expected, "{method} {path}: {answer}");
        }
    }
    let routes = [
        "GET /api/v1/openapi.json",
        "GET /api/v1/me",
        "GET /api/v1/tickets",
        "GET /api/v1/tickets/{number}",
        "POST /api/v1/tickets/{number}/status",
        "POST /api/v1/tickets/{number}/assignment",
        "POST /api/v1/tickets/{number}/merge",
        "POST /api/v1/tickets/{number}/unmerge",
        "POST /api/v1/tickets/{number}/replies",
        "DELETE /api/v1/tickets/{number}/drafts/{draft}",
        "GET /api/v1/tickets/{number}/presence",
        "POST /api/v1/tickets/{number}/presence",
        "DELETE /api/v1/tickets/{number}/presence",
        "GET /api/v1/stream",
        "GET /api/v1/customers",
        "GET /api/v1/customers/{id}",
        "POST /api/v1/customers/{id}/merge",
        "POST /api/v1/customers/{id}/split",
        "GET /api/v1/dead-letters",
        "POST /api/v1/dead-letters/{id}/replay",
        "GET /api/v1/erasures",
        "GET /api/v1/erasures/{id}",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{name}",
    ];
    assert_eq!(
        documented,
        routes.iter().map(|r| r.to_string()).collect::<BTreeSet<_>>()
    );
    assert!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer",
        "{}",
        doc["components"]
    );
    // An undocumented path is the fallback's.
    let (status, answer) = call(&client, &serve, "GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")));
    // Routes reach the server only through the documented router: no `.route(` in the API's
    // files, and none under /api/v1 in the server's.
    let server = weft_test_support::workspace_root().join("engine/src/server");
    let mut files = vec![server.join("mod.rs")];
    for entry in std::fs::read_dir(server.join("api")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mounts = line.contains(".route(") || line.contains(".nest(") || line.contains(".route_service(");
            let in_api = file.parent().unwrap().ends_with("api") || line.contains("/api");
            assert!(
                !(mounts && in_api),
                "{}:{}: a route mounted around the OpenAPI router: {line}",
                file.display(),
                n + 1
            );
        }
    }
    serve.stop();
}
