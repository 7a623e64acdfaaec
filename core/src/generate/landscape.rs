//! The procedural plate of the built-in generator: a landscape of layered
//! ridges under a sky, made from the take's seed and steered by a few words
//! of the prompt. Each ridge sits at its own depth, so every camera move
//! renders with true parallax and occlusion, frame by frame, with no
//! resampling of a still.

use crate::frame::{FrameViewMut, RowMut};

use super::motion::Pose;

/// A colour scheme; the prompt picks one by a word, else the seed does.
struct Palette {
    words: &'static [&'static str],
    sky_top: [f32; 3],
    sky_horizon: [f32; 3],
    sun: [f32; 3],
    /// Far to near.
    ridges: [[f32; 3]; 4],
    stars: bool,
}

const PALETTES: [Palette; 6] = [
    Palette {
        words: &["dusk", "sunset", "evening", "golden"],
        sky_top: [0.10, 0.16, 0.42],
        sky_horizon: [0.98, 0.58, 0.36],
        sun: [1.0, 0.88, 0.62],
        ridges: [[0.52, 0.36, 0.50], [0.36, 0.22, 0.40], [0.20, 0.12, 0.26], [0.10, 0.16, 0.10]],
        stars: false,
    },
    Palette {
        words: &["day", "noon", "morning", "sunny", "meadow"],
        sky_top: [0.20, 0.45, 0.85],
        sky_horizon: [0.75, 0.86, 0.96],
        sun: [1.0, 1.0, 0.92],
        ridges: [[0.55, 0.65, 0.78], [0.35, 0.52, 0.45], [0.22, 0.45, 0.20], [0.30, 0.55, 0.18]],
        stars: false,
    },
    Palette {
        words: &["night", "moon", "stars", "midnight"],
        sky_top: [0.01, 0.02, 0.08],
        sky_horizon: [0.08, 0.12, 0.28],
        sun: [0.92, 0.94, 1.0],
        ridges: [[0.10, 0.12, 0.22], [0.07, 0.08, 0.16], [0.04, 0.05, 0.10], [0.02, 0.03, 0.05]],
        stars: true,
    },
    Palette {
        words: &["desert", "dune", "sand", "mars"],
        sky_top: [0.30, 0.55, 0.85],
        sky_horizon: [0.95, 0.85, 0.70],
        sun: [1.0, 0.97, 0.85],
        ridges: [[0.85, 0.66, 0.48], [0.86, 0.58, 0.34], [0.80, 0.50, 0.26], [0.72, 0.44, 0.22]],
        stars: false,
    },
    Palette {
        words: &["snow", "winter", "ice", "arctic", "frozen"],
        sky_top: [0.45, 0.58, 0.78],
        sky_horizon: [0.88, 0.90, 0.94],
        sun: [1.0, 1.0, 1.0],
        ridges: [[0.78, 0.82, 0.90], [0.86, 0.88, 0.94], [0.70, 0.74, 0.82], [0.92, 0.93, 0.96]],
        stars: false,
    },
    Palette {
        words: &["forest", "jungle", "woods", "rain"],
        sky_top: [0.35, 0.45, 0.50],
        sky_horizon: [0.70, 0.76, 0.72],
        sun: [0.95, 0.95, 0.85],
        ridges: [[0.40, 0.50, 0.48], [0.18, 0.32, 0.24], [0.08, 0.22, 0.12], [0.05, 0.14, 0.06]],
        stars: false,
    },
];

/// Depths of the ridges, far to near (inverse depth: 1 is nearest).
const RIDGE_DEPTHS: [f32; 4] = [0.12, 0.3, 0.55, 0.9];
/// Table samples per world unit (one frame height): fine enough for a 2x
/// push-in at 4K.
const TABLE_STEPS_PER_UNIT: f32 = 8192.0;
/// World x the ridge tables cover, either side of the centre.
const TABLE_HALF_SPAN: f32 = 6.0;

fn hash(i: i64, seed: u64) -> f32 {
    let mut x = (i as u64) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// Smooth 1-D value noise in [0, 1].
fn noise1(x: f32, seed: u64) -> f32 {
    let i = x.floor();
    let f = x - i;
    let t = f * f * (3.0 - 2.0 * f);
    let a = hash(i as i64, seed);
    a + (hash(i as i64 + 1, seed) - a) * t
}

/// Smooth 2-D value noise in [0, 1].
fn noise2(x: f32, y: f32, seed: u64) -> f32 {
    let (ix, iy) = (x.floor(), y.floor());
    let s = |t: f32| t * t * (3.0 - 2.0 * t);
    let (fx, fy) = (s(x - ix), s(y - iy));
    let (i, j) = (ix as i64, iy as i64);
    let at = |di: i64, dj: i64| hash((i + di).wrapping_mul(0x1F1F_1F1F) ^ (j + dj), seed);
    let top = at(0, 0) + (at(1, 0) - at(0, 0)) * fx;
    let bottom = at(0, 1) + (at(1, 1) - at(0, 1)) * fx;
    top + (bottom - top) * fy
}

fn fbm1(x: f32, seed: u64, octaves: u32) -> f32 {
    let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, 1.0, 0.0);
    for o in 0..octaves {
        sum += amp * noise1(x * freq, seed.wrapping_add(o as u64 * 7919));
        norm += amp;
        amp *= 0.5;
        freq *= 2.03;
    }
    sum / norm
}

