//! The Jimeng adapter against a local server that follows Volcengine's
//! published visual API: every call signed with signature V4 (checked here
//! by an implementation of the test's own: `HMAC-SHA256`, the credential
//! scope `DATE/cn-north-1/cv/request`, `host`, `x-date` and
//! `x-content-sha256` signed; a bad one is the gateway's HTTP 401
//! `SignatureDoesNotMatch` in `ResponseMetadata.Error`), `POST
//! ?Action=CVSync2AsyncSubmitTask&Version=2022-08-31` checked per
//! `req_key` (how many images each takes, 121 or 241 frames, aspect ratios
//! for text only, a camera template and strength for `recamera`), answered
//! `{code: 10000, data: {task_id}}` or a code of its own (50429 over the
//! rate, with HTTP 429; 50412 for a prompt its content check refuses), and
//! `CVSync2AsyncGetResult` going from `in_queue` through `generating` to
//! `done` with a `video_url`. Volcengine cannot be reached here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use mattebox_core::generate::Generations;
use mattebox_core::shot::{CameraMotion, DeviationKind, Field, ShotRequest, VideoInput, VideoRole};
use mattebox_core::{ErrorKind, Rational};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const ACCESS: &str = "AKLTtestaccesskey0001";
const SECRET: &str = "WTJGdFpYSmhibVJ0WVhSMFpXSnZlQT09";
const TEMPLATES: &[&str] = &[
    "hitchcock_dolly_in",
    "hitchcock_dolly_out",
    "robo_arm",
    "dynamic_orbit",
    "central_orbit",
    "crane_push",
    "quick_pull_back",
    "counterclockwise_swivel",
    "clockwise_swivel",
    "handheld",
    "rapid_push_pull",
];

