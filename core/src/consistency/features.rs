//! Per-frame features for consistency scoring, on a small analysis copy.

use rayon::prelude::*;

use crate::error::Result;
use crate::frame::{Frame, FrameView};
use crate::interp::Flow;
use crate::pixels::plane::{Plane, luma};
use crate::pixels::resize::area_downscale;
use crate::pixels::sample::RgbaImage;

use super::appearance::PixelTable;
use super::lens::Lens;
use super::{ANALYSIS_WIDTH, FrameLook};

/// Side of the blocks that split a residual into low and high frequencies.
const BLOCK: usize = 8;

/// What is kept of a frame.
#[derive(Clone, Debug)]
pub(crate) struct Analysis {
    /// The analysis copy (RGBA8), for optical flow.
    pub(crate) small: Frame,
    /// Its luma, 0..255.
    pub(crate) luma: Plane,
    /// Mean gradient magnitude per BLOCK x BLOCK block (row-major blocks).
    pub(crate) texture: Plane,
    /// How the frame looks: subject, background, face, embeddings.
    pub(crate) look: FrameLook,
}

impl Analysis {
    pub(crate) fn of(frame: &FrameView<'_>, lens: &Lens<'_>) -> Result<Analysis> {
        let small = area_downscale(frame, ANALYSIS_WIDTH)?;
        let luma = luma(&small.view())?;
        let (gx, gy) = luma.gradients()?;
        let (w, h) = (luma.width, luma.height);
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let mut texture = Plane::new(bw, bh)?;
        for by in 0..bh {
            for bx in 0..bw {
                let (mut sum, mut n) = (0.0, 0.0);
                for y in by * BLOCK..((by + 1) * BLOCK).min(h) {
                    for x in bx * BLOCK..((bx + 1) * BLOCK).min(w) {
                        sum += gx.at(x, y).hypot(gy.at(x, y));
                        n += 1.0;
                    }
                }
                texture.data[by * bw + bx] = sum / n;
            }
        }
        let table = PixelTable::of(&small, &luma, &gx, &gy)?;
        let look = lens.look(&table, &small)?;
        Ok(Analysis { small, luma, texture, look })
    }
}

/// The typical colour change (sRGB, per channel: the median over pixels
/// seen in both frames) between `previous` carried along `backward` and
/// `current`: a grade shift, which camera motion does not produce. The
/// median ignores what the flow gets wrong (occlusions, new content at the
/// edges), which a mean would add up over a long shot.
pub(crate) fn colour_shift(previous: &Frame, current: &Frame, backward: &Flow) -> Result<[f32; 3]> {
    let (w, h) = (current.width() as usize, current.height() as usize);
    let previous = RgbaImage::of(&previous.view())?;
    let cur = current.as_bytes();
    let mut diffs: [Vec<f32>; 3] = Default::default();
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (u, v) = backward.at(x, y);
            let (sx, sy) = (x as f32 + u, y as f32 + v);
            if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
                continue;
            }
            let before = previous.sample(sx, sy);
            for (c, list) in diffs.iter_mut().enumerate() {
                list.push(cur[(y * w + x) * 4 + c] as f32 / 255.0 - before[c]);
            }
        }
    }
    Ok(diffs.map(|mut list| {
        if list.is_empty() {
            return 0.0;
        }
        let mid = list.len() / 2;
        *list.select_nth_unstable_by(mid, f32::total_cmp).1
    }))
}

/// What motion does not explain between `previous` and `current`:
/// `current` is compared with `previous` sampled along `backward` (the flow
/// from `current` to `previous`). Returns the median block mean of the
/// difference, unsigned (low frequencies: flicker, luma units), and the mean
/// absolute difference left inside blocks relative to the blocks' texture,
/// over the worst quarter of blocks (high frequencies: boiling).
pub(crate) fn residual_energy(previous: &Plane, current: &Plane, backward: &Flow, texture: &Plane) -> (f32, f32) {
    let (w, h) = (current.width, current.height);
    let (bw, bh) = (texture.width, texture.height);
    let blocks: Vec<(f32, f32, f32)> = (0..bh)
        .into_par_iter()
        .flat_map_iter(|by| {
            (0..bw).map(move |bx| {
                let mut diffs = [0.0f32; BLOCK * BLOCK];
                let mut n = 0;
                for y in by * BLOCK..((by + 1) * BLOCK).min(h) {
                    for x in bx * BLOCK..((bx + 1) * BLOCK).min(w) {
                        let (u, v) = backward.at(x, y);
                        let (sx, sy) = (x as f32 + u, y as f32 + v);
                        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
                            continue; // came from outside the previous frame
                        }
                        diffs[n] = current.at(x, y) - previous.sample(sx, sy);
                        n += 1;
                    }
                }
                if n < BLOCK * BLOCK / 2 {
                    return (0.0, 0.0, 0.0);
                }
                let mean = diffs[..n].iter().sum::<f32>() / n as f32;
                let inner = diffs[..n].iter().map(|d| (d - mean).abs()).sum::<f32>() / n as f32;
                (mean, inner, 1.0)
            })
        })
        .collect();
    let mut shifts = Vec::with_capacity(blocks.len());
    let mut boiling = Vec::with_capacity(blocks.len());
    for (b, (l, hi, valid)) in blocks.iter().enumerate() {
        if *valid > 0.0 {
            shifts.push(*l);
            boiling.push(hi / (texture.data[b] + 2.0));
        }
    }
    if shifts.is_empty() {
        return (0.0, 0.0);
    }
    // Exposure flicker shifts every block the same way; the median ignores
    // the blocks where something moved in front of something else.
    let mid = shifts.len() / 2;
    let flicker = shifts.select_nth_unstable_by(mid, f32::total_cmp).1.abs();
    // Boiling is local (a face, a patch of foliage): the mean over the
    // worst quarter of blocks, where a whole-frame mean would dilute it.
    let quarter = boiling.len().div_ceil(4);
    let cut = boiling.len() - quarter;
    let at = cut.min(boiling.len() - 1);
    boiling.select_nth_unstable_by(at, f32::total_cmp);
    (flicker, boiling[cut..].iter().sum::<f32>() / quarter as f32)
}

/// The camera's motion between two frames: the median of the flow.
pub(crate) fn global_motion(flow: &Flow) -> (f32, f32) {
    let step = (flow.u().len() / 4096).max(1);
    let mut u: Vec<f32> = flow.u().iter().step_by(step).copied().collect();
    let mut v: Vec<f32> = flow.v().iter().step_by(step).copied().collect();
    let mid = u.len() / 2;
    let (_, mu, _) = u.select_nth_unstable_by(mid, f32::total_cmp);
    let (_, mv, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    (*mu, *mv)
}
