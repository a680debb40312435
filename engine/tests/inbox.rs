//! A buyer's message always reaches the inbox, through the `weft` binary on a real store
//! (SQLite, and PostgreSQL when `WEFT_TEST_POSTGRES` is set): a step that fails (the
//! fault-injection plugin beside the shipped steps) costs the message neither its customer nor
//! its ticket; the failure shows on the ticket, in `weft explain` and in the export; `weft run`
//! counts it and exits with 2; `weft replay` after the fix applies the step's decisions (the
//! customer or ticket made meanwhile merged into the right one) and resolves the failure, and
//! a replay that fails again updates the record and says so.

mod common;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the binary gave: exit code, stdout, stderr.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn weft(args: &[&str]) -> Ran {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_PLUGINS", weft_test_support::plugins_dir())
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .env("WEFT_MODELS", std::env::temp_dir().join("weft-no-models"))
        .env_remove("WEFT_DB")
        .output()
        .expect("run weft");
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The databases to run on: a fresh SQLite file, and a fresh PostgreSQL database when set.
async fn databases(dir: &Path, test: &str) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}", dir.join("weft.db").display())];
    urls.extend(common::postgres_database(test).await);
    urls
}

/// A workflow of identify → thread → `middle` → tag, where `middle` and any step may be swapped
/// for the faulty plugin; `steps` are (id, uses, with, extra keys).
fn workflow(dir: &Path, name: &str, steps: &[(&str, &str, &str, &str)]) -> PathBuf {
    let mut text = String::from("version: 1\nname: inbox\non: message.received\nsteps:\n");
    for (id, uses, with, extra) in steps {
        text.push_str(&format!(
            "  - id: {id}\n    uses: {uses}\n    retry: {{ attempts: 1 }}\n"
        ));
        if !with.is_empty() {
            text.push_str(&format!("    with: {with}\n"));
        }
        if !extra.is_empty() {
            text.push_str(&format!("    {extra}\n"));
        }
    }
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("inbox.yaml"), text).unwrap();
    folder
}

fn jsonl(dir: &Path, name: &str, lines: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    path
}

fn message(id: &str, minute: u32, thread: &str, email: Option<&str>, body: &str) -> Value {
    let mut from = json!({ "name": "Zoë Ærøskøbing-Müller" });
    if let Some(email) = email {
        from["email"] = email.into();
    }
    json!({
        "channel": "chat",
        "id": id,
        "thread": thread,
        "at": format!("2026-11-20T10:{minute:02}:00Z"),
        "from": from,
        "body": body,
    })
}

fn run(workflows: &Path, input: &Path, db: &str) -> Ran {
    weft(&[
        "run",
        "--workflows",
        workflows.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--db",
        db,
    ])
}

fn replay(workflows: &Path, db: &str) -> Ran {
    weft(&["replay", "--workflows", workflows.to_str().unwrap(), "--db", db])
}

