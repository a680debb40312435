//! `cargo xtask`: the jobs that are more than one command.
//!
//! - `cargo xtask demo [ARGS]`: builds the plugins, then runs `weft demo` on the embedded SQLite.
//! - `cargo xtask test [ARGS]`: builds the plugins, then runs every test of the workspace.
//! - `cargo xtask bench [ARGS]`: builds the plugins, then runs the benchmarks (release build).
//! - `cargo xtask plugins`: builds the plugins and prints the folder that holds them.
//!
//! Each installs the `wasm32-wasip2` target first if it is missing, so a fresh machine needs
//! nothing else.

use std::process::{Command, ExitCode};

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(weft_test_support::workspace_root());
    command
}

fn status(mut command: Command) -> ExitCode {
    match command.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("xtask: {command:?} failed ({s})");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask: cannot run {command:?}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo test`, passing its output through, and closes with the totals of every test
/// binary on one line, so a run is judged by all of them rather than by the last one.
fn test(mut command: Command) -> ExitCode {
    use std::io::{BufRead, BufReader, Write};
    command.stdout(std::process::Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("xtask: cannot run {command:?}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let _ = writeln!(out, "{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(what), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let n: u64 = n.parse().unwrap_or(0);
                match what {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    "ignored" => ignored += n,
                    _ => {}
                }
            }
        }
    }
    let code = child.wait().map(|s| s.success()).unwrap_or(false);
    let _ = writeln!(out, "\ntests: {passed} passed, {failed} failed, {ignored} skipped");
    if code { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let usage = "usage: cargo xtask demo|test|bench|plugins [ARGS...]";
    if !matches!(task.as_str(), "demo" | "test" | "bench" | "plugins") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    eprintln!("xtask: building the plugins for wasm32-wasip2 ...");
    let plugins = weft_test_support::plugins_dir();
    match task.as_str() {
        "plugins" => {
            println!("{}", plugins.display());
            ExitCode::SUCCESS
        }
        "demo" => {
            let mut command = cargo();
            command
                .args(["run", "--quiet", "--package", "weft", "--", "demo", "--plugins"])
                .arg(plugins)
                .args(&rest);
            status(command)
        }
        "test" => {
            let mut command = cargo();
            command.args(["test", "--workspace"]).args(&rest);
            test(command)
        }
        "bench" => {
            let mut command = cargo();
            command.args(["bench", "--package", "weft"]).args(&rest);
            command.env("WEFT_PLUGINS", plugins);
            status(command)
        }
        _ => unreachable!("checked above"),
    }
}
