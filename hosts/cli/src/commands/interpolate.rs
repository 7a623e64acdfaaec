//! `mattebox interpolate`: one in-between frame from two images.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use mattebox_core::interp::{Mode, interpolate, neural};
use mattebox_core::media::{read_image, write_image};
use mattebox_core::{Error, Frame};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  mattebox interpolate a.png b.png --at 0.5 --mode quality -o mid.png")]
pub(crate) struct InterpolateArgs {
    /// The earlier frame (PNG or EXR).
    a: PathBuf,
    /// The later frame, same size and bit depth.
    b: PathBuf,
    /// Where between them: 0 is A, 1 is B.
    #[arg(long, default_value_t = 0.5, value_name = "T")]
    at: f32,
    /// nearest, blend, fast, quality or neural (RIFE).
    #[arg(long, default_value = "quality", value_parser = super::parse_mode)]
    mode: Mode,
    #[command(flatten)]
    neural: super::NeuralArgs,
    /// Output image (PNG or EXR).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Replace the output if it exists.
    #[arg(short = 'y', long)]
    overwrite: bool,
}

pub(crate) fn run(ctx: &Ctx, args: InterpolateArgs) -> Result<Report, CliError> {
    if !(0.0..=1.0).contains(&args.at) {
        return Err(CliError::usage(format!("--at {} must be between 0 and 1", args.at)));
    }
    let neural = args.neural.settings(args.mode)?;
    let started = Instant::now();
    let (a, b) = (read_image(&args.a)?, read_image(&args.b)?);
    let b = if b.format() != a.format() { b.to_format(a.format())? } else { b };
    let mut out = Frame::new(a.width(), a.height(), a.format()).map_err(|e: Error| e.context(args.a.display()))?;
    ctx.runtime
        .install(|| match args.mode {
            Mode::Neural => neural::interpolate(&a.view(), &b.view(), args.at, &neural, &mut out.view_mut()),
            mode => interpolate(&a.view(), &b.view(), args.at, mode, &mut out.view_mut()),
        })
        .map_err(|e| e.context(format!("{} and {}", args.a.display(), args.b.display())))?;
    write_image(&args.output, &out.view(), args.overwrite)?;
    let seconds = started.elapsed().as_secs_f64();
    let text = format!(
        "{} <{:.3}> {} -> {} ({} {}x{}, {seconds:.2} s)\n",
        args.a.display(),
        args.at,
        args.b.display(),
        args.output.display(),
        args.mode,
        a.width(),
        a.height()
    );
    let json = json!({ "a": args.a, "b": args.b, "at": args.at, "mode": args.mode, "output": args.output, "seconds": seconds });
    Ok(Report { text, json })
}
