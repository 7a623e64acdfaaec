//! Reading and writing media: video files through ffmpeg (feature `video`),
//! PNG and OpenEXR image sequences and stills (feature `images`).
//!
//! One reader type covers all three kinds of source and gives frame-accurate
//! random access by frame index; one writer type covers all three kinds of
//! destination and writes atomically (see [`crate::staged`]).
//!
//! Which kind a path is:
//!
//! | path | reading | writing |
//! |---|---|---|
//! | a directory, or ends in `/` | the one numbered image sequence in it | `DIR/frame_%06d.png` (`.exr` for float frames) |
//! | contains `%d`, `%04d` or `####` | that image sequence | that image sequence |
//! | ends in `.png` / `.exr` | one still image | one still image |
//! | anything else | a video file (ffmpeg) | a video file: `.mp4` H.264, `.mov` ProRes 422 HQ, `.mkv` FFV1 |

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, FrameViewMut, PixelFormat};
use crate::rational::Rational;
use crate::runtime::Runtime;

mod audio;
#[cfg(feature = "video")]
mod audio_carrier;
#[cfg(feature = "video")]
mod ffmpeg;
#[cfg(feature = "images")]
pub(crate) mod image_file;
#[cfg(feature = "images")]
pub(crate) mod sequence;
mod tags;
mod timing;
#[cfg(all(feature = "video", feature = "images"))]
pub(crate) mod untrusted;
#[cfg(feature = "video")]
mod video_reader;
#[cfg(feature = "video")]
mod video_writer;

pub use audio::{AudioInput, AudioMode, AudioReport, CarriedAudio};
pub use tags::{ClipTags, Timecode};
pub use timing::{ConstantRate, VariableRate};

#[cfg(all(feature = "video", feature = "images"))]
pub use untrusted::{UNTRUSTED_AUDIO_TYPES, UNTRUSTED_TYPES, UntrustedLimits, decode_untrusted_audio};

#[cfg(feature = "images")]
pub use image_file::{read_image, write_image};
#[cfg(feature = "images")]
pub use sequence::SIDECAR_NAME;

/// What kind of source or destination a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    /// A video file read or written through ffmpeg.
    Video,
    /// Numbered PNG or EXR files, one per frame.
    ImageSequence,
    /// A single PNG or EXR file, one frame.
    Image,
}

