//! `weft serve`: loads plugins, workflows and channels, opens the store, binds the address,
//! and runs the HTTP server and the live loop side by side until SIGTERM or SIGINT.
//!
//! The outbox sender (`exec::outbox`) runs beside them, delivering what the workflows and the
//! agents queue, the poller (`exec::poll`), asking channels without webhooks for what is
//! new, and the Maildir reader (`exec::maildir`), keeping the mail that arrives in the mail
//! mounts' folders.
//!
//! Shutdown: the server stops accepting and answers the requests in flight (each was kept
//! before its 2xx, or not acknowledged at all); then the live loop finishes its round, so
//! everything kept is parsed and processed and committed, while the sender claims nothing more
//! and records the outcome of the calls in flight; then the process exits 0.
//!
//! While serving, the workflows, the channels file and the plugins are watched and reloaded
//! when they change (`crate::reload`).

use crate::exec::{Live, LiveOptions, Mailboxes, Poller, Sender, SenderOptions};
use crate::metrics::Metrics;
use crate::reload::{self, Sources};
use crate::server::{self, ServeConfig};
use crate::store::Store;
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What `weft serve` needs, as the command line gives it.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    pub listen: SocketAddr,
    pub db: String,
    pub workflows: Vec<PathBuf>,
    pub channels: Option<PathBuf>,
    pub plugins: crate::cli::PluginsArg,
    pub server: ServeConfig,
    /// How long a presence lasts unless renewed.
    pub presence_ttl: std::time::Duration,
    /// How many refused requests a hook keeps as open dead letters at most.
    pub refused_per_hook: i64,
}

/// Runs `weft serve` until a signal. Prints `listening on http://ADDR` once the socket accepts.
pub(crate) async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let runtime = crate::cli::new_runtime(&options.plugins)?;
    let sources = Sources {
        plugins: options.plugins.plugins.clone(),
        workflows: options.workflows.clone(),
        channels: options.channels.clone(),
    };
    let pipeline = reload::load(&runtime, &sources).await?;
    for workflow in &pipeline.workflows {
        tracing::info!(workflow = %workflow.name, version = %workflow.version, file = %workflow.file.display(), "workflow loaded");
    }
    let store = Store::open(&options.db).await?;
    let mut live_options = LiveOptions::default();
    live_options.feed.presence_ttl = options.presence_ttl;
    live_options.refused_per_hook = options.refused_per_hook;
    let live = Arc::new(Live::new(
        store,
        Arc::new(pipeline),
        Arc::new(Metrics::default()),
        live_options,
    ));
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, channels = live.pipeline().channels.mounts.len(), "serving");
    let watching = reload::watch(Arc::clone(&live), runtime, sources)?;
    let served = serve_until(listener, options.server, live, signal()).await;
    drop(watching);
    served
}

/// Serves and runs the live loop until `stop` completes, then shuts both down in order.
pub async fn serve_until(
    listener: TcpListener,
    config: ServeConfig,
    live: Arc<Live>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (loop_stop, loop_stopped) = watch::channel(false);
    let sender = tokio::spawn(Sender::new(Arc::clone(&live), SenderOptions::default()).run(loop_stopped.clone()));
    let poller = tokio::spawn(Poller::new(Arc::clone(&live)).run(loop_stopped.clone()));
    let mailboxes = tokio::spawn(Mailboxes::new(Arc::clone(&live)).run(loop_stopped.clone()));
    let worker = tokio::spawn({
        let live = Arc::clone(&live);
        async move { live.run(loop_stopped).await }
    });
    let served = server::serve(listener, config, live, stop).await;
    tracing::info!("stopped accepting; finishing what was kept");
    let _ = loop_stop.send(true);
    worker.await.context("the live loop panicked")?;
    sender.await.context("the outbox sender panicked")?;
    poller.await.context("the poller panicked")?;
    mailboxes.await.context("the Maildir reader panicked")?;
    served.context("the HTTP server failed")?;
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
async fn signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
