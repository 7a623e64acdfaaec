//! What a region of a frame looks like, wherever things sit inside it: the
//! descriptors that compare a shot with reference images and with other
//! shots. (`features.rs` compares consecutive frames of one shot, where
//! positions do matter.)
//!
//! Three families, each blind to where things are, so a reframed shot of
//! the same character or place still matches:
//!
//! - **colour**: soft histograms of CIELAB lightness and chroma (hair,
//!   skin, costume and set colours), and the Lab moments that grade match
//!   reads;
//! - **texture**: rotation-invariant uniform local binary patterns (fabric,
//!   hair, foliage, brick), unchanged by exposure and contrast;
//! - **structure**: the orientation histogram of gradients (architecture
//!   against organic shapes, pose).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};
use crate::pixels::color::linear_of_u8;
#[cfg(test)]
use crate::pixels::color::linear_to_cielab;
use crate::pixels::plane::Plane;

/// Bins of the L* histogram over 0..100.
const LIGHTNESS_BINS: usize = 8;
/// Bins per axis of the (a*, b*) histogram over +-[`CHROMA_RANGE`].
const CHROMA_BINS: usize = 8;
/// a* and b* beyond this are counted in the outer bins.
const CHROMA_RANGE: f32 = 64.0;
/// Rotation-invariant uniform LBP codes: 0..=8 ones in a uniform ring, and
/// every non-uniform ring.
const LBP_BINS: usize = 10;
/// A neighbour counts as brighter only above this (luma 0..255), so flat
/// areas read as flat instead of as sensor noise.
const LBP_THRESHOLD: f32 = 2.0;
/// Unsigned gradient orientation bins.
const ORIENTATION_BINS: usize = 12;

/// The appearance of one region: histograms (each normalised to sum 1) and
/// colour moments. Appearances of several frames or regions average into
/// one ([`Appearance::mean`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "AppearanceRecord", try_from = "AppearanceRecord")]
pub struct Appearance {
    lightness: [f32; LIGHTNESS_BINS],
    chroma: [f32; CHROMA_BINS * CHROMA_BINS],
    texture: [f32; LBP_BINS],
    orientation: [f32; ORIENTATION_BINS],
    /// Means of L*, a*, b*, then of their squares.
    moments: [f32; 6],
    /// Mean gradient magnitude (luma per pixel), for sharpness.
    gradient: f32,
    /// Pixels described (a weight when averaging).
    pixels: f32,
}

impl Default for Appearance {
    fn default() -> Self {
        Appearance {
            lightness: [0.0; LIGHTNESS_BINS],
            chroma: [0.0; CHROMA_BINS * CHROMA_BINS],
            texture: [0.0; LBP_BINS],
            orientation: [0.0; ORIENTATION_BINS],
            moments: [0.0; 6],
            gradient: 0.0,
            pixels: 0.0,
        }
    }
}

/// An [`Appearance`] as saved (`mattebox score --save`): the histograms
/// as lists, checked for their lengths and finite values when read back.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AppearanceRecord {
    lightness: Vec<f32>,
    chroma: Vec<f32>,
    texture: Vec<f32>,
    orientation: Vec<f32>,
    moments: Vec<f32>,
    gradient: f32,
    pixels: f32,
}

impl From<Appearance> for AppearanceRecord {
    fn from(a: Appearance) -> Self {
        AppearanceRecord {
            lightness: a.lightness.to_vec(),
            chroma: a.chroma.to_vec(),
            texture: a.texture.to_vec(),
            orientation: a.orientation.to_vec(),
            moments: a.moments.to_vec(),
            gradient: a.gradient,
            pixels: a.pixels,
        }
    }
}

impl TryFrom<AppearanceRecord> for Appearance {
    type Error = String;

