//! Camera moves for the built-in generator: how far each axis goes, easing,
//! and the inverse mapping from a screen pixel to the point of the scene it
//! shows at a given depth.
//!
//! Units are the *rest view*: pixels of the output frame when the camera has
//! not moved, centred on the frame. A scene point at inverse depth `d`
//! (0: at infinity, 1: the nearest plane) and rest-view position `r` is seen
//! at `s = R(roll) * m(d) * (r - shift - d * truck)`: turning the camera
//! (pan, tilt, roll) moves every depth alike, sliding it (truck, pedestal)
//! moves near things more, and a push-in magnifies near things more than
//! far ones, which is what gives a still its parallax.

use crate::error::{Error, Result};
use crate::shot::CameraMotion;

/// A full pan turns the view by this fraction of the frame width.
const PAN_WIDTHS: f32 = 1.0 / 3.0;
/// A full tilt turns the view by this fraction of the frame height.
const TILT_HEIGHTS: f32 = 1.0 / 3.0;
/// A full roll turns the view by this many degrees.
const ROLL_DEGREES: f32 = 30.0;
/// A full truck slides the nearest plane by this fraction of the frame width.
const TRUCK_WIDTHS: f32 = 0.25;
/// A full pedestal slides the nearest plane by this fraction of the height.
const PEDESTAL_HEIGHTS: f32 = 0.25;
/// A full push-in doubles the size of the nearest plane...
const ZOOM_OCTAVES_NEAR: f32 = 1.0;
/// ...and grows the farthest by this many octaves (less: parallax).
const ZOOM_OCTAVES_FAR: f32 = 0.6;

/// How the move speeds up and slows down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Easing {
    Linear,
    EaseInOut,
    EaseIn,
    EaseOut,
}

impl Easing {
    /// The `easing` extra of a request (`linear`, `ease`, `ease-in`,
    /// `ease-out`); ease in and out when absent.
    pub(crate) fn parse(value: Option<&str>) -> Result<Easing> {
        match value.map(str::trim) {
            None | Some("ease") | Some("ease-in-out") => Ok(Easing::EaseInOut),
            Some("linear") => Ok(Easing::Linear),
            Some("ease-in") => Ok(Easing::EaseIn),
            Some("ease-out") => Ok(Easing::EaseOut),
            Some(other) => {
                Err(Error::invalid_argument(format!("easing {other:?} is not one of linear, ease, ease-in, ease-out")))
            }
        }
    }

    /// Progress along the move at time fraction `t` in [0, 1]. Cubic, so
    /// velocity is continuous and zero at the eased ends.
    pub(crate) fn apply(self, t: f32) -> f32 {
        let t = t.clamp(0.0, 1.0);
        match self {
            Easing::Linear => t,
            Easing::EaseInOut => t * t * (3.0 - 2.0 * t),
            Easing::EaseIn => t * t * t,
            Easing::EaseOut => 1.0 - (1.0 - t).powi(3),
        }
    }
}

/// Steps of the magnification table over inverse depth 0..1.
const MAG_STEPS: usize = 64;

/// The camera at one instant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pose {
    cos: f32,
    sin: f32,
    shift: (f32, f32),
    truck: (f32, f32),
    octaves_near: f32,
    octaves_far: f32,
    /// 1 / magnification at MAG_STEPS + 1 depths: per pixel, a lookup
    /// instead of an exp2 and a division.
    inverse_mag: [f32; MAG_STEPS + 1],
}

impl Pose {
    /// The camera after `progress` of `motion` (negative progress runs the
    /// move backwards from its end), for a `width` x `height` frame.
    pub(crate) fn at(motion: &CameraMotion, progress: f32, width: f32, height: f32) -> Pose {
        let p = progress;
        let roll = (motion.roll * ROLL_DEGREES * p).to_radians();
        let (octaves_near, octaves_far) = (motion.zoom * ZOOM_OCTAVES_NEAR * p, motion.zoom * ZOOM_OCTAVES_FAR * p);
        let inverse_mag = std::array::from_fn(|i| {
            let d = i as f32 / MAG_STEPS as f32;
            (-(octaves_far + (octaves_near - octaves_far) * d)).exp2()
        });
        Pose {
            cos: roll.cos(),
            sin: roll.sin(),
            // Pan right: the view moves right. Tilt up: it moves up (y grows downwards).
            shift: (motion.pan * PAN_WIDTHS * width * p, -motion.tilt * TILT_HEIGHTS * height * p),
            truck: (motion.horizontal * TRUCK_WIDTHS * width * p, -motion.vertical * PEDESTAL_HEIGHTS * height * p),
            octaves_near,
            octaves_far,
            inverse_mag,
        }
    }

    /// Magnification of the plane at inverse depth `d`.
    pub(crate) fn magnification(&self, d: f32) -> f32 {
        (self.octaves_far + (self.octaves_near - self.octaves_far) * d).exp2()
    }

    /// Whether depth changes where a pixel looks (a truck, pedestal or push).
    pub(crate) fn has_parallax(&self) -> bool {
        self.truck != (0.0, 0.0) || self.octaves_near != self.octaves_far
    }

    /// Whether the horizon is level (no roll): then a screen row maps to
    /// one rest-view row at each depth.
    pub(crate) fn is_level(&self) -> bool {
        self.sin == 0.0
    }

