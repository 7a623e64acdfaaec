//! A generator adapter loaded from its manifest and component, run as a
//! [`Generator`]: a fresh store and instance per take (a trapped store is
//! unusable, and some guest languages never give memory back), under the
//! manifest's limits capped by the user's policy.
//!
//! Every call into the adapter (`describe` at load, `generate` per take)
//! runs on a thread of its own, as a future on a current-thread runtime,
//! polled until it ends or the host stops it: a spinning adapter is
//! interrupted by epochs, and one waiting in WASI (a sleep, which epochs
//! cannot reach) is dropped with its store, so its memory and thread are
//! released when the take ends, in every host.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generator, GeneratorInfo, TakeContext, frame_quota, sound_quota_seconds};
use mattebox_core::shot::{Deviation, DeviationKind, Field, ImageInput, ShotRequest, SoundRole, VideoRole};
use mattebox_core::{Error, ErrorKind, PixelFormat, Result};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Store, StoreLimitsBuilder, UpdateDeadline};

use crate::bindings::v0_1::mattebox::generator::types as wit_0_1;
use crate::bindings::v0_2::mattebox::generator::types as wit;
use crate::bindings::{v0_1, v0_2};
use crate::engine::{TICK, engine, load_component};
use crate::host::{Event, HostState, empty_wasi};
use crate::http::{Fetcher, NetworkPolicy, UserServers};
use crate::manifest::{MAX_NAME_BYTES, Manifest};

/// Largest component read, in bytes (a Python adapter, interpreter and
/// all, is about 18 MB).
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// What the user allows adapters: the ceiling for every limit a manifest
/// asks for (a manifest may ask for less, never more), and the network
/// addresses and secrets. [`crate::policy_from_env`] reads it from the
/// environment.
#[derive(Clone, Debug)]
pub struct SandboxPolicy {
    /// Network addresses and secrets.
    pub network: NetworkPolicy,
    /// Most memory any adapter gets, MiB.
    pub max_memory_mib: u64,
    /// Longest any take may run, seconds.
    pub max_deadline_seconds: u64,
    /// Largest HTTP response any adapter may read, MiB (also never more
    /// than its memory).
    pub max_response_mib: u64,
    /// Most log text any take may write, KiB.
    pub max_log_kib: u64,
    /// Most takes of one adapter at once.
    pub max_concurrent: usize,
    /// Most frames any take may hand over (the request's own quota,
    /// [`mattebox_core::generate::frame_quota`], applies too).
    pub max_frames: u64,
    /// Most bytes an adapter may pass in one host call (a frame, a request).
    pub max_call_bytes: usize,
    /// Where compiled components are kept: a directory of this user's on
    /// this machine, never a cache a farm shares
    /// ([`default_compiled_dir`](crate::default_compiled_dir)). `None`
    /// compiles every time and keeps nothing.
    pub compiled_dir: Option<PathBuf>,
    /// Where the key that vouches for compiled components lives: apart from
    /// the cache (which a farm may share), private to the user. `None`
    /// compiles every time and caches nothing.
    pub state_dir: Option<PathBuf>,
    /// Where adapters' settings are read from (the servers a user names
    /// for an adapter); `None` reads none.
    pub settings_dir: Option<PathBuf>,
}

impl SandboxPolicy {
    /// Caps that suit a workstation, keeping compiled components in
    /// `compiled_dir`, with their key in the user's state directory
    /// ([`default_state_dir`](crate::default_state_dir)).
    pub fn new(compiled_dir: impl Into<PathBuf>) -> SandboxPolicy {
        SandboxPolicy {
            network: NetworkPolicy::default(),
            max_memory_mib: 2048,
            max_deadline_seconds: 3600,
            max_response_mib: 1024,
            max_log_kib: 1024,
            max_concurrent: 4,
            max_frames: 100_000,
            max_call_bytes: 256 << 20,
            compiled_dir: Some(compiled_dir.into()),
            state_dir: crate::install::default_state_dir(),
            settings_dir: mattebox_core::generate::default_settings_dir(),
        }
    }
}

/// How long a stopped adapter's thread gets to unwind before the take
/// ends without it.
const STOP_GRACE: Duration = Duration::from_millis(250);
/// How long a cancelled take's adapter may go on to tidy up (tell its
/// vendor to stop) before it is stopped.
const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// Longest `describe` may take.
const DESCRIBE_DEADLINE: Duration = Duration::from_secs(10);
/// Most fields `describe` may list.
const MAX_HONOURS: usize = 64;

/// Limits in force for one adapter.
#[derive(Clone, Copy, Debug)]
struct Effective {
    memory_bytes: usize,
    deadline: Duration,
    call_bytes: usize,
    log_bytes: usize,
    response_bytes: u64,
    frames: u64,
}

/// A component ready to instantiate, in the contract it implements.
#[derive(Clone)]
enum Pre {
    V0_1(v0_1::GeneratorPre<HostState>),
    V0_2(v0_2::GeneratorPre<HostState>),
}

