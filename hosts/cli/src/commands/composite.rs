//! `mattebox composite`: a background behind a keyed (or matted) plate.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use mattebox_core::composite::{
    Cleanup, CompositeOptions, Defocus, Fit, KeyOptions, PersonKey, PersonModel, ScreenChoice,
};
use mattebox_core::consistency::models::PersonSegmenter;
use mattebox_core::media::{OpenOptions, VideoCodec};
use mattebox_core::pipeline::composite::{CompositeJob, MatteSource, WhenShorter};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeyKind {
    /// Green or blue, whichever the plate shows more of.
    Auto,
    Green,
    Blue,
    /// The person, found by a segmentation model (no screen needed; needs
    /// --models and ONNX Runtime).
    Person,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FitArg {
    Cover,
    Contain,
    Stretch,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mattebox composite --plate actor_green.mov --background city.png -o shot.mov
  mattebox composite --plate plate.mp4 --background generated.mp4 -o out.mp4 \\
      --match-colour 0.6 --light-wrap 0.4 --track-camera --camera-out camera.json
  mattebox composite --plate plate/ --matte matte/ --background sky.exr -o comp/
  mattebox composite --plate interview.mp4 --background set.png -o out.mp4 \\
      --key person --models ../shared/models \\
      --onnxruntime target/tools/onnxruntime/libonnxruntime.so

The background is fitted to the plate (--fit, default cover: scaled to fill,
centred, overflow cropped) and played at its own frame rate; when it runs out
it holds its last frame (or loops with --loop-background). Strengths run 0..1.")]
pub(crate) struct CompositeArgs {
    /// The live-action plate (video, image sequence or image).
    #[arg(long)]
    plate: PathBuf,
    /// The background (still, video or image sequence), e.g. a generated shot.
    #[arg(long)]
    background: PathBuf,
    /// The composite.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// What to key.
    #[arg(long, value_enum, default_value = "auto", conflicts_with = "matte")]
    key: KeyKind,
    /// Screen colour to key against, as #RRGGBB (overrides --key's sampling).
    #[arg(long, value_name = "#RRGGBB", value_parser = parse_hex)]
    screen_colour: Option<[f32; 3]>,
    /// Use this grey matte (white = foreground) instead of keying.
    #[arg(long, value_name = "MATTE")]
    matte: Option<PathBuf>,
    /// Keep solid what the person model is sure is a person, whatever its
    /// colour: foreground the colour of the screen (a navy shirt on blue)
    /// that no colour key separates. Edges stay the key's. Needs the
    /// person model, as --key person does.
    #[arg(long, conflicts_with = "matte")]
    keep_person: bool,
    /// For --key person and --keep-person: the directory with selfie.onnx [default:
    /// $MATTEBOX_MODELS, else ~/.local/share/mattebox/models].
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// For --key person and --keep-person: the ONNX Runtime library [default:
    /// $MATTEBOX_ONNXRUNTIME, else libonnxruntime.so on the loader path].
    #[arg(long, value_name = "FILE")]
    onnxruntime: Option<PathBuf>,
    /// Raw key values at or below this become background [default: set from
    /// the screen's noise, at least 0.06].
    #[arg(long, value_name = "V")]
    clip_black: Option<f32>,
    /// Raw key values at or above this become foreground [default: set from
    /// the screen's noise, at most 0.9].
    #[arg(long, value_name = "V")]
    clip_white: Option<f32>,
    /// Grow (positive) or shrink (negative) the matte, in pixels.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_name = "PX")]
    grow: i32,
    /// Blur the matte edge, in pixels.
    #[arg(long, default_value_t = 0.0, value_name = "PX")]
    soften: f32,
    /// Fill background holes inside the foreground (green reflections).
    #[arg(long)]
    fill_holes: bool,
    /// Spill suppression strength.
    #[arg(long, default_value_t = 0.8, value_name = "S")]
    spill: f32,
    /// Move the background's colours towards the plate's.
    #[arg(long = "match-colour", alias = "match-color", default_value_t = 0.0, value_name = "S")]
    match_colour: f32,
    /// Background light wrapping round the actor's edge.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    light_wrap: f32,
    /// Blur the background to the plate's softness: `auto` or a radius in pixels.
    #[arg(long, value_name = "auto|PX", value_parser = parse_defocus)]
    defocus: Option<Defocus>,
    /// Add the plate's grain to the background.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    grain: f32,
    /// How a background of another size is fitted.
    #[arg(long, value_enum, default_value = "cover")]
    fit: FitArg,
    /// Move the background with the plate's camera (pan, tilt, zoom, roll).
    #[arg(long)]
    track_camera: bool,
    /// Write the camera path (JSON) here; implies --track-camera.
    #[arg(long, value_name = "FILE")]
    camera_out: Option<PathBuf>,
    /// The shot's camera track, for a shot rendered in chunks: followed
    /// when FILE exists, else tracked over the whole plate and written to
    /// FILE (with --dry-run, only that); implies --track-camera.
    #[arg(long, value_name = "FILE")]
    camera_track: Option<PathBuf>,
    /// Also write the matte (grey) here.
    #[arg(long, value_name = "MATTE")]
    matte_out: Option<PathBuf>,
    /// Loop the background instead of holding its last frame.
    #[arg(long)]
    loop_background: bool,
    /// Video codec, overriding the one the extension implies: h264, prores or ffv1.
    #[arg(long, value_parser = super::parse_codec)]
    codec: Option<VideoCodec>,
    #[command(flatten)]
    chunk: super::ChunkArgs,
    /// Replace outputs that exist.
    #[arg(short = 'y', long)]
    overwrite: bool,
    #[command(flatten)]
    sound: super::AudioArgs,
}

/// The person segmentation model --key person asks for.
fn person_model(ctx: &Ctx, args: &CompositeArgs) -> Result<Arc<dyn PersonModel>, CliError> {
    Ok(ctx.runtime.install(|| PersonSegmenter::found(args.models.as_deref(), args.onnxruntime.as_deref()))?)
}

fn parse_hex(text: &str) -> Result<[f32; 3], String> {
    let hex = text.trim_start_matches('#');
    let bad = || format!("{text:?} is not a colour like #1CB34A");
    if hex.len() != 6 {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map(|v| v as f32 / 255.0).map_err(|_| bad());
    Ok([byte(0)?, byte(2)?, byte(4)?])
}

fn parse_defocus(text: &str) -> Result<Defocus, String> {
    if text == "auto" {
        return Ok(Defocus::Auto);
    }
    text.parse::<f32>().map(Defocus::Radius).map_err(|_| format!("{text:?} is not `auto` or a radius in pixels"))
}

pub(crate) fn run(ctx: &Ctx, args: CompositeArgs) -> Result<Report, CliError> {
    let screen = match (args.screen_colour, args.key) {
        (Some(colour), _) => ScreenChoice::Colour(colour),
        (None, KeyKind::Green) => ScreenChoice::Green,
        (None, KeyKind::Blue) => ScreenChoice::Blue,
        (None, _) => ScreenChoice::Auto,
    };
    let cleanup = Cleanup { grow: args.grow, blur: args.soften, fill_holes: args.fill_holes };
    let person = matches!(args.key, KeyKind::Person) && args.matte.is_none();
    if !person && !args.keep_person && (args.models.is_some() || args.onnxruntime.is_some()) {
        return Err(CliError::usage("--models and --onnxruntime are for --key person and --keep-person"));
    }
    if person && args.keep_person {
        return Err(CliError::usage("--keep-person is for a screen key; --key person is the person's matte already"));
    }
    if person && (args.screen_colour.is_some() || args.clip_black.is_some() || args.clip_white.is_some()) {
        return Err(CliError::usage(
            "--screen-colour, --clip-black and --clip-white are for a screen key; --key person has no screen",
        ));
    }
    let matte = match (&args.matte, args.key) {
        (Some(path), _) => MatteSource::File(path.clone()),
        (None, KeyKind::Person) => MatteSource::Person(PersonKey { model: person_model(ctx, &args)?, cleanup }),
        (None, _) => {
            let key = KeyOptions { screen, clip_black: args.clip_black, clip_white: args.clip_white, cleanup };
            if args.keep_person {
                MatteSource::KeyKeepingPerson(key, person_model(ctx, &args)?)
            } else {
                MatteSource::Key(key)
            }
        }
    };
    let fit = match args.fit {
        FitArg::Cover => Fit::Cover,
        FitArg::Contain => Fit::Contain,
        FitArg::Stretch => Fit::Stretch,
    };
    let options = CompositeOptions {
        spill: args.spill,
        match_colour: args.match_colour,
        light_wrap: args.light_wrap,
        defocus: args.defocus.unwrap_or_default(),
        grain: args.grain,
        fit,
        ..Default::default()
    };
    let job = CompositeJob {
        plate: args.plate,
        background: args.background,
        output: args.output,
        matte,
        options,
        track_camera: args.track_camera || args.camera_out.is_some(),
        matte_out: args.matte_out,
        camera_out: args.camera_out,
        when_shorter: if args.loop_background { WhenShorter::Loop } else { WhenShorter::Hold },
        open: OpenOptions::default(),
        codec: args.codec,
        overwrite: args.overwrite,
        audio: args.sound.audio,
        audio_file: args.sound.audio_file,
        camera_track: args.camera_track,
        frames: args.chunk.frames,
    };
    if args.chunk.dry_run {
        let mut bar = None;
        let plan = job.dry_run(&ctx.runtime, &mut |(done, total)| {
            bar.get_or_insert_with(|| ctx.progress(total, "tracking")).set_position(done);
        })?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let mut text = format!(
            "{}: {} frames at {} fps\n  output frames {} to {} read plate frames {} to {} (counted from 0) and the first\n",
            job.plate.display(),
            plan.frames,
            plan.frame_rate,
            plan.rendered.0,
            plan.rendered.1,
            plan.plate_read.start,
            plan.plate_read.end - 1
        );
        if let Some(track) = &plan.camera_track {
            let _ = writeln!(text, "  camera track written to {}", track.display());
        }
        return Ok(Report { text, json: json!({ "dry_run": plan }) });
    }
    let mut bar = None;
    let report = job.run(&ctx.runtime, &mut |(done, total)| {
        bar.get_or_insert_with(|| ctx.progress(total, "compositing")).set_position(done);
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut text = format!(
        "{} over {} -> {}\n  {} frames of {}x{} at {} fps in {:.1} s\n",
        job.plate.display(),
        job.background.display(),
        report.output.display(),
        report.frames,
        report.width,
        report.height,
        report.frame_rate,
        report.seconds
    );
    if let (Some(s), Some(coverage)) = (report.screen, report.screen_coverage) {
        let hex: String = s.iter().map(|v| format!("{:02X}", (v * 255.0).round() as u8)).collect();
        let noise = report.screen_noise.map(|n| format!(", noise {:.1}/255", n.iter().copied().fold(0.0, f32::max)));
        let _ = writeln!(
            text,
            "  keyed screen #{hex} ({:.0}% of the first frame{})",
            coverage * 100.0,
            noise.unwrap_or_default()
        );
    }
    let bg = &report.background;
    if bg.resized {
        let _ = writeln!(text, "  background {}x{} fitted to the plate ({:?})", bg.width, bg.height, bg.fit);
    }
    if bg.ran_out > 0 {
        let _ = writeln!(text, "  background ran out for {} frames ({:?})", bg.ran_out, bg.when_shorter);
    }
    if let Some(camera) = &report.camera {
        let s = camera.summary;
        let _ = writeln!(
            text,
            "  camera: content moved {:+.1}% across, {:+.1}% down, zoom x{:.3}, roll {:+.2} deg",
            s.horizontal * 100.0,
            s.vertical * 100.0,
            s.zoom,
            s.roll
        );
    }
    if let Some(m) = &report.matte_out {
        let _ = writeln!(text, "  matte written to {}", m.display());
    }
    super::describe_audio(&mut text, report.audio.as_ref(), &report.notes);
    Ok(Report { text, json: json!({ "composite": report }) })
}
