//! One module per subcommand.

pub(crate) mod composite;
pub(crate) mod convert;
pub(crate) mod demo;
pub(crate) mod generate;
pub(crate) mod info;
pub(crate) mod interpolate;
pub(crate) mod plugin;
pub(crate) mod retime;
pub(crate) mod score;

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

/// clap parser for frame sizes (`1920x1080`): within the core's limits and
/// even, as 4:2:0 video needs.
pub(crate) fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(|| format!("{text:?} is not a size like 1280x720"))?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|_| format!("{text:?} is not a size like 1280x720"));
    let (w, h) = (parse(w)?, parse(h)?);
    mattebox_core::frame::check_dimensions(w, h).map_err(|e| e.to_string())?;
    if w % 2 != 0 || h % 2 != 0 {
        return Err(format!("{text}: video is stored 4:2:0, so width and height must be even"));
    }
    Ok((w, h))
}
