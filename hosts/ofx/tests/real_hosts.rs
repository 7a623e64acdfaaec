//! Mattebox.ofx.bundle driven the way real hosts drive it, which the plain
//! render tests never do: proxy renders at scale 0.5 and 0.25, non-square
//! pixels, interlaced clips, frames past an input's end, and a project file
//! that keeps what an effect learnt. The test host (`harness/ofx_host.c`)
//! behaves as the OFX specification and the HostSupport library say.
//!
//! Tolerances for "a proxy equals the full render downscaled": a host's
//! proxy is made by area-averaging each input, so an effect sees other
//! pixels than the full frame's. Per-pixel work (generate, composite)
//! matches closely; work that measures motion or edges on the pixels
//! (retime's flow) matches on the mean and less at moving edges. Each
//! check states its limits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::*;

const SCALES: [f64; 2] = [0.5, 0.25];

/// One render of `plugin` in `context` on `input` (W x H frames), into a
/// new directory `out`; `extra` are the host's options and parameters.
fn render(
    exe: &Path,
    bundle: &Path,
    (plugin, context): (&str, &str),
    input: &Path,
    out: &Path,
    extra: &[String],
) -> Output {
    std::fs::create_dir_all(out).unwrap();
    run(host_cmd(exe, bundle)
        .args(["render", plugin, context])
        .arg(input)
        .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
        .arg(out)
        .args(extra))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn frame_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("frame_{i:04}.raw"))
}

/// Renders at full size and at each proxy scale, and checks every proxy
/// frame against the full frame area-averaged to its size: `limits` are
/// (mean, 99th percentile) of the absolute differences.
fn proxies_match(
    exe: &Path,
    bundle: &Path,
    effect: (&str, &str),
    input: &Path,
    dir: &Path,
    extra: &[String],
    limits: (f32, f32),
) {
    let full = dir.join(format!("{}-full", effect.0));
    let text = succeeded(render(exe, bundle, effect, input, &full, extra));
    let frames = std::fs::read_dir(&full).unwrap().count();
    assert!(frames > 0, "{}", String::from_utf8_lossy(&text.stdout));
    for scale in SCALES {
        let proxy = dir.join(format!("{}-{scale}", effect.0));
        let mut with_scale = extra.to_vec();
        with_scale.extend(args(&["--render-scale", &scale.to_string()]));
        succeeded(render(exe, bundle, effect, input, &proxy, &with_scale));
        let (pw, ph) = scaled(W, H, scale);
        for i in 0..frames {
            let expected = area_average(&read_raw(&frame_path(&full, i)), W, H, pw, ph);
            let got = read_raw(&frame_path(&proxy, i));
            let (mean, p99, worst) = differences(&got, &expected);
            assert!(
                mean <= limits.0 && p99 <= limits.1,
                "{} at scale {scale}, frame {i}: mean {mean}, 99th percentile {p99}, max {worst}",
                effect.0
            );
        }
    }
}

