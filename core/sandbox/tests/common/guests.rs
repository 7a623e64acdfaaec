//! Builds the guest adapters for wasm32-wasip2 with the cargo running the
//! tests, once per test process. Shared by the sandbox's and the command
//! line's tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|p| p.join("plugins/wit").is_dir()).unwrap().to_owned()
}

fn build(manifest: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--locked", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(manifest)
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "building {} for wasm32-wasip2 failed (rustup target add wasm32-wasip2?)",
        manifest.display()
    );
}

/// The hostile test component and the example adapter's directory.
pub(crate) fn guests() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        build(&repo().join("plugins/Cargo.toml"));
        build(&repo().join("examples/adapter-rust/Cargo.toml"));
        (repo().join("plugins/target/wasm32-wasip2/release/hostile.wasm"), repo().join("examples/adapter-rust"))
    })
}
