//! Mattes: one alpha value per pixel (0 background, 1 foreground), and the
//! clean-up operations keyers offer: grow or shrink, blur, fill holes.

use std::collections::VecDeque;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, FrameViewMut, check_dimensions};

/// An alpha matte, tightly packed, values in 0..1.
#[derive(Clone, Debug, PartialEq)]
pub struct Matte {
    width: u32,
    height: u32,
    data: Vec<f32>,
}

impl Matte {
    /// A matte of `value` everywhere.
    pub fn filled(width: u32, height: u32, value: f32) -> Result<Matte> {
        check_dimensions(width, height)?;
        let n = width as usize * height as usize;
        let mut data = Vec::new();
        data.try_reserve_exact(n)?;
        data.resize(n, value);
        Ok(Matte { width, height, data })
    }

    /// A matte from its values, row after row.
    pub fn from_values(width: u32, height: u32, data: Vec<f32>) -> Result<Matte> {
        check_dimensions(width, height)?;
        if data.len() != width as usize * height as usize {
            return Err(Error::invalid_argument(format!("{} matte values for a {width}x{height} matte", data.len())));
        }
        Ok(Matte { width, height, data })
    }

    /// The alpha channel of a frame as a matte.
    pub fn from_alpha(frame: &FrameView<'_>) -> Result<Matte> {
        let mut matte = Matte::filled(frame.width(), frame.height(), 0.0)?;
        let w = frame.width() as usize;
        matte.data.par_chunks_mut(w).enumerate().for_each(|(y, dst)| {
            let mut row = vec![0.0f32; w * 4];
            frame.read_row_f32(y as u32, &mut row);
            dst.iter_mut().zip(row.chunks_exact(4)).for_each(|(d, p)| *d = p[3].clamp(0.0, 1.0));
        });
        Ok(matte)
    }

    /// A matte from a frame's luma (a grey matte image), 0..1.
    pub fn from_luma(frame: &FrameView<'_>) -> Result<Matte> {
        let mut matte = Matte::filled(frame.width(), frame.height(), 0.0)?;
        let w = frame.width() as usize;
        matte.data.par_chunks_mut(w).enumerate().for_each(|(y, dst)| {
            let mut row = vec![0.0f32; w * 4];
            frame.read_row_f32(y as u32, &mut row);
            dst.iter_mut()
                .zip(row.chunks_exact(4))
                .for_each(|(d, p)| *d = (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]).clamp(0.0, 1.0));
        });
        Ok(matte)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The values, row after row.
    pub fn values(&self) -> &[f32] {
        &self.data
    }

    /// The values, writable.
    pub fn values_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The value at (`x`, `y`). Panics outside the matte.
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.data[y as usize * self.width as usize + x as usize]
    }

    /// Writes the matte as grey into `out` (R = G = B = A = matte), for
    /// hosts that show or save mattes as images.
    pub fn write_grey(&self, out: &mut FrameViewMut<'_>) -> Result<()> {
        if (out.width(), out.height()) != (self.width, self.height) {
            return Err(Error::invalid_argument(format!(
                "a {}x{} matte does not fit a {}x{} image",
                self.width,
                self.height,
                out.width(),
                out.height()
            )));
        }
        let w = self.width as usize;
        out.par_rows_mut(|y, dst| {
            let row: Vec<f32> = self.data[y as usize * w..(y as usize + 1) * w].iter().flat_map(|&a| [a; 4]).collect();
            dst.write_f32(&row);
        });
        Ok(())
    }
}

/// What to do to a matte after keying.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cleanup {
    /// Grow the foreground by this many pixels (negative shrinks it).
    pub grow: i32,
    /// Blur radius in pixels (0: none); softens the edge.
    pub blur: f32,
    /// Make foreground of background holes that do not touch the frame's
    /// edge (a green reflection on a costume, say).
    pub fill_holes: bool,
}

impl Default for Cleanup {
    fn default() -> Self {
        Cleanup { grow: 0, blur: 0.0, fill_holes: false }
    }
}

/// Applies `cleanup` in order: fill holes, grow/shrink, blur.
pub(crate) fn clean(matte: &mut Matte, cleanup: &Cleanup) {
    if cleanup.fill_holes {
        fill_holes(matte);
    }
    if cleanup.grow != 0 {
        grow(matte, cleanup.grow);
    }
    if cleanup.blur > 0.0 {
        blur(matte, cleanup.blur);
    }
}

