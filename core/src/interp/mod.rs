//! Frame interpolation and retiming.
//!
//! A host retimes a shot through one [`ShotRetimer`]: the plan of output
//! frames ([`retime`]), the cut policy ([`cuts`]) and the flow pairs, for
//! output frames in any order. Below it:
//!
//! The engine computes optical flow in both directions between two frames
//! ([`FlowPair`], Dense Inverse Search on luma), then makes any in-between
//! frame from it ([`interpolate_with`]): the flows are projected to time t,
//! occlusions are resolved from forward-backward consistency, and both frames
//! are warped and blended. A flow pair is computed once and serves every t
//! between its two frames.
//!
//! ```
//! use mattebox_core::interp::{FlowPair, Mode, interpolate_with};
//! use mattebox_core::{Frame, PixelFormat};
//!
//! let mut a = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! let mut b = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! a.view_mut().fill([0.2, 0.4, 0.6, 1.0]);
//! b.view_mut().fill([0.4, 0.4, 0.6, 1.0]);
//! let pair = FlowPair::compute(&a.view(), &b.view(), Mode::Quality)?;
//! let mut mid = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! for t in [0.25, 0.5, 0.75] {
//!     interpolate_with(&a.view(), &b.view(), &pair, t, &mut mid.view_mut())?;
//! }
//! # Ok::<(), mattebox_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::{FrameView, FrameViewMut, convert};

pub mod cuts;
mod field;
mod flow;
pub mod neural;
pub mod repeats;
pub mod retime;
pub(crate) mod shot;
mod simd;
mod synth;
mod variational;
#[cfg(feature = "images")]
pub mod vectors;

pub use field::Flow;
pub use neural::{NeuralModel, NeuralSettings};
pub use shot::{RetimeStep, ShotRetimer};

use crate::pixels::plane::{Plane, luma, luma_half, pyramid};
use flow::{DisParams, dense_inverse_search};
use variational::VariationalParams;

/// How frames between two source frames are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The nearer source frame, unchanged.
    Nearest,
    /// A cross-fade of the two source frames.
    Blend,
    /// Motion-compensated, with flow at reduced resolution: real time at 1080p.
    Fast,
    /// Motion-compensated, with finer flow and variational refinement.
    Quality,
    /// RIFE, a neural network, through ONNX Runtime ([`neural`]): the
    /// best on large motion, far slower.
    Neural,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 5] = [Mode::Nearest, Mode::Blend, Mode::Fast, Mode::Quality, Mode::Neural];

    /// Name used on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Nearest => "nearest",
            Mode::Blend => "blend",
            Mode::Fast => "fast",
            Mode::Quality => "quality",
            Mode::Neural => "neural",
        }
    }

    /// Whether this mode computes optical flow.
    pub fn uses_flow(self) -> bool {
        matches!(self, Mode::Fast | Mode::Quality)
    }

    /// Flow parameters for frames `width` pixels wide
    /// ([`DisParams::leave_outside_out`] says what the switch is for).
    fn dis_params(self, width: usize, leave_outside_out: bool) -> DisParams {
        // The finest level keeps the flow at most `max_width` wide: finer
        // flow costs four times as much per level and, above that width,
        // adds little to what the full-resolution render recovers.
        let level_for = |max_width: usize| {
            let mut level = 0;
            while (width >> level) > max_width {
                level += 1;
            }
            level
        };
        // Settings chosen on the benchmark clips (docs/BENCHMARKS.md): the
        // flow's finest level is capped in width so cost stays bounded at
        // 1080p and above; variational refinement only pays off at the
        // finest level, once, and not at all in fast mode; more than 12
        // Gauss-Newton steps per patch gained nothing.
        match self {
            Mode::Fast => DisParams {
                finest_level: level_for(480),
                patch: 8,
                stride: 4,
                coarse_stride: 4,
                iterations: 12,
                variational: VariationalParams {
                    iterations: 0,
                    sor_iterations: 0,
                    alpha: 20.0,
                    gamma: 10.0,
                    delta: 5.0,
                },
                leave_outside_out,
            },
            _ => DisParams {
                finest_level: level_for(640),
                patch: 8,
                stride: 4,
                coarse_stride: 4,
                iterations: 12,
                variational: VariationalParams {
                    iterations: 1,
                    sor_iterations: 5,
                    alpha: 20.0,
                    gamma: 10.0,
                    delta: 5.0,
                },
                leave_outside_out,
            },
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Mode::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            Error::invalid_argument(format!("unknown mode {s:?}; use nearest, blend, fast, quality or neural"))
        })
    }
}

