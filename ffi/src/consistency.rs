//! Consistency scoring of a shot of host frames, optionally against
//! reference frames: shot-level scores, per-frame curves into host arrays,
//! and the HTML report.

use mattebox_core::consistency::references::{ReferenceImage, ReferenceScores, References};
use mattebox_core::consistency::{ShotScorer, ShotScores};
use mattebox_core::shot::ReferenceKind;
use parking_lot::Mutex;

use crate::boundary::{BoxedHandle, FfiError, FfiResult, arg_mut, arg_ref, free_handle, guard, guard_value, mb_result};
use crate::image::{image_view, mb_image};
use crate::runtime::mb_runtime;

/// A score code: one of the `MB_SCORE_*` constants, indexing the scores.
#[allow(non_camel_case_types)]
pub type mb_score = u32;
/// The subject region keeps its look (VBench subject consistency form).
pub const MB_SCORE_SUBJECT: mb_score = 0;
/// The background keeps its look (VBench background consistency form).
pub const MB_SCORE_BACKGROUND: mb_score = 1;
/// No exposure or colour flicker beyond what motion explains.
pub const MB_SCORE_FLICKER: mb_score = 2;
/// No local texture boiling beyond what motion explains.
pub const MB_SCORE_BOILING: mb_score = 3;
/// The grade stays where the shot started.
pub const MB_SCORE_GRADE: mb_score = 4;
/// The camera's motion changes smoothly.
pub const MB_SCORE_SMOOTHNESS: mb_score = 5;
/// The subject looks like the `MB_REFERENCE_CHARACTER` frames (-1 without any).
pub const MB_SCORE_CHARACTER: mb_score = 6;
/// The background looks like the `MB_REFERENCE_LOCATION` frames (-1 without any).
pub const MB_SCORE_LOCATION: mb_score = 7;
/// Lab colour statistics match the look (else location) frames (-1 without any).
pub const MB_SCORE_GRADE_MATCH: mb_score = 8;
/// Contrast, colourfulness, sharpness and texture match the look (else
/// location) frames (-1 without any).
pub const MB_SCORE_STYLE_MATCH: mb_score = 9;
/// How many `MB_SCORE_*` codes there are.
pub const MB_SCORE_COUNT: mb_score = 10;
/// Scores below this are problems.
pub const MB_SCORE_PROBLEM_BELOW: f32 = 0.75;
const _: () = assert!(MB_SCORE_PROBLEM_BELOW == mattebox_core::consistency::PROBLEM_BELOW);

/// What a reference frame shows: one of the `MB_REFERENCE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_reference_kind = u32;
/// The shot's character (compared with the subject region).
pub const MB_REFERENCE_CHARACTER: mb_reference_kind = 1;
/// The shot's location (compared with the background).
pub const MB_REFERENCE_LOCATION: mb_reference_kind = 2;
/// The intended grade and style (compared with the whole frame).
pub const MB_REFERENCE_LOOK: mb_reference_kind = 3;

/// Scores one shot at a time from frames the host pushes in order, against
/// the reference frames it was given. Calls on one scorer are serialised;
/// use one scorer per shot being scored at the same time.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_shot_scorer {
    state: Mutex<ScorerState>,
}

impl BoxedHandle for mb_shot_scorer {}

#[derive(Debug, Default)]
struct ScorerState {
    scorer: ShotScorer,
    refs: References,
}

/// A scored shot. Immutable: safe to read from several threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_shot_scores {
    scores: ShotScores,
    // Read by the HTML report, which needs the `media` feature.
    #[cfg_attr(not(feature = "media"), allow(dead_code))]
    refs: References,
    matched: Option<ReferenceScores>,
}

impl BoxedHandle for mb_shot_scores {}

impl mb_shot_scores {
    fn value(&self, metric: mb_score) -> FfiResult<f32> {
        let s = &self.scores.scores;
        let m = self.matched.as_ref();
        Ok(match metric {
            MB_SCORE_SUBJECT => s.subject,
            MB_SCORE_BACKGROUND => s.background,
            MB_SCORE_FLICKER => s.flicker,
            MB_SCORE_BOILING => s.boiling,
            MB_SCORE_GRADE => s.grade,
            MB_SCORE_SMOOTHNESS => s.smoothness,
            MB_SCORE_CHARACTER => m.and_then(|m| m.character).unwrap_or(-1.0),
            MB_SCORE_LOCATION => m.and_then(|m| m.location.as_ref().map(|l| l.score)).unwrap_or(-1.0),
            MB_SCORE_GRADE_MATCH => m.and_then(|m| m.grade).unwrap_or(-1.0),
            MB_SCORE_STYLE_MATCH => m.and_then(|m| m.style).unwrap_or(-1.0),
            other => return Err(unknown_metric(other)),
        })
    }

