//! Crashes change no result, and storage failures say why, through the real `weft` binary:
//! `weft run` killed with SIGKILL at seeded random moments and run again until done ends
//! where an uninterrupted run does (SQLite and PostgreSQL); a second run on the same SQLite
//! file waits for the first and says so, and a write that finds the file locked names who
//! holds it; a full disk is reported as such and the next run resumes; commands that read or
//! change what a database holds refuse one that does not exist.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Messages in the generated traffic: enough for several commit groups and timers.
const MESSAGES: usize = 1200;
/// Events per commit in these runs: small, so that a kill lands between commits.
const EVENTS_PER_COMMIT: &str = "100";
/// How many times the interrupted run is killed before it is let finish.
const KILLS: usize = 4;

fn weft_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .env("WEFT_PLUGINS", weft_test_support::plugins_dir())
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .env_remove("WEFT_DB")
        .env_remove("WEFT_LOG");
    command
}

fn weft(args: &[&str]) -> (bool, String, String) {
    let output = weft_command(args).output().expect("run weft");
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// A small seeded generator (splitmix64), so that the kill times are the same on every run.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}

/// `weft generate` traffic (JSON lines) of `messages` messages, in `dir`.
fn traffic(dir: &Path, messages: usize) -> PathBuf {
    let out = dir.join("traffic.jsonl");
    let (ok, _, stderr) = weft(&[
        "generate",
        "--customers",
        &(messages / 4).to_string(),
        "--messages",
        &messages.to_string(),
        "--seed",
        "25",
        "--out",
        out.to_str().unwrap(),
        "--truth",
        dir.join("truth.jsonl").to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    out
}

fn run_args<'a>(db: &'a str, input: &'a Path) -> Vec<&'a str> {
    let workflows = weft_test_support::workspace_root().join("workflows");
    let workflows: &'static str = Box::leak(workflows.to_str().unwrap().to_owned().into_boxed_str());
    vec![
        "run",
        "--workflows",
        workflows,
        "--input",
        input.to_str().unwrap(),
        "--db",
        db,
        "--events-per-commit",
        EVENTS_PER_COMMIT,
    ]
}

/// The lines of `weft export tickets` and of `weft export customers`.
type Exported = (Vec<String>, Vec<String>);

/// The tickets and the customers of `db`, as `weft export` prints them.
fn exported(db: &str) -> Exported {
    let (ok, tickets, stderr) = weft(&["export", "tickets", "--db", db]);
    assert!(ok, "{stderr}");
    let (ok, customers, stderr) = weft(&["export", "customers", "--db", db]);
    assert!(ok, "{stderr}");
    let lines = |text: String| text.lines().map(str::to_owned).collect::<Vec<_>>();
    (lines(tickets), lines(customers))
}

/// Ticket numbers and customer ids replaced by their rank (1 for the lowest, and so on).
///
/// PostgreSQL takes them from sequences, which no rollback gives back: the numbers a killed
/// run's transaction took are skipped, as after any rolled-back group. The tickets, their
/// order and everything on them stay the same, which this leaves for the comparison.
fn ranked((tickets, customers): Exported) -> Exported {
    use serde_json::Value;
    use std::collections::HashMap;
    let parse = |lines: &[String]| -> Vec<Value> { lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect() };
    let (mut tickets, mut customers) = (parse(&tickets), parse(&customers));
    let rank = |values: &[Value], key: &str| -> HashMap<i64, i64> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (v[key].as_i64().unwrap(), i as i64 + 1))
            .collect()
    };
    let (ticket_rank, customer_rank) = (rank(&tickets, "ticket"), rank(&customers, "customer"));
    let renumber = |value: &mut Value, ranks: &HashMap<i64, i64>| match value {
        Value::Number(n) => *value = ranks[&n.as_i64().unwrap()].into(),
        Value::Array(items) => {
            for item in items {
                *item = ranks[&item.as_i64().unwrap()].into();
            }
        }
        _ => {}
    };
    for ticket in &mut tickets {
        renumber(&mut ticket["ticket"], &ticket_rank);
        renumber(&mut ticket["merged_into"], &ticket_rank);
        renumber(&mut ticket["customer"], &customer_rank);
    }
    for customer in &mut customers {
        for key in ["customer", "merged_into", "kept_apart"] {
            renumber(&mut customer[key], &customer_rank);
        }
        renumber(&mut customer["tickets"], &ticket_rank);
    }
    let lines = |values: Vec<Value>| values.iter().map(Value::to_string).collect();
    (lines(tickets), lines(customers))
}

/// Asserts that two exports are the same line by line, naming the first that differs.
fn assert_same(what: &str, clean: &[String], interrupted: &[String]) {
    for (i, (a, b)) in clean.iter().zip(interrupted).enumerate() {
        assert_eq!(a, b, "{what}, line {}: the interrupted run differs", i + 1);
    }
    assert_eq!(clean.len(), interrupted.len(), "{what}: as many lines");
}

/// How many events `db` holds done, read beside the running weft (0 before it has a schema).
fn events_done(db: &str, runtime: &tokio::runtime::Runtime) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM events WHERE state = 'done'";
    match db.strip_prefix("sqlite://") {
        Some(path) => rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|conn| conn.query_row(SQL, [], |row| row.get(0)))
            .unwrap_or(0),
        None => runtime.block_on(async {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(db).await.unwrap();
            sqlx::query_scalar::<_, i64>(SQL)
                .fetch_one(&mut conn)
                .await
                .unwrap_or(0)
        }),
    }
}

