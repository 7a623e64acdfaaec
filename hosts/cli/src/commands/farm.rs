//! `mattebox farm`: an episode as a render farm's job (an Open Job
//! Description template, or Slurm batch scripts), and `farm task`, the one
//! command every task of those jobs runs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mattebox_core::episode::Episode;
use mattebox_core::farm::{self, Chunking, FarmJob, StepKind};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::staged::{StagedDir, write_file};
use mattebox_core::{Error, Rational};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mattebox farm openjd episode.toml -o job.yaml     # then: openjd check job.yaml, or submit to Deadline Cloud
  mattebox farm slurm episode.toml -o job/          # then: bash job/submit.sh
  mattebox farm task episode.toml generate s01:1    # what one task runs

The episode file, the steps and their tasks, path mapping and retries are
described in docs/FARM.md.")]
pub(crate) struct FarmArgs {
    #[command(subcommand)]
    command: FarmCommand,
}

#[derive(Debug, Subcommand)]
enum FarmCommand {
    /// Write an Open Job Description job template (Deadline Cloud, `openjd run`) for an episode.
    Openjd(JobArgs),
    /// Write Slurm batch scripts for an episode: submit.sh and one job array per step.
    Slurm(SlurmArgs),
    /// Run one task of an episode's farm job (what the templates call).
    Task(TaskArgs),
}

