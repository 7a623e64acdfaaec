//! Numbered PNG / EXR image sequences, and single stills.
//!
//! Image files carry no frame rate, so when Mattebox writes a sequence it puts
//! a small sidecar, [`SIDECAR_NAME`], beside the frames with the rate and the
//! pattern; reading it back keeps 24000/1001 exact. The sidecar is written
//! last: a sequence without it may be unfinished.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::image_file::{ImageProbe, probe_image, read_image, write_image_file};
use super::{
    ClipTags, DEFAULT_SEQUENCE_RATE, ImageType, MediaInfo, MediaKind, OpenOptions, SequenceChunk, StreamInfo,
    WriteOptions,
};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, FrameView, PixelFormat};
use crate::rational::Rational;
use crate::staged::{StagedDir, StagedFile};

/// File name of the sidecar that records a sequence's frame rate.
pub const SIDECAR_NAME: &str = "mattebox-sequence.json";

/// Number a sequence written by Mattebox starts at (as ffmpeg's image2 muxer does).
const FIRST_NUMBER: u64 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    pattern: String,
    frame_rate: Rational,
    first: u64,
    count: u64,
    format: PixelFormat,
    written_by: String,
    /// Timecode, colour and shape of the clip the frames came from.
    #[serde(default, skip_serializing_if = "ClipTags::is_empty")]
    tags: ClipTags,
}

/// `dir/prefix` + a frame number padded to `digits` (0: unpadded) + `suffix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    dir: PathBuf,
    prefix: String,
    digits: usize,
    suffix: String,
}

impl Pattern {
    /// Parses `%04d`, `%d` or `####` in the file name of `path`.
    pub(crate) fn parse(path: &Path) -> Result<Pattern> {
        let bad = |why: &str| Error::invalid_argument(format!("{}: {why}", path.display()));
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| bad("not a usable file name"))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let (prefix, digits, suffix) = if let Some(start) = name.find('%') {
            let rest = &name[start + 1..];
            let end = rest.find('d').ok_or_else(|| bad("a % pattern must look like %d or %04d"))?;
            let width = &rest[..end];
            let digits = if width.is_empty() {
                0
            } else {
                if !width.starts_with('0') || !width.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("a % pattern must look like %d or %04d"));
                }
                width.parse::<usize>().map_err(|_| bad("bad padding width"))?
            };
            (&name[..start], digits, &rest[end + 1..])
        } else if let Some(start) = name.find('#') {
            let digits = name[start..].bytes().take_while(|&b| b == b'#').count();
            (&name[..start], digits, &name[start + digits..])
        } else {
            return Err(bad("not a sequence pattern; use %04d or #### for the frame number"));
        };
        if suffix.contains('%') || suffix.contains('#') {
            return Err(bad("only one frame-number pattern is allowed"));
        }
        if digits > 12 {
            return Err(bad("frame-number padding wider than 12 digits"));
        }
        Ok(Pattern { dir, prefix: prefix.to_owned(), digits, suffix: suffix.to_owned() })
    }

    fn new_default(dir: &Path, kind: ImageType) -> Pattern {
        Pattern { dir: dir.to_owned(), prefix: "frame_".into(), digits: 6, suffix: format!(".{}", kind.extension()) }
    }

    fn image_type(&self) -> Result<ImageType> {
        // The suffix alone (".png") is a dot-file name to `Path`, so give it a stem.
        ImageType::of(Path::new(&format!("x{}", self.suffix))).ok_or_else(|| {
            Error::unsupported(format!("{}: image sequences are .png or .exr files", self.display().display()))
        })
    }

    fn file_name(&self, n: u64) -> String {
        format!("{}{:0width$}{}", self.prefix, n, self.suffix, width = self.digits)
    }

    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(self.file_name(n))
    }

    /// The file-name pattern in printf form (`frame_%06d.png`).
    fn name_pattern(&self) -> String {
        if self.digits == 0 {
            format!("{}%d{}", self.prefix, self.suffix)
        } else {
            format!("{}%0{}d{}", self.prefix, self.digits, self.suffix)
        }
    }

    fn display(&self) -> PathBuf {
        self.dir.join(self.name_pattern())
    }

    /// The frame number of `file_name` if it belongs to this sequence.
    fn number_of(&self, file_name: &str) -> Option<u64> {
        let digits = file_name.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded_ok = if self.digits == 0 {
            digits == "0" || !digits.starts_with('0')
        } else {
            digits.len() == self.digits || (digits.len() > self.digits && !digits.starts_with('0'))
        };
        if padded_ok { digits.parse().ok() } else { None }
    }

    /// Every frame number present on disk, sorted.
    fn scan(&self) -> Result<Vec<u64>> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, "list the sequence directory", e))?;
        let mut numbers: Vec<u64> =
            entries.filter_map(|e| e.ok()).filter_map(|e| self.number_of(e.file_name().to_str()?)).collect();
        numbers.sort_unstable();
        Ok(numbers)
    }
}

