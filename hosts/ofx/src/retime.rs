//! Mattebox Retime: speed changes and frame-rate conversion with the
//! interpolation engine. Output frame `t` maps to a source position through
//! the same plan the command line uses (`mattebox retime`), so the effect
//! and the CLI make the same frames. The two source frames around the
//! position are read through temporal clip access, declared first in
//! `getFramesNeeded`.

use std::ffi::CStr;

use mattebox_core::interp::retime::{PlannedFrame, RetimeSpec, plan};
use mattebox_core::interp::{FlowPair, Mode, cuts, interpolate, interpolate_with};
use mattebox_core::{Frame, Rational};
use parking_lot::Mutex;

use crate::describe;
use crate::host::{Effect, OfxError, OfxResult, Props};
use crate::plugin::Plugin;
use crate::sys::*;

const SOURCE: &CStr = c"Source";
const OUTPUT: &CStr = c"Output";
const MODE: &CStr = c"mode";
const TIMING: &CStr = c"timing";
const SPEED: &CStr = c"speed";
const SOURCE_RATE: &CStr = c"sourceRate";
const RESULT: &CStr = c"result";

/// Modes in the order of the `mode` choice.
const MODES: [(Mode, &CStr); 4] =
    [(Mode::Nearest, c"Nearest"), (Mode::Blend, c"Blend"), (Mode::Fast, c"Fast"), (Mode::Quality, c"Quality")];

/// Flow pairs kept for frames between the same two source frames (slow
/// motion asks for several).
const CACHED_PAIRS: usize = 4;

pub(crate) struct Retime;

/// A retime instance: the flow pairs lately computed.
pub(crate) struct RetimeInstance {
    pairs: Mutex<Vec<(f64, Mode, std::sync::Arc<FlowPair>)>>,
}

/// The parameters at `time`, and where the source is.
struct Setup {
    mode: Mode,
    vectors: bool,
    first: f64,
    frames: u64,
    spec: RetimeSpec,
    source_rate: Rational,
    output_rate: Option<Rational>,
}

fn rational(value: f64, what: &str) -> OfxResult<Rational> {
    format!("{value:.6}").parse::<Rational>().map_err(|e| OfxError::failed(format!("{what} {value}: {e}")))
}

fn setup(effect: &Effect, time: f64) -> OfxResult<Setup> {
    let source = effect.clip(SOURCE)?;
    if !source.connected() {
        return Err(OfxError::failed("the Source clip is not connected"));
    }
    let (first, last) = source.frame_range()?;
    if last < first || last.is_nan() || first.is_nan() {
        return Err(OfxError::failed(format!("the Source clip's frame range {first}..{last} is empty")));
    }
    let frames = (last - first).floor() as u64 + 1;
    let mode = MODES.get(effect.int_at(MODE, time)?.clamp(0, 3) as usize).map(|m| m.0).unwrap_or(Mode::Quality);
    let vectors = effect.int_at(RESULT, time)? == 1;
    let host_rate = source.frame_rate().unwrap_or(24.0);
    let (spec, source_rate, output_rate) = if effect.int_at(TIMING, time)? == 0 {
        let speed = effect.double_at(SPEED, time)? / 100.0;
        if speed <= 0.0 || speed.is_nan() {
            return Err(OfxError::failed(format!("speed {}% must be above zero", speed * 100.0)));
        }
        let rate = rational(host_rate, "the Source clip's frame rate")?;
        (RetimeSpec::Speed(rational(speed, "speed")?), rate, None)
    } else {
        let from = rational(effect.double_at(SOURCE_RATE, time)?, "source frame rate")?;
        let to = rational(effect.clip(OUTPUT)?.frame_rate().unwrap_or(host_rate), "the Output clip's frame rate")?;
        (RetimeSpec::FrameRate(to), from, Some(to))
    };
    Ok(Setup { mode, vectors, first, frames, spec, source_rate, output_rate })
}

impl Setup {
    /// The source position of output frame `time`.
    fn planned(&self, time: f64) -> OfxResult<(PlannedFrame, u64)> {
        let plan = plan(self.source_rate, self.frames, self.output_rate, &self.spec)?;
        let count = plan.frames.len() as u64;
        let index = (time - self.first).round().max(0.0) as u64;
        let planned =
            plan.frames.get(index.min(count.saturating_sub(1)) as usize).copied().ok_or_else(|| {
                OfxError::failed(format!("frame {time} is outside the retimed clip's {count} frames"))
            })?;
        Ok((planned, count))
    }
}

