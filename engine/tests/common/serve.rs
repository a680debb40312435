//! A running `weft serve` (the real binary on `127.0.0.1:0`) for tests that talk to it over
//! HTTP, and `weft` commands run against the same database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `weft serve`, killed when dropped.
pub struct Serve {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl Serve {
    /// Starts `weft serve` on `db` with the shipped workflows, the test plugins, this channels
    /// file, and these environment variables (secrets); waits for `listening on`.
    pub fn start(dir: &Path, db: &str, channels: &str, env: &[(&str, &str)]) -> Serve {
        let root = weft_test_support::workspace_root();
        let file = dir.join("channels.yaml");
        std::fs::write(&file, channels).unwrap();
        let log = dir.join(format!("serve-{}.log", std::process::id()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--workflows")
            .arg(root.join("workflows"))
            .arg("--channels")
            .arg(&file)
            .arg("--plugins")
            .arg(weft_test_support::plugins_dir())
            .arg("--models")
            .arg(dir.join("no-models"))
            .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
            .env("WEFT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start weft serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = match line.trim().strip_prefix("listening on ") {
            Some(base) => base.to_owned(),
            None => panic!(
                "weft serve printed {line:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        Serve { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM, waits for a successful exit, and returns the log.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(status.success(), "weft serve exited with {status}; its log:\n{log}");
        log
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `weft ARGS`; returns (success, stdout, stderr).
pub fn weft(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .expect("run weft");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// How long a test waits for the live loop before it fails with the server's log.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

impl Serve {
    /// Polls `check` every 100 ms until it gives a value; fails with `what` and the server's
    /// log after [`PATIENCE`].
    pub async fn eventually<T>(&self, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let start = std::time::Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{what} did not happen; the server's log:\n{}",
                self.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The ticket holding message `id`, once the live loop has put it on one.
    pub async fn ticket_of(&self, store: &weft::store::Store, id: &str) -> i64 {
        self.ticket_where(store, id, |_| true).await
    }

    /// The ticket holding message `id`, once the shipped workflow has finished with it (its
    /// deadlines set).
    pub async fn processed_ticket_of(&self, store: &weft::store::Store, id: &str) -> i64 {
        self.ticket_where(store, id, |t| !t["deadlines"].as_array().unwrap().is_empty()).await
    }

    async fn ticket_where(
        &self,
        store: &weft::store::Store,
        id: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> i64 {
        self.eventually(&format!("message {id} on a ticket"), async || {
            let tickets = store.export_tickets().await.unwrap();
            tickets
                .iter()
                .find(|t| t["messages"].as_array().unwrap().iter().any(|m| m == id) && done(t))
                .and_then(|t| t["ticket"].as_i64())
        })
        .await
    }

    /// An agent's reply to ticket `number` through the API, at the ticket's current version
    /// (read again when the ticket moved meanwhile); returns the API's `reply` object.
    pub async fn reply(&self, client: &reqwest::Client, token: &str, number: i64, body: &str) -> serde_json::Value {
        let path = self.url(&format!("/api/v1/tickets/{number}"));
        let start = std::time::Instant::now();
        loop {
            let ticket: serde_json::Value = client
                .get(&path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let response = client
                .post(format!("{path}/replies"))
                .bearer_auth(token)
                .json(&serde_json::json!({ "body": body, "expected_version": ticket["version"] }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap();
            if status == 409 && start.elapsed() < PATIENCE {
                continue;
            }
            assert_eq!(status, 201, "{answer}");
            return answer["reply"].clone();
        }
    }

    /// The outbox row of `key` once `done` says it is settled as wanted.
    pub async fn settled(
        &self,
        store: &weft::store::Store,
        key: &str,
        what: &str,
        done: impl Fn(&weft::store::outbox::OutboundRow) -> bool,
    ) -> weft::store::outbox::OutboundRow {
        self.eventually(&format!("{what} (outbox row {key})"), async || {
            store.outbound_by_key(key).await.unwrap().filter(|row| done(row))
        })
        .await
    }
}

/// HMAC-SHA256 of `body` under `secret`, as the vendors sign webhooks.
pub fn hmac_sha256(secret: &[u8], body: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}
