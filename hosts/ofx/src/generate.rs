//! Mattebox Generate (generator and general contexts): takes of a shot from
//! the built-in generator, made in a background job when the *Generate*
//! button is pressed (never on a render thread), stored in the take cache
//! the command line shares, and rendered frame by frame from there. Until
//! the chosen take exists, a placeholder renders: diagonal stripes, with a
//! progress bar while the job runs.
//!
//! A take is the request at full project size (canonical, square pixels);
//! proxy renders and non-square pixels resample it to the output. With
//! First/Last frame clips, a proxy shows the stills at reduced size, whose
//! pixels are not the request's: the keys learnt where the stills were read
//! at full size (a full-resolution render, or Generate) are kept by the
//! request's other fields, in memory and in a hidden parameter the project
//! file keeps.
//!
//! With an Episode file and an Episode shot, it shows instead the take that
//! shot uses in the episode's edit (the director's pick, else the best
//! ranked; `mattebox episode`, `mattebox review`), read again on every
//! render so a new pick shows at once; the take is looked up in the take
//! cache by its key, never by a path the episode's files name.

use std::collections::HashMap;
use std::ffi::CStr;

use mattebox_core::generate::{BuiltinGenerator, GenerationJob, Generations, Generator, TakeStage};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::shot::{CameraMotion, ImageInput, ShotRequest};
use mattebox_core::{Frame, PixelFormat, Rational};
use parking_lot::Mutex;

use crate::adapters::{AdapterJob, LibraryInputs, installed_version, library_keys};
use crate::describe;
use crate::host::{Effect, OfxError, OfxResult, Props, RenderScale};
use crate::plugin::Plugin;
use crate::sys::*;

const OUTPUT: &CStr = c"Output";
const FIRST_FRAME: &CStr = c"FirstFrame";
const LAST_FRAME: &CStr = c"LastFrame";
const ADAPTER: &CStr = c"adapter";
const PROMPT: &CStr = c"prompt";
const SEED: &CStr = c"seed";
const TAKES: &CStr = c"takes";
const TAKE: &CStr = c"take";
const DURATION: &CStr = c"duration";
const GENERATE: &CStr = c"generate";
const TAKE_KEYS: &CStr = c"takeKeys";
const EPISODE: &CStr = c"episode";
const EPISODE_SHOT: &CStr = c"episodeShot";
const SOURCE_VIDEO: &CStr = c"sourceVideo";
/// The input clip a shot continues (general context), and where its frames
/// were last written for the library to read.
const SOURCE: &CStr = c"Source";
const SOURCE_FOLDER: &CStr = c"sourceFolder";
/// The longest Source clip Generate writes out (five minutes at 24 fps).
const MAX_SOURCE_FRAMES: u64 = 7200;
const SOURCE_ROLE: &CStr = c"sourceRole";
const SOUND: &CStr = c"sound";
const SOUND_ROLE: &CStr = c"soundRole";
/// The most takes the Takes parameter asks for.
const MAX_TAKES: u32 = 8;
/// Camera parameters, in `CameraMotion::AXES` order.
const CAMERA: [(&CStr, &CStr); 6] = [
    (c"horizontal", c"Truck"),
    (c"vertical", c"Pedestal"),
    (c"pan", c"Pan"),
    (c"tilt", c"Tilt"),
    (c"roll", c"Roll"),
    (c"zoom", c"Push in"),
];

pub(crate) struct Generate;

/// A generate instance: the built-in generation service, the job last
/// started with the cache keys of its takes, and the keys of requests with
/// stills by their still-free key.
pub(crate) struct GenerateInstance {
    service: Generations,
    job: Mutex<Option<(Vec<String>, Job)>>,
    keys: Mutex<HashMap<String, Vec<String>>>,
    /// Keys the Mattebox library gave for requests with a Source video or a
    /// Sound, by the request's identity (its files' paths, sizes and times).
    library_keys: Mutex<HashMap<String, Vec<String>>>,
}

/// A job of the built-in generator (in the bundle) or of an adapter (in
/// the Mattebox library).
enum Job {
    Builtin(GenerationJob),
    Adapter(AdapterJob),
}

