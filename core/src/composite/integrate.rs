//! Putting a background behind a keyed plate: fit it to the plate, match
//! its colour and softness to the plate, add the plate's grain, composite
//! in linear light, and let the background's light wrap round the actor.

use serde::{Deserialize, Serialize};

use super::background::{Prepared, Wrap, light_wrap_source, prepare_background};
use super::key::{LinearRow, Screen, channel_order, foreground};
use super::matte::Matte;
use super::measure::{ColourTransfer, auto_defocus, colour_stats, noise_sigma};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, FrameViewMut, PixelFormat, Row, RowMut};
use crate::pixels::color::{decode_row, encode, encode_row};
use crate::pixels::{Fit, fit_background};

/// How the background's sharpness is matched to the plate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Defocus {
    /// Leave the background as sharp as it is.
    #[default]
    Off,
    /// Blur the background until its edge sharpness matches the plate's
    /// (measured once per shot).
    Auto,
    /// Blur by this radius, in pixels.
    Radius(f32),
}

/// Options of the composite, all strengths in 0..1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompositeOptions {
    /// How much spill to pull out of the foreground.
    pub spill: f32,
    /// How far to move the background's colour statistics towards the plate's.
    pub match_colour: f32,
    /// Strength of the background's light wrapping round the foreground edge.
    pub light_wrap: f32,
    /// Reach of the light wrap, in pixels.
    pub light_wrap_radius: f32,
    /// Softness match of the background.
    pub defocus: Defocus,
    /// Add the plate's grain to the background (0: off, 1: match it).
    pub grain: f32,
    /// Fitting policy for backgrounds of another size.
    pub fit: Fit,
}

impl Default for CompositeOptions {
    fn default() -> Self {
        CompositeOptions {
            spill: 0.8,
            match_colour: 0.0,
            light_wrap: 0.0,
            light_wrap_radius: 12.0,
            defocus: Defocus::Off,
            grain: 0.0,
            fit: Fit::Cover,
        }
    }
}

impl CompositeOptions {
    pub(crate) fn check(&self) -> Result<()> {
        for (name, v) in [
            ("spill", self.spill),
            ("match colour", self.match_colour),
            ("light wrap", self.light_wrap),
            ("grain", self.grain),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid_argument(format!("{name} {v} must be between 0 and 1")));
            }
        }
        if !(0.0..=256.0).contains(&self.light_wrap_radius) {
            return Err(Error::invalid_argument(format!(
                "light wrap radius {} must be 0 to 256 pixels",
                self.light_wrap_radius
            )));
        }
        if let Defocus::Radius(r) = self.defocus
            && !(0.0..=256.0).contains(&r)
        {
            return Err(Error::invalid_argument(format!("defocus radius {r} must be 0 to 256 pixels")));
        }
        Ok(())
    }
}

/// Per-shot state of a composite: what is measured once (screen, colour
/// transfer, defocus radius, grain) and reused on every frame, so nothing
/// flickers from frame to frame. Cloning a compositor that has seen a
/// shot's first frame gives hosts that render frames out of order (OFX) the
/// same measurements for every frame.
#[derive(Clone, Debug)]
pub struct Compositor {
    options: CompositeOptions,
    transfer: Option<ColourTransfer>,
    defocus_radius: Option<f32>,
    grain_sigma: Option<f32>,
    frame_index: u64,
    /// The background last prepared (linear light, colour matched,
    /// defocused, grained), its buffer refilled when the background moves.
    prepared: Prepared,
    /// A copy of the frame `prepared` was made from, when it can be used
    /// again (no grain): a still background is prepared once, not per frame.
    prepared_from: Option<Frame>,
    /// The light wrap's buffers, refilled every frame.
    wrap: Wrap,
}

impl Compositor {
    /// A compositor with `options`.
    pub fn new(options: CompositeOptions) -> Result<Compositor> {
        options.check()?;
        Ok(Compositor {
            options,
            transfer: None,
            defocus_radius: None,
            grain_sigma: None,
            frame_index: 0,
            prepared: Prepared::default(),
            prepared_from: None,
            wrap: Wrap::default(),
        })
    }

