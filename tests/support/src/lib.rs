//! Test helpers shared by weft's integration tests.
//!
//! [`plugins_dir`] builds every plugin crate of the workspace (the packages under `plugins/` and
//! `tests/plugins/`) to a wasm32-wasip2 component with the `plugin` profile, once per test
//! process, and returns the directory that holds the `.wasm` files. [`peak_rss_mib`] is what
//! the benchmarks print of their memory, [`cpu_seconds`] what they print of the processor time
//! beside the time on the clock. [`pip_package`] installs a pinned PyPI package under
//! `target/` for tests that compare against, or talk to, a Python reference.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The target the plugins are built for.
const TARGET: &str = "wasm32-wasip2";

/// The workspace root: this crate lives in `<root>/tests/support`.
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        here.ancestors().nth(2).unwrap_or(here).to_path_buf()
    })
}

/// The largest resident set of this process so far (`VmHWM` in `/proc/self/status`), in MiB;
/// None where there is no such file (not Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The processor time this process's threads have used so far, in seconds, from the
/// scheduler's nanosecond count of each thread (`/proc/self/task/*/schedstat`); None where
/// there are no such files (not Linux). Threads that have ended no longer count: take both
/// readings of a difference while the same threads live.
///
/// Beside the time on the clock, this leaves out the time the process waited: for the CPU
/// while another process ran, for the disk, for a lock. It still counts a processor that runs
/// slower for a while (caches or cores shared with other machines' work).
pub fn cpu_seconds() -> Option<f64> {
    let mut nanos: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread may end between listing and reading: it no longer counts.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1e9)
}

/// What this process has read and written through system calls so far (`/proc/self/io`):
/// files, pipes and sockets alike, whether or not the bytes reached a disk. None where there
/// is no such file (not Linux). Unlike a time, the part that the work itself reads and writes
/// is the same from run to run; a background thread's part (a checkpoint) may vary with when
/// it runs.
pub fn io_so_far() -> Option<Io> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name))?
            .trim()
            .parse()
            .ok()
    };
    Some(Io {
        read: field("rchar:")?,
        written: field("wchar:")?,
        write_calls: field("syscw:")?,
    })
}

/// A reading of [`io_so_far`], or the difference of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Io {
    /// Bytes read.
    pub read: u64,
    /// Bytes written.
    pub written: u64,
    /// Calls that wrote.
    pub write_calls: u64,
}

impl Io {
    /// What happened between `earlier` and this reading.
    pub fn since(self, earlier: Io) -> Io {
        Io {
            read: self.read.saturating_sub(earlier.read),
            written: self.written.saturating_sub(earlier.written),
            write_calls: self.write_calls.saturating_sub(earlier.write_calls),
        }
    }
}

/// The directory with every plugin of the workspace built as `<crate_name>.wasm`.
///
/// The first call builds them (into `<workspace>/target/wasm-plugins`, a target directory of
/// its own so the build does not wait on the lock of the cargo that runs the tests); later calls
/// return at once. A failed build panics with cargo's output.
pub fn plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_plugins().unwrap_or_else(|problem| panic!("{problem}")))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command and returns its stdout, or a message with everything it printed.
fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{shown} printed non-UTF-8: {e}"))
}

/// A plugin package: its name and the file name cargo gives its component.
#[derive(Debug)]
struct PluginPackage {
    name: String,
    artifact: String,
}

/// The packages whose manifest lies under `plugins/` or `tests/plugins/`.
fn plugin_packages(root: &Path) -> Result<Vec<PluginPackage>, String> {
    let text = run(cargo()
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"]))?;
    let metadata: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("cargo metadata printed bad JSON: {e}"))?;
    let plugin_dirs = [root.join("plugins"), root.join("tests").join("plugins")];
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(manifest)) = (package["name"].as_str(), package["manifest_path"].as_str()) else {
            continue;
        };
        let manifest = Path::new(manifest);
        if !plugin_dirs.iter().any(|dir| manifest.starts_with(dir)) {
            continue;
        }
        let lib_name = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")))
            .and_then(|t| t["name"].as_str())
            .ok_or_else(|| format!("plugin package `{name}` has no cdylib target"))?;
        found.push(PluginPackage {
            name: name.to_owned(),
            artifact: format!("{}.wasm", lib_name.replace('-', "_")),
        });
    }
    if found.is_empty() {
        return Err(format!("no plugin packages under {}", plugin_dirs[0].display()));
    }
    Ok(found)
}

/// Installs the wasm target when rustup does not list it yet. Without rustup the toolchain is
/// assumed to have it; the build says so if not.
fn ensure_target() -> Result<(), String> {
    let Ok(listed) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
        return Ok(());
    };
    let installed = String::from_utf8_lossy(&listed.stdout);
    if !installed.lines().any(|line| line.trim() == TARGET) {
        run(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}

fn build_plugins() -> Result<PathBuf, String> {
    let root = workspace_root();
    let packages = plugin_packages(root)?;
    ensure_target()?;
    let target_dir = root.join("target").join("wasm-plugins");
    let mut build = cargo();
    build
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--target", TARGET, "--profile", "plugin"]);
    for package in &packages {
        build.args(["-p", &package.name]);
    }
    run(&mut build)?;
    let built = target_dir.join(TARGET).join("plugin");
    let out = target_dir.join("out");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for package in &packages {
        let from = built.join(&package.artifact);
        let to = out.join(&package.artifact);
        let failed = |e: std::io::Error| {
            format!(
                "cannot copy {} to {} (package `{}`): {e}",
                from.display(),
                to.display(),
                package.name
            )
        };
        let bytes = std::fs::read(&from).map_err(failed)?;
        if std::fs::read(&to).is_ok_and(|old| old == bytes) {
            continue;
        }
        // Written aside and renamed over: another test process reading the plugin meanwhile
        // sees the old file or the new one, never a truncated one (a copy in place truncates
        // first; a test once read an empty component that way).
        let aside = out.join(format!("{}.{}.tmp", package.artifact, std::process::id()));
        std::fs::write(&aside, &bytes).map_err(failed)?;
        std::fs::rename(&aside, &to).map_err(failed)?;
    }
    Ok(out)
}

/// The folder `<target>/python-<package>-<version>` holding PyPI's `package` at `version`, for
/// `PYTHONPATH`: installed there with pip on first use, checked by importing `module` and
/// comparing its `__version__`. The error says why it cannot be had (no python3, no network),
/// so that a test can say SKIPPED with the reason.
pub fn pip_package(package: &str, module: &str, version: &str) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let dir = target.join(format!("python-{package}-{version}"));
    let works = || {
        Command::new("python3")
            .env("PYTHONPATH", &dir)
            .args([
                "-c",
                &format!("import {module}; assert {module}.__version__ == {version:?}"),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return Ok(dir);
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&dir)
        .arg(format!("{package}=={version}"))
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() || !works() {
        return Err(format!(
            "pip install {package}=={version} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(dir)
}
