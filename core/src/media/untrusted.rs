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

use super::ffmpeg::ff_error;
use super::video_reader::{Container, VideoReader};
use super::{ClipTags, MediaInfo, MediaKind, MediaReader, ReaderInner, StreamInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, check_dimensions};
use crate::rational::Rational;

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
    /// A PNG, animated (APNG) or not.
    Png,
    Exr,
    Gif,
    Webp,
}

/// Most bytes all the frames of a decoded animation may take.
const MAX_ANIMATION_BYTES: u64 = 1 << 30;

fn kind_of(name: &str) -> Option<Kind> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "mp4" | "m4v" | "mov" => Kind::Video(c"mov"),
        "mkv" | "webm" => Kind::Video(c"matroska"),
        "avi" => Kind::Video(c"avi"),
        "png" | "apng" => Kind::Png,
        "exr" => Kind::Exr,
        "gif" => Kind::Gif,
        "webp" => Kind::Webp,
        _ => return None,
    })
}

/// The extensions [`MediaReader::open_untrusted`] takes.
pub const UNTRUSTED_TYPES: [&str; 11] =
    ["mp4", "m4v", "mov", "mkv", "webm", "avi", "png", "apng", "exr", "gif", "webp"];

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
    fn max_pixels(&self) -> i64 {
        self.limits.max_pixels.min(i64::MAX as u64) as i64
    }
}

impl Container for UntrustedVideo {
    fn label(&self) -> &Path {
        &self.label
    }

    fn max_frames(&self) -> u64 {
        self.limits.max_frames
    }

    /// Opens the bytes, from the start, with the one demuxer and the
    /// whitelists; the probing decoders get the pixel cap.
    fn open(&self) -> Result<ff::format::context::Input> {
        open_in_memory(&self.label, &self.bytes, self.demuxer, FORMATS, self.limits.max_pixels)
    }

    /// Checks the video stream before its decoder opens: a codec on the
    /// list, a stated size within the cap, and the cap set on the decoder
    /// for the frames it will allocate.
    fn check_stream(&self, context: &mut ff::codec::context::Context) -> Result<()> {
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

/// Opens `bytes` from the start with `demuxer` only, ffmpeg's whitelists
/// (`formats`, [`CODECS`], no protocol) and every nested open refused; the
/// stated video sizes are checked against `max_pixels` before probing, and
/// the probing decoders get that cap.
fn open_in_memory(
    label: &Path,
    bytes: &Shared,
    demuxer: &'static CStr,
    formats: &str,
    max_pixels: u64,
) -> Result<ff::format::context::Input> {
    let mut io = ff::format::context::StreamIo::from_read_seek(Cursor::new(bytes.clone()))
        .map_err(|e| ff_error(label, "read from memory", e))?;
    let mut options = ff::Dictionary::new();
    options.set("format_whitelist", formats);
    options.set("codec_whitelist", CODECS);
    options.set("protocol_whitelist", "none");
    // SAFETY: every pointer below comes from ffmpeg's allocators or is
    // checked; `io` outlives the context (it is handed to the Input that
    // owns both); on failure avformat_open_input frees the context.
    unsafe {
        let format = ffi::av_find_input_format(demuxer.as_ptr());
        if format.is_null() {
            return Err(Error::unsupported(format!("{}: this ffmpeg has no {:?} demuxer", label.display(), demuxer)));
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
            return Err(not_this_type(label, demuxer, ff::Error::from(opened)));
        }
        // The sizes the headers state, before probing decodes anything
        // (a failed probe would leave them unknown).
        let streams = (*ctx).nb_streams as usize;
        for i in 0..streams {
            let par = (**(*ctx).streams.add(i)).codecpar;
            if !par.is_null() && (*par).codec_type == ffi::AVMediaType::AVMEDIA_TYPE_VIDEO {
                let (w, h) = ((*par).width.max(0) as u64, (*par).height.max(0) as u64);
                if w.saturating_mul(h) > max_pixels {
                    ffi::avformat_close_input(&mut ctx);
                    return Err(too_large(label, w, h, max_pixels));
                }
            }
        }
        // Stream probing may decode a frame: each stream's decoder gets the cap.
        let mut per_stream: Vec<*mut ffi::AVDictionary> = Vec::with_capacity(streams);
        for _ in 0..streams {
            let mut d = ff::Dictionary::new();
            d.set("max_pixels", &max_pixels.min(i64::MAX as u64).to_string());
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

/// A still PNG, GIF or WebP: the header checked before the pixels.
fn decode_still(label: &Path, format: image::ImageFormat, bytes: &[u8], max_pixels: u64) -> Result<Frame> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits_for(max_pixels));
    let decoder =
        reader.into_decoder().map_err(|e| Error::media(format!("{}: not a valid {format:?}: {e}", label.display())))?;
    let (width, height) = decoder.dimensions();
    check_pixels(label, width as u64, height as u64, max_pixels)?;
    let image = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| Error::media(format!("{}: cannot decode it: {e}", label.display())))?;
    super::image_file::frame_of_image(image)
}

/// Frames of an animation, composited whole, and how long each is shown
/// (milliseconds, as numerator and denominator).
type Animation = Vec<(Frame, (u32, u32))>;

fn limits_for(max_pixels: u64) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(1 << 20));
    limits
}