impl Pre {
    async fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<wit::AdapterInfo> {
        Ok(match self {
            Pre::V0_2(pre) => pre.instantiate_async(&mut *store).await?.call_describe(&mut *store).await?,
            Pre::V0_1(pre) => {
                let info = pre.instantiate_async(&mut *store).await?.call_describe(&mut *store).await?;
                wit::AdapterInfo {
                    id: info.id,
                    name: info.name,
                    version: info.version,
                    honours: info.honours.into_iter().map(field_from_0_1).collect(),
                }
            }
        })
    }

    async fn generate(
        &self,
        store: &mut Store<HostState>,
        request: wit::ShotRequest,
    ) -> wasmtime::Result<std::result::Result<wit::TakeReport, wit::GenerateError>> {
        Ok(match self {
            Pre::V0_2(pre) => pre.instantiate_async(&mut *store).await?.call_generate(&mut *store, &request).await?,
            Pre::V0_1(pre) => {
                let request = request_to_0_1(request);
                let bindings = pre.instantiate_async(&mut *store).await?;
                match bindings.call_generate(&mut *store, &request).await? {
                    Ok(deviations) => Ok(wit::TakeReport {
                        deviations: deviations
                            .into_iter()
                            .map(|d| wit::Deviation {
                                field: field_from_0_1(d.field),
                                kind: match d.kind {
                                    wit_0_1::DeviationKind::Dropped => wit::DeviationKind::Dropped,
                                    wit_0_1::DeviationKind::Approximated => wit::DeviationKind::Approximated,
                                },
                                note: d.note,
                            })
                            .collect(),
                        vendor_generation: None,
                    }),
                    Err(e) => Err(match e {
                        wit_0_1::GenerateError::InvalidRequest(m) => wit::GenerateError::InvalidRequest(m),
                        wit_0_1::GenerateError::Vendor(m) => wit::GenerateError::Vendor(m),
                        wit_0_1::GenerateError::Network(m) => wit::GenerateError::Network(m),
                        wit_0_1::GenerateError::Cancelled => wit::GenerateError::Cancelled,
                        wit_0_1::GenerateError::Other(m) => wit::GenerateError::Other(m),
                    }),
                }
            }
        })
    }
}

/// The contract a component was built for, from the names of the
/// interfaces it imports (`mattebox:generator/host@0.1.1`): its version,
/// or `None` when it imports none of them.
fn contract_of(engine: &wasmtime::Engine, component: &wasmtime::component::Component) -> Option<String> {
    component.component_type().imports(engine).find_map(|(name, _)| {
        let rest = name.strip_prefix("mattebox:generator/")?;
        let (_, version) = rest.split_once('@')?;
        Some(version.to_owned())
    })
}

/// A loaded adapter.
pub struct WasmAdapter {
    info: GeneratorInfo,
    manifest: Manifest,
    /// The contract it implements (`mattebox:generator@0.2.0`).
    world: String,
    pre: Pre,
    fetcher: Arc<Fetcher>,
    limits: Effective,
}

impl std::fmt::Debug for WasmAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmAdapter").field("info", &self.info).field("limits", &self.limits).finish()
    }
}

/// Whether a take ended by the host's hand, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stopped {
    Running,
    Cancelled,
    Deadline,
    HostError,
}

fn field_from_0_1(f: wit_0_1::Field) -> wit::Field {
    match f {
        wit_0_1::Field::Prompt => wit::Field::Prompt,
        wit_0_1::Field::NegativePrompt => wit::Field::NegativePrompt,
        wit_0_1::Field::References => wit::Field::References,
        wit_0_1::Field::FirstFrame => wit::Field::FirstFrame,
        wit_0_1::Field::LastFrame => wit::Field::LastFrame,
        wit_0_1::Field::Camera => wit::Field::Camera,
        wit_0_1::Field::Duration => wit::Field::Duration,
        wit_0_1::Field::Fps => wit::Field::Fps,
        wit_0_1::Field::Size => wit::Field::Size,
        wit_0_1::Field::Seed => wit::Field::Seed,
        wit_0_1::Field::Extras => wit::Field::Extras,
    }
}

fn field_of(f: wit::Field) -> Field {
    match f {
        wit::Field::Prompt => Field::Prompt,
        wit::Field::NegativePrompt => Field::NegativePrompt,
        wit::Field::References => Field::References,
        wit::Field::FirstFrame => Field::FirstFrame,
        wit::Field::LastFrame => Field::LastFrame,
        wit::Field::Camera => Field::Camera,
        wit::Field::Duration => Field::Duration,
        wit::Field::Fps => Field::Fps,
        wit::Field::Size => Field::Size,
        wit::Field::Seed => Field::Seed,
        wit::Field::Extras => Field::Extras,
        wit::Field::SourceVideo => Field::SourceVideo,
        wit::Field::Audio => Field::Audio,
    }
}

