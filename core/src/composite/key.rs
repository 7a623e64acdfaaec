//! The chroma keyer: a colour-difference key against a sampled screen
//! colour, in linear light.
//!
//! A green-screen pixel mixes foreground F and screen S: I = a F + (1 - a) S.
//! The key measures how much the screen channel exceeds the larger of the
//! other two, D(I) = I.g - max(I.r, I.b), against the same for the screen:
//! a = 1 - D(I) / D(S). Clip black and clip white then stretch the range so
//! that screen noise keys to 0 and solid foreground to 1.
//!
//! Real plates are noisy (high ISO, small sensors, codecs), and the key's
//! noise is the screen's noise divided by D(S). Each frame measures it on
//! the screen itself (the spread of the raw key over pixels that look like
//! the screen, against the local screen colour), then smooths the raw key
//! where its local variance is what that noise alone explains (a Lee
//! filter: the box mean on flat screen or flat foreground, the pixel itself
//! across a real edge), and sets the clip points above what noise is left.
//! So noise never opens the matte, and real edges keep their softness.
//!
//! The colour difference alone overestimates alpha at edges where the
//! foreground's own hue is far from the screen's (skin against green: the
//! foreground already has a negative difference). So edge pixels are
//! refined: the foreground colour F is estimated from solid foreground
//! nearby (a masked blur), and alpha is the projection of I - S on F - S,
//! which is exact when the estimate is right.
//!
//! Compositing removes the screen's share instead of guessing F: the
//! premultiplied foreground is I - (1 - a) S, which is exact for any a,
//! then its remaining spill (the screen channel exceeding the others:
//! light bounced off the screen) is pulled down.

use rayon::prelude::*;

use super::matte::{Cleanup, Matte, blur_cells, clean, lee_filter, optional_bands, refill};
use crate::error::{Error, Result};
use crate::frame::{FrameView, Row};
use crate::pixels::color::decode_row_planes;
use crate::pixels::color::linear_of_u8;

/// Which screen to key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScreenChoice {
    /// Green or blue, whichever the plate shows more of.
    Auto,
    /// A green screen.
    Green,
    /// A blue screen.
    Blue,
    /// This sRGB colour (0..1 per channel), as sampled by hand.
    Colour([f32; 3]),
}

/// The screen a plate was keyed against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Screen {
    /// Its colour in linear light.
    pub linear: [f32; 3],
    /// The dominant channel: 1 for green, 2 for blue (0 for red).
    pub channel: usize,
    /// Fraction of the plate's sampled pixels that look like the screen.
    pub coverage: f32,
    /// The screen's noise as sampled: the standard deviation of each
    /// channel, in 8-bit sRGB code values (0..255), measured on the
    /// difference of horizontally neighbouring screen pixels.
    pub noise: [f32; 3],
}

impl Screen {
    /// D(S): how far the screen channel exceeds the others.
    fn difference(&self) -> f32 {
        difference(self.linear, self.channel)
    }
}

/// Options of the keyer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyOptions {
    /// Which screen.
    pub screen: ScreenChoice,
    /// Raw key values at or below this become 0 (screen noise, uneven
    /// light). `None`: set from the key's noise as measured on the plate
    /// (the frame's, or the shot's in a [`ShotCompositor`]), never below
    /// [`CLIP_BLACK`].
    ///
    /// [`ShotCompositor`]: super::ShotCompositor
    pub clip_black: Option<f32>,
    /// Raw key values at or above this become 1 (solid foreground). `None`:
    /// set from the noise likewise, never above [`CLIP_WHITE`].
    pub clip_white: Option<f32>,
    /// Matte clean-up after keying.
    pub cleanup: Cleanup,
}

impl Default for KeyOptions {
    fn default() -> Self {
        KeyOptions { screen: ScreenChoice::Auto, clip_black: None, clip_white: None, cleanup: Cleanup::default() }
    }
}

/// The automatic clip black on a clean plate: the screen's uneven light
/// left after the local screen colour.
pub const CLIP_BLACK: f32 = 0.06;
/// The automatic clip white on a clean plate.
pub const CLIP_WHITE: f32 = 0.9;

/// The screen channel first, then the other two in RGB order: how every
/// pass reads a pixel against the screen (the key, the spill test on
/// bytes, the planes of a row).
#[inline]
pub(super) fn channel_order(channel: usize) -> [usize; 3] {
    match channel {
        0 => [0, 1, 2],
        1 => [1, 0, 2],
        _ => [2, 0, 1],
    }
}

/// How far the screen channel leads the larger of the other two.
#[inline]
fn difference(rgb: [f32; 3], channel: usize) -> f32 {
    let [lead, first, second] = channel_order(channel);
    rgb[lead] - rgb[first].max(rgb[second])
}

/// A row of a frame read pixel by pixel as linear RGB. The 8-bit table is
/// found once for the row and the deeper formats are read out of line:
/// found per pixel and inlined, they cost the loops that sample a plate
/// (the local screen, the edge refinement) half their time.
#[derive(Clone, Copy)]
pub(crate) struct LinearRow<'a> {
    row: Row<'a>,
    table: &'static [f32; 256],
}

impl<'a> LinearRow<'a> {
    #[inline]
    pub(crate) fn new(row: Row<'a>) -> LinearRow<'a> {
        LinearRow { row, table: linear_of_u8() }
    }

    /// Pixel `x`.
    #[inline]
    pub(crate) fn at(&self, x: usize) -> [f32; 3] {
        match self.row {
            Row::U8(r) => {
                [self.table[r[x * 4] as usize], self.table[r[x * 4 + 1] as usize], self.table[r[x * 4 + 2] as usize]]
            }
            _ => self.deep_at(x),
        }
    }

    #[inline(never)]
    fn deep_at(&self, x: usize) -> [f32; 3] {
        use crate::pixels::color::decode;
        match self.row {
            Row::U8(_) => self.at(x),
            Row::U16(r) => std::array::from_fn(|c| decode(r[x * 4 + c] as f32 / 65535.0)),
            Row::F32(r) => std::array::from_fn(|c| decode(r[x * 4 + c])),
        }
    }
}

/// A pixel belongs to the screen when its screen channel leads the others by
/// this factor (and it is not near black).
const DOMINANCE: f32 = 1.4;

/// Whether linear `p` looks like screen colour `s` (of length `s_norm`):
/// the same hue within a few degrees, lit between a third and twice as
/// bright. Screens are lit unevenly; foreground is another hue.
#[inline]
fn looks_like(p: [f32; 3], s: [f32; 3], s_norm: f32) -> bool {
    // Compared squared: no root or division per pixel.
    let (norm2, s_norm2) = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2], s_norm * s_norm);
    let dot = p[0] * s[0] + p[1] * s[1] + p[2] * s[2];
    dot > 0.0 && dot * dot > 0.985 * 0.985 * norm2 * s_norm2 && norm2 >= 0.09 * s_norm2 && norm2 < 4.0 * s_norm2
}