#[test]
fn proxy_renders_of_every_effect_equal_the_full_render_downscaled() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    // Retime: 2x slow motion in quality mode. Copied frames match exactly;
    // an in-between frame moves sharp text by half a proxy pixel, which
    // the proxy resamples where the full frame moved whole pixels (measured:
    // mean 2/255, 99th percentile 56/255 at scale 0.5).
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    let retime = ("io.mattebox.Retime", "OfxImageEffectContextFilter");
    proxies_match(
        &exe,
        &bundle,
        retime,
        &input,
        dir.path(),
        &args(&["--threads", "2", "speed=50", "mode=3"]),
        (3.0 / 255.0, 64.0 / 255.0),
    );
    // Composite: key, colour match and a light wrap whose reach is 12
    // full-size pixels. The key's soft edge is a pixel or two wide at every
    // scale, so it covers more of a proxy (measured: mean 3/255, 99th
    // percentile 25/255 at scale 0.25).
    let (plate, background) = plate_and_background(dir.path());
    let plate_raw = raw_frames(&plate, &dir.path().join("plate_raw"));
    let bg_raw = raw_frames(&background, &dir.path().join("bg_raw"));
    let composite = ("io.mattebox.Composite", "OfxImageEffectContextGeneral");
    let extra = args(&[
        "--main-clip",
        "Plate",
        "--clip",
        &format!("Background={}", bg_raw.display()),
        "--threads",
        "2",
        "matchColour=0.5",
        "lightWrap=0.6",
        "lightWrapRadius=12",
    ]);
    proxies_match(&exe, &bundle, composite, &plate_raw, dir.path(), &extra, (4.0 / 255.0, 32.0 / 255.0));
    // Generate: a take the command line made, at full size.
    let cache = dir.path().join("cache");
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["-q", "generate", "--prompt", "dusk", "--seed", "7", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--camera", "pan=0.4", "--format", "png", "-o"])
        .arg(dir.path().join("takes")));
    let generate = ("io.mattebox.Generate", "OfxImageEffectContextGenerator");
    let full = dir.path().join("generate-full");
    for (scale, out) in [(1.0, full.clone()), (0.5, dir.path().join("g-0.5")), (0.25, dir.path().join("g-0.25"))] {
        std::fs::create_dir_all(&out).unwrap();
        succeeded(run(host_cmd(&exe, &bundle)
            .env("MATTEBOX_CACHE_DIR", &cache)
            .args(["render", generate.0, generate.1])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(&out)
            .args(["--render-scale", &scale.to_string(), "prompt=dusk", "seed=7", "duration=0.25", "pan=0.4"])));
        let (pw, ph) = scaled(W, H, scale);
        for i in 0..FRAMES as usize {
            let take = png_floats(&dir.path().join(format!("takes/take-1/frame_{:06}.png", i + 1)));
            let expected = area_average(&take, W, H, pw, ph);
            let (mean, _, worst) = differences(&read_raw(&frame_path(&out, i)), &expected);
            assert!(worst < 1e-4, "generate at scale {scale}, frame {i}: mean {mean}, max {worst}");
        }
    }
}

/// Reads bar `row` of the Consistency overlay of a `w`-pixel-wide frame
/// rendered at `scale` (the effect's geometry: full-size pixels times the
/// scale): how much is filled, and whether it is green.
fn bar_at(frame: &[f32], w: u32, scale: f64, row: usize) -> (f32, bool) {
    let full = (w as f64 / scale).round() as usize;
    let unit = (full / 320).max(1) as f64 * scale;
    let size = |v: f64| (v * unit).round().max(1.0) as usize;
    let (bar_h, gap, margin) = (size(4.0), size(2.0), size(6.0));
    let length = ((full / 4).max(8) as f64 * scale).round().max(2.0) as usize;
    let y = margin + row * (bar_h + gap) + bar_h / 2;
    let px = |x: usize| &frame[(y * w as usize + x) * 4..(y * w as usize + x) * 4 + 4];
    let coloured = |x: usize| (px(x)[0] - px(x)[1]).abs() > 0.3;
    let filled = (margin..margin + length).filter(|&x| coloured(x)).count();
    (filled as f32 / length as f32, px(margin)[1] > px(margin)[0])
}

#[test]
fn the_consistency_verdict_does_not_change_with_the_render_scale() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let clean = raw_frames(&photo_clip(dir.path()), &dir.path().join("clean"));
    // Every other frame darkened: flicker, which must read red at every scale.
    let flicker = dir.path().join("flicker");
    std::fs::create_dir_all(&flicker).unwrap();
    for n in 0..FRAMES as usize {
        let mut f = read_raw(&frame_path(&clean, n));
        if n % 2 == 1 {
            f.chunks_exact_mut(4).for_each(|p| p[..3].iter_mut().for_each(|v| *v *= 0.8));
        }
        write_raw(&frame_path(&flicker, n), &f);
    }
    let effect = ("io.mattebox.Consistency", "OfxImageEffectContextGeneral");
    for (name, input) in [("clean", &clean), ("flicker", &flicker)] {
        let reference = format!("Reference={}", clean.display());
        let bars = |scale: f64| -> Vec<(f32, bool)> {
            let out = dir.path().join(format!("{name}-{scale}"));
            let extra = args(&["--clip", &reference, "--render-scale", &scale.to_string()]);
            succeeded(render(&exe, &bundle, effect, input, &out, &extra));
            let w = scaled(W, H, scale).0;
            let frame = read_raw(&frame_path(&out, 3));
            (0..9).map(|row| bar_at(&frame, w, scale, row)).collect()
        };
        let full = bars(1.0);
        assert_eq!(full[2].1, name == "clean", "{name}: the flicker bar at full size: {full:?}");
        for scale in SCALES {
            let proxy = bars(scale);
            for (row, (f, p)) in full.iter().zip(&proxy).enumerate() {
                assert_eq!(f.1, p.1, "{name} at scale {scale}: bar {row} changed colour: {full:?} vs {proxy:?}");
                // A bar of 40 (20, 10) pixels is filled to the nearest pixel,
                // and a quarter-size proxy has lost the finest detail the
                // boiling score sees.
                let limit = if scale < 0.5 { 0.2 } else { 0.12 };
                assert!((f.0 - p.0).abs() <= limit, "{name} at scale {scale}: bar {row}: {full:?} vs {proxy:?}");
            }
        }
    }
}

