//! The `mattebox` binary as a user runs it, on files made by the real
//! `ffmpeg` program, checked where possible by ffmpeg itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn mattebox(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).args(args.iter().map(|a| a.as_ref())).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "mattebox failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("--json prints one JSON document")
}

fn ffmpeg(args: &[&str]) -> Output {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn make(dir: &Path, name: &str, rate: &str, frames: u32, codec: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let src = format!("testsrc2=size=320x240:rate={rate}");
    let n = frames.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    args.extend_from_slice(codec);
    let p = path.to_str().unwrap().to_owned();
    args.push(&p);
    ffmpeg(&args);
    path
}

/// One MD5 per decoded frame, as ffmpeg computes it in RGB24.
fn frame_md5s(input: &str) -> Vec<String> {
    let out = ffmpeg(&["-i", input, "-f", "framemd5", "-pix_fmt", "rgb24", "-"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_owned()))
        .collect()
}

#[test]
fn every_subcommand_has_help() {
    let subcommands: [&[&str]; 12] = [
        &[],
        &["info"],
        &["convert"],
        &["demo"],
        &["interpolate"],
        &["retime"],
        &["composite"],
        &["generate"],
        &["score"],
        &["plugin"],
        &["plugin", "check"],
        &["plugin", "install"],
    ];
    for sub in subcommands {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = sub.iter().map(|s| s as &dyn AsRef<std::ffi::OsStr>).collect();
        args.push(&"--help");
        let text = ok(&mattebox(&args));
        assert!(text.contains("Usage: mattebox"), "{sub:?} --help:\n{text}");
    }
    assert!(ok(&mattebox(&[&"--version"])).starts_with("mattebox "));
}

#[test]
fn info_reports_each_container_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = make(dir.path(), "a.mp4", "24000/1001", 24, &["-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    let mov = make(dir.path(), "b.mov", "30000/1001", 12, &["-c:v", "prores_ks", "-pix_fmt", "yuv422p10le"]);
    let mkv = make(dir.path(), "c.mkv", "25", 10, &["-c:v", "ffv1"]);
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    make(&seq, "%04d.png", "24", 5, &[]);
    let cases = [
        (&mp4, "h264", "24000/1001", 24, "yuv420p", "rgba8"),
        (&mov, "prores", "30000/1001", 12, "yuv422p10le", "rgba16"),
        (&mkv, "ffv1", "25", 10, "", "rgba8"),
        (&seq, "png", "24", 5, "", "rgba8"),
    ];
    for (path, codec, rate, frames, pix, decoded) in cases {
        let doc = json(&mattebox(&[&"info", path, &"--json"]));
        let media = &doc["media"];
        assert_eq!(doc["ok"], true);
        assert_eq!(media["codec"], codec, "{doc}");
        assert_eq!(media["frame_rate"], rate, "{doc}");
        assert_eq!(media["frame_count"], frames, "{doc}");
        assert_eq!((media["width"].as_u64(), media["height"].as_u64()), (Some(320), Some(240)));
        assert_eq!(media["decoded_format"], decoded);
        if !pix.is_empty() {
            assert_eq!(media["source_pixel_format"], pix);
        }
    }
    let text = ok(&mattebox(&[&"info", &mp4]));
    assert!(text.contains("24000/1001 (23.976 fps)") && text.contains("24 (1.001 s)"), "{text}");
}

#[test]
fn convert_round_trip_is_lossless_on_the_png_leg_and_keeps_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = make(dir.path(), "in.mp4", "24000/1001", 30, &["-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    let pngs = dir.path().join("pngs");
    let mkv = dir.path().join("out.mkv");
    let doc = json(&mattebox(&[&"convert", &mp4, &pngs, &"--json"]));
    assert_eq!(doc["frames"], 30);
    assert_eq!(std::fs::read_dir(&pngs).unwrap().count(), 31, "30 PNGs and the sidecar");
    let doc = json(&mattebox(&[&"convert", &pngs, &mkv, &"--json"]));
    assert_eq!(doc["frame_rate"], "24000/1001");

    // ffmpeg, not Mattebox, checks that the FFV1 frames equal the PNGs bit for bit.
    let png_md5 = frame_md5s(pngs.join("frame_%06d.png").to_str().unwrap());
    let mkv_md5 = frame_md5s(mkv.to_str().unwrap());
    assert_eq!(png_md5.len(), 30);
    assert_eq!(png_md5, mkv_md5, "every FFV1 frame equals its PNG");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,r_frame_rate,nb_frames"])
        .args(["-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&mkv)
        .output()
        .unwrap();
    let probe = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.starts_with("ffv1,24000/1001"), "{probe}");
    assert!(probe.trim_end().ends_with(",30"), "ffprobe counts 30 frames: {probe}");

    // And back to the other two codecs, at the same rate.
    for name in ["back.mp4", "back.mov"] {
        let doc = json(&mattebox(&[&"convert", &mkv, &dir.path().join(name), &"--json"]));
        assert_eq!(doc["frames"], 30);
        let info = json(&mattebox(&[&"info", &dir.path().join(name), &"--json"]));
        assert_eq!(info["media"]["frame_rate"], "24000/1001", "{name}");
    }
}

#[test]
fn convert_reads_every_input_kind_that_ffmpeg_writes() {
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    make(&seq, "%04d.png", "24", 6, &[]);
    let inputs = [
        (
            make(dir.path(), "a.mp4", "24000/1001", 6, &["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
            "24000/1001",
            "rgba8",
        ),
        (
            make(dir.path(), "b.mov", "30000/1001", 6, &["-c:v", "prores_ks", "-pix_fmt", "yuv422p10le"]),
            "30000/1001",
            "rgba16",
        ),
        (make(dir.path(), "c.mkv", "25", 6, &["-c:v", "ffv1"]), "25", "rgba8"),
        (seq.clone(), "24", "rgba8"),
    ];
    for (i, (input, rate, format)) in inputs.iter().enumerate() {
        for output in [dir.path().join(format!("out{i}.mkv")), dir.path().join(format!("out{i}_seq"))] {
            let doc = json(&mattebox(&[&"convert", input, &output, &"--json"]));
            assert_eq!(doc["frames"], 6, "{}", input.display());
            assert_eq!(doc["format"], *format, "{}: bit depth is kept", input.display());
            let info = json(&mattebox(&[&"info", &output, &"--json"]));
            assert_eq!(info["media"]["frame_rate"], *rate, "{} -> {}", input.display(), output.display());
            assert_eq!(info["media"]["frame_count"], 6);
            assert_eq!(info["media"]["decoded_format"], *format, "{} -> {}", input.display(), output.display());
        }
    }
}

#[test]
fn bad_input_fails_with_code_1_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let out = mattebox(&[&"info", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.mp4"));

    let junk = dir.path().join("junk.mkv");
    std::fs::write(&junk, b"this is not a video").unwrap();
    let out = mattebox(&[&"info", &junk, &"--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "media");
    assert!(doc["error"]["message"].as_str().unwrap().contains("junk.mkv"));

    let mp4 = make(dir.path(), "a.mp4", "24", 4, &["-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    let bytes = std::fs::read(&mp4).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let out = mattebox(&[&"convert", &cut, &dir.path().join("x.mkv")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.mp4"));
    assert!(!dir.path().join("x.mkv").exists());

    // An existing output is kept unless -y is given.
    let target = dir.path().join("taken.mkv");
    std::fs::write(&target, b"keep me").unwrap();
    let out = mattebox(&[&"convert", &mp4, &target]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--overwrite"));
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    ok(&mattebox(&[&"convert", &mp4, &target, &"-y"]));
    assert_ne!(std::fs::read(&target).unwrap(), b"keep me");

    // An image whose header claims 100000x100000 pixels is refused before decoding.
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, png_header(100_000, 100_000)).unwrap();
    let out = mattebox(&[&"info", &huge]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("huge.png") && err.contains("100000x100000"), "{err}");

    // Odd sizes cannot be H.264 4:2:0; the message says what to do instead.
    let odd = make(dir.path(), "odd.mkv", "24", 2, &["-c:v", "ffv1", "-vf", "scale=175:143"]);
    let out = mattebox(&[&"convert", &odd, &dir.path().join("odd.mp4")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".mkv (FFV1)"));
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&dyn AsRef<std::ffi::OsStr>]; 8] = [
        &[&"frobnicate"],
        &[&"convert", &dir.path(), &"x.mkv", &"--format", &"yuv420p"],
        &[&"demo", &"--size", &"0x0"],
        &[&"demo", &"--size", &"100000x100000"],
        &[&"info"],
        &[&"info", &dir.path(), &"--fps", &"abc"],
        &[&"convert", &dir.path(), &"x.mkv", &"--codec", &"vp9"],
        &[&"--threads", &"5000", &"info", &dir.path()],
    ];
    for args in cases {
        let out = mattebox(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{:?}: {}",
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn demo_runs_offline_and_reports_each_output() {
    let dir = tempfile::tempdir().unwrap();
    let (out_dir, cache) = (dir.path().join("demo"), dir.path().join("cache"));
    let run = |seconds: &str| {
        let args: [&dyn AsRef<std::ffi::OsStr>; 10] = [
            &"--cache-dir",
            &cache,
            &"demo",
            &"--out",
            &out_dir,
            &"--size",
            &"320x180",
            &"--seconds",
            &seconds,
            &"--json",
        ];
        json(&mattebox(&args))
    };
    let doc = run("1");
    assert_eq!(doc["generated"]["frames"], 24);
    assert_eq!(doc["generated"]["fps"], "24000/1001");
    assert_eq!(doc["generated_from_cache"], false);
    assert_eq!(doc["composite"]["frames"], 24);
    // 24 frames at 24000/1001 cover 1.001 s: 61 frames at 60 fps, 96 at quarter speed.
    assert_eq!(doc["retime_60fps"]["output_frames"], 61);
    assert_eq!(doc["retime_60fps"]["output_rate"], "60");
    assert_eq!(doc["slow_motion"]["output_frames"], 96);
    for name in ["background.mp4", "plate.mkv", "composite.mp4", "composite-60fps.mp4", "composite-slowmo.mp4"] {
        assert!(out_dir.join(name).exists(), "{name}");
    }
    // The composite shows the actor's face in the middle and the generated
    // sky, not the green screen, in the top corner.
    let comp = out_dir.join("composite.mp4");
    let rgb =
        ffmpeg(&["-i", comp.to_str().unwrap(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]).stdout;
    let at = |x: usize, y: usize| [rgb[(y * 320 + x) * 3], rgb[(y * 320 + x) * 3 + 1], rgb[(y * 320 + x) * 3 + 2]];
    let (face, corner) = (at(160, 70), at(8, 8));
    assert!(face[0] > face[1] + 30 && face[0] > 150, "skin at the face: {face:?}");
    assert!(corner[1] < corner[2] + 20, "the corner is sky, not screen green: {corner:?}");
    // Running it again replaces its own outputs; the background comes from the take cache.
    let again = run("1");
    assert_eq!(again["generated_from_cache"], true);
    assert_eq!(again["generated"]["key"], doc["generated"]["key"]);
}

/// A PNG signature, an IHDR chunk for `width` x `height` RGBA8, and empty IDAT/IEND.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    for chunk in [&ihdr[..], b"IDAT", b"IEND"] {
        png.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
        png.extend_from_slice(chunk);
        png.extend_from_slice(&crc32(chunk).to_be_bytes());
    }
    png
}
