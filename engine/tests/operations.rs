//! Merges, unmerges and splits by hand, and the engine honouring them, on SQLite and (when
//! `WEFT_TEST_POSTGRES` is set) PostgreSQL: through the real engine, the real `identity` and
//! `merger` plugins and the same functions `weft merge|unmerge|customer` call.
//!
//! Undoing restores the exact earlier state: the exports (JSON lines) before a merge and after
//! its undo are compared byte for byte. The one thing that must differ after a customer split
//! is that the split is remembered (`kept_apart`), and the tests say so where they compare.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use weft::exec::{self, DrainOptions, Pipeline};
use weft::operations::{self, CustomerAction, CustomerArgs, Db, MergeArgs, UnmergeArgs};
use weft::runtime::{Runtime, RuntimeConfig};
use weft::store::Store;
use weft_sdk::{Identity, IdentityKind};

/// Identity and threading only: routing and deadlines (wall-clock timers) are not the point.
const WORKFLOW: &str = "version: 1
name: inbound
on: message.received
steps:
  - id: identify
    uses: identity
    with: { default_region: DE }
  - id: thread
    uses: merger
    with: { window: 72h }
";

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    pipeline: Pipeline,
    /// SQLite, then PostgreSQL when configured.
    urls: Vec<String>,
}

async fn setup(test: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("inbound.yaml");
    std::fs::write(&workflow, WORKFLOW).unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let pipeline = Pipeline::load(Arc::new(runtime), weft_test_support::plugins_dir(), &[workflow])
        .await
        .unwrap();
    let mut urls = vec![format!("sqlite://{}", dir.path().join(format!("{test}.db")).display())];
    urls.extend(common::postgres_database(test).await);
    Setup {
        dir: dir.path().to_owned(),
        _dir: dir,
        pipeline,
        urls,
    }
}

/// Ingests JSON-line messages and runs them through the workflow.
async fn feed(store: &Store, pipeline: &Pipeline, dir: &Path, name: &str, lines: &[serde_json::Value]) {
    let path = dir.join(name);
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let ingested = exec::ingest_paths(store, None, pipeline, &[path]).await.unwrap();
    assert!(ingested.rejected.is_empty(), "{:?}", ingested.rejected);
    let drained = exec::drain(store, pipeline, &DrainOptions::default()).await.unwrap();
    assert_eq!(drained.failed, 0, "{:#?}", drained.dead);
}

fn mail(id: &str, minute: u32, from: serde_json::Value, subject: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "channel": "email",
        "id": id,
        "at": format!("2026-11-20T10:{minute:02}:00Z"),
        "from": from,
        "subject": subject,
        "body": body,
    })
}

