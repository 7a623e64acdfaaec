//! Generation jobs: takes run off the caller's thread, several jobs at
//! once, each generator limited to its own number of takes in flight, every
//! finished take stored in the take cache before it is reported.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex, RwLock};

use super::cache::{TakeCache, TakeWriter};
use super::{BuiltinGenerator, FrameSink, Generator, GeneratorInfo, TakeContext};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::Frame;
use crate::runtime::Runtime;
use crate::shot::{Deviation, Field};
use crate::shot::{ShotRequest, Take, TakeTimings};

/// Most takes one job may ask for.
pub const MAX_TAKES: u32 = 16;

/// Where one take of a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeStage {
    /// Waiting for its generator to have a free slot.
    Queued,
    /// Being generated.
    Running,
    /// Finished (generated now or found in the cache).
    Done,
    /// Failed; see the message.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl TakeStage {
    /// A short stable name (`queued`, `running`, `done`, `failed`, `cancelled`).
    pub fn name(self) -> &'static str {
        match self {
            TakeStage::Queued => "queued",
            TakeStage::Running => "running",
            TakeStage::Done => "done",
            TakeStage::Failed => "failed",
            TakeStage::Cancelled => "cancelled",
        }
    }

    /// Whether the take will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, TakeStage::Done | TakeStage::Failed | TakeStage::Cancelled)
    }
}

/// A snapshot of one take of a job.
#[derive(Clone, Debug)]
pub struct TakeStatus {
    /// Which take (0-based).
    pub index: u32,
    /// Where it is.
    pub stage: TakeStage,
    /// How far (0 to 1).
    pub fraction: f32,
    /// The take, once done.
    pub take: Option<Take>,
    /// What went wrong, once failed or cancelled.
    pub error: Option<(ErrorKind, String)>,
}

struct Slots {
    busy: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl Slots {
    /// Waits for a free slot; `None` if cancelled while waiting.
    fn acquire(&self, cancel: &AtomicBool) -> Option<SlotGuard<'_>> {
        let mut busy = self.busy.lock();
        while *busy >= self.limit {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            // Woken when a slot frees; the timeout only notices cancellation.
            self.freed.wait_for(&mut busy, Duration::from_millis(50));
        }
        *busy += 1;
        Some(SlotGuard(self))
    }
}

struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock() -= 1;
        self.0.freed.notify_one();
    }
}

struct Registered {
    generator: Arc<dyn Generator>,
    slots: Slots,
}

struct Inner {
    runtime: Arc<Runtime>,
    cache: TakeCache,
    generators: RwLock<BTreeMap<String, Arc<Registered>>>,
    /// Where adapters' settings are read from (`None`: nowhere).
    settings_dir: RwLock<Option<std::path::PathBuf>>,
}

/// The generation service a host holds: generators by id, the take cache,
/// and the jobs.
#[derive(Clone)]
pub struct Generations {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.inner.generators.read().keys().cloned().collect();
        f.debug_struct("Generations").field("generators", &ids).field("cache", &self.inner.cache.dir()).finish()
    }
}

impl Generations {
    /// The service with the built-in generator, caching takes under the
    /// runtime's cache directory (`<cache>/takes`).
    pub fn new(runtime: Arc<Runtime>) -> Result<Generations> {
        let cache = TakeCache::new(runtime.cache_dir().join("takes"));
        Ok(Generations::with_cache(runtime, cache))
    }

    /// The service with the built-in generator and the given cache.
    pub fn with_cache(runtime: Arc<Runtime>, cache: TakeCache) -> Generations {
        let generations = Generations {
            inner: Arc::new(Inner {
                runtime,
                cache,
                generators: RwLock::new(BTreeMap::new()),
                settings_dir: RwLock::new(super::default_settings_dir()),
            }),
        };
        generations.register(Arc::new(BuiltinGenerator::default()));
        generations
    }

    /// Reads adapters' settings from `dir` instead of the default
    /// ([`super::default_settings_dir`]); `None` reads none.
    pub fn set_settings_dir(&self, dir: Option<std::path::PathBuf>) {
        *self.inner.settings_dir.write() = dir;
    }

    /// Adds a generator, replacing one with the same id.
    pub fn register(&self, generator: Arc<dyn Generator>) {
        let info = generator.info();
        let slots = Slots { busy: Mutex::new(0), freed: Condvar::new(), limit: info.max_concurrent.max(1) };
        let id = info.id.clone();
        self.inner.generators.write().insert(id, Arc::new(Registered { generator, slots }));
    }