/// Which generator the Adapter parameter names: its id and version (the
/// version is part of the take-cache key).
fn generator_of(effect: &Effect) -> OfxResult<(String, String)> {
    let id = effect.string_at(ADAPTER, 0.0)?.trim().to_owned();
    if id.is_empty() || id == "builtin" {
        let builtin = BuiltinGenerator::default();
        return Ok((builtin.info().id.clone(), builtin.info().version.clone()));
    }
    let version = installed_version(&id)?;
    Ok((id, version))
}

/// The cache key of take `index` of `request` from `generator`.
fn key_of(request: &ShotRequest, index: u32, (id, version): &(String, String)) -> String {
    request.take_key(id, version, index)
}

/// The keys of every take Generate may make of `request`.
fn all_keys(request: &ShotRequest, generator: &(String, String)) -> Vec<String> {
    (0..MAX_TAKES).map(|i| key_of(request, i, generator)).collect()
}

/// The hidden parameter's value: the still-free key, then the take keys.
fn kept_value(still_free: &str, keys: &[String]) -> String {
    format!("v1 {still_free} {}", keys.join(" "))
}

fn parse_kept(value: &str) -> Option<(&str, Vec<String>)> {
    let mut words = value.split_whitespace();
    if words.next()? != "v1" {
        return None;
    }
    let still_free = words.next()?;
    let keys: Vec<String> = words.map(str::to_owned).collect();
    (keys.len() == MAX_TAKES as usize).then_some((still_free, keys))
}

impl GenerateInstance {
    /// The keys of every take Generate may make of `request`: computed
    /// here, or, when the request has files only the Mattebox library can
    /// read, asked of it (once per request and files).
    fn keys_of(
        &self,
        request: &ShotRequest,
        inputs: &LibraryInputs,
        generator: &(String, String),
    ) -> OfxResult<Vec<String>> {
        if inputs.is_empty() {
            return Ok(all_keys(request, generator));
        }
        let identity = format!("{} {}", key_of(request, 0, generator), inputs_identity(inputs));
        if let Some(keys) = self.library_keys.lock().get(&identity) {
            return Ok(keys.clone());
        }
        let keys = library_keys(&generator.0, request, inputs, MAX_TAKES)?;
        self.library_keys.lock().insert(identity, keys.clone());
        Ok(keys)
    }

    /// The cache key of take `index` as the request at full size has it;
    /// `Err` says why it cannot be known at this render scale.
    fn key_for(
        &self,
        effect: &Effect,
        index: u32,
        generator: &(String, String),
        scale: RenderScale,
    ) -> OfxResult<Result<String, String>> {
        if let Some(Err(why)) = clip_source(effect)? {
            return Ok(Err(format!("take {}: {why}", index + 1)));
        }
        let inputs = inputs_of(effect)?;
        let pick = |keys: &[String]| keys.get(index as usize).cloned();
        if !uses_stills(effect) {
            let keys = self.keys_of(&request_of(effect, false)?, &inputs, generator)?;
            return Ok(Ok(pick(&keys).unwrap_or_else(|| keys[0].clone())));
        }
        let still_free = still_free_key(effect, &inputs, generator)?;
        if scale.is_full() {
            let keys = self.keys_of(&request_of(effect, true)?, &inputs, generator)?;
            let key = pick(&keys).unwrap_or_else(|| keys[0].clone());
            self.keys.lock().insert(still_free, keys);
            return Ok(Ok(key));
        }
        if let Some(key) = self.keys.lock().get(&still_free).and_then(|k| pick(k)) {
            return Ok(Ok(key));
        }
        let kept = effect.string_at(TAKE_KEYS, 0.0)?;
        if let Some(key) = parse_kept(&kept).filter(|(free, _)| *free == still_free).and_then(|(_, k)| pick(&k)) {
            return Ok(Ok(key));
        }
        Ok(Err(format!(
            "take {}: at render scale {} the First and Last frame clips are proxies, not the request's pixels; \
             render one frame at full resolution (or press Generate) and the take shows at every scale",
            index + 1,
            scale.x
        )))
    }
}

/// The key that names a request with stills by everything but the stills
/// (its files included), for proxy renders.
fn still_free_key(effect: &Effect, inputs: &LibraryInputs, generator: &(String, String)) -> OfxResult<String> {
    let mut request = request_of(effect, false)?;
    if !inputs.is_empty() {
        request.extras.insert("mattebox.ofx.inputs".into(), inputs_identity(inputs));
    }
    Ok(key_of(&request, 0, generator))
}

