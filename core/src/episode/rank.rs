//! Ranking the takes of a shot: a documented blend of the consistency
//! scores, and the reason for each rank in words.
//!
//! | component | weight | what it is |
//! |---|---|---|
//! | character | 0.30 | the least-matching expected character against the character sheet |
//! | location | 0.20 | the expected location against its references |
//! | grade match | 0.15 | the grade against the look references (else the location's) |
//! | continuity | 0.15 | the grade against the chosen take of the shot before it |
//! | flicker | 0.10 | no brightness or colour jumps within the take |
//! | boiling | 0.10 | no texture crawling within the take |
//!
//! A component the episode gives nothing to compare with (no characters
//! expected, no shot before) is left out and the weights of the others
//! are scaled to sum to 1, so blends of takes of one shot always compare
//! like with like. Rejected takes rank last.

use serde::{Deserialize, Serialize};

use crate::consistency::PROBLEM_BELOW;

/// The components of a take's blend, each in [0, 1], higher is better.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TakeScores {
    /// The least-matching expected character (and which one).
    pub character: Option<(String, f32)>,
    /// The expected location.
    pub location: Option<f32>,
    /// Grade against the look (or location) references.
    pub grade_match: Option<f32>,
    /// Grade against the chosen take of the shot before (and which shot).
    pub continuity: Option<(String, f32)>,
    /// In-take flicker score.
    pub flicker: f32,
    /// In-take boiling score.
    pub boiling: f32,
}

/// The blend's weights, by component name.
pub const WEIGHTS: [(&str, f32); 6] = [
    ("character", 0.30),
    ("location", 0.20),
    ("grade match", 0.15),
    ("continuity", 0.15),
    ("flicker", 0.10),
    ("boiling", 0.10),
];

impl TakeScores {
    /// Each component present: its id (a name of [`WEIGHTS`]), its name
    /// for people ("character mira"), its value and its weight.
    pub fn components(&self) -> Vec<(&'static str, String, f32, f32)> {
        let values = [
            self.character.as_ref().map(|(name, v)| (format!("character {name}"), *v)),
            self.location.map(|v| ("location".to_owned(), v)),
            self.grade_match.map(|v| ("grade match".to_owned(), v)),
            self.continuity.as_ref().map(|(shot, v)| (format!("continuity with {shot}"), *v)),
            Some(("flicker".to_owned(), self.flicker)),
            Some(("boiling".to_owned(), self.boiling)),
        ];
        values
            .into_iter()
            .zip(WEIGHTS)
            .filter_map(|(value, (id, weight))| value.map(|(label, v)| (id, label, v, weight)))
            .collect()
    }

    /// The weighted mean of the components present.
    pub fn blend(&self) -> f32 {
        let parts = self.components();
        let total: f32 = parts.iter().map(|p| p.3).sum();
        parts.iter().map(|(_, _, v, w)| v * w).sum::<f32>() / total.max(f32::EPSILON)
    }
}

/// A take's place among the takes of its shot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedTake {
    /// 1 is best.
    pub rank: usize,
    /// The blend it was ranked by.
    pub blend: f32,
    /// Why it is where it is, in words.
    pub reason: String,
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Where `a` differs most from `b`, weighted: up to two components on
/// which `a` is ahead (`ahead`) or behind, as "character mira (0.82
/// against 0.71)".
fn differences(a: &TakeScores, b: &TakeScores, ahead: bool) -> Vec<String> {
    let (pa, pb) = (a.components(), b.components());
    let mut diffs: Vec<(f32, String)> = pa
        .iter()
        .filter_map(|(id, name, va, w)| {
            let (_, _, vb, _) = pb.iter().find(|(other, _, _, _)| other == id)?;
            let gain = if ahead { va - vb } else { vb - va };
            // Only differences the sentence can show (two decimals).
            let shown = (va * 100.0).round() != (vb * 100.0).round();
            (gain > 0.0 && shown).then(|| (gain * w, format!("{name} ({va:.2} against {vb:.2})")))
        })
        .collect();
    diffs.sort_by(|x, y| y.0.total_cmp(&x.0));
    diffs.into_iter().take(2).map(|d| d.1).collect()
}

