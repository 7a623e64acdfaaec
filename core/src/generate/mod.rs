//! Shot generation: the [`Generator`] trait, the built-in offline generator,
//! the take cache and the job queue.
//!
//! A generator turns a [`ShotRequest`] into frames, one take at a time,
//! through a [`TakeContext`] that checks what it emits, reports progress and
//! carries cancellation. [`Generations`] runs requests as jobs off the
//! caller's thread, several at once, with a concurrency limit per generator,
//! and keeps every take in the on-disk [`TakeCache`], so asking again is
//! served without calling the generator.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mattebox_core::generate::Generations;
//! use mattebox_core::shot::{CameraMotion, ShotRequest};
//! use mattebox_core::{Runtime, RuntimeConfig};
//!
//! let runtime = Arc::new(Runtime::new(RuntimeConfig::default())?);
//! let generations = Generations::new(runtime)?;
//! let mut request = ShotRequest::new("a valley at dusk");
//! request.camera = CameraMotion::parse("pan=0.4,zoom=0.2")?;
//! let job = generations.submit("builtin", request, 2)?;
//! for take in job.results() {
//!     let take = take?;
//!     println!("take {} in {}", take.index, take.media.display());
//! }
//! # Ok::<(), mattebox_core::Error>(())
//! ```

mod builtin;
mod cache;
mod extend;
mod jobs;
mod landscape;
mod motion;
mod settings;
mod source;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

pub use builtin::BuiltinGenerator;
pub use settings::{AdapterSettings, Setting, apply_settings, default_settings_dir};
#[cfg(feature = "video")]
pub use source::read_sound;
pub use source::{MAX_SOUND_FILE_BYTES, MAX_SOUND_SECONDS, MAX_SOURCE_FILE_BYTES, read_source_video};

/// Where installed generator adapters live: `$MATTEBOX_PLUGIN_DIR`, else
/// `$XDG_DATA_HOME/mattebox/plugins`, else `~/.local/share/mattebox/plugins`.
/// Every host looks here (the command line, the C ABI, the OFX bundle).
pub fn default_plugin_dir() -> std::path::PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    if let Some(dir) = env("MATTEBOX_PLUGIN_DIR") {
        return dir;
    }
    crate::runtime::data_dir("plugins").unwrap_or_else(|| std::env::temp_dir().join("mattebox-plugins"))
}

/// Checks that `id` is an adapter id (1-64 lowercase letters, digits or
/// `-`, not `builtin`), as manifests declare them and as hosts name an
/// installed adapter. Anything else (a path, `..`) is refused before it is
/// joined to a directory: a user's `--adapter`, or a parameter saved in a
/// project file, must never load an adapter that was not installed.
pub fn check_adapter_id(id: &str) -> crate::Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        let shown: String = id.chars().take(80).collect();
        return Err(crate::Error::invalid_argument(format!(
            "{shown:?} is not an adapter id: ids are 1-64 lowercase letters, digits or '-' (to use an adapter \
             from a folder, install it first with `mattebox plugin install DIR`)"
        )));
    }
    if id == "builtin" {
        return Err(crate::Error::invalid_argument("the id \"builtin\" belongs to Mattebox's own generator"));
    }
    Ok(())
}
pub use cache::TakeCache;
pub use jobs::{GenerationJob, Generations, MAX_TAKES, TakeStage, TakeStatus};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, FrameView};
use crate::pixels::{Fit, fit_background};
use crate::runtime::Runtime;
use crate::shot::{Deviation, Field, ShotRequest};

/// What a generator is and what it honours.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GeneratorInfo {
    /// Stable identifier (`builtin`, `kling`, `comfyui`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Version; a new version never serves takes cached by an old one.
    pub version: String,
    /// Request fields it honours (others are reported as dropped).
    pub honours: Vec<Field>,
    /// Takes it may run at once, across all jobs.
    pub max_concurrent: usize,
    /// Takes one call of [`Generator::generate`] may make: more than 1 for
    /// vendors that make several samples from one request (Veo's
    /// `sampleCount`). A job then hands it up to this many missing takes at
    /// once ([`TakeContext::takes_wanted`], [`TakeContext::next_take`]).
    pub takes_per_call: u32,
}