struct Ridge {
    depth: f32,
    colour: [f32; 3],
    /// Height of the ridge line (world y, down is positive) over world x.
    profile: Vec<f32>,
}

impl Ridge {
    #[inline]
    fn height(&self, u: f32) -> f32 {
        let pos = ((u + TABLE_HALF_SPAN) * TABLE_STEPS_PER_UNIT).clamp(0.0, (self.profile.len() - 2) as f32);
        let i = pos as usize;
        let f = pos - i as f32;
        self.profile[i] + (self.profile[i + 1] - self.profile[i]) * f
    }
}

/// A landscape made from a seed and a prompt.
pub(crate) struct Landscape {
    palette: &'static Palette,
    ridges: Vec<Ridge>,
    sun: (f32, f32),
    seed: u64,
}

impl Landscape {
    /// The landscape for `prompt` and `seed`. Returns it and the name of
    /// the palette's first word, for the take's notes.
    pub(crate) fn new(prompt: &str, seed: u64) -> (Landscape, &'static str) {
        let lower = prompt.to_lowercase();
        // The first word of the prompt that names a look wins.
        let palette = lower
            .split(|c: char| !c.is_alphanumeric())
            .find_map(|word| PALETTES.iter().find(|p| p.words.contains(&word)))
            .unwrap_or(&PALETTES[(seed % PALETTES.len() as u64) as usize]);
        let steps = (2.0 * TABLE_HALF_SPAN * TABLE_STEPS_PER_UNIT) as usize + 2;
        let ridges = RIDGE_DEPTHS
            .iter()
            .enumerate()
            .map(|(i, &depth)| {
                let ridge_seed = seed.wrapping_mul(31).wrapping_add(i as u64 + 1);
                // Far ridges are high and broad, near ones low and busy.
                let base = 0.02 + 0.09 * i as f32;
                let amplitude = 0.22 - 0.03 * i as f32;
                let frequency = 1.2 + 0.9 * i as f32;
                let profile = (0..steps)
                    .map(|k| {
                        let u = k as f32 / TABLE_STEPS_PER_UNIT - TABLE_HALF_SPAN;
                        base - amplitude * (fbm1(u * frequency, ridge_seed, 6) - 0.35)
                    })
                    .collect();
                Ridge { depth, colour: palette.ridges[i], profile }
            })
            .collect();
        let sun = (0.6 * (hash(1, seed) - 0.5), -0.25 + 0.12 * hash(2, seed));
        (Landscape { palette, ridges, sun, seed }, palette.words[0])
    }

