//! The store on both databases: the same scenario against SQLite and, when
//! `WEFT_TEST_POSTGRES` is set, against a fresh PostgreSQL database.

use weft::store::{Store, apply::Origin};
use weft_sdk::{Command, Decision, Identity, IdentityKind, Inbound, Message, SetField};

mod common;

fn message(channel: &str, id: &str, at: i64, body: &str) -> Message {
    let mut m = Message::new(channel, id, at);
    m.body = body.into();
    m
}

async fn scenario(store: Store) {
    // Raw traffic is kept first and recognized when it arrives again.
    let inbound = Inbound {
        source: "in.jsonl".into(),
        body: "x".into(),
        ..Inbound::default()
    };
    let mut unit = store.unit().await.unwrap();
    let recorded = unit.record_inbound("json", &inbound).await.unwrap();
    let weft::store::ingest::Recorded::New(inbound_id) = recorded else {
        panic!("{recorded:?}")
    };
    let messages = vec![
        message("email", "m1@example.de", 1_000, "Wo ist mein Paket? 📦"),
        message("amazon", "amz-1", 2_000, "荷物がまだ届きません"),
    ];
    assert_eq!(unit.enqueue_messages(inbound_id, &messages).await.unwrap(), 2);
    unit.commit().await.unwrap();
    let mut unit = store.unit().await.unwrap();
    assert!(matches!(
        unit.record_inbound("json", &inbound).await.unwrap(),
        weft::store::ingest::Recorded::AlreadyParsed(_)
    ));
    // The same message again is not queued twice.
    assert_eq!(unit.enqueue_messages(inbound_id, &messages[..1]).await.unwrap(), 0);
    unit.commit().await.unwrap();

    // Claiming: each event once, oldest first.
    let events = store.claim("node-a:1", 10, 60_000).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].message.as_ref().unwrap().1.body, "Wo ist mein Paket? 📦");
    assert!(store.claim("node-b:1", 10, 60_000).await.unwrap().is_empty());

    // Apply: customers, identities, tickets, fields, the decision log.
    let mut unit = store.unit().await.unwrap();
    let anna = unit.create_customer(1_000).await.unwrap();
    let email = Identity::new(IdentityKind::Email, "anna@example.de");
    unit.add_identities(
        anna,
        std::slice::from_ref(&email),
        Some(events[0].message.as_ref().unwrap().0),
        1.0,
        true,
    )
    .await
    .unwrap();
    // A returning customer's known identities are skipped and new ones recorded.
    let phone = Identity::new(IdentityKind::Phone, "+491701234567");
    unit.add_identities(anna, &[email.clone(), phone.clone()], None, 0.5, false)
        .await
        .unwrap();
    assert_eq!(unit.find_customers(&phone).await.unwrap()[0].id, anna as u64);
    let other = unit.create_customer(2_000).await.unwrap();
    let err = unit
        .add_identities(other, std::slice::from_ref(&email), None, 1.0, true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already belongs to customer"), "{err}");
    let err = unit
        .add_identities(
            other,
            &[Identity::new(IdentityKind::Name, "anna muller"), phone],
            None,
            1.0,
            false,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already belongs to customer"), "{err}");
    let found = unit.find_customers(&email).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, anna as u64);

    let t1 = unit
        .open_ticket(Some(anna), Some("Paket"), Some("302-1234567-7654321"), 1_000)
        .await
        .unwrap();
    unit.append_message(t1, events[0].message.as_ref().unwrap().0, None, 1_000)
        .await
        .unwrap();
    unit.register_thread("email", "thread-1", t1).await.unwrap();
    let t2 = unit.open_ticket(Some(other), Some("荷物"), None, 2_000).await.unwrap();
    unit.append_message(t2, events[1].message.as_ref().unwrap().0, None, 2_000)
        .await
        .unwrap();
    unit.set_ticket_field(t1, "category", "where-is-my-order", 0.9)
        .await
        .unwrap();
    unit.set_ticket_field(t1, "tag", "late", 1.0).await.unwrap();
    let decision = Decision::new(
        Command::SetField(SetField::new("category", "where-is-my-order")),
        "asks where the parcel is",
    );
    let origin = Origin {
        event: Some(events[0].id),
        workflow: "inbound",
        workflow_version: None,
        step: "route",
        plugin: "router@0.1.0",
    };
    unit.record_step(
        origin,
        &[(&decision, Some(anna), Some(t1)), (&decision, Some(anna), None)],
    )
    .await
    .unwrap();
    // The (event, workflow, step) key is taken: applying the step again fails.
    unit.savepoint().await.unwrap();
    assert!(unit.record_step(origin, &[]).await.is_err());
    unit.rollback_to_savepoint().await.unwrap();
    assert_eq!(unit.thread_ticket("email", "thread-1").await.unwrap(), Some(t1 as u64));
    assert_eq!(unit.message_ticket("amz-1").await.unwrap(), Some(t2 as u64));
    assert_eq!(
        unit.order_tickets("302-1234567-7654321").await.unwrap()[0].number,
        t1 as u64
    );
    unit.finish_event(events[0].id);
    unit.finish_event(events[1].id);
    unit.commit().await.unwrap();

    // Merge and unmerge restore the exact earlier export.
    let before = store.export_tickets().await.unwrap();
    let mut unit = store.unit().await.unwrap();
    unit.merge_customers(anna as u64, &[other as u64], None, "same person")
        .await
        .unwrap();
    let merged = unit
        .merge_tickets(t1 as u64, &[t2 as u64], None, "same issue")
        .await
        .unwrap();
    assert_eq!(merged, vec![t2]);
    assert_eq!(unit.message_ticket("amz-1").await.unwrap(), Some(t1 as u64));
    assert_eq!(unit.customer_tickets(other as u64, 10).await.unwrap().len(), 1);
    unit.commit().await.unwrap();
    let timeline = store.ticket_timeline(t1).await.unwrap();
    assert_eq!(
        timeline.len(),
        2,
        "a merged ticket's messages show on the one it joined"
    );
    let mut unit = store.unit().await.unwrap();
    assert_eq!(unit.unmerge_ticket(t2).await.unwrap(), t1);
    assert_eq!(unit.unmerge_customer(other).await.unwrap(), anna);
    unit.commit().await.unwrap();
    let after = store.export_tickets().await.unwrap();
    assert_eq!(before, after);
    assert_eq!(after[0]["category"], "where-is-my-order");
    assert_eq!(after[0]["tags"], serde_json::json!(["late"]));
    assert_eq!(after[0]["messages"], serde_json::json!(["m1@example.de"]));

    // A rolled-back unit leaves nothing behind; savepoints undo alone.
    let mut unit = store.unit().await.unwrap();
    unit.savepoint().await.unwrap();
    unit.open_ticket(None, Some("kept"), None, 3_000).await.unwrap();
    unit.release().await.unwrap();
    unit.savepoint().await.unwrap();
    unit.open_ticket(None, Some("undone"), None, 3_000).await.unwrap();
    unit.rollback_to_savepoint().await.unwrap();
    unit.commit().await.unwrap();
    let subjects: Vec<_> = store
        .export_tickets()
        .await
        .unwrap()
        .iter()
        .map(|t| t["subject"].clone())
        .collect();
    assert!(
        subjects.contains(&"kept".into()) && !subjects.contains(&"undone".into()),
        "{subjects:?}"
    );
    let unit = store.unit().await.unwrap();
    drop(unit);

    // Dead letters keep the reason and can be requeued once.
    let mut unit = store.unit().await.unwrap();
    let ev = unit
        .enqueue_event("custom.thing", 5_000, None, None, &serde_json::json!({"x": 1}))
        .await
        .unwrap();
    unit.commit().await.unwrap();
    store
        .dead_letter_event(ev, Some("inbound"), Some("route"), Some("router"), "boom")
        .await
        .unwrap();
    let letters = store.dead_letters(true).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error, "boom");
    store.requeue_dead_letter(&letters[0]).await.unwrap();
    assert!(store.requeue_dead_letter(&letters[0]).await.is_err());
    assert_eq!(store.claim("node-a:2", 10, 60_000).await.unwrap()[0].id, ev);

    // Timers fire once.
    let mut unit = store.unit().await.unwrap();
    unit.set_deadline(t1, "first-response", "amazon", 10_000, 0, &[])
        .await
        .unwrap();
    unit.schedule_timer(
        "deadline:x:breach",
        10_000,
        "sla.breached",
        &serde_json::json!({"kind": "first-response", "policy": "amazon"}),
        Some(t1),
    )
    .await
    .unwrap();
    assert!(unit.fire_due_timers(9_999, 10).await.unwrap().is_empty());
    assert_eq!(unit.fire_due_timers(10_000, 10).await.unwrap().len(), 1);
    assert!(unit.fire_due_timers(20_000, 10).await.unwrap().is_empty());
    unit.commit().await.unwrap();
    let tickets = store.export_tickets().await.unwrap();
    assert_eq!(tickets[0]["deadlines"][0]["state"], "breached");
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("weft.db").display());
    scenario(Store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_in_memory() {
    scenario(Store::open("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
async fn postgres() {
    let Some(url) = common::postgres_database("store").await else {
        return;
    };
    scenario(Store::open(&url).await.unwrap()).await;
}

/// A request its channel refused (unsigned, tampered), as a hook receives it.
fn refused(body: &str, at: i64) -> Inbound {
    Inbound {
        source: "POST /hooks/shopify".into(),
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
        received_at: at,
        ..Inbound::default()
    }
}

/// Refused deliveries kept as dead letters: once per body, at most `cap` open per hook, for a
/// week; a replay that verifies turns one into a received delivery, or into a copy of the same
/// delivery kept verified since.
async fn refused_deliveries(store: Store) {
    use weft::store::hooks::{Accepted, Kept, KeptRefused};
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let t0 = 1_796_000_000_000;
    let reason = "shopify: X-Shopify-Hmac-Sha256 does not match the body (wrong secret or a changed body)";
    let keep = async |body: &str, at: i64, now: i64| {
        store
            .keep_refused_webhook("shopify", "shopify", &refused(body, at), reason, 2, now)
            .await
            .unwrap()
    };
    let KeptRefused::New { letter: first } = keep(r#"{"id":1,"note":"Größe 42 ✓"}"#, t0, t0).await else {
        panic!("the first refusal is kept")
    };
    assert_eq!(
        keep(r#"{"id":1,"note":"Größe 42 ✓"}"#, t0 + 1, t0 + 1).await,
        KeptRefused::Seen { letter: first },
        "the same body again is the same dead letter"
    );
    assert!(matches!(
        keep(r#"{"id":2,"note":"返品"}"#, t0 + 2, t0 + 2).await,
        KeptRefused::New { .. }
    ));
    assert_eq!(
        keep(r#"{"id":3,"note":"إرجاع"}"#, t0 + 3, t0 + 3).await,
        KeptRefused::Full { open: 2 },
        "the hook holds as many as the cap"
    );
    // Another hook has its own count.
    assert!(matches!(
        store
            .keep_refused_webhook("ebay", "ebay", &refused("{}", t0 + 4), reason, 2, t0 + 4)
            .await
            .unwrap(),
        KeptRefused::New { .. }
    ));
    let letters = store.dead_letters(true).await.unwrap();
    assert_eq!(letters.len(), 3, "{letters:#?}");
    assert!(letters.iter().all(|l| l.error.contains("does not match the body")));

    // A week later the two of shopify are gone, and there is room again.
    let later = t0 + 7 * DAY + 3;
    assert!(matches!(
        keep(r#"{"id":3,"note":"إرجاع"}"#, later, later).await,
        KeptRefused::New { .. }
    ));
    let letters = store.dead_letters(true).await.unwrap();
    assert_eq!(letters.len(), 2, "expired refusals are dropped: {letters:#?}");
    let refused_id = |body: &'static str| {
        let store = &store;
        async move {
            for letter in store.dead_letters(true).await.unwrap() {
                let inbound = letter.inbound.expect("a refused request is an inbound row");
                let row = store.inbound(inbound).await.unwrap();
                if row.inbound.body == body.as_bytes() {
                    return inbound;
                }
            }
            panic!("no dead letter holds {body}")
        }
    };

    // Replayed with the right secret: kept as received, to be parsed now.
    let id = refused_id(r#"{"id":3,"note":"إرجاع"}"#).await;
    let mut unit = store.unit().await.unwrap();
    assert_eq!(unit.accept_refused(id).await.unwrap(), Accepted::Received);
    unit.commit().await.unwrap();
    // Shopify retried the same delivery with a good signature before the replay: the refused
    // copy becomes a copy of the one kept.
    let body = r#"{"id":4,"note":"Lieferung à Paris"}"#;
    assert!(matches!(
        keep(body, later + 1, later + 1).await,
        KeptRefused::New { .. }
    ));
    let Kept::New(verified) = store
        .keep_webhook("shopify", "shopify", &refused(body, later + 2))
        .await
        .unwrap()
    else {
        panic!("the verified delivery is new")
    };
    let id = refused_id(body).await;
    let mut unit = store.unit().await.unwrap();
    assert_eq!(unit.accept_refused(id).await.unwrap(), Accepted::KeptAs(verified));
    unit.commit().await.unwrap();
}

#[tokio::test]
async fn refused_deliveries_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("weft.db").display());
    refused_deliveries(Store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn refused_deliveries_on_postgres() {
    let Some(url) = common::postgres_database("store_refused").await else {
        return;
    };
    refused_deliveries(Store::open(&url).await.unwrap()).await;
}