fn export(what: &str, db: &str) -> Vec<Value> {
    let ran = weft(&["export", what, "--db", db]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    ran.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn explain(what: &str, id: i64, db: &str) -> String {
    let ran = weft(&["explain", what, &id.to_string(), "--db", db]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    ran.stdout
}

/// The failed steps of a ticket's export: (step, resolved).
fn failed_steps(ticket: &Value) -> Vec<(String, bool)> {
    ticket["failed_steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no failed_steps in {ticket}"))
        .iter()
        .map(|f| (f["step"].as_str().unwrap().to_owned(), !f["resolved_at"].is_null()))
        .collect()
}

const TAG: (&str, &str, &str, &str) = ("tag", "weft-test-faulty", "{ fault: ok }", "");

/// Each way a step fails, in each place: the message is on a ticket with the failure shown,
/// the run says how many and exits with 2, and nothing of the failed step is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_costs_the_message_neither_customer_nor_ticket() {
    let dir = tempfile::tempdir().unwrap();
    // (failing step id, its fault, words of the error, on_error)
    let cases = [
        ("identify", "trap", "trapped", "continue"),
        ("thread", "panic", "panicked", "continue"),
        ("middle", "garbage", "reason", "stop"),
        ("middle", "loop", "timed out", "continue"),
    ];
    for url in databases(dir.path(), "inbox_failing_step").await {
        for (n, (failing, fault, words, on_error)) in cases.iter().enumerate() {
            let db = if url.starts_with("sqlite://") {
                format!("sqlite://{}", dir.path().join(format!("case{n}.db")).display())
            } else {
                common::postgres_database(&format!("inbox_case{n}")).await.unwrap()
            };
            let faulty = format!("{{ fault: {fault} }}");
            let on = format!("on_error: {on_error}\n    timeout: 200ms");
            let mut steps = vec![
                ("identify", "identity", "", ""),
                ("thread", "merger", "", ""),
                ("middle", "weft-test-faulty", "{ fault: ok }", ""),
                TAG,
            ];
            for step in &mut steps {
                if step.0 == *failing {
                    *step = (step.0, "weft-test-faulty", faulty.as_str(), on.as_str());
                }
            }
            let broken = workflow(dir.path(), &format!("broken{n}"), &steps);
            let input = jsonl(
                dir.path(),
                &format!("in{n}.jsonl"),
                &[message(
                    &format!("m{n}"),
                    0,
                    "t-1",
                    Some("zoe@example.dk"),
                    "Wo bleibt meine Bestellung? 注文はどこですか",
                )],
            );
            let ran = run(&broken, &input, &db);
            assert_eq!(ran.code, Some(2), "{failing} {fault}: {}", ran.stderr);
            assert!(
                ran.stderr
                    .contains("1 events processed, 1 with failed steps, 0 dead letters"),
                "{failing} {fault}: {}",
                ran.stderr
            );
            assert!(ran.stderr.contains(words), "{failing} {fault}: {}", ran.stderr);

            let tickets = export("tickets", &db);
            assert_eq!(tickets.len(), 1, "{failing} {fault}: {tickets:#?}");
            let ticket = &tickets[0];
            assert_eq!(ticket["messages"], json!([format!("m{n}")]), "{ticket}");
            assert!(ticket["customer"].is_i64(), "the message has a customer: {ticket}");
            assert_eq!(failed_steps(ticket), [(failing.to_string(), false)], "{ticket}");
            let failure = &ticket["failed_steps"][0];
            assert!(
                failure["plugin"].as_str().unwrap().starts_with("weft-test-faulty@"),
                "{failure}"
            );
            assert!(failure["error"].as_str().unwrap().contains(words), "{failure}");
            assert_eq!(failure["on_error"], *on_error);
            // The garbage decision (tag=garbage) is not applied; `stop` skips the tag step.
            let tags = ticket["tags"].as_array().cloned().unwrap_or_default();
            assert!(!tags.contains(&json!("garbage")), "{ticket}");
            let tagged = tags.contains(&json!("ok"));
            assert_eq!(tagged, *on_error == "continue", "{failing} {fault}: {ticket}");

            let number = ticket["ticket"].as_i64().unwrap();
            let text = explain("ticket", number, &db);
            assert!(text.contains("Failed steps (1 open)"), "{text}");
            assert!(
                text.contains(&format!("inbox/{failing}")) && text.contains(words),
                "{text}"
            );
            let event = failure["event"].as_i64().unwrap();
            let text = explain("event", event, &db);
            assert!(text.contains("Failed steps (1 open)") && text.contains(words), "{text}");

            let letters = weft(&["dead-letters", "--db", &db]);
            assert_eq!(letters.stdout, "", "no dead letter for a good message");
        }
    }
}

/// Identify failed: each message got a customer of its own. Once fixed, a replay links them:
/// the first customer of its own becomes the buyer's customer (with her email), the second
/// joins it by a merge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_identify_links_and_merges_the_customers_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let broken = workflow(
        dir.path(),
        "broken",
        &[
            ("identify", "weft-test-faulty", "{ fault: trap }", ""),
            ("thread", "merger", "", ""),
        ],
    );
    let fixed = workflow(
        dir.path(),
        "fixed",
        &[("identify", "identity", "", ""), ("thread", "merger", "", "")],
    );
    let input = jsonl(
        dir.path(),
        "in.jsonl",
        &[
            message("m1", 0, "t-1", Some("zoe@example.dk"), "Où est mon colis ?"),
            message("m2", 5, "t-2", Some("zoe@example.dk"), "¿Dónde está mi pedido?"),
        ],
    );
    for db in databases(dir.path(), "inbox_identify").await {
        let ran = run(&broken, &input, &db);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(
            ran.stderr
                .contains("2 events processed, 2 with failed steps, 0 dead letters"),
            "{}",
            ran.stderr
        );
        let customers = export("customers", &db);
        assert_eq!(customers.len(), 2, "one customer of its own each: {customers:#?}");
        assert!(customers.iter().all(|c| c["identities"] == json!([])), "{customers:#?}");

        let ran = replay(&fixed, &db);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("2 steps now applied, 0 failed again"),
            "{}",
            ran.stderr
        );
        let customers = export("customers", &db);
        let roots: Vec<&Value> = customers.iter().filter(|c| c["merged_into"].is_null()).collect();
        assert_eq!(roots.len(), 1, "{customers:#?}");
        assert!(
            roots[0]["identities"].to_string().contains("zoe@example.dk"),
            "{customers:#?}"
        );
        for ticket in export("tickets", &db) {
            assert_eq!(ticket["customer"], roots[0]["customer"], "{ticket}");
            assert_eq!(failed_steps(&ticket), [("identify".to_owned(), true)], "{ticket}");
        }
        let text = explain("customer", roots[0]["customer"].as_i64().unwrap(), &db);
        assert!(text.contains("joins that one"), "the merge says why: {text}");
        // Nothing is left to replay.
        let ran = replay(&fixed, &db);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("replayed 0 dead letters and 0 failed steps"),
            "{}",
            ran.stderr
        );
    }
}

