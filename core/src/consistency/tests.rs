//! Each score against the failure it is meant to catch, on synthetic shots
//! with a natural-looking texture: a clean pan must score high everywhere,
//! and each failure must pull its own score well below the clean one.

use super::*;
use crate::frame::PixelFormat;
use crate::testing::{render, texture, value_noise};

const W: u32 = 192;
const H: u32 = 108;
const FRAMES: usize = 12;

/// A textured scene seen through a camera at horizontal offset `pan`, with
/// `gain` on every channel and, where `boil` is set, fresh noise in the
/// centre; `swap` replaces it with another place (a facade of vertical
/// edges and windows).
fn scene(pan: f32, gain: f32, boil: Option<u32>, swap: bool) -> Frame {
    render(W, H, PixelFormat::Rgba8, |x, y| {
        let (sx, sy) = (x + pan, y);
        let mut c = texture(sx, sy);
        if swap {
            let window = ((sx / 12.0).fract() < 0.35) as u8 as f32 * ((sy / 16.0).fract() < 0.6) as u8 as f32;
            let t = texture(sy + 500.0, sx + 90.0);
            c = [0.3 + 0.4 * window + 0.2 * t[0], 0.3 + 0.35 * window + 0.2 * t[1], 0.35 + 0.3 * window + 0.2 * t[2]];
        }
        if let Some(seed) = boil {
            let centre = (x - W as f32 / 2.0).abs() < 40.0 && (y - H as f32 / 2.0).abs() < 30.0;
            if centre {
                let n = value_noise(x, y, 2.0, seed);
                c = [c[0] * 0.5 + n * 0.5, c[1] * 0.5 + n * 0.5, c[2] * 0.5 + n * 0.5];
            }
        }
        [c[0] * gain, c[1] * gain, c[2] * gain, 1.0]
    })
}

fn shot(f: impl Fn(usize) -> Frame) -> ShotScores {
    score_frames(&(0..FRAMES).map(f).collect::<Vec<_>>()).unwrap()
}

fn clean() -> Scores {
    shot(|i| scene(i as f32 * 2.0, 1.0, None, false)).scores
}

#[test]
fn a_clean_pan_scores_high_everywhere() {
    let s = clean();
    for (name, value) in s.named() {
        assert!(value > 0.8, "{name} = {value} on a clean pan: {s:?}");
    }
}

#[test]
fn exposure_flicker_is_caught_by_flicker() {
    let flicker = shot(|i| scene(i as f32 * 2.0, if i % 2 == 0 { 1.0 } else { 0.85 }, None, false));
    let clean = clean();
    assert!(flicker.scores.flicker < clean.flicker - 0.3, "{:?} vs {clean:?}", flicker.scores);
    assert!(flicker.scores.subject > 0.8, "structure does not care about exposure: {:?}", flicker.scores);
}

#[test]
fn texture_boiling_is_caught_by_boiling() {
    let boiling = shot(|i| scene(i as f32 * 2.0, 1.0, Some(i as u32 + 1), false));
    let clean = clean();
    assert!(boiling.scores.boiling < clean.boiling - 0.2, "{:?} vs {clean:?}", boiling.scores);
}

#[test]
fn a_content_swap_is_caught_by_subject_and_background_and_named_as_the_worst_frame() {
    let swapped = shot(|i| scene(i as f32 * 2.0, 1.0, None, i >= 6));
    let clean = shot(|i| scene(i as f32 * 2.0, 1.0, None, false));
    // At the swap, both fall far below anything the clean pan reaches...
    let lowest = |f: fn(&Scores) -> f32| clean.curves.iter().map(f).fold(1.0f32, f32::min);
    assert!(swapped.curves[6].subject < lowest(|s| s.subject) - 0.15, "{:?}", swapped.curves[6]);
    assert!(swapped.curves[6].background < lowest(|s| s.background) - 0.15, "{:?}", swapped.curves[6]);
    // ...the shot's scores drop, and the report points at the frame.
    assert!(swapped.scores.subject < clean.scores.subject - 0.03, "{:?} vs {:?}", swapped.scores, clean.scores);
    assert!(swapped.scores.background < clean.scores.background - 0.03, "{:?}", swapped.scores);
    assert_eq!(swapped.worst_frames[0].0, 6, "the swap happens at frame 6: {:?}", swapped.worst_frames);
}

