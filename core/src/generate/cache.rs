//! The take cache: every take ever generated, on disk, keyed by
//! [`ShotRequest::take_key`](crate::shot::ShotRequest::take_key), so asking
//! again costs nothing and a take stays available offline.
//!
//! Layout: `<cache>/takes/<key>/take.json` (the [`Take`] record) and
//! `<key>/frames/` (a PNG sequence, or EXR for float frames, with its
//! sidecar), readable by the media layer without ffmpeg, so plugins that
//! link no video library can show takes; `<key>/audio.wav` is its sound,
//! when its generator gave it one. `<key>/exports/` keeps the video
//! files a take was exported as (`h264.mp4`, ...), so exporting it again
//! is a copy, not an encode. An entry is built under a hidden
//! temporary name and renamed into place when complete; a crash or a
//! cancelled take leaves nothing that looks like a take, and a staged entry
//! a killed process left is removed once
//! [`STALE_AFTER`](crate::staged::STALE_AFTER) has passed.
//!
//! The cache may be shared by a farm's nodes: staging names never collide
//! across machines or PID namespaces, and an entry is committed by renaming
//! its directory, which succeeds for one writer only (the others find the
//! winner's take and use it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::FrameSink;
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};
use crate::media::ImageType;
use crate::media::image_file::write_image_file;
use crate::media::sequence::{frame_path, write_sidecar};
use crate::rational::Rational;
use crate::runtime::Runtime;
use crate::shot::Take;
use crate::staged::StagedDir;

const RECORD: &str = "take.json";
const FRAMES: &str = "frames";
const EXPORTS: &str = "exports";
/// The take's sound, when it has one (16-bit PCM).
const AUDIO: &str = "audio.wav";

/// The on-disk store of takes.
#[derive(Clone, Debug)]
pub struct TakeCache {
    dir: PathBuf,
}

fn check_key(key: &str) -> Result<()> {
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!("{key:?} is not a take key (64 lowercase hex digits)")))
    }
}

impl TakeCache {
    /// The cache under `dir` (usually `<runtime cache>/takes`); created on first store.
    pub fn new(dir: impl Into<PathBuf>) -> TakeCache {
        TakeCache { dir: dir.into() }
    }

    /// Where the takes are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The take stored under `key`, if there is a complete one. An entry
    /// that cannot be read is removed (it will be generated again) and
    /// logged.
    pub fn lookup(&self, key: &str) -> Result<Option<Take>> {
        check_key(key)?;
        let entry = self.dir.join(key);
        let record = entry.join(RECORD);
        let text = match std::fs::read_to_string(&record) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&record, "read a cached take", e)),
        };
        match serde_json::from_str::<Take>(&text) {
            Ok(mut take) if take.key == key && entry.join(FRAMES).is_dir() => {
                take.media = entry.join(FRAMES);
                take.from_cache = true;
                Ok(Some(take))
            }
            Ok(_) | Err(_) => {
                tracing::warn!(entry = %entry.display(), "removing a damaged take from the cache");
                let _ = std::fs::remove_dir_all(&entry);
                Ok(None)
            }
        }
    }

    /// Every complete take in the cache, newest first.
    pub fn list(&self) -> Result<Vec<Take>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, "list the take cache", e)),
        };
        let mut takes = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_key(&name).is_ok()
                && let Some(take) = self.lookup(&name)?
            {
                takes.push(take);
            }
        }
        takes.sort_by(|a, b| b.created_unix.cmp(&a.created_unix).then_with(|| a.key.cmp(&b.key)));
        Ok(takes)
    }

    /// The take whose frames are the folder `dir`, when `dir` is a take's
    /// `frames/` in a take cache (its record beside it, under its key).
    pub(crate) fn take_of_frames(dir: &Path) -> Option<Take> {
        if dir.file_name()? != FRAMES {
            return None;
        }
        let entry = dir.parent()?;
        let text = std::fs::read_to_string(entry.join(RECORD)).ok()?;
        let take: Take = serde_json::from_str(&text).ok()?;
        (entry.file_name()? == take.key.as_str()).then_some(take)
    }

    /// The cache entry `take` lives in, if it is one (its record is there).
    fn entry_of(take: &Take) -> Option<&Path> {
        let entry = take.media.parent()?;
        (take.media.file_name()? == FRAMES && entry.join(RECORD).is_file()).then_some(entry)
    }

    fn check_export_name(name: &str) -> Result<()> {
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if ok { Ok(()) } else { Err(Error::invalid_argument(format!("{name:?} is not an export name like h264.mp4"))) }
    }

    /// The file `take` was exported as before under `name` (`h264.mp4`,
    /// `prores.mov`, ...), if it was.
    pub fn kept_export(take: &Take, name: &str) -> Option<PathBuf> {
        Self::check_export_name(name).ok()?;
        let path = Self::entry_of(take)?.join(EXPORTS).join(name);
        path.is_file().then_some(path)
    }

    /// Keeps a copy of `file`, an export of `take`, as `name` beside its
    /// frames (written whole or not at all). A take outside the cache keeps nothing.
    pub fn keep_export(take: &Take, name: &str, file: &Path) -> Result<()> {
        Self::check_export_name(name)?;
        let Some(entry) = Self::entry_of(take) else { return Ok(()) };
        let dir = entry.join(EXPORTS);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create the exports directory", e))?;
        let staged = crate::staged::StagedFile::new(&dir.join(name), true)?;
        std::fs::copy(file, staged.temp_path()).map_err(|e| Error::io(file, "keep a copy of the export", e))?;
        staged.commit()
    }

    /// Starts writing the take `key`.
    pub(crate) fn begin<'a>(&self, key: &str, rate: Rational, runtime: &'a Runtime) -> Result<TakeWriter<'a>> {
        check_key(key)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, "create the take cache", e))?;
        crate::staged::remove_stale(&self.dir, crate::staged::STALE_AFTER);
        let staged = StagedDir::new(&self.dir.join(key))?;
        let frames = staged.temp_dir().join(FRAMES);
        std::fs::create_dir(&frames).map_err(|e| Error::io(&frames, "create a take's frame directory", e))?;
        Ok(TakeWriter {
            staged,
            frames,
            runtime,
            rate,
            pending: Vec::new(),
            written: 0,
            format: None,
            store_seconds: 0.0,
        })
    }
}