impl Plugin for Retime {
    type Instance = RetimeInstance;

    fn describe(effect: &Effect) -> OfxResult<()> {
        describe::effect(
            effect,
            c"Mattebox Retime",
            c"Speed changes and frame-rate conversion with optical flow: nearest, blend, fast or quality \
              in-between frames, or the motion vectors.",
            &[kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral],
        )
    }

    fn describe_in_context(effect: &Effect, _context: &str) -> OfxResult<()> {
        describe::input(effect, SOURCE, false)?;
        describe::output(effect)?;
        describe::choice(
            effect,
            (
                MODE,
                c"Mode",
                c"Nearest: the nearer frame. Blend: a cross-fade. Fast: optical flow, real time at 1080p. Quality: finer flow.",
            ),
            &[c"Nearest", c"Blend", c"Fast", c"Quality"],
            3,
        )?;
        describe::choice(
            effect,
            (
                TIMING,
                c"Timing",
                c"Speed: play at a speed. Frame rate: convert from the source's rate to the project's.",
            ),
            &[c"Speed", c"Frame rate"],
            0,
        )?;
        describe::double(effect, (SPEED, c"Speed %", c"50 is 2x slow motion, 25 is 4x."), 50.0, 1.0, 1000.0)?;
        describe::double(
            effect,
            (
                SOURCE_RATE,
                c"Source frame rate",
                c"The rate the source was made at (24 for most AI generators), for Timing: Frame rate.",
            ),
            24.0,
            1.0,
            1000.0,
        )?;
        describe::choice(
            effect,
            (
                RESULT,
                c"Output",
                c"Image: the retimed frames. Motion vectors: the flow from the source frame to the next, in pixels, in red and green.",
            ),
            &[c"Image", c"Motion vectors"],
            0,
        )
    }

    fn create(_: &Effect) -> OfxResult<RetimeInstance> {
        Ok(RetimeInstance { pairs: Mutex::new(Vec::new()) })
    }

    fn time_domain(_: &RetimeInstance, effect: &Effect, out: &Props) -> OfxResult<bool> {
        let setup = setup(effect, 0.0)?;
        let (_, count) = setup.planned(setup.first)?;
        out.set_doubles(kOfxImageEffectPropFrameRange, &[setup.first, setup.first + count as f64 - 1.0])?;
        Ok(true)
    }

    fn frames_needed(_: &RetimeInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = args.double(kOfxPropTime, 0)?;
        let setup = setup(effect, time)?;
        let (planned, _) = setup.planned(time)?;
        let a = setup.first + planned.source as f64;
        let b = if planned.fraction > 0.0 && planned.source + 1 < setup.frames { a + 1.0 } else { a };
        let b = if setup.vectors && planned.source + 1 < setup.frames { a + 1.0 } else { b };
        out.set_doubles(c"OfxImageClipPropFrameRange_Source", &[a, b])?;
        Ok(true)
    }

    fn is_identity(_: &RetimeInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = args.double(kOfxPropTime, 0)?;
        let setup = setup(effect, time)?;
        let (planned, _) = setup.planned(time)?;
        if setup.vectors || planned.fraction > 0.0 {
            return Ok(false);
        }
        out.set_string(kOfxPropName, 0, SOURCE)?;
        out.set_double(kOfxPropTime, 0, setup.first + planned.source as f64)?;
        Ok(true)
    }

