//! `mattebox retime` and `mattebox interpolate` on clips made by the real
//! `ffmpeg` program. Clips show a bright bar at x = 4 x frame number, so
//! an output frame shows which source position it came from.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn mattebox(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).args(args.iter().map(|a| a.as_ref())).output().unwrap()
}

fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "mattebox failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A bar clip on a soft textured background, so optical flow has something
/// to hold on to, encoded with `codec`.
fn bar_clip(dir: &Path, name: &str, rate: &str, frames: u32, codec: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let src = format!(
        "color=c=gray:s=320x180:r={rate},format=rgb24,\
         geq=r='40+30*sin(X/7)*cos(Y/5)+if(between(X\\,N*4\\,N*4+5)\\,180\\,0)':\
         g='40+30*sin(X/9+1)*cos(Y/6)+if(between(X\\,N*4\\,N*4+5)\\,180\\,0)':\
         b='40+30*cos(X/8)*sin(Y/7)+if(between(X\\,N*4\\,N*4+5)\\,180\\,0)'"
    );
    let n = frames.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", &n];
    args.extend_from_slice(codec);
    let o = out.to_str().unwrap().to_owned();
    args.push(&o);
    ffmpeg(&args);
    out
}

/// Decodes every frame of a clip to RGB24 with ffmpeg.
fn frames_rgb(path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout.chunks_exact(w * h * 3).map(|c| c.to_vec()).collect()
}

/// The centre of the bar in a frame: brightness-weighted mean x of the row's bright pixels.
fn bar_centre(frame: &[u8], w: usize, y: usize) -> f64 {
    let row = &frame[y * w * 3..(y + 1) * w * 3];
    let (mut sum, mut weight) = (0.0, 0.0);
    for x in 0..w {
        let v = row[x * 3] as f64;
        if v > 150.0 {
            sum += x as f64 * v;
            weight += v;
        }
    }
    sum / weight
}

#[test]
fn twenty_four_to_sixty_moves_the_bar_smoothly() {
    let dir = tempfile::tempdir().unwrap();
    let input = bar_clip(dir.path(), "in.mp4", "24", 24, &["-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "4"]);
    let output = dir.path().join("out.mkv");
    let doc = json_ok(&mattebox(&[&"retime", &input, &"-o", &output, &"--fps", &"60", &"--json"]));
    let report = &doc["retime"];
    assert_eq!(report["output_frames"], 60, "1 s at 60 fps");
    assert_eq!(report["output_rate"], "60");
    assert_eq!(report["cuts"], serde_json::json!([]));
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", "stream=r_frame_rate,nb_read_frames", "-of", "csv=p=0"])
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "60/1,60");
    // Output frame j shows source position j * 24 / 60; the bar sits at 4 x position.
    let frames = frames_rgb(&output, 320, 180);
    for (j, frame) in frames.iter().enumerate().take(55) {
        let position = j as f64 * 24.0 / 60.0;
        let expected = 4.0 * position + 2.5;
        let got = bar_centre(frame, 320, 90);
        assert!((got - expected).abs() < 1.5, "output frame {j}: bar at {got:.2}, expected {expected:.2}");
    }
}

#[test]
fn png_sequence_in_four_times_slow_motion() {
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    bar_clip(&seq, "%04d.png", "24", 12, &[]);
    let output = dir.path().join("slow");
    let doc =
        json_ok(&mattebox(&[&"retime", &seq, &"-o", &output, &"--speed", &"0.25", &"--mode", &"fast", &"--json"]));
    assert_eq!(doc["retime"]["output_frames"], 48);
    assert_eq!(doc["retime"]["output_rate"], "24");
    let info = json_ok(&mattebox(&[&"info", &output, &"--json"]));
    assert_eq!(info["media"]["frame_count"], 48);
    // Every fourth output frame is a source frame, unchanged (PNG is lossless).
    for k in 0..12 {
        let src = std::fs::read(seq.join(format!("{:04}.png", k + 1))).unwrap();
        let out = std::fs::read(output.join(format!("frame_{:06}.png", 4 * k + 1))).unwrap();
        let (a, b) = (decode_png(&src), decode_png(&out));
        assert_eq!(a, b, "source frame {k} is output frame {}", 4 * k);
    }
}

fn decode_png(bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.png");
    std::fs::write(&p, bytes).unwrap();
    frames_rgb(&p, 320, 180).remove(0)
}

#[test]
fn cuts_are_reported_and_held_and_vectors_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = bar_clip(dir.path(), "a.mkv", "24", 10, &["-c:v", "ffv1"]);
    let b = dir.path().join("b.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=24",
        "-frames:v",
        "10",
        "-c:v",
        "ffv1",
        b.to_str().unwrap(),
    ]);
    let spliced = dir.path().join("spliced.mkv");
    ffmpeg(&[
        "-i",
        a.to_str().unwrap(),
        "-i",
        b.to_str().unwrap(),
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        "-c:v",
        "ffv1",
        spliced.to_str().unwrap(),
    ]);
    let vectors = dir.path().join("vectors");
    let output = dir.path().join("out.mkv");
    let doc = json_ok(&mattebox(&[
        &"retime",
        &spliced,
        &"-o",
        &output,
        &"--fps",
        &"48",
        &"--mode",
        &"fast",
        &"--vectors",
        &vectors,
        &"--json",
    ]));
    let report = &doc["retime"];
    assert_eq!(report["cuts"], serde_json::json!([9]), "the cut is between source frames 9 and 10");
    assert_eq!(report["held_at_cuts"], 1, "the one output frame between 9 and 10 holds frame 9");
    assert_eq!(report["output_frames"], 40);
    assert_eq!(report["vector_files"], 20);
    let names: Vec<String> =
        std::fs::read_dir(&vectors).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 20);
    assert!(vectors.join("vectors_000001.exr").exists() && vectors.join("vectors_000020.exr").exists());
    // The held frame is exactly source frame 9 (FFV1 is lossless).
    let (src, out) = (frames_rgb(&spliced, 320, 180), frames_rgb(&output, 320, 180));
    assert_eq!(out[19], src[9]);
    assert_eq!(out[18], src[9]);
    assert_eq!(out[20], src[10]);
}

