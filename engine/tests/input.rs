//! Large and hostile input through the real `weft` binary, on a real store: files read in
//! bounded chunks, bad lines that take no other line with them, mbox files, folders with
//! symlink cycles, message ids reused for other content, text PostgreSQL cannot hold, alias
//! bombs in workflows, and order files read in chunks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

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

fn shipped() -> String {
    root().join("workflows").display().to_string()
}

/// A workflow that only `on` triggers: other events pass through without a step, so tests of
/// many messages (or orders) stay quick.
fn only_on(dir: &Path, on: &str) -> String {
    let folder = dir.join(format!("only-{on}"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("only.yaml"),
        format!("version: 1\nname: only\non: {on}\nsteps:\n  - id: identify\n    uses: identity\n"),
    )
    .unwrap();
    folder.display().to_string()
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("weft.db").display())
}

fn chat_line(id: &str, name: &str, email: &str, body: &str) -> String {
    serde_json::json!({
        "channel": "chat",
        "id": id,
        "at": "2026-11-20T09:30:00Z",
        "from": {"name": name, "email": email},
        "body": body,
    })
    .to_string()
}

fn tickets(db: &str) -> Vec<serde_json::Value> {
    let (ok, stdout, stderr) = weft(&["export", "tickets", "--db", db]);
    assert!(ok, "{stderr}");
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn message_ids(db: &str) -> Vec<String> {
    let mut ids: Vec<String> = tickets(db)
        .iter()
        .flat_map(|t| t["messages"].as_array().unwrap().clone())
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn dead_letters(db: &str) -> String {
    let (ok, stdout, stderr) = weft(&["dead-letters", "--db", db]);
    assert!(ok, "{stderr}");
    stdout
}

#[test]
fn a_bad_line_is_named_by_its_number_and_takes_no_other_line_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let input = dir.path().join("in.jsonl");
    let mut bytes = Vec::new();
    for line in [
        chat_line("c1", "Jürgen Groß", "juergen@example.de", "Wo bleibt meine Bestellung?"),
        chat_line("c2", "Zoé Lefèvre", "zoe@example.fr", "Où est mon colis ?"),
    ] {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    // Line 3: not UTF-8 in the middle of Japanese text.
    bytes.extend_from_slice(
        "{\"channel\":\"chat\",\"id\":\"c3\",\"at\":\"2026-11-20T09:30:00Z\",\"body\":\"荷物".as_bytes(),
    );
    bytes.extend_from_slice(b"\xff\xfe\"}\n");
    bytes.extend_from_slice(chat_line("c4", "山田太郎", "taro@example.jp", "荷物はまだ届いていません").as_bytes());
    // Line 5: cut off.
    bytes.extend_from_slice(b"\n{\"channel\":\"chat\",\"id\":\"c5\",\"at\":\n");
    bytes.extend_from_slice(chat_line("c6", "سارة", "sara@example.ae", "أين طلبي؟").as_bytes());
    bytes.push(b'\n');
    std::fs::write(&input, bytes).unwrap();

    let (_, _, stderr) = weft(&[
        "run",
        "--workflows",
        &shipped(),
        "--input",
        input.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(
        stderr.contains("in.jsonl:3: not UTF-8 at column 67 (byte 71 of the line)"),
        "{stderr}"
    );
    assert!(stderr.contains("in.jsonl:5: EOF while parsing"), "{stderr}");
    assert!(stderr.contains("4 new messages"), "{stderr}");
    assert_eq!(message_ids(&db), ["c1", "c2", "c4", "c6"]);
    let letters = dead_letters(&db);
    assert_eq!(letters.lines().count(), 2, "{letters}");
    assert!(
        letters.contains("in.jsonl:3:") && letters.contains("in.jsonl:5:"),
        "{letters}"
    );
}

#[test]
fn more_than_ten_thousand_lines_are_read_in_chunks_and_an_oversized_line_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let input = dir.path().join("big.jsonl");
    let mut text = String::new();
    let bodies = [
        "Grüße aus Köln",
        "Bonjour de Lyon",
        "¡Hola!",
        "Ciao da Roma",
        "こんにちは",
        "你好",
        "שלום",
    ];
    for n in 0..10_050 {
        let _ = writeln!(
            text,
            "{}",
            chat_line(
                &format!("m{n}"),
                "Kundin",
                &format!("k{n}@example.de"),
                bodies[n % bodies.len()]
            )
        );
        if n == 0 {
            // Line 2: longer than one record may be (32 MiB).
            text.push_str(&"x".repeat(33 * 1024 * 1024));
            text.push('\n');
        }
    }
    std::fs::write(&input, text).unwrap();
    let run = || {
        weft(&[
            "run",
            "--workflows",
            &only_on(dir.path(), "order.placed"),
            "--input",
            input.to_str().unwrap(),
            "--db",
            &db,
        ])
    };
    let (_, _, stderr) = run();
    assert!(!stderr.contains("allowed"), "{stderr}");
    assert!(stderr.contains("read 1 files: 10050 new messages"), "{stderr}");
    assert!(
        stderr.contains("big.jsonl:2: the line is longer than the 32 MiB one record may have"),
        "{stderr}"
    );
    let letters = dead_letters(&db);
    assert_eq!(letters.lines().count(), 2, "the line is kept in two parts: {letters}");
    assert!(letters.contains("part 1") && letters.contains("part 2"), "{letters}");
    // Again: every chunk was read before.
    let (_, _, stderr) = run();
    assert!(stderr.contains("read 1 files: 0 new messages"), "{stderr}");
    assert_eq!(dead_letters(&db).lines().count(), 2);
}

#[test]
fn an_mbox_file_is_read_mail_by_mail() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let mail = |name: &str| std::fs::read(root().join("examples/mail").join(name)).unwrap();
    let mut mbox = Vec::new();
    let mut garbage_line = 0;
    for part in [
        Some(mail("01-anna-late-parcel.eml")),
        Some(mail("04-yuki-shift-jis.eml")),
        None,
        Some(mail("06-carmen-spanish.eml")),
    ] {
        // Mails are separated by a blank line ahead of the next `From ` line.
        if !mbox.is_empty() && !mbox.ends_with(b"\n\n") {
            mbox.extend_from_slice(if mbox.ends_with(b"\n") { b"\n" } else { b"\n\n" });
        }
        match part {
            Some(bytes) => {
                mbox.extend_from_slice(b"From buyer@example.com Mon Nov 20 09:00:00 2026\n");
                mbox.extend_from_slice(&bytes);
            }
            None => {
                garbage_line = mbox.iter().filter(|&&b| b == b'\n').count() + 1;
                mbox.extend_from_slice(b"From nobody Mon Nov 20 09:00:00 2026\nthis is no mail at all\n");
            }
        }
    }
    let path = dir.path().join("inbox.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let (_, _, stderr) = weft(&[
        "run",
        "--workflows",
        &shipped(),
        "--input",
        path.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(stderr.contains("3 new messages"), "{stderr}");
    let letters = dead_letters(&db);
    assert_eq!(letters.lines().count(), 1, "{letters}");
    assert!(letters.contains(&format!("inbox.mbox:{garbage_line}:")), "{letters}");
    assert_eq!(tickets(&db).len(), 3, "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_folder_with_symlink_cycles_is_read_once_and_the_cycles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let input = dir.path().join("input");
    let inner = input.join("inner");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::write(
        inner.join("chat.jsonl"),
        chat_line("c1", "Giulia Rossi", "giulia@example.it", "Dov'è il mio pacco?") + "\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&input, inner.join("up")).unwrap();
    std::os::unix::fs::symlink(&inner, inner.join("self")).unwrap();
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        &only_on(dir.path(), "order.placed"),
        "--input",
        input.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    for link in ["up", "self"] {
        let place = format!("not read: {}: a symlink cycle", inner.join(link).display());
        assert!(stderr.contains(&place), "{place}\n{stderr}");
    }
    assert!(stderr.contains("read 1 files: 1 new messages"), "{stderr}");
}

#[test]
fn an_id_seen_before_with_other_content_is_kept_under_a_new_id_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let first = dir.path().join("a.jsonl");
    let second = dir.path().join("b.jsonl");
    let anna = chat_line("c1", "Anna Müller", "anna@example.de", "Wo ist mein Paket?");
    std::fs::write(&first, format!("{anna}\n")).unwrap();
    std::fs::write(
        &second,
        [
            // Another buyer under the same id.
            chat_line(
                "c1",
                "Pierre Martin",
                "pierre@example.fr",
                "Je voudrais annuler ma commande.",
            ),
            // The same message again: a true duplicate.
            anna.clone(),
            // Within one file: one id, two messages.
            chat_line("c7", "Lucía García", "lucia@example.es", "¿Dónde está mi pedido?"),
            chat_line("c7", "Marco Bianchi", "marco@example.it", "Vorrei un rimborso."),
        ]
        .join("\n"),
    )
    .unwrap();
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        &shipped(),
        "--input",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("kept chat message `c1` as `c1~2`"), "{stderr}");
    assert!(stderr.contains("kept chat message `c7` as `c7~2`"), "{stderr}");
    assert!(
        stderr.contains("4 new messages, 1 duplicates skipped (same id, same content), 2 kept under a new id"),
        "{stderr}"
    );
    assert_eq!(message_ids(&db), ["c1", "c1~2", "c7", "c7~2"]);
    let pierre = tickets(&db)
        .into_iter()
        .find(|t| t["messages"] == serde_json::json!(["c1~2"]))
        .expect("Pierre's message has a ticket");
    let (ok, stdout, stderr) = weft(&["explain", "ticket", &pierre["ticket"].to_string(), "--db", &db]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Pierre Martin · c1~2 [arrived as c1, the id of an earlier message with other content]"),
        "{stdout}"
    );
    // Running the same files again adds nothing.
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        &shipped(),
        "--input",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("0 new messages"), "{stderr}");
    assert_eq!(message_ids(&db).len(), 4);
}

/// U+0000 in a subject, then a file after it: both stored, on SQLite and PostgreSQL alike.
fn nul_in_text_is_stored(db: &str, dir: &Path) {
    let first = dir.join("a.jsonl");
    let second = dir.join("b.jsonl");
    let line = serde_json::json!({
        "channel": "email",
        "id": "nul-1",
        "at": "2026-11-20T09:30:00Z",
        "from": {"name": "Ana\u{0}Costa", "email": "ana@example.pt"},
        "subject": "Rechnung\u{0} fehlt",
        "body": "Die Rechnung fehlt.\u{0}",
    });
    std::fs::write(&first, format!("{line}\n")).unwrap();
    std::fs::write(
        &second,
        chat_line("after-1", "Ewa Nowak", "ewa@example.pl", "Gdzie jest moja paczka?") + "\n",
    )
    .unwrap();
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        &shipped(),
        "--input",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        "--db",
        db,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("1 messages held U+0000"), "{stderr}");
    assert_eq!(message_ids(db), ["after-1", "nul-1"]);
    let nul = tickets(db)
        .into_iter()
        .find(|t| t["messages"] == serde_json::json!(["nul-1"]))
        .unwrap();
    assert_eq!(nul["subject"], "Rechnung\u{FFFD} fehlt", "{nul}");
}

#[test]
fn text_a_store_cannot_hold_is_stored_replaced_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    nul_in_text_is_stored(&sqlite(dir.path()), dir.path());
}