/// Linear RGB as `#RRGGBB` (sRGB), for messages.
fn hex(linear: [f32; 3]) -> String {
    let s = linear.map(|v| (crate::pixels::color::linear_to_srgb(v).clamp(0.0, 1.0) * 255.0).round() as u8);
    format!("#{:02X}{:02X}{:02X}", s[0], s[1], s[2])
}

/// Fraction of sampled pixels whose every channel is at least this (in
/// linear light) above which a plate without a screen is called overexposed.
const CLIPPED: f32 = 0.9;

/// Samples the plate (about 40,000 pixels) for the screen colour.
pub fn find_screen(plate: &FrameView<'_>, choice: ScreenChoice) -> Result<Screen> {
    let (w, h) = (plate.width() as usize, plate.height() as usize);
    let step = ((w * h / 40_000) as f64).sqrt().max(1.0) as usize;
    if let ScreenChoice::Colour(srgb) = choice {
        let linear = srgb.map(crate::pixels::color::srgb_to_linear);
        let channel = (0..3).max_by(|&a, &b| linear[a].total_cmp(&linear[b])).unwrap_or(1);
        let mut screen = Screen { linear, channel, coverage: 0.0, noise: [0.0; 3] };
        if screen.difference() <= 0.01 {
            return Err(Error::invalid_argument(format!(
                "screen colour {} has no dominant channel; pick a saturated green or blue",
                hex(linear)
            )));
        }
        // A colour given by hand must be in the plate, or every pixel keys
        // against a screen that is not there.
        let norm = (linear[0] * linear[0] + linear[1] * linear[1] + linear[2] * linear[2]).sqrt();
        let (mut alike, mut total) = (0usize, 0usize);
        for y in (0..h).step_by(step) {
            let row = LinearRow::new(plate.row(y as u32));
            for x in (0..w).step_by(step) {
                total += 1;
                alike += looks_like(row.at(x), linear, norm) as usize;
            }
        }
        screen.coverage = alike as f32 / total.max(1) as f32;
        if screen.coverage < 0.01 {
            let found = find_screen(plate, ScreenChoice::Auto)
                .map(|s| format!("; the plate's screen reads {}", hex(s.linear)))
                .unwrap_or_default();
            return Err(Error::invalid_argument(format!(
                "screen colour {} is in only {:.1}% of the plate's pixels{found}: give the colour of the \
                 plate's own screen, or let it be sampled",
                hex(linear),
                screen.coverage * 100.0
            )));
        }
        screen.noise = screen_noise(plate, linear, step);
        return Ok(screen);
    }
    let mut candidates: [Vec<[f32; 3]>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let (mut total, mut clipped) = (0usize, 0usize);
    for y in (0..h).step_by(step) {
        let row = LinearRow::new(plate.row(y as u32));
        for x in (0..w).step_by(step) {
            total += 1;
            let p = row.at(x);
            clipped += (p[0].min(p[1]).min(p[2]) >= CLIPPED) as usize;
            for ch in [1, 2] {
                let others = if ch == 1 { p[0].max(p[2]) } else { p[0].max(p[1]) };
                if p[ch] > 0.02 && p[ch] > DOMINANCE * others {
                    candidates[ch].push(p);
                }
            }
        }
    }
    let channel = match choice {
        ScreenChoice::Green => 1,
        ScreenChoice::Blue => 2,
        _ => {
            if candidates[1].len() >= candidates[2].len() {
                1
            } else {
                2
            }
        }
    };
    let pixels = &mut candidates[channel];
    let coverage = pixels.len() as f32 / total.max(1) as f32;
    let name = if channel == 1 { "green" } else { "blue" };
    if coverage < 0.01 {
        let clipped = clipped as f32 / total.max(1) as f32;
        if clipped > 0.3 {
            return Err(Error::invalid_argument(format!(
                "no {name} screen found: {:.0}% of the plate is clipped white, so the screen is overexposed \
                 and reads white, not {name}; light or expose the screen lower, or give a matte",
                clipped * 100.0
            )));
        }
        return Err(Error::invalid_argument(format!(
            "no {name} screen found: only {:.1}% of the plate's pixels are {name}; key the other screen \
             colour, give the screen's colour, or give a matte; with no screen at all, find the person \
             with the segmentation model (--key person)",
            coverage * 100.0
        )));
    }
    // The screen is the typical dominant pixel: the per-channel median.
    let median = |c: usize, pixels: &mut Vec<[f32; 3]>| {
        pixels.sort_by(|a, b| a[c].total_cmp(&b[c]));
        pixels[pixels.len() / 2][c]
    };
    let linear = [median(0, pixels), median(1, pixels), median(2, pixels)];
    Ok(Screen { linear, channel, coverage, noise: screen_noise(plate, linear, step) })
}

/// The median of `values`, and 1.4826 x their median absolute deviation:
/// the standard deviation of normal data, unmoved by a minority of
/// outliers (edges, details). `values` are left as their deviations from
/// the median. Zeros when there are none.
fn median_and_sigma(values: &mut [f32]) -> (f32, f32) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mid = values.len() / 2;
    let median = *values.select_nth_unstable_by(mid, f32::total_cmp).1;
    values.iter_mut().for_each(|v| *v = (*v - median).abs());
    (median, 1.4826 * *values.select_nth_unstable_by(mid, f32::total_cmp).1)
}