/// Decodes every frame of an animated GIF, WebP or PNG, checking the size
/// first and the total as it goes.
fn decode_animation(label: &Path, kind: &Kind, bytes: &[u8], limits: &UntrustedLimits) -> Result<Option<Animation>> {
    use image::{AnimationDecoder, ImageDecoder};
    let bad = |what: &str, e: image::ImageError| Error::media(format!("{}: not a valid {what}: {e}", label.display()));
    // The decoder's allocation limit set and its stated size checked first.
    let check = |d: &mut dyn ImageDecoder, what: &str| -> Result<()> {
        d.set_limits(limits_for(limits.max_pixels)).map_err(|e| bad(what, e))?;
        let (w, h) = d.dimensions();
        check_pixels(label, w as u64, h as u64, limits.max_pixels)
    };
    let frames = match kind {
        Kind::Gif => {
            let mut d = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(|e| bad("GIF", e))?;
            check(&mut d, "GIF")?;
            d.into_frames()
        }
        Kind::Webp => {
            let mut d = image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| bad("WebP", e))?;
            check(&mut d, "WebP")?;
            if !d.has_animation() {
                return Ok(None);
            }
            d.into_frames()
        }
        Kind::Png => {
            let mut d = image::codecs::png::PngDecoder::new(Cursor::new(bytes)).map_err(|e| bad("PNG", e))?;
            check(&mut d, "PNG")?;
            if !d.is_apng().map_err(|e| bad("PNG", e))? {
                return Ok(None);
            }
            d.apng().map_err(|e| bad("PNG", e))?.into_frames()
        }
        _ => return Ok(None),
    };
    let mut out = Vec::new();
    let mut total = 0u64;
    for frame in frames {
        let frame =
            frame.map_err(|e| Error::media(format!("{}: cannot decode the animation: {e}", label.display())))?;
        let delay = frame.delay().numer_denom_ms();
        let buffer = frame.into_buffer();
        let (w, h) = buffer.dimensions();
        total += w as u64 * h as u64 * 4;
        if out.len() as u64 >= limits.max_frames || total > MAX_ANIMATION_BYTES {
            return Err(Error::invalid_argument(format!(
                "{}: the animation holds more than {} frames of {w}x{h}, more than it may; save a video instead",
                label.display(),
                out.len()
            )));
        }
        out.push((Frame::from_bytes(w, h, crate::PixelFormat::Rgba8, &buffer.into_raw())?, delay));
    }
    if out.is_empty() {
        return Err(Error::media(format!("{}: the animation holds no frames", label.display())));
    }
    Ok(Some(out))
}

