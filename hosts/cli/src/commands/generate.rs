//! `mattebox generate`: takes of a shot from a generator, exported to a
//! directory, with a progress bar per take; Ctrl-C cancels cleanly.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mattebox_core::generate::{
    GenerationJob, Generations, TakeCache, TakeStage, TakeStatus, read_sound, read_source_video,
};
use mattebox_core::media::{AudioInput, MediaReader, OpenOptions, VideoCodec, WriteOptions};
use mattebox_core::shot::{
    CameraMotion, ImageInput, Reference, ReferenceKind, ShotRequest, SoundRole, Take, VendorGeneration, VideoInput,
    VideoRole,
};
use mattebox_core::staged::StagedFile;
use mattebox_core::{Error, ErrorKind, Rational};
use serde_json::json;

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mattebox generate --prompt \"a valley at dusk\" --camera pan=0.4 -o takes/
  mattebox generate --first-frame still.png --camera horizontal=0.5,zoom=0.3 \\
      --size 1920x1080 --duration 2 --takes 2 -o takes/
  mattebox generate --first-frame a.png --last-frame b.png --duration 3 -o morph/
  mattebox generate --after takes/take-1.mp4 --duration 2 -o next/
  mattebox generate --adapter kling --lipsync takes/take-1.mp4 --audio line.wav -o talk/

