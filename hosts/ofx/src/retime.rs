//! Mattebox Retime: speed changes and frame-rate conversion. The core's
//! [`ShotRetimer`] decides every output frame (the plan, the cut policy of
//! `mattebox retime`, the flow pairs); this file translates: parameters in,
//! the host's frames fetched where the retimer says, pixels out.
//!
//! An interlaced source is retimed field by field: each field, bobbed to
//! full height, is a picture of its own moment, the retimer plans at twice
//! the rates, and output frame `j` weaves the first field of planned
//! picture `2j` with the second of `2j + 1`. Treated as progressive frames,
//! the two moments in each frame would be blended into combs.

use std::ffi::CStr;
use std::sync::Arc;

use mattebox_core::interp::cuts::Signature;
use mattebox_core::interp::retime::RetimeSpec;
use mattebox_core::interp::{FlowPair, Mode, RetimeStep, ShotRetimer};
use mattebox_core::{Frame, Rational};
use parking_lot::Mutex;

use crate::describe;
use crate::fields;
use crate::host::{Clip, Effect, FieldOrder, OfxError, OfxResult, Props, RenderScale};
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
const MODES: [(Mode, &CStr); 5] = [
    (Mode::Nearest, c"Nearest"),
    (Mode::Blend, c"Blend"),
    (Mode::Fast, c"Fast"),
    (Mode::Quality, c"Quality"),
    (Mode::Neural, c"Neural"),
];

pub(crate) struct Retime;

/// A retime instance: the retimer of the latest parameters, which keeps
/// what it learnt of the source (signatures, cuts, flow pairs) between
/// renders.
pub(crate) struct RetimeInstance {
    retimer: Mutex<Option<(Setup, Arc<ShotRetimer>)>>,
}

/// The parameters at `time`, and where the source is.
#[derive(Clone, PartialEq)]
struct Setup {
    mode: Mode,
    vectors: bool,
    first: f64,
    frames: u64,
    spec: RetimeSpec,
    source_rate: Rational,
    output_rate: Option<Rational>,
    /// Set for an interlaced source retimed as images (vectors are measured
    /// between whole frames).
    order: Option<FieldOrder>,
}

impl Setup {
    /// Pictures the retimer plans per frame: two fields, or one frame.
    fn per_frame(&self) -> u64 {
        if self.order.is_some() { 2 } else { 1 }
    }
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
    let mode = MODES
        .get(effect.int_at(MODE, time)?.clamp(0, MODES.len() as i32 - 1) as usize)
        .map(|m| m.0)
        .unwrap_or(Mode::Quality);
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
    let order = if vectors { None } else { source.field_order() };
    Ok(Setup { mode, vectors, first, frames, spec, source_rate, output_rate, order })
}

impl RetimeInstance {
    /// The retimer for the parameters at `time`, and output frame `time`'s
    /// index (in frames): the one kept if the parameters are unchanged.
    fn retimer(&self, effect: &Effect, time: f64) -> OfxResult<(Setup, Arc<ShotRetimer>, u64)> {
        let setup = setup(effect, time)?;
        let mut kept = self.retimer.lock();
        let retimer = match &*kept {
            Some((s, r)) if *s == setup => r.clone(),
            _ => {
                let n = Rational::new(setup.per_frame() as i64, 1)?;
                let r = Arc::new(ShotRetimer::new(
                    setup.source_rate.checked_mul(n)?,
                    setup.frames * setup.per_frame(),
                    setup.output_rate.map(|rate| rate.checked_mul(n)).transpose()?,
                    &setup.spec,
                    setup.mode,
                )?);
                // The neural model (found from the environment or
                // ~/.local/share/mattebox/models) loads here, so a missing
                // one is reported on the first render, not per frame.
                if !setup.vectors {
                    r.prepare()?;
                }
                *kept = Some((setup.clone(), r.clone()));
                r
            }
        };
        let count = output_frames(&setup, &retimer);
        if count == 0 {
            return Err(OfxError::failed("the retimed clip has no frames"));
        }
        let j = ((time - setup.first).round().max(0.0) as u64).min(count - 1);
        Ok((setup, retimer, j))
    }
}

/// Output frames of the retimed clip.
fn output_frames(setup: &Setup, retimer: &ShotRetimer) -> u64 {
    retimer.output_frames().div_ceil(setup.per_frame())
}

/// The pictures the retimer plans for output frame `j`: the frame, or its
/// two fields (the second held at the very end).
fn pictures(setup: &Setup, retimer: &ShotRetimer, j: u64) -> Vec<u64> {
    let last = retimer.output_frames().saturating_sub(1);
    (0..setup.per_frame()).map(|f| (j * setup.per_frame() + f).min(last)).collect()
}

impl Plugin for Retime {
    type Instance = RetimeInstance;

