//! Frame interpolation, flow pairs, cut detection, retime plans, and the
//! shot retimer that renders a retime frame by frame as `mattebox retime` does.

use mattebox_core::Rational;
use mattebox_core::frame::convert;
use mattebox_core::interp::retime::{RetimePlan, RetimeSpec, SpeedCurve, plan};
use mattebox_core::interp::{FlowPair, Mode, RetimeStep, ShotRetimer, cuts, interpolate, interpolate_with};

use crate::boundary::{BoxedHandle, FfiError, FfiResult, arg_mut, arg_ref, free_handle, guard, mb_result};
use crate::image::{image_view, image_view_mut, mb_image, overlaps};
use crate::runtime::mb_runtime;

/// An interpolation mode code: one of the `MB_INTERP_MODE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_interp_mode = u32;
/// The nearer source frame, unchanged.
pub const MB_INTERP_MODE_NEAREST: mb_interp_mode = 1;
/// A cross-fade of the two frames.
pub const MB_INTERP_MODE_BLEND: mb_interp_mode = 2;
/// Motion-compensated, coarser flow: real time at 1080p.
pub const MB_INTERP_MODE_FAST: mb_interp_mode = 3;
/// Motion-compensated, finer flow and bicubic resampling.
pub const MB_INTERP_MODE_QUALITY: mb_interp_mode = 4;
/// RIFE, a neural network, through ONNX Runtime: the best on large motion,
/// far slower. The model is `$MATTEBOX_RIFE_MODEL`, else
/// `~/.local/share/mattebox/models/rife-4.onnx`; the library
/// `$MATTEBOX_ONNXRUNTIME`, else `libonnxruntime.so` on the loader path.
/// Needs the `onnx` feature (on by default).
pub const MB_INTERP_MODE_NEURAL: mb_interp_mode = 5;

fn mode(code: mb_interp_mode) -> FfiResult<Mode> {
    Ok(match code {
        MB_INTERP_MODE_NEAREST => Mode::Nearest,
        MB_INTERP_MODE_BLEND => Mode::Blend,
        MB_INTERP_MODE_FAST => Mode::Fast,
        MB_INTERP_MODE_QUALITY => Mode::Quality,
        MB_INTERP_MODE_NEURAL => Mode::Neural,
        other => {
            return Err(FfiError {
                code: mb_result::Unsupported,
                message: format!("mode {other} is not one of MB_INTERP_MODE_NEAREST (1) to MB_INTERP_MODE_NEURAL (5)"),
            });
        }
    })
}

fn no_overlap(out: &mb_image, inputs: &[(&mb_image, &str)]) -> FfiResult<()> {
    for (input, name) in inputs {
        if overlaps(out, input) {
            return Err(FfiError::invalid(format!("`out` overlaps `{name}`; write into a separate buffer")));
        }
    }
    Ok(())
}

/// Writes the frame at time `t` between `a` (t = 0) and `b` (t = 1) into
/// `out`. `a` and `b` must share size and format; `out` must have their size
/// and may have any format and stride. Computes optical flow for the flow
/// modes; to make several frames between the same two, use `mb_flow_pair_new`.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; the images must describe
/// buffers valid during the call, and `out` must not overlap `a` or `b`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_interpolate(
    runtime: *const mb_runtime,
    a: *const mb_image,
    b: *const mb_image,
    t: f32,
    mode_code: mb_interp_mode,
    out: *const mb_image,
) -> mb_result {
    guard("mb_interpolate", || {
        // SAFETY: pointers checked for null; validity is the host's contract.
        let (runtime, a, b, out) =
            unsafe { (arg_ref(runtime, "runtime")?, arg_ref(a, "a")?, arg_ref(b, "b")?, arg_ref(out, "out")?) };
        let mode = mode(mode_code)?;
        // SAFETY: the host promises the buffers for the call.
        let (va, vb) = unsafe { (image_view(a, "a")?, image_view(b, "b")?) };
        no_overlap(out, &[(a, "a"), (b, "b")])?;
        // SAFETY: as above; `out` overlaps neither input.
        let mut vo = unsafe { image_view_mut(out, "out")? };
        runtime.inner.install(|| interpolate(&va, &vb, t, mode, &mut vo))?;
        Ok(())
    })
}

