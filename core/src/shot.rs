//! What an editor asks a generator for ([`ShotRequest`]) and what comes back
//! ([`Take`]).
//!
//! The request holds what the vendors share: prompt, negative prompt,
//! reference images, first and last frame, a camera move in the six axes
//! Kling and Jimeng expose, duration, frame rate, size, seed, and
//! vendor-specific extras, and a source video to continue, lip-sync or
//! restyle. Images are decoded pixels with a content digest, so a request
//! hashes the same whichever file format the image came in.
//! A generator says which fields it dropped or approximated
//! ([`Deviation`]); nothing is silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView};
use crate::rational::Rational;

/// Longest shot a request may ask for, in seconds.
pub const MAX_DURATION_SECONDS: i64 = 600;
/// Most frames a request may ask for (duration x fps).
pub const MAX_FRAMES: u64 = 36_000;
/// Longest prompt, in bytes.
pub const MAX_PROMPT_BYTES: usize = 16 * 1024;

/// A camera move over the whole shot, one amount per axis in [-1, 1]
/// (0: no move on that axis; ±1: the strongest move a generator offers).
/// Kling and Jimeng take the same six axes in [-10, 10]; their adapters
/// scale by 10.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraMotion {
    /// Truck: the camera slides sideways (positive: right); near things move more.
    pub horizontal: f32,
    /// Pedestal: the camera rises (positive) or sinks; near things move more.
    pub vertical: f32,
    /// The camera turns about its vertical axis (positive: right).
    pub pan: f32,
    /// The camera turns about its horizontal axis (positive: up).
    pub tilt: f32,
    /// The camera turns about its lens axis (positive: clockwise).
    pub roll: f32,
    /// Push in (positive) or pull out.
    pub zoom: f32,
}

impl CameraMotion {
    /// The axes by name, in a fixed order: horizontal, vertical, pan, tilt, roll, zoom.
    pub const AXES: [&'static str; 6] = ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"];

    /// The amounts in [`CameraMotion::AXES`] order.
    pub fn amounts(&self) -> [f32; 6] {
        [self.horizontal, self.vertical, self.pan, self.tilt, self.roll, self.zoom]
    }

    /// Whether every amount is zero.
    pub fn is_still(&self) -> bool {
        self.amounts().iter().all(|&a| a == 0.0)
    }

    /// Parses `pan=0.3,zoom=-0.2` (axes not named stay 0).
    pub fn parse(text: &str) -> Result<CameraMotion> {
        let mut motion = CameraMotion::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (axis, amount) = part.split_once('=').ok_or_else(|| {
                Error::invalid_argument(format!("camera move {part:?} is not AXIS=AMOUNT, e.g. pan=0.3"))
            })?;
            let amount: f32 = amount.trim().parse().map_err(|_| {
                Error::invalid_argument(format!("camera move {part:?}: {:?} is not a number", amount.trim()))
            })?;
            let slot = match axis.trim() {
                "horizontal" | "truck" => &mut motion.horizontal,
                "vertical" | "pedestal" => &mut motion.vertical,
                "pan" => &mut motion.pan,
                "tilt" => &mut motion.tilt,
                "roll" => &mut motion.roll,
                "zoom" => &mut motion.zoom,
                other => {
                    return Err(Error::invalid_argument(format!(
                        "camera move: unknown axis {other:?}; use {}",
                        CameraMotion::AXES.join(", ")
                    )));
                }
            };
            *slot = amount;
        }
        motion.check()?;
        Ok(motion)
    }

    /// Every amount finite and in [-1, 1].
    pub fn check(&self) -> Result<()> {
        for (name, amount) in CameraMotion::AXES.iter().zip(self.amounts()) {
            if !amount.is_finite() || amount.abs() > 1.0 {
                return Err(Error::invalid_argument(format!(
                    "camera {name} = {amount} is out of range: amounts go from -1 to 1"
                )));
            }
        }
        Ok(())
    }
}

