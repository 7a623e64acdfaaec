//! ffmpeg plumbing shared by the video reader and writer (Debian's 5.1, via
//! `ffmpeg-next`): initialisation and its log level, errors, pixel formats,
//! rationals, and the libswscale converter.
//!
//! Pixels are converted by libswscale straight into the destination, with
//! the colour matrix the stream declares (BT.709 when unspecified at 720 lines
//! or more, BT.601 below, as ffmpeg's own tools assume).

use std::ffi::{CStr, c_int};
use std::path::Path;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

use ff::ffi;
use ff::format::Pixel;
use ffmpeg_next as ff;

use crate::error::{Error, Result};
use crate::frame::PixelFormat;
use crate::logging::{self, LogLevel};
use crate::rational::Rational;

static INIT: Once = Once::new();
/// The ffmpeg log level last set, as a [`LogLevel`] (`u8::MAX`: none yet).
static APPLIED: AtomicU8 = AtomicU8::new(u8::MAX);

/// Initialises ffmpeg once per process and gives it the level the latest
/// runtime asked for. Its own logging goes to standard error and cannot be
/// routed per runtime, so it stays silent unless a runtime asks for debug
/// logs; every failure reaches the caller as an error.
pub(super) fn ensure_init() {
    INIT.call_once(|| {
        let _ = ff::init();
    });
    let level = logging::native_level();
    if APPLIED.swap(level as u8, Ordering::Relaxed) != level as u8 {
        let av_level = match level {
            LogLevel::Trace => ffi::AV_LOG_VERBOSE,
            LogLevel::Debug => ffi::AV_LOG_WARNING,
            _ => ffi::AV_LOG_QUIET,
        };
        // SAFETY: av_log_set_level only stores an integer.
        unsafe { ffi::av_log_set_level(av_level) };
    }
}

pub(super) fn ff_error(path: &Path, action: &str, err: ff::Error) -> Error {
    let kind = match err {
        ff::Error::Other { errno } if errno == ff::error::ENOENT => crate::ErrorKind::NotFound,
        ff::Error::EncoderNotFound | ff::Error::DecoderNotFound | ff::Error::MuxerNotFound => {
            crate::ErrorKind::Unsupported
        }
        _ => crate::ErrorKind::Media,
    };
    let message = if kind == crate::ErrorKind::NotFound {
        format!("{}: no such file", path.display())
    } else {
        format!("{}: cannot {action}: {err}", path.display())
    };
    Error::new(kind, message).with_source(err)
}

pub(super) fn pixel_name(format: Pixel) -> String {
    let raw: ffi::AVPixelFormat = format.into();
    // SAFETY: av_get_pix_fmt_name returns a static string or null.
    let name = unsafe { ffi::av_get_pix_fmt_name(raw) };
    if name.is_null() {
        "unknown".into()
    } else {
        // SAFETY: non-null names are NUL-terminated static strings.
        unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
    }
}

/// Bits of the first component, and whether the format carries alpha.
pub(super) fn pixel_depth(format: Pixel) -> (u32, bool) {
    let raw: ffi::AVPixelFormat = format.into();
    // SAFETY: av_pix_fmt_desc_get returns a static descriptor or null.
    let desc = unsafe { ffi::av_pix_fmt_desc_get(raw) };
    if desc.is_null() {
        return (8, false);
    }
    // SAFETY: checked non-null above; descriptors are static.
    let desc = unsafe { &*desc };
    (desc.comp[0].depth as u32, desc.flags & ffi::AV_PIX_FMT_FLAG_ALPHA as u64 != 0)
}

pub(super) fn to_rational(r: ff::Rational) -> Option<Rational> {
    if r.numerator() > 0 && r.denominator() > 0 {
        Rational::new(r.numerator() as i64, r.denominator() as i64).ok()
    } else {
        None
    }
}

pub(super) fn to_ff(r: Rational) -> ff::Rational {
    ff::Rational::new(r.num() as i32, r.den() as i32)
}

/// A libswscale context, owned.
pub(super) struct Scaler {
    ctx: *mut ffi::SwsContext,
    pub(super) key: (Pixel, u32, u32, i32, bool),
}

// SAFETY: a SwsContext is plain memory used by one thread at a time; the
// owning reader or writer is never shared without a lock.
unsafe impl Send for Scaler {}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: ctx came from sws_getContext and is freed once.
        unsafe { ffi::sws_freeContext(self.ctx) };
    }
}

impl Scaler {
    /// Converts between `src` and `dst` formats at one size. `yuv_matrix` and
    /// `yuv_full_range` describe the YUV side, whichever side that is.
    /// `exact` asks for swscale's accurate rounding, which also disables its
    /// SIMD paths (4x slower at 1080p): worth it when encoding, not when
    /// reading lossy YUV, where it changes values by at most one step.
    pub(super) fn new(
        src: Pixel,
        dst: Pixel,
        width: u32,
        height: u32,
        yuv_matrix: i32,
        yuv_full_range: bool,
        exact: bool,
    ) -> Result<Scaler> {
        let mut flags = ffi::SWS_BICUBIC | ffi::SWS_FULL_CHR_H_INT;
        if exact {
            flags |= ffi::SWS_ACCURATE_RND | ffi::SWS_BITEXACT;
        }
        // SAFETY: plain constructor call; null filters and params are allowed.
        let ctx = unsafe {
            ffi::sws_getContext(
                width as c_int,
                height as c_int,
                src.into(),
                width as c_int,
                height as c_int,
                dst.into(),
                flags,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        if ctx.is_null() {
            return Err(Error::unsupported(format!(
                "cannot convert pixels from {} to {}",
                pixel_name(src),
                pixel_name(dst)
            )));
        }
        // SAFETY: ctx is valid; the coefficient tables are static.
        unsafe {
            let table = ffi::sws_getCoefficients(yuv_matrix);
            let range = yuv_full_range as c_int;
            // The RGB side is always full range. For RGB->RGB this is a no-op.
            let (src_range, dst_range) = if is_rgb(src) { (1, range) } else { (range, 1) };
            ffi::sws_setColorspaceDetails(ctx, table, src_range, table, dst_range, 0, 1 << 16, 1 << 16);
        }
        Ok(Scaler { ctx, key: (src, width, height, yuv_matrix, yuv_full_range) })
    }

    /// # Safety
    /// The plane pointers and strides must describe images of the formats and
    /// size this scaler was made for.
    pub(super) unsafe fn run(
        &mut self,
        src: &[*const u8; 4],
        src_stride: &[c_int; 4],
        dst: &[*mut u8; 4],
        dst_stride: &[c_int; 4],
        height: u32,
    ) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            ffi::sws_scale(
                self.ctx,
                src.as_ptr(),
                src_stride.as_ptr(),
                0,
                height as c_int,
                dst.as_ptr(),
                dst_stride.as_ptr(),
            )
        };
    }
}

pub(super) fn is_rgb(format: Pixel) -> bool {
    let raw: ffi::AVPixelFormat = format.into();
    // SAFETY: static descriptor or null.
    let desc = unsafe { ffi::av_pix_fmt_desc_get(raw) };
    // SAFETY: checked for null.
    !desc.is_null() && unsafe { (*desc).flags } & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0
}

pub(super) fn rgba_pixel(format: PixelFormat) -> Pixel {
    match format {
        PixelFormat::Rgba8 => Pixel::RGBA,
        // Native endian, because frames are.
        _ if cfg!(target_endian = "little") => Pixel::RGBA64LE,
        _ => Pixel::RGBA64BE,
    }
}