#[test]
fn motion_vectors_are_in_full_size_pixels_at_every_scale() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    for scale in [1.0, 0.5] {
        let out = dir.path().join(format!("vectors-{scale}"));
        let extra = args(&["--render-scale", &scale.to_string(), "speed=100", "result=1"]);
        succeeded(render(&exe, &bundle, ("io.mattebox.Retime", "OfxImageEffectContextGeneral"), &input, &out, &extra));
        // The content moves 2 full-size pixels left a frame.
        let frame = read_raw(&frame_path(&out, 0));
        let mut u: Vec<f32> = frame.chunks_exact(4).map(|p| p[0]).collect();
        u.sort_by(f32::total_cmp);
        let median = u[u.len() / 2];
        assert!((median + 2.0).abs() < 0.35, "scale {scale}: median u {median}");
    }
}

/// With First frame connected, a proxy shows a downscaled still whose
/// pixels are not the request's: the take is found through what a full-size
/// render or Generate learnt, kept in the project file; without that, the
/// log says what to do; and Generate refuses to read stills from a proxy.
#[test]
fn generate_with_a_first_frame_finds_its_take_at_proxy_scale() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let cache = dir.path().join("cache");
    let input = raw_frames(&clip(dir.path()), &dir.path().join("in"));
    // The still: the clip's first frame, as a PNG for the command line.
    let first = dir.path().join("first.png");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(clip(dir.path()))
        .args(["-frames:v", "1"])
        .arg(&first));
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["-q", "generate", "--prompt", "dusk", "--seed", "7", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--first-frame"])
        .arg(&first)
        .args(["--format", "png", "-o"])
        .arg(dir.path().join("takes")));
    let take: Vec<Vec<f32>> = (0..FRAMES as usize)
        .map(|i| png_floats(&dir.path().join(format!("takes/take-1/frame_{:06}.png", i + 1))))
        .collect();
    let project = dir.path().join("project.txt");
    let generate = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        std::fs::create_dir_all(&out).unwrap();
        let result = run(host_cmd(&exe, &bundle)
            .env("MATTEBOX_CACHE_DIR", &cache)
            .args(["render", "io.mattebox.Generate", "OfxImageEffectContextGeneral"])
            .arg(&input)
            .args([&FRAMES.to_string(), &W.to_string(), &H.to_string()])
            .arg(&out)
            .args(["--main-clip", "FirstFrame", "prompt=dusk", "seed=7", "duration=0.25"])
            .args(extra));
        (out, result)
    };
    let is_take = |out: &Path, scale: f64| {
        let (pw, ph) = scaled(W, H, scale);
        (0..FRAMES as usize).all(|i| {
            let expected = area_average(&take[i], W, H, pw, ph);
            differences(&read_raw(&frame_path(out, i)), &expected).2 < 1e-4
        })
    };
    // A proxy first, in a new project: the placeholder, and a log line.
    let (out, result) = generate("cold", &["--render-scale", "0.5"]);
    let text = String::from_utf8_lossy(&succeeded(result).stdout).into_owned();
    assert!(!is_take(&out, 0.5), "the proxy cannot know the take yet");
    assert!(text.contains("render one frame at full resolution (or press Generate)"), "{text}");
    // Generate pressed at full size, the project saved: the take (already in
    // the cache) renders, and the project keeps its keys.
    let project_arg = project.to_str().unwrap();
    let (out, result) = generate("full", &["--press-first", "generate", "--save-params", project_arg]);
    succeeded(result);
    assert!(is_take(&out, 1.0), "the take at full size");
    // The project reopened in proxy mode: the take, resampled.
    for scale in SCALES {
        let name = format!("proxy-{scale}");
        let (out, result) = generate(&name, &["--load-params", project_arg, "--render-scale", &scale.to_string()]);
        let text = String::from_utf8_lossy(&succeeded(result).stdout).into_owned();
        assert!(is_take(&out, scale), "the take at scale {scale}: {text}");
    }
    // Generate pressed while the host shows a proxy: refused, with the reason.
    let (_, refused) = generate("refused", &["--render-scale", "0.5", "--press-first", "generate"]);
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(text.contains("switch to full resolution and press Generate again"), "{text}");
}

