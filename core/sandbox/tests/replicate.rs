//! The Replicate adapter against a local server that follows Replicate's
//! published HTTP API: a bearer token (401 `{title, detail, status}`
//! otherwise), `POST /v1/models/{owner}/{name}/predictions` and `POST
//! /v1/predictions` with a `version`, inputs checked against the model's
//! schema when the prediction is created (422 with `invalid_fields`),
//! files as data URIs or as uploads to `POST /v1/files` (multipart, field
//! `content`), 429 "Request was throttled" with `Retry-After`, `GET
//! urls.get` going `starting`, `processing` to `succeeded` with `output`
//! (a URL, or a list of them) or `failed` with `error`, `POST urls.cancel`,
//! and outputs on replicate.delivery. Two models as Replicate hosts them:
//! Kling v2.1 (`prompt`, `start_image`, `end_image`, `duration` 5 or 10) and
//! LatentSync by version (`video`, `audio`). Replicate cannot be reached
//! here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{EncodedFile, ImageInput, ShotRequest, SoundRole, VideoInput, VideoRole};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const TOKEN: &str = "r8_LocalTestToken0123456789abcdef";
const LATENTSYNC_VERSION: &str = "9f5f2b7c1e0d4a3b";

#[derive(Default)]
struct ReplicateState {
    origin: String,
    /// Prediction id -> (model, input, polls).
    predictions: HashMap<String, (String, Value, u32)>,
    files: HashMap<String, (String, Vec<u8>)>,
    creates: u32,
    throttled: u32,
    fail: bool,
    hold: bool,
    canceled: Vec<String>,
    video: Vec<u8>,
    delivery_auth: Vec<Option<String>>,
}

fn problem(status: u16, title: &str, detail: &str) -> Response {
    reply(status, json!({ "title": title, "detail": detail, "status": status }))
}

/// A file input as Replicate takes it: a data URI of `mime`, or a file uploaded here.
fn file_ok(s: &ReplicateState, value: &Value, mime: &str) -> bool {
    let Some(url) = value.as_str() else { return false };
    if let Some(data) = url.strip_prefix(&format!("data:{mime};base64,")) {
        return vendor::base64_decode(data).is_some();
    }
    let id = url.strip_prefix(&format!("{}/v1/files/", s.origin)).unwrap_or_default();
    s.files.get(id).is_some_and(|(m, _)| m == mime)
}

fn invalid(fields: Vec<(&str, &str)>) -> Response {
    let detail: String = fields.iter().map(|(f, d)| format!("- {f}: {d}\n")).collect();
    let invalid: Vec<Value> =
        fields.iter().map(|(f, d)| json!({ "type": "invalid", "field": f, "description": d })).collect();
    reply(
        422,
        json!({ "title": "Input validation failed", "detail": detail, "status": 422, "invalid_fields": invalid }),
    )
}

