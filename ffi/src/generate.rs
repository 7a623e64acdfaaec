//! Shot generation through the C ABI: a generation service per runtime
//! (the built-in generator, plus adapters the host loads), jobs that run
//! off the host's threads, per-take status, cancel, and a finished take's
//! frames opened as an `mb_media`.

use std::ffi::{CStr, c_char};
use std::sync::Arc;
use std::time::Duration;

use mattebox_core::generate::{GenerationJob, Generations, TakeStage, read_sound, read_source_video};
use mattebox_core::shot::{CameraMotion, ImageInput, ShotRequest, SoundRole, VideoRole};
use mattebox_core::{Rational, Runtime};

use crate::boundary::{
    BoxedHandle, FfiError, FfiResult, arg_mut, arg_path, arg_ref, free_handle, guard, mb_result, write_sized,
};
use crate::image::{image_view, mb_image};
use crate::media::mb_media;
use crate::runtime::mb_runtime;

/// Most extras (key/value pairs) one request may carry.
const MAX_EXTRAS: u32 = 256;

/// The generation service: generators by id (`"builtin"` always), the take
/// cache under the runtime's cache directory, the jobs. Safe to use from
/// several threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_generations {
    runtime: Arc<Runtime>,
    inner: Generations,
}

impl BoxedHandle for mb_generations {}

/// A running request for takes.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_generation {
    runtime: Arc<Runtime>,
    job: GenerationJob,
}

impl BoxedHandle for mb_generation {}

/// One shot to generate. Fill with `mb_shot_request_init`, then change
/// fields. Strings and images are read during `mb_generation_submit` only.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_shot_request {
    /// `sizeof(mb_shot_request)`.
    pub struct_size: u32,
    /// What the shot shows (UTF-8, NUL-terminated); NULL for none.
    pub prompt: *const c_char,
    /// What it must not show; NULL for none.
    pub negative_prompt: *const c_char,
    /// The shot starts on this image; NULL for none.
    pub first_frame: *const mb_image,
    /// The shot ends on this image; NULL for none.
    pub last_frame: *const mb_image,
    /// Camera move amounts in [-1, 1]: horizontal, vertical, pan, tilt, roll, zoom.
    pub camera: [f32; 6],
    /// Length in seconds, as a fraction.
    pub duration_num: i64,
    /// Denominator of the length.
    pub duration_den: i64,
    /// Frames per second, as a fraction.
    pub fps_num: i64,
    /// Denominator of the rate.
    pub fps_den: i64,
    /// Frame width (even).
    pub width: u32,
    /// Frame height (even).
    pub height: u32,
    /// Seed of the first take; take k uses seed + k.
    pub seed: u64,
    /// `2 * extras_count` strings: key, value, key, value...; NULL when `extras_count` is 0.
    pub extras: *const *const c_char,
    /// Number of key/value pairs in `extras`.
    pub extras_count: u32,
    /// A video the shot continues, lip-syncs or restyles: a clip, or a take's
    /// folder of frames (`mb_generation_take_dir`); NULL for none. Since ABI 1.9.
    pub source_video: *const c_char,
    /// What `source_video` is for: one of the `MB_VIDEO_ROLE_*` constants.
    /// Since ABI 1.9.
    pub source_role: mb_video_role,
    /// A sound file for the shot (wav, mp3, m4a, aac, ogg, flac, or a
    /// video whose sound track is used): the dialogue line a lip-sync
    /// follows; NULL for none. Since ABI 1.10.
    pub audio: *const c_char,
    /// What `audio` is: one of the `MB_SOUND_ROLE_*` constants. Since ABI 1.10.
    pub audio_role: mb_sound_role,
}

/// What a request's sound is: one of the `MB_SOUND_ROLE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_sound_role = u32;
/// The line the shot's character speaks (lip-sync).
pub const MB_SOUND_ROLE_DIALOGUE: mb_sound_role = 1;
/// A sound to follow (music, ambience).
pub const MB_SOUND_ROLE_REFERENCE: mb_sound_role = 2;

