//! The MiniMax adapter against a local server that follows MiniMax's
//! published video generation API (v1): a bearer key, every answer HTTP 200
//! with `base_resp.status_code` saying what went wrong (1002 rate limited,
//! 1004 login failed, 1008 balance spent, 2013 invalid parameters),
//! `POST /v1/video_generation` checked as MiniMax documents it (the models,
//! 2000 characters of prompt, at most three bracketed camera commands from
//! its list, 6 or 10 s and 512P/768P/1080P for the Hailuo models with no
//! 10 s at 1080P, `first_frame_image` / `last_frame_image` as data URIs and
//! the last only for MiniMax-Hailuo-02 with a first, `subject_reference`
//! for S2V-01 only), `GET /v1/query/video_generation` going through
//! Queueing, Preparing and Processing to Success with a `file_id` or Fail,
//! `GET /v1/files/retrieve` with the `download_url`, and a bucket whose
//! signed URL can expire (403). MiniMax's servers cannot be reached here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{
    CameraMotion, DeviationKind, Field, ImageInput, Reference, ReferenceKind, ShotRequest, VideoInput, VideoRole,
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

const KEY: &str = "eyJhbGciOiJSUzI1NiJ9.minimax-test-key";
const COMMANDS: &[&str] = &[
    "Truck left",
    "Truck right",
    "Pan left",
    "Pan right",
    "Push in",
    "Pull out",
    "Pedestal up",
    "Pedestal down",
    "Tilt up",
    "Tilt down",
    "Zoom in",
    "Zoom out",
    "Shake",
    "Tracking shot",
    "Static shot",
];

#[derive(Default)]
struct MiniMaxState {
    origin: String,
    /// Task id -> (request body, polls so far).
    tasks: HashMap<String, (Value, u32)>,
    posts: u32,
    rate_limited: u32,
    spent: bool,
    fail: bool,
    expired: bool,
    video: Vec<u8>,
    cdn_auth: Vec<Option<String>>,
}

fn base(code: i64, message: &str) -> Value {
    json!({ "base_resp": { "status_code": code, "status_msg": message } })
}

fn invalid(why: &str) -> Response {
    reply(200, base(2013, &format!("invalid params, {why}")))
}

fn png_uri(value: &Value) -> bool {
    value.as_str().is_some_and(|u| u.starts_with("data:image/png;base64,iVBOR") && u.len() <= 20_000_000)
}

/// Checks a body as MiniMax documents it; `Err` is its refusal.
fn check_body(body: &Value) -> Result<(), Response> {
    let model = body["model"].as_str().unwrap_or_default();
    let models = ["MiniMax-Hailuo-02", "MiniMax-Hailuo-2.3", "T2V-01-Director", "I2V-01-Director", "S2V-01", "I2V-01"];
    if !models.contains(&model) {
        return Err(invalid(&format!("model {model} is not supported")));
    }
    let prompt = body["prompt"].as_str().unwrap_or_default();
    if prompt.chars().count() > 2000 {
        return Err(invalid("prompt exceeds 2000 characters"));
    }
    for group in prompt.split('[').skip(1) {
        let inside = group.split(']').next().unwrap_or_default();
        let commands: Vec<&str> = inside.split(',').map(str::trim).collect();
        if commands.len() > 3 || !commands.iter().all(|c| COMMANDS.contains(c)) {
            return Err(invalid(&format!("camera command [{inside}] is not supported")));
        }
    }
    if model.starts_with("MiniMax-Hailuo") {
        let duration = body["duration"].as_u64();
        let resolution = body["resolution"].as_str();
        if !matches!(duration, Some(6 | 10)) || !matches!(resolution, Some("512P" | "768P" | "1080P")) {
            return Err(invalid("duration must be 6 or 10 and resolution 512P, 768P or 1080P"));
        }
        if duration == Some(10) && resolution == Some("1080P") {
            return Err(invalid("1080P supports 6 s only"));
        }
    }
    if body.get("first_frame_image").is_some_and(|f| !png_uri(f)) {
        return Err(invalid("first_frame_image is not a valid image"));
    }
    if model.starts_with("I2V") && body.get("first_frame_image").is_none() {
        return Err(invalid("first_frame_image is required for I2V models"));
    }
    if let Some(last) = body.get("last_frame_image")
        && (model != "MiniMax-Hailuo-02" || body.get("first_frame_image").is_none() || !png_uri(last))
    {
        return Err(invalid("last_frame_image needs MiniMax-Hailuo-02 and a first_frame_image"));
    }
    if let Some(subject) = body.get("subject_reference") {
        let ok = model == "S2V-01"
            && subject.as_array().is_some_and(|s| s.len() == 1)
            && subject[0]["type"] == "character"
            && subject[0]["image"].as_array().is_some_and(|i| i.len() == 1 && png_uri(&i[0]));
        if !ok {
            return Err(invalid("subject_reference takes one character image, with S2V-01"));
        }
    }
    Ok(())
}