/// Finds the one numbered image sequence in `dir`.
fn discover(dir: &Path) -> Result<Pattern> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list the directory", e))?;
    // (prefix, suffix) -> widths of the numbers seen, and whether any had a leading zero.
    let mut groups: BTreeMap<(String, String), (Vec<usize>, bool)> = BTreeMap::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if ImageType::of(Path::new(&name)).is_none() || name.starts_with('.') {
            continue;
        }
        let dot = name.rfind('.').unwrap_or(name.len());
        let stem = &name[..dot];
        let digits = stem.bytes().rev().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            continue;
        }
        let number = &stem[stem.len() - digits..];
        let group = groups.entry((stem[..stem.len() - digits].to_owned(), name[dot..].to_owned())).or_default();
        group.0.push(digits);
        group.1 |= number.starts_with('0') && number.len() > 1;
    }
    let found: Vec<Pattern> = groups
        .into_iter()
        .map(|((prefix, suffix), (widths, leading_zero))| {
            let min = *widths.iter().min().unwrap_or(&0);
            let digits = if leading_zero || widths.iter().all(|&w| w == min) && widths.len() > 1 { min } else { 0 };
            Pattern { dir: dir.to_owned(), prefix, digits, suffix }
        })
        .collect();
    match found.len() {
        0 => Err(Error::new(
            ErrorKind::NotFound,
            format!("{}: no numbered .png or .exr files in this directory", dir.display()),
        )),
        1 => Ok(found.into_iter().next().expect("one pattern")),
        _ => {
            let names: Vec<String> = found.iter().map(|p| p.name_pattern()).collect();
            Err(Error::invalid_argument(format!(
                "{} holds {} image sequences ({}); name one, e.g. {}",
                dir.display(),
                found.len(),
                names.join(", "),
                found[0].display().display()
            )))
        }
    }
}

fn read_sidecar(pattern: &Pattern) -> Option<Sidecar> {
    let text = std::fs::read_to_string(pattern.dir.join(SIDECAR_NAME)).ok()?;
    let sidecar: Sidecar = serde_json::from_str(&text).ok()?;
    (sidecar.pattern == pattern.name_pattern()).then_some(sidecar)
}

enum Source {
    Still(PathBuf),
    Sequence { pattern: Pattern, first: u64 },
}

pub(crate) struct SequenceReader {
    info: MediaInfo,
    source: Source,
}

fn stream_of(probe: &ImageProbe, codec: &str) -> StreamInfo {
    StreamInfo {
        index: 0,
        kind: "video".into(),
        codec: codec.into(),
        details: format!("{}x{} {}", probe.width, probe.height, probe.source_format),
    }
}

