//! A person matte without a screen.
//!
//! A segmentation model sees a small copy of the plate (about
//! [`PERSON_WIDTH`] pixels wide) and says how likely each of its pixels
//! shows a person. The shot's compositor averages that probability with the
//! frames before it wherever the small copy is still (a model's answer
//! wavers from frame to frame on an edge that did not move), as it does a
//! noisy key. Then a guided filter brings it to the plate's size: in each
//! neighbourhood of the small copy the probability is fitted as a linear
//! function of the plate's colour, and those functions, interpolated, are
//! applied to every full-size pixel. The matte's edge so follows the
//! plate's own edges (a sleeve against a wall, strands of hair against the
//! sky) instead of the small copy's blocks, and where colour says nothing
//! (foreground and background alike) it stays the model's soft answer.

use std::fmt::Debug;
use std::sync::Arc;

use rayon::prelude::*;

use super::matte::{Cleanup, Matte, blur_cells, refill, window_means};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView};
use crate::pixels::resize::area_downscale;

/// A model that finds people in a frame.
pub trait PersonModel: Send + Sync + Debug {
    /// How likely each pixel of `small` (RGBA8, at most [`PERSON_WIDTH`]
    /// pixels wide) shows a person, 0..1, row by row: one value per pixel.
    fn person_probability(&self, small: &Frame) -> Result<Vec<f32>>;
}

/// A person matte: the model that finds the person, and the clean-up of
/// its matte.
#[derive(Clone, Debug)]
pub struct PersonKey {
    /// The segmentation model (ONNX Runtime's, in consistency's model
    /// backend, or the host's own).
    pub model: Arc<dyn PersonModel>,
    /// Grow, shrink or soften the matte.
    pub cleanup: Cleanup,
}

impl PartialEq for PersonKey {
    /// The same model object and the same clean-up.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.model, &other.model) && self.cleanup == other.cleanup
    }
}

/// The width of the copy the model sees: the selfie segmentation model
/// takes 256 x 256, so a wider copy would only be thrown away.
pub const PERSON_WIDTH: u32 = 256;

/// Half-width of the guided filter's box passes on the small copy (three
/// passes, about a Gaussian of this sigma): a few small pixels, so that
/// a neighbourhood holds both sides of an edge and the linear fit has
/// something to fit.
const GUIDE_RADIUS: usize = 2;
/// The guided filter's regularisation: colour variance (0..1 values) well
/// below this fits no slope, so flat regions keep the model's value, and a
/// slope across a weak edge is damped, since the plate's noise at an edge
/// passes into the matte by the slope (the person benchmark: 1e-3 gave 1.6
/// times the edge flicker of 1e-2, at the same SAD and MSE).
const GUIDE_EPSILON: f32 = 1e-2;

/// The key noise the still test is made for, in the small copy's luma
/// means: area averaging and the 5 x 5 mean take even sensor noise of
/// 12/255 to a few thousandths, and a person moving changes them by more.
pub(crate) const STILL_NOISE: f32 = 0.01;

/// The matte is 0 at or below this fitted probability and 1 at or above
/// CLIP_WHITE: the model's faint halo round a person goes, and pixels
/// surely in or out composite as copies (the person benchmark: SAD 20.6 ->
/// 19.3, 2-thread speed at 720p 20 -> 60 fps; MSE 55.4 -> 57.9).
const CLIP_BLACK: f32 = 0.1;
const CLIP_WHITE: f32 = 0.9;

/// `plate`'s small copy and the model's person probability on it.
pub(crate) fn segment(plate: &FrameView<'_>, model: &dyn PersonModel) -> Result<(Frame, Matte)> {
    let small = area_downscale(plate, PERSON_WIDTH)?;
    let (w, h) = (small.width(), small.height());
    let probability = model.person_probability(&small)?;
    if probability.len() != w as usize * h as usize {
        return Err(Error::invalid_argument(format!(
            "the person model gave {} values for a {w}x{h} image ({} expected); is it a segmentation model?",
            probability.len(),
            w as usize * h as usize
        )));
    }
    let probability = probability.into_iter().map(|p| if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }).collect();
    Ok((small, Matte::from_values(w, h, probability)?))
}

/// The 5 x 5 means of `small`'s luma into `mean`: whether a pixel of the
/// small copy is still from one frame to the next is judged on them.
pub(crate) fn stillness_means(small: &Frame, luma: &mut Vec<f32>, mean: &mut Vec<f32>) {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let luma = refill(luma, w * h, 0.0);
    for (l, p) in luma.iter_mut().zip(small.as_bytes().chunks_exact(4)) {
        *l = (0.2126 * p[0] as f32 + 0.7152 * p[1] as f32 + 0.0722 * p[2] as f32) * (1.0 / 255.0);
    }
    window_means(luma, w, h, mean);
}

