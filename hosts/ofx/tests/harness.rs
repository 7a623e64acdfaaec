//! Mattebox.ofx.bundle driven by our headless OFX host (`harness/ofx_host.c`,
//! built with AddressSanitizer and UndefinedBehaviorSanitizer): described in
//! every context, rendered with several threads at every pixel depth, and
//! compared with the command line's output for the same operation. Plus
//! the bundle's shape: binary name, exported and undefined symbols.

use std::path::{Path, PathBuf};
use std::process::Command;

use mattebox_core::media::{MediaReader, OpenOptions};

#[path = "../../../core/tests/support/cut_clip.rs"]
mod cut_clip;
#[path = "../../../core/sandbox/tests/common/guests.rs"]
mod guests;
#[path = "../../../core/tests/support/on_blue.rs"]
mod on_blue;
mod support;
use mattebox_core::{Frame, PixelFormat};
use on_blue::{OnBlue, person_on_blue};
use support::*;

/// The command line's 2x slow motion of `clip` in quality mode, as a PNG
/// sequence in `out`.
fn cli_slow_motion(clip: &Path, out: &Path) -> Vec<PathBuf> {
    ok(Command::new(cli())
        .arg("retime")
        .arg(clip)
        .arg("-o")
        .arg(out)
        .args(["--speed", "0.5", "--mode", "quality", "-q"]));
    sorted_pngs(out)
}

/// Output frame `index` of a 2x slow motion (quality mode) computed by the
/// core directly on the clip's frames in `format`, as float samples.
fn core_retime(clip: &Path, format: PixelFormat, index: u64) -> Vec<f32> {
    use mattebox_core::Rational;
    use mattebox_core::interp::retime::{RetimeSpec, plan};
    use mattebox_core::interp::{FlowPair, Mode, interpolate_with};
    let mut reader = MediaReader::open(clip, &OpenOptions::default()).unwrap();
    let rate = reader.info().frame_rate;
    let planned = plan(rate, FRAMES as u64, None, &RetimeSpec::Speed(Rational::new(1, 2).unwrap())).unwrap().frames
        [index as usize];
    let a = reader.read_frame(planned.source).unwrap().to_format(format).unwrap();
    let result = if planned.fraction == 0.0 {
        a
    } else {
        let b = reader.read_frame(planned.source + 1).unwrap().to_format(format).unwrap();
        let pair = FlowPair::compute(&a.view(), &b.view(), Mode::Quality).unwrap();
        let mut out = Frame::new(W, H, format).unwrap();
        interpolate_with(&a.view(), &b.view(), &pair, planned.fraction as f32, &mut out.view_mut()).unwrap();
        out
    };
    let float = result.to_format(PixelFormat::Rgba32F).unwrap();
    float.as_bytes().chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn the_bundle_describes_every_effect_in_every_context() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let out = ok(host_cmd(&exe, &bundle).arg("describe"));
    let text = String::from_utf8_lossy(&out.stdout);
    // Versions change with descriptions (see the next test); the rest may not.
    let plugin_line =
        |id: &str| text.lines().find(|l| l.starts_with(&format!("plugin {id} "))).unwrap_or("").to_owned();
    assert!(
        plugin_line("io.mattebox.Retime").ends_with("\"Mattebox Retime\" threads=OfxImageEffectRenderFullySafe"),
        "{text}"
    );
    // Each plugin's block: its line, then one line per context (with the
    // properties of everything described, indented further).
    let block = |id: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with(&format!("plugin {id} ")))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter(|l| l.starts_with("  context"))
            .map(str::to_owned)
            .collect()
    };
    let retime = block("io.mattebox.Retime");
    assert_eq!(retime.len(), 2, "filter and general: {text}");
    for line in &retime {
        assert!(line.contains("Source") && line.contains("Output") && line.contains("speed"), "{line}");
    }
    assert!(plugin_line("io.mattebox.Composite").contains("\"Mattebox Composite\""), "{text}");
    let composite = block("io.mattebox.Composite");
    assert_eq!(composite.len(), 1, "{text}");
    assert!(composite[0].contains("OfxImageEffectContextGeneral"), "{}", composite[0]);
    for clip in ["Plate", "Background", "Matte", "Output", "matchColour", "lightWrap"] {
        assert!(composite[0].contains(clip), "{clip}: {}", composite[0]);
    }
    let consistency = block("io.mattebox.Consistency");
    assert_eq!(consistency.len(), 2, "filter and general: {text}");
    assert!(consistency[1].contains("Reference") && consistency[1].contains("writeReport"), "{}", consistency[1]);
    let generate = block("io.mattebox.Generate");
    assert_eq!(generate.len(), 2, "generator and general: {text}");
    assert!(
        generate[0].contains("OfxImageEffectContextGenerator") && generate[0].contains("generate"),
        "{}",
        generate[0]
    );
    assert!(generate[1].contains("FirstFrame") && generate[1].contains("LastFrame"), "{}", generate[1]);
}

/// Hosts cache descriptions by identifier and version: a description that
/// changes without a new version is never seen. The full description (every
/// property of every effect, clip and parameter, as the test host prints
/// it) is kept in `hosts/ofx/descriptions.txt`; when it changes, each
/// changed plugin's version must change too. `MATTEBOX_BLESS=1` rewrites
/// the file once the versions are bumped.
#[test]
fn every_description_change_comes_with_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let out = ok(host_cmd(&exe, &bundle).arg("describe"));
    let now = String::from_utf8_lossy(&out.stdout).into_owned();
    let path = root().join("hosts/ofx/descriptions.txt");
    if std::env::var_os("MATTEBOX_BLESS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    // Per plugin: (identifier, version, the rest of its block).
    let plugins = |text: &str| -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("plugin ") {
                let mut parts = rest.splitn(3, ' ');
                let (id, version) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
                out.push((id, version, format!("{}\n", parts.next().unwrap_or(""))));
            } else if let Some(last) = out.last_mut() {
                last.2.push_str(line);
                last.2.push('\n');
            }
        }
        out
    };
    let (now_plugins, kept_plugins) = (plugins(&now), plugins(&kept));
    for (id, version, body) in &now_plugins {
        match kept_plugins.iter().find(|(k, _, _)| k == id) {
            Some((_, kept_version, kept_body)) if kept_body != body && kept_version == version => panic!(
                "the description of {id} changed but its version is still {version}: hosts would keep the old \
                 one. Bump VERSION_MINOR in hosts/ofx/src/lib.rs, then run this test with MATTEBOX_BLESS=1"
            ),
            Some((_, kept_version, kept_body)) if kept_body != body || kept_version != version => {
                panic!("{id} is now version {version} with a new description: record it with MATTEBOX_BLESS=1")
            }
            Some(_) => {}
            None => panic!("{id} is new: record its description with MATTEBOX_BLESS=1"),
        }
    }
    assert_eq!(now_plugins.len(), kept_plugins.len(), "a plugin went away: re-record with MATTEBOX_BLESS=1");
}