/// What a request's source video is for: one of the `MB_VIDEO_ROLE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_video_role = u32;
/// Continue the shot after the video's last frame.
pub const MB_VIDEO_ROLE_EXTEND: mb_video_role = 1;
/// Re-render the mouth to a dialogue line.
pub const MB_VIDEO_ROLE_LIPSYNC: mb_video_role = 2;
/// The same motion in another look.
pub const MB_VIDEO_ROLE_RESTYLE: mb_video_role = 3;

/// `sizeof(mb_shot_request)` in ABI 1.8, before the source video, and in
/// 1.9, before the sound: hosts built then keep working.
const SHOT_REQUEST_1_8_SIZE: usize = std::mem::offset_of!(mb_shot_request, source_video);
const SHOT_REQUEST_1_9_SIZE: usize = std::mem::offset_of!(mb_shot_request, audio);

/// Where a take is: one of the `MB_TAKE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_take_stage = u32;
/// Waiting for its generator.
pub const MB_TAKE_QUEUED: mb_take_stage = 1;
/// Being generated.
pub const MB_TAKE_RUNNING: mb_take_stage = 2;
/// Finished: open it with `mb_generation_open_take`.
pub const MB_TAKE_DONE: mb_take_stage = 3;
/// Failed; `mb_generation_open_take` returns why.
pub const MB_TAKE_FAILED: mb_take_stage = 4;
/// Cancelled.
pub const MB_TAKE_CANCELLED: mb_take_stage = 5;

/// A snapshot of one take, filled by `mb_generation_status`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_take_status {
    /// Set to `sizeof(mb_take_status)` before the call.
    pub struct_size: u32,
    /// One of the `MB_TAKE_*` constants.
    pub stage: mb_take_stage,
    /// How far, 0 to 1.
    pub fraction: f32,
    /// Non-zero when the take came from the take cache.
    pub from_cache: u32,
    /// Frames in the take, once done.
    pub frames: u64,
    /// Why it failed or was cancelled (`MB_RESULT_OK` otherwise).
    pub error: mb_result,
}

fn text(ptr: *const c_char, argument: &str) -> FfiResult<String> {
    if ptr.is_null() {
        return Ok(String::new());
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| FfiError::invalid(format!("argument `{argument}` is not UTF-8")))
}

fn defaults() -> mb_shot_request {
    mb_shot_request {
        struct_size: std::mem::size_of::<mb_shot_request>() as u32,
        prompt: std::ptr::null(),
        negative_prompt: std::ptr::null(),
        first_frame: std::ptr::null(),
        last_frame: std::ptr::null(),
        camera: [0.0; 6],
        duration_num: 2,
        duration_den: 1,
        fps_num: 24,
        fps_den: 1,
        width: 1280,
        height: 720,
        seed: 0,
        extras: std::ptr::null(),
        extras_count: 0,
        source_video: std::ptr::null(),
        source_role: MB_VIDEO_ROLE_EXTEND,
        audio: std::ptr::null(),
        audio_role: MB_SOUND_ROLE_DIALOGUE,
    }
}

/// A copy of the host's request, `struct_size` bytes of it: a host built
/// against ABI 1.8 or 1.9 hands a shorter struct, whose memory ends before
/// the fields added since (they keep their defaults).
///
/// # Safety
/// `request` must be NULL or point to `struct_size` readable bytes.
unsafe fn read_request(request: *const mb_shot_request) -> FfiResult<mb_shot_request> {
    if request.is_null() {
        return Err(FfiError::null("request"));
    }
    // SAFETY: non-null; every version of the struct starts with its size.
    let size = unsafe { request.cast::<u32>().read_unaligned() } as usize;
    if ![std::mem::size_of::<mb_shot_request>(), SHOT_REQUEST_1_9_SIZE, SHOT_REQUEST_1_8_SIZE].contains(&size) {
        return Err(FfiError::invalid(
            "request->struct_size must be sizeof(mb_shot_request); call mb_shot_request_init",
        ));
    }
    let mut copy = defaults();
    // SAFETY: the host promises `size` readable bytes; `copy` holds at least as many.
    unsafe { std::ptr::copy_nonoverlapping(request.cast::<u8>(), (&raw mut copy).cast::<u8>(), size) };
    Ok(copy)
}

