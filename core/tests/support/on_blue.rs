//! A real person on a blue screen, for tests of keeping the person inside
//! a screen key: a clip of a person (scikit-image's astronaut, made by the
//! test at the size it needs) matted by the person model (`mattebox
//! composite --key person --matte-out`) and laid over a flat blue screen by
//! that matte, with a patch of darker screen blue painted on her suit
//! (which no colour key can call foreground) and, if asked, sensor noise
//! drawn afresh each frame.

use std::path::Path;
use std::process::Command;

/// The screen's colour.
pub(crate) const SCREEN: &str = "0x1A40CC";

/// A plate to build.
pub(crate) struct OnBlue<'a> {
    /// The person's clip, lossless, at the plate's size and rate.
    pub person: &'a Path,
    pub size: (u32, u32),
    pub rate: u32,
    pub frames: u32,
    /// The strength of the temporal noise (ffmpeg's `noise=alls`), 0 for none.
    pub noise: u32,
    /// Where the patch of the screen's darker blue goes on her (x, y,
    /// width, height).
    pub patch: [u32; 4],
}

/// Writes `shot`'s plate to `plate` (FFV1), her matte made by the command
/// line `cli` with the model in `models` and ONNX Runtime's `library`.
pub(crate) fn person_on_blue(cli: &Path, models: &Path, library: &Path, shot: &OnBlue<'_>, plate: &Path) {
    let her = plate.with_extension("matte.mkv");
    let matted = Command::new(cli)
        .args(["composite", "-q", "--key", "person", "--models"])
        .arg(models)
        .arg("--onnxruntime")
        .arg(library)
        .arg("--plate")
        .arg(shot.person)
        .arg("--background")
        .arg(shot.person)
        .arg("--matte-out")
        .arg(&her)
        .arg("-o")
        .arg(plate.with_extension("composite.mkv"))
        .output()
        .expect("the command line runs");
    assert!(matted.status.success(), "mattebox: {}", String::from_utf8_lossy(&matted.stderr));
    let [x, y, w, h] = shot.patch;
    let noise = match shot.noise {
        0 => String::new(),
        n => format!(",noise=alls={n}:allf=t"),
    };
    let graph = format!(
        "[0]format=gbrp,drawbox=x={x}:y={y}:w={w}:h={h}:color=0x10287A:t=fill[fg];[1]format=gray,format=gbrp[mask];[2]format=gbrp[screen];\
         [screen][fg][mask]maskedmerge{noise},format=rgb24"
    );
    let screen = format!("color=c={SCREEN}:s={}x{}:r={}", shot.size.0, shot.size.1, shot.rate);
    let laid = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(shot.person)
        .arg("-i")
        .arg(&her)
        .args(["-f", "lavfi", "-i", &screen, "-filter_complex", &graph])
        .args(["-frames:v", &shot.frames.to_string(), "-c:v", "ffv1"])
        .arg(plate)
        .output()
        .expect("ffmpeg runs");
    assert!(laid.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&laid.stderr));
}