#[test]
fn retime_matches_the_command_line_at_every_depth_with_several_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let clip = clip(dir.path());
    let input = raw_frames(&clip, &dir.path().join("in"));
    let cli_frames = cli_slow_motion(&clip, &dir.path().join("cli"));
    assert!(cli_frames.len() >= 10, "{} CLI frames", cli_frames.len());
    // 8-bit frames take the command line's own path and must match it
    // exactly. Float and 16-bit frames must match the core run on frames of
    // that depth exactly, and the command line loosely: the flow is computed
    // from other numbers, so a few pixels on moving edges differ.
    for (depth, exact) in [("byte", true), ("float", false), ("short", false)] {
        let out = dir.path().join(format!("ofx_{depth}"));
        std::fs::create_dir_all(&out).unwrap();
        let result = ok(host_cmd(&exe, &bundle)
            .args(["render", "io.mattebox.Retime", "OfxImageEffectContextFilter"])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(&out)
            .args(["--threads", "4", "--depth", depth, "speed=50", "mode=3"]));
        let text = String::from_utf8_lossy(&result.stdout);
        assert!(text.contains(&format!("rendered {} frames", cli_frames.len())), "{depth}: {text}");
        for (i, cli) in cli_frames.iter().enumerate() {
            let ofx = read_raw(&out.join(format!("frame_{i:04}.raw")));
            let cli = png_floats(cli);
            assert_eq!(ofx.len(), cli.len());
            let mut diffs: Vec<f32> = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).collect();
            diffs.sort_by(f32::total_cmp);
            let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
            let p99 = diffs[diffs.len() * 99 / 100];
            let worst = diffs[diffs.len() - 1];
            let what = format!("{depth} frame {i} against the CLI: mean {mean}, 99th percentile {p99}, max {worst}");
            if exact {
                assert!(worst <= 0.5 / 255.0, "{what}");
            } else {
                assert!(mean <= 0.5 / 255.0 && p99 <= 8.0 / 255.0, "{what}");
                let format = if depth == "float" { PixelFormat::Rgba32F } else { PixelFormat::Rgba16 };
                let core = core_retime(&clip, format, i as u64);
                let worst = ofx.iter().zip(&core).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-4, "{depth} frame {i} differs from the core's own result by {worst}");
            }
        }
    }
}

#[test]
fn retime_across_real_cuts_matches_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let clip = cut_clip::cut_clip(dir.path());
    let input = raw_frames_n(&clip, &dir.path().join("in"), cut_clip::FRAMES);
    let cli_frames = cli_slow_motion(&clip, &dir.path().join("cli"));
    assert_eq!(cli_frames.len() as u64, 2 * cut_clip::FRAMES);
    // The frame halfway across each cut holds the frame before it.
    for cut in cut_clip::CUTS {
        let held = png_floats(&cli_frames[2 * cut as usize + 1]);
        let before = read_raw(&input.join(format!("frame_{cut:04}.raw")));
        let worst = held.iter().zip(&before).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 0.5 / 255.0, "the CLI's frame across cut {cut} is made, not held ({worst})");
    }
    let out = dir.path().join("ofx");
    std::fs::create_dir_all(&out).unwrap();
    let (w, h) = cut_clip::SIZE;
    ok(host_cmd(&exe, &bundle)
        .args(["render", "io.mattebox.Retime", "OfxImageEffectContextFilter"])
        .arg(&input)
        .args([&cut_clip::FRAMES.to_string(), &w.to_string(), &h.to_string()])
        .arg(&out)
        .args(["--threads", "3", "--depth", "byte", "speed=50", "mode=3"]));
    for (i, cli) in cli_frames.iter().enumerate() {
        let ofx = read_raw(&out.join(format!("frame_{i:04}.raw")));
        let cli = png_floats(cli);
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 0.5 / 255.0, "frame {i}: the OFX effect differs from the command line by {worst}");
    }
}

#[test]
fn motion_vectors_measure_the_motion() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let out = dir.path().join("vectors");
    std::fs::create_dir_all(&out).unwrap();
    ok(host_cmd(&exe, &bundle)
        .args(["render", "io.mattebox.Retime", "OfxImageEffectContextGeneral"])
        .arg(&input)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(&out)
        .args(["--threads", "2", "speed=100", "result=1"]));
    // Content moves 2 px left a frame: u = -2 in red, v = 0 in green.
    let first = read_raw(&out.join("frame_0000.raw"));
    let mut u: Vec<f32> = first.chunks_exact(4).map(|p| p[0]).collect();
    let mut v: Vec<f32> = first.chunks_exact(4).map(|p| p[1]).collect();
    u.sort_by(f32::total_cmp);
    v.sort_by(f32::total_cmp);
    let (mu, mv) = (u[u.len() / 2], v[v.len() / 2]);
    assert!((mu + 2.0).abs() < 0.3 && mv.abs() < 0.3, "median flow ({mu}, {mv})");
}