    fn try_from(r: AppearanceRecord) -> std::result::Result<Self, String> {
        fn array<const N: usize>(name: &str, v: Vec<f32>) -> std::result::Result<[f32; N], String> {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format!("{name} holds a value that is not a number"));
            }
            let len = v.len();
            v.try_into().map_err(|_| format!("{name} has {len} values, not {N}"))
        }
        if !(r.gradient.is_finite() && r.pixels.is_finite() && r.pixels >= 0.0) {
            return Err("gradient and pixels must be finite, pixels at least 0".into());
        }
        Ok(Appearance {
            lightness: array("lightness", r.lightness)?,
            chroma: array("chroma", r.chroma)?,
            texture: array("texture", r.texture)?,
            orientation: array("orientation", r.orientation)?,
            moments: array("moments", r.moments)?,
            gradient: r.gradient,
            pixels: r.pixels,
        })
    }
}

/// Which part of a frame an appearance describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    /// The middle half of the width, from a sixth of the height down:
    /// where a person in a medium shot stands.
    Subject,
    /// Everything else.
    Background,
}

impl Region {
    fn contains(self, x: usize, y: usize, w: usize, h: usize) -> bool {
        let inside = x >= w / 4 && x < w - w / 4 && y >= h / 6;
        inside == (self == Region::Subject)
    }
}

/// Per-pixel values that every region's description reads.
pub(crate) struct PixelTable {
    width: usize,
    height: usize,
    lab: Vec<[f32; 3]>,
    lbp: Vec<u8>,
    /// (orientation bin, magnitude) per pixel.
    gradient: Vec<(u8, f32)>,
}

impl PixelTable {
    /// From an RGBA8 analysis copy, its luma and gradients.
    pub(crate) fn of(small: &Frame, luma: &Plane, gx: &Plane, gy: &Plane) -> Result<PixelTable> {
        if small.format() != PixelFormat::Rgba8 {
            return Err(Error::internal("appearance needs an RGBA8 analysis copy"));
        }
        let (w, h) = (luma.width, luma.height);
        let linear = linear_of_u8();
        let bytes = small.as_bytes();
        let mut lab = vec![[0.0f32; 3]; w * h];
        let mut lbp = vec![0u8; w * h];
        let mut gradient = vec![(0u8, 0.0f32); w * h];
        // Rows in parallel; per-pixel maths kept to table lookups and a
        // polynomial (cube roots and atan2 per pixel cost more than the
        // flow).
        lab.par_chunks_mut(w).zip(lbp.par_chunks_mut(w)).zip(gradient.par_chunks_mut(w)).enumerate().for_each(
            |(y, ((lab_row, lbp_row), grad_row))| {
                for (x, out) in lab_row.iter_mut().enumerate() {
                    let p = &bytes[(y * w + x) * 4..(y * w + x) * 4 + 3];
                    *out = fast_cielab([linear[p[0] as usize], linear[p[1] as usize], linear[p[2] as usize]]);
                }
                for (out, (&dx, &dy)) in grad_row.iter_mut().zip(gx.row(y).iter().zip(gy.row(y))) {
                    *out = (orientation_bin(dx, dy), (dx * dx + dy * dy).sqrt());
                }
                if y == 0 || y + 1 >= h {
                    return;
                }
                let (above, row, below) = (luma.row(y - 1), luma.row(y), luma.row(y + 1));
                for x in 1..w - 1 {
                    let c = row[x] + LBP_THRESHOLD;
                    // The ring in order, so transitions can be counted.
                    let ring = [
                        above[x - 1],
                        above[x],
                        above[x + 1],
                        row[x + 1],
                        below[x + 1],
                        below[x],
                        below[x - 1],
                        row[x - 1],
                    ];
                    let mut bits = 0u8;
                    for (i, v) in ring.iter().enumerate() {
                        bits |= ((*v > c) as u8) << i;
                    }
                    let transitions = (bits ^ bits.rotate_left(1)).count_ones();
                    lbp_row[x] = if transitions <= 2 { bits.count_ones() as u8 } else { 9 };
                }
            },
        );
        Ok(PixelTable { width: w, height: h, lab, lbp, gradient })
    }

    /// The appearance of `region`.
    pub(crate) fn describe(&self, region: Region) -> Appearance {
        let (w, h) = (self.width, self.height);
        self.describe_weighted(|x, y| if region.contains(x, y, w, h) { 1.0 } else { 0.0 })
    }

