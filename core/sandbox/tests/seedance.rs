//! The Seedance adapter against a local server that follows ModelArk's
//! published content generation API: a bearer key (401
//! AuthenticationError), `POST /api/v3/contents/generations/tasks` with a
//! `content` list checked as ModelArk documents it (the prompt's text
//! commands: `--resolution` 480p/720p/1080p, `--ratio` from its list,
//! `--duration` 3-12 s or 4-15 s on Seedance 2, `--seed` below 2^32,
//! `--watermark`, `--camerafixed`; images by role as data URIs, a last
//! frame only with a first, at most 4 references and not beside frames on
//! Seedance 1, 9 on Seedance 2; `reference_video` and `reference_audio`
//! and `generate_audio` only where the model has them) refused with
//! `{"error": {code, message, param}}`, 429 for the request rate and for a
//! spent quota, `GET .../tasks/{id}` going through `queued` and `running` to
//! `succeeded` with `content.video_url` or `failed` with its error, and
//! `DELETE` for a queued task. Videos are served with sound, and an
//! extension as one video, the source first. ModelArk cannot be reached
//! here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{
    CameraMotion, DeviationKind, Field, Reference, ReferenceKind, ShotRequest, SoundRole, VideoInput, VideoRole,
};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const KEY: &str = "ark-7f3c1e2d-0000-4000-8000-000000000000";

#[derive(Default)]
struct ArkState {
    origin: String,
    /// Task id -> (request body, polls).
    tasks: HashMap<String, (Value, u32)>,
    posts: u32,
    rate_limited: u32,
    quota_spent: bool,
    fail: bool,
    hold: bool,
    deleted: Vec<String>,
    video: Vec<u8>,
    extended: Vec<u8>,
    cdn_auth: Vec<Option<String>>,
}

fn ark_error(status: u16, code: &str, message: &str, param: &str) -> Response {
    reply(status, json!({ "error": { "code": code, "message": message, "param": param, "type": "BadRequest" } }))
}

fn invalid(param: &str) -> Response {
    let message = format!("The parameter `{param}` specified in the request is not valid. Request id: 0217");
    ark_error(400, "InvalidParameter", &message, param)
}

/// The value of text command `--name` in `text`.
fn command<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut words = text.split_whitespace();
    while let Some(word) = words.next() {
        if word == format!("--{name}") {
            return words.next();
        }
    }
    None
}