fn image_of(image: &ImageInput) -> Result<wit::Image> {
    frame_image(image.label().to_owned(), image.frame())
}

/// `frame` as contract 0.2's RGBA8 image called `label`.
fn frame_image(label: String, frame: &mattebox_core::Frame) -> Result<wit::Image> {
    let frame = frame.to_format(PixelFormat::Rgba8)?;
    Ok(wit::Image { label, width: frame.width(), height: frame.height(), rgba8: frame.as_bytes().to_vec() })
}

/// The request in contract 0.2's types, for adapter `adapter` whose memory
/// is `memory_bytes`; with the deviations the host itself made (a source
/// file too large to hand over).
fn request_of(
    request: &ShotRequest,
    seed: u64,
    take: u32,
    adapter: &str,
    memory_bytes: usize,
    with_files: bool,
) -> Result<(wit::ShotRequest, Vec<Deviation>)> {
    let rational = |r: mattebox_core::Rational| wit::Rational { num: r.num(), den: r.den() };
    let c = request.camera;
    let mut notes = Vec::new();
    let source_video = match &request.source_video {
        None => None,
        Some(video) => {
            // The file is copied into the adapter's memory: a quarter of it
            // at most, so that the adapter can still work with it.
            let file = match video.file().filter(|_| with_files) {
                Some(file) if file.bytes().len() <= memory_bytes / 4 => {
                    Some(wit::EncodedFile { name: file.name().to_owned(), bytes: file.bytes().to_vec() })
                }
                Some(file) => {
                    notes.push(Deviation::approximated(
                        Field::SourceVideo,
                        format!(
                            "the source's file ({} MiB) was not handed over, only its last frame: it is larger than a \
                             quarter of the adapter's {} MiB of memory (limits.memory_mib in its adapter.toml, capped \
                             by MATTEBOX_SANDBOX_MEMORY_MIB)",
                            file.bytes().len() >> 20,
                            memory_bytes >> 20
                        ),
                    ));
                    None
                }
                None => None,
            };
            Some(wit::SourceVideo {
                role: match video.role() {
                    VideoRole::Extend => wit::VideoRole::Extend,
                    VideoRole::Lipsync => wit::VideoRole::Lipsync,
                    VideoRole::Restyle => wit::VideoRole::Restyle,
                },
                label: video.label().to_owned(),
                file,
                last_frame: frame_image(format!("{} (last frame)", video.label()), video.last_frame())?,
                frame_count: video.frame_count(),
                fps: rational(video.fps()),
                // Another vendor's id means nothing to this one.
                vendor_generation: video.vendor().filter(|g| g.generator == adapter).map(|g| g.id.clone()),
            })
        }
    };
    let wit_request = wit::ShotRequest {
        prompt: request.prompt.clone(),
        negative_prompt: request.negative_prompt.clone(),
        references: request
            .references
            .iter()
            .map(|r| {
                let kind = match r.kind {
                    mattebox_core::shot::ReferenceKind::Character => wit::ReferenceKind::Character,
                    mattebox_core::shot::ReferenceKind::Location => wit::ReferenceKind::Location,
                    mattebox_core::shot::ReferenceKind::Style => wit::ReferenceKind::Style,
                };
                Ok(wit::Reference { kind, name: r.name.clone(), image: image_of(&r.image)? })
            })
            .collect::<Result<_>>()?,
        first_frame: request.first_frame.as_ref().map(image_of).transpose()?,
        last_frame: request.last_frame.as_ref().map(image_of).transpose()?,
        camera: wit::CameraMotion {
            horizontal: c.horizontal,
            vertical: c.vertical,
            pan: c.pan,
            tilt: c.tilt,
            roll: c.roll,
            zoom: c.zoom,
        },
        duration: rational(request.duration),
        fps: rational(request.fps),
        width: request.width,
        height: request.height,
        seed,
        take,
        extras: request.extras.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        source_video,
        audio: if with_files { sounds_of(request, memory_bytes, &mut notes) } else { Vec::new() },
    };
    Ok((wit_request, notes))
}

