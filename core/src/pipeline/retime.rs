//! Retiming a media file: plan, render every output frame, optionally
//! export motion vectors.
//!
//! Source frames are decoded once, in order, on their own thread, a few
//! ahead of the frame being rendered: deciding whether a pair is a cut looks
//! at the signatures of the frames around it (`cuts::window`). A flow pair
//! is computed once per source pair and serves every output frame between
//! those two frames; output frames are encoded behind on another thread.
//! Output frames between two frames on either side of a cut hold the
//! earlier frame, so the cut stays exactly where it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::interp::retime::RetimeSpec;
use crate::interp::{FlowPair, Mode, NeuralSettings, RetimeStep, ShotRetimer, cuts, vectors};
use crate::media::{
    AudioInput, AudioMode, AudioReport, MediaInfo, MediaReader, MediaWriter, OpenOptions, SequenceChunk, VideoCodec,
    WriteOptions,
};
use crate::rational::Rational;
use crate::runtime::Runtime;

use super::stream::{ReadAhead, WriteBehind};

/// What to retime, how, and where to.
#[derive(Clone, Debug)]
pub struct RetimeJob {
    /// Source: a video file, image sequence or still.
    pub input: PathBuf,
    /// Destination (named as for [`MediaWriter::create`]).
    pub output: PathBuf,
    /// Rate, speed or speed curve.
    pub spec: RetimeSpec,
    /// Output rate for speed changes and curves (default: the source's).
    pub output_rate: Option<Rational>,
    /// How in-between frames are made.
    pub mode: Mode,
    /// Where the neural mode's model is and how it runs.
    pub neural: NeuralSettings,
    /// Directory for one motion-vector EXR per source frame.
    pub vectors: Option<PathBuf>,
    /// How to open the source (frame rate of sequences).
    pub open: OpenOptions,
    /// Video codec of the output, if not implied by its extension.
    pub codec: Option<VideoCodec>,
    /// Replace existing outputs.
    pub overwrite: bool,
    /// What happens to the sound; see [`AudioMode`]. `Auto` keeps it for a
    /// rate conversion (same duration) and drops it, with a note, for a
    /// speed change or a curve.
    pub audio: AudioMode,
    /// Sound to carry instead of the source's (a sequence's dialogue track).
    pub audio_file: Option<PathBuf>,
    /// Replace frames that repeat the one before (a generator's or a screen
    /// recorder's held frames, in runs of up to
    /// [`super::scan::LONGEST_FILLED_RUN`]) by frames made between the
    /// pictures around them. Costs one more decode of the source.
    pub fill_repeats: bool,
    /// Render only these output frames (from 0, end excluded) as a chunk
    /// of an image sequence that other runs write the rest of (a farm's
    /// tasks); see [`SequenceChunk`]. Each chunk decodes only the source
    /// frames it needs and makes exactly the frames a whole run makes.
    pub frames: Option<std::ops::Range<u64>>,
}

/// Which part of the job is running, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading every source frame once to find repeated frames (`fill_repeats`).
    Scanning,
    /// Rendering output frames.
    Rendering,
    /// Writing motion vectors for source frames.
    Vectors,
}

/// Progress: `done` of `total` units of `stage`.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The running stage.
    pub stage: Stage,
    /// Units done.
    pub done: u64,
    /// Units in the stage.
    pub total: u64,
}

