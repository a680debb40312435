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