/// Fills `request` with the defaults: no prompt or images, no camera move,
/// 2 s at 24 fps, 1280x720, seed 0, no extras, no source video (role
/// `MB_VIDEO_ROLE_EXTEND` once one is set), no sound (role
/// `MB_SOUND_ROLE_DIALOGUE` once one is set).
///
/// # Safety
/// `request` must point to writable memory for one `mb_shot_request`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_request_init(request: *mut mb_shot_request) -> mb_result {
    guard("mb_shot_request_init", || {
        // SAFETY: checked for null; validity is the host's contract.
        let request = unsafe { arg_mut(request, "request")? };
        *request = defaults();
        Ok(())
    })
}

/// Makes the generation service of `runtime`, with the built-in generator.
/// Release with `mb_generations_free`; on failure `*out` is NULL.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generations_new(runtime: *const mb_runtime, out: *mut *mut mb_generations) -> mb_result {
    guard("mb_generations_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let runtime = unsafe { arg_ref(runtime, "runtime")? };
        let inner = Generations::new(runtime.inner.clone())?;
        *out = mb_generations { runtime: runtime.inner.clone(), inner }.into_raw();
        Ok(())
    })
}

/// Loads the generator adapter at `path` (its directory, or its
/// `adapter.toml`) into the sandbox and makes it available by its id. The
/// component is checked against the WIT world; secrets and allowed private
/// addresses come from `MATTEBOX_SECRET_<NAME>` and
/// `MATTEBOX_ALLOW_ADDRESSES`.
///
/// This runs whatever adapter the path holds: it is for hosts that manage
/// adapter folders themselves. Never pass a path that came from a document
/// or a project file; load an adapter the user named with
/// `mb_generations_load_installed`, which takes only an installed id.
///
/// # Safety
/// `generations` must come from `mb_generations_new`; `path` must be a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generations_load_adapter(
    generations: *const mb_generations,
    path: *const c_char,
) -> mb_result {
    guard("mb_generations_load_adapter", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (generations, path) = unsafe { (arg_ref(generations, "generations")?, arg_path(path, "path")?) };
        load_adapter(generations, &path)
    })
}

/// Loads the adapter installed as `id` (`mattebox plugin install`; see
/// `mattebox_core::generate::default_plugin_dir`) into the sandbox and
/// makes it available by that id. `id` is an id, never a path: anything
/// else is `MB_RESULT_INVALID_ARGUMENT`, so a name read from a project file
/// can only reach an adapter the user installed. ABI 1.4.
///
/// # Safety
/// `generations` must come from `mb_generations_new`; `id` must be a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generations_load_installed(
    generations: *const mb_generations,
    id: *const c_char,
) -> mb_result {
    guard("mb_generations_load_installed", || {
        // SAFETY: checked for null; validity is the host's contract.
        let generations = unsafe { arg_ref(generations, "generations")? };
        if id.is_null() {
            return Err(FfiError::null("id"));
        }
        let id = text(id, "id")?;
        mattebox_core::generate::check_adapter_id(&id)?;
        load_installed(generations, &id)
    })
}

/// Writes the version of the adapter `id` loads (installed, or shipped with
/// this library: `mb_generations_load_installed` picks the same) into `buf`
/// as a NUL-terminated string of at most `capacity` bytes; reads manifests
/// only. `MB_RESULT_NOT_FOUND` when no such adapter is installed,
/// `MB_RESULT_INVALID_ARGUMENT` when `id` is not an id or the buffer is too
/// small (the message says how many bytes it needs). ABI 1.4.
///
/// # Safety
/// `id` must be a NUL-terminated string; `buf` must have `capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_installed_adapter_version(
    id: *const c_char,
    buf: *mut c_char,
    capacity: usize,
) -> mb_result {
    guard("mb_installed_adapter_version", || {
        if id.is_null() {
            return Err(FfiError::null("id"));
        }
        if buf.is_null() {
            return Err(FfiError::null("buf"));
        }
        let id = text(id, "id")?;
        mattebox_core::generate::check_adapter_id(&id)?;
        let version = installed_version(&id)?;
        // SAFETY: `capacity` writable bytes at `buf`, per the contract.
        unsafe { write_text(&version, buf, capacity, &format!("adapter {id}'s version")) }
    })
}