/// Per-channel noise of the screen in 8-bit sRGB code values, from the
/// differences of horizontally neighbouring pixels that both look like the
/// screen: light changes little over one pixel, noise does not.
fn screen_noise(plate: &FrameView<'_>, linear: [f32; 3], step: usize) -> [f32; 3] {
    use crate::pixels::color::linear_to_srgb;
    let (w, h) = (plate.width() as usize, plate.height() as usize);
    let norm = (linear[0] * linear[0] + linear[1] * linear[1] + linear[2] * linear[2]).sqrt();
    let mut diffs: [Vec<f32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for y in (0..h).step_by(step) {
        let row = LinearRow::new(plate.row(y as u32));
        for x in (0..w.saturating_sub(1)).step_by(step) {
            let (p, q) = (row.at(x), row.at(x + 1));
            if looks_like(p, linear, norm) && looks_like(q, linear, norm) {
                for c in 0..3 {
                    diffs[c].push(255.0 * (linear_to_srgb(p[c]) - linear_to_srgb(q[c])));
                }
            }
        }
    }
    diffs.map(|mut d| median_and_sigma(&mut d).1 / std::f32::consts::SQRT_2)
}

/// Keys `plate` against `screen`: the raw colour-difference matte, its
/// noise smoothed, clipped and cleaned up as `options` say.
pub fn key_with(plate: &FrameView<'_>, screen: &Screen, options: &KeyOptions) -> Result<Matte> {
    check_clips(options)?;
    let mut scratch = KeyScratch::default();
    let mut raw = raw_key(plate, screen, &mut scratch, |_| false)?;
    if raw.noise > SMOOTH_ABOVE {
        smooth_noise(&mut raw.values, raw.noise, &mut scratch);
    }
    finish_key(raw.values, raw.noise, options)
}

/// Refuses clip points given out of 0..1, or crossed.
pub(crate) fn check_clips(options: &KeyOptions) -> Result<()> {
    for (name, value) in [("clip black", options.clip_black), ("clip white", options.clip_white)] {
        if value.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            return Err(Error::invalid_argument(format!("{name} must be in 0..1, not {}", value.unwrap_or(0.0))));
        }
    }
    if let (Some(black), Some(white)) = (options.clip_black, options.clip_white)
        && white <= black
    {
        return Err(Error::invalid_argument(format!("clip white ({white}) must be above clip black ({black})")));
    }
    Ok(())
}

/// A frame's key before smoothing and clipping: the colour difference,
/// refined at edges, in RAW_MIN..RAW_MAX.
#[derive(Clone, Debug)]
pub(crate) struct RawKey {
    pub values: Matte,
    /// The key's noise on this frame (standard deviation on the screen).
    pub noise: f32,
}

/// Grids a frame's key works in, kept from frame to frame: allocating
/// them afresh for every frame costs more than filling them, because the
/// system hands back new pages (zeroed on first touch) for buffers this
/// size. Each compositor (and each copy of one) has its own.
#[derive(Default)]
pub(crate) struct KeyScratch {
    /// One plate sample per cell when it looks like the screen (RGB, 1).
    samples: Vec<[f32; 4]>,
    /// D of each sample's right-hand neighbour, when it too is screen.
    neighbours: Vec<f32>,
    /// The local screen colour per cell, and its D(S).
    local: Vec<[f32; 4]>,
    /// Its chromaticity, per cell (the chroma guard's reference).
    chroma: Vec<[f32; 3]>,
    /// Cells within [`GUARD_REACH`] cells of a screen sample: where edges
    /// (mixes of foreground and screen) can be.
    near_screen: Vec<bool>,
    /// Per screen sample: its key against the local screen, its step to
    /// the next pixel, its chromaticity's distance from the local screen's.
    measures: Vec<[f32; 3]>,
    /// Sums of solid foreground colour and counts per cell, then blurred.
    solid: Vec<[f32; 4]>,
    /// The blur's second buffer.
    blur: Vec<[f32; 4]>,
    /// Order statistics' working copies.
    values: [Vec<f32>; 3],
    /// Within-a-cell-row scratch for [`near_cells`].
    rows: Vec<bool>,
    /// The plain colour-difference key of the frame (before the edge
    /// projection and the chroma guard), when asked for: its noise is the
    /// screen's everywhere, so stillness is judged on it.
    pub(crate) plain: Vec<f32>,
    /// Window means of a frame's key, and the copy the Lee filter reads.
    pub(crate) mean: Vec<f32>,
    copy: Vec<f32>,
}

