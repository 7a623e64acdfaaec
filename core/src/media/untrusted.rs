//! Decoding bytes nobody vouches for: the files a generator adapter hands
//! the host (`emit-file`). Such bytes may be crafted to make a demuxer open
//! other files (a playlist, a concat script, external references), or to
//! decode to frames far larger than the file (a decompression bomb), or to
//! declare absurd frame counts and rates. So:
//!
//! - the bytes are read from memory only, and the name's type picks the one
//!   demuxer that reads them (no probing: a playlist under an `.mp4` name is
//!   an error, not a playlist); demuxers, codecs and protocols are limited
//!   by ffmpeg's whitelists, and every nested open a demuxer attempts is
//!   refused;
//! - dimensions are checked against [`UntrustedLimits`] from the headers,
//!   before any allocation that depends on them, and the decoder itself
//!   refuses frames above the cap (`max_pixels`); PNG and EXR headers are
//!   read and checked before their pixels;
//! - the frame count is capped while the index is built.

use std::ffi::{CStr, c_int};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Arc;

use ff::ffi;
use ffmpeg_next as ff;

use super::video::{VideoReader, ff_error};
use super::{MediaInfo, MediaKind, MediaReader, ReaderInner, StreamInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, check_dimensions};

/// What a file from an untrusted source may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntrustedLimits {
    /// Most pixels (width x height) of one frame.
    pub max_pixels: u64,
    /// Most frames.
    pub max_frames: u64,
}

/// Demuxers an untrusted file may be read with (ffmpeg's names).
const FORMATS: &str = "mov,matroska,avi";
/// Decoders it may use: the video codecs vendors deliver, and the audio
/// ones their files carry (opened only while the streams are probed).
const CODECS: &str = "h264,hevc,vp8,vp9,av1,libdav1d,libaom-av1,libvpx,libvpx-vp9,prores,ffv1,mpeg4,mjpeg,png,\
                      rawvideo,dnxhd,qtrle,utvideo,huffyuv,ffvhuff,aac,mp3,mp3float,opus,libopus,vorbis,flac,\
                      pcm_s16le,pcm_s24le,pcm_f32le";

/// What the file name's extension says the bytes are.
enum Kind {
    Video(&'static CStr),
    Png,
    Exr,
}

fn kind_of(name: &str) -> Option<Kind> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "mp4" | "m4v" | "mov" => Kind::Video(c"mov"),
        "mkv" | "webm" => Kind::Video(c"matroska"),
        "avi" => Kind::Video(c"avi"),
        "png" => Kind::Png,
        "exr" => Kind::Exr,
        _ => return None,
    })
}

/// The extensions [`MediaReader::open_untrusted`] takes.
pub const UNTRUSTED_TYPES: [&str; 8] = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "png", "exr"];

/// Shared bytes for ffmpeg's reader (which wants `'static` data).
#[derive(Clone)]
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A video held in memory, opened only by its one demuxer.
pub(crate) struct UntrustedVideo {
    label: PathBuf,
    bytes: Shared,
    demuxer: &'static CStr,
    limits: UntrustedLimits,
}

/// Every nested open (a playlist's segments, a reference, a script's
/// files) is refused.
unsafe extern "C" fn refuse_nested_open(
    _s: *mut ffi::AVFormatContext,
    _pb: *mut *mut ffi::AVIOContext,
    _url: *const std::ffi::c_char,
    _flags: c_int,
    _options: *mut *mut ffi::AVDictionary,
) -> c_int {
    -1 // AVERROR(EPERM)
}

impl UntrustedVideo {
    pub(crate) fn label(&self) -> &Path {
        &self.label
    }

    pub(crate) fn max_frames(&self) -> u64 {
        self.limits.max_frames
    }

    fn max_pixels(&self) -> i64 {
        self.limits.max_pixels.min(i64::MAX as u64) as i64
    }

