//! The Kling adapter against a local server that follows Kling's documented
//! API: JWT bearer authentication (HS256, `iss` = access key, `exp`,
//! `nbf`), `POST /v1/videos/{text2video,image2video}` answering
//! `{code, message, request_id, data: {task_id, task_status}}`, and
//! `GET /v1/videos/{kind}/{task_id}` going from `submitted` through
//! `processing` to `succeed` with `task_result.videos[].url`, and
//! `POST /v1/videos/video-extend` taking the `video_id` of a video it made
//! (anything else is refused), whose result is the parent and its 4-5 s
//! more as one video, with `task_info.parent_video.duration`, and
//! `POST /v1/videos/lip-sync` taking `input.video_id` and a line as
//! `audio_file` (base64 of an mp3, wav, m4a or aac, at most 5 MB), whose
//! result is the video with the line as its sound track. Kling's
//! servers cannot be reached here; this one checks what a client must get
//! right, including refusing a bad token.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use mattebox_core::generate::Generations;
use mattebox_core::shot::{CameraMotion, DeviationKind, Field, ImageInput, ShotRequest, VideoInput, VideoRole};
use mattebox_core::{Frame, PixelFormat, Rational};
use serde_json::{Value, json};
use sha2::Sha256;

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const ACCESS: &str = "AK-test-access";
const SECRET: &str = "SK-test-secret";

/// Checks a bearer token as Kling does; `Err` is Kling's refusal.
fn authenticate(request: &Request) -> Result<(), Response> {
    let refuse = || reply(401, json!({ "code": 1000, "message": "Authentication failed", "request_id": "r" }));
    let token = request.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(refuse)?;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(refuse());
    }
    let header: Value =
        serde_json::from_slice(&vendor::base64_decode(parts[0]).ok_or_else(refuse)?).map_err(|_| refuse())?;
    let claims: Value =
        serde_json::from_slice(&vendor::base64_decode(parts[1]).ok_or_else(refuse)?).map_err(|_| refuse())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = vendor::base64_decode(parts[2]).ok_or_else(refuse)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let valid = header["alg"] == "HS256"
        && mac.verify_slice(&signature).is_ok()
        && claims["iss"] == ACCESS
        && claims["exp"].as_i64().is_some_and(|exp| exp > now)
        && claims["nbf"].as_i64().is_some_and(|nbf| nbf <= now);
    if valid { Ok(()) } else { Err(refuse()) }
}

#[derive(Default)]
struct KlingState {
    origin: String,
    /// Task id -> (kind, request body, polls so far).
    tasks: HashMap<String, (String, Value, u32)>,
    video: Vec<u8>,
    fail_with: Option<String>,
    /// Ids of the videos this server made (`task_result.videos[].id`).
    made: Vec<String>,
    /// The line each lip-sync task was sent, by task id.
    lines: HashMap<String, Vec<u8>>,
    /// Submissions still to be answered 429 code 1302 (too fast).
    too_fast: u32,
    /// Every submission is answered 429 code 1102 (the resource pack is spent).
    spent: bool,
    posts: u32,
}

/// What kind of sound file `bytes` is, as Kling accepts them.
fn sound_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        Some("wav")
    } else if bytes.starts_with(b"ID3")
        || bytes.first() == Some(&0xff) && bytes.get(1).is_some_and(|b| b & 0xe0 == 0xe0)
    {
        Some("mp3")
    } else if bytes.get(4..8) == Some(b"ftyp") {
        Some("m4a")
    } else {
        None
    }
}