/// A host whose timeline runs past an input's end renders every effect
/// there; each holds its input's last frame.
#[test]
fn frames_past_an_inputs_end_hold_its_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let photo = raw_frames(&photo_clip(dir.path()), &dir.path().join("photo"));
    let (plate, background) = plate_and_background(dir.path());
    let plate_raw = raw_frames(&plate, &dir.path().join("plate_raw"));
    let bg_raw = raw_frames(&background, &dir.path().join("bg_raw"));
    let last = FRAMES as usize - 1;
    let range = format!("0,{}", last + 3);
    let cases = [
        (("io.mattebox.Consistency", "OfxImageEffectContextFilter"), &photo, args(&["--range", &range])),
        (
            ("io.mattebox.Composite", "OfxImageEffectContextGeneral"),
            &plate_raw,
            args(&["--range", &range, "--main-clip", "Plate", "--clip", &format!("Background={}", bg_raw.display())]),
        ),
        (("io.mattebox.Retime", "OfxImageEffectContextFilter"), &photo, args(&["--range", &range, "speed=100"])),
    ];
    for (effect, input, extra) in cases {
        let out = dir.path().join(effect.0);
        let result = render(&exe, &bundle, effect, input, &out, &extra);
        let text = String::from_utf8_lossy(&result.stdout).into_owned();
        assert!(result.status.success(), "{}: {text}\n{}", effect.0, String::from_utf8_lossy(&result.stderr));
        assert!(text.contains(&format!("rendered {} frames", last + 4)), "{}: {text}", effect.0);
        let held = read_raw(&frame_path(&out, last));
        for i in last + 1..last + 4 {
            assert_eq!(read_raw(&frame_path(&out, i)), held, "{}: frame {i} does not hold frame {last}", effect.0);
        }
    }
}

/// The same picture with pixels twice as wide (an anamorphic squeeze):
/// Generate resamples its square-pixel take to the output, and Consistency
/// reaches the verdict it reaches on the unsqueezed frames.
#[test]
fn non_square_pixels_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let photo = raw_frames(&photo_clip(dir.path()), &dir.path().join("photo"));
    let (sw, sh) = (W / 2, H);
    let squeezed = dir.path().join("squeezed");
    std::fs::create_dir_all(&squeezed).unwrap();
    for i in 0..FRAMES as usize {
        write_raw(&frame_path(&squeezed, i), &area_average(&read_raw(&frame_path(&photo, i)), W, H, sw, sh));
    }
    let render_squeezed = |effect: (&str, &str), out: &Path, extra: &[&str], cache: Option<&Path>| {
        std::fs::create_dir_all(out).unwrap();
        let mut cmd = host_cmd(&exe, &bundle);
        if let Some(cache) = cache {
            cmd.env("MATTEBOX_CACHE_DIR", cache);
        }
        succeeded(run(cmd
            .args(["render", effect.0, effect.1])
            .arg(&squeezed)
            .args([&FRAMES.to_string(), &sw.to_string(), &sh.to_string()])
            .arg(out)
            .args(["--pixel-aspect", "2"])
            .args(extra)))
    };
    // Generate: the take is made at the project's canonical size (W x H).
    let cache = dir.path().join("cache");
    ok(Command::new(cli())
        .arg("--cache-dir")
        .arg(&cache)
        .args(["-q", "generate", "--prompt", "wide", "--seed", "2", "--size", &format!("{W}x{H}")])
        .args(["--duration", "0.25", "--format", "png", "-o"])
        .arg(dir.path().join("takes")));
    let out = dir.path().join("generate");
    let generate = ("io.mattebox.Generate", "OfxImageEffectContextGenerator");
    render_squeezed(generate, &out, &["prompt=wide", "seed=2", "duration=0.25"], Some(&cache));
    for i in 0..FRAMES as usize {
        let take = png_floats(&dir.path().join(format!("takes/take-1/frame_{:06}.png", i + 1)));
        let expected = area_average(&take, W, H, sw, sh);
        let (_, _, worst) = differences(&read_raw(&frame_path(&out, i)), &expected);
        assert!(worst < 1e-4, "frame {i}: the squeezed output differs from the squeezed take by {worst}");
    }
    // Consistency: the bars of the squeezed clip are those of the full one.
    let consistency = ("io.mattebox.Consistency", "OfxImageEffectContextFilter");
    let full = dir.path().join("consistency-full");
    succeeded(render(&exe, &bundle, consistency, &photo, &full, &[]));
    let out = dir.path().join("consistency-squeezed");
    render_squeezed(consistency, &out, &[], None);
    let full_frame = read_raw(&frame_path(&full, 3));
    let squeezed_frame = read_raw(&frame_path(&out, 3));
    for row in 0..5 {
        let (f, s) = (bar_at(&full_frame, W, 1.0, row), bar_at(&squeezed_frame, sw, 1.0, row));
        assert_eq!(f.1, s.1, "bar {row}: {f:?} at full size, {s:?} squeezed");
    }
}