#[derive(Debug, Args)]
struct JobArgs {
    /// The episode file.
    episode: PathBuf,
    /// Where the template (openjd) or the scripts' directory (slurm) goes.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// The mattebox program the workers run [default: this one].
    #[arg(long, value_name = "FILE")]
    binary: Option<PathBuf>,
    /// Frames per composite or retime chunk [default: sized to --chunk-seconds].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    chunk_frames: Option<u64>,
    /// The runtime a chunk should take, estimated from the frame size.
    #[arg(long, value_name = "S", default_value_t = 600.0)]
    chunk_seconds: f64,
    /// Replace the output if it exists.
    #[arg(short = 'y', long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
struct SlurmArgs {
    #[command(flatten)]
    job: JobArgs,
    /// CPUs each task asks for.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_task: u32,
}

#[derive(Debug, Args)]
struct TaskArgs {
    /// The episode file.
    episode: PathBuf,
    /// The step: generate, track, composite, retime, deliver, score or report.
    step: String,
    /// The task: SHOT:TAKE; SHOT:TAKE:A-B for chunks; SHOT for track; `all` for report.
    id: String,
    /// Where the episode's files go [default: the episode's `output`].
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

/// Frames and rate of a plate; a variable-rate plate is refused, since
/// chunks need frames at fixed times.
fn probe_plate(ctx: &Ctx, path: &std::path::Path) -> mattebox_core::Result<(u64, Rational)> {
    let reader = MediaReader::open_on(&ctx.runtime, path, &OpenOptions::default())?;
    if reader.constant_rate_frames().is_some() {
        return Err(Error::unsupported(format!(
            "{}: a variable-rate plate cannot be rendered in chunks; convert it to a constant rate first \
             (mattebox convert)",
            path.display()
        )));
    }
    Ok((reader.info().frame_count, reader.info().frame_rate))
}

fn plan(ctx: &Ctx, args: &JobArgs) -> Result<FarmJob, CliError> {
    if !(args.chunk_seconds.is_finite() && args.chunk_seconds > 0.0) {
        return Err(CliError::usage("--chunk-seconds must be above zero"));
    }
    let episode = Episode::load(&args.episode).map_err(CliError::usage_from)?;
    let chunking = Chunking { frames: args.chunk_frames, seconds: args.chunk_seconds };
    Ok(FarmJob::plan(episode, chunking, &|p| probe_plate(ctx, p))?)
}

fn binary(args: &JobArgs) -> Result<PathBuf, CliError> {
    match &args.binary {
        Some(b) => Ok(std::path::absolute(b).map_err(|e| Error::io(b, "resolve", e))?),
        None => {
            Ok(std::env::current_exe()
                .map_err(|e| Error::io(std::path::Path::new("mattebox"), "find this program", e))?)
        }
    }
}

fn summary(job: &FarmJob, written: &std::path::Path) -> Report {
    let mut text = format!("{} -> {}\n", job.episode.path.display(), written.display());
    let steps: Vec<_> = job
        .steps
        .iter()
        .map(|s| {
            text.push_str(&format!("  {:<10} {} tasks\n", s.kind.name(), s.tasks.len()));
            json!({ "name": s.kind.name(), "tasks": s.tasks, "depends_on": s.depends_on.iter().map(|d| d.name()).collect::<Vec<_>>() })
        })
        .collect();
    Report { text, json: json!({ "farm": { "written": written, "episode": job.episode.path, "steps": steps } }) }
}

pub(crate) fn run(ctx: &Ctx, args: FarmArgs, forwarded: &[String]) -> Result<Report, CliError> {
    match args.command {
        FarmCommand::Openjd(args) => {
            let job = plan(ctx, &args)?;
            let absolute = |p: &std::path::Path| std::path::absolute(p).map_err(|e| Error::io(p, "resolve", e));
            let out = absolute(&args.output)?;
            let dir = out.parent().unwrap_or(std::path::Path::new("/"));
            let cache = absolute(ctx.runtime.cache_dir())?;
            let text = farm::openjd::template(&job, dir, &binary(&args)?, &cache);
            write_file(&args.output, text, args.overwrite, "write the template")?;
            let mut report = summary(&job, &args.output);
            let to_give = farm::openjd::parameters_to_give(&job, dir, &cache);
            if !to_give.is_empty() {
                let given: Vec<String> = to_give.iter().map(|p| format!("-p {p}=...")).collect();
                report.text.push_str(&format!(
                    "  OpenJD takes path defaults only inside the template's directory; give {} when submitting\n",
                    given.join(" ")
                ));
            }
            report.json["farm"]["parameters_to_give"] = json!(to_give);
            Ok(report)
        }
        FarmCommand::Slurm(slurm) => {
            let args = &slurm.job;
            let job = plan(ctx, args)?;
            let cache = std::path::absolute(ctx.runtime.cache_dir())
                .map_err(|e| Error::io(ctx.runtime.cache_dir(), "resolve", e))?;
            let files = farm::slurm::scripts(&job, &binary(args)?, &cache, slurm.cpus_per_task);
            if args.output.exists() {
                if !args.overwrite {
                    return Err(CliError::usage(format!(
                        "{} already exists; pass --overwrite (-y) to replace it",
                        args.output.display()
                    )));
                }
                std::fs::remove_dir_all(&args.output).map_err(|e| Error::io(&args.output, "remove", e))?;
            }
            let staged = StagedDir::new(&args.output)?;
            for (name, text) in files {
                let path = staged.temp_dir().join(&name);
                std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
            }
            staged.commit()?;
            Ok(summary(&job, &args.output))
        }
        FarmCommand::Task(task) => {
            let episode = Episode::load(&task.episode).map_err(CliError::usage_from)?;
            let step = StepKind::parse(&task.step).map_err(CliError::usage_from)?;
            let out = task.output_dir.clone().unwrap_or_else(|| episode.output.clone());
            let command = farm::task_command(&episode, step, &task.id, &out).map_err(CliError::usage_from)?;
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, "create the output directory", e))?;
            ctx.step(&format!("{} {}: mattebox {} {}", task.step, task.id, forwarded.join(" "), command.join(" ")));
            // The task is that command, run as this process: its exit code,
            // its signals and its progress are the task's.
            use std::os::unix::process::CommandExt;
            let exe = std::env::current_exe()
                .map_err(|e| Error::io(std::path::Path::new("mattebox"), "find this program", e))?;
            let err = std::process::Command::new(&exe).args(forwarded).args(&command).exec();
            Err(Error::io(&exe, "run the task", err).into())
        }
    }
}