    /// What each registered generator is, by id.
    pub fn generators(&self) -> Vec<GeneratorInfo> {
        self.inner.generators.read().values().map(|r| r.generator.info().clone()).collect()
    }

    /// The runtime jobs run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    /// The take cache.
    pub fn cache(&self) -> &TakeCache {
        &self.inner.cache
    }

    /// The take-cache key take `take` of `request` from `generator` has (or
    /// will have once made): what a host that cannot decode the request's
    /// inputs itself asks, to find the takes a job made.
    pub fn take_key(&self, generator: &str, request: ShotRequest, take: u32) -> Result<String> {
        let request = self.with_settings(generator, request)?;
        let registered = self
            .inner
            .generators
            .read()
            .get(generator)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no generator {generator:?} is loaded")))?;
        let info = registered.generator.info();
        Ok(request.take_key(&info.id, &info.version, take))
    }

    /// `request` with the user's settings for adapter `generator` filling
    /// the extras it lacks, checked.
    fn with_settings(&self, generator: &str, mut request: ShotRequest) -> Result<ShotRequest> {
        if generator != "builtin"
            && super::check_adapter_id(generator).is_ok()
            && let Some(dir) = self.inner.settings_dir.read().as_deref()
        {
            // The user's settings for this adapter, before anything is keyed.
            super::AdapterSettings::load(dir, generator)?.apply(&mut request)?;
        }
        request.check()?;
        Ok(request)
    }

    /// Starts a job for `takes` takes of `request` from `generator`; it
    /// runs on threads of its own. The user's settings for an adapter
    /// ([`super::AdapterSettings`]) fill the extras the request lacks first.
    /// Fails at once on an unknown generator or a bad request.
    pub fn submit(&self, generator: &str, request: ShotRequest, takes: u32) -> Result<GenerationJob> {
        let request = self.with_settings(generator, request)?;
        if takes == 0 || takes > MAX_TAKES {
            return Err(Error::invalid_argument(format!("{takes} takes asked for; ask for 1 to {MAX_TAKES}")));
        }
        let registered = self.inner.generators.read().get(generator).cloned().ok_or_else(|| {
            let known: Vec<String> = self.inner.generators.read().keys().cloned().collect();
            Error::new(ErrorKind::NotFound, format!("no generator {generator:?}; installed: {}", known.join(", ")))
        })?;
        let shared = Arc::new(JobShared {
            statuses: Mutex::new(
                (0..takes)
                    .map(|index| TakeStatus { index, stage: TakeStage::Queued, fraction: 0.0, take: None, error: None })
                    .collect(),
            ),
            cancel: AtomicBool::new(false),
            finished: Mutex::new(false),
            done: Condvar::new(),
        });
        let (inner, job) = (self.inner.clone(), shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("mattebox-generate-{generator}"))
            .spawn(move || {
                inner.runtime.in_logging(|| {
                    let groups = missing_groups(&inner, &registered, &request, takes, &job);
                    std::thread::scope(|scope| {
                        for group in &groups {
                            let (inner, job, registered, request) = (&inner, &job, &registered, &request);
                            scope.spawn(move || {
                                inner.runtime.in_logging(|| run_group(inner, registered, request, group, job))
                            });
                        }
                    })
                });
                *job.finished.lock() = true;
                job.done.notify_all();
            })
            .map_err(|e| Error::internal(format!("could not start a generation thread: {e}")))?;
        Ok(GenerationJob { shared, thread: Mutex::new(Some(thread)) })
    }
}

struct JobShared {
    statuses: Mutex<Vec<TakeStatus>>,
    cancel: AtomicBool,
    finished: Mutex<bool>,
    done: Condvar,
}

impl JobShared {
    /// Records how take `index` ended.
    fn settle(&self, index: u32, outcome: Result<Take>) {
        self.update(index, |status| match outcome {
            Ok(take) => {
                status.stage = TakeStage::Done;
                status.fraction = 1.0;
                status.take = Some(take);
            }
            Err(err) => {
                status.stage =
                    if err.kind() == ErrorKind::Cancelled { TakeStage::Cancelled } else { TakeStage::Failed };
                // The caller reports it (the status carries it): logged once, quietly.
                tracing::debug!(take = index + 1, error = %err, "take did not finish");
                status.error = Some((err.kind(), format!("take {}: {err}", index + 1)));
            }
        });
    }

    fn is_final(&self, index: u32) -> bool {
        self.statuses.lock().get(index as usize).is_none_or(|s| s.stage.is_final())
    }

