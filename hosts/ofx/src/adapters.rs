//! Generator adapters for Mattebox Generate, through the full Mattebox
//! library (`libmattebox.so`, the C ABI) loaded at run time.
//!
//! Adapters are WebAssembly components run by wasmtime, and the takes they
//! deliver as video are decoded by ffmpeg: neither belongs inside the
//! bundle, which must load in any host with nothing but the C library. So
//! the bundle carries the built-in generator itself and, for adapters,
//! opens `libmattebox.so` (`$MATTEBOX_LIBRARY`, else the system loader's
//! search path) only when an adapter is asked for. Takes land in the take
//! cache both share, where renders read them.

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::Path;
use std::sync::OnceLock;

use mattebox_core::shot::ShotRequest;
use mattebox_core::{Frame, PixelFormat};

use crate::host::{OfxError, OfxResult};

/// `mb_image`.
#[repr(C)]
struct MbImage {
    data: *mut c_void,
    size: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
}

/// `mb_shot_request` (ABI 1.10; an older library is handed the struct up to
/// the size it knows: `audio` for 1.9, `source_video` before).
#[repr(C)]
struct MbShotRequest {
    struct_size: u32,
    prompt: *const c_char,
    negative_prompt: *const c_char,
    first_frame: *const MbImage,
    last_frame: *const MbImage,
    camera: [f32; 6],
    duration_num: i64,
    duration_den: i64,
    fps_num: i64,
    fps_den: i64,
    width: u32,
    height: u32,
    seed: u64,
    extras: *const *const c_char,
    extras_count: u32,
    source_video: *const c_char,
    source_role: u32,
    audio: *const c_char,
    audio_role: u32,
}

/// `mb_take_status`.
#[repr(C)]
#[derive(Default)]
struct MbTakeStatus {
    struct_size: u32,
    stage: u32,
    fraction: f32,
    from_cache: u32,
    frames: u64,
    error: u32,
}

const MB_PIXEL_FORMAT_RGBA8: u32 = 1;
const MB_TAKE_FAILED: u32 = 4;
const MB_TAKE_CANCELLED: u32 = 5;
/// The first ABI that loads installed adapters by id: 1.4.
const ABI_WITH_GENERATION: u32 = (1 << 16) | 4;
/// The first ABI whose `mb_shot_request` has a source video: 1.9.
const ABI_WITH_SOURCE_VIDEO: u32 = (1 << 16) | 9;
/// The first ABI whose `mb_shot_request` has sound: 1.10.
const ABI_WITH_SOUND: u32 = (1 << 16) | 10;
/// `MB_VIDEO_ROLE_EXTEND`, the role `mb_shot_request_init` sets.
const MB_VIDEO_ROLE_EXTEND: u32 = 1;
/// `MB_SOUND_ROLE_DIALOGUE`, the role `mb_shot_request_init` sets.
const MB_SOUND_ROLE_DIALOGUE: u32 = 1;
/// The first ABI that gives a request's take keys: 1.11.
const ABI_WITH_TAKE_KEY: u32 = (1 << 16) | 11;

/// What of a request the bundle cannot read itself (it has no decoder):
/// files the Mattebox library reads, by path, with their roles as the C
/// ABI numbers them (`MB_VIDEO_ROLE_*`, `MB_SOUND_ROLE_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct LibraryInputs {
    pub(crate) source_video: Option<(String, u32)>,
    pub(crate) sound: Option<(String, u32)>,
}

impl LibraryInputs {
    pub(crate) fn is_empty(&self) -> bool {
        self.source_video.is_none() && self.sound.is_none()
    }
}

type Status = u32;