    fn frame_value(&self, metric: mb_score, frame: usize) -> f32 {
        let s = &self.scores.curves[frame];
        let m = self.matched.as_ref().map(|m| m.curves[frame]);
        match metric {
            MB_SCORE_SUBJECT => s.subject,
            MB_SCORE_BACKGROUND => s.background,
            MB_SCORE_FLICKER => s.flicker,
            MB_SCORE_BOILING => s.boiling,
            MB_SCORE_GRADE => s.grade,
            MB_SCORE_SMOOTHNESS => s.smoothness,
            MB_SCORE_CHARACTER => m.and_then(|m| m.character).unwrap_or(-1.0),
            MB_SCORE_LOCATION => m.and_then(|m| m.location).unwrap_or(-1.0),
            MB_SCORE_GRADE_MATCH => m.and_then(|m| m.grade).unwrap_or(-1.0),
            _ => m.and_then(|m| m.style).unwrap_or(-1.0),
        }
    }
}

fn unknown_metric(code: mb_score) -> FfiError {
    FfiError {
        code: mb_result::Unsupported,
        message: format!("score {code} is not one of MB_SCORE_SUBJECT (0) to MB_SCORE_STYLE_MATCH (9)"),
    }
}

/// Makes a scorer with no references. Release with `mb_shot_scorer_free`;
/// on failure `*out` is NULL.
///
/// # Safety
/// `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scorer_new(out: *mut *mut mb_shot_scorer) -> mb_result {
    guard("mb_shot_scorer_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = mb_shot_scorer { state: Mutex::new(ScorerState::default()) }.into_raw();
        Ok(())
    })
}

/// Adds a reference frame of `kind` (`MB_REFERENCE_*`); a kind may have
/// several (views on a character sheet). References apply to every shot the
/// scorer scores from now on; the frame is described at once and not kept.
///
/// # Safety
/// `scorer` must come from `mb_shot_scorer_new`; `image` must describe a
/// buffer valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scorer_add_reference(
    runtime: *const mb_runtime,
    scorer: *const mb_shot_scorer,
    kind: mb_reference_kind,
    image: *const mb_image,
) -> mb_result {
    guard("mb_shot_scorer_add_reference", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, scorer, image) =
            unsafe { (arg_ref(runtime, "runtime")?, arg_ref(scorer, "scorer")?, arg_ref(image, "image")?) };
        // SAFETY: the host promises the buffer for the call.
        let view = unsafe { image_view(image, "image")? };
        let (name, kind) = match kind {
            MB_REFERENCE_CHARACTER => ("character reference", ReferenceKind::Character),
            MB_REFERENCE_LOCATION => ("location reference", ReferenceKind::Location),
            MB_REFERENCE_LOOK => ("look reference", ReferenceKind::Style),
            other => {
                return Err(FfiError {
                    code: mb_result::Unsupported,
                    message: format!(
                        "reference kind {other} is not MB_REFERENCE_CHARACTER (1), MB_REFERENCE_LOCATION (2) or MB_REFERENCE_LOOK (3)"
                    ),
                });
            }
        };
        let mut state = scorer.state.lock();
        let index = state.refs.image_count();
        let frame = view.to_frame()?;
        let described = runtime
            .inner
            .install(|| ReferenceImage::describe(std::path::Path::new(&format!("{name} {index}")), &frame))?;
        state.refs.add_unnamed(kind, described);
        Ok(())
    })
}

/// Adds the shot's next frame. Every frame of a shot must have the first's
/// size; formats and strides may differ. Frames are analysed on a small
/// copy as they arrive, so a long shot costs no more memory than a short one.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`, `scorer` from
/// `mb_shot_scorer_new`; `image` must describe a buffer valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scorer_push(
    runtime: *const mb_runtime,
    scorer: *const mb_shot_scorer,
    image: *const mb_image,
) -> mb_result {
    guard("mb_shot_scorer_push", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, scorer, image) =
            unsafe { (arg_ref(runtime, "runtime")?, arg_ref(scorer, "scorer")?, arg_ref(image, "image")?) };
        // SAFETY: the host promises the buffer for the call.
        let view = unsafe { image_view(image, "image")? };
        let mut state = scorer.state.lock();
        let shot = &mut state.scorer;
        runtime.inner.install(|| shot.push(&view))?;
        Ok(())
    })
}

/// Ends the shot and scores it (at least two frames). The scorer starts
/// over for the next shot, keeping its references. Release the scores with
/// `mb_shot_scores_free`; on failure `*out` is NULL (and the frames pushed
/// so far are dropped).
///
/// # Safety
/// `scorer` must come from `mb_shot_scorer_new`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scorer_finish(
    scorer: *const mb_shot_scorer,
    out: *mut *mut mb_shot_scores,
) -> mb_result {
    guard("mb_shot_scorer_finish", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let scorer = unsafe { arg_ref(scorer, "scorer")? };
        let mut state = scorer.state.lock();
        let scores = std::mem::take(&mut state.scorer).finish()?;
        let expectation = state.refs.unnamed_expectation();
        let has_refs =
            !state.refs.characters.is_empty() || !state.refs.locations.is_empty() || !state.refs.look.is_empty();
        let matched = has_refs.then(|| state.refs.score(&scores, &expectation));
        *out = mb_shot_scores { scores, refs: state.refs.clone(), matched }.into_raw();
        Ok(())
    })
}