#[test]
fn grade_drift_is_caught_by_grade() {
    let drift = shot(|i| scene(i as f32 * 2.0, 1.0 - 0.03 * i as f32, None, false));
    let clean = clean();
    assert!(drift.scores.grade < clean.grade - 0.3, "{:?} vs {clean:?}", drift.scores);
}

#[test]
fn a_jerky_camera_is_caught_by_smoothness() {
    let offsets = [0.0, 2.0, 9.0, 10.0, 18.0, 19.0, 27.0, 28.0, 36.0, 37.0, 45.0, 46.0];
    let jerky = shot(|i| scene(offsets[i], 1.0, None, false));
    let clean = clean();
    assert!(jerky.scores.smoothness < clean.smoothness - 0.3, "{:?} vs {clean:?}", jerky.scores);
}

#[test]
fn too_few_frames_and_mixed_sizes_are_refused() {
    let one = score_frames(&[scene(0.0, 1.0, None, false)]).unwrap_err();
    assert!(one.to_string().contains("at least two frames"), "{one}");
    let mut scorer = ShotScorer::new();
    scorer.push(&scene(0.0, 1.0, None, false).view()).unwrap();
    let other = Frame::new(64, 36, PixelFormat::Rgba8).unwrap();
    let err = scorer.push(&other.view()).unwrap_err();
    assert!(err.to_string().contains("frame 1 is 64x36"), "{err}");
}

#[cfg(feature = "images")]
#[test]
fn the_report_is_one_self_contained_page() {
    let flicker = shot(|i| scene(i as f32 * 2.0, if i % 2 == 0 { 1.0 } else { 0.85 }, None, false));
    assert!(!flicker.thumbnails.is_empty() && !flicker.worst_thumbnails.is_empty());
    let shots = [report::ShotPage { name: "a&b.mp4", scores: &flicker, references: None }];
    let page = report::html("Shots <of> \"ep 1\"", &shots, None, None).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(page.contains("Shots &lt;of&gt; &quot;ep 1&quot;") && page.contains("a&amp;b.mp4"), "names are escaped");
    assert!(page.contains("<svg") && page.matches("<polyline").count() == 6, "six curves");
    assert!(page.contains("brightness or colour jumps"), "the problem in words");
    assert!(!page.contains("src=\"http") && !page.contains("<script"), "nothing external, no scripts");
    // Every image is an inline PNG.
    let images = page.matches("src=\"data:image/png;base64,iVBORw0KGgo").count();
    assert_eq!(images, page.matches("<img").count());
    assert!(images >= 3, "{images}");
}

#[test]
fn thumbnails_stay_bounded_and_spread_over_a_long_shot() {
    let mut scorer = ShotScorer::new();
    let small = render(32, 18, PixelFormat::Rgba8, |x, y| {
        let c = texture(x, y);
        [c[0], c[1], c[2], 1.0]
    });
    for _ in 0..200 {
        scorer.push(&small.view()).unwrap();
    }
    let scores = scorer.finish().unwrap();
    assert!(scores.thumbnails.len() <= SHEET_THUMBNAILS && scores.thumbnails.len() >= SHEET_THUMBNAILS / 2);
    assert_eq!(scores.thumbnails[0].0, 0);
    assert!(scores.thumbnails.last().unwrap().0 >= 150, "they reach the end of the shot");
    assert!(scores.worst_thumbnails.len() <= WORST_THUMBNAILS);
}

/// References whose images `load` takes from `images` by file name.
fn refs(toml: &str, images: &[(&str, Frame)]) -> crate::error::Result<references::References> {
    references::References::parse(toml, std::path::Path::new("/refs"), |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        images
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
            .ok_or_else(|| crate::error::Error::media(format!("{}: cannot decode image", path.display())))
    })
}

const REFS: &str = r#"
[characters]
hero = ["hero.png"]
[locations]
street = ["street.png"]
[shots]
"a.mp4" = { characters = ["hero"], location = "street" }
"ep2/a.mp4" = { location = "street" }
"#;

