//! Compositing a plate over a background, file to file.
//!
//! Timing: plate frame k is shown at k / plate rate; the background frame
//! at that same time is used (so a 24 fps background behind a 30 fps plate
//! plays at its own speed). A still background serves every frame. When the
//! background runs out it holds its last frame, or loops if asked.
//!
//! The screen colour is sampled once, on the first plate frame, and the
//! colour transfer, defocus and grain are measured once, so nothing flickers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::composite::camera::CameraMove;
use crate::composite::integrate::CompositeOptions;
use crate::composite::key::KeyOptions;
use crate::composite::person::{PersonKey, PersonModel};
use crate::composite::shot::{MatteChannel, MatteFrom, ShotCompositor, ShotOutput};
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};
use crate::media::{
    AudioMode, AudioReport, MediaInfo, MediaReader, MediaWriter, OpenOptions, SequenceChunk, VideoCodec, WriteOptions,
};
use crate::pixels::Fit;
use crate::rational::Rational;
use crate::runtime::Runtime;

use super::stream::{ReadAhead, WriteBehind};

/// Where the foreground matte comes from.
#[derive(Clone, Debug)]
pub enum MatteSource {
    /// Key the plate against a green or blue screen.
    Key(KeyOptions),
    /// A grey matte (white = foreground), one frame per plate frame (or a still).
    File(PathBuf),
    /// A person matte from a segmentation model, no screen needed.
    Person(PersonKey),
    /// Key the plate, keeping solid what the person model is sure is a
    /// person whatever its colour (see [`ShotCompositor::keep_person`]).
    KeyKeepingPerson(KeyOptions, Arc<dyn PersonModel>),
}

/// What to do when the background has fewer frames than the plate needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenShorter {
    /// Hold the background's last frame.
    #[default]
    Hold,
    /// Start the background again from its first frame.
    Loop,
}

/// A composite job.
#[derive(Clone, Debug)]
pub struct CompositeJob {
    /// The live-action plate.
    pub plate: PathBuf,
    /// The background: a still, a video or an image sequence.
    pub background: PathBuf,
    /// Where the composite goes.
    pub output: PathBuf,
    /// Where the matte comes from.
    pub matte: MatteSource,
    /// Integration options.
    pub options: CompositeOptions,
    /// Move the background with the plate's camera.
    pub track_camera: bool,
    /// Also write the matte (grey) here.
    pub matte_out: Option<PathBuf>,
    /// Also write the camera path (JSON) here.
    pub camera_out: Option<PathBuf>,
    /// Background shorter than the plate.
    pub when_shorter: WhenShorter,
    /// How to open the plate and background.
    pub open: OpenOptions,
    /// Output video codec, if not implied by the extension.
    pub codec: Option<VideoCodec>,
    /// Replace existing outputs.
    pub overwrite: bool,
    /// The plate's sound: kept (`Auto`, `Keep`, `Stretch` all keep it, as
    /// the composite runs at the plate's speed) or dropped.
    pub audio: AudioMode,
    /// Sound to carry instead of the plate's (a sequence's dialogue track).
    pub audio_file: Option<PathBuf>,
    /// The shot's camera track (a [`CameraPath`] JSON file, as `camera_out`
    /// writes): followed when the file exists; otherwise tracked over the
    /// whole plate first and written there, so that every chunk of a
    /// farm's render moves the background alike. Implies tracking.
    pub camera_track: Option<PathBuf>,
    /// Render only these plate frames (from 0, end excluded) as a chunk of
    /// an image sequence that other runs write the rest of; see
    /// [`SequenceChunk`]. The shot is measured on its first frame and the
    /// key averaged over the frames before the chunk, as a whole run does,
    /// so the chunk's frames are those of a whole run.
    pub frames: Option<std::ops::Range<u64>>,
}