/// An animation as frames at one constant rate: the greatest common step
/// of its frame durations (at least 10 ms, as browsers show them), each
/// frame repeated for as many steps as it lasts.
fn at_constant_rate(label: &Path, animation: Animation, max_frames: u64) -> Result<(Rational, Vec<Frame>, Vec<u32>)> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    // Durations in microseconds; 0 (and anything under 10 ms) shows for 10 ms.
    let micros: Vec<u64> =
        animation.iter().map(|(_, (n, d))| ((*n as u64 * 1000) / (*d).max(1) as u64).max(10_000)).collect();
    let step = micros.iter().copied().fold(0, gcd).max(1000);
    let mut order = Vec::new();
    for (i, us) in micros.iter().enumerate() {
        let repeats = (us / step).max(1);
        if order.len() as u64 + repeats > max_frames {
            return Err(Error::invalid_argument(format!(
                "{}: the animation lasts more frames at its rate than it may ({max_frames})",
                label.display()
            )));
        }
        order.extend(std::iter::repeat_n(i as u32, repeats as usize));
    }
    let rate = Rational::new(1_000_000, step as i64)?;
    Ok((rate, animation.into_iter().map(|(f, _)| f).collect(), order))
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

/// What a source decoded from memory holds (its first frame tells the
/// size and format).
fn memory_info(label: &Path, codec: &str, kind: MediaKind, first: &Frame, rate: Rational, count: u64) -> MediaInfo {
    MediaInfo {
        path: label.to_owned(),
        kind,
        container: codec.to_owned(),
        codec: codec.to_owned(),
        width: first.width(),
        height: first.height(),
        frame_rate: rate,
        frame_count: count,
        duration_seconds: MediaInfo::duration_of(count, rate),
        variable_rate: None,
        source_pixel_format: format!("{:?}", first.format()).to_lowercase(),
        bits_per_channel: match first.format() {
            crate::PixelFormat::Rgba8 => 8,
            crate::PixelFormat::Rgba16 => 16,
            crate::PixelFormat::Rgba32F => 32,
        },
        decoded_format: first.format(),
        first_number: None,
        streams: vec![StreamInfo { index: 0, kind: "video".into(), codec: codec.into(), details: String::new() }],
        video_stream: None,
        tags: ClipTags::default(),
        audio: None,
    }
}

impl MediaReader {
    /// Opens `bytes` from a source nobody vouches for (a generator
    /// adapter's file): `name`'s extension ([`UNTRUSTED_TYPES`]) says what
    /// it is, and only that is read, from memory, within `limits` (see the
    /// module's documentation). Messages name it `name`.
    pub fn open_untrusted(name: &str, bytes: impl Into<Arc<Vec<u8>>>, limits: &UntrustedLimits) -> Result<MediaReader> {
        let bytes: Arc<Vec<u8>> = bytes.into();
        let label = PathBuf::from(name);
        let kind = kind_of(name).ok_or_else(|| {
            Error::unsupported(format!("{name:?}: the name must end in one of {}", UNTRUSTED_TYPES.join(", ")))
        })?;
        let still = |frame: Frame, codec: &str| {
            let info = memory_info(&label, codec, MediaKind::Image, &frame, super::DEFAULT_SEQUENCE_RATE, 1);
            MediaReader { inner: ReaderInner::Still(Box::new((info, frame))) }
        };
        if let Some(animation) = decode_animation(&label, &kind, &bytes, limits)? {
            let codec = match kind {
                Kind::Gif => "gif",
                Kind::Webp => "webp",
                _ => "apng",
            };
            let (rate, frames, order) = at_constant_rate(&label, animation, limits.max_frames)?;
            let info = memory_info(&label, codec, MediaKind::Video, &frames[0], rate, order.len() as u64);
            return Ok(MediaReader { inner: ReaderInner::Animation(Box::new((info, frames, order))) });
        }
        match kind {
            Kind::Png => Ok(still(decode_still(&label, image::ImageFormat::Png, &bytes, limits.max_pixels)?, "png")),
            Kind::Gif => Ok(still(decode_still(&label, image::ImageFormat::Gif, &bytes, limits.max_pixels)?, "gif")),
            Kind::Webp => Ok(still(decode_still(&label, image::ImageFormat::WebP, &bytes, limits.max_pixels)?, "webp")),
            Kind::Exr => Ok(still(decode_exr(&label, &bytes, limits.max_pixels)?, "exr")),
            Kind::Video(demuxer) => {
                let source = UntrustedVideo { label, bytes: Shared(bytes), demuxer, limits: *limits };
                let reader = VideoReader::open_container(Box::new(source), 1)?;
                Ok(MediaReader { inner: ReaderInner::Video(reader) })
            }
        }
    }
}