/// Optical flow both ways between frames A and B, computed once and reused
/// for every in-between frame.
#[derive(Debug)]
pub struct FlowPair {
    frame_width: u32,
    frame_height: u32,
    /// A -> B, at flow resolution.
    forward: Flow,
    /// B -> A, at flow resolution.
    backward: Flow,
    /// Luma of A and B at flow resolution, for the projection's consistency tests.
    luma_a: Plane,
    luma_b: Plane,
    sampling: synth::Sampling,
}

fn check_pair(a: &FrameView<'_>, b: &FrameView<'_>) -> Result<()> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Err(Error::invalid_argument(format!(
            "frames to interpolate must have one size; got {}x{} and {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        )));
    }
    if a.format() != b.format() {
        return Err(Error::invalid_argument(format!(
            "frames to interpolate must have one pixel format; got {} and {}",
            a.format(),
            b.format()
        )));
    }
    Ok(())
}

impl FlowPair {
    /// Computes the flow both ways between `a` and `b` with `mode`'s settings
    /// (a flow mode: fast or quality). Rows and patches are spread over the
    /// current rayon pool; call it inside [`crate::Runtime::install`].
    pub fn compute(a: &FrameView<'_>, b: &FrameView<'_>, mode: Mode) -> Result<FlowPair> {
        Self::compute_with(a, b, mode, true)
    }

    /// The flow of fast mode for measuring the camera's motion: the border
    /// is clamped, so a regular grid of marks reads as its smallest motion
    /// (see [`DisParams::leave_outside_out`]).
    pub(crate) fn compute_for_tracking(a: &FrameView<'_>, b: &FrameView<'_>) -> Result<FlowPair> {
        Self::compute_with(a, b, Mode::Fast, false)
    }

    fn compute_with(a: &FrameView<'_>, b: &FrameView<'_>, mode: Mode, leave_outside_out: bool) -> Result<FlowPair> {
        check_pair(a, b)?;
        if !mode.uses_flow() {
            return Err(Error::invalid_argument(format!("mode {mode} does not use optical flow")));
        }
        let params = mode.dis_params(a.width() as usize, leave_outside_out);
        let min_side = 2 * params.patch;
        // Pyramids start at level 1 (half size) when the flow stops there or
        // coarser, so no full-size luma is made at all.
        let first = params.finest_level.min(1);
        let base = |f: &FrameView<'_>| if first == 1 { luma_half(f) } else { luma(f) };
        let started = std::time::Instant::now();
        let (la, lb) = rayon::join(|| base(a), || base(b));
        let (pa, pb) = rayon::join(|| pyramid(la?, 32, min_side), || pyramid(lb?, 32, min_side));
        let (mut pa, mut pb) = (pa?, pb?);
        let params = DisParams { finest_level: params.finest_level - first, ..params };
        let (forward, backward) = dense_inverse_search(&pa, &pb, &params)?;
        let level = params.finest_level.min(pa.len() - 1);
        let resize = |flow: Flow| -> Result<Flow> {
            let (w, h) = (pa[level].width, pa[level].height);
            if (flow.width, flow.height) == (w, h) { Ok(flow) } else { flow.resized(w, h) }
        };
        let (forward, backward) = (resize(forward)?, resize(backward)?);
        tracing::debug!(
            mode = mode.name(),
            flow_width = forward.width,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "computed a flow pair"
        );
        Ok(FlowPair {
            frame_width: a.width(),
            frame_height: a.height(),
            forward,
            backward,
            luma_a: pa.swap_remove(level),
            luma_b: pb.swap_remove(level),
            sampling: if mode == Mode::Quality { synth::Sampling::Bicubic } else { synth::Sampling::Bilinear },
        })
    }

    /// Flow from A to B at the resolution it was computed at, and the
    /// factors from its pixels to the frames' (x, y).
    pub fn forward(&self) -> (&Flow, (f32, f32)) {
        let scale = (
            self.frame_width as f32 / self.forward.width as f32,
            self.frame_height as f32 / self.forward.height as f32,
        );
        (&self.forward, scale)
    }

    /// Flow from A to B, upsampled to the frames' size.
    pub fn forward_full(&self) -> Result<Flow> {
        self.forward.resized(self.frame_width as usize, self.frame_height as usize)
    }

    /// Flow from B to A, upsampled to the frames' size.
    pub fn backward_full(&self) -> Result<Flow> {
        self.backward.resized(self.frame_width as usize, self.frame_height as usize)
    }

    /// For each pixel of A, how likely it is to be hidden in B (0 visible, 1
    /// occluded), at the frames' size.
    pub fn occlusion_full(&self) -> Result<Vec<f32>> {
        let full = self.forward_full()?;
        let back = self.backward_full()?;
        Ok(synth::visibility_of(&full, &back).into_iter().map(|v| 1.0 - v).collect())
    }
}

fn check_time(t: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&t) {
        return Err(Error::invalid_argument(format!("time {t} is outside 0..1 (0 is the first frame, 1 the second)")));
    }
    Ok(())
}