/// Threading failed: the buyer's follow-up got a ticket of its own. Once fixed, a replay puts
/// it with the conversation's ticket: its ticket of its own is merged into that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_thread_merges_the_ticket_of_its_own_into_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let good = workflow(
        dir.path(),
        "good",
        &[("identify", "identity", "", ""), ("thread", "merger", "", ""), TAG],
    );
    let broken = workflow(
        dir.path(),
        "broken",
        &[
            ("identify", "identity", "", ""),
            ("thread", "weft-test-faulty", "{ fault: trap }", ""),
            TAG,
        ],
    );
    let first = jsonl(
        dir.path(),
        "first.jsonl",
        &[message(
            "m1",
            0,
            "t-1",
            Some("zoe@example.dk"),
            "Il pacco non è arrivato",
        )],
    );
    let second = jsonl(
        dir.path(),
        "second.jsonl",
        &[message("m2", 5, "t-1", Some("zoe@example.dk"), "荷物がまだ届きません")],
    );
    for db in databases(dir.path(), "inbox_thread").await {
        assert_eq!(run(&good, &first, &db).code, Some(0));
        let ran = run(&broken, &second, &db);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        let tickets = export("tickets", &db);
        assert_eq!(tickets.len(), 2, "{tickets:#?}");
        let own = &tickets[1];
        assert_eq!(own["messages"], json!(["m2"]), "{own}");
        assert_eq!(own["customer"], tickets[0]["customer"], "identify worked: {own}");
        assert_eq!(
            own["tags"],
            json!(["ok"]),
            "the step after the failed one ran on it: {own}"
        );
        assert_eq!(failed_steps(own), [("thread".to_owned(), false)]);

        let ran = replay(&good, &db);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("1 steps now applied, 0 failed again"),
            "{}",
            ran.stderr
        );
        let tickets = export("tickets", &db);
        let (first_number, own) = (tickets[0]["ticket"].as_i64().unwrap(), &tickets[1]);
        assert_eq!(own["merged_into"], json!(first_number), "{own}");
        assert_eq!(failed_steps(own), [("thread".to_owned(), true)]);
        let text = explain("ticket", first_number, &db);
        assert!(
            text.contains("荷物がまだ届きません"),
            "the follow-up shows on the conversation: {text}"
        );
        assert!(text.contains("Failed steps (0 open)"), "{text}");
        // The merge is a merge like any other: it can be undone.
        let ran = weft(&["unmerge", &own["ticket"].to_string(), "--db", &db]);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(export("tickets", &db)[1]["merged_into"].is_null());
    }
}