/// The request's sound for a 0.2 adapter: each as a WAV and as given, the
/// original left out (and said) when both would take more than a quarter
/// of the adapter's memory, and the sound too when the WAV alone would.
fn sounds_of(request: &ShotRequest, memory_bytes: usize, notes: &mut Vec<Deviation>) -> Vec<wit::AudioInput> {
    let mut budget = memory_bytes / 4;
    let mut out = Vec::new();
    for sound in &request.audio {
        let (wav, original) = (sound.wav().len(), sound.original().bytes().len());
        if wav > budget {
            notes.push(Deviation::dropped(
                Field::Audio,
                format!(
                    "{} ({:.1} s) was not handed over: as a WAV it is {} MiB, more than a quarter of the adapter's \
                     {} MiB of memory (limits.memory_mib in its adapter.toml)",
                    sound.label(),
                    sound.seconds(),
                    wav >> 20,
                    memory_bytes >> 20
                ),
            ));
            continue;
        }
        let with_original = wav + original <= budget;
        if !with_original {
            notes.push(Deviation::approximated(
                Field::Audio,
                format!(
                    "{} went as a WAV only: its file does not fit beside it in the adapter's memory",
                    sound.label()
                ),
            ));
        }
        budget -= wav + if with_original { original } else { 0 };
        let duration = sound.duration();
        out.push(wit::AudioInput {
            role: match sound.role() {
                SoundRole::Dialogue => wit::AudioRole::Dialogue,
                SoundRole::Reference => wit::AudioRole::Reference,
            },
            label: sound.label().to_owned(),
            wav: sound.wav().to_vec(),
            original: wit::EncodedFile {
                name: sound.original().name().to_owned(),
                bytes: if with_original { sound.original().bytes().to_vec() } else { Vec::new() },
            },
            duration: wit::Rational { num: duration.num(), den: duration.den() },
        });
    }
    out
}

/// A 0.2 request in 0.1's types: without its source video and audio,
/// except that a continuation starts on the source's last frame.
fn request_to_0_1(request: wit::ShotRequest) -> wit_0_1::ShotRequest {
    let image = |i: wit::Image| wit_0_1::Image { label: i.label, width: i.width, height: i.height, rgba8: i.rgba8 };
    let rational = |r: wit::Rational| wit_0_1::Rational { num: r.num, den: r.den };
    let c = request.camera;
    let first_frame = match (request.first_frame, request.source_video) {
        (Some(first), _) => Some(image(first)),
        (None, Some(video)) if video.role == wit::VideoRole::Extend => Some(image(video.last_frame)),
        (None, _) => None,
    };
    wit_0_1::ShotRequest {
        prompt: request.prompt,
        negative_prompt: request.negative_prompt,
        references: request
            .references
            .into_iter()
            .map(|r| wit_0_1::Reference {
                kind: match r.kind {
                    wit::ReferenceKind::Character => wit_0_1::ReferenceKind::Character,
                    wit::ReferenceKind::Location => wit_0_1::ReferenceKind::Location,
                    wit::ReferenceKind::Style => wit_0_1::ReferenceKind::Style,
                },
                name: r.name,
                image: image(r.image),
            })
            .collect(),
        first_frame,
        last_frame: request.last_frame.map(image),
        camera: wit_0_1::CameraMotion {
            horizontal: c.horizontal,
            vertical: c.vertical,
            pan: c.pan,
            tilt: c.tilt,
            roll: c.roll,
            zoom: c.zoom,
        },
        duration: rational(request.duration),
        fps: rational(request.fps),
        width: request.width,
        height: request.height,
        seed: request.seed,
        take: request.take,
        extras: request.extras,
    }
}

impl WasmAdapter {
    /// Loads the adapter whose manifest is `path` (or is in directory
    /// `path`): reads and checks the manifest, compiles the component (or
    /// loads it compiled), checks it against the WIT world, and asks it to
    /// describe itself, which must agree with the manifest.
    pub fn load(path: &Path, policy: &SandboxPolicy) -> Result<WasmAdapter> {
        let (manifest, bytes, file) = read_adapter(path)?;
        WasmAdapter::from_parts(manifest, &bytes, &file, policy)
    }

