//! The model backend (cargo feature `onnx`): ONNX models through ONNX
//! Runtime, loaded at run time (`libonnxruntime.so`, as the PyPI
//! `onnxruntime` wheel carries it), never linked.
//!
//! - **Person segmentation** (MediaPipe selfie, `selfie.onnx`): the subject
//!   region becomes the person instead of the middle of the frame. Loaded
//!   alone ([`PersonSegmenter`]) it is the compositor's person matte.
//! - **Face detection** (MediaPipe BlazeFace, back-camera variant,
//!   `blazeface.onnx`): the face (with hair) is described on its own and
//!   counts in character match.
//! - **An image-embedding model** the user supplies (DINOv2 or CLIP exported
//!   to ONNX, NCHW float input): subject and background consistency become
//!   VBench's own form, the cosine of embeddings.
//!
//! Both MediaPipe models take 256 x 256 RGB; frames are letterboxed into
//! that square so faces keep their shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ort::session::Session;
use ort::value::Tensor;
use parking_lot::Mutex;

use super::ANALYSIS_WIDTH;
use crate::composite::PersonModel;
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView};
use crate::pixels::plane::Plane;
use crate::pixels::resize::area_downscale;

/// Side of the MediaPipe models' square input.
const SIDE: usize = 256;
/// BlazeFace scores below this are not faces.
const FACE_MIN_SCORE: f32 = 0.6;

/// Where the model backend's files are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelFiles {
    /// `libonnxruntime.so`; `None` looks in `$MATTEBOX_ONNXRUNTIME`, then
    /// lets the system loader find `libonnxruntime.so`.
    pub library: Option<PathBuf>,
    /// The selfie segmentation model.
    pub segmentation: PathBuf,
    /// The BlazeFace model.
    pub faces: PathBuf,
    /// An optional image-embedding model.
    pub embedding: Option<PathBuf>,
}

impl ModelFiles {
    /// `selfie.onnx` and `blazeface.onnx` in `dir`.
    pub fn in_dir(dir: &Path) -> ModelFiles {
        ModelFiles {
            library: None,
            segmentation: dir.join("selfie.onnx"),
            faces: dir.join("blazeface.onnx"),
            embedding: None,
        }
    }
}

/// A face found in a frame, in the frame's pixel coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceBox {
    /// Centre.
    pub x: f32,
    /// Centre.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Detector confidence, 0..1.
    pub score: f32,
}

/// An embedding model and the input it wants.
#[derive(Debug)]
struct Embedder {
    session: Mutex<Session>,
    input: String,
    side: usize,
}

/// The person segmentation model's file name, as the models directory
/// holds it.
pub const PERSON_MODEL: &str = "selfie.onnx";

/// The person segmentation model alone: what a person matte needs.
/// Calls from several threads take turns.
#[derive(Debug)]
pub struct PersonSegmenter {
    path: PathBuf,
    session: Mutex<Session>,
    input: String,
}

