//! `mattebox episode`: an episode file's shots generated, scored and ranked
//! (`run`), the ranking shown (`show`), the director's choices (`pick`),
//! and the chosen takes exported as a timeline (`export`).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mattebox_core::episode::run::{EpisodeReport, ShotProgress, ShotStage, next_seed};
use mattebox_core::episode::{Episode, MoreTakes, Picks};
use mattebox_core::generate::Generations;
use mattebox_core::{Error, ErrorKind};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mattebox episode run episode.toml                  # make every shot's takes, score and rank them
  mattebox episode show episode.toml                 # the ranking, with the picks
  mattebox episode pick episode.toml s02 3           # take 3 goes in the edit
  mattebox episode pick episode.toml s02 1 --reject --note \"face melts at 0:01\"
  mattebox episode more episode.toml s02 --takes 4      # four more takes of s02, then rank again
  mattebox review episode.toml                       # all of this in a web page
  mattebox episode export episode.toml -o edit/      # OTIO, FCPXML, EDL and MLT, with the media

The episode file (references, shots, chains with `after`) is described in
docs/EPISODE.md. Picks are kept next to it in EPISODE.picks.json; the
ranking of the last run in its output folder, ranking.json.")]
pub(crate) struct EpisodeArgs {
    #[command(subcommand)]
    command: EpisodeCommand,
}

#[derive(Debug, Subcommand)]
enum EpisodeCommand {
    /// Generate what is missing of every shot's takes, score them and rank them.
    Run(FileArgs),
    /// Show the last run's ranking of every shot, with the picks.
    Show(FileArgs),
    /// Pick a take for the edit, or mark it: favourite, rejected, a note.
    Pick(PickArgs),
    /// Ask for more takes of a shot (kept with the picks), then run the episode.
    More(MoreArgs),
    /// Write the chosen takes as a timeline: .otio, .fcpxml, .edl, .mlt and the media.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct FileArgs {
    /// The episode file.
    episode: PathBuf,
}

#[derive(Debug, Args)]
struct PickArgs {
    /// The episode file.
    episode: PathBuf,
    /// The shot's id.
    shot: String,
    /// The take: its number in `episode show`, or the start of its key.
    take: String,
    /// Mark it as a favourite (without picking it).
    #[arg(long)]
    favourite: bool,
    /// Reject it: it is never chosen, even when ranked first.
    #[arg(long, conflicts_with = "favourite")]
    reject: bool,
    /// Take back a rejection or a favourite.
    #[arg(long, conflicts_with_all = ["favourite", "reject"])]
    unmark: bool,
    /// A note on the take (an empty note removes it).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Clear the shot's pick instead (the best-ranked take is chosen again).
    #[arg(long, conflicts_with_all = ["favourite", "reject", "unmark", "note"])]
    clear: bool,
}

#[derive(Debug, Args)]
struct MoreArgs {
    /// The episode file.
    episode: PathBuf,
    /// The shot's id.
    shot: String,
    /// How many more takes.
    #[arg(long, default_value_t = 2, value_name = "N")]
    takes: u32,
    /// Seed of the first [default: the first after the shot's takes so far].
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// The episode file.
    episode: PathBuf,
    /// Where the timelines and media go [default: the episode's output folder, edit/].
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
}

fn load(path: &std::path::Path) -> Result<Episode, CliError> {
    Episode::load(path).map_err(|e| match e.kind() {
        ErrorKind::InvalidArgument => CliError::usage_from(e),
        _ => CliError::Failed(e),
    })
}

/// Set by Ctrl-C; the run is cancelled at its next look.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub(crate) fn run(ctx: &Ctx, args: EpisodeArgs) -> Result<Report, CliError> {
    match args.command {
        EpisodeCommand::Run(args) => run_episode(ctx, &load(&args.episode)?),
        EpisodeCommand::Show(args) => {
            let episode = load(&args.episode)?;
            let report = EpisodeReport::load(&episode)?;
            Ok(describe(&episode, &report, "ranking"))
        }
        EpisodeCommand::Pick(args) => pick(&args),
        EpisodeCommand::More(args) => {
            let episode = load(&args.episode)?;
            let shot = episode.shot(&args.shot).map_err(CliError::usage_from)?;
            let path = Picks::path_for(&episode.path);
            let seed = args.seed.unwrap_or(next_seed(shot, &Picks::load(&path)?));
            Picks::update(&path, |p| p.add_more(&args.shot, MoreTakes { seed, takes: args.takes }))
                .map_err(CliError::usage_from)?;
            run_episode(ctx, &episode)
        }
        EpisodeCommand::Export(args) => export(ctx, &args),
    }
}