/// The raw key of `plate` against `screen`; when `keep_plain` holds for the
/// frame's key noise, the plain colour-difference key is left in
/// `scratch.plain` too (else that is emptied).
pub(crate) fn raw_key(
    plate: &FrameView<'_>,
    screen: &Screen,
    scratch: &mut KeyScratch,
    keep_plain: impl Fn(f32) -> bool,
) -> Result<RawKey> {
    let (w, h) = (plate.width(), plate.height());
    let mut matte = Matte::filled(w, h, 0.0)?;
    let channel = screen.channel;
    let (wu, hu) = (w as usize, h as usize);
    let (qw, qh) = (wu.div_ceil(ESTIMATE_SCALE), hu.div_ceil(ESTIMATE_SCALE));
    let measured = local_screen(plate, screen, scratch);
    let noise = measured.noise;
    let keep_plain = keep_plain(noise);
    // Foreground whose hue is near the screen's (a blue shirt on blue) has
    // a small colour difference and keys partly clear. Away from the
    // screen, where no edge can be, a chromaticity clearly off the local
    // screen's (beyond what the screen's own noise reaches) is foreground,
    // whatever its colour difference says.
    let guard_start = GUARD_NOISE * measured.chroma_noise + GUARD_MARGIN;
    let screen_sum = screen.linear.iter().sum::<f32>();
    // One pass over the plate: the raw colour-difference key (unclipped, so
    // that smoothing averages the screen's noise to zero), and the sums of
    // solid foreground colour (and counts) per cell of a coarse grid, each
    // band of ESTIMATE_SCALE rows filling its own grid row.
    let KeyScratch { local, chroma, near_screen, solid, blur, plain, .. } = scratch;
    let cells = refill(solid, qw * qh, [0.0f32; 4]);
    let (local, chroma, near_screen) = (&local[..], &chroma[..], &near_screen[..]);
    let plain = refill(plain, if keep_plain { wu * hu } else { 0 }, 0.0);
    let plain_bands = optional_bands(keep_plain.then_some(plain), wu * ESTIMATE_SCALE, qh);
    matte
        .values_mut()
        .par_chunks_mut(wu * ESTIMATE_SCALE)
        .zip(cells.par_chunks_mut(qw))
        .zip(plain_bands)
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; wu * 3], vec![0.0f32; wu]),
            |(planes, divisors), (qy, ((band, cell_row), mut plain_band))| {
                let screens = &local[qy * qw..(qy + 1) * qw];
                let near = &near_screen[qy * qw..(qy + 1) * qw];
                let chroma = &chroma[qy * qw..(qy + 1) * qw];
                // Each pixel's D(S), its cell's, so that the plain key below
                // is one flat loop over the row.
                for (d, screen) in divisors.chunks_mut(ESTIMATE_SCALE).zip(screens) {
                    d.fill(screen[3]);
                }
                for (dy, dst) in band.chunks_mut(wu).enumerate() {
                    let (red, rest) = planes.split_at_mut(wu);
                    let (green, blue) = rest.split_at_mut(wu);
                    decode_row_planes(&plate.row((qy * ESTIMATE_SCALE + dy) as u32), [red, green, blue]);
                    let (red, green, blue) = (&*red, &*green, &*blue);
                    // The plain key, branch-free over planes: it runs in
                    // vector lanes (interleaved pixels did not).
                    let [lead, first, second] = channel_order(channel).map(|c| [red, green, blue][c]);
                    let pixels = lead.iter().zip(first).zip(second).zip(&divisors[..]);
                    for (a, (((&lead, &first), &second), &d)) in dst.iter_mut().zip(pixels) {
                        *a = (1.0 - (lead - first.max(second)) / d).clamp(RAW_MIN, RAW_MAX);
                    }
                    if let Some(plain) = plain_band.as_mut() {
                        plain[dy * wu..(dy + 1) * wu].copy_from_slice(dst);
                    }
                    // Then the guard and the solid colour's sums, a cell at a
                    // time: its sums gather in registers (a pixel adding to
                    // memory its neighbour just added to would wait on it).
                    for (q, cell) in cell_row.iter_mut().enumerate() {
                        let span = q * ESTIMATE_SCALE..((q + 1) * ESTIMATE_SCALE).min(wu);
                        let (values, red, green, blue) =
                            (&mut dst[span.clone()], &red[span.clone()], &green[span.clone()], &blue[span]);
                        if !near[q] {
                            for (i, a) in values.iter_mut().enumerate() {
                                let rgb = [red[i], green[i], blue[i]];
                                if *a < 1.0 && rgb[0] + rgb[1] + rgb[2] >= GUARD_MIN_BRIGHTNESS * screen_sum {
                                    let off = chroma_distance(rgb, chroma[q]);
                                    *a = a.max(((off - guard_start) / GUARD_RAMP).clamp(0.0, 1.0));
                                }
                            }
                        }
                        // Branch-free: adding zero leaves a sum as it was.
                        let mut sum = *cell;
                        for (i, &a) in values.iter().enumerate() {
                            let solid = a >= SOLID;
                            sum[0] += if solid { red[i] } else { 0.0 };
                            sum[1] += if solid { green[i] } else { 0.0 };
                            sum[2] += if solid { blue[i] } else { 0.0 };
                            sum[3] += if solid { 1.0 } else { 0.0 };
                        }
                        *cell = sum;
                    }
                }
            },
        );
    // Values the screen's noise alone reaches are left to smoothing: to
    // project them would cost time and refine nothing. Edges are near the
    // screen; away from it the guard's values stand.
    if cells.iter().any(|c| c[3] > 0.0) {
        // Mean solid colour per cell, spread to neighbouring cells.
        blur_cells(cells, qw, qh, ESTIMATE_RADIUS, blur);
        refine_edges(plate, local, near_screen, &mut matte, cells, (2.0 * noise).max(0.02));
    }
    Ok(RawKey { values: matte, noise })
}

/// Clips a raw key (at the options' points, or above the noise of
/// standard deviation `noise` left after smoothing) and cleans it up.
pub(crate) fn finish_key(mut matte: Matte, noise: f32, options: &KeyOptions) -> Result<Matte> {
    let black = options.clip_black.unwrap_or(auto_clip_black(noise));
    let white = options
        .clip_white
        .unwrap_or((1.0 - NOISE_CLIP * noise_left(noise)).min(CLIP_WHITE))
        .max(black + MIN_CLIP_RANGE);
    let range = white - black;
    matte.values_mut().par_iter_mut().for_each(|a| *a = ((*a - black) / range).clamp(0.0, 1.0));
    clean(&mut matte, &options.cleanup);
    Ok(matte)
}

/// The noise left in a key of noise `noise` after smoothing.
fn noise_left(noise: f32) -> f32 {
    if noise > SMOOTH_ABOVE { noise * SMOOTHED_NOISE } else { noise }
}

/// The automatic clip black for a key of noise `noise`.
pub(crate) fn auto_clip_black(noise: f32) -> f32 {
    (NOISE_CLIP * noise_left(noise)).max(CLIP_BLACK)
}

/// A Lee filter on the raw key: each value moves towards the mean of its
/// 5 x 5 neighbourhood by the share of the local variance that noise of
/// standard deviation `noise` explains. On flat screen or foreground the
/// result is the mean (a fifth of the noise); across a real edge the
/// variance is far above the noise's and the value is kept. A linear ramp
/// (a motion-blurred edge) is its own mean, so it is kept either way.
/// Its buffers are `scratch`'s.
pub(crate) fn smooth_noise(matte: &mut Matte, noise: f32, scratch: &mut KeyScratch) {
    let (w, h) = (matte.width() as usize, matte.height() as usize);
    lee_filter(matte.values_mut(), w, h, FLAT_VARIANCE * noise * noise, &mut scratch.copy, &mut scratch.mean);
}

/// The raw key is kept in this range before clipping: wide enough that
/// noise around 0 (screen) and 1 (foreground) averages out unbiased.
pub(crate) const RAW_MIN: f32 = -0.5;
pub(crate) const RAW_MAX: f32 = 1.5;
/// Key noise (standard deviation) above which the raw key is smoothed;
/// below it, clip black alone is several times the noise.
pub(crate) const SMOOTH_ABOVE: f32 = 0.012;
/// Noise left after smoothing, as a fraction of the noise: a 5 x 5 mean
/// leaves a fifth of white noise, more of a codec's correlated noise.
const SMOOTHED_NOISE: f32 = 0.3;
/// Automatic clip points stand this many standard deviations of the noise
/// left from 0 and 1.
const NOISE_CLIP: f32 = 3.0;
/// Automatic clip white stays at least this far above clip black.
const MIN_CLIP_RANGE: f32 = 0.1;
/// Local variance up to this many times the noise's counts as flat.
const FLAT_VARIANCE: f32 = 2.0;

