//! The Runway adapter against a local server that follows Runway's published
//! API (version 2024-11-06): a bearer key and the `X-Runway-Version` header
//! on every call (401 `{"error"}` for a bad key, 400 without the version),
//! `POST /v1/image_to_video` checked as Runway's schema checks it (the
//! models, their ratios, 5 or 10 s, seeds up to 2^32 - 1, `promptImage` as
//! a data URI or `first`/`last` positions, `last` for gen3a_turbo only,
//! 1000 characters of prompt, 5 MB per data URI) and refused with
//! `{"error", "issues"}`, answers 429 while the account is over its rate,
//! `GET /v1/tasks/{id}` going through PENDING, THROTTLED and RUNNING (with
//! progress) to SUCCEEDED with `output` URLs or FAILED with `failure` and
//! `failureCode`, and `DELETE /v1/tasks/{id}`. Runway's servers cannot be
//! reached here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{DeviationKind, Field, ImageInput, ShotRequest};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const KEY: &str = "key_0123456789abcdef";

#[derive(Default)]
struct RunwayState {
    origin: String,
    /// Task id -> (request body, polls so far).
    tasks: HashMap<String, (Value, u32)>,
    posts: u32,
    /// Submissions still to be answered 429.
    rate_limited: u32,
    fail_with: Option<(String, String)>,
    /// Tasks stay RUNNING (for cancelling).
    hold: bool,
    deleted: Vec<String>,
    video: Vec<u8>,
    /// Whether the CDN was ever sent an Authorization header.
    cdn_saw_auth: bool,
}

fn issue(path: &str, message: &str) -> Response {
    reply(400, json!({ "error": "Validation of body failed", "issues": [{ "path": [path], "message": message }] }))
}

fn data_uri_ok(uri: &Value) -> bool {
    uri.as_str().is_some_and(|u| u.starts_with("data:image/png;base64,") && u.len() <= 5_000_000)
}

/// Checks the body as Runway's schema does; `Err` is its refusal.
fn check_body(body: &Value) -> Result<(), Response> {
    let model = body["model"].as_str().unwrap_or_default();
    let ratios: &[&str] = match model {
        "gen4_turbo" => &["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"],
        "gen3a_turbo" => &["1280:768", "768:1280"],
        _ => return Err(issue("model", "Invalid enum value. Expected 'gen4_turbo' | 'gen3a_turbo'")),
    };
    if !body["ratio"].as_str().is_some_and(|r| ratios.contains(&r)) {
        return Err(issue("ratio", "Invalid enum value"));
    }
    if !matches!(body["duration"].as_u64(), Some(5 | 10)) {
        return Err(issue("duration", "Invalid literal value, expected 5 or 10"));
    }
    if body["seed"].as_u64().is_none_or(|s| s > 4_294_967_295) {
        return Err(issue("seed", "Number must be less than or equal to 4294967295"));
    }
    if body["promptText"].as_str().is_some_and(|t| t.chars().count() > 1000) {
        return Err(issue("promptText", "String must contain at most 1000 character(s)"));
    }
    match &body["promptImage"] {
        image @ Value::String(_) if data_uri_ok(image) => Ok(()),
        Value::Array(images) => {
            for image in images {
                let position = image["position"].as_str().unwrap_or_default();
                if !matches!(position, "first" | "last") || !data_uri_ok(&image["uri"]) {
                    return Err(issue("promptImage", "Invalid input"));
                }
                if position == "last" && model != "gen3a_turbo" {
                    return Err(issue("promptImage", "'last' is only supported for gen3a_turbo"));
                }
            }
            Ok(())
        }
        _ => Err(issue("promptImage", "Invalid input")),
    }
}

