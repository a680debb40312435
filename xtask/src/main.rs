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
            status(command)
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
