//! Farm chunks: `retime` and `composite` rendered as three `--frames`
//! ranges by three processes at once into one sequence, then joined with
//! `mattebox convert`, give the frames of one whole run exactly (8 bits,
//! bit for bit), with the source's sound; `--dry-run` says what a chunk
//! reads; a sequence with a chunk missing is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ffmpeg, json_ok};

mod common;

fn mattebox(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).args(args.iter().map(|a| a.as_ref())).output().unwrap()
}

/// Runs the same command for each frame range, all at once.
fn chunks_at_once(base: &[&dyn AsRef<std::ffi::OsStr>], ranges: &[&str]) {
    let children: Vec<_> = ranges
        .iter()
        .map(|r| {
            Command::new(env!("CARGO_BIN_EXE_mattebox"))
                .args(base.iter().map(|a| a.as_ref()))
                .args(["--frames", r, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        json_ok(&child.wait_with_output().unwrap());
    }
}

/// Every file of a directory, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    all.sort();
    all
}

/// A video's frames as raw RGB, decoded by ffmpeg.
fn rgb(video: &Path) -> Vec<u8> {
    ffmpeg(&["-i", video.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
}

/// The streams of a file: (codec type, frame rate, duration).
fn streams(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,r_frame_rate", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 3 s clip at 24 fps with a tone, moving texture and a cut at 1.5 s.
fn clip_with_sound(dir: &Path) -> PathBuf {
    let path = dir.join("in.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x180:r=24:d=1.5",
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=320x180:r=24",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:r=48000:d=3",
        "-filter_complex",
        "[1]trim=duration=1.5,setpts=PTS-STARTPTS[b];[0][b]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-map",
        "2",
        "-c:v",
        "libx264",
        "-crf",
        "12",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
    path
}

#[test]
fn a_retime_in_three_chunks_is_the_whole_retime() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip_with_sound(dir.path());
    let (whole, chunked) = (dir.path().join("whole.mkv"), dir.path().join("chunks"));
    let doc = json_ok(&mattebox(&[&"retime", &input, &"-o", &whole, &"--fps", &"60", &"--json"]));
    assert_eq!(doc["retime"]["output_frames"], 180);
    assert_eq!(doc["retime"]["cuts"], serde_json::json!([35]), "the cut is found");
    // What the template asks first: the frame count, and a chunk's reads.
    let plan = json_ok(&mattebox(&[
        &"retime",
        &input,
        &"-o",
        &chunked,
        &"--fps",
        &"60",
        &"--dry-run",
        &"--frames",
        &"61-120",
        &"--json",
    ]));
    assert_eq!(plan["dry_run"]["output_frames"], 180);
    assert_eq!(plan["dry_run"]["rendered"], serde_json::json!([61, 120]));
    let read = &plan["dry_run"]["source_read"];
    let (start, end) = (read["start"].as_u64().unwrap(), read["end"].as_u64().unwrap());
    assert!(start > 10 && start < 24 && end > 48 && end < 60, "a middle chunk reads its own part: {read}");
    assert!(!chunked.exists(), "a dry run writes nothing");
    chunks_at_once(&[&"retime", &input, &"-o", &chunked, &"--fps", &"60"], &["121-180", "1-60", "61-120"]);
    let joined = dir.path().join("joined.mkv");
    json_ok(&mattebox(&[&"convert", &chunked, &joined, &"--audio-file", &input, &"--json"]));
    assert_eq!(rgb(&joined), rgb(&whole), "the joined chunks are the whole run, bit for bit");
    assert_eq!(streams(&joined), streams(&whole), "the same streams: 60 fps video and the sound");
    assert!(streams(&joined).contains("audio"));
    // A chunk lost (a failed task): the sequence is refused, not half read.
    let frame = chunked.join("frame_000100.png");
    std::fs::remove_file(&frame).unwrap();
    let out = mattebox(&[&"convert", &chunked, &dir.path().join("half.mkv")]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("frame_000100.png is missing") && text.contains("unfinished"),
        "{text}"
    );
    // Rendering the chunk again (a retried task) completes it.
    json_ok(&mattebox(&[
        &"retime",
        &input,
        &"-o",
        &chunked,
        &"--fps",
        &"60",
        &"--frames",
        &"61-120",
        &"-y",
        &"--json",
    ]));
    json_ok(&mattebox(&[&"convert", &chunked, &dir.path().join("again.mkv"), &"--json"]));
    // Ranges outside the output are refused with the count.
    let out = mattebox(&[&"retime", &input, &"-o", &chunked, &"--fps", &"60", &"--frames", &"150-200"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has 180 frames (1 to 180)"));
    let out = mattebox(&[&"retime", &input, &"-o", &dir.path().join("x.mp4"), &"--fps", &"60", &"--frames", &"1-10"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("mattebox convert"));
}

/// A green screen plate with temporal noise (the key averages frames over
/// time, so a chunk must know the frames before it) and a camera that pans.
fn noisy_panning_plate(dir: &Path) -> PathBuf {
    let path = dir.join("plate.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=24:d=2",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x20c040:s=200x140:r=24:d=2",
        "-filter_complex",
        "[0][1]overlay=x=160:y=90,crop=320:180:x='60+t*40':y='40+t*12',noise=alls=10:allf=t",
        "-c:v",
        "libx264",
        "-crf",
        "16",
        "-pix_fmt",
        "yuv420p",
        path.to_str().unwrap(),
    ]);
    path
}

#[test]
fn a_composite_in_three_chunks_is_the_whole_composite() {
    let dir = tempfile::tempdir().unwrap();
    let plate = noisy_panning_plate(dir.path());
    let background = dir.path().join("bg.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=480x270:r=24",
        "-t",
        "2",
        "-c:v",
        "libx264",
        background.to_str().unwrap(),
    ]);
    let base: [&dyn AsRef<std::ffi::OsStr>; 6] =
        [&"composite", &"--plate", &plate, &"--background", &background, &"--key=green"];
    let (whole, chunked) = (dir.path().join("whole"), dir.path().join("chunks"));
    let (track_whole, track) = (dir.path().join("whole.json"), dir.path().join("track.json"));
    let mut args = base.to_vec();
    args.extend([&"-o" as &dyn AsRef<std::ffi::OsStr>, &whole, &"--camera-track", &track_whole, &"--json"]);
    let doc = json_ok(&mattebox(&args));
    assert!(doc["composite"]["screen_noise"][1].as_f64().unwrap() > 3.0, "a noisy plate: {doc}");
    // The farm's first task tracks the shot once.
    let mut args = base.to_vec();
    args.extend([&"-o" as &dyn AsRef<std::ffi::OsStr>, &chunked, &"--camera-track", &track, &"--dry-run", &"--json"]);
    let plan = json_ok(&mattebox(&args));
    assert_eq!(plan["dry_run"]["frames"], 48);
    assert_eq!(std::fs::read(&track).unwrap(), std::fs::read(&track_whole).unwrap(), "the track a whole run makes");
    let mut chunk = base.to_vec();
    chunk.extend([&"-o" as &dyn AsRef<std::ffi::OsStr>, &chunked, &"--camera-track", &track]);
    chunks_at_once(&chunk, &["33-48", "1-12", "13-32"]);
    let (a, b) = (files(&whole), files(&chunked));
    assert_eq!(a.len(), 49, "48 frames and the sidecar");
    assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between the whole run and the chunks");
    }
    // A chunk of a tracked shot without the shot's track is refused.
    let mut args = base.to_vec();
    args.extend([&"-o" as &dyn AsRef<std::ffi::OsStr>, &chunked, &"--track-camera", &"--frames", &"1-5", &"-y"]);
    let out = mattebox(&args);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--camera-track FILE"));
    // A damaged track is refused with what is wrong.
    std::fs::write(&track, r#"{"frames": [], "support": []}"#).unwrap();
    let out = mattebox(
        &chunk.iter().copied().chain([&"--frames" as &dyn AsRef<std::ffi::OsStr>, &"1-5", &"-y"]).collect::<Vec<_>>(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the track has 0 frames but the plate 48"));
}