/// A source of shots. Implementations must be deterministic for a given
/// request and seed when they can be: the take cache assumes so.
pub trait Generator: Send + Sync + fmt::Debug {
    /// What this generator is.
    fn info(&self) -> &GeneratorInfo;

    /// Renders one take of `cx.request()` with `cx.seed()`, emitting its
    /// frames in order through `cx`. Returns the fields it dropped or
    /// approximated. Must return promptly with [`ErrorKind::Cancelled`] once
    /// `cx` says the take is cancelled.
    ///
    /// A generator whose [`GeneratorInfo::takes_per_call`] is above 1 may
    /// make up to [`TakeContext::takes_wanted`] takes in this one call,
    /// ending each but the last with [`TakeContext::next_take`]; what it
    /// returns is the last one's deviations. Takes it did not make are run
    /// later, one call each.
    fn generate(&self, cx: &mut TakeContext<'_>) -> Result<Vec<Deviation>>;
}

/// Where emitted frames go.
pub(crate) trait FrameSink {
    fn accept(&mut self, frame: Frame) -> Result<()>;

    /// Frames from now on belong to the call's next take.
    fn next_take(&mut self) -> Result<()> {
        Err(Error::internal("this take's frames have nowhere to go for a second take"))
    }
}

impl FrameSink for Vec<Frame> {
    fn accept(&mut self, frame: Frame) -> Result<()> {
        self.try_reserve(1)?;
        self.push(frame);
        Ok(())
    }
}

/// How many frames a take may emit: generous (vendors round durations up
/// and pick their own rates), but bounded, so a runaway generator cannot
/// fill the disk.
pub fn frame_quota(request: &ShotRequest) -> u64 {
    request.frame_count().saturating_mul(4).saturating_add(240)
}

/// How many seconds of sound a take may carry, by the same reasoning as
/// [`frame_quota`]: four times the shot, and 10 s more.
pub fn sound_quota_seconds(request: &ShotRequest) -> f64 {
    request.duration.to_f64() * 4.0 + 10.0
}

/// A take a call made, handed over with [`TakeContext::next_take`] or by
/// returning.
pub(crate) struct MadeTake {
    pub(crate) take: u32,
    pub(crate) deviations: Vec<Deviation>,
    pub(crate) frames: u64,
    pub(crate) audio: Option<Vec<u8>>,
    pub(crate) vendor_generation: Option<String>,
}

/// What a generator sees while it renders one take (or, for a generator
/// that makes several from one call, each take of the call in turn).
pub struct TakeContext<'a> {
    request: &'a ShotRequest,
    seed: u64,
    /// The takes this call may make, in order; the current one is
    /// `takes[made.len()]`.
    takes: Vec<u32>,
    made: Vec<MadeTake>,
    runtime: &'a Runtime,
    sink: &'a mut dyn FrameSink,
    cancel: &'a AtomicBool,
    progress: &'a (dyn Fn(f32) + Sync),
    emitted: u64,
    resized: bool,
    audio: Option<Vec<u8>>,
    vendor_generation: Option<String>,
}

impl fmt::Debug for TakeContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TakeContext").field("take", &self.take()).field("seed", &self.seed).finish()
    }
}