/// `video` with `line` as its sound track, as Kling's lip-sync delivers it.
fn with_sound(video: &[u8], line: &[u8], task: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("kling-mock-{}-{task}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (v, a, out) = (dir.join("v.mp4"), dir.join(format!("a.{}", sound_type(line).unwrap())), dir.join("out.mp4"));
    std::fs::write(&v, video).unwrap();
    std::fs::write(&a, line).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&v)
        .arg("-i")
        .arg(&a)
        .args(["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn invalid(message: &str) -> Response {
    reply(400, json!({ "code": 1201, "message": message, "request_id": "r" }))
}

fn handle(state: &Mutex<KlingState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(file) = request.path().strip_prefix("/cdn/") {
        let task = file.trim_end_matches(".mp4");
        let body = match s.lines.get(task) {
            Some(line) => with_sound(&s.video, line, task),
            None => s.video.clone(),
        };
        return (200, vec![("content-type".into(), "video/mp4".into())], body);
    }
    if let Err(refusal) = authenticate(&request) {
        return refusal;
    }
    let parts: Vec<&str> = request.path().trim_start_matches('/').split('/').collect();
    if request.method == "POST" {
        s.posts += 1;
        if s.spent {
            return reply(
                429,
                json!({ "code": 1102, "message": "Account resource pack depleted or expired",
                                      "request_id": "r" }),
            );
        }
        if s.too_fast > 0 {
            s.too_fast -= 1;
            return reply(429, json!({ "code": 1302, "message": "API request too frequent", "request_id": "r" }));
        }
    }
    match (request.method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "videos", kind @ ("text2video" | "image2video")]) => {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid("the body is not JSON");
            };
            if !matches!(body["duration"].as_str(), Some("5" | "10")) {
                return invalid("duration must be \"5\" or \"10\"");
            }
            if *kind == "image2video" && body["image"].as_str().is_none_or(|i| i.is_empty()) {
                return invalid("image is required");
            }
            if *kind == "text2video" && !matches!(body["aspect_ratio"].as_str(), Some("16:9" | "9:16" | "1:1")) {
                return invalid("aspect_ratio must be 16:9, 9:16 or 1:1");
            }
            if let Some(config) = body["camera_control"]["config"].as_object() {
                let moving = config.values().filter(|v| v.as_f64() != Some(0.0)).count();
                let in_range = config.values().all(|v| v.as_f64().is_some_and(|a| (-10.0..=10.0).contains(&a)));
                if body["camera_control"]["type"] != "simple" || moving != 1 || !in_range {
                    return invalid("simple camera control takes exactly one axis in [-10, 10]");
                }
            }
            let id = format!("task-{}", s.tasks.len() + 1);
            s.tasks.insert(id.clone(), (kind.to_string(), body, 0));
            reply(
                200,
                json!({ "code": 0, "message": "SUCCEED", "request_id": "r",
                "data": { "task_id": id, "task_status": "submitted", "created_at": 0, "updated_at": 0 } }),
            )
        }
        ("POST", ["v1", "videos", "lip-sync"]) => {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid("the body is not JSON");
            };
            let input = &body["input"];
            if !s.made.iter().any(|m| Some(m.as_str()) == input["video_id"].as_str()) {
                return invalid("video_id is invalid or the video has expired");
            }
            let id = format!("task-{}", s.tasks.len() + 1);
            match (input["mode"].as_str(), input["audio_type"].as_str()) {
                (Some("audio2video"), Some("file")) => {
                    let line = input["audio_file"].as_str().and_then(vendor::base64_decode);
                    let Some(line) = line.filter(|l| l.len() <= 5_000_000 && sound_type(l).is_some()) else {
                        return invalid("audio_file must be an mp3, wav, m4a or aac file of at most 5 MB, in base64");
                    };
                    s.lines.insert(id.clone(), line);
                }
                (Some("text2video"), _) => {
                    let text_ok = input["text"].as_str().is_some_and(|t| !t.is_empty() && t.chars().count() <= 120);
                    let voice_ok = input["voice_id"].as_str().is_some_and(|v| !v.is_empty())
                        && matches!(input["voice_language"].as_str(), Some("zh" | "en"))
                        && input["voice_speed"].as_f64().is_some_and(|v| (0.8..=2.0).contains(&v));
                    if !text_ok || !voice_ok {
                        return invalid(
                            "text2video takes text (1-120 characters), voice_id, voice_language zh or en, voice_speed 0.8-2",
                        );
                    }
                }
                _ => return invalid("mode must be text2video, or audio2video with audio_type file or url"),
            }
            s.tasks.insert(id.clone(), ("lip-sync".to_string(), body, 0));
            reply(
                200,
                json!({ "code": 0, "message": "SUCCEED", "request_id": "r",
                "data": { "task_id": id, "task_status": "submitted", "created_at": 0, "updated_at": 0 } }),
            )
        }
        ("POST", ["v1", "videos", "video-extend"]) => {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid("the body is not JSON");
            };
            let video = body["video_id"].as_str().unwrap_or_default();
            if !s.made.iter().any(|m| m == video) {
                return invalid("video_id is invalid or the video has expired");
            }
            if body["prompt"].as_str().is_some_and(|p| p.chars().count() > 2500) {
                return invalid("prompt is longer than 2500 characters");
            }
            let id = format!("task-{}", s.tasks.len() + 1);
            s.tasks.insert(id.clone(), ("video-extend".to_string(), body, 0));
            reply(
                200,
                json!({ "code": 0, "message": "SUCCEED", "request_id": "r",
                "data": { "task_id": id, "task_status": "submitted", "created_at": 0, "updated_at": 0 } }),
            )
        }
        ("GET", ["v1", "videos", kind, id]) => {
            let origin = s.origin.clone();
            let fail = s.fail_with.clone();
            let Some((task_kind, body, polls)) = s.tasks.get_mut(*id) else {
                return reply(404, json!({ "code": 1203, "message": "task not found", "request_id": "r" }));
            };
            assert_eq!(task_kind, kind, "a task is queried under the kind it was made with");
            *polls += 1;
            let parent = body["video_id"].as_str().map(str::to_owned);
            let made = format!("v-{id}");
            let mut data = match (*polls, fail) {
                (1, _) => json!({ "task_id": id, "task_status": "processing" }),
                (_, Some(why)) => json!({ "task_id": id, "task_status": "failed", "task_status_msg": why }),
                _ => json!({ "task_id": id, "task_status": "succeed", "task_result": {
                    "videos": [{ "id": made, "url": format!("{origin}/cdn/{id}.mp4"), "duration": "5" }] } }),
            };
            // An extension is delivered whole: here, 2.5 s of parent and 2.5 s more.
            if let Some(parent) = parent.filter(|_| *kind == "video-extend") {
                data["task_info"] = json!({ "parent_video": {
                    "id": parent, "url": format!("{origin}/cdn/parent.mp4"), "duration": "2.5" } });
            }
            if data["task_status"] == "succeed" && !s.made.contains(&made) {
                s.made.push(made);
            }
            reply(200, json!({ "code": 0, "message": "SUCCEED", "request_id": "r", "data": data }))
        }
        _ => reply(404, json!({ "code": 1203, "message": "no such endpoint", "request_id": "r" })),
    }
}