/// What a composite would render and read, without rendering (`--dry-run`).
#[derive(Clone, Debug, Serialize)]
pub struct CompositeDryRun {
    /// Plate frames (and output frames: one per plate frame).
    pub frames: u64,
    /// Frame rate of the plate and the output.
    pub frame_rate: Rational,
    /// The output frames the run would render, numbered from 1 (first, last).
    pub rendered: (u64, u64),
    /// The plate frames it would decode (from 0, end excluded), besides the
    /// first, which every chunk measures the shot on.
    pub plate_read: std::ops::Range<u64>,
    /// Where the camera track was written, when the dry run made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera_track: Option<PathBuf>,
}

/// The camera path of a composite, as generators take camera moves.
#[derive(Clone, Debug, Serialize)]
pub struct CameraPath {
    /// The move since the first frame, per plate frame.
    pub frames: Vec<CameraMove>,
    /// How much textured background each step was measured on (0..1).
    pub support: Vec<f32>,
    /// The whole move over the shot, in frame fractions: horizontal and
    /// vertical translation of the content (fractions of width and height),
    /// zoom factor and roll in degrees.
    pub summary: CameraSummary,
}

/// The whole move over a shot.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CameraSummary {
    /// Content translation as a fraction of the frame width (positive: right).
    pub horizontal: f32,
    /// Content translation as a fraction of the frame height (positive: down).
    pub vertical: f32,
    /// Scale factor of the content (above 1: push in).
    pub zoom: f32,
    /// Roll of the content in degrees (positive: clockwise).
    pub roll: f32,
}

/// What a composite did.
#[derive(Clone, Debug, Serialize)]
pub struct CompositeReport {
    /// Where the composite landed.
    pub output: PathBuf,
    /// What became of the plate's (or the given) sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioReport>,
    /// Tags of the plate the output could not hold, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Frames composited.
    pub frames: u64,
    /// Frame rate of the output (the plate's).
    pub frame_rate: Rational,
    /// Plate size.
    pub width: u32,
    /// Plate height.
    pub height: u32,
    /// The screen colour keyed (sRGB 0..1), if keyed.
    pub screen: Option<[f32; 3]>,
    /// Fraction of the first plate frame that was screen.
    pub screen_coverage: Option<f32>,
    /// The screen's noise on the first frame: standard deviation per
    /// channel in 8-bit sRGB code values (the key sets its clip points and
    /// smoothing from it).
    pub screen_noise: Option<[f32; 3]>,
    /// Background size, frames and rate as read.
    pub background: BackgroundUse,
    /// The camera path, if tracked.
    pub camera: Option<CameraPath>,
    /// Where the matte went, if written.
    pub matte_out: Option<PathBuf>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// How the background was used.
#[derive(Clone, Debug, Serialize)]
pub struct BackgroundUse {
    /// Its size.
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// Its frame count (1 for a still).
    pub frames: u64,
    /// Its frame rate.
    pub frame_rate: Rational,
    /// How its size was fitted to the plate's.
    pub fit: Fit,
    /// Whether it was resized.
    pub resized: bool,
    /// Plate frames for which it had run out (held or looped).
    pub ran_out: u64,
    /// What happened when it ran out.
    pub when_shorter: WhenShorter,
}

/// Progress: frames done of total.
pub type Progress = (u64, u64);

impl CompositeJob {
    /// Composites the plate over the background, file to file, on `runtime`; `progress` gets (frames done, total) on the calling thread.
    pub fn run(&self, runtime: &Runtime, progress: &mut dyn FnMut(Progress)) -> Result<CompositeReport> {
        runtime.in_logging(|| render(runtime, self, progress))
    }

    /// Says what a run would render and read, writing nothing but the
    /// camera track when `camera_track` names a file that does not exist
    /// yet (tracked over the whole plate: a farm's job does this once,
    /// before its chunks).
    pub fn dry_run(&self, runtime: &Runtime, progress: &mut dyn FnMut(Progress)) -> Result<CompositeDryRun> {
        runtime.in_logging(|| {
            let plate = MediaReader::open_on(runtime, &self.plate, &self.open)?;
            let info = plate.info().clone();
            let range = self.plate_frames(&info, &plate)?;
            let mut camera_track = None;
            if let Some(path) = &self.camera_track
                && !path.exists()
            {
                let made = track_shot(runtime, self, plate, progress)?;
                write_camera_track(path, &made, info.width, info.height)?;
                camera_track = Some(path.clone());
            }
            Ok(CompositeDryRun {
                frames: info.frame_count,
                frame_rate: info.frame_rate,
                rendered: (range.start + 1, range.end),
                plate_read: range.start.saturating_sub(ShotCompositor::FRAMES_BEFORE)..range.end,
                camera_track,
            })
        })
    }

