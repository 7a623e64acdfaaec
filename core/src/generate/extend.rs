//! The built-in generator's continuation of a source video (role
//! `extend`): the shot goes on from the source's last frame with the
//! camera move the source was making when it ended.
//!
//! The move between the source's last two frames is measured as a
//! similarity (pan, zoom, roll) from their optical flow, the same fit the
//! compositor's camera tracker uses, and frame k of the take shows the
//! last frame carried k steps further. Content the move brings in from
//! outside the last frame does not exist, so the view also pushes in just
//! enough to keep inside it. That push starts at rest and builds up
//! smoothly over half a second, so the first frame of the take moves from
//! the source's last frame by the source's own step, not by a jump; while
//! it builds up, the thin band it has not yet covered is the last frame
//! mirrored at its edge (a mirror hides better than stretched pixels).

use crate::composite::camera::{CameraMove, estimate_between};
use crate::error::Result;
use crate::frame::Frame;
use crate::pixels::sample::RgbaImage;
use crate::pixels::{Fit, fit_background};
use crate::shot::{Deviation, Field, VideoInput};

use super::TakeContext;

/// Most the view pushes in to stay inside the last frame; past it the
/// edge pixels are stretched.
const MAX_PUSH: f32 = 3.0;
/// Seconds over which the push builds up (at most half the take).
const PUSH_EASE_SECONDS: f64 = 0.5;
/// Below this share of textured pixels carrying the flow, the source's
/// move is not trusted and the last frame is held.
const MIN_SUPPORT: f32 = 0.02;

/// Renders the take as the continuation of `source`; returns what it had to
/// approximate.
pub(super) fn continue_video(cx: &mut TakeContext<'_>, source: &VideoInput) -> Result<Vec<Deviation>> {
    let request = cx.request();
    let (w, h) = (request.width, request.height);
    let count = request.frame_count();
    let mut notes = Vec::new();
    let runtime = cx.runtime();
    let fitted = |frame: &Frame| -> Result<Frame> {
        if (frame.width(), frame.height()) == (w, h) {
            Ok(frame.clone())
        } else {
            runtime.install(|| fit_background(&frame.view(), w, h, Fit::Cover))
        }
    };
    if (source.width(), source.height()) != (w, h) {
        notes.push(Deviation::approximated(
            Field::SourceVideo,
            format!(
                "the source is {}x{}; it was fitted (cover) to {w}x{h} before continuing",
                source.width(),
                source.height()
            ),
        ));
    }
    let last = fitted(source.last_frame())?;
    cx.progress(0.0);
    let step = match source.tail().len() {
        0 | 1 => {
            notes.push(Deviation::approximated(
                Field::SourceVideo,
                "the source has one frame, so it has no motion to continue; its frame is held",
            ));
            CameraMove::STILL
        }
        n => {
            let before = fitted(source.tail().nth(n - 2).expect("n >= 2"))?;
            let (step, support) = runtime.install(|| estimate_between(&before.view(), &last.view(), None))?;
            if support < MIN_SUPPORT {
                notes.push(Deviation::approximated(
                    Field::SourceVideo,
                    "the source's last frames have too little texture to measure their motion; the last frame is held",
                ));
                CameraMove::STILL
            } else {
                step
            }
        }
    };
    // The source's step, per frame of the take (the rates may differ).
    let step = scaled(&step, (source.fps().to_f64() / request.fps.to_f64()) as f32);
    // Pushed in by m, the view shows the source's step m times larger: the
    // view moves by step / m, so that on screen the pace stays the source's.
    // The push wanted depends on the moves, so settle the two together
    // (the first pass, unslowed, asks for the most).
    let (wf, hf) = (w as f32, h as f32);
    let mut pushes = vec![1.0f32; count as usize];
    let mut needed = Vec::new();
    let mut moves = Vec::new();
    let ease_frames = (PUSH_EASE_SECONDS * request.fps.to_f64()).min(count as f64 / 2.0).max(1.0) as f32;
    for _ in 0..3 {
        moves = path(&step, &pushes);
        needed = moves.iter().map(|m| push_needed(m, wf, hf)).collect();
        pushes = push_curve(&needed, MAX_PUSH, ease_frames);
    }
    let most = needed.iter().copied().fold(1.0f32, f32::max);
    if most > 1.001 {
        notes.push(Deviation::approximated(
            Field::SourceVideo,
            format!(
                "the view pushes in to {:.0}% over the take to stay inside the source's last frame \
                 (the built-in generator cannot invent what the move brings into view)",
                100.0 * most.min(MAX_PUSH)
            ),
        ));
    }
    if most > MAX_PUSH {
        notes.push(Deviation::approximated(
            Field::SourceVideo,
            "the move carries the view past the source's last frame; its edge pixels are stretched there",
        ));
    }
    let image = RgbaImage::of(&last.view())?;
    let mut out = Frame::new(w, h, source.last_frame().format())?;
    for (camera, push) in moves.iter().zip(pushes) {
        cx.check_cancelled()?;
        cx.runtime().install(|| {
            out.view_mut().par_rows_mut_init(
                || vec![0.0f32; w as usize * 4],
                |row, y, dst| {
                    let vy = (y as f32 + 0.5 - hf / 2.0) / push + hf / 2.0;
                    for (x, px) in row.chunks_exact_mut(4).enumerate() {
                        let vx = (x as f32 + 0.5 - wf / 2.0) / push + wf / 2.0;
                        let (sx, sy) = camera.source_of(vx, vy, wf, hf);
                        px.copy_from_slice(&image.sample(mirror(sx - 0.5, wf), mirror(sy - 0.5, hf)));
                    }
                    dst.write_f32(row);
                },
            )
        });
        cx.emit(&out.view())?;
    }
    Ok(notes)
}

