//! `mattebox info`: what a media source holds.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use mattebox_core::Rational;
use mattebox_core::media::{MediaInfo, MediaKind, MediaReader, OpenOptions};
use mattebox_core::pipeline::scan;
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// Video files, image sequences (a directory or a pattern like shot_%04d.png) or images.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Frame rate to assume for image sequences that do not record one [default: 24].
    #[arg(long, value_name = "RATE", value_parser = super::parse_rate)]
    fps: Option<Rational>,
    /// Also decode every frame to count the frames that repeat the one
    /// before (a generator's or a screen recorder's held frames).
    #[arg(long)]
    scan: bool,
}

pub(crate) fn run(ctx: &Ctx, args: InfoArgs) -> Result<Report, CliError> {
    let options = OpenOptions { frame_rate: args.fps, ..Default::default() };
    let mut infos = Vec::new();
    let mut texts = Vec::new();
    for file in &args.files {
        let mut reader = MediaReader::open_on(&ctx.runtime, file, &options)?;
        let info = reader.info().clone();
        let mut text = describe(&info);
        let mut doc = serde_json::to_value(&info).map_err(|e| mattebox_core::Error::internal(e.to_string()))?;
        if args.scan {
            let bar = ctx.progress(info.frame_count, "scanning");
            let repeated = scan::repeated_frames(&ctx.runtime, &mut reader, &mut |done, _| bar.set_position(done))?;
            bar.finish_and_clear();
            let count = repeated.iter().filter(|&&r| r).count();
            let runs = repeated.windows(2).filter(|w| w[1] && !w[0]).count();
            let _ = writeln!(
                text,
                "  repeats      {count} frames repeat the one before, in {runs} runs \
                 (mattebox retime --fill-duplicates makes them anew)"
            );
            doc["repeated_frames"] = json!(count);
            doc["repeat_runs"] = json!(runs);
        }
        texts.push(text);
        infos.push(doc);
    }
    let text = texts.join("\n");
    let json = if infos.len() == 1 { json!({ "media": infos[0] }) } else { json!({ "media": infos }) };
    Ok(Report { text, json })
}

fn describe(info: &MediaInfo) -> String {
    let mut s = String::new();
    let kind = match info.kind {
        MediaKind::Video => "video file",
        MediaKind::ImageSequence => "image sequence",
        MediaKind::Image => "image",
    };
    let _ = writeln!(s, "{} ({kind}, {})", info.path.display(), info.container);
    let _ = writeln!(s, "  size         {}x{}", info.width, info.height);
    match &info.variable_rate {
        Some(v) => {
            let _ = writeln!(
                s,
                "  frame rate   variable, {:.2} to {:.2} fps; nominal {} ({} frames off a constant rate)",
                v.slowest_fps, v.fastest_fps, info.frame_rate, v.displaced_frames
            );
        }
        None => {
            let _ = writeln!(s, "  frame rate   {} ({:.3} fps)", info.frame_rate, info.frame_rate.to_f64());
        }
    }
    let _ = writeln!(s, "  frames       {} ({:.3} s)", info.frame_count, info.duration_seconds);
    let _ = writeln!(
        s,
        "  pixels       {} {}, {} bits per channel; decodes to {}",
        info.codec, info.source_pixel_format, info.bits_per_channel, info.decoded_format
    );
    let tags = &info.tags;
    if let Some(tc) = &tags.timecode {
        let reel = tags.reel.as_deref().map(|r| format!(", reel {r}")).unwrap_or_default();
        let _ = writeln!(s, "  timecode     {tc}{reel}");
    }
    let colour: Vec<String> = [
        ("primaries", &tags.primaries),
        ("transfer", &tags.transfer),
        ("matrix", &tags.matrix),
        ("range", &tags.range),
    ]
    .iter()
    .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
    .collect();
    if !colour.is_empty() {
        let _ = writeln!(s, "  colour       {}", colour.join(", "));
    }
    if let Some(par) = tags.pixel_aspect {
        let _ = writeln!(s, "  pixel aspect {par} (non-square pixels)");
    }
    if let Some(degrees) = tags.rotation {
        let _ = writeln!(s, "  rotation     {degrees} degrees (players turn the picture)");
    }
    if tags.is_interlaced() {
        let _ = writeln!(s, "  fields       interlaced, order {}", tags.field_order.as_deref().unwrap_or("unknown"));
    }
    if let Some(first) = info.first_number {
        let _ = writeln!(s, "  numbering    {first} to {}", first + info.frame_count - 1);
    }
    for stream in &info.streams {
        let _ = writeln!(s, "  stream #{:<4} {} {} {}", stream.index, stream.kind, stream.codec, stream.details);
    }
    s
}