fn run_episode(ctx: &Ctx, episode: &Episode) -> Result<Report, CliError> {
    let generations = Generations::new(ctx.runtime.clone())?;
    register_adapters(episode, &generations)?;
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let multi = ctx.multi_progress();
    let style = ProgressStyle::with_template("{msg:>24} [{bar:32}] {percent:>3}%").expect("valid template");
    let bars: Vec<ProgressBar> = episode
        .shots
        .iter()
        .map(|s| {
            let bar = multi.add(ProgressBar::new(1000).with_style(style.clone()));
            bar.set_message(format!("{} waiting", s.id));
            bar
        })
        .collect();
    let overall = ctx.agent_progress(1000 * bars.len() as u64, "episode");
    let mut show = |shots: &[ShotProgress]| {
        let mut total = 0;
        for (s, bar) in shots.iter().zip(&bars) {
            let done = (s.fraction.clamp(0.0, 1.0) * 1000.0) as u64;
            total += done;
            bar.set_position(done);
            let stage = match s.stage {
                ShotStage::Waiting => "waiting",
                ShotStage::Generating => "generating",
                ShotStage::Scored => "scored",
                ShotStage::Ranked => "ranked",
                ShotStage::Failed => "failed",
            };
            bar.set_message(format!("{} {stage}", s.id));
        }
        overall.set_position(total);
    };
    let result = mattebox_core::episode::run::run(episode, &generations, &mut show, &INTERRUPTED);
    for bar in bars {
        bar.finish_and_clear();
    }
    overall.finish_and_clear();
    let report = result?;
    let mut out = describe(episode, &report, "ranked");
    let failed: Vec<&str> = report.shots.iter().filter(|s| s.takes.is_empty()).map(|s| s.id.as_str()).collect();
    let _ = writeln!(out.text, "ranking: {}", EpisodeReport::path_for(episode).display());
    if !failed.is_empty() {
        ctx.print(out)?;
        return Err(Error::new(
            ErrorKind::Vendor,
            format!("no take could be made of shot(s) {}; see above", failed.join(", ")),
        )
        .into());
    }
    Ok(out)
}

/// Loads every installed adapter the episode's shots name into `generations`.
pub(crate) fn register_adapters(episode: &Episode, generations: &Generations) -> Result<(), CliError> {
    let adapters: BTreeSet<&str> =
        episode.shots.iter().map(|s| s.adapter.as_str()).filter(|a| *a != "builtin").collect();
    if adapters.is_empty() {
        return Ok(());
    }
    let policy = mattebox_sandbox::policy_from_env().map_err(CliError::usage_from)?;
    let plugins = mattebox_sandbox::default_plugin_dir();
    for id in adapters {
        let shot = episode.shots.iter().find(|s| s.adapter == id).map(|s| s.id.as_str()).unwrap_or_default();
        let adapter = mattebox_sandbox::load_installed(&plugins, id, &policy).map_err(|e| {
            let e = e.context(format!("{} shot {shot}", episode.path.display()));
            match e.kind() {
                ErrorKind::NotFound => CliError::usage_from(e),
                _ => CliError::Failed(e),
            }
        })?;
        generations.register(Arc::new(adapter));
    }
    Ok(())
}