#[test]
fn bad_input_gets_a_message_and_the_host_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let out = dir.path().join("bad");
    std::fs::create_dir_all(&out).unwrap();
    let render = |extra: &[&str]| {
        run(host_cmd(&exe, &bundle)
            .args(["render", "io.mattebox.Retime", "OfxImageEffectContextFilter"])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(&out)
            .args(extra))
    };
    // A panic inside an action (the test hook's) comes back as a failed
    // action with a message, through the statically linked unwinder.
    let panicked = run(host_cmd(&exe, &bundle)
        .env("MATTEBOX_OFX_TEST_PANIC", "1")
        .args(["render", "io.mattebox.Retime", "OfxImageEffectContextFilter"])
        .arg(&input)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(&out));
    let text = String::from_utf8_lossy(&panicked.stdout);
    assert_eq!(panicked.status.code(), Some(1), "{text}\n{}", String::from_utf8_lossy(&panicked.stderr));
    assert!(text.contains("internal error in OfxActionCreateInstance: a test panic"), "{text}");
    // An unconnected Source: the actions fail with a message, nothing crashes.
    let unconnected = render(&["--unconnected"]);
    let text = String::from_utf8_lossy(&unconnected.stdout);
    assert_eq!(unconnected.status.code(), Some(1), "{text}\n{}", String::from_utf8_lossy(&unconnected.stderr));
    assert!(text.contains("message OfxMessageError: Mattebox: the Source clip is not connected"), "{text}");
    // A zero-size render window renders nothing and succeeds.
    let empty = render(&["--window", "0,0,0,0", "speed=50"]);
    assert!(empty.status.success(), "{}", String::from_utf8_lossy(&empty.stderr));
    // A window outside the region of definition, or half outside: nothing is
    // written out of the image's bounds (AddressSanitizer would say), and the
    // part inside is rendered.
    let outside = render(&["--window", "1000,1000,1200,1100", "speed=50"]);
    assert!(outside.status.success(), "{}", String::from_utf8_lossy(&outside.stderr));
    let half = render(&["--window", &format!("-50,-50,{},{}", W / 2, H / 2), "speed=50"]);
    assert!(half.status.success(), "{}", String::from_utf8_lossy(&half.stderr));
    // Frame 1 lies between two source frames, so it is rendered (not an
    // identity). OFX's y runs up: the window is the frame's bottom-left
    // quarter; the rest of the (zeroed) output stays untouched.
    let frame = read_raw(&out.join("frame_0001.raw"));
    let alpha = |x: u32, y: u32| frame[((y * W + x) * 4 + 3) as usize];
    assert_eq!(alpha(10, H - 10), 1.0, "inside the window: rendered");
    assert_eq!(alpha(W - 10, 10), 0.0, "outside the window: untouched");
    assert_eq!(alpha(W / 2 + 1, H - 10), 0.0, "right of the window: untouched");
}

#[test]
fn the_binary_exports_only_the_entry_points_and_needs_only_the_c_library() {
    let dir = tempfile::tempdir().unwrap();
    let binary = bundle(dir.path()).join("Contents/Linux-x86-64/Mattebox.ofx");
    let defined = ok(Command::new("nm").args(["-D", "--defined-only"]).arg(&binary));
    let exported: Vec<String> = String::from_utf8_lossy(&defined.stdout)
        .lines()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            (parts.len() == 3 && parts[1] != "A").then(|| parts[2].to_owned())
        })
        .collect();
    let mut exported_sorted = exported.clone();
    exported_sorted.sort();
    assert_eq!(exported_sorted, ["OfxGetNumberOfPlugins", "OfxGetPlugin"], "{exported:?}");
    let undefined = ok(Command::new("nm").args(["-D", "--undefined-only"]).arg(&binary));
    // Only the C library's (versioned GLIBC_), and the weak hooks every
    // shared object carries; the unwinder is linked in statically.
    let foreign: Vec<String> = String::from_utf8_lossy(&undefined.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .filter(|s| !(s.contains("@GLIBC_") || s.starts_with("__gmon_start__") || s.starts_with("_ITM_")))
        .collect();
    assert!(foreign.is_empty(), "symbols from beyond the C library: {foreign:?}");
    let needed = ok(Command::new("readelf").arg("-d").arg(&binary));
    for line in String::from_utf8_lossy(&needed.stdout).lines().filter(|l| l.contains("(NEEDED)")) {
        let allowed = ["libc.so", "libm.so", "libpthread.so", "libdl.so", "ld-linux"];
        assert!(allowed.iter().any(|a| line.contains(a)), "needs {line}");
    }
}

#[test]
fn composite_matches_the_command_line_and_renders_its_matte() {
    composite_matches_the_command_line(false);
}

#[test]
fn a_noisy_plate_rendered_on_three_threads_matches_the_command_line_s_sequence() {
    // Each frame's key is averaged with the frames before it: rendered out
    // of order, the effect fetches them (declared in frames needed) and
    // must come to what the command line's sequential render did.
    composite_matches_the_command_line(true);
}

fn composite_matches_the_command_line(noisy: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let (plate, background) = plate_with_noise_and_background(dir.path(), noisy);
    let plate_raw = raw_frames(&plate, &dir.path().join("plate_raw"));
    let bg_raw = raw_frames(&background, &dir.path().join("bg_raw"));
    let cli_out = dir.path().join("cli");
    ok(Command::new(cli())
        .args(["composite", "--plate"])
        .arg(&plate)
        .arg("--background")
        .arg(&background)
        .arg("-o")
        .arg(&cli_out)
        .args(["--match-colour", "0.5", "--light-wrap", "0.3", "-q"]));
    let cli_frames = sorted_pngs(&cli_out);
    assert_eq!(cli_frames.len(), FRAMES as usize);
    let render = |out: &Path, depth: &str, extra: &[&str]| {
        std::fs::create_dir_all(out).unwrap();
        ok(host_cmd(&exe, &bundle)
            .args(["render", "io.mattebox.Composite", "OfxImageEffectContextGeneral"])
            .arg(&plate_raw)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(out)
            .args(["--main-clip", "Plate", "--clip"])
            .arg(format!("Background={}", bg_raw.display()))
            .args(["--threads", "3", "--depth", depth, "matchColour=0.5", "lightWrap=0.3"])
            .args(extra))
    };
    for depth in ["byte", "float"] {
        let out = dir.path().join(format!("ofx_{depth}"));
        render(&out, depth, &[]);
        for (i, cli) in cli_frames.iter().enumerate() {
            let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
            let mut diffs: Vec<f32> = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).collect();
            diffs.sort_by(f32::total_cmp);
            let (mean, worst) = (diffs.iter().sum::<f32>() / diffs.len() as f32, diffs[diffs.len() - 1]);
            // 8-bit frames take the command line's path; float frames are
            // composited in float and differ by rounding only.
            let limit = if depth == "byte" { 0.5 / 255.0 } else { 1.5 / 255.0 };
            assert!(worst <= limit, "{depth} frame {i}: mean {mean}, max {worst} against the CLI");
        }
    }
    // The matte output: the square is foreground, the green screen is not.
    let matte_out = dir.path().join("matte");
    render(&matte_out, "float", &["result=1"]);
    let matte = read_raw(&matte_out.join("frame_0002.raw"));
    let at = |x: u32, y: u32| matte[((y * W + x) * 4) as usize];
    assert!(at(30 + 8 + 20, 45) > 0.95 && at(5, 5) < 0.05, "square {} screen {}", at(58, 45), at(5, 5));
}