/// Morphological dilation (positive `radius`) or erosion (negative) with a
/// square of side 2 |radius| + 1, as two separable passes.
pub(crate) fn grow(matte: &mut Matte, radius: i32) {
    let r = radius.unsigned_abs() as usize;
    if r == 0 {
        return;
    }
    let take: fn(f32, f32) -> f32 = if radius > 0 { f32::max } else { f32::min };
    let (w, h) = (matte.width as usize, matte.height as usize);
    // Horizontal.
    matte.data.par_chunks_mut(w).for_each(|row| {
        let src = row.to_vec();
        for x in 0..w {
            let (lo, hi) = (x.saturating_sub(r), (x + r).min(w - 1));
            row[x] = src[lo..=hi].iter().copied().fold(src[x], take);
        }
    });
    // Vertical, on columns gathered through a transposed copy.
    let src = matte.data.clone();
    matte.data.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        let (lo, hi) = (y.saturating_sub(r), (y + r).min(h - 1));
        for (x, v) in row.iter_mut().enumerate() {
            *v = (lo..=hi).map(|yy| src[yy * w + x]).fold(src[y * w + x], take);
        }
    });
}

/// Approximately Gaussian blur of standard deviation about `radius` / 2:
/// three box passes each way, each O(1) per pixel whatever the radius.
pub(crate) fn blur(matte: &mut Matte, radius: f32) {
    let r = radius.round() as usize;
    if r == 0 {
        return;
    }
    let (w, h) = (matte.width as usize, matte.height as usize);
    blur_plane(&mut matte.data, w, h, r);
}

/// `buffer` as `n` copies of `fill`, reusing its allocation: buffers this
/// size taken afresh every frame come back from the system as new pages.
pub(crate) fn refill<T: Copy>(buffer: &mut Vec<T>, n: usize, fill: T) -> &mut [T] {
    buffer.clear();
    buffer.resize(n, fill);
    buffer
}

/// `buffer` at length `n`: as it is when it already is (for values about
/// to be overwritten), else refilled with `fill`, the memory asked for
/// without aborting when it cannot be had.
pub(crate) fn sized<T: Copy>(buffer: &mut Vec<T>, n: usize, fill: T) -> Result<&mut [T]> {
    if buffer.len() != n {
        buffer.clear();
        buffer.try_reserve_exact(n)?;
        buffer.resize(n, fill);
    }
    Ok(buffer)
}

/// `buffer` in bands of `band` values when given, else `bands` times
/// `None`: to zip beside another buffer's bands, so that one loop serves
/// frames with and without it.
pub(crate) fn optional_bands<T: Send>(
    buffer: Option<&mut [T]>,
    band: usize,
    bands: usize,
) -> impl IndexedParallelIterator<Item = Option<&mut [T]>> {
    let (given, absent) = match buffer {
        Some(buffer) => (buffer, 0),
        None => (&mut [][..], bands),
    };
    given.par_chunks_mut(band.max(1)).map(Some).chain((0..absent).into_par_iter().map(|_| None))
}

/// The mean of every 5 x 5 window of `values` (edges repeated) into `mean`
/// (resized to fit).
pub(crate) fn window_means(values: &[f32], w: usize, h: usize, mean: &mut Vec<f32>) {
    window_stats(values, w, h, mean, None);
}

/// A Lee filter in place: each value moves towards its 5 x 5 window's mean
/// by the share of the window's variance that `flat` (the variance noise
/// alone gives) explains. The window means are left in `mean`; `copy`
/// holds the values as they were (both resized to fit, so that a caller
/// filtering every frame keeps them).
pub(crate) fn lee_filter(values: &mut [f32], w: usize, h: usize, flat: f32, copy: &mut Vec<f32>, mean: &mut Vec<f32>) {
    copy.clear();
    copy.extend_from_slice(values);
    window_stats(copy, w, h, mean, Some((values, flat)));
}