/// Interlaced clips: every effect asks for whole frames (the host fails a
/// run where one would be handed single fields), and Composite composites
/// each field on its own: its output's fields are the composites of the
/// plate's fields as clips of their own.
#[test]
fn interlaced_plates_are_composited_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let (plate, background) = plate_and_background(dir.path());
    let plate_raw = raw_frames(&plate, &dir.path().join("plate_raw"));
    let bg_raw = raw_frames(&background, &dir.path().join("bg_raw"));
    // An interlaced plate: the lower field (rows from the bottom 0, 2...)
    // of frame n, the upper of frame n + 1, so fields show two moments.
    let woven = dir.path().join("woven");
    std::fs::create_dir_all(&woven).unwrap();
    let row_len = W as usize * 4;
    let lower = |i: usize| (H as usize - 1 - i).is_multiple_of(2);
    for n in 0..FRAMES as usize - 1 {
        let (a, b) = (read_raw(&frame_path(&plate_raw, n)), read_raw(&frame_path(&plate_raw, n + 1)));
        let frame: Vec<f32> = (0..H as usize)
            .flat_map(|i| if lower(i) { &a } else { &b }[i * row_len..(i + 1) * row_len].to_vec())
            .collect();
        write_raw(&frame_path(&woven, n), &frame);
    }
    let frames = FRAMES - 1;
    let composite = |input: &Path, h: u32, out: &Path, extra: &[&str], bg: &Path| {
        std::fs::create_dir_all(out).unwrap();
        succeeded(run(host_cmd(&exe, &bundle)
            .args(["render", "io.mattebox.Composite", "OfxImageEffectContextGeneral"])
            .arg(input)
            .args([&frames.to_string(), &W.to_string(), &h.to_string()])
            .arg(out)
            .args(["--main-clip", "Plate", "--clip"])
            .arg(format!("Background={}", bg.display()))
            .args(["lightWrap=1", "lightWrapRadius=8"])
            .args(extra)))
    };
    let out = dir.path().join("interlaced");
    composite(&woven, H, &out, &["--field-order", "lower"], &bg_raw);
    // Each field on its own: the plate's and the background's rows of it.
    let field_rows: [Vec<usize>; 2] =
        [(0..H as usize).filter(|&i| lower(i)).collect(), (0..H as usize).filter(|&i| !lower(i)).collect()];
    let mut expected = vec![vec![0.0f32; (W * H * 4) as usize]; frames as usize];
    for rows in &field_rows {
        let take_rows = |dir: &Path, name: &str, count: u32| {
            let to = dir.parent().unwrap().join(format!("{name}-{}", rows[0]));
            std::fs::create_dir_all(&to).unwrap();
            for n in 0..count as usize {
                let f = read_raw(&frame_path(dir, n));
                let picked: Vec<f32> = rows.iter().flat_map(|&i| f[i * row_len..(i + 1) * row_len].to_vec()).collect();
                write_raw(&frame_path(&to, n), &picked);
            }
            to
        };
        let (plate_field, bg_field) =
            (take_rows(&woven, "plate-field", frames), take_rows(&bg_raw, "bg-field", FRAMES));
        let field_out = dir.path().join(format!("field-out-{}", rows[0]));
        composite(&plate_field, rows.len() as u32, &field_out, &[], &bg_field);
        for (n, expected) in expected.iter_mut().enumerate() {
            let f = read_raw(&frame_path(&field_out, n));
            for (k, &i) in rows.iter().enumerate() {
                expected[i * row_len..(i + 1) * row_len].copy_from_slice(&f[k * row_len..(k + 1) * row_len]);
            }
        }
    }
    for (n, expected) in expected.iter().enumerate() {
        let (mean, _, worst) = differences(&read_raw(&frame_path(&out, n)), expected);
        assert!(worst < 1e-5, "frame {n}: the fields differ from their own composites: mean {mean}, max {worst}");
    }
    // The other effects ask for whole frames too: the host has no complaint.
    let photo = raw_frames(&photo_clip(dir.path()), &dir.path().join("photo"));
    for effect in [
        ("io.mattebox.Consistency", "OfxImageEffectContextFilter"),
        ("io.mattebox.Retime", "OfxImageEffectContextFilter"),
    ] {
        let out = dir.path().join(format!("{}-fielded", effect.0));
        succeeded(render(&exe, &bundle, effect, &photo, &out, &args(&["--field-order", "upper"])));
    }
}

