//! The Luma adapter against a local server that follows Luma's published
//! Dream Machine API (the schema its official SDKs are generated from):
//! a bearer key (401 `{"detail"}` otherwise), `POST
//! /dream-machine/v1/generations` checked as Luma's schema checks it (the
//! models, the seven aspect ratios, 540p to 4k, `5s` or `9s`, `loop`,
//! camera `concepts` by key, `keyframes.frame0/frame1` as
//! `{"type": "image", "url"}` which Luma then fetches, or `{"type":
//! "generation", "id"}` of a generation it completed) and refused with
//! `{"detail": [{loc, msg}]}`, 429 while the account is over its rate,
//! `GET /generations/{id}` going through `queued` and `dreaming` to
//! `completed` with `assets.video` or `failed` with `failure_reason`, and
//! `DELETE /generations/{id}`. An extension comes back whole (parent
//! first). Beside it, the user's own file server the keyframes are put
//! on, wanting its own Authorization header. Luma's servers cannot be
//! reached here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{CameraMotion, DeviationKind, Field, ShotRequest, VideoInput, VideoRole};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const KEY: &str = "luma-0123456789abcdef";
const UPLOAD_AUTH: &str = "Bearer upload-token-42";
const CONCEPTS: &[&str] = &[
    "truck_left",
    "truck_right",
    "pan_left",
    "pan_right",
    "pedestal_up",
    "pedestal_down",
    "tilt_up",
    "tilt_down",
    "roll_left",
    "roll_right",
    "push_in",
    "pull_out",
    "zoom_in",
    "zoom_out",
    "handheld",
    "dolly_zoom",
    "orbit_left",
    "orbit_right",
    "static",
    "aerial",
    "crane_up",
    "crane_down",
];

#[derive(Default)]
struct LumaState {
    origin: String,
    /// Generation id -> (request body, polls so far).
    generations: HashMap<String, (Value, u32)>,
    completed: Vec<String>,
    posts: u32,
    rate_limited: u32,
    fail_with: Option<String>,
    hold: bool,
    deleted: Vec<String>,
    /// 5 s of video, and 10 s for an extension (the parent's 5 s first).
    video: Vec<u8>,
    extended: Vec<u8>,
    /// Headers of every request the CDN and the upload server saw.
    cdn_auth: Vec<Option<String>>,
    /// The user's file server: name -> PNG, and the Authorization of each PUT.
    files: HashMap<String, Vec<u8>>,
    upload_auth: Vec<Option<String>>,
    /// Where the file server serves what was put (Luma fetches from there).
    public: String,
}

fn refuse(loc: &[&str], msg: &str) -> Response {
    reply(400, json!({ "detail": [{ "loc": loc, "msg": msg, "type": "value_error" }] }))
}

/// Checks a body as Luma's schema does, fetching image keyframes as Luma
/// would; `Err` is its refusal.
fn check_body(s: &LumaState, body: &Value) -> Result<(), Response> {
    if !matches!(body["model"].as_str(), Some("ray-2" | "ray-flash-2" | "ray-1-6")) {
        return Err(refuse(&["body", "model"], "Input should be 'ray-1-6', 'ray-2' or 'ray-flash-2'"));
    }
    let ratios = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"];
    if !body["aspect_ratio"].as_str().is_some_and(|r| ratios.contains(&r)) {
        return Err(refuse(&["body", "aspect_ratio"], "Input should be one of the aspect ratios"));
    }
    if body.get("resolution").is_some()
        && !matches!(body["resolution"].as_str(), Some("540p" | "720p" | "1080p" | "4k"))
    {
        return Err(refuse(&["body", "resolution"], "Input should be '540p', '720p', '1080p' or '4k'"));
    }
    if body.get("duration").is_some() && !matches!(body["duration"].as_str(), Some("5s" | "9s")) {
        return Err(refuse(&["body", "duration"], "Input should be '5s' or '9s'"));
    }
    if body.get("loop").is_some_and(|l| !l.is_boolean()) {
        return Err(refuse(&["body", "loop"], "Input should be a valid boolean"));
    }
    for (n, concept) in body["concepts"].as_array().into_iter().flatten().enumerate() {
        if !concept["key"].as_str().is_some_and(|k| CONCEPTS.contains(&k)) {
            return Err(refuse(&["body", "concepts", &n.to_string(), "key"], "Unknown concept"));
        }
    }
    for frame in ["frame0", "frame1"] {
        let keyframe = &body["keyframes"][frame];
        match keyframe["type"].as_str() {
            None if keyframe.is_null() => {}
            Some("image") => {
                let url = keyframe["url"].as_str().unwrap_or_default();
                let fetched = url.strip_prefix(&format!("{}/", s.public)).and_then(|name| s.files.get(name));
                if !fetched.is_some_and(|png| png.starts_with(b"\x89PNG")) {
                    return Err(reply(400, json!({ "detail": format!("Could not load image from url: {url}") })));
                }
            }
            Some("generation") => {
                let id = keyframe["id"].as_str().unwrap_or_default();
                if !s.completed.iter().any(|c| c == id) {
                    return Err(reply(400, json!({ "detail": format!("Generation {id} not found or not completed") })));
                }
            }
            _ => return Err(refuse(&["body", "keyframes", frame], "Input tag does not match 'image' or 'generation'")),
        }
    }
    if body["prompt"].as_str().is_none_or(str::is_empty) && body["keyframes"].is_null() {
        return Err(refuse(&["body", "prompt"], "Field required"));
    }
    Ok(())
}

