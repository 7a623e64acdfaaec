//! `mattebox convert`: video <-> image sequence, keeping rate and depth.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use clap::Args;
use mattebox_core::media::{MediaInfo, MediaReader, MediaWriter, OpenOptions, VideoCodec, WriteOptions, Written};
use mattebox_core::{Error, Frame, PixelFormat, Rational, Runtime};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
Outputs by name:
  clip.mp4 / clip.mov / clip.mkv     H.264 / ProRes 422 HQ / FFV1 (lossless)
  DIR or DIR/ or shot_%04d.png       PNG sequence (EXR for float sources), with the
                                     frame rate recorded in DIR/mattebox-sequence.json
  still.png / still.exr              a single frame

Examples:
  mattebox convert shot.mp4 frames/
  mattebox convert frames/ shot.mkv
  mattebox convert plate.mov plate.####.exr --format rgba32f")]
pub(crate) struct ConvertArgs {
    /// Source: a video file, an image sequence (directory or pattern) or an image.
    input: PathBuf,
    /// Destination; its name decides the kind (see below).
    output: PathBuf,
    /// Frame rate of an input image sequence that does not record one [default: 24].
    #[arg(long, value_name = "RATE", value_parser = super::parse_rate)]
    fps: Option<Rational>,
    /// Video codec, overriding the one the extension implies: h264, prores or ffv1.
    #[arg(long, value_parser = super::parse_codec)]
    codec: Option<VideoCodec>,
    /// Pixel format written [default: the source's: rgba8, or rgba16 for deeper sources].
    #[arg(long, value_parser = super::parse_format)]
    format: Option<PixelFormat>,
    /// Replace the output if it exists.
    #[arg(short = 'y', long)]
    overwrite: bool,
    #[command(flatten)]
    sound: super::AudioArgs,
}

pub(crate) fn run(ctx: &Ctx, args: ConvertArgs) -> Result<Report, CliError> {
    let started = Instant::now();
    let reader =
        MediaReader::open_on(&ctx.runtime, &args.input, &OpenOptions { frame_rate: args.fps, ..Default::default() })?;
    let info = reader.info().clone();
    let format = args.format.unwrap_or(info.decoded_format);
    let audio = args.sound.audio.carried(args.sound.audio_file.as_ref(), info.audio.as_ref());
    let options = WriteOptions {
        codec: args.codec,
        overwrite: args.overwrite,
        tags: info.tags.clone(),
        audio,
        encoder_threads: ctx.runtime.threads(),
        ..WriteOptions::new(info.frame_rate)
    };
    let Written { path: written, audio, frames, notes } =
        copy_frames(ctx, reader, &args.output, format, &options, "converting")?;
    let seconds = started.elapsed().as_secs_f64();
    let mut text = format!(
        "{} -> {}\n  {} frames of {}x{} {format} at {} fps in {seconds:.1} s\n",
        info.path.display(),
        written.display(),
        frames,
        info.width,
        info.height,
        info.frame_rate
    );
    super::describe_audio(&mut text, audio.as_ref(), &notes);
    let json = json!({
        "input": info.path,
        "output": written,
        "frames": frames,
        "width": info.width,
        "height": info.height,
        "frame_rate": info.frame_rate,
        "format": format,
        "seconds": seconds,
        "audio": audio,
        "notes": notes,
    });
    Ok(Report { text, json })
}

/// Decodes every frame of `reader` on one thread and encodes on this one, so
/// the two overlap; returns where the output landed and what became of its sound.
pub(crate) fn copy_frames(
    ctx: &Ctx,
    mut reader: MediaReader,
    output: &Path,
    format: PixelFormat,
    options: &WriteOptions,
    label: &str,
) -> Result<Written, CliError> {
    let info: MediaInfo = reader.info().clone();
    // A variable-rate source is written at its nominal rate, each output
    // frame showing the source frame on screen at that instant.
    let (order, note) = match reader.constant_rate_frames() {
        Some(constant) => (constant.order, Some(constant.note)),
        None => ((0..info.frame_count).collect(), None),
    };
    let mut writer = MediaWriter::create(output, info.width, info.height, format, options)?;
    let bar = ctx.progress(order.len() as u64, label);
    let runtime: &Runtime = &ctx.runtime;
    std::thread::scope(|scope| -> Result<(), Error> {
        let (tx, rx) = sync_channel::<Result<Frame, Error>>(4);
        let order = &order;
        scope.spawn(move || {
            // A frame shown again is decoded once; only then is it kept.
            let mut held: Option<Frame> = None;
            for (i, &n) in order.iter().enumerate() {
                let frame = match held.take() {
                    Some(frame) => Ok(frame),
                    None => reader.read_frame(n).and_then(|f| runtime.install(|| f.to_format(format))),
                };
                if order.get(i + 1) == Some(&n)
                    && let Ok(frame) = &frame
                {
                    held = Some(frame.clone());
                }
                let failed = frame.is_err();
                if tx.send(frame).is_err() || failed {
                    break;
                }
            }
        });
        for frame in rx {
            writer.write_frame(&frame?.view())?;
            bar.inc(1);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let mut written = writer.finish_with_report()?;
    written.notes.extend(info.stream_note());
    written.notes.extend(note);
    Ok(written)
}