    fn update(&self, index: u32, f: impl FnOnce(&mut TakeStatus)) {
        if let Some(status) = self.statuses.lock().get_mut(index as usize) {
            f(status);
        }
    }
}

/// Serves the takes the cache has, and groups the others into calls of at
/// most the generator's `takes_per_call` takes each.
fn missing_groups(
    inner: &Inner,
    registered: &Registered,
    request: &ShotRequest,
    takes: u32,
    job: &JobShared,
) -> Vec<Vec<u32>> {
    let info = registered.generator.info();
    let mut missing = Vec::new();
    for index in 0..takes {
        match inner.cache.lookup(&request.take_key(&info.id, &info.version, index)) {
            Ok(Some(take)) => {
                tracing::info!(take = index + 1, key = %&take.key[..12.min(take.key.len())], "served from the take cache");
                job.settle(index, Ok(Take { index, ..take }));
            }
            Ok(None) => missing.push(index),
            Err(err) => job.settle(index, Err(err)),
        }
    }
    missing.chunks(info.takes_per_call.max(1) as usize).map(<[u32]>::to_vec).collect()
}

/// Makes the takes `group` in one call of the generator; the takes it
/// did not make then run one call each.
fn run_group(inner: &Inner, registered: &Registered, request: &ShotRequest, group: &[u32], job: &JobShared) {
    let outcome = catch_unwind(AssertUnwindSafe(|| generate_group(inner, registered, request, group, job)))
        .unwrap_or_else(|_| Err(Error::internal(format!("generator {} panicked", registered.generator.info().id))));
    match outcome {
        Ok(left) if group.len() > 1 && !left.is_empty() => {
            tracing::info!(takes = left.len(), "the call made fewer takes than asked; the rest are asked one by one");
            std::thread::scope(|scope| {
                for index in &left {
                    let group = std::slice::from_ref(index);
                    scope.spawn(move || inner.runtime.in_logging(|| run_group(inner, registered, request, group, job)));
                }
            })
        }
        Ok(left) => {
            let id = &registered.generator.info().id;
            for index in left {
                job.settle(index, Err(Error::media(format!("generator {id} produced no frames"))));
            }
        }
        Err(err) => {
            for &index in group {
                if !job.is_final(index) {
                    job.settle(index, Err(Error::new(err.kind(), err.to_string())));
                }
            }
        }
    }
}

fn cancelled(index: u32) -> Error {
    Error::new(ErrorKind::Cancelled, format!("take {} was cancelled", index + 1))
}

/// Where a call's frames go: each take of the call into its own staged
/// cache entry, in turn.
struct CallSink<'a> {
    writers: Vec<TakeWriter<'a>>,
    current: usize,
}

impl FrameSink for CallSink<'_> {
    fn accept(&mut self, frame: Frame) -> Result<()> {
        match self.writers.get_mut(self.current) {
            Some(writer) => writer.accept(frame),
            None => Err(Error::internal("a frame for a take this call does not make")),
        }
    }

    fn next_take(&mut self) -> Result<()> {
        if self.current + 1 >= self.writers.len() {
            return Err(Error::internal("no further take in this call"));
        }
        self.current += 1;
        Ok(())
    }
}