/// A decoded image in a request, with where it came from (for messages) and
/// a digest of its pixels (for the take cache).
#[derive(Clone)]
pub struct ImageInput {
    label: String,
    frame: Arc<Frame>,
    digest: String,
}

impl fmt::Debug for ImageInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ImageInput({:?}, {}x{}, {})",
            self.label,
            self.frame.width(),
            self.frame.height(),
            &self.digest[..12]
        )
    }
}

impl ImageInput {
    /// Wraps `frame`; `label` says where it came from (a file name).
    pub fn new(label: impl Into<String>, frame: Frame) -> ImageInput {
        let digest = pixel_digest(&frame.view());
        ImageInput { label: label.into(), frame: Arc::new(frame), digest }
    }

    /// Where the image came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The pixels.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// SHA-256 of the size, format and pixels, in hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    fn record(&self) -> ImageRecord {
        ImageRecord {
            label: self.label.clone(),
            width: self.frame.width(),
            height: self.frame.height(),
            sha256: self.digest.clone(),
        }
    }
}

fn pixel_digest(view: &FrameView<'_>) -> String {
    let mut hash = Sha256::new();
    hash.update(view.width().to_le_bytes());
    hash.update(view.height().to_le_bytes());
    hash.update(format!("{:?}", view.format()).as_bytes());
    for y in 0..view.height() {
        hash.update(view.row_bytes_at(y));
    }
    hex(&hash.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a reference image shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    /// A character to keep (face, costume, hair).
    Character,
    /// A location to keep.
    Location,
    /// A look to follow (grade, texture, medium).
    Style,
}

/// A reference image and what it stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference<I = ImageInput> {
    /// What the image shows.
    pub kind: ReferenceKind,
    /// Which character or location (free text, e.g. "Mei").
    pub name: String,
    /// The image.
    pub image: I,
}

/// What a source video is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoRole {
    /// Continue the shot after the video's last frame.
    Extend,
    /// Re-render the mouth to a dialogue line.
    Lipsync,
    /// The same motion in another look (video to video).
    Restyle,
}

impl VideoRole {
    /// The role as requests and messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            VideoRole::Extend => "extend",
            VideoRole::Lipsync => "lipsync",
            VideoRole::Restyle => "restyle",
        }
    }
}

/// A generation as the vendor that made it knows it, so that continuing it
/// needs no upload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VendorGeneration {
    /// The generator that made it (`kling`, `luma`).
    pub generator: String,
    /// The vendor's own id for it.
    pub id: String,
}

/// An encoded file a request carries as it is (a clip, for vendors that
/// take uploads); its name gives its type by extension.
#[derive(Clone)]
pub struct EncodedFile {
    name: String,
    bytes: Arc<[u8]>,
}

impl fmt::Debug for EncodedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedFile({:?}, {} bytes)", self.name, self.bytes.len())
    }
}

impl EncodedFile {
    /// `bytes` of a file called `name` (`take.mp4`).
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> EncodedFile {
        EncodedFile { name: name.into(), bytes: bytes.into() }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Most frames of a source video's end a request holds decoded.
pub const MAX_TAIL_FRAMES: usize = 8;

/// A video in a request (a previous take, or a clip from the timeline) and
/// its role. It holds the last frames decoded (what a continuation starts
/// from), the clip as an encoded file when there is one (what a vendor
/// uploads), and the vendor's id for it when a vendor made it.
#[derive(Clone)]
pub struct VideoInput {
    label: String,
    role: VideoRole,
    fps: Rational,
    frame_count: u64,
    tail: Vec<Arc<Frame>>,
    file: Option<EncodedFile>,
    vendor: Option<VendorGeneration>,
    digest: String,
}

impl fmt::Debug for VideoInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VideoInput({:?}, {}, {} frames at {} fps, {} decoded, {:?})",
            self.label,
            self.role.name(),
            self.frame_count,
            self.fps,
            self.tail.len(),
            self.file
        )
    }
}