/// The calls Generate makes, resolved once.
struct Library {
    _lib: libloading::Library,
    /// The library's `mb_abi_version()`.
    abi: u32,
    last_error: unsafe extern "C" fn() -> *const c_char,
    result_name: unsafe extern "C" fn(u32) -> *const c_char,
    runtime_new: unsafe extern "C" fn(*const c_void, *mut *mut c_void) -> Status,
    runtime_free: unsafe extern "C" fn(*mut c_void),
    generations_new: unsafe extern "C" fn(*const c_void, *mut *mut c_void) -> Status,
    generations_free: unsafe extern "C" fn(*mut c_void),
    load_installed: unsafe extern "C" fn(*const c_void, *const c_char) -> Status,
    installed_version: unsafe extern "C" fn(*const c_char, *mut c_char, usize) -> Status,
    submit: unsafe extern "C" fn(*const c_void, *const c_char, *const MbShotRequest, u32, *mut *mut c_void) -> Status,
    status: unsafe extern "C" fn(*const c_void, u32, *mut MbTakeStatus) -> Status,
    generation_free: unsafe extern "C" fn(*mut c_void),
    /// `mb_generation_take_key`, from ABI 1.11.
    take_key: Option<TakeKeyFn>,
}

type TakeKeyFn =
    unsafe extern "C" fn(*const c_void, *const c_char, *const MbShotRequest, u32, *mut c_char, usize) -> Status;

static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();

fn library() -> OfxResult<&'static Library> {
    let loaded = LIBRARY.get_or_init(|| {
        let path = std::env::var_os("MATTEBOX_LIBRARY").unwrap_or_else(|| "libmattebox.so".into());
        let shown = Path::new(&path).display().to_string();
        // SAFETY: loading the Mattebox library runs only its own (Rust)
        // initialisers; the symbols are checked against the ABI version below.
        let lib = unsafe { libloading::Library::new(&path) }.map_err(|e| {
            format!(
                "generator adapters need the Mattebox library: cannot load {shown} ({e}); build it with \
                 `cargo build --release -p mattebox-ffi` and set MATTEBOX_LIBRARY to its libmattebox.so"
            )
        })?;
        // SAFETY: each symbol is declared with the C ABI's own signature
        // (ffi/include/mattebox.h); the version check comes first.
        unsafe {
            let version: libloading::Symbol<unsafe extern "C" fn() -> u32> =
                lib.get(b"mb_abi_version\0").map_err(|e| format!("{shown}: {e}"))?;
            let abi = version();
            if abi >> 16 != ABI_WITH_GENERATION >> 16 || abi < ABI_WITH_GENERATION {
                return Err(format!("{shown} speaks ABI {}.{}; Generate needs 1.4 or later", abi >> 16, abi & 0xffff));
            }
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get($name).map_err(|e| format!("{shown}: {e}"))?
                };
            }
            Ok(Library {
                last_error: sym!(b"mb_last_error_message\0"),
                result_name: sym!(b"mb_result_name\0"),
                runtime_new: sym!(b"mb_runtime_new\0"),
                runtime_free: sym!(b"mb_runtime_free\0"),
                generations_new: sym!(b"mb_generations_new\0"),
                generations_free: sym!(b"mb_generations_free\0"),
                load_installed: sym!(b"mb_generations_load_installed\0"),
                installed_version: sym!(b"mb_installed_adapter_version\0"),
                submit: sym!(b"mb_generation_submit\0"),
                status: sym!(b"mb_generation_status\0"),
                generation_free: sym!(b"mb_generation_free\0"),
                take_key: if abi >= ABI_WITH_TAKE_KEY { Some(sym!(b"mb_generation_take_key\0")) } else { None },
                abi,
                _lib: lib,
            })
        }
    });
    loaded.as_ref().map_err(|e| OfxError::failed(e.clone()))
}

impl Library {
    fn check(&self, status: Status, what: &str) -> OfxResult<()> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: the library's own error string, valid until its next call on this thread.
        let message = unsafe { CStr::from_ptr((self.last_error)()) }.to_string_lossy().into_owned();
        Err(OfxError::failed(format!("{what}: {message}")))
    }
}

/// The version of the adapter `id` (part of the take-cache key), as the
/// Mattebox library answers it: an adapter installed in the plugin
/// directory, or one the library ships. `id` comes from a parameter a
/// project file may hold: it must be an id, never a path.
pub(crate) fn installed_version(id: &str) -> OfxResult<String> {
    mattebox_core::generate::check_adapter_id(id)?;
    let lib = library()?;
    let id_c = CString::new(id).map_err(|_| OfxError::failed("the adapter id holds a NUL byte"))?;
    let mut buf = [0 as c_char; 128];
    // SAFETY: a NUL-terminated id and a buffer of the size given.
    let status = unsafe { (lib.installed_version)(id_c.as_ptr(), buf.as_mut_ptr(), buf.len()) };
    lib.check(status, &format!("adapter {id:?}"))?;
    // SAFETY: the library wrote a NUL-terminated string into `buf`.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned())
}

