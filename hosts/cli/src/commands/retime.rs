//! `mattebox retime`: frame-rate conversion, slow motion and speed ramps.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use mattebox_core::Rational;
use mattebox_core::interp::Mode;
use mattebox_core::interp::retime::{RetimeSpec, SpeedCurve};
use mattebox_core::media::{OpenOptions, VideoCodec};
use mattebox_core::pipeline::retime::{Progress, RetimeJob, RetimeReport, Stage};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("how").args(["fps", "speed", "curve"])))]
#[command(after_help = "\
Examples:
  mattebox retime shot24.mp4 -o shot60.mp4 --fps 60
  mattebox retime plate.mov -o plate_2997.mov --fps 29.97 --mode fast
  mattebox retime frames/ -o slow/ --speed 0.25            # 4x slow motion
  mattebox retime shot.mp4 -o ramp.mp4 --curve ramp.txt --vectors vectors/
  mattebox retime take.mp4 -o smooth.mp4 --fill-duplicates  # held frames made anew
  mattebox retime shot24.mp4 -o shot60.mp4 --fps 60 --mode neural \
      --model target/tools/rife/rife-4.onnx --onnxruntime target/tools/onnxruntime/libonnxruntime.so

A curve file has one `TIME SPEED` pair per line (output seconds, playback
speed), linear between keys; # starts a comment:
  0.0  1.0
  1.0  0.25
  2.5  1.0

Frames between two source frames on either side of a scene cut hold the
earlier frame; the cuts found are reported.")]
pub(crate) struct RetimeArgs {
    /// Source: a video file, an image sequence (directory or pattern) or an image.
    input: PathBuf,
    /// Destination; its name decides the kind (see `mattebox convert --help`).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Convert to this frame rate at normal speed (24, 29.97, 30000/1001, 60).
    #[arg(long, value_name = "RATE", value_parser = super::parse_rate)]
    fps: Option<Rational>,
    /// Play at this constant speed: 0.5 is 2x slow motion, 0.0625 is 16x.
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    speed: Option<Rational>,
    /// Play at the speeds of a curve file (see below).
    #[arg(long, value_name = "FILE")]
    curve: Option<PathBuf>,
    /// Output frame rate for --speed and --curve [default: the source's].
    #[arg(long, value_name = "RATE", value_parser = super::parse_rate, conflicts_with = "fps")]
    rate: Option<Rational>,
    /// How in-between frames are made: nearest, blend, fast, quality or
    /// neural (RIFE through ONNX Runtime; `bash .ci/setup` makes the model).
    #[arg(long, default_value = "quality", value_parser = super::parse_mode)]
    mode: Mode,
    #[command(flatten)]
    neural: super::NeuralArgs,
    /// Also write motion vectors (one EXR per source frame, Fusion's channel names) here.
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Frame rate of an input image sequence that does not record one [default: 24].
    #[arg(long, value_name = "RATE", value_parser = super::parse_rate)]
    input_fps: Option<Rational>,
    /// Video codec, overriding the one the extension implies: h264, prores or ffv1.
    #[arg(long, value_parser = super::parse_codec)]
    codec: Option<VideoCodec>,
    /// Replace frames that repeat the one before (held frames from a
    /// generator or a screen recording, in runs of up to 3; longer runs are
    /// a still shot and stay) by frames made between; alone, the rate stays
    /// the source's.
    #[arg(long)]
    fill_duplicates: bool,
    /// Replace the output (and vector files) if they exist.
    #[arg(short = 'y', long)]
    overwrite: bool,
    #[command(flatten)]
    sound: super::AudioArgs,
    #[command(flatten)]
    chunk: super::ChunkArgs,
}

fn parse_speed(text: &str) -> Result<Rational, String> {
    let speed: Rational = text.parse().map_err(|e: mattebox_core::Error| e.to_string())?;
    if !speed.is_positive() {
        return Err(format!("{text} must be above zero (0.5 is half speed)"));
    }
    Ok(speed)
}