impl PersonSegmenter {
    /// The person model's file: [`PERSON_MODEL`] in `dir` when given, else
    /// in `$MATTEBOX_MODELS`, else in `$XDG_DATA_HOME/mattebox/models`
    /// (`~/.local/share/mattebox/models`, where plugin hosts without an
    /// environment of their own look) if it is there; an error saying
    /// where to put it otherwise.
    pub fn find(dir: Option<&Path>) -> Result<PathBuf> {
        if let Some(dir) = dir {
            return Ok(dir.join(PERSON_MODEL));
        }
        if let Some(dir) = std::env::var_os("MATTEBOX_MODELS").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(dir).join(PERSON_MODEL));
        }
        let default = crate::runtime::data_dir("models").map(|d| d.join(PERSON_MODEL));
        match default {
            Some(path) if path.is_file() => Ok(path),
            _ => Err(Error::unsupported(format!(
                "a person matte needs the person segmentation model ({PERSON_MODEL}, MediaPipe's selfie \
                 segmentation as ONNX; the shared models directory has it): name its directory with \
                 `--models DIR` on the command line or MATTEBOX_MODELS, or copy it to {}",
                default.map(|p| p.display().to_string()).unwrap_or_else(|| "~/.local/share/mattebox/models/".into())
            ))),
        }
    }

    /// The model [`PersonSegmenter::find`] names for `dir`, loaded once per
    /// process ([`PersonSegmenter::shared`]) with ONNX Runtime from
    /// `library` (else as [`ModelFiles::library`] says): what every host's
    /// person matte uses.
    pub fn found(dir: Option<&Path>, library: Option<&Path>) -> Result<Arc<PersonSegmenter>> {
        PersonSegmenter::shared(&PersonSegmenter::find(dir)?, library)
    }

    /// The model at `model`, loaded once per process (hosts make a
    /// compositor per shot, and plugin hosts one per instance).
    pub fn shared(model: &Path, library: Option<&Path>) -> Result<Arc<PersonSegmenter>> {
        static LOADED: Mutex<Vec<Arc<PersonSegmenter>>> = Mutex::new(Vec::new());
        let mut loaded = LOADED.lock();
        if let Some(segmenter) = loaded.iter().find(|s| s.path == model) {
            return Ok(segmenter.clone());
        }
        let segmenter = Arc::new(PersonSegmenter::load(library, model)?);
        loaded.push(segmenter.clone());
        Ok(segmenter)
    }

    /// Loads ONNX Runtime (`library`, else as [`ModelFiles::library`] says)
    /// and the selfie segmentation model at `model`, checking its input.
    pub fn load(library: Option<&Path>, model: &Path) -> Result<PersonSegmenter> {
        // A missing model is said before the runtime is looked for: a user
        // with neither learns of the model first, not after fixing the other.
        std::fs::metadata(model).map_err(|e| Error::io(model, "read the person segmentation model", e))?;
        let env = crate::onnx::environment(library)?;
        let side = SIDE as i64;
        let (session, input) = crate::onnx::open(env, "person segmentation", model, &[1, side, side, 3], 1)?;
        Ok(PersonSegmenter { path: model.to_path_buf(), session: Mutex::new(session), input })
    }

    /// The person probability (0..1) at every pixel of `small`.
    fn mask(&self, small: &Frame) -> Result<Plane> {
        let (input, fit) = letterbox(small, |v| v)?;
        let mut session = self.session.lock();
        let outputs = session
            .run(ort::inputs![self.input.as_str() => input])
            .map_err(|e| Error::media(format!("person segmentation failed: {e}")))?;
        let (_, mask) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| Error::media(format!("person segmentation gave no float mask: {e}")))?;
        if mask.len() != SIDE * SIDE {
            return Err(Error::media(format!("person segmentation gave {} values, not {}", mask.len(), SIDE * SIDE)));
        }
        let (w, h) = (small.width() as usize, small.height() as usize);
        let mut out = Plane::new(w, h)?;
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = fit.frame_to_square(x as f32 + 0.5, y as f32 + 0.5);
                let (ix, iy) = ((sx as usize).min(SIDE - 1), (sy as usize).min(SIDE - 1));
                out.data[y * w + x] = mask[iy * SIDE + ix].clamp(0.0, 1.0);
            }
        }
        Ok(out)
    }
}

impl PersonModel for PersonSegmenter {
    fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
        Ok(self.mask(small)?.data)
    }
}

/// Loaded models. Calls from several threads take turns per model.
#[derive(Debug)]
pub struct ModelBackend {
    segmentation: PersonSegmenter,
    faces: Mutex<Session>,
    faces_input: String,
    embedder: Option<Embedder>,
}

