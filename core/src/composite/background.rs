//! The background made ready to composite: decoded to linear light through
//! the colour transfer, defocused, grained, and the light it wraps round
//! the actor.

use rayon::prelude::*;

use super::matte::blur_rgba;
use super::matte::{Matte, blurred_cells};
use super::measure::ColourTransfer;
use crate::error::Result;
use crate::frame::{FrameView, PixelFormat, Row};
use crate::pixels::color::decode;

/// A background ready to composite: linear light, RGBA interleaved.
#[derive(Clone)]
pub(super) struct Prepared {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) pixels: Vec<f32>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prepared({}x{})", self.width, self.height)
    }
}

/// A cheap deterministic Gaussian-ish value (sum of four uniforms, unit
/// variance) from a pixel and frame index.
#[inline]
pub(crate) fn grain_noise(i: u64, frame: u64) -> f32 {
    let mut h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ frame.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let mut sum = 0.0f32;
    for _ in 0..4 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 29;
        sum += (h >> 40) as f32 / (1u64 << 24) as f32;
    }
    (sum - 2.0) * 3.0f32.sqrt()
}

pub(super) fn prepare_background(
    background: &FrameView<'_>,
    transfer: Option<&ColourTransfer>,
    defocus: f32,
    grain: f32,
    frame_index: u64,
) -> Result<Prepared> {
    let (w, h) = (background.width() as usize, background.height() as usize);
    let blurred;
    let source = if defocus >= 0.5 {
        let mut copy = background.to_frame()?.to_format(PixelFormat::Rgba32F)?;
        blur_rgba(&mut copy, defocus.round() as usize);
        blurred = copy;
        blurred.view()
    } else {
        *background
    };
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(w * h * 4)?;
    pixels.resize(w * h * 4, 0.0f32);
    pixels.par_chunks_mut(w * 4).enumerate().for_each(|(y, dst)| {
        let row = source.row(y as u32);
        for x in 0..w {
            let (encoded, alpha): ([f32; 3], f32) = match &row {
                Row::U8(r) => (std::array::from_fn(|c| r[x * 4 + c] as f32 / 255.0), r[x * 4 + 3] as f32 / 255.0),
                Row::U16(r) => (std::array::from_fn(|c| r[x * 4 + c] as f32 / 65535.0), r[x * 4 + 3] as f32 / 65535.0),
                Row::F32(r) => (std::array::from_fn(|c| r[x * 4 + c]), r[x * 4 + 3]),
            };
            let encoded = if grain > 0.0 {
                let n = grain * grain_noise((y * w + x) as u64, frame_index);
                encoded.map(|v| v + n)
            } else {
                encoded
            };
            let linear = match transfer {
                Some(t) => t.apply(encoded),
                None => encoded.map(decode),
            };
            dst[x * 4..x * 4 + 3].copy_from_slice(&linear);
            dst[x * 4 + 3] = alpha.clamp(0.0, 1.0);
        }
    });
    Ok(Prepared { width: w, height: h, pixels })
}

/// The background's light just outside the foreground, blurred inwards,
/// kept at quarter resolution (it is smooth).
pub(super) struct Wrap {
    pub(super) scale: usize,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) rgb: Vec<[f32; 3]>,
}

impl Wrap {
    #[inline]
    pub(super) fn sample(&self, x: usize, y: usize) -> [f32; 3] {
        let (sx, sy) = ((x / self.scale).min(self.width - 1), (y / self.scale).min(self.height - 1));
        self.rgb[sy * self.width + sx]
    }
}

pub(super) fn light_wrap_source(bg: &Prepared, matte: &Matte, radius: f32) -> Result<Wrap> {
    let scale = 4;
    let (w, h) = (bg.width.div_ceil(scale), bg.height.div_ceil(scale));
    // Open-background light per coarse cell; each band of `scale` rows fills its own cell row.
    let mut cells = vec![[0.0f32; 4]; w * h];
    cells.par_chunks_mut(w).enumerate().for_each(|(cy, cell_row)| {
        for y in cy * scale..((cy + 1) * scale).min(bg.height) {
            let alphas = &matte.values()[y * bg.width..(y + 1) * bg.width];
            let pixels = &bg.pixels[y * bg.width * 4..(y + 1) * bg.width * 4];
            for (x, (a, px)) in alphas.iter().zip(pixels.chunks_exact(4)).enumerate() {
                let open = 1.0 - a;
                let cell = &mut cell_row[x / scale];
                for c in 0..3 {
                    cell[c] += open * px[c];
                }
                cell[3] += open;
            }
        }
    });
    let r = ((radius / scale as f32).round() as usize).max(1);
    let rgb = blurred_cells(&cells, w, h, r)
        .iter()
        .map(|sum| {
            let coverage = sum[3].max(1e-6);
            // Light present where background was open nearby, at its own brightness.
            let reach = (sum[3] / (scale * scale) as f32).min(1.0);
            std::array::from_fn(|c| sum[c] / coverage * reach)
        })
        .collect();
    Ok(Wrap { scale, width: w, height: h, rgb })
}