/// Writes `value` and a NUL into `buf`, or says how many bytes it needs.
///
/// # Safety
/// `buf` must be non-null with `capacity` writable bytes.
pub(crate) unsafe fn write_text(value: &str, buf: *mut c_char, capacity: usize, what: &str) -> FfiResult<()> {
    if value.len() + 1 > capacity {
        return Err(FfiError::invalid(format!(
            "argument `buf` holds {capacity} bytes; {what} needs {}",
            value.len() + 1
        )));
    }
    // SAFETY: `capacity` writable bytes per the contract, and the value
    // with its NUL fits in them.
    unsafe {
        std::ptr::copy_nonoverlapping(value.as_ptr(), buf as *mut u8, value.len());
        *buf.add(value.len()) = 0;
    }
    Ok(())
}

#[cfg(feature = "sandbox")]
fn installed_version(id: &str) -> FfiResult<String> {
    Ok(mattebox_sandbox::installed_version(&mattebox_core::generate::default_plugin_dir(), id)?)
}

#[cfg(not(feature = "sandbox"))]
fn installed_version(id: &str) -> FfiResult<String> {
    Err(FfiError {
        code: mb_result::Unsupported,
        message: format!("adapter {id:?}: this build of libmattebox has no adapter sandbox"),
    })
}

#[cfg(feature = "sandbox")]
fn load_installed(generations: &mb_generations, id: &str) -> FfiResult<()> {
    let policy = mattebox_sandbox::policy_from_env()?;
    let plugins = mattebox_core::generate::default_plugin_dir();
    let adapter = generations.runtime.in_logging(|| mattebox_sandbox::load_installed(&plugins, id, &policy))?;
    generations.inner.register(Arc::new(adapter));
    Ok(())
}

#[cfg(not(feature = "sandbox"))]
fn load_installed(_generations: &mb_generations, id: &str) -> FfiResult<()> {
    Err(FfiError {
        code: mb_result::Unsupported,
        message: format!("adapter {id:?}: this build of libmattebox has no adapter sandbox"),
    })
}

#[cfg(feature = "sandbox")]
fn load_adapter(generations: &mb_generations, path: &std::path::Path) -> FfiResult<()> {
    let policy = mattebox_sandbox::policy_from_env()?;
    let adapter = generations.runtime.in_logging(|| mattebox_sandbox::WasmAdapter::load(path, &policy))?;
    generations.inner.register(Arc::new(adapter));
    Ok(())
}

#[cfg(not(feature = "sandbox"))]
fn load_adapter(_generations: &mb_generations, path: &std::path::Path) -> FfiResult<()> {
    Err(FfiError {
        code: mb_result::Unsupported,
        message: format!("{}: this build of libmattebox has no adapter sandbox", path.display()),
    })
}

/// Releases the service. Jobs already submitted keep running until freed.
/// NULL is ignored.
///
/// # Safety
/// `generations` must be NULL or come from `mb_generations_new`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generations_free(generations: *mut mb_generations) {
    // SAFETY: `generations` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_generations_free", generations) }
}

fn image_input(ptr: *const mb_image, argument: &str) -> FfiResult<Option<ImageInput>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null; the host promises the image for the call.
    let image = unsafe { &*ptr };
    // SAFETY: as above.
    let view = unsafe { image_view(image, argument)? };
    Ok(Some(ImageInput::new(format!("{argument} (from the host)"), view.to_frame()?)))
}