/// What a retime did.
#[derive(Clone, Debug, Serialize)]
pub struct RetimeReport {
    /// Where the output landed.
    pub output: PathBuf,
    /// Source frames and rate.
    pub source_frames: u64,
    /// Source frame rate.
    pub source_rate: Rational,
    /// Output frames of the whole retime.
    pub output_frames: u64,
    /// The output frames this run rendered, numbered from 1 as in the
    /// sequence's file names (first, last), when it rendered a chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<(u64, u64)>,
    /// The source frames this run decoded (from 0, end excluded).
    pub source_read: std::ops::Range<u64>,
    /// Output frame rate.
    pub output_rate: Rational,
    /// Mode used for in-between frames.
    pub mode: Mode,
    /// Source frames k after which a cut was found (between k and k + 1);
    /// a chunk reports those it could decide from the frames it read.
    pub cuts: Vec<u64>,
    /// Output frames that are source frames unchanged.
    pub copied: u64,
    /// Output frames made between two source frames.
    pub made: u64,
    /// Output frames that held a frame because a cut was in the way.
    pub held_at_cuts: u64,
    /// Flow pairs computed.
    pub flow_pairs: u64,
    /// Motion-vector files written.
    pub vector_files: u64,
    /// Source frames that repeated the one before and were replaced by
    /// frames made between (with `fill_repeats`).
    pub repeats_filled: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// What became of the sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioReport>,
    /// Tags of the source the output could not hold, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What a run would render and read, without rendering (`--dry-run`):
/// what a farm's job template needs to split a shot into chunks.
#[derive(Clone, Debug, Serialize)]
pub struct RetimeDryRun {
    /// Source frames.
    pub source_frames: u64,
    /// Source frame rate.
    pub source_rate: Rational,
    /// Output frames of the whole retime.
    pub output_frames: u64,
    /// Output frame rate.
    pub output_rate: Rational,
    /// The output frames the run would render, numbered from 1 (first, last).
    pub rendered: (u64, u64),
    /// The source frames it would decode (from 0, end excluded).
    pub source_read: std::ops::Range<u64>,
}

impl RetimeJob {
    /// Retimes the input, file to file, on `runtime`; `progress` is called on the calling thread as work advances.
    pub fn run(&self, runtime: &Runtime, progress: &mut dyn FnMut(Progress)) -> Result<RetimeReport> {
        runtime.in_logging(|| render(runtime, self, progress))
    }

