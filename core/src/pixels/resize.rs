//! Resampling whole frames: fitting a background of another size or shape
//! to a plate, and area-averaged analysis copies.

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use crate::error::Result;
use crate::frame::{Frame, FrameView, PixelFormat};

/// How a background of another size or shape is fitted to the plate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale to cover the plate and crop the overflow, centred (the default:
    /// no borders, no distortion).
    #[default]
    Cover,
    /// Scale to fit inside the plate, centred, with transparent black borders.
    Contain,
    /// Scale each axis to the plate's size, distorting if the shapes differ.
    Stretch,
}

/// Resamples `src` to `width` x `height` by `fit` (bilinear), as RGBA8 /
/// RGBA16 / RGBA32F like the source.
pub fn fit_background(src: &FrameView<'_>, width: u32, height: u32, fit: Fit) -> Result<Frame> {
    let mut out = Frame::new(width, height, src.format())?;
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    let (dw, dh) = (width as f32, height as f32);
    let (scale_x, scale_y) = match fit {
        Fit::Stretch => (sw / dw, sh / dh),
        Fit::Cover => {
            let s = (sw / dw).min(sh / dh);
            (s, s)
        }
        Fit::Contain => {
            let s = (sw / dw).max(sh / dh);
            (s, s)
        }
    };
    let (off_x, off_y) = ((sw - dw * scale_x) / 2.0, (sh - dh * scale_y) / 2.0);
    let w = width as usize;
    out.view_mut().par_rows_mut(|y, dst| {
        let mut row = vec![0.0f32; w * 4];
        let mut line = vec![0.0f32; src.width() as usize * 4];
        let sy = (y as f32 + 0.5) * scale_y + off_y - 0.5;
        let inside_y = sy > -0.5 && sy < sh - 0.5;
        let y0 = sy.clamp(0.0, sh - 1.0) as u32;
        let y1 = (y0 + 1).min(src.height() - 1);
        let fy = (sy.clamp(0.0, sh - 1.0) - y0 as f32).clamp(0.0, 1.0);
        let mut line1 = vec![0.0f32; src.width() as usize * 4];
        src.read_row_f32(y0, &mut line);
        src.read_row_f32(y1, &mut line1);
        for x in 0..w {
            let sx = (x as f32 + 0.5) * scale_x + off_x - 0.5;
            if !(inside_y && sx > -0.5 && sx < sw - 0.5) {
                continue; // outside the source (Contain's borders): transparent black
            }
            let sxc = sx.clamp(0.0, sw - 1.0);
            let x0 = sxc as usize;
            let x1 = (x0 + 1).min(src.width() as usize - 1);
            let fx = sxc - x0 as f32;
            for c in 0..4 {
                let top = line[x0 * 4 + c] + (line[x1 * 4 + c] - line[x0 * 4 + c]) * fx;
                let bottom = line1[x0 * 4 + c] + (line1[x1 * 4 + c] - line1[x0 * 4 + c]) * fx;
                row[x * 4 + c] = top + (bottom - top) * fy;
            }
        }
        dst.write_f32(&row);
    });
    Ok(out)
}

/// Resamples `src` to exactly `width` x `height`, in the source's pixel
/// format: each axis is area-averaged where it shrinks (every source pixel
/// counts by how much of it an output pixel covers, as a host makes its
/// proxies) and bilinear where it grows. For proxy renders and
/// resolution-independent analysis, where fitting is not wanted.
pub fn resample(src: &FrameView<'_>, width: u32, height: u32) -> Result<Frame> {
    let mut out = Frame::new(width, height, src.format())?;
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (columns, rows) = (axis_weights(sw, width as usize), axis_weights(sh, height as usize));
    let w = width as usize;
    // Columns first, for every source row: the narrow intermediate is then
    // read once per output row.
    let mut narrow = vec![0.0f32; w * 4 * sh];
    narrow.par_chunks_mut(w * 4).enumerate().for_each_init(
        || vec![0.0f32; sw * 4],
        |line, (y, dst)| {
            src.read_row_f32(y as u32, line);
            for (x, (start, weights)) in columns.iter().enumerate() {
                let mut acc = [0.0f32; 4];
                for (i, wgt) in weights.iter().enumerate() {
                    let p = &line[(start + i) * 4..(start + i) * 4 + 4];
                    for c in 0..4 {
                        acc[c] += p[c] * wgt;
                    }
                }
                dst[x * 4..x * 4 + 4].copy_from_slice(&acc);
            }
        },
    );
    out.view_mut().par_rows_mut_init(
        || vec![0.0f32; w * 4],
        |acc, y, row| {
            acc.iter_mut().for_each(|v| *v = 0.0);
            let (start, weights) = &rows[y as usize];
            for (i, wgt) in weights.iter().enumerate() {
                let line = &narrow[(start + i) * w * 4..(start + i + 1) * w * 4];
                acc.iter_mut().zip(line).for_each(|(a, v)| *a += v * wgt);
            }
            row.write_f32(acc);
        },
    );
    Ok(out)
}

