//! Shots against references: a character sheet (images of each
//! character), location references, an optional look reference, and what
//! each shot should contain, read from a `refs.toml`:
//!
//! ```toml
//! look = ["grade/hero_look.png"]          # optional: the intended grade and style
//!
//! [characters]
//! mira = ["sheet/mira_front.png", "sheet/mira_side.png"]
//!
//! [locations]
//! kitchen = ["locations/kitchen.png"]
//!
//! [shots]
//! "shot01.mp4" = { characters = ["mira"], location = "kitchen" }
//! ```
//!
//! Paths are relative to the file. A shot is found by its file name (or a
//! longer tail of its path). Scores follow VBench's image-to-video form:
//! per frame, the similarity to the best-matching reference image; over the
//! shot, `0.4 * max + 0.3 * mean + 0.3 * min`, so one bad stretch pulls a
//! shot down even when most of it matches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::appearance::{Appearance, Likeness, grade_difference, style_distance};
use super::features::Analysis;
use super::lens::Lens;
use super::{FrameLook, PROBLEM_BELOW, ShotScores};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::shot::ReferenceKind;

/// Combined distance ([`Likeness::distance`]) at which similarity is 1/e;
/// unrelated pictures sit near 1 and score near 0 (`docs/BENCHMARKS.md`).
pub const SIMILARITY_SCALE: f32 = 0.5;
/// Delta E (CIE76, mean colour and spread) at which grade match is 1/e.
pub const GRADE_MATCH_SCALE: f32 = 12.0;
/// Style distance at which style match is 1/e.
pub const STYLE_MATCH_SCALE: f32 = 0.35;

/// The calibrated similarity of two appearances, in [0, 1].
pub fn similarity(a: &Appearance, b: &Appearance) -> f32 {
    let d = Likeness::of(a, b).distance() / SIMILARITY_SCALE;
    (-d * d).exp()
}

/// How much a frame's subject looks like a character reference: the
/// subject regions, and where both show a face, the faces as much.
pub fn character_similarity(frame: &FrameLook, reference: &FrameLook) -> f32 {
    let subject = similarity(&frame.subject, &reference.subject);
    match (&frame.face, &reference.face) {
        (Some(a), Some(b)) => 0.5 * subject + 0.5 * similarity(a, b),
        _ => subject,
    }
}

/// Grade match of two appearances, in [0, 1].
pub fn grade_match(a: &Appearance, b: &Appearance) -> f32 {
    (-grade_difference(a, b).0 / GRADE_MATCH_SCALE).exp()
}

/// Style match of two appearances, in [0, 1].
pub fn style_match(a: &Appearance, b: &Appearance) -> f32 {
    (-style_distance(a, b) / STYLE_MATCH_SCALE).exp()
}

