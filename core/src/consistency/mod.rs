//! Consistency scoring inside one shot: does the subject stay the subject,
//! does the background stay put, does the image flicker or boil, does the
//! camera move smoothly? Scores in [0, 1], higher is better.
//!
//! Frames are scored as they arrive ([`ShotScorer::push`]), on a small
//! analysis copy (area-averaged to at most [`ANALYSIS_WIDTH`] pixels wide),
//! so a 1080p shot never sits in memory. Three independent families of
//! features:
//!
//! - **pixel / temporal**: consecutive frames are aligned with the
//!   interpolation engine's optical flow; what the motion does not explain
//!   is split into a low-frequency part (exposure or grade *flicker*) and a
//!   high-frequency part relative to the image's own texture (*boiling*).
//!   A clean pan is explained by the flow and is not penalised.
//! - **colour**: the mean colour change between aligned consecutive frames,
//!   summed over the shot; the *grade* score follows how far that sum has
//!   drifted from the first frame. Motion moves colours around but does not
//!   shift them, and alternating exposure flicker cancels out here (flicker
//!   catches it), so a drifting grade is what remains.
//! - **appearance**: where things are in the frame does not matter here.
//!   The subject region (the person, when the model backend finds one; else
//!   the middle of the frame) and the background are each described by
//!   CIELAB colour histograms, LBP texture and gradient orientation
//!   (`appearance.rs`); *subject* and *background consistency* take
//!   VBench's form over these, the mean over frames of the similarity to
//!   the first and to the previous frame, so camera moves do not read as a
//!   new subject.
//!
//! *Smoothness* looks at the camera's global motion (the median flow): its
//! frame-to-frame change, relative to the motion itself.
//!
//! Across shots: [`references`] scores a shot against a character sheet,
//! location images and a look (`refs.toml`, or unnamed reference frames
//! from a host), and [`episode`] compares the shots of an episode and ranks
//! the ones that drift. `models` is the ONNX backend (feature `onnx`):
//! person segmentation, face detection and an optional embedding model.
//! [`report`] writes it all as one HTML page.

mod appearance;
pub mod episode;
mod features;
mod lens;
#[cfg(feature = "onnx")]
pub mod models;
pub mod references;
#[cfg(feature = "images")]
pub mod report;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView};
use crate::interp::{FlowPair, Mode};

pub use appearance::{Appearance, Likeness};
/// Analysis copies are at most this wide (area-averaged).
pub const ANALYSIS_WIDTH: u32 = 256;
use features::{Analysis, colour_shift, residual_energy};
use lens::Lens;
use references::{References, similarity};

/// How quickly each raw measure turns into a score: score = exp(-measure /
/// scale). Chosen so a clean camera move scores near 1 and the calibration
/// failures fall well below (see `docs/BENCHMARKS.md`).
const FLICKER_SCALE: f32 = 1.5; // |median low-frequency residual|, luma 0..255
/// Boiling below this is what optical flow always leaves on fine texture
/// (clean calibration moves sit at 0.15-0.27); only the excess counts.
const BOILING_FLOOR: f32 = 0.24;
const BOILING_SCALE: f32 = 0.1; // excess high-frequency residual / local texture
const GRADE_SCALE: f32 = 0.03; // accumulated mean colour shift, sRGB 0..1
const SMOOTHNESS_SCALE: f32 = 0.5; // change of global motion / (motion + 1 px)

/// The scores of a shot, each in [0, 1], higher is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Scores {
    /// The centre keeps its structure (VBench subject consistency form).
    pub subject: f32,
    /// The border keeps its structure (VBench background consistency form).
    pub background: f32,
    /// No exposure or grade flicker beyond what motion explains.
    pub flicker: f32,
    /// No local texture boiling beyond what motion explains.
    pub boiling: f32,
    /// The grade stays where the shot started.
    pub grade: f32,
    /// The camera's motion changes smoothly.
    pub smoothness: f32,
}