/// Optical flow both ways between two frames, kept to make any number of
/// in-between frames without computing it again. Immutable once made: safe
/// to use from several threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_flow_pair {
    pair: FlowPair,
}

impl BoxedHandle for mb_flow_pair {}

/// Computes the flow between `a` and `b` with a flow mode
/// (`MB_INTERP_MODE_FAST` or `MB_INTERP_MODE_QUALITY`). Release with
/// `mb_flow_pair_free`; on failure `*out` is NULL.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`, the images must describe
/// buffers valid during the call, `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_flow_pair_new(
    runtime: *const mb_runtime,
    a: *const mb_image,
    b: *const mb_image,
    mode_code: mb_interp_mode,
    out: *mut *mut mb_flow_pair,
) -> mb_result {
    guard("mb_flow_pair_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (runtime, a, b) = unsafe { (arg_ref(runtime, "runtime")?, arg_ref(a, "a")?, arg_ref(b, "b")?) };
        let mode = mode(mode_code)?;
        // SAFETY: the host promises the buffers for the call.
        let (va, vb) = unsafe { (image_view(a, "a")?, image_view(b, "b")?) };
        let pair = runtime.inner.install(|| FlowPair::compute(&va, &vb, mode))?;
        *out = mb_flow_pair { pair }.into_raw();
        Ok(())
    })
}

/// Writes the frame at time `t` between the two frames `pair` was computed
/// from (pass the same `a` and `b` again) into `out`.
///
/// # Safety
/// As `mb_interpolate`; `pair` must come from `mb_flow_pair_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_flow_pair_interpolate(
    runtime: *const mb_runtime,
    pair: *const mb_flow_pair,
    a: *const mb_image,
    b: *const mb_image,
    t: f32,
    out: *const mb_image,
) -> mb_result {
    guard("mb_flow_pair_interpolate", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, pair, a, b, out) = unsafe {
            (
                arg_ref(runtime, "runtime")?,
                arg_ref(pair, "pair")?,
                arg_ref(a, "a")?,
                arg_ref(b, "b")?,
                arg_ref(out, "out")?,
            )
        };
        // SAFETY: the host promises the buffers for the call.
        let (va, vb) = unsafe { (image_view(a, "a")?, image_view(b, "b")?) };
        no_overlap(out, &[(a, "a"), (b, "b")])?;
        // SAFETY: as above; `out` overlaps neither input.
        let mut vo = unsafe { image_view_mut(out, "out")? };
        runtime.inner.install(|| interpolate_with(&va, &vb, &pair.pair, t, &mut vo))?;
        Ok(())
    })
}

/// Releases a flow pair. NULL is ignored.
///
/// # Safety
/// `pair` must be NULL or come from `mb_flow_pair_new`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_flow_pair_free(pair: *mut mb_flow_pair) {
    // SAFETY: `pair` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_flow_pair_free", pair) }
}

/// Sets `*is_cut` to 1 if `a` and `b` look like the two sides of a scene
/// cut (judged from these two frames alone, so stricter than a whole-clip
/// scan), else 0. Interpolating across a cut makes garbage: hold instead.
/// To retime as `mattebox retime` does, cuts judged in context, use
/// `mb_shot_retimer_*`.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; the images must describe
/// buffers valid during the call; `is_cut` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_frames_are_cut(
    runtime: *const mb_runtime,
    a: *const mb_image,
    b: *const mb_image,
    is_cut: *mut u32,
) -> mb_result {
    guard("mb_frames_are_cut", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (_runtime, a, b, is_cut) =
            unsafe { (arg_ref(runtime, "runtime")?, arg_ref(a, "a")?, arg_ref(b, "b")?, arg_mut(is_cut, "is_cut")?) };
        // SAFETY: the host promises the buffers for the call.
        let (va, vb) = unsafe { (image_view(a, "a")?, image_view(b, "b")?) };
        *is_cut = cuts::is_cut(&cuts::Signature::of(&va), &cuts::Signature::of(&vb)) as u32;
        Ok(())
    })
}