/// A running adapter job, with the library's runtime and service it runs
/// in; dropping it cancels what has not finished.
pub(crate) struct AdapterJob {
    lib: &'static Library,
    runtime: *mut c_void,
    service: *mut c_void,
    job: *mut c_void,
}

// SAFETY: the C ABI documents runtimes, generation services and jobs as
// usable from any thread.
unsafe impl Send for AdapterJob {}
// SAFETY: as above; status calls may come from several render threads.
unsafe impl Sync for AdapterJob {}

/// The still of a request as an `mb_image` over its pixels (8-bit RGBA).
fn image_of(frame: &Frame) -> MbImage {
    MbImage {
        data: frame.as_bytes().as_ptr() as *mut c_void,
        size: frame.as_bytes().len(),
        width: frame.width(),
        height: frame.height(),
        stride: frame.stride(),
        format: MB_PIXEL_FORMAT_RGBA8,
    }
}

/// Calls `f` with `request` (and `inputs`) as an `mb_shot_request`, its
/// strings and images alive for the call; an older library is handed only
/// the struct it knows, and inputs it cannot take are refused.
fn with_raw_request<R>(
    lib: &Library,
    request: &ShotRequest,
    inputs: &LibraryInputs,
    f: impl FnOnce(&MbShotRequest) -> OfxResult<R>,
) -> OfxResult<R> {
    let stills: Vec<Frame> = [&request.first_frame, &request.last_frame]
        .into_iter()
        .map(|i| i.as_ref().map(|i| i.frame().to_format(PixelFormat::Rgba8)).transpose())
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut images = stills.iter().map(image_of);
    let first = request.first_frame.as_ref().and_then(|_| images.next());
    let last = request.last_frame.as_ref().and_then(|_| images.next());
    let text = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
    let (prompt, negative) = (text(&request.prompt), text(&request.negative_prompt));
    let path = |p: &Option<(String, u32)>| p.as_ref().map(|(p, role)| (text(p), *role));
    let (source, sound) = (path(&inputs.source_video), path(&inputs.sound));
    if (source.is_some() && lib.abi < ABI_WITH_SOURCE_VIDEO) || (sound.is_some() && lib.abi < ABI_WITH_SOUND) {
        return Err(OfxError::failed(format!(
            "the Mattebox library speaks ABI {}.{}: a Source video needs 1.9, a Sound 1.10; update it",
            lib.abi >> 16,
            lib.abi & 0xffff
        )));
    }
    let c = &request.camera;
    // An older library reads only the struct it knows.
    let struct_size = if lib.abi >= ABI_WITH_SOUND {
        std::mem::size_of::<MbShotRequest>()
    } else if lib.abi >= ABI_WITH_SOURCE_VIDEO {
        std::mem::offset_of!(MbShotRequest, audio)
    } else {
        std::mem::offset_of!(MbShotRequest, source_video)
    };
    let raw = MbShotRequest {
        struct_size: struct_size as u32,
        prompt: prompt.as_ptr(),
        negative_prompt: negative.as_ptr(),
        first_frame: first.as_ref().map_or(std::ptr::null(), |i| i as *const MbImage),
        last_frame: last.as_ref().map_or(std::ptr::null(), |i| i as *const MbImage),
        camera: [c.horizontal, c.vertical, c.pan, c.tilt, c.roll, c.zoom],
        duration_num: request.duration.num(),
        duration_den: request.duration.den(),
        fps_num: request.fps.num(),
        fps_den: request.fps.den(),
        width: request.width,
        height: request.height,
        seed: request.seed,
        extras: std::ptr::null(),
        extras_count: 0,
        source_video: source.as_ref().map_or(std::ptr::null(), |(p, _)| p.as_ptr()),
        source_role: source.as_ref().map_or(MB_VIDEO_ROLE_EXTEND, |(_, r)| *r),
        audio: sound.as_ref().map_or(std::ptr::null(), |(p, _)| p.as_ptr()),
        audio_role: sound.as_ref().map_or(MB_SOUND_ROLE_DIALOGUE, |(_, r)| *r),
    };
    f(&raw)
}