impl VideoInput {
    /// A video of `frame_count` frames at `fps` whose last frames, oldest
    /// first, are `tail` (1 to [`MAX_TAIL_FRAMES`], all of one size);
    /// `label` says where it came from, `file` is the clip as encoded
    /// (`None` when it is not one file, as for an image sequence).
    pub fn new(
        label: impl Into<String>,
        role: VideoRole,
        fps: Rational,
        frame_count: u64,
        tail: Vec<Frame>,
        file: Option<EncodedFile>,
    ) -> Result<VideoInput> {
        let label = label.into();
        let Some(last) = tail.last() else {
            return Err(Error::invalid_argument(format!("source video {label}: it has no frames")));
        };
        if tail.len() > MAX_TAIL_FRAMES || tail.len() as u64 > frame_count {
            return Err(Error::invalid_argument(format!(
                "source video {label}: {} decoded frames of a {frame_count}-frame clip (at most {MAX_TAIL_FRAMES})",
                tail.len()
            )));
        }
        let size = (last.width(), last.height());
        if tail.iter().any(|f| (f.width(), f.height()) != size) {
            return Err(Error::invalid_argument(format!("source video {label}: its frames differ in size")));
        }
        if !fps.is_positive() {
            return Err(Error::invalid_argument(format!("source video {label}: frame rate {fps} is not above 0")));
        }
        // The pixels a continuation starts from, and the whole clip when it is one file.
        let mut hash = Sha256::new();
        hash.update(b"mattebox-video-v1\0");
        hash.update(format!("{fps} {frame_count} {}\0", tail.len()).as_bytes());
        for frame in &tail {
            hash.update(pixel_digest(&frame.view()).as_bytes());
        }
        if let Some(file) = &file {
            hash.update(Sha256::digest(file.bytes()));
        }
        Ok(VideoInput {
            label,
            role,
            fps,
            frame_count,
            tail: tail.into_iter().map(Arc::new).collect(),
            file,
            vendor: None,
            digest: hex(&hash.finalize()),
        })
    }

    /// The same video with the id its vendor gave it.
    pub fn with_vendor(mut self, vendor: VendorGeneration) -> VideoInput {
        self.vendor = Some(vendor);
        self
    }

    /// Where it came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What it is for.
    pub fn role(&self) -> VideoRole {
        self.role
    }

    /// Its frame rate.
    pub fn fps(&self) -> Rational {
        self.fps
    }

    /// Frames in the whole clip.
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// Its frame width.
    pub fn width(&self) -> u32 {
        self.tail[0].width()
    }

    /// Its frame height.
    pub fn height(&self) -> u32 {
        self.tail[0].height()
    }

    /// Its last frames, oldest first (at least one).
    pub fn tail(&self) -> impl ExactSizeIterator<Item = &Frame> {
        self.tail.iter().map(|f| &**f)
    }

    /// Its last frame.
    pub fn last_frame(&self) -> &Frame {
        self.tail.last().expect("a source video has at least one frame")
    }

    /// The clip as an encoded file, when it is one.
    pub fn file(&self) -> Option<&EncodedFile> {
        self.file.as_ref()
    }

    /// The vendor's id for it, when a vendor made it.
    pub fn vendor(&self) -> Option<&VendorGeneration> {
        self.vendor.as_ref()
    }

    /// SHA-256 over its rate, length, decoded frames and file, in hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    fn record(&self) -> VideoRecord {
        VideoRecord {
            label: self.label.clone(),
            role: self.role,
            width: self.width(),
            height: self.height(),
            fps: self.fps,
            frames: self.frame_count,
            sha256: self.digest.clone(),
            vendor: self.vendor.clone(),
        }
    }
}

/// A source video as recorded in a take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoRecord {
    /// Where it came from.
    pub label: String,
    /// What it was for.
    pub role: VideoRole,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate.
    pub fps: Rational,
    /// Frames in the clip.
    pub frames: u64,
    /// Its digest ([`VideoInput::digest`]).
    pub sha256: String,
    /// The vendor's id for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorGeneration>,
}