/// One pass over bands of rows, each summing its rows and two either side
/// along rows, then down the columns: the window means of `src`, and with
/// `lee` the filtered values written into its slice.
fn window_stats(src: &[f32], w: usize, h: usize, mean: &mut Vec<f32>, lee: Option<(&mut [f32], f32)>) {
    const R: usize = 2;
    const BAND: usize = 16;
    const N: f32 = ((2 * R + 1) * (2 * R + 1)) as f32;
    let mean = refill(mean, w * h, 0.0);
    if w == 0 || h == 0 {
        return;
    }
    let (filtered, flat) = match lee {
        Some((values, flat)) => (Some(values), flat),
        None => (None, 0.0),
    };
    let filtered_bands = optional_bands(filtered, w * BAND, h.div_ceil(BAND));
    mean.par_chunks_mut(w * BAND).zip(filtered_bands).enumerate().for_each_init(
        || (vec![0.0f32; w * (BAND + 2 * R)], vec![0.0f32; w * (BAND + 2 * R)]),
        |(sums, squares), (band, (means, mut out))| {
            let rows = means.len() / w;
            for i in 0..rows + 2 * R {
                let y = (band * BAND + i).saturating_sub(R).min(h - 1);
                let line = &src[y * w..(y + 1) * w];
                let at = |x: isize| line[x.clamp(0, w as isize - 1) as usize];
                let (s, q) = (&mut sums[i * w..(i + 1) * w], &mut squares[i * w..(i + 1) * w]);
                // Interior: five loads per pixel, independent, so it vectorises.
                if w > 2 * R {
                    for x in R..w - R {
                        let v = &line[x - R..=x + R];
                        s[x] = v[0] + v[1] + v[2] + v[3] + v[4];
                        q[x] = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3] + v[4] * v[4];
                    }
                }
                for x in (0..R.min(w)).chain(w.saturating_sub(R).max(R.min(w))..w) {
                    let window = (x as isize - R as isize..=x as isize + R as isize).map(at);
                    s[x] = window.clone().sum();
                    q[x] = window.map(|v| v * v).sum();
                }
            }
            // Down the columns, a row at a time over whole rows of sums (so
            // that the loops run in vector lanes), the five rows added in
            // order.
            for (i, m) in means.chunks_mut(w).enumerate() {
                let y = band * BAND + i;
                fn rows(buffer: &[f32], i: usize, w: usize) -> [&[f32]; 2 * R + 1] {
                    std::array::from_fn(|k| &buffer[(i + k) * w..(i + k + 1) * w])
                }
                let [s0, s1, s2, s3, s4] = rows(sums, i, w);
                for (x, m) in m.iter_mut().enumerate() {
                    *m = (s0[x] + s1[x] + s2[x] + s3[x] + s4[x]) / N;
                }
                if let Some(out) = out.as_mut() {
                    let [q0, q1, q2, q3, q4] = rows(squares, i, w);
                    let (dst, line) = (&mut out[i * w..(i + 1) * w], &src[y * w..(y + 1) * w]);
                    for (x, ((d, &mu), &v)) in dst.iter_mut().zip(&*m).zip(line).enumerate() {
                        let q = q0[x] + q1[x] + q2[x] + q3[x] + q4[x];
                        let variance = (q / N - mu * mu).max(0.0);
                        let gain = if variance > flat { (variance - flat) / variance } else { 0.0 };
                        *d = mu + gain * (v - mu);
                    }
                }
            }
        },
    );
}

/// Three box blurs of half-width `r` along rows, then along columns.
pub(crate) fn blur_plane(data: &mut [f32], w: usize, h: usize, r: usize) {
    let cells: &mut [[f32; 1]] = bytemuck::cast_slice_mut(data);
    blur_cells(cells, w, h, r, &mut Vec::new());
}

/// Box passes: three make the box about Gaussian.
const BOX_PASSES: usize = 3;
/// Rows per band of the column passes: each band starts its running sums
/// afresh (2r + 1 rows read), so bands much taller than that waste little.
const COLUMN_BAND: usize = 32;

/// Three box blurs of half-width `r` along rows, then along columns, of a
/// `w` x `h` grid of cells of `L` values each (edges repeated). Down the
/// columns a whole row of running sums moves at once, which vectorises;
/// along a row the running sum would be one serial chain, so the rows are
/// blurred as the columns of the transposed grid. `other` is the second
/// buffer the passes go back and forth with (given, so that a caller
/// blurring every frame keeps it).
pub(crate) fn blur_cells<const L: usize>(
    data: &mut [[f32; L]],
    w: usize,
    h: usize,
    r: usize,
    other: &mut Vec<[f32; L]>,
) {
    if w == 0 || h == 0 || r == 0 || data.len() != w * h {
        return;
    }
    let scale = 1.0 / (2 * r + 1) as f32;
    let other = refill(other, data.len(), [0.0; L]);
    // Each pass reads one buffer and writes the other, so an odd count of
    // passes leaves the result in the buffer the direction did not start in.
    const { assert!(BOX_PASSES % 2 == 1) };
    let passes = |from: &mut [[f32; L]], to: &mut [[f32; L]], w: usize, h: usize| {
        for pass in 0..BOX_PASSES {
            if pass % 2 == 0 {
                box_columns(from, to, w, h, r, scale);
            } else {
                box_columns(to, from, w, h, r, scale);
            }
        }
    };
    // Along the rows: the transposed grid (h wide, w tall) in `other`,
    // blurred into `data`, transposed back into `other`; then down the
    // columns from `other` into `data`.
    transpose(data, other, w, h);
    passes(other, data, h, w);
    transpose(data, other, h, w);
    passes(other, data, w, h);
}