impl Scores {
    /// The scores with their names, in a fixed order.
    pub fn named(&self) -> [(&'static str, f32); 6] {
        [
            ("subject", self.subject),
            ("background", self.background),
            ("flicker", self.flicker),
            ("boiling", self.boiling),
            ("grade", self.grade),
            ("smoothness", self.smoothness),
        ]
    }

    /// The lowest score.
    pub fn worst(&self) -> (&'static str, f32) {
        self.named().into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(("subject", 1.0))
    }
}

/// Scores below this are problems (`ShotScores::problems`).
pub const PROBLEM_BELOW: f32 = 0.75;
/// Most thumbnails a scorer keeps for the contact sheet.
const SHEET_THUMBNAILS: usize = 48;
/// Thumbnails of the worst frames a scorer keeps.
const WORST_THUMBNAILS: usize = 4;

/// A score below [`PROBLEM_BELOW`], in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// Which score.
    pub metric: &'static str,
    /// Its value for the shot.
    pub value: f32,
    /// Frames where it is below the threshold (up to eight).
    pub frames: Vec<usize>,
    /// One sentence for an editor.
    pub sentence: String,
}

/// What a low score means.
fn meaning(metric: &str) -> &'static str {
    match metric {
        "subject" => "the centre of the frame changes its structure (the subject drifts or is swapped)",
        "background" => "the background changes its structure (the location drifts or is swapped)",
        "flicker" => "brightness or colour jumps between frames",
        "boiling" => "texture crawls from frame to frame where nothing moves",
        "grade" => "the grade drifts away from where the shot started",
        _ => "the camera's motion is jerky",
    }
}

/// A shot's scores, the per-frame curves and the worst frames.
#[derive(Clone, Debug, Serialize)]
pub struct ShotScores {
    /// Frames scored.
    pub frames: usize,
    /// Width and height of the analysis copies.
    pub analysis_size: (u32, u32),
    /// The backend the shot was seen through: `default` or `onnx`.
    pub backend: &'static str,
    /// The shot's scores (means over frames).
    pub scores: Scores,
    /// Per frame (index 0 is the first frame, which scores 1 by definition).
    pub curves: Vec<Scores>,
    /// Up to five frames with the lowest per-frame score, worst first:
    /// (frame, which score, value).
    pub worst_frames: Vec<(usize, &'static str, f32)>,
    /// Analysis copies of frames spread over the shot, for a contact sheet.
    #[serde(skip)]
    pub thumbnails: Vec<(usize, Frame)>,
    /// Analysis copies of the frames that scored worst while scoring.
    #[serde(skip)]
    pub worst_thumbnails: Vec<(usize, Frame)>,
    /// How every frame looks, for matching references and other shots.
    #[serde(skip)]
    pub looks: Vec<FrameLook>,
}

/// How one frame looks: its subject region and its background, and with
/// the model backend its face and embeddings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FrameLook {
    /// Where the characters stand: the middle of the frame, or with the
    /// model backend the people the segmentation finds.
    pub subject: Appearance,
    /// The rest: the location.
    pub background: Appearance,
    /// The most confident face with its hair (model backend only).
    pub face: Option<Appearance>,
    /// Unit embedding of the subject's box (with an embedding model).
    pub subject_embedding: Option<Vec<f32>>,
    /// Unit embedding of the whole frame (with an embedding model).
    pub frame_embedding: Option<Vec<f32>>,
}

impl FrameLook {
    /// The whole frame.
    pub fn whole(&self) -> Appearance {
        Appearance::mean([&self.subject, &self.background]).unwrap_or_default()
    }
}