    /// The appearance of the pixels, each counted with `weight(x, y)`
    /// (0..1: a soft mask; pixels of weight 0 are skipped).
    pub(crate) fn describe_weighted(&self, weight: impl Fn(usize, usize) -> f32) -> Appearance {
        let w = self.width;
        let mut out = Appearance::default();
        for y in 0..self.height {
            for x in 0..w {
                let k = weight(x, y);
                if k > 0.0 {
                    out.add(self.lab[y * w + x], self.lbp[y * w + x], self.gradient[y * w + x], k);
                }
            }
        }
        out.normalise();
        out
    }

    /// Width and height of the analysis copy described.
    #[cfg(feature = "onnx")]
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }
}

/// The unsigned orientation bin of gradient (`dx`, `dy`), from a
/// polynomial arctangent (error under 0.3 degrees, far below a bin's 15).
#[inline]
fn orientation_bin(dx: f32, dy: f32) -> u8 {
    // Fold to the upper half plane: an edge is the same edge either way.
    let (dx, dy) = if dy < 0.0 { (-dx, -dy) } else { (dx, dy) };
    let (ax, ay) = (dx.abs(), dy);
    if ax == 0.0 && ay == 0.0 {
        return 0;
    }
    // atan of the smaller over the larger, in [0, pi/4].
    let (t, swapped) = if ay > ax { (ax / ay, true) } else { (ay / ax, false) };
    let t2 = t * t;
    let mut angle = t * (0.999_866 + t2 * (-0.330_299_5 + t2 * (0.180_141 + t2 * (-0.085_133 + t2 * 0.020_835_1))));
    if swapped {
        angle = std::f32::consts::FRAC_PI_2 - angle;
    }
    if dx < 0.0 {
        angle = std::f32::consts::PI - angle;
    }
    ((angle / std::f32::consts::PI * ORIENTATION_BINS as f32) as usize).min(ORIENTATION_BINS - 1) as u8
}

/// CIELAB through a table of the cube root ([`linear_to_cielab`] with the
/// root interpolated: under 0.05 L* from the exact value).
#[inline]
fn fast_cielab(rgb: [f32; 3]) -> [f32; 3] {
    const STEPS: usize = 2048;
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=STEPS + 1)
            .map(|i| {
                let t = i as f32 / STEPS as f32;
                if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 }
            })
            .collect()
    });
    let f = |t: f32| {
        let p = t.clamp(0.0, 1.0) * STEPS as f32;
        let i = p as usize;
        table[i] + (table[i + 1] - table[i]) * (p - i as f32)
    };
    let [r, g, b] = rgb;
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Adds `weight` to the two bins nearest `position` (in bin units).
#[inline]
fn soft_bin(position: f32, bins: usize) -> (usize, usize, f32) {
    let p = (position - 0.5).clamp(0.0, (bins - 1) as f32);
    let lo = p as usize;
    let hi = (lo + 1).min(bins - 1);
    (lo, hi, p - lo as f32)
}

impl Appearance {
    #[inline]
    fn add(&mut self, lab: [f32; 3], lbp: u8, (bin, magnitude): (u8, f32), k: f32) {
        let [l, a, b] = lab;
        let (l0, l1, lf) = soft_bin(l / 100.0 * LIGHTNESS_BINS as f32, LIGHTNESS_BINS);
        self.lightness[l0] += k * (1.0 - lf);
        self.lightness[l1] += k * lf;
        let chroma_pos = |v: f32| (v / CHROMA_RANGE * 0.5 + 0.5) * CHROMA_BINS as f32;
        let (a0, a1, af) = soft_bin(chroma_pos(a), CHROMA_BINS);
        let (b0, b1, bf) = soft_bin(chroma_pos(b), CHROMA_BINS);
        self.chroma[a0 * CHROMA_BINS + b0] += k * (1.0 - af) * (1.0 - bf);
        self.chroma[a1 * CHROMA_BINS + b0] += k * af * (1.0 - bf);
        self.chroma[a0 * CHROMA_BINS + b1] += k * (1.0 - af) * bf;
        self.chroma[a1 * CHROMA_BINS + b1] += k * af * bf;
        self.texture[lbp as usize] += k;
        self.orientation[bin as usize] += k * magnitude;
        for (m, v) in self.moments.iter_mut().zip([l, a, b, l * l, a * a, b * b]) {
            *m += k * v;
        }
        self.gradient += k * magnitude;
        self.pixels += k;
    }