impl SequenceReader {
    pub(crate) fn open(path: &Path, kind: MediaKind, options: &OpenOptions) -> Result<Self> {
        if kind == MediaKind::Image {
            let probe = probe_image(path)?;
            let codec = ImageType::of(path).map(ImageType::extension).unwrap_or("image");
            let rate = options.frame_rate.unwrap_or(DEFAULT_SEQUENCE_RATE);
            let info = MediaInfo {
                path: path.to_owned(),
                kind,
                container: codec.into(),
                codec: codec.into(),
                width: probe.width,
                height: probe.height,
                frame_rate: rate,
                frame_count: 1,
                duration_seconds: MediaInfo::duration_of(1, rate),
                variable_rate: None,
                source_pixel_format: probe.source_format.clone(),
                bits_per_channel: probe.bits,
                decoded_format: probe.decoded_format,
                first_number: None,
                streams: vec![stream_of(&probe, codec)],
                video_stream: None,
                tags: ClipTags::default(),
                audio: None,
            };
            return Ok(SequenceReader { info, source: Source::Still(path.to_owned()) });
        }
        let pattern = if path.is_dir() { discover(path)? } else { Pattern::parse(path)? };
        let image_type = pattern.image_type()?;
        let numbers = pattern.scan()?;
        let (Some(&first), Some(&last)) = (numbers.first(), numbers.last()) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{}: no files match this pattern", pattern.display().display()),
            ));
        };
        let sidecar = read_sidecar(&pattern);
        if let Some(stated) = &sidecar
            && (stated.first, stated.count) != (first, numbers.len() as u64)
        {
            let stated_last = stated.first + stated.count.saturating_sub(1);
            let missing = (stated.first..=stated_last).find(|n| numbers.binary_search(n).is_err());
            let what = match missing {
                Some(n) => format!("frame {} is missing", pattern.path(n).display()),
                None => format!("frames {first} to {last} are there"),
            };
            return Err(Error::media(format!(
                "{}: its {SIDECAR_NAME} says {} frames numbered from {}, but {what}: the sequence is unfinished \
                 (a chunk still rendering, or one that failed: render it again) or was edited (then delete {SIDECAR_NAME} \
                 and give --fps)",
                pattern.display().display(),
                stated.count,
                stated.first
            )));
        }
        if last - first + 1 != numbers.len() as u64 {
            let missing = numbers.windows(2).find(|w| w[1] != w[0] + 1).map(|w| w[0] + 1).unwrap_or(first);
            return Err(Error::media(format!(
                "{}: frame {} is missing ({} files found, numbered {first} to {last}); sequences must be contiguous",
                pattern.path(missing).display(),
                missing,
                numbers.len()
            )));
        }
        let probe = probe_image(&pattern.path(first))?;
        let rate = options.frame_rate.or(sidecar.as_ref().map(|s| s.frame_rate)).unwrap_or(DEFAULT_SEQUENCE_RATE);
        let codec = image_type.extension();
        let count = numbers.len() as u64;
        let info = MediaInfo {
            path: pattern.display(),
            kind,
            container: format!("{codec} sequence"),
            codec: codec.into(),
            width: probe.width,
            height: probe.height,
            frame_rate: rate,
            frame_count: count,
            duration_seconds: MediaInfo::duration_of(count, rate),
            variable_rate: None,
            source_pixel_format: probe.source_format.clone(),
            bits_per_channel: probe.bits,
            decoded_format: probe.decoded_format,
            first_number: Some(first),
            streams: vec![stream_of(&probe, codec)],
            video_stream: None,
            tags: sidecar.map(|s| s.tags).unwrap_or_default(),
            audio: None,
        };
        Ok(SequenceReader { info, source: Source::Sequence { pattern, first } })
    }

    pub(crate) fn info(&self) -> &MediaInfo {
        &self.info
    }

    pub(crate) fn read_frame(&mut self, index: u64) -> Result<Frame> {
        let path = match &self.source {
            Source::Still(path) => path.clone(),
            Source::Sequence { pattern, first } => pattern.path(first + index),
        };
        let frame = read_image(&path)?;
        if (frame.width(), frame.height()) != (self.info.width, self.info.height) {
            return Err(Error::media(format!(
                "{}: frame {index} is {}x{} but the sequence starts at {}x{}",
                path.display(),
                frame.width(),
                frame.height(),
                self.info.width,
                self.info.height
            )));
        }
        // A 16-bit file inside an 8-bit sequence (or the reverse) still reads
        // in the sequence's format, so every frame of a source matches.
        frame.to_format(self.info.decoded_format)
    }
}

/// Where frame `index` (0-based) of a sequence written straight into `dir`
/// goes, named as [`SequenceWriter`] names frames. For writers that encode
/// frames in parallel themselves (the take cache) and then call
/// [`write_sidecar`].
pub(crate) fn frame_path(dir: &Path, index: u64, format: PixelFormat) -> PathBuf {
    Pattern::new_default(dir, ImageType::for_format(format)).path(FIRST_NUMBER + index)
}

