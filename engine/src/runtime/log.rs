//! The `log` capability: a plugin's diagnostic lines, kept with the step's output (bounded) and
//! emitted as `tracing` events.

use crate::runtime::bindings::step::weft::plugin::log as wit;
use crate::runtime::state::CallState;
use weft_sdk::LogLevel;

/// At most this many lines are kept per call.
const MAX_LINES: usize = 200;
/// A longer line is cut to this many bytes.
const MAX_LINE_BYTES: usize = 4096;

/// The log lines of one call.
pub(crate) struct LogState {
    pub plugin: String,
    pub step: String,
    pub lines: Vec<(LogLevel, String)>,
    pub dropped: usize,
}

impl LogState {
    pub fn new(plugin: String, step: String) -> Self {
        LogState {
            plugin,
            step,
            lines: Vec::new(),
            dropped: 0,
        }
    }

    /// The kept lines, with a last line saying how many were dropped.
    pub fn finish(mut self) -> Vec<(LogLevel, String)> {
        if self.dropped > 0 {
            self.lines
                .push((LogLevel::Warn, format!("{} more log lines were dropped", self.dropped)));
        }
        self.lines
    }

    fn record(&mut self, level: LogLevel, mut message: String) {
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (plugin, step) = (self.plugin.as_str(), self.step.as_str());
        match level {
            LogLevel::Trace => tracing::trace!(plugin, step, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, step, "{message}"),
            LogLevel::Info => tracing::info!(plugin, step, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, step, "{message}"),
            LogLevel::Error => tracing::error!(plugin, step, "{message}"),
        }
        if self.lines.len() < MAX_LINES {
            self.lines.push((level, message));
        } else {
            self.dropped += 1;
        }
    }
}

fn level_from(level: wit::Level) -> LogLevel {
    match level {
        wit::Level::Trace => LogLevel::Trace,
        wit::Level::Debug => LogLevel::Debug,
        wit::Level::Info => LogLevel::Info,
        wit::Level::Warn => LogLevel::Warn,
        wit::Level::Error => LogLevel::Error,
    }
}

impl wit::Host for LogState {
    async fn log(&mut self, level: wit::Level, message: String) -> wasmtime::Result<()> {
        self.record(level_from(level), message);
        Ok(())
    }
}

/// Links the `log` import.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, wasmtime::component::HasSelf<LogState>>(linker, |state| &mut state.log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded() {
        let mut log = LogState::new("p".into(), "s".into());
        for i in 0..MAX_LINES + 5 {
            log.record(LogLevel::Info, format!("Zeile {i}"));
        }
        log.record(LogLevel::Info, "日本語".repeat(MAX_LINE_BYTES));
        let lines = log.finish();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(
            lines.last().map(|l| l.1.as_str()),
            Some("6 more log lines were dropped")
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let mut log = LogState::new("p".into(), "s".into());
        log.record(LogLevel::Info, "日本語".repeat(MAX_LINE_BYTES));
        let line = &log.lines[0].1;
        assert!(line.len() <= MAX_LINE_BYTES + '…'.len_utf8());
        assert!(line.ends_with('…'));
    }
}