/// An interlaced clip whose fields are two moments (a real photo panned 4
/// px a moment, 48 moments a second woven into 24 frames) is retimed field
/// by field: in a 2x slow motion, output frame j's first field shows moment
/// j and its second moment j + 1/2 (the photo panned by 2 px more), where a
/// retime of whole frames shows each frame's own second field, a moment late.
#[test]
fn interlaced_sources_are_retimed_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, exe) = (bundle(dir.path()), host(dir.path()));
    let photo = root().join("target/tools/calibration/coffee.png");
    // Half moments: the photo panned 2 px each; moment k is half moment 2k.
    let halves = dir.path().join("halves.mkv");
    let count = 4 * FRAMES as usize;
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-loop", "1", "-framerate", "96", "-i"])
        .arg(&photo)
        .args(["-frames:v", &count.to_string(), "-vf", &format!("crop={W}:{H}:x='100+2*n':y=120,format=rgb24")])
        .args(["-c:v", "ffv1"])
        .arg(&halves));
    let half = raw_frames_n(&halves, &dir.path().join("halves"), count as u64);
    let row_len = W as usize * 4;
    let lower = |i: usize| (H as usize - 1 - i).is_multiple_of(2);
    let woven = dir.path().join("woven");
    std::fs::create_dir_all(&woven).unwrap();
    for n in 0..FRAMES as usize {
        let (a, b) = (read_raw(&frame_path(&half, 4 * n)), read_raw(&frame_path(&half, 4 * n + 2)));
        let frame: Vec<f32> = (0..H as usize)
            .flat_map(|i| if lower(i) { &a } else { &b }[i * row_len..(i + 1) * row_len].to_vec())
            .collect();
        write_raw(&frame_path(&woven, n), &frame);
    }
    let out = dir.path().join("out");
    let extra = args(&["--field-order", "lower", "--threads", "2", "speed=50", "mode=3"]);
    let result =
        succeeded(render(&exe, &bundle, ("io.mattebox.Retime", "OfxImageEffectContextFilter"), &woven, &out, &extra));
    let text = String::from_utf8_lossy(&result.stdout);
    let frames = 2 * FRAMES as usize;
    assert!(text.contains(&format!("rendered {frames} frames")), "{text}");
    let field = |f: &[f32], first: bool| -> Vec<f32> {
        (0..H as usize)
            .filter(|&i| lower(i) == first)
            .flat_map(|i| f[i * row_len..(i + 1) * row_len].to_vec())
            .collect()
    };
    // The last frame's second field lies past the last moment: held.
    for j in 0..frames - 1 {
        let got = read_raw(&frame_path(&out, j));
        for (first, moment) in [(true, 2 * j), (false, 2 * j + 1)] {
            let expected = field(&read_raw(&frame_path(&half, moment)), first);
            let (mean, p99, _) = differences(&field(&got, first), &expected);
            assert!(
                mean < 3.0 / 255.0 && p99 < 24.0 / 255.0,
                "frame {j}, {} field, against half moment {moment}: mean {mean}, 99th percentile {p99}",
                if first { "first" } else { "second" }
            );
        }
    }
}