    /// Plans the run and says what it would render and read, writing
    /// nothing (with `fill_repeats` the source is scanned, as a run does).
    pub fn dry_run(&self, runtime: &Runtime, progress: &mut dyn FnMut(Progress)) -> Result<RetimeDryRun> {
        runtime.in_logging(|| {
            let prepared = prepare(runtime, self, progress)?;
            let reads = prepared.reads(self)?;
            Ok(RetimeDryRun {
                source_frames: prepared.info.frame_count,
                source_rate: prepared.info.frame_rate,
                output_frames: prepared.retimer.output_frames(),
                output_rate: prepared.retimer.plan().rate,
                rendered: (reads.outputs.start + 1, reads.outputs.end),
                source_read: reads.raw,
            })
        })
    }
}

/// A retime planned: the source opened (and scanned for repeats), the plan made.
struct Prepared {
    reader: MediaReader,
    info: MediaInfo,
    notes: Vec<String>,
    /// Source frames passed over (repeats being filled).
    repeated: Vec<bool>,
    repeats: u64,
    retimer: ShotRetimer,
}

/// The output frames a run renders and the source frames it decodes.
struct Reads {
    outputs: std::ops::Range<u64>,
    /// Source frames counted without the repeats passed over (the plan's indices).
    kept: std::ops::Range<u64>,
    /// The same frames counted in the file.
    raw: std::ops::Range<u64>,
    chunk: Option<SequenceChunk>,
}

impl Prepared {
    fn reads(&self, job: &RetimeJob) -> Result<Reads> {
        let total = self.retimer.output_frames();
        let Some(outputs) = job.frames.clone() else {
            let count = self.info.frame_count;
            let kept = count - self.repeats;
            return Ok(Reads { outputs: 0..total, kept: 0..kept, raw: 0..count, chunk: None });
        };
        if outputs.start >= outputs.end || outputs.end > total {
            return Err(Error::invalid_argument(format!(
                "frames {} to {}: the retimed {} has {total} frames (1 to {total})",
                outputs.start + 1,
                outputs.end,
                job.input.display()
            )));
        }
        if job.vectors.is_some() {
            return Err(Error::invalid_argument(
                "--vectors writes one file per source frame of the whole clip; write them in a run without --frames",
            ));
        }
        let (mut lo, mut hi) = (u64::MAX, 0);
        for j in outputs.clone() {
            let needed = self.retimer.frames_needed(j)?;
            (lo, hi) = (lo.min(needed.start), hi.max(needed.end));
        }
        let kept = lo..hi;
        let raw_of: Vec<u64> = (0..self.repeated.len() as u64).filter(|&k| !self.repeated[k as usize]).collect();
        let raw_at = |k: u64| {
            raw_of.get(k as usize).copied().ok_or_else(|| Error::internal(format!("source frame {k} is not planned")))
        };
        let raw = raw_at(kept.start)?..raw_at(kept.end - 1)? + 1;
        let chunk = SequenceChunk { first: outputs.start, count: outputs.end - outputs.start, total };
        Ok(Reads { outputs, kept, raw, chunk: Some(chunk) })
    }
}

fn prepare(runtime: &Runtime, job: &RetimeJob, progress: &mut dyn FnMut(Progress)) -> Result<Prepared> {
    let mut reader = MediaReader::open_on(runtime, &job.input, &job.open)?;
    let info = reader.info().clone();
    if info.frame_count < 2 {
        return Err(Error::invalid_argument(format!(
            "{}: has {} frame; retiming needs at least two frames to move between",
            job.input.display(),
            info.frame_count
        )));
    }
    let mut notes: Vec<String> = info.stream_note().into_iter().collect();
    let repeated = if job.fill_repeats {
        if job.vectors.is_some() {
            return Err(Error::invalid_argument(
                "--vectors describes the source's own frames, repeats included; write them in a run without \
                 --fill-duplicates",
            ));
        }
        let mut scanning = |done, total| progress(Progress { stage: Stage::Scanning, done, total });
        let repeated = super::scan::repeated_frames(runtime, &mut reader, &mut scanning)?;
        let stutters = super::scan::stutters(&repeated);
        let still = repeated.iter().zip(&stutters).filter(|(r, s)| **r && !**s).count();
        if still > 0 {
            notes.push(format!(
                "{still} repeated frames are in runs longer than {} (a still shot, not a stutter) and were kept",
                super::scan::LONGEST_FILLED_RUN
            ));
        }
        stutters
    } else {
        vec![false; info.frame_count as usize]
    };
    let repeats = repeated.iter().filter(|&&r| r).count() as u64;
    if job.fill_repeats {
        notes.push(match repeats {
            0 => "no frame repeats the one before it; nothing to fill".to_owned(),
            n => format!("{n} source frames repeated the one before; frames made between replace them"),
        });
    }
    if let Some(variable) = &info.variable_rate {
        notes.push(format!(
            "{} has a variable frame rate ({:.1} to {:.1} fps); its frames were placed on their own \
             timestamps, as if shot at {} fps",
            job.input.display(),
            variable.slowest_fps,
            variable.fastest_fps,
            info.frame_rate
        ));
    }
    let retimer = if info.variable_rate.is_some() || repeats > 0 {
        // Planned over the clip's real duration at its nominal rate, then
        // placed on the times of the frames that show something new: where
        // the source held a picture, the output gets frames made between.
        let span = ((info.duration_seconds * info.frame_rate.to_f64()) - 1e-6).ceil().max(2.0) as u64;
        // When each new picture shows: its timestamp (variable rate) or k / rate.
        let time_of = |k: usize| match reader.frame_times() {
            Some(times) => times[k],
            None => k as f64 / info.frame_rate.to_f64(),
        };
        let kept: Vec<f64> = (0..repeated.len()).filter(|&k| !repeated[k]).map(time_of).collect();
        if kept.len() < 2 {
            return Err(Error::invalid_argument(format!(
                "{}: every frame repeats the first; there is nothing to move between",
                job.input.display()
            )));
        }
        ShotRetimer::new(info.frame_rate, span, job.output_rate, &job.spec, job.mode)?
            .with_source_times(info.frame_rate, &kept)?
    } else {
        ShotRetimer::new(info.frame_rate, info.frame_count, job.output_rate, &job.spec, job.mode)?
    };
    let retimer = retimer.with_neural(job.neural.clone());
    retimer.prepare()?;
    Ok(Prepared { reader, info, notes, repeated, repeats, retimer })
}

fn render(runtime: &Runtime, job: &RetimeJob, progress: &mut dyn FnMut(Progress)) -> Result<RetimeReport> {
    let started = Instant::now();
    if let Some(dir) = &job.vectors {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the vectors directory", e))?;
    }
    let prepared = prepare(runtime, job, progress)?;
    let reads = prepared.reads(job)?;
    let Prepared { reader, info, notes, repeated, repeats, retimer } = prepared;
    let plan = retimer.plan();

    let mut audio_notes = Vec::new();
    let options = WriteOptions {
        codec: job.codec,
        overwrite: job.overwrite,
        tags: info.tags.at_rate(info.frame_rate, plan.rate)?,
        // A chunk is frames only; the sound joins them in the final file.
        audio: if reads.chunk.is_some() { None } else { audio_for(job, &info, &mut audio_notes)? },
        encoder_threads: runtime.threads(),
        chunk: reads.chunk,
        ..WriteOptions::new(plan.rate)
    };
    let writer = MediaWriter::create(&job.output, info.width, info.height, info.decoded_format, &options)?;
    let mut report = RetimeReport {
        output: PathBuf::new(),
        source_frames: info.frame_count,
        source_rate: info.frame_rate,
        output_frames: plan.frames.len() as u64,
        rendered: reads.chunk.map(|c| (c.first + 1, c.first + c.count)),
        source_read: reads.raw.clone(),
        output_rate: plan.rate,
        mode: job.mode,
        cuts: Vec::new(),
        copied: 0,
        made: 0,
        held_at_cuts: 0,
        flow_pairs: 0,
        vector_files: 0,
        repeats_filled: 0,
        seconds: 0.0,
        audio: None,
        notes: Vec::new(),
    };
    // One pass: frames are decoded ahead on their own thread (each once),
    // output frames are encoded behind on another, and this thread computes.
    let (written, signatures, reader) = std::thread::scope(|scope| -> Result<_> {
        let mut frames = ReadAhead::start_range(scope, runtime, reader, reads.raw.clone(), READ_AHEAD);
        let mut out = WriteBehind::start(scope, runtime, writer, WRITE_BEHIND);
        let mut window = SourceWindow {
            skip: repeated,
            received: reads.raw.start,
            base: reads.kept.start,
            first: reads.kept.start,
            ..SourceWindow::default()
        };
        let rendering = reads.outputs.end - reads.outputs.start;
        for j in reads.outputs.clone() {
            window.receive_through(&mut frames, retimer.frames_needed(j)?.end)?;
            window.forget_before(retimer.source_of(j)?);
            match retimer.step(j, |i| window.signature(i))? {
                RetimeStep::Copy(source) => {
                    out.write(window.frame(source)?)?;
                    report.copied += 1;
                }
                RetimeStep::HoldAtCut(source) => {
                    out.write(window.frame(source)?)?;
                    report.held_at_cuts += 1;
                }
                RetimeStep::Between { a: source, t } => {
                    window.receive_through(&mut frames, source + 2)?;
                    let (a, b) = (window.frame(source)?, window.frame(source + 1)?);
                    let mut made = Frame::new(info.width, info.height, info.decoded_format)?;
                    runtime.install(|| retimer.between(source, &a.view(), &b.view(), t, &mut made.view_mut()))?;
                    out.write(Arc::new(made))?;
                    report.made += 1;
                }
            }
            progress(Progress { stage: Stage::Rendering, done: j + 1 - reads.outputs.start, total: rendering });
        }
        // Every frame's signature, for the report's list of cuts.
        window.receive_through(&mut frames, u64::MAX)?;
        let written = out.finish()?;
        let signatures = if reads.chunk.is_some() {
            // Only the cuts whose deciding frames this chunk read.
            let planned_sources = info.frame_count - repeats;
            let mut cuts = Vec::new();
            for k in reads.kept.start..reads.kept.end.saturating_sub(1) {
                let deciding = cuts::window(k, planned_sources);
                if deciding.start >= reads.kept.start
                    && deciding.end <= reads.kept.end
                    && retimer.is_cut(k, |i| window.signature(i))?
                {
                    cuts.push(k);
                }
            }
            Err(cuts)
        } else {
            Ok(window.signatures)
        };
        Ok((written, signatures, frames.into_reader()?))
    })?;
    let signatures = match signatures {
        Ok(signatures) => {
            report.cuts = cuts::detect(&signatures);
            signatures
        }
        Err(cuts) => {
            report.cuts = cuts;
            Vec::new()
        }
    };
    report.repeats_filled = repeats;
    tracing::info!(cuts = ?report.cuts, "retimed {} source frames", info.frame_count);
    report.flow_pairs = retimer.flow_pairs_computed();

    if let Some(dir) = &job.vectors {
        let mode = if job.mode.uses_flow() { job.mode } else { Mode::Quality };
        let is_cut = |k: u64| retimer.is_cut(k, |i: u64| Ok::<_, Error>(signatures[i as usize].clone()));
        let mut reader = reader;
        report.vector_files = write_vectors(runtime, &mut reader, dir, mode, &is_cut, job.overwrite, progress)?;
    }
    report.output = written.path;
    report.notes = notes.into_iter().chain(written.notes).collect();
    report.audio = match (written.audio, audio_notes.is_empty()) {
        (Some(mut audio), _) => {
            audio.notes.splice(0..0, audio_notes);
            Some(audio)
        }
        (None, false) => Some(AudioReport { notes: audio_notes, ..Default::default() }),
        (None, true) => None,
    };
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Frames decoded ahead of the one being rendered: the cut decision for a
/// pair looks up to five frames past it.
const READ_AHEAD: usize = 2;
/// Output frames queued for the encoder.
const WRITE_BEHIND: usize = 2;

/// The source frames received so far: the signature of every one, and the
/// pixels of those not yet left behind.
#[derive(Default)]
struct SourceWindow {
    /// Source frames to pass over (repeats being filled); the window's
    /// indices count the others.
    skip: Vec<bool>,
    /// The next source frame to come from the reader.
    received: u64,
    /// The index of the first signature (a chunk starts past 0).
    base: u64,
    signatures: Vec<cuts::Signature>,
    /// Frames from `first` on, in order.
    frames: std::collections::VecDeque<Arc<Frame>>,
    first: u64,
}

impl SourceWindow {
    /// Receives frames until frame `end - 1` is here (or the clip ends).
    fn receive_through(&mut self, reader: &mut ReadAhead<'_>, end: u64) -> Result<()> {
        while self.base + (self.signatures.len() as u64) < end {
            let Some((index, frame)) = reader.next_frame()? else { break };
            debug_assert_eq!(index, self.received);
            self.received += 1;
            if self.skip.get(index as usize).copied().unwrap_or(false) {
                continue;
            }
            self.signatures.push(cuts::Signature::of(&frame.view()));
            self.frames.push_back(Arc::new(frame));
        }
        Ok(())
    }

    /// Lets go of the pixels of frames before `k` (output moves forward only).
    fn forget_before(&mut self, k: u64) {
        while self.first < k && !self.frames.is_empty() {
            self.frames.pop_front();
            self.first += 1;
        }
    }

    fn frame(&self, k: u64) -> Result<Arc<Frame>> {
        k.checked_sub(self.first)
            .and_then(|i| self.frames.get(i as usize))
            .cloned()
            .ok_or_else(|| Error::internal(format!("source frame {k} is not in the decoded window")))
    }

    fn signature(&self, k: u64) -> Result<cuts::Signature> {
        k.checked_sub(self.base)
            .and_then(|i| self.signatures.get(i as usize))
            .cloned()
            .ok_or_else(|| Error::internal(format!("source frame {k} has not been decoded yet")))
    }
}

/// The sound the output carries, by `job.audio` and the kind of retime.
fn audio_for(job: &RetimeJob, info: &MediaInfo, notes: &mut Vec<String>) -> Result<Option<AudioInput>> {
    let Some(AudioInput { path, .. }) = AudioMode::Keep.carried(job.audio_file.as_ref(), info.audio.as_ref()) else {
        return Ok(None);
    };
    let speed = match &job.spec {
        // A speed of 1 (`--fill-duplicates` alone) keeps the duration too.
        RetimeSpec::FrameRate(_) => None,
        RetimeSpec::Speed(speed) if *speed == Rational::integer(1) => None,
        RetimeSpec::Speed(speed) => Some(Some(speed.to_f64())),
        RetimeSpec::Curve(_) => Some(None),
    };
    Ok(match (job.audio, speed) {
        (AudioMode::Drop, _) => None,
        // Same duration: the sound stays in sync as it is.
        (_, None) | (AudioMode::Keep, _) => Some(AudioInput::from(path)),
        (AudioMode::Stretch, Some(Some(speed))) => Some(AudioInput { path, speed }),
        (AudioMode::Stretch, Some(None)) => {
            return Err(Error::unsupported(format!(
                "{}: --audio stretch follows a constant --speed, not a speed curve; \
                 use --audio drop, or --audio keep to carry it unstretched",
                job.input.display()
            )));
        }
        (AudioMode::Auto, Some(_)) => {
            notes.push(format!(
                "the audio of {} was left out: the pictures change speed, so it would not stay in sync \
                 (--audio stretch time-stretches it, --audio keep carries it unchanged)",
                path.display()
            ));
            None
        }
    })
}

/// Writes `dir/vectors_%06d.exr` for every source frame (numbered from 1,
/// as image sequences are): the frame, its flow to the next frame and to the
/// previous one (zero across cuts and at the ends), and its occlusion mask.
fn write_vectors(
    runtime: &Runtime,
    reader: &mut MediaReader,
    dir: &Path,
    mode: Mode,
    is_cut: &dyn Fn(u64) -> Result<bool>,
    overwrite: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64> {
    let count = reader.info().frame_count;
    let mut previous_backward = None;
    let mut current = reader.read_frame(0)?;
    for k in 0..count {
        let next = if k + 1 < count { Some(reader.read_frame(k + 1)?) } else { None };
        let (forward, backward_of_next, occlusion) = match &next {
            Some(next) if !is_cut(k)? => runtime.install(|| -> Result<_> {
                let pair = FlowPair::compute(&current.view(), &next.view(), mode)?;
                Ok((Some(pair.forward_full()?), Some(pair.backward_full()?), Some(pair.occlusion_full()?)))
            })?,
            _ => (None, None, None),
        };
        let path = dir.join(format!("vectors_{:06}.exr", k + 1));
        let frame_vectors = vectors::FrameVectors {
            forward: forward.as_ref(),
            backward: previous_backward.as_ref(),
            occlusion: occlusion.as_deref(),
        };
        vectors::write(&path, &current.view(), &frame_vectors, overwrite)?;
        previous_backward = backward_of_next;
        if let Some(next) = next {
            current = next;
        }
        progress(Progress { stage: Stage::Vectors, done: k + 1, total: count });
    }
    Ok(count)
}