/// Collects a take's frames into a staged cache entry, encoding them in
/// parallel batches.
pub(crate) struct TakeWriter<'a> {
    staged: StagedDir,
    frames: PathBuf,
    runtime: &'a Runtime,
    rate: Rational,
    pending: Vec<Frame>,
    written: u64,
    format: Option<PixelFormat>,
    store_seconds: f64,
}

impl TakeWriter<'_> {
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let (dir, first) = (&self.frames, self.written);
        let batch = std::mem::take(&mut self.pending);
        self.runtime.install(|| {
            batch.par_iter().enumerate().try_for_each(|(i, frame)| {
                let path = frame_path(dir, first + i as u64, frame.format());
                write_image_file(&path, &frame.view(), ImageType::for_format(frame.format()))
            })
        })?;
        self.written += batch.len() as u64;
        self.store_seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Seconds spent encoding so far.
    pub(crate) fn store_seconds(&self) -> f64 {
        self.store_seconds
    }

    /// Writes what is left, the sound (a WAV the context checked) and the
    /// record, then moves the entry into place. If another job stored the
    /// same take meanwhile, that one is kept.
    pub(crate) fn finish(mut self, mut take: Take, audio: Option<&[u8]>, cache: &TakeCache) -> Result<Take> {
        self.flush()?;
        let format = self.format.ok_or_else(|| Error::media("the generator produced no frames"))?;
        write_sidecar(&self.frames, self.rate, self.written, format)?;
        if let Some(wav) = audio {
            let path = self.staged.temp_dir().join(AUDIO);
            std::fs::write(&path, wav).map_err(|e| Error::io(&path, "write the take's sound", e))?;
            take.audio = Some(AUDIO.to_owned());
        }
        take.frames = self.written;
        take.timings.store_seconds = self.store_seconds;
        let record = self.staged.temp_dir().join(RECORD);
        let json = serde_json::to_string_pretty(&take).map_err(|e| Error::internal(format!("take record: {e}")))?;
        std::fs::write(&record, json).map_err(|e| Error::io(&record, "write", e))?;
        let final_dir = self.staged.final_dir().to_owned();
        let key = take.key.clone();
        match self.staged.commit() {
            Ok(()) => {}
            Err(err) => {
                // Lost a race with an identical job: its take is as good as ours.
                if let Some(existing) = cache.lookup(&key)? {
                    return Ok(existing);
                }
                return Err(err);
            }
        }
        take.media = final_dir.join(FRAMES);
        Ok(take)
    }
}

impl FrameSink for TakeWriter<'_> {
    fn accept(&mut self, mut frame: Frame) -> Result<()> {
        match self.format {
            None => self.format = Some(frame.format()),
            // A take is stored in one format: the first frame's.
            Some(f) if f != frame.format() => frame = frame.to_format(f)?,
            Some(_) => {}
        }
        self.pending.try_reserve(1)?;
        self.pending.push(frame);
        if self.pending.len() >= 2 * self.runtime.threads() {
            self.flush()?;
        }
        Ok(())
    }
}