fn request_of(r: &mb_shot_request, runtime: &Runtime) -> FfiResult<ShotRequest> {
    let mut request = ShotRequest::new(text(r.prompt, "request->prompt")?);
    request.negative_prompt = text(r.negative_prompt, "request->negative_prompt")?;
    request.first_frame = image_input(r.first_frame, "request->first_frame")?;
    request.last_frame = image_input(r.last_frame, "request->last_frame")?;
    let [horizontal, vertical, pan, tilt, roll, zoom] = r.camera;
    request.camera = CameraMotion { horizontal, vertical, pan, tilt, roll, zoom };
    request.duration = Rational::new(r.duration_num, r.duration_den)?;
    request.fps = Rational::new(r.fps_num, r.fps_den)?;
    (request.width, request.height, request.seed) = (r.width, r.height, r.seed);
    if r.extras_count > MAX_EXTRAS {
        return Err(FfiError::invalid(format!("{} extras; at most {MAX_EXTRAS}", r.extras_count)));
    }
    if r.extras_count > 0 {
        if r.extras.is_null() {
            return Err(FfiError::null("request->extras"));
        }
        for i in 0..r.extras_count as usize {
            // SAFETY: the host promises 2 * extras_count pointers at `extras`.
            let (key, value) = unsafe { (*r.extras.add(2 * i), *r.extras.add(2 * i + 1)) };
            if key.is_null() || value.is_null() {
                return Err(FfiError::null("request->extras[i]"));
            }
            request.extras.insert(text(key, "request->extras")?, text(value, "request->extras")?);
        }
    }
    request.check()?;
    if !r.source_video.is_null() {
        let role = match r.source_role {
            MB_VIDEO_ROLE_EXTEND => VideoRole::Extend,
            MB_VIDEO_ROLE_LIPSYNC => VideoRole::Lipsync,
            MB_VIDEO_ROLE_RESTYLE => VideoRole::Restyle,
            other => {
                return Err(FfiError {
                    code: mb_result::Unsupported,
                    message: format!("request->source_role {other} is not one of the MB_VIDEO_ROLE_* constants"),
                });
            }
        };
        let path = std::path::PathBuf::from(text(r.source_video, "request->source_video")?);
        request.source_video = Some(read_source_video(runtime, &path, role)?);
    }
    if !r.audio.is_null() {
        let role = match r.audio_role {
            MB_SOUND_ROLE_DIALOGUE => SoundRole::Dialogue,
            MB_SOUND_ROLE_REFERENCE => SoundRole::Reference,
            other => {
                return Err(FfiError {
                    code: mb_result::Unsupported,
                    message: format!("request->audio_role {other} is not one of the MB_SOUND_ROLE_* constants"),
                });
            }
        };
        let path = std::path::PathBuf::from(text(r.audio, "request->audio")?);
        request.audio.push(read_sound(&path, role)?);
    }
    Ok(request)
}

/// Starts `takes` takes (1..16) of `request` from the generator `generator`
/// (`"builtin"`, or a loaded adapter's id); they run on threads of their own
/// and land in the take cache. Release with `mb_generation_free`; on failure
/// `*out` is NULL.
///
/// # Safety
/// `generations` must come from `mb_generations_new`; `generator` must be a
/// NUL-terminated string; `request` must be initialised and its strings and
/// images valid during the call; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_submit(
    generations: *const mb_generations,
    generator: *const c_char,
    request: *const mb_shot_request,
    takes: u32,
    out: *mut *mut mb_generation,
) -> mb_result {
    guard("mb_generation_submit", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let generations = unsafe { arg_ref(generations, "generations")? };
        // SAFETY: as above; only `struct_size` bytes are read.
        let request = unsafe { read_request(request)? };
        if generator.is_null() {
            return Err(FfiError::null("generator"));
        }
        let id = text(generator, "generator")?;
        let request = request_of(&request, &generations.runtime)?;
        let job = generations.inner.submit(&id, request, takes)?;
        *out = mb_generation { runtime: generations.runtime.clone(), job }.into_raw();
        Ok(())
    })
}

/// Writes the take-cache key of take `take` (0-based) of `request` from the
/// generator `generator` into `buf`, NUL-terminated, at most `capacity`
/// bytes: the key the take has in the take cache once made, read as
/// `mb_generation_submit` reads the request (its source video and sound
/// decoded, the user's adapter settings applied). For a host that keeps
/// takes by key but cannot decode a request's inputs itself. A buffer too
/// small is `MB_RESULT_INVALID_ARGUMENT` saying how many bytes it needs;
/// an unknown generator `MB_RESULT_NOT_FOUND`. ABI 1.11.
///
/// # Safety
/// As `mb_generation_submit` for `generations`, `generator` and `request`;
/// `buf` must have `capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_take_key(
    generations: *const mb_generations,
    generator: *const c_char,
    request: *const mb_shot_request,
    take: u32,
    buf: *mut c_char,
    capacity: usize,
) -> mb_result {
    guard("mb_generation_take_key", || {
        // SAFETY: checked for null; validity is the host's contract.
        let generations = unsafe { arg_ref(generations, "generations")? };
        // SAFETY: as above; only `struct_size` bytes are read.
        let request = unsafe { read_request(request)? };
        if generator.is_null() {
            return Err(FfiError::null("generator"));
        }
        if buf.is_null() {
            return Err(FfiError::null("buf"));
        }
        let id = text(generator, "generator")?;
        let request = request_of(&request, &generations.runtime)?;
        let key = generations.inner.take_key(&id, request, take)?;
        // SAFETY: `capacity` writable bytes at `buf`, per the contract.
        unsafe { write_text(&key, buf, capacity, &format!("take {take}'s key")) }
    })
}

