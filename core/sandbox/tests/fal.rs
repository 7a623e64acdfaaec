//! The fal adapter against a local server that follows fal's published
//! queue API: `Authorization: Key ...` (401 `{"detail"}` otherwise), `POST
//! /{model}` answering `request_id` and the `status_url`, `response_url` and
//! `cancel_url` under the model's app, the status going `IN_QUEUE` and
//! `IN_PROGRESS` (HTTP 202) to `COMPLETED` (200), the inputs checked when
//! the request runs as fal's models check them (a 422 `{"detail": [{loc,
//! msg}]}` from the `response_url`), 429 over the account's concurrency,
//! `PUT .../cancel`, and results with `video.url` on fal's CDN. Two models
//! as fal hosts them: Kling image to video (`prompt`, `image_url`,
//! `tail_image_url`, `duration` "5" or "10") and LatentSync (`video_url`,
//! `audio_url`). fal cannot be reached here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{DeviationKind, EncodedFile, Field, ShotRequest, SoundRole, VideoInput, VideoRole};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const KEY: &str = "3f1a9c2e-key:9b8d7c6e5f4a3b2c1d0e";
const KLING: &str = "fal-ai/kling-video/v2.1/master/image-to-video";
const LATENTSYNC: &str = "fal-ai/latentsync";

#[derive(Default)]
struct FalState {
    origin: String,
    /// Request id -> (model, inputs, status polls).
    requests: HashMap<String, (String, Value, u32)>,
    posts: u32,
    busy: u32,
    hold: bool,
    cancelled: Vec<String>,
    video: Vec<u8>,
    cdn_auth: Vec<Option<String>>,
}

fn missing(field: &str) -> Vec<Value> {
    vec![json!({ "loc": ["body", field], "msg": "field required", "type": "value_error.missing" })]
}

fn data_uri(value: &Value, mime: &str, magic: &[u8]) -> bool {
    value
        .as_str()
        .and_then(|u| u.strip_prefix(&format!("data:{mime};base64,")))
        .and_then(vendor::base64_decode)
        .is_some_and(|bytes| bytes.windows(magic.len()).take(16).any(|w| w == magic))
}

/// The model's own check of its inputs, as it runs.
fn check_inputs(model: &str, inputs: &Value) -> Vec<Value> {
    let mut wrong = Vec::new();
    match model {
        KLING => {
            if !inputs["prompt"].is_string() {
                wrong.extend(missing("prompt"));
            }
            if !data_uri(&inputs["image_url"], "image/png", b"\x89PNG") {
                wrong.extend(missing("image_url"));
            }
            if inputs.get("tail_image_url").is_some_and(|t| !data_uri(t, "image/png", b"\x89PNG")) {
                wrong.push(json!({ "loc": ["body", "tail_image_url"], "msg": "invalid image", "type": "value_error" }));
            }
            if !matches!(inputs["duration"].as_str(), None | Some("5" | "10")) {
                wrong.push(json!({ "loc": ["body", "duration"], "msg": "value is not a valid enumeration member; permitted: '5', '10'", "type": "type_error.enum" }));
            }
        }
        _ => {
            if !data_uri(&inputs["video_url"], "video/mp4", b"ftyp") {
                wrong.extend(missing("video_url"));
            }
            if !data_uri(&inputs["audio_url"], "audio/wav", b"RIFF") {
                wrong.extend(missing("audio_url"));
            }
        }
    }
    wrong
}