/// What a sound in a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoundRole {
    /// The line the shot's character speaks (lip-sync).
    Dialogue,
    /// A sound to follow (music, ambience).
    Reference,
}

impl SoundRole {
    /// The role as requests and messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            SoundRole::Dialogue => "dialogue",
            SoundRole::Reference => "reference",
        }
    }
}

/// Sound in a request (contract 0.2's `audio-input`): decoded, as a WAV of
/// 16-bit PCM at its own rate and channels (what every vendor takes), and
/// the file as the user gave it (what vendors that take the original
/// upload).
#[derive(Clone)]
pub struct SoundInput {
    label: String,
    role: SoundRole,
    wav: Arc<[u8]>,
    info: crate::wav::WavInfo,
    original: EncodedFile,
    digest: String,
}

impl fmt::Debug for SoundInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoundInput({:?}, {}, {:.2} s, {:?})", self.label, self.role.name(), self.seconds(), self.original)
    }
}

impl SoundInput {
    /// Sound with `role` from `label`: `wav` as
    /// [`wav_bytes`](crate::wav::wav_bytes) writes it, decoded from
    /// `original`.
    pub fn new(label: impl Into<String>, role: SoundRole, wav: Vec<u8>, original: EncodedFile) -> Result<SoundInput> {
        let label = label.into();
        let info = crate::wav::wav_info(&wav).map_err(|e| e.context(format!("sound {label}")))?;
        if info.frames == 0 {
            return Err(Error::invalid_argument(format!("sound {label}: it is silent (no samples)")));
        }
        let mut hash = Sha256::new();
        hash.update(b"mattebox-sound-v1\0");
        hash.update(Sha256::digest(&wav));
        hash.update(Sha256::digest(original.bytes()));
        Ok(SoundInput { label, role, wav: wav.into(), info, original, digest: hex(&hash.finalize()) })
    }

    /// Where it came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What it is for.
    pub fn role(&self) -> SoundRole {
        self.role
    }

    /// The sound as a 16-bit PCM WAV file.
    pub fn wav(&self) -> &[u8] {
        &self.wav
    }

    /// The file as given.
    pub fn original(&self) -> &EncodedFile {
        &self.original
    }

    /// Its length in seconds.
    pub fn seconds(&self) -> f64 {
        self.info.seconds()
    }

    /// Its length exactly: samples per channel over the sample rate.
    pub fn duration(&self) -> Rational {
        Rational::new(self.info.frames as i64, self.info.sample_rate as i64).unwrap_or(Rational::integer(0))
    }

    /// Its sample rate and channels.
    pub fn shape(&self) -> (u32, u16) {
        (self.info.sample_rate, self.info.channels)
    }

    /// SHA-256 over the decoded sound and the original file, in hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    fn record(&self) -> SoundRecord {
        SoundRecord {
            label: self.label.clone(),
            role: self.role,
            seconds: self.seconds(),
            sample_rate: self.info.sample_rate,
            channels: self.info.channels,
            sha256: self.digest.clone(),
        }
    }
}

/// Sound as recorded in a take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoundRecord {
    /// Where it came from.
    pub label: String,
    /// What it was for.
    pub role: SoundRole,
    /// Its length in seconds.
    pub seconds: f64,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Its digest ([`SoundInput::digest`]).
    pub sha256: String,
}