/// Ranks the takes of one shot (`takes[i]` is take i + 1; `rejected[i]`
/// says the director rejected it): the result is in the takes' order,
/// each with its rank and the reason in words.
pub fn rank_takes(takes: &[TakeScores], rejected: &[bool]) -> Vec<RankedTake> {
    let n = takes.len();
    let blends: Vec<f32> = takes.iter().map(TakeScores::blend).collect();
    let is_rejected = |i: usize| rejected.get(i).copied().unwrap_or(false);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| is_rejected(a).cmp(&is_rejected(b)).then(blends[b].total_cmp(&blends[a])).then(a.cmp(&b)));
    let mut out = vec![RankedTake { rank: 0, blend: 0.0, reason: String::new() }; n];
    for (place, &i) in order.iter().enumerate() {
        let head = if n == 1 {
            format!("the only take (blend {:.2})", blends[i])
        } else {
            format!("ranked {} of {n} (blend {:.2})", place + 1, blends[i])
        };
        let mut reason = head;
        if is_rejected(i) {
            reason.push_str(": rejected by the director");
        } else if place == 0 && n > 1 {
            let next = order[1];
            let ahead = differences(&takes[i], &takes[next], true);
            if ahead.is_empty() {
                reason.push_str(&format!(": level with take {} on every score", next + 1));
            } else {
                reason.push_str(&format!(": ahead of take {} on {}", next + 1, list(&ahead)));
            }
        } else if place > 0 {
            let above = order[place - 1];
            let behind = differences(&takes[i], &takes[above], false);
            if behind.is_empty() {
                reason.push_str(&format!(": level with take {} on every score", above + 1));
            } else {
                reason.push_str(&format!(": behind take {} on {}", above + 1, list(&behind)));
            }
        }
        let low: Vec<String> = takes[i]
            .components()
            .into_iter()
            .filter(|(_, _, v, _)| *v < PROBLEM_BELOW)
            .map(|(_, name, v, _)| format!("{name} {v:.2}"))
            .collect();
        if !low.is_empty() {
            reason.push_str(&format!("; low: {}", list(&low)));
        }
        out[i] = RankedTake { rank: place + 1, blend: blends[i], reason };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(character: f32, flicker: f32) -> TakeScores {
        TakeScores {
            character: Some(("mira".into(), character)),
            location: None,
            grade_match: Some(0.9),
            continuity: None,
            flicker,
            boiling: 0.95,
        }
    }

    #[test]
    fn the_blend_ranks_and_says_why() {
        let takes = [take(0.6, 0.95), take(0.9, 0.9), take(0.8, 0.5)];
        let ranked = rank_takes(&takes, &[false; 3]);
        let ranks: Vec<usize> = ranked.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [3, 1, 2]);
        assert!(ranked[1].reason.starts_with("ranked 1 of 3"), "{}", ranked[1].reason);
        let best = &ranked[1].reason;
        assert!(
            best.contains("ahead of take 3 on flicker (0.90 against 0.50) and character mira (0.90 against 0.80)"),
            "{best}"
        );
        assert!(ranked[2].reason.contains("behind take 2 on flicker (0.50 against 0.90)"), "{}", ranked[2].reason);
        assert!(ranked[2].reason.contains("low: flicker 0.50"), "{}", ranked[2].reason);
        // Weights of absent components are spread over the others.
        let alone = TakeScores { flicker: 0.8, boiling: 0.6, ..Default::default() };
        assert!((alone.blend() - 0.7).abs() < 1e-6);
    }

    #[test]
    fn rejected_takes_rank_last() {
        let takes = [take(0.9, 0.9), take(0.5, 0.5)];
        let ranked = rank_takes(&takes, &[true, false]);
        assert_eq!((ranked[0].rank, ranked[1].rank), (2, 1));
        assert!(ranked[0].reason.contains("rejected"));
        assert_eq!(rank_takes(&takes[..1], &[false])[0].reason, "the only take (blend 0.91)");
        let level = rank_takes(&[take(0.9, 0.9), take(0.9, 0.9)], &[false, false]);
        assert!(level[1].reason.ends_with("level with take 1 on every score"), "{}", level[1].reason);
    }
}