    /// The options in use.
    pub fn options(&self) -> &CompositeOptions {
        &self.options
    }

    /// Makes the next call render frame `index` of the shot (the grain's
    /// pattern follows the frame number), for hosts that render out of order.
    pub fn set_frame_index(&mut self, index: u64) {
        self.frame_index = index;
    }

    /// Composites `plate` (its foreground given by `matte`; `screen` when it
    /// was keyed against one, so the screen's share is removed exactly) over
    /// `background` into `out`. The background is fitted to the plate if its
    /// size differs. Output alpha is the foreground's plus the background's
    /// coverage of the rest.
    pub fn composite(
        &mut self,
        plate: &FrameView<'_>,
        matte: &Matte,
        screen: Option<&Screen>,
        background: &FrameView<'_>,
        out: &mut FrameViewMut<'_>,
    ) -> Result<()> {
        let (w, h) = (plate.width(), plate.height());
        if (matte.width(), matte.height()) != (w, h) || (out.width(), out.height()) != (w, h) {
            return Err(Error::invalid_argument(format!(
                "the plate is {w}x{h} but the matte is {}x{} and the output {}x{}",
                matte.width(),
                matte.height(),
                out.width(),
                out.height()
            )));
        }
        let fitted;
        let background = if (background.width(), background.height()) != (w, h) {
            fitted = fit_background(background, w, h, self.options.fit)?;
            fitted.view()
        } else {
            *background
        };
        let o = self.options;
        let screened_weights = screen.map(|_| matte);
        if o.match_colour > 0.0 && self.transfer.is_none() {
            let from = colour_stats(&background, None);
            let to = colour_stats(plate, screened_weights);
            self.transfer = Some(ColourTransfer::new(&from, &to, o.match_colour));
        }
        if self.defocus_radius.is_none() {
            self.defocus_radius = Some(match o.defocus {
                Defocus::Off => 0.0,
                Defocus::Radius(r) => r,
                Defocus::Auto => auto_defocus(plate, screened_weights, &background)?,
            });
        }
        if o.grain > 0.0 && self.grain_sigma.is_none() {
            let plate_noise = noise_sigma(plate, screened_weights);
            let bg_noise = noise_sigma(&background, None);
            self.grain_sigma = Some(o.grain * (plate_noise * plate_noise - bg_noise * bg_noise).max(0.0).sqrt());
        }
        let radius = self.defocus_radius.unwrap_or(0.0);
        let grain = self.grain_sigma.unwrap_or(0.0);
        // Plain backgrounds are decoded row by row inside the loop below;
        // only colour transfer, defocus, grain or light wrap need the whole
        // background in linear light first.
        let needs_preparing = self.transfer.is_some() || radius >= 0.5 || grain > 0.0 || o.light_wrap > 0.0;
        // Grain differs per frame, so only grain-free preparations are reused.
        let reusable = grain <= 0.0;
        // 8-bit plates into 8-bit outputs copy bytes wherever one source
        // shows alone, the prepared background's too.
        let with_bytes = plate.format() == PixelFormat::Rgba8 && out.format() == PixelFormat::Rgba8;
        let cached = self.prepared_from.as_ref().is_some_and(|f| f.view().same_pixels(&background))
            && (!with_bytes || !self.prepared.bytes.is_empty());
        if needs_preparing && !cached {
            // Until it is filled, `prepared` is from no frame.
            let mut from = self.prepared_from.take();
            let (transfer, index) = (self.transfer.as_ref(), self.frame_index);
            prepare_background(&background, transfer, radius, grain, index, with_bytes, &mut self.prepared)?;
            if reusable {
                match from.as_mut() {
                    Some(frame) => frame.copy_from(&background)?,
                    None => from = Some(background.to_frame()?),
                }
                self.prepared_from = from;
            }
        }
        let prepared = needs_preparing.then_some(&self.prepared);
        let wrap = match prepared {
            Some(prepared) if o.light_wrap > 0.0 => {
                light_wrap_source(prepared, matte, o.light_wrap_radius, &mut self.wrap);
                Some(&self.wrap)
            }
            _ => None,
        };
        let wu = w as usize;
        let lw = o.light_wrap;
        out.par_rows_mut_init(
            || vec![0.0f32; wu * 12],
            |buffer, y, dst| {
                let yu = y as usize;
                let alphas = &matte.values()[yu * wu..(yu + 1) * wu];
                let row = yu * wu * 4..(yu + 1) * wu * 4;
                let dst = match (plate.row(y), prepared, background.row(y), dst) {
                    (Row::U8(p), None, Row::U8(b), RowMut::U8(d)) => {
                        let bg = RowBackground { bytes: b, linear: None, wrap: None };
                        composite_row_u8(p, alphas, &bg, screen, o.spill, d);
                        return;
                    }
                    (Row::U8(p), Some(prepared), _, RowMut::U8(d)) if !prepared.bytes.is_empty() => {
                        let (bytes, linear) = (&prepared.bytes[row.clone()], &prepared.pixels[row]);
                        let bg = RowBackground { bytes, linear: Some(linear), wrap: wrap.map(|w| (w, yu, lw)) };
                        composite_row_u8(p, alphas, &bg, screen, o.spill, d);
                        return;
                    }
                    (_, _, _, dst) => dst,
                };
                // The plate, the background (when decoded here) and the output
                // line, all linear RGBA.
                let (plate_line, rest) = buffer.split_at_mut(wu * 4);
                let (bg_line, line) = rest.split_at_mut(wu * 4);
                decode_row(&plate.row(y), plate_line);
                let bg: &[f32] = match prepared {
                    Some(p) => &p.pixels[row],
                    None => {
                        decode_row(&background.row(y), bg_line);
                        bg_line
                    }
                };
                let pixels = line.as_chunks_mut::<4>().0.iter_mut().zip(plate_line.as_chunks::<4>().0);
                for (x, ((out_px, px), (b, &a))) in pixels.zip(bg.as_chunks::<4>().0.iter().zip(alphas)).enumerate() {
                    let fg = foreground([px[0], px[1], px[2]], a, screen, o.spill);
                    *out_px = over(fg, a, b, wrap.map(|wrap| (wrap.sample(x, yu), lw)));
                }
                encode_row(line, dst);
            },
        );
        self.frame_index += 1;
        Ok(())
    }
}