fn handle(state: &Mutex<LumaState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if let Some(file) = request.path().strip_prefix("/cdn/") {
        s.cdn_auth.push(request.header("authorization").map(str::to_owned));
        let whole = file.strip_suffix("-extended.mp4").is_some();
        return (200, vec![], if whole { s.extended.clone() } else { s.video.clone() });
    }
    if request.header("authorization") != Some(&format!("Bearer {KEY}")) {
        return reply(401, json!({ "detail": "Invalid API key provided" }));
    }
    let Some(path) = request.path().strip_prefix("/dream-machine/v1/") else {
        return reply(404, json!({ "detail": "Not Found" }));
    };
    let parts: Vec<&str> = path.split('/').collect();
    match (request.method.as_str(), parts.as_slice()) {
        ("POST", ["generations"]) => {
            s.posts += 1;
            if s.rate_limited > 0 {
                s.rate_limited -= 1;
                let mut r = reply(429, json!({ "detail": "Too many requests, please slow down" }));
                r.1.push(("retry-after".into(), "0".into()));
                return r;
            }
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                return reply(400, json!({ "detail": "Invalid JSON" }));
            };
            if let Err(refusal) = check_body(&s, &body) {
                return refusal;
            }
            let id = format!("5e0c1d2a-0000-4000-8000-{:012}", s.generations.len() + 1);
            s.generations.insert(id.clone(), (body.clone(), 0));
            reply(
                201,
                json!({ "id": id, "generation_type": "video", "state": "queued", "failure_reason": null,
                              "created_at": "2026-12-06T12:00:00Z", "assets": null, "model": body["model"],
                              "request": body }),
            )
        }
        ("GET", ["generations", id]) => {
            let (origin, fail, hold) = (s.origin.clone(), s.fail_with.clone(), s.hold);
            let Some((body, polls)) = s.generations.get_mut(*id) else {
                return reply(404, json!({ "detail": "Generation not found" }));
            };
            *polls += 1;
            let extension = body["keyframes"]["frame0"]["type"] == "generation";
            let (state, extra) = match (*polls, fail) {
                (1, _) => ("queued", json!({})),
                (2, _) => ("dreaming", json!({})),
                _ if hold => ("dreaming", json!({})),
                (_, Some(why)) => ("failed", json!({ "failure_reason": why })),
                _ => {
                    let name = if extension { format!("{id}-extended.mp4") } else { format!("{id}.mp4") };
                    ("completed", json!({ "assets": { "video": format!("{origin}/cdn/{name}") } }))
                }
            };
            if state == "completed" && !s.completed.iter().any(|c| c == id) {
                s.completed.push(id.to_string());
            }
            let mut answer = json!({ "id": id, "generation_type": "video", "state": state,
                                     "created_at": "2026-12-06T12:00:00Z", "model": "ray-2" });
            answer.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            reply(200, answer)
        }
        ("DELETE", ["generations", id]) => {
            if s.generations.remove(*id).is_none() {
                return reply(404, json!({ "detail": "Generation not found" }));
            }
            s.deleted.push(id.to_string());
            (204, vec![], vec![])
        }
        _ => reply(404, json!({ "detail": "Not Found" })),
    }
}

/// The user's file server: PUT under /put/ with its token, served under /public/.
fn files(state: &Mutex<LumaState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    match (request.method.as_str(), request.path()) {
        ("PUT", path) if path.starts_with("/put/") => {
            s.upload_auth.push(request.header("authorization").map(str::to_owned));
            if request.header("authorization") != Some(UPLOAD_AUTH) {
                return (401, vec![], b"unauthorized".to_vec());
            }
            s.files.insert(path["/put/".len()..].to_owned(), request.body);
            (201, vec![], vec![])
        }
        ("GET", path) if path.starts_with("/public/") => match s.files.get(&path["/public/".len()..]) {
            Some(png) => (200, vec![], png.clone()),
            None => (404, vec![], vec![]),
        },
        _ => (404, vec![], vec![]),
    }
}