fn stage_code(stage: TakeStage) -> mb_take_stage {
    match stage {
        TakeStage::Queued => MB_TAKE_QUEUED,
        TakeStage::Running => MB_TAKE_RUNNING,
        TakeStage::Done => MB_TAKE_DONE,
        TakeStage::Failed => MB_TAKE_FAILED,
        TakeStage::Cancelled => MB_TAKE_CANCELLED,
    }
}

/// The number of takes the job asked for.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_take_count(job: *const mb_generation, out: *mut u32) -> mb_result {
    guard("mb_generation_take_count", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (job, out) = unsafe { (arg_ref(job, "job")?, arg_mut(out, "out")?) };
        *out = job.job.status().len() as u32;
        Ok(())
    })
}

/// Fills `*out` with where take `take` (0-based) is. Only the first
/// `out->struct_size` bytes are written.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `out` must point to
/// writable memory of at least `out->struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_status(
    job: *const mb_generation,
    take: u32,
    out: *mut mb_take_status,
) -> mb_result {
    guard("mb_generation_status", || {
        // SAFETY: checked for null; validity is the host's contract.
        let job = unsafe { arg_ref(job, "job")? };
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let statuses = job.job.status();
        let s = statuses
            .get(take as usize)
            .ok_or_else(|| FfiError::invalid(format!("take {take} does not exist; the job has {}", statuses.len())))?;
        let status = mb_take_status {
            struct_size: std::mem::size_of::<mb_take_status>() as u32,
            stage: stage_code(s.stage),
            fraction: s.fraction,
            from_cache: s.take.as_ref().is_some_and(|t| t.from_cache) as u32,
            frames: s.take.as_ref().map_or(0, |t| t.frames),
            error: match &s.error {
                Some((kind, message)) => FfiError::from(mattebox_core::Error::new(*kind, message.clone())).code,
                None => mb_result::Ok,
            },
        };
        // SAFETY: the host promises `out->struct_size` writable bytes.
        unsafe { write_sized(&status, out, "out", "mb_take_status") }
    })
}

/// Waits up to `timeout_ms` milliseconds for every take to end; `*finished`
/// says whether they have. A timeout of 0 only checks.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `finished` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_wait(
    job: *const mb_generation,
    timeout_ms: u32,
    finished: *mut u32,
) -> mb_result {
    guard("mb_generation_wait", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (job, finished) = unsafe { (arg_ref(job, "job")?, arg_mut(finished, "finished")?) };
        *finished = job.job.wait_timeout(Duration::from_millis(timeout_ms as u64)) as u32;
        Ok(())
    })
}

/// Asks every unfinished take to stop; they end as `MB_TAKE_CANCELLED`
/// and leave nothing in the take cache. Returns at once.
///
/// # Safety
/// `job` must come from `mb_generation_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_cancel(job: *const mb_generation) -> mb_result {
    guard("mb_generation_cancel", || {
        // SAFETY: checked for null; validity is the host's contract.
        let job = unsafe { arg_ref(job, "job")? };
        job.job.cancel();
        Ok(())
    })
}

/// Opens finished take `take` as media: read its frames with
/// `mb_media_read_frame`, release with `mb_media_close`. A take that failed
/// or was cancelled returns its own error and message; one still running
/// returns `MB_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_open_take(
    job: *const mb_generation,
    take: u32,
    out: *mut *mut mb_media,
) -> mb_result {
    guard("mb_generation_open_take", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let job = unsafe { arg_ref(job, "job")? };
        let done = finished_take(job, take)?;
        let media = crate::media::open(&mb_runtime { inner: job.runtime.clone() }, &done.media)?;
        *out = media.into_raw();
        Ok(())
    })
}