/// For each of `dst` output positions along an axis of `src` pixels: the
/// first source pixel it reads and the weights of those it reads (summing
/// to 1).
fn axis_weights(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            if scale > 1.0 {
                let (lo, hi) = (o as f64 * scale, ((o + 1) as f64 * scale).min(src as f64));
                let first = lo.floor() as usize;
                let last = (hi.ceil() as usize).clamp(first + 1, src);
                let weights: Vec<f32> =
                    (first..last).map(|i| ((hi.min(i as f64 + 1.0) - lo.max(i as f64)) / (hi - lo)) as f32).collect();
                (first, weights)
            } else {
                let at = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f64);
                let first = (at.floor() as usize).min(src - 1);
                let f = (at - first as f64) as f32;
                if first + 1 < src { (first, vec![1.0 - f, f]) } else { (first, vec![1.0]) }
            }
        })
        .collect()
}

/// `frame` area-averaged down to at most `max_width` pixels wide (kept if
/// narrower), as RGBA8, rows in parallel.
pub(crate) fn area_downscale(frame: &FrameView<'_>, max_width: u32) -> Result<Frame> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let factor = w.div_ceil(max_width as usize).max(1);
    let (ow, oh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut out = Frame::new(ow as u32, oh as u32, PixelFormat::Rgba8)?;
    out.view_mut().par_rows_mut_init(
        || (vec![0.0f32; w * 4], vec![0.0f32; ow * 4]),
        |(line, acc), oy, row| {
            acc.iter_mut().for_each(|v| *v = 0.0);
            let (y0, y1) = (oy as usize * factor, ((oy as usize + 1) * factor).min(h));
            for y in y0..y1 {
                match frame.row(y as u32) {
                    // 8-bit rows summed as they are (scaled once at the end):
                    // no float conversion of every source pixel.
                    crate::frame::Row::U8(bytes) => {
                        for (x, px) in bytes.chunks_exact(4).enumerate() {
                            let o = (x / factor) * 4;
                            for c in 0..4 {
                                acc[o + c] += px[c] as f32 * (1.0 / 255.0);
                            }
                        }
                    }
                    _ => {
                        frame.read_row_f32(y as u32, line);
                        for (x, px) in line.chunks_exact(4).enumerate() {
                            let o = (x / factor) * 4;
                            for c in 0..4 {
                                acc[o + c] += px[c];
                            }
                        }
                    }
                }
            }
            for ox in 0..ow {
                let cols = ((ox + 1) * factor).min(w) - ox * factor;
                let n = (cols * (y1 - y0)) as f32;
                for c in 0..4 {
                    acc[ox * 4 + c] /= n;
                }
            }
            row.write_f32(acc);
        },
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resample_averages_what_each_output_pixel_covers_and_keeps_flat_areas() {
        // A 1-pixel white column at x = 3 of 8; halved, it covers half of
        // output pixel 1; at 3/8 width (8 -> 3) it falls in pixel 1 with
        // weight 1/(8/3) = 0.375.
        let mut f = Frame::new(8, 4, PixelFormat::Rgba32F).unwrap();
        let row: Vec<f32> =
            (0..8).flat_map(|x| if x == 3 { [1.0, 1.0, 1.0, 1.0] } else { [0.0, 0.0, 0.0, 1.0] }).collect();
        for y in 0..4 {
            f.view_mut().write_row_f32(y, &row);
        }
        let half = resample(&f.view(), 4, 2).unwrap();
        assert_eq!((half.width(), half.height()), (4, 2));
        assert_eq!(half.pixel_f32(1, 1), [0.5, 0.5, 0.5, 1.0]);
        assert_eq!(half.pixel_f32(0, 0)[0], 0.0);
        let third = resample(&f.view(), 3, 4).unwrap();
        assert!((third.pixel_f32(1, 2)[0] - 0.375).abs() < 1e-6, "{:?}", third.pixel_f32(1, 2));
        // Growing is bilinear: back to 8 wide, the column spreads over its
        // neighbours and the alpha stays 1 everywhere.
        let grown = resample(&half.view(), 8, 4).unwrap();
        assert!(grown.pixel_f32(2, 1)[0] > 0.2 && grown.pixel_f32(7, 1)[0] == 0.0);
        assert!((0..8).all(|x| grown.pixel_f32(x, 3)[3] == 1.0));
        // 8-bit stays 8-bit.
        let bytes = f.to_format(PixelFormat::Rgba8).unwrap();
        assert_eq!(resample(&bytes.view(), 4, 2).unwrap().format(), PixelFormat::Rgba8);
    }

    #[test]
    fn the_analysis_copy_is_an_area_average() {
        let mut f = Frame::new(8, 4, PixelFormat::Rgba8).unwrap();
        // Left half black, right half white: each 4x4 block averages exactly.
        let mut view = f.view_mut();
        for y in 0..4 {
            let row: Vec<f32> =
                (0..8).flat_map(|x| if x < 4 { [0.0, 0.0, 0.0, 1.0] } else { [1.0, 1.0, 1.0, 1.0] }).collect();
            view.write_row_f32(y, &row);
        }
        let small = area_downscale(&f.view(), 2).unwrap();
        assert_eq!((small.width(), small.height()), (2, 1));
        assert_eq!(small.pixel_f32(0, 0)[0], 0.0);
        assert_eq!(small.pixel_f32(1, 0)[0], 1.0);
    }
}