/// The take-cache keys of takes `0..count` of `request` with `inputs` from
/// `id`, as the Mattebox library reads the request (the bundle cannot
/// decode a source video or a sound to key it itself).
pub(crate) fn library_keys(
    id: &str,
    request: &ShotRequest,
    inputs: &LibraryInputs,
    count: u32,
) -> OfxResult<Vec<String>> {
    let session = AdapterJob::session(id)?;
    let lib = session.lib;
    let take_key = lib.take_key.ok_or_else(|| {
        OfxError::failed(format!(
            "the Mattebox library speaks ABI {}.{}: a Source video or a Sound needs 1.11 to find its takes; update it",
            lib.abi >> 16,
            lib.abi & 0xffff
        ))
    })?;
    let id_c = CString::new(id).map_err(|_| OfxError::failed("the adapter id holds a NUL byte"))?;
    with_raw_request(lib, request, inputs, |raw| {
        (0..count)
            .map(|take| {
                let mut buf = [0 as c_char; 128];
                // SAFETY: a live service, a request valid for the call, and a buffer of the size given.
                let status =
                    unsafe { take_key(session.service, id_c.as_ptr(), raw, take, buf.as_mut_ptr(), buf.len()) };
                lib.check(status, &format!("the key of take {}", take + 1))?;
                // SAFETY: the library wrote a NUL-terminated string into `buf`.
                Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned())
            })
            .collect()
    })
}

impl AdapterJob {
    /// The library's runtime and service with the generator `id` ready
    /// (`builtin` is always there; an adapter is loaded from the library's
    /// plugin directory, the same `default_plugin_dir` as ours).
    fn session(id: &str) -> OfxResult<AdapterJob> {
        let lib = library()?;
        let mut job =
            AdapterJob { lib, runtime: std::ptr::null_mut(), service: std::ptr::null_mut(), job: std::ptr::null_mut() };
        // SAFETY: NULL options ask for the defaults; out-pointers are ours.
        lib.check(unsafe { (lib.runtime_new)(std::ptr::null(), &mut job.runtime) }, "starting the Mattebox library")?;
        // SAFETY: a runtime the library just made.
        lib.check(unsafe { (lib.generations_new)(job.runtime, &mut job.service) }, "starting generation")?;
        if id != "builtin" {
            mattebox_core::generate::check_adapter_id(id)?;
            let id_c = CString::new(id).map_err(|_| OfxError::failed("the adapter id holds a NUL byte"))?;
            // SAFETY: a live service and a NUL-terminated id.
            lib.check(unsafe { (lib.load_installed)(job.service, id_c.as_ptr()) }, &format!("loading adapter {id:?}"))?;
        }
        Ok(job)
    }

    /// Starts `takes` takes of `request` (with `inputs`, read by the
    /// library) from `id`: an installed adapter, or `builtin` for a
    /// request whose inputs only the library can read.
    pub(crate) fn submit(id: &str, request: &ShotRequest, inputs: &LibraryInputs, takes: u32) -> OfxResult<AdapterJob> {
        let mut job = AdapterJob::session(id)?;
        let (lib, service) = (job.lib, job.service);
        let id_c = CString::new(id).map_err(|_| OfxError::failed("the adapter id holds a NUL byte"))?;
        let mut out = std::ptr::null_mut();
        with_raw_request(lib, request, inputs, |raw| {
            // SAFETY: a live service; the request and every buffer it points
            // to outlive the call, which copies what it keeps.
            let submitted = unsafe { (lib.submit)(service, id_c.as_ptr(), raw, takes, &mut out) };
            lib.check(submitted, &format!("starting {id:?}"))
        })?;
        job.job = out;
        Ok(job)
    }

