//! A still edge must not boil: the key's noise differs from frame to frame,
//! so each frame's key (unclipped, smoothed where noise alone explains it)
//! is averaged with the keys of the frames before it wherever the key has
//! not moved.
//!
//! The window trails (the frame and the WINDOW before it), so that every
//! host can fill it: the command line renders in order, an OpenFX host
//! fetches the earlier frames, a frei0r host plays forward. Whether a
//! pixel is still between two frames is judged on the 5 x 5 means of their
//! plain colour-difference keys (before the edge projection and the chroma
//! guard, which amplify noise where they act: the projection by the
//! screen's lead over the foreground's, the guard by its steep ramp), whose
//! noise is the screen's everywhere and a fifth of it after the mean: a
//! moving edge changes the mean by far more. On a still edge the average over n frames has a
//! 1/sqrt(n) of the noise, and consecutive frames share all but one frame
//! of their windows, so the matte changes from one to the next by about
//! 1/n of what it did.
//!
//! When the camera moves, no edge is still in place, and a slow move (a
//! pixel a frame at high noise) changes the means by less than the still
//! limit, so it would be averaged misplaced: each earlier frame's move to
//! this one is measured in whole pixels on the means at this frame's
//! edges, and a pixel is averaged with where it came from or with the same
//! place (a static part of the shot), whichever matches more closely.
//!
//! The history is shared by every copy of a shot's compositor (hosts that
//! render on several threads), keyed by frame index and checked against a
//! fingerprint of the plate, so that a plate that changed upstream is keyed
//! again rather than averaged with what it was.

use std::sync::Arc;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::key::{RAW_MAX, RAW_MIN, auto_clip_black};
use super::matte::{Matte, refill};
use crate::frame::{FrameView, Row};

/// Earlier frames averaged with each frame.
pub(super) const WINDOW: u64 = 8;
/// Key noise (standard deviation) below which frames are keyed alone: a
/// clean plate (rendered, or a well-lit low-ISO camera) does not boil.
pub(super) const TEMPORAL_ABOVE: f32 = 0.005;
/// A pixel is still between two frames when the means of their plain keys
/// differ by less than this many times the key's noise (the means' noise is
/// a fifth of white noise's, more of a codec's, and more again at edges,
/// where the key's noise is the foreground's as well as the screen's)...
const STILL: f32 = 2.5;
/// ...plus this, for codecs' frame-to-frame wobble on a clean plate.
const STILL_FLOOR: f32 = 0.01;
/// Frames remembered: the window and a few more for hosts that step back.
const REMEMBERED: usize = 12;

/// One frame's key, as remembered: each pixel's unclipped value and the
/// 5 x 5 mean of its plain key, 16 bits each over RAW_MIN..RAW_MAX, packed
/// into one word so that averaging reads one stream per earlier frame (it
/// is bound by memory).
#[derive(Debug)]
pub(super) struct KeyedFrame {
    pub(super) index: u64,
    fingerprint: u64,
    width: u32,
    height: u32,
    /// Mean in the high half, raw value in the low half.
    packed: Vec<u32>,
}

const SCALE: f32 = 65535.0 / (RAW_MAX - RAW_MIN);

#[inline]
fn quantise(v: f32) -> u32 {
    // Non-negative, so adding a half and truncating rounds (and vectorises).
    ((v.clamp(RAW_MIN, RAW_MAX) - RAW_MIN) * SCALE + 0.5) as u32
}

#[inline]
fn value(q: u32) -> f32 {
    RAW_MIN + q as f32 / SCALE
}