fn check_input(s: &ReplicateState, model: &str, input: &Value) -> Result<(), Response> {
    let mut wrong = Vec::new();
    if model == "kwaivgi/kling-v2.1" {
        if !input["prompt"].is_string() {
            wrong.push(("input.prompt", "prompt is required"));
        }
        if !file_ok(s, &input["start_image"], "image/png") {
            wrong.push(("input.start_image", "start_image is required for this model"));
        }
        if input.get("end_image").is_some() && !file_ok(s, &input["end_image"], "image/png") {
            wrong.push(("input.end_image", "Does not match format 'uri'"));
        }
        if !matches!(input["duration"].as_u64(), None | Some(5 | 10)) {
            wrong.push(("input.duration", "duration must be one of the following: 5, 10"));
        }
    } else {
        if !file_ok(s, &input["video"], "video/mp4") {
            wrong.push(("input.video", "video is required"));
        }
        if !file_ok(s, &input["audio"], "audio/wav") {
            wrong.push(("input.audio", "audio is required"));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(invalid(wrong)) }
}

/// The `content` part of a multipart upload: (its type, its bytes).
fn multipart_content(request: &Request) -> Option<(String, Vec<u8>)> {
    let boundary = request.header("content-type")?.split("boundary=").nth(1)?.to_owned();
    let body = &request.body;
    let marker = b"name=\"content\"";
    let at = body.windows(marker.len()).position(|w| w == marker)?;
    let head_end = at + body[at..].windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
    let mime = head.split("Content-Type: ").nth(1)?.trim().to_owned();
    let closing = format!("\r\n--{boundary}--");
    let end = head_end + body[head_end..].windows(closing.len()).position(|w| w == closing.as_bytes())?;
    Some((mime, body[head_end..end].to_vec()))
}

fn prediction(origin: &str, id: &str, model: &str, status: &str, output: Value, error: Value) -> Value {
    json!({ "id": id, "model": model, "version": "dp-4d9b1c", "status": status, "output": output, "error": error,
            "logs": "", "created_at": "2026-12-06T12:00:00.000Z",
            "urls": { "get": format!("{origin}/v1/predictions/{id}"), "cancel": format!("{origin}/v1/predictions/{id}/cancel"),
                      "web": format!("https://replicate.com/p/{id}") } })
}

fn handle(state: &Mutex<ReplicateState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if request.path().starts_with("/delivery/") {
        s.delivery_auth.push(request.header("authorization").map(str::to_owned));
        return (200, vec![], s.video.clone());
    }
    if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return problem(401, "Unauthenticated", "You did not pass a valid authentication token");
    }
    let origin = s.origin.clone();
    let path = request.path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let create = |s: &mut ReplicateState, model: String, input: Value| -> Response {
        s.creates += 1;
        if s.throttled > 0 {
            s.throttled -= 1;
            let mut r =
                problem(429, "Request was throttled.", "Request was throttled. Expected available in 1 second.");
            r.1.push(("retry-after".into(), "0".into()));
            return r;
        }
        if let Err(refusal) = check_input(s, &model, &input) {
            return refusal;
        }
        let id = format!("q8r1ctvfc9rm{:04}", s.predictions.len() + 1);
        s.predictions.insert(id.clone(), (model.clone(), input, 0));
        reply(201, prediction(&origin, &id, &model, "starting", Value::Null, Value::Null))
    };
    match (request.method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "files"]) => {
            let Some((mime, bytes)) = multipart_content(&request) else {
                return problem(400, "Bad request", "expected a multipart form with a content field");
            };
            let id = format!("file{:04}", s.files.len() + 1);
            s.files.insert(id.clone(), (mime.clone(), bytes));
            reply(201, json!({ "id": id, "content_type": mime, "urls": { "get": format!("{origin}/v1/files/{id}") } }))
        }
        ("POST", ["v1", "models", owner, name, "predictions"]) => {
            if format!("{owner}/{name}") != "kwaivgi/kling-v2.1" {
                return problem(404, "Not found", "The requested resource could not be found.");
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            create(&mut s, format!("{owner}/{name}"), body["input"].clone())
        }
        ("POST", ["v1", "predictions"]) => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            if body["version"] != LATENTSYNC_VERSION {
                return invalid(vec![("version", "Invalid version or not permitted")]);
            }
            create(&mut s, "bytedance/latentsync".into(), body["input"].clone())
        }
        ("GET", ["v1", "predictions", id]) => {
            let (fail, hold) = (s.fail, s.hold);
            let Some((model, _, polls)) = s.predictions.get_mut(*id) else {
                return problem(404, "Not found", "The requested resource could not be found.");
            };
            *polls += 1;
            let model = model.clone();
            let url = format!("{origin}/delivery/xezq/{id}/output.mp4");
            let (status, output, error) = match *polls {
                1 => ("starting", Value::Null, Value::Null),
                _ if hold => ("processing", Value::Null, Value::Null),
                2 => ("processing", Value::Null, Value::Null),
                _ if fail => ("failed", Value::Null, json!("CUDA out of memory. Tried to allocate 2.00 GiB")),
                // LatentSync's output is a list; Kling's a URL.
                _ if model.contains("latentsync") => ("succeeded", json!([url]), Value::Null),
                _ => ("succeeded", json!(url), Value::Null),
            };
            reply(200, prediction(&origin, id, &model, status, output, error))
        }
        ("POST", ["v1", "predictions", id, "cancel"]) => {
            let id = id.to_string();
            let model = s.predictions.get(&id).map(|p| p.0.clone()).unwrap_or_default();
            s.canceled.push(id.clone());
            reply(200, prediction(&origin, &id, &model, "canceled", Value::Null, Value::Null))
        }
        _ => problem(404, "Not found", "The requested resource could not be found."),
    }
}

fn setup(dir: &Path, token: &str) -> (Arc<Mutex<ReplicateState>>, String, Generations) {
    let video = vendor::counting_video(dir, 120, 24, 64, 36);
    let state = Arc::new(Mutex::new(ReplicateState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let lists = ["\"https://api.replicate.com\", \"https://replicate.delivery\"", "\"https://api.replicate.com\""];
    let secrets = [("REPLICATE_API_TOKEN", token)];
    let generations = vendor::install_against(dir, "replicate", &guests::guests().replicate, &lists, &origin, &secrets);
    (state, origin, generations)
}

/// A still whose PNG is larger than Replicate's inline limit (noise does
/// not compress).
fn noisy_still() -> ImageInput {
    let mut x = 0x9e37_79b9_u32;
    let bytes: Vec<u8> = (0..400 * 300 * 4)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 4 == 3 { 255 } else { x as u8 }
        })
        .collect();
    ImageInput::new("noise.png", Frame::from_bytes(400, 300, PixelFormat::Rgba8, &bytes).unwrap())
}

