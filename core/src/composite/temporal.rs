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
    /// still (for a key of this `noise`), `frame` then remembered.
    pub(super) fn averaged(&self, frame: KeyedFrame, noise: f32) -> Vec<f32> {
        let frame = Arc::new(frame);
        let values = average_still(&frame, &self.before(&frame), noise);
        self.remember(frame);
        values
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
/// frames where it is still (for a key of this `noise`). Values come from
/// the packed words of every frame alike, so a frame averages the same
/// whoever keyed it.
pub(super) fn average_still(frame: &KeyedFrame, earlier: &[Arc<KeyedFrame>], noise: f32) -> Vec<f32> {
    // In quantised steps of the means.
    let limit = ((STILL * noise + STILL_FLOOR) * SCALE) as i32;
    let flat_screen = quantise(FLAT_SCREEN * auto_clip_black(noise));
    let flat_foreground = quantise(FLAT_FOREGROUND);
    let w = frame.width as usize;
    let mut values: Vec<f32> = frame.packed.par_iter().map(|&q| value(q & 0xFFFF)).collect();
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
                for e in earlier {
                    let theirs = &e.packed[span.start + start..span.start + end];
                    // Branch-free, so that it vectorises: a moving pixel adds zero.
                    for x in 0..segment.len() {
                        let still = ((segment[x] >> 16) as i32 - (theirs[x] >> 16) as i32).abs() < limit;
                        row[x] += if still { value(theirs[x] & 0xFFFF) } else { 0.0 };
                        count[x] += still as u8;
                    }
                }
                for (v, &n) in row.iter_mut().zip(count.iter()) {
                    *v /= n as f32;
                }
            }
        },
    );
    values
}

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
