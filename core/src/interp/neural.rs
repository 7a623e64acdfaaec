//! Neural interpolation ([`Mode::Neural`](super::Mode::Neural)): RIFE run
//! through ONNX Runtime (feature `onnx`; the library is loaded at run time).
//!
//! The model file is made once from RIFE's published weights by
//! `core/models/rife_to_onnx.py` (`.ci/setup` does it): `rife-4.onnx` (the
//! 4.x IFNet, any t; the default) or `rife-hdv3.onnx` (ECCV2022-RIFE's
//! HDv3, halfway frames only). Each model file says in its metadata which
//! model it is and the multiple its input sides are padded to, so the host
//! feeds it exactly as the weights' own harness does (zero padding, RGB in
//! 0..1) and its output equals theirs; `core/tests/neural.rs` checks that
//! against frames the reference PyTorch code made.
//!
//! A model is found from [`NeuralSettings::model`], else
//! `$MATTEBOX_RIFE_MODEL`, else `rife-4.onnx` in
//! `$XDG_DATA_HOME/mattebox/models` (`~/.local/share/mattebox/models`), the
//! place plugin hosts without an environment of their own look. Loaded
//! models are shared by the whole process ([`NeuralModel::shared`]).

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::frame::{FrameView, FrameViewMut};

/// How neural interpolation finds and runs its model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NeuralSettings {
    /// The RIFE model (`.onnx` made by `core/models/rife_to_onnx.py`);
    /// `None` looks where the module documentation says.
    pub model: Option<PathBuf>,
    /// `libonnxruntime.so`; `None` looks in `$MATTEBOX_ONNXRUNTIME`, then
    /// lets the system loader find it.
    pub library: Option<PathBuf>,
    /// RIFE's `scale`: the flow is estimated at this fraction of the
    /// frame's resolution (1, 0.5 or 0.25). `None` takes 1 up to 2560 x
    /// 1440 and 0.5 above, as RIFE's authors advise for 4K: faster, less
    /// memory, and large motion stays within the coarsest level's reach.
    pub scale: Option<f32>,
}

/// The file name the setup writes and hosts look for.
pub const DEFAULT_MODEL: &str = "rife-4.onnx";

impl NeuralSettings {
    /// The model file these settings name, or the default one if it
    /// exists; an error saying how to make one otherwise.
    pub fn model_path(&self) -> Result<PathBuf> {
        if let Some(path) = &self.model {
            return Ok(path.clone());
        }
        if let Some(path) = std::env::var_os("MATTEBOX_RIFE_MODEL").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        let default = crate::runtime::data_dir("models").map(|d| d.join(DEFAULT_MODEL));
        match default {
            Some(path) if path.is_file() => Ok(path),
            _ => Err(Error::unsupported(format!(
                "neural interpolation needs a RIFE model ({DEFAULT_MODEL}): `bash .ci/setup` makes one in \
                 target/tools/rife/ from RIFE's published weights (or run core/models/rife_to_onnx.py); then \
                 name it with `--model FILE` on the command line, MATTEBOX_RIFE_MODEL, or copy it to {}",
                default.map(|p| p.display().to_string()).unwrap_or_else(|| "~/.local/share/mattebox/models/".into())
            ))),
        }
    }

    fn scale_for(&self, width: u32, height: u32) -> Result<f32> {
        match self.scale {
            Some(s) if [1.0, 0.5, 0.25].contains(&s) => Ok(s),
            Some(s) => Err(Error::invalid_argument(format!("neural scale {s} is not 1, 0.5 or 0.25"))),
            None if u64::from(width) * u64::from(height) > 2560 * 1440 => Ok(0.5),
            None => Ok(1.0),
        }
    }
}

/// A loaded RIFE model; calls from several threads take turns (one run
/// uses every core it was given).
#[derive(Debug)]
pub struct NeuralModel {
    path: PathBuf,
    name: String,
    /// Input sides are padded to a multiple of `pad / scale` (at least `pad`).
    #[cfg(feature = "onnx")]
    pad: u32,
    any_time: bool,
    #[cfg(feature = "onnx")]
    session: parking_lot::Mutex<ort::session::Session>,
}