/// Raw key values at or above this count as solid foreground.
const SOLID: f32 = 0.98;
/// Downscale of the foreground-colour estimate (it only needs to be local).
const ESTIMATE_SCALE: usize = 4;
/// Reach of the estimate, in pixels of the downscaled grid (16 px full size).
const ESTIMATE_RADIUS: usize = 4;
/// How far off the screen-to-foreground line (as a fraction of its length)
/// an edge pixel may lie and still be refined by projection onto it.
const MIX_TOLERANCE: f32 = 0.25;

/// Cells (of ESTIMATE_SCALE px) within this many of a screen sample count
/// as near the screen: edges, where the chroma guard stays off and the
/// projection refines.
const GUARD_REACH: usize = 2;
/// The guard starts this many times the screen's chromaticity spread, plus
/// GUARD_MARGIN, from the local screen's chromaticity...
const GUARD_NOISE: f32 = 4.0;
const GUARD_MARGIN: f32 = 0.03;
/// ...and reaches solid foreground this much further.
const GUARD_RAMP: f32 = 0.15;
/// Pixels darker than this share of the screen's brightness are left to
/// the colour difference (their chromaticity is mostly noise, and the
/// colour difference already keys dark detail solid).
const GUARD_MIN_BRIGHTNESS: f32 = 0.2;

/// Reach of the local screen estimate, in cells (32 px full size).
const SCREEN_RADIUS: usize = 8;
/// Weight of the global screen colour where little screen is near (as a
/// fraction of a cell's neighbourhood): deep inside the subject.
const SCREEN_PRIOR: f32 = 0.05;

/// The screen colour around each cell of the coarse grid (RGB, and its
/// difference D(S) in the fourth place): real screens are lit unevenly, and
/// keying a dim corner against the screen's median colour would leave it
/// partly opaque. One sample per cell that looks like the screen (its
/// chromaticity within a few degrees of the screen's), averaged over the
/// neighbourhood and falling back to the global colour where no screen is.
/// Also returns the key's noise: the robust spread of 1 - D(p) / D(S) over
/// the sampled screen pixels, against their local screen colour.
fn local_screen(plate: &FrameView<'_>, screen: &Screen, scratch: &mut KeyScratch) -> LocalScreen {
    let (w, h) = (plate.width() as usize, plate.height() as usize);
    let (qw, qh) = (w.div_ceil(ESTIMATE_SCALE), h.div_ceil(ESTIMATE_SCALE));
    let s = screen.linear;
    let s_norm = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt().max(1e-6);
    let KeyScratch { samples, neighbours, local, chroma, near_screen, measures, blur, values, rows, .. } = scratch;
    refill(samples, qw * qh, [0.0f32; 4]);
    refill(neighbours, qw * qh, f32::NAN);
    samples.par_chunks_mut(qw).zip(neighbours.par_chunks_mut(qw)).enumerate().for_each(|(qy, (cells, next))| {
        let row = LinearRow::new(plate.row(((qy * ESTIMATE_SCALE + ESTIMATE_SCALE / 2).min(h - 1)) as u32));
        for (qx, (cell, next)) in cells.iter_mut().zip(next.iter_mut()).enumerate() {
            let x = (qx * ESTIMATE_SCALE + ESTIMATE_SCALE / 2).min(w - 1);
            let p = row.at(x);
            if looks_like(p, s, s_norm) {
                *cell = [p[0], p[1], p[2], 1.0];
                let q = row.at((x + 1).min(w - 1));
                if looks_like(q, s, s_norm) {
                    *next = difference(q, screen.channel);
                }
            }
        }
    });
    let global_difference = screen.difference();
    local.clone_from(samples);
    blur_cells(local, qw, qh, SCREEN_RADIUS, blur);
    refill(chroma, qw * qh, [0.0; 3]);
    local.par_iter_mut().zip(chroma.par_iter_mut()).for_each(|(cell, chroma)| {
        let n = cell[3] + SCREEN_PRIOR;
        let rgb: [f32; 3] = std::array::from_fn(|c| (cell[c] + SCREEN_PRIOR * s[c]) / n);
        // Never key against less than a third of the screen's own lead.
        let d = difference(rgb, screen.channel).max(global_difference / 3.0);
        *cell = [rgb[0], rgb[1], rgb[2], d];
        *chroma = chromaticity(rgb);
    });
    // Per screen sample: the key against the local screen, the step to the
    // next pixel (NaN when that is not screen), and how far its
    // chromaticity strays from the local screen's (all NaN off the screen).
    refill(measures, qw * qh, [f32::NAN; 3]);
    measures.par_iter_mut().zip(&*samples).zip(&*neighbours).zip(&*local).zip(&*chroma).for_each(
        |((((m, p), next), l), c)| {
            if p[3] > 0.0 {
                let rgb = [p[0], p[1], p[2]];
                let d = difference(rgb, screen.channel);
                *m = [1.0 - d / l[3], (d - next) / l[3], chroma_distance(rgb, *c)];
            }
        },
    );
    // Each measure's values gathered (their order is free: only order
    // statistics are taken) and its median and spread found, side by side.
    let [residuals, steps, strays] = values;
    let [(_, spread), (_, step), (stray, stray_spread)] = {
        let measures = &measures[..];
        let statistics = |k: usize, list: &mut Vec<f32>| {
            list.clear();
            list.extend(measures.iter().map(|m| m[k]).filter(|v| !v.is_nan()));
            median_and_sigma(list)
        };
        let ((spread, step), stray) =
            rayon::join(|| rayon::join(|| statistics(0, residuals), || statistics(1, steps)), || statistics(2, strays));
        [spread, step, stray]
    };
    // The spread against the local colour also holds what the light does
    // within a cell's reach; the step to the next pixel holds only noise
    // (less of a codec's, whose noise is smooth). A clean, smoothly lit
    // plate reads as clean; a noisy one by its spread. The screen's own
    // chromaticity strays from the local screen's by the guard's noise.
    let chroma_noise = stray + stray_spread;
    let noise = spread.min(2.0 * step / std::f32::consts::SQRT_2);
    near_cells(samples, qw, qh, GUARD_REACH, rows, near_screen);
    LocalScreen { noise, chroma_noise }
}

/// What [`local_screen`] measures of a frame's screen, besides the grids
/// it leaves in the scratch.
struct LocalScreen {
    /// The key's noise on the screen.
    noise: f32,
    /// A high-end spread of the screen's chromaticity about the local
    /// screen's (median plus a robust sigma of the distance).
    chroma_noise: f32,
}