impl KeyedFrame {
    /// Frame `index` of `plate`: its raw key (smoothed or not) and the 5 x 5
    /// mean of its plain colour-difference key.
    /// `buffer` is reused for the packed words (a forgotten frame's, from
    /// [`KeyHistory::spare`]).
    pub(super) fn new(index: u64, plate: &FrameView<'_>, raw: &Matte, mean: &[f32], buffer: Vec<u32>) -> KeyedFrame {
        let (w, h) = (raw.width(), raw.height());
        let values = raw.values();
        let mut packed = buffer;
        refill(&mut packed, values.len(), 0);
        packed.par_chunks_mut(w as usize).zip(values.par_chunks(w as usize)).zip(mean.par_chunks(w as usize)).for_each(
            |((dst, v), m)| {
                for x in 0..dst.len() {
                    dst[x] = (quantise(m[x]) << 16) | quantise(v[x]);
                }
            },
        );
        KeyedFrame { index, fingerprint: fingerprint(plate), width: w, height: h, packed }
    }
}

/// The keys of a shot's recent frames.
#[derive(Clone, Debug, Default)]
pub(super) struct KeyHistory {
    frames: Arc<Mutex<Vec<Arc<KeyedFrame>>>>,
    /// The packed words of a forgotten frame, for the next frame to reuse:
    /// a frame-size buffer taken afresh every frame costs its pages.
    spare: Arc<Mutex<Option<Vec<u32>>>>,
}

impl KeyHistory {
    /// Whether no frame is remembered (none was keyed, or the plate is clean).
    pub(super) fn is_empty(&self) -> bool {
        self.frames.lock().is_empty()
    }

    /// Whether frame `index` is remembered from this very plate.
    pub(super) fn holds(&self, index: u64, plate: &FrameView<'_>) -> bool {
        let print = fingerprint(plate);
        self.frames.lock().iter().any(|f| f.index == index && f.fingerprint == print)
    }

    /// Remembers `frame`, replacing what was remembered for its index, and
    /// forgets the frames farthest from it beyond REMEMBERED.
    pub(super) fn remember(&self, frame: Arc<KeyedFrame>) {
        let mut frames = self.frames.lock();
        frames.retain(|f| f.index != frame.index);
        let index = frame.index;
        frames.push(frame);
        while frames.len() > REMEMBERED {
            let farthest = (0..frames.len()).max_by_key(|&i| frames[i].index.abs_diff(index)).expect("not empty");
            // Still held elsewhere (a copy averaging with it): left to it.
            if let Ok(forgotten) = Arc::try_unwrap(frames.swap_remove(farthest)) {
                *self.spare.lock() = Some(forgotten.packed);
            }
        }
    }

    /// A forgotten frame's buffer, or an empty one.
    pub(super) fn spare(&self) -> Vec<u32> {
        self.spare.lock().take().unwrap_or_default()
    }

    /// `frame`'s key averaged with the remembered frames before it where
    /// still, in place or along the camera's move (for a key of this
    /// `noise`), `frame` then remembered.
    pub(super) fn averaged(&self, frame: KeyedFrame, noise: f32) -> Vec<f32> {
        let mut values = vec![0.0; frame.packed.len()];
        self.average_into(frame, noise, &mut values);
        values
    }

    /// [`KeyHistory::averaged`] written into `out` (the frame's size): a
    /// frame-size buffer taken afresh every frame costs its pages.
    pub(super) fn average_into(&self, frame: KeyedFrame, noise: f32, out: &mut [f32]) {
        let frame = Arc::new(frame);
        average_still(&frame, &self.before(&frame), noise, out);
        self.remember(frame);
    }

    /// The remembered frames in the window before `frame`, of its size,
    /// nearest first (a fixed order: sums come out the same to the bit
    /// however the frames were remembered).
    pub(super) fn before(&self, frame: &KeyedFrame) -> Vec<Arc<KeyedFrame>> {
        let size = (frame.width, frame.height);
        let mut earlier: Vec<Arc<KeyedFrame>> = self
            .frames
            .lock()
            .iter()
            .filter(|f| f.index < frame.index && frame.index - f.index <= WINDOW)
            .filter(|f| (f.width, f.height) == size)
            .cloned()
            .collect();
        earlier.sort_by_key(|f| std::cmp::Reverse(f.index));
        earlier
    }
}

