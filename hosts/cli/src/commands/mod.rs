//! One module per subcommand.

pub(crate) mod composite;
pub(crate) mod convert;
pub(crate) mod demo;
pub(crate) mod episode;
pub(crate) mod farm;
pub(crate) mod generate;
pub(crate) mod info;
pub(crate) mod interpolate;
pub(crate) mod plugin;
pub(crate) mod retime;
pub(crate) mod review;
pub(crate) mod review_page;
pub(crate) mod score;

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use mattebox_core::Rational;
use mattebox_core::interp::{Mode, NeuralSettings};
use mattebox_core::media::{AudioMode, AudioReport, VideoCodec};

use crate::report::CliError;

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

/// Where the neural mode's model and runtime are.
#[derive(Debug, Args)]
pub(crate) struct NeuralArgs {
    /// The neural mode's RIFE model [default: $MATTEBOX_RIFE_MODEL, else
    /// ~/.local/share/mattebox/models/rife-4.onnx]; `.ci/setup` makes
    /// target/tools/rife/rife-4.onnx (any t) and rife-hdv3.onnx (halfway only).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// ONNX Runtime library for the neural mode [default: $MATTEBOX_ONNXRUNTIME,
    /// else libonnxruntime.so on the loader path].
    #[arg(long, value_name = "FILE")]
    onnxruntime: Option<PathBuf>,
    /// The neural mode's flow resolution: 1, 0.5 or 0.25 [default: 1 up to
    /// 1440p, 0.5 above].
    #[arg(long, value_name = "X")]
    neural_scale: Option<f32>,
}

impl NeuralArgs {
    /// The settings, refusing them for a mode that has no use for them.
    pub(crate) fn settings(self, mode: Mode) -> Result<NeuralSettings, CliError> {
        let given = self.model.is_some() || self.onnxruntime.is_some() || self.neural_scale.is_some();
        if given && mode != Mode::Neural {
            return Err(CliError::usage("--model, --onnxruntime and --neural-scale are for --mode neural"));
        }
        Ok(NeuralSettings { model: self.model, library: self.onnxruntime, scale: self.neural_scale })
    }
}

/// The options that split a command's output into chunks for a farm.
#[derive(Debug, Args)]
pub(crate) struct ChunkArgs {
    /// Render only output frames A to B (counted from 1, as the sequence's
    /// file names are) into an image sequence that other runs fill the rest
    /// of; join the finished sequence with `mattebox convert DIR out.mp4`.
    #[arg(long, value_name = "A-B", value_parser = parse_frame_range)]
    pub(crate) frames: Option<std::ops::Range<u64>>,
    /// Plan only: say how many frames the output has and which source
    /// frames the run (or its --frames) reads, and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `A-B` (from 1, inclusive) as output indices from 0, end excluded.
fn parse_frame_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("{text:?} is not a frame range like 1-100 (frames count from 1)");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok(a - 1..b)
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