    /// Opens the bytes, from the start, with the one demuxer and the
    /// whitelists; the probing decoders get the pixel cap.
    pub(crate) fn open(&self) -> Result<ff::format::context::Input> {
        let label = &self.label;
        let mut io = ff::format::context::StreamIo::from_read_seek(Cursor::new(self.bytes.clone()))
            .map_err(|e| ff_error(label, "read from memory", e))?;
        let mut options = ff::Dictionary::new();
        options.set("format_whitelist", FORMATS);
        options.set("codec_whitelist", CODECS);
        options.set("protocol_whitelist", "none");
        // SAFETY: every pointer below comes from ffmpeg's allocators or is
        // checked; `io` outlives the context (it is handed to the Input that
        // owns both); on failure avformat_open_input frees the context.
        unsafe {
            let format = ffi::av_find_input_format(self.demuxer.as_ptr());
            if format.is_null() {
                return Err(Error::unsupported(format!(
                    "{}: this ffmpeg has no {:?} demuxer",
                    label.display(),
                    self.demuxer
                )));
            }
            let mut ctx = ffi::avformat_alloc_context();
            if ctx.is_null() {
                return Err(Error::internal("ffmpeg could not allocate a format context"));
            }
            (*ctx).pb = io.as_mut_ptr();
            (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
            (*ctx).io_open = Some(refuse_nested_open);
            let mut raw_options = options.disown();
            let opened = ffi::avformat_open_input(&mut ctx, ptr::null(), format, &mut raw_options);
            ff::Dictionary::own(raw_options);
            if opened < 0 {
                return Err(not_this_type(label, self.demuxer, ff::Error::from(opened)));
            }
            // The sizes the headers state, before probing decodes anything
            // (a failed probe would leave them unknown).
            let streams = (*ctx).nb_streams as usize;
            for i in 0..streams {
                let par = (**(*ctx).streams.add(i)).codecpar;
                if !par.is_null() && (*par).codec_type == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO {
                    let (w, h) = ((*par).width.max(0) as u64, (*par).height.max(0) as u64);
                    if w.saturating_mul(h) > self.limits.max_pixels {
                        ffi::avformat_close_input(&mut ctx);
                        return Err(too_large(label, w, h, self.limits.max_pixels));
                    }
                }
            }
            // Stream probing may decode a frame: each stream's decoder gets the cap.
            let mut per_stream: Vec<*mut ffi::AVDictionary> = Vec::with_capacity(streams);
            for _ in 0..streams {
                let mut d = ff::Dictionary::new();
                d.set("max_pixels", &self.max_pixels().to_string());
                per_stream.push(d.disown());
            }
            let probed = ffi::avformat_find_stream_info(ctx, per_stream.as_mut_ptr());
            for d in per_stream {
                ff::Dictionary::own(d);
            }
            if probed < 0 {
                ffi::avformat_close_input(&mut ctx);
                return Err(ff_error(label, "read the streams", ff::Error::from(probed)));
            }
            Ok(ff::format::context::Input::wrap_with_custom_io(ctx, io))
        }
    }

    /// Checks the video stream before its decoder opens: a codec on the
    /// list, a stated size within the cap, and the cap set on the decoder
    /// for the frames it will allocate.
    pub(crate) fn check_stream(&self, context: &mut ff::codec::context::Context) -> Result<()> {
        let label = &self.label;
        let id = context.id();
        let allowed = ff::decoder::find(id).is_some_and(|d| CODECS.split(',').any(|c| c == d.name()));
        if !allowed {
            return Err(Error::unsupported(format!(
                "{}: video codec {:?} is not one Mattebox decodes from a generator",
                label.display(),
                id.name()
            )));
        }
        // SAFETY: the context is valid; reading and setting plain fields.
        let (width, height) = unsafe {
            let raw = context.as_mut_ptr();
            (*raw).max_pixels = self.max_pixels();
            ((*raw).width.max(0) as u64, (*raw).height.max(0) as u64)
        };
        check_pixels(label, width, height, self.limits.max_pixels)
    }
}

fn too_large(label: &Path, width: u64, height: u64, max_pixels: u64) -> Error {
    Error::invalid_argument(format!(
        "{}: frames of {width}x{height} ({} pixels) are larger than the {max_pixels} pixels allowed here",
        label.display(),
        width.saturating_mul(height)
    ))
}

fn check_pixels(label: &Path, width: u64, height: u64, max_pixels: u64) -> Result<()> {
    if width.saturating_mul(height) > max_pixels {
        return Err(too_large(label, width, height, max_pixels));
    }
    check_dimensions(width.min(u32::MAX as u64) as u32, height.min(u32::MAX as u64) as u32)
        .map_err(|e| e.context(label.display()))
}

fn not_this_type(label: &Path, demuxer: &CStr, err: ff::Error) -> Error {
    Error::media(format!(
        "{}: not a {} file ({err}); only the container its name says is read",
        label.display(),
        demuxer.to_string_lossy()
    ))
}

fn decode_png(label: &Path, bytes: &[u8], max_pixels: u64) -> Result<Frame> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(1 << 20));
    reader.limits(limits);
    let decoder =
        reader.into_decoder().map_err(|e| Error::media(format!("{}: not a PNG file: {e}", label.display())))?;
    let (width, height) = decoder.dimensions();
    check_pixels(label, width as u64, height as u64, max_pixels)?;
    let image = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| Error::media(format!("{}: cannot decode the PNG: {e}", label.display())))?;
    super::image_file::frame_of_image(image)
}