/// Chromaticity: `rgb` over its sum.
#[inline]
fn chromaticity(rgb: [f32; 3]) -> [f32; 3] {
    let sum = (rgb[0] + rgb[1] + rgb[2]).max(1e-6);
    rgb.map(|v| v / sum)
}

#[inline]
fn chroma_distance(rgb: [f32; 3], reference: [f32; 3]) -> f32 {
    let c = chromaticity(rgb);
    ((c[0] - reference[0]).powi(2) + (c[1] - reference[1]).powi(2) + (c[2] - reference[2]).powi(2)).sqrt()
}

/// Whether each cell of a `qw` x `qh` grid is within `reach` cells of one
/// whose sample (fourth value) looks like the screen, into `near`.
fn near_cells(samples: &[[f32; 4]], qw: usize, qh: usize, reach: usize, rows: &mut Vec<bool>, near: &mut Vec<bool>) {
    refill(rows, qw * qh, false).par_chunks_mut(qw).enumerate().for_each(|(y, row)| {
        for (x, r) in row.iter_mut().enumerate() {
            *r = (x.saturating_sub(reach)..=(x + reach).min(qw - 1)).any(|xx| samples[y * qw + xx][3] > 0.0);
        }
    });
    let rows = &rows[..];
    refill(near, qw * qh, false).par_chunks_mut(qw).enumerate().for_each(|(y, row)| {
        for (x, n) in row.iter_mut().enumerate() {
            *n = (y.saturating_sub(reach)..=(y + reach).min(qh - 1)).any(|yy| rows[yy * qw + x]);
        }
    });
}

/// Replaces edge values (between `floor` and SOLID) by the projection of
/// I - S on F - S, with F the mean colour of solid foreground nearby (from
/// the grid `solid` of blurred colour sums and counts), in the cells
/// `near_screen`.
fn refine_edges(
    plate: &FrameView<'_>,
    local: &[[f32; 4]],
    near_screen: &[bool],
    matte: &mut Matte,
    solid: &[[f32; 4]],
    floor: f32,
) {
    let w = plate.width() as usize;
    let qw = w.div_ceil(ESTIMATE_SCALE);
    matte.values_mut().par_chunks_mut(w).enumerate().for_each(|(y, dst)| {
        let row = LinearRow::new(plate.row(y as u32));
        let cells = (y / ESTIMATE_SCALE) * qw..;
        for ((k, values), q) in dst.chunks_mut(ESTIMATE_SCALE).enumerate().zip(cells) {
            if !values.iter().any(|&a| a > floor && a < SOLID) {
                continue; // no edge value in this cell's pixels
            }
            if !near_screen[q] {
                continue; // no screen near: no edge to refine
            }
            let n = solid[q][3];
            if n < 1e-3 {
                continue; // no solid foreground near: keep the colour difference
            }
            let s = &local[q];
            let f: [f32; 3] = std::array::from_fn(|c| solid[q][c] / n);
            let e: [f32; 3] = std::array::from_fn(|c| f[c] - s[c]);
            let ee = e[0] * e[0] + e[1] * e[1] + e[2] * e[2];
            if ee < 1e-4 {
                continue; // foreground the colour of the screen: nothing to project on
            }
            for (i, a) in values.iter_mut().enumerate() {
                if *a <= floor || *a >= SOLID {
                    continue;
                }
                let p = row.at(k * ESTIMATE_SCALE + i);
                let d: [f32; 3] = std::array::from_fn(|c| p[c] - s[c]);
                let t = (d[0] * e[0] + d[1] * e[1] + d[2] * e[2]) / ee;
                // Trust the projection only for a pixel that is a mix of the
                // two: one far off the line from S to F (a dark or
                // differently coloured detail) keeps its colour-difference
                // value.
                let off: f32 = (0..3).map(|c| (d[c] - t * e[c]).powi(2)).sum();
                if off <= MIX_TOLERANCE * MIX_TOLERANCE * ee {
                    *a = t.clamp(RAW_MIN, RAW_MAX);
                }
            }
        }
    });
}

/// Finds the screen and keys the plate against it.
pub fn key(plate: &FrameView<'_>, options: &KeyOptions) -> Result<(Matte, Screen)> {
    let screen = find_screen(plate, options.screen)?;
    Ok((key_with(plate, &screen, options)?, screen))
}