    /// Loads an adapter from a manifest and the component's bytes (`file`
    /// names it in messages).
    pub(crate) fn from_parts(
        manifest: Manifest,
        bytes: &[u8],
        file: &Path,
        policy: &SandboxPolicy,
    ) -> Result<WasmAdapter> {
        let engine = engine()?;
        // The key is read only when there is somewhere to keep compiled code.
        let kept = policy.compiled_dir.as_deref().and_then(|dir| {
            let key = policy.state_dir.as_deref().and_then(crate::engine::cache_key_for)?;
            Some((dir, key))
        });
        let component =
            load_component(engine, bytes, kept.as_ref().map(|(d, k)| (*d, k)), &file.display().to_string())?;
        let imported = contract_of(engine, &component);
        let version = imported.clone().unwrap_or_else(|| crate::manifest::WIT_VERSION.to_owned());
        let world = format!("mattebox:generator@{version}");
        let v0_1 = version.starts_with("0.1.");
        if !v0_1 && !version.starts_with("0.2.") {
            return Err(Error::invalid_argument(format!(
                "{}: the component was built for {world}; this Mattebox runs {} and 0.1.x",
                file.display(),
                crate::manifest::WIT_PACKAGE
            )));
        }
        // The manifest says which contract; the component's imports say the same.
        if imported.is_some()
            && manifest.wit.rsplit_once('.').map(|(minor, _)| minor) != world.rsplit_once('.').map(|(minor, _)| minor)
        {
            return Err(Error::invalid_argument(format!(
                "{}: the manifest says {}, but the component was built for {world}: rebuild it against the \
                 contract the manifest names (a component older than its manifest), or set wit = \"{world}\" in {}",
                file.display(),
                manifest.wit,
                crate::manifest::MANIFEST_NAME
            )));
        }
        let mut linker: Linker<HostState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| Error::internal(format!("could not link WASI: {e:#}")))?;
        let linked = if v0_1 {
            v0_1::Generator::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(&mut linker, |s| s)
        } else {
            v0_2::Generator::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(&mut linker, |s| s)
        };
        linked.map_err(|e| Error::internal(format!("could not link the host interface: {e:#}")))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            Error::invalid_argument(format!("{}: the component does not fit the {world} world: {e:#}", file.display()))
        })?;
        let exports_error = |e: wasmtime::Error| {
            Error::invalid_argument(format!(
                "{}: the component's exports do not match the {world} world: {e:#}",
                file.display()
            ))
        };
        let pre = if v0_1 {
            Pre::V0_1(v0_1::GeneratorPre::new(instance_pre).map_err(exports_error)?)
        } else {
            Pre::V0_2(v0_2::GeneratorPre::new(instance_pre).map_err(exports_error)?)
        };
        let l = &manifest.limits;
        let memory_mib = l.memory_mib.min(policy.max_memory_mib);
        let limits = Effective {
            memory_bytes: (memory_mib << 20) as usize,
            deadline: Duration::from_secs(l.deadline_seconds.min(policy.max_deadline_seconds)),
            call_bytes: policy.max_call_bytes,
            log_bytes: (l.log_kib.min(policy.max_log_kib) << 10) as usize,
            // A response larger than the adapter's memory could never reach it.
            response_bytes: l.response_mib.min(policy.max_response_mib).min(memory_mib) << 20,
            frames: policy.max_frames,
        };
        let fetcher = Arc::new(Fetcher::new(
            &manifest.network.origins,
            &manifest.secrets,
            user_servers(&manifest, policy)?,
            Arc::new(policy.network.clone()),
            limits.response_bytes,
        )?);
        let mut adapter = WasmAdapter {
            info: GeneratorInfo {
                id: manifest.id.clone(),
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                honours: Vec::new(),
                max_concurrent: l.concurrent.min(policy.max_concurrent).max(1),
                takes_per_call: l.takes_per_call.clamp(1, mattebox_core::generate::MAX_TAKES),
            },
            manifest,
            world,
            pre,
            fetcher,
            limits,
        };
        let described = adapter.describe()?;
        if described.name.len() > MAX_NAME_BYTES || described.honours.len() > MAX_HONOURS {
            return Err(Error::invalid_argument(format!(
                "{}: describe answered with a name of {} bytes and {} fields; at most {MAX_NAME_BYTES} and {MAX_HONOURS}",
                file.display(),
                described.name.len(),
                described.honours.len()
            )));
        }
        if described.id != adapter.manifest.id || described.version != adapter.manifest.version {
            let short = |s: &str| s.chars().take(64).collect::<String>();
            return Err(Error::invalid_argument(format!(
                "{}: the component says it is {} {}, its manifest says {} {}",
                file.display(),
                short(&described.id),
                short(&described.version),
                adapter.manifest.id,
                adapter.manifest.version
            )));
        }
        adapter.info.name = described.name;
        adapter.info.honours = described.honours.into_iter().map(field_of).collect();
        Ok(adapter)
    }

    /// The contract its component implements, as the WIT package it
    /// imports (`mattebox:generator@0.2.0`, `mattebox:generator@0.1.0`).
    pub fn world(&self) -> &str {
        &self.world
    }

    /// The manifest it was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The limits in force: the manifest's, capped by the user's policy.
    pub fn limits(&self) -> crate::manifest::Limits {
        let l = &self.limits;
        crate::manifest::Limits {
            memory_mib: (l.memory_bytes >> 20) as u64,
            deadline_seconds: l.deadline.as_secs(),
            concurrent: self.info.max_concurrent,
            response_mib: l.response_bytes >> 20,
            log_kib: (l.log_bytes >> 10) as u64,
            takes_per_call: self.info.takes_per_call,
        }
    }

    fn store(
        &self,
        events: std::sync::mpsc::SyncSender<Event>,
        stop: Arc<AtomicBool>,
        cancel: Arc<AtomicBool>,
        deadline: Instant,
        take: TakeShape,
        fetcher: Arc<Fetcher>,
    ) -> Result<Store<HostState>> {
        let state = HostState {
            wasi: empty_wasi(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .instances(64)
                .tables(64)
                .memories(16)
                .trap_on_grow_failure(true)
                .build(),
            adapter: self.manifest.id.clone(),
            events,
            stop: stop.clone(),
            cancel,
            fetcher,
            deadline,
            log_left: self.limits.log_bytes,
            log_capped: false,
            fps: take.fps,
            frames_left: take.frames,
            frames_per_take: take.frames,
            takes_wanted: take.takes,
            takes_made: 0,
            max_file_pixels: take.max_file_pixels,
            max_audio_seconds: take.max_audio_seconds,
            sockets: Vec::new(),
        };
        let mut store = Store::new(engine()?, state);
        store.limiter(|s| &mut s.limits);
        store.set_hostcall_fuel(self.limits.call_bytes);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(1))
        });
        Ok(store)
    }

    /// Calls `describe` in a fresh instance, sandboxed like a take: on a
    /// thread of its own, with a short deadline, no network, no secrets and
    /// no frames.
    fn describe(&self) -> Result<wit::AdapterInfo> {
        // The receiver is dropped at once: describe has nothing to emit, and a
        // send fails (traps) rather than blocking.
        let (events, _) = sync_channel(1);
        let limit = DESCRIBE_DEADLINE.min(self.limits.deadline);
        let deadline = Instant::now() + limit;
        let stop = Arc::new(AtomicBool::new(false));
        let shape = TakeShape {
            fps: mattebox_core::Rational::integer(24),
            frames: 0,
            max_file_pixels: 0,
            max_audio_seconds: 0.0,
            takes: 1,
        };
        let mut store = self.store(
            events,
            stop.clone(),
            Arc::new(AtomicBool::new(false)),
            deadline,
            shape,
            Arc::new(Fetcher::for_describe()),
        )?;
        let pre = self.pre.clone();
        let (done, finished) = sync_channel(1);
        let guard = stop.clone();
        crate::workers::run(Box::new(move |runtime| {
            let result = run_until_stopped(runtime, &guard, pre.describe(&mut store));
            drop(store);
            let _ = done.send(result);
        }))?;
        let id = &self.manifest.id;
        let answer = finished.recv_timeout(limit + STOP_GRACE);
        stop.store(true, Ordering::SeqCst);
        match answer {
            Ok(Some(Ok(info))) => Ok(info),
            Ok(Some(Err(trap))) => {
                Err(Error::invalid_argument(format!("adapter {id}: describe failed: {}", trap_message(&trap))))
            }
            Ok(None) | Err(_) => Err(Error::invalid_argument(format!(
                "adapter {id}: describe did not answer within {} s; it must return at once, without waiting \
                 (the host calls it to check and list adapters)",
                limit.as_secs_f64()
            ))),
        }
    }
}

