//! The director's choices, kept next to the episode file
//! (`<episode>.picks.json`): per shot, the picked take, favourites, rejects
//! and notes, each take named by its take-cache key (so a choice survives
//! re-runs, and follows the take, not its place in a ranking).
//!
//! Every change is a read-modify-write under an exclusive lock on
//! `<episode>.picks.json.lock` (`flock`), written to a staged sibling and
//! renamed into place: two review pages, or a page and the command line,
//! writing at once lose nothing, and a crash never leaves half a file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::staged::write_file;

/// Largest picks file read.
const MAX_BYTES: u64 = 16 << 20;
/// Longest note kept.
const MAX_NOTE_BYTES: usize = 4096;

/// One shot's choices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShotPicks {
    /// The take that goes in the edit (its key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<String>,
    /// Takes marked as favourites.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub favourites: BTreeSet<String>,
    /// Takes rejected: never chosen, even when ranked first.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub rejects: BTreeSet<String>,
    /// A note per take.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
    /// More takes asked for, beyond the episode file's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<MoreTakes>,
}

/// A batch of takes asked for beyond the episode file's: `takes` takes
/// from seed `seed` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoreTakes {
    /// Seed of the batch's first take.
    pub seed: u64,
    /// Takes in the batch.
    pub takes: u32,
}

/// Every shot's choices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Picks {
    /// By shot id.
    #[serde(default)]
    pub shots: BTreeMap<String, ShotPicks>,
}

fn check_key(key: &str) -> Result<()> {
    if key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!("{key:?} is not a take key (64 lowercase hex digits)")))
    }
}

/// An exclusive `flock` on a file, released on drop.
struct Lock(std::fs::File);

