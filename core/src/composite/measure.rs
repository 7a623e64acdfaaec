//! What the composite measures once per shot, on the plate and the
//! background: colour statistics and the transfer between them, edge
//! sharpness (for the defocus match) and noise (for the grain match).

use serde::Serialize;

use super::key::LinearRow;
use super::matte::Matte;
use super::matte::blur_rgba;
use crate::error::Result;
use crate::frame::{FrameView, PixelFormat};
use crate::pixels::color::{decode, linear_to_oklab, oklab_to_linear};

/// Oklab mean and standard deviation per channel, weighted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct ColourStats {
    /// Mean of L, a, b.
    pub mean: [f32; 3],
    /// Standard deviation of L, a, b.
    pub std: [f32; 3],
}

/// Colour statistics of about 20,000 pixels of `frame`, weighted by `weights`
/// (a matte) when given.
pub(crate) fn colour_stats(frame: &FrameView<'_>, weights: Option<&Matte>) -> ColourStats {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let step = ((w * h / 20_000) as f64).sqrt().max(1.0) as usize;
    let (mut sum, mut sq, mut total) = ([0.0f64; 3], [0.0f64; 3], 0.0f64);
    for y in (0..h).step_by(step) {
        let row = LinearRow::new(frame.row(y as u32));
        for x in (0..w).step_by(step) {
            let weight = weights.map(|m| m.at(x as u32, y as u32)).unwrap_or(1.0) as f64;
            if weight <= 0.0 {
                continue;
            }
            let lab = linear_to_oklab(row.at(x));
            for c in 0..3 {
                sum[c] += weight * lab[c] as f64;
                sq[c] += weight * (lab[c] as f64).powi(2);
            }
            total += weight;
        }
    }
    let total = total.max(1e-9);
    let mean: [f32; 3] = std::array::from_fn(|c| (sum[c] / total) as f32);
    let std = std::array::from_fn(|c| ((sq[c] / total - (sum[c] / total).powi(2)).max(0.0).sqrt()) as f32);
    ColourStats { mean, std }
}

/// Nodes per axis of the colour-transfer LUT.
pub(super) const LUT_N: usize = 33;

/// A colour transfer (mean and variance in Oklab, Reinhard et al. 2001)
/// baked into a 33^3 LUT from sRGB-encoded input to linear output, so that
/// applying it costs a trilinear lookup, not three cube roots per pixel.
#[derive(Clone, Debug)]
pub(crate) struct ColourTransfer {
    lut: Vec<[f32; 3]>,
    /// Each 8-bit code's LUT node and place between it and the next: what
    /// [`ColourTransfer::apply`] works out from the code's value, looked up.
    codes: [(u8, f32); 256],
}

/// The transfer itself, worked out in full: what the LUT's nodes hold.
#[derive(Clone, Copy, Debug)]
struct ExactTransfer {
    from: ColourStats,
    to: ColourStats,
    gain: [f32; 3],
    strength: f32,
}

impl ExactTransfer {
    fn new(from: &ColourStats, to: &ColourStats, strength: f32) -> ExactTransfer {
        let gain: [f32; 3] = std::array::from_fn(|c| {
            let g = if from.std[c] > 1e-4 { to.std[c] / from.std[c] } else { 1.0 };
            // A background far flatter than the plate would be blown apart.
            1.0 + (g.clamp(0.25, 4.0) - 1.0) * strength
        });
        ExactTransfer { from: *from, to: *to, gain, strength }
    }

    fn apply(&self, encoded: [f32; 3]) -> [f32; 3] {
        let (from, to) = (&self.from, &self.to);
        let lab = linear_to_oklab(encoded.map(decode));
        let moved: [f32; 3] = std::array::from_fn(|c| {
            let target =
                (lab[c] - from.mean[c]) * self.gain[c] + from.mean[c] + (to.mean[c] - from.mean[c]) * self.strength;
            lab[c] + (target - lab[c]).clamp(-1.0, 1.0)
        });
        oklab_to_linear(moved).map(|v| v.clamp(0.0, 1.0))
    }
}

impl ColourTransfer {
    /// Moves colours with statistics `from` towards `to` by `strength`.
    pub(super) fn new(from: &ColourStats, to: &ColourStats, strength: f32) -> ColourTransfer {
        let exact = ExactTransfer::new(from, to, strength);
        let lut = (0..LUT_N * LUT_N * LUT_N)
            .map(|i| {
                let (r, g, b) = (i / (LUT_N * LUT_N), (i / LUT_N) % LUT_N, i % LUT_N);
                exact.apply([r, g, b].map(|v| v as f32 / (LUT_N - 1) as f32))
            })
            .collect();
        let codes = std::array::from_fn(|v| {
            let (node, place) = Self::cell((v as f32 * (1.0 / 255.0)).clamp(0.0, 1.0) * (LUT_N - 1) as f32);
            (node as u8, place)
        });
        ColourTransfer { lut, codes }
    }