    /// Take `index`'s progress, or why it ended without a take.
    pub(crate) fn progress(&self, index: u32) -> OfxResult<f32> {
        let mut status = MbTakeStatus { struct_size: std::mem::size_of::<MbTakeStatus>() as u32, ..Default::default() };
        // SAFETY: a live job and a sized status struct.
        self.lib.check(unsafe { (self.lib.status)(self.job, index, &mut status) }, &format!("take {}", index + 1))?;
        if status.stage == MB_TAKE_FAILED || status.stage == MB_TAKE_CANCELLED {
            // SAFETY: the library's static name for a result code.
            let name = unsafe { CStr::from_ptr((self.lib.result_name)(status.error)) }.to_string_lossy().into_owned();
            let how = if status.stage == MB_TAKE_CANCELLED { "was cancelled" } else { "failed" };
            return Err(OfxError::failed(format!(
                "take {} {how} in the adapter ({name}); the Mattebox library's log (standard error) says why",
                index + 1
            )));
        }
        Ok(status.fraction)
    }
}

impl Drop for AdapterJob {
    fn drop(&mut self) {
        // SAFETY: each handle came from the library and is freed once, job
        // first (freeing it cancels and waits), then the service and runtime.
        unsafe {
            if !self.job.is_null() {
                (self.lib.generation_free)(self.job);
            }
            if !self.service.is_null() {
                (self.lib.generations_free)(self.service);
            }
            if !self.runtime.is_null() {
                (self.lib.runtime_free)(self.runtime);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};
    use std::process::Command;

    use super::*;

    /// The bundle declares the few C ABI structs and constants it uses
    /// itself, so that it links nothing at build time; `mattebox.h` is the
    /// source of truth. A C compiler reads the header and says where every
    /// field lies; the declarations here must agree on every size, offset
    /// and value.
    #[test]
    fn the_declarations_agree_with_mattebox_h() {
        macro_rules! layout {
            ($($c:literal => $rust:ty { $($field:ident),* }),* ; $($constant:ident),*) => {{
                let mut c = String::new();
                let mut rust = Vec::new();
                $(
                    c += &format!("printf(\"{0} %zu\\n\", sizeof({0}));\n", $c);
                    rust.push(format!("{} {}", $c, size_of::<$rust>()));
                    $(
                        c += &format!("printf(\"{0}.{1} %zu\\n\", offsetof({0}, {1}));\n", $c, stringify!($field));
                        rust.push(format!("{}.{} {}", $c, stringify!($field), offset_of!($rust, $field)));
                    )*
                )*
                $(
                    c += &format!("printf(\"{0} %llu\\n\", (unsigned long long){0});\n", stringify!($constant));
                    rust.push(format!("{} {}", stringify!($constant), $constant));
                )*
                (c, rust)
            }};
        }
        let (body, rust) = layout!(
            "mb_image" => MbImage { data, size, width, height, stride, format },
            "mb_shot_request" => MbShotRequest {
                struct_size, prompt, negative_prompt, first_frame, last_frame, camera, duration_num,
                duration_den, fps_num, fps_den, width, height, seed, extras, extras_count, source_video,
                source_role, audio, audio_role
            },
            "mb_take_status" => MbTakeStatus { struct_size, stage, fraction, from_cache, frames, error };
            MB_PIXEL_FORMAT_RGBA8, MB_TAKE_FAILED, MB_TAKE_CANCELLED, MB_VIDEO_ROLE_EXTEND, MB_SOUND_ROLE_DIALOGUE
        );
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("layout.c");
        let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ffi/include");
        std::fs::write(
            &source,
            format!("#include <stddef.h>\n#include <stdio.h>\n#include \"mattebox.h\"\nint main(void) {{\n{body}printf(\"MB_ABI_VERSION %u\\n\", (unsigned)MB_ABI_VERSION);\nreturn 0;\n}}\n"),
        )
        .unwrap();
        let exe = dir.path().join("layout");
        let built = Command::new("cc").arg("-I").arg(&include).arg(&source).arg("-o").arg(&exe).output().unwrap();
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let printed = Command::new(&exe).output().unwrap();
        let mut header: Vec<String> = String::from_utf8(printed.stdout).unwrap().lines().map(str::to_owned).collect();
        let abi: u32 =
            header.pop().and_then(|l| l.strip_prefix("MB_ABI_VERSION ")?.parse().ok()).expect("the ABI version");
        assert_eq!(rust, header, "hosts/ofx/src/adapters.rs no longer matches ffi/include/mattebox.h");
        // The header's ABI has what this file was written against.
        assert!(abi >> 16 == ABI_WITH_GENERATION >> 16 && abi >= ABI_WITH_GENERATION, "ABI {abi:#x}");
    }
}
