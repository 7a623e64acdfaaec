//! Across an episode: every shot against every other (a matrix of subject,
//! background, grade and style scores) and the shots that drift from the
//! rest, ranked, each with a sentence ("shot14.mp4 drifts from shot03.mp4
//! in subject colour and grade (warmer)").
//!
//! Only comparable shots are compared: with references, subjects of shots
//! sharing a character and backgrounds and grades of shots at the same
//! location; without, every pair (the shots are taken to be one scene).

use serde::Serialize;

use super::appearance::{Appearance, Likeness, describe_grade_change, grade_difference};
use super::references::{Expectation, grade_match, similarity, style_match};
use super::{FrameLook, PROBLEM_BELOW};

/// One shot against another; `None` where they are not comparable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PairScores {
    /// Subject regions (the characters).
    pub subject: Option<f32>,
    /// Backgrounds (the location).
    pub background: Option<f32>,
    /// Grades (Lab statistics of the whole frame).
    pub grade: Option<f32>,
    /// Styles of the whole frame.
    pub style: Option<f32>,
}

impl PairScores {
    fn get(&self, metric: Metric) -> Option<f32> {
        match metric {
            Metric::Subject => self.subject,
            Metric::Background => self.background,
            Metric::Grade => self.grade,
            Metric::Style => self.style,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Subject,
    Background,
    Grade,
    Style,
}

const METRICS: [Metric; 4] = [Metric::Subject, Metric::Background, Metric::Grade, Metric::Style];

/// A shot that drifts from the rest of the episode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outlier {
    /// Index of the shot.
    pub shot: usize,
    /// The comparable shot most typical of the episode, which it is
    /// compared with.
    pub anchor: usize,
    /// Which scores are low against the anchor, and their values.
    pub metrics: Vec<(String, f32)>,
    /// How far below the threshold, summed: outliers are ranked by it.
    pub severity: f32,
    /// One sentence for an editor.
    pub sentence: String,
}

/// The matrix and the outliers of an episode.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Episode {
    /// Shot names, in the order given.
    pub shots: Vec<String>,
    /// `matrix[i][j]`: shot i against shot j (empty on the diagonal).
    pub matrix: Vec<Vec<PairScores>>,
    /// Drifting shots, worst first.
    pub outliers: Vec<Outlier>,
}

/// One shot of an episode: its name, how it looks, and what it should
/// contain (if references say).
#[derive(Clone, Copy, Debug)]
pub struct EpisodeShot<'a> {
    /// Name used in sentences.
    pub name: &'a str,
    /// The shot's average look ([`super::ShotScores::look`]).
    pub look: &'a FrameLook,
    /// From `refs.toml`, if the shot is listed there.
    pub expectation: Option<&'a Expectation>,
}

fn share_character(a: Option<&Expectation>, b: Option<&Expectation>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if !a.characters.is_empty() || !b.characters.is_empty() => {
            a.characters.iter().any(|c| b.characters.contains(c))
        }
        _ => true,
    }
}

fn share_location(a: Option<&Expectation>, b: Option<&Expectation>) -> bool {
    match (a.and_then(|e| e.location.as_ref()), b.and_then(|e| e.location.as_ref())) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Words for the family that differs most.
fn weakest_family(region: &str, a: &Appearance, b: &Appearance) -> String {
    let l = Likeness::of(a, b);
    let family = [("colour", l.colour), ("texture", l.texture), ("structure", l.structure)]
        .into_iter()
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|f| f.0)
        .unwrap_or("colour");
    format!("{region} {family}")
}