/// The export as `weft export` prints it: one JSON object per line.
fn jsonl(values: &[serde_json::Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

async fn exports(store: &Store) -> (String, String) {
    (
        jsonl(&store.export_tickets().await.unwrap()),
        jsonl(&store.export_customers().await.unwrap()),
    )
}

fn db(url: &str) -> Db {
    Db { db: url.to_owned() }
}

/// Three buyers, three tickets, in German, Japanese and Spanish.
fn three_buyers() -> Vec<serde_json::Value> {
    vec![
        mail(
            "de-1",
            0,
            serde_json::json!({ "name": "Jürgen Groß", "email": "juergen@example.de" }),
            "Paket nicht angekommen",
            "Wo bleibt meine Bestellung 302-1111111?",
        ),
        mail(
            "ja-1",
            5,
            serde_json::json!({ "name": "山田 太郎", "email": "taro@example.jp" }),
            "返品について",
            "商品を返品したいです。",
        ),
        mail(
            "es-1",
            9,
            serde_json::json!({ "name": "Carmen Ruiz", "email": "carmen@example.es" }),
            "Factura",
            "¿Me pueden enviar la factura, por favor?",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_tickets_and_unmerging_them_restores_the_export() {
    let setup = setup("ops_tickets").await;
    for url in &setup.urls {
        let store = Store::open(url).await.unwrap();
        feed(&store, &setup.pipeline, &setup.dir, "three.jsonl", &three_buyers()).await;
        let (tickets_before, customers_before) = exports(&store).await;
        assert_eq!(tickets_before.lines().count(), 3, "{tickets_before}");

        let said = operations::merge(MergeArgs {
            into: 1,
            from: vec![2, 3],
            reason: Some("Kundin bat um einen Vorgang / 同じ件".into()),
            db: db(url),
        })
        .await
        .unwrap();
        assert!(said.contains("merged #2, #3 into #1"), "{said}");
        let merged = store.export_tickets().await.unwrap();
        assert_eq!(
            merged.iter().map(|t| t["merged_into"].clone()).collect::<Vec<_>>(),
            [serde_json::Value::Null, 1.into(), 1.into()]
        );
        // Merged tickets keep their numbers; the timeline of #1 shows every message, in order.
        let explained = weft::explain::ticket(&store, 1).await.unwrap();
        let order: Vec<usize> = ["de-1", "ja-1 (from ticket 2)", "es-1 (from ticket 3)"]
            .iter()
            .map(|m| explained.find(m).unwrap_or_else(|| panic!("{m} missing:\n{explained}")))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{explained}");
        assert!(
            explained.contains("why: Kundin bat um einen Vorgang / 同じ件"),
            "{explained}"
        );
        assert!(explained.contains("by hand · by hand/merge"), "{explained}");

        // Unmerging one by one: the same export as before the merge, byte for byte.
        for n in [3, 2] {
            let said = operations::unmerge(UnmergeArgs {
                ticket: n,
                reason: Some("doch zwei Anliegen".into()),
                db: db(url),
            })
            .await
            .unwrap();
            assert!(said.contains(&format!("#{n} is its own ticket again")), "{said}");
        }
        assert_eq!(exports(&store).await, (tickets_before, customers_before));
        // The log keeps both the merge and its undo.
        let explained = weft::explain::ticket(&store, 2).await.unwrap();
        assert!(explained.contains("merge-tickets"), "{explained}");
        assert!(explained.contains("unmerge-ticket"), "{explained}");
        assert!(explained.contains("why: doch zwei Anliegen"), "{explained}");

        // Unmerging a ticket that is not merged is an error saying so.
        let error = operations::unmerge(UnmergeArgs {
            ticket: 2,
            reason: None,
            db: db(url),
        })
        .await
        .unwrap_err();
        assert!(format!("{error:#}").contains("ticket 2 is not merged"), "{error:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_customers_and_splitting_them_restores_the_exports() {
    let setup = setup("ops_customers").await;
    for url in &setup.urls {
        let store = Store::open(url).await.unwrap();
        feed(&store, &setup.pipeline, &setup.dir, "three.jsonl", &three_buyers()).await;
        let (tickets_before, customers_before) = exports(&store).await;

        operations::customer(CustomerArgs {
            action: CustomerAction::Merge {
                into: 1,
                from: vec![2],
                reason: Some("same household".into()),
                db: db(url),
            },
        })
        .await
        .unwrap();
        let customers = store.export_customers().await.unwrap();
        assert_eq!(customers[1]["merged_into"], 1);
        // Tickets show the customer they live in now.
        assert_eq!(store.export_tickets().await.unwrap()[1]["customer"], 1);
        let explained = weft::explain::customer(&store, 1).await.unwrap();
        assert!(explained.contains("why: same household"), "{explained}");

        let said = operations::customer(CustomerArgs {
            action: CustomerAction::Split {
                customer: 2,
                identities: Vec::new(),
                reason: Some("zwei Personen".into()),
                db: db(url),
            },
        })
        .await
        .unwrap();
        assert!(said.contains("undid the merge of customer 2 into customer 1"), "{said}");

        let (tickets_after, customers_after) = exports(&store).await;
        assert_eq!(tickets_after, tickets_before);
        // What must differ: the split is remembered, so customers 1 and 2 now name each other
        // as kept apart. Everything else is as before the merge.
        let mut customers: Vec<serde_json::Value> = customers_after
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(customers[0]["kept_apart"], serde_json::json!([2]));
        assert_eq!(customers[1]["kept_apart"], serde_json::json!([1]));
        for c in &mut customers[..2] {
            c["kept_apart"] = serde_json::json!([]);
        }
        assert_eq!(jsonl(&customers), customers_before);

        let explained = weft::explain::customer(&store, 2).await.unwrap();
        assert!(explained.contains("Kept apart from customer 1"), "{explained}");
        assert!(explained.contains("split-customer"), "{explained}");
        assert!(explained.contains("why: zwei Personen"), "{explained}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_split_the_same_evidence_does_not_merge_again() {
    let setup = setup("ops_split").await;
    let anna = || serde_json::json!({ "name": "Anna Schmidt", "email": "anna@example.de" });
    let anna_phone = || serde_json::json!({ "name": "Anna Schmidt", "phone": "+49 151 23456789" });
    let both = || serde_json::json!({ "name": "Anna Schmidt", "email": "anna@example.de", "phone": "0151 23456789" });
    for url in &setup.urls {
        let store = Store::open(url).await.unwrap();
        let first = [
            mail("a-1", 0, anna(), "Lampe kaputt", "Die Lampe ist kaputt angekommen."),
            mail("a-2", 5, anna_phone(), "Rückruf", "Bitte rufen Sie mich zurück."),
        ];
        feed(&store, &setup.pipeline, &setup.dir, "first.jsonl", &first).await;
        assert_eq!(store.export_customers().await.unwrap().len(), 2);
        // One message with both identifiers: the identity step merges the two.
        let bridge = [mail("a-3", 10, both(), "Lampe", "Gibt es schon Neuigkeiten?")];
        feed(&store, &setup.pipeline, &setup.dir, "bridge.jsonl", &bridge).await;
        assert_eq!(store.export_customers().await.unwrap()[1]["merged_into"], 1);

        operations::customer(CustomerArgs {
            action: CustomerAction::Split {
                customer: 1,
                identities: Vec::new(),
                reason: Some("Mutter und Tochter teilen sich den Namen".into()),
                db: db(url),
            },
        })
        .await
        .unwrap();
        let customers = store.export_customers().await.unwrap();
        assert_eq!(customers[1]["merged_into"], serde_json::Value::Null);
        assert_eq!(customers[1]["messages"], serde_json::json!(["a-2"]));

        // The same two identifiers again: linked to one customer, not merged.
        let again = [mail("a-4", 20, both(), "Lampe", "Und jetzt?")];
        feed(&store, &setup.pipeline, &setup.dir, "again.jsonl", &again).await;
        let customers = store.export_customers().await.unwrap();
        assert_eq!(customers.len(), 2, "{customers:#?}");
        assert!(customers.iter().all(|c| c["merged_into"].is_null()), "{customers:#?}");
        assert_eq!(customers[0]["messages"], serde_json::json!(["a-1", "a-3", "a-4"]));
        let explained = weft::explain::customer(&store, 1).await.unwrap();
        assert!(
            explained.contains("kept-apart: customer 2 was split from customer 1"),
            "{explained}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splitting_off_an_identity_takes_its_messages_and_tickets_along() {
    let setup = setup("ops_identity").await;
    for url in &setup.urls {
        let store = Store::open(url).await.unwrap();
        let traffic = [
            mail(
                "fr-1",
                0,
                serde_json::json!({ "name": "Léa Martin", "email": "lea@example.fr", "phone": "+33 6 11 22 33 44" }),
                "Colis abîmé",
                "Le colis est arrivé abîmé.",
            ),
            mail(
                "fr-2",
                30,
                serde_json::json!({ "name": "Léa Martin", "phone": "+33 6 11 22 33 44" }),
                "Facture",
                "Pouvez-vous m'envoyer la facture 2026-0042 ?",
            ),
        ];
        feed(&store, &setup.pipeline, &setup.dir, "lea.jsonl", &traffic).await;
        let customers = store.export_customers().await.unwrap();
        assert_eq!(customers.len(), 1, "{customers:#?}");

        let said = operations::customer(CustomerArgs {
            action: CustomerAction::Split {
                customer: 1,
                identities: vec![Identity::new(IdentityKind::Phone, "+33611223344")],
                reason: Some("le téléphone est celui de sa sœur".into()),
                db: db(url),
            },
        })
        .await
        .unwrap();
        assert!(said.contains("to new customer 2"), "{said}");
        let customers = store.export_customers().await.unwrap();
        // fr-1 carried the email too: it stays. fr-2 rests on the phone alone: it goes.
        assert_eq!(customers[0]["messages"], serde_json::json!(["fr-1"]));
        assert_eq!(customers[1]["messages"], serde_json::json!(["fr-2"]));
        let phones: Vec<&str> = customers[1]["identities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "phone")
            .map(|i| i["value"].as_str().unwrap())
            .collect();
        assert_eq!(phones, ["+33611223344"]);
        // A ticket goes with it only when all its messages do.
        for ticket in store.export_tickets().await.unwrap() {
            let messages = ticket["messages"].as_array().unwrap();
            let expected = if messages.iter().all(|m| m == "fr-2") { 2 } else { 1 };
            assert_eq!(ticket["customer"], expected, "{ticket}");
        }

        // An identity the customer does not have is refused, saying which.
        let error = operations::customer(CustomerArgs {
            action: CustomerAction::Split {
                customer: 1,
                identities: vec![Identity::new(IdentityKind::Email, "nobody@example.fr")],
                reason: None,
                db: db(url),
            },
        })
        .await
        .unwrap_err();
        assert!(
            format!("{error:#}").contains("identity email:nobody@example.fr does not belong to customer 1"),
            "{error:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_copy_lands_on_the_same_ticket_as_a_copy() {
    let setup = setup("ops_copy").await;
    let lea = || serde_json::json!({ "name": "Léa Martin", "email": "lea@example.fr" });
    let body = "Bonjour, le colis 302-7777777 est arrivé abîmé. Pouvez-vous m'aider ?";
    for url in &setup.urls {
        let store = Store::open(url).await.unwrap();
        let traffic = [
            mail("orig", 0, lea(), "Colis abîmé", body),
            mail("copy", 4, lea(), "Fwd: Colis abîmé", body),
        ];
        feed(&store, &setup.pipeline, &setup.dir, "copy.jsonl", &traffic).await;
        let tickets = store.export_tickets().await.unwrap();
        assert_eq!(tickets.len(), 1, "{tickets:#?}");
        assert_eq!(tickets[0]["messages"], serde_json::json!(["orig", "copy"]));
        let timeline = store.ticket_timeline(1).await.unwrap();
        let copies: Vec<(&str, Option<&str>)> = timeline
            .iter()
            .map(|e| (e.message.id.as_str(), e.duplicate_of.as_deref()))
            .collect();
        assert_eq!(copies, [("orig", None), ("copy", Some("orig"))]);
        let explained = weft::explain::ticket(&store, 1).await.unwrap();
        assert!(explained.contains("[copy of orig]"), "{explained}");
        assert!(explained.contains("a forwarded copy of message orig"), "{explained}");
    }
}