/// Checks a body as ModelArk documents it; `Err` is its refusal.
fn check_body(s: &ArkState, body: &Value) -> Result<(), Response> {
    let model = body["model"].as_str().unwrap_or_default();
    let second = model.contains("seedance-2");
    let known = ["seedance-1-0-pro-250528", "seedance-1-5-pro-251215", "dreamina-seedance-2-0-260128"];
    if !known.contains(&model) {
        return Err(ark_error(404, "InvalidEndpointOrModel.NotFound", "The model or endpoint does not exist", "model"));
    }
    let content = body["content"].as_array().cloned().unwrap_or_default();
    let text = content.iter().find(|c| c["type"] == "text").and_then(|c| c["text"].as_str()).unwrap_or_default();
    if !matches!(command(text, "resolution"), Some("480p" | "720p" | "1080p")) {
        return Err(invalid("resolution"));
    }
    let ratios = ["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "9:21", "adaptive"];
    if !command(text, "ratio").is_some_and(|r| ratios.contains(&r)) {
        return Err(invalid("ratio"));
    }
    let range = if second { 4..=15 } else { 3..=12 };
    if !command(text, "duration").and_then(|d| d.parse::<i64>().ok()).is_some_and(|d| range.contains(&d)) {
        return Err(invalid("duration"));
    }
    if !command(text, "seed").and_then(|d| d.parse::<i64>().ok()).is_some_and(|d| (-1..=u32::MAX as i64).contains(&d)) {
        return Err(invalid("seed"));
    }
    for flag in ["watermark", "camerafixed"] {
        if command(text, flag).is_some_and(|v| v != "true" && v != "false") {
            return Err(invalid(flag));
        }
    }
    let role = |r: &str| content.iter().filter(|c| c["role"] == r).count();
    for item in &content {
        let ok = match item["type"].as_str() {
            Some("text") => true,
            Some("image_url") => {
                item["image_url"]["url"].as_str().is_some_and(|u| u.starts_with("data:image/png;base64,"))
            }
            Some("video_url") => second && item["video_url"]["url"].as_str().is_some_and(|u| u.starts_with(&s.origin)),
            Some("audio_url") => {
                second
                    && item["audio_url"]["url"]
                        .as_str()
                        .and_then(|u| u.strip_prefix("data:audio/wav;base64,"))
                        .and_then(vendor::base64_decode)
                        .is_some_and(|wav| wav.starts_with(b"RIFF"))
            }
            _ => false,
        };
        if !ok {
            return Err(invalid("content"));
        }
    }
    if role("last_frame") > 0 && role("first_frame") == 0 {
        return Err(invalid("content.last_frame"));
    }
    let references = role("reference_image");
    if references > if second { 9 } else { 4 } || (!second && references > 0 && role("first_frame") > 0) {
        return Err(invalid("content.reference_image"));
    }
    if body.get("generate_audio").is_some() && model.contains("seedance-1-0") {
        return Err(invalid("generate_audio"));
    }
    if body["omni_reference_task_type"] == "extend" && role("reference_video") != 1 {
        return Err(invalid("omni_reference_task_type"));
    }
    Ok(())
}

fn handle(state: &Mutex<ArkState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(file) = request.path().strip_prefix("/tos/") {
        s.cdn_auth.push(request.header("authorization").map(str::to_owned));
        return (200, vec![], if file.starts_with("ext-") { s.extended.clone() } else { s.video.clone() });
    }
    if request.header("authorization") != Some(&format!("Bearer {KEY}")) {
        let message = "The API key or AK/SK in the request is missing or invalid. Request id: 0217";
        return reply(
            401,
            json!({ "error": { "code": "AuthenticationError", "message": message, "type": "Unauthorized" } }),
        );
    }
    let Some(rest) = request.path().strip_prefix("/api/v3/contents/generations/tasks") else {
        return ark_error(404, "NotFound", "Not Found", "");
    };
    let origin = s.origin.clone();
    match (request.method.as_str(), rest.trim_start_matches('/')) {
        ("POST", "") => {
            s.posts += 1;
            if s.quota_spent {
                return ark_error(429, "QuotaExceeded", "The free quota of the model is used up", "");
            }
            if s.rate_limited > 0 {
                s.rate_limited -= 1;
                let message = "The request has exceeded the RPM rate limit of the endpoint";
                return ark_error(429, "RateLimitExceeded.EndpointRPMExceeded", message, "");
            }
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid("body");
            };
            if let Err(refusal) = check_body(&s, &body) {
                return refusal;
            }
            let id = format!("cgt-20261206{:06}", s.tasks.len() + 1);
            s.tasks.insert(id.clone(), (body, 0));
            reply(200, json!({ "id": id }))
        }
        ("GET", id) => {
            let (fail, hold) = (s.fail, s.hold);
            let Some((body, polls)) = s.tasks.get_mut(id) else {
                return ark_error(404, "ResourceNotFound", "The task does not exist", "id");
            };
            *polls += 1;
            let extension = body["omni_reference_task_type"] == "extend";
            let status = match *polls {
                _ if hold => "queued",
                1 => "queued",
                2 => "running",
                _ if fail => "failed",
                _ => "succeeded",
            };
            let mut task = json!({ "id": id, "model": body["model"], "status": status,
                                   "created_at": 1_765_000_000, "updated_at": 1_765_000_100 });
            match status {
                "succeeded" => {
                    let name = if extension { format!("ext-{id}") } else { id.to_string() };
                    task["content"] = json!({ "video_url": format!("{origin}/tos/{name}.mp4?X-Tos-Expires=86400") });
                    (task["seed"], task["framespersecond"]) = (json!(11), json!(24));
                }
                "failed" => {
                    task["error"] = json!({ "code": "OutputVideoSensitiveContentDetected",
                        "message": "The output video may contain sensitive information." });
                }
                _ => {}
            }
            reply(200, task)
        }
        ("DELETE", id) => {
            if s.tasks.remove(id).is_none() {
                return ark_error(404, "ResourceNotFound", "The task does not exist", "id");
            }
            s.deleted.push(id.to_string());
            reply(200, json!({}))
        }
        _ => ark_error(404, "NotFound", "Not Found", ""),
    }
}