#[test]
fn composite_with_a_host_matte_and_without_a_background_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let (plate, background) = plate_and_background(dir.path());
    let plate_raw = raw_frames(&plate, &dir.path().join("plate_raw"));
    let bg_raw = raw_frames(&background, &dir.path().join("bg_raw"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let base = || {
        let mut cmd = host_cmd(&exe, &bundle);
        cmd.args(["render", "io.mattebox.Composite", "OfxImageEffectContextGeneral"])
            .arg(&plate_raw)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(&out)
            .args(["--main-clip", "Plate"]);
        cmd
    };
    // Key: Matte clip, with the plate itself as the matte (its luma): bright
    // grey square over a darker green screen, so something keys through.
    ok(base()
        .arg("--clip")
        .arg(format!("Background={}", bg_raw.display()))
        .arg("--clip")
        .arg(format!("Matte={}", plate_raw.display()))
        .args(["key=3"]));
    // Key: Matte clip without a Matte input: a message, not a crash.
    let missing = run(base().arg("--clip").arg(format!("Background={}", bg_raw.display())).args(["key=3"]));
    let text = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains("the Matte clip is not connected"), "{text}");
    // No Background: a message, not a crash.
    let missing = run(&mut base());
    let text = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains("Background"), "{text}");
}

/// Key: Person on a real person with no screen (scikit-image's astronaut
/// with sensor noise drawn afresh each frame), rendered on three threads
/// (frames out of order, each averaged with the frames before it, which the
/// effect fetches), with the model found as a plugin finds it
/// (`$MATTEBOX_MODELS`): every frame equals `mattebox composite --key
/// person`'s, and the matte keeps her and clears the room. Without the model
/// the render fails saying where to put it.
#[test]
fn key_person_matches_the_command_line_and_names_a_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let (side, frames) = (384u32, 4u64);
    let photo = root().join("target/tools/calibration/astronaut.png");
    assert!(photo.exists(), "{} is missing: run `bash .ci/setup`", photo.display());
    let plate = dir.path().join("astronaut.mkv");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-loop", "1", "-framerate", "24", "-i"])
        .arg(&photo)
        .args(["-vf", &format!("scale={side}:{side},noise=alls=8:allf=t,format=rgb24")])
        .args(["-frames:v", &frames.to_string(), "-c:v", "ffv1"])
        .arg(&plate));
    let background = dir.path().join("background.mkv");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={side}x{side}:rate=24,format=rgb24"))
        .args(["-frames:v", &frames.to_string(), "-c:v", "ffv1"])
        .arg(&background));
    let plate_raw = raw_frames_n(&plate, &dir.path().join("plate_raw"), frames);
    let bg_raw = raw_frames_n(&background, &dir.path().join("bg_raw"), frames);
    let tools = root().join("target/tools");
    let models = root().join("../shared/models");
    let cli_out = dir.path().join("cli");
    ok(Command::new(cli())
        .args(["composite", "--key", "person", "--models"])
        .arg(&models)
        .arg("--onnxruntime")
        .arg(tools.join("onnxruntime/libonnxruntime.so"))
        .arg("--plate")
        .arg(&plate)
        .arg("--background")
        .arg(&background)
        .arg("-o")
        .arg(&cli_out)
        .args(["--light-wrap", "0.3", "-q"]));
    let cli_frames = sorted_pngs(&cli_out);
    assert_eq!(cli_frames.len(), frames as usize);
    let clips = PersonClips { exe, bundle, plate_raw, bg_raw, frames, side };
    let render = |out: &Path, models: &Path, extra: &[&str]| {
        clips.render(out, models, &[&["key=4", "lightWrap=0.3"], extra].concat())
    };
    let out = dir.path().join("ofx");
    let rendered = render(&out, &models, &[]);
    assert!(rendered.status.success(), "{}", said(&rendered));
    assert_same_frames(&out, &cli_frames);
    let matte_out = dir.path().join("matte");
    let rendered = render(&matte_out, &models, &["result=1"]);
    assert!(rendered.status.success(), "{}", said(&rendered));
    let matte = read_raw(&matte_out.join("frame_0003.raw"));
    let at = |x: f32, y: f32| matte[(((y * side as f32) as u32 * side + (x * side as f32) as u32) * 4) as usize];
    // Her face and her suit; the room's top-right corner and the flag.
    assert!(at(0.46, 0.25) > 0.95 && at(0.5, 0.8) > 0.95, "{} {}", at(0.46, 0.25), at(0.5, 0.8));
    assert!(at(0.95, 0.05) < 0.05 && at(0.05, 0.3) < 0.05, "{} {}", at(0.95, 0.05), at(0.05, 0.3));

    let empty = dir.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let missing = render(&dir.path().join("missing"), &empty, &[]);
    let text = said(&missing);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains(&empty.join("selfie.onnx").display().to_string()), "names the missing model: {text}");
}

/// What the host said, stdout then stderr.
fn said(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Every rendered frame in `out` within half a step of the command line's.
fn assert_same_frames(out: &Path, cli_frames: &[PathBuf]) {
    for (i, cli) in cli_frames.iter().enumerate() {
        let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 0.5 / 255.0, "frame {i}: {} steps from the command line's", worst * 255.0);
    }
}

/// The harness, the bundle and a plate and background as raw frames, for
/// Composite renders that find the person model as a plugin does.
struct PersonClips {
    exe: PathBuf,
    bundle: PathBuf,
    plate_raw: PathBuf,
    bg_raw: PathBuf,
    frames: u64,
    side: u32,
}

impl PersonClips {
    /// Renders every frame into `out` on three threads, out of order, 8
    /// bits a channel, the model looked for in `models`.
    fn render(&self, out: &Path, models: &Path, params: &[&str]) -> std::process::Output {
        std::fs::create_dir_all(out).unwrap();
        run(host_cmd(&self.exe, &self.bundle)
            .env("MATTEBOX_MODELS", models)
            .env("MATTEBOX_ONNXRUNTIME", root().join("target/tools/onnxruntime/libonnxruntime.so"))
            .args(["render", "io.mattebox.Composite", "OfxImageEffectContextGeneral"])
            .arg(&self.plate_raw)
            .args([&self.frames.to_string(), &self.side.to_string(), &self.side.to_string()])
            .arg(out)
            .args(["--main-clip", "Plate", "--clip"])
            .arg(format!("Background={}", self.bg_raw.display()))
            .args(["--threads", "3", "--depth", "byte"])
            .args(params))
    }
}

