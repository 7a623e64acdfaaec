//! Outputs that appear under their final name only when complete.
//!
//! Everything Mattebox writes (videos, image sequences, cached takes) is first
//! written under a hidden temporary name beside its destination and renamed
//! into place by `commit`. A crash, a cancelled job or an error leaves either
//! nothing or a hidden `*.partial` entry, never a file that looks finished;
//! dropping an uncommitted stage deletes what it wrote.
//!
//! A staging name carries the host's name, the process id, a counter and a
//! random part, so two processes never share one, even on a farm's shared
//! cache where containers on different nodes (or PID namespaces on one)
//! run with the same process id. A process killed before it commits leaves
//! its `*.partial` behind; [`remove_stale`] clears those once they are old.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How long a staged entry may go unwritten before it counts as left by a
/// killed process and [`remove_stale`] takes it: longer than any job's
/// longest silence (a generation's deadline is at most an hour; frames are
/// stored as they come).
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What ends every staging name.
const PARTIAL: &str = ".partial";

/// This machine's name as it may appear in a file name: letters, digits,
/// `-`, `_` and `.` only, at most 32 bytes; `unknown-host` when there is none.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its length; the name is NUL-terminated
    // within it unless truncated, which the `position` below handles.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name: String = buf[..if ok { len } else { 0 }]
        .iter()
        .map(|&b| if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { b as char } else { '_' })
        .take(32)
        .collect();
    if name.is_empty() || name.starts_with('.') { "unknown-host".to_owned() } else { name }
}

/// 64 random bits, from the kernel; from the clock if it has none to give.
fn random_part() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: `bytes` is writable for its length.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got == bytes.len() as isize {
        u64::from_ne_bytes(bytes)
    } else {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)
    }
}

/// The hidden staging name beside `final_path` (see the module's notes).
pub(crate) fn temp_sibling(final_path: &Path) -> Result<PathBuf> {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let name = final_path
        .file_name()
        .ok_or_else(|| Error::invalid_argument(format!("{}: output path has no file name", final_path.display())))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let host = HOST.get_or_init(host_name);
    let temp = format!(".{}.{host}-{}-{n}-{:016x}{PARTIAL}", name.to_string_lossy(), std::process::id(), random_part());
    Ok(final_path.with_file_name(temp))
}

/// Removes the staging entries (`.*.partial` files and directories) in
/// `dir` that nothing has written for `older_than`: what killed processes
/// left. Entries still being written are younger (a directory's age is
/// that of its newest direct child, so a take whose frames are still
/// arriving is kept). Returns how many were removed; errors are ignored,
/// as another process may be removing the same entry.
pub fn remove_stale(dir: &Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = std::time::SystemTime::now();
    let age = |meta: &std::fs::Metadata| meta.modified().ok().and_then(|m| now.duration_since(m).ok());
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(PARTIAL)) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
        let mut youngest = age(&meta);
        if meta.is_dir() {
            for child in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                let child_age = child.metadata().ok().as_ref().and_then(age);
                youngest = match (youngest, child_age) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        // An entry dated in the future (clock skew across a farm) is not stale.
        if youngest.is_none_or(|a| a < older_than) {
            continue;
        }
        let gone =
            if meta.is_dir() { std::fs::remove_dir_all(entry.path()) } else { std::fs::remove_file(entry.path()) };
        if gone.is_ok() {
            tracing::info!(entry = %entry.path().display(), "removed a stale partial entry");
            removed += 1;
        }
    }
    removed
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

/// Writes `contents` to `path` whole or not at all: staged beside it, then
/// renamed into place. `what` names the write in an error ("write the
/// picks"); the error names `path`, never the staging name.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>, overwrite: bool, what: &str) -> Result<()> {
    let staged = StagedFile::new(path, overwrite)?;
    std::fs::write(staged.temp_path(), contents).map_err(|e| Error::io(path, what, e))?;
    staged.commit()
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
    fn staging_names_carry_the_host_and_differ_within_a_process() {
        let out = Path::new("/tmp/take");
        let (a, b) = (temp_sibling(out).unwrap(), temp_sibling(out).unwrap());
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(&format!(".take.{}-{}-", host_name(), std::process::id())), "{name}");
        assert!(name.ends_with(PARTIAL), "{name}");
        // The random part differs even with the counter equal, as in two
        // processes with the same id.
        assert_ne!(random_part(), random_part());
    }

    #[test]
    fn stale_partial_entries_go_and_young_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let hour = std::time::Duration::from_secs(3600);
        let old = std::time::SystemTime::now() - 3 * hour;
        let make_dir = |name: &str, child_time: std::time::SystemTime| {
            let entry = dir.path().join(name);
            std::fs::create_dir(&entry).unwrap();
            let child = entry.join("frame.png");
            std::fs::write(&child, b"x").unwrap();
            std::fs::File::options().write(true).open(&child).unwrap().set_modified(child_time).unwrap();
            std::fs::File::open(&entry).unwrap().set_modified(old).unwrap();
        };
        make_dir(".dead.nodeA-1-0-00.partial", old);
        // An old directory whose frames are still arriving.
        make_dir(".busy.nodeA-1-1-00.partial", std::time::SystemTime::now());
        let file = dir.path().join(".clip.mp4.nodeB-7-0-00.partial");
        std::fs::write(&file, b"x").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(old).unwrap();
        // Finished entries are never touched, however old.
        make_dir("finished", old);
        assert_eq!(remove_stale(dir.path(), 2 * hour), 2);
        let mut left: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".busy.nodeA-1-1-00.partial", "finished"]);
        assert_eq!(remove_stale(dir.path(), 4 * hour), 0, "younger than the limit");
    }

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