fn handle(state: &Mutex<RunwayState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(file) = request.path().strip_prefix("/cdn/") {
        s.cdn_saw_auth |= request.header("authorization").is_some();
        return if file.ends_with(".mp4") { (200, vec![], s.video.clone()) } else { (404, vec![], vec![]) };
    }
    if request.header("authorization") != Some(&format!("Bearer {KEY}")) {
        return reply(401, json!({ "error": "Invalid API key. Make sure you are using a key from dev.runwayml.com" }));
    }
    if request.header("x-runway-version") != Some("2024-11-06") {
        return reply(400, json!({ "error": "The X-Runway-Version header is missing or invalid" }));
    }
    let parts: Vec<&str> = request.path().trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "image_to_video"]) => {
            s.posts += 1;
            if s.rate_limited > 0 {
                s.rate_limited -= 1;
                let mut r = reply(429, json!({ "error": "You have exceeded the rate limit" }));
                r.1.push(("retry-after".into(), "0".into()));
                return r;
            }
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return reply(400, json!({ "error": "Invalid JSON" }));
            };
            if let Err(refusal) = check_body(&body) {
                return refusal;
            }
            let id = format!("0b1d4e5c-{:04}", s.tasks.len() + 1);
            s.tasks.insert(id.clone(), (body, 0));
            reply(200, json!({ "id": id }))
        }
        ("GET", ["v1", "tasks", id]) => {
            let (origin, fail, hold) = (s.origin.clone(), s.fail_with.clone(), s.hold);
            let Some((_, polls)) = s.tasks.get_mut(*id) else {
                return reply(404, json!({ "error": "Task not found" }));
            };
            *polls += 1;
            let base = json!({ "id": id, "createdAt": "2026-12-06T12:00:00.000Z" });
            let mut task = base.as_object().unwrap().clone();
            let add = |task: &mut serde_json::Map<String, Value>, v: Value| task.extend(v.as_object().unwrap().clone());
            match (*polls, fail) {
                (1, _) => add(&mut task, json!({ "status": "PENDING" })),
                (2, _) => add(&mut task, json!({ "status": "THROTTLED" })),
                (3, _) => add(&mut task, json!({ "status": "RUNNING", "progress": 0.5 })),
                _ if hold => add(&mut task, json!({ "status": "RUNNING", "progress": 0.7 })),
                (_, Some((failure, code))) => {
                    add(&mut task, json!({ "status": "FAILED", "failure": failure, "failureCode": code }))
                }
                _ => add(&mut task, json!({ "status": "SUCCEEDED", "output": [format!("{origin}/cdn/{id}.mp4")] })),
            }
            reply(200, Value::Object(task))
        }
        ("DELETE", ["v1", "tasks", id]) => {
            if s.tasks.remove(*id).is_none() {
                return reply(404, json!({ "error": "Task not found" }));
            }
            s.deleted.push(id.to_string());
            (204, vec![], vec![])
        }
        _ => reply(404, json!({ "error": "Not found" })),
    }
}