    /// The LUT node at or below `p` (0..LUT_N - 1 in nodes) and the place
    /// between it and the next.
    #[inline]
    fn cell(p: f32) -> (usize, f32) {
        let node = (p as usize).min(LUT_N - 2);
        (node, p - node as f32)
    }

    /// The transferred linear colour of an sRGB-encoded input (0..1), by
    /// tetrahedral interpolation: the LUT cube holding the colour is cut
    /// into six tetrahedra along its grey diagonal, and the colour is
    /// weighed between the four corners of its own (half the reads and a
    /// third of the arithmetic of trilinear, and as close to the exact
    /// transfer: tested below).
    #[inline]
    pub(crate) fn apply(&self, encoded: [f32; 3]) -> [f32; 3] {
        let cells = encoded.map(|v| Self::cell(v.clamp(0.0, 1.0) * (LUT_N - 1) as f32));
        self.interpolate(cells)
    }

    /// [`ColourTransfer::apply`] of an 8-bit colour (`code / 255`), its
    /// cells looked up rather than worked out.
    #[inline]
    pub(crate) fn apply_u8(&self, rgb: [u8; 3]) -> [f32; 3] {
        self.interpolate(rgb.map(|v| {
            let (node, place) = self.codes[v as usize];
            (node as usize, place)
        }))
    }

    #[inline]
    fn interpolate(&self, [(r, fr), (g, fg), (b, fb)]: [(usize, f32); 3]) -> [f32; 3] {
        let base = (r * LUT_N + g) * LUT_N + b;
        // The axes in falling order of the colour's place along each in
        // its cell: the tetrahedron's corners are reached by stepping
        // along them in that order.
        let mut steps = [(fr, LUT_N * LUT_N), (fg, LUT_N), (fb, 1)];
        if steps[0].0 < steps[1].0 {
            steps.swap(0, 1);
        }
        if steps[1].0 < steps[2].0 {
            steps.swap(1, 2);
        }
        if steps[0].0 < steps[1].0 {
            steps.swap(0, 1);
        }
        let [(f1, s1), (f2, s2), (f3, s3)] = steps;
        let corners = [base, base + s1, base + s1 + s2, base + s1 + s2 + s3].map(|k| self.lut[k]);
        let weights = [1.0 - f1, f1 - f2, f2 - f3, f3];
        std::array::from_fn(|c| {
            weights[0] * corners[0][c]
                + weights[1] * corners[1][c]
                + weights[2] * corners[2][c]
                + weights[3] * corners[3][c]
        })
    }
}

/// Calls `visit(laplacian, gradient)` (5-point Laplacian and the sum of the
/// absolute central differences of luma) at every `x_step`-th pixel of
/// about `rows` evenly spaced rows, where `weights` (if given) exceed 0.5.
pub(super) fn sparse_luma_derivatives(
    frame: &FrameView<'_>,
    weights: Option<&Matte>,
    rows: usize,
    x_step: usize,
    mut visit: impl FnMut(f32, f32),
) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if w < 5 || h < 5 {
        return;
    }
    let mut lines = vec![vec![0.0f32; w * 4]; 3];
    let luma = |r: &[f32], x: usize| 0.2126 * r[x * 4] + 0.7152 * r[x * 4 + 1] + 0.0722 * r[x * 4 + 2];
    for y in (1..h - 1).step_by((h / rows).max(1)) {
        for (k, r) in lines.iter_mut().enumerate() {
            frame.read_row_f32((y + k - 1) as u32, r);
        }
        for x in (1..w - 1).step_by(x_step) {
            if weights.is_some_and(|m| m.at(x as u32, y as u32) < 0.5) {
                continue;
            }
            let c = luma(&lines[1], x);
            let (left, right) = (luma(&lines[1], x - 1), luma(&lines[1], x + 1));
            let (up, down) = (luma(&lines[0], x), luma(&lines[2], x));
            visit(left + right + up + down - 4.0 * c, (right - left).abs() + (down - up).abs());
        }
    }
}

/// Edge sharpness: mean |Laplacian| over mean |gradient| of luma on a sparse
/// grid, restricted to where `weights` (if given) exceed 0.5. Higher is sharper.
pub(crate) fn sharpness(frame: &FrameView<'_>, weights: Option<&Matte>) -> f32 {
    let (mut lap, mut grad) = (0.0f64, 0.0f64);
    sparse_luma_derivatives(frame, weights, 200, 2, |l, g| {
        lap += l.abs() as f64;
        grad += g as f64;
    });
    if grad <= 1e-9 { 0.0 } else { (lap / grad) as f32 }
}