fn handle(state: &Mutex<MiniMaxState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(file) = request.path().strip_prefix("/bucket/") {
        s.cdn_auth.push(request.header("authorization").map(str::to_owned));
        if s.expired {
            let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>";
            return (403, vec![("content-type".into(), "application/xml".into())], xml.as_bytes().to_vec());
        }
        return if file.ends_with(".mp4") { (200, vec![], s.video.clone()) } else { (404, vec![], vec![]) };
    }
    if request.header("authorization") != Some(&format!("Bearer {KEY}")) {
        let message = "login fail: Please carry the API secret key in the 'Authorization' field of the request header";
        return reply(200, base(1004, message));
    }
    match (request.method.as_str(), request.path()) {
        ("POST", "/v1/video_generation") => {
            s.posts += 1;
            if s.spent {
                return reply(200, base(1008, "insufficient balance"));
            }
            if s.rate_limited > 0 {
                s.rate_limited -= 1;
                return reply(200, base(1002, "rate limit exceeded(RPM)"));
            }
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return invalid("body is not JSON");
            };
            if let Err(refusal) = check_body(&body) {
                return refusal;
            }
            let id = format!("10680{:05}", s.tasks.len() + 1);
            s.tasks.insert(id.clone(), (body, 0));
            let mut answer = base(0, "success");
            answer["task_id"] = json!(id);
            reply(200, answer)
        }
        ("GET", "/v1/query/video_generation") => {
            let fail = s.fail;
            let id = request.query("task_id").unwrap_or_default();
            let Some((_, polls)) = s.tasks.get_mut(&id) else {
                return invalid("task_id not found");
            };
            *polls += 1;
            let mut answer = base(0, "success");
            answer["task_id"] = json!(id);
            let status = match (*polls, fail) {
                (1, _) => "Queueing",
                (2, _) => "Preparing",
                (3, _) => "Processing",
                (_, true) => "Fail",
                _ => "Success",
            };
            answer["status"] = json!(status);
            match status {
                "Success" => {
                    (answer["file_id"], answer["video_width"], answer["video_height"]) =
                        (json!(format!("2790{id}")), json!(64), json!(36));
                }
                "Fail" => answer["base_resp"] = json!({ "status_code": 1027, "status_msg": "output video sensitive" }),
                _ => answer["file_id"] = json!(""),
            }
            reply(200, answer)
        }
        ("GET", "/v1/files/retrieve") => {
            let file = request.query("file_id").unwrap_or_default();
            let Some(task) = file.strip_prefix("2790").filter(|t| s.tasks.contains_key(*t)) else {
                return invalid("file_id not found");
            };
            let mut answer = base(0, "success");
            answer["file"] = json!({ "file_id": file, "bytes": s.video.len(), "created_at": 1_765_000_000,
                "filename": "output.mp4", "purpose": "video_generation",
                "download_url": format!("{}/bucket/{task}.mp4?Expires=1765032400&Signature=x", s.origin) });
            reply(200, answer)
        }
        _ => (404, vec![], b"404 page not found".to_vec()),
    }
}