impl Lock {
    fn take(path: &Path) -> Result<Lock> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, "open the picks lock", e))?;
        loop {
            // SAFETY: a valid descriptor owned by `file`, which outlives the lock.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock(file));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(path, "lock the picks", e));
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `take`; closing the file would release it anyway.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Picks {
    /// Where the picks of the episode file `episode` are kept.
    pub fn path_for(episode: &Path) -> PathBuf {
        let mut name = episode.file_name().unwrap_or_default().to_os_string();
        name.push(".picks.json");
        episode.with_file_name(name)
    }

    /// Reads the picks at `path` (none yet: empty). A file that is not a
    /// picks file is an error naming it; it is never overwritten.
    pub fn load(path: &Path) -> Result<Picks> {
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Picks::default()),
            Err(e) => return Err(Error::io(path, "read the picks", e)),
        };
        if text.len() as u64 > MAX_BYTES {
            return Err(Error::invalid_argument(format!(
                "{}: {} bytes is too large for a picks file (at most {MAX_BYTES})",
                path.display(),
                text.len()
            )));
        }
        let picks: Picks = serde_json::from_slice(&text).map_err(|e| {
            Error::invalid_argument(format!(
                "{}: not a picks file ({e}); move it aside to start the picks afresh",
                path.display()
            ))
        })?;
        for (shot, p) in &picks.shots {
            for key in p.pick.iter().chain(&p.favourites).chain(&p.rejects).chain(p.notes.keys()) {
                check_key(key).map_err(|e| e.context(format!("{}: shot {shot}", path.display())))?;
            }
        }
        Ok(picks)
    }

    /// Applies `change` to the picks at `path` as they are now and saves
    /// them, holding the lock throughout; returns what `change` returned.
    pub fn update<T>(path: &Path, change: impl FnOnce(&mut Picks) -> Result<T>) -> Result<T> {
        let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let _lock = Lock::take(&path.with_file_name(lock_name))?;
        let mut picks = Picks::load(path)?;
        let out = change(&mut picks)?;
        let text = serde_json::to_vec_pretty(&picks).map_err(|e| Error::internal(format!("picks: {e}")))?;
        write_file(path, text, true, "write the picks")?;
        Ok(out)
    }

    /// The choices for `shot` (none yet: empty).
    pub fn shot(&self, shot: &str) -> ShotPicks {
        self.shots.get(shot).cloned().unwrap_or_default()
    }

    fn entry(&mut self, shot: &str, key: &str) -> Result<&mut ShotPicks> {
        check_key(key)?;
        Ok(self.shots.entry(shot.to_owned()).or_default())
    }

    /// Picks `key` for `shot` (un-rejecting it).
    pub fn pick(&mut self, shot: &str, key: &str) -> Result<()> {
        let entry = self.entry(shot, key)?;
        entry.rejects.remove(key);
        entry.pick = Some(key.to_owned());
        Ok(())
    }

    /// Clears the pick of `shot`: the best-ranked take is chosen again.
    pub fn clear_pick(&mut self, shot: &str) {
        if let Some(entry) = self.shots.get_mut(shot) {
            entry.pick = None;
        }
    }

    /// Marks or unmarks `key` as a favourite.
    pub fn set_favourite(&mut self, shot: &str, key: &str, on: bool) -> Result<()> {
        let entry = self.entry(shot, key)?;
        if on {
            entry.favourites.insert(key.to_owned())
        } else {
            entry.favourites.remove(key)
        };
        Ok(())
    }

    /// Rejects or un-rejects `key`; a rejected pick is no longer the pick.
    pub fn set_rejected(&mut self, shot: &str, key: &str, on: bool) -> Result<()> {
        let entry = self.entry(shot, key)?;
        if on {
            entry.rejects.insert(key.to_owned());
            if entry.pick.as_deref() == Some(key) {
                entry.pick = None;
            }
        } else {
            entry.rejects.remove(key);
        }
        Ok(())
    }

    /// Asks for `takes` more takes of `shot` from `seed` on (1 to 100 at a time).
    pub fn add_more(&mut self, shot: &str, more: MoreTakes) -> Result<()> {
        if more.takes == 0 || more.takes > 100 {
            return Err(Error::invalid_argument(format!("{} more takes: ask for 1 to 100 at a time", more.takes)));
        }
        self.shots.entry(shot.to_owned()).or_default().more.push(more);
        Ok(())
    }

    /// Takes back a batch asked for (a cancelled request); its takes
    /// already made stay in the take cache.
    pub fn remove_more(&mut self, shot: &str, more: MoreTakes) {
        if let Some(entry) = self.shots.get_mut(shot)
            && let Some(at) = entry.more.iter().rposition(|m| *m == more)
        {
            entry.more.remove(at);
        }
    }

    /// Sets the note on `key` (empty: removes it).
    pub fn set_note(&mut self, shot: &str, key: &str, note: &str) -> Result<()> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(Error::invalid_argument(format!("a note is at most {MAX_NOTE_BYTES} bytes")));
        }
        let entry = self.entry(shot, key)?;
        if note.trim().is_empty() {
            entry.notes.remove(key);
        } else {
            entry.notes.insert(key.to_owned(), note.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> String {
        format!("{n:064x}")
    }

    #[test]
    fn choices_round_trip_and_a_reject_unpicks() {
        let dir = tempfile::tempdir().unwrap();
        let path = Picks::path_for(&dir.path().join("ep.toml"));
        assert!(path.ends_with("ep.toml.picks.json"));
        assert_eq!(Picks::load(&path).unwrap(), Picks::default());
        Picks::update(&path, |p| {
            p.pick("s01", &key(1))?;
            p.set_favourite("s01", &key(2), true)?;
            p.set_note("s01", &key(2), "lovely light")
        })
        .unwrap();
        let picks = Picks::load(&path).unwrap();
        assert_eq!(picks.shot("s01").pick, Some(key(1)));
        assert_eq!(picks.shot("s01").notes[&key(2)], "lovely light");
        Picks::update(&path, |p| p.set_rejected("s01", &key(1), true)).unwrap();
        let picks = Picks::load(&path).unwrap();
        assert_eq!(picks.shot("s01").pick, None);
        assert!(picks.shot("s01").rejects.contains(&key(1)));
        assert!(Picks::update(&path, |p| p.pick("s01", "../../etc")).unwrap_err().to_string().contains("take key"));
    }

    #[test]
    fn writers_at_once_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = Picks::path_for(&dir.path().join("ep.toml"));
        std::thread::scope(|s| {
            for writer in 0..4 {
                let path = &path;
                s.spawn(move || {
                    for n in 0..25 {
                        Picks::update(path, |p| p.set_favourite("s01", &key(writer * 100 + n), true)).unwrap();
                    }
                });
            }
        });
        assert_eq!(Picks::load(&path).unwrap().shot("s01").favourites.len(), 100);
    }

    #[test]
    fn a_damaged_file_is_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ep.toml.picks.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = Picks::update(&path, |p| p.pick("s01", &key(1))).unwrap_err().to_string();
        assert!(err.contains("not a picks file") && err.contains("move it aside"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    }
}
