//! `mattebox score` on clips made by the real `ffmpeg`: a clean moving
//! pattern, the same with exposure flicker (ffmpeg's `eq` filter on every
//! other frame), and inputs it must refuse.

use std::path::Path;
use std::process::Command;

use common::{ffmpeg, json_ok};

mod common;

fn score(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).arg("--json").arg("score").args(args).output().unwrap()
}

#[test]
fn flicker_is_found_and_named_and_a_clean_clip_passes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.mkv");
    let flicker = dir.path().join("flicker.mkv");
    let source = "testsrc2=size=320x180:rate=24,format=rgb24";
    ffmpeg(&["-f", "lavfi", "-i", source, "-frames:v", "24", "-c:v", "ffv1", clean.to_str().unwrap()]);
    let eq = "eq=brightness='0.1*mod(n\\,2)':eval=frame";
    ffmpeg(&["-i", clean.to_str().unwrap(), "-vf", eq, "-c:v", "ffv1", flicker.to_str().unwrap()]);
    let doc = json_ok(&score(&[&clean, &flicker]));
    let shots = doc["shots"].as_array().unwrap();
    let flicker_of = |i: usize| shots[i]["report"]["scores"]["flicker"].as_f64().unwrap();
    assert!(flicker_of(0) > 0.8, "clean: {}", shots[0]["report"]["scores"]);
    assert!(flicker_of(1) < 0.3, "flickering: {}", shots[1]["report"]["scores"]);
    assert_eq!(shots[0]["problems"].as_array().unwrap().len(), 0, "{}", shots[0]["problems"]);
    let problems: Vec<&str> = shots[1]["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(problems.iter().any(|p| p.starts_with("flicker") && p.contains("brightness")), "{problems:?}");
    assert_eq!(shots[1]["report"]["curves"].as_array().unwrap().len(), 24);
}