struct Setup {
    state: Arc<Mutex<LumaState>>,
    origin: String,
    generations: Generations,
}

fn setup(dir: &Path, key: &str, with_upload: bool) -> Setup {
    let video = vendor::counting_video(dir, 120, 24, 64, 36);
    let extended = vendor::counting_video(dir, 240, 24, 64, 36);
    let state = Arc::new(Mutex::new(LumaState { video, extended, ..Default::default() }));
    let api_state = state.clone();
    let origin = serve(move |r| handle(&api_state, r));
    let files_state = state.clone();
    let file_server = serve(move |r| files(&files_state, r));
    {
        let mut s = state.lock().unwrap();
        s.origin = origin.clone();
        s.public = format!("{file_server}/public");
    }
    let lists = ["\"https://api.lumalabs.ai\", \"https://storage.cdn-luma.com\"", "\"https://api.lumalabs.ai\""];
    let secrets = [("LUMAAI_API_KEY", key), ("LUMA_UPLOAD_AUTH", UPLOAD_AUTH)];
    let (upload, public) = (format!("{file_server}/put/"), format!("{file_server}/public/"));
    let settings: Vec<(&str, &str)> =
        if with_upload { vec![("upload", &upload), ("image_url", &public)] } else { vec![] };
    let generations =
        vendor::install_with_settings(dir, "luma", &guests::guests().luma, &lists, &origin, &secrets, &settings);
    Setup { state, origin, generations }
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a lantern drifts over a night market");
    (r.width, r.height, r.fps, r.duration) = (64, 36, Rational::integer(24), Rational::integer(5));
    r.extras.insert("api".into(), format!("{origin}/dream-machine/v1"));
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("luma", r, 1).unwrap().results().remove(0)
}

#[test]
fn keyframes_go_to_the_users_server_and_the_camera_becomes_concepts() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY, true);
    state.lock().unwrap().rate_limited = 1;
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    r.last_frame = Some(vendor::still(0.0));
    r.duration = Rational::integer(9);
    r.camera = CameraMotion { pan: -0.5, zoom: 0.2, ..Default::default() };
    r.extras.insert("loop".into(), "true".into());
    r.extras.insert("concepts".into(), "handheld".into());
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 2, "the 429 was asked again");
    let (id, (body, _)) = s.generations.iter().next().unwrap();
    assert_eq!(body["model"], "ray-2");
    assert_eq!((body["aspect_ratio"].as_str(), body["resolution"].as_str()), (Some("16:9"), Some("540p")));
    assert_eq!((body["duration"].as_str(), body["loop"].as_bool()), (Some("9s"), Some(true)));
    assert_eq!(body["prompt"], "a lantern drifts over a night market");
    let keys: Vec<&str> = body["concepts"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["pan_left", "push_in", "handheld"], "the strongest axis first, then the user's");
    // Both frames were put on the user's server (with its token), and Luma was given where to read them.
    assert_eq!(s.files.len(), 2);
    assert!(s.upload_auth.iter().all(|a| a.as_deref() == Some(UPLOAD_AUTH)));
    for frame in ["frame0", "frame1"] {
        assert_eq!(body["keyframes"][frame]["type"], "image");
        assert!(body["keyframes"][frame]["url"].as_str().unwrap().starts_with(&s.public), "{body}");
    }
    let first = &s.files[body["keyframes"]["frame0"]["url"].as_str().unwrap().rsplit('/').next().unwrap()];
    let path = dir.path().join("frame0.png");
    std::fs::write(&path, first).unwrap();
    let decoded = mattebox_core::media::read_image(&path).unwrap();
    assert_eq!((decoded.width(), decoded.height(), decoded.pixel_f32(2, 2)[0]), (40, 30, 1.0));
    assert!(s.cdn_auth.iter().all(Option::is_none), "no credential goes to where videos are served");
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
    assert_eq!(take.frames, 120, "Luma's 5 s at 24 fps as it delivered them");
    let field = |f: Field| take.deviations.iter().find(|d| d.field == f);
    assert_eq!(field(Field::Camera).unwrap().kind, DeviationKind::Approximated);
    assert_eq!(field(Field::Seed).unwrap().kind, DeviationKind::Dropped);
    assert!(field(Field::Duration).is_none(), "9 s was asked and sent: {:?}", take.deviations);
}