    fn render(instance: &RetimeInstance, effect: &Effect, args: &Props) -> OfxResult<()> {
        let time = args.double(kOfxPropTime, 0)?;
        let window = args.rect_i(kOfxImageEffectPropRenderWindow)?;
        let setup = setup(effect, time)?;
        let (planned, _) = setup.planned(time)?;
        let source = effect.clip(SOURCE)?;
        let output = effect.clip(OUTPUT)?;
        let mut out =
            output.image(time)?.ok_or_else(|| OfxError::failed(format!("the host gave no Output image at {time}")))?;
        if window.x2 <= window.x1 || window.y2 <= window.y1 {
            return Ok(());
        }
        let a_time = setup.first + planned.source as f64;
        let a = source
            .image(a_time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Source frame at {a_time}")))?;
        let bounds = a.bounds;
        let a_frame = a.to_frame()?;
        let has_next = planned.source + 1 < setup.frames;
        let next = if (planned.fraction > 0.0 || setup.vectors) && has_next {
            let b_time = a_time + 1.0;
            match source.image(b_time)? {
                Some(b) if b.bounds == bounds && b.depth == a.depth => Some(b.to_frame()?),
                Some(_) => {
                    return Err(OfxError::failed(format!(
                        "Source frames {a_time} and {b_time} differ in size or depth"
                    )));
                }
                // Past the clip's end: hold the last frame.
                None => None,
            }
        } else {
            None
        };
        drop(a);
        if effect.aborted() {
            return Ok(());
        }
        let runtime = crate::host::runtime()?;
        let result = runtime.install(|| -> OfxResult<Frame> {
            Ok(match (&next, setup.vectors) {
                (Some(b), true) => {
                    let mode = if setup.mode.uses_flow() { setup.mode } else { Mode::Quality };
                    let pair = flow_pair(instance, a_time, mode, &a_frame, b)?;
                    vectors_frame(&pair, a_frame.width(), a_frame.height())?
                }
                (None, true) => {
                    let mut zero = Frame::new(a_frame.width(), a_frame.height(), mattebox_core::PixelFormat::Rgba32F)?;
                    zero.view_mut().fill([0.0, 0.0, 0.0, 1.0]);
                    zero
                }
                (Some(b), false) if !cut(&a_frame, b) => {
                    let mut out_frame = Frame::new(a_frame.width(), a_frame.height(), a_frame.format())?;
                    let t = planned.fraction as f32;
                    if setup.mode.uses_flow() {
                        let pair = flow_pair(instance, a_time, setup.mode, &a_frame, b)?;
                        interpolate_with(&a_frame.view(), &b.view(), &pair, t, &mut out_frame.view_mut())?;
                    } else {
                        interpolate(&a_frame.view(), &b.view(), t, setup.mode, &mut out_frame.view_mut())?;
                    }
                    out_frame
                }
                // A source frame exactly, a cut (held), or past the end (held).
                _ => a_frame,
            })
        })?;
        out.write(&result, bounds, window)
    }
}

/// Whether two neighbouring source frames are the two sides of a cut (the
/// frame before is held then, as the CLI does).
fn cut(a: &Frame, b: &Frame) -> bool {
    cuts::is_cut(&cuts::Signature::of(&a.view()), &cuts::Signature::of(&b.view()))
}

/// The flow between source frames `a_time` and the next, cached per instance.
fn flow_pair(
    instance: &RetimeInstance,
    a_time: f64,
    mode: Mode,
    a: &Frame,
    b: &Frame,
) -> OfxResult<std::sync::Arc<FlowPair>> {
    if let Some((_, _, pair)) = instance.pairs.lock().iter().find(|(t, m, _)| *t == a_time && *m == mode) {
        return Ok(pair.clone());
    }
    let pair = std::sync::Arc::new(FlowPair::compute(&a.view(), &b.view(), mode)?);
    let mut pairs = instance.pairs.lock();
    pairs.push((a_time, mode, pair.clone()));
    if pairs.len() > CACHED_PAIRS {
        pairs.remove(0);
    }
    Ok(pair)
}

/// The forward flow as an image: u in red, v in green (OFX's y points up,
/// so v is negated), 0 in blue, 1 in alpha.
fn vectors_frame(pair: &FlowPair, w: u32, h: u32) -> OfxResult<Frame> {
    let flow = pair.forward_full()?;
    let mut frame = Frame::new(w, h, mattebox_core::PixelFormat::Rgba32F)?;
    let mut view = frame.view_mut();
    let mut row = vec![0.0f32; w as usize * 4];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let (u, v) = flow.at(x, y);
            row[x * 4..x * 4 + 4].copy_from_slice(&[u, -v, 0.0, 1.0]);
        }
        view.write_row_f32(y as u32, &row);
    }
    Ok(frame)
}