/// What a take's store needs to know of the request.
#[derive(Clone, Copy, Debug)]
struct TakeShape {
    fps: mattebox_core::Rational,
    /// Frames the take may still hand over.
    frames: u64,
    /// Largest frame (in pixels) a file the adapter hands over may hold.
    max_file_pixels: u64,
    /// Longest sound, in seconds, the adapter may hand over.
    max_audio_seconds: f64,
    /// Takes the call may make (`takes-wanted`).
    takes: u32,
}

/// Runs `call` on the adapter thread's `runtime` until it ends, or until
/// `stop` is set: then the future (and whatever it borrows, the store's
/// instance among it) is dropped at its next wait, and `None` returned. A
/// spinning guest never waits; the epoch callback interrupts it instead.
fn run_until_stopped<T>(
    runtime: &tokio::runtime::Runtime,
    stop: &AtomicBool,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Option<wasmtime::Result<T>> {
    runtime.block_on(async {
        let mut call = std::pin::pin!(call);
        loop {
            match tokio::time::timeout(TICK * 5, call.as_mut()).await {
                Ok(result) => return Some(result),
                Err(_) if stop.load(Ordering::SeqCst) => return None,
                Err(_) => {}
            }
        }
    })
}

/// The servers the user named for this adapter in its settings, for the
/// extras its manifest says name a server.
fn user_servers(manifest: &Manifest, policy: &SandboxPolicy) -> Result<UserServers> {
    let id = &manifest.id;
    let mut user =
        UserServers { adapter: id.clone(), keys: manifest.network.server_extras.clone(), origins: Vec::new() };
    let Some(dir) = &policy.settings_dir else {
        return Ok(user);
    };
    let settings = mattebox_core::generate::AdapterSettings::load(dir, id)?;
    for key in &manifest.network.server_extras {
        if let Some(setting) = settings.extras.get(key)
            && let Some(origin) = manifest.check_setting(key, setting)?
        {
            user.origins.push(origin);
        }
    }
    Ok(user)
}

/// Reads an adapter's manifest and component (regular files inside its
/// folder, of bounded size). Returns the manifest, the component's bytes
/// and its path.
pub(crate) fn read_adapter(path: &Path) -> Result<(Manifest, Vec<u8>, PathBuf)> {
    let (manifest, dir) = Manifest::load(path)?;
    let file = dir.join(&manifest.component);
    let bytes = mattebox_core::files::read_inside(&file, &dir, MAX_COMPONENT_BYTES, "adapter's component")?;
    Ok((manifest, bytes, file))
}

/// Largest frame a file handed over by `emit-file` may hold: four times
/// the request's pixels, and at least UHD (vendors deliver their own sizes).
fn max_file_pixels(request: &ShotRequest) -> u64 {
    (request.width as u64 * request.height as u64 * 4).clamp(3840 * 2160, mattebox_core::frame::MAX_PIXELS)
}

/// The first line of a trap, with the wasm backtrace left out.
fn trap_message(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::StackOverflow => "it recursed until its stack ran out".into(),
            wasmtime::Trap::Interrupt => "it was interrupted".into(),
            other => format!("it crashed ({other})"),
        };
    }
    let text = format!("{e:#}");
    if text.contains("forcing trap when growing memory") {
        return "it tried to use more memory than its limit".into();
    }
    text.lines().next().unwrap_or("unknown error").to_owned()
}

