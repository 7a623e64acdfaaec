//! Video files through ffmpeg (Debian's 5.1, via `ffmpeg-next`).
//!
//! Reading builds a frame index once at open: every packet of the video
//! stream is demuxed (not decoded) to learn each frame's presentation
//! timestamp and where the keyframes are. That gives an exact frame count for
//! containers that do not store one (Matroska) and frame-accurate random
//! access: to get frame N, seek to the last keyframe at or before N's
//! timestamp and decode forward until the frame whose timestamp is N's.
//! Reading forward, or a short jump within the same group of pictures,
//! decodes on without seeking.
//!
//! Pixels are converted by libswscale straight into the returned frame, with
//! the colour matrix the stream declares (BT.709 when unspecified at 720 lines
//! or more, BT.601 below, as ffmpeg's own tools assume).

use std::ffi::{CStr, c_int};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Once;

use ff::ffi;
use ff::format::Pixel;
use ff::packet::Ref as _;
use ffmpeg_next as ff;

use super::{MediaInfo, MediaKind, StreamInfo, VideoCodec, WriteOptions};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, PixelFormat, check_dimensions, convert};
use crate::rational::Rational;
use crate::runtime::LogLevel;
use crate::staged::StagedFile;

static INIT: Once = Once::new();

/// Initialises ffmpeg once per process. Its own logging goes to standard
/// error and cannot be routed per runtime, so it stays silent unless a
/// runtime asks for debug logs; every failure reaches the caller as an error.
pub(crate) fn init_ffmpeg(level: LogLevel) {
    INIT.call_once(|| {
        let _ = ff::init();
    });
    let av_level = match level {
        LogLevel::Trace => ffi::AV_LOG_VERBOSE,
        LogLevel::Debug => ffi::AV_LOG_WARNING,
        _ => ffi::AV_LOG_QUIET,
    };
    // SAFETY: av_log_set_level only stores an integer.
    unsafe { ffi::av_log_set_level(av_level) };
}