    fn describe(effect: &Effect) -> OfxResult<()> {
        describe::effect(
            effect,
            c"Mattebox Retime",
            c"Speed changes and frame-rate conversion with optical flow: nearest, blend, fast, quality or \
              neural (RIFE) in-between frames, or the motion vectors.",
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
                c"Nearest: the nearer frame. Blend: a cross-fade. Fast: optical flow, real time at 1080p. Quality: finer \
                  flow. Neural: RIFE, best on large motion, far slower (needs rife-4.onnx from Mattebox's setup in \
                  ~/.local/share/mattebox/models or $MATTEBOX_RIFE_MODEL, and ONNX Runtime).",
            ),
            &MODES.map(|m| m.1),
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
        Ok(RetimeInstance { retimer: Mutex::new(None) })
    }

    fn time_domain(instance: &RetimeInstance, effect: &Effect, out: &Props) -> OfxResult<bool> {
        let (setup, retimer, _) = instance.retimer(effect, 0.0)?;
        out.set_doubles(
            kOfxImageEffectPropFrameRange,
            &[setup.first, setup.first + output_frames(&setup, &retimer) as f64 - 1.0],
        )?;
        Ok(true)
    }

    fn frames_needed(instance: &RetimeInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = args.double(kOfxPropTime, 0)?;
        let (setup, retimer, j) = instance.retimer(effect, time)?;
        let needed = if setup.vectors {
            vector_frames(&setup, retimer.source_of(j)?)
        } else {
            // Pictures (fields, or frames) needed, as source frames.
            let (mut start, mut end) = (u64::MAX, 0);
            for i in pictures(&setup, &retimer, j) {
                let r = retimer.frames_needed(i)?;
                (start, end) = (start.min(r.start), end.max(r.end));
            }
            start / setup.per_frame()..end.saturating_sub(1) / setup.per_frame() + 1
        };
        out.set_doubles(
            c"OfxImageClipPropFrameRange_Source",
            &[setup.first + needed.start as f64, setup.first + needed.end as f64 - 1.0],
        )?;
        Ok(true)
    }