impl NeuralModel {
    /// The model `settings` name, loaded once per process and shared.
    pub fn shared(settings: &NeuralSettings) -> Result<Arc<NeuralModel>> {
        use parking_lot::Mutex;
        static LOADED: Mutex<Vec<Arc<NeuralModel>>> = Mutex::new(Vec::new());
        let path = settings.model_path()?;
        let mut loaded = LOADED.lock();
        if let Some(model) = loaded.iter().find(|m| m.path == path) {
            return Ok(model.clone());
        }
        let model = Arc::new(NeuralModel::open(&path, settings)?);
        loaded.push(model.clone());
        Ok(model)
    }

    /// Which model this is (`rife-4.x`, `rife-hdv3`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it makes frames at any t (4.x), or only halfway (HDv3).
    pub fn any_time(&self) -> bool {
        self.any_time
    }

    /// Checks that this model can make a frame `t` of the way.
    pub fn check_time(&self, t: f32) -> Result<()> {
        if self.any_time || t == 0.5 {
            return Ok(());
        }
        Err(Error::unsupported(format!(
            "{} makes only halfway frames (2x, slow motion by halves); this retime needs a frame at t = {t}: \
             use {DEFAULT_MODEL} (RIFE 4.x), which makes any t",
            self.path.display()
        )))
    }

    #[cfg(not(feature = "onnx"))]
    fn open(_path: &std::path::Path, _settings: &NeuralSettings) -> Result<NeuralModel> {
        Err(Error::unsupported("neural interpolation needs Mattebox built with the `onnx` feature"))
    }

    #[cfg(not(feature = "onnx"))]
    fn run(
        &self,
        _a: &FrameView<'_>,
        _b: &FrameView<'_>,
        _t: f32,
        _scale: f32,
        _out: &mut FrameViewMut<'_>,
    ) -> Result<()> {
        Err(Error::unsupported("neural interpolation needs Mattebox built with the `onnx` feature"))
    }

    /// Writes the frame `t` of the way from `a` to `b` into `out` (any
    /// formats, one size). RIFE sees RGB; alpha is cross-faded.
    pub fn interpolate(
        &self,
        a: &FrameView<'_>,
        b: &FrameView<'_>,
        t: f32,
        settings: &NeuralSettings,
        out: &mut FrameViewMut<'_>,
    ) -> Result<()> {
        super::check_pair(a, b)?;
        super::check_time(t)?;
        super::check_output(a, out)?;
        if super::trivial(a, b, t, out)? {
            return Ok(());
        }
        self.check_time(t)?;
        let scale = settings.scale_for(a.width(), a.height())?;
        let started = std::time::Instant::now();
        self.run(a, b, t, scale, out)?;
        tracing::trace!(t, model = %self.name, ms = started.elapsed().as_secs_f64() * 1e3, "rendered a neural frame");
        Ok(())
    }
}

/// Writes the frame `t` of the way from `a` to `b` into `out` with the
/// model `settings` find, loaded once per process ([`NeuralModel::shared`]).
pub fn interpolate(
    a: &FrameView<'_>,
    b: &FrameView<'_>,
    t: f32,
    settings: &NeuralSettings,
    out: &mut FrameViewMut<'_>,
) -> Result<()> {
    NeuralModel::shared(settings)?.interpolate(a, b, t, settings, out)
}

#[cfg(feature = "onnx")]
mod run {
    use std::path::Path;

    use ort::value::TensorRef;
    use rayon::prelude::*;

    use super::{NeuralModel, NeuralSettings};
    use crate::error::{Error, Result};
    use crate::frame::{FrameView, FrameViewMut};

    const INPUTS: [&str; 4] = ["img0", "img1", "timestep", "scale"];