/// The Source video and Sound parameters: files the Mattebox library reads.
fn inputs_of(effect: &Effect) -> OfxResult<LibraryInputs> {
    let file = |name: &CStr| -> OfxResult<Option<String>> {
        let path = effect.string_at(name, 0.0)?.trim().to_owned();
        Ok((!path.is_empty()).then_some(path))
    };
    // Choice indices follow MB_VIDEO_ROLE_* and MB_SOUND_ROLE_*, which start at 1.
    let source_role = effect.int_at(SOURCE_ROLE, 0.0)?.clamp(0, 2) as u32 + 1;
    let sound_role = effect.int_at(SOUND_ROLE, 0.0)?.clamp(0, 1) as u32 + 1;
    let source = match file(SOURCE_VIDEO)? {
        Some(path) => Some(path),
        None => clip_source(effect)?.and_then(Result::ok),
    };
    Ok(LibraryInputs { source_video: source.map(|p| (p, source_role)), sound: file(SOUND)?.map(|p| (p, sound_role)) })
}

/// The Source clip's frames as the last Generate wrote them, when the clip
/// is connected and no Source video file is named: `Err` when they have
/// not been written yet (renders cannot read a whole clip).
fn clip_source(effect: &Effect) -> OfxResult<Option<Result<String, String>>> {
    if !effect.string_at(SOURCE_VIDEO, 0.0)?.trim().is_empty() || !effect.connected(SOURCE) {
        return Ok(None);
    }
    let kept = effect.string_at(SOURCE_FOLDER, 0.0)?;
    Ok(Some(if !kept.is_empty() && std::path::Path::new(&kept).is_dir() {
        Ok(kept)
    } else {
        Err("the Source clip has not been read yet: press Generate and its frames are kept for the takes".to_owned())
    }))
}