/// Where the view is at each frame: `step` after step, each slowed by the
/// push-in of the frame it leads to.
fn path(step: &CameraMove, pushes: &[f32]) -> Vec<CameraMove> {
    pushes
        .iter()
        .scan(CameraMove::STILL, |total, &push| {
            *total = total.then(&CameraMove { pan_x: step.pan_x / push, pan_y: step.pan_y / push, ..*step });
            Some(*total)
        })
        .collect()
}

/// `step` taken `r` times (r may be fractional: a source at another rate).
fn scaled(step: &CameraMove, r: f32) -> CameraMove {
    CameraMove { pan_x: step.pan_x * r, pan_y: step.pan_y * r, zoom: step.zoom.powf(r), roll: step.roll * r }
}

/// The least push-in about the centre that keeps a `w` x `h` view, moved
/// by `camera`, inside the frame it samples; `MAX_PUSH` and above when
/// none up to it does.
fn push_needed(camera: &CameraMove, w: f32, h: f32) -> f32 {
    let inside = |push: f32| {
        [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)].iter().all(|&(x, y)| {
            let (sx, sy) = camera.source_of((x - w / 2.0) / push + w / 2.0, (y - h / 2.0) / push + h / 2.0, w, h);
            (-0.01..=w + 0.01).contains(&sx) && (-0.01..=h + 0.01).contains(&sy)
        })
    };
    if inside(1.0) {
        return 1.0;
    }
    if !inside(MAX_PUSH) {
        return MAX_PUSH + 1.0;
    }
    let (mut lo, mut hi) = (1.0f32, MAX_PUSH);
    for _ in 0..24 {
        let mid = 0.5 * (lo + hi);
        if inside(mid) { hi = mid } else { lo = mid }
    }
    hi
}

/// The push per frame: as needed, capped, never shrinking (the view does
/// not pull back out), and eased in over `ease_frames` (a smoothstep on the
/// share of it applied) so that it starts at rest: the continuation's first
/// step is the source's own, and its zoom speeds up without a kick.
fn push_curve(needed: &[f32], cap: f32, ease_frames: f32) -> Vec<f32> {
    let mut held = 1.0f32;
    needed
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            held = held.max(n.min(cap));
            let u = ((k + 1) as f32 / ease_frames).min(1.0);
            1.0 + (held - 1.0) * u * u * (3.0 - 2.0 * u)
        })
        .collect()
}

/// A sample position reflected into `0..=size - 1`: outside the frame, its
/// mirror image inside it.
#[inline]
fn mirror(at: f32, size: f32) -> f32 {
    let last = size - 1.0;
    let at = if at < 0.0 { -at } else { at };
    if at > last { 2.0 * last - at } else { at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_starts_at_rest_and_catches_up() {
        // A pan that needs 1% more push per frame, eased over 6 frames.
        let needed: Vec<f32> = (1..=24).map(|k| 1.0 + 0.01 * k as f32).collect();
        let pushes = push_curve(&needed, MAX_PUSH, 6.0);
        assert!(pushes[0] - 1.0 < 0.001, "first frame barely pushed: {pushes:?}");
        let steps: Vec<f32> = pushes.windows(2).map(|p| p[1] - p[0]).collect();
        assert!(steps.iter().all(|&s| (0.0..0.02).contains(&s)), "no kick: {steps:?}");
        for (k, (p, n)) in pushes.iter().zip(&needed).enumerate().skip(5) {
            assert!((p - n).abs() < 1e-6, "frame {k}: {p} against {n}");
        }
    }

    #[test]
    fn samples_outside_are_mirrored() {
        assert_eq!(mirror(-3.0, 10.0), 3.0);
        assert_eq!(mirror(4.5, 10.0), 4.5);
        assert_eq!(mirror(11.0, 10.0), 7.0);
    }

    #[test]
    fn a_pan_needs_a_push_and_a_still_none() {
        let (w, h) = (160.0, 90.0);
        assert_eq!(push_needed(&CameraMove::STILL, w, h), 1.0);
        let pan = CameraMove { pan_x: 8.0, ..CameraMove::STILL };
        // Content moved 8 px right: the view's left edge needs 8 px more; half-width 80 -> 80/72.
        let p = push_needed(&pan, w, h);
        assert!((p - 80.0 / 72.0).abs() < 1e-3, "{p}");
        let far = CameraMove { pan_x: 100.0, ..CameraMove::STILL };
        assert!(push_needed(&far, w, h) > MAX_PUSH, "past the frame's middle no push helps");
    }
}
