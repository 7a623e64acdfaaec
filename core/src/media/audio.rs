//! The sound that travels with a clip: what an output is asked to carry,
//! and what it did with it. The carrying itself is `audio_carrier.rs`
//! (ffmpeg, feature `video`).

use std::path::PathBuf;

use serde::Serialize;

/// Audio an output carries beside its frames.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioInput {
    /// A file whose audio streams are carried: the source video itself, a
    /// sound file, or any file ffmpeg reads.
    pub path: PathBuf,
    /// Playback speed of the output against the source (1: as recorded).
    /// Any other speed time-stretches the audio with its pitch kept.
    pub speed: f64,
}

impl AudioInput {
    /// The audio of `path` at its own speed.
    pub fn from(path: impl Into<PathBuf>) -> AudioInput {
        AudioInput { path: path.into(), speed: 1.0 }
    }
}

/// What became of one audio stream.
#[derive(Clone, Debug, Serialize)]
pub struct CarriedAudio {
    /// Index of the stream in its source file.
    pub source_stream: usize,
    /// Codec in the source.
    pub codec: String,
    /// Codec in the output (the same when copied).
    pub written_as: String,
    /// Whether packets were copied unchanged (no decoding, no loss).
    pub copied: bool,
    /// Speed it was stretched by (1: not stretched).
    pub speed: f64,
    /// Seconds of audio written, from the output's start.
    pub duration_seconds: f64,
}

/// What an output did with the audio it was given.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AudioReport {
    /// The file the audio came from.
    pub source: PathBuf,
    /// One entry per audio stream carried.
    pub streams: Vec<CarriedAudio>,
    /// Things a user should know (a re-encode, a length mismatch), in words.
    pub notes: Vec<String>,
}

/// What an operation does with its source's sound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioMode {
    /// Keep it where it stays in sync; where it cannot (a speed change),
    /// drop it and say so.
    #[default]
    Auto,
    /// Carry it unchanged, even where the pictures change speed.
    Keep,
    /// Time-stretch it to the pictures' speed, pitch kept.
    Stretch,
    /// Leave it out.
    Drop,
}

impl AudioMode {
    /// The sound an operation that keeps its source's duration carries:
    /// `file` if given, else the source's own, unless the mode is `Drop`.
    pub fn carried(self, file: Option<&PathBuf>, source: Option<&PathBuf>) -> Option<AudioInput> {
        match self {
            AudioMode::Drop => None,
            _ => file.or(source).cloned().map(AudioInput::from),
        }
    }
}

impl std::str::FromStr for AudioMode {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(AudioMode::Auto),
            "keep" | "copy" => Ok(AudioMode::Keep),
            "stretch" => Ok(AudioMode::Stretch),
            "drop" | "none" => Ok(AudioMode::Drop),
            _ => Err(crate::Error::invalid_argument(format!(
                "unknown audio mode {s:?}; use auto, keep, stretch or drop"
            ))),
        }
    }
}
