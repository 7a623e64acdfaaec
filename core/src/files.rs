//! Reading files nobody vouches for (an adapter's manifest and component,
//! which may be a link to `/dev/zero`, a FIFO that never answers, a sparse
//! file of a terabyte, or a link to a file elsewhere on the disk).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Reads `path`, which must resolve to a regular file inside `folder` and
/// hold at most `max_bytes`. Links are followed only while they stay inside
/// the folder; the file is opened without blocking (a FIFO is refused, not
/// waited on) and its size is checked on the open file before reading.
pub fn read_inside(path: &Path, folder: &Path, max_bytes: u64, what: &str) -> Result<Vec<u8>> {
    let not_found = |e: std::io::Error| Error::io(path, &format!("read the {what}"), e);
    // Resolves every link on the way; the result has none left.
    let real: PathBuf = path.canonicalize().map_err(not_found)?;
    let folder = folder.canonicalize().map_err(|e| Error::io(folder, "open the folder", e))?;
    if !real.starts_with(&folder) {
        return Err(Error::invalid_argument(format!(
            "{}: the {what} leads outside the adapter's folder (to {}); ship the file itself, not a link",
            path.display(),
            real.display()
        )));
    }
    let file = open_nonblocking(&real).map_err(not_found)?;
    let meta = file.metadata().map_err(not_found)?;
    if !meta.is_file() {
        return Err(Error::invalid_argument(format!(
            "{}: the {what} is not a regular file (a device, FIFO or socket)",
            path.display()
        )));
    }
    if meta.len() > max_bytes {
        return Err(Error::invalid_argument(format!(
            "{}: the {what} is {} bytes, larger than the {} bytes allowed",
            path.display(),
            meta.len(),
            max_bytes
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(not_found)?;
    if bytes.len() as u64 > max_bytes {
        // It grew while being read.
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{}: the {what} is larger than the {max_bytes} bytes allowed", path.display()),
        ));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. O_NOFOLLOW: the path was resolved; a link swapped in since is refused.
    std::fs::File::options().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_folder_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("a.toml");
        std::fs::write(&inside, b"hello").unwrap();
        assert_eq!(read_inside(&inside, dir.path(), 5, "manifest").unwrap(), b"hello");
        let err = read_inside(&inside, dir.path(), 4, "manifest").unwrap_err();
        assert!(err.to_string().contains("larger than the 4 bytes"), "{err}");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
        let err = read_inside(&dir.path().join("zero"), dir.path(), 5, "manifest").unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        let err = read_inside(Path::new("/dev/zero"), Path::new("/dev"), 5, "manifest").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::os::unix::fs::symlink("a.toml", dir.path().join("link")).unwrap();
        assert_eq!(read_inside(&dir.path().join("link"), dir.path(), 5, "manifest").unwrap(), b"hello");
    }
}