fn setup(dir: &Path, key: &str) -> (Arc<Mutex<MiniMaxState>>, String, Generations) {
    // Six seconds of 25 fps, as MiniMax delivers (smaller).
    let video = vendor::counting_video(dir, 150, 25, 64, 36);
    let state = Arc::new(Mutex::new(MiniMaxState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let manifest = std::fs::read_to_string(guests::repo().join("plugins/minimax/adapter.toml")).unwrap();
    let network = manifest.split("origins = [").nth(2).unwrap().split(']').next().unwrap().to_owned();
    let lists = [network.as_str(), "\"https://api.minimax.io\", \"https://api.minimaxi.com\""];
    let secrets = [("MINIMAX_API_KEY", key)];
    let generations = vendor::install_against(dir, "minimax", &guests::guests().minimax, &lists, &origin, &secrets);
    (state, origin, generations)
}

fn half_red() -> Frame {
    let mut f = Frame::new(40, 30, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([0.5, 0.2, 0.8, 1.0]);
    f
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a kite snaps loose over the harbour");
    (r.width, r.height, r.fps, r.duration) = (64, 36, Rational::integer(24), Rational::integer(5));
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("minimax", r, 1).unwrap().results().remove(0)
}

fn sent_png(uri: &Value, dir: &Path) -> Frame {
    let path = dir.join("sent.png");
    std::fs::write(&path, vendor::data_uri_bytes(uri.as_str().unwrap())).unwrap();
    mattebox_core::media::read_image(&path).unwrap()
}

#[test]
fn first_and_last_frames_and_camera_commands_go_out_and_a_rate_limit_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    state.lock().unwrap().rate_limited = 2;
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    r.last_frame = Some(vendor::still(0.0));
    r.camera = CameraMotion { pan: -0.6, zoom: 0.3, horizontal: 0.2, vertical: 0.1, roll: 0.1, ..Default::default() };
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 3, "asked again after each 1002");
    let (id, (body, _)) = s.tasks.iter().next().unwrap();
    assert_eq!(body["model"], "MiniMax-Hailuo-02");
    assert_eq!(body["prompt"], "[Pan left,Push in,Truck right] a kite snaps loose over the harbour");
    assert_eq!((body["duration"].as_u64(), body["resolution"].as_str()), (Some(6), Some("512P")));
    assert_eq!(sent_png(&body["first_frame_image"], dir.path()).pixel_f32(3, 3)[0], 1.0);
    assert_eq!(sent_png(&body["last_frame_image"], dir.path()).pixel_f32(3, 3)[0], 0.0);
    assert!(s.cdn_auth.iter().all(Option::is_none), "the key never goes to the bucket");
    assert_eq!(take.frames, 144, "MiniMax's 6 s, resampled from 25 to 24 fps");
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
    let camera = take.deviations.iter().find(|d| d.field == Field::Camera).unwrap();
    assert_eq!(camera.kind, DeviationKind::Approximated);
    assert!(camera.note.contains("three at most") && camera.note.contains("no roll"), "{}", camera.note);
    assert!(take.deviations.iter().any(|d| d.field == Field::Duration && d.note.contains("6 s")));
}

#[test]
fn a_character_goes_as_a_subject_reference_and_a_continuation_starts_on_the_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let mut mei = Frame::new(48, 48, PixelFormat::Rgba8).unwrap();
    mei.view_mut().fill([0.25, 0.5, 0.75, 1.0]);
    let reference =
        Reference { kind: ReferenceKind::Character, name: "Mei".into(), image: ImageInput::new("mei.png", mei) };
    let mut r = request(&origin);
    r.references = vec![reference];
    // The default model takes no subject: dropped, and said how to get one.
    let take = take_of(&generations, r.clone()).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::References).unwrap();
    assert!(note.kind == DeviationKind::Dropped && note.note.contains("model=S2V-01"), "{}", note.note);
    r.extras.insert("model".into(), "S2V-01".into());
    let take = take_of(&generations, r).unwrap();
    assert!(!take.deviations.iter().any(|d| d.field == Field::References), "{:?}", take.deviations);
    {
        let s = state.lock().unwrap();
        let body = s.tasks.values().map(|(b, _)| b).find(|b| b["model"] == "S2V-01").unwrap();
        assert_eq!(body["subject_reference"][0]["type"], "character");
        let sent = sent_png(&body["subject_reference"][0]["image"][0], dir.path());
        assert_eq!(sent.width(), 48);
        assert!((sent.pixel_f32(1, 1)[2] - 0.75).abs() < 0.01, "Mei's own pixels went");
        assert!(body.get("duration").is_none(), "S2V-01 makes its own 6 s");
    }
    // A continued clip: its last frame is the first frame, and the take says so.
    let mut next = request(&origin);
    next.source_video = Some(
        VideoInput::new("take-1.mp4", VideoRole::Extend, Rational::integer(24), 48, vec![half_red()], None).unwrap(),
    );
    let take = take_of(&generations, next).unwrap();
    assert_eq!(
        take.deviations.iter().find(|d| d.field == Field::SourceVideo).unwrap().kind,
        DeviationKind::Approximated
    );
    let s = state.lock().unwrap();
    let body = &s.tasks.values().map(|(b, _)| b).find(|b| b.get("first_frame_image").is_some()).unwrap();
    assert!((sent_png(&body["first_frame_image"], dir.path()).pixel_f32(3, 3)[0] - 0.5).abs() < 0.01);
}

#[test]
fn refusals_an_empty_account_a_failed_task_and_an_expired_url_are_said_in_minimaxs_words() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let mut odd = request(&origin);
    odd.extras.insert("model".into(), "Hailuo-9".into());
    let err = take_of(&generations, odd).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("2013") && err.to_string().contains("Hailuo-9"), "{err}");
    state.lock().unwrap().spent = true;
    state.lock().unwrap().posts = 0;
    let mut spent = request(&origin);
    spent.prompt = "the kite lands".into();
    let err = take_of(&generations, spent).unwrap_err();
    assert!(err.to_string().contains("1008") && err.to_string().contains("balance"), "{err}");
    assert_eq!(state.lock().unwrap().posts, 1, "an empty account is not asked again");
    state.lock().unwrap().spent = false;
    state.lock().unwrap().fail = true;
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert!(err.to_string().contains("output video sensitive"), "{err}");
    {
        let mut s = state.lock().unwrap();
        (s.fail, s.expired) = (false, true);
    }
    let mut late = request(&origin);
    late.prompt = "gulls scatter".into();
    let err = take_of(&generations, late).unwrap_err();
    assert!(err.to_string().contains("expired") && err.to_string().contains("generate again"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup(dir.path(), "wrong-key");
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("1004") && err.to_string().contains("MATTEBOX_SECRET_MINIMAX_API_KEY"), "{err}");
}