/// `source`, a `w` x `h` grid, transposed into `out` (`h` x `w`), in tiles
/// that stay in cache.
fn transpose<T: Copy + Send + Sync>(source: &[T], out: &mut [T], w: usize, h: usize) {
    const TILE: usize = 32;
    out.par_chunks_mut(h * TILE).enumerate().for_each(|(band, rows)| {
        let x0 = band * TILE;
        for y0 in (0..h).step_by(TILE) {
            for (i, dst) in rows.chunks_mut(h).enumerate() {
                let x = x0 + i;
                for y in y0..(y0 + TILE).min(h) {
                    dst[y] = source[y * w + x];
                }
            }
        }
    });
}

/// One box pass down the columns of `source` into `out`, in bands of rows.
fn box_columns<const L: usize>(source: &[[f32; L]], out: &mut [[f32; L]], w: usize, h: usize, r: usize, scale: f32) {
    // As flat values: a row of sums is one long line of independent lanes.
    let (source, out): (&[f32], &mut [f32]) = (source.as_flattened(), out.as_flattened_mut());
    let wl = w * L;
    let row = |y: isize| {
        let y = y.clamp(0, h as isize - 1) as usize;
        &source[y * wl..(y + 1) * wl]
    };
    out.par_chunks_mut(wl * COLUMN_BAND).enumerate().for_each_init(
        || vec![0.0f32; wl],
        |sums, (band, rows)| {
            let y0 = (band * COLUMN_BAND) as isize;
            sums.fill(0.0);
            for k in -(r as isize)..=r as isize {
                for (s, v) in sums.iter_mut().zip(row(y0 + k)) {
                    *s += v;
                }
            }
            for (i, dst) in rows.chunks_mut(wl).enumerate() {
                let y = y0 + i as isize;
                let (add, drop) = (row(y + r as isize + 1), row(y - r as isize));
                for (((o, s), a), d) in dst.iter_mut().zip(sums.iter_mut()).zip(add).zip(drop) {
                    *o = *s * scale;
                    *s += a - d;
                }
            }
        },
    );
}

