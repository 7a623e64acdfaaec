//! `mattebox score`: consistency scores of shots (default backend), with
//! one sentence per problem found.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use mattebox_core::Error;
use mattebox_core::consistency::{PROBLEM_BELOW, ShotScorer, ShotScores, report};
use mattebox_core::media::OpenOptions;
use mattebox_core::staged::StagedFile;
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

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
    /// Also write a self-contained HTML report here (curves, contact sheet, worst frames).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Replace an existing report.
    #[arg(short = 'y', long)]
    overwrite: bool,
}

pub(crate) fn run(ctx: &Ctx, args: ScoreArgs) -> Result<Report, CliError> {
    if let Some(html) = &args.html
        && html.exists()
        && !args.overwrite
    {
        return Err(CliError::usage(format!("{} already exists; pass --overwrite (-y) to replace it", html.display())));
    }
    let mut text = String::new();
    let mut docs = Vec::new();
    let mut scored: Vec<(String, ShotScores)> = Vec::new();
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
        let problems: Vec<String> = scores.problems().into_iter().map(|p| p.sentence).collect();
        for problem in &problems {
            let _ = writeln!(text, "  problem: {problem}");
        }
        if problems.is_empty() {
            let _ = writeln!(text, "  no problems found");
        }
        docs.push(json!({ "shot": path, "report": scores, "problems": problems }));
        scored.push((path.display().to_string(), scores));
    }
    if let Some(html) = &args.html {
        let shots: Vec<(String, &ShotScores)> = scored.iter().map(|(n, s)| (n.clone(), s)).collect();
        let page = report::html("Mattebox consistency report", &shots)?;
        let staged = StagedFile::new(html, args.overwrite)?;
        std::fs::write(staged.temp_path(), page).map_err(|e| Error::io(html, "write the report", e))?;
        staged.commit()?;
        let _ = writeln!(text, "report: {}", html.display());
    }
    Ok(Report { text, json: json!({ "shots": docs, "problem_below": PROBLEM_BELOW, "html": args.html }) })
}