/// VBench's image-to-video aggregate over frames.
fn vbench_i2v(values: &[f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let max = values.iter().copied().fold(f32::MIN, f32::max);
    let min = values.iter().copied().fold(f32::MAX, f32::min);
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    0.4 * max + 0.3 * mean + 0.3 * min
}

/// One reference image, described.
#[derive(Clone, Debug)]
pub struct ReferenceImage {
    /// Where it was read from.
    pub path: PathBuf,
    /// How it looks.
    pub look: FrameLook,
    /// Its analysis copy, for reports.
    pub thumbnail: Frame,
}

impl ReferenceImage {
    /// Describes `frame`, read from `path`, with the default backend.
    pub fn describe(path: &Path, frame: &Frame) -> Result<ReferenceImage> {
        ReferenceImage::describe_with(path, frame, &Lens::default())
    }

    /// Describes `frame` as `lens` sees it (the backend shots are scored with).
    pub(crate) fn describe_with(path: &Path, frame: &Frame, lens: &Lens<'_>) -> Result<ReferenceImage> {
        let analysis = Analysis::of(&frame.view(), lens)?;
        Ok(ReferenceImage { path: path.to_owned(), look: analysis.look, thumbnail: analysis.small })
    }
}

/// What a shot should contain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Characters in the shot (names from `[characters]`).
    #[serde(default)]
    pub characters: Vec<String>,
    /// The shot's location (a name from `[locations]`).
    #[serde(default)]
    pub location: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefsFile {
    #[serde(default)]
    look: Vec<PathBuf>,
    #[serde(default)]
    characters: BTreeMap<String, Vec<PathBuf>>,
    #[serde(default)]
    locations: BTreeMap<String, Vec<PathBuf>>,
    #[serde(default)]
    shots: BTreeMap<String, Expectation>,
}

/// A character sheet, location references and each shot's expectations.
#[derive(Clone, Debug, Default)]
pub struct References {
    /// Each character's images.
    pub characters: BTreeMap<String, Vec<ReferenceImage>>,
    /// Each location's images.
    pub locations: BTreeMap<String, Vec<ReferenceImage>>,
    /// Images of the intended grade and style (may be empty).
    pub look: Vec<ReferenceImage>,
    /// What each shot should contain, by file name or path tail.
    pub shots: BTreeMap<String, Expectation>,
}

/// The name of references given without one.
const UNNAMED: &str = "reference";

impl References {
    /// Adds `image` as an unnamed reference of `kind` (a
    /// [`ReferenceKind::Style`] image is a look): how hosts that take
    /// reference frames without a `refs.toml` (the C ABI, the OFX Reference
    /// clip) build their references. Score shots against them with
    /// [`References::unnamed_expectation`].
    pub fn add_unnamed(&mut self, kind: ReferenceKind, image: ReferenceImage) {
        match kind {
            ReferenceKind::Character => self.characters.entry(UNNAMED.to_owned()).or_default().push(image),
            ReferenceKind::Location => self.locations.entry(UNNAMED.to_owned()).or_default().push(image),
            ReferenceKind::Style => self.look.push(image),
        }
    }

    /// What a shot scored against unnamed references should contain: the
    /// unnamed character and location, where there are any.
    pub fn unnamed_expectation(&self) -> Expectation {
        Expectation {
            characters: self.characters.contains_key(UNNAMED).then(|| UNNAMED.to_owned()).into_iter().collect(),
            location: self.locations.contains_key(UNNAMED).then(|| UNNAMED.to_owned()),
        }
    }

    /// Reference images held, of every kind.
    pub fn image_count(&self) -> usize {
        self.characters.values().chain(self.locations.values()).map(Vec::len).sum::<usize>() + self.look.len()
    }

    /// Reads a `refs.toml`, loading every image through `load` (which
    /// decodes one image file), for shots scored with the default backend.
    pub fn load(path: &Path, load: impl FnMut(&Path) -> Result<Frame>) -> Result<References> {
        References::load_with(path, load, &Lens::default())
    }

    /// As [`References::load`], for shots scored with the model backend.
    #[cfg(feature = "onnx")]
    pub fn load_with_models(
        path: &Path,
        load: impl FnMut(&Path) -> Result<Frame>,
        models: &super::models::ModelBackend,
    ) -> Result<References> {
        References::load_with(path, load, &Lens { models: Some(models) })
    }

    fn load_with(path: &Path, load: impl FnMut(&Path) -> Result<Frame>, lens: &Lens<'_>) -> Result<References> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the references", e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        References::parse_with(&text, base, load, lens).map_err(|e| e.context(path.display()))
    }

    /// Parses the text of a `refs.toml` whose image paths are relative to
    /// `base` (default backend).
    pub fn parse(text: &str, base: &Path, load: impl FnMut(&Path) -> Result<Frame>) -> Result<References> {
        References::parse_with(text, base, load, &Lens::default())
    }

    /// As [`References::parse`], for shots scored with the model backend.
    #[cfg(feature = "onnx")]
    pub fn parse_with_models(
        text: &str,
        base: &Path,
        load: impl FnMut(&Path) -> Result<Frame>,
        models: &super::models::ModelBackend,
    ) -> Result<References> {
        References::parse_with(text, base, load, &Lens { models: Some(models) })
    }

    fn parse_with(
        text: &str,
        base: &Path,
        mut load: impl FnMut(&Path) -> Result<Frame>,
        lens: &Lens<'_>,
    ) -> Result<References> {
        let file: RefsFile =
            toml::from_str(text).map_err(|e| Error::invalid_argument(format!("not a valid references file: {e}")))?;
        let mut read = |what: &str, paths: &[PathBuf]| -> Result<Vec<ReferenceImage>> {
            if paths.is_empty() {
                return Err(Error::invalid_argument(format!("{what} has no images; list at least one")));
            }
            paths
                .iter()
                .map(|p| {
                    let full = base.join(p);
                    let frame = load(&full).map_err(|e| e.context(format!("{what}: {}", full.display())))?;
                    ReferenceImage::describe_with(&full, &frame, lens)
                        .map_err(|e| e.context(format!("{what}: {}", full.display())))
                })
                .collect()
        };
        let mut refs = References::default();
        for (name, paths) in &file.characters {
            refs.characters.insert(name.clone(), read(&format!("character \"{name}\""), paths)?);
        }
        for (name, paths) in &file.locations {
            refs.locations.insert(name.clone(), read(&format!("location \"{name}\""), paths)?);
        }
        if !file.look.is_empty() {
            refs.look = read("look", &file.look)?;
        }
        for (shot, expectation) in &file.shots {
            for name in &expectation.characters {
                if !refs.characters.contains_key(name) {
                    return Err(Error::invalid_argument(format!(
                        "shot \"{shot}\" names character \"{name}\", which [characters] does not list"
                    )));
                }
            }
            if let Some(name) = &expectation.location
                && !refs.locations.contains_key(name)
            {
                return Err(Error::invalid_argument(format!(
                    "shot \"{shot}\" names location \"{name}\", which [locations] does not list"
                )));
            }
        }
        refs.shots = file.shots;
        Ok(refs)
    }

    /// What the shot at `path` should contain: the entry whose key is the
    /// longest tail of `path`.
    pub fn expectation(&self, path: &Path) -> Option<&Expectation> {
        self.shots
            .iter()
            .filter(|(key, _)| path.ends_with(Path::new(key.as_str())))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, e)| e)
    }

    /// The images grade and style are matched against: the look
    /// reference, else the shot's location.
    fn look_images<'a>(&'a self, expectation: &Expectation) -> &'a [ReferenceImage] {
        if !self.look.is_empty() {
            return &self.look;
        }
        expectation.location.as_ref().and_then(|l| self.locations.get(l)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Scores `shot` against what `expectation` says it contains.
    pub fn score(&self, shot: &ShotScores, expectation: &Expectation) -> ReferenceScores {
        let mut curves = vec![FrameMatch::default(); shot.looks.len()];
        let mut characters = BTreeMap::new();
        for name in &expectation.characters {
            let Some(images) = self.characters.get(name) else { continue };
            let per_frame: Vec<(f32, usize)> =
                shot.looks.iter().map(|look| best(images, |r| character_similarity(look, &r.look))).collect();
            for (curve, (value, _)) in curves.iter_mut().zip(&per_frame) {
                curve.character = Some(curve.character.map_or(*value, |c: f32| c.min(*value)));
            }
            characters.insert(name.clone(), matched(&per_frame, images));
        }
        let location = expectation.location.as_ref().and_then(|name| self.locations.get(name)).map(|images| {
            let per_frame: Vec<(f32, usize)> = shot
                .looks
                .iter()
                .map(|look| best(images, |r| similarity(&look.background, &r.look.background)))
                .collect();
            for (curve, (value, _)) in curves.iter_mut().zip(&per_frame) {
                curve.location = Some(*value);
            }
            matched(&per_frame, images)
        });
        let looks = self.look_images(expectation);
        let (grade, style) = if looks.is_empty() {
            (None, None)
        } else {
            let wholes: Vec<Appearance> = looks.iter().map(|r| r.look.whole()).collect();
            let mut grades = Vec::with_capacity(shot.looks.len());
            let mut styles = Vec::with_capacity(shot.looks.len());
            for (curve, look) in curves.iter_mut().zip(&shot.looks) {
                let whole = look.whole();
                let g = wholes.iter().map(|r| grade_match(r, &whole)).fold(0.0, f32::max);
                let s = wholes.iter().map(|r| style_match(r, &whole)).fold(0.0, f32::max);
                curve.grade = Some(g);
                curve.style = Some(s);
                grades.push(g);
                styles.push(s);
            }
            (Some(vbench_i2v(&grades)), Some(vbench_i2v(&styles)))
        };
        let character =
            (!characters.is_empty()).then(|| characters.values().map(|m: &Match| m.score).fold(f32::MAX, f32::min));
        ReferenceScores { character, characters, location, grade, style, curves }
    }
}

