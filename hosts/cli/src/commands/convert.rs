//! `mattebox convert`: video <-> image sequence, keeping rate and depth.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use clap::Args;
use mattebox_core::media::{
    AudioInput, AudioMode, MediaInfo, MediaReader, MediaWriter, OpenOptions, VideoCodec, WriteOptions, Written,
};
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
    let audio = match args.sound.audio {
        AudioMode::Drop => None,
        _ => args.sound.audio_file.clone().or(info.audio.clone()).map(AudioInput::from),
    };
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
    let mut note = None;
    let order: Vec<u64> = match (reader.constant_rate_frames(), &info.variable_rate) {
        (Some((order, repeated, dropped)), Some(v)) => {
            note = Some(format!(
                "{} has a variable frame rate ({:.1} to {:.1} fps); written at a constant {} fps on its timestamps: \
                 {repeated} frames shown again where the source held them, {dropped} left out \
                 (mattebox retime --fps {} makes frames between instead)",
                info.path.display(),
                v.slowest_fps,
                v.fastest_fps,
                info.frame_rate,
                info.frame_rate
            ));
            order
        }
        _ => (0..info.frame_count).collect(),
    };
    let mut writer = MediaWriter::create(output, info.width, info.height, format, options)?;
    let bar = ctx.progress(order.len() as u64, label);
    let runtime: &Runtime = &ctx.runtime;
    std::thread::scope(|scope| -> Result<(), Error> {
        let (tx, rx) = sync_channel::<Result<Frame, Error>>(4);
        let order = &order;
        scope.spawn(move || {
            let mut last: Option<(u64, Frame)> = None;
            for &n in order {
                let frame = match &last {
                    Some((k, frame)) if *k == n => Ok(frame.clone()),
                    _ => reader.read_frame(n).and_then(|f| runtime.install(|| f.to_format(format))),
                };
                if let Ok(frame) = &frame {
                    last = Some((n, frame.clone()));
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