fn handle(state: &Mutex<FalState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if request.path().starts_with("/files/") {
        s.cdn_auth.push(request.header("authorization").map(str::to_owned));
        return (200, vec![("content-type".into(), "video/mp4".into())], s.video.clone());
    }
    if request.header("authorization") != Some(&format!("Key {KEY}")) {
        return reply(
            401,
            json!({ "detail": "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'." }),
        );
    }
    let path = request.path().trim_start_matches('/').to_owned();
    let origin = s.origin.clone();
    if let Some((app, rest)) = path.split_once("/requests/") {
        let (id, verb) = rest.split_once('/').unwrap_or((rest, ""));
        let hold = s.hold;
        let Some((model, inputs, polls)) = s.requests.get_mut(id) else {
            return reply(404, json!({ "detail": "Request not found" }));
        };
        assert!(model.starts_with(app), "fal's URLs are under the model's app");
        return match (request.method.as_str(), verb) {
            ("GET", "status") => {
                *polls += 1;
                match *polls {
                    1 => reply(202, json!({ "status": "IN_QUEUE", "queue_position": 2, "response_url": "" })),
                    _ if hold => reply(202, json!({ "status": "IN_PROGRESS", "logs": [] })),
                    2 => reply(202, json!({ "status": "IN_PROGRESS", "logs": [{ "message": "step 10/50" }] })),
                    _ => {
                        reply(200, json!({ "status": "COMPLETED", "logs": [], "metrics": { "inference_time": 41.2 } }))
                    }
                }
            }
            ("GET", "") => {
                let wrong = check_inputs(model, inputs);
                if !wrong.is_empty() {
                    return reply(422, json!({ "detail": wrong }));
                }
                reply(
                    200,
                    json!({ "video": { "url": format!("{origin}/files/{id}/output.mp4"),
                    "content_type": "video/mp4", "file_name": "output.mp4", "file_size": s.video.len() } }),
                )
            }
            ("PUT", "cancel") => {
                let id = id.to_owned();
                s.cancelled.push(id);
                reply(202, json!({ "status": "CANCELLATION_REQUESTED" }))
            }
            _ => reply(405, json!({ "detail": "Method Not Allowed" })),
        };
    }
    if request.method != "POST" {
        return reply(405, json!({ "detail": "Method Not Allowed" }));
    }
    if path != KLING && path != LATENTSYNC {
        return reply(404, json!({ "detail": format!("Application '{path}' not found") }));
    }
    s.posts += 1;
    if s.busy > 0 {
        s.busy -= 1;
        return reply(429, json!({ "detail": "Too many concurrent requests for this account" }));
    }
    let Ok(inputs) = serde_json::from_slice::<Value>(&request.body) else {
        return reply(400, json!({ "detail": "Invalid JSON" }));
    };
    let id = format!("764cabcf-b745-4b3e-ae38-{:012}", s.requests.len() + 1);
    s.requests.insert(id.clone(), (path.clone(), inputs, 0));
    let app: Vec<&str> = path.split('/').take(2).collect();
    let base = format!("{origin}/{}/requests/{id}", app.join("/"));
    reply(
        200,
        json!({ "request_id": id, "response_url": base, "status_url": format!("{base}/status"),
                       "cancel_url": format!("{base}/cancel"), "queue_position": 0 }),
    )
}

fn setup(dir: &Path, key: &str) -> (Arc<Mutex<FalState>>, String, Generations) {
    let video = vendor::counting_video(dir, 120, 24, 64, 36);
    let state = Arc::new(Mutex::new(FalState { video, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let lists = [
        "\"https://queue.fal.run\", \"https://v3.fal.media\", \"https://v2.fal.media\", \"https://fal.media\"",
        "\"https://queue.fal.run\"",
    ];
    let generations = vendor::install_against(dir, "fal", &guests::guests().fal, &lists, &origin, &[("FAL_KEY", key)]);
    (state, origin, generations)
}

fn request(origin: &str, model: &str, inputs: Value) -> ShotRequest {
    let mut r = ShotRequest::new("a cyclist weaves through a night market");
    (r.width, r.height, r.fps, r.duration) = (64, 36, Rational::integer(24), Rational::integer(5));
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r.extras.insert("model".into(), model.into());
    r.extras.insert("inputs".into(), inputs.to_string());
    r
}

fn kling_inputs() -> Value {
    json!({ "prompt": "{{prompt}}", "image_url": "{{first_frame}}", "tail_image_url": "{{last_frame}}",
            "negative_prompt": "{{negative_prompt}}", "duration": "5" })
}

/// Every placeholder a mapping may use, each in an input of its own.
fn every_field() -> Value {
    json!({ "prompt": "{{prompt}}", "image_url": "{{first_frame}}", "negative_prompt": "{{negative_prompt}}",
            "seed": "{{seed}}", "size": "{{width}}x{{height}}", "frames": "{{frames}}", "fps": "{{fps}}",
            "seconds": "{{seconds}}", "aspect_ratio": "{{aspect_ratio}}", "reference": "{{reference_1}}" })
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("fal", r, 1).unwrap().results().remove(0)
}

#[test]
fn the_users_mapping_fills_a_hosted_kling_and_unfilled_inputs_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    state.lock().unwrap().busy = 1;
    let mut r = request(&origin, KLING, kling_inputs());
    r.first_frame = Some(vendor::still(1.0));
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 2, "the 429 was asked again");
    let (id, (_, inputs, _)) = s.requests.iter().next().unwrap();
    assert_eq!(inputs["prompt"], "a cyclist weaves through a night market");
    assert_eq!(inputs["negative_prompt"], "");
    assert!(inputs.get("tail_image_url").is_none(), "no last frame, so the input is left to its default: {inputs}");
    let png = vendor::data_uri_bytes(inputs["image_url"].as_str().unwrap());
    let path = dir.path().join("sent.png");
    std::fs::write(&path, png).unwrap();
    assert_eq!(mattebox_core::media::read_image(&path).unwrap().pixel_f32(2, 2)[0], 1.0);
    assert!(s.cdn_auth.iter().all(Option::is_none), "the key never goes to the CDN");
    assert_eq!(take.frames, 120);
    assert_eq!(take.vendor_generation.as_deref(), Some(id.as_str()));
    let seed = take.deviations.iter().find(|d| d.field == Field::Seed).unwrap();
    assert!(seed.kind == DeviationKind::Dropped && seed.note.contains("{{seed}}"), "{}", seed.note);
}

/// LatentSync through fal: the take to re-mouth and the line go as data
/// URIs, and the take says nothing was dropped of either.
#[test]
fn a_hosted_lip_sync_model_gets_the_clip_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let line = dir.path().join("line.wav");
    vendor::tone_file(&line, 300, 16000, 2);
    let clip = vendor::counting_video(dir.path(), 48, 24, 64, 36);
    let mut r = request(&origin, LATENTSYNC, json!({ "video_url": "{{source_video}}", "audio_url": "{{dialogue}}" }));
    r.source_video = Some(
        VideoInput::new(
            "take-1.mp4",
            VideoRole::Lipsync,
            Rational::integer(24),
            48,
            vec![Frame::new(64, 36, PixelFormat::Rgba8).unwrap()],
            Some(EncodedFile::new("take-1.mp4", clip.clone())),
        )
        .unwrap(),
    );
    r.audio = vec![mattebox_core::generate::read_sound(&line, SoundRole::Dialogue).unwrap()];
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    let inputs = &s.requests.values().next().unwrap().1;
    assert_eq!(vendor::data_uri_bytes(inputs["video_url"].as_str().unwrap()), clip, "the clip as it is");
    assert!(vendor::data_uri_bytes(inputs["audio_url"].as_str().unwrap()).starts_with(b"RIFF"));
    let fields: Vec<Field> = take.deviations.iter().map(|d| d.field).collect();
    assert!(!fields.contains(&Field::SourceVideo) && !fields.contains(&Field::Audio), "{:?}", take.deviations);
}