/// Writes the sidecar that makes `count` frames written by [`frame_path`] in
/// `dir` a finished sequence at `frame_rate`.
pub(crate) fn write_sidecar(dir: &Path, frame_rate: Rational, count: u64, format: PixelFormat) -> Result<()> {
    let pattern = Pattern::new_default(dir, ImageType::for_format(format));
    let json = sidecar_text(&pattern, frame_rate, count, format, &ClipTags::default())?;
    let path = dir.join(SIDECAR_NAME);
    std::fs::write(&path, json).map_err(|e| Error::io(&path, "write", e))
}

fn sidecar_text(
    pattern: &Pattern,
    frame_rate: Rational,
    count: u64,
    format: PixelFormat,
    tags: &ClipTags,
) -> Result<String> {
    let sidecar = Sidecar {
        pattern: pattern.name_pattern(),
        frame_rate,
        first: FIRST_NUMBER,
        count,
        format,
        written_by: format!("mattebox {}", env!("CARGO_PKG_VERSION")),
        tags: tags.clone(),
    };
    serde_json::to_string_pretty(&sidecar).map_err(|e| Error::internal(format!("sidecar: {e}")))
}

enum Target {
    Still(StagedFile),
    /// A new directory, renamed into place at the end.
    NewDir {
        staged: StagedDir,
        pattern: Pattern,
    },
    /// An existing directory: frames are staged in a hidden directory inside
    /// it and renamed into place one by one at the end.
    ExistingDir {
        temp: PathBuf,
        pattern: Pattern,
        overwrite: bool,
    },
    /// A chunk of a sequence others write too: staged like `ExistingDir`,
    /// only the chunk's numbers are replaced, and the sidecar states the
    /// whole sequence.
    Chunk {
        temp: PathBuf,
        pattern: Pattern,
        chunk: SequenceChunk,
    },
}

pub(crate) struct SequenceWriter {
    /// `None` only once `finish` has taken it.
    target: Option<Target>,
    image_type: ImageType,
    next_number: u64,
    format: PixelFormat,
    frame_rate: Rational,
    tags: ClipTags,
}

impl SequenceWriter {
    pub(crate) fn create(
        path: &Path,
        kind: MediaKind,
        _width: u32,
        _height: u32,
        format: PixelFormat,
        options: &WriteOptions,
    ) -> Result<Self> {
        let (target, image_type) = if kind == MediaKind::Image {
            let image_type = ImageType::of(path).ok_or_else(|| Error::unsupported("stills are .png or .exr"))?;
            (Target::Still(StagedFile::new(path, options.overwrite)?), image_type)
        } else {
            let pattern = if super::has_sequence_pattern(path) {
                Pattern::parse(path)?
            } else {
                Pattern::new_default(path, ImageType::for_format(format))
            };
            let image_type = pattern.image_type()?;
            let target = if let Some(chunk) = options.chunk {
                Self::chunk_target(pattern, chunk, options.overwrite)?
            } else if pattern.dir.exists() {
                if !pattern.dir.is_dir() {
                    return Err(Error::invalid_argument(format!(
                        "{} exists and is not a directory",
                        pattern.dir.display()
                    )));
                }
                let existing = pattern.scan()?;
                if !existing.is_empty() && !options.overwrite {
                    return Err(Error::invalid_argument(format!(
                        "{} already holds {} frames of {}; pass --overwrite (-y) to replace them",
                        pattern.dir.display(),
                        existing.len(),
                        pattern.name_pattern()
                    )));
                }
                let temp = staging_dir(&pattern, "frames")?;
                Target::ExistingDir { temp, pattern, overwrite: options.overwrite }
            } else {
                let staged = StagedDir::new(&pattern.dir)?;
                Target::NewDir { staged, pattern }
            };
            (target, image_type)
        };
        Ok(SequenceWriter {
            target: Some(target),
            image_type,
            next_number: FIRST_NUMBER + options.chunk.map_or(0, |c| c.first),
            format,
            frame_rate: options.frame_rate,
            tags: options.tags.clone(),
        })
    }