/// Releases a scorer. NULL is ignored.
///
/// # Safety
/// `scorer` must come from `mb_shot_scorer_new` and not be used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scorer_free(scorer: *mut mb_shot_scorer) {
    // SAFETY: `scorer` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_shot_scorer_free", scorer) }
}

/// How many frames the shot had (0 for NULL).
///
/// # Safety
/// `scores` must be NULL or come from `mb_shot_scorer_finish`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scores_frame_count(scores: *const mb_shot_scores) -> usize {
    // SAFETY: NULL or valid, per the contract.
    guard_value(0, || unsafe { scores.as_ref() }.map_or(0, |s| s.scores.frames))
}

/// The shot's value of `metric` (`MB_SCORE_*`), in [0, 1], higher is better;
/// -1 for a reference score when the scorer had no reference of that kind.
///
/// # Safety
/// `scores` must come from `mb_shot_scorer_finish`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scores_value(
    scores: *const mb_shot_scores,
    metric: mb_score,
    out: *mut f32,
) -> mb_result {
    guard("mb_shot_scores_value", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (scores, out) = unsafe { (arg_ref(scores, "scores")?, arg_mut(out, "out")?) };
        *out = scores.value(metric)?;
        Ok(())
    })
}

/// Writes `metric`'s per-frame curve into the host array `out` of `len`
/// floats: one value per frame (`mb_shot_scores_frame_count` of them, so
/// `len` must be at least that); frame 0 scores 1 for the in-shot scores.
///
/// # Safety
/// `scores` must come from `mb_shot_scorer_finish`; `out` must point to
/// `len` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scores_curve(
    scores: *const mb_shot_scores,
    metric: mb_score,
    out: *mut f32,
    len: usize,
) -> mb_result {
    guard("mb_shot_scores_curve", || {
        // SAFETY: checked for null; validity is the host's contract.
        let scores = unsafe { arg_ref(scores, "scores")? };
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        scores.value(metric)?;
        let frames = scores.scores.frames;
        if len < frames {
            return Err(FfiError::invalid(format!(
                "`out` holds {len} floats but the shot has {frames} frames; pass an array of mb_shot_scores_frame_count()"
            )));
        }
        // SAFETY: non-null, and the host promises `len` >= `frames` floats.
        let out = unsafe { std::slice::from_raw_parts_mut(out, frames) };
        for (frame, slot) in out.iter_mut().enumerate() {
            *slot = scores.frame_value(metric, frame);
        }
        Ok(())
    })
}

/// Writes the shot's self-contained HTML report (scores, problems in words,
/// per-frame curves, contact sheet, worst frames, references) to `path`,
/// replacing it; written under a temporary name and renamed into place.
/// `title` may be NULL. Without the `media` feature: `MB_RESULT_UNSUPPORTED`.
///
/// # Safety
/// `scores` must come from `mb_shot_scorer_finish`; `path` (and a non-NULL
/// `title`) must be NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scores_write_html(
    scores: *const mb_shot_scores,
    path: *const std::ffi::c_char,
    title: *const std::ffi::c_char,
) -> mb_result {
    guard("mb_shot_scores_write_html", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (scores, path) = unsafe { (arg_ref(scores, "scores")?, crate::boundary::arg_path(path, "path")?) };
        let title = if title.is_null() {
            "Mattebox consistency report".to_owned()
        } else {
            // SAFETY: non-null and NUL-terminated per the contract.
            unsafe { std::ffi::CStr::from_ptr(title) }.to_string_lossy().into_owned()
        };
        write_html(scores, &path, &title)
    })
}

#[cfg(feature = "media")]
fn write_html(scores: &mb_shot_scores, path: &std::path::Path, title: &str) -> FfiResult<()> {
    use mattebox_core::consistency::report::{ShotPage, html};
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "shot".to_owned());
    let page = [ShotPage { name: &name, scores: &scores.scores, references: scores.matched.as_ref() }];
    let text = html(title, &page, Some(&scores.refs), None)?;
    Ok(mattebox_core::staged::write_file(path, text, true, "write the report")?)
}

#[cfg(not(feature = "media"))]
fn write_html(_: &mb_shot_scores, _: &std::path::Path, _: &str) -> FfiResult<()> {
    Err(FfiError { code: mb_result::Unsupported, message: "this build has no image support (feature `media`)".into() })
}

/// Releases scores. NULL is ignored.
///
/// # Safety
/// `scores` must come from `mb_shot_scorer_finish` and not be used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_shot_scores_free(scores: *mut mb_shot_scores) {
    // SAFETY: `scores` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_shot_scores_free", scores) }
}
