//! One module per subcommand.

pub(crate) mod composite;
pub(crate) mod convert;
pub(crate) mod demo;
pub(crate) mod info;
pub(crate) mod interpolate;
pub(crate) mod retime;

use mattebox_core::Rational;
use mattebox_core::media::VideoCodec;

/// clap parser for frame rates (`24`, `29.97`, `30000/1001`).
pub(crate) fn parse_rate(text: &str) -> Result<Rational, String> {
    Rational::parse_frame_rate(text).map_err(|e| e.to_string())
}

/// clap parser for video codecs.
pub(crate) fn parse_codec(text: &str) -> Result<VideoCodec, String> {
    text.parse().map_err(|e: mattebox_core::Error| e.to_string())
}

/// clap parser for pixel formats.
pub(crate) fn parse_format(text: &str) -> Result<mattebox_core::PixelFormat, String> {
    text.parse().map_err(|e: mattebox_core::Error| e.to_string())
}

/// clap parser for interpolation modes.
pub(crate) fn parse_mode(text: &str) -> Result<mattebox_core::interp::Mode, String> {
    text.parse().map_err(|e: mattebox_core::Error| e.to_string())
}