--after continues a take or clip: the new shot starts on its last frame, and
generators that can continue a video (the built-in one, vendors' extend) go on
with its motion; with --camera, the built-in one makes that move instead.
--extend asks for the continuation alone. --lipsync re-renders a take's mouth
to the dialogue line given with --audio, or to words a vendor voices itself
given with --say (Kling: --extra voice_id=...); Kling's needs a take Kling
made. A take's sound, when its generator gives one, is in its
video, or beside a PNG sequence as take-N.wav.

Camera amounts run from -1 to 1 per axis: horizontal (truck), vertical
(pedestal), pan, tilt, roll, zoom. Take k uses seed + k. Every take is kept in
the take cache, so asking again is served at once without the generator.")]
pub(crate) struct GenerateArgs {
    /// Which generator (`builtin` works offline).
    #[arg(long, default_value = "builtin", value_name = "ID")]
    adapter: String,
    /// What the shot shows.
    #[arg(long, default_value = "")]
    prompt: String,
    /// What it must not show.
    #[arg(long, default_value = "", value_name = "TEXT")]
    negative_prompt: String,
    /// The shot starts on this image (or a video's first frame).
    #[arg(long, value_name = "IMG")]
    first_frame: Option<PathBuf>,
    /// The shot ends on this image (or a video's first frame).
    #[arg(long, value_name = "IMG")]
    last_frame: Option<PathBuf>,
    /// Continue this clip or take (a video file or an image-sequence directory):
    /// the generator goes on from its last frame with its motion.
    #[arg(long, value_name = "CLIP", conflicts_with = "after")]
    extend: Option<PathBuf>,
    /// The next shot of a chain: --extend CLIP, and CLIP's last frame as the first frame.
    #[arg(long, value_name = "CLIP", conflicts_with = "first_frame")]
    after: Option<PathBuf>,
    /// Re-render the mouth in this take or clip to the --audio line (or the --say words).
    #[arg(long, value_name = "CLIP", conflicts_with_all = ["extend", "after"])]
    lipsync: Option<PathBuf>,
    /// With --lipsync: the words, for generators that voice them (Kling, with --extra voice_id=...).
    #[arg(long, value_name = "WORDS", requires = "lipsync", conflicts_with = "audio")]
    say: Option<String>,
    /// The dialogue line (wav, mp3, m4a, aac, ogg, flac, or a video's sound track).
    #[arg(long, value_name = "SOUND")]
    audio: Option<PathBuf>,
    /// A sound for the shot to follow (music, ambience), for generators that take one.
    #[arg(long, value_name = "SOUND")]
    reference_audio: Option<PathBuf>,
    /// A reference image: character:NAME=IMG, location:NAME=IMG or style:NAME=IMG (repeatable).
    #[arg(long = "reference", value_name = "KIND:NAME=IMG")]
    references: Vec<String>,
    /// Camera move, e.g. pan=0.3,zoom=0.2 (axes: horizontal, vertical, pan, tilt, roll, zoom).
    #[arg(long, default_value = "", value_name = "AXIS=AMOUNT,...")]
    camera: String,
    /// Length in seconds (e.g. 2, 2.5, 5/2).
    #[arg(long, default_value = "2", value_name = "S")]
    duration: String,
    /// Frames per second.
    #[arg(long, default_value = "24", value_parser = super::parse_rate, value_name = "FPS")]
    fps: Rational,
    /// Frame size.
    #[arg(long, default_value = "1280x720", value_parser = super::parse_size, value_name = "WxH")]
    size: (u32, u32),
    /// Seed of the first take.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many takes.
    #[arg(long, default_value_t = 1, value_name = "K")]
    takes: u32,
    /// A generator-specific setting, KEY=VALUE, or KEY=@FILE for a file's text
    /// (KEY=@@... for a value that starts with @; repeatable); the built-in
    /// generator reads easing=linear|ease|ease-in|ease-out, ComfyUI reads
    /// workflow=@graph.json and server=URL. Settings kept with `mattebox plugin
    /// config ID KEY=VALUE` apply when a request does not give its own.
    #[arg(long = "extra", value_name = "KEY=VALUE")]
    extras: Vec<String>,
    /// Directory for the takes (take-1.mp4, ... or take-1/, ... for png, and takes.json).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// File type of each exported take: mp4, mov, mkv, or png (a sequence directory).
    #[arg(long, default_value = "mp4", value_name = "EXT")]
    format: String,
    /// Replace takes already in DIR.
    #[arg(short = 'y', long)]
    overwrite: bool,
}

fn load_image(ctx: &Ctx, path: &Path) -> Result<ImageInput, CliError> {
    let mut reader = MediaReader::open_on(&ctx.runtime, path, &OpenOptions::default())?;
    let frame = reader.read_frame(0)?;
    Ok(ImageInput::new(path.display().to_string(), frame))
}

fn parse_reference(ctx: &Ctx, text: &str) -> Result<Reference, CliError> {
    let bad =
        || CliError::usage(format!("--reference {text:?} is not KIND:NAME=IMG (kind: character, location, style)"));
    let (head, path) = text.split_once('=').ok_or_else(bad)?;
    let (kind, name) = head.split_once(':').ok_or_else(bad)?;
    let kind = match kind {
        "character" => ReferenceKind::Character,
        "location" => ReferenceKind::Location,
        "style" => ReferenceKind::Style,
        _ => return Err(bad()),
    };
    Ok(Reference { kind, name: name.to_owned(), image: load_image(ctx, Path::new(path))? })
}

fn request_of(ctx: &Ctx, args: &GenerateArgs) -> Result<ShotRequest, CliError> {
    let mut request = ShotRequest::new(args.prompt.clone());
    request.negative_prompt = args.negative_prompt.clone();
    request.camera = CameraMotion::parse(&args.camera).map_err(CliError::usage_from)?;
    request.duration = args.duration.parse().map_err(|e: Error| CliError::usage(format!("--duration: {e}")))?;
    request.fps = args.fps;
    (request.width, request.height) = args.size;
    request.seed = args.seed;
    for extra in &args.extras {
        let (k, v) =
            extra.split_once('=').ok_or_else(|| CliError::usage(format!("--extra {extra:?} is not KEY=VALUE")))?;
        request.extras.insert(k.trim().to_owned(), extra_value(k.trim(), v)?);
    }
    if let Some(words) = &args.say {
        request.extras.insert("text".into(), words.clone());
    }
    if args.lipsync.is_some() && args.audio.is_none() && args.say.is_none() {
        return Err(CliError::usage(
            "--lipsync needs the line: --audio LINE, or --say WORDS for a generator that voices them",
        ));
    }
    request.check().map_err(CliError::usage_from)?;
    request.first_frame = args.first_frame.as_deref().map(|p| load_image(ctx, p)).transpose()?;
    if let Some(path) = args.extend.as_deref().or(args.after.as_deref()) {
        let source = source_of(ctx, path, VideoRole::Extend)?;
        if args.after.is_some() {
            request.first_frame =
                Some(ImageInput::new(format!("{} (last frame)", path.display()), source.last_frame().clone()));
        }
        request.source_video = Some(source);
    }
    if let Some(path) = args.lipsync.as_deref() {
        request.source_video = Some(source_of(ctx, path, VideoRole::Lipsync)?);
    }
    if let Some(path) = args.audio.as_deref() {
        request.audio.push(read_sound(path, SoundRole::Dialogue)?);
    }
    if let Some(path) = args.reference_audio.as_deref() {
        request.audio.push(read_sound(path, SoundRole::Reference)?);
    }
    request.last_frame = args.last_frame.as_deref().map(|p| load_image(ctx, p)).transpose()?;
    request.references = args.references.iter().map(|r| parse_reference(ctx, r)).collect::<Result<_, _>>()?;
    Ok(request)
}

/// The clip or take at `path` as a source video with `role`, with its
/// vendor's id when `takes.json` beside it records one.
fn source_of(ctx: &Ctx, path: &Path, role: VideoRole) -> Result<VideoInput, CliError> {
    let source = read_source_video(&ctx.runtime, path, role)?;
    Ok(match vendor_of_export(path) {
        Some(vendor) => source.with_vendor(vendor),
        None => source,
    })
}

/// The vendor's id of the take exported as `path`, from the `takes.json`
/// `mattebox generate` wrote beside it, when its generator reported one:
/// continuing it then needs no upload.
fn vendor_of_export(path: &Path) -> Option<VendorGeneration> {
    let name = path.file_name()?;
    let records = path.parent().unwrap_or(Path::new(".")).join("takes.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(records).ok()?).ok()?;
    let entry = doc["takes"]
        .as_array()?
        .iter()
        .find(|t| t["file"].as_str().and_then(|f| Path::new(f).file_name()).is_some_and(|f| f == name))?;
    serde_json::from_value::<Take>(entry["take"].clone()).ok()?.vendor_source()
}

/// Set by Ctrl-C; the job is cancelled from the polling loop.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub(crate) fn run(ctx: &Ctx, args: GenerateArgs) -> Result<Report, CliError> {
    let export = match args.format.as_str() {
        "png" => None,
        ext @ ("mp4" | "mov" | "mkv") => VideoCodec::for_extension(ext),
        other => return Err(CliError::usage(format!("--format {other:?}: use mp4, mov, mkv or png"))),
    };
    let request = request_of(ctx, &args)?;
    let out = &args.output;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "create the output directory", e))?;
    // A PNG take is a sequence directory, `take-K/`.
    let suffix = if export.is_some() { format!(".{}", args.format) } else { String::new() };
    let names: Vec<PathBuf> = (1..=args.takes).map(|k| out.join(format!("take-{k}{suffix}"))).collect();
    if !args.overwrite
        && let Some(existing) = names.iter().find(|p| p.exists())
    {
        return Err(CliError::usage(format!(
            "{} already exists; pass --overwrite (-y) to replace it",
            existing.display()
        )));
    }
    let generations = Generations::new(ctx.runtime.clone())?;
    if args.adapter != "builtin" {
        let policy = mattebox_sandbox::policy_from_env().map_err(CliError::usage_from)?;
        let plugins = mattebox_sandbox::default_plugin_dir();
        let adapter =
            mattebox_sandbox::load_installed(&plugins, &args.adapter, &policy).map_err(|e| match e.kind() {
                ErrorKind::NotFound => CliError::usage_from(e),
                _ => CliError::Failed(e),
            })?;
        generations.register(std::sync::Arc::new(adapter));
    }
    let job = generations.submit(&args.adapter, request.clone(), args.takes).map_err(|e| match e.kind() {
        ErrorKind::NotFound | ErrorKind::InvalidArgument => CliError::usage_from(e),
        _ => CliError::Failed(e),
    })?;
    // A second Ctrl-C still kills at once: the handler only asks.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    follow(ctx, &job);
    let statuses = job.status();
    let results = job.results();
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(
            Error::new(ErrorKind::Cancelled, "cancelled by Ctrl-C; nothing was kept for unfinished takes").into()
        );
    }
    let mut text = String::new();
    let mut exported = Vec::new();
    let mut failures = Vec::new();
    for ((result, name), status) in results.into_iter().zip(&names).zip(&statuses) {
        match result {
            Ok(take) => {
                let path = export_take(ctx, &take, name, export, args.overwrite)?;
                describe(&mut text, &take, &path);
                exported.push(json!({ "file": path, "take": take, "from_cache": take.from_cache }));
            }
            Err(err) => {
                let _ = writeln!(text, "take {}: {} ({})", status.index + 1, err, status.stage.name());
                failures.push(err);
            }
        }
    }
    let summary = out.join("takes.json");
    let doc = json!({ "adapter": args.adapter, "takes": exported });
    std::fs::write(&summary, serde_json::to_string_pretty(&doc).unwrap_or_default())
        .map_err(|e| Error::io(&summary, "write", e))?;
    if let Some(first) = failures.into_iter().next()
        && exported.is_empty()
    {
        return Err(first.into());
    }
    let _ = writeln!(text, "records: {}", summary.display());
    Ok(Report { text, json: doc })
}

