//! `mb_image`: a host's pixel buffer as the core sees it, and frame conversion.

use std::ffi::c_void;

use mattebox_core::{FrameView, FrameViewMut, PixelFormat};

use crate::boundary::{FfiError, FfiResult, arg_ref, guard, mb_result};
use crate::runtime::mb_runtime;

/// A pixel format code: one of the `MB_PIXEL_FORMAT_*` constants.
#[allow(non_camel_case_types)]
pub type mb_pixel_format = u32;

/// 8 bits per channel, R G B A.
pub const MB_PIXEL_FORMAT_RGBA8: mb_pixel_format = 1;
/// 16 bits per channel, native-endian, R G B A.
pub const MB_PIXEL_FORMAT_RGBA16: mb_pixel_format = 2;
/// 32-bit float per channel, native-endian, R G B A; 0.0 to 1.0 is the display range.
pub const MB_PIXEL_FORMAT_RGBA32F: mb_pixel_format = 3;

pub(crate) fn pixel_format(code: mb_pixel_format, argument: &str) -> FfiResult<PixelFormat> {
    match code {
        MB_PIXEL_FORMAT_RGBA8 => Ok(PixelFormat::Rgba8),
        MB_PIXEL_FORMAT_RGBA16 => Ok(PixelFormat::Rgba16),
        MB_PIXEL_FORMAT_RGBA32F => Ok(PixelFormat::Rgba32F),
        other => Err(FfiError {
            code: mb_result::Unsupported,
            message: format!(
                "argument `{argument}` has unknown pixel format {other}; use MB_PIXEL_FORMAT_RGBA8 (1), RGBA16 (2) or RGBA32F (3)"
            ),
        }),
    }
}

#[cfg_attr(not(feature = "media"), allow(dead_code))]
pub(crate) fn format_code(format: PixelFormat) -> mb_pixel_format {
    match format {
        PixelFormat::Rgba8 => MB_PIXEL_FORMAT_RGBA8,
        PixelFormat::Rgba16 => MB_PIXEL_FORMAT_RGBA16,
        PixelFormat::Rgba32F => MB_PIXEL_FORMAT_RGBA32F,
    }
}

/// A host's pixel buffer. Mattebox never keeps the pointer after the call
/// returns and never frees it.
///
/// Rows start `stride` bytes apart; `size` is how many bytes are valid at
/// `data` (at least `stride * (height - 1) + width * bytes_per_pixel`).
/// `data` must be aligned to the sample size (2 bytes for RGBA16, 4 for
/// RGBA32F) and `stride` must be a multiple of it.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_image {
    /// First byte of the top row.
    pub data: *mut c_void,
    /// Bytes valid at `data`.
    pub size: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from the start of one row to the start of the next.
    pub stride: usize,
    /// One of the `MB_PIXEL_FORMAT_*` constants.
    pub format: mb_pixel_format,
}

fn checked_len(image: &mb_image, argument: &str) -> FfiResult<usize> {
    if image.data.is_null() {
        return Err(FfiError::null(&format!("{argument}->data")));
    }
    if image.size > isize::MAX as usize {
        return Err(FfiError::invalid(format!("argument `{argument}` has an impossible size of {} bytes", image.size)));
    }
    Ok(image.size)
}

fn with_argument(argument: &str) -> impl Fn(mattebox_core::Error) -> FfiError + '_ {
    move |e| {
        let mut err = FfiError::from(e);
        err.message = format!("argument `{argument}`: {}", err.message);
        err
    }
}

/// Views a host image for reading.
///
/// # Safety
/// `image.data` must be valid for reads of `image.size` bytes for `'a`.
pub(crate) unsafe fn image_view<'a>(image: &mb_image, argument: &str) -> FfiResult<FrameView<'a>> {
    let len = checked_len(image, argument)?;
    let format = pixel_format(image.format, argument)?;
    // SAFETY: non-null, size bounded by isize::MAX, validity promised by the host.
    let bytes = unsafe { std::slice::from_raw_parts(image.data as *const u8, len) };
    FrameView::new(bytes, image.width, image.height, image.stride, format).map_err(with_argument(argument))
}

/// Views a host image for writing.
///
/// # Safety
/// `image.data` must be valid for reads and writes of `image.size` bytes for
/// `'a`, and not be read or written by anyone else meanwhile.
pub(crate) unsafe fn image_view_mut<'a>(image: &mb_image, argument: &str) -> FfiResult<FrameViewMut<'a>> {
    let len = checked_len(image, argument)?;
    let format = pixel_format(image.format, argument)?;
    // SAFETY: as for image_view, plus exclusivity promised by the host.
    let bytes = unsafe { std::slice::from_raw_parts_mut(image.data as *mut u8, len) };
    FrameViewMut::new(bytes, image.width, image.height, image.stride, format).map_err(with_argument(argument))
}

/// Whether two host buffers share any byte (reading one while writing the
/// other would then be undefined).
pub(crate) fn overlaps(a: &mb_image, b: &mb_image) -> bool {
    let (a0, b0) = (a.data as usize, b.data as usize);
    a0 < b0.saturating_add(b.size) && b0 < a0.saturating_add(a.size)
}

/// Converts the pixels of `src` into `dst`: same width and height, any
/// formats and strides. 8 <-> 16 bit is exact; floats are clamped to 0..1 and
/// rounded when written to an integer format. Rows are converted in parallel
/// on the runtime's threads. `src` and `dst` must not overlap.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; `src` and `dst` must point to
/// valid `mb_image` descriptions of buffers that stay valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_frame_convert(
    runtime: *const mb_runtime,
    src: *const mb_image,
    dst: *const mb_image,
) -> mb_result {
    guard("mb_frame_convert", || {
        // SAFETY: pointers checked for null; validity is the host's contract.
        let (runtime, src, dst) = unsafe { (arg_ref(runtime, "runtime")?, arg_ref(src, "src")?, arg_ref(dst, "dst")?) };
        // SAFETY: the host promises the buffer for the duration of the call.
        let src_view = unsafe { image_view(src, "src")? };
        checked_len(dst, "dst")?;
        if overlaps(src, dst) {
            return Err(FfiError::invalid("`src` and `dst` overlap; convert into a separate buffer"));
        }
        // SAFETY: the host promises the buffer; it does not overlap `src`.
        let mut dst_view = unsafe { image_view_mut(dst, "dst")? };
        runtime.inner.convert_frame(&src_view, &mut dst_view)?;
        Ok(())
    })
}
