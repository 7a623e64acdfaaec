//! Consistency scores on the calibration set (real photos and clips, see
//! `support/calibration.rs`): every score meant to catch a failure ranks
//! each clean shot above the same shot with that failure, every failure is
//! caught by some score with a clear margin, clean camera moves over photos
//! are not reported as problems, and an episode names the shot that drifts.

#![cfg(feature = "media")]

#[path = "support/calibration.rs"]
mod calibration;

use calibration::{Failure, Kind};
use mattebox_core::consistency::PROBLEM_BELOW;
use mattebox_core::consistency::episode::{EpisodeShot, compare};

fn value(scores: &[(&str, f32)], metric: &str) -> f32 {
    scores.iter().find(|(n, _)| *n == metric).map(|(_, v)| *v).unwrap()
}

#[test]
fn every_failure_is_caught_and_clean_moves_are_not_penalised() {
    let rows = calibration::run();
    let sources = calibration::sources();
    for source in &sources {
        let clean = &rows.iter().find(|(s, f, _)| *s == source.name && f.is_none()).unwrap().2;
        if matches!(source.kind, Kind::Photo { .. }) {
            for metric in ["subject", "background", "flicker", "boiling", "grade", "smoothness"] {
                let v = value(clean, metric);
                assert!(v >= PROBLEM_BELOW, "{}: a clean camera move scores {metric} {v:.2}", source.name);
            }
        }
        for failure in Failure::ALL {
            let failed = &rows.iter().find(|(s, f, _)| *s == source.name && *f == Some(failure)).unwrap().2;
            for metric in failure.caught_by() {
                let (c, f) = (value(clean, metric), value(failed, metric));
                assert!(c > f, "{}: {metric} ranks {} ({f:.3}) above clean ({c:.3})", source.name, failure.name());
            }
        }
    }
    // Each failure: some metric meant for it drops by at least 0.1 on most
    // sources (the median) and by something on every one.
    for failure in Failure::ALL {
        let best = failure
            .caught_by()
            .iter()
            .map(|metric| {
                let mut margins: Vec<f32> = sources
                    .iter()
                    .map(|source| {
                        let find =
                            |f: Option<Failure>| &rows.iter().find(|(s, x, _)| *s == source.name && *x == f).unwrap().2;
                        value(find(None), metric) - value(find(Some(failure)), metric)
                    })
                    .collect();
                margins.sort_by(f32::total_cmp);
                (margins[margins.len() / 2], margins[0])
            })
            .fold((f32::MIN, f32::MIN), |a, b| if b.0 > a.0 { b } else { a });
        assert!(
            best.0 >= 0.1 && best.1 > 0.0,
            "{}: median margin {:.3}, smallest {:.3}",
            failure.name(),
            best.0,
            best.1
        );
    }
}

#[test]
fn an_episode_names_the_shot_that_drifts_and_why() {
    // Four stretches of the same real shot, the third regraded, and one
    // with another subject pasted in.
    let sources = calibration::sources();
    let carphone = sources.iter().find(|s| s.name.starts_with("carphone")).unwrap();
    let astronaut = sources.iter().find(|s| s.name.starts_with("astronaut")).unwrap();
    let clean = carphone.clean();
    let reversed: Vec<_> = clean.iter().rev().cloned().collect();
    let graded = calibration::with_failure(&clean, Failure::GradeShift, &[]);
    let swapped: Vec<_> = calibration::with_failure(&reversed, Failure::IdentitySwap, &astronaut.clean())
        .split_off(calibration::FRAMES / 2);
    let looks = [
        calibration::look_of(&clean),
        calibration::look_of(&reversed),
        calibration::look_of(&graded),
        calibration::look_of(&clean[..12]),
        calibration::look_of(&swapped),
    ];
    let names = ["s01", "s02", "s03", "s04", "s05"];
    let shots: Vec<EpisodeShot<'_>> =
        names.iter().zip(&looks).map(|(name, look)| EpisodeShot { name, look, expectation: None }).collect();
    let episode = compare(&shots);
    assert_eq!(episode.matrix.len(), 5);
    let flagged: Vec<usize> = episode.outliers.iter().map(|o| o.shot).collect();
    assert!(flagged.contains(&2) && flagged.contains(&4), "{:#?}", episode.outliers);
    assert!(!flagged.contains(&0) && !flagged.contains(&1) && !flagged.contains(&3), "{:#?}", episode.outliers);
    let graded = episode.outliers.iter().find(|o| o.shot == 2).unwrap();
    assert!(graded.sentence.starts_with("s03 drifts from") && graded.sentence.contains("grade"), "{}", graded.sentence);
    let swapped = episode.outliers.iter().find(|o| o.shot == 4).unwrap();
    assert!(swapped.sentence.contains("subject"), "{}", swapped.sentence);
}
