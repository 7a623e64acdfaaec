//! `mattebox score`: consistency scores of shots (default backend): inside
//! each shot, against the references of `--refs refs.toml`, and across the
//! shots given (a matrix and the outliers), with one sentence per problem.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use mattebox_core::consistency::episode::{self, EpisodeShot};
use mattebox_core::consistency::models::{ModelBackend, ModelFiles};
use mattebox_core::consistency::references::{Expectation, ReferenceScores, References};
use mattebox_core::consistency::report::{self, ShotPage};
use mattebox_core::consistency::{FrameLook, PROBLEM_BELOW, ShotScorer, ShotScores};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::staged::write_file;
use mattebox_core::{Error, Frame};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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
    /// Shots to score (videos or image sequences); with --merge, files
    /// written by --save.
    #[arg(required = true, value_name = "SHOT")]
    shots: Vec<PathBuf>,
    /// Also save what scoring found (scores, the shots' looks, what the
    /// references expect) to FILE, for `--merge` to compare with shots
    /// scored elsewhere (a farm scores each shot in a task of its own).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// The shots are files written by --save: compare them across the
    /// episode and report as if they had been scored together.
    #[arg(long, conflicts_with_all = ["refs", "html", "models", "onnxruntime", "embedding_model"])]
    merge: bool,
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

/// The schema of a `--save` file: a new number when a field changes.
const SAVED_SCHEMA: &str = "mattebox.score-saved/1";
/// Largest `--save` file `--merge` reads.
const MAX_SAVED_BYTES: u64 = 256 << 20;

/// One shot's scoring as `--save` keeps it: its part of the report, and
/// what comparing it with other shots needs.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoredShot {
    /// The shot's name in sentences (its path as given).
    name: String,
    /// Its lines of the text report.
    text: String,
    /// Its entry under `shots` in the JSON document.
    doc: Value,
    /// How it looks on average.
    look: FrameLook,
    /// What the references expect in it.
    expectation: Option<Expectation>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedScores {
    schema: String,
    backend: String,
    shots: Vec<ScoredShot>,
}

/// The shots saved in `path` by `--save`.
fn read_saved(path: &Path) -> Result<SavedScores, CliError> {
    let bad = |why: String| CliError::usage(format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open saved scores", e))?;
    let len = file.metadata().map_err(|e| Error::io(path, "read saved scores", e))?.len();
    if len > MAX_SAVED_BYTES {
        return Err(bad(format!("{len} bytes is more than saved scores hold (at most {MAX_SAVED_BYTES})")));
    }
    let saved: SavedScores = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a file written by `mattebox score --save`: {e}")))?;
    if saved.schema != SAVED_SCHEMA {
        return Err(bad(format!("saved as {:?}; this mattebox reads {SAVED_SCHEMA:?}", saved.schema)));
    }
    Ok(saved)
}

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
    let mut scored: Vec<ScoredShot> = Vec::new();
    // For the HTML report, which shows frames: only when scoring here.
    let mut pages: Vec<ShotPageData> = Vec::new();
    let mut backend = "default".to_owned();
    let mut refs = None;
    if args.merge {
        let mut backends = Vec::new();
        for path in &args.shots {
            let saved = read_saved(path)?;
            backends.push(saved.backend);
            scored.extend(saved.shots);
        }
        backends.dedup();
        if backends.len() > 1 {
            ctx.warn(&format!("the saved shots were scored with different backends ({})", backends.join(", ")));
        }
        backend = backends.join("+");
    } else {
        let models = load_models(ctx, &args)?;
        if models.is_some() {
            backend = "onnx".into();
        }
        refs = match &args.refs {
            Some(path) => {
                ctx.step(&format!("reading references from {}", path.display()));
                Some(match &models {
                    Some(m) => References::load_with_models(path, |image| load_image(ctx, image), m)?,
                    None => References::load(path, |image| load_image(ctx, image))?,
                })
            }
            None => None,
        };
        for path in &args.shots {
            let (shot, page) = score_shot(ctx, path, models.as_ref(), refs.as_ref())?;
            scored.push(shot);
            pages.push(page);
        }
    }
    if let Some(save) = &args.save {
        let saved = SavedScores { schema: SAVED_SCHEMA.into(), backend: backend.clone(), shots: scored };
        if let Some(dir) = save.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the directory for saved scores", e))?;
        }
        let text = serde_json::to_string(&saved).map_err(|e| Error::internal(format!("saved scores: {e}")))?;
        write_file(save, text, true, "save the scores")?;
        scored = saved.shots;
    }
    let mut text: String = scored.iter().map(|s| s.text.as_str()).collect();
    let episode = (scored.len() >= 2).then(|| {
        let shots: Vec<EpisodeShot<'_>> = scored
            .iter()
            .map(|s| EpisodeShot { name: &s.name, look: &s.look, expectation: s.expectation.as_ref() })
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
        let shots: Vec<ShotPage<'_>> = pages
            .iter()
            .map(|(name, scores, matched)| ShotPage { name, scores, references: matched.as_ref() })
            .collect();
        let page = report::html("Mattebox consistency report", &shots, refs.as_ref(), episode.as_ref())?;
        write_file(html, page, args.overwrite, "write the report")?;
        let _ = writeln!(text, "report: {}", html.display());
    }
    if let Some(save) = &args.save {
        let _ = writeln!(text, "saved: {}", save.display());
    }
    let docs: Vec<&Value> = scored.iter().map(|s| &s.doc).collect();
    Ok(Report {
        text,
        json: json!({
            "schema": SCHEMA,
            "backend": backend,
            "shots": docs,
            "episode": episode,
            "problem_below": PROBLEM_BELOW,
            "html": args.html,
            "saved": args.save,
        }),
    })
}

/// What the HTML page of a shot needs: its name, scores and reference match.
type ShotPageData = (String, ShotScores, Option<ReferenceScores>);

/// Scores the shot at `path`: its part of the report, and what the HTML
/// page of it needs.
fn score_shot(
    ctx: &Ctx,
    path: &Path,
    models: Option<&Arc<ModelBackend>>,
    refs: Option<&References>,
) -> Result<(ScoredShot, ShotPageData), CliError> {
    let mut reader = MediaReader::open_on(&ctx.runtime, path, &OpenOptions::default())?;
    let count = reader.info().frame_count;
    let bar = ctx.progress(count, "scoring");
    let mut scorer = match models {
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
    let expectation = refs.and_then(|r| r.expectation(path).map(|e| (r, e)));
    let matched = expectation.map(|(r, e)| r.score(&scores, e));
    let mut text = String::new();
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
    let doc = json!({
        "shot": path,
        "report": scores,
        "expects": expectation.map(|(_, e)| e),
        "references": matched,
        "problems": problems,
    });
    let name = path.display().to_string();
    let shot = ScoredShot {
        name: name.clone(),
        text,
        doc,
        look: scores.look(),
        expectation: expectation.map(|(_, e)| e.clone()),
    };
    Ok((shot, (name, scores, matched)))
}