/// Keep person on a real person on a blue screen wearing a patch of the
/// screen's own hue (scikit-image's astronaut matted by the model, laid
/// over the screen with sensor noise drawn afresh each frame, a darker
/// screen-blue painted on her suit), rendered out of order on three
/// threads: every frame equals `mattebox composite --keep-person`'s; the
/// matte holds the patch that the key alone sees through; without the
/// model the render fails saying where to put it.
#[test]
fn keep_person_matches_the_command_line_and_holds_what_the_key_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (side, frames) = (512u32, 4u64);
    let photo = root().join("target/tools/calibration/astronaut.png");
    assert!(photo.exists(), "{} is missing: run `bash .ci/setup`", photo.display());
    let ffmpeg = |args: &[&str], out: &Path| {
        ok(Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args).arg(out));
    };
    let n = frames.to_string();
    let still = dir.path().join("still.mkv");
    ffmpeg(&["-loop", "1", "-framerate", "24", "-i", photo.to_str().unwrap(), "-frames:v", &n, "-c:v", "ffv1"], &still);
    let background = dir.path().join("background.mkv");
    let source = format!("testsrc2=size={side}x{side}:rate=24,format=rgb24");
    ffmpeg(&["-f", "lavfi", "-i", &source, "-frames:v", &n, "-c:v", "ffv1"], &background);
    let (models, library) =
        (root().join("../shared/models"), root().join("target/tools/onnxruntime/libonnxruntime.so"));
    // The command line with the person model, as a user passes it.
    let with_model = || {
        let mut c = Command::new(cli());
        c.arg("composite").arg("--models").arg(&models).arg("--onnxruntime").arg(&library);
        c
    };
    let plate = dir.path().join("on_blue.mkv");
    let shot = OnBlue {
        person: &still,
        size: (side, side),
        rate: 24,
        frames: frames as u32,
        noise: 6,
        patch: [215, 360, 80, 70],
    };
    person_on_blue(&cli(), &models, &library, &shot, &plate);
    let cli_out = dir.path().join("cli");
    ok(with_model()
        .args(["--key", "blue", "--keep-person", "-q", "--plate"])
        .arg(&plate)
        .arg("--background")
        .arg(&background)
        .arg("-o")
        .arg(&cli_out));
    let cli_frames = sorted_pngs(&cli_out);
    assert_eq!(cli_frames.len(), frames as usize);
    let clips = PersonClips {
        exe: host(dir.path()),
        bundle: bundle(dir.path()),
        plate_raw: raw_frames_n(&plate, &dir.path().join("plate_raw"), frames),
        bg_raw: raw_frames_n(&background, &dir.path().join("bg_raw"), frames),
        frames,
        side,
    };
    let out = dir.path().join("ofx");
    let rendered = clips.render(&out, &models, &["key=2", "keepPerson=1"]);
    assert!(rendered.status.success(), "{}", said(&rendered));
    assert_same_frames(&out, &cli_frames);

    // The patch's matte on the last frame, kept and not; her face and the
    // screen's corner either way.
    let matte_at = |keep: &str| {
        let out = dir.path().join(format!("matte{keep}"));
        let rendered = clips.render(&out, &models, &["key=2", "result=1", &format!("keepPerson={keep}")]);
        assert!(rendered.status.success(), "{}", said(&rendered));
        let matte = read_raw(&out.join("frame_0003.raw"));
        let at = |x: u32, y: u32| matte[((y * side + x) * 4) as usize];
        (at(255, 395), at(235, 128), at(486, 25))
    };
    let ((alone, face, corner), (kept, kept_face, kept_corner)) = (matte_at("0"), matte_at("1"));
    assert!(alone < 0.9, "the key alone holds the patch at {alone}");
    assert!(kept > 0.97, "the kept person's patch is {kept}");
    assert!(
        face > 0.95 && kept_face > 0.95 && corner < 0.05 && kept_corner < 0.05,
        "{face} {kept_face} {corner} {kept_corner}"
    );

    let empty = dir.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let missing = clips.render(&dir.path().join("missing"), &empty, &["key=2", "keepPerson=1"]);
    let text = said(&missing);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains(&empty.join("selfie.onnx").display().to_string()), "names the missing model: {text}");
}

/// Reads the overlay's bar for score `row` of an output frame: how much of
/// the bar is filled, and whether it is green (passing) or red.
fn bar(frame: &[f32], row: usize) -> (f32, bool) {
    let (margin, length, bar_h, gap) = (6usize, (W / 4) as usize, 4usize, 2usize);
    let y = margin + row * (bar_h + gap) + 1;
    let px = |x: usize| &frame[(y * W as usize + x) * 4..(y * W as usize + x) * 4 + 4];
    let filled = (margin..margin + length).filter(|&x| px(x)[0] > 0.5 || px(x)[1] > 0.5).count();
    let green = px(margin)[1] > px(margin)[0];
    (filled as f32 / length as f32, green)
}