    /// The rest-view point that centred screen point (`sx`, `sy`) shows at
    /// inverse depth `d`.
    #[inline]
    pub(crate) fn rest_point(&self, sx: f32, sy: f32, d: f32) -> (f32, f32) {
        // Undo the roll, then the magnification, then the slides.
        let (vx, vy) = self.unroll(sx, sy);
        self.rest_of_unrolled(vx, vy, d)
    }

    /// A screen point with the roll undone.
    #[inline]
    pub(crate) fn unroll(&self, sx: f32, sy: f32) -> (f32, f32) {
        (self.cos * sx + self.sin * sy, -self.sin * sx + self.cos * sy)
    }

    /// [`Pose::rest_point`] of a point already [`unroll`](Pose::unroll)ed.
    #[inline]
    pub(crate) fn rest_of_unrolled(&self, vx: f32, vy: f32, d: f32) -> (f32, f32) {
        let inv = self.inverse_magnification(d);
        (vx * inv + self.shift.0 + d * self.truck.0, vy * inv + self.shift.1 + d * self.truck.1)
    }

    /// 1 / [`Pose::magnification`], from the table.
    #[inline]
    pub(crate) fn inverse_magnification(&self, d: f32) -> f32 {
        let pos = d.clamp(0.0, 1.0) * MAG_STEPS as f32;
        let i = (pos as usize).min(MAG_STEPS - 1);
        self.inverse_mag[i] + (self.inverse_mag[i + 1] - self.inverse_mag[i]) * (pos - i as f32)
    }
}

/// How much a still must be magnified at rest so that every pixel of every
/// frame of the move stays inside it: the still covers the rest view
/// `half_w` x `half_h` (half extents, at least half the frame). 1 when the
/// move never leaves it.
pub(crate) fn headroom(
    motion: &CameraMotion,
    progress_range: (f32, f32),
    width: f32,
    height: f32,
    half_w: f32,
    half_h: f32,
) -> f32 {
    let mut need = 1.0f32;
    const STEPS: usize = 32;
    for i in 0..=STEPS {
        let p = progress_range.0 + (progress_range.1 - progress_range.0) * i as f32 / STEPS as f32;
        let pose = Pose::at(motion, p, width, height);
        for d in [0.0, 0.25, 0.5, 0.75, 1.0] {
            for (sx, sy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                let (rx, ry) = pose.rest_point(sx * width / 2.0, sy * height / 2.0, d);
                need = need.max(rx.abs() / half_w).max(ry.abs() / half_h);
            }
        }
    }
    need
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easing_starts_and_ends_still() {
        for e in [Easing::Linear, Easing::EaseInOut, Easing::EaseIn, Easing::EaseOut] {
            assert_eq!((e.apply(0.0), e.apply(1.0)), (0.0, 1.0), "{e:?}");
        }
        let slope = |e: Easing, t: f32| (e.apply(t + 1e-3) - e.apply(t)) / 1e-3;
        assert!(slope(Easing::EaseInOut, 0.0) < 0.01 && slope(Easing::EaseInOut, 0.999) < 0.01);
        assert!(slope(Easing::EaseInOut, 0.5) > 1.4);
        assert!(Easing::parse(Some("bouncy")).is_err());
    }

    #[test]
    fn turning_moves_all_depths_alike_and_sliding_does_not() {
        let pan = Pose::at(&CameraMotion { pan: 1.0, ..Default::default() }, 1.0, 300.0, 200.0);
        assert_eq!(pan.rest_point(0.0, 0.0, 0.0), pan.rest_point(0.0, 0.0, 1.0));
        assert!((pan.rest_point(0.0, 0.0, 0.5).0 - 100.0).abs() < 1e-3, "a full pan turns a third of the width");
        assert!(!pan.has_parallax());
        let truck = Pose::at(&CameraMotion { horizontal: 1.0, ..Default::default() }, 1.0, 300.0, 200.0);
        assert_eq!(truck.rest_point(0.0, 0.0, 0.0), (0.0, 0.0), "infinity does not move");
        assert!((truck.rest_point(0.0, 0.0, 1.0).0 - 75.0).abs() < 1e-3);
        let push = Pose::at(&CameraMotion { zoom: 1.0, ..Default::default() }, 1.0, 300.0, 200.0);
        assert!((push.magnification(1.0) - 2.0).abs() < 1e-5 && push.magnification(0.0) < 1.6);
    }

    #[test]
    fn headroom_covers_the_move() {
        let still = CameraMotion::default();
        assert_eq!(headroom(&still, (0.0, 1.0), 300.0, 200.0, 150.0, 100.0), 1.0);
        let push_in = CameraMotion { zoom: 1.0, ..Default::default() };
        assert_eq!(headroom(&push_in, (0.0, 1.0), 300.0, 200.0, 150.0, 100.0), 1.0, "pushing in stays inside");
        let pan = CameraMotion { pan: 1.0, ..Default::default() };
        let need = headroom(&pan, (0.0, 1.0), 300.0, 200.0, 150.0, 100.0);
        // Half width 150 plus a 100 px pan must fit in the still's 150 px half width.
        assert!((need - 250.0 / 150.0).abs() < 1e-3, "{need}");
        // A wider still needs less.
        assert!(headroom(&pan, (0.0, 1.0), 300.0, 200.0, 250.0, 100.0) <= 1.0 + 1e-6);
    }
}