impl ModelBackend {
    /// Loads ONNX Runtime and the models, checking each model's input.
    pub fn load(files: &ModelFiles) -> Result<ModelBackend> {
        let env = crate::onnx::environment(files.library.as_deref())?;
        // One thread per session: the models are small, and ONNX Runtime's
        // own spinning pool would fight rayon's for the same cores; the two
        // models run side by side on rayon instead.
        let threads = 1;
        let side = SIDE as i64;
        let segmentation = PersonSegmenter::load(files.library.as_deref(), &files.segmentation)?;
        let (faces, faces_input) =
            crate::onnx::open(env, "face detection", &files.faces, &[1, side, side, 3], threads)?;
        let embedder = match &files.embedding {
            Some(path) => {
                let (session, input) = crate::onnx::open(env, "image embedding", path, &[1, 3, -1, -1], threads)?;
                let dims: Vec<i64> = session.inputs()[0].dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
                let side = match (dims[2], dims[3]) {
                    (h, w) if h == w && h > 0 => h as usize,
                    (-1, -1) => 224,
                    (h, w) => {
                        return Err(Error::invalid_argument(format!(
                            "{}: the image embedding model wants {h}x{w}; Mattebox feeds square images",
                            path.display()
                        )));
                    }
                };
                Some(Embedder { session: Mutex::new(session), input, side })
            }
            None => None,
        };
        Ok(ModelBackend { segmentation, faces: Mutex::new(faces), faces_input, embedder })
    }

    /// The most confident face in `frame` (any size and format), in its
    /// pixel coordinates.
    pub fn find_face(&self, frame: &FrameView<'_>) -> Result<Option<FaceBox>> {
        let small = area_downscale(frame, ANALYSIS_WIDTH)?;
        let scale = frame.width() as f32 / small.width() as f32;
        Ok(self.face(&small)?.map(|f| FaceBox {
            x: f.x * scale,
            y: f.y * scale,
            width: f.width * scale,
            height: f.height * scale,
            score: f.score,
        }))
    }

    /// The person probability of `frame` (any size and format) on its
    /// analysis copy: (width, height, row-major values in 0..1).
    pub fn person_probability(&self, frame: &FrameView<'_>) -> Result<(u32, u32, Vec<f32>)> {
        let small = area_downscale(frame, ANALYSIS_WIDTH)?;
        let mask = self.person_mask(&small)?;
        Ok((small.width(), small.height(), mask.data))
    }

    /// Whether an embedding model is loaded.
    pub fn has_embedder(&self) -> bool {
        self.embedder.is_some()
    }

    /// The person probability (0..1) at every pixel of `small`.
    pub(crate) fn person_mask(&self, small: &Frame) -> Result<Plane> {
        self.segmentation.mask(small)
    }