impl ShotScores {
    /// How the shot looks on average.
    pub fn look(&self) -> FrameLook {
        let mean_embedding = |get: fn(&FrameLook) -> Option<&Vec<f32>>| {
            let all: Vec<&Vec<f32>> = self.looks.iter().filter_map(get).collect();
            let first = all.first()?;
            let mut sum = vec![0.0f32; first.len()];
            for e in &all {
                sum.iter_mut().zip(e.iter()).for_each(|(s, v)| *s += v);
            }
            let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            Some(sum.into_iter().map(|v| v / norm).collect())
        };
        FrameLook {
            subject: Appearance::mean(self.looks.iter().map(|l| &l.subject)).unwrap_or_default(),
            background: Appearance::mean(self.looks.iter().map(|l| &l.background)).unwrap_or_default(),
            face: Appearance::mean(self.looks.iter().filter_map(|l| l.face.as_ref())),
            subject_embedding: mean_embedding(|l| l.subject_embedding.as_ref()),
            frame_embedding: mean_embedding(|l| l.frame_embedding.as_ref()),
        }
    }
}

impl ShotScores {
    /// Every score below [`PROBLEM_BELOW`], with the frames where it is low
    /// and a sentence saying what it means.
    pub fn problems(&self) -> Vec<Problem> {
        self.scores
            .named()
            .into_iter()
            .filter(|(_, value)| *value < PROBLEM_BELOW)
            .map(|(metric, value)| {
                let frames: Vec<usize> = self
                    .curves
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.named().iter().any(|(n, v)| *n == metric && *v < PROBLEM_BELOW))
                    .map(|(i, _)| i)
                    .take(8)
                    .collect();
                let list: Vec<String> = frames.iter().map(usize::to_string).collect();
                let sentence = format!("{metric} {value:.2}: {} (frames {})", meaning(metric), list.join(", "));
                Problem { metric, value, frames, sentence }
            })
            .collect()
    }
}

/// Scores a shot frame by frame. Call [`ShotScorer::push`] for every frame
/// in order (inside [`crate::Runtime::install`] for parallelism), then
/// [`ShotScorer::finish`].
#[derive(Debug, Default)]
pub struct ShotScorer {
    first: Option<Analysis>,
    previous: Option<Analysis>,
    size: Option<(u32, u32)>,
    curves: Vec<Scores>,
    motions: Vec<(f32, f32)>,
    /// The colour shift summed since the first frame.
    drift: [f32; 3],
    /// Every `stride`-th frame's analysis copy (the stride doubles as they fill).
    thumbnails: Vec<(usize, Frame)>,
    stride: usize,
    worst: Vec<(f32, usize, Frame)>,
    looks: Vec<FrameLook>,
    #[cfg(feature = "onnx")]
    models: Option<std::sync::Arc<models::ModelBackend>>,
}

impl ShotScorer {
    /// A scorer for a new shot (default backend).
    pub fn new() -> ShotScorer {
        ShotScorer::default()
    }

    /// A scorer for a new shot that sees frames through `models`: person
    /// regions, faces, and embeddings if an embedding model is loaded.
    #[cfg(feature = "onnx")]
    pub fn with_models(models: std::sync::Arc<models::ModelBackend>) -> ShotScorer {
        ShotScorer { models: Some(models), ..ShotScorer::default() }
    }