/// A shot: what a generator is asked for. With decoded images
/// ([`ShotRequest`]) it is what generators get; with images by digest
/// ([`RequestRecord`]) it is what a take records and what its key hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shot<I, V, A> {
    /// What the shot shows.
    pub prompt: String,
    /// What it must not show (empty: nothing).
    pub negative_prompt: String,
    /// Character, location and style references.
    pub references: Vec<Reference<I>>,
    /// The shot starts on this image.
    pub first_frame: Option<I>,
    /// The shot ends on this image.
    pub last_frame: Option<I>,
    /// The camera move over the shot.
    pub camera: CameraMotion,
    /// Length in seconds.
    pub duration: Rational,
    /// Frames per second.
    pub fps: Rational,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Seed of the first take; take k uses `seed + k` (in a record: the
    /// seed that take used).
    pub seed: u64,
    /// Vendor-specific settings, passed through as they are.
    pub extras: BTreeMap<String, String>,
    /// A video the shot continues, lip-syncs or restyles. Left out of a
    /// record when absent, so keys of requests without one are as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_video: Option<V>,
    /// Sound for the shot: a dialogue line, a reference sound (at most one
    /// of each). Left out of a record when empty.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub audio: Vec<A>,
}

/// A shot to generate, with its images decoded.
pub type ShotRequest = Shot<ImageInput, VideoInput, SoundInput>;

/// A shot as recorded in a take: images and videos by label, size and digest.
pub type RequestRecord = Shot<ImageRecord, VideoRecord, SoundRecord>;

impl ShotRequest {
    /// A request for `prompt` with everything else at its default: 2 s,
    /// 24 fps, 1280x720, seed 0, no images, no camera move.
    pub fn new(prompt: impl Into<String>) -> ShotRequest {
        ShotRequest {
            prompt: prompt.into(),
            negative_prompt: String::new(),
            references: Vec::new(),
            first_frame: None,
            last_frame: None,
            camera: CameraMotion::default(),
            duration: Rational::integer(2),
            fps: Rational::integer(24),
            width: 1280,
            height: 720,
            seed: 0,
            extras: BTreeMap::new(),
            source_video: None,
            audio: Vec::new(),
        }
    }

    /// Checks every field; the message names the one at fault.
    pub fn check(&self) -> Result<()> {
        crate::frame::check_dimensions(self.width, self.height).map_err(|e| e.context("shot size"))?;
        if !self.width.is_multiple_of(2) || !self.height.is_multiple_of(2) {
            return Err(Error::invalid_argument(format!(
                "shot size {}x{}: width and height must be even (video is stored 4:2:0)",
                self.width, self.height
            )));
        }
        if !self.fps.is_positive() || self.fps > Rational::integer(240) {
            return Err(Error::invalid_argument(format!("shot fps {} must be above 0 and at most 240", self.fps)));
        }
        if !self.duration.is_positive() || self.duration > Rational::integer(MAX_DURATION_SECONDS) {
            return Err(Error::invalid_argument(format!(
                "shot duration {} s must be above 0 and at most {MAX_DURATION_SECONDS} s",
                self.duration
            )));
        }
        let frames = self.frame_count();
        if frames > MAX_FRAMES {
            return Err(Error::invalid_argument(format!(
                "the shot would have {frames} frames ({} s at {} fps); the limit is {MAX_FRAMES}",
                self.duration, self.fps
            )));
        }
        if self.prompt.len() > MAX_PROMPT_BYTES || self.negative_prompt.len() > MAX_PROMPT_BYTES {
            return Err(Error::invalid_argument(format!("the prompt is longer than {MAX_PROMPT_BYTES} bytes")));
        }
        self.camera.check()?;
        for (i, sound) in self.audio.iter().enumerate() {
            if self.audio[..i].iter().any(|other| other.role == sound.role) {
                return Err(Error::invalid_argument(format!(
                    "two {} sounds ({} and {}); a shot takes at most one of each role",
                    sound.role.name(),
                    self.audio.iter().find(|o| o.role == sound.role).map_or("", |o| o.label.as_str()),
                    sound.label
                )));
            }
        }
        if let Some(video) = &self.source_video
            && video.frame_count > MAX_FRAMES
        {
            return Err(Error::invalid_argument(format!(
                "source video {}: {} frames; the limit is {MAX_FRAMES}",
                video.label, video.frame_count
            )));
        }
        Ok(())
    }

