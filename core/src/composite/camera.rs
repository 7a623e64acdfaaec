//! Camera-move match: estimate how the plate's camera moves (pan, tilt,
//! zoom, roll) from the optical flow of the plate's background, and move a
//! still background the same way, so a locked-off AI background follows a
//! handheld plate.
//!
//! Between consecutive plate frames, the flow at textured background pixels
//! (matte below 0.5, luma gradient above the noise) is fitted with a
//! similarity transform about the frame centre by iteratively reweighted
//! least squares (Huber weights), which shrugs off pixels that move on
//! their own. Transforms compose over the shot.

use serde::Serialize;

use super::matte::Matte;
use crate::error::Result;
use crate::frame::{Frame, FrameView};
use crate::interp::FlowPair;
use crate::pixels::sample::RgbaImage;

/// A similarity transform about the frame centre: a point p (relative to the
/// centre) goes to `scale * R(roll) * p + (pan_x, pan_y)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CameraMove {
    /// Horizontal image motion in pixels (positive: content moves right,
    /// as when the camera pans left).
    pub pan_x: f32,
    /// Vertical image motion in pixels (positive: content moves down).
    pub pan_y: f32,
    /// Scale factor (above 1: content grows, as when the camera pushes in).
    pub zoom: f32,
    /// Rotation of the content in degrees (positive: clockwise on screen).
    pub roll: f32,
}

impl CameraMove {
    /// No motion.
    pub const STILL: CameraMove = CameraMove { pan_x: 0.0, pan_y: 0.0, zoom: 1.0, roll: 0.0 };

    /// As the 2x3 matrix [a -b tx; b a ty] acting on centred coordinates.
    fn matrix(&self) -> [f32; 4] {
        let r = self.roll.to_radians();
        [self.zoom * r.cos(), self.zoom * r.sin(), self.pan_x, self.pan_y]
    }

    fn from_matrix(m: [f32; 4]) -> CameraMove {
        let (a, b, tx, ty) = (m[0], m[1], m[2], m[3]);
        CameraMove { pan_x: tx, pan_y: ty, zoom: (a * a + b * b).sqrt(), roll: b.atan2(a).to_degrees() }
    }

    /// `self` followed by `next`.
    pub fn then(&self, next: &CameraMove) -> CameraMove {
        let [a1, b1, x1, y1] = self.matrix();
        let [a2, b2, x2, y2] = next.matrix();
        // next(self(p)) = S2 (S1 p + t1) + t2
        CameraMove::from_matrix([a2 * a1 - b2 * b1, a2 * b1 + b2 * a1, a2 * x1 - b2 * y1 + x2, b2 * x1 + a2 * y1 + y2])
    }

    /// Where a pixel (`x`, `y`) of a `w` x `h` frame came from: the inverse
    /// transform, for warping a background.
    pub(crate) fn source_of(&self, x: f32, y: f32, w: f32, h: f32) -> (f32, f32) {
        let [a, b, tx, ty] = self.matrix();
        let (px, py) = (x - w / 2.0 - tx, y - h / 2.0 - ty);
        let det = a * a + b * b;
        ((a * px + b * py) / det + w / 2.0, (-b * px + a * py) / det + h / 2.0)
    }
}