fn decode_exr(label: &Path, bytes: &[u8], max_pixels: u64) -> Result<Frame> {
    let meta = exr::meta::MetaData::read_from_buffered(Cursor::new(bytes), false)
        .map_err(|e| Error::media(format!("{}: not an OpenEXR file: {e}", label.display())))?;
    for header in &meta.headers {
        let size = header.layer_size;
        check_pixels(label, size.0 as u64, size.1 as u64, max_pixels)?;
    }
    super::image_file::read_exr_from(Cursor::new(bytes), label)
}

impl MediaReader {
    /// Opens `bytes` from a source nobody vouches for (a generator
    /// adapter's file): `name`'s extension ([`UNTRUSTED_TYPES`]) says what
    /// it is, and only that is read, from memory, within `limits` (see the
    /// module's documentation). Messages name it `name`.
    pub fn open_untrusted(name: &str, bytes: Vec<u8>, limits: &UntrustedLimits) -> Result<MediaReader> {
        let label = PathBuf::from(name);
        let kind = kind_of(name).ok_or_else(|| {
            Error::unsupported(format!("{name:?}: the name must end in one of {}", UNTRUSTED_TYPES.join(", ")))
        })?;
        let still = |frame: Frame, codec: &str| {
            let info = MediaInfo {
                path: label.clone(),
                kind: MediaKind::Image,
                container: codec.to_owned(),
                codec: codec.to_owned(),
                width: frame.width(),
                height: frame.height(),
                frame_rate: super::DEFAULT_SEQUENCE_RATE,
                frame_count: 1,
                duration_seconds: MediaInfo::duration_of(1, super::DEFAULT_SEQUENCE_RATE),
                source_pixel_format: format!("{:?}", frame.format()).to_lowercase(),
                bits_per_channel: match frame.format() {
                    crate::PixelFormat::Rgba8 => 8,
                    crate::PixelFormat::Rgba16 => 16,
                    crate::PixelFormat::Rgba32F => 32,
                },
                decoded_format: frame.format(),
                first_number: None,
                streams: vec![StreamInfo {
                    index: 0,
                    kind: "video".into(),
                    codec: codec.into(),
                    details: String::new(),
                }],
            };
            MediaReader { inner: ReaderInner::Still(Box::new((info, frame))) }
        };
        match kind {
            Kind::Png => Ok(still(decode_png(&label, &bytes, limits.max_pixels)?, "png")),
            Kind::Exr => Ok(still(decode_exr(&label, &bytes, limits.max_pixels)?, "exr")),
            Kind::Video(demuxer) => {
                let source = UntrustedVideo { label, bytes: Shared(Arc::new(bytes)), demuxer, limits: *limits };
                let reader = VideoReader::open_source(super::video::Source::Untrusted(source), 1)?;
                Ok(MediaReader { inner: ReaderInner::Video(reader) })
            }
        }
    }
}