fn setup(dir: &Path, key: &str) -> (Arc<Mutex<ArkState>>, String, Generations) {
    let five = vendor::counting_video(dir, 120, 24, 64, 36);
    let video = vendor::with_tone(dir, &five, "five");
    let ten = vendor::counting_video(dir, 240, 24, 64, 36);
    let extended = vendor::with_tone(dir, &ten, "ten");
    let state = Arc::new(Mutex::new(ArkState { video, extended, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let manifest = std::fs::read_to_string(guests::repo().join("plugins/seedance/adapter.toml")).unwrap();
    let network = manifest.split("origins = [\n").nth(1).unwrap().split(']').next().unwrap().to_owned();
    let lists =
        [network.as_str(), "\"https://ark.ap-southeast.bytepluses.com\", \"https://ark.cn-beijing.volces.com\""];
    let generations =
        vendor::install_against(dir, "seedance", &guests::guests().seedance, &lists, &origin, &[("ARK_API_KEY", key)]);
    (state, origin, generations)
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a paper boat rides a gutter stream");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(24), Rational::integer(5), 11);
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("seedance", r, 1).unwrap().results().remove(0)
}

fn text_of(body: &Value) -> String {
    body["content"][0]["text"].as_str().unwrap().to_owned()
}

#[test]
fn frames_and_text_commands_go_out_the_rate_limit_is_waited_out_and_the_sound_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    state.lock().unwrap().rate_limited = 1;
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    r.last_frame = Some(vendor::still(0.0));
    r.camera = CameraMotion { pan: 0.4, ..Default::default() };
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 2, "the 429 was asked again");
    let (id, (body, _)) = s.tasks.iter().next().unwrap();
    assert_eq!(
        text_of(body),
        "a paper boat rides a gutter stream --resolution 480p --ratio 16:9 --duration 5 --seed 11 --watermark false \
         --camerafixed false"
    );
    let roles: Vec<&str> =
        body["content"].as_array().unwrap().iter().skip(1).map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["first_frame", "last_frame"]);
    let first = vendor::data_uri_bytes(body["content"][1]["image_url"]["url"].as_str().unwrap());
    let path = dir.path().join("first.png");
    std::fs::write(&path, first).unwrap();
    assert_eq!(mattebox_core::media::read_image(&path).unwrap().pixel_f32(2, 2)[0], 1.0);
    assert_eq!(body["generate_audio"], true);
    assert!(s.cdn_auth.iter().all(Option::is_none), "the key never goes to the bucket");
    assert_eq!(take.frames, 120);
    assert!(take.audio.is_some(), "Seedance 1.5's sound is the take's");
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
    assert_eq!(take.deviations.iter().find(|d| d.field == Field::Camera).unwrap().kind, DeviationKind::Dropped);
}