pub(super) fn ensure_init() {
    if !INIT.is_completed() {
        init_ffmpeg(LogLevel::Warn);
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

fn pixel_name(format: Pixel) -> String {
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
fn pixel_depth(format: Pixel) -> (u32, bool) {
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

fn to_rational(r: ff::Rational) -> Option<Rational> {
    if r.numerator() > 0 && r.denominator() > 0 {
        Rational::new(r.numerator() as i64, r.denominator() as i64).ok()
    } else {
        None
    }
}

fn to_ff(r: Rational) -> ff::Rational {
    ff::Rational::new(r.num() as i32, r.den() as i32)
}

/// A libswscale context, owned.
struct Scaler {
    ctx: *mut ffi::SwsContext,
    key: (Pixel, u32, u32, i32, bool),
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
    fn new(
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
    unsafe fn run(
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

fn is_rgb(format: Pixel) -> bool {
    let raw: ffi::AVPixelFormat = format.into();
    // SAFETY: static descriptor or null.
    let desc = unsafe { ffi::av_pix_fmt_desc_get(raw) };
    // SAFETY: checked for null.
    !desc.is_null() && unsafe { (*desc).flags } & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0
}

fn rgba_pixel(format: PixelFormat) -> Pixel {
    match format {
        PixelFormat::Rgba8 => Pixel::RGBA,
        // Native endian, because frames are.
        _ if cfg!(target_endian = "little") => Pixel::RGBA64LE,
        _ => Pixel::RGBA64BE,
    }
}

/// Presentation timestamps of every frame, sorted, and of every keyframe.
struct FrameIndex {
    pts: Vec<i64>,
    keyframes: Vec<i64>,
    /// The earliest timestamp of any packet (decode order can start before
    /// the first presentation time); seeking here returns to the start.
    start: i64,
}

impl FrameIndex {
    fn position_of(&self, pts: i64) -> Option<u64> {
        self.pts.binary_search(&pts).ok().map(|i| i as u64)
    }

    /// Index into `keyframes` of the last keyframe at or before frame `n`.
    fn keyframe_slot(&self, n: u64) -> Option<usize> {
        let target = self.pts[n as usize];
        self.keyframes.partition_point(|&k| k <= target).checked_sub(1)
    }
}

/// Where a reader's bytes come from.
pub(crate) enum Source {
    /// A file the user named.
    File(PathBuf),
    /// Bytes nobody vouches for, demuxed from memory (see [`super::untrusted`]).
    #[cfg(feature = "images")]
    Untrusted(super::untrusted::UntrustedVideo),
}

impl Source {
    /// The name messages give it.
    fn label(&self) -> &Path {
        match self {
            Source::File(path) => path,
            #[cfg(feature = "images")]
            Source::Untrusted(u) => u.label(),
        }
    }

    /// Opens the container, from the start.
    fn open(&self) -> Result<ff::format::context::Input> {
        match self {
            Source::File(path) => ff::format::input(path).map_err(|e| ff_error(path, "open as video", e)),
            #[cfg(feature = "images")]
            Source::Untrusted(u) => u.open(),
        }
    }
}

pub(crate) struct VideoReader {
    source: Source,
    input: ff::format::context::Input,
    stream_index: usize,
    decoder: ff::decoder::Video,
    decoded: ff::frame::Video,
    index: FrameIndex,
    info: MediaInfo,
    scaler: Option<Scaler>,
    /// The frame the decoder will return next, when known.
    next: Option<u64>,
    sent_eof: bool,
}

fn stream_infos(input: &ff::format::context::Input) -> Vec<StreamInfo> {
    input
        .streams()
        .map(|s| {
            let params = s.parameters();
            // SAFETY: parameters wrap the stream's live AVCodecParameters.
            let raw = unsafe { &*params.as_ptr() };
            let medium = params.medium();
            let details = match medium {
                ff::media::Type::Video => {
                    let pixel = if (0..ffi::AVPixelFormat::AV_PIX_FMT_NB as c_int).contains(&raw.format) {
                        // SAFETY: AVPixelFormat is a contiguous C enum from 0 to
                        // AV_PIX_FMT_NB, and the value was range-checked.
                        let raw_format = unsafe { std::mem::transmute::<c_int, ffi::AVPixelFormat>(raw.format) };
                        pixel_name(Pixel::from(raw_format))
                    } else {
                        "unknown".into()
                    };
                    format!("{}x{} {pixel}", raw.width, raw.height)
                }
                ff::media::Type::Audio => format!("{} Hz, {} channels", raw.sample_rate, raw.ch_layout.nb_channels),
                _ => String::new(),
            };
            StreamInfo {
                index: s.index(),
                kind: format!("{medium:?}").to_lowercase(),
                codec: params.id().name().to_owned(),
                details,
            }
        })
        .collect()
}

impl VideoReader {
    pub(crate) fn open(path: &Path, threads: usize) -> Result<Self> {
        if !path.exists() {
            return Err(Error::new(crate::ErrorKind::NotFound, format!("{}: no such file", path.display())));
        }
        VideoReader::open_source(Source::File(path.to_owned()), threads)
    }

    pub(crate) fn open_source(source: Source, threads: usize) -> Result<Self> {
        ensure_init();
        let path = source.label().to_owned();
        let path = path.as_path();
        let mut input = source.open()?;
        let stream = input
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| Error::media(format!("{}: the file has no video stream", path.display())))?;
        let stream_index = stream.index();
        let avg_rate = stream.avg_frame_rate();
        let real_rate = stream.rate();
        let mut context = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| ff_error(path, "read the video stream parameters", e))?;
        #[cfg(feature = "images")]
        if let Source::Untrusted(u) = &source {
            // Before the decoder exists: the stated size, and a cap the
            // decoder enforces on every frame it allocates.
            u.check_stream(&mut context)?;
        }
        let mut decoder_ctx = context.decoder();
        decoder_ctx.set_threading(ff::threading::Config {
            kind: ff::threading::Type::Frame,
            count: threads,
            ..Default::default()
        });
        let decoder = decoder_ctx.video().map_err(|e| ff_error(path, "open a decoder for the video stream", e))?;
        let (width, height) = (decoder.width(), decoder.height());
        check_dimensions(width, height).map_err(|e| e.context(path.display()))?;
        let source_format = decoder.format();
        let (bits, _) = pixel_depth(source_format);
        let decoded_format = if bits > 8 { PixelFormat::Rgba16 } else { PixelFormat::Rgba8 };

        // The rate the container states; for constant-rate files both agree.
        // avg_frame_rate is the measured mean, r_frame_rate the base rate that
        // timestamps are multiples of; prefer the base rate when they differ
        // only by rounding.
        let frame_rate = match (to_rational(real_rate), to_rational(avg_rate)) {
            (Some(r), Some(a)) if (r.to_f64() - a.to_f64()).abs() / r.to_f64() < 0.001 => r,
            (_, Some(a)) => a,
            (Some(r), None) => r,
            (None, None) => {
                return Err(Error::media(format!("{}: the video stream does not state a frame rate", path.display())));
            }
        };

        let max_frames = match &source {
            #[cfg(feature = "images")]
            Source::Untrusted(u) => u.max_frames(),
            Source::File(_) => u64::MAX,
        };
        let index = build_index(&mut input, stream_index, path, max_frames)?;
        if index.pts.is_empty() {
            return Err(Error::media(format!("{}: the video stream holds no frames", path.display())));
        }
        // Back to the start by opening again: some demuxers (image2 for a
        // single JPEG, say) accept a seek but then deliver nothing.
        let input = source.open()?;

        let frame_count = index.pts.len() as u64;
        let info = MediaInfo {
            path: path.to_owned(),
            kind: MediaKind::Video,
            container: input.format().name().to_owned(),
            codec: decoder.codec().map(|c| c.name().to_owned()).unwrap_or_else(|| "unknown".into()),
            width,
            height,
            frame_rate,
            frame_count,
            duration_seconds: MediaInfo::duration_of(frame_count, frame_rate),
            source_pixel_format: pixel_name(source_format),
            bits_per_channel: bits,
            decoded_format,
            first_number: None,
            streams: stream_infos(&input),
        };
        Ok(VideoReader {
            source,
            input,
            stream_index,
            decoder,
            decoded: ff::frame::Video::empty(),
            index,
            info,
            scaler: None,
            next: Some(0),
            sent_eof: false,
        })
    }

    pub(crate) fn info(&self) -> &MediaInfo {
        &self.info
    }

    pub(crate) fn read_frame(&mut self, n: u64) -> Result<Frame> {
        let forward_is_cheap = match self.next {
            Some(next) if next <= n => n - next < 8 || self.index.keyframe_slot(next) >= self.index.keyframe_slot(n),
            _ => false,
        };
        if !forward_is_cheap {
            self.seek_before(n, 0)?;
        }
        let mut retreat = 0;
        loop {
            match self.decode_next()? {
                Some(i) if i == n => return self.convert_decoded(n),
                Some(i) if i < n => continue,
                found => {
                    // Overshot (the seek landed past a keyframe the index
                    // promised) or ran out: step back one more keyframe.
                    retreat += 1;
                    if retreat > 3 {
                        let what = match found {
                            Some(i) => format!("decoding jumped from before it to frame {i}"),
                            None => "the stream ended before it".into(),
                        };
                        return Err(Error::media(format!(
                            "{}: frame {n} could not be decoded: {what}; the file may be corrupt or truncated",
                            self.source.label().display()
                        )));
                    }
                    self.seek_before(n, retreat)?;
                }
            }
        }
    }

    fn seek_before(&mut self, n: u64, extra_keyframes_back: usize) -> Result<()> {
        let ts = match self.index.keyframe_slot(n).and_then(|slot| slot.checked_sub(extra_keyframes_back)) {
            Some(slot) => self.index.keyframes[slot],
            None => self.index.start,
        };
        if ts <= self.index.start {
            // As in `open`: opening again reaches the start where a seek may not.
            self.input = self.source.open()?;
        } else {
            seek_raw(&mut self.input, self.stream_index, ts, self.source.label())?;
        }
        self.decoder.flush();
        self.sent_eof = false;
        self.next = None;
        Ok(())
    }

    /// Decodes the next frame into `self.decoded` and returns its index, or
    /// `None` at the end of the stream.
    fn decode_next(&mut self) -> Result<Option<u64>> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    let Some(pts) = self.decoded.timestamp() else { continue };
                    match self.index.position_of(pts) {
                        Some(i) => {
                            self.next = Some(i + 1);
                            return Ok(Some(i));
                        }
                        None => continue, // a frame the index did not count (discarded); skip it
                    }
                }
                Err(ff::Error::Eof) => {
                    self.next = None;
                    return Ok(None);
                }
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => self.feed()?,
                Err(e) => return Err(ff_error(self.source.label(), "decode a frame", e)),
            }
        }
    }

    /// Sends the next packet of the video stream to the decoder (or the end of stream).
    fn feed(&mut self) -> Result<()> {
        if self.sent_eof {
            return Err(Error::internal("decoder wants input after end of stream"));
        }
        loop {
            // av_read_frame needs an empty packet; dropping the old one unrefs it.
            let mut packet = ff::Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream_index => {
                    match self.decoder.send_packet(&packet) {
                        Ok(()) => return Ok(()),
                        // A damaged packet: the decoder conceals what it can;
                        // a frame that is really lost is reported by read_frame.
                        Err(ff::Error::InvalidData) => {
                            tracing::warn!(path = %self.source.label().display(), "skipping a damaged packet");
                            continue;
                        }
                        Err(e) => return Err(ff_error(self.source.label(), "decode a packet", e)),
                    }
                }
                Ok(()) => continue,
                Err(ff::Error::InvalidData) => continue,
                Err(ff::Error::Eof) => {
                    self.sent_eof = true;
                    return self.decoder.send_eof().map_err(|e| ff_error(self.source.label(), "finish decoding", e));
                }
                Err(e) => return Err(ff_error(self.source.label(), "read a packet", e)),
            }
        }
    }

    fn convert_decoded(&mut self, n: u64) -> Result<Frame> {
        let (w, h, fmt) = (self.decoded.width(), self.decoded.height(), self.decoded.format());
        if (w, h) != (self.info.width, self.info.height) {
            return Err(Error::media(format!(
                "{}: frame {n} is {w}x{h} but the stream started at {}x{}; streams that change size are not supported",
                self.source.label().display(),
                self.info.width,
                self.info.height
            )));
        }
        // SAFETY: the decoded frame is valid; reading two enum fields.
        let (space, range) = unsafe { ((*self.decoded.as_ptr()).colorspace, (*self.decoded.as_ptr()).color_range) };
        let matrix = match space as c_int {
            s if s == ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED as c_int
                || s == ffi::AVColorSpace::AVCOL_SPC_RGB as c_int =>
            {
                if h >= 720 {
                    ffi::SWS_CS_ITU709
                } else {
                    ffi::SWS_CS_DEFAULT
                }
            }
            s => s,
        };
        let full = range == ffi::AVColorRange::AVCOL_RANGE_JPEG
            || matches!(fmt, Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P);
        let dst_format = rgba_pixel(self.info.decoded_format);
        let key = (fmt, w, h, matrix, full);
        if self.scaler.as_ref().map(|s| s.key) != Some(key) {
            // RGB sources (FFV1, PNG-in-video) must come through bit for bit.
            self.scaler = Some(Scaler::new(fmt, dst_format, w, h, matrix, full, is_rgb(fmt))?);
        }
        let mut frame = Frame::new(w, h, self.info.decoded_format)?;
        let stride = frame.stride() as c_int;
        let dst = [frame.as_bytes_mut().as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut()];
        // SAFETY: reading the frame's plane pointers and line sizes.
        let (src, src_stride) = unsafe {
            let raw = &*self.decoded.as_ptr();
            let src = [
                raw.data[0] as *const u8,
                raw.data[1] as *const u8,
                raw.data[2] as *const u8,
                raw.data[3] as *const u8,
            ];
            (src, [raw.linesize[0], raw.linesize[1], raw.linesize[2], raw.linesize[3]])
        };
        let scaler = self.scaler.as_mut().expect("scaler was just made");
        // SAFETY: the source planes come from the decoder for this format and
        // size; the destination is a tightly packed frame of this size.
        unsafe { scaler.run(&src, &src_stride, &dst, &[stride, 0, 0, 0], h) };
        Ok(frame)
    }
}