#[test]
fn consistency_overlays_scores_flags_drift_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let photo = photo_clip(dir.path());
    let clean = raw_frames(&photo, &dir.path().join("clean"));
    // The same clip with every other frame darkened: exposure flicker.
    let flicker_dir = dir.path().join("flicker");
    std::fs::create_dir_all(&flicker_dir).unwrap();
    for n in 0..FRAMES {
        let mut f = read_raw(&clean.join(format!("frame_{n:04}.raw")));
        if n % 2 == 1 {
            f.chunks_exact_mut(4).for_each(|p| p[..3].iter_mut().for_each(|v| *v *= 0.8));
        }
        let bytes: Vec<u8> = f.iter().flat_map(|v| v.to_ne_bytes()).collect();
        std::fs::write(flicker_dir.join(format!("frame_{n:04}.raw")), bytes).unwrap();
    }
    let report = dir.path().join("report.html");
    let render = |input: &Path, out: &Path, extra: &[&str]| {
        std::fs::create_dir_all(out).unwrap();
        ok(host_cmd(&exe, &bundle)
            .args(["render", "io.mattebox.Consistency", "OfxImageEffectContextGeneral"])
            .arg(input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(out)
            .args(["--threads", "3"])
            .args(extra))
    };
    let clean_out = dir.path().join("clean_out");
    render(&clean, &clean_out, &["--clip", &format!("Reference={}", clean.display())]);
    // The same bars at 8 and 16 bits.
    for depth in ["byte", "short"] {
        let out = dir.path().join(format!("clean_{depth}"));
        render(&clean, &out, &["--depth", depth, "--clip", &format!("Reference={}", clean.display())]);
        let (fill, green) = bar(&read_raw(&out.join("frame_0003.raw")), 2);
        assert!(green && fill > 0.75, "{depth}: flicker bar {fill}");
    }
    let flicker_out = dir.path().join("flicker_out");
    let pressed =
        render(&flicker_dir, &flicker_out, &["--press", "writeReport", &format!("reportFile={}", report.display())]);
    // Frame 3 (darkened after a bright one): flicker (the third bar) is red
    // and the frame has a red border; on the clean clip it is green and the
    // border is the picture.
    let clean3 = read_raw(&clean_out.join("frame_0003.raw"));
    let flicker3 = read_raw(&flicker_out.join("frame_0003.raw"));
    let (clean_fill, clean_green) = bar(&clean3, 2);
    let (flicker_fill, flicker_green) = bar(&flicker3, 2);
    assert!(clean_green && clean_fill > 0.75, "clean flicker bar {clean_fill}");
    assert!(!flicker_green && flicker_fill < clean_fill - 0.3, "flicker bar {flicker_fill} vs {clean_fill}");
    let corner = |f: &[f32]| (f[0], f[1], f[2]);
    let (r, g, b) = corner(&flicker3);
    assert!(r > 0.8 && g < 0.2 && b < 0.2, "drift border: {:?}", (r, g, b));
    let bottom_right = |f: &[f32]| {
        let i = ((H as usize - 1) * W as usize + W as usize - 1) * 4;
        (f[i], f[i + 1], f[i + 2])
    };
    assert_ne!(bottom_right(&clean3), (0.9, 0.1, 0.1));
    // Against the Reference (the clip's own first frame): character,
    // location, grade and style bars follow the five in-shot ones.
    let (character_fill, _) = bar(&clean3, 5);
    assert!(character_fill > 0.5, "character bar {character_fill}");
    // The report, written on the button, names the flicker.
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("flicker"), "report");
    assert!(String::from_utf8_lossy(&pressed.stdout).contains("the consistency report is in"));
    // Without a report file, pressing the button says what to do.
    std::fs::create_dir_all(dir.path().join("no_file")).unwrap();
    let no_file = run(host_cmd(&exe, &bundle)
        .args(["render", "io.mattebox.Consistency", "OfxImageEffectContextFilter"])
        .arg(&clean)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(dir.path().join("no_file"))
        .args(["--press", "writeReport"]));
    let text = String::from_utf8_lossy(&no_file.stdout);
    assert_eq!(no_file.status.code(), Some(1), "{text}");
    assert!(text.contains("set Report file"), "{text}");
}

/// The harness rendering Mattebox Generate (generator context) into
/// `out`, its takes from the take cache `cache`; the caller adds parameters.
fn generate_render(exe: &Path, bundle: &Path, cache: &Path, input: &Path, out: &Path) -> Command {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = host_cmd(exe, bundle);
    cmd.env("MATTEBOX_CACHE_DIR", cache)
        .args(["render", "io.mattebox.Generate", "OfxImageEffectContextGenerator"])
        .arg(input)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(out);
    cmd
}

#[test]
fn generate_renders_the_takes_the_command_line_made_and_a_placeholder_before() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let cache = dir.path().join("cache");
    // The command line makes a take into the shared take cache.
    let takes = dir.path().join("takes");
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["-q", "generate", "--prompt", "dusk", "--seed", "7", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--camera", "pan=0.4", "--format", "png", "-o"])
        .arg(&takes));
    let cli_frames = sorted_pngs(&takes.join("take-1"));
    assert_eq!(cli_frames.len(), 6);
    // Unused by a generator, but the host reads its main input.
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let render = |out: &Path, extra: &[&str]| {
        let mut cmd = generate_render(&exe, &bundle, &cache, &input, out);
        cmd.args(["--threads", "2", "prompt=dusk", "duration=0.25", "pan=0.4"]).args(extra);
        ok(&mut cmd)
    };
    let out = dir.path().join("take");
    let text = render(&out, &["seed=7"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("rendered 6 frames"));
    for (i, cli) in cli_frames.iter().enumerate() {
        let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "frame {i} differs from the command line's take by {worst}");
    }
    // At 8 and 16 bits the take's 8-bit frames come through exactly.
    for depth in ["byte", "short"] {
        let out = dir.path().join(format!("take_{depth}"));
        render(&out, &["seed=7", "--depth", depth]);
        let (ofx, cli) = (read_raw(&out.join("frame_0003.raw")), png_floats(&cli_frames[3]));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "{depth}: differs from the command line's take by {worst}");
    }
    // Another seed has no take yet: the placeholder's stripes.
    let out = dir.path().join("placeholder");
    render(&out, &["seed=8"]);
    let frame = read_raw(&out.join("frame_0000.raw"));
    assert!(frame.chunks_exact(4).all(|p| (p[0] - 0.12).abs() < 1e-6 || (p[0] - 0.18).abs() < 1e-6), "stripes");
    // Pressing Generate starts a background job and says so; the host keeps
    // rendering meanwhile, and closing the instance stops the job cleanly.
    let out = dir.path().join("pressed");
    let pressed = render(&out, &["seed=9", "--press-first", "generate"]);
    let text = String::from_utf8_lossy(&pressed.stdout);
    assert!(text.contains("generating 1 take(s) in the background"), "{text}");
}

/// With an Episode file and shot, Generate shows the take the shot uses in
/// the edit: the best ranked after `mattebox episode run`, the director's
/// pick once there is one (read again on every render); a shot that does
/// not exist is an error that names it.
#[test]
fn generate_shows_the_pick_of_an_episode_shot() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let cache = dir.path().join("cache");
    let episode = dir.path().join("ep.toml");
    std::fs::write(
        &episode,
        format!(
            "name = 'ep'\n[[shots]]\nid = 's01'\nprompt = 'dusk'\nsize = '{W}x{H}'\nduration = '0.25'\ntakes = 2\n"
        ),
    )
    .unwrap();
    let run = ok(Command::new(cli()).arg("--cache-dir").arg(&cache).args(["--json", "episode", "run"]).arg(&episode));
    let ranking: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let takes = ranking["ranking"]["shots"][0]["takes"].as_array().unwrap().clone();
    let by_rank = |rank: u64| takes.iter().find(|t| t["ranked"]["rank"] == rank).unwrap().clone();
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let render = |out: &Path, shot: &str| {
        let mut cmd = generate_render(&exe, &bundle, &cache, &input, out);
        cmd.arg(format!("episode={}", episode.display())).arg(format!("episodeShot={shot}"));
        cmd.output().unwrap()
    };
    let shows = |out: &Path, take: &serde_json::Value| {
        let frames = sorted_pngs(Path::new(take["take"]["media"].as_str().unwrap()));
        let (ofx, want) = (read_raw(&out.join("frame_0002.raw")), png_floats(&frames[2]));
        ofx.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max) < 1e-6
    };
    let out = dir.path().join("ranked");
    assert!(render(&out, "s01").status.success());
    assert!(shows(&out, &by_rank(1)) && !shows(&out, &by_rank(2)), "the best-ranked take");
    let second = by_rank(2);
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["episode", "pick"])
        .arg(&episode)
        .args(["s01", &second["number"].to_string()]));
    let out = dir.path().join("picked");
    assert!(render(&out, "s01").status.success());
    assert!(shows(&out, &second), "the pick");
    let missing = render(&dir.path().join("missing"), "s99");
    let text = String::from_utf8_lossy(&missing.stdout);
    assert!(!missing.status.success() && text.contains("s99"), "{text}");
}