    /// Renders the view of `pose` into `out` (any size and format).
    pub(crate) fn render(&self, pose: &Pose, out: &mut FrameViewMut<'_>) {
        let (w, h) = (out.width() as usize, out.height() as usize);
        let unit = h as f32; // one world unit is one frame height
        out.par_rows_mut_init(
            || vec![0.0f32; w * 4],
            |line, y, row: RowMut<'_>| {
                let sy = y as f32 + 0.5 - h as f32 / 2.0;
                for x in 0..w {
                    let sx = x as f32 + 0.5 - w as f32 / 2.0;
                    let rgb = self.shade(pose, sx, sy, unit);
                    line[x * 4..x * 4 + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 1.0]);
                }
                row.write_f32(line);
            },
        );
    }

    #[inline]
    fn shade(&self, pose: &Pose, sx: f32, sy: f32, unit: f32) -> [f32; 3] {
        let mut colour = [0.0f32; 3];
        let mut cover = 0.0f32;
        // Front to back: the nearest ridge hides what is behind it.
        for ridge in self.ridges.iter().rev() {
            let (rx, ry) = pose.rest_point(sx, sy, ridge.depth);
            let (u, v) = (rx / unit, ry / unit);
            let below = v - ridge.height(u);
            // One output pixel is 1 / (unit * m) world units: a one-pixel soft edge.
            let a = (below * unit * pose.magnification(ridge.depth) + 0.5).clamp(0.0, 1.0);
            if a <= 0.0 {
                continue;
            }
            let c = self.ridge_colour(ridge, u, below);
            let take = (1.0 - cover) * a;
            for k in 0..3 {
                colour[k] += take * c[k];
            }
            cover += take;
            if cover >= 0.999 {
                return colour;
            }
        }
        let (rx, ry) = pose.rest_point(sx, sy, 0.0);
        let sky = self.sky(rx / unit, ry / unit, unit * pose.magnification(0.0));
        let rest = 1.0 - cover;
        [colour[0] + rest * sky[0], colour[1] + rest * sky[1], colour[2] + rest * sky[2]]
    }

    fn ridge_colour(&self, ridge: &Ridge, u: f32, below: f32) -> [f32; 3] {
        // Darker away from the ridge line, a little texture that moves with
        // the ridge (so motion reads), and haze toward the sky colour far off.
        let shade = 1.0 - (below * 2.5).min(0.45);
        let grain = 60.0 * (0.5 + ridge.depth);
        let texture = 0.9 + 0.1 * noise2(u * grain, below * grain * 2.0, self.seed ^ 0x5A5A);
        let stripes = if ridge.depth > 0.8 { 0.9 + 0.1 * ((u * 40.0).sin() * (below * 90.0).sin()) } else { 1.0 };
        let haze = (1.0 - ridge.depth) * 0.45;
        std::array::from_fn(|k| {
            let base = ridge.colour[k] * shade * texture * stripes;
            base + (self.palette.sky_horizon[k] - base) * haze
        })
    }

    fn sky(&self, u: f32, v: f32, pixels_per_unit: f32) -> [f32; 3] {
        let p = self.palette;
        let t = ((v + 0.5) / 0.62).clamp(0.0, 1.0);
        let d = ((u - self.sun.0).powi(2) + (v - self.sun.1).powi(2)).sqrt();
        let disc = ((0.055 - d) * pixels_per_unit + 0.5).clamp(0.0, 1.0);
        let glow = 0.35 * (-(d / 0.12).powi(2)).exp();
        let mut c: [f32; 3] = std::array::from_fn(|k| {
            let sky = p.sky_top[k] + (p.sky_horizon[k] - p.sky_top[k]) * t * t;
            sky + (p.sun[k] - sky) * disc + glow * p.sun[k] * (1.0 - disc)
        });
        if p.stars {
            let cell = 240.0;
            let (cx, cy) = ((u * cell).floor() as i64, (v * cell).floor() as i64);
            let r = hash(cx.wrapping_mul(73_856_093) ^ cy.wrapping_mul(19_349_663), self.seed);
            if r > 0.996 && disc == 0.0 {
                let twinkle = (r - 0.996) / 0.004;
                c = [c[0] + 0.7 * twinkle, c[1] + 0.7 * twinkle, c[2] + 0.6 * twinkle];
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};
    use crate::shot::CameraMotion;

    fn render(prompt: &str, seed: u64, motion: &CameraMotion, progress: f32) -> Frame {
        let (land, _) = Landscape::new(prompt, seed);
        let mut f = Frame::new(96, 54, PixelFormat::Rgba8).unwrap();
        land.render(&Pose::at(motion, progress, 96.0, 54.0), &mut f.view_mut());
        f
    }

    #[test]
    fn words_pick_palettes_and_seeds_change_the_land() {
        assert_eq!(Landscape::new("A desert at noon", 0).1, "desert", "the first word naming a look wins");
        assert_eq!(Landscape::new("cold night", 3).1, "night");
        let still = CameraMotion::default();
        assert_eq!(render("dusk", 1, &still, 0.0), render("dusk", 1, &still, 0.0), "deterministic");
        assert_ne!(render("dusk", 1, &still, 0.0), render("dusk", 2, &still, 0.0));
        // Night is darker than day.
        let mean = |f: &Frame| f.as_bytes().iter().map(|&b| b as f64).sum::<f64>() / f.as_bytes().len() as f64;
        assert!(mean(&render("night", 1, &still, 0.0)) + 60.0 < mean(&render("sunny day", 1, &still, 0.0)));
    }

    #[test]
    fn a_truck_moves_near_ridges_more_than_the_sky() {
        let truck = CameraMotion { horizontal: 1.0, ..Default::default() };
        let a = render("day", 5, &truck, 0.0);
        let b = render("day", 5, &truck, 0.5);
        let changed = |y: u32| (0..96).filter(|&x| a.pixel_f32(x, y) != b.pixel_f32(x, y)).count();
        assert_eq!(changed(1), 0, "the top row is sky at infinity");
        assert!(changed(52) > 40, "the bottom row is the nearest ridge: {}", changed(52));
    }
}