#[test]
fn speed_ramp_from_a_curve_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = bar_clip(dir.path(), "in.mkv", "24", 24, &["-c:v", "ffv1"]);
    let curve = dir.path().join("ramp.txt");
    std::fs::write(&curve, "# normal speed, then a ramp into half speed\n0 1\n0.25 1\n0.75 0.5\n").unwrap();
    let output = dir.path().join("ramp.mkv");
    let doc = json_ok(&mattebox(&[&"retime", &input, &"-o", &output, &"--curve", &curve, &"--json"]));
    // Source used: 0.25 + 0.375 by 0.75 s, then 0.5 per second: 1 s of source at 0.75 + 0.375 / 0.5 = 1.5 s.
    assert_eq!(doc["retime"]["output_frames"], 36);
    let frames = frames_rgb(&output, 320, 180);
    assert_eq!(frames.len(), 36);
}

#[test]
fn bad_retime_requests() {
    let dir = tempfile::tempdir().unwrap();
    let input = bar_clip(dir.path(), "in.mkv", "24", 6, &["-c:v", "ffv1"]);
    let out = dir.path().join("o.mkv");
    let curve = dir.path().join("bad.txt");
    std::fs::write(&curve, "0 1\n1 0\n").unwrap();
    let cases: Vec<(Vec<&dyn AsRef<std::ffi::OsStr>>, i32, &str)> = vec![
        (vec![&"retime", &input, &"-o", &out, &"--curve", &curve], 2, "above zero"),
        (vec![&"retime", &input, &"-o", &out, &"--speed", &"0"], 2, "above zero"),
        (vec![&"retime", &input, &"-o", &out, &"--speed", &"-2"], 2, ""),
        (vec![&"retime", &input, &"-o", &out, &"--fps", &"30", &"--speed", &"0.5"], 2, "cannot be used with"),
        (vec![&"retime", &input, &"-o", &out], 2, "required"),
        (vec![&"retime", &input, &"-o", &out, &"--fps", &"30", &"--mode", &"smooth"], 2, "unknown mode"),
    ];
    for (args, code, needle) in cases {
        let result = mattebox(&args);
        let err = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(code), "{err}");
        assert!(err.contains(needle), "{err}");
    }
    let one = bar_clip(dir.path(), "one.mkv", "24", 1, &["-c:v", "ffv1"]);
    let result = mattebox(&[&"retime", &one, &"-o", &out, &"--fps", &"30"]);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("at least two frames"));
    assert!(!out.exists(), "nothing is written for a failed retime");
}