/// Sets to 1 every pixel below 0.5 that no path of such pixels connects to
/// the frame's edge.
pub(crate) fn fill_holes(matte: &mut Matte) {
    let (w, h) = (matte.width as usize, matte.height as usize);
    let mut outside = vec![false; w * h];
    let mut queue = VecDeque::new();
    let is_bg = |v: f32| v < 0.5;
    for x in 0..w {
        for y in [0, h - 1] {
            let i = y * w + x;
            if is_bg(matte.data[i]) && !outside[i] {
                outside[i] = true;
                queue.push_back(i);
            }
        }
    }
    for y in 0..h {
        for x in [0, w - 1] {
            let i = y * w + x;
            if is_bg(matte.data[i]) && !outside[i] {
                outside[i] = true;
                queue.push_back(i);
            }
        }
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !outside[j] && is_bg(matte.data[j]) {
                outside[j] = true;
                queue.push_back(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    for (v, out) in matte.data.iter_mut().zip(&outside) {
        if is_bg(*v) && !out {
            *v = 1.0;
        }
    }
}

/// Blurs each channel of a float RGBA frame by `radius`, in place
/// (`scratch` grown to the frame's size).
pub(super) fn blur_rgba(frame: &mut Frame, radius: usize, scratch: &mut Vec<[f32; 4]>) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let pixels: &mut [[f32; 4]] = bytemuck::cast_slice_mut(frame.as_bytes_mut());
    blur_cells(pixels, w, h, radius, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(w: u32, h: u32, x0: u32, y0: u32, side: u32) -> Matte {
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if x >= x0 && x < x0 + side && y >= y0 && y < y0 + side { 1.0 } else { 0.0 }
            })
            .collect();
        Matte::from_values(w, h, data).unwrap()
    }

    fn area(m: &Matte) -> f32 {
        m.values().iter().sum()
    }

    #[test]
    fn grow_and_shrink_change_the_area_as_expected() {
        let mut m = square(20, 20, 5, 5, 6);
        grow(&mut m, 2);
        assert_eq!(area(&m), 100.0, "6 + 2 x 2 = 10 on a side");
        grow(&mut m, -3);
        assert_eq!(area(&m), 16.0, "10 - 2 x 3 = 4 on a side");
    }

    #[test]
    fn window_means_repeat_the_edges_and_the_lee_filter_keeps_edges() {
        for (w, h) in [(1, 1), (3, 2), (7, 5), (40, 19)] {
            let values: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
            let src = values.clone();
            let mut mean = Vec::new();
            window_means(&values, w, h, &mut mean);
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0.0;
                    for dy in -2i64..=2 {
                        for dx in -2i64..=2 {
                            let (xx, yy) =
                                ((x as i64 + dx).clamp(0, w as i64 - 1), (y as i64 + dy).clamp(0, h as i64 - 1));
                            sum += src[yy as usize * w + xx as usize];
                        }
                    }
                    assert!((mean[y * w + x] - sum / 25.0).abs() < 1e-5, "{w}x{h} at ({x},{y})");
                }
            }
        }
        // A step stays a step; flat noise becomes its mean.
        let (w, h) = (20, 10);
        let mut values: Vec<f32> =
            (0..w * h).map(|i| if i % w < 10 { 0.03 * ((i * 7 % 5) as f32 - 2.0) } else { 1.0 }).collect();
        let before = values.clone();
        lee_filter(&mut values, w, h, 2.0 * 0.06 * 0.06, &mut Vec::new(), &mut Vec::new());
        let kept = (values[5 * w + 9] - before[5 * w + 9]).abs();
        assert!(kept < 0.05, "the edge pixel moved by {kept}");
        assert!(values[5 * w + 3].abs() < 0.02, "flat noise smoothed: {}", values[5 * w + 3]);
    }

    /// Three box passes each way, written out plainly: the reference the
    /// running sums must match.
    fn blur_by_definition<const L: usize>(data: &[[f32; L]], w: usize, h: usize, r: usize) -> Vec<[f32; L]> {
        let mut cur = data.to_vec();
        let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
        for (along_rows, passes) in [(true, 3), (false, 3)] {
            for _ in 0..passes {
                let prev = cur.clone();
                for y in 0..h {
                    for x in 0..w {
                        let mut sum = [0.0f32; L];
                        for k in -(r as isize)..=r as isize {
                            let (xx, yy) =
                                if along_rows { (clamp(x as isize + k, w), y) } else { (x, clamp(y as isize + k, h)) };
                            for c in 0..L {
                                sum[c] += prev[yy * w + xx][c];
                            }
                        }
                        cur[y * w + x] = sum.map(|v| v / (2 * r + 1) as f32);
                    }
                }
            }
        }
        cur
    }

    #[test]
    fn running_sums_blur_as_the_definition_says() {
        for (w, h, r) in [(1, 1, 2), (3, 2, 5), (7, 40, 3), (70, 35, 8), (33, 70, 1)] {
            let cells: Vec<[f32; 4]> =
                (0..w * h).map(|i| std::array::from_fn(|c| ((i * 37 + c * 11) % 23) as f32 / 7.0)).collect();
            let mut fast = cells.clone();
            blur_cells(&mut fast, w, h, r, &mut Vec::new());
            let slow = blur_by_definition(&cells, w, h, r);
            for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                for c in 0..4 {
                    assert!((a[c] - b[c]).abs() < 1e-4, "{w}x{h} r {r}, cell {i} lane {c}: {} vs {}", a[c], b[c]);
                }
            }
            let mut plane: Vec<f32> = cells.iter().map(|c| c[2]).collect();
            blur_plane(&mut plane, w, h, r);
            for (i, (a, b)) in plane.iter().zip(&slow).enumerate() {
                assert!((a - b[2]).abs() < 1e-4, "{w}x{h} r {r}, plane value {i}: {a} vs {}", b[2]);
            }
        }
    }

    #[test]
    fn blur_keeps_the_mean_and_softens_edges() {
        let mut m = square(40, 40, 10, 10, 20);
        let before = area(&m);
        blur(&mut m, 3.0);
        assert!((area(&m) - before).abs() < 1.0, "{} vs {before}", area(&m));
        let edge = m.at(10, 20);
        assert!(edge > 0.3 && edge < 0.7, "the edge is now partly covered: {edge}");
        assert!(m.at(20, 20) > 0.99 && m.at(1, 1) < 0.01);
    }

    #[test]
    fn enclosed_holes_are_filled_and_open_ones_kept() {
        let mut m = square(20, 20, 2, 2, 14);
        m.values_mut()[8 * 20 + 8] = 0.0; // enclosed
        for x in 0..10 {
            m.values_mut()[10 * 20 + x] = 0.0; // a channel to the left edge
        }
        fill_holes(&mut m);
        assert_eq!(m.at(8, 8), 1.0);
        assert_eq!(m.at(5, 10), 0.0);
    }
}