/// Compares every pair of `shots` and ranks the ones that drift.
pub fn compare(shots: &[EpisodeShot<'_>]) -> Episode {
    let n = shots.len();
    let wholes: Vec<Appearance> = shots.iter().map(|s| s.look.whole()).collect();
    let mut matrix = vec![vec![PairScores::default(); n]; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (a, b) = (&shots[i], &shots[j]);
            let same_place = share_location(a.expectation, b.expectation);
            matrix[i][j] = PairScores {
                subject: share_character(a.expectation, b.expectation)
                    .then(|| similarity(&a.look.subject, &b.look.subject)),
                background: same_place.then(|| similarity(&a.look.background, &b.look.background)),
                grade: same_place.then(|| grade_match(&wholes[i], &wholes[j])),
                style: Some(style_match(&wholes[i], &wholes[j])),
            };
        }
    }
    // How central each shot is, per metric: its mean score against the
    // shots it is comparable with. The most central shots stand for the
    // episode; drift is measured against them, so a bad half of an episode
    // does not drag the reference point along (as a median would).
    let centrality: Vec<[Option<f32>; 4]> = (0..n)
        .map(|i| {
            METRICS.map(|m| {
                let values: Vec<f32> = (0..n).filter(|&j| j != i).filter_map(|j| matrix[i][j].get(m)).collect();
                (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
            })
        })
        .collect();
    let total = |j: usize, i: usize| -> f32 {
        (0..METRICS.len()).filter(|&k| matrix[i][j].get(METRICS[k]).is_some()).filter_map(|k| centrality[j][k]).sum()
    };
    let mut outliers = Vec::new();
    for i in 0..n {
        // The anchor: the most central shot comparable with this one.
        let Some(anchor) = (0..n)
            .filter(|&j| j != i && METRICS.iter().any(|m| matrix[i][j].get(*m).is_some()))
            .max_by(|&a, &b| total(a, i).total_cmp(&total(b, i)).then(b.cmp(&a)))
        else {
            continue;
        };
        // Low against the anchor and less central than it (on a tie, the
        // later shot is the one that drifted).
        let flagged: Vec<Metric> = METRICS
            .iter()
            .enumerate()
            .filter(|(k, m)| {
                let low = matrix[i][anchor].get(**m).is_some_and(|v| v < PROBLEM_BELOW);
                let less_central = match (centrality[i][*k], centrality[anchor][*k]) {
                    (Some(mine), Some(theirs)) => mine < theirs || (mine == theirs && i > anchor),
                    _ => false,
                };
                low && less_central
            })
            .map(|(_, m)| *m)
            .collect();
        let mut metrics = Vec::new();
        let mut words = Vec::new();
        for m in &flagged {
            let Some(value) = matrix[i][anchor].get(*m) else { continue };
            let (a, b) = (&shots[anchor], &shots[i]);
            let (name, word) = match m {
                Metric::Subject => {
                    ("subject", format!("{} {value:.2}", weakest_family("subject", &a.look.subject, &b.look.subject)))
                }
                Metric::Background => (
                    "background",
                    format!("{} {value:.2}", weakest_family("background", &a.look.background, &b.look.background)),
                ),
                Metric::Grade => {
                    let (de, delta) = grade_difference(&wholes[anchor], &wholes[i]);
                    ("grade", format!("grade {value:.2} ({}, Delta E {de:.1})", describe_grade_change(delta)))
                }
                Metric::Style => ("style", format!("style {value:.2}")),
            };
            metrics.push((name.to_owned(), value));
            words.push((value, word));
        }
        if metrics.is_empty() {
            continue;
        }
        let severity = metrics.iter().map(|(_, v)| PROBLEM_BELOW - v).sum();
        words.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut list: Vec<String> = words.into_iter().map(|(_, w)| w).collect();
        let last = list.pop().unwrap_or_default();
        let list = if list.is_empty() { last } else { format!("{} and {last}", list.join(", ")) };
        let sentence = format!("{} drifts from {} in {list}", shots[i].name, shots[anchor].name);
        outliers.push(Outlier { shot: i, anchor, metrics, severity, sentence });
    }
    outliers.sort_by(|a, b| b.severity.total_cmp(&a.severity));
    Episode { shots: shots.iter().map(|s| s.name.to_owned()).collect(), matrix, outliers }
}