/// Runs `weft run` once uninterrupted into `clean`, and into `interrupted` killed up to
/// [`KILLS`] times and then let finish, and compares what the two databases export
/// (`normalize`d). Each kill comes at a seeded point of the work, not of the time (the machine
/// may be busy): once the events done reach a seeded share of what the uninterrupted run did,
/// after a seeded pause of up to 50 ms, so that it lands in the middle of a commit group, of
/// the timers' events, or of the start.
fn crash_and_compare(clean: &str, interrupted: &str, normalize: fn(Exported) -> Exported) {
    let dir = tempfile::tempdir().unwrap();
    let input = traffic(dir.path(), MESSAGES);

    let started = Instant::now();
    let (ok, _, stderr) = weft(&run_args(clean, &input));
    assert!(ok, "{stderr}");
    let full = started.elapsed();
    assert!(stderr.contains(&format!("{MESSAGES} new messages")), "{stderr}");
    let total: f64 = stderr
        .split(" events processed")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of events: {stderr}"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Rng(0x2025_1207);
    // The buyers' messages are the first events, the timers' the last: half the kills land
    // among the messages, where a resumed run meets timers already due.
    let mut shares: Vec<f64> = (0..KILLS)
        .map(|i| rng.unit() * if i < KILLS / 2 { 0.3 } else { 0.95 })
        .collect();
    shares.sort_by(f64::total_cmp);
    let (mut killed, mut resumed) = (0, 0);
    let mut said = String::new();
    for share in shares {
        let target = (share * total) as i64;
        let pause = Duration::from_millis((rng.unit() * 50.0) as u64);
        let mut child = weft_command(&run_args(interrupted, &input))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start weft run");
        while child.try_wait().unwrap().is_none() {
            if events_done(interrupted, &runtime) >= target {
                std::thread::sleep(pause);
                child.kill().unwrap();
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        resumed += stderr.lines().filter(|l| l.starts_with("resumed ")).count();
        said.push_str(&stderr);
    }
    let (ok, _, stderr) = weft(&run_args(interrupted, &input));
    assert!(ok, "{stderr}");
    resumed += stderr.lines().filter(|l| l.starts_with("resumed ")).count();
    said.push_str(&stderr);
    eprintln!("uninterrupted run: {full:.1?}; killed {killed} times; the runs said:\n{said}");
    assert!(killed > 0, "no run was killed: {said}");
    assert!(
        resumed > 0,
        "a run after a kill takes over the claims the killed one left, and says so:\n{said}"
    );
    // Everything is done: another run finds nothing new and nothing left.
    let (ok, _, stderr) = weft(&run_args(interrupted, &input));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("0 new messages, 0 events processed, 0 with failed steps, 0 dead letters"),
        "{stderr}"
    );

    let (clean_tickets, clean_customers) = normalize(exported(clean));
    let (tickets, customers) = normalize(exported(interrupted));
    assert!(clean_tickets.len() > 100, "{} tickets", clean_tickets.len());
    assert!(
        clean_tickets.iter().any(|t| t.contains("\"state\":\"breached\"")),
        "the traffic has deadlines whose timers fired"
    );
    assert_same("tickets", &clean_tickets, &tickets);
    assert_same("customers", &clean_customers, &customers);
}

#[test]
fn a_run_killed_at_random_moments_ends_as_an_uninterrupted_one_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    crash_and_compare(&db("clean.db"), &db("interrupted.db"), |exported| exported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_random_moments_ends_as_an_uninterrupted_one_postgres() {
    let Some(clean) = common::postgres_database("crash_clean").await else {
        return;
    };
    let interrupted = common::postgres_database("crash_interrupted").await.unwrap();
    tokio::task::spawn_blocking(move || crash_and_compare(&clean, &interrupted, ranked))
        .await
        .unwrap();
}

/// A second `weft run` on an SQLite file that another one is processing says who holds it,
/// waits for it, and then does its own work.
#[test]
fn a_second_run_on_the_same_sqlite_file_waits_and_says_for_whom() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let input = traffic(dir.path(), MESSAGES);
    let late = dir.path().join("late.jsonl");
    std::fs::write(
        &late,
        concat!(
            r#"{"channel":"chat","id":"late-1","at":"2026-12-01T09:00:00Z","from":{"name":"Zoë Ørsted","email":"zoe@example.dk"},"body":"Où est mon colis ? 荷物はどこですか"}"#,
            "\n"
        ),
    )
    .unwrap();
    let mut first = weft_command(&run_args(&db, &input))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first holds the file once it has written itself into the lock file.
    let lock = dir.path().join("weft.db-lock");
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&format!("weft process {}", first.id()))) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the first run never took the file"
        );
        assert!(first.try_wait().unwrap().is_none(), "the first run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (ok, _, stderr) = weft(&run_args(&db, &late));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!("waiting: weft process {} (`weft run`, started", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains("1 files, 1 new messages"), "{stderr}");
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let (tickets, _) = exported(&db);
    assert!(
        tickets.iter().any(|t| t.contains("\"late-1\"")),
        "the late message has a ticket"
    );
}

/// Commands that read (or change) what a database holds refuse one that does not exist, name
/// it, and create nothing.
#[test]
fn commands_on_a_missing_database_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mistyped.db");
    let db = format!("sqlite://{}", file.display());
    let truth = dir.path().join("truth.jsonl");
    std::fs::write(&truth, "").unwrap();
    let cases: &[&[&str]] = &[
        &["export", "tickets"],
        &["export", "customers"],
        &["explain", "ticket", "1"],
        &["explain", "customer", "1"],
        &["dead-letters"],
        &["report", "sla"],
        &["report", "quality", "--truth", truth.to_str().unwrap()],
        &["merge", "1", "2"],
        &["unmerge", "2"],
        &["customer", "merge", "1", "2"],
    ];
    for args in cases {
        let mut args = args.to_vec();
        args.extend(["--db", &db]);
        let (ok, stdout, stderr) = weft(&args);
        assert!(!ok, "{args:?} succeeded: {stdout}");
        assert!(
            stderr.contains(&format!(
                "database `{db}` does not exist: there is no file {}",
                file.display()
            )),
            "{args:?}: {stderr}"
        );
        assert!(!file.exists(), "{args:?} created {}", file.display());
    }
    // A file that is no weft database is not made into one.
    std::fs::write(&file, "").unwrap();
    let (ok, _, stderr) = weft(&["export", "tickets", "--db", &db]);
    assert!(!ok);
    assert!(stderr.contains("holds no weft data"), "{stderr}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_an_empty_postgres_database_refuse_it() {
    let Some(url) = common::postgres_database("crash_empty").await else {
        return;
    };
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || weft(&["export", "tickets", "--db", &url]))
        .await
        .unwrap();
    assert!(!ok);
    assert!(stderr.contains("holds no weft data"), "{stderr}");
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// None (and a loud notice) where mounting is not allowed (not root).
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED the full-disk test: mounting a tmpfs needs root");
            return None;
        }
        Some(Tmpfs(dir.to_owned()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A run on a disk that fills up says that the disk is full, and nothing else in its place;
/// once there is room again, the next run resumes at once and ends as a run that had room.
#[test]
fn a_full_disk_is_reported_as_such_and_the_next_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let input = traffic(dir.path(), 400);
    let clean = format!("sqlite://{}", dir.path().join("clean.db").display());
    let (ok, _, stderr) = weft(&run_args(&clean, &input));
    assert!(ok, "{stderr}");

    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let Some(tmpfs) = Tmpfs::mount(&disk, "1200k") else {
        return;
    };
    let db = format!("sqlite://{}", disk.join("weft.db").display());
    let (ok, _, stderr) = weft(&run_args(&db, &input));
    assert!(!ok, "the run fit in 1200 KiB: {stderr}");
    assert!(stderr.contains("database or disk is full"), "{stderr}");
    assert!(!stderr.contains("no transaction is active"), "{stderr}");

    tmpfs.resize("64m");
    let (ok, _, stderr) = weft(&run_args(&db, &input));
    assert!(ok, "{stderr}");
    let (clean_tickets, clean_customers) = exported(&clean);
    let (tickets, customers) = exported(&db);
    assert_same("tickets", &clean_tickets, &tickets);
    assert_same("customers", &clean_customers, &customers);
}

/// A command that writes while another process holds the SQLite file's write lock says, once
/// its wait runs out, who holds it, from the lock file a draining weft writes.
#[test]
fn a_write_that_finds_the_file_locked_names_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.db");
    let db = format!("sqlite://{}", file.display());
    let input = dir.path().join("one.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"channel":"chat","id":"c-1","at":"2026-12-01T09:00:00Z","from":{"name":"أحمد","email":"ahmed@example.ae"},"body":"مرحبا، أين طلبي؟"}"#,
            "\n",
            r#"{"channel":"chat","id":"c-2","at":"2026-12-01T09:05:00Z","from":{"name":"Jürgen","email":"juergen@example.de"},"body":"Wo bleibt meine Bestellung?"}"#,
            "\n"
        ),
    )
    .unwrap();
    let (ok, _, stderr) = weft(&run_args(&db, &input));
    assert!(ok, "{stderr}");
    // What a draining weft holds: the lock file, with who it is, and the write lock.
    let lock = std::fs::File::create(dir.path().join("weft.db-lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(
        dir.path().join("weft.db-lock"),
        "weft process 4242 (`weft run`, started 2026-12-07T05:00:00Z)\n",
    )
    .unwrap();
    let writer = rusqlite::Connection::open(&file).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (ok, _, stderr) = weft(&["merge", "1", "2", "--db", &db]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "database {} is locked: weft process 4242 (`weft run`, started 2026-12-07T05:00:00Z) is writing to it",
            file.display()
        )),
        "{stderr}"
    );
    writer.execute_batch("ROLLBACK").unwrap();
}