/// `frame`'s key averaged, pixel by pixel, with the keys of the `earlier`
/// frames where it is still (for a key of this `noise`): in place, or
/// where it came from when the camera moved. Values come from the packed
/// words of every frame alike, so a frame averages the same whoever keyed
/// it. Written into `values`, the frame's size.
pub(super) fn average_still(frame: &KeyedFrame, earlier: &[Arc<KeyedFrame>], noise: f32, values: &mut [f32]) {
    // In quantised steps of the means.
    let limit = ((STILL * noise + STILL_FLOOR) * SCALE) as i32;
    let flat_screen = quantise(FLAT_SCREEN * auto_clip_black(noise));
    let flat_foreground = quantise(FLAT_FOREGROUND);
    let (w, h) = (frame.width as usize, frame.height as usize);
    let shifts = shifts_from(frame, earlier, limit);
    values.par_iter_mut().zip(&frame.packed).for_each(|(v, &q)| *v = value(q & 0xFFFF));
    values.par_chunks_mut(w).enumerate().for_each_init(
        || vec![0u8; w],
        |count, (y, row)| {
            let span = y * w..(y + 1) * w;
            let ours = &frame.packed[span.clone()];
            for (start, segment) in ours.chunks(SEGMENT).enumerate().map(|(k, s)| (k * SEGMENT, s)) {
                // A run whose smoothed values already key to 0 or 1 is not
                // read from the earlier frames (which is where the time
                // goes). Judged on the values, not the means: a noisy value
                // below clip white in solid foreground needs the average.
                if segment.iter().all(|&q| (q & 0xFFFF) < flat_screen || (q & 0xFFFF) > flat_foreground) {
                    continue;
                }
                let end = start + segment.len();
                let (row, count) = (&mut row[start..end], &mut count[start..end]);
                count.fill(1);
                for (e, &(dx, dy)) in earlier.iter().zip(&shifts) {
                    let theirs = &e.packed[span.start + start..span.start + end];
                    let from_y = y as isize - dy;
                    if (dx, dy) == (0, 0) || !(0..h as isize).contains(&from_y) {
                        // Branch-free, so that it vectorises: a moving pixel adds zero.
                        for x in 0..segment.len() {
                            let still = ((segment[x] >> 16) as i32 - (theirs[x] >> 16) as i32).abs() < limit;
                            row[x] += if still { value(theirs[x] & 0xFFFF) } else { 0.0 };
                            count[x] += still as u8;
                        }
                        continue;
                    }
                    // The content moved: a pixel is averaged with where it
                    // came from, or with the same place (a static part of
                    // the shot), whichever matches it more closely.
                    let moved = &e.packed[from_y as usize * w..(from_y as usize + 1) * w];
                    for x in 0..segment.len() {
                        let mean = (segment[x] >> 16) as i32;
                        let apart = |q: u32| (mean - (q >> 16) as i32).abs();
                        let from_x = (start + x) as isize - dx;
                        let came_from = (0..w as isize).contains(&from_x).then(|| moved[from_x as usize]);
                        let closer = match came_from {
                            Some(q) if apart(q) <= apart(theirs[x]) => q,
                            _ => theirs[x],
                        };
                        if apart(closer) < limit {
                            row[x] += value(closer & 0xFFFF);
                            count[x] += 1;
                        }
                    }
                }
                for (v, &n) in row.iter_mut().zip(count.iter()) {
                    *v /= n as f32;
                }
            }
        },
    );
}