/// One stream of a container, as `mattebox info` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct StreamInfo {
    /// Index in the container.
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data` or `attachment`.
    pub kind: String,
    /// Codec name as ffmpeg reports it (`h264`, `aac`, ...).
    pub codec: String,
    /// A short human description (`1920x1080 yuv420p`, `48000 Hz, 2 channels`).
    pub details: String,
}

/// What a media source holds.
#[derive(Clone, Debug, Serialize)]
pub struct MediaInfo {
    /// The path as opened (for a sequence, its pattern).
    pub path: PathBuf,
    /// Video, image sequence or still.
    pub kind: MediaKind,
    /// Container name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `png sequence`).
    pub container: String,
    /// Codec of the video stream (`h264`, `prores`, `ffv1`, `png`, `exr`).
    pub codec: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Exact frame rate.
    pub frame_rate: Rational,
    /// Number of frames.
    pub frame_count: u64,
    /// `frame_count / frame_rate`, in seconds; for a variable-rate video,
    /// from the first frame's time to the end of the last.
    pub duration_seconds: f64,
    /// How the timing varies, for a video whose frames are not shown at a
    /// constant rate (`frame_rate` is then its nominal rate); see
    /// [`MediaReader::frame_times`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_rate: Option<VariableRate>,
    /// Pixel layout in the source (`yuv420p`, `yuv422p10le`, `rgb24`, `rgba16`, ...).
    pub source_pixel_format: String,
    /// Bits per channel in the source.
    pub bits_per_channel: u32,
    /// Format that [`MediaReader::read_frame`] returns: RGBA8 for sources of
    /// up to 8 bits, RGBA16 for deeper integer sources, RGBA32F for float EXR.
    pub decoded_format: PixelFormat,
    /// Number of the first file of an image sequence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_number: Option<u64>,
    /// Every stream in the container (a sequence or still has one).
    pub streams: Vec<StreamInfo>,
    /// Index (in `streams`) of the video stream read: ffmpeg's choice of
    /// the default one when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_stream: Option<usize>,
    /// Timecode, colour, pixel shape and orientation the source states.
    pub tags: ClipTags,
    /// Where the source's sound is: the file itself when it has audio
    /// streams, or the audio file a sequence's sidecar names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<PathBuf>,
}

impl MediaInfo {
    fn duration_of(frame_count: u64, rate: Rational) -> f64 {
        frame_count as f64 / rate.to_f64()
    }

    /// A note saying which video stream was read, when the file has several.
    pub fn stream_note(&self) -> Option<String> {
        let videos: Vec<usize> = self.streams.iter().filter(|s| s.kind == "video").map(|s| s.index).collect();
        let read = self.video_stream?;
        (videos.len() > 1).then(|| {
            format!(
                "{} has {} video streams ({}); stream #{read}, the default, was read",
                self.path.display(),
                videos.len(),
                videos.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// How to open a source.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Frame rate for sources that do not store one (image sequences without a
    /// `mattebox-sequence.json` sidecar, stills). Without it they play at 24 fps.
    /// Ignored for video files, whose rate is in the container.
    pub frame_rate: Option<Rational>,
    /// Threads the video decoder may use; 0 lets ffmpeg choose (one per
    /// core). [`MediaReader::open_on`] sets it to the runtime's count.
    pub decoder_threads: usize,
}

/// Frame rate assumed for an image sequence that does not say.
pub const DEFAULT_SEQUENCE_RATE: Rational = Rational::integer(24);

/// A video codec the writer can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// H.264 (libx264), 4:2:0, CRF 16: small files for review and delivery.
    H264,
    /// Apple ProRes 422 HQ (prores_ks), 10-bit 4:2:2: the editing intermediate.
    ProRes,
    /// FFV1 level 3 in RGB: lossless, for round trips and archives.
    Ffv1,
}

impl VideoCodec {
    /// Every codec.
    pub const ALL: [VideoCodec; 3] = [VideoCodec::H264, VideoCodec::ProRes, VideoCodec::Ffv1];

    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::ProRes => "prores",
            VideoCodec::Ffv1 => "ffv1",
        }
    }

    /// The codec a container extension implies: `.mp4`/`.m4v` H.264,
    /// `.mov` ProRes, `.mkv` FFV1.
    pub fn for_extension(ext: &str) -> Option<VideoCodec> {
        match ext.to_ascii_lowercase().as_str() {
            "mp4" | "m4v" => Some(VideoCodec::H264),
            "mov" => Some(VideoCodec::ProRes),
            "mkv" => Some(VideoCodec::Ffv1),
            _ => None,
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VideoCodec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "h264" | "h.264" | "avc" | "x264" => Ok(VideoCodec::H264),
            "prores" | "prores_ks" => Ok(VideoCodec::ProRes),
            "ffv1" => Ok(VideoCodec::Ffv1),
            _ => Err(Error::unsupported(format!("unknown codec {s:?}; use h264, prores or ffv1"))),
        }
    }
}

/// How to write a destination.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Frame rate of the output (stored in video containers and in the
    /// sidecar of image sequences).
    pub frame_rate: Rational,
    /// Video codec; `None` picks it from the extension.
    pub codec: Option<VideoCodec>,
    /// Replace an existing destination.
    pub overwrite: bool,
    /// Timecode, colour, pixel shape and orientation to state in the output
    /// (a video's container, a sequence's sidecar). Where they say nothing,
    /// video is tagged BT.709 limited range, as it is encoded.
    pub tags: ClipTags,
    /// Audio to carry beside the frames (video outputs only).
    pub audio: Option<AudioInput>,
    /// Threads the video encoder may use; 0 lets ffmpeg choose (one per core).
    pub encoder_threads: usize,
    /// Write one chunk of a longer image sequence that other processes
    /// (a farm's tasks) write the rest of; see [`SequenceChunk`].
    pub chunk: Option<SequenceChunk>,
}

/// A run of frames of an image sequence written by one of several
/// processes into one directory.
///
/// The chunk's `count` frames are numbered from `first + 1` (a sequence
/// Mattebox writes counts from 1) and staged apart, then moved into place
/// together (a chunk that ends short of `count` frames places none);
/// with `overwrite` only the chunk's own numbers are replaced. Every chunk
/// writes the same sidecar, which states the whole sequence (`total`
/// frames), so a reader finds an unfinished sequence (frames missing) and
/// refuses it instead of reading part of a shot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceChunk {
    /// The index of the chunk's first frame in the whole sequence, from 0.
    pub first: u64,
    /// Frames in the chunk.
    pub count: u64,
    /// Frames in the whole sequence.
    pub total: u64,
}

impl WriteOptions {
    /// Options for `frame_rate`, codec from the extension, no overwrite, no
    /// tags, no audio.
    pub fn new(frame_rate: Rational) -> Self {
        WriteOptions {
            frame_rate,
            codec: None,
            overwrite: false,
            tags: ClipTags::default(),
            audio: None,
            encoder_threads: 0,
            chunk: None,
        }
    }
}

/// Image file types for stills and sequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImageType {
    Png,
    Exr,
}

impl ImageType {
    pub(crate) fn of(path: &Path) -> Option<ImageType> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(ImageType::Png),
            "exr" => Some(ImageType::Exr),
            _ => None,
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Exr => "exr",
        }
    }

    /// PNG holds integers, EXR holds floats: the type that keeps `format` intact.
    pub(crate) fn for_format(format: PixelFormat) -> ImageType {
        match format {
            PixelFormat::Rgba32F => ImageType::Exr,
            _ => ImageType::Png,
        }
    }
}

/// Whether the file name part of `path` is a frame-number pattern (`%04d`, `%d`, `####`).
pub(crate) fn has_sequence_pattern(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.contains('#') || (name.contains('%') && name.contains('d'))
}