    /// The staging place of a chunk in a directory other chunks share,
    /// made if need be; what killed chunks left there a day ago goes.
    fn chunk_target(pattern: Pattern, chunk: SequenceChunk, overwrite: bool) -> Result<Target> {
        if pattern.dir.exists() && !pattern.dir.is_dir() {
            return Err(Error::invalid_argument(format!("{} exists and is not a directory", pattern.dir.display())));
        }
        std::fs::create_dir_all(&pattern.dir)
            .map_err(|e| Error::io(&pattern.dir, "create the sequence directory", e))?;
        crate::staged::remove_stale(&pattern.dir, crate::staged::STALE_AFTER);
        if !overwrite {
            let numbers = FIRST_NUMBER + chunk.first..FIRST_NUMBER + chunk.first + chunk.count;
            if let Some(n) = pattern.scan()?.into_iter().find(|n| numbers.contains(n)) {
                return Err(Error::invalid_argument(format!(
                    "{} already exists; pass --overwrite (-y) to replace this range's frames",
                    pattern.path(n).display()
                )));
            }
        }
        let temp = staging_dir(&pattern, &format!("chunk-{}", chunk.first + FIRST_NUMBER))?;
        Ok(Target::Chunk { temp, pattern, chunk })
    }

    pub(crate) fn write_frame(&mut self, frame: &FrameView<'_>) -> Result<()> {
        let path = match self.target.as_ref().ok_or_else(|| Error::internal("write after finish"))? {
            Target::Still(staged) => {
                if self.next_number > FIRST_NUMBER {
                    return Err(Error::invalid_argument(format!(
                        "{} is a single image; to write several frames use a pattern such as frame_%06d.{} or a directory",
                        staged.final_path().display(),
                        self.image_type.extension()
                    )));
                }
                staged.temp_path().to_owned()
            }
            Target::NewDir { staged, pattern } => staged.temp_dir().join(pattern.file_name(self.next_number)),
            Target::ExistingDir { temp, pattern, .. } => temp.join(pattern.file_name(self.next_number)),
            Target::Chunk { temp, pattern, chunk } => {
                if self.next_number >= FIRST_NUMBER + chunk.first + chunk.count {
                    return Err(Error::invalid_argument(format!(
                        "{}: frame {} is past the end of the chunk (frames {} to {})",
                        pattern.display().display(),
                        self.next_number,
                        chunk.first + FIRST_NUMBER,
                        chunk.first + chunk.count
                    )));
                }
                temp.join(pattern.file_name(self.next_number))
            }
        };
        write_image_file(&path, frame, self.image_type)?;
        self.next_number += 1;
        Ok(())
    }

    fn sidecar_json(&self, pattern: &Pattern) -> Result<String> {
        sidecar_text(pattern, self.frame_rate, self.next_number - FIRST_NUMBER, self.format, &self.tags)
    }

    /// Moves the chunk's frames into place, then states the whole sequence
    /// in the sidecar (the same text whichever chunk writes it).
    fn place_chunk(&self, temp: &Path, pattern: &Pattern, chunk: SequenceChunk) -> Result<()> {
        let written = self.next_number - FIRST_NUMBER - chunk.first;
        if written != chunk.count {
            return Err(Error::internal(format!(
                "{}: the chunk of frames {} to {} got {written} frames; nothing of it was kept",
                pattern.display().display(),
                chunk.first + FIRST_NUMBER,
                chunk.first + chunk.count
            )));
        }
        let text = sidecar_text(pattern, self.frame_rate, chunk.total, self.format, &self.tags)?;
        place_frames(temp, pattern, FIRST_NUMBER + chunk.first..self.next_number, &text)
    }

    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        match self.target.take().ok_or_else(|| Error::internal("finish called twice"))? {
            Target::Still(staged) => {
                let path = staged.final_path().to_owned();
                staged.commit()?;
                Ok(path)
            }
            Target::NewDir { staged, pattern } => {
                let sidecar = staged.temp_dir().join(SIDECAR_NAME);
                std::fs::write(&sidecar, self.sidecar_json(&pattern)?).map_err(|e| Error::io(&sidecar, "write", e))?;
                staged.commit()?;
                Ok(pattern.display())
            }
            Target::ExistingDir { temp, pattern, overwrite } => {
                let result = self.merge_into(&temp, &pattern, overwrite);
                let _ = std::fs::remove_dir_all(&temp);
                result.map(|()| pattern.display())
            }
            Target::Chunk { temp, pattern, chunk } => {
                let result = self.place_chunk(&temp, &pattern, chunk);
                let _ = std::fs::remove_dir_all(&temp);
                result.map(|()| pattern.display())
            }
        }
    }

    fn merge_into(&self, temp: &Path, pattern: &Pattern, overwrite: bool) -> Result<()> {
        let written = self.next_number;
        if overwrite {
            // Old frames past the new end would otherwise extend the sequence.
            for n in pattern.scan()?.into_iter().filter(|&n| n >= written || n < FIRST_NUMBER) {
                let old = pattern.path(n);
                std::fs::remove_file(&old).map_err(|e| Error::io(&old, "remove an old frame", e))?;
            }
        }
        place_frames(temp, pattern, FIRST_NUMBER..written, &self.sidecar_json(pattern)?)
    }
}