/// The best value of `f` over `images`, and which image gave it.
fn best(images: &[ReferenceImage], f: impl Fn(&ReferenceImage) -> f32) -> (f32, usize) {
    images.iter().enumerate().map(|(i, r)| (f(r), i)).fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

fn matched(per_frame: &[(f32, usize)], images: &[ReferenceImage]) -> Match {
    let values: Vec<f32> = per_frame.iter().map(|(v, _)| *v).collect();
    let (worst_frame, &(worst_value, image)) =
        per_frame.iter().enumerate().min_by(|a, b| a.1.0.total_cmp(&b.1.0)).unwrap_or((0, &(0.0, 0)));
    Match {
        score: vbench_i2v(&values),
        worst_frame,
        worst_value,
        reference: images.get(image).map(|r| r.path.clone()).unwrap_or_default(),
    }
}

/// How well a shot matches one character or location.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    /// VBench image-to-video aggregate of the per-frame similarity.
    pub score: f32,
    /// The frame that matches least.
    pub worst_frame: usize,
    /// Its similarity.
    pub worst_value: f32,
    /// The reference image that frame came closest to.
    pub reference: PathBuf,
}

/// One frame against the references (None where the shot expects nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct FrameMatch {
    /// The least-matching expected character.
    pub character: Option<f32>,
    /// The location.
    pub location: Option<f32>,
    /// Grade against the look (or location) references.
    pub grade: Option<f32>,
    /// Style against the look (or location) references.
    pub style: Option<f32>,
}