    fn lens(&self) -> Lens<'_> {
        #[cfg(feature = "onnx")]
        return Lens { models: self.models.as_deref() };
        #[cfg(not(feature = "onnx"))]
        Lens::default()
    }

    /// Adds the next frame. Every frame of a shot must have the first's size.
    pub fn push(&mut self, frame: &FrameView<'_>) -> Result<()> {
        let index = self.curves.len();
        match self.size {
            None => self.size = Some((frame.width(), frame.height())),
            Some(size) if size != (frame.width(), frame.height()) => {
                return Err(Error::invalid_argument(format!(
                    "frame {index} is {}x{}, but the shot's first frame is {}x{}",
                    frame.width(),
                    frame.height(),
                    size.0,
                    size.1
                )));
            }
            Some(_) => {}
        }
        let current = Analysis::of(frame, &self.lens())?;
        let scores = match (&self.first, &self.previous) {
            (Some(first), Some(previous)) => {
                let pair = FlowPair::compute(&previous.small.view(), &current.small.view(), Mode::Fast)?;
                let backward = pair.backward_full()?;
                let (low, high) = residual_energy(&previous.luma, &current.luma, &backward, &current.texture);
                self.motions.push(features::global_motion(&backward));
                let shift = colour_shift(&previous.small, &current.small, &backward)?;
                for (total, step) in self.drift.iter_mut().zip(shift) {
                    *total += step;
                }
                let drift = self.drift.iter().map(|d| d * d).sum::<f32>().sqrt();
                let (now, first, previous) = (&current.look, &first.look, &previous.look);
                // VBench's form: the mean of the similarity to the first and
                // to the previous frame; with an embedding model, of the
                // embeddings' cosine (VBench's own measure).
                let vbench = |to_first: f32, to_previous: f32| 0.5 * (to_first + to_previous);
                let (subject, background) = match (&now.subject_embedding, &now.frame_embedding) {
                    (Some(s), Some(f)) => (
                        vbench(
                            embedding_cosine(s, &first.subject_embedding),
                            embedding_cosine(s, &previous.subject_embedding),
                        ),
                        vbench(
                            embedding_cosine(f, &first.frame_embedding),
                            embedding_cosine(f, &previous.frame_embedding),
                        ),
                    ),
                    _ => (
                        vbench(similarity(&now.subject, &first.subject), similarity(&now.subject, &previous.subject)),
                        vbench(
                            similarity(&now.background, &first.background),
                            similarity(&now.background, &previous.background),
                        ),
                    ),
                };
                Scores {
                    subject,
                    background,
                    flicker: (-low / FLICKER_SCALE).exp(),
                    boiling: (-(high - BOILING_FLOOR).max(0.0) / BOILING_SCALE).exp(),
                    grade: (-drift / GRADE_SCALE).exp(),
                    smoothness: 1.0,
                }
            }
            _ => Scores { subject: 1.0, background: 1.0, flicker: 1.0, boiling: 1.0, grade: 1.0, smoothness: 1.0 },
        };
        self.keep_thumbnails(index, &scores, &current.small);
        self.looks.push(current.look.clone());
        self.curves.push(scores);
        if self.first.is_none() {
            self.first = Some(current.clone());
        }
        self.previous = Some(current);
        Ok(())
    }

    fn keep_thumbnails(&mut self, index: usize, scores: &Scores, small: &Frame) {
        let stride = self.stride.max(1);
        if index.is_multiple_of(stride) {
            self.thumbnails.push((index, small.clone()));
            if self.thumbnails.len() > SHEET_THUMBNAILS {
                self.stride = stride * 2;
                let keep = self.stride;
                self.thumbnails.retain(|(i, _)| i.is_multiple_of(keep));
            }
        }
        let low = scores.worst().1;
        if index > 0 && (self.worst.len() < WORST_THUMBNAILS || self.worst.iter().any(|(v, _, _)| low < *v)) {
            self.worst.push((low, index, small.clone()));
            self.worst.sort_by(|a, b| a.0.total_cmp(&b.0));
            self.worst.truncate(WORST_THUMBNAILS);
        }
    }

    /// The shot's scores. Fails for fewer than two frames.
    pub fn finish(mut self) -> Result<ShotScores> {
        let backend = self.lens().name();
        let n = self.curves.len();
        if n < 2 {
            return Err(Error::invalid_argument(format!(
                "a shot needs at least two frames to be scored for consistency; it has {n}"
            )));
        }
        // Smoothness per frame from the change of global motion (known once
        // the next pair is in): frame i+1 carries the change between pairs.
        for i in 1..self.motions.len() {
            let (a, b) = (self.motions[i - 1], self.motions[i]);
            let change = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            let size = 0.5 * ((a.0.hypot(a.1)) + (b.0.hypot(b.1))) + 1.0;
            self.curves[i + 1].smoothness = (-(change / size) / SMOOTHNESS_SCALE).exp();
        }
        let mean = |f: fn(&Scores) -> f32| self.curves[1..].iter().map(f).sum::<f32>() / (n - 1) as f32;
        let scores = Scores {
            subject: mean(|s| s.subject),
            background: mean(|s| s.background),
            flicker: mean(|s| s.flicker),
            boiling: mean(|s| s.boiling),
            grade: mean(|s| s.grade),
            smoothness: mean(|s| s.smoothness),
        };
        let mut worst: Vec<(usize, &'static str, f32)> =
            self.curves.iter().enumerate().skip(1).map(|(i, s)| (i, s.worst().0, s.worst().1)).collect();
        worst.sort_by(|a, b| a.2.total_cmp(&b.2));
        worst.truncate(5);
        let size = self.first.as_ref().map(|a| (a.small.width(), a.small.height())).unwrap_or_default();
        let worst_thumbnails = self.worst.into_iter().map(|(_, i, f)| (i, f)).collect();
        Ok(ShotScores {
            frames: n,
            analysis_size: size,
            backend,
            scores,
            curves: self.curves,
            worst_frames: worst,
            thumbnails: self.thumbnails,
            worst_thumbnails,
            looks: self.looks,
        })
    }
}