#[test]
fn text_a_store_cannot_hold_is_stored_replaced_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(common::postgres_database("input_nul")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    nul_in_text_is_stored(&db, dir.path());
}

#[test]
fn an_alias_bomb_is_refused_at_load_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("bomb");
    std::fs::create_dir_all(&folder).unwrap();
    let bomb = root().join("engine/tests/workflow_diagnostics/alias_bomb.yaml");
    std::fs::copy(&bomb, folder.join("inbound.yaml")).unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, chat_line("c1", "Anna", "anna@example.de", "Hallo") + "\n").unwrap();
    let expected = "inbound.yaml:9:8: yaml syntax error: this alias expands the document to more than 100000 nodes";
    let (ok, _, stderr) = weft(&["validate", folder.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains(expected), "{stderr}");
    let (ok, _, stderr) = weft(&[
        "run",
        "--workflows",
        folder.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--db",
        &sqlite(dir.path()),
    ]);
    assert!(!ok);
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn orders_are_read_in_chunks_and_a_bad_line_anywhere_stops_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let path: PathBuf = dir.path().join("orders.jsonl");
    let order = |n: usize| {
        serde_json::json!({
            "number": format!("#{n}"),
            "channel": "shopify",
            "placed_at": "2026-11-20T10:00:00Z",
            "buyer": {"name": "Åsa Öberg", "email": format!("asa{n}@example.se")},
        })
        .to_string()
    };
    let mut lines: Vec<String> = (1..=5000).map(order).collect();
    lines[4500] = "{\"number\": \"#4501\", \"channel\": \"shopify\", \"placed_at\": \"gestern\"}".into();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let import = || {
        weft(&[
            "import",
            "orders",
            path.to_str().unwrap(),
            "--workflows",
            &shipped(),
            "--db",
            &db,
        ])
    };
    let (ok, _, stderr) = import();
    assert!(!ok);
    assert!(stderr.contains("orders.jsonl:4501:"), "{stderr}");
    assert!(stderr.contains("nothing imported"), "{stderr}");
    lines[4500] = order(4501);
    std::fs::write(&path, lines.join("\n")).unwrap();
    let (ok, _, stderr) = weft(&[
        "import",
        "orders",
        path.to_str().unwrap(),
        "--workflows",
        &only_on(dir.path(), "message.received"),
        "--db",
        &db,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("5000 orders imported"), "{stderr}");
}