fn seek_raw(input: &mut ff::format::context::Input, stream_index: usize, ts: i64, path: &Path) -> Result<()> {
    // SAFETY: the context is valid for the lifetime of `input`.
    let ret = unsafe { ffi::av_seek_frame(input.as_mut_ptr(), stream_index as c_int, ts, ffi::AVSEEK_FLAG_BACKWARD) };
    if ret < 0 {
        return Err(ff_error(path, "seek", ff::Error::from(ret)));
    }
    Ok(())
}

/// Every frame's timestamp and the keyframes; more than `max_frames` is an error.
fn build_index(
    input: &mut ff::format::context::Input,
    stream_index: usize,
    path: &Path,
    max_frames: u64,
) -> Result<FrameIndex> {
    let mut pts = Vec::new();
    let mut keyframes = Vec::new();
    let mut missing_ts = 0usize;
    let mut start = i64::MAX;
    loop {
        // av_read_frame needs an empty packet; dropping the old one unrefs it.
        let mut packet = ff::Packet::empty();
        match packet.read(input) {
            Ok(()) => {
                if packet.stream() != stream_index {
                    continue;
                }
                // SAFETY: reading the flags of a packet we own.
                let flags = unsafe { (*packet.as_ptr()).flags };
                if flags & ffi::AV_PKT_FLAG_DISCARD != 0 {
                    continue;
                }
                let Some(ts) = packet.pts().or(packet.dts()) else {
                    missing_ts += 1;
                    continue;
                };
                if pts.len() as u64 >= max_frames {
                    return Err(Error::invalid_argument(format!(
                        "{}: the video holds more than {max_frames} frames, more than it may",
                        path.display()
                    )));
                }
                pts.push(ts);
                start = start.min(packet.dts().unwrap_or(ts)).min(ts);
                if packet.is_key() {
                    keyframes.push(ts);
                }
            }
            Err(ff::Error::Eof) => break,
            Err(ff::Error::InvalidData) => continue,
            Err(e) => return Err(ff_error(path, "scan the video stream", e)),
        }
    }
    if missing_ts > 0 {
        return Err(Error::unsupported(format!(
            "{}: {missing_ts} video packets carry no timestamps, so frames cannot be addressed exactly; \
             remux it first (ffmpeg -i IN -c copy OUT.mkv)",
            path.display()
        )));
    }
    pts.sort_unstable();
    let before = pts.len();
    pts.dedup();
    if pts.len() != before {
        tracing::warn!(path = %path.display(), duplicates = before - pts.len(), "the video stream repeats timestamps");
    }
    keyframes.sort_unstable();
    keyframes.dedup();
    Ok(FrameIndex { pts, keyframes, start })
}

