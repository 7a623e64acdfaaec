//! A source video for a request, read from a clip or a take: its last
//! frames decoded and, when it is one file, its bytes as they are (what a
//! vendor uploads).

use std::path::Path;

use crate::error::{Error, Result};
use crate::media::{MediaReader, OpenOptions};
use crate::runtime::Runtime;
use crate::shot::{EncodedFile, VideoInput, VideoRole};

/// Frames of the source's end decoded: two give its motion, a third lets a
/// generator check that motion is steady.
const TAIL_FRAMES: u64 = 3;
/// Largest source file carried in a request (vendors cap uploads lower).
pub const MAX_SOURCE_FILE_BYTES: u64 = 512 << 20;

/// Reads the video at `path` (a file, or an image-sequence directory such as
/// a take's frames) as a source video with `role`; a take's folder in the
/// take cache brings the vendor's id of the take with it.
pub fn read_source_video(runtime: &Runtime, path: &Path, role: VideoRole) -> Result<VideoInput> {
    let context = |e: Error| e.context(format!("source video {}", path.display()));
    let mut reader = MediaReader::open_on(runtime, path, &OpenOptions::default()).map_err(context)?;
    let info = reader.info().clone();
    if info.frame_count == 0 {
        return Err(Error::invalid_argument(format!("source video {}: it has no frames", path.display())));
    }
    let first = info.frame_count.saturating_sub(TAIL_FRAMES);
    let tail = (first..info.frame_count).map(|i| reader.read_frame(i)).collect::<Result<Vec<_>>>().map_err(context)?;
    let file = if path.is_file() {
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, "read the source video", e))?.len();
        if size > MAX_SOURCE_FILE_BYTES {
            return Err(Error::invalid_argument(format!(
                "source video {}: {} MiB; a source video is carried whole, up to {} MiB: trim it first",
                path.display(),
                size >> 20,
                MAX_SOURCE_FILE_BYTES >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the source video", e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Some(EncodedFile::new(name, bytes))
    } else {
        None
    };
    let video = VideoInput::new(path.display().to_string(), role, info.frame_rate, info.frame_count, tail, file)?;
    // A take's folder in the take cache: its vendor's id, when it has one,
    // lets that vendor continue it without an upload.
    Ok(match super::TakeCache::take_of_frames(path).and_then(|take| take.vendor_source()) {
        Some(vendor) => video.with_vendor(vendor),
        None => video,
    })
}

/// Largest sound file a request carries.
pub const MAX_SOUND_FILE_BYTES: u64 = 256 << 20;
/// Longest sound a request carries, in seconds (a dialogue line, a cue).
pub const MAX_SOUND_SECONDS: f64 = 600.0;

/// Reads the sound file at `path` (WAV, MP3, AAC/M4A, Ogg/Opus, FLAC, or a
/// video whose sound track is used) as a request's sound with `role`: the
/// file as it is, and its sound decoded into a 16-bit PCM WAV.
#[cfg(feature = "video")]
pub fn read_sound(path: &Path, role: crate::shot::SoundRole) -> Result<crate::shot::SoundInput> {
    let shown = path.display();
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, "read the sound", e))?.len();
    if size > MAX_SOUND_FILE_BYTES {
        return Err(Error::invalid_argument(format!(
            "sound {shown}: {} MiB; a request carries at most {} MiB of sound",
            size >> 20,
            MAX_SOUND_FILE_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the sound", e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = std::sync::Arc::new(bytes);
    let wav = crate::media::decode_untrusted_audio(&name, bytes.clone(), MAX_SOUND_SECONDS)
        .map_err(|e| e.context(format!("sound {shown}")))?
        .ok_or_else(|| Error::invalid_argument(format!("sound {shown}: it has no sound stream")))?;
    let bytes = std::sync::Arc::try_unwrap(bytes).unwrap_or_else(|shared| (*shared).clone());
    crate::shot::SoundInput::new(shown.to_string(), role, wav, EncodedFile::new(name, bytes))
}