fn setup(key: &str, dir: &Path) -> (Arc<Mutex<RunwayState>>, String, Generations) {
    // Five seconds of 24 fps, as Runway delivers (smaller).
    let video = vendor::counting_video(dir, 120, 24, 64, 36);
    let state = Arc::new(Mutex::new(RunwayState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let lists = [
        "\"https://api.dev.runwayml.com\", \"https://dnznrvs05pmza.cloudfront.net\"",
        "\"https://api.dev.runwayml.com\"",
    ];
    let secrets = [("RUNWAYML_API_SECRET", key)];
    let generations = vendor::install_against(dir, "runway", &guests::guests().runway, &lists, &origin, &secrets);
    (state, origin, generations)
}

fn still(width: u32, height: u32, red: f32) -> ImageInput {
    let mut f = Frame::new(width, height, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([red, 0.2, 0.8, 1.0]);
    ImageInput::new(format!("still-{width}x{height}.png"), f)
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a courier runs across a rooftop at dawn");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(24), Rational::integer(5), 7);
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r.first_frame = Some(still(40, 30, 1.0));
    r
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

#[test]
fn first_and_last_frames_go_as_positions_and_a_rate_limit_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(KEY, dir.path());
    state.lock().unwrap().rate_limited = 1;
    let mut r = request(&origin);
    r.last_frame = Some(still(40, 30, 0.0));
    r.extras.insert("model".into(), "gen3a_turbo".into());
    let take = generations.submit("runway", r, 1).unwrap().results().remove(0).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 2, "the 429 was tried again");
    let (id, (body, _)) = s.tasks.iter().next().unwrap();
    assert_eq!(body["model"], "gen3a_turbo");
    assert_eq!(body["ratio"], "1280:768");
    assert_eq!((body["duration"].as_u64(), body["seed"].as_u64()), (Some(5), Some(7)));
    assert_eq!(body["promptText"], "a courier runs across a rooftop at dawn");
    let images = body["promptImage"].as_array().unwrap();
    assert_eq!((images[0]["position"].as_str(), images[1]["position"].as_str()), (Some("first"), Some("last")));
    for image in images {
        assert_eq!(png_size(&vendor::data_uri_bytes(image["uri"].as_str().unwrap())), (40, 30));
    }
    assert!(!s.cdn_saw_auth, "the key never goes to where videos are served");
    assert_eq!(take.frames, 120, "5 s at 24 fps");
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
    let size = take.deviations.iter().find(|d| d.field == Field::Size).unwrap();
    assert_eq!(size.kind, DeviationKind::Approximated);
    assert!(!take.deviations.iter().any(|d| d.field == Field::LastFrame), "{:?}", take.deviations);
}

#[test]
fn gen4_drops_the_last_frame_and_a_large_frame_is_shrunk_to_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(KEY, dir.path());
    let mut r = request(&origin);
    r.first_frame = Some(still(1920, 1080, 0.5));
    r.last_frame = Some(still(40, 30, 0.0));
    r.duration = Rational::integer(7);
    let take = generations.submit("runway", r, 1).unwrap().results().remove(0).unwrap();
    let s = state.lock().unwrap();
    let (body, _) = s.tasks.values().next().unwrap();
    assert_eq!((body["model"].as_str(), body["ratio"].as_str()), (Some("gen4_turbo"), Some("1280:720")));
    assert_eq!(body["duration"], 10);
    let uri = body["promptImage"].as_str().expect("one image, no positions");
    assert!(uri.len() <= 5_000_000);
    assert_eq!(png_size(&vendor::data_uri_bytes(uri)), (960, 540));
    let field = |f: Field| take.deviations.iter().find(|d| d.field == f).unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(field(Field::LastFrame).kind, DeviationKind::Dropped);
    assert!(field(Field::FirstFrame).note.contains("960x540"), "{}", field(Field::FirstFrame).note);
    assert!(field(Field::Duration).note.contains("10 s"));
}

#[test]
fn refusals_and_failures_come_back_in_runways_words() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(KEY, dir.path());
    let first = |r: ShotRequest| generations.submit("runway", r, 1).unwrap().results().remove(0);
    // No image: refused before anything is sent.
    let mut no_image = request(&origin);
    no_image.first_frame = None;
    let err = first(no_image).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("--first-frame"), "{err}");
    assert_eq!(state.lock().unwrap().posts, 0);
    // A model Runway does not have: its own words, with the field.
    let mut odd = request(&origin);
    odd.extras.insert("model".into(), "gen9".into());
    let err = first(odd).unwrap_err();
    assert!(err.to_string().contains("refused the request") && err.to_string().contains("model"), "{err}");
    // The task fails on Runway's side.
    state.lock().unwrap().fail_with = Some(("The prompt was flagged by moderation".into(), "SAFETY.INPUT.TEXT".into()));
    let err = first(request(&origin)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert!(
        err.to_string().contains("flagged by moderation") && err.to_string().contains("SAFETY.INPUT.TEXT"),
        "{err}"
    );
    drop(generations);
    // A wrong key.
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup("key_wrong_0123456789", dir.path());
    let err = generations.submit("runway", request(&origin), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("refused the API key") && err.to_string().contains("Invalid API key"), "{err}");
    assert!(!err.to_string().contains("key_wrong"), "the key is never shown: {err}");
}

#[test]
fn a_cancelled_take_deletes_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(KEY, dir.path());
    state.lock().unwrap().hold = true;
    let job = generations.submit("runway", request(&origin), 1).unwrap();
    vendor::cancel_once(&job, || state.lock().unwrap().tasks.values().any(|(_, polls)| *polls >= 4));
    assert_eq!(job.results().remove(0).unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(state.lock().unwrap().deleted.len(), 1, "Runway was told to stop");
}