/// The colour moments of one small pixel, blurred into local means:
/// I (3), p, the six products I_i I_j, and the three I_i p.
type Moments = [f32; 13];

/// The person matte's grids, kept from frame to frame so that a frame
/// takes no fresh pages for them (about 2.5 MB at 720p).
#[derive(Default)]
pub(crate) struct PersonScratch {
    /// The small copy's luma, for its stillness means.
    pub(crate) luma: Vec<f32>,
    moments: Vec<Moments>,
    moments_blur: Vec<Moments>,
    fits: Vec<[f32; 4]>,
    fits_blur: Vec<[f32; 4]>,
}

/// `probability` (on `small`, the area-averaged copy of `plate`) brought to
/// `plate`'s size by a guided filter on the plate's colour.
pub(crate) fn guided_upsample(
    small: &Frame,
    probability: &[f32],
    plate: &FrameView<'_>,
    scratch: &mut PersonScratch,
) -> Result<Matte> {
    let (sw, sh) = (small.width() as usize, small.height() as usize);
    let (w, h) = (plate.width() as usize, plate.height() as usize);
    if sw == 0 || sh == 0 || probability.len() != sw * sh {
        return Err(Error::internal("guided upsampling needs one probability per pixel of the small copy"));
    }
    // Local means of the moments, then each neighbourhood's linear fit.
    let moments = refill(&mut scratch.moments, sw * sh, [0.0; 13]);
    for ((m, px), &p) in moments.iter_mut().zip(small.as_bytes().chunks_exact(4)).zip(probability) {
        let [r, g, b] = [px[0], px[1], px[2]].map(|v| v as f32 * (1.0 / 255.0));
        *m = [r, g, b, p, r * r, r * g, r * b, g * g, g * b, b * b, r * p, g * p, b * p];
    }
    blur_cells(moments, sw, sh, GUIDE_RADIUS, &mut scratch.moments_blur);
    let fits = refill(&mut scratch.fits, sw * sh, [0.0; 4]);
    fits.par_iter_mut().zip(moments.par_iter()).for_each(|(fit, m)| *fit = linear_fit(m));
    blur_cells(fits, sw, sh, GUIDE_RADIUS, &mut scratch.fits_blur);
    let fits = &*fits;
    // The copy's pixel sx covers the plate's columns sx * f .. (sx + 1) * f.
    let f = w.div_ceil(sw) as f32;
    let at = |x: usize, n: usize| {
        let s = ((x as f32 + 0.5) / f - 0.5).clamp(0.0, (n - 1) as f32);
        let i = (s as usize).min(n.saturating_sub(2));
        (i, (s - i as f32).min(1.0))
    };
    let columns: Vec<(usize, f32)> = (0..w).map(|x| at(x, sw)).collect();
    let mut matte = Matte::filled(w as u32, h as u32, 0.0)?;
    matte.values_mut().par_chunks_mut(w).enumerate().for_each_init(
        || (vec![0.0f32; w * 4], vec![[0.0f32; 4]; sw]),
        |(line, row_fit), (y, out)| {
            let (y0, wy) = at(y, sh);
            let y1 = (y0 + 1).min(sh - 1);
            for (sx, fit) in row_fit.iter_mut().enumerate() {
                let (a, b) = (fits[y0 * sw + sx], fits[y1 * sw + sx]);
                *fit = std::array::from_fn(|k| a[k] + wy * (b[k] - a[k]));
            }
            plate.read_row_f32(y as u32, line);
            for (x, (alpha, px)) in out.iter_mut().zip(line.chunks_exact(4)).enumerate() {
                let (x0, wx) = columns[x];
                let (a, b) = (row_fit[x0], row_fit[(x0 + 1).min(sw - 1)]);
                let c: [f32; 4] = std::array::from_fn(|k| a[k] + wx * (b[k] - a[k]));
                let fitted = c[0] * px[0] + c[1] * px[1] + c[2] * px[2] + c[3];
                *alpha = ((fitted - CLIP_BLACK) * (1.0 / (CLIP_WHITE - CLIP_BLACK))).clamp(0.0, 1.0);
            }
        },
    );
    Ok(matte)
}