    /// The plate frames this run renders: all, or its chunk (checked).
    fn plate_frames(&self, info: &MediaInfo, plate: &MediaReader) -> Result<std::ops::Range<u64>> {
        let Some(range) = self.frames.clone() else { return Ok(0..info.frame_count) };
        if range.start >= range.end || range.end > info.frame_count {
            return Err(Error::invalid_argument(format!(
                "frames {} to {}: {} has {} frames (1 to {})",
                range.start + 1,
                range.end,
                self.plate.display(),
                info.frame_count,
                info.frame_count
            )));
        }
        if plate.constant_rate_frames().is_some() {
            return Err(Error::unsupported(format!(
                "{}: a variable-rate plate is composited whole (its held frames are written again); convert it \
                 to a constant rate first (mattebox convert), then render it in chunks",
                self.plate.display()
            )));
        }
        if self.camera_out.is_some() {
            return Err(Error::invalid_argument(
                "a chunk does not track the camera; give the shot's track with --camera-track FILE instead of \
                 --camera-out",
            ));
        }
        if self.track_camera && self.camera_track.is_none() {
            return Err(Error::invalid_argument(
                "a chunk moves the background along the shot's camera track, tracked once for the whole plate: \
                 add --camera-track FILE (made on first use, then read by every chunk)",
            ));
        }
        Ok(range)
    }
}

/// Largest camera track file read: a 100 000-frame shot's is a few MiB.
const MAX_TRACK_BYTES: u64 = 64 << 20;

/// The camera path in `path` for a plate of `frames` frames, checked.
fn read_camera_track(path: &std::path::Path, frames: u64) -> Result<Vec<(CameraMove, f32)>> {
    #[derive(serde::Deserialize)]
    struct TrackFile {
        frames: Vec<CameraMove>,
        support: Vec<f32>,
    }
    let bad = |why: String| Error::invalid_argument(format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open the camera track", e))?;
    let len = file.metadata().map_err(|e| Error::io(path, "read the camera track", e))?.len();
    if len > MAX_TRACK_BYTES {
        return Err(bad(format!("{len} bytes is too large for a camera track (at most {MAX_TRACK_BYTES})")));
    }
    let track: TrackFile = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a camera track as --camera-out writes it: {e}")))?;
    if track.frames.len() as u64 != frames || track.support.len() != track.frames.len() {
        return Err(bad(format!(
            "the track has {} frames but the plate {frames}; make it again from this plate",
            track.frames.len()
        )));
    }
    let sane = |m: &CameraMove| {
        [m.pan_x, m.pan_y, m.zoom, m.roll].iter().all(|v| v.is_finite()) && m.zoom > 1e-3 && m.zoom < 1e3
    };
    if let Some(k) = track.frames.iter().position(|m| !sane(m)) {
        return Err(bad(format!("frame {}'s move is not a camera move (a zoom of 0.001 to 1000, finite)", k + 1)));
    }
    Ok(track.frames.into_iter().zip(track.support).collect())
}

/// Writes `path` (whole or not at all) as the [`CameraPath`] of a
/// `w` x `h` plate; replaces a track another chunk wrote meanwhile (the
/// same one).
fn write_camera_track(path: &std::path::Path, track: &[(CameraMove, f32)], w: u32, h: u32) -> Result<()> {
    let camera = camera_path_of(track, w, h);
    let text = serde_json::to_string_pretty(&camera).map_err(|e| Error::internal(e.to_string()))?;
    crate::staged::write_file(path, text, true, "write the camera track")
}

fn camera_path_of(path: &[(CameraMove, f32)], w: u32, h: u32) -> CameraPath {
    let frames: Vec<CameraMove> = path.iter().map(|p| p.0).collect();
    let support = path.iter().map(|p| p.1).collect();
    let last = frames.last().copied().unwrap_or(CameraMove::STILL);
    let summary = CameraSummary {
        horizontal: last.pan_x / w as f32,
        vertical: last.pan_y / h as f32,
        zoom: last.zoom,
        roll: last.roll,
    };
    CameraPath { frames, support, summary }
}

/// The shot's camera path: every plate frame keyed in order (the matte
/// keeps the actor out of the estimate) and tracked, nothing composited.
fn track_shot(
    runtime: &Runtime,
    job: &CompositeJob,
    plate: MediaReader,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<(CameraMove, f32)>> {
    let count = plate.info().frame_count;
    let (mut matte_reader, matte_from) = matte_of(runtime, job, plate.info())?;
    let mut shot = ShotCompositor::new(matte_from, job.options, true)?;
    std::thread::scope(|scope| -> Result<()> {
        let mut plate_frames = ReadAhead::start(scope, runtime, plate, 2);
        while let Some((k, frame)) = plate_frames.next_frame()? {
            let host_matte = matte_frame(&mut matte_reader, k)?;
            runtime.install(|| shot.track(k, &frame.view(), host_matte.as_ref().map(Frame::view).as_ref()))?;
            progress((k + 1, count));
        }
        Ok(())
    })?;
    Ok(shot.camera_path().unwrap_or_default().to_vec())
}

/// The matte file's frame for plate frame `k` (its last one past its end),
/// when the matte comes from a file.
fn matte_frame(reader: &mut Option<MediaReader>, k: u64) -> Result<Option<Frame>> {
    reader.as_mut().map(|r| r.read_frame(k.min(r.info().frame_count - 1))).transpose()
}

/// Where the shot's matte comes from: a reader of the matte file (checked
/// against the plate's size) and how the compositor takes it.
fn matte_of(runtime: &Runtime, job: &CompositeJob, plate: &MediaInfo) -> Result<(Option<MediaReader>, MatteFrom)> {
    let (w, h) = (plate.width, plate.height);
    Ok(match &job.matte {
        MatteSource::File(path) => {
            let reader = MediaReader::open_on(runtime, path, &job.open)?;
            let info = reader.info();
            if (info.width, info.height) != (w, h) {
                return Err(Error::invalid_argument(format!(
                    "{}: the matte is {}x{} but the plate is {w}x{h}",
                    path.display(),
                    info.width,
                    info.height
                )));
            }
            (Some(reader), MatteFrom::Host(MatteChannel::Luma))
        }
        MatteSource::Person(person) => (None, MatteFrom::Person(person.clone())),
        MatteSource::Key(options) | MatteSource::KeyKeepingPerson(options, _) => (None, MatteFrom::Key(*options)),
    })
}

fn render(runtime: &Runtime, job: &CompositeJob, progress: &mut dyn FnMut(Progress)) -> Result<CompositeReport> {
    let started = Instant::now();
    let plate = MediaReader::open_on(runtime, &job.plate, &job.open)?;
    let mut background = MediaReader::open_on(runtime, &job.background, &job.open)?;
    let (pinfo, binfo) = (plate.info().clone(), background.info().clone());
    let (w, h) = (pinfo.width, pinfo.height);
    let range = job.plate_frames(&pinfo, &plate)?;
    let chunk = job.frames.as_ref().map(|_| SequenceChunk {
        first: range.start,
        count: range.end - range.start,
        total: pinfo.frame_count,
    });
    let (mut matte_reader, matte_from) = matte_of(runtime, job, &pinfo)?;
    let tracking = job.track_camera || job.camera_track.is_some();
    let mut shot = ShotCompositor::new(matte_from, job.options, tracking)?;
    if let MatteSource::KeyKeepingPerson(_, model) = &job.matte {
        shot.keep_person(model.clone());
    }
    // The shot's camera path, given or tracked once over the whole plate
    // (a chunk needs all of it; a whole run tracks as it renders).
    let mut plate = plate;
    if let Some(path) = &job.camera_track {
        let known = if path.exists() {
            read_camera_track(path, pinfo.frame_count)?
        } else if chunk.is_some() {
            let again = MediaReader::open_on(runtime, &job.plate, &job.open)?;
            let made = track_shot(runtime, job, again, &mut |_| {})?;
            write_camera_track(path, &made, w, h)?;
            made
        } else {
            Vec::new()
        };
        if !known.is_empty() {
            shot.follow_camera(known);
        }
    }
    let output_format =
        if pinfo.decoded_format == PixelFormat::Rgba8 { PixelFormat::Rgba8 } else { PixelFormat::Rgba16 };
    let options = WriteOptions {
        codec: job.codec,
        overwrite: job.overwrite,
        tags: pinfo.tags.clone(),
        encoder_threads: runtime.threads(),
        chunk,
        ..WriteOptions::new(pinfo.frame_rate)
    };
    // A chunk is frames only; the sound joins them in the final file.
    let audio = match chunk {
        Some(_) => None,
        None => job.audio.carried(job.audio_file.as_ref(), pinfo.audio.as_ref()),
    };
    let writer = MediaWriter::create(&job.output, w, h, output_format, &WriteOptions { audio, ..options.clone() })?;
    let mut matte_writer = match &job.matte_out {
        Some(path) => Some(MediaWriter::create(path, w, h, PixelFormat::Rgba8, &options)?),
        None => None,
    };
    let mut matte_image = Frame::new(w, h, PixelFormat::Rgba8)?;
    let mut ran_out = 0;
    let mut cached_background: Option<(u64, Frame)> = None;
    // A plate stored sideways (a phone's portrait shot) is shown turned by
    // its rotation tag; the background is turned the other way so that it
    // is upright where the plate is, and fitted in the plate's stored shape.
    let mut notes: Vec<String> = pinfo.stream_note().into_iter().collect();
    let background_turns = match pinfo.tags.rotation {
        Some(degrees) if degrees % 90 == 0 => -degrees / 90,
        Some(degrees) => {
            notes.push(format!(
                "the plate is shown turned by {degrees} degrees, not a quarter turn; the background was not turned with it"
            ));
            0
        }
        None => 0,
    };
    // A variable-rate plate is written at its nominal rate on its own
    // timestamps: a frame it holds is written again, as `convert` does.
    let (shown, frame_times) = match (plate.constant_rate_frames(), plate.frame_times()) {
        (Some(constant), Some(times)) => {
            notes.push(constant.note.clone());
            (constant.shown_counts(pinfo.frame_count), Some(times.to_vec()))
        }
        _ => (vec![1; pinfo.frame_count as usize], None),
    };
    let written_frames: u64 = shown[range.start as usize..range.end as usize].iter().map(|&n| n as u64).sum();
    if range.start > 0 {
        // As a whole run would have it by this frame: the shot measured on
        // its first frame, and the key of the frames just before the chunk
        // remembered for its temporal average.
        let first = plate.read_frame(0)?;
        let first_matte = matte_frame(&mut matte_reader, 0)?;
        let mut first_background = background.read_frame(0)?;
        if background_turns != 0 {
            first_background = crate::pixels::rotate_quarter_turns(&first_background.view(), background_turns)?;
        }
        runtime.install(|| {
            shot.prime(&first.view(), first_matte.as_ref().map(Frame::view).as_ref(), &first_background.view())
        })?;
        shot = shot.for_frame(range.start)?;
        if shot.needs_earlier_frames() {
            for k in range.start.saturating_sub(ShotCompositor::FRAMES_BEFORE)..range.start {
                let earlier = plate.read_frame(k)?;
                runtime.install(|| shot.remember(k, &earlier.view()))?;
            }
        }
    }
    // The plate is decoded ahead and the composite encoded behind, on their
    // own threads, while this one keys and composites.
    let written = std::thread::scope(|scope| -> Result<_> {
        let mut plate_frames = ReadAhead::start_range(scope, runtime, plate, range.clone(), 2);
        let mut composites = WriteBehind::start(scope, runtime, writer, 2);
        for k in range.clone() {
            let Some((_, frame)) = plate_frames.next_frame()? else {
                return Err(Error::internal(format!("the plate ended before frame {k}")));
            };
            if shown[k as usize] == 0 {
                continue;
            }
            let mut out = Frame::new(w, h, output_format)?;
            // Background frame at the plate frame's time.
            let mut index = match &frame_times {
                Some(times) => (times[k as usize] * binfo.frame_rate.to_f64() + 1e-9).floor().max(0.0) as u64,
                None => {
                    let time = Rational::new(k as i64, 1)?.checked_mul(pinfo.frame_rate.recip()?)?;
                    time.checked_mul(binfo.frame_rate)?.floor().max(0) as u64
                }
            };
            if binfo.frame_count == 1 {
                index = 0;
            } else if index >= binfo.frame_count {
                ran_out += 1;
                index = match job.when_shorter {
                    WhenShorter::Hold => binfo.frame_count - 1,
                    WhenShorter::Loop => index % binfo.frame_count,
                };
            }
            if cached_background.as_ref().map(|c| c.0) != Some(index) {
                let mut frame = background.read_frame(index)?;
                if background_turns != 0 {
                    frame = crate::pixels::rotate_quarter_turns(&frame.view(), background_turns)?;
                }
                cached_background = Some((index, frame));
            }
            let bg = &cached_background.as_ref().expect("just read").1;
            let host_matte = matte_frame(&mut matte_reader, k)?;
            let matte = runtime
                .install(|| {
                    let host_view = host_matte.as_ref().map(Frame::view);
                    shot.render(
                        k,
                        &frame.view(),
                        host_view.as_ref(),
                        &bg.view(),
                        ShotOutput::Composite,
                        &mut out.view_mut(),
                    )
                })
                .map_err(|e| if k == 0 { e.context(job.plate.display()) } else { e })?;
            let out = Arc::new(out);
            for _ in 0..shown[k as usize] {
                composites.write(out.clone())?;
            }
            if let Some(mw) = &mut matte_writer {
                matte.write_grey(&mut matte_image.view_mut())?;
                for _ in 0..shown[k as usize] {
                    mw.write_frame(&matte_image.view())?;
                }
            }
            progress((k + 1 - range.start, range.end - range.start));
        }
        composites.finish()
    })?;
    let screen = shot.screen().copied();
    let camera = shot.camera_path().map(|path| camera_path_of(path, w, h));
    // A whole run that tracked the shot leaves the track for the next.
    if let (Some(path), Some(track), None) = (&job.camera_track, shot.camera_path(), chunk)
        && !path.exists()
    {
        write_camera_track(path, track, w, h)?;
    }
    if let (Some(path), Some(camera)) = (&job.camera_out, &camera) {
        let text = serde_json::to_string_pretty(camera).map_err(|e| Error::internal(e.to_string()))?;
        crate::staged::write_file(path, text, job.overwrite, "write the camera path")?;
    }
    let matte_out = match matte_writer {
        Some(mw) => Some(mw.finish()?),
        None => None,
    };
    Ok(CompositeReport {
        output: written.path,
        audio: written.audio,
        notes: notes.into_iter().chain(written.notes).collect(),
        frames: written_frames,
        frame_rate: pinfo.frame_rate,
        width: w,
        height: h,
        screen: screen.map(|s| s.linear.map(crate::pixels::color::linear_to_srgb)),
        screen_coverage: screen.map(|s| s.coverage),
        screen_noise: screen.map(|s| s.noise),
        background: BackgroundUse {
            width: binfo.width,
            height: binfo.height,
            frames: binfo.frame_count,
            frame_rate: binfo.frame_rate,
            fit: job.options.fit,
            resized: (binfo.width, binfo.height) != (w, h),
            ran_out,
            when_shorter: job.when_shorter,
        },
        camera,
        matte_out,
        seconds: started.elapsed().as_secs_f64(),
    })
}
