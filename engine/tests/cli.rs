//! The `weft` binary as a user runs it: validate, run (with a Maildir and --dry-run), export,
//! explain, dead-letters and replay; the progress `weft run` shows while it works.

mod common;

use std::path::Path;
use std::process::Command;

fn weft(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_PLUGINS", weft_test_support::plugins_dir())
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .env_remove("WEFT_DB")
        .output()
        .expect("run weft");
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

fn root() -> &'static Path {
    weft_test_support::workspace_root()
}

#[test]
fn validate_reports_every_problem_with_line_and_column() {
    let broken = root().join("examples/workflows-broken");
    let (ok, _, stderr) = weft(&["validate", broken.to_str().unwrap()]);
    assert!(!ok);
    let problems: Vec<&str> = stderr.lines().filter(|l| l.contains("inbound.yaml:")).collect();
    assert!(problems.len() >= 6, "{stderr}");
    for line in &problems {
        let mut parts = line.splitn(4, ':');
        let (_, line_no, column) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        assert!(
            line_no.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
            "{line}"
        );
    }
    assert!(stderr.contains("did you mean `merger`?"), "{stderr}");
    assert!(stderr.trim_end().ends_with("problems in 1 file"), "{stderr}");
    let shipped = root().join("workflows");
    let files = std::fs::read_dir(&shipped)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "yaml"))
        .count();
    let (ok, stdout, stderr) = weft(&["validate", shipped.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with(&format!("ok: {files} workflows")), "{stdout}");
}

/// What a plugin finds in its own `with:` fails `weft validate` like a schema error, with the
/// file, line and column of the value; `weft run` refuses the same workflow before it reads
/// any input.
#[test]
fn validate_and_run_report_what_the_plugins_find_in_their_configuration() {
    let case = root().join("engine/tests/config_checks/sla_gb_without_region.yaml");
    let (ok, stdout, stderr) = weft(&["validate", case.to_str().unwrap()]);
    assert!(!ok, "{stdout}");
    let expected = format!(
        "{}:13:21: in `with:` of step `deadlines` at `calendars.london.holidays.region`: holidays for GB depend on the region: name one of ENG, NIR, SCT, WLS",
        case.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.trim_end().ends_with("1 problem in 1 file"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let traffic = root().join("examples/traffic");
    let (ok, stdout, stderr) = weft(&[
        "run",
        "--workflows",
        case.to_str().unwrap(),
        "--input",
        traffic.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("events processed"), "{stderr}");
}

#[test]
fn run_export_explain_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    // A Maildir with one mail in new/ and one in cur/.
    let maildir = dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::copy(
        root().join("examples/mail/01-anna-late-parcel.eml"),
        maildir.join("new/1700000000.anna"),
    )
    .unwrap();
    std::fs::copy(
        root().join("examples/mail/02-anna-followup.eml"),
        maildir.join("cur/1700000001.anna:2,S"),
    )
    .unwrap();
    let workflows = root().join("workflows");
    let traffic = root().join("examples/traffic");

    // Dry run first: decisions as JSON lines, nothing written.
    let (ok, stdout, stderr) = weft(&[
        "run",
        "--workflows",
        workflows.to_str().unwrap(),
        "--input",
        maildir.to_str().unwrap(),
        traffic.to_str().unwrap(),
        "--db",
        &db,
        "--dry-run",
    ]);
    assert!(ok, "{stderr}");
    let decisions: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(decisions.iter().any(|d| d["command"] == "open-ticket"), "{stdout}");
    for d in &decisions {
        assert!(
            d["step"].is_string() && d["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{d}"
        );
    }
    let (ok, stdout, _) = weft(&["export", "tickets", "--db", &db]);
    assert!(ok);
    assert!(stdout.is_empty(), "a dry run writes nothing: {stdout}");

    // For real.
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        workflows.to_str().unwrap(),
        "--input",
        maildir.to_str().unwrap(),
        traffic.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = weft(&["export", "tickets", "--db", &db]);
    assert!(ok);
    let tickets: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let anna = tickets
        .iter()
        .find(|t| t["order"] == "302-1234567-7654321")
        .expect("Anna's ticket");
    assert_eq!(
        anna["messages"],
        serde_json::json!([
            "anna-1@mail.example.de",
            "amz-msg-5501",
            "anna-2@mail.example.de",
            "ig-17912345"
        ]),
        "mail from a Maildir, Amazon and Instagram on one ticket, in order of arrival"
    );
    for key in [
        "ticket",
        "customer",
        "status",
        "merged_into",
        "category",
        "language",
        "priority",
        "assignee",
        "deadlines",
    ] {
        assert!(anna.get(key).is_some(), "export has {key}: {anna}");
    }
    let (ok, stdout, _) = weft(&["export", "customers", "--db", &db]);
    assert!(ok);
    assert!(
        stdout
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["identities"].is_array())
    );

    let number = anna["ticket"].to_string();
    let (ok, stdout, stderr) = weft(&["explain", "ticket", &number, "--db", &db]);
    assert!(ok, "{stderr}");
    for words in [
        "Timeline",
        "instagram",
        "amazon",
        "email",
        "Decisions",
        "why:",
        "identify",
        "thread",
    ] {
        assert!(stdout.contains(words), "explain shows {words}:\n{stdout}");
    }
    let customer = anna["customer"].to_string();
    let (ok, stdout, _) = weft(&["explain", "customer", &customer, "--db", &db]);
    assert!(ok);
    assert!(stdout.contains("email: anna.mueller@example.de"), "{stdout}");
    let (ok, _, stderr) = weft(&["explain", "ticket", "9999", "--db", &db]);
    assert!(!ok && stderr.contains("there is no ticket 9999"), "{stderr}");
}

#[test]
fn broken_input_is_kept_and_can_be_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let broken = root().join("examples/broken");
    let workflows = root().join("workflows");
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        workflows.to_str().unwrap(),
        "--input",
        broken.to_str().unwrap(),
        "--db",
        &db,
    ]);
    // Dead letters make `weft run` fail (exit 2), and it says how many.
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("dead-lettered"), "{stderr}");
    assert!(
        stderr.contains("0 events processed, 0 with failed steps, 2 dead letters"),
        "{stderr}"
    );
    let (ok, stdout, _) = weft(&["dead-letters", "--db", &db]);
    assert!(ok);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.contains("no header block") && stdout.contains("EOF while parsing"),
        "{stdout}"
    );
    // Replaying the same bytes fails the same way: the same two dead letters, open again and
    // tried twice, and the replay says that both failed again.
    for tries in 2..=3 {
        let (ok, _, stderr) = weft(&["replay", "--workflows", workflows.to_str().unwrap(), "--db", &db]);
        assert!(!ok, "{stderr}");
        assert!(
            stderr.contains("replayed 2 dead letters and 0 failed steps") && stderr.contains("2 failed again"),
            "{stderr}"
        );
        let (_, stdout, _) = weft(&["dead-letters", "--db", &db]);
        assert_eq!(stdout.lines().count(), 2, "{stdout}");
        assert_eq!(
            stdout.matches(&format!("[failed {tries} times]")).count(),
            2,
            "{stdout}"
        );
        let (_, stdout, _) = weft(&["dead-letters", "--all", "--db", &db]);
        assert_eq!(stdout.lines().count(), 2, "no new row per try: {stdout}");
    }
}

