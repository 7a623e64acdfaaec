//! [`Runtime`]: the one object a host holds.
//!
//! A runtime owns a thread pool of its own (never rayon's global pool: a host
//! process such as Resolve may load several plugins, each with its runtime),
//! its logging destination and level, and the location of its cache. Work the
//! runtime runs inside [`Runtime::install`] uses that pool and that logging.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use tracing::level_filters::LevelFilter;
use tracing::{Dispatch, Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use crate::error::{Error, ErrorKind, Result};
use crate::frame::{FrameView, FrameViewMut};

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

/// Settings for a [`Runtime`]. `Default` gives a runtime that uses every core,
/// logs warnings to standard error and caches under the user's cache directory.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where takes and compiled components are cached. `None` means
    /// `$MATTEBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/mattebox`, else `~/.cache/mattebox`.
    pub cache_dir: Option<PathBuf>,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Least severe level that is logged.
    pub log_level: LogLevel,
    /// Where log lines go.
    pub log_sink: LogSink,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { cache_dir: None, threads: 0, log_level: LogLevel::Warn, log_sink: LogSink::Stderr }
    }
}

/// Most threads a runtime accepts; more is a mistake, not a machine.
pub const MAX_THREADS: usize = 1024;

/// The handle a host holds: thread pool, logging and cache location.
///
/// `Runtime` is `Send + Sync`; share it between threads with a reference or an `Arc`.
pub struct Runtime {
    pool: rayon::ThreadPool,
    dispatch: Dispatch,
    cache_dir: PathBuf,
    threads: usize,
    log_level: LogLevel,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("threads", &self.threads)
            .field("cache_dir", &self.cache_dir)
            .field("log_level", &self.log_level)
            .finish()
    }
}

impl Runtime {
    /// Builds a runtime. Fails on an absurd thread count or if the pool cannot start.
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n if n > MAX_THREADS => {
                return Err(Error::invalid_argument(format!("{n} threads requested; the limit is {MAX_THREADS}")));
            }
            n => n,
        };
        let dispatch = make_dispatch(config.log_level, &config.log_sink);
        let pool_dispatch = dispatch.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mattebox-{i}"))
            .start_handler(move |_| {
                // The guard would reset the default when dropped; the thread
                // lives exactly as long as the pool, so it is kept forever.
                std::mem::forget(tracing::dispatcher::set_default(&pool_dispatch));
            })
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("could not start {threads} worker threads: {e}")))?;
        let cache_dir = config.cache_dir.unwrap_or_else(default_cache_dir);
        #[cfg(feature = "video")]
        crate::media::video::init_ffmpeg(config.log_level);
        let runtime = Runtime { pool, dispatch, cache_dir, threads, log_level: config.log_level };
        runtime.in_logging(|| tracing::debug!(threads, cache_dir = %runtime.cache_dir.display(), "runtime started"));
        Ok(runtime)
    }

    /// Number of worker threads in this runtime's pool.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The configured log level.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }

    /// The cache directory (it may not exist yet; see [`Runtime::ensure_cache_dir`]).
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Creates the cache directory if needed and returns it.
    pub fn ensure_cache_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.cache_dir)
            .map_err(|e| Error::io(&self.cache_dir, "create the cache directory", e))?;
        Ok(&self.cache_dir)
    }

    /// Runs `op` on this runtime's pool, with this runtime's logging; parallel
    /// work inside `op` (rayon iterators) stays on this pool.
    pub fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        self.pool.install(op)
    }

    /// Runs `op` on the calling thread with this runtime's logging.
    pub fn in_logging<R>(&self, op: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, op)
    }

    /// Converts `src` into `dst` (same size, any formats) on this runtime's pool.
    pub fn convert_frame(&self, src: &FrameView<'_>, dst: &mut FrameViewMut<'_>) -> Result<()> {
        self.install(|| crate::frame::convert(src, dst))
    }

    /// Retimes a media file (frame-rate conversion, slow motion, speed
    /// ramps); see [`crate::pipeline::retime`]. `progress` is called from
    /// the calling thread as work advances.
    #[cfg(feature = "images")]
    pub fn retime(
        &self,
        job: &crate::pipeline::retime::RetimeJob,
        progress: &mut dyn FnMut(crate::pipeline::retime::Progress),
    ) -> Result<crate::pipeline::retime::RetimeReport> {
        self.in_logging(|| crate::pipeline::retime::run(self, job, progress))
    }

    /// Composites a plate over a background, file to file; see
    /// [`crate::pipeline::composite`]. `progress` gets (frames done, total).
    #[cfg(feature = "images")]
    pub fn composite(
        &self,
        job: &crate::pipeline::composite::CompositeJob,
        progress: &mut dyn FnMut(crate::pipeline::composite::Progress),
    ) -> Result<crate::pipeline::composite::CompositeReport> {
        self.in_logging(|| crate::pipeline::composite::run(self, job, progress))
    }

    /// Opens a video file, an image sequence or a still image for reading;
    /// the video decoder uses as many threads as this runtime unless
    /// `options` says otherwise.
    #[cfg(any(feature = "images", feature = "video"))]
    pub fn open_media(&self, path: &Path, options: &crate::media::OpenOptions) -> Result<crate::media::MediaReader> {
        let mut options = options.clone();
        if options.decoder_threads == 0 {
            options.decoder_threads = self.threads;
        }
        self.in_logging(|| crate::media::MediaReader::open(path, &options))
    }
}

fn default_cache_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = env("MATTEBOX_CACHE_DIR") {
        return dir;
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        return dir.join("mattebox");
    }
    if let Some(home) = env("HOME") {
        return home.join(".cache").join("mattebox");
    }
    std::env::temp_dir().join("mattebox-cache")
}

fn make_dispatch(level: LogLevel, sink: &LogSink) -> Dispatch {
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
    use parking_lot::Mutex;

    #[test]
    fn pool_is_private_and_sized() {
        let rt = Runtime::new(RuntimeConfig { threads: 3, ..Default::default() }).unwrap();
        assert_eq!(rt.threads(), 3);
        assert_eq!(rt.install(rayon::current_num_threads), 3);
        // The caller's thread is not one of the runtime's workers.
        assert_eq!(rayon::current_thread_index(), None);
    }

    #[test]
    fn rejects_absurd_thread_count() {
        let err = Runtime::new(RuntimeConfig { threads: 1_000_000, ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("1000000 threads"), "{err}");
    }

    #[test]
    fn logs_go_to_the_runtime_callback_only() {
        let lines = Arc::new(Mutex::new(Vec::<(LogLevel, String)>::new()));
        let sink = lines.clone();
        let cb: LogCallback = Arc::new(move |level, line| sink.lock().push((level, line.to_owned())));
        let rt = Runtime::new(RuntimeConfig {
            threads: 2,
            log_level: LogLevel::Info,
            log_sink: LogSink::Callback(cb),
            ..Default::default()
        })
        .unwrap();
        rt.install(|| tracing::info!("from the pool"));
        rt.in_logging(|| tracing::debug!("below the level"));
        rt.in_logging(|| tracing::warn!(frame = 3, "on the caller"));
        tracing::warn!("outside any runtime");
        let got = lines.lock().clone();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], (LogLevel::Info, "from the pool".to_owned()));
        assert_eq!(got[1].0, LogLevel::Warn);
        assert!(got[1].1.contains("on the caller") && got[1].1.contains("frame=3"), "{got:?}");
    }

    #[test]
    fn parses_log_levels() {
        assert_eq!("WARNING".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert!("loud".parse::<LogLevel>().is_err());
    }
}
