//! Outputs that appear under their final name only when complete.
//!
//! Everything Mattebox writes (videos, image sequences, cached takes) is first
//! written under a hidden temporary name beside its destination and renamed
//! into place by `commit`. A crash, a cancelled job or an error leaves either
//! nothing or a hidden `*.partial` entry, never a file that looks finished;
//! dropping an uncommitted stage deletes what it wrote.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_sibling(final_path: &Path) -> Result<PathBuf> {
    let name = final_path
        .file_name()
        .ok_or_else(|| Error::invalid_argument(format!("{}: output path has no file name", final_path.display())))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = format!(".{}.{}-{n}.partial", name.to_string_lossy(), std::process::id());
    Ok(final_path.with_file_name(temp))
}

fn check_parent(final_path: &Path) -> Result<()> {
    match final_path.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => Err(Error::new(
            crate::ErrorKind::NotFound,
            format!("{}: the directory {} does not exist", final_path.display(), p.display()),
        )),
        _ => Ok(()),
    }
}

fn exists_error(path: &Path) -> Error {
    Error::invalid_argument(format!("{} already exists; pass --overwrite (-y) to replace it", path.display()))
}

/// A file written under a temporary name and renamed into place on [`commit`](StagedFile::commit).
#[derive(Debug)]
pub struct StagedFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Prepares to write `final_path`. Fails if it exists and `overwrite` is
    /// false, or if its directory does not exist.
    pub fn new(final_path: &Path, overwrite: bool) -> Result<Self> {
        check_parent(final_path)?;
        if final_path.is_dir() {
            return Err(Error::invalid_argument(format!("{} is a directory, not a file", final_path.display())));
        }
        if final_path.exists() && !overwrite {
            return Err(exists_error(final_path));
        }
        Ok(StagedFile { final_path: final_path.to_owned(), temp_path: temp_sibling(final_path)?, committed: false })
    }

    /// Where to write now.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Where the file will be once committed.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Renames the finished file into place (atomically replacing any old one).
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| Error::io(&self.final_path, "move the finished file into place", e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// A new directory filled under a temporary name and renamed into place on
/// [`commit`](StagedDir::commit).
#[derive(Debug)]
pub struct StagedDir {
    final_dir: PathBuf,
    temp_dir: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Prepares to create `final_dir`, which must not exist yet, inside a
    /// directory that does. The temporary directory is its hidden sibling, so
    /// the final rename never crosses file systems.
    pub fn new(final_dir: &Path) -> Result<Self> {
        check_parent(final_dir)?;
        if final_dir.exists() {
            return Err(exists_error(final_dir));
        }
        let temp_dir = temp_sibling(final_dir)?;
        std::fs::create_dir(&temp_dir).map_err(|e| Error::io(&temp_dir, "create a temporary output directory", e))?;
        Ok(StagedDir { final_dir: final_dir.to_owned(), temp_dir, committed: false })
    }

    /// Where to write now.
    pub fn temp_dir(&self) -> &Path {
        &self.temp_dir
    }

    /// Where the directory will be once committed.
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Moves the finished directory into place.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.temp_dir, &self.final_dir)
            .map_err(|e| Error::io(&self.final_dir, "move the finished directory into place", e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp_dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("clip.mp4");
        let staged = StagedFile::new(&out, false).unwrap();
        std::fs::write(staged.temp_path(), b"data").unwrap();
        assert!(!out.exists());
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"data");
        assert!(StagedFile::new(&out, false).unwrap_err().to_string().contains("already exists"));
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let staged = StagedFile::new(&dir.path().join("x.mkv"), false).unwrap();
        std::fs::write(staged.temp_path(), b"half").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn dir_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("seq");
        let staged = StagedDir::new(&out).unwrap();
        std::fs::write(staged.temp_dir().join("frame_000001.png"), b"new").unwrap();
        assert!(!out.exists());
        staged.commit().unwrap();
        assert_eq!(std::fs::read(out.join("frame_000001.png")).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left behind");
        assert!(StagedDir::new(&out).is_err(), "an existing directory is not replaced");
        let dropped = StagedDir::new(&dir.path().join("other")).unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_parent_is_named() {
        let err = StagedFile::new(Path::new("/nonexistent-dir-xyz/out.mp4"), false).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir-xyz"), "{err}");
    }
}