impl<'a> TakeContext<'a> {
    pub(crate) fn new(
        request: &'a ShotRequest,
        take: u32,
        runtime: &'a Runtime,
        sink: &'a mut dyn FrameSink,
        cancel: &'a AtomicBool,
        progress: &'a (dyn Fn(f32) + Sync),
    ) -> TakeContext<'a> {
        let seed = request.seed.wrapping_add(take as u64);
        TakeContext {
            request,
            seed,
            takes: vec![take],
            made: Vec::new(),
            runtime,
            sink,
            cancel,
            progress,
            emitted: 0,
            resized: false,
            audio: None,
            vendor_generation: None,
        }
    }

    /// Lets this call make `takes` (the first being the context's own
    /// take), one after another.
    pub(crate) fn for_takes(mut self, takes: &[u32]) -> TakeContext<'a> {
        if takes.first() == self.takes.first() {
            self.takes = takes.to_vec();
        }
        self
    }

    /// The request.
    pub fn request(&self) -> &ShotRequest {
        self.request
    }

    /// This take's seed (`request.seed + take`); in a call that makes
    /// several takes, the first one's, which the vendor was given.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Which take this is (0-based); after [`TakeContext::next_take`], the
    /// one being made now.
    pub fn take(&self) -> u32 {
        self.takes.get(self.made.len()).copied().unwrap_or(u32::MAX)
    }

    /// How many takes this call may make, counting the first: 1 unless the
    /// generator's [`GeneratorInfo::takes_per_call`] is higher and the job
    /// wants more than one take not yet in the cache.
    pub fn takes_wanted(&self) -> u32 {
        self.takes.len() as u32
    }

    /// Ends the take made so far (its frames, its sound and vendor id, and
    /// `deviations`) and starts the next one the call makes: what is
    /// emitted afterwards belongs to it. Fails past
    /// [`TakeContext::takes_wanted`], and for a take without frames.
    pub fn next_take(&mut self, deviations: Vec<Deviation>) -> Result<()> {
        self.check_cancelled()?;
        let wanted = self.takes.len();
        if self.made.len() + 1 >= wanted {
            return Err(Error::invalid_argument(format!(
                "this call may make {wanted} take{}; the generator handed over more",
                if wanted == 1 { "" } else { "s" }
            )));
        }
        if self.emitted == 0 {
            return Err(Error::invalid_argument(format!("take {} was handed over without frames", self.take() + 1)));
        }
        self.sink.next_take()?;
        let made = self.close(deviations);
        self.made.push(made);
        Ok(())
    }

    /// The current take as it stands, with `deviations` and what the
    /// context observed; the context then starts afresh.
    pub(crate) fn close(&mut self, mut deviations: Vec<Deviation>) -> MadeTake {
        deviations.extend(self.observed_deviations());
        let made = MadeTake {
            take: self.take(),
            deviations,
            frames: self.emitted,
            audio: self.audio.take(),
            vendor_generation: self.vendor_generation.take(),
        };
        (self.emitted, self.resized) = (0, false);
        made
    }

    /// The takes handed over with [`TakeContext::next_take`] so far.
    pub(crate) fn take_made(&mut self) -> Vec<MadeTake> {
        std::mem::take(&mut self.made)
    }

    /// The runtime: run parallel work inside [`Runtime::install`].
    pub fn runtime(&self) -> &Runtime {
        self.runtime
    }

    /// Whether the take has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// An error if the take has been cancelled.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::new(ErrorKind::Cancelled, format!("take {} was cancelled", self.take() + 1)));
        }
        Ok(())
    }

    /// Reports how far the take is (0 to 1). Returns false once cancelled.
    pub fn progress(&self, fraction: f32) -> bool {
        if fraction.is_finite() {
            (self.progress)(fraction.clamp(0.0, 1.0));
        }
        !self.is_cancelled()
    }

    /// Frames emitted so far.
    pub fn frames_emitted(&self) -> u64 {
        self.emitted
    }

    /// Appends a frame to the take. A frame of another size than the
    /// request's is fitted to it (cover) and the take reports its size as
    /// approximated; past [`frame_quota`] frames, or once cancelled, it fails.
    pub fn emit(&mut self, frame: &FrameView<'_>) -> Result<()> {
        self.check_room()?;
        let owned = if (frame.width(), frame.height()) == (self.request.width, self.request.height) {
            frame.to_frame()?
        } else {
            self.fitted(frame)?
        };
        self.accept(owned)
    }

    /// [`TakeContext::emit`] for a frame the caller no longer needs: no copy
    /// when it has the requested size.
    pub fn emit_owned(&mut self, frame: Frame) -> Result<()> {
        self.check_room()?;
        let owned = if (frame.width(), frame.height()) == (self.request.width, self.request.height) {
            frame
        } else {
            self.fitted(&frame.view())?
        };
        self.accept(owned)
    }

    /// Gives the take its sound: a WAV file of 16-bit PCM as
    /// [`wav_bytes`](crate::wav::wav_bytes) writes it, playing from
    /// the take's first frame (a generator that has sound in another
    /// format decodes it first; the take cache keeps nothing else). A
    /// later call replaces it. Sound past [`sound_quota_seconds`] is refused.
    pub fn emit_audio(&mut self, wav: Vec<u8>) -> Result<()> {
        self.check_cancelled()?;
        let info = crate::wav::wav_info(&wav)?;
        let longest = sound_quota_seconds(self.request);
        if info.seconds() > longest {
            return Err(Error::invalid_argument(format!(
                "{:.1} s of sound for a {:.1} s shot (at most {longest:.1} s)",
                info.seconds(),
                self.request.duration.to_f64()
            )));
        }
        self.audio = Some(wav);
        Ok(())
    }

    /// Records the vendor's own id of this generation, so that a later
    /// request can continue the take without sending it back. At most 256
    /// printable characters.
    pub fn set_vendor_generation(&mut self, id: &str) -> Result<()> {
        if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
            let shown: String = id.chars().take(40).collect();
            return Err(Error::invalid_argument(format!("vendor generation id {shown:?}: 1-256 printable characters")));
        }
        self.vendor_generation = Some(id.to_owned());
        Ok(())
    }

    fn check_room(&self) -> Result<()> {
        self.check_cancelled()?;
        let quota = frame_quota(self.request);
        if self.emitted >= quota {
            return Err(Error::invalid_argument(format!(
                "the generator emitted more than {quota} frames for a {}-frame shot; the take was stopped",
                self.request.frame_count()
            )));
        }
        Ok(())
    }

    fn fitted(&mut self, frame: &FrameView<'_>) -> Result<Frame> {
        self.resized = true;
        let (w, h) = (self.request.width, self.request.height);
        self.runtime.install(|| fit_background(frame, w, h, Fit::Cover))
    }

    fn accept(&mut self, owned: Frame) -> Result<()> {
        self.sink.accept(owned)?;
        self.emitted += 1;
        let total = self.request.frame_count().max(1);
        self.progress(self.emitted as f32 / total as f32);
        Ok(())
    }

    /// Deviations the context itself observed (frames fitted to the size).
    pub(crate) fn observed_deviations(&self) -> Vec<Deviation> {
        let mut out = Vec::new();
        if self.resized {
            out.push(Deviation::approximated(
                Field::Size,
                format!(
                    "the generator made frames of another size; they were fitted (cover) to {}x{}",
                    self.request.width, self.request.height
                ),
            ));
        }
        out
    }
}