    /// Frames in the shot: duration x fps, rounded, at least 1.
    pub fn frame_count(&self) -> u64 {
        let exact = self.duration.to_f64() * self.fps.to_f64();
        (exact.round() as u64).max(1)
    }

    /// The request as recorded in a take: images by label, size and digest.
    pub fn record(&self) -> RequestRecord {
        RequestRecord {
            prompt: self.prompt.clone(),
            negative_prompt: self.negative_prompt.clone(),
            references: self
                .references
                .iter()
                .map(|r| Reference { kind: r.kind, name: r.name.clone(), image: r.image.record() })
                .collect(),
            first_frame: self.first_frame.as_ref().map(ImageInput::record),
            last_frame: self.last_frame.as_ref().map(ImageInput::record),
            camera: self.camera,
            duration: self.duration,
            fps: self.fps,
            width: self.width,
            height: self.height,
            seed: self.seed,
            extras: self.extras.clone(),
            source_video: self.source_video.as_ref().map(VideoInput::record),
            audio: self.audio.iter().map(SoundInput::record).collect(),
        }
    }

    /// The take-cache key of take `take` of this request from a generator:
    /// SHA-256 over the generator's id and version and the recorded request
    /// with that take's seed (images enter through their pixel digests).
    pub fn take_key(&self, generator_id: &str, generator_version: &str, take: u32) -> String {
        let mut record = self.record();
        record.seed = self.seed.wrapping_add(take as u64);
        for r in &mut record.references {
            r.image.label.clear();
        }
        for image in [&mut record.first_frame, &mut record.last_frame].into_iter().flatten() {
            image.label.clear(); // the same pixels from another file name are the same request
        }
        if let Some(video) = &mut record.source_video {
            video.label.clear();
        }
        for sound in &mut record.audio {
            sound.label.clear();
        }
        let mut hash = Sha256::new();
        hash.update(b"mattebox-take-v1\0");
        hash.update(generator_id.as_bytes());
        hash.update([0]);
        hash.update(generator_version.as_bytes());
        hash.update([0]);
        hash.update(serde_json::to_vec(&record).unwrap_or_default());
        hex(&hash.finalize())
    }
}

/// An image as recorded in a take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Where it came from.
    pub label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Digest of the pixels.
    pub sha256: String,
}

/// A request field a generator may or may not honour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// The prompt.
    Prompt,
    /// The negative prompt.
    NegativePrompt,
    /// Character, location and style references.
    References,
    /// The first frame.
    FirstFrame,
    /// The last frame.
    LastFrame,
    /// The camera move.
    Camera,
    /// The duration.
    Duration,
    /// The frame rate.
    Fps,
    /// The frame size.
    Size,
    /// The seed.
    Seed,
    /// Vendor-specific extras.
    Extras,
    /// The source video (to extend, lip-sync or restyle).
    SourceVideo,
    /// The audio inputs (a dialogue line, a reference sound).
    Audio,
}

impl Field {
    /// The field's name as the request spells it (`first-frame`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Field::Prompt => "prompt",
            Field::NegativePrompt => "negative-prompt",
            Field::References => "references",
            Field::FirstFrame => "first-frame",
            Field::LastFrame => "last-frame",
            Field::Camera => "camera",
            Field::Duration => "duration",
            Field::Fps => "fps",
            Field::Size => "size",
            Field::Seed => "seed",
            Field::Extras => "extras",
            Field::SourceVideo => "source-video",
            Field::Audio => "audio",
        }
    }
}

/// Whether a field was left out or only approximated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviationKind {
    /// The generator ignored the field.
    Dropped,
    /// The generator honoured it only in part.
    Approximated,
}

/// A field a generator did not honour as asked, and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deviation {
    /// Which field.
    pub field: Field,
    /// Dropped or approximated.
    pub kind: DeviationKind,
    /// What happened, for a person.
    pub note: String,
}