    fn normalise(&mut self) {
        let n = self.pixels.max(1e-6);
        for hist in [&mut self.lightness[..], &mut self.chroma[..], &mut self.texture[..], &mut self.orientation[..]] {
            let sum: f32 = hist.iter().sum();
            if sum > 0.0 {
                hist.iter_mut().for_each(|v| *v /= sum);
            }
        }
        self.moments.iter_mut().for_each(|m| *m /= n);
        self.gradient /= n;
    }

    /// The pixel-weighted mean of several appearances (frames of a shot,
    /// views on a character sheet). `None` for an empty list.
    pub fn mean<'a>(all: impl IntoIterator<Item = &'a Appearance>) -> Option<Appearance> {
        let mut out = Appearance::default();
        let mut total = 0.0;
        for a in all {
            let w = a.pixels.max(1e-6);
            let add = |dst: &mut [f32], src: &[f32]| dst.iter_mut().zip(src).for_each(|(d, s)| *d += s * w);
            add(&mut out.lightness, &a.lightness);
            add(&mut out.chroma, &a.chroma);
            add(&mut out.texture, &a.texture);
            add(&mut out.orientation, &a.orientation);
            add(&mut out.moments, &a.moments);
            out.gradient += a.gradient * w;
            total += w;
        }
        if total == 0.0 {
            return None;
        }
        for part in [&mut out.lightness[..], &mut out.chroma[..], &mut out.texture[..], &mut out.orientation[..]] {
            part.iter_mut().for_each(|v| *v /= total);
        }
        out.moments.iter_mut().for_each(|m| *m /= total);
        out.gradient /= total;
        out.pixels = total;
        Some(out)
    }

    /// Mean L*, a*, b*.
    pub fn lab_mean(&self) -> [f32; 3] {
        [self.moments[0], self.moments[1], self.moments[2]]
    }

    /// Standard deviations of L*, a*, b*.
    pub fn lab_spread(&self) -> [f32; 3] {
        std::array::from_fn(|c| (self.moments[c + 3] - self.moments[c] * self.moments[c]).max(0.0).sqrt())
    }

    /// The style statistics: contrast (L* spread), colourfulness (mean
    /// chroma spread and offset), sharpness (gradient per unit contrast).
    fn style(&self) -> [f32; 3] {
        let [l, a, b] = self.lab_spread();
        let [_, ma, mb] = self.lab_mean();
        let colourfulness = (a * a + b * b).sqrt() + 0.3 * (ma * ma + mb * mb).sqrt();
        [l, colourfulness, self.gradient / (l + 1.0)]
    }
}

/// Hellinger distance of two normalised histograms: 0 for the same
/// distribution, 1 for disjoint ones. Unlike the Bhattacharyya coefficient it
/// is built on, it does not crowd near-identical histograms against 1.
fn hellinger(a: &[f32], b: &[f32]) -> f32 {
    let overlap: f32 = a.iter().zip(b).map(|(x, y)| (x * y).max(0.0).sqrt()).sum();
    (1.0 - overlap.min(1.0)).sqrt()
}

/// Typical Hellinger distances between unrelated photographs, per family
/// (the medians over the calibration set's pairs, `docs/BENCHMARKS.md`):
/// distances are measured in these units, so 1 means "as different as two
/// unrelated pictures usually are".
const COLOUR_TYPICAL: f32 = 0.58;
const TEXTURE_TYPICAL: f32 = 0.23;
const STRUCTURE_TYPICAL: f32 = 0.17;

/// How different two appearances are, per family, in units of the typical
/// difference between unrelated pictures (0 for the same look, about 1 for
/// unrelated ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Likeness {
    /// Lightness and chroma distributions.
    pub colour: f32,
    /// Local binary pattern distributions.
    pub texture: f32,
    /// Gradient orientation distributions.
    pub structure: f32,
}