fn small_still() -> ImageInput {
    let mut f = Frame::new(40, 30, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([0.0, 0.5, 1.0, 1.0]);
    ImageInput::new("small.png", f)
}

fn request(origin: &str, model: &str, inputs: Value) -> ShotRequest {
    let mut r = ShotRequest::new("a lighthouse beam sweeps the fog");
    (r.width, r.height, r.fps, r.duration) = (64, 36, Rational::integer(24), Rational::integer(5));
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r.extras.insert("model".into(), model.into());
    r.extras.insert("inputs".into(), inputs.to_string());
    r
}

fn kling_inputs() -> Value {
    json!({ "prompt": "{{prompt}}", "start_image": "{{first_frame}}", "end_image": "{{last_frame}}", "duration": "{{seconds}}" })
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("replicate", r, 1).unwrap().results().remove(0)
}

#[test]
fn a_large_frame_is_uploaded_a_small_one_goes_inline_and_a_throttle_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), TOKEN);
    state.lock().unwrap().throttled = 1;
    let mut r = request(&origin, "kwaivgi/kling-v2.1", kling_inputs());
    r.first_frame = Some(noisy_still());
    r.last_frame = Some(small_still());
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.creates, 2, "the 429 was asked again");
    let (id, (_, input, _)) = s.predictions.iter().next().unwrap();
    assert_eq!(input["duration"], 5, "whole seconds go as an integer");
    let start = input["start_image"].as_str().unwrap();
    assert!(start.starts_with(&format!("{origin}/v1/files/")), "{start}");
    let (mime, png) = s.files.values().next().unwrap();
    assert_eq!(mime, "image/png");
    let path = dir.path().join("uploaded.png");
    std::fs::write(&path, png).unwrap();
    let uploaded = mattebox_core::media::read_image(&path).unwrap();
    assert_eq!((uploaded.width(), uploaded.height()), (400, 300));
    assert!(input["end_image"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert!(s.delivery_auth.iter().all(Option::is_none), "the token never goes to the delivery CDN");
    assert_eq!((take.frames, take.vendor_generation.as_deref()), (120, Some(id.as_str())));
}

#[test]
fn a_version_pinned_lip_sync_model_gets_the_clip_and_the_line_and_its_list_output_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), TOKEN);
    let line = dir.path().join("line.wav");
    vendor::tone_file(&line, 300, 8000, 1);
    let clip = vendor::counting_video(dir.path(), 24, 24, 64, 36);
    let model = format!("bytedance/latentsync:{LATENTSYNC_VERSION}");
    let mut r = request(&origin, &model, json!({ "video": "{{source_video}}", "audio": "{{dialogue}}" }));
    r.source_video = Some(
        VideoInput::new(
            "take-1.mp4",
            VideoRole::Lipsync,
            Rational::integer(24),
            24,
            vec![Frame::new(64, 36, PixelFormat::Rgba8).unwrap()],
            Some(EncodedFile::new("take-1.mp4", clip)),
        )
        .unwrap(),
    );
    r.audio = vec![mattebox_core::generate::read_sound(&line, SoundRole::Dialogue).unwrap()];
    let take = take_of(&generations, r).unwrap();
    assert_eq!(take.frames, 120);
    let s = state.lock().unwrap();
    assert_eq!(s.predictions.values().next().unwrap().0, "bytedance/latentsync");
}

#[test]
fn refusals_failures_and_a_bad_token_come_back_in_replicates_words() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), TOKEN);
    let mut seven = request(&origin, "kwaivgi/kling-v2.1", kling_inputs());
    seven.first_frame = Some(small_still());
    seven.duration = Rational::integer(7);
    let err = take_of(&generations, seven).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("input.duration: duration must be one of the following: 5, 10"), "{err}");
    state.lock().unwrap().fail = true;
    let mut r = request(&origin, "kwaivgi/kling-v2.1", kling_inputs());
    r.first_frame = Some(small_still());
    let err = take_of(&generations, r).unwrap_err();
    assert!(err.to_string().contains("CUDA out of memory"), "{err}");
    let err = take_of(&generations, request(&origin, "someone/nothing", kling_inputs())).unwrap_err();
    assert!(err.to_string().contains("no model someone/nothing"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup(dir.path(), "r8_WrongToken000000");
    let err = take_of(&generations, request(&origin, "kwaivgi/kling-v2.1", kling_inputs())).unwrap_err();
    assert!(err.to_string().contains("Unauthenticated") && !err.to_string().contains("r8_Wrong"), "{err}");
}

#[test]
fn a_cancelled_take_cancels_its_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), TOKEN);
    state.lock().unwrap().hold = true;
    let mut r = request(&origin, "kwaivgi/kling-v2.1", kling_inputs());
    r.first_frame = Some(small_still());
    let job = generations.submit("replicate", r, 1).unwrap();
    vendor::cancel_once(&job, || state.lock().unwrap().predictions.values().any(|(_, _, polls)| *polls >= 3));
    assert_eq!(state.lock().unwrap().canceled.len(), 1, "Replicate was told to cancel");
}