#[test]
fn imported_orders_make_one_customer_of_their_buyer_and_explain_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let workflows = root().join("workflows");
    // A bad file: every problem with its place, and nothing imported.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        concat!(
            r##"{"number": "#1001", "channel": "shopify", "placed_at": "last week", "buyer": {"email": "anna@example.de"}}"##,
            "\n",
            r##"{"number": "#1002", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"email": "anna@example.de"}, "gift": true}"##,
            "\n"
        ),
    )
    .unwrap();
    let (ok, _, stderr) = weft(&["import", "orders", bad.to_str().unwrap(), "--db", &db]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("2 problem(s) in the orders, nothing imported"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.jsonl:1:43: `placed_at`"), "{stderr}");
    assert!(
        stderr.contains("bad.jsonl:2:") && stderr.contains("unknown field `gift`"),
        "{stderr}"
    );

    // A shop order (email, phone, address) and a marketplace order of the same buyer (name
    // and address): one customer. Then a WhatsApp-style SMS naming the shop order joins it.
    let orders = dir.path().join("orders.jsonl");
    std::fs::write(
        &orders,
        concat!(
            r##"{"number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "buyer": {"name": "Anna Müller", "email": "anna.mueller@example.de", "phone": "+49 151 23456789"}, "shipping": {"line1": "Hauptstraße 12", "postcode": "10115", "city": "Berlin", "country": "DE"}}"##,
            "\n",
            r##"{"number": "302-1234567-7654321", "channel": "amazon.de", "placed_at": "2026-11-22T08:00:00Z", "buyer": {"name": "Anna Mueller"}, "shipping": {"line1": "Hauptstr. 12", "postcode": "10115", "city": "Berlin", "country": "DE"}}"##,
            "\n"
        ),
    )
    .unwrap();
    let (ok, _, stderr) = weft(&[
        "import",
        "orders",
        orders.to_str().unwrap(),
        "--db",
        &db,
        "--workflows",
        workflows.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("2 orders imported, 0 skipped as imported before, 2 events processed, 0 dead letters"),
        "{stderr}"
    );
    // Next week's report overlaps this one: the orders already read are not read again.
    let (ok, _, stderr) = weft(&[
        "import",
        "orders",
        orders.to_str().unwrap(),
        "--db",
        &db,
        "--workflows",
        workflows.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("0 orders imported, 2 skipped as imported before, 0 events processed"),
        "{stderr}"
    );
    let traffic = dir.path().join("sms.jsonl");
    std::fs::write(
        &traffic,
        r##"{"channel": "sms", "id": "sms-1", "at": "2026-11-25T09:00:00Z", "from": {"phone": "0151 23456789"}, "body": "Wo ist meine Bestellung #1001?"}"##,
    )
    .unwrap();
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        workflows.to_str().unwrap(),
        "--input",
        traffic.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = weft(&["export", "customers", "--db", &db]);
    assert!(ok, "{stderr}");
    let customers: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let roots: Vec<&serde_json::Value> = customers.iter().filter(|c| c["merged_into"].is_null()).collect();
    assert_eq!(roots.len(), 1, "{stdout}");
    let id = roots[0]["customer"].as_i64().unwrap().to_string();
    let (ok, stdout, stderr) = weft(&["explain", "customer", &id, "--db", &db]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("(order.placed)"), "{stdout}");
    assert!(
        stdout.contains("order: 30212345677654321") && stdout.contains("order: 1001"),
        "{stdout}"
    );
    assert!(stdout.contains("name and address match customer"), "{stdout}");
    assert!(stdout.contains("Messages: 1"), "{stdout}");
}

/// A `--progress-every` that is not a duration stops `weft run` before it opens anything,
/// saying what was expected (each value's meaning is a unit test of the parser in cli.rs).
#[test]
fn progress_every_refuses_what_is_not_a_duration() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("weft.db");
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        root().join("workflows").to_str().unwrap(),
        "--input",
        root().join("examples/traffic").to_str().unwrap(),
        "--db",
        &format!("sqlite://{}", db.display()),
        "--progress-every=1.5s",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("invalid value '1.5s' for '--progress-every <PROGRESS_EVERY>'")
            && stderr.contains("is a fraction")
            && stderr.contains("or `off`"),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing was opened");
}

/// The number just before `words` in `line`.
fn number_before(line: &str, words: &str) -> u64 {
    let end = line.find(words).unwrap_or_else(|| panic!("`{words}` in {line}"));
    let start = line[..end].rfind(' ').map_or(0, |i| i + 1);
    line[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("a number before `{words}` in {line}"))
}

/// Off a terminal, `weft run` prints a line of counts every `--progress-every` while it
/// processes events, counts that only grow and never pass the final ones; the run's result
/// and its closing counts are the same as without progress. On SQLite, and on PostgreSQL
/// when `WEFT_TEST_POSTGRES` is set.
#[test]
fn progress_counts_of_run_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let traffic = dir.path().join("traffic.jsonl");
    let (ok, _, stderr) = weft(&[
        "generate",
        "--customers",
        "60",
        "--messages",
        "300",
        "--seed",
        "7",
        "--out",
        traffic.to_str().unwrap(),
        "--truth",
        dir.path().join("truth.jsonl").to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let workflows = root().join("workflows");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut stores = vec![(
        format!("sqlite://{}", dir.path().join("quiet.db").display()),
        format!("sqlite://{}", dir.path().join("shown.db").display()),
    )];
    if let (Some(quiet), Some(shown)) = (
        runtime.block_on(common::postgres_database("cli_progress_quiet")),
        runtime.block_on(common::postgres_database("cli_progress_shown")),
    ) {
        stores.push((quiet, shown));
    }
    let closing = |stderr: &str| -> String {
        stderr
            .lines()
            .find(|l| l.contains(" events processed, "))
            .unwrap_or_else(|| panic!("a closing line in {stderr}"))
            .to_owned()
    };
    for (quiet, shown) in &stores {
        let run = |db: &str, every: &str| {
            weft(&[
                "run",
                "--workflows",
                workflows.to_str().unwrap(),
                "--input",
                traffic.to_str().unwrap(),
                "--db",
                db,
                "--progress-every",
                every,
            ])
        };
        let (quiet_ok, _, quiet_err) = run(quiet, "off");
        assert!(
            !quiet_err.contains("processing:") && !quiet_err.contains("reading input:"),
            "{quiet_err}"
        );
        let (shown_ok, _, shown_err) = run(shown, "1ms");
        assert_eq!(quiet_ok, shown_ok, "{quiet_err}\n---\n{shown_err}");
        assert_eq!(closing(&quiet_err), closing(&shown_err), "{shown_err}");

        let lines: Vec<&str> = shown_err.lines().filter(|l| l.starts_with("processing: ")).collect();
        assert!(!lines.is_empty(), "no progress line on {shown}: {shown_err}");
        let last = closing(&shown_err);
        let at_last = [
            number_before(&last, " events processed"),
            number_before(&last, " with failed steps"),
            number_before(&last, " dead letters"),
        ];
        let mut before = [0; 3];
        for line in &lines {
            assert!(line.ends_with(" events/s"), "{line}");
            let now = [
                number_before(line, " events of "),
                number_before(line, " with failed steps"),
                number_before(line, " dead letters"),
            ];
            for ((now, before), last) in now.iter().zip(before).zip(at_last) {
                assert!(*now >= before, "counts fell back from {before}: {line}");
                assert!(*now <= last, "{line} passes the closing counts: {last}");
            }
            before = now;
        }
    }
}

/// `weft demo` as the README runs it: the batch account, then the live stories through a real
/// `weft serve` — one buyer's Shopify order, mail, Instagram, WhatsApp, parcel news and logged-in
/// chat end as one customer and one ticket with the order and its parcel, and the agent's reply
/// goes out on the chat she wrote on last.
#[test]
fn demo_tells_the_batch_and_the_live_story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    demo_story(&dir, &format!("sqlite://{}", dir.path().join("demo.db").display()));
}

#[tokio::test]
async fn demo_tells_the_batch_and_the_live_story_on_postgres() {
    let Some(db) = common::postgres_database("demo_story").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    tokio::task::spawn_blocking(move || demo_story(&dir, &db))
        .await
        .unwrap();
}

fn demo_story(dir: &tempfile::TempDir, db: &str) {
    let db = db.to_owned();
    let examples = root().join("examples");
    let workflows = root().join("workflows");
    let (ok, stdout, stderr) = weft(&[
        "demo",
        "--db",
        &db,
        "--examples",
        examples.to_str().unwrap(),
        "--workflows",
        workflows.to_str().unwrap(),
        "--models",
        dir.path().join("no-models").to_str().unwrap(),
    ]);
    assert!(ok, "weft demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("\nCustomers ("), "{stdout}");
    let live = stdout
        .split("\nLive: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no live section:\n{stdout}"));
    let one = live
        .lines()
        .find(|l| l.contains("one customer ("))
        .unwrap_or_else(|| panic!("{live}"));
    for channel in ["email", "instagram", "whatsapp", "chat"] {
        assert!(one.contains(channel), "{channel} missing from: {one}");
    }
    assert!(
        live.contains("out_for_delivery") || live.contains("out for delivery"),
        "{live}"
    );
    assert!(live.contains("→ channel chat"), "{live}");
    assert!(live.contains("llega hoy"), "the widget did not show the reply:\n{live}");
    // The second story: Amazon relay mail, eBay message and SP-API order, one customer and
    // one ticket with the Amazon order on it.
    let market = stdout
        .split("\nLive, the marketplaces: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no marketplace story:\n{stdout}"));
    let one = market
        .lines()
        .find(|l| l.contains("one customer ("))
        .unwrap_or_else(|| panic!("{market}"));
    for expected in ["amazon:q8v3k2m7x1z9w4t", "ebay:giulia.romano.mi", "on amazon, ebay"] {
        assert!(one.contains(expected), "{expected} missing from: {one}");
    }
    assert!(
        market.contains("order 171-4455667-1122334 on the ticket: paid at amazon, 1 × ZAINO-42"),
        "{market}"
    );
    assert!(market.contains("routed to where-is-my-order"), "{market}");
    assert!(market.contains("in it"), "Giulia writes Italian:\n{market}");
}