/// The linear fit p = a . I + b over a neighbourhood with these mean
/// moments: a = (cov(I) + epsilon)^-1 cov(I, p), b = mean p - a . mean I.
fn linear_fit(m: &Moments) -> [f32; 4] {
    let (mu, p) = ([m[0], m[1], m[2]], m[3]);
    let e = GUIDE_EPSILON;
    // The covariance, regularised; symmetric.
    let s = [
        m[4] - mu[0] * mu[0] + e,
        m[5] - mu[0] * mu[1],
        m[6] - mu[0] * mu[2],
        m[7] - mu[1] * mu[1] + e,
        m[8] - mu[1] * mu[2],
        m[9] - mu[2] * mu[2] + e,
    ];
    let c = [m[10] - mu[0] * p, m[11] - mu[1] * p, m[12] - mu[2] * p];
    // The inverse by cofactors (the matrix is positive definite: epsilon
    // on its diagonal keeps the determinant above epsilon cubed).
    let [s00, s01, s02, s11, s12, s22] = s;
    let i00 = s11 * s22 - s12 * s12;
    let i01 = s02 * s12 - s01 * s22;
    let i02 = s01 * s12 - s02 * s11;
    let i11 = s00 * s22 - s02 * s02;
    let i12 = s01 * s02 - s00 * s12;
    let i22 = s00 * s11 - s01 * s01;
    let det = s00 * i00 + s01 * i01 + s02 * i02;
    // NaN (from NaN moments) fails this too.
    if det.is_nan() || det <= 0.0 {
        return [0.0, 0.0, 0.0, p];
    }
    let a = [
        (i00 * c[0] + i01 * c[1] + i02 * c[2]) / det,
        (i01 * c[0] + i11 * c[1] + i12 * c[2]) / det,
        (i02 * c[0] + i12 * c[1] + i22 * c[2]) / det,
    ];
    [a[0], a[1], a[2], p - a[0] * mu[0] - a[1] * mu[1] - a[2] * mu[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    /// Person where the plate is red (1 on the figure, 0 on the wall, in
    /// between on the small copy's pixels the edge splits).
    #[derive(Debug)]
    struct RedIsPerson;

    impl PersonModel for RedIsPerson {
        fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
            Ok(small
                .as_bytes()
                .chunks_exact(4)
                .map(|p| ((p[0] as f32 - p[1] as f32 + 50.0) / 240.0).clamp(0.0, 1.0))
                .collect())
        }
    }

    /// A red figure (x < `edge`) on a grey-green wall.
    fn plate(edge: usize) -> Frame {
        let (w, h) = (400, 120);
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        for (i, px) in f.as_bytes_mut().chunks_exact_mut(4).enumerate() {
            let colour = if i % w as usize >= edge { [90, 140, 100] } else { [230, 40, 50] };
            px.copy_from_slice(&[colour[0], colour[1], colour[2], 255]);
        }
        f
    }

    #[test]
    fn the_matte_edge_follows_the_plates_edge_not_the_small_copys() {
        // 400 px wide: the copy is 200 wide (2 px each); the edge at 203
        // splits copy pixel 101, so its probability is half there and soft
        // over the guided filter's reach; the matte must be sharp at 203.
        let p = plate(203);
        let (small, probability) = segment(&p.view(), &RedIsPerson).unwrap();
        assert_eq!(small.width(), 200);
        let matte = guided_upsample(&small, probability.values(), &p.view(), &mut PersonScratch::default()).unwrap();
        for y in [0, 60, 119] {
            assert!(matte.at(202, y) > 0.9 && matte.at(203, y) < 0.1, "{} {}", matte.at(202, y), matte.at(203, y));
        }
        let soft = (190..216).filter(|&x| (0.1..0.9).contains(&matte.at(x, 60))).count();
        assert_eq!(soft, 0, "the matte is soft over {soft} columns");
        // Bilinear scaling of the same probability would not be.
        assert!((probability.at(101, 30) - 0.5).abs() < 0.1, "{}", probability.at(101, 30));
    }

    #[test]
    fn where_colour_says_nothing_the_models_answer_stands() {
        // One colour everywhere, and the model says 0.7: no slope to fit,
        // so 0.7 stands (0.75 after the clip points).
        #[derive(Debug)]
        struct Unsure;
        impl PersonModel for Unsure {
            fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
                Ok(vec![0.7; (small.width() * small.height()) as usize])
            }
        }
        let mut p = Frame::new(300, 90, PixelFormat::Rgba8).unwrap();
        p.view_mut().fill([0.4, 0.5, 0.6, 1.0]);
        let (small, probability) = segment(&p.view(), &Unsure).unwrap();
        let matte = guided_upsample(&small, probability.values(), &p.view(), &mut PersonScratch::default()).unwrap();
        let want = (0.7 - CLIP_BLACK) / (CLIP_WHITE - CLIP_BLACK);
        assert!(matte.values().iter().all(|&a| (a - want).abs() < 1e-3), "{:?}", &matte.values()[..4]);
    }

    #[test]
    fn a_model_of_the_wrong_shape_is_named() {
        #[derive(Debug)]
        struct Square;
        impl PersonModel for Square {
            fn person_probability(&self, _: &Frame) -> Result<Vec<f32>> {
                Ok(vec![0.5; 256 * 256])
            }
        }
        let p = plate(100);
        let err = segment(&p.view(), &Square).unwrap_err().to_string();
        assert!(err.contains("65536 values for a 200x60 image"), "{err}");
    }
}
