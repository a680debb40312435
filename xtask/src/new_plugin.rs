//! `cargo xtask new-plugin channel|step NAME [--dir DIR]`: a plugin crate that builds for
//! `wasm32-wasip2`, passes its own native tests and is loaded by the engine as `NAME`.
//!
//! The files come from `xtask/templates/{channel,step}/` with `{{name}}`-style placeholders
//! filled in; the manifest is written here. Where the crate goes decides how it builds:
//! - in a folder the workspace's `members` cover (`plugins/NAME`, the default), it joins the
//!   workspace and takes its dependencies, lints and profiles from there;
//! - anywhere else it is a workspace of its own, with weft-sdk by path, the dependency
//!   versions of weft's `[workspace.dependencies]`, weft's `Cargo.lock` (so it builds with the
//!   versions weft was tested with, offline too), its toolchain file and the `plugin` profile.

use std::path::{Component, Path, PathBuf};

/// What kind of plugin to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Step,
}

impl Kind {
    fn parse(word: &str) -> Result<Kind, String> {
        match word {
            "channel" => Ok(Kind::Channel),
            "step" => Ok(Kind::Step),
            other => Err(format!("`{other}` is no kind of plugin, expected `channel` or `step`")),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Channel => "channel",
            Kind::Step => "step",
        }
    }

    /// The template files, by path in the crate.
    fn templates(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Channel => &[
                ("src/lib.rs", include_str!("../templates/channel/src/lib.rs")),
                (
                    "tests/channel.rs",
                    include_str!("../templates/channel/tests/channel.rs"),
                ),
                ("README.md", include_str!("../templates/channel/README.md")),
            ],
            Kind::Step => &[
                ("src/lib.rs", include_str!("../templates/step/src/lib.rs")),
                ("tests/step.rs", include_str!("../templates/step/tests/step.rs")),
                ("README.md", include_str!("../templates/step/README.md")),
            ],
        }
    }

    /// Dependencies beside weft-sdk, serde, serde_json and schemars.
    fn extra_dependencies(self) -> &'static [&'static str] {
        match self {
            // The webhook signature.
            Kind::Channel => &["hmac", "sha2", "hex"],
            Kind::Step => &[],
        }
    }

    fn description(self, name: &str) -> String {
        match self {
            Kind::Channel => format!("weft channel `{name}`: signed webhooks in, replies through a REST API"),
            Kind::Step => format!("weft step `{name}`: tags the tickets of messages that mention a word"),
        }
    }
}

/// What to make, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub name: String,
    /// Where the crate goes; `plugins/NAME` of the workspace when not given.
    pub dir: Option<PathBuf>,
}

pub const USAGE: &str = "usage: cargo xtask new-plugin channel|step NAME [--dir DIR]";

impl Request {
    /// Reads `channel|step NAME [--dir DIR]`.
    pub fn parse(args: &[String]) -> Result<Request, String> {
        let mut words = Vec::new();
        let mut dir = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--dir" => {
                    let value = args.next().ok_or("--dir needs a folder")?;
                    dir = Some(PathBuf::from(value));
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
                word => words.push(word.to_owned()),
            }
        }
        let [kind, name] = words.as_slice() else {
            return Err(format!("expected a kind and a name, got {words:?}"));
        };
        let kind = Kind::parse(kind)?;
        check_name(name)?;
        Ok(Request {
            kind,
            name: name.clone(),
            dir,
        })
    }
}

/// A plugin name is what `uses:` names in a workflow or channels file: a lowercase letter,
/// then lowercase letters, digits, `_` or `-`.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && !name.ends_with(['-', '_']) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` cannot name a plugin: expected a lowercase letter, then lowercase letters, digits, `_` or `-` (as `uses:` names it), not ending in `_` or `-`"
        ))
    }
}

/// One file of the new crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to the crate's folder.
    pub path: PathBuf,
    pub contents: String,
}

/// How the crate builds: as a member of weft's workspace, or as a workspace of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Member,
    Alone,
}