#[test]
fn one_frame_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let still = dir.path().join("still.png");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=64x36", "-frames:v", "1", still.to_str().unwrap()]);
    let out = score(&[&still]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least two frames"));
    let out = score(&[&dir.path().join("nope.mp4")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.mp4"));
    // `--json scores.json` is the flag and then a "shot": say what was meant.
    let out = score(&[&still, &dir.path().join("scores.json")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--json="), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_html_report_is_written_whole_and_not_over_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=24,format=rgb24",
        "-frames:v",
        "12",
        "-c:v",
        "ffv1",
        clip.to_str().unwrap(),
    ]);
    let html = dir.path().join("report.html");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .arg("score")
            .arg(&clip)
            .arg("--html")
            .arg(&html)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("clip.mkv") && page.contains("Contact sheet") && page.contains("<svg"));
    let again = run(&[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    assert!(run(&["-y"]).status.success());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary files: {leftovers:?}");
}

/// Clips of one scene (a real photo, scikit-image's coffee, panned by
/// ffmpeg over 24 frames), one mirrored, one regraded (hues turned, paler,
/// brighter), one of another place (the chelsea photo), plus a reference
/// still of the scene and a refs.toml naming them.
fn episode(dir: &Path) -> Vec<std::path::PathBuf> {
    let coffee = common::calibration_photo("coffee.png");
    let chelsea = common::calibration_photo("chelsea.png");
    let pan = "crop=320:180:x='140+2*n':y=110";
    let clip = |name: &str, photo: &Path, filter: &str| {
        let path = dir.join(name);
        let vf = format!("{filter},format=rgb24");
        let (photo, rate) = (photo.to_str().unwrap(), "24");
        ffmpeg(&[
            "-loop",
            "1",
            "-framerate",
            rate,
            "-i",
            photo,
            "-frames:v",
            "24",
            "-vf",
            &vf,
            "-c:v",
            "ffv1",
            path.to_str().unwrap(),
        ]);
        path
    };
    let shots = vec![
        clip("s01.mkv", &coffee, pan),
        clip("s02.mkv", &coffee, &format!("{pan},hflip")),
        clip("s03.mkv", &coffee, &format!("{pan},hue=h=25:s=0.6,eq=brightness=0.08")),
        clip("s04.mkv", &chelsea, "crop=320:180:x='40+2*n':y=60"),
    ];
    let still = dir.join("scene.jpg");
    ffmpeg(&[
        "-i",
        coffee.to_str().unwrap(),
        "-vf",
        "crop=320:180:x=140:y=110",
        "-frames:v",
        "1",
        still.to_str().unwrap(),
    ]);
    let refs = "[characters]\nhero = [\"scene.jpg\"]\n[locations]\nlab = [\"scene.jpg\"]\n[shots]\n\
                \"s01.mkv\" = { characters = [\"hero\"], location = \"lab\" }\n\
                \"s03.mkv\" = { characters = [\"hero\"], location = \"lab\" }\n";
    std::fs::write(dir.join("refs.toml"), refs).unwrap();
    shots
}

#[test]
fn references_and_the_episode_name_the_regraded_and_the_foreign_shot() {
    let dir = tempfile::tempdir().unwrap();
    let shots = episode(dir.path());
    let json = dir.path().join("scores.json");
    let out = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .arg(format!("--json={}", json.display()))
        .arg("score")
        .args(&shots)
        .arg("--refs")
        .arg(dir.path().join("refs.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("against references: character"), "text goes to the terminal: {text}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["schema"], "mattebox.score/1");
    let shot = |i: usize| &doc["shots"][i];
    let grade_match = |i: usize| shot(i)["references"]["grade"].as_f64().unwrap();
    assert!(grade_match(0) > 0.8 && grade_match(2) < grade_match(0) - 0.3, "{} vs {}", grade_match(0), grade_match(2));
    assert!(shot(1)["references"].is_null(), "s02 is not listed in refs.toml");
    assert_eq!(shot(0)["expects"]["location"], "lab");
    let outliers = doc["episode"]["outliers"].as_array().unwrap();
    let named: Vec<&str> = outliers.iter().map(|o| o["sentence"].as_str().unwrap()).collect();
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named[0].contains("s04.mkv drifts from"), "the foreign shot is worst: {named:?}");
    assert!(named[1].contains("s03.mkv drifts from") && named[1].contains("grade"), "{named:?}");
    assert_eq!(doc["episode"]["matrix"].as_array().unwrap().len(), 4);
}

#[test]
fn bad_references_are_refused_before_any_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let shots = episode(dir.path());
    let run = |refs: &str| {
        std::fs::write(dir.path().join("bad.toml"), refs).unwrap();
        Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .arg("score")
            .arg(&shots[0])
            .arg("--refs")
            .arg(dir.path().join("bad.toml"))
            .output()
            .unwrap()
    };
    let out = run("[characters]\nhero = []\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("character \"hero\" has no images"), "{err}");
    let out = run("[characters]\nhero = [\"nowhere.png\"]\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere.png") && err.contains("character \"hero\""), "{err}");
    std::fs::write(dir.path().join("garbage.png"), b"not a png").unwrap();
    let out = run("[locations]\nlab = [\"garbage.png\"]\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(1) && err.contains("garbage.png"), "{err}");
}

/// The report as Chromium draws it: the page lays out, its stylesheet
/// applies (the score bars' teal and the problems' red are on screen) and
/// its inline images decode (the screenshot holds far more colours than
/// text and bars alone).
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let shots = episode(dir.path());
    let html = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .arg("score")
        .args(&shots[..])
        .arg("--refs")
        .arg(dir.path().join("refs.toml"))
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = dir.path().join("shot.png");
    let chromium = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1000,2400")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium must be installed (bash .ci/setup installs it)");
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&chromium.stderr));
    let image = image::open(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (1000, 2400));
    let near = |p: &image::Rgb<u8>, c: [u8; 3]| p.0.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    let teal = image.pixels().filter(|p| near(p, [0x00, 0x79, 0x8c])).count();
    let red = image.pixels().filter(|p| near(p, [0xd1, 0x49, 0x5b]) || near(p, [0xa0, 0x1d, 0x2e])).count();
    assert!(teal > 2000, "score bars drawn: {teal} teal pixels");
    assert!(red > 200, "problems drawn in red: {red} pixels");
    // The frames are saturated test patterns; the page's own colours (text,
    // bars, the six curves) are few and known.
    let palette = [
        [0xd1, 0x49, 0x5b],
        [0xed, 0xae, 0x49],
        [0x00, 0x79, 0x8c],
        [0x30, 0x63, 0x8e],
        [0x8d, 0x6a, 0x9f],
        [0x6a, 0x99, 0x4e],
        [0xa0, 0x1d, 0x2e],
    ];
    let from_frames = image
        .pixels()
        .filter(|p| {
            let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
            max - min > 100 && !palette.iter().any(|c| p.0.iter().zip(c).all(|(a, b)| a.abs_diff(*b) < 40))
        })
        .count();
    assert!(from_frames > 20_000, "inline images decoded: {from_frames} saturated pixels from frames");
}

