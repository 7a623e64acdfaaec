//! `mattebox`: the command line over the Mattebox core.
//!
//! Exit codes: 0 success, 1 the work failed (missing or corrupt input, I/O),
//! 2 the command line itself was wrong.

mod commands;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use mattebox_core::{LogLevel, Runtime, RuntimeConfig};

use crate::report::{CliError, Ctx};

/// Mattebox: AI shots, consistency scoring, retiming and compositing, from the command line.
#[derive(Debug, Parser)]
#[command(name = "mattebox", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// Print one JSON document on standard output instead of text (errors
    /// too); with =FILE, print the text and write the document to FILE.
    #[arg(long, global = true, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    json: Option<Option<PathBuf>>,
    /// Log more: -v info, -vv debug, -vvv trace (to standard error).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars, step messages or warnings: only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// How progress is shown: bars on a terminal, `openjd` lines
    /// (`openjd_progress: P`, `openjd_status: ...`, `openjd_fail: ...`) on
    /// standard error for a farm agent, or none. `auto` draws bars when
    /// standard error is a terminal and prints `openjd` lines when it is not.
    #[arg(long, global = true, value_name = "HOW", default_value = "auto")]
    progress: report::ProgressMode,
    /// Worker threads [default: the cores this process may use: its CPU
    /// affinity, its cgroup's CPU quota and $SLURM_CPUS_PER_TASK].
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Take cache directory, safe to share between the nodes of a farm
    /// [default: $MATTEBOX_CACHE_DIR, else ~/.cache/mattebox]. Compiled
    /// adapters are kept apart, per user and machine ($MATTEBOX_COMPILED_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a video file, image sequence or image holds: streams, size, frame rate, frame count, pixel format.
    Info(commands::info::InfoArgs),
    /// Convert between video files and image sequences, keeping frame rate and bit depth.
    Convert(commands::convert::ConvertArgs),
    /// Make one in-between frame from two images with optical flow.
    Interpolate(commands::interpolate::InterpolateArgs),
    /// Change frame rate or speed: 24 -> 60 fps, slow motion, speed ramps; exports motion vectors.
    Retime(commands::retime::RetimeArgs),
    /// Put a background behind a green/blue-screen plate: key, colour match, light wrap, camera match.
    Composite(commands::composite::CompositeArgs),
    /// Generate takes of a shot: a camera move from a still, a morph, or a procedural plate (offline).
    Generate(commands::generate::GenerateArgs),
    /// Score shots for consistency: subject, background, flicker, boiling, grade, smoothness.
    Score(commands::score::ScoreArgs),
    /// Check, install and list generator adapters (WebAssembly components).
    Plugin(commands::plugin::PluginArgs),
    /// Run the main job on built-in sample data (no network, no GPU) and show each step.
    Demo(commands::demo::DemoArgs),
    /// An episode from shot list to timeline: generate and rank every shot's takes, pick, export the edit.
    Episode(commands::episode::EpisodeArgs),
    /// Review an episode's takes in a local web page: play, pick, reject, note, search, ask for more.
    Review(commands::review::ReviewArgs),
    /// An episode on a render farm: an Open Job Description template, Slurm scripts, and the tasks they run.
    Farm(commands::farm::FarmArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; clap picks their exit code.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let json = matches!(cli.json, Some(None));
    let progress = cli.progress.resolve(cli.quiet, json);
    match run(cli, progress) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report::print_error(&err, json, progress);
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(cli: Cli, progress: report::ProgressMode) -> Result<(), CliError> {
    let log_level = match (cli.quiet, cli.verbose) {
        (true, _) => LogLevel::Error,
        (_, 0) => LogLevel::Warn,
        (_, 1) => LogLevel::Info,
        (_, 2) => LogLevel::Debug,
        _ => LogLevel::Trace,
    };
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: cli.cache_dir,
        threads: cli.threads.unwrap_or(0),
        log_level,
        ..Default::default()
    })
    .map_err(CliError::usage_from)?;
    // What a farm task passes on to the command it runs.
    let mut forwarded = vec![format!("--progress={}", progress.name()), "--cache-dir".to_owned()];
    forwarded.push(runtime.cache_dir().display().to_string());
    forwarded.extend([format!("--threads={}", runtime.threads())]);
    if cli.quiet {
        forwarded.push("--quiet".into());
    }
    let ctx = Ctx::new(runtime, cli.json, cli.quiet, progress);
    let report = match cli.command {
        Command::Info(args) => commands::info::run(&ctx, args)?,
        Command::Convert(args) => commands::convert::run(&ctx, args)?,
        Command::Interpolate(args) => commands::interpolate::run(&ctx, args)?,
        Command::Retime(args) => commands::retime::run(&ctx, args)?,
        Command::Composite(args) => commands::composite::run(&ctx, args)?,
        Command::Generate(args) => commands::generate::run(&ctx, args)?,
        Command::Score(args) => commands::score::run(&ctx, args)?,
        Command::Plugin(args) => commands::plugin::run(args)?,
        Command::Demo(args) => commands::demo::run(&ctx, args)?,
        Command::Episode(args) => commands::episode::run(&ctx, args)?,
        Command::Review(args) => commands::review::run(&ctx, args)?,
        Command::Farm(args) => commands::farm::run(&ctx, args, &forwarded)?,
    };
    ctx.print(report)
}