/// The files of the crate `request` asks for, to be written in `dir` (absolute), for the
/// workspace at `root`.
pub fn render(request: &Request, dir: &Path, root: &Path) -> Result<Vec<File>, String> {
    let root_manifest = read(&root.join("Cargo.toml"))?;
    let home = if is_member(&root_manifest, root, dir) {
        Home::Member
    } else {
        Home::Alone
    };
    let name = &request.name;
    let package = format!("weft-plugin-{name}");
    let lib = package.replace('-', "_");
    let secret = name.replace('-', "_");
    let target = match home {
        Home::Member => relative(dir, root).join("target").display().to_string(),
        Home::Alone => "target".to_owned(),
    };
    let suffix = match request.kind {
        Kind::Channel => "Channel",
        Kind::Step => "Step",
    };
    let type_name = format!("{}{suffix}", camel(name));
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{package}}", &package)
            .replace("{{lib}}", &lib)
            .replace("{{Type}}", &type_name)
            .replace("{{secret}}", &secret)
            .replace("{{SECRET}}", &secret.to_ascii_uppercase())
            .replace("{{target}}", &target)
    };
    let mut files = vec![File {
        path: PathBuf::from("Cargo.toml"),
        contents: manifest(request, &package, home, &root_manifest, root)?,
    }];
    for &(path, template) in request.kind.templates() {
        let contents = fill(template);
        if let Some(at) = contents.find("{{") {
            let end = contents[at..].find("}}").map_or(contents.len(), |e| at + e + 2);
            return Err(format!(
                "template {path} has an unknown placeholder {}",
                &contents[at..end]
            ));
        }
        files.push(File {
            path: PathBuf::from(path),
            contents,
        });
    }
    if home == Home::Alone {
        for copied in ["Cargo.lock", "rust-toolchain.toml"] {
            files.push(File {
                path: PathBuf::from(copied),
                contents: read(&root.join(copied))?,
            });
        }
        files.push(File {
            path: PathBuf::from(".gitignore"),
            contents: "/target\n".to_owned(),
        });
    }
    Ok(files)
}