#[test]
fn interpolate_two_images() {
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    bar_clip(&seq, "%02d.png", "24", 5, &[]);
    // Frames 2 and 4 (bars at x = 8..13 and 16..21), away from the image
    // border: a strip uncovered at the very border is filled from the
    // neighbouring foreground's motion (a known limitation).
    let (a, b) = (seq.join("03.png"), seq.join("05.png"));
    let mid = dir.path().join("mid.png");
    for (t, expected) in [("0.5", 14.5), ("0.25", 12.5)] {
        json_ok(&mattebox(&[&"interpolate", &a, &b, &"--at", &t, &"-o", &mid, &"-y", &"--json"]));
        let got = bar_centre(&frames_rgb(&mid, 320, 180)[0], 320, 90);
        assert!((got - expected).abs() < 0.75, "at {t} the bar is centred at {expected}: got {got}");
    }
    // Bad input: out-of-range time, mismatched sizes.
    let r = mattebox(&[&"interpolate", &a, &b, &"--at", &"1.5", &"-o", &mid, &"-y"]);
    assert_eq!(r.status.code(), Some(2));
    let small = dir.path().join("small.png");
    ffmpeg(&["-i", a.to_str().unwrap(), "-vf", "scale=160:90", small.to_str().unwrap()]);
    let r = mattebox(&[&"interpolate", &a, &small, &"-o", &mid, &"-y"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("320x180 and 160x90"));
}

/// Raw bytes of an image or of every frame of a sequence, decoded by ffmpeg as `pix_fmt`.
fn decode_raw(input: &Path, pix_fmt: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(input)
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pix_fmt_of(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn alpha_16_bit_and_float_sequences_keep_alpha_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A textured bar on transparent black, moving 8 px a frame, in 16-bit RGBA PNGs.
    let src = d.join("src");
    std::fs::create_dir(&src).unwrap();
    let bar = "between(X\\,N*8\\,N*8+40)";
    let filter = format!(
        "color=c=black@0.0:s=160x120:r=24,format=rgba64le,\
         geq=r='if({bar}\\,40000+9000*sin(Y/3)\\,0)':g='if({bar}\\,20000+11000*cos(Y/4+X/5)\\,0)':\
         b='12345+X':a='if({bar}\\,65535\\,0)'"
    );
    ffmpeg(&["-f", "lavfi", "-i", &filter, "-frames:v", "8", src.join("f_%04d.png").to_str().unwrap()]);
    assert_eq!(pix_fmt_of(&src.join("f_0001.png")), "rgba64be");

    let out = d.join("out16");
    json_ok(&mattebox(&[&"retime", &src, &"-o", &out, &"--fps", &"48", &"--mode", &"quality", &"--json"]));
    let mid = out.join("frame_000002.png");
    assert_eq!(pix_fmt_of(&mid), "rgba64be", "16 bits in, 16 bits out");
    // A copied frame is the source, bit for bit.
    assert_eq!(decode_raw(&out.join("frame_000003.png"), "rgba64le"), decode_raw(&src.join("f_0002.png"), "rgba64le"));
    // The made frame has its bar half way (x = 4..44), opaque, with no ghost
    // of either end: alpha moved with the pixels, it was not cross-faded.
    let px = decode_raw(&mid, "rgba64le");
    let sample =
        |x: usize, c: usize| u16::from_le_bytes([px[(60 * 160 + x) * 8 + 2 * c], px[(60 * 160 + x) * 8 + 2 * c + 1]]);
    for x in 0..64 {
        let a = sample(x, 3);
        if (6..42).contains(&x) {
            assert!(a > 65_000, "x {x}: alpha {a} inside the bar");
        } else if !(2..48).contains(&x) {
            assert!(a < 500, "x {x}: alpha {a} outside the bar");
        }
    }
    // Blue runs 12345 + x, a ramp finer than 8 bits: it stays that fine.
    let off_grid = (60..100).filter(|&x| sample(x, 2) % 257 != 0).count();
    assert!(off_grid > 30, "only {off_grid} of 40 blue values are off the 8-bit grid");

    // The same as float EXR: float out, copied frames exact.
    let exr = d.join("exr");
    std::fs::create_dir(&exr).unwrap();
    ffmpeg(&[
        "-i",
        src.join("f_%04d.png").to_str().unwrap(),
        "-pix_fmt",
        "gbrapf32le",
        "-c:v",
        "exr",
        exr.join("f_%04d.exr").to_str().unwrap(),
    ]);
    let out = d.join("outf");
    json_ok(&mattebox(&[&"retime", &exr, &"-o", &out, &"--fps", &"48", &"--mode", &"quality", &"--json"]));
    let made = out.join("frame_000002.exr");
    assert!(made.exists(), "float frames are written as EXR");
    assert!(pix_fmt_of(&made).contains("f32") || pix_fmt_of(&made).contains("f16"), "{}", pix_fmt_of(&made));
    assert_eq!(
        decode_raw(&out.join("frame_000003.exr"), "gbrapf32le"),
        decode_raw(&exr.join("f_0002.exr"), "gbrapf32le")
    );
}

#[test]
fn held_frames_are_counted_and_filled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A 12 fps bar written at 24 fps: every second frame repeats the one
    // before, and H.264 adds its noise to the repeats.
    let held = bar_clip(d, "held.mp4", "12", 24, &["-vf", "fps=24", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    let info = json_ok(&mattebox(&[&"info", &held, &"--scan", &"--json"]));
    assert_eq!(info["media"]["repeated_frames"], 12, "{info}");
    let out = d.join("filled.mkv");
    let report =
        json_ok(&mattebox(&[&"retime", &held, &"-o", &out, &"--fill-duplicates", &"--mode", &"quality", &"--json"]));
    let retime = &report["retime"];
    assert_eq!(retime["repeats_filled"], 12, "{report}");
    assert_eq!(retime["output_frames"], 24, "the rate and length stay");
    assert_eq!(retime["output_rate"], "24");
    // Output frame j shows the bar where the 12 fps motion puts it at j / 24 s: x = 2j (+2.5 to its centre).
    let frames = frames_rgb(&out, 320, 180);
    for (j, frame) in frames.iter().enumerate().take(22) {
        let centre = bar_centre(frame, 320, 90);
        assert!((centre - (2.0 * j as f64 + 2.5)).abs() < 1.0, "frame {j}: bar at {centre:.1}");
    }
    // Only the last frame still repeats: nothing comes after it to move towards.
    let again = json_ok(&mattebox(&[&"info", &out, &"--scan", &"--json"]));
    assert_eq!(again["media"]["repeated_frames"], 1, "{again}");
    assert_ne!(frames[22], frames[21], "frame 22 is new, so the one repeat is frame 23");
    // A clip without repeats: nothing to fill, said so.
    let smooth = bar_clip(d, "smooth.mkv", "24", 12, &["-c:v", "ffv1"]);
    let report = json_ok(&mattebox(&[&"retime", &smooth, &"-o", &d.join("same.mkv"), &"--fill-duplicates", &"--json"]));
    assert_eq!(report["retime"]["repeats_filled"], 0);
    assert!(report["retime"]["notes"].to_string().contains("nothing to fill"), "{report}");
}

/// The `openjd_progress` values and `openjd_status` texts on standard error.
fn agent_lines(out: &Output) -> (Vec<f64>, Vec<String>) {
    let text = String::from_utf8_lossy(&out.stderr);
    let progress = text
        .lines()
        .filter_map(|l| l.strip_prefix("openjd_progress: "))
        .map(|p| p.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {p:?}")))
        .collect();
    let status = text.lines().filter_map(|l| l.strip_prefix("openjd_status: ")).map(str::to_owned).collect();
    (progress, status)
}

/// A farm agent (an Open Job Description session, a Slurm log) reads
/// progress from the output streams when they are not a terminal.
#[test]
fn progress_for_farm_agents() {
    let dir = tempfile::tempdir().unwrap();
    let input = bar_clip(dir.path(), "in.mp4", "24", 24, &["-c:v", "libx264", "-crf", "10"]);
    let output = dir.path().join("out.mkv");
    // Standard error is a pipe here, so `auto` prints agent lines.
    let out = mattebox(&[&"retime", &input, &"-o", &output, &"--fps", &"48"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (progress, status) = agent_lines(&out);
    assert!(progress.iter().all(|p| (0.0..=100.0).contains(p)), "{progress:?}");
    assert_eq!(progress.last(), Some(&100.0), "the last stage ends complete: {progress:?}");
    assert!(status.iter().any(|s| s == "retiming 48/48"), "{status:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("openjd_"), "the report on standard output stays clean");
    // Asked for with --json: the document stays one document.
    let out = mattebox(&[&"retime", &input, &"-o", &output, &"-y", &"--fps", &"48", &"--json", &"--progress=openjd"]);
    assert_eq!(json_ok(&out)["retime"]["output_frames"], 48);
    assert_eq!(agent_lines(&out).0.last(), Some(&100.0));
    // Not with --quiet, --json alone, or --progress=none.
    for quiet in [&["--quiet"][..], &["--json"], &["--progress=none"]] {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"retime", &input, &"-o", &output, &"-y", &"--fps=48"];
        args.extend(quiet.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let out = mattebox(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(agent_lines(&out), (vec![], vec![]), "{quiet:?}");
    }
    // A failure is an `openjd_fail` line, on one line.
    let out =
        mattebox(&[&"retime", &dir.path().join("missing.mp4"), &"-o", &output, &"--fps=48", &"--progress=openjd"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    let fail = text.lines().find_map(|l| l.strip_prefix("openjd_fail: ")).expect("an openjd_fail line");
    assert!(fail.contains("missing.mp4"), "{fail}");
}

/// `--mode neural` from the command line: RIFE's in-between frame of two
/// frames of a real clip equals the reference implementation's
/// (core/tests/fixtures/rife/, made by the weights' own PyTorch code), for
/// `retime` and `interpolate`; a missing model or a model that cannot make
/// the times asked for is a clear error naming what to do.
#[test]
fn neural_mode_equals_the_reference_and_says_what_is_missing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixtures = root.join("core/tests/fixtures/rife");
    let (model, library) =
        (root.join("target/tools/rife/rife-4.onnx"), root.join("target/tools/onnxruntime/libonnxruntime.so"));
    assert!(model.exists() && library.exists(), "run `bash .ci/setup`");
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    std::fs::copy(fixtures.join("a.png"), seq.join("0001.png")).unwrap();
    std::fs::copy(fixtures.join("b.png"), seq.join("0002.png")).unwrap();
    // `args` with `--mode neural --model MODEL --onnxruntime LIBRARY`.
    let neural = |args: &[&dyn AsRef<std::ffi::OsStr>], model: &Path, library: &Path| {
        let tail: [&dyn AsRef<std::ffi::OsStr>; 6] =
            [&"--mode", &"neural", &"--model", &model, &"--onnxruntime", &library];
        mattebox(&[args, &tail[..]].concat())
    };
    let out = dir.path().join("out");
    let doc = json_ok(&neural(
        &[&"retime", &seq, &"-o", &out, &"--fps", &"48", &"--input-fps", &"24", &"--json"],
        &model,
        &library,
    ));
    assert_eq!(doc["retime"]["mode"], "neural");
    let close = |made: &Path, reference: &str| {
        let (made, reference) =
            (frames_rgb(made, 176, 144).remove(0), frames_rgb(&fixtures.join(reference), 176, 144).remove(0));
        let worst = made.iter().zip(&reference).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 1, "{worst} steps from {reference:?}");
    };
    close(&out.join("frame_000002.png"), "rife4-t50.png");
    let mid = dir.path().join("mid.png");
    let (a, b) = (seq.join("0001.png"), seq.join("0002.png"));
    json_ok(&neural(&[&"interpolate", &a, &b, &"--at", &"0.25", &"-o", &mid, &"--json"], &model, &library));
    close(&mid, "rife4-t25.png");

    // No model anywhere: the error says how to make one.
    let home = tempfile::tempdir().unwrap();
    let r = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .args(["retime", seq.to_str().unwrap(), "-o", dir.path().join("x").to_str().unwrap(), "--fps", "48"])
        .args(["--mode", "neural"])
        .env_remove("MATTEBOX_RIFE_MODEL")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{said}");
    assert!(said.contains(".ci/setup") && said.contains("--model"), "{said}");
    // No ONNX Runtime where it is said to be: how to get it.
    let y = dir.path().join("y");
    let r = neural(&[&"retime", &seq, &"-o", &y, &"--fps", &"48"], &model, &home.path().join("libonnxruntime.so"));
    let said = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot load ONNX Runtime") && said.contains("--onnxruntime"), "{said}");
    // The halfway-only model asked for 24 to 60: refused before any frame is written.
    let hdv3 = root.join("target/tools/rife/rife-hdv3.onnx");
    let x = dir.path().join("sixty");
    let r = neural(&[&"retime", &seq, &"-o", &x, &"--fps", &"60"], &hdv3, &library);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("halfway"), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!x.exists(), "nothing is written");
    // The neural options without the neural mode are a usage error.
    let r = mattebox(&[&"retime", &seq, &"-o", &x, &"--fps", &"48", &"--model", &model]);
    assert_eq!(r.status.code(), Some(2));
}