/// Container (muxer) name for an output extension.
fn muxer_for(path: &Path) -> Result<&'static str> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "mp4" | "m4v" => "mp4",
        "mov" => "mov",
        "mkv" => "matroska",
        _ => {
            return Err(Error::unsupported(format!(
                "{}: unknown video container {:?}; write .mp4 (H.264), .mov (ProRes), .mkv (FFV1), \
                 or an image sequence (a directory or a pattern like frame_%06d.png)",
                path.display(),
                ext
            )));
        }
    })
}

struct EncoderChoice {
    encoder_name: &'static str,
    pixel: Pixel,
    options: Vec<(&'static str, &'static str)>,
    is_yuv: bool,
}

fn choose_encoder(
    codec: VideoCodec,
    format: PixelFormat,
    width: u32,
    height: u32,
    path: &Path,
) -> Result<EncoderChoice> {
    Ok(match codec {
        VideoCodec::H264 => {
            if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
                return Err(Error::unsupported(format!(
                    "{}: H.264 4:2:0 needs an even width and height, and the frames are {width}x{height}; \
                     write .mkv (FFV1) or .mov (ProRes) instead",
                    path.display()
                )));
            }
            EncoderChoice {
                encoder_name: "libx264",
                pixel: Pixel::YUV420P,
                options: vec![("preset", "medium"), ("crf", "16")],
                is_yuv: true,
            }
        }
        VideoCodec::ProRes => {
            if !width.is_multiple_of(2) {
                return Err(Error::unsupported(format!(
                    "{}: ProRes 4:2:2 needs an even width, and the frames are {width} wide; write .mkv (FFV1) instead",
                    path.display()
                )));
            }
            EncoderChoice {
                encoder_name: "prores_ks",
                pixel: Pixel::YUV422P10LE,
                options: vec![("profile", "3"), ("vendor", "apl0")],
                is_yuv: true,
            }
        }
        VideoCodec::Ffv1 => EncoderChoice {
            encoder_name: "ffv1",
            // Lossless RGB with alpha: 8-bit frames as packed BGRA, deeper as 16-bit planar.
            pixel: if format == PixelFormat::Rgba8 { Pixel::BGRA } else { Pixel::GBRAP16LE },
            options: vec![("level", "3"), ("slicecrc", "1"), ("g", "1")],
            is_yuv: false,
        },
    })
}

