//! The `weft` command line: argument types (clap) and one function per command.

use crate::exec::{self, DrainOptions, Pipeline};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::{Store, report};
use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "weft",
    version,
    about = "Workflow engine for cross-border e-commerce customer support"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct DbArg {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB. Only `weft run`, `weft import`
    /// and `weft demo` create a database that does not exist; other commands refuse it.
    #[arg(long, env = "WEFT_DB", default_value = "sqlite://weft.db")]
    pub(crate) db: String,
}

/// How progress is shown while a command reads input and processes events.
#[derive(Debug, Args, Clone)]
pub(crate) struct ProgressArg {
    /// When stderr is not a terminal, print a line of counts this often (`10s`, `1m`, ...) while
    /// input is read and events are processed; on a terminal a bar shows them. `0` or `off`
    /// shows no progress at all.
    #[arg(long, default_value = "10s", value_parser = parse_progress_every)]
    pub(crate) progress_every: ProgressEvery,
}

/// `--progress-every`: how often a line of counts is printed; None prints none (and shows no
/// bar either).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgressEvery(Option<std::time::Duration>);

#[derive(Debug, Args, Clone)]
pub(crate) struct PluginsArg {
    /// Folder of compiled plugins (*.wasm).
    #[arg(long, env = "WEFT_PLUGINS", default_value = "target/wasm-plugins/out")]
    pub(crate) plugins: PathBuf,
    /// Folder of models: `all-minilm-l6-v2/` there gives steps sentence embeddings.
    #[arg(long, env = "WEFT_MODELS", default_value = "target/models")]
    pub(crate) models: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the shipped workflows over the sample traffic and show what happened.
    Demo {
        /// Where the demo keeps its database; it is recreated on every run.
        #[arg(long, default_value = "sqlite://weft-demo.db")]
        db: String,
        #[command(flatten)]
        plugins: PluginsArg,
        /// Folder of sample traffic.
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
        /// Folder of workflows.
        #[arg(long, default_value = "workflows")]
        workflows: PathBuf,
    },
    /// Process .jsonl and .eml files and Maildir folders through the workflows. Exits with 2
    /// when anything was dead-lettered or a step failed (the rest is processed all the same).
    Run {
        /// Workflow files or folders.
        #[arg(long, required = true, num_args = 1..)]
        workflows: Vec<PathBuf>,
        /// Input files or folders.
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        plugins: PluginsArg,
        /// Apply nothing; print every decision as JSON lines.
        #[arg(long)]
        dry_run: bool,
        /// How many events share one transaction (a crash loses at most that many events'
        /// work, which the next run does again).
        #[arg(long, default_value_t = DrainOptions::default().events_per_commit as u64, value_parser = clap::value_parser!(u64).range(1..))]
        events_per_commit: u64,
        #[command(flatten)]
        progress: ProgressArg,
    },
    /// Import the seller's orders (JSON lines, one order each: number, channel, placed_at,
    /// buyer, shipping) and run them through the workflows that listen to `order.placed`.
    /// Every problem is reported with file:line:column, and then nothing is imported.
    Import {
        /// What to import; only `orders` for now.
        what: ImportWhat,
        /// Orders files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Workflow files or folders.
        #[arg(long, default_value = "workflows", num_args = 1..)]
        workflows: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        plugins: PluginsArg,
        #[command(flatten)]
        progress: ProgressArg,
    },
    /// Check workflow files (and a channels file) and report every problem with
    /// file:line:column.
    Validate {
        /// Workflow files or folders.
        #[arg(required_unless_present = "channels")]
        paths: Vec<PathBuf>,
        /// A channels file (`weft serve --channels`) to check too.
        #[arg(long)]
        channels: Option<PathBuf>,
        #[command(flatten)]
        plugins: PluginsArg,
    },
    /// Serve webhooks and process events continuously, firing timers when they fall due,
    /// until SIGTERM or SIGINT. Prints `listening on http://ADDR` once it accepts connections.
    Serve {
        /// Address to listen on; port 0 picks a free port (the printed line names it).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        db: DbArg,
        /// Workflow files or folders.
        #[arg(long, default_value = "workflows", num_args = 1..)]
        workflows: Vec<PathBuf>,
        /// The channels file: which channel plugin answers each `/hooks/{id}`.
        #[arg(long)]
        channels: Option<PathBuf>,
        #[command(flatten)]
        plugins: PluginsArg,
        /// The largest webhook body accepted, in bytes; larger ones get 413.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body_bytes: usize,
        /// How many requests a hook refused (unsigned, wrongly signed) it keeps as open dead
        /// letters at most, for `weft replay` once the secret is fixed; more are only logged.
        #[arg(long, default_value_t = 100)]
        max_refused_per_hook: i64,
        /// How long an agent's viewing or typing lasts unless their client renews it (`30s`,
        /// `2m`, ...).
        #[arg(long, default_value = "30s", value_parser = parse_presence_ttl)]
        presence_ttl: std::time::Duration,
    },
    /// Print the JSON Schema of the workflow format, for editors.
    Schema,
    /// Export tickets or customers as JSON lines.
    Export {
        what: ExportWhat,
        #[command(flatten)]
        db: DbArg,
    },
    /// Show a ticket's, a customer's or an event's history and every decision about it, with
    /// reasons, and the steps that failed on it.
    Explain {
        what: ExplainWhat,
        id: i64,
        #[command(flatten)]
        db: DbArg,
    },
    /// List what could not be processed.
    DeadLetters {
        #[command(flatten)]
        db: DbArg,
        /// Include those already replayed.
        #[arg(long)]
        all: bool,
    },
    /// Train a model: `weft train router` (the router's n-gram model, from labeled tickets),
    /// `weft train identity` (the identity step's weights, from the store's own messages).
    Train {
        #[command(subcommand)]
        what: TrainWhat,
    },
    /// Reports: `weft report sla`, `weft report quality`.
    Report {
        #[command(subcommand)]
        what: ReportWhat,
    },
    /// Ticket actions that stop SLA clocks: `weft ticket status`, `weft ticket reply`.
    Ticket {
        #[command(subcommand)]
        command: crate::ticket::TicketCommand,
    },
    /// The messages `weft serve` delivers: `weft outbox list`, `weft outbox retry KEY...`.
    Outbox {
        #[command(subcommand)]
        command: crate::outbox::OutboxCommand,
    },
    /// Process dead letters and failed steps again (all open ones, or those given). A step
    /// that now succeeds has its decisions applied and its failure resolved; what fails again
    /// keeps its record, with one more attempt and the last error. Exits with 2 if anything
    /// failed again.
    Replay {
        /// Dead letter ids; none (and no --step) means every open dead letter and failed step.
        ids: Vec<i64>,
        /// Ids of failed steps (as `weft explain` and `weft export tickets` show them).
        #[arg(long = "step")]
        steps: Vec<i64>,
        /// Workflow files or folders.
        #[arg(long, default_value = "workflows")]
        workflows: Vec<PathBuf>,
        /// The channels file `weft serve` used: webhooks are parsed again with their hook's
        /// `with:` and grants.
        #[arg(long)]
        channels: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        plugins: PluginsArg,
    },
    /// API tokens for `weft serve`: `weft token create --name NAME --role agent|admin|integrator`,
    /// `weft token list`, `weft token revoke NAME`.
    Token {
        #[command(subcommand)]
        command: crate::auth::TokenCommand,
    },
    /// Generate buyer traffic with ground truth (JSON lines and a truth file).
    Generate(crate::quality::command::GenerateArgs),
    /// Merge tickets into the first by hand; they keep their numbers.
    Merge(crate::operations::MergeArgs),
    /// Take a merged ticket out of the one it joined.
    Unmerge(crate::operations::UnmergeArgs),
    /// Merge or split customers by hand.
    Customer(crate::operations::CustomerArgs),
}