/// Noise level: median absolute Laplacian of luma (0..1 scale) over a
/// sparse grid where `weights` exceed 0.5, divided by the MAD-to-sigma factor.
pub(crate) fn noise_sigma(frame: &FrameView<'_>, weights: Option<&Matte>) -> f32 {
    let mut values = Vec::new();
    sparse_luma_derivatives(frame, weights, 150, 3, |l, _| values.push(l.abs()));
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    // For white noise of sigma s, the 5-point Laplacian has sigma s * sqrt(20);
    // its median absolute value is 0.6745 of that.
    values[values.len() / 2] / (0.6745 * 20f32.sqrt())
}

/// Picks the defocus radius whose blurred background's sharpness is closest
/// to the plate foreground's (radii 0 to 8 tried on a downscaled copy).
pub(super) fn auto_defocus(plate: &FrameView<'_>, weights: Option<&Matte>, background: &FrameView<'_>) -> Result<f32> {
    let target = sharpness(plate, weights);
    let mut best = (0.0f32, f32::INFINITY);
    for radius in 0..=8 {
        let mut copy = background.to_frame()?.to_format(PixelFormat::Rgba32F)?;
        if radius > 0 {
            blur_rgba(&mut copy, radius as usize, &mut Vec::new());
        }
        let error = (sharpness(&copy.view(), None) - target).abs();
        if error < best.1 {
            best = (radius as f32, error);
        }
    }
    Ok(best.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LUT read by trilinear interpolation, as it was read before:
    /// the yardstick for the tetrahedral reading.
    fn trilinear(t: &ColourTransfer, encoded: [f32; 3]) -> [f32; 3] {
        let n = (LUT_N - 1) as f32;
        let p = encoded.map(|v| v.clamp(0.0, 1.0) * n);
        let i = p.map(|v| (v as usize).min(LUT_N - 2));
        let f: [f32; 3] = std::array::from_fn(|c| p[c] - i[c] as f32);
        let mut out = [0.0f32; 3];
        for corner in 0..8 {
            let d = [corner >> 2, (corner >> 1) & 1, corner & 1];
            let weight: f32 = (0..3).map(|c| if d[c] == 1 { f[c] } else { 1.0 - f[c] }).product();
            let v = t.lut[((i[0] + d[0]) * LUT_N + i[1] + d[1]) * LUT_N + i[2] + d[2]];
            for c in 0..3 {
                out[c] += weight * v[c];
            }
        }
        out
    }

    #[test]
    fn the_lut_read_tetrahedrally_stays_as_close_to_the_exact_transfer_as_trilinear() {
        // A strong move: a cool, flat background towards a warm, contrasty plate.
        let from = ColourStats { mean: [0.55, -0.03, -0.08], std: [0.08, 0.02, 0.03] };
        let to = ColourStats { mean: [0.7, 0.04, 0.06], std: [0.2, 0.05, 0.06] };
        let exact = ExactTransfer::new(&from, &to, 1.0);
        let lut = ColourTransfer::new(&from, &to, 1.0);
        let (mut worst, mut sum) = ([0.0f32; 2], [0.0f64; 2]);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let count = 20_000;
        for k in 0..count {
            let encoded: [f32; 3] = std::array::from_fn(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            });
            // The grey axis and the cube's faces too, where the tetrahedra meet.
            let encoded = match k % 4 {
                0 => [encoded[0]; 3],
                1 => [encoded[0], 1.0, encoded[2]],
                _ => encoded,
            };
            let truth = exact.apply(encoded);
            for (m, read) in [lut.apply(encoded), trilinear(&lut, encoded)].into_iter().enumerate() {
                let error = (0..3).map(|c| (read[c] - truth[c]).abs()).fold(0.0f32, f32::max);
                worst[m] = worst[m].max(error);
                sum[m] += error as f64;
            }
        }
        let mean = sum.map(|s| s / count as f64);
        eprintln!("worst {worst:?}, mean {mean:?} (tetrahedral, trilinear)");
        // Both worst near clipped colours, where the exact transfer bends
        // inside a cell (about 0.06 of full scale for each).
        assert!(mean[0] <= mean[1] * 1.1 && mean[0] < 0.005, "mean error {mean:?}");
        assert!(worst[0] <= worst[1] * 1.1, "worst error {worst:?}");
        // 8-bit colours read from the codes' table as from their values.
        for k in 0..4096u32 {
            let rgb = [k % 256, (k * 7 + 3) % 256, (k / 16) * 17 % 256].map(|v| v as u8);
            let from_values = lut.apply(rgb.map(|v| v as f32 * (1.0 / 255.0)));
            assert_eq!(lut.apply_u8(rgb), from_values, "{rgb:?}");
        }
        // At the nodes both read the exact value.
        let node = [0.25, 0.5, 0.75];
        let (read, truth) = (lut.apply(node), exact.apply(node));
        assert!((0..3).all(|c| (read[c] - truth[c]).abs() < 1e-5), "{read:?} vs {truth:?}");
    }
}