/// The crate's `Cargo.toml`.
fn manifest(request: &Request, package: &str, home: Home, root_manifest: &str, root: &Path) -> Result<String, String> {
    let mut dependencies = vec!["weft-sdk", "serde", "serde_json", "schemars"];
    dependencies.extend(request.kind.extra_dependencies());
    let mut out = format!(
        "[package]\nname = \"{package}\"\ndescription = \"{}\"\nversion = \"0.1.0\"\n",
        request.kind.description(&request.name)
    );
    match home {
        Home::Member => {
            out.push_str("edition.workspace = true\nrust-version.workspace = true\nlicense.workspace = true\n")
        }
        Home::Alone => {
            let package_value = |key: &str| {
                workspace_value(root_manifest, "workspace.package", key)
                    .ok_or_else(|| format!("weft's Cargo.toml has no `{key}` in [workspace.package]"))
            };
            out.push_str(&format!(
                "edition = {}\nrust-version = {}\n",
                package_value("edition")?,
                package_value("rust-version")?
            ));
        }
    }
    out.push_str(
        "publish = false\n\n\
         # A component for the engine (cdylib, built for wasm32-wasip2) and a library for native tests.\n\
         [lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\n",
    );
    for dependency in dependencies {
        let line = match (home, dependency) {
            (Home::Member, "weft-sdk") => "weft-sdk = { workspace = true, features = [\"guest\"] }".to_owned(),
            (Home::Member, _) => format!("{dependency} = {{ workspace = true }}"),
            (Home::Alone, "weft-sdk") => {
                let sdk = root.join("sdk");
                format!("weft-sdk = {{ path = {} }}", toml_string(&sdk.display().to_string()))
            }
            (Home::Alone, _) => {
                let value = workspace_value(root_manifest, "workspace.dependencies", dependency)
                    .ok_or_else(|| format!("weft's Cargo.toml has no `{dependency}` in [workspace.dependencies]"))?;
                format!("{dependency} = {value}")
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    match home {
        Home::Member => out.push_str("\n[lints]\nworkspace = true\n"),
        Home::Alone => {
            out.push_str("\n# A workspace of its own: this crate lives outside weft's.\n[workspace]\n\n");
            out.push_str("# `cargo build --target wasm32-wasip2 --profile plugin`: how weft builds its own plugins.\n");
            out.push_str(&section(root_manifest, "profile.plugin").ok_or("weft's Cargo.toml has no [profile.plugin]")?);
        }
    }
    Ok(out)
}

/// The value of `key = value` on one line of `[table]` in a manifest, as written.
fn workspace_value(manifest: &str, table: &str, key: &str) -> Option<String> {
    let body = section(manifest, table)?;
    body.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// `[table]` and its lines up to the next table, without comments and blank lines.
fn section(manifest: &str, table: &str) -> Option<String> {
    let header = format!("[{table}]");
    let mut lines = manifest.lines().skip_while(|l| l.trim() != header);
    let first = lines.next()?;
    let mut out = format!("{first}\n");
    for line in lines.take_while(|l| !l.trim_start().starts_with('[')) {
        if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(out)
}

/// Whether the workspace's `members` cover `dir`: an entry equal to its path from `root`, or a
/// `folder/*` entry for its parent.
fn is_member(manifest: &str, root: &Path, dir: &Path) -> bool {
    let Ok(inside) = dir.strip_prefix(root) else {
        return false;
    };
    let Some(start) = manifest.find("members") else {
        return false;
    };
    let list = &manifest[start..];
    let list = &list[..list.find(']').unwrap_or(list.len())];
    list.split('"')
        .skip(1)
        .step_by(2)
        .any(|entry| match entry.strip_suffix("/*") {
            Some(folder) => inside.parent() == Some(Path::new(folder)),
            None => inside == Path::new(entry),
        })
}

/// `to` seen from `from`, both absolute: `../../` back to their common folder, then down.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part.as_os_str());
    }
    path
}

/// `acme-chat` -> `AcmeChat`.
fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Makes the crate: checks that `dir` is free, writes the files, and says what to do next.
pub fn run(request: &Request, root: &Path) -> Result<PathBuf, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    let dir = match &request.dir {
        Some(dir) => normalize(&cwd.join(dir)),
        None => root.join("plugins").join(&request.name),
    };
    if dir.exists() && std::fs::read_dir(&dir).map_or(true, |mut entries| entries.next().is_some()) {
        return Err(format!(
            "{} exists and is not empty: choose another name or --dir",
            dir.display()
        ));
    }
    let files = render(request, &dir, root)?;
    for file in &files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &file.contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(dir)
}

/// `dir` without `.` and `..` parts, so it can be compared with the workspace root.
fn normalize(dir: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in dir.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What to type next, printed after the crate is made.
pub fn next_steps(request: &Request, dir: &Path) -> String {
    let kind = request.kind.word();
    let name = &request.name;
    format!(
        "made the {kind} plugin `{name}` in {dir}\n\
         next:\n  cd {dir}\n  cargo test                                           # its native tests\n  \
         cargo build --target wasm32-wasip2 --profile plugin  # the component (see its README.md)\n",
        dir = dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        weft_test_support::workspace_root()
    }

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn command_lines() {
        let request = Request::parse(&args("channel acme-chat --dir /tmp/x")).unwrap();
        assert_eq!(
            request,
            Request {
                kind: Kind::Channel,
                name: "acme-chat".into(),
                dir: Some("/tmp/x".into())
            }
        );
        let cases = [
            ("widget acme", "`widget` is no kind of plugin"),
            ("channel Acme", "`Acme` cannot name a plugin"),
            ("channel 9lives", "`9lives` cannot name a plugin"),
            ("channel acme-", "`acme-` cannot name a plugin"),
            ("channel ünïcode", "cannot name a plugin"),
            ("channel", "expected a kind and a name"),
            ("step a b", "expected a kind and a name"),
            ("step a --dir", "--dir needs a folder"),
            ("step a --force", "unknown option `--force`"),
        ];
        for (line, expected) in cases {
            let error = Request::parse(&args(line)).unwrap_err();
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(camel("acme-chat_eu"), "AcmeChatEu");
        assert_eq!(relative(Path::new("/w/plugins/x"), Path::new("/w")), Path::new("../.."));
        assert_eq!(relative(Path::new("/w/a"), Path::new("/w/b/c")), Path::new("../b/c"));
        assert_eq!(
            normalize(Path::new("/w/plugins/../examples/./x")),
            Path::new("/w/examples/x")
        );
        let manifest = "[workspace]\nmembers = [\n    \"engine\",\n    \"plugins/*\",\n]\n";
        let w = Path::new("/w");
        assert!(is_member(manifest, w, Path::new("/w/plugins/acme")));
        assert!(is_member(manifest, w, Path::new("/w/engine")));
        assert!(!is_member(manifest, w, Path::new("/w/plugins/acme/sub")));
        assert!(!is_member(manifest, w, Path::new("/w/examples/acme")));
        assert!(!is_member(manifest, w, Path::new("/tmp/acme")));
    }

    #[test]
    fn a_crate_outside_the_workspace_is_a_workspace_of_its_own() {
        let request = Request::parse(&args("channel acme-chat")).unwrap();
        let files = render(&request, Path::new("/tmp/elsewhere/acme-chat"), root()).unwrap();
        let manifest = &files[0].contents;
        assert!(manifest.contains("name = \"weft-plugin-acme-chat\""), "{manifest}");
        assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
        assert!(
            manifest.contains("[profile.plugin]\ninherits = \"release\""),
            "{manifest}"
        );
        assert!(manifest.contains(&format!("weft-sdk = {{ path = \"{}\" }}", root().join("sdk").display())));
        assert!(
            manifest.contains("serde = { version = \"1\", features = [\"derive\"] }"),
            "{manifest}"
        );
        assert!(manifest.contains("hmac = \"0.12\""), "{manifest}");
        assert!(!manifest.contains("workspace = true"), "{manifest}");
        let paths: Vec<_> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "Cargo.toml",
                "src/lib.rs",
                "tests/channel.rs",
                "README.md",
                "Cargo.lock",
                "rust-toolchain.toml",
                ".gitignore"
            ]
        );
        let lib = &files[1].contents;
        assert!(lib.contains("pub struct AcmeChatChannel;"), "{lib}");
        assert!(lib.contains("weft_sdk::export_channel!(AcmeChatChannel);"), "{lib}");
        assert!(files[2].contents.contains("use weft_plugin_acme_chat::{"));
        assert!(files[3].contents.contains("WEFT_SECRET_ACME_CHAT_TOKEN"));
        assert!(
            files[3]
                .contents
                .contains("target/wasm32-wasip2/plugin/weft_plugin_acme_chat.wasm")
        );
    }

    #[test]
    fn a_crate_under_plugins_joins_the_workspace() {
        let request = Request::parse(&args("step refund-tagger")).unwrap();
        let files = render(&request, &root().join("plugins").join("refund-tagger"), root()).unwrap();
        let manifest = &files[0].contents;
        assert!(
            manifest.contains("weft-sdk = { workspace = true, features = [\"guest\"] }"),
            "{manifest}"
        );
        assert!(manifest.contains("[lints]\nworkspace = true"), "{manifest}");
        assert!(!manifest.contains("[workspace]"), "{manifest}");
        assert!(!manifest.contains("[profile"), "{manifest}");
        assert_eq!(files.len(), 4);
        assert!(files[1].contents.contains("weft_sdk::export_step!(RefundTaggerStep);"));
        assert!(
            files[3]
                .contents
                .contains("../../target/wasm32-wasip2/plugin/weft_plugin_refund_tagger.wasm")
        );
    }

    /// The example channel (`examples/channel-plugin`) is what `cargo xtask new-plugin channel
    /// example --dir examples/channel-plugin` makes, so the template is built, linted and
    /// tested with the workspace. `BLESS=1` writes it again after a change of the template.
    #[test]
    fn the_example_channel_is_the_template() {
        let dir = root().join("examples").join("channel-plugin");
        let request = Request::parse(&args("channel example")).unwrap();
        let files = render(&request, &dir, root()).unwrap();
        for file in files {
            let path = dir.join(&file.path);
            if std::env::var_os("BLESS").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &file.contents).unwrap();
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == file.contents,
                "{} differs from what the template makes: run `BLESS=1 cargo test -p xtask`",
                path.display()
            );
        }
    }
}