/// The ranking in words, each shot's takes best first, with the picks.
fn describe(episode: &Episode, report: &EpisodeReport, what: &str) -> Report {
    let picks = Picks::load(&Picks::path_for(&episode.path)).unwrap_or_default();
    let mut text = String::new();
    let _ = writeln!(text, "{} ({} shots) {what}:", report.name, report.shots.len());
    for shot in &report.shots {
        let marks = picks.shot(&shot.id);
        // The picks as they are now, not as the run found them.
        let choice = shot.choice(&marks);
        let chosen = choice.take.map(|t| format!("take {} ({})", t.number, choice.by.name()));
        let _ = writeln!(text, "{}: {}", shot.id, chosen.unwrap_or_else(|| "no take".into()));
        let mut takes: Vec<_> = shot.takes.iter().collect();
        takes.sort_by_key(|t| t.ranked.rank);
        for t in takes {
            let key = &t.take.key;
            let mut flags = String::new();
            for (on, flag) in [
                (marks.pick.as_ref() == Some(key), " [picked]"),
                (marks.favourites.contains(key), " [favourite]"),
                (marks.rejects.contains(key), " [rejected]"),
            ] {
                if on {
                    flags.push_str(flag);
                }
            }
            let cached = if t.take.from_cache { ", from the take cache" } else { "" };
            let _ = writeln!(
                text,
                "  take {} (seed {}, key {}{cached}){flags}: {}",
                t.number,
                t.take.seed,
                &key[..12],
                t.ranked.reason
            );
            if let Some(note) = marks.notes.get(key) {
                let _ = writeln!(text, "    note: {note}");
            }
        }
        for failure in &shot.failures {
            let _ = writeln!(text, "  {failure}");
        }
    }
    Report { text, json: json!({ "ranking": report, "picks": picks }) }
}

fn pick(args: &PickArgs) -> Result<Report, CliError> {
    let episode = load(&args.episode)?;
    episode.shot(&args.shot).map_err(CliError::usage_from)?;
    let report = EpisodeReport::load(&episode)?;
    let shot = report
        .shot(&args.shot)
        .ok_or_else(|| CliError::usage(format!("shot {} is not in the last run; run the episode again", args.shot)))?;
    let take = match args.take.parse::<u32>() {
        Ok(k) => shot.take_by_number(k),
        Err(_) if args.take.len() >= 6 => {
            let mut found = shot.takes.iter().filter(|t| t.take.key.starts_with(&args.take));
            found.next().filter(|_| found.next().is_none())
        }
        Err(_) => None,
    }
    .ok_or_else(|| {
        let known: Vec<String> = shot.takes.iter().map(|t| (t.number).to_string()).collect();
        CliError::usage(format!(
            "shot {} has no take {:?} (its takes: {}; or give 6 or more characters of a key)",
            args.shot,
            args.take,
            known.join(", ")
        ))
    })?;
    let key = take.take.key.clone();
    let path = Picks::path_for(&episode.path);
    let done = Picks::update(&path, |p| {
        if args.clear {
            p.clear_pick(&args.shot);
            return Ok("pick cleared".to_owned());
        }
        let mut done = Vec::new();
        if args.reject {
            p.set_rejected(&args.shot, &key, true)?;
            done.push("rejected");
        } else if args.favourite {
            p.set_favourite(&args.shot, &key, true)?;
            done.push("marked as a favourite");
        } else if args.unmark {
            p.set_rejected(&args.shot, &key, false)?;
            p.set_favourite(&args.shot, &key, false)?;
            done.push("unmarked");
        } else if args.note.is_none() {
            p.pick(&args.shot, &key)?;
            done.push("picked");
        }
        if let Some(note) = &args.note {
            p.set_note(&args.shot, &key, note)?;
            done.push("noted");
        }
        Ok(done.join(" and "))
    })?;
    let text = format!("{} take {} {done} ({})\n", args.shot, take.number, path.display());
    Ok(Report { text, json: json!({ "shot": args.shot, "take": take.number, "key": key, "done": done }) })
}

fn export(ctx: &Ctx, args: &ExportArgs) -> Result<Report, CliError> {
    let episode = load(&args.episode)?;
    let report = EpisodeReport::load(&episode)?;
    let dir = args.output.clone().unwrap_or_else(|| episode.output.join("edit"));
    let exported = mattebox_core::episode::run::export(&episode, &report, &ctx.runtime, &dir)?;
    let mut text = String::new();
    for choice in &exported.choices {
        let _ = writeln!(text, "{choice}");
    }
    for warning in &exported.warnings {
        ctx.warn(warning);
    }
    for path in exported.timelines.iter().chain(&exported.media) {
        let _ = writeln!(text, "wrote {}", path.display());
    }
    Ok(Report { text, json: json!(exported) })
}
