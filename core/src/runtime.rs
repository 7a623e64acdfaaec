//! [`Runtime`]: the one object a host holds.
//!
//! A runtime owns a thread pool of its own (never rayon's global pool: a host
//! process such as Resolve may load several plugins, each with its runtime),
//! its logging destination and level, and the location of its cache. Work the
//! runtime runs inside [`Runtime::install`] uses that pool and that logging.
//!
//! The runtime sits at the bottom of the core: media, algorithms and jobs
//! take a `&Runtime`; it calls none of them.

use std::fmt;
use std::path::{Path, PathBuf};

use tracing::Dispatch;

use crate::error::{Error, ErrorKind, Result};
use crate::frame::{FrameView, FrameViewMut};
use crate::logging::{self, LogLevel, LogSink};

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
            0 => granted_threads(),
            n if n > MAX_THREADS => {
                return Err(Error::invalid_argument(format!("{n} threads requested; the limit is {MAX_THREADS}")));
            }
            n => n,
        };
        let dispatch = logging::dispatch(config.log_level, &config.log_sink);
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
        logging::request_native_level(config.log_level);
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
}

/// The threads a runtime gets by default: the cores this process may use
/// (its CPU affinity and its cgroup's CPU quota, as the standard library
/// reads them), and no more than a Slurm task was granted
/// (`$SLURM_CPUS_PER_TASK`), since a batch job may be placed on a node whose
/// cores other jobs share.
pub fn granted_threads() -> usize {
    let available = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    threads_within(available, std::env::var("SLURM_CPUS_PER_TASK").ok().as_deref())
}

/// `available`, capped by a scheduler's grant when it is a count above zero.
fn threads_within(available: usize, granted: Option<&str>) -> usize {
    match granted.and_then(|g| g.trim().parse::<usize>().ok()) {
        Some(g) if g > 0 => available.min(g),
        _ => available,
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

/// Mattebox's data folder `name` (`plugins`, `models`):
/// `$XDG_DATA_HOME/mattebox/NAME`, else `~/.local/share/mattebox/NAME`, where
/// plugin hosts without an environment of their own look.
pub(crate) fn data_dir(name: &str) -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local").join("share")))?;
    Some(home.join("mattebox").join(name))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::*;
    use crate::logging::LogCallback;

    #[test]
    fn a_slurm_grant_caps_the_default_threads() {
        assert_eq!(threads_within(8, Some("2")), 2);
        assert_eq!(threads_within(2, Some("16")), 2, "a grant beyond the cores gives the cores");
        assert_eq!(threads_within(4, Some("0")), 4);
        assert_eq!(threads_within(4, Some("two")), 4);
        assert_eq!(threads_within(4, None), 4);
    }

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
}