/// An adapter's take (the example adapter, a real WebAssembly component),
/// made by `mattebox generate --adapter`, renders from the shared cache; and
/// pressing Generate with the adapter starts it in the Mattebox library
/// (`libmattebox.so`, loaded at run time) without a word of error.
#[test]
fn generate_with_an_adapter_through_the_mattebox_library() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let (cache, plugins) = (dir.path().join("cache"), dir.path().join("plugins"));
    let example = &guests::guests().example;
    let cli_cmd = || {
        let mut cmd = Command::new(cli());
        cmd.env("MATTEBOX_PLUGIN_DIR", &plugins).arg("--cache-dir").arg(&cache).arg("-q");
        cmd
    };
    ok(cli_cmd().args(["plugin", "install"]).arg(example));
    let takes = dir.path().join("takes");
    ok(cli_cmd()
        .args(["generate", "--adapter", "sweep", "--seed", "3", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--format", "png", "-o"])
        .arg(&takes));
    let cli_frames = sorted_pngs(&takes.join("take-1"));
    assert_eq!(cli_frames.len(), 6);
    // The C ABI's library of this build.
    let library = built_library("libmattebox.so", "cargo build --release -p mattebox-ffi");
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let render = |out: &Path, extra: &[&str]| {
        std::fs::create_dir_all(out).unwrap();
        let mut cmd = host_cmd(&exe, &bundle);
        cmd.env("MATTEBOX_CACHE_DIR", &cache)
            .env("MATTEBOX_PLUGIN_DIR", &plugins)
            .env("MATTEBOX_LIBRARY", &library)
            .args(["render", "io.mattebox.Generate", "OfxImageEffectContextGenerator"])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(out)
            .args(["--threads", "2", "adapter=sweep", "duration=0.25"])
            .args(extra);
        run(&mut cmd)
    };
    let out = dir.path().join("take");
    let done = render(&out, &["seed=3"]);
    assert!(
        done.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    for (i, cli) in cli_frames.iter().enumerate() {
        let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "frame {i} differs from the adapter's take by {worst}");
    }
    let pressed = render(&dir.path().join("pressed"), &["seed=4", "--press-first", "generate"]);
    let text = String::from_utf8_lossy(&pressed.stdout);
    assert!(pressed.status.success(), "{text}\n{}", String::from_utf8_lossy(&pressed.stderr));
    assert!(text.contains("generating 1 take(s) in the background"), "{text}");
    // An adapter that is not installed: a message naming it, not a crash.
    let missing = render(&dir.path().join("missing"), &["adapter=nothing-here", "seed=3"]);
    let text = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains("\"nothing-here\" is not installed"), "{text}");
    // The parameter is saved in project files: a path there must never load
    // an adapter that was not installed, at render or at the button.
    let as_path = format!("adapter={}", example.display());
    for extra in [&[as_path.as_str(), "seed=3"][..], &[as_path.as_str(), "seed=5", "--press-first", "generate"][..]] {
        let refused = render(&dir.path().join("as-path"), extra);
        let text = String::from_utf8_lossy(&refused.stdout);
        assert_eq!(refused.status.code(), Some(1), "{text}");
        assert!(text.contains("is not an adapter id"), "{text}");
    }
}