    impl NeuralModel {
        pub(super) fn open(path: &Path, settings: &NeuralSettings) -> Result<NeuralModel> {
            let env = crate::onnx::environment(settings.library.as_deref())?;
            let threads = rayon::current_num_threads();
            let not_ours = |detail: String| {
                Error::invalid_argument(format!(
                    "{}: not a RIFE model made by core/models/rife_to_onnx.py ({detail}); make one with \
                     `bash .ci/setup` or that script",
                    path.display()
                ))
            };
            let (session, _) = crate::onnx::open(env, "RIFE", path, &[1, 3, -1, -1], threads).map_err(|e| {
                if e.kind() == crate::error::ErrorKind::InvalidArgument { not_ours(e.to_string()) } else { e }
            })?;
            let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            let metadata = session.metadata().map_err(|e| Error::media(format!("{}: {e}", path.display())))?;
            let (name, pad, any_time) = (
                metadata.custom("mattebox.model"),
                metadata.custom("mattebox.pad"),
                metadata.custom("mattebox.any_time"),
            );
            if names != INPUTS {
                return Err(not_ours(format!("its inputs are {names:?}")));
            }
            let (Some(name), Some(pad), Some(any_time)) = (name, pad, any_time) else {
                return Err(not_ours("it has no mattebox metadata".into()));
            };
            let pad: u32 = pad
                .parse()
                .ok()
                .filter(|p: &u32| p.is_power_of_two() && *p <= 1024)
                .ok_or_else(|| not_ours(format!("padding {pad:?}")))?;
            drop(metadata);
            tracing::debug!(model = %name, path = %path.display(), threads, "loaded a neural interpolation model");
            Ok(NeuralModel {
                path: path.to_path_buf(),
                name,
                pad,
                any_time: any_time == "yes",
                session: parking_lot::Mutex::new(session),
            })
        }

        pub(super) fn run(
            &self,
            a: &FrameView<'_>,
            b: &FrameView<'_>,
            t: f32,
            scale: f32,
            out: &mut FrameViewMut<'_>,
        ) -> Result<()> {
            let (w, h) = (a.width() as usize, a.height() as usize);
            let multiple = (self.pad as f32 / scale) as usize;
            let (pw, ph) = (w.div_ceil(multiple) * multiple, h.div_ceil(multiple) * multiple);
            let (img0, img1) = rayon::join(|| planar(a, pw, ph), || planar(b, pw, ph));
            let shape = [1usize, 3, ph, pw];
            let (timestep, scale) = ([t], [scale]);
            let mut session = self.session.lock();
            let outputs = session
                .run(ort::inputs![
                    "img0" => input(shape, &img0)?,
                    "img1" => input(shape, &img1)?,
                    "timestep" => input([1], &timestep)?,
                    "scale" => input([1], &scale)?,
                ])
                .map_err(|e| {
                    Error::media(format!("RIFE ({}) failed on a {w}x{h} frame (padded to {pw}x{ph}): {e}", self.name))
                })?;
            let (out_shape, merged) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(|e| Error::media(format!("RIFE gave no float frame: {e}")))?;
            if out_shape.as_ref() != [1, 3, ph as i64, pw as i64] {
                return Err(Error::media(format!("RIFE gave a frame of shape {out_shape:?}, not [1, 3, {ph}, {pw}]")));
            }
            let plane = pw * ph;
            out.par_rows_mut_init(
                || (vec![0.0f32; w * 4], vec![0.0f32; w * 4], vec![0.0f32; w * 4]),
                |(row, ra, rb), y, dst| {
                    let y = y as usize;
                    a.read_row_f32(y as u32, ra);
                    b.read_row_f32(y as u32, rb);
                    for x in 0..w {
                        for c in 0..3 {
                            row[x * 4 + c] = merged[c * plane + y * pw + x];
                        }
                        row[x * 4 + 3] = ra[x * 4 + 3] + (rb[x * 4 + 3] - ra[x * 4 + 3]) * t;
                    }
                    dst.write_f32(row);
                },
            );
            Ok(())
        }
    }

    fn input<'a, const N: usize>(shape: [usize; N], data: &'a [f32]) -> Result<TensorRef<'a, f32>> {
        TensorRef::from_array_view((shape, data)).map_err(|e| Error::internal(format!("RIFE input: {e}")))
    }

    /// `frame`'s RGB as three planes of `pw` x `ph`, zero beyond the frame
    /// (as RIFE's harnesses pad).
    fn planar(frame: &FrameView<'_>, pw: usize, ph: usize) -> Vec<f32> {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let plane = pw * ph;
        let mut data = vec![0.0f32; 3 * plane];
        let (r, rest) = data.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        r.par_chunks_mut(pw).zip(g.par_chunks_mut(pw)).zip(b.par_chunks_mut(pw)).take(h).enumerate().for_each_init(
            || vec![0.0f32; w * 4],
            |row, (y, ((r, g), b))| {
                frame.read_row_f32(y as u32, row);
                for (x, px) in row.chunks_exact(4).enumerate() {
                    (r[x], g[x], b[x]) = (px[0], px[1], px[2]);
                }
            },
        );
        data
    }
}