/// `--backend onnx` with the shared MediaPipe models and the wheel's ONNX
/// Runtime; and, when the library is missing, a clear warning and the
/// default backend rather than a failure.
#[test]
fn the_onnx_backend_scores_and_falls_back_clearly_without_its_library() {
    let dir = tempfile::tempdir().unwrap();
    let shots = episode(dir.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let models = root.join("../shared/models");
    let library = root.join("target/tools/onnxruntime/libonnxruntime.so");
    let run = |library: &Path| {
        Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .arg("--json")
            .arg("score")
            .arg(&shots[0])
            .args(["--backend", "onnx", "--models"])
            .arg(&models)
            .arg("--onnxruntime")
            .arg(library)
            .output()
            .unwrap()
    };
    let doc = json_ok(&run(&library));
    assert_eq!(doc["backend"], "onnx");
    assert_eq!(doc["shots"][0]["report"]["backend"], "onnx");
    let missing = run(&dir.path().join("libonnxruntime.so"));
    let warning = String::from_utf8_lossy(&missing.stderr);
    assert!(warning.contains("cannot load ONNX Runtime") && warning.contains("default backend"), "{warning}");
    let doc = json_ok(&missing);
    assert_eq!(doc["backend"], "default");
    let usage = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .arg("score")
        .arg(&shots[0])
        .arg("--models")
        .arg(&models)
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--backend onnx"));
}

/// Shots scored apart (`--save`, as a farm's tasks do) and merged
/// (`--merge`) report what scoring them together reports, to the last
/// digit; saved files that were damaged or are not saved scores are refused.
#[test]
fn shots_saved_apart_and_merged_match_shots_scored_together() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.mkv"), dir.path().join("b.mkv"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=24",
        "-frames:v",
        "12",
        "-c:v",
        "ffv1",
        a.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x180:rate=24",
        "-frames:v",
        "12",
        "-c:v",
        "ffv1",
        b.to_str().unwrap(),
    ]);
    let together = json_ok(&score(&[&a, &b]));
    let saved = [dir.path().join("saved/a.json"), dir.path().join("saved/b.json")];
    for (shot, file) in [&a, &b].into_iter().zip(&saved) {
        let out = Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .arg("score")
            .arg(shot)
            .arg("--save")
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let merge = |files: &[&Path]| {
        Command::new(env!("CARGO_BIN_EXE_mattebox")).args(["--json", "score", "--merge"]).args(files).output().unwrap()
    };
    let merged = json_ok(&merge(&[&saved[0], &saved[1]]));
    assert_eq!(merged["shots"], together["shots"]);
    assert_eq!(merged["episode"], together["episode"]);
    assert!(
        !together["episode"]["outliers"].as_array().unwrap().is_empty(),
        "the two shots differ: {}",
        together["episode"]
    );
    // A look whose histogram lost a value, and a file that is not saved scores.
    let text = std::fs::read_to_string(&saved[0]).unwrap();
    let damaged = dir.path().join("damaged.json");
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["shots"][0]["look"]["subject"]["lightness"].as_array_mut().unwrap().pop();
    std::fs::write(&damaged, doc.to_string()).unwrap();
    let out = merge(&[&damaged, &saved[1]]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("damaged.json") && err.contains("lightness has 7 values, not 8"),
        "{err}"
    );
    let out = merge(&[&a]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a file written by `mattebox score --save`"));
    // The HTML report shows frames, which saved scores do not keep.
    let out = merge(&[&saved[0], &saved[1], Path::new("--html"), &dir.path().join("r.html")]);
    assert_eq!(out.status.code(), Some(2));
}