impl Deviation {
    /// The field was ignored.
    pub fn dropped(field: Field, note: impl Into<String>) -> Deviation {
        Deviation { field, kind: DeviationKind::Dropped, note: note.into() }
    }

    /// The field was honoured in part.
    pub fn approximated(field: Field, note: impl Into<String>) -> Deviation {
        Deviation { field, kind: DeviationKind::Approximated, note: note.into() }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.kind {
            DeviationKind::Dropped => "dropped",
            DeviationKind::Approximated => "approximated",
        };
        write!(f, "{} {how}: {}", self.field.name(), self.note)
    }
}

/// How long a take took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TakeTimings {
    /// Seconds the generator ran, frames written included.
    pub generate_seconds: f64,
    /// Seconds spent encoding and storing the frames.
    pub store_seconds: f64,
}

/// One generated result: where its video is and how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Take {
    /// The take-cache key (see [`ShotRequest::take_key`]).
    pub key: String,
    /// Which take of the request (0-based).
    pub index: u32,
    /// The generator's id.
    pub generator: String,
    /// The generator's version.
    pub generator_version: String,
    /// The seed this take used.
    pub seed: u64,
    /// The request, as recorded.
    pub request: RequestRecord,
    /// The take's frames: a directory in the take cache that the media layer
    /// opens as an image sequence (PNG, or EXR for float frames).
    pub media: PathBuf,
    /// Frames in the video.
    pub frames: u64,
    /// Its frame rate.
    pub fps: Rational,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// Fields the generator dropped or approximated.
    pub deviations: Vec<Deviation>,
    /// How long it took to make.
    pub timings: TakeTimings,
    /// Seconds since the Unix epoch when it was made.
    pub created_unix: u64,
    /// The take's sound: a file's name beside `media` in the take cache
    /// (see [`Take::audio_file`]); none when the generator gave no sound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// The vendor's own id of this generation, when its generator reported
    /// one: continuing the take passes it back, so the vendor need not be
    /// sent the video again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_generation: Option<String>,
    /// Whether this result came from the cache rather than a new generation.
    #[serde(skip)]
    pub from_cache: bool,
}

impl Take {
    /// The take's sound file, when it has one.
    pub fn audio_file(&self) -> Option<std::path::PathBuf> {
        let name = self.audio.as_deref()?;
        // The record is read from disk: only a plain name beside the frames.
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        Some(self.media.parent()?.join(name))
    }

