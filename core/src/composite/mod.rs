//! Compositing a background behind live action: keying ([`key`]), matte
//! clean-up ([`matte`]), integration of the background with the plate
//! ([`integrate`]: colour match, defocus, grain, light wrap, over in linear
//! light, with the background fitted by [`crate::pixels::fit_background`]) and camera-move matching ([`camera`]).
//!
//! ```
//! use mattebox_core::composite::{CompositeOptions, Compositor, KeyOptions, key};
//! use mattebox_core::{Frame, PixelFormat};
//!
//! let mut plate = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! plate.view_mut().fill([0.1, 0.8, 0.2, 1.0]); // all green screen
//! let mut sky = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
//! let (matte, screen) = key(&plate.view(), &KeyOptions::default())?;
//! let mut out = Frame::new(64, 48, PixelFormat::Rgba8)?;
//! let mut compositor = Compositor::new(CompositeOptions::default())?;
//! compositor.composite(&plate.view(), &matte, Some(&screen), &sky.view(), &mut out.view_mut())?;
//! assert_eq!(out.pixel_f32(10, 10), sky.pixel_f32(10, 10)); // the screen is gone
//! # Ok::<(), mattebox_core::Error>(())
//! ```

mod background;
pub mod camera;
pub mod integrate;
pub mod key;
pub mod matte;
mod measure;
pub mod shot;

pub use crate::pixels::Fit;
pub use camera::{CameraMove, CameraTracker};
pub use integrate::{CompositeOptions, Compositor, Defocus};
pub use key::{KeyOptions, Screen, ScreenChoice, key};
pub use matte::{Cleanup, Matte};
pub use shot::{MatteChannel, MatteFrom, ShotCompositor, ShotOutput};
