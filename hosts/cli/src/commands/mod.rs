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

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use mattebox_core::Rational;
use mattebox_core::media::{AudioMode, AudioReport, VideoCodec};

/// The sound options every command that writes a clip takes.
#[derive(Debug, Args)]
pub(crate) struct AudioArgs {
    /// The source's sound: auto keeps it where it stays in sync (a retime
    /// that changes speed leaves it out, and says so); keep carries it
    /// unchanged; stretch time-stretches it to --speed, pitch kept; drop
    /// leaves it out.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_audio_mode)]
    pub(crate) audio: AudioMode,
    /// Carry this file's sound instead of the source's (an image sequence's
    /// dialogue, say): any file ffmpeg reads.
    #[arg(long, value_name = "FILE")]
    pub(crate) audio_file: Option<PathBuf>,
}

fn parse_audio_mode(text: &str) -> Result<AudioMode, String> {
    text.parse().map_err(|e: mattebox_core::Error| e.to_string())
}

/// Lines for a report saying what became of the sound, and what else the
/// output could not keep.
pub(crate) fn describe_audio(text: &mut String, audio: Option<&AudioReport>, notes: &[String]) {
    for note in notes {
        let _ = writeln!(text, "  note: {note}");
    }
    let Some(audio) = audio else { return };
    for stream in &audio.streams {
        let how = if stream.copied {
            format!("copied ({})", stream.codec)
        } else if stream.written_as == stream.codec {
            format!("re-encoded ({})", stream.codec)
        } else {
            format!("{} re-encoded as {}", stream.codec, stream.written_as)
        };
        let stretch = if (stream.speed - 1.0).abs() > 1e-9 {
            format!(", stretched to speed {}", stream.speed)
        } else {
            String::new()
        };
        let _ =
            writeln!(text, "  audio stream {}: {how}{stretch}, {:.3} s", stream.source_stream, stream.duration_seconds);
    }
    for note in &audio.notes {
        let _ = writeln!(text, "  note: {note}");
    }
}

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