/// A retime kind code: one of the `MB_RETIME_*` constants.
#[allow(non_camel_case_types)]
pub type mb_retime_kind = u32;
/// Convert to the frame rate `value_num / value_den` at normal speed.
pub const MB_RETIME_FRAME_RATE: mb_retime_kind = 1;
/// Play at the constant speed `value_num / value_den` (1/4 = 4x slow motion).
pub const MB_RETIME_SPEED: mb_retime_kind = 2;
/// Play at the speeds of `curve`.
pub const MB_RETIME_CURVE: mb_retime_kind = 3;

/// One key of a speed curve: at output time `time` (seconds) the playback
/// speed is `speed`; linear between keys.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_speed_key {
    /// Output time, seconds.
    pub time: f64,
    /// Playback speed (above zero).
    pub speed: f64,
}

/// What a retime plan is for. Set `struct_size` to `sizeof(mb_retime_request)`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_retime_request {
    /// `sizeof(mb_retime_request)`.
    pub struct_size: u32,
    /// One of the `MB_RETIME_*` constants.
    pub kind: mb_retime_kind,
    /// Source frame rate, exact (24000 / 1001 for 23.976).
    pub source_rate_num: i64,
    /// Source frame rate denominator.
    pub source_rate_den: i64,
    /// Number of source frames.
    pub source_frames: u64,
    /// Target rate (`MB_RETIME_FRAME_RATE`) or speed (`MB_RETIME_SPEED`), numerator.
    pub value_num: i64,
    /// ... and denominator.
    pub value_den: i64,
    /// Output rate for speeds and curves; 0 / 0 means the source's.
    pub output_rate_num: i64,
    /// ... and denominator.
    pub output_rate_den: i64,
    /// Keys of `MB_RETIME_CURVE`, in time order (copied); NULL otherwise.
    pub curve: *const mb_speed_key,
    /// Number of keys at `curve`.
    pub curve_len: usize,
}

/// Where one output frame of a plan comes from.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mb_planned_frame {
    /// Output frame number.
    pub index: u64,
    /// Output time in seconds, exact: `time_num / time_den`.
    pub time_num: i64,
    /// Output time denominator.
    pub time_den: i64,
    /// Source frame at or before the position.
    pub source: u64,
    /// How far towards `source + 1`, in [0, 1); exactly 0 on a source frame.
    pub fraction: f64,
}

/// A retime plan: for every output frame, which two source frames and which
/// t make it. Immutable; safe to share between threads.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_retime_plan {
    plan: RetimePlan,
}

impl BoxedHandle for mb_retime_plan {}

const REQUEST_SIZE: u32 = std::mem::size_of::<mb_retime_request>() as u32;

fn rational(num: i64, den: i64, what: &str) -> FfiResult<Rational> {
    Rational::new(num, den).map_err(|_| FfiError::invalid(format!("{what} {num}/{den} has a zero denominator")))
}