    /// The most confident face in `small`, if any.
    pub(crate) fn face(&self, small: &Frame) -> Result<Option<FaceBox>> {
        let (input, fit) = letterbox(small, |v| v * 2.0 - 1.0)?;
        let mut session = self.faces.lock();
        let outputs = session
            .run(ort::inputs![self.faces_input.as_str() => input])
            .map_err(|e| Error::media(format!("face detection failed: {e}")))?;
        // Outputs by shape: scores [1, n, 1] and boxes [1, n, 16] for the
        // 16 x 16 x 2 and the 8 x 8 x 6 anchor layers.
        let mut scores: Vec<(usize, Vec<f32>)> = Vec::new();
        let mut boxes: Vec<(usize, Vec<f32>)> = Vec::new();
        for (_, value) in outputs.iter() {
            let (shape, data) =
                value.try_extract_tensor::<f32>().map_err(|e| Error::media(format!("face detection output: {e}")))?;
            match shape.as_ref() {
                [1, n, 1] => scores.push((*n as usize, data.to_vec())),
                [1, n, 16] => boxes.push((*n as usize, data.to_vec())),
                other => return Err(Error::media(format!("face detection gave an output of shape {other:?}"))),
            }
        }
        let mut best: Option<FaceBox> = None;
        for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
            let n = grid * grid * per_cell;
            let (Some((_, s)), Some((_, b))) =
                (scores.iter().find(|(k, _)| *k == n), boxes.iter().find(|(k, _)| *k == n))
            else {
                return Err(Error::media(format!("face detection lacks the {grid}x{grid} anchor layer ({n} anchors)")));
            };
            for anchor in 0..n {
                let score = 1.0 / (1.0 + (-s[anchor].clamp(-80.0, 80.0)).exp());
                if score < FACE_MIN_SCORE || best.is_some_and(|f| f.score >= score) {
                    continue;
                }
                let cell = anchor / per_cell;
                let (ax, ay) = (((cell % grid) as f32 + 0.5) / grid as f32, ((cell / grid) as f32 + 0.5) / grid as f32);
                let r = &b[anchor * 16..anchor * 16 + 4];
                let (cx, cy) = (ax * SIDE as f32 + r[0], ay * SIDE as f32 + r[1]);
                let (x, y) = fit.square_to_frame(cx, cy);
                best = Some(FaceBox { x, y, width: r[2] / fit.scale, height: r[3] / fit.scale, score });
            }
        }
        Ok(best)
    }

    /// The embedding of the part of `small` inside (`x0`, `y0`)-(`x1`, `y1`),
    /// unit length; `None` without an embedding model.
    pub(crate) fn embed(&self, small: &Frame, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Result<Option<Vec<f32>>> {
        let Some(embedder) = &self.embedder else { return Ok(None) };
        let side = embedder.side;
        let pixels = small.as_bytes();
        let (w, h) = (small.width() as usize, small.height() as usize);
        // ImageNet normalisation, as DINOv2 and (near enough) CLIP expect.
        const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
        const STD: [f32; 3] = [0.229, 0.224, 0.225];
        let mut data = vec![0.0f32; 3 * side * side];
        for y in 0..side {
            for x in 0..side {
                let sx = (x0 + (x as f32 + 0.5) / side as f32 * (x1 - x0)) as usize;
                let sy = (y0 + (y as f32 + 0.5) / side as f32 * (y1 - y0)) as usize;
                let p = (sy.min(h - 1) * w + sx.min(w - 1)) * 4;
                for c in 0..3 {
                    data[c * side * side + y * side + x] = (pixels[p + c] as f32 / 255.0 - MEAN[c]) / STD[c];
                }
            }
        }
        let input = Tensor::from_array(([1usize, 3, side, side], data))
            .map_err(|e| Error::media(format!("embedding input: {e}")))?;
        let mut session = embedder.session.lock();
        let outputs = session
            .run(ort::inputs![embedder.input.as_str() => input])
            .map_err(|e| Error::media(format!("the image embedding model failed: {e}")))?;
        let (_, values) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| Error::media(format!("the image embedding model gave no float output: {e}")))?;
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        Ok(Some(values.iter().map(|v| v / norm).collect()))
    }
}

/// How a frame sits in the square input: scale and offsets.
#[derive(Clone, Copy, Debug)]
struct Fit {
    scale: f32,
    dx: f32,
    dy: f32,
}

impl Fit {
    fn frame_to_square(self, x: f32, y: f32) -> (f32, f32) {
        (x * self.scale + self.dx, y * self.scale + self.dy)
    }

    fn square_to_frame(self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.dx) / self.scale, (y - self.dy) / self.scale)
    }
}

/// `small` scaled to fit SIDE x SIDE, centred on black, as NHWC float RGB
/// with `map` applied to 0..1 values.
fn letterbox(small: &Frame, map: impl Fn(f32) -> f32) -> Result<(Tensor<f32>, Fit)> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let scale = SIDE as f32 / w.max(h) as f32;
    let fit = Fit { scale, dx: (SIDE as f32 - w as f32 * scale) / 2.0, dy: (SIDE as f32 - h as f32 * scale) / 2.0 };
    let pixels = small.as_bytes();
    let black = map(0.0);
    let mut data = vec![black; SIDE * SIDE * 3];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (sx, sy) = fit.square_to_frame(x as f32 + 0.5, y as f32 + 0.5);
            if sx < 0.0 || sy < 0.0 || sx >= w as f32 || sy >= h as f32 {
                continue;
            }
            let p = (sy as usize * w + sx as usize) * 4;
            for c in 0..3 {
                data[(y * SIDE + x) * 3 + c] = map(pixels[p + c] as f32 / 255.0);
            }
        }
    }
    let tensor = Tensor::from_array(([1usize, SIDE, SIDE, 3], data))
        .map_err(|e| Error::internal(format!("model input tensor: {e}")))?;
    Ok((tensor, fit))
}
