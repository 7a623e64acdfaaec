//! A generator adapter loaded from its manifest and component, run as a
//! [`Generator`]: a fresh store and instance per take (a trapped store is
//! unusable, and some guest languages never give memory back), under the
//! manifest's limits capped by the host's policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generator, GeneratorInfo, TakeContext};
use mattebox_core::shot::{Deviation, DeviationKind, Field, ImageInput, ShotRequest};
use mattebox_core::{Error, ErrorKind, PixelFormat, Result};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Store, StoreLimitsBuilder, UpdateDeadline};

use crate::bindings::mattebox::generator::types as wit;
use crate::bindings::{Generator as Bindings, GeneratorPre};
use crate::engine::{TICK, engine, load_component};
use crate::host::{Event, HostState, empty_wasi};
use crate::http::{Fetcher, NetworkPolicy};
use crate::manifest::Manifest;

/// What the user allows adapters, beyond what each manifest asks for.
#[derive(Clone, Debug)]
pub struct SandboxPolicy {
    /// Network addresses and secrets.
    pub network: NetworkPolicy,
    /// Most memory any adapter gets, MiB.
    pub max_memory_mib: u64,
    /// Longest any take may run, seconds.
    pub max_deadline_seconds: u64,
    /// Most bytes an adapter may pass in one host call (a frame, a request).
    pub max_call_bytes: usize,
    /// Where compiled components are cached (`<dir>/components`).
    pub cache_dir: PathBuf,
}

impl SandboxPolicy {
    /// Caps that suit a workstation, caching under `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> SandboxPolicy {
        SandboxPolicy {
            network: NetworkPolicy::default(),
            max_memory_mib: 2048,
            max_deadline_seconds: 3600,
            max_call_bytes: 256 << 20,
            cache_dir: cache_dir.into(),
        }
    }
}

/// How long a stopped adapter's thread gets to unwind before the take
/// ends without it.
const STOP_GRACE: Duration = Duration::from_millis(250);

/// Limits in force for one adapter.
#[derive(Clone, Copy, Debug)]
struct Effective {
    memory_bytes: usize,
    deadline: Duration,
    call_bytes: usize,
    log_bytes: usize,
}

/// A loaded adapter.
pub struct WasmAdapter {
    info: GeneratorInfo,
    manifest: Manifest,
    pre: GeneratorPre<HostState>,
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
    }
}

fn image_of(image: &ImageInput) -> Result<wit::Image> {
    let frame = image.frame().to_format(PixelFormat::Rgba8)?;
    Ok(wit::Image {
        label: image.label().to_owned(),
        width: frame.width(),
        height: frame.height(),
        rgba8: frame.as_bytes().to_vec(),
    })
}

fn request_of(request: &ShotRequest, seed: u64, take: u32) -> Result<wit::ShotRequest> {
    let rational = |r: mattebox_core::Rational| wit::Rational { num: r.num(), den: r.den() };
    let c = request.camera;
    Ok(wit::ShotRequest {
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
    })
}

