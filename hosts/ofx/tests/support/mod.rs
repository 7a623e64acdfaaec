//! What the OFX tests share: the bundle and the test host built once, the
//! clips they render, and raw frames in and out.
#![allow(dead_code, unused_imports)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat};

pub(crate) const W: u32 = 160;
pub(crate) const H: u32 = 90;
pub(crate) const FRAMES: u32 = 6;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[path = "../../../../core/tests/support/process.rs"]
mod process;
pub(crate) use process::{ok, run, succeeded};
#[path = "../../../../core/tests/support/built.rs"]
mod built;
pub(crate) use built::built_library;

/// The bundle, built on its own and laid out as hosts look for it
/// (`hosts/ofx/bundle.sh`), once per test process.
pub(crate) fn bundle(_dir: &Path) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dest = root().join("target/ofx-test");
            let out = ok(Command::new("bash").arg(root().join("hosts/ofx/bundle.sh")).arg(&dest));
            let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            assert!(bundle.join("Contents/Linux-x86-64/Mattebox.ofx").exists(), "{}", bundle.display());
            bundle
        })
        .clone()
}

/// The test host, built with the sanitizers.
pub(crate) fn host(dir: &Path) -> PathBuf {
    let exe = dir.join("ofx_host");
    let source = root().join("hosts/ofx/harness/ofx_host.c");
    ok(Command::new("cc")
        .args([
            "-std=c11",
            "-g",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-pthread",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .args(["-ldl", "-lm"]));
    exe
}

pub(crate) fn host_cmd(exe: &Path, bundle: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg(bundle)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    cmd
}

/// A clip whose content moves 2 px left per frame: `FRAMES` frames of
/// `W` x `H`, as ffmpeg makes it.
pub(crate) fn clip(dir: &Path) -> PathBuf {
    let path = dir.join("clip.mkv");
    let source = format!("testsrc2=size=320x180:rate=24,crop={W}:{H}:x='20+2*n':y=40,format=rgb24");
    ok(Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", &source]).args([
        "-frames:v",
        &FRAMES.to_string(),
        "-c:v",
        "ffv1",
        path.to_str().unwrap(),
    ]));
    path
}

/// The clip's first `FRAMES` frames as the host's input: top-down RGBA
/// float32 raw files in `out`.
pub(crate) fn raw_frames(clip: &Path, out: &Path) -> PathBuf {
    raw_frames_n(clip, out, FRAMES as u64)
}

pub(crate) fn raw_frames_n(clip: &Path, out: &Path, count: u64) -> PathBuf {
    let out = out.to_owned();
    std::fs::create_dir_all(&out).unwrap();
    let mut reader = MediaReader::open(clip, &OpenOptions::default()).unwrap();
    for n in 0..count {
        let frame = reader.read_frame(n).unwrap().to_format(PixelFormat::Rgba32F).unwrap();
        std::fs::write(out.join(format!("frame_{n:04}.raw")), frame.as_bytes()).unwrap();
    }
    out
}

/// The `mattebox` command of the same build (the workspace builds it
/// before any test runs).
pub(crate) fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("mattebox");
    assert!(exe.exists(), "{} is missing: build it with `cargo build --release -p mattebox-cli`", exe.display());
    exe
}