/// The foreground `fg` (linear, the screen's share removed) over the
/// background pixel `bg` by alpha `a`, with the wrapped light `glow`
/// screened onto the edge by `strength` when given.
#[inline]
fn over(fg: [f32; 3], a: f32, bg: &[f32; 4], glow: Option<([f32; 3], f32)>) -> [f32; 4] {
    let mut out =
        [fg[0] + (1.0 - a) * bg[0], fg[1] + (1.0 - a) * bg[1], fg[2] + (1.0 - a) * bg[2], a + (1.0 - a) * bg[3]];
    if let Some((glow, strength)) = glow {
        for c in 0..3 {
            let add = strength * a * (1.0 - a * a) * glow[c];
            out[c] = 1.0 - (1.0 - out[c]) * (1.0 - add);
        }
    }
    out
}

/// The background of one row for [`composite_row_u8`]: its 8-bit bytes,
/// and when it was prepared, its linear values (finer than the bytes) and
/// the light wrap (the wrap, the row, its strength).
struct RowBackground<'a> {
    bytes: &'a [u8],
    linear: Option<&'a [f32]>,
    wrap: Option<(&'a Wrap, usize, f32)>,
}

/// The composite of one 8-bit row over a background with 8-bit bytes. Most
/// pixels are pure background (alpha 0) or solid foreground without spill
/// (alpha 1), and for those the result is exactly the source bytes (the
/// light wrap adds nothing at either), so only edge and spill pixels go
/// through linear light.
fn composite_row_u8(
    plate: &[u8],
    alphas: &[f32],
    bg: &RowBackground<'_>,
    screen: Option<&Screen>,
    spill: f32,
    out: &mut [u8],
) {
    // Whether a solid pixel has spill to pull down: its screen channel
    // leads the others (read from the pixel's bytes as one word, so that
    // the first loop below runs branch-free in vector lanes).
    let (check, [lead, first, second]) = match screen {
        Some(screen) if spill > 0.0 => (true, channel_order(screen.channel).map(|c| 8 * c as u32)),
        _ => (false, [0, 8, 16]),
    };
    // Bitwise, not short-circuit: no branches in the vector loop.
    let spilled = |p: u32| check & ((p >> lead) & 0xff > ((p >> first) & 0xff).max((p >> second) & 0xff));
    let copied = |a: f32, p: u32| (a <= 0.0) | ((a >= 1.0) & !spilled(p));
    // In runs of pixels: first every pixel whose result is one source's
    // bytes (pure background, solid foreground without spill: most of a
    // frame) in vector lanes, then the rest of the run (edges, spill)
    // through linear light, when it has any.
    const RUN: usize = 16;
    let lut = crate::pixels::color::linear_of_u8();
    let (plate, bytes) = (plate.as_chunks::<4>().0, bg.bytes.as_chunks::<4>().0);
    let out = out.as_chunks_mut::<4>().0;
    let runs = out.chunks_mut(RUN).zip(plate.chunks(RUN)).zip(bytes.chunks(RUN)).zip(alphas.chunks(RUN));
    for (run, (((out, plate), bytes), alphas)) in runs.enumerate() {
        let mut rest = false;
        for (((o, p), b), &a) in out.iter_mut().zip(plate).zip(bytes).zip(alphas) {
            let (p, b) = (u32::from_le_bytes(*p), u32::from_le_bytes(*b));
            let copy = copied(a, p);
            rest |= !copy;
            let word = if a <= 0.0 { b } else { p | 0xff00_0000 };
            *o = (if copy { word } else { 0 }).to_le_bytes();
        }
        if !rest {
            continue;
        }
        for (i, (((d, p), b), &a)) in out.iter_mut().zip(plate).zip(bytes).zip(alphas).enumerate() {
            if copied(a, u32::from_le_bytes(*p)) {
                continue;
            }
            let x = run * RUN + i;
            let fg = foreground([lut[p[0] as usize], lut[p[1] as usize], lut[p[2] as usize]], a, screen, spill);
            let linear = match bg.linear {
                Some(linear) => linear.as_chunks::<4>().0[x],
                None => [lut[b[0] as usize], lut[b[1] as usize], lut[b[2] as usize], b[3] as f32 * (1.0 / 255.0)],
            };
            let glow = bg.wrap.map(|(wrap, y, strength)| (wrap.sample(x, y), strength));
            encode_row(&over(fg, a, &linear, glow), RowMut::U8(d));
        }
    }
}

