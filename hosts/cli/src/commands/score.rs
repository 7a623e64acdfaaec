//! `mattebox score`: consistency scores of shots (default backend): inside
//! each shot, against the references of `--refs refs.toml`, and across the
//! shots given (a matrix and the outliers), with one sentence per problem.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use mattebox_core::consistency::episode::{self, EpisodeShot};
use mattebox_core::consistency::models::{ModelBackend, ModelFiles};
use mattebox_core::consistency::references::{ReferenceScores, References};
use mattebox_core::consistency::report::{self, ShotPage};
use mattebox_core::consistency::{FrameLook, PROBLEM_BELOW, ShotScorer, ShotScores};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::staged::StagedFile;
use mattebox_core::{Error, Frame};
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
With --refs (see below), each shot listed there is also scored against its
characters, location and look (VBench's image-to-video form):
  character, location  the subject / the background look like the references
  grade match          Lab colour statistics match the look (or location) images
  style match          contrast, colourfulness, sharpness and texture match
With two shots or more, every pair is compared and drifting shots are named.
Below 0.75 a score is reported as a problem, with the worst frames.
`mattebox --json score ...` prints everything, per-frame curves included;
`--json=FILE` writes it to FILE (schema: docs/SCORES.md).

refs.toml (paths relative to it; shots found by file name or path tail):
  look = [\"grade/look.png\"]                 # optional
  [characters]
  mira = [\"sheet/mira_front.png\", \"sheet/mira_side.png\"]
  [locations]
  kitchen = [\"locations/kitchen.jpg\"]
  [shots]
  \"shot01.mp4\" = { characters = [\"mira\"], location = \"kitchen\" }")]
pub(crate) struct ScoreArgs {
    /// Shots to score (videos or image sequences).
    #[arg(required = true, value_name = "SHOT")]
    shots: Vec<PathBuf>,
    /// Character sheet, location and look references, and what each shot should contain.
    #[arg(long, value_name = "FILE")]
    refs: Option<PathBuf>,
    /// default: pure Rust, no model files. onnx: person segmentation and face
    /// detection (and --embedding-model) through ONNX Runtime; if the library
    /// or a model cannot be loaded, says why and scores with the default backend.
    #[arg(long, value_enum, default_value_t = Backend::Default)]
    backend: Backend,
    /// Directory with selfie.onnx and blazeface.onnx [default: $MATTEBOX_MODELS].
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// ONNX Runtime library [default: $MATTEBOX_ONNXRUNTIME, else libonnxruntime.so on the loader path].
    #[arg(long, value_name = "FILE")]
    onnxruntime: Option<PathBuf>,
    /// An image-embedding model (DINOv2 or CLIP exported to ONNX, input float
    /// [1,3,S,S]): subject and background consistency as VBench computes them.
    #[arg(long, value_name = "FILE")]
    embedding_model: Option<PathBuf>,
    /// Also write a self-contained HTML report here (curves, contact sheet, worst frames).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Replace an existing report.
    #[arg(short = 'y', long)]
    overwrite: bool,
}

/// The JSON document's schema (`docs/SCORES.md`): a new major number only
/// when a field changes meaning or goes away.
const SCHEMA: &str = "mattebox.score/1";

/// Which backend scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Default,
    Onnx,
}

/// The model backend asked for, or why it is not there (then the default
/// backend scores, and the reason is shown).
fn load_models(ctx: &Ctx, args: &ScoreArgs) -> Result<Option<Arc<ModelBackend>>, CliError> {
    if args.backend == Backend::Default {
        if args.models.is_some() || args.onnxruntime.is_some() || args.embedding_model.is_some() {
            return Err(CliError::usage("--models, --onnxruntime and --embedding-model need --backend onnx"));
        }
        return Ok(None);
    }
    let dir = args.models.clone().or_else(|| std::env::var_os("MATTEBOX_MODELS").map(PathBuf::from));
    let Some(dir) = dir else {
        ctx.warn("--backend onnx needs --models DIR (or $MATTEBOX_MODELS); scoring with the default backend");
        return Ok(None);
    };
    let mut files = ModelFiles::in_dir(&dir);
    files.library = args.onnxruntime.clone();
    files.embedding = args.embedding_model.clone();
    match ctx.runtime.install(|| ModelBackend::load(&files)) {
        Ok(models) => Ok(Some(Arc::new(models))),
        Err(e) => {
            ctx.warn(&format!("{e}; scoring with the default backend"));
            Ok(None)
        }
    }
}

/// Reads the first frame of an image (or video) file for the references.
fn load_image(ctx: &Ctx, path: &Path) -> Result<Frame, Error> {
    let mut reader = MediaReader::open_on(&ctx.runtime, path, &OpenOptions::default())?;
    reader.read_frame(0)
}

fn score_line(named: &[(&str, f32)]) -> String {
    named.iter().map(|(name, v)| format!("{name} {v:.2}")).collect::<Vec<_>>().join("  ")
}

pub(crate) fn run(ctx: &Ctx, args: ScoreArgs) -> Result<Report, CliError> {
    if let Some(html) = &args.html
        && html.exists()
        && !args.overwrite
    {
        return Err(CliError::usage(format!("{} already exists; pass --overwrite (-y) to replace it", html.display())));
    }
    // `--json out.json` reads as the flag then a shot; say what was meant.
    if let Some(json) = args.shots.iter().find(|p| p.extension().is_some_and(|e| e == "json") && !p.exists()) {
        return Err(CliError::usage(format!(
            "{} is not a shot; to write the JSON document to a file, use --json={}",
            json.display(),
            json.display()
        )));
    }
    let models = load_models(ctx, &args)?;
    let refs = match &args.refs {
        Some(path) => {
            ctx.step(&format!("reading references from {}", path.display()));
            Some(match &models {
                Some(m) => References::load_with_models(path, |image| load_image(ctx, image), m)?,
                None => References::load(path, |image| load_image(ctx, image))?,
            })
        }
        None => None,
    };
    let mut text = String::new();
    let mut docs = Vec::new();
    let mut scored: Vec<(String, ShotScores, Option<ReferenceScores>)> = Vec::new();
    for path in &args.shots {
        let mut reader = MediaReader::open_on(&ctx.runtime, path, &OpenOptions::default())?;
        let count = reader.info().frame_count;
        let bar = ctx.progress(count, "scoring");
        let mut scorer = match &models {
            Some(m) => ShotScorer::with_models(m.clone()),
            None => ShotScorer::new(),
        };
        for n in 0..count {
            let frame = reader.read_frame(n)?;
            ctx.runtime
                .install(|| scorer.push(&frame.view()))
                .map_err(|e| e.context(format!("{} frame {n}", path.display())))?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let scores: ShotScores = scorer.finish().map_err(|e| e.context(path.display()))?;
        let expectation = refs.as_ref().and_then(|r| r.expectation(path).map(|e| (r, e)));
        let matched = expectation.map(|(r, e)| r.score(&scores, e));
        let _ = writeln!(text, "{} ({} frames, {} backend)", path.display(), scores.frames, scores.backend);
        let _ = writeln!(text, "  {}", score_line(&scores.scores.named()));
        let mut problems: Vec<String> = scores.problems().into_iter().map(|p| p.sentence).collect();
        if let Some(m) = &matched {
            let _ = writeln!(text, "  against references: {}", score_line(&m.named()));
            problems.extend(m.problems());
        } else if refs.is_some() {
            let _ = writeln!(text, "  (not listed under [shots] in the references)");
        }
        for problem in &problems {
            let _ = writeln!(text, "  problem: {problem}");
        }
        if problems.is_empty() {
            let _ = writeln!(text, "  no problems found");
        }
        docs.push(json!({
            "shot": path,
            "report": scores,
            "expects": expectation.map(|(_, e)| e),
            "references": matched,
            "problems": problems,
        }));
        scored.push((path.display().to_string(), scores, matched));
    }
    let episode = (scored.len() >= 2).then(|| {
        let looks: Vec<FrameLook> = scored.iter().map(|(_, s, _)| s.look()).collect();
        let shots: Vec<EpisodeShot<'_>> = scored
            .iter()
            .zip(&looks)
            .zip(&args.shots)
            .map(|(((name, _, _), look), path)| EpisodeShot {
                name,
                look,
                expectation: refs.as_ref().and_then(|r| r.expectation(path)),
            })
            .collect();
        episode::compare(&shots)
    });
    if let Some(episode) = &episode {
        let _ = writeln!(text, "across {} shots:", scored.len());
        for outlier in &episode.outliers {
            let _ = writeln!(text, "  drift: {}", outlier.sentence);
        }
        if episode.outliers.is_empty() {
            let _ = writeln!(text, "  no shot drifts from the others");
        }
    }
    if let Some(html) = &args.html {
        let shots: Vec<ShotPage<'_>> = scored
            .iter()
            .map(|(name, scores, matched)| ShotPage { name, scores, references: matched.as_ref() })
            .collect();
        let page = report::html("Mattebox consistency report", &shots, refs.as_ref(), episode.as_ref())?;
        let staged = StagedFile::new(html, args.overwrite)?;
        std::fs::write(staged.temp_path(), page).map_err(|e| Error::io(html, "write the report", e))?;
        staged.commit()?;
        let _ = writeln!(text, "report: {}", html.display());
    }
    Ok(Report {
        text,
        json: json!({
            "schema": SCHEMA,
            "backend": if models.is_some() { "onnx" } else { "default" },
            "shots": docs,
            "episode": episode,
            "problem_below": PROBLEM_BELOW,
            "html": args.html,
        }),
    })
}
