//! Float RGBA images sampled bilinearly at any position: what the built-in
//! generator, the camera-move match and consistency scoring read their
//! sources through.

use crate::error::Result;
use crate::frame::{FrameView, PixelFormat};

/// Float RGBA pixels (0..1 for integer sources), tightly packed.
#[derive(Clone, Debug)]
pub(crate) struct RgbaImage {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) rgba: Vec<f32>,
}

impl RgbaImage {
    /// `frame`'s pixels as floats.
    pub(crate) fn of(frame: &FrameView<'_>) -> Result<RgbaImage> {
        let float = frame.to_frame()?.to_format(PixelFormat::Rgba32F)?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        Ok(RgbaImage { width, height, rgba: bytemuck::cast_slice(float.as_bytes()).to_vec() })
    }

    /// The colour at pixel position (`x`, `y`) (pixel centres at integers),
    /// holding the edge outside.
    #[inline(always)]
    pub(crate) fn sample(&self, x: f32, y: f32) -> [f32; 4] {
        let (w, h) = (self.width, self.height);
        let x = x.clamp(0.0, (w - 1) as f32);
        let y = y.clamp(0.0, (h - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |xx: usize, yy: usize| &self.rgba[(yy * w + xx) * 4..(yy * w + xx) * 4 + 4];
        let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
        let mut out = [0.0; 4];
        for k in 0..4 {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bottom = c[k] + (d[k] - c[k]) * fx;
            out[k] = top + (bottom - top) * fy;
        }
        out
    }

    /// A 2x2 box downscale (an odd last row or column is dropped).
    #[cfg(feature = "images")] // the built-in generator's only
    pub(crate) fn halve(&self) -> RgbaImage {
        let (w, hw, hh) = (self.width, self.width / 2, self.height / 2);
        let mut out = vec![0.0f32; hw * hh * 4];
        for (y, row) in out.chunks_exact_mut(hw * 4).enumerate() {
            for x in 0..hw {
                for k in 0..4 {
                    let s = |xx: usize, yy: usize| self.rgba[(yy * w + xx) * 4 + k];
                    row[x * 4 + k] =
                        0.25 * (s(2 * x, 2 * y) + s(2 * x + 1, 2 * y) + s(2 * x, 2 * y + 1) + s(2 * x + 1, 2 * y + 1));
                }
            }
        }
        RgbaImage { width: hw, height: hh, rgba: out }
    }
}
