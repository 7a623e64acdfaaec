//! The dense motion field, the one type optical flow (`flow`), its
//! variational refinement (`variational`) and rendering (`synth`) share.

use rayon::prelude::*;

use crate::error::Result;

/// A dense motion field: for each pixel of one frame, where it moved to in
/// another, in pixels (x right, y down).
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) u: Vec<f32>,
    pub(crate) v: Vec<f32>,
}

impl Flow {
    /// A field of zeros.
    pub fn zeros(width: usize, height: usize) -> Result<Flow> {
        let mut u = Vec::new();
        u.try_reserve_exact(width * height)?;
        u.resize(width * height, 0.0);
        let v = u.clone();
        Ok(Flow { width, height, u, v })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The displacement of pixel (`x`, `y`). Panics outside the field.
    pub fn at(&self, x: usize, y: usize) -> (f32, f32) {
        let i = y * self.width + x;
        (self.u[i], self.v[i])
    }

    /// The horizontal components, row after row.
    pub fn u(&self) -> &[f32] {
        &self.u
    }

    /// The vertical components, row after row.
    pub fn v(&self) -> &[f32] {
        &self.v
    }

    /// Bilinear sample of the field at a sub-pixel position, clamped to the border.
    #[inline]
    pub(crate) fn sample(&self, x: f32, y: f32) -> (f32, f32) {
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let lerp = |c: &[f32]| {
            let (a, b) = (c[y0 * self.width + x0], c[y0 * self.width + x1]);
            let (d, e) = (c[y1 * self.width + x0], c[y1 * self.width + x1]);
            let top = a + (b - a) * fx;
            top + (d + (e - d) * fx - top) * fy
        };
        (lerp(&self.u), lerp(&self.v))
    }

    /// This field resampled to `width` x `height`, displacements scaled to match.
    pub(crate) fn resized(&self, width: usize, height: usize) -> Result<Flow> {
        let mut out = Flow::zeros(width, height)?;
        let (sx, sy) = (self.width as f32 / width as f32, self.height as f32 / height as f32);
        let (scale_u, scale_v) = (1.0 / sx, 1.0 / sy);
        out.u.par_chunks_mut(width).zip(out.v.par_chunks_mut(width)).enumerate().for_each(|(y, (ru, rv))| {
            let src_y = (y as f32 + 0.5) * sy - 0.5;
            for x in 0..width {
                let (u, v) = self.sample((x as f32 + 0.5) * sx - 0.5, src_y);
                ru[x] = u * scale_u;
                rv[x] = v * scale_v;
            }
        });
        Ok(out)
    }
}