#[test]
fn a_shot_matches_its_references_and_a_swap_does_not() {
    let images = [("hero.png", scene(0.0, 1.0, None, false)), ("street.png", scene(0.0, 1.0, None, false))];
    let refs = refs(REFS, &images).unwrap();
    // The longest matching tail wins.
    assert_eq!(refs.expectation(std::path::Path::new("/x/a.mp4")).unwrap().characters, ["hero"]);
    assert!(refs.expectation(std::path::Path::new("/x/ep2/a.mp4")).unwrap().characters.is_empty());
    assert!(refs.expectation(std::path::Path::new("/x/b.mp4")).is_none());
    let expect = refs.expectation(std::path::Path::new("a.mp4")).unwrap().clone();
    let same = refs.score(&clean_shot(), &expect);
    let swapped = refs.score(&shot(|i| scene(i as f32 * 2.0, 1.0, None, i >= 6)), &expect);
    let graded = refs.score(&shot(|i| scene(i as f32 * 2.0, 0.7, None, false)), &expect);
    let (c, s) = (same.character.unwrap(), swapped.character.unwrap());
    assert!(c > 0.8 && s < c - 0.2, "character {c} vs swapped {s}");
    let (c, s) = (same.location.as_ref().unwrap().score, swapped.location.as_ref().unwrap().score);
    assert!(c > 0.8 && s < c - 0.2, "location {c} vs swapped {s}");
    assert!(swapped.location.as_ref().unwrap().worst_frame >= 6, "{:?}", swapped.location);
    let (c, g) = (same.grade.unwrap(), graded.grade.unwrap());
    assert!(c > 0.9 && g < c - 0.3, "grade match {c} vs darker {g}");
    assert_eq!(same.curves.len(), FRAMES);
    assert_eq!(same.named().len(), 4);
}

fn clean_shot() -> ShotScores {
    shot(|i| scene(i as f32 * 2.0, 1.0, None, false))
}

#[test]
fn bad_references_are_refused_with_what_and_where() {
    let images = [("hero.png", scene(0.0, 1.0, None, false)), ("street.png", scene(0.0, 1.0, None, false))];
    let err = |toml: &str| refs(toml, &images).unwrap_err().to_string();
    let e = err("[characters]\nhero = []\n");
    assert!(e.contains("character \"hero\" has no images"), "{e}");
    let e = err("[characters]\nhero = [\"missing.png\"]\n");
    assert!(e.contains("character \"hero\"") && e.contains("/refs/missing.png") && e.contains("cannot decode"), "{e}");
    let e = err("[shots]\n\"a.mp4\" = { characters = [\"villain\"] }\n");
    assert!(e.contains("names character \"villain\""), "{e}");
    let e = err("[shots]\n\"a.mp4\" = { location = \"moon\" }\n");
    assert!(e.contains("names location \"moon\""), "{e}");
    let e = err("[characters\n");
    assert!(e.contains("not a valid references file"), "{e}");
    let e = err("[shots]\n\"a.mp4\" = { charcters = [\"hero\"] }\n");
    assert!(e.contains("charcters"), "a misspelt key is named: {e}");
}

#[test]
fn an_episode_without_references_flags_the_regraded_shot() {
    let looks: Vec<FrameLook> = (0..4)
        .map(|k| shot(|i| scene(i as f32 * 2.0 + 30.0 * k as f32, if k == 2 { 0.6 } else { 1.0 }, None, false)).look())
        .collect();
    let names = ["one", "two", "three", "four"];
    let shots: Vec<episode::EpisodeShot<'_>> =
        names.iter().zip(&looks).map(|(name, look)| episode::EpisodeShot { name, look, expectation: None }).collect();
    let ep = episode::compare(&shots);
    assert_eq!(ep.outliers.len(), 1, "{:#?}", ep.outliers);
    assert_eq!(ep.outliers[0].shot, 2);
    assert!(ep.outliers[0].sentence.starts_with("three drifts from") && ep.outliers[0].sentence.contains("darker"));
    assert!(ep.matrix[0][1].grade.unwrap() > 0.8 && ep.matrix[0][2].grade.unwrap() < 0.5, "{:?}", ep.matrix[0]);
}
