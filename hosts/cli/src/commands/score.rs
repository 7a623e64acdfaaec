//! `mattebox score`: consistency scores of shots (default backend), with
//! one sentence per problem found.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use mattebox_core::consistency::{ShotScorer, ShotScores};
use mattebox_core::media::OpenOptions;
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

/// Scores below this are reported as problems.
const PROBLEM_BELOW: f32 = 0.75;

#[derive(Debug, Args)]
#[command(after_help = "\
Scores run from 0 to 1, higher is better:
  subject, background  the centre / the border keep their structure (VBench's form)
  flicker              no brightness or colour jumps beyond what motion explains
  boiling              no local texture crawling beyond what motion explains
  grade                the colour stays where the shot started
  smoothness           the camera's motion changes smoothly
Below 0.75 a score is reported as a problem, with the worst frames.
`mattebox --json score ...` prints everything, per-frame curves included.")]
pub(crate) struct ScoreArgs {
    /// Shots to score (videos or image sequences).
    #[arg(required = true, value_name = "SHOT")]
    shots: Vec<PathBuf>,
}

fn sentence(metric: &str) -> &'static str {
    match metric {
        "subject" => "the centre of the frame changes its structure (the subject drifts or is swapped)",
        "background" => "the background changes its structure (the location drifts or is swapped)",
        "flicker" => "brightness or colour jumps between frames",
        "boiling" => "texture crawls from frame to frame where nothing moves",
        "grade" => "the grade drifts away from where the shot started",
        _ => "the camera's motion is jerky",
    }
}

pub(crate) fn run(ctx: &Ctx, args: ScoreArgs) -> Result<Report, CliError> {
    let mut text = String::new();
    let mut docs = Vec::new();
    for path in &args.shots {
        let mut reader = ctx.runtime.open_media(path, &OpenOptions::default())?;
        let count = reader.info().frame_count;
        let bar = ctx.progress(count, "scoring");
        let mut scorer = ShotScorer::new();
        for n in 0..count {
            let frame = reader.read_frame(n)?;
            ctx.runtime
                .install(|| scorer.push(&frame.view()))
                .map_err(|e| e.context(format!("{} frame {n}", path.display())))?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let scores: ShotScores = scorer.finish().map_err(|e| e.context(path.display()))?;
        let _ = writeln!(text, "{} ({} frames)", path.display(), scores.frames);
        let line: Vec<String> = scores.scores.named().iter().map(|(name, v)| format!("{name} {v:.2}")).collect();
        let _ = writeln!(text, "  {}", line.join("  "));
        let mut problems = Vec::new();
        for (name, value) in scores.scores.named() {
            if value < PROBLEM_BELOW {
                let frames: Vec<String> = scores
                    .curves
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.named().iter().any(|(n, v)| *n == name && *v < PROBLEM_BELOW))
                    .map(|(i, _)| i.to_string())
                    .take(8)
                    .collect();
                let problem = format!("{name} {value:.2}: {} (frames {})", sentence(name), frames.join(", "));
                let _ = writeln!(text, "  problem: {problem}");
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            let _ = writeln!(text, "  no problems found");
        }
        docs.push(json!({ "shot": path, "report": scores, "problems": problems }));
    }
    Ok(Report { text, json: json!({ "shots": docs, "problem_below": PROBLEM_BELOW }) })
}