/// Progress bars per take until the job ends; Ctrl-C cancels it.
pub(crate) fn follow(ctx: &Ctx, job: &GenerationJob) {
    let multi = ctx.multi_progress();
    let style = ProgressStyle::with_template("{msg:>14} [{bar:32}] {percent:>3}%  {elapsed}")
        .expect("valid template")
        .progress_chars("=> ");
    let bars: Vec<ProgressBar> = job
        .status()
        .iter()
        .map(|s| {
            let bar = multi.add(ProgressBar::new(1000).with_style(style.clone()));
            bar.set_message(format!("take {} queued", s.index + 1));
            bar
        })
        .collect();
    let overall = ctx.agent_progress(1000 * bars.len() as u64, "generating");
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            job.cancel();
        }
        let finished = job.wait_timeout(Duration::from_millis(100));
        let status = job.status();
        let done = |s: &TakeStatus| {
            if s.stage == TakeStage::Done { 1000 } else { (s.fraction.clamp(0.0, 1.0) * 1000.0) as u64 }
        };
        overall.set_position(status.iter().map(done).sum());
        for (s, bar) in status.iter().zip(&bars) {
            bar.set_position((s.fraction * 1000.0) as u64);
            let cached = s.take.as_ref().is_some_and(|t| t.from_cache);
            let what = if cached { "cached" } else { s.stage.name() };
            bar.set_message(format!("take {} {what}", s.index + 1));
            if s.stage == TakeStage::Done {
                bar.set_position(1000);
            }
        }
        if finished {
            break;
        }
    }
    for bar in bars {
        bar.finish_and_clear();
    }
    overall.finish_and_clear();
}