impl WasmAdapter {
    /// Loads the adapter whose manifest is `path` (or is in directory
    /// `path`): reads and checks the manifest, compiles the component (or
    /// loads it compiled), checks it against the WIT world, and asks it to
    /// describe itself, which must agree with the manifest.
    pub fn load(path: &Path, policy: &SandboxPolicy) -> Result<WasmAdapter> {
        let (manifest, dir) = Manifest::load(path)?;
        let file = dir.join(&manifest.component);
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, "read the adapter's component", e))?;
        let engine = engine()?;
        let component = load_component(engine, &bytes, &policy.cache_dir, &file.display().to_string())?;
        let mut linker: Linker<HostState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| Error::internal(format!("could not link WASI: {e:#}")))?;
        Bindings::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| Error::internal(format!("could not link the host interface: {e:#}")))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            Error::invalid_argument(format!(
                "{}: the component does not fit the {} world: {e:#}",
                file.display(),
                crate::manifest::WIT_PACKAGE
            ))
        })?;
        let pre = GeneratorPre::new(instance_pre).map_err(|e| {
            Error::invalid_argument(format!(
                "{}: the component's exports do not match the world: {e:#}",
                file.display()
            ))
        })?;
        let l = &manifest.limits;
        let limits = Effective {
            memory_bytes: (l.memory_mib.min(policy.max_memory_mib) << 20) as usize,
            deadline: Duration::from_secs(l.deadline_seconds.min(policy.max_deadline_seconds)),
            call_bytes: policy.max_call_bytes,
            log_bytes: (l.log_kib << 10) as usize,
        };
        let fetcher = Arc::new(Fetcher::new(
            &manifest.network.origins,
            &manifest.secrets.names,
            Arc::new(policy.network.clone()),
            l.response_mib << 20,
        )?);
        let mut adapter = WasmAdapter {
            info: GeneratorInfo {
                id: manifest.id.clone(),
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                honours: Vec::new(),
                max_concurrent: l.concurrent,
            },
            manifest,
            pre,
            fetcher,
            limits,
        };
        let described = adapter.describe()?;
        if described.id != adapter.manifest.id || described.version != adapter.manifest.version {
            return Err(Error::invalid_argument(format!(
                "{}: the component says it is {} {}, its manifest says {} {}",
                file.display(),
                described.id,
                described.version,
                adapter.manifest.id,
                adapter.manifest.version
            )));
        }
        adapter.info.name = described.name;
        adapter.info.honours = described.honours.into_iter().map(field_of).collect();
        Ok(adapter)
    }

    /// The manifest it was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn store(
        &self,
        events: std::sync::mpsc::SyncSender<Event>,
        stop: Arc<AtomicBool>,
        deadline: Instant,
        fps: mattebox_core::Rational,
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
            fetcher: self.fetcher.clone(),
            deadline,
            log_left: self.limits.log_bytes,
            log_capped: false,
            fps,
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

    /// Calls `describe` in a fresh instance with a short deadline.
    fn describe(&self) -> Result<wit::AdapterInfo> {
        // The receiver is dropped at once: describe has nothing to emit, and a
        // send fails (traps) rather than blocking.
        let (events, _) = sync_channel(1);
        let deadline = Instant::now() + Duration::from_secs(10).min(self.limits.deadline);
        let mut store =
            self.store(events, Arc::new(AtomicBool::new(false)), deadline, mattebox_core::Rational::integer(24))?;
        let trapped = |e: wasmtime::Error| {
            Error::invalid_argument(format!("adapter {}: describe failed: {}", self.manifest.id, trap_message(&e)))
        };
        let bindings = self.pre.instantiate(&mut store).map_err(trapped)?;
        bindings.call_describe(&mut store).map_err(trapped)
    }
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
        let request = request_of(cx.request(), cx.seed(), cx.take())?;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let deadline = started + self.limits.deadline;
        let (events, received) = sync_channel::<Event>(2);
        let (done, finished) = sync_channel(1);
        let mut store = self.store(events, stop.clone(), deadline, cx.request().fps)?;
        let pre = self.pre.clone();
        // The adapter's log lines go where this take's do.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        // Not a scoped thread: an adapter blocked inside a host call that
        // epochs cannot interrupt (a WASI sleep) must not hold the take
        // past its deadline; such a thread is left to finish on its own.
        std::thread::Builder::new()
            .name(format!("mattebox-adapter-{id}"))
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let result = pre.instantiate(&mut store).and_then(|b| b.call_generate(&mut store, &request));
                    drop(store); // closes the event channel: the take sees the end
                    let _ = done.send(result);
                })
            })
            .map_err(|e| Error::internal(format!("could not start the adapter's thread: {e}")))?;
        let mut reason = Stopped::Running;
        let mut host_error: Option<Error> = None;
        // Apply what the adapter sends until it returns; watch for cancel.
        let mut receiving = Some(received);
        loop {
            if reason == Stopped::Running {
                if cx.is_cancelled() {
                    reason = Stopped::Cancelled;
                } else if Instant::now() >= deadline {
                    reason = Stopped::Deadline;
                }
                if reason != Stopped::Running {
                    stop.store(true, Ordering::SeqCst);
                    receiving = None; // a blocked send now fails at once
                }
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
            (Stopped::Running, Ok(Ok(deviations))) => {
                let mut notes: Vec<Deviation> = deviations
                    .into_iter()
                    .map(|d| Deviation {
                        field: field_of(d.field),
                        kind: match d.kind {
                            wit::DeviationKind::Dropped => DeviationKind::Dropped,
                            wit::DeviationKind::Approximated => DeviationKind::Approximated,
                        },
                        note: d.note,
                    })
                    .collect();
                notes.truncate(64);
                Ok(notes)
            }
            (Stopped::Running, Ok(Err(e))) => Err(match e {
                wit::GenerateError::InvalidRequest(m) => Error::invalid_argument(format!("adapter {id}: {m}")),
                wit::GenerateError::Vendor(m) => Error::media(format!("adapter {id}: the vendor said: {m}")),
                wit::GenerateError::Network(m) => Error::new(ErrorKind::Io, format!("adapter {id}: network: {m}")),
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

fn deadline_error(id: &str, deadline: Duration) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("adapter {id} ran past its deadline of {} s and was stopped", deadline.as_secs_f64()),
    )
}