/// Runs a retime job with one progress bar per stage.
pub(crate) fn run_job(ctx: &Ctx, job: &RetimeJob) -> Result<RetimeReport, CliError> {
    let mut bars: Option<(Stage, crate::report::Progress)> = None;
    let mut on_progress = |p: Progress| {
        if bars.as_ref().map(|(s, _)| *s) != Some(p.stage) {
            if let Some((_, bar)) = bars.take() {
                bar.finish_and_clear();
            }
            let label = match p.stage {
                Stage::Scanning => "scanning",
                Stage::Rendering => "retiming",
                Stage::Vectors => "vectors",
            };
            bars = Some((p.stage, ctx.progress(p.total, label)));
        }
        if let Some((_, bar)) = &bars {
            bar.set_position(p.done);
        }
    };
    let report = job.run(&ctx.runtime, &mut on_progress)?;
    if let Some((_, bar)) = bars.take() {
        bar.finish_and_clear();
    }
    Ok(report)
}

pub(crate) fn run(ctx: &Ctx, args: RetimeArgs) -> Result<Report, CliError> {
    let spec = match (args.fps, args.speed, &args.curve) {
        (Some(rate), _, _) => RetimeSpec::FrameRate(rate),
        (_, Some(speed), _) => RetimeSpec::Speed(speed),
        (_, _, Some(path)) => RetimeSpec::Curve(SpeedCurve::read(path).map_err(|e| match e.kind() {
            mattebox_core::ErrorKind::InvalidArgument => CliError::usage_from(e),
            _ => CliError::from(e),
        })?),
        _ if args.fill_duplicates => RetimeSpec::Speed(Rational::integer(1)),
        _ => return Err(CliError::usage("one of --fps, --speed or --curve is required (or --fill-duplicates alone)")),
    };
    let job = RetimeJob {
        input: args.input,
        output: args.output,
        spec,
        output_rate: args.rate,
        mode: args.mode,
        neural: args.neural.settings(args.mode)?,
        vectors: args.vectors,
        open: OpenOptions { frame_rate: args.input_fps, ..Default::default() },
        codec: args.codec,
        overwrite: args.overwrite,
        audio: args.sound.audio,
        audio_file: args.sound.audio_file,
        fill_repeats: args.fill_duplicates,
        frames: args.chunk.frames,
    };
    if args.chunk.dry_run {
        let plan = job.dry_run(&ctx.runtime, &mut |_| {})?;
        let text = format!(
            "{}: {} frames at {} fps -> {} frames at {} fps\n  output frames {} to {} read source frames {} to {} \
             (counted from 0)\n",
            job.input.display(),
            plan.source_frames,
            plan.source_rate,
            plan.output_frames,
            plan.output_rate,
            plan.rendered.0,
            plan.rendered.1,
            plan.source_read.start,
            plan.source_read.end - 1
        );
        return Ok(Report { text, json: json!({ "dry_run": plan }) });
    }
    let report = run_job(ctx, &job)?;
    let mut text = format!(
        "{} -> {}\n  {} frames at {} fps -> {} frames at {} fps ({} mode) in {:.1} s\n",
        job.input.display(),
        report.output.display(),
        report.source_frames,
        report.source_rate,
        report.output_frames,
        report.output_rate,
        report.mode,
        report.seconds
    );
    if let Some((first, last)) = report.rendered {
        let _ = writeln!(
            text,
            "  rendered output frames {first} to {last} of {}, from source frames {} to {}",
            report.output_frames,
            report.source_read.start,
            report.source_read.end - 1
        );
    }
    let _ = writeln!(
        text,
        "  {} copied, {} made between frames, {} held at cuts; {} flow pairs",
        report.copied, report.made, report.held_at_cuts, report.flow_pairs
    );
    if report.cuts.is_empty() {
        let _ = writeln!(text, "  no scene cuts found");
    } else {
        let list: Vec<String> = report.cuts.iter().map(|k| format!("{}|{}", k, k + 1)).collect();
        let _ = writeln!(text, "  scene cuts between source frames {}", list.join(", "));
    }
    if let Some(dir) = &job.vectors {
        let _ = writeln!(text, "  {} motion-vector files in {}", report.vector_files, dir.display());
    }
    if report.repeats_filled > 0 {
        let _ = writeln!(text, "  {} repeated source frames replaced by frames made between", report.repeats_filled);
    }
    super::describe_audio(&mut text, report.audio.as_ref(), &report.notes);
    Ok(Report { text, json: json!({ "retime": report }) })
}