/// The camera move between two consecutive plate frames, and how much of
/// the background carried it (0: no usable texture, the move is STILL).
pub(crate) fn estimate_between(
    a: &FrameView<'_>,
    b: &FrameView<'_>,
    matte: Option<&Matte>,
) -> Result<(CameraMove, f32)> {
    let pair = FlowPair::compute_for_tracking(a, b)?;
    let (flow, (sx, sy)) = pair.forward();
    let (fw, fh) = (flow.width(), flow.height());
    let (w, h) = (a.width() as f32, a.height() as f32);
    // Texture: luma gradient at the flow's resolution, read from the frame.
    let mut samples = Vec::new();
    let mut rows = [vec![0.0f32; a.width() as usize * 4], vec![0.0f32; a.width() as usize * 4]];
    let luma = |r: &[f32], x: usize| 0.2126 * r[x * 4] + 0.7152 * r[x * 4 + 1] + 0.0722 * r[x * 4 + 2];
    let step = ((fw * fh / 6000) as f64).sqrt().max(1.0) as usize;
    for fy in (0..fh).step_by(step) {
        let y = (((fy as f32 + 0.5) * sy) as u32).min(a.height() - 2);
        a.read_row_f32(y, &mut rows[0]);
        a.read_row_f32(y + 1, &mut rows[1]);
        for fx in (0..fw).step_by(step) {
            let x = (((fx as f32 + 0.5) * sx) as usize).min(a.width() as usize - 2);
            if matte.is_some_and(|m| m.at(x as u32, y) >= 0.5) {
                continue;
            }
            let g = (luma(&rows[0], x + 1) - luma(&rows[0], x)).abs() + (luma(&rows[1], x) - luma(&rows[0], x)).abs();
            if g < 0.01 {
                continue; // flat: the flow there says nothing
            }
            let (u, v) = flow.at(fx, fy);
            let (px, py) = (x as f32 - w / 2.0, y as f32 - h / 2.0);
            samples.push((px, py, px + u * sx, py + v * sy, g.min(0.2)));
        }
    }
    let total = ((fw / step) * (fh / step)).max(1) as f32;
    let support = samples.len() as f32 / total;
    if samples.len() < 12 {
        return Ok((CameraMove::STILL, 0.0));
    }
    let mut weights: Vec<f32> = samples.iter().map(|s| s.4).collect();
    let mut m = [1.0f32, 0.0, 0.0, 0.0];
    for _ in 0..6 {
        m = fit_similarity(&samples, &weights).unwrap_or(m);
        // Huber weights on the residuals: within 1 px full weight.
        for (wgt, s) in weights.iter_mut().zip(&samples) {
            let (ex, ey) = (m[0] * s.0 - m[1] * s.1 + m[2] - s.2, m[1] * s.0 + m[0] * s.1 + m[3] - s.3);
            let r = (ex * ex + ey * ey).sqrt();
            *wgt = s.4 * if r <= 1.0 { 1.0 } else { 1.0 / r };
        }
    }
    Ok((CameraMove::from_matrix(m), support))
}

/// Weighted least squares for [a b tx ty] in x' = a x - b y + tx, y' = b x + a y + ty.
fn fit_similarity(samples: &[(f32, f32, f32, f32, f32)], weights: &[f32]) -> Option<[f32; 4]> {
    // Normal equations in f64: A^T W A p = A^T W y, with rows
    // [x, -y, 1, 0] -> x' and [y, x, 0, 1] -> y'.
    let mut ata = [[0.0f64; 4]; 4];
    let mut aty = [0.0f64; 4];
    for (s, &w) in samples.iter().zip(weights) {
        let (x, y, xp, yp) = (s.0 as f64, s.1 as f64, s.2 as f64, s.3 as f64);
        let w = w as f64;
        for (row, target) in [([x, -y, 1.0, 0.0], xp), ([y, x, 0.0, 1.0], yp)] {
            for i in 0..4 {
                aty[i] += w * row[i] * target;
                for j in 0..4 {
                    ata[i][j] += w * row[i] * row[j];
                }
            }
        }
    }
    solve4(ata, aty).map(|p| p.map(|v| v as f32))
}