pub(crate) fn read_raw(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub(crate) fn png_floats(path: &Path) -> Vec<f32> {
    let frame: Frame = MediaReader::open(path, &OpenOptions::default()).unwrap().read_frame(0).unwrap();
    let float = frame.to_format(PixelFormat::Rgba32F).unwrap();
    float.as_bytes().chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub(crate) fn sorted_pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.retain(|p| p.extension().is_some_and(|e| e == "png"));
    v.sort();
    v
}

/// A green-screen plate with a grey square moving right, and a background
/// clip (ffmpeg's testsrc2, panning), `FRAMES` frames each.
pub(crate) fn plate_and_background(dir: &Path) -> (PathBuf, PathBuf) {
    plate_with_noise_and_background(dir, false)
}

/// The same, the plate with strong temporal sensor noise when `noisy`
/// (ffmpeg's `noise` filter, about 12/255): the key then averages each
/// frame with the frames before it.
pub(crate) fn plate_with_noise_and_background(dir: &Path, noisy: bool) -> (PathBuf, PathBuf) {
    let plate = dir.join("plate.mkv");
    let noise = if noisy { ",noise=alls=20:allf=t" } else { "" };
    let square = format!(
        "color=c=0x1CB34A:s={W}x{H}:r=24[g];color=c=0x808080:s=40x30:r=24[s];[g][s]overlay=x='30+4*n':y=30{noise},format=rgb24"
    );
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", &square, "-frames:v", &FRAMES.to_string()])
        .args(["-c:v", "ffv1", plate.to_str().unwrap()]));
    let background = dir.join("background.mkv");
    let source = format!("testsrc2=size=320x180:rate=24,crop={W}:{H}:x='n':y=20,format=rgb24");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", &source, "-frames:v", &FRAMES.to_string()])
        .args(["-c:v", "ffv1", background.to_str().unwrap()]));
    (plate, background)
}

/// A real photo (scikit-image's coffee, from the calibration set `.ci/setup`
/// fetches) panned 2 px a frame by ffmpeg.
pub(crate) fn photo_clip(dir: &Path) -> PathBuf {
    let photo = root().join("target/tools/calibration/coffee.png");
    assert!(photo.exists(), "{} is missing: run `bash .ci/setup`", photo.display());
    let path = dir.join("photo.mkv");
    let vf = format!("crop=320:180:x='140+2*n':y=110,scale={W}:{H},format=rgb24");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-loop", "1", "-framerate", "24", "-i"])
        .arg(&photo)
        .args(["-frames:v", &FRAMES.to_string(), "-vf", &vf, "-c:v", "ffv1", path.to_str().unwrap()]));
    path
}

pub(crate) fn write_raw(path: &Path, frame: &[f32]) {
    let bytes: Vec<u8> = frame.iter().flat_map(|v| v.to_ne_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The pixel size of `w` x `h` at render scale `scale`, as hosts round it.
pub(crate) fn scaled(w: u32, h: u32, scale: f64) -> (u32, u32) {
    ((w as f64 * scale - 1e-9).ceil() as u32, (h as f64 * scale - 1e-9).ceil() as u32)
}

/// A top-down float RGBA frame area-averaged to `ow` x `oh`: each source
/// pixel weighs what each output pixel covers of it, as a host's proxy.
pub(crate) fn area_average(frame: &[f32], w: u32, h: u32, ow: u32, oh: u32) -> Vec<f32> {
    let (sx, sy) = (w as f64 / ow as f64, h as f64 / oh as f64);
    let mut out = vec![0.0f32; (ow * oh * 4) as usize];
    for oy in 0..oh as usize {
        let (y0, y1) = (oy as f64 * sy, ((oy + 1) as f64 * sy).min(h as f64));
        for ox in 0..ow as usize {
            let (x0, x1) = (ox as f64 * sx, ((ox + 1) as f64 * sx).min(w as f64));
            let (mut acc, mut total) = ([0.0f64; 4], 0.0);
            for y in y0.floor() as usize..(y1.ceil() as usize).min(h as usize) {
                let wy = y1.min(y as f64 + 1.0) - y0.max(y as f64);
                for x in x0.floor() as usize..(x1.ceil() as usize).min(w as usize) {
                    let weight = wy * (x1.min(x as f64 + 1.0) - x0.max(x as f64));
                    for c in 0..4 {
                        acc[c] += weight * frame[(y * w as usize + x) * 4 + c] as f64;
                    }
                    total += weight;
                }
            }
            for c in 0..4 {
                out[(oy * ow as usize + ox) * 4 + c] = (acc[c] / total) as f32;
            }
        }
    }
    out
}

/// Mean and largest absolute difference of two frames' samples, and the
/// 99th percentile.
pub(crate) fn differences(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    assert_eq!(a.len(), b.len(), "frames of different sizes");
    let mut d: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
    d.sort_by(f32::total_cmp);
    (d.iter().sum::<f32>() / d.len() as f32, d[d.len() * 99 / 100], d[d.len() - 1])
}