/// A replay that fails again keeps one record (attempts, last error), says "1 failed again"
/// and exits with 2; after the fix, the failed step and the steps `stop` skipped are applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_fails_again_updates_the_record_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let stop = "on_error: stop";
    let broken = workflow(
        dir.path(),
        "broken",
        &[
            ("identify", "identity", "", ""),
            ("thread", "merger", "", ""),
            ("middle", "weft-test-faulty", "{ fault: garbage }", stop),
            TAG,
        ],
    );
    let fixed = workflow(
        dir.path(),
        "fixed",
        &[
            ("identify", "identity", "", ""),
            ("thread", "merger", "", ""),
            ("middle", "weft-test-faulty", "{ fault: ok }", stop),
            TAG,
        ],
    );
    let input = jsonl(
        dir.path(),
        "in.jsonl",
        &[message("m1", 0, "t-1", Some("zoe@example.dk"), "הזמנה שלי לא הגיעה")],
    );
    for db in databases(dir.path(), "inbox_again").await {
        assert_eq!(run(&broken, &input, &db).code, Some(2));
        for attempt in 2..=3 {
            let ran = replay(&broken, &db);
            assert_eq!(ran.code, Some(2), "{}", ran.stderr);
            assert!(
                ran.stderr
                    .contains("0 steps now applied, 1 failed again (0 dead letters, 1 steps)"),
                "{}",
                ran.stderr
            );
            let ticket = &export("tickets", &db)[0];
            assert_eq!(ticket["failed_steps"].as_array().unwrap().len(), 1, "{ticket}");
            assert_eq!(ticket["failed_steps"][0]["attempts"], attempt, "{ticket}");
            assert!(ticket["tags"].is_null(), "stop: the tag step did not run: {ticket}");
            assert_eq!(weft(&["dead-letters", "--all", "--db", &db]).stdout, "");
        }
        let ran = replay(&fixed, &db);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        let ticket = &export("tickets", &db)[0];
        assert_eq!(failed_steps(ticket), [("middle".to_owned(), true)], "{ticket}");
        assert_eq!(ticket["tags"], json!(["ok"]), "{ticket}");
        let text = explain("ticket", ticket["ticket"].as_i64().unwrap(), &db);
        assert!(
            text.contains("inbox/tag"),
            "the step `stop` skipped ran on replay: {text}"
        );
    }
}

/// An anonymous chat visitor (no email, phone, handle or buyer id) gets a customer and a
/// ticket from the shipped workflow, with no failure and no dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_visitor_gets_a_customer_and_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = weft_test_support::workspace_root().join("workflows");
    let hello = |id: &str, minute: u32, body: &str| {
        json!({
            "channel": "chat",
            "id": id,
            "thread": format!("session-{id}"),
            "at": format!("2026-11-20T10:{minute:02}:00Z"),
            "from": {},
            "body": body,
        })
    };
    let input = jsonl(
        dir.path(),
        "visitors.jsonl",
        &[
            hello("v1", 0, "Hallo"),
            hello("v2", 1, "こんにちは"),
            hello("v3", 2, "مرحبا"),
        ],
    );
    for db in databases(dir.path(), "inbox_anonymous").await {
        let ran = run(&workflows, &input, &db);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("3 new messages") && ran.stderr.contains("0 with failed steps, 0 dead letters"),
            "{}",
            ran.stderr
        );
        let tickets = export("tickets", &db);
        assert_eq!(tickets.len(), 3, "{tickets:#?}");
        let customers = export("customers", &db);
        assert_eq!(customers.len(), 3, "a customer each: {customers:#?}");
        for ticket in &tickets {
            assert!(ticket["customer"].is_i64(), "{ticket}");
            assert_eq!(ticket["failed_steps"], json!([]), "{ticket}");
        }
    }
}
