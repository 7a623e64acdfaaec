//! The keying benchmark's plates, shared by the composite and person
//! benches: built once by `keying_plates.py` into `target/bench-data/keying`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the plates (Python; does nothing when they exist) and returns
/// their directory, which holds `grid.json`.
pub(crate) fn keying_plates(repo: &Path) -> PathBuf {
    let dir = repo.join("target/bench-data/keying");
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("python3")
        .arg(repo.join("core/benches/keying_plates.py"))
        .arg(&dir)
        .arg(repo.join("../shared"))
        .status()
        .expect("python3 is needed to build the keying plates")
        .success();
    assert!(ok, "keying_plates.py failed");
    dir
}
