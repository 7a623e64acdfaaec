//! Synthetic images for tests: natural-looking, non-periodic texture
//! (periodic patterns make optical flow ambiguous in ways real footage is not).

use crate::frame::{Frame, PixelFormat};

/// Deterministic pseudo-random value at a lattice point.
fn hash(ix: i32, iy: i32, seed: u32) -> f32 {
    let mut h =
        (ix as u32).wrapping_mul(0x8DA6_B343) ^ (iy as u32).wrapping_mul(0xD816_3841) ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5BD1_E995);
    h ^= h >> 15;
    (h & 0xFFFF) as f32 / 65535.0
}

/// Smooth value noise with lattice spacing `cell`.
pub(crate) fn value_noise(x: f32, y: f32, cell: f32, seed: u32) -> f32 {
    let (gx, gy) = (x / cell, y / cell);
    let (x0, y0) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - x0, gy - y0);
    let s = |t: f32| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (s(fx), s(fy));
    let (ix, iy) = (x0 as i32, y0 as i32);
    let top = hash(ix, iy, seed) + (hash(ix + 1, iy, seed) - hash(ix, iy, seed)) * sx;
    let bottom = hash(ix, iy + 1, seed) + (hash(ix + 1, iy + 1, seed) - hash(ix, iy + 1, seed)) * sx;
    top + (bottom - top) * sy
}

/// A natural-looking RGB texture (octaves of value noise), defined everywhere.
pub(crate) fn texture(x: f32, y: f32) -> [f32; 3] {
    let octaves = |seed: u32| {
        0.45 * value_noise(x, y, 24.0, seed)
            + 0.3 * value_noise(x, y, 9.0, seed + 1)
            + 0.25 * value_noise(x, y, 3.5, seed + 2)
    };
    [octaves(1), octaves(11), octaves(21)]
}

/// A frame whose pixel (x, y) is `at(x, y)` (normalised RGBA), in `format`.
pub(crate) fn render(w: u32, h: u32, format: PixelFormat, at: impl Fn(f32, f32) -> [f32; 4]) -> Frame {
    let mut frame = Frame::new(w, h, PixelFormat::Rgba32F).unwrap();
    let mut view = frame.view_mut();
    for y in 0..h {
        let row: Vec<f32> = (0..w).flat_map(|x| at(x as f32, y as f32)).collect();
        view.write_row_f32(y, &row);
    }
    frame.to_format(format).unwrap()
}

#[cfg(feature = "images")]
/// The horizontal shift (pixels, sub-pixel by a parabola through the best
/// three) that best carries rows `rows` of `a` onto `b`: content that moves
/// left gives a negative shift.
pub(crate) fn best_shift_x(
    a: &crate::frame::FrameView<'_>,
    b: &crate::frame::FrameView<'_>,
    rows: std::ops::Range<u32>,
    max: i32,
) -> f32 {
    let w = a.width() as i32;
    let mut la = vec![0.0f32; w as usize * 4];
    let mut lb = vec![0.0f32; w as usize * 4];
    let cost = |s: i32, la: &mut [f32], lb: &mut [f32]| {
        let (mut sum, mut n) = (0.0f32, 0.0f32);
        for y in rows.clone() {
            a.read_row_f32(y, la);
            b.read_row_f32(y, lb);
            for x in max..w - max {
                for c in 0..3 {
                    sum += (la[x as usize * 4 + c] - lb[(x + s) as usize * 4 + c]).abs();
                }
                n += 1.0;
            }
        }
        sum / n
    };
    let costs: Vec<f32> = (-max..=max).map(|s| cost(s, &mut la, &mut lb)).collect();
    let (i, _) = costs.iter().enumerate().min_by(|x, y| x.1.total_cmp(y.1)).unwrap();
    let mut shift = i as f32 - max as f32;
    if i > 0 && i + 1 < costs.len() {
        let (l, c, r) = (costs[i - 1], costs[i], costs[i + 1]);
        let den = l - 2.0 * c + r;
        if den > 1e-9 {
            shift += 0.5 * (l - r) / den;
        }
    }
    shift
}
