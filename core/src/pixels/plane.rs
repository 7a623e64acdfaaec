//! Single-channel float images: luma extraction, pyramids, gradients and
//! bilinear sampling, the raw material of optical flow.
//!
//! Luma is kept on a 0..255 scale so that the photometric thresholds of the
//! flow (taken from the DIS paper, which works on 8-bit images) mean the same
//! thing for 8-bit, 16-bit and float sources.

use rayon::prelude::*;

use crate::error::Result;
use crate::frame::{FrameView, Row};

/// Whether (`x`, `y`) falls on an image `width` x `height`: within half a
/// pixel of its outermost pixel centres.
#[inline(always)]
pub(crate) fn on_image(x: f32, y: f32, width: usize, height: usize) -> bool {
    x >= -0.5 && y >= -0.5 && x <= width as f32 - 0.5 && y <= height as f32 - 0.5
}

/// Floor for coordinates (|x| < 2^31). `f32::floor` is a libm call on the
/// x86-64 baseline (no SSE4.1), and it sits in the innermost loops.
#[inline(always)]
pub(crate) fn floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x { t - 1.0 } else { t }
}

/// A tightly packed `width` x `height` image of `f32`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plane {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<f32>,
}

impl Plane {
    pub(crate) fn new(width: usize, height: usize) -> Result<Plane> {
        let mut data = Vec::new();
        data.try_reserve_exact(width * height)?;
        data.resize(width * height, 0.0);
        Ok(Plane { width, height, data })
    }

    pub(crate) fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear sample at (`x`, `y`), clamped to the border.
    #[inline]
    pub(crate) fn sample(&self, x: f32, y: f32) -> f32 {
        let max_x = (self.width - 1) as f32;
        let max_y = (self.height - 1) as f32;
        let x = x.clamp(0.0, max_x);
        let y = y.clamp(0.0, max_y);
        let x0 = x as usize;
        let y0 = y as usize;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let fx = x - x0 as f32;
        let fy = y - y0 as f32;
        let top = self.at(x0, y0) + (self.at(x1, y0) - self.at(x0, y0)) * fx;
        let bottom = self.at(x0, y1) + (self.at(x1, y1) - self.at(x0, y1)) * fx;
        top + (bottom - top) * fy
    }

    /// Half the size in each direction (rounded up), low-passed first with a
    /// 5-tap binomial filter (1 4 6 4 1) / 16 so that fine texture does not
    /// alias into false structure at coarse levels (a 2x2 box does).
    pub(crate) fn half(&self) -> Result<Plane> {
        const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
        let (sw, sh) = (self.width, self.height);
        let (w, h) = (sw.div_ceil(2), sh.div_ceil(2));
        // Vertical pass at the source width for every other row, then horizontal.
        let mut rows = Plane::new(sw, h)?;
        let src = self;
        rows.data.par_chunks_mut(sw).enumerate().for_each(|(y, dst)| {
            let cy = 2 * y as isize;
            let taps: [&[f32]; 5] =
                std::array::from_fn(|k| src.row((cy + k as isize - 2).clamp(0, sh as isize - 1) as usize));
            for x in 0..sw {
                dst[x] =
                    K[0] * taps[0][x] + K[1] * taps[1][x] + K[2] * taps[2][x] + K[3] * taps[3][x] + K[4] * taps[4][x];
            }
        });
        let mut out = Plane::new(w, h)?;
        out.data.par_chunks_mut(w).enumerate().for_each(|(y, dst)| {
            let r = rows.row(y);
            for (x, d) in dst.iter_mut().enumerate() {
                let cx = 2 * x as isize;
                let at = |k: isize| r[(cx + k).clamp(0, sw as isize - 1) as usize];
                *d = K[0] * at(-2) + K[1] * at(-1) + K[2] * at(0) + K[3] * at(1) + K[4] * at(2);
            }
        });
        Ok(out)
    }

    /// Horizontal and vertical central-difference gradients (one-sided at borders).
    pub(crate) fn gradients(&self) -> Result<(Plane, Plane)> {
        let (w, h) = (self.width, self.height);
        let mut gx = Plane::new(w, h)?;
        let mut gy = Plane::new(w, h)?;
        let src = self;
        gx.data.par_chunks_mut(w).zip(gy.data.par_chunks_mut(w)).enumerate().for_each(|(y, (rx, ry))| {
            let row = src.row(y);
            let up = src.row(y.saturating_sub(1));
            let down = src.row((y + 1).min(h - 1));
            let dy_scale = if y == 0 || y == h - 1 { 1.0 } else { 0.5 };
            for x in 0..w {
                let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
                let dx_scale = if x == 0 || x == w - 1 { 1.0 } else { 0.5 };
                rx[x] = (row[r] - row[l]) * dx_scale;
                ry[x] = (down[x] - up[x]) * dy_scale;
            }
        });
        Ok((gx, gy))
    }
}