/// The plate pixel's foreground share, premultiplied, in linear light: the
/// screen's share `(1 - alpha) S` removed, then spill pulled down by
/// `spill` (0: untouched, 1: the screen channel never exceeds the others).
#[inline]
pub(crate) fn foreground(pixel: [f32; 3], alpha: f32, screen: Option<&Screen>, spill: f32) -> [f32; 3] {
    // Where the matte holds no foreground, what the plate has beyond the
    // screen colour is the screen's own noise and uneven light: none of it
    // belongs over the background.
    if alpha <= 0.0 {
        return [0.0; 3];
    }
    let Some(screen) = screen else {
        return pixel.map(|v| v * alpha);
    };
    let mut f: [f32; 3] = std::array::from_fn(|c| (pixel[c] - (1.0 - alpha) * screen.linear[c]).max(0.0));
    let excess = difference(f, screen.channel);
    if excess > 0.0 {
        f[screen.channel] -= spill * excess;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};

    /// A grey-and-skin foreground disc over a green screen, mixed at soft edges.
    fn plate(w: u32, h: u32) -> (Frame, Vec<f32>) {
        noisy_plate(w, h, 0.0, 0)
    }

    /// The same with sensor noise of standard deviation `sigma` (sRGB, per
    /// channel), different for each `frame`.
    fn noisy_plate(w: u32, h: u32, sigma: f32, seed: u64) -> (Frame, Vec<f32>) {
        use crate::composite::background::grain_noise;
        let screen = [0.1f32, 0.7, 0.15];
        let fg = [0.8f32, 0.55, 0.45];
        let mut truth = vec![0.0; (w * h) as usize];
        let mut frame = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = frame.view_mut();
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let d = ((x as f32 - w as f32 / 2.0).powi(2) + (y as f32 - h as f32 / 2.0).powi(2)).sqrt();
                    let a = (1.0 - (d - 20.0) / 4.0).clamp(0.0, 1.0);
                    truth[(y * w + x) as usize] = a;
                    let lin: [f32; 3] = std::array::from_fn(|c| {
                        a * crate::pixels::color::srgb_to_linear(fg[c])
                            + (1.0 - a) * crate::pixels::color::srgb_to_linear(screen[c])
                    });
                    let s = lin.map(crate::pixels::color::linear_to_srgb);
                    let i = ((y * w + x) * 3) as u64;
                    let n = |c: u64| sigma * grain_noise(i + c, seed);
                    [s[0] + n(0), s[1] + n(1), s[2] + n(2), 1.0]
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        (frame, truth)
    }

    #[test]
    fn sensor_noise_is_measured_and_never_opens_the_matte() {
        let sigma = 12.0 / 255.0;
        let (frame, truth) = noisy_plate(160, 120, sigma, 3);
        let (matte, screen) = key(&frame.view(), &KeyOptions::default()).unwrap();
        // The noise is found on the screen, per channel, in code values
        // (the red channel sits near black, where 8-bit clipping halves it).
        assert!((screen.noise[1] - 12.0).abs() < 2.0, "green noise {:?}", screen.noise);
        assert!((screen.noise[2] - 12.0).abs() < 2.5, "blue noise {:?}", screen.noise);
        let open = |m: &Matte| {
            m.values().iter().zip(&truth).filter(|&(a, t)| *t == 0.0 && *a > 0.05).count() as f32
                / truth.iter().filter(|&&t| t == 0.0).count() as f32
        };
        let error =
            |m: &Matte| m.values().iter().zip(&truth).map(|(a, t)| (a - t).abs()).sum::<f32>() / truth.len() as f32;
        // The keyer before noise was measured (clip black 0.06 on the
        // unsmoothed key) opened 5% of this screen, mean error 0.013.
        assert!(open(&matte) < 0.002, "noise opened {:.4} of the screen", open(&matte));
        assert!(error(&matte) < 0.01, "mean absolute matte error {}", error(&matte));
        // The solid foreground stays solid and the soft edge soft.
        let (cx, cy) = (80u32, 60u32);
        assert!(matte.at(cx, cy) > 0.98, "centre {}", matte.at(cx, cy));
        let edge = matte.values().iter().zip(&truth).filter(|&(a, t)| *t > 0.3 && *t < 0.7 && *a > 0.1 && *a < 0.9);
        let soft = truth.iter().filter(|&&t| t > 0.3 && t < 0.7).count();
        assert!(edge.count() * 2 > soft, "the soft edge became a hard cut");
    }

    #[test]
    fn a_clean_plate_keeps_the_clean_clip_points() {
        // No noise: automatic clipping is the fixed clipping, value for value.
        let (frame, _) = plate(96, 64);
        let screen = find_screen(&frame.view(), ScreenChoice::Auto).unwrap();
        assert!(screen.noise.iter().all(|&n| n < 1.0), "{:?}", screen.noise);
        let auto = key_with(&frame.view(), &screen, &KeyOptions::default()).unwrap();
        let fixed = KeyOptions { clip_black: Some(CLIP_BLACK), clip_white: Some(CLIP_WHITE), ..Default::default() };
        assert_eq!(auto, key_with(&frame.view(), &screen, &fixed).unwrap());
    }

    /// A green screen lit from the right (the left edge at 55% of the
    /// light, across 512 pixels) with a dark and an orange patch on it.
    fn unevenly_lit_plate() -> Frame {
        let (w, h) = (512u32, 64u32);
        let screen = [0.0f32, 0.43, 0.05];
        let mut frame = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = frame.view_mut();
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let light = 0.55 + 0.45 * x as f32 / w as f32;
                    let mut lin = screen.map(|c| c * light);
                    if (20..40).contains(&y) {
                        if (224..240).contains(&x) {
                            lin = [0.01, 0.03, 0.01]; // near-black costume with a little spill
                        } else if (240..256).contains(&x) {
                            lin = [0.6, 0.15, 0.05]; // orange
                        }
                    }
                    let s = lin.map(crate::pixels::color::linear_to_srgb);
                    [s[0], s[1], s[2], 1.0]
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        frame
    }

    #[test]
    fn a_dim_screen_corner_stays_clear_and_dark_details_stay_solid() {
        let plate = unevenly_lit_plate();
        let (matte, screen) = key(&plate.view(), &KeyOptions::default()).unwrap();
        assert_eq!(screen.channel, 1);
        // The dimmest screen, far from the median colour, is still background.
        for y in [2, 30, 60] {
            assert!(matte.at(1, y) < 0.02, "dim screen at (1,{y}): {}", matte.at(1, y));
            assert!(matte.at(510, y) < 0.02, "bright screen at (510,{y}): {}", matte.at(510, y));
        }
        // A dark detail next to an orange one is not projected onto orange-minus-screen.
        assert!(matte.at(228, 30) > 0.98, "dark costume: {}", matte.at(228, 30));
        assert!(matte.at(250, 30) > 0.98, "orange: {}", matte.at(250, 30));
    }

    #[test]
    fn finds_the_screen_and_recovers_the_matte() {
        let (frame, truth) = plate(96, 64);
        let options = KeyOptions { clip_black: Some(0.0), clip_white: Some(1.0), ..Default::default() };
        let (matte, screen) = key(&frame.view(), &options).unwrap();
        assert_eq!(screen.channel, 1);
        assert!(screen.coverage > 0.5, "{}", screen.coverage);
        let sad: f32 = matte.values().iter().zip(&truth).map(|(a, b)| (a - b).abs()).sum();
        assert!(sad / truth.len() as f32 <= 0.01, "mean absolute matte error {}", sad / truth.len() as f32);
    }

    #[test]
    fn foreground_removes_the_screen_share_exactly() {
        let screen = Screen { linear: [0.01, 0.45, 0.02], channel: 1, coverage: 1.0, noise: [0.0; 3] };
        let f = [0.3, 0.2, 0.1];
        let a = 0.4;
        let mixed: [f32; 3] = std::array::from_fn(|c| a * f[c] + (1.0 - a) * screen.linear[c]);
        let got = foreground(mixed, a, Some(&screen), 1.0);
        for c in 0..3 {
            assert!((got[c] - a * f[c]).abs() < 1e-6, "{got:?}");
        }
        // Green spill on an opaque pixel is pulled down to the larger other channel.
        let spilled = foreground([0.3, 0.5, 0.1], 1.0, Some(&screen), 1.0);
        assert_eq!(spilled, [0.3, 0.3, 0.1]);
    }

    /// A grey disc on a blue screen, soft at its rim, with a purple-blue
    /// badge inside (a hue near the screen's: its colour difference alone
    /// keys it 0.6) and a hole through which the screen shows.
    fn badge_plate(sigma: f32) -> (Frame, Vec<f32>, [usize; 2]) {
        use crate::composite::background::grain_noise;
        let (w, h) = (200u32, 160u32);
        let (screen, grey, badge) = ([0.0f32, 0.28, 0.73], [0.6f32, 0.6, 0.6], [0.45f32, 0.38, 0.65]);
        let lin = |c: [f32; 3]| c.map(crate::pixels::color::srgb_to_linear);
        let (screen, grey, badge) = (lin(screen), lin(grey), lin(badge));
        let mut truth = vec![0.0; (w * h) as usize];
        let mut frame = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = frame.view_mut();
        let (badge_at, hole_at) = ([100usize, 60usize], [100usize, 110usize]);
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let from =
                        |p: [usize; 2]| ((x as f32 - p[0] as f32).powi(2) + (y as f32 - p[1] as f32).powi(2)).sqrt();
                    let rim = (1.0 - (from([100, 80]) - 60.0) / 4.0).clamp(0.0, 1.0);
                    let a = if from(hole_at) < 8.0 { 0.0 } else { rim };
                    truth[(y * w + x) as usize] = a;
                    let fg = if from(badge_at) < 16.0 { badge } else { grey };
                    let mix: [f32; 3] = std::array::from_fn(|c| a * fg[c] + (1.0 - a) * screen[c]);
                    let i = ((y * w + x) * 3) as u64;
                    let s = mix.map(crate::pixels::color::linear_to_srgb);
                    let n = |c: u64| sigma * grain_noise(i + c, 5);
                    [s[0] + n(0), s[1] + n(1), s[2] + n(2), 1.0]
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        (frame, truth, [badge_at[1] * w as usize + badge_at[0], hole_at[1] * w as usize + hole_at[0]])
    }

    /// Foreground of a hue near the screen's keys solid away from the
    /// screen; a hole shows the screen; the rim stays soft.
    #[test]
    fn foreground_near_the_screen_hue_stays_solid_away_from_the_screen() {
        for sigma in [0.0, 4.0 / 255.0, 8.0 / 255.0] {
            let (frame, truth, [badge, hole]) = badge_plate(sigma);
            let screen = find_screen(&frame.view(), ScreenChoice::Auto).unwrap();
            let d = |c: [f32; 3]| difference(c.map(crate::pixels::color::srgb_to_linear), 2);
            let alone = 1.0 - d([0.45, 0.38, 0.65]) / screen.difference();
            assert!(alone < 0.75, "the colour difference alone keys the badge {alone}");
            let (matte, _) = key(&frame.view(), &KeyOptions::default()).unwrap();
            let a = matte.values();
            let w = 200;
            let around = |at: usize| -> f32 {
                let (x, y) = (at % w, at / w);
                (y - 3..=y + 3).flat_map(|yy| (x - 3..=x + 3).map(move |xx| yy * w + xx)).map(|i| a[i]).sum::<f32>()
                    / 49.0
            };
            let (badge_mean, hole_mean) = (around(badge), around(hole));
            assert!(badge_mean > 0.97, "sigma {sigma}: the badge keys {badge_mean}");
            assert!(hole_mean < 0.03, "sigma {sigma}: the hole keys {hole_mean}");
            let rim: Vec<usize> = (0..a.len()).filter(|&i| truth[i] > 0.1 && truth[i] < 0.9).collect();
            let rim_error = rim.iter().map(|&i| (a[i] - truth[i]).abs()).sum::<f32>() / rim.len() as f32;
            assert!(rim_error < 0.12, "sigma {sigma}: the rim is off by {rim_error} on average");
        }
    }

    #[test]
    fn a_plate_without_a_screen_is_an_error() {
        let mut grey = Frame::new(32, 32, PixelFormat::Rgba8).unwrap();
        grey.view_mut().fill([0.5, 0.5, 0.5, 1.0]);
        let err = key(&grey.view(), &KeyOptions::default()).unwrap_err();
        assert!(err.to_string().contains("no green screen found"), "{err}");
        assert!(err.to_string().contains("give a matte"), "{err}");
        let err = find_screen(&grey.view(), ScreenChoice::Colour([0.5, 0.5, 0.5])).unwrap_err();
        assert!(err.to_string().contains("#808080 has no dominant channel"), "{err}");
        let bad = KeyOptions { clip_black: Some(0.8), clip_white: Some(0.2), ..Default::default() };
        let (frame, _) = plate(96, 64);
        let screen = find_screen(&frame.view(), ScreenChoice::Green).unwrap();
        assert!(key_with(&frame.view(), &screen, &bad).is_err());
    }

    #[test]
    fn a_screen_colour_the_plate_lacks_is_refused_and_the_plate_s_own_named() {
        let (frame, _) = plate(96, 64);
        // A blue given for a green-screen plate.
        let err = find_screen(&frame.view(), ScreenChoice::Colour([0.0, 0.28, 0.73])).unwrap_err();
        let sampled = find_screen(&frame.view(), ScreenChoice::Auto).unwrap();
        let text = err.to_string();
        assert!(text.contains("#0047BA is in only 0.0% of the plate's pixels"), "{text}");
        assert!(text.contains(&format!("the plate's screen reads {}", hex(sampled.linear))), "{text}");
        // The plate's own colour, given by hand, is found in it.
        let own = sampled.linear.map(crate::pixels::color::linear_to_srgb);
        let given = find_screen(&frame.view(), ScreenChoice::Colour(own)).unwrap();
        assert!(given.coverage > 0.5, "{}", given.coverage);
    }

    #[test]
    fn an_overexposed_screen_is_named_as_such() {
        // Mostly white (a screen blown out), with a grey subject.
        let mut frame = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        let mut view = frame.view_mut();
        for y in 0..48 {
            let row: Vec<f32> = (0..64)
                .flat_map(|x| if (20..40).contains(&x) { [0.4, 0.4, 0.4, 1.0] } else { [1.0, 0.99, 1.0, 1.0] })
                .collect();
            view.write_row_f32(y, &row);
        }
        let err = find_screen(&frame.view(), ScreenChoice::Auto).unwrap_err().to_string();
        assert!(err.contains("clipped white") && err.contains("overexposed"), "{err}");
    }
}