/// The source rate, output rate and spec of a checked request.
fn read_request(request: &mb_retime_request) -> FfiResult<(Rational, Option<Rational>, RetimeSpec)> {
    if request.struct_size < REQUEST_SIZE {
        return Err(FfiError::invalid(format!(
            "request->struct_size is {} but must be at least {REQUEST_SIZE} (sizeof(mb_retime_request))",
            request.struct_size
        )));
    }
    let source_rate = rational(request.source_rate_num, request.source_rate_den, "source rate")?;
    let output_rate = match (request.output_rate_num, request.output_rate_den) {
        (0, 0) => None,
        (n, d) => Some(rational(n, d, "output rate")?),
    };
    let spec = match request.kind {
        MB_RETIME_FRAME_RATE => RetimeSpec::FrameRate(rational(request.value_num, request.value_den, "frame rate")?),
        MB_RETIME_SPEED => RetimeSpec::Speed(rational(request.value_num, request.value_den, "speed")?),
        MB_RETIME_CURVE => {
            if request.curve.is_null() {
                return Err(FfiError::null("request->curve"));
            }
            if request.curve_len == 0 || request.curve_len > 1_000_000 {
                return Err(FfiError::invalid(format!(
                    "request->curve_len is {}; give 1 to 1000000 keys",
                    request.curve_len
                )));
            }
            // SAFETY: non-null, and the host promises curve_len keys.
            let keys = unsafe { std::slice::from_raw_parts(request.curve, request.curve_len) };
            RetimeSpec::Curve(SpeedCurve::new(keys.iter().map(|k| (k.time, k.speed)).collect())?)
        }
        other => {
            return Err(FfiError {
                code: mb_result::Unsupported,
                message: format!("request->kind {other} is not MB_RETIME_FRAME_RATE, _SPEED or _CURVE"),
            });
        }
    };
    Ok((source_rate, output_rate, spec))
}

/// Plans a retime. Release with `mb_retime_plan_free`; on failure `*out` is NULL.
///
/// # Safety
/// `request` must point to a filled `mb_retime_request` whose `curve`, if
/// not NULL, points to `curve_len` keys; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_retime_plan_new(
    request: *const mb_retime_request,
    out: *mut *mut mb_retime_plan,
) -> mb_result {
    guard("mb_retime_plan_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let request = unsafe { arg_ref(request, "request")? };
        let (source_rate, output_rate, spec) = read_request(request)?;
        let plan = plan(source_rate, request.source_frames, output_rate, &spec)?;
        *out = mb_retime_plan { plan }.into_raw();
        Ok(())
    })
}

/// Writes the plan's output frame count and exact output rate.
///
/// # Safety
/// `plan` must come from `mb_retime_plan_new`; the out-pointers must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_retime_plan_info(
    plan: *const mb_retime_plan,
    frames: *mut u64,
    rate_num: *mut i64,
    rate_den: *mut i64,
) -> mb_result {
    guard("mb_retime_plan_info", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (plan, frames, num, den) = unsafe {
            (
                arg_ref(plan, "plan")?,
                arg_mut(frames, "frames")?,
                arg_mut(rate_num, "rate_num")?,
                arg_mut(rate_den, "rate_den")?,
            )
        };
        *frames = plan.plan.frames.len() as u64;
        *num = plan.plan.rate.num();
        *den = plan.plan.rate.den();
        Ok(())
    })
}

/// Writes output frame `index` of the plan to `*frame`.
///
/// # Safety
/// `plan` must come from `mb_retime_plan_new`; `frame` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_retime_plan_frame(
    plan: *const mb_retime_plan,
    index: u64,
    frame: *mut mb_planned_frame,
) -> mb_result {
    guard("mb_retime_plan_frame", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (plan, frame) = unsafe { (arg_ref(plan, "plan")?, arg_mut(frame, "frame")?) };
        let count = plan.plan.frames.len() as u64;
        let planned = plan.plan.frames.get(index as usize).filter(|_| index < count).ok_or_else(|| {
            FfiError::invalid(format!("output frame {index} does not exist; the plan has {count} frames"))
        })?;
        *frame = mb_planned_frame {
            index: planned.index,
            time_num: planned.time.num(),
            time_den: planned.time.den(),
            source: planned.source,
            fraction: planned.fraction,
        };
        Ok(())
    })
}

/// Releases a plan. NULL is ignored.
///
/// # Safety
/// `plan` must be NULL or come from `mb_retime_plan_new`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_retime_plan_free(plan: *mut mb_retime_plan) {
    // SAFETY: `plan` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_retime_plan_free", plan) }
}

