//! The pixel layer every algorithm builds on: colour (`color`: the sRGB
//! transfer curve, Oklab, CIELAB), single-channel planes (`plane`: luma,
//! pyramids, gradients), float RGBA images sampled anywhere (`sample`), and
//! whole-frame resampling (`resize`: fitting a background, analysis copies)
//! and quarter turns (`rotate`).
//! It depends on `frame` and nothing above it.

pub mod color;
pub(crate) mod plane;
pub(crate) mod resize;
pub(crate) mod rotate;
pub(crate) mod sample;

pub use resize::{Fit, fit_background, resample};
pub use rotate::rotate_quarter_turns;