fn looks_like_directory(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') || path.extension().is_none()
}

/// Classifies a path for reading or writing; see the module table.
pub fn kind_of_path(path: &Path, for_writing: bool) -> MediaKind {
    if has_sequence_pattern(path) || (for_writing && looks_like_directory(path)) || (!for_writing && path.is_dir()) {
        MediaKind::ImageSequence
    } else if ImageType::of(path).is_some() {
        MediaKind::Image
    } else {
        MediaKind::Video
    }
}

#[allow(clippy::large_enum_variant)]
enum ReaderInner {
    #[cfg(feature = "video")]
    Video(video_reader::VideoReader),
    #[cfg(feature = "images")]
    Sequence(sequence::SequenceReader),
    /// One frame decoded from memory.
    #[cfg(all(feature = "video", feature = "images"))]
    Still(Box<(MediaInfo, Frame)>),
    /// An animation decoded from memory: its frames, and which one each
    /// frame at the constant rate shows.
    #[cfg(all(feature = "video", feature = "images"))]
    Animation(Box<(MediaInfo, Vec<Frame>, Vec<u32>)>),
}

/// Reads frames from a video file, an image sequence or a still, by index.
pub struct MediaReader {
    inner: ReaderInner,
}

impl fmt::Debug for MediaReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        write!(f, "MediaReader({}, {:?}, {} frames)", info.path.display(), info.kind, info.frame_count)
    }
}

#[cfg(not(all(feature = "images", feature = "video")))]
fn not_built(what: &str, path: &Path) -> Error {
    Error::unsupported(format!("{}: this build of Mattebox has no {what} support", path.display()))
}

impl MediaReader {
    /// Opens `path` as [`MediaReader::open`] does, on `runtime`: with its
    /// logging, and a video decoder with as many threads as the runtime
    /// unless `options` says otherwise.
    pub fn open_on(runtime: &Runtime, path: &Path, options: &OpenOptions) -> Result<Self> {
        let mut options = options.clone();
        if options.decoder_threads == 0 {
            options.decoder_threads = runtime.threads();
        }
        runtime.in_logging(|| MediaReader::open(path, &options))
    }