/// A shot against its references; each score in [0, 1], higher is better,
/// `None` where `refs.toml` gives nothing to compare with.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReferenceScores {
    /// The least-matching expected character's score.
    pub character: Option<f32>,
    /// Every expected character.
    pub characters: BTreeMap<String, Match>,
    /// The expected location.
    pub location: Option<Match>,
    /// Grade match (Lab statistics).
    pub grade: Option<f32>,
    /// Style match (contrast, colourfulness, sharpness, texture).
    pub style: Option<f32>,
    /// Per frame.
    pub curves: Vec<FrameMatch>,
}

impl ReferenceScores {
    /// Every character and location match, named ("character \"mira\"").
    pub fn matches(&self) -> Vec<(String, &Match)> {
        let mut out: Vec<(String, &Match)> =
            self.characters.iter().map(|(name, m)| (format!("character \"{name}\""), m)).collect();
        if let Some(m) = &self.location {
            out.push(("location".to_owned(), m));
        }
        out
    }

    /// A sentence for every score below [`PROBLEM_BELOW`].
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .matches()
            .into_iter()
            .filter(|(_, m)| m.score < PROBLEM_BELOW)
            .map(|(what, m)| {
                format!(
                    "{what} {:.2}: the shot does not look like its reference; frame {} is least like {} ({:.2})",
                    m.score,
                    m.worst_frame,
                    m.reference.display(),
                    m.worst_value
                )
            })
            .collect();
        for (what, value, meaning) in [
            ("grade match", self.grade, "the colours (Lab means and spreads) differ from the look reference"),
            ("style match", self.style, "contrast, colourfulness, sharpness or texture differ from the look reference"),
        ] {
            if let Some(v) = value.filter(|v| *v < PROBLEM_BELOW) {
                out.push(format!("{what} {v:.2}: {meaning}"));
            }
        }
        out
    }

    /// The scores with their names, where there are any.
    pub fn named(&self) -> Vec<(&'static str, f32)> {
        [
            ("character", self.character),
            ("location", self.location.as_ref().map(|m| m.score)),
            ("grade match", self.grade),
            ("style match", self.style),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }
}