/// What an output frame of a shot retimer is: one of the `MB_RETIME_STEP_*` constants.
#[allow(non_camel_case_types)]
pub type mb_retime_step = u32;
/// A source frame as it is.
pub const MB_RETIME_STEP_COPY: mb_retime_step = 1;
/// A source frame held, because a cut lies between it and the next.
pub const MB_RETIME_STEP_HOLD_AT_CUT: mb_retime_step = 2;
/// Made between two source frames.
pub const MB_RETIME_STEP_BETWEEN: mb_retime_step = 3;

/// One shot's retime, rendered frame by frame as `mattebox retime` renders
/// it: the plan, the whole-clip cut policy (decided from the few frames
/// around each pair) and the flow pairs, kept between calls. Safe to use
/// from several threads at once, for output frames in any order.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_shot_retimer {
    retimer: ShotRetimer,
}

impl BoxedHandle for mb_shot_retimer {}

/// Makes a shot retimer for `request`, making in-between frames by `mode`
/// (an `MB_INTERP_MODE_*`). Release with `mb_shot_retimer_free`; on failure
/// `*out` is NULL. The neural mode loads its model here, so a missing
/// model, or one that cannot make the times the retime needs, fails now
/// (`MB_RESULT_UNSUPPORTED`, the message says how to get one).
///
/// # Safety
/// As `mb_retime_plan_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_retimer_new(
    request: *const mb_retime_request,
    mode: mb_interp_mode,
    out: *mut *mut mb_shot_retimer,
) -> mb_result {
    guard("mb_shot_retimer_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let request = unsafe { arg_ref(request, "request")? };
        let (source_rate, output_rate, spec) = read_request(request)?;
        let mode = self::mode(mode)?;
        let retimer = ShotRetimer::new(source_rate, request.source_frames, output_rate, &spec, mode)?;
        retimer.prepare()?;
        *out = mb_shot_retimer { retimer }.into_raw();
        Ok(())
    })
}

/// Writes the retime's output frame count and exact output rate.
///
/// # Safety
/// `retimer` must come from `mb_shot_retimer_new`; the out-pointers must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_retimer_info(
    retimer: *const mb_shot_retimer,
    frames: *mut u64,
    rate_num: *mut i64,
    rate_den: *mut i64,
) -> mb_result {
    guard("mb_shot_retimer_info", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (retimer, frames, num, den) = unsafe {
            (
                arg_ref(retimer, "retimer")?,
                arg_mut(frames, "frames")?,
                arg_mut(rate_num, "rate_num")?,
                arg_mut(rate_den, "rate_den")?,
            )
        };
        *frames = retimer.retimer.output_frames();
        *num = retimer.retimer.plan().rate.num();
        *den = retimer.retimer.plan().rate.den();
        Ok(())
    })
}

/// The source frames output frame `index` reads: `*count` frames from
/// `*first`. Give exactly those to `mb_shot_retimer_render`.
///
/// # Safety
/// `retimer` must come from `mb_shot_retimer_new`; the out-pointers must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_retimer_frames_needed(
    retimer: *const mb_shot_retimer,
    index: u64,
    first: *mut u64,
    count: *mut u64,
) -> mb_result {
    guard("mb_shot_retimer_frames_needed", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (retimer, first, count) =
            unsafe { (arg_ref(retimer, "retimer")?, arg_mut(first, "first")?, arg_mut(count, "count")?) };
        let needed = retimer.retimer.frames_needed(index)?;
        *first = needed.start;
        *count = needed.end - needed.start;
        Ok(())
    })
}

