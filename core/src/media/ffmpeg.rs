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

use super::ClipTags;
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

fn c_name(name: *const std::ffi::c_char) -> Option<String> {
    if name.is_null() {
        None
    } else {
        // SAFETY: ffmpeg's name functions return static NUL-terminated strings.
        Some(unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned())
    }
}

fn metadata_value(dict: *mut ffi::AVDictionary, key: &str) -> Option<String> {
    let key = std::ffi::CString::new(key).ok()?;
    // SAFETY: a null dictionary is allowed; the entry lives as long as the dictionary.
    let entry = unsafe { ffi::av_dict_get(dict, key.as_ptr(), ptr::null(), 0) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: entries hold NUL-terminated key and value strings.
    let value = unsafe { CStr::from_ptr((*entry).value) }.to_string_lossy().trim().to_owned();
    (!value.is_empty()).then_some(value)
}

/// The tags the video stream `stream_index` of `input` states: colour and
/// shape from its parameters, rotation from its display matrix, timecode
/// and reel from its metadata, the container's, or a timecode track's.
pub(super) fn read_tags(input: &ff::format::context::Input, stream_index: usize) -> ClipTags {
    // SAFETY: the context and its streams stay valid while `input` is borrowed.
    unsafe {
        let ctx = &*input.as_ptr();
        let streams = std::slice::from_raw_parts(ctx.streams, ctx.nb_streams as usize);
        let st = &*streams[stream_index];
        let par = &*st.codecpar;
        let mut tags = ClipTags::default();
        if par.color_primaries != ffi::AVColorPrimaries::AVCOL_PRI_UNSPECIFIED {
            tags.primaries = c_name(ffi::av_color_primaries_name(par.color_primaries));
        }
        if par.color_trc != ffi::AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED {
            tags.transfer = c_name(ffi::av_color_transfer_name(par.color_trc));
        }
        if par.color_space != ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED {
            tags.matrix = c_name(ffi::av_color_space_name(par.color_space));
        }
        if par.color_range != ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED {
            tags.range = c_name(ffi::av_color_range_name(par.color_range));
        }
        let sar = if par.sample_aspect_ratio.num > 0 { par.sample_aspect_ratio } else { st.sample_aspect_ratio };
        if sar.num > 0 && sar.den > 0 && sar.num != sar.den {
            tags.pixel_aspect = Rational::new(sar.num as i64, sar.den as i64).ok();
        }
        tags.field_order = match par.field_order {
            ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE => Some("progressive".into()),
            ffi::AVFieldOrder::AV_FIELD_TT => Some("tt".into()),
            ffi::AVFieldOrder::AV_FIELD_BB => Some("bb".into()),
            ffi::AVFieldOrder::AV_FIELD_TB => Some("tb".into()),
            ffi::AVFieldOrder::AV_FIELD_BT => Some("bt".into()),
            _ => None,
        };
        let mut size = 0;
        let matrix = ffi::av_stream_get_side_data(st, ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX, &mut size);
        if !matrix.is_null() && size >= 36 {
            let degrees = ffi::av_display_rotation_get(matrix as *const i32);
            if degrees.is_finite() {
                let degrees = (degrees.round() as i32).rem_euclid(360);
                tags.rotation = (degrees != 0).then_some(degrees);
            }
        }
        tags.timecode = metadata_value(st.metadata, "timecode")
            .or_else(|| metadata_value(ctx.metadata, "timecode"))
            .or_else(|| streams.iter().find_map(|&s| metadata_value((*s).metadata, "timecode")));
        tags.reel = metadata_value(st.metadata, "reel_name")
            .or_else(|| streams.iter().find_map(|&s| metadata_value((*s).metadata, "reel_name")));
        tags
    }
}

/// How the writer encodes and tags colour: the source's tags where the
/// encoder can honour them, BT.709 limited range where the source is silent.
pub(super) struct EncodeColour {
    /// swscale coefficient table (`SWS_CS_*`, numerically an `AVColorSpace`).
    pub(super) sws_matrix: c_int,
    pub(super) full_range: bool,
    primaries: ffi::AVColorPrimaries,
    transfer: ffi::AVColorTransferCharacteristic,
    space: ffi::AVColorSpace,
    range: ffi::AVColorRange,
}

fn from_name(tag: &Option<String>, lookup: unsafe extern "C" fn(*const std::ffi::c_char) -> c_int) -> Option<c_int> {
    let name = std::ffi::CString::new(tag.as_deref()?).ok()?;
    // SAFETY: the lookups only read the NUL-terminated name.
    let value = unsafe { lookup(name.as_ptr()) };
    (value >= 0).then_some(value)
}

impl EncodeColour {
    /// For a YUV encoder (`yuv`) or an RGB one, which keeps primaries and
    /// transfer but has no matrix or range to choose.
    pub(super) fn for_tags(tags: &ClipTags, yuv: bool, allow_full_range: bool) -> EncodeColour {
        let primaries = from_name(&tags.primaries, ffi::av_color_primaries_from_name)
            // SAFETY: the value came from ffmpeg's own lookup for this enum.
            .map(|v| unsafe { std::mem::transmute::<c_int, ffi::AVColorPrimaries>(v) })
            .unwrap_or(ffi::AVColorPrimaries::AVCOL_PRI_BT709);
        let transfer = from_name(&tags.transfer, ffi::av_color_transfer_from_name)
            // SAFETY: the value came from ffmpeg's own lookup for this enum.
            .map(|v| unsafe { std::mem::transmute::<c_int, ffi::AVColorTransferCharacteristic>(v) })
            .unwrap_or(ffi::AVColorTransferCharacteristic::AVCOL_TRC_BT709);
        // Matrices swscale has coefficients for; others are encoded as BT.709.
        let matrix = from_name(&tags.matrix, ffi::av_color_space_from_name)
            .filter(|m| [1, 4, 5, 6, 7, 9, 10].contains(m))
            .unwrap_or(ffi::AVColorSpace::AVCOL_SPC_BT709 as c_int);
        // An RGB source's range says nothing about how to store YUV.
        let yuv_source = from_name(&tags.matrix, ffi::av_color_space_from_name).is_some_and(|m| m != 0);
        let full_range = allow_full_range && yuv_source && tags.range.as_deref() == Some("pc");
        if !yuv {
            return EncodeColour {
                sws_matrix: ffi::SWS_CS_ITU709,
                full_range: true,
                primaries,
                transfer,
                space: ffi::AVColorSpace::AVCOL_SPC_RGB,
                range: ffi::AVColorRange::AVCOL_RANGE_JPEG,
            };
        }
        EncodeColour {
            sws_matrix: matrix,
            full_range,
            primaries,
            transfer,
            // SAFETY: one of the listed AVColorSpace values.
            space: unsafe { std::mem::transmute::<c_int, ffi::AVColorSpace>(matrix) },
            range: if full_range { ffi::AVColorRange::AVCOL_RANGE_JPEG } else { ffi::AVColorRange::AVCOL_RANGE_MPEG },
        }
    }

    /// States the colour on a picture: some encoders (ProRes) write the
    /// frame's colour into each frame header, not the context's.
    pub(super) fn apply_to_picture(&self, picture: &mut ff::frame::Video) {
        // SAFETY: plain field writes on a frame we own.
        unsafe {
            let frame = &mut *picture.as_mut_ptr();
            frame.color_primaries = self.primaries;
            frame.color_trc = self.transfer;
            frame.colorspace = self.space;
            frame.color_range = self.range;
        }
    }

    /// States the colour on an encoder before it opens.
    pub(super) fn apply(&self, encoder: &mut ff::encoder::video::Video) {
        // SAFETY: plain field writes on an encoder context we own, before opening it.
        unsafe {
            let ctx = &mut *encoder.as_mut_ptr();
            ctx.color_primaries = self.primaries;
            ctx.color_trc = self.transfer;
            ctx.colorspace = self.space;
            ctx.color_range = self.range;
        }
    }
}

/// States the shape, orientation, timecode and reel of `tags` on an output
/// stream, before the header is written.
pub(super) fn apply_stream_tags(stream: *mut ffi::AVStream, tags: &ClipTags, path: &Path) -> Result<()> {
    // SAFETY: the stream belongs to an output context that has not written its header.
    unsafe {
        let st = &mut *stream;
        if let Some(par) = tags.pixel_aspect {
            let sar = ffi::AVRational { num: par.num() as c_int, den: par.den() as c_int };
            st.sample_aspect_ratio = sar;
            (*st.codecpar).sample_aspect_ratio = sar;
        }
        (*st.codecpar).field_order = match tags.field_order.as_deref() {
            Some("progressive") => ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE,
            Some("tt") => ffi::AVFieldOrder::AV_FIELD_TT,
            Some("bb") => ffi::AVFieldOrder::AV_FIELD_BB,
            Some("tb") => ffi::AVFieldOrder::AV_FIELD_TB,
            Some("bt") => ffi::AVFieldOrder::AV_FIELD_BT,
            _ => ffi::AVFieldOrder::AV_FIELD_UNKNOWN,
        };
        if let Some(degrees) = tags.rotation {
            let matrix = ffi::av_stream_new_side_data(st, ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX, 9 * 4);
            if matrix.is_null() {
                return Err(Error::new(crate::ErrorKind::OutOfMemory, "could not store the rotation"));
            }
            // _set takes a clockwise angle where _get gives a counterclockwise one.
            ffi::av_display_rotation_set(matrix as *mut i32, -(degrees as f64));
        }
        for (key, value) in [("timecode", &tags.timecode), ("reel_name", &tags.reel)] {
            let Some(value) = value else { continue };
            let (Ok(k), Ok(v)) = (std::ffi::CString::new(key), std::ffi::CString::new(value.as_str())) else {
                return Err(Error::invalid_argument(format!("{}: the {key} {value:?} holds a NUL", path.display())));
            };
            if ffi::av_dict_set(&mut st.metadata, k.as_ptr(), v.as_ptr(), 0) < 0 {
                return Err(Error::new(crate::ErrorKind::OutOfMemory, "could not store the stream tags"));
            }
        }
    }
    Ok(())
}
