//! The ComfyUI adapter against a local server that behaves as a real
//! ComfyUI (0.3.x) does, as its `server.py` and `execution.py` define and
//! as a real one was recorded doing (`../shared/fixtures/comfyui/`: the
//! WebSocket messages of three runs, replayed here with the prompt's id):
//!
//! - `POST /upload/image` (multipart), `GET /view` (outputs, and inputs
//!   with `type=input`), `POST /prompt` (400 with `error` and per-node
//!   `node_errors` carrying `details` and `extra_info.input_name`; 200 with
//!   non-empty `node_errors` when some outputs are valid, running those),
//!   `GET /history/{id}` (`{}` until finished; `status.messages` with
//!   `execution_error` or `execution_interrupted`), `GET /queue`
//!   (`queue_running`, `queue_pending` as `[number, id, ...]` lists),
//!   `POST /interrupt` (`{"prompt_id"}`: only that prompt), `POST /queue`
//!   (`{"delete": [ids]}`), and `/ws?clientId=` (status first, then the
//!   run's messages for the client's prompt).
//! - Outputs under `images` (with `animated: [true]` for video and
//!   animation nodes), `gifs` (VideoHelperSuite) and `audio`.
//! - A prompt deleted from the queue, a cleared history or a restarted
//!   server: `/history/{id}` answers `{}` forever and `/queue` lacks it.
//! - Connections reset while the adapter polls.
//!
//! A real ComfyUI cannot be installed here (it needs PyTorch); each test
//! names the behaviour it checks, and each failed with the adapter before
//! issue 14 (`MATTEBOX_TEST_COMFYUI_WASM=path/comfyui.wasm` and
//! `MATTEBOX_TEST_COMFYUI_VERSION=0.1.0` run them with another build).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generations, TakeCache, TakeStage};
use mattebox_core::media::{MediaWriter, WriteOptions};
use mattebox_core::shot::{Field, ImageInput, Reference, ReferenceKind, ShotRequest};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};
use serde_json::json;

#[path = "common/comfy.rs"]
mod comfy;
#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
use comfy::{Comfy, Run, recorded_outputs};