/// Moves frames `numbers` staged in `temp` into the sequence's directory,
/// then writes its sidecar (`sidecar`, staged and renamed): a reader that
/// finds the sidecar finds the frames it states.
fn place_frames(temp: &Path, pattern: &Pattern, numbers: std::ops::Range<u64>, sidecar: &str) -> Result<()> {
    for n in numbers {
        let name = pattern.file_name(n);
        let to = pattern.dir.join(&name);
        std::fs::rename(temp.join(&name), &to).map_err(|e| Error::io(&to, "move a finished frame into place", e))?;
    }
    let path = pattern.dir.join(SIDECAR_NAME);
    crate::staged::write_file(&path, sidecar, true, "write")
}

impl Drop for SequenceWriter {
    fn drop(&mut self) {
        if let Some(Target::ExistingDir { temp, .. } | Target::Chunk { temp, .. }) = &self.target {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// A new hidden staging directory inside the sequence's directory, named
/// so that no other process (on this machine or another) shares it.
fn staging_dir(pattern: &Pattern, what: &str) -> Result<PathBuf> {
    let temp = crate::staged::temp_sibling(&pattern.dir.join(what))?;
    std::fs::create_dir(&temp).map_err(|e| Error::io(&temp, "create a temporary directory", e))?;
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_patterns() {
        let p = Pattern::parse(Path::new("out/shot_%04d.png")).unwrap();
        assert_eq!((p.prefix.as_str(), p.digits, p.suffix.as_str()), ("shot_", 4, ".png"));
        assert_eq!(p.path(7), Path::new("out/shot_0007.png"));
        assert_eq!(p.number_of("shot_0012.png"), Some(12));
        assert_eq!(p.number_of("shot_12345.png"), Some(12345));
        assert_eq!(p.number_of("shot_012.png"), None);
        assert_eq!(p.number_of("shot_0012.exr"), None);
        let p = Pattern::parse(Path::new("plate.####.exr")).unwrap();
        assert_eq!((p.dir.as_path(), p.digits, p.name_pattern().as_str()), (Path::new("."), 4, "plate.%04d.exr"));
        let p = Pattern::parse(Path::new("f%d.png")).unwrap();
        assert_eq!((p.number_of("f10.png"), p.number_of("f010.png")), (Some(10), None));
        for bad in ["a_%4d.png", "a_%04x.png", "a_%04d_%04d.png", "plain.png"] {
            assert!(Pattern::parse(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn discovers_the_one_sequence() {
        let dir = tempfile::tempdir().unwrap();
        for n in 1..=3 {
            std::fs::write(dir.path().join(format!("{n:04}.png")), b"").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let p = discover(dir.path()).unwrap();
        assert_eq!(p.name_pattern(), "%04d.png");
        std::fs::write(dir.path().join("other_01.exr"), b"").unwrap();
        std::fs::write(dir.path().join("other_02.exr"), b"").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("2 image sequences"), "{err}");
    }
}
