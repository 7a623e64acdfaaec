//! Helpers the command-line tests share: run the real `ffmpeg`, read
//! `--json` output. Not every test file uses every helper.
#![allow(dead_code)]

use std::process::{Command, Output};

use serde_json::Value;

/// The JSON document a successful `--json` run printed.
pub(crate) fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "mattebox failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// Runs `ffmpeg ARGS` (quiet, overwriting) and returns what it wrote to stdout.
pub(crate) fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A real photo from the calibration set (scikit-image's data folder, put
/// in `target/tools/calibration` by `.ci/setup`, or `MATTEBOX_CALIBRATION_DIR`).
pub(crate) fn calibration_photo(name: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("MATTEBOX_CALIBRATION_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/calibration"));
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run `bash .ci/setup`", path.display());
    path
}