/// A Source video (a take's folder) the shot continues: the bundle cannot
/// decode it, so the Mattebox library keys the request and makes its takes,
/// and Generate shows the same continuation `mattebox generate --extend`
/// made; a Sound that is not there is an error naming the file.
#[test]
fn generate_continues_a_source_video_through_the_mattebox_library() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let cache = dir.path().join("cache");
    let cli_cmd = || {
        let mut cmd = Command::new(cli());
        cmd.arg("--cache-dir").arg(&cache).arg("-q");
        cmd
    };
    let (source, next) = (dir.path().join("source"), dir.path().join("next"));
    ok(cli_cmd()
        .args(["generate", "--prompt", "dusk", "--seed", "7", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--camera", "pan=0.4", "--format", "png", "-o"])
        .arg(&source));
    let source_take = source.join("take-1");
    ok(cli_cmd()
        .args(["generate", "--extend"])
        .arg(&source_take)
        .args(["--size", &format!("{W}x{H}"), "--duration", "0.25", "--format", "png", "-o"])
        .arg(&next));
    let cli_frames = sorted_pngs(&next.join("take-1"));
    assert_eq!(cli_frames.len(), 6);
    let library = built_library("libmattebox.so", "cargo build --release -p mattebox-ffi");
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let source_param = format!("sourceVideo={}", source_take.display());
    let render = |out: &Path, extra: &[&str]| {
        let mut cmd = generate_render(&exe, &bundle, &cache, &input, out);
        cmd.env("MATTEBOX_LIBRARY", &library)
            .args(["--threads", "2", "duration=0.25", source_param.as_str()])
            .args(extra);
        run(&mut cmd)
    };
    let out = dir.path().join("continued");
    let done = render(&out, &[]);
    let said = format!("{}\n{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    assert!(done.status.success(), "{said}");
    for (i, cli) in cli_frames.iter().enumerate() {
        let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "frame {i} differs from the command line's continuation by {worst}");
    }
    // Pressing Generate sends even the built-in generator to the library.
    let pressed = render(&dir.path().join("pressed"), &["seed=4", "--press-first", "generate"]);
    let text = String::from_utf8_lossy(&pressed.stdout);
    assert!(pressed.status.success(), "{text}\n{}", String::from_utf8_lossy(&pressed.stderr));
    assert!(text.contains("generating 1 take(s) in the background"), "{text}");
    let missing = render(&dir.path().join("no-sound"), &["sound=/nonexistent/line.wav"]);
    let text = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(text.contains("/nonexistent/line.wav"), "{text}");
}

/// The Source input clip (general context) continued: pressing Generate
/// writes its frames into the take cache and keeps where in the project;
/// the take made from them is the one `mattebox generate --extend` makes of
/// that folder. Before Generate has read the clip, a render shows the
/// placeholder and says to press it.
#[test]
fn generate_continues_its_source_clip() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let cache = dir.path().join("cache");
    let library = built_library("libmattebox.so", "cargo build --release -p mattebox-ffi");
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let project = dir.path().join("project.params");
    let render = |out: &Path, extra: &[&str]| {
        std::fs::create_dir_all(out).unwrap();
        let mut cmd = host_cmd(&exe, &bundle);
        cmd.env("MATTEBOX_CACHE_DIR", &cache)
            .env("MATTEBOX_LIBRARY", &library)
            .args(["render", "io.mattebox.Generate", "OfxImageEffectContextGeneral"])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(out)
            .args(["--threads", "2", "duration=0.25"])
            .args(extra);
        run(&mut cmd)
    };
    let unread = render(&dir.path().join("unread"), &[]);
    let text = String::from_utf8_lossy(&unread.stdout);
    assert!(unread.status.success() && text.contains("press Generate"), "{text}");
    let project_arg = project.display().to_string();
    let pressed = render(&dir.path().join("pressed"), &["--press-first", "generate", "--save-params", &project_arg]);
    let text = String::from_utf8_lossy(&pressed.stdout);
    assert!(pressed.status.success(), "{text}\n{}", String::from_utf8_lossy(&pressed.stderr));
    let saved = std::fs::read_to_string(&project).unwrap();
    let folder = saved
        .lines()
        .find_map(|l| l.strip_prefix("sourceFolder="))
        .unwrap_or_else(|| panic!("the project keeps where the frames are: {saved}"))
        .trim()
        .to_owned();
    assert!(folder.starts_with(cache.to_str().unwrap()), "{folder}");
    assert_eq!(sorted_pngs(Path::new(&folder)).len(), FRAMES as usize, "every frame of the clip");
    // The command line continues the same folder into the shared cache...
    let next = dir.path().join("next");
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["-q", "generate", "--extend", &folder, "--size", &format!("{W}x{H}"), "--duration", "0.25"])
        .args(["--format", "png", "-o"])
        .arg(&next));
    let cli_frames = sorted_pngs(&next.join("take-1"));
    // ...and the project, opened again, shows that take.
    let out = dir.path().join("continued");
    let shown = render(&out, &["--load-params", &project_arg]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stdout));
    for (i, cli) in cli_frames.iter().enumerate() {
        let (ofx, cli) = (read_raw(&out.join(format!("frame_{i:04}.raw"))), png_floats(cli));
        let worst = ofx.iter().zip(&cli).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "frame {i} differs from the command line's continuation by {worst}");
    }
}

/// The report Consistency writes scores the shot as `mattebox score` does:
/// the six in-shot scores agree to the report's two decimals (the host's
/// frames are floats made from the same 8-bit pixels).
#[test]
fn the_consistency_report_agrees_with_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let photo = photo_clip(dir.path());
    let input = raw_frames(&photo, &dir.path().join("in"));
    let report = dir.path().join("report.html");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    ok(host_cmd(&exe, &bundle)
        .args(["render", "io.mattebox.Consistency", "OfxImageEffectContextFilter"])
        .arg(&input)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(&out)
        .args(["--press", "writeReport"])
        .arg(format!("reportFile={}", report.display())));
    let page = std::fs::read_to_string(&report).unwrap();
    let cli = ok(Command::new(cli()).args(["--json", "score"]).arg(&photo));
    let doc: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let scores = &doc["shots"][0]["report"]["scores"];
    for metric in ["subject", "background", "flicker", "boiling", "grade", "smoothness"] {
        let marker = format!("<th>{metric}</th><td>");
        let at = page.find(&marker).unwrap_or_else(|| panic!("{metric} is not in the report"));
        let text = &page[at + marker.len()..];
        let value: f64 = text[..text.find('<').unwrap()].parse().unwrap();
        let expected = scores[metric].as_f64().unwrap();
        assert!((value - expected).abs() <= 0.011, "{metric}: the report says {value}, the command line {expected}");
    }
}

/// The Retime effect's neural mode, with the model found from the host's
/// environment as a plugin finds it: RIFE's frame between two frames of a
/// real clip equals the reference implementation's
/// (core/tests/fixtures/rife/); without a model the render fails and says
/// how to get one.
#[test]
fn the_neural_mode_renders_rife_and_says_when_its_model_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let fixtures = root().join("core/tests/fixtures/rife");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for (n, name) in ["a.png", "b.png"].iter().enumerate() {
        let frame = MediaReader::open(&fixtures.join(name), &OpenOptions::default()).unwrap().read_frame(0).unwrap();
        let float = frame.to_format(PixelFormat::Rgba32F).unwrap();
        std::fs::write(input.join(format!("frame_{n:04}.raw")), float.as_bytes()).unwrap();
    }
    let tools = root().join("target/tools");
    let render = |model: &Path, out: &Path| {
        std::fs::create_dir_all(out).unwrap();
        host_cmd(&exe, &bundle)
            .env("MATTEBOX_RIFE_MODEL", model)
            .env("MATTEBOX_ONNXRUNTIME", tools.join("onnxruntime/libonnxruntime.so"))
            .args(["render", "io.mattebox.Retime", "OfxImageEffectContextFilter"])
            .arg(&input)
            .args(["2", "176", "144"])
            .arg(out)
            .args(["--threads", "2", "--depth", "float", "speed=50", "mode=4"])
            .output()
            .unwrap()
    };
    let out = dir.path().join("neural");
    let result = render(&tools.join("rife/rife-4.onnx"), &out);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let made = read_raw(&out.join("frame_0001.raw"));
    let reference = png_floats(&fixtures.join("rife4-t50.png"));
    let worst = made.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1.5 / 255.0, "the OFX neural frame is {} steps from the reference", worst * 255.0);

    let missing = render(&dir.path().join("no-model.onnx"), &dir.path().join("missing"));
    let said = format!("{}{}", String::from_utf8_lossy(&missing.stdout), String::from_utf8_lossy(&missing.stderr));
    assert!(!missing.status.success() || said.contains("no-model.onnx"), "{said}");
    assert!(said.contains("no-model.onnx"), "the host is told which model is missing: {said}");
}