    /// The vendor's id of this take as a source video's
    /// [`VendorGeneration`], when its generator reported one.
    pub fn vendor_source(&self) -> Option<VendorGeneration> {
        let id = self.vendor_generation.clone()?;
        Some(VendorGeneration { generator: self.generator.clone(), id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    fn image(label: &str, value: f32) -> ImageInput {
        let mut frame = Frame::new(8, 6, PixelFormat::Rgba8).unwrap();
        frame.view_mut().fill([value, 0.5, 0.25, 1.0]);
        ImageInput::new(label, frame)
    }

    #[test]
    fn camera_moves_parse_and_reject_nonsense() {
        let m = CameraMotion::parse("pan=0.3, zoom=-0.2,truck=1").unwrap();
        assert_eq!((m.pan, m.zoom, m.horizontal, m.tilt), (0.3, -0.2, 1.0, 0.0));
        assert!(CameraMotion::parse("").unwrap().is_still());
        for bad in ["pan", "pan=x", "spin=0.1", "zoom=1.5", "tilt=NaN"] {
            let err = CameraMotion::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{bad}: {err}");
        }
    }

    #[test]
    fn take_keys_follow_content_not_file_names() {
        let mut a = ShotRequest::new("a lighthouse at dusk");
        a.first_frame = Some(image("one.png", 0.5));
        let mut b = a.clone();
        b.first_frame = Some(image("copy-of-one.exr", 0.5));
        assert_eq!(a.take_key("builtin", "1", 0), b.take_key("builtin", "1", 0));
        // Everything that changes the result changes the key.
        assert_ne!(a.take_key("builtin", "1", 0), a.take_key("builtin", "1", 1), "take seed");
        assert_ne!(a.take_key("builtin", "1", 0), a.take_key("builtin", "2", 0), "generator version");
        assert_ne!(a.take_key("builtin", "1", 0), a.take_key("kling", "1", 0), "generator");
        b.first_frame = Some(image("one.png", 0.6));
        assert_ne!(a.take_key("builtin", "1", 0), b.take_key("builtin", "1", 0), "pixels");
        let mut c = a.clone();
        c.camera.pan = 0.1;
        assert_ne!(a.take_key("builtin", "1", 0), c.take_key("builtin", "1", 0), "camera");
        let mut d = a.clone();
        d.seed = 1;
        assert_eq!(d.take_key("builtin", "1", 0), a.take_key("builtin", "1", 1), "seed + take is the take seed");
    }

    #[test]
    fn requests_are_checked() {
        let ok = ShotRequest::new("x");
        ok.check().unwrap();
        assert_eq!(ok.frame_count(), 48);
        let mut odd = ok.clone();
        odd.width = 1279;
        assert!(odd.check().unwrap_err().to_string().contains("even"));
        let mut long = ok.clone();
        long.duration = Rational::integer(601);
        assert!(long.check().unwrap_err().to_string().contains("duration"));
        let mut fast = ok.clone();
        fast.fps = Rational::integer(0);
        assert!(fast.check().is_err());
        let mut huge = ok;
        huge.width = 1 << 20;
        assert!(huge.check().unwrap_err().to_string().contains("shot size"));
    }

    fn sound(label: &str, role: SoundRole, samples: &[i16]) -> SoundInput {
        let wav = crate::wav::wav_bytes(16_000, 1, samples).unwrap();
        SoundInput::new(label, role, wav.clone(), EncodedFile::new(label, wav)).unwrap()
    }

    #[test]
    fn sound_enters_the_key_by_content_and_one_of_each_role() {
        let plain = ShotRequest::new("she says it");
        let json = serde_json::to_string(&plain.record()).unwrap();
        assert!(!json.contains("audio"), "a request without sound records as before: {json}");
        let line = sound("line.wav", SoundRole::Dialogue, &[0, 100, -100, 50]);
        assert_eq!((line.duration(), line.shape()), (Rational::new(4, 16_000).unwrap(), (16_000, 1)));
        let mut talk = plain.clone();
        talk.audio = vec![line.clone()];
        talk.check().unwrap();
        assert_ne!(plain.take_key("kling", "1", 0), talk.take_key("kling", "1", 0));
        let mut renamed = plain.clone();
        renamed.audio = vec![SoundInput { label: "other-name.wav".into(), ..line.clone() }];
        assert_eq!(talk.take_key("kling", "1", 0), renamed.take_key("kling", "1", 0), "the file name is not content");
        let mut other = plain.clone();
        other.audio = vec![sound("line.wav", SoundRole::Dialogue, &[0, 100, -100, 51])];
        assert_ne!(talk.take_key("kling", "1", 0), other.take_key("kling", "1", 0), "one sample differs");
        talk.audio.push(sound("again.wav", SoundRole::Dialogue, &[1, 2]));
        let err = talk.check().unwrap_err().to_string();
        assert!(err.contains("two dialogue sounds") && err.contains("again.wav"), "{err}");
        assert!(
            SoundInput::new("x", SoundRole::Reference, b"RIFF".to_vec(), EncodedFile::new("x", Vec::new())).is_err()
        );
        let silent = crate::wav::wav_bytes(16_000, 1, &[]).unwrap();
        let err = SoundInput::new("quiet.wav", SoundRole::Reference, silent, EncodedFile::new("q", Vec::new()));
        assert!(err.unwrap_err().to_string().contains("silent"));
    }
}