/// The cosine of two unit embeddings, clamped to [0, 1] (0 when one is missing).
pub(crate) fn embedding_cosine(a: &[f32], b: &Option<Vec<f32>>) -> f32 {
    b.as_ref().map_or(0.0, |b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>().clamp(0.0, 1.0))
}

/// The scores of the last of `frames` (the shot's first, the previous and
/// the current frame; or the first alone), with the reference scores when
/// there are references, as (name, value) pairs: how a host that renders
/// one frame at a time (OFX) shows a shot's consistency frame by frame.
/// Smoothness needs a run of frames and is left out; a frame alone scores 1
/// on every in-shot score.
pub fn score_frame_in_shot(frames: &[&Frame], refs: Option<&References>) -> Result<Vec<(&'static str, f32)>> {
    if frames.len() < 2 {
        let mut all: Vec<(&str, f32)> =
            vec![("subject", 1.0), ("background", 1.0), ("flicker", 1.0), ("boiling", 1.0), ("grade", 1.0)];
        if let Some(refs) = refs {
            let mut scorer = ShotScorer::new();
            scorer.push(&frames[0].view())?;
            scorer.push(&frames[0].view())?;
            let shot = scorer.finish()?;
            let matched = refs.score(&shot, &refs.unnamed_expectation());
            all.extend(matched.named());
        }
        return Ok(all);
    }
    let mut scorer = ShotScorer::new();
    for f in frames {
        scorer.push(&f.view())?;
    }
    let shot = scorer.finish()?;
    let last = shot.curves.last().copied().unwrap_or_default();
    // Smoothness needs a run of frames; a frame on its own does not show it.
    let mut all: Vec<(&str, f32)> = last.named().into_iter().filter(|(n, _)| *n != "smoothness").collect();
    if let Some(refs) = refs {
        let matched = refs.score(&shot, &refs.unnamed_expectation());
        let frame = matched.curves.last().copied().unwrap_or_default();
        for (name, value) in [
            ("character", frame.character),
            ("location", frame.location),
            ("grade match", frame.grade),
            ("style match", frame.style),
        ] {
            if let Some(v) = value {
                all.push((name, v));
            }
        }
    }
    Ok(all)
}

/// Scores every frame of a shot held in memory.
pub fn score_frames(frames: &[Frame]) -> Result<ShotScores> {
    let mut scorer = ShotScorer::new();
    for frame in frames {
        scorer.push(&frame.view())?;
    }
    scorer.finish()
}