pub(crate) struct VideoWriter {
    staged: Option<StagedFile>,
    output: ff::format::context::Output,
    encoder: ff::encoder::Video,
    scaler: Scaler,
    picture: ff::frame::Video,
    /// Frames are fed to swscale in this format; float frames are narrowed to 16 bit first.
    input_format: PixelFormat,
    staging: Option<Frame>,
    encoder_time_base: ff::Rational,
    stream_time_base: ff::Rational,
    next_pts: i64,
    display_path: PathBuf,
}

impl VideoWriter {
    pub(crate) fn create(
        path: &Path,
        width: u32,
        height: u32,
        format: PixelFormat,
        options: &WriteOptions,
    ) -> Result<Self> {
        ensure_init();
        let muxer = muxer_for(path)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let codec = match options.codec.or_else(|| VideoCodec::for_extension(ext)) {
            Some(c) => c,
            None => return Err(Error::unsupported(format!("{}: choose a codec for this container", path.display()))),
        };
        let choice = choose_encoder(codec, format, width, height, path)?;
        if options.frame_rate.num() > i32::MAX as i64 || options.frame_rate.den() > i32::MAX as i64 {
            return Err(Error::invalid_argument(format!(
                "frame rate {} is too precise for a video container",
                options.frame_rate
            )));
        }
        let staged = StagedFile::new(path, options.overwrite)?;
        let temp = staged.temp_path().to_owned();
        let fail = |action: &str, e: ff::Error| ff_error(path, action, e);

        let mut output = ff::format::output_as(&temp, muxer).map_err(|e| fail("create the output", e))?;
        let global_header = output.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
        let ff_codec = ff::encoder::find_by_name(choice.encoder_name).ok_or_else(|| {
            Error::unsupported(format!("{}: this ffmpeg has no {} encoder", path.display(), choice.encoder_name))
        })?;
        let mut enc = ff::codec::context::Context::new_with_codec(ff_codec)
            .encoder()
            .video()
            .map_err(|e| fail("set up the encoder", e))?;
        let time_base = to_ff(options.frame_rate.recip()?);
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(choice.pixel);
        enc.set_time_base(time_base);
        enc.set_frame_rate(Some(to_ff(options.frame_rate)));
        if choice.is_yuv {
            enc.set_colorspace(ff::color::Space::BT709);
            enc.set_color_range(ff::color::Range::MPEG);
            enc.set_color_primaries(ff::color::Primaries::BT709);
            enc.set_color_transfer_characteristic(ff::color::TransferCharacteristic::BT709);
        }
        if global_header {
            enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let mut dict = ff::Dictionary::new();
        for (k, v) in &choice.options {
            dict.set(k, v);
        }
        let encoder = enc
            .open_as_with(ff_codec, dict)
            .map_err(|e| fail(&format!("open the {} encoder", choice.encoder_name), e))?;
        {
            let mut stream = output.add_stream(ff_codec).map_err(|e| fail("add a video stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            stream.set_avg_frame_rate(to_ff(options.frame_rate));
            stream.set_rate(to_ff(options.frame_rate));
        }
        output.write_header().map_err(|e| fail(&format!("write a {muxer} header for {codec}"), e))?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);

        let input_format = if format == PixelFormat::Rgba32F { PixelFormat::Rgba16 } else { format };
        let matrix = ffi::SWS_CS_ITU709;
        let scaler = Scaler::new(rgba_pixel(input_format), choice.pixel, width, height, matrix, false, true)?;
        let picture = ff::frame::Video::new(choice.pixel, width, height);
        let staging =
            if format == PixelFormat::Rgba32F { Some(Frame::new(width, height, PixelFormat::Rgba16)?) } else { None };
        Ok(VideoWriter {
            staged: Some(staged),
            output,
            encoder,
            scaler,
            picture,
            input_format,
            staging,
            encoder_time_base: time_base,
            stream_time_base,
            next_pts: 0,
            display_path: path.to_owned(),
        })
    }

    pub(crate) fn write_frame(&mut self, frame: &FrameView<'_>) -> Result<()> {
        let source = match self.staging.as_mut() {
            Some(staging) => {
                convert(frame, &mut staging.view_mut())?;
                staging.view()
            }
            None => *frame,
        };
        debug_assert_eq!(source.format(), self.input_format);
        // The encoder may still hold a reference to the previous picture.
        // SAFETY: the picture is a valid AVFrame we own.
        let ret = unsafe { ffi::av_frame_make_writable(self.picture.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::new(crate::ErrorKind::OutOfMemory, "could not allocate an encoder picture"));
        }
        let src_row0 = source.row_bytes_at(0).as_ptr();
        // SAFETY: reading plane pointers of our own picture.
        let (dst, dst_stride) = unsafe {
            let raw = &*self.picture.as_ptr();
            (
                [raw.data[0], raw.data[1], raw.data[2], raw.data[3]],
                [raw.linesize[0], raw.linesize[1], raw.linesize[2], raw.linesize[3]],
            )
        };
        // SAFETY: the source view was validated at construction (size, stride,
        // length); the picture was allocated by ffmpeg for this format and size.
        unsafe {
            self.scaler.run(
                &[src_row0, ptr::null(), ptr::null(), ptr::null()],
                &[source.stride() as c_int, 0, 0, 0],
                &dst,
                &dst_stride,
                source.height(),
            )
        };
        self.picture.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        self.encoder.send_frame(&self.picture).map_err(|e| ff_error(&self.display_path, "encode a frame", e))?;
        self.write_packets()
    }

    fn write_packets(&mut self) -> Result<()> {
        let mut packet = ff::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    packet.set_stream(0);
                    packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
                    packet
                        .write_interleaved(&mut self.output)
                        .map_err(|e| ff_error(&self.display_path, "write a packet", e))?;
                }
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(ff_error(&self.display_path, "encode", e)),
            }
        }
    }

    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        self.encoder.send_eof().map_err(|e| ff_error(&self.display_path, "flush the encoder", e))?;
        self.write_packets()?;
        self.output.write_trailer().map_err(|e| ff_error(&self.display_path, "finish the file", e))?;
        let staged = self.staged.take().expect("finish runs once");
        let path = staged.final_path().to_owned();
        // The muxer's file handle closes when the output is dropped.
        drop(self);
        staged.commit()?;
        Ok(path)
    }
}