#[derive(Default)]
struct VisualState {
    origin: String,
    /// Task id -> (request body, polls).
    tasks: HashMap<String, (Value, u32)>,
    submits: u32,
    rate_limited: u32,
    lose_tasks: bool,
    video: Vec<u8>,
    cdn_auth: Vec<Option<String>>,
    /// Requests whose signature was checked and held.
    verified: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks a request's Volcengine V4 signature with the test's keys.
fn signature_holds(request: &Request) -> bool {
    let Some(auth) = request.header("authorization") else { return false };
    let Some(rest) = auth.strip_prefix("HMAC-SHA256 ") else { return false };
    let part = |name: &str| {
        rest.split(", ").find_map(|p| p.strip_prefix(&format!("{name}="))).map(str::to_owned).unwrap_or_default()
    };
    let (credential, signed, signature) = (part("Credential"), part("SignedHeaders"), part("Signature"));
    let stamp = request.header("x-date").unwrap_or_default();
    let date = stamp.get(..8).unwrap_or_default();
    let scope = format!("{date}/cn-north-1/cv/request");
    let payload = hex(&Sha256::digest(&request.body));
    let names: Vec<&str> = signed.split(';').collect();
    if credential != format!("{ACCESS}/{scope}")
        || request.header("x-content-sha256") != Some(payload.as_str())
        || !["host", "x-date", "x-content-sha256"].iter().all(|n| names.contains(n))
    {
        return false;
    }
    let headers: String =
        names.iter().map(|n| format!("{n}:{}\n", request.header(n).unwrap_or_default().trim())).collect();
    let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort();
    let canonical =
        format!("{}\n{}\n{}\n{headers}\n{signed}\n{payload}", request.method, request.path(), pairs.join("&"));
    let to_sign = format!("HMAC-SHA256\n{stamp}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
    let mut key = hmac(SECRET.as_bytes(), date);
    for piece in ["cn-north-1", "cv", "request"] {
        key = hmac(&key, piece);
    }
    hex(&hmac(&key, &to_sign)) == signature
}

fn visual(status: u16, code: i64, message: &str) -> Response {
    reply(status, json!({ "code": code, "message": message, "request_id": "20261206", "status": code, "data": null }))
}

/// How many images each model takes.
fn images_for(req_key: &str) -> Option<usize> {
    Some(match req_key {
        "jimeng_t2v_v30" | "jimeng_t2v_v30_1080p" => 0,
        "jimeng_i2v_first_v30" | "jimeng_i2v_first_v30_1080" | "jimeng_i2v_recamera_v30" => 1,
        "jimeng_i2v_first_tail_v30" | "jimeng_i2v_first_tail_v30_1080" => 2,
        _ => return None,
    })
}

fn check_submit(body: &Value) -> Result<(), Response> {
    let bad = |what: &str| Err(visual(400, 50400, &format!("Invalid Parameter: {what}")));
    let req_key = body["req_key"].as_str().unwrap_or_default();
    let Some(wanted) = images_for(req_key) else { return bad("req_key") };
    let images = body["binary_data_base64"].as_array().map(Vec::len).unwrap_or(0);
    let all_png = body["binary_data_base64"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i.as_str().and_then(vendor::base64_decode).is_some_and(|p| p.starts_with(b"\x89PNG")));
    if images != wanted || !all_png {
        return bad("binary_data_base64");
    }
    if !matches!(body["frames"].as_u64(), Some(121 | 241)) {
        return bad("frames");
    }
    if body["seed"].as_i64().is_none_or(|s| !(-1..=i32::MAX as i64).contains(&s)) {
        return bad("seed");
    }
    let ratios = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"];
    match (wanted, body.get("aspect_ratio")) {
        (0, Some(r)) if !r.as_str().is_some_and(|r| ratios.contains(&r)) => return bad("aspect_ratio"),
        (1 | 2, Some(_)) => return bad("aspect_ratio"),
        _ => {}
    }
    if req_key == "jimeng_i2v_recamera_v30" {
        let template = body["template_id"].as_str().is_some_and(|t| TEMPLATES.contains(&t));
        let strength = matches!(body["camera_strength"].as_str(), Some("weak" | "medium" | "strong"));
        if !template || !strength {
            return bad("template_id / camera_strength");
        }
    }
    if body["prompt"].as_str().is_some_and(|p| p.contains("forbidden")) {
        return Err(visual(200, 50412, "Pre Text Risk Not Pass"));
    }
    Ok(())
}

fn handle(state: &Mutex<VisualState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if request.path().starts_with("/video/") {
        s.cdn_auth.push(request.header("authorization").map(str::to_owned));
        return (200, vec![], s.video.clone());
    }
    let action = request.query("Action").unwrap_or_default();
    if !signature_holds(&request) {
        return reply(
            401,
            json!({ "ResponseMetadata": { "RequestId": "20261206", "Action": action,
            "Version": "2022-08-31", "Service": "cv", "Region": "cn-north-1", "Error": { "CodeN": 100010,
            "Code": "SignatureDoesNotMatch",
            "Message": "The request signature we calculated does not match the signature you provided." } } }),
        );
    }
    s.verified += 1;
    if request.method != "POST" || request.query("Version").as_deref() != Some("2022-08-31") {
        return visual(400, 50400, "Invalid Parameter: Version");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return visual(400, 50400, "Invalid Parameter: body");
    };
    match action.as_str() {
        "CVSync2AsyncSubmitTask" => {
            s.submits += 1;
            if s.rate_limited > 0 {
                s.rate_limited -= 1;
                return visual(429, 50429, "Request Has Reached API Limit, Please Try Later");
            }
            if let Err(refusal) = check_submit(&body) {
                return refusal;
            }
            let id = format!("{}", 7_390_000_000_000_000_000u64 + s.tasks.len() as u64);
            s.tasks.insert(id.clone(), (body, 0));
            reply(
                200,
                json!({ "code": 10000, "message": "Success", "request_id": "20261206", "status": 10000,
                               "data": { "task_id": id }, "time_elapsed": "104.85ms" }),
            )
        }
        "CVSync2AsyncGetResult" => {
            let (origin, lose) = (s.origin.clone(), s.lose_tasks);
            let id = body["task_id"].as_str().unwrap_or_default().to_owned();
            let status = match s.tasks.get_mut(&id) {
                _ if lose => "not_found",
                None => "not_found",
                Some((task, polls)) => {
                    if task["req_key"] != body["req_key"] {
                        return visual(400, 50400, "Invalid Parameter: req_key does not match the task");
                    }
                    *polls += 1;
                    match *polls {
                        1 => "in_queue",
                        2 => "generating",
                        _ => "done",
                    }
                }
            };
            let video_url =
                if status == "done" { format!("{origin}/video/{id}.mp4?x-expires=1765100000") } else { String::new() };
            reply(
                200,
                json!({ "code": 10000, "message": "Success", "request_id": "20261206", "status": 10000,
                               "data": { "status": status, "video_url": video_url } }),
            )
        }
        _ => visual(400, 50400, "Invalid Parameter: Action"),
    }
}

fn setup(dir: &Path, secret: &str) -> (Arc<Mutex<VisualState>>, String, Generations) {
    let video = vendor::counting_video(dir, 121, 24, 64, 36);
    let state = Arc::new(Mutex::new(VisualState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let lists = [
        "\"https://visual.volcengineapi.com\", \"https://v3-artist.vlabvod.com\", \"https://v9-artist.vlabvod.com\"",
        "\"https://visual.volcengineapi.com\"",
    ];
    let secrets = [("VOLC_ACCESS_KEY", ACCESS), ("VOLC_SECRET_KEY", secret)];
    let generations = vendor::install_against(dir, "jimeng", &guests::guests().jimeng, &lists, &origin, &secrets);
    (state, origin, generations)
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("lanterns rise over a river at night");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(24), Rational::integer(5), 11);
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("jimeng", r, 1).unwrap().results().remove(0)
}

#[test]
fn first_and_last_frames_go_signed_to_the_first_tail_model_and_a_rate_limit_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), SECRET);
    state.lock().unwrap().rate_limited = 1;
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    r.last_frame = Some(vendor::still(0.0));
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.submits, 2, "50429 was asked again");
    let (id, (body, _)) = s.tasks.iter().next().unwrap();
    assert_eq!(body["req_key"], "jimeng_i2v_first_tail_v30");
    assert_eq!(body["prompt"], "lanterns rise over a river at night");
    assert_eq!((body["frames"].as_u64(), body["seed"].as_i64()), (Some(121), Some(11)));
    assert!(body.get("aspect_ratio").is_none(), "the frames set the shape");
    let first = vendor::base64_decode(body["binary_data_base64"][0].as_str().unwrap()).unwrap();
    let path = dir.path().join("first.png");
    std::fs::write(&path, first).unwrap();
    assert_eq!(mattebox_core::media::read_image(&path).unwrap().pixel_f32(2, 2)[0], 1.0);
    assert!(s.verified >= 5, "every call was signed: {}", s.verified);
    assert!(s.cdn_auth.iter().all(Option::is_none), "no signature goes to where videos are served");
    assert_eq!(take.frames, 121, "Jimeng's 121 frames");
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
}

