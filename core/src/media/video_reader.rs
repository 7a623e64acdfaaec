//! Reading video files through ffmpeg.
//!
//! Reading builds a frame index once at open: every packet of the video
//! stream is demuxed (not decoded) to learn each frame's presentation
//! timestamp and where the keyframes are. That gives an exact frame count for
//! containers that do not store one (Matroska) and frame-accurate random
//! access: to get frame N, seek to the last keyframe at or before N's
//! timestamp and decode forward until the frame whose timestamp is N's.
//! Reading forward, or a short jump within the same group of pictures,
//! decodes on without seeking.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::ptr;

use ff::ffi;
use ff::format::Pixel;
use ff::packet::Ref as _;
use ffmpeg_next as ff;

use super::ffmpeg::{
    Scaler, ensure_init, ff_error, is_rgb, pixel_depth, pixel_name, read_tags, rgba_pixel, to_rational,
};
use super::{MediaInfo, MediaKind, StreamInfo};
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat, check_dimensions};

/// Presentation timestamps of every frame, sorted, and of every keyframe.
struct FrameIndex {
    pts: Vec<i64>,
    keyframes: Vec<i64>,
    /// The earliest timestamp of any packet (decode order can start before
    /// the first presentation time); seeking here returns to the start.
    start: i64,
    /// What to take from a decoded frame's timestamp to find it here. A
    /// stream with B-frames whose packets carry only decode times (AVI:
    /// DivX, Xvid) gives each decoded picture the decode time of the packet
    /// that let it out, the decoder's delay late; its last picture comes
    /// out with no time at all.
    decode_shift: i64,
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

/// Where a reader's bytes come from: a file the user named, or bytes
/// nobody vouches for, which open under limits (`untrusted.rs`).
pub(crate) trait Container: Send {
    /// The name messages give it.
    fn label(&self) -> &Path;

    /// Opens the container, from the start.
    fn open(&self) -> Result<ff::format::context::Input>;

    /// Checks the video stream before a decoder is made for it.
    fn check_stream(&self, _context: &mut ff::codec::context::Context) -> Result<()> {
        Ok(())
    }

    /// Most frames the reader indexes.
    fn max_frames(&self) -> u64 {
        u64::MAX
    }

    /// A path other readers (the audio carrier) can open, if there is one.
    fn reopenable_path(&self) -> Option<&Path> {
        None
    }
}

/// A file the user named.
struct File(PathBuf);

impl Container for File {
    fn label(&self) -> &Path {
        &self.0
    }

    fn open(&self) -> Result<ff::format::context::Input> {
        ff::format::input(&self.0).map_err(|e| ff_error(&self.0, "open as video", e))
    }

    fn reopenable_path(&self) -> Option<&Path> {
        Some(&self.0)
    }
}

pub(crate) struct VideoReader {
    source: Box<dyn Container>,
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
    /// When each frame shows, for a variable-rate stream.
    times: Option<Vec<f64>>,
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
        VideoReader::open_container(Box::new(File(path.to_owned())), threads)
    }

    pub(crate) fn open_container(source: Box<dyn Container>, threads: usize) -> Result<Self> {
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
        let time_base = f64::from(stream.time_base());
        let mut context = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| ff_error(path, "read the video stream parameters", e))?;
        source.check_stream(&mut context)?;
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

        let index = build_index(&mut input, stream_index, path, source.max_frames())?;
        if index.pts.is_empty() {
            return Err(Error::media(format!("{}: the video stream holds no frames", path.display())));
        }
        // Back to the start by opening again: some demuxers (image2 for a
        // single JPEG, say) accept a seek but then deliver nothing.
        let input = source.open()?;

        let frame_count = index.pts.len() as u64;
        let times: Vec<f64> = index.pts.iter().map(|&p| (p - index.pts[0]) as f64 * time_base).collect();
        let variable_rate = super::timing::measure(&times, frame_rate);
        let (frame_rate, duration_seconds) = match &variable_rate {
            Some(v) => {
                tracing::info!(path = %path.display(), ?v, "variable frame rate");
                (v.nominal, times[times.len() - 1] + 1.0 / v.nominal.to_f64())
            }
            None => (frame_rate, MediaInfo::duration_of(frame_count, frame_rate)),
        };
        let streams = stream_infos(&input);
        let has_audio = streams.iter().any(|s| s.kind == "audio");
        let info = MediaInfo {
            path: path.to_owned(),
            kind: MediaKind::Video,
            container: input.format().name().to_owned(),
            codec: decoder.codec().map(|c| c.name().to_owned()).unwrap_or_else(|| "unknown".into()),
            width,
            height,
            frame_rate,
            frame_count,
            duration_seconds,
            variable_rate: variable_rate.clone(),
            source_pixel_format: pixel_name(source_format),
            bits_per_channel: bits,
            decoded_format,
            first_number: None,
            streams,
            video_stream: Some(stream_index),
            tags: read_tags(&input, stream_index),
            audio: source.reopenable_path().filter(|_| has_audio).map(Path::to_path_buf),
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
            times: variable_rate.map(|_| times),
        })
    }

    pub(crate) fn info(&self) -> &MediaInfo {
        &self.info
    }

    pub(crate) fn frame_times(&self) -> Option<&[f64]> {
        self.times.as_deref()
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
                    let pts = match self.decoded.timestamp() {
                        Some(ts) => ts - self.index.decode_shift,
                        // The last picture of such a stream, flushed at the
                        // end with no time: the frame after the one before.
                        None if self.index.decode_shift != 0 && self.sent_eof => {
                            match self.next.and_then(|k| self.index.pts.get(k as usize)) {
                                Some(&ts) => ts,
                                None => continue,
                            }
                        }
                        None => continue,
                    };
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
    let mut decode_times_only = 0usize;
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
                decode_times_only += usize::from(packet.pts().is_none());
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
    // SAFETY: reading one field of the stream's parameters, which `input` owns.
    let delay =
        input.stream(stream_index).map(|stream| unsafe { (*stream.parameters().as_ptr()).video_delay }).unwrap_or(0);
    let frame_ticks = pts.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(0);
    let decode_shift = if decode_times_only > 0 && delay > 0 { i64::from(delay) * frame_ticks } else { 0 };
    if decode_shift != 0 {
        tracing::debug!(path = %path.display(), delay, decode_shift, "B-frames with decode times only: shifting decoded times");
    }
    Ok(FrameIndex { pts, keyframes, start, decode_shift })
}