/// A sink that drops frames.
struct Discard;

impl FrameSink for Discard {
    fn accept(&mut self, _frame: Frame) -> Result<()> {
        Ok(())
    }
}

/// Runs one take of `request` on the calling thread into `sink`, outside
/// any job or cache. Returns the frames emitted and the deviations.
fn run_take(
    generator: &dyn Generator,
    request: &ShotRequest,
    take: u32,
    runtime: &Runtime,
    sink: &mut dyn FrameSink,
) -> Result<(u64, Vec<Deviation>)> {
    request.check()?;
    let cancel = AtomicBool::new(false);
    let mut cx = TakeContext::new(request, take, runtime, sink, &cancel, &|_| {});
    let mut deviations = generator.generate(&mut cx)?;
    deviations.extend(cx.observed_deviations());
    Ok((cx.frames_emitted(), deviations))
}

/// Runs one take of `request` and discards its frames: checks a generator
/// end to end (and measures it) without keeping anything. Returns the
/// number of frames it emitted and its deviations.
pub fn dry_run(
    generator: &dyn Generator,
    request: &ShotRequest,
    take: u32,
    runtime: &Runtime,
) -> Result<(u64, Vec<Deviation>)> {
    run_take(generator, request, take, runtime, &mut Discard)
}

/// Renders one take of `request` into memory, without the cache or a job:
/// for tests, benchmarks and hosts that want frames at once.
pub fn render_take(
    generator: &dyn Generator,
    request: &ShotRequest,
    take: u32,
    runtime: &Runtime,
) -> Result<(Vec<Frame>, Vec<Deviation>)> {
    let mut frames: Vec<Frame> = Vec::new();
    let (_, deviations) = run_take(generator, request, take, runtime, &mut frames)?;
    if frames.is_empty() {
        return Err(Error::media(format!("generator {} produced no frames", generator.info().id)));
    }
    Ok((frames, deviations))
}

#[cfg(test)]
mod tests;