#[test]
fn a_camera_template_goes_with_the_moves_strength_and_text_goes_at_1080p() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), SECRET);
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(0.5));
    r.camera = CameraMotion { zoom: 0.8, pan: 0.1, ..Default::default() };
    r.extras.insert("template".into(), "robo_arm".into());
    let take = take_of(&generations, r).unwrap();
    let camera = take.deviations.iter().find(|d| d.field == Field::Camera).unwrap();
    assert_eq!(camera.kind, DeviationKind::Approximated, "{}", camera.note);
    let mut text = request(&origin);
    text.extras.insert("resolution".into(), "1080p".into());
    text.duration = Rational::integer(9);
    text.camera = CameraMotion { pan: 0.3, ..Default::default() };
    let take = take_of(&generations, text).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::Camera).unwrap();
    assert!(note.kind == DeviationKind::Dropped && note.note.contains("--extra template="), "{}", note.note);
    // A continued clip starts on its last frame.
    let mut next = request(&origin);
    next.source_video = Some(
        VideoInput::new(
            "take-1.mp4",
            VideoRole::Extend,
            Rational::integer(24),
            48,
            vec![vendor::still(0.25).frame().clone()],
            None,
        )
        .unwrap(),
    );
    take_of(&generations, next).unwrap();
    let s = state.lock().unwrap();
    let by_key = |k: &str| s.tasks.values().map(|(b, _)| b).find(|b| b["req_key"] == k).unwrap().clone();
    let recamera = by_key("jimeng_i2v_recamera_v30");
    assert_eq!(
        (recamera["template_id"].as_str(), recamera["camera_strength"].as_str()),
        (Some("robo_arm"), Some("strong"))
    );
    let text = by_key("jimeng_t2v_v30_1080p");
    assert_eq!((text["aspect_ratio"].as_str(), text["frames"].as_u64()), (Some("16:9"), Some(241)));
    let continued = by_key("jimeng_i2v_first_v30");
    let png = vendor::base64_decode(continued["binary_data_base64"][0].as_str().unwrap()).unwrap();
    let path = dir.path().join("last.png");
    std::fs::write(&path, png).unwrap();
    assert!((mattebox_core::media::read_image(&path).unwrap().pixel_f32(2, 2)[0] - 0.25).abs() < 0.01);
}

#[test]
fn a_bad_key_a_refused_prompt_and_a_lost_task_are_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), SECRET);
    let mut refused = request(&origin);
    refused.prompt = "a forbidden scene".into();
    let err = take_of(&generations, refused).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("content check") && err.to_string().contains("50412"), "{err}");
    state.lock().unwrap().lose_tasks = true;
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("not_found"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup(dir.path(), "V1JPTkdTRUNSRVRLRVkwMDAwMDA=");
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
    assert!(err.to_string().contains("MATTEBOX_SECRET_VOLC_SECRET_KEY"), "{err}");
}