/// The reports of `weft report`.
#[derive(Debug, Subcommand)]
enum ReportWhat {
    #[command(flatten)]
    Quality(crate::quality::command::ReportCommand),
    #[command(flatten)]
    Sla(crate::sla_report::ReportCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportWhat {
    Tickets,
    Customers,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportWhat {
    Orders,
}

#[derive(Debug, Subcommand)]
enum TrainWhat {
    /// Train the router's n-gram model from labeled tickets and show its held-out scores.
    Router {
        /// Labeled examples: CSV (`text,intent[,lang]`) or `weft export tickets` JSON lines.
        #[arg(long)]
        data: PathBuf,
        /// Held-out examples to score on; without it every fifth example of --data is kept out.
        #[arg(long)]
        heldout: Option<PathBuf>,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
    },
    /// Learn the identity step's weights from the store's messages without labels (EM over
    /// candidate pairs, u from random pairs, how common each name word is), store them with
    /// the data for the step to use, print them, and link the customers already stored again
    /// under them (merges only, each logged and undoable).
    Identity {
        #[command(flatten)]
        db: DbArg,
        /// The match probability a link needs (the identity step's `fuzzy.min_score`).
        #[arg(long, default_value_t = 0.9)]
        min_score: f64,
        /// Learn and store the weights only; leave the stored customers as they are.
        #[arg(long)]
        no_relink: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExplainWhat {
    Ticket,
    Customer,
    /// One event: its message, its decisions and its failed steps.
    Event,
    /// One erasure of personal data: why, at whose request, what it erased.
    Erasure,
}

/// Processes every queued event and names each one that was dead-lettered, and each step that
/// failed on an event processed anyway, with the reason.
pub(crate) async fn drain_reporting(store: &Store, pipeline: &Pipeline) -> anyhow::Result<exec::DrainReport> {
    drain_showing(store, pipeline, &DrainOptions::default(), ProgressEvery(None)).await
}

/// [`drain_reporting`] with `options`, showing progress as `every` says.
async fn drain_showing(
    store: &Store,
    pipeline: &Pipeline,
    options: &DrainOptions,
    every: ProgressEvery,
) -> anyhow::Result<exec::DrainReport> {
    join_reporting(store, options).await?;
    let queued = if every.0.is_some() {
        store.pending_events().await?
    } else {
        0
    };
    let mut progress = ProcessingProgress::new(every, queued);
    let drained = exec::drain_with(store, pipeline, options, &mut |p| progress.show(p)).await;
    progress.finish();
    let drained = drained.context("processing the queued events")?;
    if drained.taken_over.events > 0 {
        eprintln!("{}", drained.taken_over);
    }
    for (event, reason) in &drained.dead {
        eprintln!("dead-lettered event {event}: {reason}");
    }
    print_failed_steps("step failed", &drained.failed_steps);
    Ok(drained)
}

/// Joins the processes that drain `store` (see `store::node`) before anything is written: on
/// SQLite, says so and waits while another weft drains the file; says what it took over from
/// a weft that stopped.
async fn join_reporting(store: &Store, options: &DrainOptions) -> anyhow::Result<()> {
    let taken = store
        .join(&options.node, &|holder| {
            eprintln!("waiting: {holder} is processing this database; this run goes on once it has finished")
        })
        .await?;
    if taken.events > 0 {
        eprintln!("{taken}");
    }
    Ok(())
}

fn print_failed_steps(what: &str, failed: &[exec::process::FailedStep]) {
    for step in failed {
        let ticket = step.ticket.map(|t| format!(", on ticket {t}")).unwrap_or_default();
        eprintln!("{what}: event {}{ticket}: {}", step.event, step.error);
    }
}

/// The exit status of a command that processed traffic: 2 when something was dead-lettered or
/// a step failed (the rest was processed), success otherwise. An error that stops weft itself
/// is 1.
fn processed_status(dead: usize, failed_steps: usize) -> ExitCode {
    if dead + failed_steps > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads the input into the queue, showing progress on the way (a bar on a terminal, a line
/// every so often otherwise, as `every` says), and names what was dead-lettered, skipped or
/// renamed.
async fn ingest_reporting(
    store: &Store,
    pipeline: &Pipeline,
    input: &[PathBuf],
    every: ProgressEvery,
) -> anyhow::Result<exec::IngestReport> {
    let mut progress = IngestProgress::new(every);
    let ingested = exec::ingest_paths_with(store, None, pipeline, input, &mut |p| progress.show(p)).await;
    progress.finish();
    let ingested = ingested?;
    for (path, reason) in &ingested.skipped {
        eprintln!("not read: {}: {reason}", path.display());
    }
    for (path, reason) in &ingested.rejected {
        eprintln!("dead-lettered {}: {reason}", path.display());
    }
    for renamed in &ingested.renamed {
        eprintln!(
            "kept {} message `{}` as `{}`: an earlier message has its id with other content",
            renamed.channel, renamed.arrived_as, renamed.kept_as
        );
    }
    if ingested.replaced_text > 0 {
        eprintln!(
            "{} messages held U+0000 in their text, stored as U+FFFD (the raw traffic is kept as it came)",
            ingested.replaced_text
        );
    }
    eprintln!(
        "read {} files: {} new messages, {} duplicates skipped (same id, same content), {} kept under a new id (same id, other content), {} dead letters, {} paths not read",
        ingested.files,
        ingested.messages,
        ingested.duplicates,
        ingested.renamed.len(),
        ingested.rejected.len(),
        ingested.skipped.len()
    );
    Ok(ingested)
}

/// Progress shown while a command runs: a bar when stderr is a terminal, otherwise a line of
/// counts every so often (for logs); nothing at all with `--progress-every off`.
struct Shown {
    bar: Option<indicatif::ProgressBar>,
    every: Option<std::time::Duration>,
    started: std::time::Instant,
    last_line: std::time::Instant,
}

impl Shown {
    fn new(every: ProgressEvery, template: &str) -> Self {
        use std::io::IsTerminal as _;
        let bar = (every.0.is_some() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let now = std::time::Instant::now();
        Shown {
            bar,
            every: every.0,
            started: now,
            last_line: now,
        }
    }

    /// Whether a line of counts is due (no bar, and `every` has passed since the last one or
    /// the start); if so, it counts as printed now.
    fn line_due(&mut self) -> bool {
        let due = self.bar.is_none() && self.every.is_some_and(|every| self.last_line.elapsed() >= every);
        if due {
            self.last_line = std::time::Instant::now();
        }
        due
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Progress of reading input.
struct IngestProgress(Shown);

impl IngestProgress {
    fn new(every: ProgressEvery) -> Self {
        IngestProgress(Shown::new(
            every,
            "{spinner} reading input {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
        ))
    }

    fn show(&mut self, progress: &exec::ingest::Progress) {
        let counts = format!(
            "file {} of {}, {} messages queued, {} dead letters",
            progress.files, progress.total_files, progress.messages, progress.rejected
        );
        if let Some(bar) = &self.0.bar {
            bar.set_length(progress.total_bytes);
            bar.set_position(progress.bytes);
            bar.set_message(counts);
        } else if self.0.line_due() {
            eprintln!(
                "reading input: {} of {} MiB, {counts}",
                progress.bytes / (1024 * 1024),
                progress.total_bytes / (1024 * 1024)
            );
        }
    }

    fn finish(&self) {
        self.0.finish();
    }
}

/// Progress of processing events; `queued` is how many waited when the drain began (events
/// that processing queues come on top, so the bar grows when they outrun it).
struct ProcessingProgress {
    shown: Shown,
    queued: u64,
}

impl ProcessingProgress {
    fn new(every: ProgressEvery, queued: i64) -> Self {
        let shown = Shown::new(
            every,
            "{spinner} processing {wide_bar} {pos}/{len} events ({per_sec}, {eta}) {msg}",
        );
        let queued = u64::try_from(queued).unwrap_or(0);
        if let Some(bar) = &shown.bar {
            bar.set_length(queued);
        }
        ProcessingProgress { shown, queued }
    }

    fn show(&mut self, progress: &exec::DrainProgress) {
        let counts = format!(
            "{} with failed steps, {} dead letters, {} to retry, {} timers fired",
            progress.with_failed_steps, progress.dead, progress.retried, progress.timers
        );
        let events = progress.events as u64;
        if let Some(bar) = &self.shown.bar {
            bar.set_length(self.queued.max(events));
            bar.set_position(events);
            bar.set_message(counts);
        } else if self.shown.line_due() {
            let seconds = self.shown.started.elapsed().as_secs_f64();
            let rate = if seconds > 0.0 { events as f64 / seconds } else { 0.0 };
            eprintln!(
                "processing: {events} events of {} queued at the start, {counts}, {rate:.0} events/s",
                self.queued
            );
        }
    }

    fn finish(&self) {
        self.shown.finish();
    }
}

/// Parses the command line, runs the command, reports errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server's log is how its operators see it work: info by default; commands print results.
    let default_level = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "error"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG").unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where compiled plugins are cached between runs.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_CACHE") {
        return dir.into();
    }
    match std::env::var_os("XDG_CACHE_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").into()))
    {
        Some(base) => Path::new(&base).join("weft"),
        None => std::env::temp_dir().join("weft-cache"),
    }
}

pub(crate) fn new_runtime(plugins: &PluginsArg) -> anyhow::Result<Arc<Runtime>> {
    let config = RuntimeConfig {
        cache_dir: Some(cache_dir()),
        models_dir: Some(plugins.models.clone()),
        perf_map: perf_map_wanted()?,
        ..RuntimeConfig::default()
    };
    Ok(Arc::new(Runtime::new(config).context("starting the plugin runtime")?))
}

/// `WEFT_WASM_PROFILE=perfmap`: the plugins' functions named for `perf` (see
/// [`RuntimeConfig::perf_map`]). Any other value is refused, not ignored.
pub fn perf_map_wanted() -> anyhow::Result<bool> {
    perf_map_from(std::env::var("WEFT_WASM_PROFILE").ok().as_deref())
}

fn perf_map_from(value: Option<&str>) -> anyhow::Result<bool> {
    match value {
        None | Some("") => Ok(false),
        Some("perfmap") => Ok(true),
        Some(other) => anyhow::bail!("WEFT_WASM_PROFILE={other:?}: the only profiler weft supports is `perfmap`"),
    }
}

fn print_jsonl(values: &[serde_json::Value]) -> anyhow::Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for value in values {
        serde_json::to_writer(&mut out, value)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo {
            db,
            plugins,
            examples,
            workflows,
        } => {
            let folders = crate::demo::Plugins {
                plugins: &plugins.plugins,
                models: &plugins.models,
            };
            crate::demo::run(&db, &folders, &examples, &workflows, new_runtime(&plugins)?).await?;
        }
        Command::Run {
            workflows,
            input,
            db,
            plugins,
            dry_run,
            events_per_commit,
            progress,
        } => {
            let pipeline = Pipeline::load(new_runtime(&plugins)?, &plugins.plugins, &workflows).await?;
            let store = Store::open(&db.db).await?;
            if dry_run {
                return dry_run_files(&store, &pipeline, &input).await;
            }
            let options = DrainOptions {
                events_per_commit: events_per_commit as usize,
                ..DrainOptions::default()
            };
            join_reporting(&store, &options).await?;
            let ingested = ingest_reporting(&store, &pipeline, &input, progress.progress_every).await?;
            let drained = drain_showing(&store, &pipeline, &options, progress.progress_every).await?;
            let dead = ingested.rejected.len() + drained.dead.len();
            eprintln!(
                "{} files, {} new messages, {} events processed, {} with failed steps, {} dead letters",
                ingested.files, ingested.messages, drained.events, drained.with_failed_steps, dead
            );
            if drained.with_failed_steps > 0 {
                eprintln!(
                    "the messages of events with failed steps are on tickets, with the failure shown (`weft explain ticket N`); fix the step and run `weft replay`"
                );
            }
            return Ok(processed_status(dead, drained.with_failed_steps));
        }
        Command::Import {
            what: ImportWhat::Orders,
            files,
            workflows,
            db,
            plugins,
            progress,
        } => {
            // The files first: their problems are worth knowing before anything loads.
            exec::orders::check_orders(&files)?;
            let pipeline = Pipeline::load(new_runtime(&plugins)?, &plugins.plugins, &workflows).await?;
            if !pipeline.listens_to(weft_sdk::ORDER_PLACED) {
                eprintln!(
                    "warning: no workflow listens to `{}`: the orders are queued but nothing reads them",
                    weft_sdk::ORDER_PLACED
                );
            }
            let store = Store::open(&db.db).await?;
            join_reporting(&store, &DrainOptions::default()).await?;
            let imported = exec::orders::queue_order_files(&store, &files).await?;
            let drained = drain_showing(&store, &pipeline, &DrainOptions::default(), progress.progress_every).await?;
            eprintln!(
                "{} orders imported, {} skipped as imported before, {} events processed, {} dead letters",
                imported.queued,
                imported.already,
                drained.events,
                drained.dead.len()
            );
        }
        Command::Validate {
            paths,
            channels,
            plugins,
        } => {
            let runtime = new_runtime(&plugins)?;
            let loaded = exec::pipeline::load_plugins(&runtime, &plugins.plugins).await?;
            let mut problems = Vec::new();
            if !paths.is_empty() {
                match exec::pipeline::load_workflows(&paths, &loaded).await {
                    Ok(workflows) => {
                        let steps: usize = workflows.iter().map(|w| w.steps.len()).sum();
                        println!("ok: {} workflows, {} steps", workflows.len(), steps);
                    }
                    Err(diagnostics) => problems.extend(diagnostics),
                }
            }
            if let Some(file) = &channels {
                match exec::pipeline::load_channels(file, &loaded).await {
                    Ok(channels) => println!("ok: {} channels", channels.mounts.len()),
                    Err(diagnostics) => problems.extend(diagnostics),
                }
            }
            if !problems.is_empty() {
                eprint!("{}", crate::workflow::Diagnostics::new(problems));
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Serve {
            listen,
            db,
            workflows,
            channels,
            plugins,
            max_body_bytes,
            max_refused_per_hook,
            presence_ttl,
        } => {
            crate::serve::run(crate::serve::ServeOptions {
                listen,
                db: db.db,
                workflows,
                channels,
                plugins,
                server: crate::server::ServeConfig {
                    max_body_bytes,
                    ..crate::server::ServeConfig::default()
                },
                presence_ttl,
                refused_per_hook: max_refused_per_hook,
            })
            .await?;
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&crate::workflow::json_schema())?);
        }
        Command::Export { what, db } => {
            let store = Store::open_existing(&db.db).await?;
            let values = match what {
                ExportWhat::Tickets => store.export_tickets().await?,
                ExportWhat::Customers => store.export_customers().await?,
            };
            print_jsonl(&values)?;
        }
        Command::Explain { what, id, db } => {
            let store = Store::open_existing(&db.db).await?;
            let text = match what {
                ExplainWhat::Ticket => crate::explain::ticket(&store, id).await?,
                ExplainWhat::Customer => crate::explain::customer(&store, id).await?,
                ExplainWhat::Event => crate::explain::event(&store, id).await?,
                ExplainWhat::Erasure => crate::explain::erasure(&store, id).await?,
            };
            print!("{text}");
        }
        Command::DeadLetters { db, all } => {
            let store = Store::open_existing(&db.db).await?;
            for letter in store.dead_letters(!all).await? {
                let place = match (&letter.workflow, &letter.step, &letter.plugin, letter.inbound) {
                    (Some(w), Some(s), _, _) => format!("workflow {w}, step {s}"),
                    (_, _, Some(p), Some(i)) => format!("inbound {i} ({p})"),
                    _ => "engine".to_owned(),
                };
                let replayed = letter
                    .replayed_at
                    .map(|t| format!(" [replayed {}]", report::rfc3339(t)))
                    .unwrap_or_default();
                let tries = if letter.attempts > 1 {
                    format!(" [failed {} times]", letter.attempts)
                } else {
                    String::new()
                };
                println!(
                    "#{} {} {place}: {}{tries}{replayed}",
                    letter.id,
                    report::rfc3339(letter.created_at),
                    letter.error
                );
            }
        }
        Command::Train {
            what: TrainWhat::Router { data, heldout, out },
        } => crate::train::run(&data, heldout.as_deref(), &out)?,
        Command::Train {
            what:
                TrainWhat::Identity {
                    db,
                    min_score,
                    no_relink,
                },
        } => {
            if !(0.0..=1.0).contains(&min_score) {
                bail!("--min-score {min_score} is not between 0 and 1");
            }
            let store = Store::open_existing(&db.db).await?;
            let outcome = crate::identity_train::run(&store, min_score, !no_relink).await?;
            print!("{}", crate::identity_train::describe(&outcome));
        }
        Command::Generate(args) => crate::quality::command::run_generate(&args)?,
        Command::Report { what } => match what {
            ReportWhat::Quality(report) => crate::quality::command::run_report(&report).await?,
            ReportWhat::Sla(report) => crate::sla_report::run(report).await?,
        },
        Command::Ticket { command } => crate::ticket::run(command).await?,
        Command::Outbox { command } => {
            if !crate::outbox::run(command).await? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Replay {
            ids,
            steps,
            workflows,
            channels,
            db,
            plugins,
        } => {
            let mut pipeline = Pipeline::load(new_runtime(&plugins)?, &plugins.plugins, &workflows).await?;
            if let Some(file) = &channels {
                pipeline.mount_channels(file).map_err(|d| anyhow::anyhow!("{d}"))?;
            }
            let store = Store::open_existing(&db.db).await?;
            join_reporting(&store, &DrainOptions::default()).await?;
            let letters = store.dead_letters(true).await?;
            let failures = store.open_step_failures(&steps).await?;
            let chosen: Vec<_> = if ids.is_empty() && !steps.is_empty() {
                Vec::new()
            } else if ids.is_empty() {
                letters
            } else {
                let mut chosen = Vec::new();
                for id in &ids {
                    match letters.iter().find(|l| l.id == *id) {
                        Some(l) => chosen.push(l.clone()),
                        None => bail!("dead letter {id} does not exist or was already replayed"),
                    }
                }
                chosen
            };
            for id in &steps {
                if !failures.iter().any(|f| f.id == *id) {
                    bail!("step failure {id} does not exist or was already resolved");
                }
            }
            let failures: Vec<i64> = if steps.is_empty() && !ids.is_empty() {
                Vec::new()
            } else {
                failures.iter().map(|f| f.id).collect()
            };
            let mut reparsed = 0;
            let mut letters_again = 0;
            for letter in &chosen {
                match exec::replay::replay_dead_letter(&store, &pipeline, letter).await? {
                    exec::replay::LetterReplayed::Requeued => {}
                    exec::replay::LetterReplayed::Parsed(n) => reparsed += n,
                    exec::replay::LetterReplayed::FailedAgain(reason) => {
                        eprintln!("dead letter #{} failed again: {reason}", letter.id);
                        letters_again += 1;
                    }
                }
            }
            let replayed = if failures.is_empty() {
                exec::ReplayReport::default()
            } else {
                exec::replay_failed_steps(&store, &pipeline, &failures).await?
            };
            print_failed_steps("step failed again", &replayed.failed_again);
            let drained = exec::drain(&store, &pipeline, &DrainOptions::default())
                .await
                .context("processing the queued events")?;
            for (event, reason) in &drained.dead {
                eprintln!("dead letter of event {event} failed again: {reason}");
            }
            print_failed_steps("step failed", &drained.failed_steps);
            let dead = letters_again + drained.dead.len();
            let failed_steps = replayed.failed_again.len() + drained.failed_steps.len();
            eprintln!(
                "replayed {} dead letters and {} failed steps: {} messages parsed, {} events processed, {} steps now applied, {} failed again ({} dead letters, {} steps)",
                chosen.len(),
                failures.len(),
                reparsed,
                drained.events + replayed.events,
                replayed.resolved,
                dead + failed_steps,
                dead,
                failed_steps
            );
            return Ok(processed_status(dead, failed_steps));
        }
        Command::Token { command } => println!("{}", crate::auth::run(command).await?),
        Command::Merge(args) => println!("{}", crate::operations::merge(args).await?),
        Command::Unmerge(args) => println!("{}", crate::operations::unmerge(args).await?),
        Command::Customer(args) => println!("{}", crate::operations::customer(args).await?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the input through the workflows inside one transaction that is rolled back, printing
/// every decision as a JSON line.
async fn dry_run_files(store: &Store, pipeline: &Pipeline, input: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut unit = store.unit().await?;
    let ingested = exec::ingest_paths(store, Some(&mut unit), pipeline, input).await;
    let ingested = match ingested {
        Ok(i) => i,
        Err(e) => {
            unit.rollback().await?;
            return Err(e);
        }
    };
    let (unit, drained) = exec::drain_within(unit, pipeline, 256).await;
    unit.rollback().await?;
    let drained = drained?;
    let lines: Vec<serde_json::Value> = drained
        .decided
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    print_jsonl(&lines)?;
    for (path, reason) in &ingested.skipped {
        eprintln!("not read: {}: {reason}", path.display());
    }
    for (path, reason) in &ingested.rejected {
        eprintln!("would dead-letter {}: {reason}", path.display());
    }
    for (event, reason) in &drained.dead {
        eprintln!("would dead-letter event {event}: {reason}");
    }
    print_failed_steps("a step would fail", &drained.failed_steps);
    eprintln!(
        "dry run: {} decisions over {} events, {} with failed steps; nothing was written",
        lines.len(),
        drained.events,
        drained.with_failed_steps
    );
    Ok(ExitCode::SUCCESS)
}

/// `--presence-ttl`: a duration in the SDK's grammar, more than zero.
fn parse_presence_ttl(text: &str) -> Result<std::time::Duration, String> {
    let span = weft_sdk::duration::Duration::parse(text).map_err(|e| e.to_string())?;
    if span.is_zero() {
        return Err("a presence that lasts no time could never be seen: give more than 0".to_owned());
    }
    Ok(std::time::Duration::from_millis(span.as_millis() as u64))
}

/// `--progress-every`: a duration in the SDK's grammar; zero (`0s`, or a bare `0`, which the
/// grammar would refuse for want of a unit but cannot be misread) or `off` shows no progress.
fn parse_progress_every(text: &str) -> Result<ProgressEvery, String> {
    if matches!(text.trim(), "off" | "0") {
        return Ok(ProgressEvery(None));
    }
    let span = weft_sdk::duration::Duration::parse(text).map_err(|e| format!("{e}, or `off`"))?;
    Ok(ProgressEvery(
        (!span.is_zero()).then(|| std::time::Duration::from_millis(span.as_millis() as u64)),
    ))
}

#[cfg(test)]
mod tests {
    use super::{parse_progress_every, perf_map_from};
    use std::time::Duration;

    #[test]
    fn progress_every_values() {
        let ms = Duration::from_millis;
        // (value, how often a line is printed, or what the refusal says)
        let cases: &[(&str, Result<Option<Duration>, &str>)] = &[
            ("10s", Ok(Some(ms(10_000)))),
            ("1ms", Ok(Some(ms(1)))),
            ("1h30m", Ok(Some(ms(5_400_000)))),
            (" 2m ", Ok(Some(ms(120_000)))),
            ("0s", Ok(None)),
            ("0ms", Ok(None)),
            ("0", Ok(None)),
            ("off", Ok(None)),
            ("10", Err("`10` has no unit")),
            ("1.5s", Err("is a fraction")),
            ("-1s", Err("a duration has no sign")),
            ("never", Err("does not start with a number")),
            ("Off", Err("does not start with a number")),
            ("10秒", Err("unknown unit `秒`")),
            ("", Err("it is empty")),
        ];
        for (value, expected) in cases {
            match (parse_progress_every(value), expected) {
                (Ok(every), Ok(wanted)) => assert_eq!(every.0, *wanted, "{value:?}"),
                (Err(error), Err(says)) => {
                    assert!(
                        error.contains(says) && error.ends_with(", or `off`"),
                        "{value:?}: {error}"
                    )
                }
                (got, _) => panic!("{value:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn wasm_profile_values() {
        assert!(!perf_map_from(None).unwrap());
        assert!(!perf_map_from(Some("")).unwrap());
        assert!(perf_map_from(Some("perfmap")).unwrap());
        let err = perf_map_from(Some("jitdump")).unwrap_err().to_string();
        assert_eq!(
            err,
            "WEFT_WASM_PROFILE=\"jitdump\": the only profiler weft supports is `perfmap`"
        );
    }
}