/// Writes the take to `path` (a video, or a PNG sequence directory). A
/// video export is kept in the take cache, so exporting the same take the
/// same way again copies that file instead of encoding again.
pub(crate) fn export_take(
    ctx: &Ctx,
    take: &Take,
    path: &Path,
    codec: Option<VideoCodec>,
    overwrite: bool,
) -> Result<PathBuf, CliError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let kept_name = match (codec, ext) {
        (Some(codec), Some(ext)) => Some(format!("{codec}.{ext}")),
        _ => None,
    };
    if let Some(kept) = kept_name.as_deref().and_then(|name| TakeCache::kept_export(take, name)) {
        let staged = StagedFile::new(path, overwrite)?;
        std::fs::copy(&kept, staged.temp_path()).map_err(|e| Error::io(&kept, "copy a kept export", e))?;
        staged.commit()?;
        return Ok(path.to_owned());
    }
    let reader = MediaReader::open_on(&ctx.runtime, &take.media, &OpenOptions::default())?;
    let format = reader.info().decoded_format;
    let sound = take.audio_file().filter(|p| p.is_file());
    let options = WriteOptions {
        codec,
        overwrite,
        encoder_threads: ctx.runtime.threads(),
        audio: sound.clone().filter(|_| codec.is_some()).map(AudioInput::from),
        ..WriteOptions::new(take.fps)
    };
    let written = super::convert::copy_frames(ctx, reader, path, format, &options, "exporting")?.path;
    // A frame sequence has no sound track: the take's sound goes beside it.
    if codec.is_none()
        && let Some(wav) = &sound
    {
        let beside = path.with_extension("wav");
        let staged = StagedFile::new(&beside, overwrite)?;
        std::fs::copy(wav, staged.temp_path()).map_err(|e| Error::io(wav, "copy the take's sound", e))?;
        staged.commit()?;
    }
    if let Some(name) = &kept_name
        && let Err(e) = TakeCache::keep_export(take, name, &written)
    {
        ctx.warn(&format!("could not keep the export in the take cache ({e}); the next export encodes again"));
    }
    Ok(written)
}

fn describe(text: &mut String, take: &Take, path: &Path) {
    let source = if take.from_cache { "from the take cache" } else { "generated" };
    let _ = writeln!(
        text,
        "take {} -> {}: {} frames {}x{} at {} fps, seed {}, {source} (made in {:.1} s)",
        take.index + 1,
        path.display(),
        take.frames,
        take.width,
        take.height,
        take.fps,
        take.seed,
        take.timings.generate_seconds + take.timings.store_seconds,
    );
    for d in &take.deviations {
        let _ = writeln!(text, "  note: {d}");
    }
}

/// An `--extra` value: `@FILE` is the file's text, `@@...` a value that
/// starts with `@`, anything else itself.
fn extra_value(key: &str, value: &str) -> Result<String, CliError> {
    if let Some(literal) = value.strip_prefix("@@") {
        return Ok(format!("@{literal}"));
    }
    let Some(file) = value.strip_prefix('@') else {
        return Ok(value.to_owned());
    };
    std::fs::read_to_string(file).map_err(|e| {
        CliError::usage(format!("--extra {key}=@{file}: cannot read {file} ({e}); give a file's path after @"))
    })
}