    fn is_identity(instance: &RetimeInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = args.double(kOfxPropTime, 0)?;
        let (setup, retimer, j) = instance.retimer(effect, time)?;
        // A copy of one source frame: both of its fields, in order, when
        // interlaced.
        let copied = pictures(&setup, &retimer, j)
            .into_iter()
            .enumerate()
            .map(|(f, i)| Ok(retimer.copied_source(i)?.filter(|k| k % setup.per_frame() == f as u64)))
            .collect::<OfxResult<Option<Vec<u64>>>>()?
            .filter(|ks| ks.windows(2).all(|w| w[1] == w[0] + 1))
            .map(|ks| ks[0] / setup.per_frame());
        match copied {
            Some(source) if !setup.vectors => {
                out.set_string(kOfxPropName, 0, SOURCE)?;
                out.set_double(kOfxPropTime, 0, setup.first + source as f64)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn render(instance: &RetimeInstance, effect: &Effect, args: &Props) -> OfxResult<()> {
        let time = args.double(kOfxPropTime, 0)?;
        let window = args.rect_i(kOfxImageEffectPropRenderWindow)?;
        let (setup, retimer, j) = instance.retimer(effect, time)?;
        let source = effect.clip(SOURCE)?;
        let mut out = effect
            .clip(OUTPUT)?
            .image(time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Output image at {time}")))?;
        if window.x2 <= window.x1 || window.y2 <= window.y1 {
            return Ok(());
        }
        let frames = Frames { source: &source, setup: &setup, retimer: &retimer };
        let scale = RenderScale::of(args);
        let mut made = Vec::with_capacity(2);
        let mut bounds = None;
        for i in pictures(&setup, &retimer, j) {
            let Some((picture, b)) = picture(effect, &frames, i, scale)? else { return Ok(()) };
            made.push(picture);
            bounds = Some(b);
        }
        let bounds = bounds.ok_or_else(|| OfxError::failed("nothing to render"))?;
        let result = match (setup.order, made.len()) {
            (Some(order), 2) => fields::weave_from(&made[0], &made[1], order)?,
            _ => made.swap_remove(0),
        };
        out.write(&result, bounds, window)
    }
}

/// Planned picture `i` (a frame, or a bobbed field) and the source's
/// bounds; `None` when the host asked to stop.
fn picture(effect: &Effect, frames: &Frames, i: u64, scale: RenderScale) -> OfxResult<Option<(Frame, OfxRectI)>> {
    let (setup, retimer) = (frames.setup, frames.retimer);
    let k = retimer.source_of(i)?;
    let (a, bounds) = frames.get(k)?;
    // The picture after, when the output lies between the two or shows
    // the motion towards it (none past the clip's end: `a` is held).
    let next = if retimer.copied_source(i)?.is_none() || setup.vectors { frames.next(k, &a, bounds)? } else { None };
    if effect.aborted() {
        return Ok(None);
    }
    // Cuts are decided here, on the render thread, which may fetch frames.
    let signature = |n: u64| frames.signature(n);
    let step = if setup.vectors { None } else { Some(retimer.step(i, signature)?) };
    let moves = setup.vectors && next.is_some() && !retimer.is_cut(k, signature)?;
    let runtime = crate::host::runtime()?;
    let result = runtime.install(|| -> OfxResult<Frame> {
        Ok(match (step, next) {
            (None, Some(b)) if moves => {
                let mode = if setup.mode.uses_flow() { setup.mode } else { Mode::Quality };
                let pair = retimer.flow_pair(k, &a.view(), &b.view(), mode)?;
                vectors_frame(&pair, a.width(), a.height(), scale)?
            }
            // Across a cut or at the end, nothing moves towards the next frame.
            (None, _) => {
                let mut zero = Frame::new(a.width(), a.height(), mattebox_core::PixelFormat::Rgba32F)?;
                zero.view_mut().fill([0.0, 0.0, 0.0, 1.0]);
                zero
            }
            (Some(RetimeStep::Between { a: index, t }), Some(b)) => {
                let mut made = Frame::new(a.width(), a.height(), a.format())?;
                retimer.between(index, &a.view(), &b.view(), t, &mut made.view_mut())?;
                made
            }
            // A source picture as it is, held at a cut, or past the end.
            (Some(_), _) => a,
        })
    })?;
    Ok(Some((result, bounds)))
}

/// The source frames read for a vectors image at source frame `k`: the
/// frame, and if one follows, the next and those that decide a cut between.
fn vector_frames(setup: &Setup, k: u64) -> std::ops::Range<u64> {
    if k + 1 < setup.frames { mattebox_core::interp::cuts::window(k, setup.frames) } else { k..k + 1 }
}

/// The Source clip's pictures, numbered as the retimer numbers them: its
/// frames, or (interlaced) each frame's two fields bobbed to full height.
struct Frames<'a> {
    source: &'a Clip,
    setup: &'a Setup,
    retimer: &'a ShotRetimer,
}

impl Frames<'_> {
    fn time(&self, k: u64) -> f64 {
        self.setup.first + (k / self.setup.per_frame()) as f64
    }

    /// Picture `k` and the frame's bounds, without telling the retimer;
    /// `None` where the host has no frame.
    fn fetch(&self, k: u64) -> OfxResult<Option<(Frame, OfxRectI)>> {
        let time = self.time(k);
        let Some(image) = self.source.image(time)? else { return Ok(None) };
        let frame = image.to_frame()?;
        let frame = match self.setup.order {
            Some(order) => fields::bob(&frame, order, (k % 2) as usize)?,
            None => frame,
        };
        Ok(Some((frame, image.bounds)))
    }

    /// Picture `k` and its bounds, told to the retimer (which forgets what
    /// it learnt if the picture changed upstream).
    fn get(&self, k: u64) -> OfxResult<(Frame, OfxRectI)> {
        let (frame, bounds) = self
            .fetch(k)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Source frame at {}", self.time(k))))?;
        self.retimer.observe(k, &Signature::of(&frame.view()));
        Ok((frame, bounds))
    }

    /// Picture `k + 1`, of the same size and depth as `a`; none past the clip's end.
    fn next(&self, k: u64, a: &Frame, bounds: OfxRectI) -> OfxResult<Option<Frame>> {
        if k + 1 >= self.setup.frames * self.setup.per_frame() {
            return Ok(None);
        }
        let Some((frame, next_bounds)) = self.fetch(k + 1)? else { return Ok(None) };
        if next_bounds != bounds || frame.format() != a.format() {
            return Err(OfxError::failed(format!(
                "Source frames {} and {} differ in size or depth",
                self.time(k),
                self.time(k + 1)
            )));
        }
        self.retimer.observe(k + 1, &Signature::of(&frame.view()));
        Ok(Some(frame))
    }

    /// Picture `i`'s cut signature.
    fn signature(&self, i: u64) -> OfxResult<Signature> {
        let (frame, _) = self.fetch(i)?.ok_or_else(|| {
            OfxError::failed(format!("the host gave no Source frame at {}, which decides a cut", self.time(i)))
        })?;
        Ok(Signature::of(&frame.view()))
    }
}

/// The forward flow as an image: u in red, v in green (OFX's y points up,
/// so v is negated), 0 in blue, 1 in alpha; in full-size pixels at every
/// render scale, so a proxy shows the motion the full frame has.
fn vectors_frame(pair: &FlowPair, w: u32, h: u32, scale: RenderScale) -> OfxResult<Frame> {
    let flow = pair.forward_full()?;
    let mut frame = Frame::new(w, h, mattebox_core::PixelFormat::Rgba32F)?;
    let mut view = frame.view_mut();
    let mut row = vec![0.0f32; w as usize * 4];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let (u, v) = flow.at(x, y);
            row[x * 4..x * 4 + 4].copy_from_slice(&[u / scale.x as f32, -v / scale.y as f32, 0.0, 1.0]);
        }
        view.write_row_f32(y as u32, &row);
    }
    Ok(frame)
}