/// BT.601 luma of a frame, 0..255, rows in parallel.
pub(crate) fn luma(frame: &FrameView<'_>) -> Result<Plane> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut out = Plane::new(w, h)?;
    const KR: f32 = 0.299;
    const KG: f32 = 0.587;
    const KB: f32 = 0.114;
    out.data.par_chunks_mut(w).enumerate().for_each(|(y, dst)| match frame.row(y as u32) {
        Row::U8(s) => dst.iter_mut().zip(s.chunks_exact(4)).for_each(|(d, p)| {
            *d = KR * p[0] as f32 + KG * p[1] as f32 + KB * p[2] as f32;
        }),
        Row::U16(s) => dst.iter_mut().zip(s.chunks_exact(4)).for_each(|(d, p)| {
            *d = (KR * p[0] as f32 + KG * p[1] as f32 + KB * p[2] as f32) * (255.0 / 65535.0);
        }),
        Row::F32(s) => dst.iter_mut().zip(s.chunks_exact(4)).for_each(|(d, p)| {
            *d = (KR * p[0] + KG * p[1] + KB * p[2]) * 255.0;
        }),
    });
    Ok(out)
}

/// BT.601 luma of a frame at half resolution (each pixel the mean of a 2x2
/// block), without making the full-resolution plane first: when the flow's
/// finest level is coarser than the frame, the full-size luma would be
/// allocated, filled and thrown away for every frame pair.
pub(crate) fn luma_half(frame: &FrameView<'_>) -> Result<Plane> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Plane::new(hw, hh)?;
    out.data.par_chunks_mut(hw).enumerate().for_each(|(y, dst)| {
        let mut rows = [vec![0.0f32; w * 4], vec![0.0f32; w * 4]];
        frame.read_row_f32((2 * y) as u32, &mut rows[0]);
        frame.read_row_f32(((2 * y + 1).min(h - 1)) as u32, &mut rows[1]);
        let luma_at = |r: &[f32], x: usize| (0.299 * r[x * 4] + 0.587 * r[x * 4 + 1] + 0.114 * r[x * 4 + 2]) * 255.0;
        for (x, d) in dst.iter_mut().enumerate() {
            let (x0, x1) = (2 * x, (2 * x + 1).min(w - 1));
            *d = 0.25 * (luma_at(&rows[0], x0) + luma_at(&rows[0], x1) + luma_at(&rows[1], x0) + luma_at(&rows[1], x1));
        }
    });
    Ok(out)
}

/// A Gaussian-like pyramid: level 0 is `base`, each next level half the size,
/// stopping after `levels` levels or when a side would drop below `min_side`.
pub(crate) fn pyramid(base: Plane, levels: usize, min_side: usize) -> Result<Vec<Plane>> {
    let mut out = vec![base];
    while out.len() < levels {
        let last = out.last().expect("non-empty");
        if last.width / 2 < min_side || last.height / 2 < min_side {
            break;
        }
        let next = last.half()?;
        out.push(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Plane {
        let mut p = Plane::new(w, h).unwrap();
        for y in 0..h {
            for x in 0..w {
                p.data[y * w + x] = 3.0 * x as f32 + 5.0 * y as f32;
            }
        }
        p
    }

    #[test]
    fn fast_floor_matches_floor() {
        for x in [-2.5f32, -2.0, -0.1, 0.0, 0.3, 1.0, 7.999, -1e6, 1e6] {
            assert_eq!(floor(x), x.floor(), "{x}");
        }
    }

    #[test]
    fn bilinear_sampling_is_exact_on_a_ramp() {
        let p = ramp(10, 8);
        assert_eq!(p.sample(2.0, 3.0), 21.0);
        assert!((p.sample(2.25, 3.5) - (6.75 + 17.5)).abs() < 1e-5);
        // Clamped at the border.
        assert_eq!(p.sample(-4.0, 0.0), 0.0);
        assert_eq!(p.sample(100.0, 100.0), 27.0 + 35.0);
    }

    #[test]
    fn gradients_of_a_ramp_are_constant() {
        let (gx, gy) = ramp(9, 7).gradients().unwrap();
        assert!(gx.data.iter().all(|&g| (g - 3.0).abs() < 1e-5));
        assert!(gy.data.iter().all(|&g| (g - 5.0).abs() < 1e-5));
    }

    #[test]
    fn pyramid_halves_and_stops() {
        let levels = pyramid(ramp(100, 37), 10, 8).unwrap();
        let sizes: Vec<_> = levels.iter().map(|p| (p.width, p.height)).collect();
        assert_eq!(sizes, [(100, 37), (50, 19), (25, 10)]);
        // A symmetric filter leaves a ramp unchanged away from the border.
        assert!((levels[1].at(3, 2) - (3.0 * 6.0 + 5.0 * 4.0)).abs() < 1e-4);
    }
}
