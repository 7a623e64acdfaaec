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
