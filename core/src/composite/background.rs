//! The background made ready to composite: decoded to linear light through
//! the colour transfer, defocused, grained, and the light it wraps round
//! the actor.

use rayon::prelude::*;

use super::matte::{Matte, blur_cells, blur_rgba, optional_bands, refill, sized};
use super::measure::ColourTransfer;
use crate::error::Result;
use crate::frame::{Frame, FrameView, PixelFormat, Row, RowMut, convert};
use crate::pixels::color::{decode, encode_row};

/// A background ready to composite: linear light, RGBA interleaved. Its
/// buffer is refilled in place when the background moves: taken afresh at
/// every frame, it came back from the system as new pages (about 1,900
/// page faults a 1080p frame).
#[derive(Clone, Default)]
pub(super) struct Prepared {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) pixels: Vec<f32>,
    /// The same, encoded as 8-bit sRGB RGBA when asked for (8-bit plates
    /// into 8-bit outputs: pixels where only the background shows are
    /// copied, not encoded again every frame); empty otherwise.
    pub(super) bytes: Vec<u8>,
    /// The defocus blur's buffers, kept once the background has been
    /// prepared twice (it moves); a still one's are let go.
    blurred: Option<Frame>,
    blur_scratch: Vec<[f32; 4]>,
    preparations: u64,
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

/// Prepares `background` into `into`, its buffers reused; `with_bytes`:
/// its 8-bit encoding too.
pub(super) fn prepare_background(
    background: &FrameView<'_>,
    transfer: Option<&ColourTransfer>,
    defocus: f32,
    grain: f32,
    frame_index: u64,
    with_bytes: bool,
    into: &mut Prepared,
) -> Result<()> {
    let (w, h) = (background.width() as usize, background.height() as usize);
    let Prepared { width, height, pixels, bytes, blurred, blur_scratch, preparations } = into;
    let source = if defocus >= 0.5 {
        let blurred = match blurred {
            Some(frame) if (frame.width(), frame.height()) == (background.width(), background.height()) => frame,
            _ => blurred.insert(Frame::new(background.width(), background.height(), PixelFormat::Rgba32F)?),
        };
        convert(background, &mut blurred.view_mut())?;
        blur_rgba(blurred, defocus.round() as usize, blur_scratch);
        blurred.view()
    } else {
        *background
    };
    sized(pixels, w * h * 4, 0.0)?;
    if with_bytes {
        sized(bytes, w * h * 4, 0)?;
    } else {
        bytes.clear();
    }
    (*width, *height) = (w, h);
    let bytes = optional_bands(with_bytes.then_some(&mut bytes[..]), w * 4, h);
    pixels.par_chunks_mut(w * 4).zip(bytes).enumerate().for_each(|(y, (dst, bytes))| {
        match (source.row(y as u32), transfer) {
            // The common case, an 8-bit background colour matched: each
            // code's place in the transfer's LUT is looked up.
            (Row::U8(r), Some(t)) if grain <= 0.0 => {
                for (px, v) in dst.as_chunks_mut::<4>().0.iter_mut().zip(r.as_chunks::<4>().0) {
                    let [red, green, blue] = t.apply_u8([v[0], v[1], v[2]]);
                    *px = [red, green, blue, v[3] as f32 * (1.0 / 255.0)];
                }
            }
            // Otherwise the row read as encoded values first (the frame's
            // own reader), then each pixel in place.
            _ => {
                source.read_row_f32(y as u32, dst);
                for (x, px) in dst.as_chunks_mut::<4>().0.iter_mut().enumerate() {
                    let mut encoded = [px[0], px[1], px[2]];
                    if grain > 0.0 {
                        let n = grain * grain_noise((y * w + x) as u64, frame_index);
                        encoded = encoded.map(|v| v + n);
                    }
                    let linear = match transfer {
                        Some(t) => t.apply(encoded),
                        None => encoded.map(decode),
                    };
                    *px = [linear[0], linear[1], linear[2], px[3].clamp(0.0, 1.0)];
                }
            }
        }
        if let Some(bytes) = bytes {
            encode_row(dst, RowMut::U8(bytes));
        }
    });
    *preparations += 1;
    if *preparations == 1 {
        (*blurred, *blur_scratch) = (None, Vec::new());
    }
    Ok(())
}

/// The background's light just outside the foreground, blurred inwards,
/// kept at quarter resolution (it is smooth). Its buffers are kept from
/// frame to frame (the matte moves every frame).
#[derive(Clone, Default)]
pub(super) struct Wrap {
    pub(super) scale: usize,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) rgb: Vec<[f32; 3]>,
    cells: Vec<[f32; 4]>,
    blur_scratch: Vec<[f32; 4]>,
}

impl std::fmt::Debug for Wrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wrap({}x{} cells of {})", self.width, self.height, self.scale)
    }
}

impl Wrap {
    #[inline]
    pub(super) fn sample(&self, x: usize, y: usize) -> [f32; 3] {
        let (sx, sy) = ((x / self.scale).min(self.width - 1), (y / self.scale).min(self.height - 1));
        self.rgb[sy * self.width + sx]
    }
}

/// Fills `wrap` with the light of `bg` round the foreground of `matte`.
pub(super) fn light_wrap_source(bg: &Prepared, matte: &Matte, radius: f32, wrap: &mut Wrap) {
    let scale = 4;
    let (w, h) = (bg.width.div_ceil(scale), bg.height.div_ceil(scale));
    // Open-background light per coarse cell; each band of `scale` rows fills its own cell row.
    let cells = refill(&mut wrap.cells, w * h, [0.0f32; 4]);
    cells.par_chunks_mut(w).enumerate().for_each(|(cy, cell_row)| {
        for y in cy * scale..((cy + 1) * scale).min(bg.height) {
            let alphas = &matte.values()[y * bg.width..(y + 1) * bg.width];
            let pixels = &bg.pixels[y * bg.width * 4..(y + 1) * bg.width * 4];
            // A cell's pixels of the row summed in registers, then added to it.
            let spans = alphas.chunks(scale).zip(pixels.as_chunks::<4>().0.chunks(scale));
            for (cell, (alphas, pixels)) in cell_row.iter_mut().zip(spans) {
                let mut sum = [0.0f32; 4];
                for (a, px) in alphas.iter().zip(pixels) {
                    let open = 1.0 - a;
                    sum = [sum[0] + open * px[0], sum[1] + open * px[1], sum[2] + open * px[2], sum[3] + open];
                }
                *cell = std::array::from_fn(|c| cell[c] + sum[c]);
            }
        }
    });
    let r = ((radius / scale as f32).round() as usize).max(1);
    blur_cells(cells, w, h, r, &mut wrap.blur_scratch);
    wrap.rgb.clear();
    wrap.rgb.extend(cells.iter().map(|sum| {
        let coverage = sum[3].max(1e-6);
        // Light present where background was open nearby, at its own brightness.
        let reach = (sum[3] / (scale * scale) as f32).min(1.0);
        std::array::from_fn::<f32, 3, _>(|c| sum[c] / coverage * reach)
    }));
    (wrap.scale, wrap.width, wrap.height) = (scale, w, h);
}