    /// Opens `path`, classified as in the module table.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Self> {
        let kind = kind_of_path(path, false);
        let inner = match kind {
            #[cfg(feature = "images")]
            MediaKind::ImageSequence | MediaKind::Image => {
                ReaderInner::Sequence(sequence::SequenceReader::open(path, kind, options)?)
            }
            #[cfg(not(feature = "images"))]
            MediaKind::ImageSequence | MediaKind::Image => return Err(not_built("image", path)),
            #[cfg(feature = "video")]
            MediaKind::Video => ReaderInner::Video(video_reader::VideoReader::open(path, options.decoder_threads)?),
            #[cfg(not(feature = "video"))]
            MediaKind::Video => return Err(not_built("video", path)),
        };
        Ok(MediaReader { inner })
    }

    /// What the source holds.
    pub fn info(&self) -> &MediaInfo {
        match &self.inner {
            #[cfg(feature = "video")]
            ReaderInner::Video(r) => r.info(),
            #[cfg(feature = "images")]
            ReaderInner::Sequence(r) => r.info(),
            #[cfg(all(feature = "video", feature = "images"))]
            ReaderInner::Still(still) => &still.0,
            #[cfg(all(feature = "video", feature = "images"))]
            ReaderInner::Animation(a) => &a.0,
        }
    }

    /// Decodes frame `index` (0-based, in presentation order), in
    /// [`MediaInfo::decoded_format`]. Reading forward is cheapest; any index
    /// may be asked for in any order.
    pub fn read_frame(&mut self, index: u64) -> Result<Frame> {
        let count = self.info().frame_count;
        if index >= count {
            return Err(Error::invalid_argument(format!(
                "{}: frame {index} does not exist; the source has {count} frames (0 to {})",
                self.info().path.display(),
                count.saturating_sub(1)
            )));
        }
        match &mut self.inner {
            #[cfg(feature = "video")]
            ReaderInner::Video(r) => r.read_frame(index),
            #[cfg(feature = "images")]
            ReaderInner::Sequence(r) => r.read_frame(index),
            #[cfg(all(feature = "video", feature = "images"))]
            ReaderInner::Still(still) => Ok(still.1.clone()),
            #[cfg(all(feature = "video", feature = "images"))]
            ReaderInner::Animation(a) => Ok(a.1[a.2[index as usize] as usize].clone()),
        }
    }

    /// When each frame is shown, in seconds from the first, for a source
    /// with a variable frame rate; `None` when frame k shows at k / rate.
    pub fn frame_times(&self) -> Option<&[f64]> {
        match &self.inner {
            #[cfg(feature = "video")]
            ReaderInner::Video(r) => r.frame_times(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// For a variable-rate source: which source frame each frame of a copy
    /// at its nominal rate shows (the frame on screen at that instant), with
    /// a note saying how many it shows again and leaves out. `None` for
    /// constant-rate sources.
    pub fn constant_rate_frames(&self) -> Option<ConstantRate> {
        let times = self.frame_times()?;
        let info = self.info();
        let v = info.variable_rate.as_ref()?;
        let (order, repeated, dropped) = timing::constant_rate_frames(times, info.frame_rate, info.duration_seconds);
        let note = format!(
            "{} has a variable frame rate ({:.1} to {:.1} fps); written at a constant {} fps on its timestamps: \
             {repeated} frames shown again where it held them, {dropped} left out \
             (a retime to {} fps makes frames between instead)",
            info.path.display(),
            v.slowest_fps,
            v.fastest_fps,
            info.frame_rate,
            info.frame_rate
        );
        Some(ConstantRate { order, note })
    }

    /// Decodes frame `index` and converts it into a host buffer of the same size.
    pub fn read_frame_into(&mut self, index: u64, dst: &mut FrameViewMut<'_>) -> Result<()> {
        let info = self.info();
        if (dst.width(), dst.height()) != (info.width, info.height) {
            return Err(Error::invalid_argument(format!(
                "{}: the destination buffer is {}x{} but frames are {}x{}",
                info.path.display(),
                dst.width(),
                dst.height(),
                info.width,
                info.height
            )));
        }
        let frame = self.read_frame(index)?;
        crate::frame::convert(&frame.view(), dst)
    }
}

#[allow(clippy::large_enum_variant)]
enum WriterInner {
    #[cfg(feature = "video")]
    Video(video_writer::VideoWriter),
    #[cfg(feature = "images")]
    Sequence(sequence::SequenceWriter),
}

/// What [`MediaWriter::finish_with_report`] wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    /// Where the output is.
    pub path: PathBuf,
    /// What became of the audio it was given, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioReport>,
    /// Frames written.
    pub frames: u64,
    /// Tags the output could not hold, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Writes frames to a video file, an image sequence or a still. Nothing
/// appears under the destination name until [`MediaWriter::finish`] succeeds.
pub struct MediaWriter {
    inner: WriterInner,
    /// The audio asked for, kept to report what an output without sound did with it.
    #[cfg_attr(not(feature = "images"), allow(dead_code))]
    audio: Option<AudioInput>,
    width: u32,
    height: u32,
    frames: u64,
}

impl fmt::Debug for MediaWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaWriter({}x{}, {} frames written)", self.width, self.height, self.frames)
    }
}

