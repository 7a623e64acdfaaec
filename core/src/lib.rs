//! Mattebox core: everything Mattebox does, with no knowledge of any host.
//!
//! A host holds one [`Runtime`]. It borrows its own pixel memory to the core
//! as [`FrameView`]s (no copy), or hands paths to the [`media`] layer
//! (feature `media`). Each capability is one object a host drives frame by
//! frame, in any order and from several threads, and translates to and from
//! its own buffers, parameters and threads:
//!
//! | capability | the object | file to file |
//! |---|---|---|
//! | retime (rate conversion, slow motion, ramps) | [`interp::ShotRetimer`] | [`pipeline::retime::RetimeJob`] |
//! | composite a background behind live action | [`composite::ShotCompositor`] | [`pipeline::composite::CompositeJob`] |
//! | consistency scores of a shot | [`consistency::ShotScorer`] | |
//! | generate takes of a shot | `generate::Generations` (feature `images`) with a [`shot::ShotRequest`] | |
//!
//! Below them, for hosts that need one step: [`interp::FlowPair`] and
//! [`interp::interpolate_with`], [`composite::key`] and
//! [`composite::Compositor`], and the [`pixels`] layer (colour, fitting).
//! Errors are one [`Error`] with an [`ErrorKind`] to branch on and a message
//! that names the file, argument or frame at fault.
//!
//! ```
//! use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};
//!
//! let runtime = Runtime::new(RuntimeConfig { threads: 2, ..Default::default() })?;
//! let mut eight_bit = Frame::new(64, 36, PixelFormat::Rgba8)?;
//! eight_bit.view_mut().fill([1.0, 0.5, 0.0, 1.0]);
//! let mut float = Frame::new(64, 36, PixelFormat::Rgba32F)?;
//! runtime.convert_frame(&eight_bit.view(), &mut float.view_mut())?;
//! assert_eq!(float.pixel_f32(0, 0), [1.0, 128.0 / 255.0, 0.0, 1.0]);
//! # Ok::<(), mattebox_core::Error>(())
//! ```

#![warn(missing_docs)]

pub mod base64;
pub mod composite;
pub mod consistency;
pub mod episode;
pub mod error;
pub mod farm;
pub mod files;
pub mod frame;
#[cfg(feature = "images")]
pub mod generate;
pub mod interp;
pub mod logging;
pub mod markup;
#[cfg(any(feature = "images", feature = "video"))]
pub mod media;
#[cfg(feature = "onnx")]
mod onnx;
#[cfg(feature = "images")]
pub mod pipeline;
pub mod pixels;
pub mod rational;
pub mod runtime;
pub mod shot;
pub mod staged;
#[cfg(test)]
mod testing;
pub mod wav;

pub use error::{Error, ErrorKind, Result};
pub use frame::{Frame, FrameView, FrameViewMut, PixelFormat};
pub use logging::{LogCallback, LogLevel, LogSink};
pub use rational::Rational;
pub use runtime::{Runtime, RuntimeConfig};

/// The version of this crate (and of the C ABI library built from it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