/// Seedance 2: nine references at most, a dialogue line as
/// `reference_audio`, and its own take continued from the task's video,
/// keeping what follows the source.
#[test]
fn seedance_2_takes_references_a_line_and_continues_its_own_take() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let line_path = dir.path().join("line.wav");
    vendor::tone_file(&line_path, 220, 16000, 2);
    let mut r = request(&origin);
    r.extras.insert("model".into(), "dreamina-seedance-2-0-260128".into());
    r.references = (0..10)
        .map(|n| Reference {
            kind: ReferenceKind::Character,
            name: format!("r{n}"),
            image: vendor::still(n as f32 / 10.0),
        })
        .collect();
    r.audio = vec![mattebox_core::generate::read_sound(&line_path, SoundRole::Dialogue).unwrap()];
    let first = take_of(&generations, r.clone()).unwrap();
    {
        let s = state.lock().unwrap();
        let body = &s.tasks.values().next().unwrap().0;
        let count = |role: &str| body["content"].as_array().unwrap().iter().filter(|c| c["role"] == role).count();
        assert_eq!((count("reference_image"), count("reference_audio")), (9, 1));
        assert!(text_of(body).contains("--duration 5"));
    }
    assert!(first.deviations.iter().any(|d| d.field == Field::References && d.kind == DeviationKind::Approximated));
    assert!(!first.deviations.iter().any(|d| d.field == Field::Audio), "{:?}", first.deviations);

    let vendor = first.vendor_source().unwrap();
    let flat = Frame::new(64, 36, PixelFormat::Rgba8).unwrap();
    let source = VideoInput::new("take-1", VideoRole::Extend, first.fps, first.frames, vec![flat], None)
        .unwrap()
        .with_vendor(vendor.clone());
    let mut next = request(&origin);
    next.extras.insert("model".into(), "dreamina-seedance-2-0-260128".into());
    next.prompt = "the boat drops into a drain".into();
    next.source_video = Some(source);
    let take = take_of(&generations, next).unwrap();
    {
        let s = state.lock().unwrap();
        let body = &s.tasks.values().find(|(b, _)| b["omni_reference_task_type"] == "extend").unwrap().0;
        let video = body["content"].as_array().unwrap().iter().find(|c| c["role"] == "reference_video").unwrap();
        assert!(video["video_url"]["url"].as_str().unwrap().contains(&vendor.id), "the task's own video: {video}");
    }
    assert_eq!(take.frames, 120, "the 5 s after the source: {:?}", take.deviations);
    let options = mattebox_core::media::OpenOptions::default();
    let frame = mattebox_core::media::MediaReader::open(&take.media, &options).unwrap().read_frame(0).unwrap();
    assert!((frame.pixel_f32(10, 10)[0] - 0.5).abs() < 0.03, "the first kept frame follows the source");
}

#[test]
fn refusals_a_spent_quota_and_a_failed_task_are_said_in_modelarks_words() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let mut odd = request(&origin);
    odd.extras.insert("resolution".into(), "4k".into());
    let err = take_of(&generations, odd).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("InvalidParameter") && err.to_string().contains("`resolution`"), "{err}");
    // Seedance 1 with references and a first frame: the references are dropped, and the take says so.
    let mut both = request(&origin);
    both.extras.insert("model".into(), "seedance-1-0-pro-250528".into());
    both.first_frame = Some(vendor::still(0.5));
    both.references = vec![Reference { kind: ReferenceKind::Location, name: "yard".into(), image: vendor::still(0.1) }];
    let take = take_of(&generations, both).unwrap();
    assert_eq!(take.deviations.iter().find(|d| d.field == Field::References).unwrap().kind, DeviationKind::Dropped);
    {
        let mut s = state.lock().unwrap();
        (s.quota_spent, s.posts) = (true, 0);
    }
    let mut spent = request(&origin);
    spent.prompt = "rain stops".into();
    let err = take_of(&generations, spent).unwrap_err();
    assert!(err.to_string().contains("QuotaExceeded"), "{err}");
    assert_eq!(state.lock().unwrap().posts, 1, "a spent quota is not asked again");
    {
        let mut s = state.lock().unwrap();
        (s.quota_spent, s.fail) = (false, true);
    }
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("OutputVideoSensitiveContentDetected"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup(dir.path(), "ark-wrong-key-000000");
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("AuthenticationError") && !err.to_string().contains("wrong-key"), "{err}");
}

#[test]
fn a_cancelled_take_deletes_its_queued_task() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    state.lock().unwrap().hold = true;
    let job = generations.submit("seedance", request(&origin), 1).unwrap();
    vendor::cancel_once(&job, || state.lock().unwrap().tasks.values().any(|(_, polls)| *polls >= 3));
    assert_eq!(state.lock().unwrap().deleted.len(), 1, "ModelArk was told to drop it");
}