impl MediaWriter {
    /// Prepares to write `width` x `height` frames of `format` to `path`.
    /// Video encoders convert from `format`; image sequences keep it (PNG for
    /// 8 and 16 bit, EXR for float).
    pub fn create(path: &Path, width: u32, height: u32, format: PixelFormat, options: &WriteOptions) -> Result<Self> {
        crate::frame::check_dimensions(width, height).map_err(|e| e.context(path.display()))?;
        if !options.frame_rate.is_positive() {
            return Err(Error::invalid_argument(format!("frame rate {} must be above zero", options.frame_rate)));
        }
        let kind = kind_of_path(path, true);
        if let Some(chunk) = options.chunk {
            if kind != MediaKind::ImageSequence {
                return Err(Error::invalid_argument(format!(
                    "{}: a range of frames is written as numbered frames of an image sequence; give a \
                     directory or a pattern such as shot_%06d.png, then join the ranges with \
                     `mattebox convert DIR shot.mp4`",
                    path.display()
                )));
            }
            if chunk.count == 0 || chunk.first.saturating_add(chunk.count) > chunk.total {
                return Err(Error::invalid_argument(format!(
                    "{}: frames {} to {} are not within a {}-frame sequence",
                    path.display(),
                    chunk.first + 1,
                    chunk.first.saturating_add(chunk.count),
                    chunk.total
                )));
            }
        }
        let inner = match kind {
            #[cfg(feature = "images")]
            MediaKind::ImageSequence | MediaKind::Image => {
                WriterInner::Sequence(sequence::SequenceWriter::create(path, kind, width, height, format, options)?)
            }
            #[cfg(not(feature = "images"))]
            MediaKind::ImageSequence | MediaKind::Image => return Err(not_built("image", path)),
            #[cfg(feature = "video")]
            MediaKind::Video => {
                WriterInner::Video(video_writer::VideoWriter::create(path, width, height, format, options)?)
            }
            #[cfg(not(feature = "video"))]
            MediaKind::Video => return Err(not_built("video", path)),
        };
        Ok(MediaWriter { inner, audio: options.audio.clone(), width, height, frames: 0 })
    }

    /// Appends one frame; it must have the size given to [`MediaWriter::create`].
    pub fn write_frame(&mut self, frame: &FrameView<'_>) -> Result<()> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err(Error::invalid_argument(format!(
                "frame {} is {}x{}, but this output is {}x{}",
                self.frames,
                frame.width(),
                frame.height(),
                self.width,
                self.height
            )));
        }
        match &mut self.inner {
            #[cfg(feature = "video")]
            WriterInner::Video(w) => w.write_frame(frame)?,
            #[cfg(feature = "images")]
            WriterInner::Sequence(w) => w.write_frame(frame)?,
        }
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Flushes everything and moves the output into place. Returns where it is.
    pub fn finish(self) -> Result<PathBuf> {
        self.finish_with_report().map(|written| written.path)
    }

    /// As [`MediaWriter::finish`], and says what became of the audio.
    pub fn finish_with_report(self) -> Result<Written> {
        if self.frames == 0 {
            return Err(Error::invalid_argument("no frames were written; refusing to create an empty output"));
        }
        let frames = self.frames;
        match self.inner {
            #[cfg(feature = "video")]
            WriterInner::Video(w) => w.finish().map(|(path, audio, notes)| Written { path, audio, frames, notes }),
            #[cfg(feature = "images")]
            WriterInner::Sequence(w) => w.finish().map(|path| {
                let audio = self.audio.map(|input| AudioReport {
                    notes: vec![format!(
                        "image sequences hold no sound, so the audio of {} is not in {}; \
                         write a video file (.mov, .mkv, .mp4) to keep it",
                        input.path.display(),
                        path.display()
                    )],
                    source: input.path,
                    streams: Vec::new(),
                });
                Written { path, audio, frames, notes: Vec::new() }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        assert_eq!(kind_of_path(Path::new("a/b_%04d.png"), false), MediaKind::ImageSequence);
        assert_eq!(kind_of_path(Path::new("shot.####.exr"), true), MediaKind::ImageSequence);
        assert_eq!(kind_of_path(Path::new("out/"), true), MediaKind::ImageSequence);
        assert_eq!(kind_of_path(Path::new("frames"), true), MediaKind::ImageSequence);
        assert_eq!(kind_of_path(Path::new("still.PNG"), false), MediaKind::Image);
        assert_eq!(kind_of_path(Path::new("clip.mov"), false), MediaKind::Video);
        assert_eq!(VideoCodec::for_extension("MKV"), Some(VideoCodec::Ffv1));
        assert!("vp9".parse::<VideoCodec>().is_err());
    }
}