/// Encodes `frames` solid frames into a file of type `ext`, returns its bytes.
fn media_bytes(dir: &Path, ext: &str, frames: u32, w: u32, h: u32) -> Vec<u8> {
    let path = dir.join(format!("out.{ext}"));
    let options = WriteOptions { overwrite: true, ..WriteOptions::new(Rational::integer(12)) };
    let mut writer = MediaWriter::create(&path, w, h, PixelFormat::Rgba8, &options).unwrap();
    for n in 0..frames {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill([n as f32 / frames as f32, 0.5, 0.2, 1.0]);
        writer.write_frame(&f.view()).unwrap();
    }
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// The same by the `ffmpeg` program (animations it writes: webp, gif, apng).
fn ffmpeg_bytes(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=8", "-frames:v", "8"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

/// The component under test: the shipped adapter, or another build.
fn component() -> PathBuf {
    std::env::var_os("MATTEBOX_TEST_COMFYUI_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| guests::guests().comfyui.clone())
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
    state: Arc<Mutex<Comfy>>,
    origin: String,
    generations: Generations,
}

/// A server in `state`, and the shipped adapter (its manifest as shipped)
/// with the server named in the user's settings, as
/// `mattebox plugin config comfyui server=URL` does.
fn setup(state: Comfy, auth: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let (origin, state) = comfy::start(Comfy { auth: auth.map(str::to_owned), ..state });
    let install = path.join("adapter");
    std::fs::create_dir_all(&install).unwrap();
    std::fs::copy(component(), install.join("comfyui.wasm")).unwrap();
    let mut manifest = std::fs::read_to_string(guests::repo().join("plugins/comfyui/adapter.toml")).unwrap();
    if let Ok(version) = std::env::var("MATTEBOX_TEST_COMFYUI_VERSION") {
        // Another build of the adapter (see `component`) says its own version.
        let line = manifest.lines().find(|l| l.starts_with("version = ")).unwrap().to_owned();
        manifest = manifest.replace(&line, &format!("version = {version:?}"));
    }
    std::fs::write(install.join("adapter.toml"), manifest).unwrap();
    let settings = path.join("settings");
    let mut user = mattebox_core::generate::AdapterSettings::default();
    user.extras.insert("server".into(), mattebox_core::generate::Setting::Text(origin.clone()));
    user.save(&settings, "comfyui").unwrap();
    let mut policy = SandboxPolicy::new(path.join("cache"));
    policy.state_dir = Some(path.join("state"));
    policy.settings_dir = Some(settings.clone());
    if let Some(auth) = auth {
        policy.network.secrets.insert("COMFYUI_AUTH".into(), auth.into());
    }
    let adapter = WasmAdapter::load(&install, &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(path.join("takes")));
    generations.set_settings_dir(Some(settings));
    generations.register(Arc::new(adapter));
    Setup { _dir: dir, path, state, origin, generations }
}

/// A server that answers as the recorded image run did.
fn image_server(setup_dir: &Path) -> Comfy {
    let outputs = recorded_outputs("image_wf_run1");
    let mut files = HashMap::new();
    let output = &outputs["3"]["images"][0];
    let key = format!("{}/{}", output["subfolder"].as_str().unwrap(), output["filename"].as_str().unwrap());
    files.insert(key, media_bytes(setup_dir, "png", 1, 64, 36));
    Comfy { outputs, files, websocket: true, replay: "image_wf_run1", pace_ms: 5, ..Default::default() }
}

fn request() -> ShotRequest {
    let mut r = ShotRequest::new("a lighthouse at dusk");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(12), Rational::integer(1), 41);
    r.extras.insert("poll_ms".into(), "20".into());
    let mut still = Frame::new(80, 40, PixelFormat::Rgba8).unwrap();
    still.view_mut().fill([0.9, 0.3, 0.1, 1.0]);
    r.first_frame = Some(ImageInput::new("still.png", still));
    r
}

fn take(s: &Setup, r: ShotRequest) -> Result<mattebox_core::shot::Take, mattebox_core::Error> {
    s.generations.submit("comfyui", r, 1).unwrap().results().remove(0)
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_video_workflow_runs_with_the_request_filled_in() {
    let tmp = scratch();
    let outputs = recorded_outputs("video_wf");
    let output = outputs["5"]["images"][0].clone();
    let key = format!("{}/{}", output["subfolder"].as_str().unwrap(), output["filename"].as_str().unwrap());
    let files = HashMap::from([(key, media_bytes(tmp.path(), "mp4", 12, 64, 36))]);
    let s =
        setup(Comfy { outputs, files, websocket: true, replay: "video_wf", pace_ms: 5, ..Default::default() }, None);
    let mut r = request();
    let mut face = Frame::new(20, 20, PixelFormat::Rgba8).unwrap();
    face.view_mut().fill([0.8, 0.6, 0.5, 1.0]);
    r.references.push(Reference {
        kind: ReferenceKind::Character,
        name: "Mei".into(),
        image: ImageInput::new("mei.png", face.clone()),
    });
    r.references.push(Reference {
        kind: ReferenceKind::Style,
        name: "noir".into(),
        image: ImageInput::new("noir.png", face),
    });
    let workflow = json!({
        "1": { "class_type": "LoadImage", "inputs": { "image": "{{first_frame}}" } },
        "4": { "class_type": "LoadImage", "inputs": { "image": "{{reference_1}}" } },
        "2": { "class_type": "AnimateThing", "inputs": { "image": ["1", 0], "text": "{{prompt}}, cinematic",
               "seed": "{{seed}}", "length": "{{frames}}", "fps": "{{fps}}", "width": "{{width}}", "height": "{{height}}" } },
        "5": { "class_type": "SaveVideo", "inputs": { "video": ["2", 0] } }
    });
    r.extras.insert("workflow".into(), workflow.to_string());
    let t = take(&s, r).unwrap();
    assert_eq!((t.frames, t.width, t.height), (12, 64, 36));
    let state = s.state.lock().unwrap();
    let (_, _, sent) = &state.prompts[0];
    let inputs = &sent["2"]["inputs"];
    assert_eq!(inputs["text"], "a lighthouse at dusk, cinematic");
    assert_eq!(
        (inputs["seed"].as_u64(), inputs["length"].as_u64(), inputs["width"].as_u64()),
        (Some(41), Some(12), Some(64))
    );
    assert_eq!(inputs["fps"].as_f64(), Some(12.0));
    // The first frame went up as a PNG of its own size, named by its content.
    let name = sent["1"]["inputs"]["image"].as_str().unwrap();
    assert!(name.starts_with("mattebox-") && name.ends_with(".png"), "{name}");
    let png = s.path.join("upload.png");
    std::fs::write(&png, &state.inputs[name]).unwrap();
    assert_eq!(mattebox_core::media::read_image(&png).unwrap().width(), 80);
    let reference = sent["4"]["inputs"]["image"].as_str().unwrap();
    std::fs::write(&png, &state.inputs[reference]).unwrap();
    assert_eq!(mattebox_core::media::read_image(&png).unwrap().width(), 20);
    assert_eq!(state.inputs.len(), 2);
    let fields: Vec<Field> = t.deviations.iter().map(|d| d.field).collect();
    assert_eq!(fields, [Field::References], "{:?}", t.deviations);
}

#[test]
fn the_default_workflow_scales_the_first_frame_and_says_what_it_ignored() {
    let tmp = scratch();
    let s = setup(image_server(tmp.path()), None);
    let t = take(&s, request()).unwrap();
    assert_eq!(t.frames, 1);
    let dropped: Vec<Field> = t.deviations.iter().map(|d| d.field).collect();
    assert_eq!(dropped, [Field::Prompt, Field::Seed, Field::Duration, Field::Fps], "{:?}", t.deviations);
    let mut bare = request();
    bare.first_frame = None;
    let err = take(&s, bare).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("first frame"), "{err}");
}

/// `POST /prompt` 400: each node's error with its details and the input.
#[test]
fn a_refused_workflow_says_which_node_which_input_and_why() {
    let tmp = scratch();
    let refusal = json!({
        "error": { "type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {} },
        "node_errors": { "2": { "class_type": "ImageScale", "dependent_outputs": ["3"], "errors": [
            { "type": "value_not_in_list", "message": "Value not in list",
              "details": "upscale_method: 'sideways' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']",
              "extra_info": { "input_name": "upscale_method", "received_value": "sideways" } },
            { "type": "value_smaller_than_min", "message": "Value smaller than min",
              "details": "width: -5 smaller than min of 0", "extra_info": { "input_name": "width" } } ] } }
    });
    let s = setup(Comfy { run: Run::Refuse(refusal), ..image_server(tmp.path()) }, None);
    let text = take(&s, request()).unwrap_err().to_string();
    for says in ["HTTP 400", "node 2 (ImageScale)", "'sideways' not in", "width: -5 smaller than min of 0"] {
        assert!(text.contains(says), "{says}: {text}");
    }
}

/// 200 with `node_errors`: ComfyUI runs the valid outputs; so does the take.
#[test]
fn a_partly_valid_workflow_runs_what_comfyui_accepted_and_says_what_it_refused() {
    let tmp = scratch();
    let errors = json!({ "7": { "class_type": "SaveImage", "dependent_outputs": ["7"], "errors": [
        { "type": "required_input_missing", "message": "Required input is missing", "details": "images", "extra_info": { "input_name": "images" } } ] } });
    let s = setup(Comfy { run: Run::Partial(errors), ..image_server(tmp.path()) }, None);
    let t = take(&s, request()).unwrap();
    assert_eq!(t.frames, 1);
    let note = t.deviations.iter().find(|d| d.note.contains("refused part of the workflow")).unwrap();
    assert!(
        note.note.contains("node 7 (SaveImage)") && note.note.contains("Required input is missing"),
        "{}",
        note.note
    );
}

/// `execution_error` and `execution_interrupted` give their reasons.
#[test]
fn failures_and_interrupts_on_the_server_give_their_reasons() {
    for websocket in [true, false] {
        let tmp = scratch();
        let base = Comfy { websocket, ..image_server(tmp.path()) };
        let s =
            setup(Comfy { run: Run::Fail("Allocation on device 0 would exceed allowed memory".into()), ..base }, None);
        let text = take(&s, request()).unwrap_err().to_string();
        assert!(text.contains("node 2 (KSampler)") && text.contains("would exceed allowed memory"), "{text}");
        assert!(text.contains("torch.OutOfMemoryError"), "{text}");
        s.state.lock().unwrap().run = Run::InterruptedOnServer;
        let text = take(&s, request()).unwrap_err().to_string();
        assert!(text.contains("interrupted on the server at node 2 (KSampler)"), "websocket {websocket}: {text}");
    }
}

/// A prompt deleted from the queue (or a cleared history, a restarted
/// server) is seen as lost within seconds, not polled for an hour.
#[test]
fn a_lost_prompt_is_reported_at_once() {
    for websocket in [true, false] {
        let tmp = scratch();
        let s = setup(Comfy { run: Run::Forgotten, websocket, ..image_server(tmp.path()) }, None);
        let job = s.generations.submit("comfyui", request(), 1).unwrap();
        let started = Instant::now();
        let text = loop {
            if job.is_finished() {
                break job.results().remove(0).unwrap_err().to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the lost prompt was polled on and on");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(text.contains("no longer knows prompt") && text.contains("restarted"), "{text}");
    }
}

/// Connections reset while the take follows the prompt are retried.
#[test]
fn resets_while_polling_are_retried() {
    let tmp = scratch();
    let s = setup(Comfy { resets: 3, websocket: false, ..image_server(tmp.path()) }, None);
    let t = take(&s, request()).unwrap();
    assert_eq!(t.frames, 1);
    assert_eq!(s.state.lock().unwrap().resets, 0, "every reset was met");
}

/// Cancelling interrupts this prompt only, and takes it off the queue.
#[test]
fn cancelling_interrupts_the_prompt_and_removes_it() {
    let tmp = scratch();
    let s = setup(Comfy { run: Run::Hang, ..image_server(tmp.path()) }, None);
    let job = s.generations.submit("comfyui", request(), 1).unwrap();
    let started = Instant::now();
    while s.state.lock().unwrap().prompts.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(10));
    }
    job.cancel();
    job.wait();
    assert_eq!(job.status()[0].stage, TakeStage::Cancelled);
    let state = s.state.lock().unwrap();
    let id = &state.prompts[0].0;
    assert_eq!(state.interrupts, [json!({ "prompt_id": id })]);
    assert_eq!(state.deletes, [json!({ "delete": [id] })]);
    assert!(state.queue.is_empty(), "nothing left running for us");
}

/// A first frame already on the server is not uploaded again.
#[test]
fn uploads_are_named_by_content_and_reused() {
    let tmp = scratch();
    let s = setup(image_server(tmp.path()), None);
    take(&s, request()).unwrap();
    let mut again = request();
    again.seed = 7; // another take, the same still
    take(&s, again).unwrap();
    let state = s.state.lock().unwrap();
    assert_eq!(state.prompts.len(), 2);
    assert_eq!(state.uploads, 1, "one upload for two takes of one still");
    assert_eq!(state.inputs.len(), 1);
}

/// Animated WebP, GIF and PNG outputs become all their frames; VHS `gifs`
/// are read; the first audio output (`SaveAudio`'s FLAC) is the take's
/// sound, and a second one is reported left on the server.
#[test]
fn animations_videos_and_audio_outputs_are_all_accounted_for() {
    let tmp = scratch();
    let webp = ffmpeg_bytes(tmp.path(), "a.webp", &["-c:v", "libwebp_anim", "-loop", "0"]);
    let apng = ffmpeg_bytes(tmp.path(), "a.apng", &["-f", "apng"]);
    let gif = ffmpeg_bytes(tmp.path(), "a.gif", &[]);
    let mp4 = media_bytes(tmp.path(), "mp4", 12, 64, 36);
    let flac_path = tmp.path().join("a.flac");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=2"])
        .arg(&flac_path)
        .status()
        .unwrap();
    assert!(made.success());
    let flac = std::fs::read(&flac_path).unwrap();
    let outputs = json!({
        "3": { "images": [{ "filename": "ComfyUI_00001_.webp", "subfolder": "", "type": "output" }], "animated": [true] },
        "4": { "images": [{ "filename": "ComfyUI_00001_.png", "subfolder": "anim", "type": "output" }], "animated": [true] },
        "5": { "gifs": [{ "filename": "AnimateDiff_00001.mp4", "subfolder": "", "type": "output", "format": "video/h264-mp4", "frame_rate": 12 }] },
        "6": { "gifs": [{ "filename": "AnimateDiff_00002.gif", "subfolder": "", "type": "output", "format": "image/gif", "frame_rate": 8 }] },
        "7": { "audio": [{ "filename": "ComfyUI_00001_.flac", "subfolder": "audio", "type": "output" },
                         { "filename": "ComfyUI_00002_.flac", "subfolder": "audio", "type": "output" }] },
        "8": { "images": [{ "filename": "ComfyUI_temp_00001_.png", "subfolder": "", "type": "temp" }] }
    });
    let files = HashMap::from([
        ("/ComfyUI_00001_.webp".to_owned(), webp),
        ("anim/ComfyUI_00001_.png".to_owned(), apng),
        ("/AnimateDiff_00001.mp4".to_owned(), mp4),
        ("/AnimateDiff_00002.gif".to_owned(), gif),
        ("audio/ComfyUI_00001_.flac".to_owned(), flac),
    ]);
    let base = image_server(tmp.path());
    let s = setup(Comfy { outputs, files, ..base }, None);
    let mut r = request();
    r.duration = Rational::integer(4); // room for every frame
    let t = take(&s, r).unwrap();
    // 8 frames of 8 fps animation are 12 frames at the take's 12 fps, each;
    // the mp4's 12 frames at 12 fps are 12. A GIF stores delays in
    // hundredths (12.5 becomes 12s and 13s), so it may last 1.01 s: 13.
    assert!((48..=49).contains(&t.frames), "{} frames: {:?}", t.frames, t.deviations);
    let sound = mattebox_core::wav::wav_info(&std::fs::read(t.audio_file().expect("sound")).unwrap()).unwrap();
    assert_eq!((sound.sample_rate, sound.channels), (44_100, 1));
    assert!((sound.seconds() - 2.0).abs() < 0.01, "{} s", sound.seconds());
    let audio = t.deviations.iter().find(|d| d.note.contains("audio")).unwrap();
    assert!(
        audio.note.contains("ComfyUI_00002_.flac") && audio.note.contains("stayed on the server"),
        "{}",
        audio.note
    );
}

/// Progress follows the server's WebSocket (which node runs), not the clock.
#[test]
fn progress_follows_the_websocket() {
    let tmp = scratch();
    let s = setup(Comfy { pace_ms: 120, ..image_server(tmp.path()) }, None);
    let job = s.generations.submit("comfyui", request(), 1).unwrap();
    let mut seen: f32 = 0.0;
    let started = Instant::now();
    while !job.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(30));
        if s.state.lock().unwrap().replaying {
            seen = seen.max(job.status()[0].fraction);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(job.results().remove(0).is_ok());
    assert!(seen >= 0.4, "the take showed {seen} while ComfyUI reported its nodes running and done");
}

/// Behind an authenticating proxy: the header goes with every request and
/// the WebSocket, to the user's server only.
#[test]
fn an_auth_header_reaches_a_server_behind_a_proxy() {
    let tmp = scratch();
    let s = setup(image_server(tmp.path()), Some("Bearer proxy-token-1234"));
    let t = take(&s, request()).unwrap();
    assert_eq!(t.frames, 1);
    let state = s.state.lock().unwrap();
    assert_eq!(state.unauthorized, 0, "every request carried the header");
    assert!(!state.prompts.is_empty());
    drop(state);
    let _ = &s.origin;
}
