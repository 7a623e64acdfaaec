//! Compositing a background behind live action.
//!
//! A host composites a shot through one [`ShotCompositor`]: it samples the
//! screen on the first frame, keys every frame (averaging each still
//! pixel's key with the frames before it, so that noise does not boil on a
//! still edge), finds the person with a [`PersonModel`] where there is no
//! screen, or takes the host's [`MatteFrom`] matte, cleans the matte ([`Cleanup`]), tracks the camera
//! ([`CameraTracker`]) and moves the background with it, matches the
//! background's colour, softness and grain to the plate and composites in
//! linear light ([`CompositeOptions`]). The parts are public for hosts that
//! need only one: [`key`] (or [`find_screen`] once and [`key_with`] per
//! frame), [`Compositor`] for a matte the host already has.
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
pub(crate) mod camera;
pub(crate) mod integrate;
pub(crate) mod key;
pub(crate) mod matte;
mod measure;
pub(crate) mod person;
pub(crate) mod shot;
mod temporal;

pub use crate::pixels::Fit;
pub use camera::{CameraMove, CameraTracker};
pub use integrate::{CompositeOptions, Compositor, Defocus};
pub use key::{CLIP_BLACK, CLIP_WHITE, KeyOptions, Screen, ScreenChoice, find_screen, key, key_with};
pub use matte::{Cleanup, Matte};
pub use person::{PERSON_WIDTH, PersonKey, PersonModel};
pub use shot::{MatteChannel, MatteFrom, ShotCompositor, ShotOutput};