/// Writes the folder of finished take `take`'s frames (an image sequence in
/// the take cache, numbered in order: what Unreal's `ImgMediaSource` and
/// other players of image sequences open) into `buf`, NUL-terminated, at
/// most `capacity` bytes (UTF-8). A take an adapter delivered as a video
/// file returns `MB_RESULT_UNSUPPORTED` naming the file and the command
/// that makes a sequence of it; a failed, cancelled or running take as
/// `mb_generation_open_take` does; a buffer too small
/// `MB_RESULT_INVALID_ARGUMENT` saying how many bytes it needs. ABI 1.6.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `buf` must have `capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_take_dir(
    job: *const mb_generation,
    take: u32,
    buf: *mut c_char,
    capacity: usize,
) -> mb_result {
    guard("mb_generation_take_dir", || {
        // SAFETY: checked for null; validity is the host's contract.
        let job = unsafe { arg_ref(job, "job")? };
        if buf.is_null() {
            return Err(FfiError::null("buf"));
        }
        let done = finished_take(job, take)?;
        if !done.media.is_dir() {
            return Err(FfiError {
                code: mb_result::Unsupported,
                message: format!(
                    "take {take} is a video file ({}), not an image sequence; make one with `mattebox convert {} \
                     -o DIR --format png`",
                    done.media.display(),
                    done.media.display()
                ),
            });
        }
        let dir = done
            .media
            .to_str()
            .ok_or_else(|| FfiError::invalid(format!("take {take}'s folder {} is not UTF-8", done.media.display())))?;
        // SAFETY: `capacity` writable bytes at `buf`, per the contract.
        unsafe { write_text(dir, buf, capacity, &format!("take {take}'s folder")) }
    })
}

/// Writes the path of finished take `take`'s sound (a 16-bit PCM WAV in
/// the take cache, playing from the take's first frame) into `buf`,
/// NUL-terminated, at most `capacity` bytes (UTF-8). A take without sound
/// returns `MB_RESULT_NOT_FOUND`; a failed, cancelled or running take as
/// `mb_generation_open_take` does; a buffer too small
/// `MB_RESULT_INVALID_ARGUMENT` saying how many bytes it needs. ABI 1.10.
///
/// # Safety
/// `job` must come from `mb_generation_submit`; `buf` must have `capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_take_audio(
    job: *const mb_generation,
    take: u32,
    buf: *mut c_char,
    capacity: usize,
) -> mb_result {
    guard("mb_generation_take_audio", || {
        // SAFETY: checked for null; validity is the host's contract.
        let job = unsafe { arg_ref(job, "job")? };
        if buf.is_null() {
            return Err(FfiError::null("buf"));
        }
        let done = finished_take(job, take)?;
        let path = done.audio_file().filter(|p| p.is_file()).ok_or_else(|| FfiError {
            code: mb_result::NotFound,
            message: format!("take {take} has no sound (its generator gave none)"),
        })?;
        let path = path
            .to_str()
            .ok_or_else(|| FfiError::invalid(format!("take {take}'s sound {} is not UTF-8", path.display())))?;
        // SAFETY: `capacity` writable bytes at `buf`, per the contract.
        unsafe { write_text(path, buf, capacity, &format!("take {take}'s sound")) }
    })
}

/// Finished take `take` of `job`, or the error a caller gets for it.
fn finished_take(job: &mb_generation, take: u32) -> FfiResult<mattebox_core::shot::Take> {
    let statuses = job.job.status();
    let s = statuses
        .get(take as usize)
        .ok_or_else(|| FfiError::invalid(format!("take {take} does not exist; the job has {}", statuses.len())))?;
    if let Some((kind, message)) = &s.error {
        return Err(mattebox_core::Error::new(*kind, message.clone()).into());
    }
    s.take.clone().ok_or_else(|| FfiError::invalid(format!("take {take} is not finished yet ({})", s.stage.name())))
}

/// Releases a job: cancels what has not finished and waits for its threads.
/// Finished takes stay in the take cache. NULL is ignored.
///
/// # Safety
/// `job` must be NULL or come from `mb_generation_submit`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_generation_free(job: *mut mb_generation) {
    // SAFETY: `job` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_generation_free", job) }
}