impl Generator for WasmAdapter {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn generate(&self, cx: &mut TakeContext<'_>) -> Result<Vec<Deviation>> {
        let id = self.manifest.id.clone();
        let v0_1 = matches!(self.pre, Pre::V0_1(_));
        let (request, mut host_notes) =
            request_of(cx.request(), cx.seed(), cx.take(), &id, self.limits.memory_bytes, !v0_1)?;
        if v0_1 {
            host_notes.extend(contract_deviations(cx.request()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let cancel = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let deadline = started + self.limits.deadline;
        let (events, received) = sync_channel::<Event>(2);
        let (done, finished) = sync_channel(1);
        let shape = TakeShape {
            fps: cx.request().fps,
            // One past the request's quota, so that the take's own check
            // (on the take's thread, with its message) stops a runaway
            // emitter; the user's ceiling is the host's to enforce.
            frames: frame_quota(cx.request()).saturating_add(1).min(self.limits.frames),
            max_file_pixels: max_file_pixels(cx.request()),
            max_audio_seconds: sound_quota_seconds(cx.request()),
            takes: cx.takes_wanted(),
        };
        let mut store = self.store(events, stop.clone(), cancel.clone(), deadline, shape, self.fetcher.clone())?;
        let pre = self.pre.clone();
        // The adapter's log lines go where this take's do.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let guard = stop.clone();
        // Not this thread: a host call in progress (an HTTP exchange,
        // bounded by the deadline) must not hold the take; the adapter's
        // thread drops the store when that call returns.
        crate::workers::run(Box::new(move |runtime| {
            tracing::dispatcher::with_default(&dispatch, || {
                let result = run_until_stopped(runtime, &guard, pre.generate(&mut store, request))
                    .unwrap_or_else(|| Err(wasmtime::Error::msg("stopped")));
                drop(store); // closes the event channel: the take sees the end
                let _ = done.send(result);
            })
        }))?;
        let mut reason = Stopped::Running;
        let mut host_error: Option<Error> = None;
        let mut cancelled_at: Option<Instant> = None;
        // Apply what the adapter sends until it returns; watch for cancel.
        let mut receiving = Some(received);
        loop {
            if reason == Stopped::Running {
                if cx.is_cancelled() {
                    // The adapter hears it from `progress` and may tidy up
                    // (ComfyUI: interrupt its prompt) for a moment first.
                    reason = Stopped::Cancelled;
                    cancel.store(true, Ordering::SeqCst);
                    cancelled_at = Some(Instant::now());
                } else if Instant::now() >= deadline {
                    reason = Stopped::Deadline;
                    stop.store(true, Ordering::SeqCst);
                    receiving = None; // a blocked send now fails at once
                }
            }
            if cancelled_at.is_some_and(|at| at.elapsed() >= CANCEL_GRACE || Instant::now() >= deadline)
                && !stop.load(Ordering::SeqCst)
            {
                stop.store(true, Ordering::SeqCst);
                receiving = None;
            }
            let Some(rx) = &receiving else {
                break;
            };
            match rx.recv_timeout(TICK * 5) {
                Ok(Event::Frame(frame)) => {
                    if let Err(e) = cx.emit_owned(frame) {
                        if e.kind() == ErrorKind::Cancelled {
                            reason = Stopped::Cancelled;
                        } else {
                            reason = Stopped::HostError;
                            host_error = Some(e);
                        }
                        stop.store(true, Ordering::SeqCst);
                        receiving = None;
                    }
                }
                Ok(Event::Progress(p)) => {
                    cx.progress(p);
                }
                Ok(Event::NextTake(report)) => {
                    let mut notes = deviations_of(&id, report.deviations, &host_notes);
                    if let Some(vendor) = &report.vendor_generation
                        && let Err(e) = cx.set_vendor_generation(vendor)
                    {
                        notes.push(Deviation::approximated(Field::Extras, format!("the vendor id was not kept: {e}")));
                    }
                    if let Err(e) = cx.next_take(notes) {
                        reason = if e.kind() == ErrorKind::Cancelled { Stopped::Cancelled } else { Stopped::HostError };
                        host_error = Some(e);
                        stop.store(true, Ordering::SeqCst);
                        receiving = None;
                    }
                }
                Ok(Event::Audio(wav)) => {
                    if let Err(e) = cx.emit_audio(wav) {
                        reason = if e.kind() == ErrorKind::Cancelled { Stopped::Cancelled } else { Stopped::HostError };
                        host_error = Some(e);
                        stop.store(true, Ordering::SeqCst);
                        receiving = None;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let outcome = if reason == Stopped::Running {
            finished
                .recv()
                .map_err(|_| Error::internal(format!("adapter {id}: its host thread ended without a result")))?
        } else {
            match finished.recv_timeout(STOP_GRACE) {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(adapter = %id, "the adapter is blocked in a host call; its thread is left to end on its own");
                    Err(wasmtime::Error::msg("stopped"))
                }
            }
        };
        let limits = self.limits;
        match (reason, outcome) {
            (Stopped::Cancelled, _) => {
                Err(Error::new(ErrorKind::Cancelled, format!("take {} was cancelled", cx.take() + 1)))
            }
            (Stopped::HostError, _) => {
                Err(host_error.unwrap_or_else(|| Error::internal("host error")).context(format!("adapter {id}")))
            }
            (Stopped::Deadline, _) => Err(deadline_error(&id, limits.deadline)),
            (Stopped::Running, Ok(Ok(report))) => {
                if let Some(vendor) = &report.vendor_generation
                    && let Err(e) = cx.set_vendor_generation(vendor)
                {
                    tracing::warn!(adapter = %id, "the adapter reported a vendor id that is not kept: {e}");
                }
                Ok(deviations_of(&id, report.deviations, &host_notes))
            }
            (Stopped::Running, Ok(Err(e))) => Err(match e {
                wit::GenerateError::InvalidRequest(m) => Error::invalid_argument(format!("adapter {id}: {m}")),
                wit::GenerateError::Vendor(m) => Error::new(ErrorKind::Vendor, format!("adapter {id}: {m}")),
                wit::GenerateError::Network(m) => Error::new(ErrorKind::Network, format!("adapter {id}: network: {m}")),
                wit::GenerateError::Cancelled => Error::new(ErrorKind::Cancelled, format!("adapter {id}: cancelled")),
                wit::GenerateError::Other(m) => Error::media(format!("adapter {id}: {m}")),
            }),
            (Stopped::Running, Err(trap)) => {
                if Instant::now() >= deadline {
                    return Err(deadline_error(&id, limits.deadline));
                }
                Err(Error::media(format!(
                    "adapter {id} failed: {} (limits: {} MiB memory, {} s)",
                    trap_message(&trap),
                    limits.memory_bytes >> 20,
                    limits.deadline.as_secs()
                )))
            }
        }
    }
}

/// A take's report in the host's terms (at most 64 of the adapter's own),
/// with what the host noted of the request.
fn deviations_of(id: &str, reported: Vec<wit::Deviation>, host_notes: &[Deviation]) -> Vec<Deviation> {
    if reported.len() > 64 {
        tracing::warn!(adapter = %id, "the adapter reported {} deviations; the first 64 are kept", reported.len());
    }
    let mut notes: Vec<Deviation> = reported
        .into_iter()
        .take(64)
        .map(|d| Deviation {
            field: field_of(d.field),
            kind: match d.kind {
                wit::DeviationKind::Dropped => DeviationKind::Dropped,
                wit::DeviationKind::Approximated => DeviationKind::Approximated,
            },
            note: d.note,
        })
        .collect();
    notes.extend_from_slice(host_notes);
    notes
}

/// What contract 0.1 cannot carry, said for a 0.1 adapter (which never saw it).
fn contract_deviations(request: &ShotRequest) -> Vec<Deviation> {
    let mut notes: Vec<Deviation> = video_deviation_0_1(request).into_iter().collect();
    if !request.audio.is_empty() {
        let labels: Vec<&str> = request.audio.iter().map(|a| a.label()).collect();
        notes.push(Deviation::dropped(
            Field::Audio,
            format!("the adapter implements contract 0.1, which has no sound input: {} not given", labels.join(", ")),
        ));
    }
    notes
}

fn video_deviation_0_1(request: &ShotRequest) -> Option<Deviation> {
    let video = request.source_video.as_ref()?;
    let sent_last_frame = video.role() == VideoRole::Extend && request.first_frame.is_none();
    Some(if sent_last_frame {
        Deviation::approximated(
            Field::SourceVideo,
            "the adapter implements contract 0.1, which has no source video: it was given the source's last \
             frame as its first frame, so the shot starts there without the source's motion",
        )
    } else {
        Deviation::dropped(
            Field::SourceVideo,
            format!("the adapter implements contract 0.1, which has no source video to {}", video.role().name()),
        )
    })
}

fn deadline_error(id: &str, deadline: Duration) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("adapter {id} ran past its deadline of {} s and was stopped", deadline.as_secs_f64()),
    )
}