/// Gaussian elimination with partial pivoting.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..4 {
            let f = a[row][col] / pivot_row[col];
            for (value, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *value -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 4];
    for row in (0..4).rev() {
        let s: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Follows a plate's camera over a shot, frame by frame.
#[derive(Clone, Debug, Default)]
pub struct CameraTracker {
    previous: Option<Frame>,
    total: Option<CameraMove>,
    /// Per frame: the move since the first frame, and the support of the last step.
    pub path: Vec<(CameraMove, f32)>,
}

impl CameraTracker {
    /// A tracker at the start of a shot.
    pub fn new() -> CameraTracker {
        CameraTracker::default()
    }

    /// Takes the next plate frame (and its matte, so the actor is ignored)
    /// and returns the move since the first frame.
    pub fn track(&mut self, plate: &FrameView<'_>, matte: Option<&Matte>) -> Result<CameraMove> {
        let (step, support) = match &self.previous {
            Some(prev) => estimate_between(&prev.view(), plate, matte)?,
            None => (CameraMove::STILL, 1.0),
        };
        let total = self.total.unwrap_or(CameraMove::STILL).then(&step);
        self.total = Some(total);
        self.previous = Some(plate.to_frame()?);
        self.path.push((total, support));
        Ok(total)
    }
}

/// `background` moved by `camera` (bilinear; outside the source it holds
/// the nearest edge pixel), into a new frame of the same size.
pub(crate) fn move_background(background: &FrameView<'_>, camera: &CameraMove) -> Result<Frame> {
    let (w, h) = (background.width(), background.height());
    let mut out = Frame::new(w, h, background.format())?;
    let source = RgbaImage::of(background)?;
    let (wf, hf) = (w as f32, h as f32);
    out.view_mut().par_rows_mut_init(
        || vec![0.0f32; w as usize * 4],
        |row, y, dst| {
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                let (sx, sy) = camera.source_of(x as f32 + 0.5, y as f32 + 0.5, wf, hf);
                px.copy_from_slice(&source.sample(sx - 0.5, sy - 0.5));
            }
            dst.write_f32(row);
        },
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    fn scene(w: u32, h: u32, camera: &CameraMove) -> Frame {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = f.view_mut();
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let (sx, sy) = camera.source_of(x as f32 + 0.5, y as f32 + 0.5, w as f32, h as f32);
                    let c = crate::testing::texture(sx, sy);
                    [c[0], c[1], c[2], 1.0]
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        f
    }

    #[test]
    fn recovers_a_pan_zoom_and_roll() {
        let truth = CameraMove { pan_x: 4.0, pan_y: -2.5, zoom: 1.02, roll: 1.0 };
        let a = scene(192, 128, &CameraMove::STILL);
        let b = scene(192, 128, &truth);
        let (got, support) = estimate_between(&a.view(), &b.view(), None).unwrap();
        assert!(support > 0.5, "{support}");
        assert!((got.pan_x - truth.pan_x).abs() < 0.3 && (got.pan_y - truth.pan_y).abs() < 0.3, "{got:?}");
        assert!((got.zoom - truth.zoom).abs() < 0.005 && (got.roll - truth.roll).abs() < 0.2, "{got:?}");
    }

    #[test]
    fn composes_and_inverts() {
        let a = CameraMove { pan_x: 3.0, pan_y: 1.0, zoom: 1.1, roll: 5.0 };
        let b = CameraMove { pan_x: -1.0, pan_y: 2.0, zoom: 0.95, roll: -2.0 };
        let ab = a.then(&b);
        assert!((ab.zoom - 1.045).abs() < 1e-4 && (ab.roll - 3.0).abs() < 1e-3, "{ab:?}");
        // source_of undoes the move: a point moved by `a` comes back.
        let (w, h) = (100.0, 80.0);
        let [m0, m1, tx, ty] = a.matrix();
        let (px, py) = (10.0 - w / 2.0, 20.0 - h / 2.0);
        let moved = (m0 * px - m1 * py + tx + w / 2.0, m1 * px + m0 * py + ty + h / 2.0);
        let (bx, by) = a.source_of(moved.0, moved.1, w, h);
        assert!((bx - 10.0).abs() < 1e-3 && (by - 20.0).abs() < 1e-3);
    }

    #[test]
    fn a_flat_background_gives_no_move() {
        let mut flat = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        flat.view_mut().fill([0.1, 0.7, 0.2, 1.0]);
        let (got, support) = estimate_between(&flat.view(), &flat.view(), None).unwrap();
        assert_eq!(got, CameraMove::STILL);
        assert_eq!(support, 0.0);
    }
}