#[test]
fn frames_without_an_upload_server_are_refused_with_the_command_that_names_one() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY, false);
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    let err = take_of(&generations, r).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("mattebox plugin config luma upload="), "{err}");
    assert_eq!(state.lock().unwrap().posts, 0, "nothing went to Luma");
    // Text alone needs no server; 4 s is made as 5 s and said.
    let mut text = request(&origin);
    text.duration = Rational::integer(4);
    let take = take_of(&generations, text).unwrap();
    assert!(take.deviations.iter().any(|d| d.field == Field::Duration && d.note.contains("5 s")));
    let s = state.lock().unwrap();
    let body = &s.generations.values().next().unwrap().0;
    assert!(body.get("keyframes").is_none() && body.get("concepts").is_none(), "{body}");
    assert_eq!(body["duration"], "5s");
}

fn flat(red: f32) -> Frame {
    let mut f = Frame::new(64, 36, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([red, 0.0, 1.0, 1.0]);
    f
}

/// A Luma take continued by its generation id: nothing uploaded, and of
/// the whole video Luma returns the take keeps what follows the parent. A
/// clip Luma did not make starts on its last frame, put on the server.
#[test]
fn a_luma_take_is_continued_by_its_generation_and_only_the_new_part_kept() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY, true);
    let first = take_of(&generations, request(&origin)).unwrap();
    let vendor = first.vendor_source().expect("the first take has Luma's id");
    let source = VideoInput::new("take-1", VideoRole::Extend, first.fps, first.frames, vec![flat(0.9)], None)
        .unwrap()
        .with_vendor(vendor.clone());
    let mut next = request(&origin);
    next.prompt = "the lantern rises out of frame".into();
    next.source_video = Some(source.clone());
    let take = take_of(&generations, next.clone()).unwrap();
    {
        let s = state.lock().unwrap();
        let (_, (body, _)) = s.generations.iter().find(|(id, _)| **id != vendor.id).unwrap();
        assert_eq!(body["keyframes"]["frame0"], json!({ "type": "generation", "id": vendor.id }));
        assert!(s.files.is_empty(), "nothing was uploaded");
    }
    // The server's extension is 10 s (red = frame / 240), the parent's 5 s first.
    assert_eq!(take.frames, 120, "{:?}", take.deviations);
    let options = mattebox_core::media::OpenOptions::default();
    let frame = mattebox_core::media::MediaReader::open(&take.media, &options).unwrap().read_frame(0).unwrap();
    let red = frame.pixel_f32(10, 10)[0];
    assert!((red - 0.5).abs() < 0.03, "the first kept frame follows the parent: red {red}");
    assert!(!take.deviations.iter().any(|d| d.field == Field::SourceVideo), "{:?}", take.deviations);

    // Another generator's take: its last frame goes up as frame0.
    let foreign =
        source.with_vendor(mattebox_core::shot::VendorGeneration { generator: "kling".into(), id: vendor.id.clone() });
    next.source_video = Some(foreign);
    let take = take_of(&generations, next).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).unwrap();
    assert_eq!(note.kind, DeviationKind::Approximated, "{}", note.note);
    let s = state.lock().unwrap();
    assert_eq!(s.files.len(), 1, "the source's last frame was put on the server");
    let png = s.files.values().next().unwrap();
    let path = dir.path().join("last.png");
    std::fs::write(&path, png).unwrap();
    let red = mattebox_core::media::read_image(&path).unwrap().pixel_f32(2, 2)[0];
    assert!((red - 0.9).abs() < 0.01, "{red}");
}

#[test]
fn refusals_and_failures_come_back_in_lumas_words() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY, true);
    let mut odd = request(&origin);
    odd.extras.insert("concepts".into(), "barrel_roll".into());
    let err = take_of(&generations, odd).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("concepts.0.key") && err.to_string().contains("Unknown concept"), "{err}");
    state.lock().unwrap().fail_with = Some("The prompt was flagged by moderation".into());
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Vendor);
    assert!(err.to_string().contains("flagged by moderation"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let Setup { origin, generations, .. } = setup(dir.path(), "luma-wrong-key-000", true);
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("refused the API key") && err.to_string().contains("Invalid API key"), "{err}");
    assert!(!err.to_string().contains("luma-wrong"), "the key is never shown: {err}");
}

#[test]
fn a_cancelled_take_deletes_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY, true);
    state.lock().unwrap().hold = true;
    let job = generations.submit("luma", request(&origin), 1).unwrap();
    vendor::cancel_once(&job, || state.lock().unwrap().generations.values().any(|(_, polls)| *polls >= 4));
    assert_eq!(state.lock().unwrap().deleted.len(), 1, "Luma was told to stop");
}