#[test]
fn a_typo_a_model_that_refuses_its_inputs_and_a_bad_key_are_said_before_or_in_fals_words() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let typo = request(&origin, KLING, json!({ "prompt": "{{promt}}" }));
    let err = take_of(&generations, typo).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("{{promt}}"), "{err}");
    assert_eq!(state.lock().unwrap().posts, 0, "nothing was sent");
    let mut unnamed = request(&origin, KLING, kling_inputs());
    unnamed.extras.remove("model");
    let err = take_of(&generations, unnamed).unwrap_err();
    assert!(err.to_string().contains("mattebox plugin config fal model="), "{err}");
    // No first frame: Kling on fal refuses when it runs, in its own words.
    let err = take_of(&generations, request(&origin, KLING, kling_inputs())).unwrap_err();
    assert!(err.to_string().contains("body.image_url: field required"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let (_, origin, generations) = setup(dir.path(), "wrong-key:000000000");
    let mut r = request(&origin, KLING, kling_inputs());
    r.first_frame = Some(vendor::still(0.5));
    let err = take_of(&generations, r).unwrap_err();
    assert!(err.to_string().contains("refused the key") && !err.to_string().contains("wrong-key"), "{err}");
}

#[test]
fn a_cancelled_take_cancels_its_fal_request() {
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    state.lock().unwrap().hold = true;
    let mut r = request(&origin, KLING, kling_inputs());
    r.first_frame = Some(vendor::still(0.5));
    let job = generations.submit("fal", r, 1).unwrap();
    vendor::cancel_once(&job, || state.lock().unwrap().requests.values().any(|(_, _, polls)| *polls >= 3));
    assert_eq!(state.lock().unwrap().cancelled.len(), 1, "fal was told to cancel");
}

/// What a mapping can take of a shot arrives as the server reads it: each
/// value with its type, a reference image as a data URI, and the take says
/// nothing of the fields the mapping took.
#[test]
fn every_placeholder_arrives_with_its_type() {
    use mattebox_core::shot::{Reference, ReferenceKind};
    let dir = tempfile::tempdir().unwrap();
    let (state, origin, generations) = setup(dir.path(), KEY);
    let mut r = request(&origin, KLING, every_field());
    r.first_frame = Some(vendor::still(1.0));
    (r.seed, r.negative_prompt) = (42, "rain".into());
    r.references = vec![Reference { kind: ReferenceKind::Character, name: "Mei".into(), image: vendor::still(0.25) }];
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    let inputs = &s.requests.values().next().unwrap().1;
    assert_eq!((inputs["seed"].as_u64(), inputs["negative_prompt"].as_str()), (Some(42), Some("rain")));
    assert_eq!((inputs["size"].as_str(), inputs["frames"].as_u64()), (Some("64x36"), Some(120)));
    assert_eq!((inputs["fps"].as_f64(), inputs["seconds"].as_u64()), (Some(24.0), Some(5)));
    assert_eq!(inputs["aspect_ratio"], "16:9");
    assert!(vendor::data_uri_bytes(inputs["reference"].as_str().unwrap()).starts_with(b"\x89PNG"));
    let fields: Vec<Field> = take.deviations.iter().map(|d| d.field).collect();
    for honoured in [Field::Seed, Field::NegativePrompt, Field::References, Field::Duration, Field::Fps, Field::Size] {
        assert!(!fields.contains(&honoured), "{honoured:?} was taken: {:?}", take.deviations);
    }
}