/// How far the content moved from each of the `earlier` frames (nearest
/// first) to `frame`, in whole pixels: a camera's pan or drift, found by
/// matching the plain keys' means where they have edges (the screen is
/// flat), or no move where nothing moved or nothing says. Judged on the two
/// frames alone, so copies of a shot's compositor agree.
fn shifts_from(frame: &KeyedFrame, earlier: &[Arc<KeyedFrame>], limit: i32) -> Vec<(isize, isize)> {
    let samples = edge_samples(frame, limit);
    if samples.len() < MIN_EDGE_SAMPLES {
        return vec![(0, 0); earlier.len()];
    }
    // The nearest frame is searched widely; the farther ones near where
    // its move, kept up, would put them.
    let mut velocity: Option<(f32, f32)> = None;
    earlier
        .iter()
        .map(|e| {
            let gap = frame.index.saturating_sub(e.index).max(1) as f32;
            let (centre, reach) = match velocity {
                Some((vx, vy)) => (((vx * gap).round() as isize, (vy * gap).round() as isize), FOLLOW_REACH),
                None => ((0, 0), SHIFT_REACH),
            };
            let shift = best_shift(frame, e, &samples, (centre, reach), limit);
            velocity.get_or_insert((shift.0 as f32 / gap, shift.1 as f32 / gap));
            shift
        })
        .collect()
}

/// Where `frame`'s plain-key means change across a sample grid by clearly
/// more than noise: the edges a move can be measured on, at most
/// MAX_EDGE_SAMPLES of them.
fn edge_samples(frame: &KeyedFrame, limit: i32) -> Vec<(usize, usize)> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mean = |x: usize, y: usize| (frame.packed[y * w + x] >> 16) as i32;
    // Denser on small frames (a person model's copy), so that a few
    // edges still give enough samples.
    let step = (w.min(h) / 48).clamp(1, EDGE_STEP);
    let mut samples = Vec::new();
    for y in (1..h.saturating_sub(1)).step_by(step) {
        for x in (1..w.saturating_sub(1)).step_by(step) {
            let change = (mean(x + 1, y) - mean(x - 1, y)).abs() + (mean(x, y + 1) - mean(x, y - 1)).abs();
            // The means' noise is about an eighth of the still limit.
            if 2 * change > limit {
                samples.push((x, y));
            }
        }
    }
    let keep_every = samples.len().div_ceil(MAX_EDGE_SAMPLES).max(1);
    samples.into_iter().step_by(keep_every).collect()
}

/// The whole-pixel move within `reach` of `centre` that best matches the
/// means of `frame` at `samples` with `earlier`'s where they came from;
/// no move unless it matches clearly better than no move does, and no
/// search when no move matches within noise (a still shot: most of them).
fn best_shift(
    frame: &KeyedFrame,
    earlier: &KeyedFrame,
    samples: &[(usize, usize)],
    (centre, reach): ((isize, isize), isize),
    limit: i32,
) -> (isize, isize) {
    let (w, h) = (frame.width as isize, frame.height as isize);
    if (earlier.width, earlier.height) != (frame.width, frame.height) {
        return (0, 0);
    }
    // Mean |difference| over the samples whose source is inside the frame;
    // None when too few are.
    let cost = |(dx, dy): (isize, isize)| {
        let (mut sum, mut n) = (0i64, 0usize);
        for &(x, y) in samples {
            let (fx, fy) = (x as isize - dx, y as isize - dy);
            if (0..w).contains(&fx) && (0..h).contains(&fy) {
                let ours = (frame.packed[y * w as usize + x] >> 16) as i64;
                let theirs = (earlier.packed[fy as usize * w as usize + fx as usize] >> 16) as i64;
                sum += (ours - theirs).abs();
                n += 1;
            }
        }
        (2 * n >= samples.len()).then(|| sum as f64 / n as f64)
    };
    let still = cost((0, 0)).unwrap_or(f64::INFINITY);
    // The means' own noise gives a mean difference of about an eighth of
    // the still limit; at high noise a 1 px move of the edges sampled
    // gives little more than twice that.
    if still <= STILL_ENOUGH * limit as f64 {
        return (0, 0);
    }
    let mut best = ((0, 0), still);
    for dy in centre.1 - reach..=centre.1 + reach {
        for dx in centre.0 - reach..=centre.0 + reach {
            if let Some(c) = cost((dx, dy))
                && c < best.1
            {
                best = ((dx, dy), c);
            }
        }
    }
    if best.1 < MOVED_BELOW * still { best.0 } else { (0, 0) }
}