/// Runs one call for the takes of `group` not yet in the cache, settling
/// each take it makes (or finds made meanwhile). Returns the takes the
/// call did not make.
fn generate_group(
    inner: &Inner,
    registered: &Registered,
    request: &ShotRequest,
    group: &[u32],
    job: &JobShared,
) -> Result<Vec<u32>> {
    let info = registered.generator.info();
    let first = *group.first().ok_or_else(|| Error::internal("an empty group of takes"))?;
    let _slot = registered.slots.acquire(&job.cancel).ok_or_else(|| cancelled(first))?;
    if job.cancel.load(Ordering::Relaxed) {
        return Err(cancelled(first));
    }
    // An identical take may have finished while this one waited for a
    // slot, or be being made by another job just now.
    let (mut takes, mut keys, mut writers) = (Vec::new(), Vec::new(), Vec::new());
    for &index in group {
        let key = request.take_key(&info.id, &info.version, index);
        if let Some(take) = inner.cache.lookup(&key)? {
            job.settle(index, Ok(Take { index, ..take }));
            continue;
        }
        match inner.cache.begin(&key, request.fps, &inner.runtime) {
            Ok(writer) => {
                takes.push(index);
                keys.push(key);
                writers.push(writer);
            }
            Err(err) => job.settle(index, inner.cache.lookup(&key)?.map(|take| Take { index, ..take }).ok_or(err)),
        }
    }
    if takes.is_empty() {
        return Ok(Vec::new());
    }
    for &index in &takes {
        job.update(index, |s| s.stage = TakeStage::Running);
    }
    let started = Instant::now();
    let mut sink = CallSink { writers, current: 0 };
    let progress = |fraction: f32| {
        for &index in &takes {
            job.update(index, |s| {
                if !s.stage.is_final() {
                    s.fraction = fraction.min(0.99)
                }
            });
        }
    };
    let mut cx =
        TakeContext::new(request, takes[0], &inner.runtime, &mut sink, &job.cancel, &progress).for_takes(&takes);
    let outcome = registered.generator.generate(&mut cx);
    let seed = cx.seed();
    let (last, failure) = match outcome {
        Ok(deviations) => (Some(cx.close(deviations)), None),
        Err(err) => (None, Some(err)),
    };
    let mut made = cx.take_made();
    made.extend(last);
    drop(cx);
    let generate_seconds = started.elapsed().as_secs_f64();
    let count = made.len();
    for (position, (made, (key, writer))) in made.into_iter().zip(keys.into_iter().zip(sink.writers)).enumerate() {
        if made.frames == 0 {
            continue; // the call's last take, with nothing in it: not made
        }
        let mut deviations = made.deviations;
        if position > 0 {
            deviations.push(Deviation::approximated(
                Field::Seed,
                format!(
                    "made in one call with take {} as the vendor's sample {} of {count}; the generator was given \
                     that take's seed {seed}, not this take's own ({})",
                    takes[0] + 1,
                    position + 1,
                    request.seed.wrapping_add(made.take as u64)
                ),
            ));
        }
        let store_seconds = writer.store_seconds();
        let take = Take {
            key,
            index: made.take,
            generator: info.id.clone(),
            generator_version: info.version.clone(),
            seed,
            request: request.record(),
            media: Default::default(),
            frames: made.frames,
            fps: request.fps,
            width: request.width,
            height: request.height,
            deviations,
            timings: TakeTimings { generate_seconds: generate_seconds - store_seconds, store_seconds },
            created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            audio: None,
            vendor_generation: made.vendor_generation,
            from_cache: false,
        };
        job.settle(made.take, writer.finish(take, made.audio.as_deref(), &inner.cache));
    }
    if let Some(err) = failure {
        return Err(err);
    }
    // Takes the call did not reach; their staged entries go with their writers.
    Ok(takes.into_iter().filter(|&index| !job.is_final(index)).collect())
}

/// A running request for takes. Dropping it cancels what has not finished
/// and waits for the job's threads to end.
pub struct GenerationJob {
    shared: Arc<JobShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for GenerationJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationJob").field("finished", &self.is_finished()).finish()
    }
}

impl GenerationJob {
    /// A snapshot of every take.
    pub fn status(&self) -> Vec<TakeStatus> {
        self.shared.statuses.lock().clone()
    }

    /// Overall progress (0 to 1), the mean over takes.
    pub fn progress(&self) -> f32 {
        let statuses = self.shared.statuses.lock();
        statuses.iter().map(|s| if s.stage.is_final() { 1.0 } else { s.fraction }).sum::<f32>()
            / statuses.len().max(1) as f32
    }

    /// Asks every unfinished take to stop; they end as cancelled, and
    /// nothing partial is left in the cache.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether every take has finished, failed or been cancelled.
    pub fn is_finished(&self) -> bool {
        *self.shared.finished.lock()
    }

    /// Waits up to `timeout` for the job to finish; returns whether it has.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let mut finished = self.shared.finished.lock();
        if !*finished {
            self.shared.done.wait_for(&mut finished, timeout);
        }
        *finished
    }

    /// Waits for the job to finish.
    pub fn wait(&self) {
        let mut finished = self.shared.finished.lock();
        while !*finished {
            self.shared.done.wait(&mut finished);
        }
    }

    /// Waits for the job, then gives each take's result in order.
    pub fn results(self) -> Vec<Result<Take>> {
        self.wait();
        self.status()
            .into_iter()
            .map(|s| match (s.take, s.error) {
                (Some(take), _) => Ok(take),
                (None, Some((kind, message))) => Err(Error::new(kind, message)),
                (None, None) => Err(Error::internal(format!("take {} ended without a result", s.index + 1))),
            })
            .collect()
    }
}

impl Drop for GenerationJob {
    fn drop(&mut self) {
        if !self.is_finished() {
            self.cancel();
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}