fn setup(secret: &str, dir: &Path) -> (Arc<Mutex<KlingState>>, String, Generations) {
    // Five seconds of 30 fps, as Kling delivers (smaller).
    let video = vendor::counting_video(dir, 150, 30, 96, 54);
    let state = Arc::new(Mutex::new(KlingState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let lists = [
        "\"https://api.klingai.com\", \"https://api-singapore.klingai.com\", \"https://cdn.klingai.com\"",
        "\"https://api.klingai.com\", \"https://api-singapore.klingai.com\"",
    ];
    let secrets = [("KLING_ACCESS_KEY", ACCESS), ("KLING_SECRET_KEY", secret)];
    let generations = vendor::install_against(dir, "kling", &guests::guests().kling, &lists, &origin, &secrets);
    (state, origin, generations)
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a heroine walks through rain");
    (r.width, r.height, r.fps, r.duration) = (64, 36, Rational::integer(24), Rational::integer(5));
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

#[test]
fn text_to_video_with_a_camera_move_is_submitted_polled_and_resampled() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let mut r = request(&origin);
    r.camera = CameraMotion { pan: 0.5, zoom: 0.2, ..Default::default() };
    let take = generations.submit("kling", r, 1).unwrap().results().remove(0).unwrap();
    // 5 s of 30 fps video resampled to the requested 24 fps, fitted to 64x36.
    assert_eq!((take.frames, take.width, take.height), (120, 64, 36));
    let s = state.lock().unwrap();
    let (kind, body, polls) = s.tasks.values().next().unwrap();
    assert_eq!((kind.as_str(), *polls), ("text2video", 2));
    assert_eq!(body["prompt"], "a heroine walks through rain");
    assert_eq!(body["aspect_ratio"], "16:9");
    assert_eq!(body["camera_control"]["config"]["pan"], 5.0, "the strongest axis, scaled to Kling's range");
    assert_eq!(body["camera_control"]["config"]["zoom"], 0);
    let camera = take.deviations.iter().find(|d| d.field == Field::Camera).unwrap();
    assert_eq!(camera.kind, DeviationKind::Approximated);
    assert!(take.deviations.iter().any(|d| d.field == Field::Seed && d.kind == DeviationKind::Dropped));
}

/// Kling's 429 means "too fast" (1302) or "too many at once" (1303), which
/// waiting cures, or an account in arrears (1100-1102), which it does not.
#[test]
fn a_rate_limit_is_waited_out_and_a_spent_account_is_said_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    state.lock().unwrap().too_fast = 2;
    let take = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap();
    assert_eq!(take.frames, 120);
    assert_eq!(state.lock().unwrap().posts, 3, "asked again after each 1302");
    {
        let mut s = state.lock().unwrap();
        (s.spent, s.posts) = (true, 0);
    }
    let mut again = request(&origin);
    again.prompt = "the heroine turns back".into();
    let err = generations.submit("kling", again, 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("1102") && err.to_string().contains("resource pack"), "{err}");
    assert_eq!(state.lock().unwrap().posts, 1, "an empty account is not asked again");
}

#[test]
fn image_to_video_sends_the_first_and_last_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let mut r = request(&origin);
    r.duration = Rational::integer(3);
    let mut first = Frame::new(40, 30, PixelFormat::Rgba8).unwrap();
    first.view_mut().fill([1.0, 0.0, 0.0, 1.0]);
    r.first_frame = Some(ImageInput::new("first.png", first));
    r.last_frame = Some(ImageInput::new("last.png", Frame::new(40, 30, PixelFormat::Rgba8).unwrap()));
    let take = generations.submit("kling", r, 1).unwrap().results().remove(0).unwrap();
    assert!(take.deviations.iter().any(|d| d.field == Field::Duration), "3 s became 5 s: {:?}", take.deviations);
    let s = state.lock().unwrap();
    let (kind, body, _) = s.tasks.values().next().unwrap();
    assert_eq!(kind, "image2video");
    assert_eq!(body["duration"], "5");
    // The images arrive as base64 PNGs of their own size.
    let png = vendor::base64_decode(body["image"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let path = dir.path().join("first.png");
    std::fs::write(&path, &png).unwrap();
    let decoded = mattebox_core::media::read_image(&path).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (40, 30));
    assert_eq!(decoded.pixel_f32(3, 3), [1.0, 0.0, 0.0, 1.0]);
    assert!(body["image_tail"].as_str().is_some_and(|t| !t.is_empty()));
}

fn flat(value: f32) -> Frame {
    let mut f = Frame::new(40, 30, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([value, 0.0, 1.0, 1.0]);
    f
}

/// A clip Kling did not make starts the shot on its last frame (Kling
/// extends only its own videos), and the take says so.
#[test]
fn a_continuation_of_a_clip_kling_did_not_make_starts_on_its_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let mut r = request(&origin);
    let source =
        VideoInput::new("take-1.mp4", VideoRole::Extend, Rational::integer(24), 48, vec![flat(0.0), flat(1.0)], None)
            .unwrap();
    r.source_video = Some(source);
    let take = generations.submit("kling", r.clone(), 1).unwrap().results().remove(0).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).expect("the approximation is said");
    assert_eq!(note.kind, DeviationKind::Approximated);
    assert!(note.note.contains("only videos it made") && note.note.contains("last frame"), "{}", note.note);
    assert_eq!(take.request.source_video.as_ref().unwrap().frames, 48, "the take records its source");
    assert_eq!(take.vendor_generation.as_deref(), Some("v-task-1"), "Kling's video id is kept with the take");
    {
        let s = state.lock().unwrap();
        let (kind, body, _) = s.tasks.values().next().unwrap();
        assert_eq!(kind, "image2video", "the last frame went as the first");
        let path = dir.path().join("sent.png");
        std::fs::write(&path, vendor::base64_decode(body["image"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(mattebox_core::media::read_image(&path).unwrap().pixel_f32(3, 3), [1.0, 0.0, 1.0, 1.0]);
    }
    // Restyling is not sent yet: dropped, and said so.
    let mut restyle = r;
    restyle.source_video = Some(
        VideoInput::new("look.mp4", VideoRole::Restyle, Rational::integer(24), 48, vec![flat(0.5)], None).unwrap(),
    );
    let take = generations.submit("kling", restyle, 1).unwrap().results().remove(0).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).unwrap();
    assert_eq!(note.kind, DeviationKind::Dropped, "{}", note.note);
}

/// A take Kling made is continued by Kling's own extend: its video id goes
/// back (no upload), and of the whole extended video the take keeps the
/// new part only, from the parent's end on.
#[test]
fn a_kling_take_is_continued_by_its_video_id_and_only_the_new_part_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let first = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap();
    let vendor = first.vendor_source().expect("the first take has Kling's id");
    assert_eq!((vendor.generator.as_str(), vendor.id.as_str()), ("kling", "v-task-1"));

    let source = VideoInput::new("take-1", VideoRole::Extend, first.fps, first.frames, vec![flat(0.3)], None)
        .unwrap()
        .with_vendor(vendor);
    let mut next = request(&origin);
    next.prompt = "she turns to the camera".into();
    next.camera = CameraMotion { pan: 0.5, ..Default::default() };
    next.source_video = Some(source.clone());
    let take = generations.submit("kling", next.clone(), 1).unwrap().results().remove(0).unwrap();
    {
        let s = state.lock().unwrap();
        let (kind, body, _) = &s.tasks["task-2"];
        assert_eq!(kind, "video-extend");
        assert_eq!(body["video_id"], "v-task-1");
        assert_eq!(body["prompt"], "she turns to the camera");
        assert!(body.get("image").is_none() && body.get("camera_control").is_none(), "{body}");
    }
    // The server's video is 5 s (red = frame / 150); the parent was 2.5 s of it.
    assert_eq!(take.frames, 60, "2.5 s at 24 fps: {:?}", take.deviations);
    let options = mattebox_core::media::OpenOptions::default();
    let frames = mattebox_core::media::MediaReader::open(&take.media, &options).unwrap().read_frame(0).unwrap();
    let red = frames.pixel_f32(10, 10)[0];
    assert!((red - 0.5).abs() < 0.03, "the first kept frame is the parent's end, not its start: red {red}");
    assert_eq!(take.vendor_generation.as_deref(), Some("v-task-2"), "the extension's own id, for the next");
    let fields: Vec<Field> = take.deviations.iter().map(|d| d.field).collect();
    assert!(fields.contains(&Field::Camera) && fields.contains(&Field::Duration), "{:?}", take.deviations);
    assert!(!fields.contains(&Field::SourceVideo), "the source was honoured: {:?}", take.deviations);

    // Another generator's id means nothing to Kling: it is not sent.
    let foreign =
        source.with_vendor(mattebox_core::shot::VendorGeneration { generator: "luma".into(), id: "v-task-1".into() });
    next.source_video = Some(foreign);
    let take = generations.submit("kling", next, 1).unwrap().results().remove(0).unwrap();
    assert!(take.deviations.iter().any(|d| d.field == Field::SourceVideo), "{:?}", take.deviations);
    let s = state.lock().unwrap();
    assert_eq!(s.tasks["task-3"].0, "image2video");
}

/// A Kling take lip-synced to a dialogue line: Kling's own video id and the
/// line as the user gave it go out; the take is the video again, with the
/// line as its sound. A clip Kling did not make, or a line Kling refuses,
/// is a clear error before anything is sent.
#[test]
fn a_kling_take_is_lip_synced_to_a_dialogue_line_by_its_video_id() {
    use mattebox_core::shot::SoundRole;
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let first = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap();
    let line_path = dir.path().join("line.mp3");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=3"])
        .args(["-c:a", "libmp3lame", "-b:a", "96k"])
        .arg(&line_path)
        .status()
        .unwrap();
    assert!(made.success());
    let line = mattebox_core::generate::read_sound(&line_path, SoundRole::Dialogue).unwrap();
    let source = VideoInput::new("take-1", VideoRole::Lipsync, first.fps, first.frames, vec![flat(0.3)], None).unwrap();
    let mut talk = request(&origin);
    talk.source_video = Some(source.clone().with_vendor(first.vendor_source().unwrap()));
    talk.audio = vec![line.clone()];
    let take = generations.submit("kling", talk.clone(), 1).unwrap().results().remove(0).unwrap();
    {
        let s = state.lock().unwrap();
        let (kind, body, _) = &s.tasks["task-2"];
        assert_eq!(kind, "lip-sync");
        assert_eq!(body["input"]["video_id"], "v-task-1");
        assert_eq!(body["input"]["mode"], "audio2video");
        assert_eq!(s.lines["task-2"], std::fs::read(&line_path).unwrap(), "the line as the user gave it");
    }
    assert_eq!(take.frames, 120, "the video again: 5 s at 24 fps");
    assert_eq!(take.vendor_generation.as_deref(), Some("v-task-2"));
    let sound = mattebox_core::wav::wav_info(&std::fs::read(take.audio_file().expect("sound")).unwrap()).unwrap();
    assert!((sound.seconds() - 3.0).abs() < 0.1, "the line is the take's sound: {} s", sound.seconds());

    // Not a Kling take: refused before anything is sent.
    talk.source_video = Some(source);
    let err = generations.submit("kling", talk.clone(), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("only videos it made"), "{err}");
    // A line Kling refuses (under 2 s).
    let short = dir.path().join("short.wav");
    vendor::tone_file(&short, 220, 16000, 1);
    talk.source_video = Some(
        VideoInput::new("take-1", VideoRole::Lipsync, first.fps, first.frames, vec![flat(0.3)], None)
            .unwrap()
            .with_vendor(first.vendor_source().unwrap()),
    );
    talk.audio = vec![mattebox_core::generate::read_sound(&short, SoundRole::Dialogue).unwrap()];
    let err = generations.submit("kling", talk, 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("2 to 60 s"), "{err}");
    assert_eq!(state.lock().unwrap().tasks.len(), 2, "nothing more was sent");
}

/// Standard base64 in the URL-safe alphabet, unpadded.
#[test]
fn a_bad_token_and_a_failed_task_are_reported_in_klings_words() {
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup("the-wrong-secret", dir.path());
    let err = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("HTTP 401, code 1000: Authentication failed"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    state.lock().unwrap().fail_with = Some("content moderation".into());
    let err = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("Kling could not make the video: content moderation"), "{err}");
}

/// A Kling take lip-synced to words Kling voices itself: the words and the
/// voice go as `text2video`; without a voice, the take says how to name one.
#[test]
fn a_kling_take_is_lip_synced_to_words_in_a_kling_voice() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(SECRET, dir.path());
    let first = generations.submit("kling", request(&origin), 1).unwrap().results().remove(0).unwrap();
    let source = VideoInput::new("take-1", VideoRole::Lipsync, first.fps, first.frames, vec![flat(0.3)], None)
        .unwrap()
        .with_vendor(first.vendor_source().unwrap());
    let mut talk = request(&origin);
    talk.prompt = String::new();
    talk.source_video = Some(source);
    talk.extras.insert("text".into(), "Meet me at the pier at midnight.".into());
    let err = generations.submit("kling", talk.clone(), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("--extra voice_id="), "{err}");
    talk.extras.insert("voice_id".into(), "genshin_vindi2".into());
    talk.extras.insert("voice_speed".into(), "3".into());
    let take = generations.submit("kling", talk, 1).unwrap().results().remove(0).unwrap();
    let s = state.lock().unwrap();
    let (kind, body, _) = &s.tasks["task-2"];
    assert_eq!(kind, "lip-sync");
    let input = &body["input"];
    assert_eq!(
        (input["mode"].as_str(), input["text"].as_str()),
        (Some("text2video"), Some("Meet me at the pier at midnight."))
    );
    assert_eq!((input["voice_id"].as_str(), input["voice_language"].as_str()), (Some("genshin_vindi2"), Some("en")));
    assert_eq!(input["voice_speed"], 2.0, "held to Kling's range");
    assert!(take.deviations.iter().any(|d| d.field == Field::Extras && d.note.contains("voice_speed 3")));
}
