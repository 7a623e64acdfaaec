//! Logging: levels, where lines go, and the one level native libraries
//! (ffmpeg) are told, which is process-wide where everything else is per
//! [`crate::Runtime`].

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;
use tracing::level_filters::LevelFilter;
use tracing::{Dispatch, Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use crate::error::{Error, Result};

/// How much the runtime logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures only.
    Error,
    /// Failures and things that look wrong (the default).
    Warn,
    /// One line per significant step.
    Info,
    /// Details useful when reporting a bug.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }

    fn from_tracing(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }
}

impl FromStr for LogLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "off" => LogLevel::Off,
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            "trace" => LogLevel::Trace,
            _ => {
                return Err(Error::invalid_argument(format!(
                    "unknown log level {s:?}; use off, error, warn, info, debug or trace"
                )));
            }
        })
    }
}

/// A function that receives each log line (without a trailing newline).
pub type LogCallback = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Where log lines go.
#[derive(Clone, Default)]
pub enum LogSink {
    /// Standard error, one line per event (the default).
    #[default]
    Stderr,
    /// A host function, for hosts that have their own log window.
    Callback(LogCallback),
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogSink::Stderr => "Stderr",
            LogSink::Callback(_) => "Callback(..)",
        })
    }
}

/// The level native libraries log at, as the latest runtime asked
/// (`u8::MAX`: none asked yet).
static NATIVE_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// Asks native libraries to log at `level`: they hold one process-wide
/// level, so the latest runtime made decides it.
pub(crate) fn request_native_level(level: LogLevel) {
    NATIVE_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The level native libraries should log at; [`LogLevel::Warn`] until a
/// runtime asks.
#[cfg_attr(not(feature = "video"), allow(dead_code))]
pub(crate) fn native_level() -> LogLevel {
    const LEVELS: [LogLevel; 6] =
        [LogLevel::Off, LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace];
    LEVELS.get(NATIVE_LEVEL.load(Ordering::Relaxed) as usize).copied().unwrap_or(LogLevel::Warn)
}

/// A tracing dispatcher that writes events at `level` and above to `sink`.
pub(crate) fn dispatch(level: LogLevel, sink: &LogSink) -> Dispatch {
    let builder = tracing_subscriber::fmt().with_max_level(level.filter()).with_target(false);
    match sink {
        LogSink::Stderr => Dispatch::new(builder.with_writer(std::io::stderr).finish()),
        LogSink::Callback(cb) => {
            Dispatch::new(builder.without_time().with_level(false).with_writer(CallbackWriter(cb.clone())).finish())
        }
    }
}

/// Hands each formatted event to a host callback, one call per line.
struct CallbackWriter(LogCallback);

impl<'a> MakeWriter<'a> for CallbackWriter {
    type Writer = CallbackLine;

    fn make_writer(&'a self) -> CallbackLine {
        CallbackLine { level: LogLevel::Info, buf: Vec::new(), cb: self.0.clone() }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> CallbackLine {
        CallbackLine { level: LogLevel::from_tracing(meta.level()), buf: Vec::new(), cb: self.0.clone() }
    }
}

struct CallbackLine {
    level: LogLevel,
    buf: Vec<u8>,
    cb: LogCallback,
}

impl Write for CallbackLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for CallbackLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let line = text.trim_end();
        if !line.is_empty() {
            (self.cb)(self.level, line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_levels() {
        assert_eq!("WARNING".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert!("loud".parse::<LogLevel>().is_err());
    }
}