/// Writes the keyed foreground into `out`: the plate with the screen's share
/// removed and spill pulled down, unpremultiplied, alpha = matte (what a
/// keyer node outputs for compositing elsewhere).
pub(crate) fn keyed_foreground(
    plate: &FrameView<'_>,
    matte: &Matte,
    screen: Option<&Screen>,
    spill: f32,
    out: &mut FrameViewMut<'_>,
) -> Result<()> {
    let (w, h) = (plate.width(), plate.height());
    if (matte.width(), matte.height()) != (w, h) || (out.width(), out.height()) != (w, h) {
        return Err(Error::invalid_argument(format!("plate, matte and output must all be {w}x{h}")));
    }
    let wu = w as usize;
    out.par_rows_mut(|y, dst| {
        let row = LinearRow::new(plate.row(y));
        let alphas = &matte.values()[y as usize * wu..(y as usize + 1) * wu];
        let mut line = vec![0.0f32; wu * 4];
        for x in 0..wu {
            let a = alphas[x];
            let fg = foreground(row.at(x), a, screen, spill);
            for c in 0..3 {
                line[x * 4 + c] = if a > 1e-4 { encode(fg[c] / a) } else { 0.0 };
            }
            line[x * 4 + 3] = a;
        }
        dst.write_f32(&line);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::background::grain_noise;
    use crate::composite::measure::sharpness;
    use crate::frame::PixelFormat;
    use crate::pixels::color::{decode, linear_to_oklab};

    fn solid(w: u32, h: u32, rgba: [f32; 4]) -> Frame {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill(rgba);
        f
    }

    #[test]
    fn over_in_linear_light() {
        let plate = solid(8, 8, [1.0, 1.0, 1.0, 1.0]);
        let background = solid(8, 8, [0.0, 0.0, 0.0, 1.0]);
        let matte = Matte::filled(8, 8, 0.5).unwrap();
        let mut out = Frame::new(8, 8, PixelFormat::Rgba32F).unwrap();
        let mut c = Compositor::new(CompositeOptions::default()).unwrap();
        c.composite(&plate.view(), &matte, None, &background.view(), &mut out.view_mut()).unwrap();
        // Half white over black in linear light is 0.5 linear = 0.735 encoded, not 0.5.
        let p = out.pixel_f32(3, 3);
        assert!((p[0] - 0.7354).abs() < 1e-3, "{p:?}");
        assert_eq!(p[3], 1.0);
    }

    #[test]
    fn backgrounds_are_fitted_by_policy() {
        let mut wide = Frame::new(40, 10, PixelFormat::Rgba8).unwrap();
        wide.view_mut().par_rows_mut(|_, row| {
            let v: Vec<f32> = (0..40).flat_map(|x| [x as f32 / 39.0, 0.0, 0.0, 1.0]).collect();
            row.write_f32(&v);
        });
        let cover = fit_background(&wide.view(), 20, 20, Fit::Cover).unwrap();
        // Cover: scaled 2x, the middle 20 of 80 columns kept.
        assert!(cover.pixel_f32(0, 10)[0] > 0.3 && cover.pixel_f32(19, 10)[0] < 0.7);
        let contain = fit_background(&wide.view(), 20, 20, Fit::Contain).unwrap();
        assert_eq!(contain.pixel_f32(10, 1)[3], 0.0, "letterbox borders are transparent");
        assert_eq!(contain.pixel_f32(10, 10)[3], 1.0);
        let stretch = fit_background(&wide.view(), 20, 20, Fit::Stretch).unwrap();
        assert!(stretch.pixel_f32(0, 0)[0] < 0.05 && stretch.pixel_f32(19, 19)[0] > 0.95);
    }

    #[test]
    fn colour_transfer_moves_statistics_towards_the_target() {
        let warm = solid(16, 16, [0.8, 0.5, 0.3, 1.0]);
        let cool = solid(16, 16, [0.3, 0.4, 0.7, 1.0]);
        let (from, to) = (colour_stats(&cool.view(), None), colour_stats(&warm.view(), None));
        let full = ColourTransfer::new(&from, &to, 1.0);
        let moved = linear_to_oklab(full.apply([0.3, 0.4, 0.7]));
        for c in 0..3 {
            assert!((moved[c] - to.mean[c]).abs() < 0.02, "{moved:?} vs {:?}", to.mean);
        }
        let none = ColourTransfer::new(&from, &to, 0.0);
        let same = none.apply([0.3, 0.4, 0.7]);
        assert!((same[2] - decode(0.7)).abs() < 0.01, "{same:?}");
    }

    #[test]
    fn noise_and_sharpness_are_measured() {
        let mut noisy = Frame::new(64, 64, PixelFormat::Rgba32F).unwrap();
        let samples: &mut [f32] = bytemuck::cast_slice_mut(noisy.as_bytes_mut());
        for (i, px) in samples.chunks_exact_mut(4).enumerate() {
            let n = 0.5 + 0.02 * grain_noise(i as u64, 7);
            px.copy_from_slice(&[n, n, n, 1.0]);
        }
        let sigma = noise_sigma(&noisy.view(), None);
        assert!((sigma - 0.02).abs() < 0.006, "{sigma}");
        let flat = solid(64, 64, [0.5; 4]);
        assert_eq!(noise_sigma(&flat.view(), None), 0.0);
        assert!(sharpness(&noisy.view(), None) > 1.0, "white noise is maximally sharp");
    }

    /// A green plate with a grey square whose edge ramps over 8 pixels, and
    /// a warm spill on its left half; the matte is the ramp.
    fn spilled_plate() -> (Frame, Matte, Screen) {
        spilled_plate_on(1)
    }

    /// The same with the screen's colour in `channel` (green's and its
    /// values swapped).
    fn spilled_plate_on(channel: usize) -> (Frame, Matte, Screen) {
        let (w, h) = (32u32, 16u32);
        let mut plate = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut alphas = Vec::new();
        let swap = |mut rgb: [f32; 3]| {
            rgb.swap(1, channel);
            rgb
        };
        let screen = Screen { linear: swap([0.05, 0.6, 0.08]), channel, coverage: 0.5, noise: [0.0; 3] };
        {
            let mut view = plate.view_mut();
            for y in 0..h {
                let mut row = Vec::new();
                for x in 0..w {
                    // The edge straddles the composite's runs of 16 pixels.
                    let a = ((x as f32 - 10.0) / 8.0).clamp(0.0, 1.0);
                    alphas.push(a);
                    let fg = swap(if x < 20 { [0.3, 0.45, 0.2] } else { [0.4, 0.35, 0.3] });
                    let lin: [f32; 3] = std::array::from_fn(|c| a * fg[c] + (1.0 - a) * screen.linear[c]);
                    row.extend(lin.map(crate::pixels::color::linear_to_srgb));
                    row.push(1.0);
                }
                view.write_row_f32(y, &row);
            }
        }
        (plate, Matte::from_values(w, h, alphas).unwrap(), screen)
    }

    #[test]
    fn the_8_bit_path_matches_the_general_path() {
        // A background that changes along the row, so that an edge pixel
        // read from the wrong place shows.
        let mut background = Frame::new(32, 16, PixelFormat::Rgba8).unwrap();
        for y in 0..16 {
            let row: Vec<f32> =
                (0..32).flat_map(|x| [0.7 - 0.02 * x as f32, 0.2, 0.3 + 0.015 * x as f32, 1.0]).collect();
            background.view_mut().write_row_f32(y, &row);
        }
        // Plain, and prepared (colour matched, the light wrapped round the edge).
        let prepared =
            CompositeOptions { match_colour: 0.5, light_wrap: 0.8, light_wrap_radius: 4.0, ..Default::default() };
        for (channel, options) in (0..3).flat_map(|c| [(c, CompositeOptions::default()), (c, prepared)]) {
            let (plate, matte, screen) = spilled_plate_on(channel);
            let mut fast = Frame::new(32, 16, PixelFormat::Rgba8).unwrap();
            let mut general = Frame::new(32, 16, PixelFormat::Rgba16).unwrap();
            for out in [&mut fast, &mut general] {
                let mut c = Compositor::new(options).unwrap();
                c.composite(&plate.view(), &matte, Some(&screen), &background.view(), &mut out.view_mut()).unwrap();
            }
            let general = general.to_format(PixelFormat::Rgba8).unwrap();
            let diff = fast.as_bytes().iter().zip(general.as_bytes()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!(
                diff <= 1,
                "screen channel {channel}, {options:?}: 8-bit and 16-bit outputs differ by {diff} codes"
            );
            // Spill 0.8 pulls 80% of the screen channel's lead out of the
            // solid half of the screen's hue.
            let i = (8 * 32 + 18) * 4;
            let lead = |p: &[u8]| {
                let others = (0..3).filter(|&c| c != channel).map(|c| p[c]).max().unwrap();
                p[channel] as f32 - others as f32
            };
            let (before, after) = (lead(&plate.as_bytes()[i..i + 3]), lead(&fast.as_bytes()[i..i + 3]));
            assert!(
                before > 20.0 && after > 0.0 && after < 0.35 * before,
                "screen channel {channel}: lead {before} -> {after}"
            );
        }
    }

    #[test]
    fn where_the_matte_is_clear_only_the_background_shows_whatever_the_plate_has_there() {
        // A 16-bit plate (the general path): its left half screen, lit
        // unevenly and noisy, matte 0; its right half grey, matte 1.
        let (w, h) = (32u32, 8u32);
        let screen = Screen { linear: [0.05, 0.6, 0.08], channel: 1, coverage: 0.5, noise: [0.0; 3] };
        let alphas: Vec<f32> = (0..w * h).map(|i| if i % w < w / 2 { 0.0 } else { 1.0 }).collect();
        let matte = Matte::from_values(w, h, alphas).unwrap();
        let plate = |uneven: bool| {
            let mut plate = Frame::new(w, h, PixelFormat::Rgba16).unwrap();
            let mut view = plate.view_mut();
            for y in 0..h {
                let row: Vec<f32> = (0..w)
                    .flat_map(|x| {
                        let lin = if x < w / 2 {
                            let light = if uneven { 1.3 + 0.05 * grain_noise((y * w + x) as u64, 1) } else { 1.0 };
                            screen.linear.map(|v| (v * light).min(1.0))
                        } else {
                            [0.2; 3]
                        };
                        let s = lin.map(crate::pixels::color::linear_to_srgb);
                        [s[0], s[1], s[2], 1.0]
                    })
                    .collect();
                view.write_row_f32(y, &row);
            }
            plate
        };
        let background = solid(w, h, [0.7, 0.2, 0.5, 1.0]);
        for options in [CompositeOptions::default(), CompositeOptions { match_colour: 0.5, ..Default::default() }] {
            let composite = |plate: &Frame| {
                let mut out = Frame::new(w, h, PixelFormat::Rgba16).unwrap();
                let mut compositor = Compositor::new(options).unwrap();
                compositor
                    .composite(&plate.view(), &matte, Some(&screen), &background.view(), &mut out.view_mut())
                    .unwrap();
                out
            };
            let (even, uneven) = (composite(&plate(false)), composite(&plate(true)));
            assert_eq!(even, uneven, "{options:?}: the screen's light showed through a clear matte");
        }
    }

    #[test]
    fn a_prepared_background_is_reused_only_while_it_is_the_same() {
        let (plate, matte, screen) = spilled_plate();
        let matched = CompositeOptions { match_colour: 0.3, light_wrap: 0.5, ..Default::default() };
        // Defocus keeps its blur's buffers once the background has moved.
        let defocused = CompositeOptions { defocus: Defocus::Radius(2.0), ..matched };
        for options in [matched, defocused] {
            prepared_background_follows_the_background(&plate, &matte, &screen, options);
        }
    }

    fn prepared_background_follows_the_background(
        plate: &Frame,
        matte: &Matte,
        screen: &Screen,
        options: CompositeOptions,
    ) {
        let mut compositor = Compositor::new(options).unwrap();
        let mut out = Frame::new(32, 16, PixelFormat::Rgba8).unwrap();
        let at = |f: &Frame| f.as_bytes()[(8 * 32 + 1) * 4..(8 * 32 + 1) * 4 + 3].to_vec();
        // Striped, so that a blur changes them.
        let striped = |rgb: [f32; 3]| {
            let mut frame = Frame::new(32, 16, PixelFormat::Rgba8).unwrap();
            let row: Vec<f32> = (0..32)
                .flat_map(|x| if x % 4 == 0 { [0.0, 0.0, 0.0, 1.0] } else { [rgb[0], rgb[1], rgb[2], 1.0] })
                .collect();
            (0..16).for_each(|y| frame.view_mut().write_row_f32(y, &row));
            frame
        };
        let (red, blue) = (striped([0.8, 0.1, 0.1]), striped([0.1, 0.1, 0.8]));
        compositor.composite(&plate.view(), matte, Some(screen), &red.view(), &mut out.view_mut()).unwrap();
        let (first, whole) = (at(&out), out.clone());
        compositor.composite(&plate.view(), matte, Some(screen), &blue.view(), &mut out.view_mut()).unwrap();
        let second = at(&out);
        assert!(second[2] > second[0] && first[0] > first[2], "red then blue: {first:?} {second:?}");
        // Prepared again into the buffers blue was prepared into.
        compositor.composite(&plate.view(), matte, Some(screen), &red.view(), &mut out.view_mut()).unwrap();
        assert!(out == whole, "the same background gives the same pixels again");
    }

    #[test]
    fn bad_options_are_refused() {
        let bad = CompositeOptions { light_wrap: 2.0, ..Default::default() };
        assert!(Compositor::new(bad).unwrap_err().to_string().contains("light wrap"));
        let bad = CompositeOptions { defocus: Defocus::Radius(-1.0), ..Default::default() };
        assert!(Compositor::new(bad).is_err());
    }
}