impl Likeness {
    /// `a` against `b`.
    pub fn of(a: &Appearance, b: &Appearance) -> Likeness {
        let colour = 0.3 * hellinger(&a.lightness, &b.lightness) + 0.7 * hellinger(&a.chroma, &b.chroma);
        Likeness {
            colour: colour / COLOUR_TYPICAL,
            texture: hellinger(&a.texture, &b.texture) / TEXTURE_TYPICAL,
            structure: hellinger(&a.orientation, &b.orientation) / STRUCTURE_TYPICAL,
        }
    }

    /// The families combined, weighted by how well each tells the same
    /// subject or place from another on the calibration set: colour (hair,
    /// skin, costume, set) separates them on its own, texture less, and
    /// orientation least (a reframing changes it).
    pub fn distance(&self) -> f32 {
        0.6 * self.colour + 0.25 * self.texture + 0.15 * self.structure
    }
}

/// CIE76 Delta E between the mean colours of two appearances, and the
/// change (b minus a) in L*, a*, b*.
pub(crate) fn grade_difference(a: &Appearance, b: &Appearance) -> (f32, [f32; 3]) {
    let (ma, mb) = (a.lab_mean(), b.lab_mean());
    let delta: [f32; 3] = std::array::from_fn(|c| mb[c] - ma[c]);
    let spread: f32 = a.lab_spread().iter().zip(b.lab_spread()).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
    // The spreads count too (a flattened or crushed grade keeps its mean).
    let distance = (delta.iter().map(|d| d * d).sum::<f32>() + 0.5 * spread).sqrt();
    (distance, delta)
}

/// How far apart two styles are: the mean absolute log ratio of contrast,
/// colourfulness and sharpness, plus the texture histograms' mismatch.
pub(crate) fn style_distance(a: &Appearance, b: &Appearance) -> f32 {
    let (sa, sb) = (a.style(), b.style());
    let ratios: f32 = sa.iter().zip(sb).map(|(x, y)| ((x + 1.0) / (y + 1.0)).ln().abs()).sum::<f32>() / 3.0;
    ratios + hellinger(&a.texture, &b.texture)
}

/// Words for a grade change in Lab (b minus a), for outlier sentences.
pub(crate) fn describe_grade_change(delta: [f32; 3]) -> String {
    let mut words = Vec::new();
    let [l, a, b] = delta;
    if l.abs() >= 3.0 {
        words.push(if l > 0.0 { "brighter" } else { "darker" });
    }
    if b.abs() >= 3.0 {
        words.push(if b > 0.0 { "warmer" } else { "cooler" });
    }
    if a.abs() >= 3.0 {
        words.push(if a > 0.0 { "more magenta" } else { "greener" });
    }
    if words.is_empty() { "a different contrast".to_owned() } else { words.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_maths_matches_the_exact_forms() {
        for i in 0..=64 {
            for j in 0..=64 {
                let (dx, dy) = ((i as f32 - 32.0) * 0.37, (j as f32 - 32.0) * 0.53);
                if dx == 0.0 && dy == 0.0 {
                    continue;
                }
                let angle = dy.atan2(dx).rem_euclid(std::f32::consts::PI);
                let exact =
                    ((angle / std::f32::consts::PI * ORIENTATION_BINS as f32) as usize).min(ORIENTATION_BINS - 1);
                let fast = orientation_bin(dx, dy) as usize;
                // Only a vector on a bin boundary may land one bin over.
                assert!(
                    fast == exact || fast.abs_diff(exact) == 1 || fast.abs_diff(exact) == ORIENTATION_BINS - 1,
                    "{dx} {dy}"
                );
            }
        }
        for code in (0..=255u32).step_by(5) {
            let rgb = [code as f32 / 255.0, ((code * 7) % 256) as f32 / 255.0, ((code * 13) % 256) as f32 / 255.0];
            let (fast, exact) = (fast_cielab(rgb), linear_to_cielab(rgb));
            for c in 0..3 {
                assert!((fast[c] - exact[c]).abs() < 0.1, "{rgb:?}: {fast:?} vs {exact:?}");
            }
        }
    }
}
