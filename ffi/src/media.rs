//! `mb_media`: reading frames of a video file, an image sequence or a still.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use mattebox_core::Runtime;
#[cfg(feature = "media")]
use parking_lot::Mutex;

use crate::boundary::{
    BoxedHandle, FfiError, arg_mut, arg_path, arg_ref, free_handle, guard, guard_value, mb_result, write_sized,
};
use crate::image::{image_view_mut, mb_image, mb_pixel_format};
use crate::runtime::mb_runtime;

/// A media kind code: one of the `MB_MEDIA_KIND_*` constants.
#[allow(non_camel_case_types)]
pub type mb_media_kind = u32;
/// A video file decoded by ffmpeg.
pub const MB_MEDIA_KIND_VIDEO: mb_media_kind = 1;
/// Numbered PNG or EXR files.
pub const MB_MEDIA_KIND_IMAGE_SEQUENCE: mb_media_kind = 2;
/// One PNG or EXR file.
pub const MB_MEDIA_KIND_IMAGE: mb_media_kind = 3;

/// What an open media source holds. Set `struct_size` to
/// `sizeof(mb_media_info)` before calling `mb_media_get_info`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mb_media_info {
    /// `sizeof(mb_media_info)` as the host knows it.
    pub struct_size: u32,
    /// One of the `MB_MEDIA_KIND_*` constants.
    pub kind: mb_media_kind,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate numerator (exact: 24000 for 23.976 fps).
    pub frame_rate_num: i64,
    /// Frame rate denominator (exact: 1001 for 23.976 fps).
    pub frame_rate_den: i64,
    /// Number of frames.
    pub frame_count: u64,
    /// Format frames decode to natively (RGBA8, or RGBA16 for deeper sources,
    /// RGBA32F for EXR). `mb_media_read_frame` converts to any format.
    pub decoded_format: mb_pixel_format,
    /// Bits per channel in the source.
    pub bits_per_channel: u32,
}

/// An open media source. One thread at a time reads from it; calls from
/// several threads are serialised.
#[allow(non_camel_case_types)]
pub struct mb_media {
    // Read by the frame calls, which need the `media` feature.
    #[cfg_attr(not(feature = "media"), allow(dead_code))]
    runtime: Arc<Runtime>,
    #[cfg(feature = "media")]
    reader: Mutex<mattebox_core::media::MediaReader>,
    info: mb_media_info,
    codec: CString,
}

impl BoxedHandle for mb_media {}

impl std::fmt::Debug for mb_media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("mb_media").field("info", &self.info).finish()
    }
}

/// Opens a video file, an image sequence (a directory, or a pattern such as
/// `shot_%04d.png`) or a still image. On success `*out` holds a handle to
/// release with `mb_media_close`; on failure `*out` is NULL.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`, `path` must be a NUL-terminated
/// string, and `out` must point to writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_media_open(
    runtime: *const mb_runtime,
    path: *const c_char,
    out: *mut *mut mb_media,
) -> mb_result {
    guard("mb_media_open", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (runtime, path) = unsafe { (arg_ref(runtime, "runtime")?, arg_path(path, "path")?) };
        open(runtime, &path).map(|media| *out = media.into_raw())
    })
}

#[cfg(feature = "media")]
pub(crate) fn open(runtime: &mb_runtime, path: &std::path::Path) -> Result<mb_media, FfiError> {
    use mattebox_core::media::{MediaKind, MediaReader, OpenOptions};
    let reader = MediaReader::open_on(&runtime.inner, path, &OpenOptions::default())?;
    let src = reader.info();
    let info = mb_media_info {
        struct_size: std::mem::size_of::<mb_media_info>() as u32,
        kind: match src.kind {
            MediaKind::Video => MB_MEDIA_KIND_VIDEO,
            MediaKind::ImageSequence => MB_MEDIA_KIND_IMAGE_SEQUENCE,
            MediaKind::Image => MB_MEDIA_KIND_IMAGE,
        },
        width: src.width,
        height: src.height,
        frame_rate_num: src.frame_rate.num(),
        frame_rate_den: src.frame_rate.den(),
        frame_count: src.frame_count,
        decoded_format: crate::image::format_code(src.decoded_format),
        bits_per_channel: src.bits_per_channel,
    };
    let codec = CString::new(src.codec.replace('\0', "?")).unwrap_or_default();
    Ok(mb_media { runtime: runtime.inner.clone(), reader: Mutex::new(reader), info, codec })
}

#[cfg(not(feature = "media"))]
fn open(_runtime: &mb_runtime, path: &std::path::Path) -> Result<mb_media, FfiError> {
    Err(FfiError {
        code: mb_result::Unsupported,
        message: format!("{}: this build of libmattebox has no media support", path.display()),
    })
}

/// Copies what `media` holds into `*info`. Only the first `info->struct_size`
/// bytes are written, so hosts built against an older header keep working.
///
/// # Safety
/// `media` must come from `mb_media_open`; `info` must point to writable
/// memory of at least `info->struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_media_get_info(media: *const mb_media, info: *mut mb_media_info) -> mb_result {
    guard("mb_media_get_info", || {
        // SAFETY: checked for null; validity is the host's contract.
        let media = unsafe { arg_ref(media, "media")? };
        // SAFETY: the host promises `info->struct_size` writable bytes.
        unsafe { write_sized(&media.info, info, "info", "mb_media_info") }
    })
}

/// The codec name of `media` (`h264`, `prores`, `ffv1`, `png`, `exr`, ...),
/// valid until `mb_media_close`. NULL if `media` is NULL.
///
/// # Safety
/// `media` must be NULL or come from `mb_media_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_media_codec_name(media: *const mb_media) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: null is handled; validity is the host's contract.
        match unsafe { media.as_ref() } {
            Some(media) => media.codec.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// Decodes frame `index` (0-based, presentation order; any order is fine)
/// into the host buffer `dst`, which must have the media's width and height
/// and may have any format and stride.
///
/// # Safety
/// `media` must come from `mb_media_open`; `dst` must describe a writable
/// buffer that stays valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_media_read_frame(media: *mut mb_media, index: u64, dst: *const mb_image) -> mb_result {
    guard("mb_media_read_frame", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (media, dst) = unsafe { (arg_ref(media, "media")?, arg_ref(dst, "dst")?) };
        // SAFETY: the host promises the buffer for the duration of the call.
        let mut view = unsafe { image_view_mut(dst, "dst")? };
        read_frame(media, index, &mut view)
    })
}

#[cfg(feature = "media")]
fn read_frame(media: &mb_media, index: u64, view: &mut mattebox_core::FrameViewMut<'_>) -> Result<(), FfiError> {
    let mut guard = media.reader.lock();
    let reader = &mut *guard;
    media.runtime.install(|| reader.read_frame_into(index, view))?;
    Ok(())
}

#[cfg(not(feature = "media"))]
fn read_frame(_media: &mb_media, _index: u64, _view: &mut mattebox_core::FrameViewMut<'_>) -> Result<(), FfiError> {
    Err(FfiError { code: mb_result::Unsupported, message: "this build of libmattebox has no media support".into() })
}

/// Closes a media handle. NULL is ignored.
///
/// # Safety
/// `media` must be NULL or come from `mb_media_open`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_media_close(media: *mut mb_media) {
    // SAFETY: `media` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_media_close", media) }
}