/// Renders output frame `index` into `out`. `sources` holds `source_count`
/// images: the frames `mb_shot_retimer_frames_needed` named, in order, all
/// of one size and format. `out` has their size and any format. `*step`,
/// if `step` is not NULL, says what the frame is (an `MB_RETIME_STEP_*`).
///
/// # Safety
/// `runtime` must come from `mb_runtime_new` and `retimer` from
/// `mb_shot_retimer_new`; `sources` must point to `source_count` images and
/// every image describe a buffer valid during the call; `out` must not
/// overlap any source.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_retimer_render(
    runtime: *const mb_runtime,
    retimer: *const mb_shot_retimer,
    index: u64,
    sources: *const mb_image,
    source_count: usize,
    out: *const mb_image,
    step: *mut mb_retime_step,
) -> mb_result {
    guard("mb_shot_retimer_render", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, retimer, out) =
            unsafe { (arg_ref(runtime, "runtime")?, arg_ref(retimer, "retimer")?, arg_ref(out, "out")?) };
        let retimer = &retimer.retimer;
        let needed = retimer.frames_needed(index)?;
        if source_count as u64 != needed.end - needed.start {
            return Err(FfiError::invalid(format!(
                "output frame {index} needs {} source frames, {}..={}, but source_count is {source_count}",
                needed.end - needed.start,
                needed.start,
                needed.end - 1
            )));
        }
        if sources.is_null() {
            return Err(FfiError::null("sources"));
        }
        // SAFETY: non-null; the host promises source_count images.
        let images = unsafe { std::slice::from_raw_parts(sources, source_count) };
        let names: Vec<String> = (0..source_count).map(|i| format!("sources[{i}]")).collect();
        let mut views = Vec::with_capacity(source_count);
        for (image, name) in images.iter().zip(&names) {
            if overlaps(out, image) {
                return Err(FfiError::invalid(format!("`out` overlaps `{name}`; write into a separate buffer")));
            }
            // SAFETY: the host promises each buffer for the call.
            let view = unsafe { image_view(image, name)? };
            if let Some(first) = views.first()
                && !same_shape(first, &view)
            {
                return Err(FfiError::invalid(format!(
                    "`{name}` is {}x{} {:?} but `sources[0]` is {}x{} {:?}; give frames of one size and format",
                    view.width(),
                    view.height(),
                    view.format(),
                    first.width(),
                    first.height(),
                    first.format()
                )));
            }
            views.push(view);
        }
        // SAFETY: the host promises the buffer for the call, unshared.
        let mut out = unsafe { image_view_mut(out, "out")? };
        let source = |k: u64| &views[(k - needed.start) as usize];
        let signature = |k: u64| Ok::<_, FfiError>(cuts::Signature::of(source(k)));
        // Told the frames it shows, the retimer notices a source changed
        // since it last decided (a host re-rendering after an edit upstream).
        let shown = retimer.source_of(index)?;
        for k in shown..(shown + 2).min(needed.end) {
            retimer.observe(k, &cuts::Signature::of(source(k)));
        }
        let what = retimer.step(index, signature)?;
        runtime.inner.install(|| match what {
            RetimeStep::Copy(k) | RetimeStep::HoldAtCut(k) => convert(source(k), &mut out),
            RetimeStep::Between { a, t } => retimer.between(a, source(a), source(a + 1), t, &mut out),
        })?;
        if !step.is_null() {
            // SAFETY: non-null; the host promises it writable.
            unsafe {
                *step = match what {
                    RetimeStep::Copy(_) => MB_RETIME_STEP_COPY,
                    RetimeStep::HoldAtCut(_) => MB_RETIME_STEP_HOLD_AT_CUT,
                    RetimeStep::Between { .. } => MB_RETIME_STEP_BETWEEN,
                }
            };
        }
        Ok(())
    })
}

fn same_shape(a: &mattebox_core::FrameView<'_>, b: &mattebox_core::FrameView<'_>) -> bool {
    a.width() == b.width() && a.height() == b.height() && a.format() == b.format()
}

/// Releases a shot retimer. NULL is ignored.
///
/// # Safety
/// `retimer` must be NULL or come from `mb_shot_retimer_new`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_retimer_free(retimer: *mut mb_shot_retimer) {
    // SAFETY: `retimer` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_shot_retimer_free", retimer) }
}
