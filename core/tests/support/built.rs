//! Finding what this test's build made beside it. Shared by the test crates
//! through `#[path]`.
#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;

/// The shared library `file` (`libmattebox.so`, say) of this test's build:
/// in deps/ under `cargo test`, one level up after `cargo build`. Panics
/// with `how` to build it when it is in neither.
pub(crate) fn built_library(file: &str, how: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    [deps.join(file), deps.parent().unwrap().join(file)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{file} is missing: {how}"))
}