/// Sample grid spacing for measuring a move, in pixels, at most.
const EDGE_STEP: usize = 8;
/// Fewer edge samples than this say nothing about a move.
const MIN_EDGE_SAMPLES: usize = 8;
/// More than this are thinned out (the search's cost is in them).
const MAX_EDGE_SAMPLES: usize = 2048;
/// How far (each way, in pixels) the move from the nearest earlier frame
/// is searched...
const SHIFT_REACH: isize = 8;
/// ...and how far around the nearest's move, kept up, for the others.
const FOLLOW_REACH: isize = 3;
/// Edges that differ in place by at most this share of the still limit,
/// on average, did not move.
const STILL_ENOUGH: f64 = 0.15;
/// A move is taken when it matches at this share of no move's difference.
const MOVED_BELOW: f64 = 0.5;

/// Runs of this many pixels (a cache line of packed words) are averaged or
/// skipped together.
const SEGMENT: usize = 16;
/// A smoothed key value below this share of the automatic clip black is
/// screen (it keys to 0)...
const FLAT_SCREEN: f32 = 0.75;
/// ...and above this foreground (above the highest clip white: 1).
const FLAT_FOREGROUND: f32 = 1.0;

/// A cheap hash of a sparse sample of the plate (about 4,000 values): equal
/// for the same plate, almost surely different for a changed one.
fn fingerprint(plate: &FrameView<'_>) -> u64 {
    let (w, h) = (plate.width() as usize, plate.height() as usize);
    let (step_y, step_x) = ((h / 64).max(1), (w / 64).max(1));
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |v: u64| {
        hash ^= v;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    for y in (0..h).step_by(step_y) {
        match plate.row(y as u32) {
            Row::U8(r) => r.iter().step_by(step_x * 4 + 1).for_each(|&v| mix(v as u64)),
            Row::U16(r) => r.iter().step_by(step_x * 4 + 1).for_each(|&v| mix(v as u64)),
            Row::F32(r) => r.iter().step_by(step_x * 4 + 1).for_each(|&v| mix(v.to_bits() as u64)),
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};

    #[test]
    fn a_forgotten_frames_buffer_is_handed_to_the_next() {
        let plate = Frame::new(4, 4, PixelFormat::Rgba8).unwrap();
        let raw = Matte::filled(4, 4, 0.5).unwrap();
        let history = KeyHistory::default();
        let mean = vec![0.5; 16];
        for index in 0..REMEMBERED as u64 {
            history.remember(Arc::new(KeyedFrame::new(index, &plate.view(), &raw, &mean, history.spare())));
            assert!(history.spare().is_empty(), "nothing forgotten by frame {index}");
        }
        // Held elsewhere, the frame about to be forgotten keeps its words.
        let held = history.before(&KeyedFrame::new(8, &plate.view(), &raw, &mean, Vec::new()));
        assert_eq!(held.last().map(|f| f.index), Some(0));
        let next = KeyedFrame::new(REMEMBERED as u64, &plate.view(), &raw, &mean, history.spare());
        history.remember(Arc::new(next));
        assert!(history.spare().is_empty(), "frame 0 is still held");
        drop(held);
        let next = KeyedFrame::new(REMEMBERED as u64 + 1, &plate.view(), &raw, &mean, history.spare());
        history.remember(Arc::new(next));
        let spare = history.spare();
        assert_eq!(spare.len(), 16, "frame 1's words, for the next frame");
        let reused = KeyedFrame::new(REMEMBERED as u64 + 2, &plate.view(), &raw, &mean, spare);
        let fresh = KeyedFrame::new(REMEMBERED as u64 + 2, &plate.view(), &raw, &mean, Vec::new());
        assert_eq!(reused.packed, fresh.packed);
    }
}