/// Demuxers an untrusted sound file may be read with.
const AUDIO_FORMATS: &str = "mov,matroska,avi,wav,mp3,aac,ogg,flac";

/// The extensions [`decode_untrusted_audio`] takes: sound files, and the
/// videos whose sound track is used.
pub const UNTRUSTED_AUDIO_TYPES: [&str; 14] =
    ["wav", "mp3", "m4a", "aac", "ogg", "opus", "flac", "mp4", "m4v", "mov", "mkv", "webm", "mka", "avi"];

fn audio_demuxer_of(name: &str) -> Option<&'static CStr> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "wav" => c"wav",
        "mp3" => c"mp3",
        "aac" => c"aac",
        "ogg" | "opus" => c"ogg",
        "flac" => c"flac",
        "m4a" | "mp4" | "m4v" | "mov" => c"mov",
        "mkv" | "webm" | "mka" => c"matroska",
        "avi" => c"avi",
        _ => return None,
    })
}

/// Decodes the sound of `bytes` (a file called `name` from a source nobody
/// vouches for: an adapter's `emit-audio` or `emit-file`) into a WAV file
/// of 16-bit PCM at its own rate and channels, reading it as
/// [`MediaReader::open_untrusted`] reads video: from memory, with the one
/// demuxer its name says, ffmpeg's whitelists, no nested opens. `None`
/// when the file has no sound stream; an error when it holds more than
/// `max_seconds`, or more channels or another rate than
/// [`wav`](crate::wav) keeps.
pub fn decode_untrusted_audio(name: &str, bytes: impl Into<Arc<Vec<u8>>>, max_seconds: f64) -> Result<Option<Vec<u8>>> {
    let label = PathBuf::from(name);
    let demuxer = audio_demuxer_of(name).ok_or_else(|| {
        Error::unsupported(format!(
            "{name:?}: a sound file's name must end in one of {}",
            UNTRUSTED_AUDIO_TYPES.join(", ")
        ))
    })?;
    // Video streams are not decoded here, but their stated size is still
    // checked (and probing capped) as for any untrusted video.
    let max_pixels = super::super::frame::MAX_PIXELS;
    let mut input = open_in_memory(&label, &Shared(bytes.into()), demuxer, AUDIO_FORMATS, max_pixels)?;
    let Some(stream) = input.streams().best(ff::media::Type::Audio) else {
        return Ok(None);
    };
    let index = stream.index();
    let context = ff::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| ff_error(&label, "read the sound stream", e))?;
    let id = context.id();
    if !ff::decoder::find(id).is_some_and(|d| CODECS.split(',').any(|c| c == d.name())) {
        return Err(Error::unsupported(format!(
            "{name:?}: sound codec {:?} is not one Mattebox decodes from a generator",
            id.name()
        )));
    }
    let mut decoder = context.decoder().audio().map_err(|e| ff_error(&label, "open the sound decoder", e))?;
    let (rate, channels) = (decoder.rate(), decoder.channels());
    if channels == 0 || channels > crate::wav::MAX_CHANNELS || !crate::wav::SAMPLE_RATES.contains(&rate) {
        return Err(Error::unsupported(format!(
            "{name:?}: sound of {channels} channels at {rate} Hz; Mattebox keeps 1-{} channels at {}-{} Hz",
            crate::wav::MAX_CHANNELS,
            crate::wav::SAMPLE_RATES.start(),
            crate::wav::SAMPLE_RATES.end()
        )));
    }
    let most = (max_seconds.max(0.0) * rate as f64) as usize * channels as usize;
    let mut samples: Vec<i16> = Vec::new();
    let mut decoded = ff::frame::Audio::empty();
    let mut take_frames = |decoder: &mut ff::decoder::Audio, samples: &mut Vec<i16>| -> Result<()> {
        while decoder.receive_frame(&mut decoded).is_ok() {
            append_s16(&label, &decoded, channels, samples)?;
            if samples.len() > most {
                return Err(Error::invalid_argument(format!(
                    "{name:?}: more than {max_seconds:.1} s of sound, more than the take may carry"
                )));
            }
        }
        Ok(())
    };
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        decoder.send_packet(&packet).map_err(|e| ff_error(&label, "decode the sound", e))?;
        take_frames(&mut decoder, &mut samples)?;
    }
    decoder.send_eof().map_err(|e| ff_error(&label, "decode the sound", e))?;
    take_frames(&mut decoder, &mut samples)?;
    if samples.is_empty() {
        return Err(Error::media(format!("{name:?}: its sound stream decodes to nothing")));
    }
    crate::wav::wav_bytes(rate, channels, &samples).map(Some)
}