fn check_output(a: &FrameView<'_>, out: &FrameViewMut<'_>) -> Result<()> {
    if (a.width(), a.height()) != (out.width(), out.height()) {
        return Err(Error::invalid_argument(format!(
            "the output is {}x{} but the frames are {}x{}",
            out.width(),
            out.height(),
            a.width(),
            a.height()
        )));
    }
    Ok(())
}

/// Writes the frame at time `t` (0 = `a`, 1 = `b`) into `out`, using a flow
/// pair computed for exactly these frames. `out` may have any format; the
/// alpha channel is interpolated like the colour channels.
pub fn interpolate_with(
    a: &FrameView<'_>,
    b: &FrameView<'_>,
    pair: &FlowPair,
    t: f32,
    out: &mut FrameViewMut<'_>,
) -> Result<()> {
    check_pair(a, b)?;
    check_time(t)?;
    check_output(a, out)?;
    if (pair.frame_width, pair.frame_height) != (a.width(), a.height()) {
        return Err(Error::invalid_argument("this flow pair was computed for frames of another size"));
    }
    if trivial(a, b, t, out)? {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let inter = synth::project(&pair.luma_a, &pair.luma_b, &pair.forward, &pair.backward, t)?;
    synth::render(a, b, &inter, pair.sampling, out);
    tracing::trace!(t, ms = started.elapsed().as_secs_f64() * 1e3, "rendered an in-between frame");
    Ok(())
}

/// Writes the cases with an exact answer (t = 0, t = 1, identical frames)
/// and says whether it did.
fn trivial(a: &FrameView<'_>, b: &FrameView<'_>, t: f32, out: &mut FrameViewMut<'_>) -> Result<bool> {
    if t == 0.0 || a.same_pixels(b) {
        convert(a, out)?;
        return Ok(true);
    }
    if t == 1.0 {
        convert(b, out)?;
        return Ok(true);
    }
    Ok(false)
}

/// Writes the frame at time `t` between `a` and `b` into `out` with `mode`.
/// For many t between the same two frames, compute a [`FlowPair`] once and
/// call [`interpolate_with`] instead. The neural mode uses the model
/// [`NeuralSettings::default`] finds; [`neural::interpolate`] takes
/// settings.
pub fn interpolate(a: &FrameView<'_>, b: &FrameView<'_>, t: f32, mode: Mode, out: &mut FrameViewMut<'_>) -> Result<()> {
    check_pair(a, b)?;
    check_time(t)?;
    check_output(a, out)?;
    if trivial(a, b, t, out)? {
        return Ok(());
    }
    match mode {
        Mode::Nearest => convert(if t < 0.5 { a } else { b }, out),
        Mode::Blend => {
            blend(a, b, t, out);
            Ok(())
        }
        Mode::Fast | Mode::Quality => {
            let pair = FlowPair::compute(a, b, mode)?;
            interpolate_with(a, b, &pair, t, out)
        }
        Mode::Neural => neural::interpolate(a, b, t, &NeuralSettings::default(), out),
    }
}

/// Cross-fade: (1 - t) a + t b, rows in parallel.
fn blend(a: &FrameView<'_>, b: &FrameView<'_>, t: f32, out: &mut FrameViewMut<'_>) {
    let w = a.width() as usize;
    out.par_rows_mut(|y, dst| {
        let mut ra = vec![0.0f32; w * 4];
        let mut rb = vec![0.0f32; w * 4];
        a.read_row_f32(y, &mut ra);
        b.read_row_f32(y, &mut rb);
        ra.iter_mut().zip(&rb).for_each(|(x, y)| *x += (y - *x) * t);
        dst.write_f32(&ra);
    });
}

#[cfg(test)]
mod tests;