/// Writes the Source clip's frames (8-bit PNG, at the clip's rate) into a
/// folder of the take cache named by their content, and keeps its path in
/// the project: the Mattebox library reads it as the request's source.
fn write_clip_source(instance: &GenerateInstance, effect: &Effect) -> OfxResult<()> {
    use std::hash::{Hash, Hasher};
    let clip = effect.clip(SOURCE)?;
    let (first, last) = clip.frame_range()?;
    let count = (last - first).round().max(0.0) as u64 + 1;
    if count > MAX_SOURCE_FRAMES {
        return Err(OfxError::failed(format!(
            "the Source clip is {count} frames; Generate reads at most {MAX_SOURCE_FRAMES}: trim it, or name a file \
             with Source video"
        )));
    }
    let rate = clip.frame_rate().unwrap_or(24.0);
    let rate =
        format!("{rate:.6}").parse::<Rational>().map_err(|e| OfxError::failed(format!("Source rate {rate}: {e}")))?;
    let sources = instance.service.cache().dir().join("ofx-sources");
    std::fs::create_dir_all(&sources).map_err(|e| OfxError::failed(format!("{}: {e}", sources.display())))?;
    let staging = sources.join(format!("partial-{}-{:x}", std::process::id(), first.to_bits() ^ count));
    let _ = std::fs::remove_dir_all(&staging);
    let mut writer: Option<mattebox_core::media::MediaWriter> = None;
    let mut content = std::collections::hash_map::DefaultHasher::new();
    for n in 0..count {
        let time = first + n as f64;
        let frame = clip
            .image(time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Source frame at {time}")))?
            .to_frame()?
            .to_format(PixelFormat::Rgba8)?;
        if writer.is_none() {
            let options = mattebox_core::media::WriteOptions::new(rate);
            let folder = staging.join("");
            writer = Some(mattebox_core::media::MediaWriter::create(
                &folder,
                frame.width(),
                frame.height(),
                PixelFormat::Rgba8,
                &options,
            )?);
        }
        writer.as_mut().expect("made above").write_frame(&frame.view())?;
        // Written, the frame moves into its digest: no copy of it is made.
        ImageInput::new("", frame).digest().hash(&mut content);
    }
    writer.ok_or_else(|| OfxError::failed("the Source clip has no frames"))?.finish()?;
    let folder = sources.join(format!("{:016x}-{count}", content.finish()));
    if folder.is_dir() {
        let _ = std::fs::remove_dir_all(&staging);
    } else {
        std::fs::rename(&staging, &folder).map_err(|e| OfxError::failed(format!("{}: {e}", folder.display())))?;
    }
    effect.set_string_param(SOURCE_FOLDER, &folder.display().to_string())
}

/// What names the inputs' content without reading it: each file's path,
/// role, size and modification time (a file written again is a new input).
fn inputs_identity(inputs: &LibraryInputs) -> String {
    let stamp = |(path, role): &(String, u32)| {
        let meta = std::fs::metadata(path).ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("{path}|{role}|{}|{modified}", meta.map_or(0, |m| m.len()))
    };
    [&inputs.source_video, &inputs.sound]
        .iter()
        .map(|i| i.as_ref().map(stamp).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(";")
}

fn clip_still(effect: &Effect, clip: &CStr, label: &str) -> OfxResult<Option<ImageInput>> {
    if !effect.connected(clip) {
        return Ok(None);
    }
    let c = effect.clip(clip)?;
    let first = c.frame_range()?.0;
    let frame = c
        .image(first)?
        .ok_or_else(|| OfxError::failed(format!("the host gave no {label} frame at {first}")))?
        .to_frame()?;
    // Stills enter requests as 8-bit pixels with a digest, as the CLI reads them.
    Ok(Some(ImageInput::new(label, frame.to_format(PixelFormat::Rgba8)?)))
}

/// The shot request the parameters describe (frames from the optional clips
/// only when `with_stills`: reading them needs a render or a button press).
fn request_of(effect: &Effect, with_stills: bool) -> OfxResult<ShotRequest> {
    let mut request = ShotRequest::new(effect.string_at(PROMPT, 0.0)?);
    request.seed = effect.int_at(SEED, 0.0)?.max(0) as u64;
    let duration = effect.double_at(DURATION, 0.0)?;
    request.duration = format!("{duration:.6}")
        .parse::<Rational>()
        .map_err(|e| OfxError::failed(format!("duration {duration} s: {e}")))?;
    let props = effect.props()?;
    let (w, h) = (
        props.double(kOfxImageEffectPropProjectSize, 0).unwrap_or(1920.0),
        props.double(kOfxImageEffectPropProjectSize, 1).unwrap_or(1080.0),
    );
    (request.width, request.height) = (w.round().max(1.0) as u32, h.round().max(1.0) as u32);
    let rate = effect.clip(OUTPUT)?.frame_rate().unwrap_or(24.0);
    request.fps =
        format!("{rate:.6}").parse::<Rational>().map_err(|e| OfxError::failed(format!("frame rate {rate}: {e}")))?;
    let mut camera = CameraMotion::default();
    let amounts: Vec<f32> =
        CAMERA.iter().map(|(name, _)| effect.double_at(name, 0.0).map(|v| v as f32)).collect::<OfxResult<_>>()?;
    (camera.horizontal, camera.vertical, camera.pan, camera.tilt, camera.roll, camera.zoom) =
        (amounts[0], amounts[1], amounts[2], amounts[3], amounts[4], amounts[5]);
    request.camera = camera;
    if with_stills {
        request.first_frame = clip_still(effect, FIRST_FRAME, "first frame")?;
        request.last_frame = clip_still(effect, LAST_FRAME, "last frame")?;
    }
    // The user's settings for the adapter (its server, its workflow), as
    // every host applies them before a request is keyed.
    let id = effect.string_at(ADAPTER, 0.0)?.trim().to_owned();
    if !id.is_empty() {
        mattebox_core::generate::apply_settings(&id, &mut request)?;
    }
    Ok(request)
}

/// The take the Episode parameters name, if they name one: the episode
/// shot's pick, else its best-ranked take, from the take cache.
fn episode_take(instance: &GenerateInstance, effect: &Effect) -> OfxResult<Option<mattebox_core::shot::Take>> {
    use mattebox_core::episode::run::EpisodeReport;
    use mattebox_core::episode::{Episode, Picks};
    let path = effect.string_at(EPISODE, 0.0)?.trim().to_owned();
    let shot = effect.string_at(EPISODE_SHOT, 0.0)?.trim().to_owned();
    if path.is_empty() && shot.is_empty() {
        return Ok(None);
    }
    if path.is_empty() || shot.is_empty() {
        return Err(OfxError::failed("set both Episode file and Episode shot (or neither)"));
    }
    let episode = Episode::load(std::path::Path::new(&path))?;
    episode.shot(&shot)?;
    let report = EpisodeReport::load(&episode)?;
    let picks = Picks::load(&Picks::path_for(&episode.path))?;
    let ranked = report.shot(&shot).and_then(|s| s.choice(&picks.shot(&shot)).take).ok_or_else(|| {
        OfxError::failed(format!("shot {shot} of {path} has no take in the edit (none made, or every one rejected)"))
    })?;
    let take = instance.service.cache().lookup(&ranked.take.key)?.ok_or_else(|| {
        OfxError::failed(format!(
            "shot {shot}'s take {} is not in the take cache ({}); run `mattebox episode run {path}` with the same \
             cache (MATTEBOX_CACHE_DIR)",
            ranked.number,
            instance.service.cache().dir().display()
        ))
    })?;
    Ok(Some(take))
}

/// A still-free request is the same whether or not stills could be read;
/// with input clips, the stills are part of the request.
fn uses_stills(effect: &Effect) -> bool {
    effect.connected(FIRST_FRAME) || effect.connected(LAST_FRAME)
}

/// The take's frame at `time` (held past its end), at `w` x `h`.
fn take_frame(take: &mattebox_core::shot::Take, time: f64, w: u32, h: u32) -> OfxResult<Frame> {
    let mut reader = MediaReader::open(&take.media, &OpenOptions::default())?;
    let n = (time.max(0.0).round() as u64).min(take.frames.saturating_sub(1));
    let frame = reader.read_frame(n)?;
    // A proxy, or non-square pixels: the take resampled to the output.
    Ok(if (frame.width(), frame.height()) == (w, h) {
        frame
    } else {
        mattebox_core::pixels::resample(&frame.to_format(PixelFormat::Rgba32F)?.view(), w, h)?
    })
}

/// Stripes, and a progress bar across the middle while a job runs.
fn placeholder(w: u32, h: u32, progress: Option<f32>) -> OfxResult<Frame> {
    let mut frame = Frame::new(w, h, PixelFormat::Rgba32F)?;
    let px: &mut [f32] = bytemuck::cast_slice_mut(frame.as_bytes_mut());
    let (wu, hu) = (w as usize, h as usize);
    for y in 0..hu {
        for x in 0..wu {
            let stripe = ((x + y) / 16) % 2 == 0;
            let v = if stripe { 0.18 } else { 0.12 };
            px[(y * wu + x) * 4..(y * wu + x) * 4 + 4].copy_from_slice(&[v, v, v, 1.0]);
        }
    }
    if let Some(p) = progress {
        let (y0, y1) = (hu / 2 - hu / 40, hu / 2 + hu / 40 + 1);
        let (x0, x1) = (wu / 8, wu - wu / 8);
        let filled = x0 + ((x1 - x0) as f32 * p.clamp(0.0, 1.0)) as usize;
        for y in y0..y1.min(hu) {
            for x in x0..x1 {
                let c = if x < filled { [0.2, 0.6, 0.9, 1.0] } else { [0.3, 0.3, 0.3, 1.0] };
                px[(y * wu + x) * 4..(y * wu + x) * 4 + 4].copy_from_slice(&c);
            }
        }
    }
    Ok(frame)
}

impl Plugin for Generate {
    type Instance = GenerateInstance;

    fn describe(effect: &Effect) -> OfxResult<()> {
        describe::effect(
            effect,
            c"Mattebox Generate",
            c"Takes of a shot from Mattebox's built-in generator (a camera move over a First frame, a morph to a \
              Last frame, or a procedural plate), made in the background when you press Generate and kept in \
              the take cache the command line shares.",
            &[kOfxImageEffectContextGenerator, kOfxImageEffectContextGeneral],
        )
    }

    fn describe_in_context(effect: &Effect, context: &str) -> OfxResult<()> {
        if context.as_bytes() == kOfxImageEffectContextGeneral.to_bytes() {
            describe::input(effect, SOURCE, true)?;
            describe::input(effect, FIRST_FRAME, true)?;
            describe::input(effect, LAST_FRAME, true)?;
        }
        describe::output(effect)?;
        describe::string(
            effect,
            (
                ADAPTER,
                c"Adapter",
                c"builtin (offline), or the id of an installed generator adapter (mattebox plugin install); \
                  adapters run in the Mattebox library, found through MATTEBOX_LIBRARY.",
            ),
        )?;
        describe::string(effect, (PROMPT, c"Prompt", c"What the shot shows."))?;
        describe::int(effect, (SEED, c"Seed", c"Seed of the first take; take k uses seed + k."), 0, 0, i32::MAX)?;
        describe::int(effect, (TAKES, c"Takes", c"How many takes Generate makes."), 1, 1, MAX_TAKES as i32)?;
        describe::int(effect, (TAKE, c"Take", c"Which take to show (1 is the first)."), 1, 1, MAX_TAKES as i32)?;
        describe::double(effect, (DURATION, c"Duration (s)", c"Length of the shot in seconds."), 2.0, 0.05, 60.0)?;
        for (name, label) in CAMERA {
            describe::double(effect, (name, label, c"Camera move, -1 to 1."), 0.0, -1.0, 1.0)?;
        }
        effect.define_param(
            kOfxParamTypePushButton,
            GENERATE,
            c"Generate",
            c"Makes the takes in the background; they appear as they finish.",
        )?;
        describe::string(
            effect,
            (
                EPISODE,
                c"Episode file",
                c"An episode file ranked by `mattebox episode run`: with Episode shot, shows the take that shot uses \
                  in the edit (the pick, else the best ranked) instead of the parameters above.",
            ),
        )?;
        describe::string(effect, (EPISODE_SHOT, c"Episode shot", c"The id of a shot of the Episode file."))?;
        describe::file_path(
            effect,
            (
                SOURCE_VIDEO,
                c"Source video",
                c"A clip or a take's folder the shot continues (Extend), re-mouths to the Sound (Lip-sync) or \
                  restyles, read by the Mattebox library (MATTEBOX_LIBRARY); without one, the Source input clip \
                  (general context) is written out when Generate is pressed.",
            ),
        )?;
        describe::choice(
            effect,
            (SOURCE_ROLE, c"Source role", c"What the Source video is for."),
            &[c"Extend", c"Lip-sync", c"Restyle"],
            0,
        )?;
        describe::file_path(
            effect,
            (
                SOUND,
                c"Sound",
                c"A sound file (wav, mp3, m4a, aac, ogg, flac, or a video's sound track): the dialogue line a \
                  lip-sync follows, or a sound the shot follows; read by the Mattebox library.",
            ),
        )?;
        describe::choice(effect, (SOUND_ROLE, c"Sound role", c"What the Sound is."), &[c"Dialogue", c"Reference"], 0)?;
        describe::kept_string(
            effect,
            (SOURCE_FOLDER, c"Source frames", c"Where Generate wrote the Source clip's frames (kept, not shown)."),
        )?;
        describe::kept_string(
            effect,
            (TAKE_KEYS, c"Take keys", c"The takes of the request at full size, for proxy renders (kept, not shown)."),
        )
    }

    fn create(_: &Effect) -> OfxResult<GenerateInstance> {
        let service = Generations::new(crate::host::runtime()?)?;
        Ok(GenerateInstance {
            service,
            job: Mutex::new(None),
            keys: Mutex::new(HashMap::new()),
            library_keys: Mutex::new(HashMap::new()),
        })
    }

    fn time_domain(instance: &GenerateInstance, effect: &Effect, out: &Props) -> OfxResult<bool> {
        if let Ok(Some(take)) = episode_take(instance, effect) {
            out.set_doubles(kOfxImageEffectPropFrameRange, &[0.0, take.frames.saturating_sub(1) as f64])?;
            return Ok(true);
        }
        let request = request_of(effect, false)?;
        let frames = request.duration.checked_mul(request.fps)?.floor().max(1);
        out.set_doubles(kOfxImageEffectPropFrameRange, &[0.0, (frames - 1) as f64])?;
        Ok(true)
    }

    fn frames_needed(_: &GenerateInstance, effect: &Effect, _args: &Props, out: &Props) -> OfxResult<bool> {
        for (clip, prop) in [
            (FIRST_FRAME, c"OfxImageClipPropFrameRange_FirstFrame"),
            (LAST_FRAME, c"OfxImageClipPropFrameRange_LastFrame"),
        ] {
            if effect.connected(clip) {
                let first = effect.clip(clip)?.frame_range()?.0;
                out.set_doubles(prop, &[first, first])?;
            }
        }
        Ok(true)
    }

    fn render(instance: &GenerateInstance, effect: &Effect, args: &Props) -> OfxResult<()> {
        let time = args.double(kOfxPropTime, 0)?;
        let window = args.rect_i(kOfxImageEffectPropRenderWindow)?;
        let mut out = effect
            .clip(OUTPUT)?
            .image(time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Output image at {time}")))?;
        if window.x2 <= window.x1 || window.y2 <= window.y1 {
            return Ok(());
        }
        let bounds = out.bounds;
        let (w, h) = ((bounds.x2 - bounds.x1).max(1) as u32, (bounds.y2 - bounds.y1).max(1) as u32);
        if let Some(take) = episode_take(instance, effect)? {
            return out.write(&take_frame(&take, time, w, h)?, bounds, window);
        }
        let index = (effect.int_at(TAKE, time)?.clamp(1, MAX_TAKES as i32) - 1) as u32;
        let generator = generator_of(effect)?;
        let key = match instance.key_for(effect, index, &generator, RenderScale::of(args))? {
            Ok(key) => key,
            Err(why) => {
                effect.message(kOfxMessageLog, &format!("Mattebox: {why}"));
                return out.write(&placeholder(w, h, None)?, bounds, window);
            }
        };
        if let Some(take) = instance.service.cache().lookup(&key)? {
            return out.write(&take_frame(&take, time, w, h)?, bounds, window);
        }
        // No take yet: say how far the job is, or why it failed.
        let mut progress = None;
        if let Some((_, job)) = instance.job.lock().as_ref().filter(|(keys, _)| keys.get(index as usize) == Some(&key))
        {
            progress = match job {
                Job::Builtin(job) => match job.status().into_iter().find(|s| s.index == index) {
                    Some(status) if matches!(status.stage, TakeStage::Failed | TakeStage::Cancelled) => {
                        let why = status.error.map(|(_, m)| m).unwrap_or_default();
                        return Err(OfxError::failed(format!("take {} did not finish: {why}", index + 1)));
                    }
                    Some(status) => Some(status.fraction),
                    None => None,
                },
                Job::Adapter(job) => Some(job.progress(index)?),
            };
        }
        if let Some(p) = progress {
            // Progress goes to the host's log as renders ask for the take.
            effect.message(
                kOfxMessageLog,
                &format!("Mattebox: take {} is being generated: {:.0}%", index + 1, p * 100.0),
            );
        }
        out.write(&placeholder(w, h, progress)?, bounds, window)
    }

    fn instance_changed(instance: &GenerateInstance, effect: &Effect, name: &str, args: &Props) -> OfxResult<bool> {
        if name.as_bytes() != GENERATE.to_bytes() {
            return Ok(false);
        }
        let scale = RenderScale::of(args);
        if uses_stills(effect) && !scale.is_full() {
            return Err(OfxError::failed(format!(
                "Generate reads the First and Last frame clips at full resolution, but the host shows a proxy \
                 (render scale {}); switch to full resolution and press Generate again",
                scale.x
            )));
        }
        if clip_source(effect)?.is_some() {
            write_clip_source(instance, effect)?;
        }
        let request = request_of(effect, true)?;
        let inputs = inputs_of(effect)?;
        let takes = effect.int_at(TAKES, 0.0)?.clamp(1, MAX_TAKES as i32) as u32;
        let generator = generator_of(effect)?;
        let keys = instance.keys_of(&request, &inputs, &generator)?;
        if uses_stills(effect) {
            let still_free = still_free_key(effect, &inputs, &generator)?;
            effect.set_string_param(TAKE_KEYS, &kept_value(&still_free, &keys))?;
            instance.keys.lock().insert(still_free, keys.clone());
        }
        let builtin = BuiltinGenerator::default();
        // The bundle's own generator takes what it can read; files only the
        // library decodes send even the built-in generator there.
        let job = if generator.0 == builtin.info().id && inputs.is_empty() {
            Job::Builtin(instance.service.submit(&generator.0, request, takes)?)
        } else {
            Job::Adapter(AdapterJob::submit(&generator.0, &request, &inputs, takes)?)
        };
        // A new job replaces the old one, which is cancelled as it drops.
        let old = instance.job.lock().replace((keys, job));
        drop(old);
        effect.message(
            kOfxMessageMessage,
            &format!("Mattebox: generating {takes} take(s) in the background; they appear as they finish"),
        );
        Ok(true)
    }
}