/// Appends one decoded frame's samples as interleaved 16-bit integers,
/// whatever the decoder's sample format, packed or planar.
fn append_s16(label: &Path, frame: &ff::frame::Audio, channels: u16, out: &mut Vec<i16>) -> Result<()> {
    use ff::format::Sample;
    let (n, c) = (frame.samples(), channels as usize);
    if frame.channels() != channels {
        return Err(Error::media(format!("{}: the sound changes its channel count midway", label.display())));
    }
    let width = frame.format().bytes();
    let convert: fn(&[u8]) -> i16 = match frame.format() {
        Sample::I16(_) => |b| i16::from_ne_bytes([b[0], b[1]]),
        Sample::I32(_) => |b| (i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) >> 16) as i16,
        Sample::F32(_) => |b| {
            let v = f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64;
            (v.clamp(-1.0, 1.0) * 32767.0).round() as i16
        },
        Sample::F64(_) => |b| {
            let v = f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            (v.clamp(-1.0, 1.0) * 32767.0).round() as i16
        },
        Sample::U8(_) => |b| ((b[0] as i16) - 128) << 8,
        other => {
            return Err(Error::unsupported(format!("{}: sound samples of format {other:?}", label.display())));
        }
    };
    let planar = frame.is_planar();
    if n == 0 {
        return Ok(());
    }
    if frame.planes() < if planar { c } else { 1 } {
        return Err(Error::media(format!("{}: a decoded sound frame has no samples", label.display())));
    }
    let planes: Vec<&[u8]> = (0..if planar { c } else { 1 }).map(|p| frame.data(p)).collect();
    let needed = if planar { n * width } else { n * c * width };
    if planes.iter().any(|p| p.len() < needed) {
        return Err(Error::media(format!("{}: a decoded sound frame is shorter than it says", label.display())));
    }
    out.try_reserve(n * c)?;
    for i in 0..n {
        for ch in 0..c {
            let at = if planar { i * width } else { (i * c + ch) * width };
            let plane = planes[if planar { ch } else { 0 }];
            out.push(convert(&plane[at..at + width]));
        }
    }
    Ok(())
}
