//! The Veo adapter against a local server that follows Google's published
//! APIs for Veo. The Gemini API: `x-goog-api-key` (a bad key is HTTP 400
//! INVALID_ARGUMENT, as Google answers), `POST
//! /v1beta/models/{model}:predictLongRunning` with `instances` (prompt,
//! `image`, `lastFrame` with an image, up to three `referenceImages`,
//! `video` by the URI of a file it made) and `parameters` (16:9 or 9:16,
//! 720p or 1080p with 1080p at 8 s only, 4/6/8 s and none when extending,
//! seeds below 2^32, no `generateAudio`), 429 RESOURCE_EXHAUSTED over
//! quota, `GET /v1beta/{operation}` until `done` with
//! `generateVideoResponse.generatedSamples[].video.uri` or the safety
//! filter's reasons, and the file's download redirected to storage. An
//! extension comes back as one video, the source first. Vertex AI: a bearer
//! token from the service account's `token_uri` (a JWT-bearer grant whose
//! RS256 signature is checked with the account's public key),
//! `generateAudio` required for Veo 3, `fetchPredictOperation`, the video
//! inline as base64. Both make `sampleCount` videos of one request (Vertex
//! 1-4, the Gemini API 1-2 for Veo 2 and 1 for Veo 3), fewer when the
//! safety filter withholds some. Google's servers cannot be reached here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mattebox_core::generate::Generations;
use mattebox_core::shot::{DeviationKind, Field, Reference, ReferenceKind, ShotRequest, VideoInput, VideoRole};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
#[path = "common/vendor.rs"]
mod vendor;
use server::{Request, Response, json as reply, serve};

const KEY: &str = "AIzaSyLocalTestKey0123456789";
const ACCESS_TOKEN: &str = "ya29.local-vertex-token";

#[derive(Default)]
struct VeoState {
    origin: String,
    /// Operation name -> (model, request body, polls).
    operations: HashMap<String, (String, Value, u32)>,
    posts: u32,
    quota_exhausted: u32,
    filtered: bool,
    /// 6 s of video with a tone, and 13 s for an extension (the source's 6 s first).
    video: Vec<u8>,
    extended: Vec<u8>,
    /// Samples 2-4 of a request: 5, 4 and 3 s long, so that each take
    /// shows which sample it holds.
    samples: Vec<Vec<u8>>,
    /// Samples the safety filter withholds from the next answer.
    withhold: usize,
    /// Files this server generated (their URIs).
    files: Vec<String>,
    storage_auth: Vec<Option<String>>,
    token_requests: u32,
    public_key: PathBuf,
    scratch: PathBuf,
}

fn google_error(status: u16, code: &str, message: &str) -> Response {
    reply(status, json!({ "error": { "code": status, "message": message, "status": code } }))
}

fn image_ok(image: &Value) -> bool {
    image["mimeType"] == "image/png"
        && image["bytesBase64Encoded"]
            .as_str()
            .and_then(vendor::base64_decode)
            .is_some_and(|png| png.starts_with(b"\x89PNG"))
}

/// Checks a body as Veo does on either API; `Err` is its refusal.
fn check_body(s: &VeoState, body: &Value, vertex: bool, model: &str) -> Result<(), Response> {
    let bad = |message: &str| Err(google_error(400, "INVALID_ARGUMENT", message));
    let instance = &body["instances"][0];
    let parameters = &body["parameters"];
    if !instance["prompt"].is_string() {
        return bad("instances[0].prompt is required");
    }
    if instance.get("image").is_some() && !image_ok(&instance["image"]) {
        return bad("instances[0].image is not a supported image");
    }
    if instance.get("lastFrame").is_some() && (instance.get("image").is_none() || !image_ok(&instance["lastFrame"])) {
        return bad("lastFrame needs an image");
    }
    if let Some(refs) = instance.get("referenceImages") {
        let refs = refs.as_array().cloned().unwrap_or_default();
        if refs.len() > 3 || !refs.iter().all(|r| r["referenceType"] == "asset" && image_ok(&r["image"])) {
            return bad("referenceImages takes up to 3 asset images");
        }
    }
    let extending = instance.get("video").is_some();
    if extending {
        let known = instance["video"]["uri"].as_str().is_some_and(|u| s.files.iter().any(|f| f == u));
        let inline = vertex && instance["video"]["bytesBase64Encoded"].is_string();
        if !(known || inline) {
            return bad("the video to extend must be one Veo generated");
        }
        if parameters.get("durationSeconds").is_some() {
            return bad("durationSeconds cannot be set when extending a video");
        }
    } else if model.starts_with("veo-2") {
        if !matches!(parameters["durationSeconds"].as_u64(), Some(5..=8)) {
            return bad("durationSeconds must be between 5 and 8 for Veo 2");
        }
    } else if !matches!(parameters["durationSeconds"].as_u64(), Some(4 | 6 | 8)) {
        return bad("durationSeconds must be 4, 6 or 8");
    }
    if !matches!(parameters["aspectRatio"].as_str(), Some("16:9" | "9:16")) {
        return bad("aspectRatio must be 16:9 or 9:16");
    }
    match parameters["resolution"].as_str() {
        Some("720p") => {}
        Some("1080p") if extending || parameters["durationSeconds"] == 8 => {}
        _ => return bad("resolution must be 720p, or 1080p with 8 s"),
    }
    let most = match (vertex, model.starts_with("veo-2")) {
        (true, _) => 4,
        (false, true) => 2,
        (false, false) => 1,
    };
    if parameters["sampleCount"].as_u64().is_none_or(|n| n == 0 || n > most) {
        return bad(&format!("sampleCount must be between 1 and {most} for {model}"));
    }
    if parameters["seed"].as_u64().is_none_or(|seed| seed > u32::MAX as u64) {
        return bad("seed must be an unsigned 32-bit integer");
    }
    match (vertex, parameters.get("generateAudio")) {
        (false, Some(_)) => return bad("generateAudio parameter is not supported in Gemini API"),
        (true, None) if model.starts_with("veo-3") => return bad("generateAudio is required for Veo 3 models"),
        _ => {}
    }
    Ok(())
}

/// A JWT-bearer grant, its RS256 signature checked with the account's key.
fn token(s: &mut VeoState, request: &Request) -> Response {
    s.token_requests += 1;
    let form = String::from_utf8_lossy(&request.body).to_string();
    let Some(assertion) =
        form.strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
    else {
        return reply(400, json!({ "error": "unsupported_grant_type", "error_description": "Invalid grant_type" }));
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let invalid = || reply(400, json!({ "error": "invalid_grant", "error_description": "Invalid JWT Signature." }));
    if parts.len() != 3 {
        return invalid();
    }
    let claims: Value =
        serde_json::from_slice(&vendor::base64_decode(parts[1]).unwrap_or_default()).unwrap_or_default();
    let signed = s.scratch.join("signed.txt");
    let signature = s.scratch.join("signature.bin");
    std::fs::write(&signed, format!("{}.{}", parts[0], parts[1])).unwrap();
    std::fs::write(&signature, vendor::base64_decode(parts[2]).unwrap_or_default()).unwrap();
    let verified = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&s.public_key)
        .arg("-signature")
        .arg(&signature)
        .arg(&signed)
        .output()
        .unwrap()
        .status
        .success();
    let aud = format!("{}/token", s.origin);
    let scope_ok = claims["scope"] == "https://www.googleapis.com/auth/cloud-platform";
    if !verified || claims["iss"] != "render@studio.iam.gserviceaccount.com" || claims["aud"] != aud || !scope_ok {
        return invalid();
    }
    reply(200, json!({ "access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer" }))
}

fn handle(state: &Mutex<VeoState>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    let path = request.path().to_owned();
    if path == "/token" {
        return token(&mut s, &request);
    }
    if let Some(file) = path.strip_prefix("/storage/") {
        s.storage_auth.push(request.header("x-goog-api-key").map(str::to_owned));
        let sample = file.trim_end_matches(".mp4").rsplit_once("-s").and_then(|(_, k)| k.parse::<usize>().ok());
        let bytes = match sample {
            Some(k) if k > 0 => s.samples[k - 1].clone(),
            _ if file.starts_with("ext-") => s.extended.clone(),
            _ => s.video.clone(),
        };
        return (200, vec![], bytes);
    }
    let vertex = path.starts_with("/v1/projects/");
    let authorised = if vertex {
        request.header("authorization") == Some(&format!("Bearer {ACCESS_TOKEN}"))
    } else {
        request.header("x-goog-api-key") == Some(KEY)
    };
    if !authorised && vertex {
        return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    if !authorised {
        return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
    }
    let origin = s.origin.clone();
    if let Some((model_path, verb)) = path.rsplit_once(':') {
        let model = model_path.rsplit('/').next().unwrap_or_default().to_owned();
        match (request.method.as_str(), verb) {
            ("POST", "predictLongRunning") => {
                s.posts += 1;
                if s.quota_exhausted > 0 {
                    s.quota_exhausted -= 1;
                    return google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
                }
                let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                    return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
                };
                if let Err(refusal) = check_body(&s, &body, vertex, &model) {
                    return refusal;
                }
                let name = format!("{model_path}/operations/op-{}", s.operations.len() + 1);
                let name =
                    name.trim_start_matches('/').trim_start_matches("v1beta/").trim_start_matches("v1/").to_owned();
                s.operations.insert(name.clone(), (model, body, 0));
                return reply(200, json!({ "name": name }));
            }
            ("POST", "fetchPredictOperation") if vertex => {
                let asked: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let name = asked["operationName"].as_str().unwrap_or_default().to_owned();
                let (video, extended, samples) = (s.video.clone(), s.extended.clone(), s.samples.clone());
                let Some((_, body, polls)) = s.operations.get_mut(&name) else {
                    return google_error(404, "NOT_FOUND", "Operation not found");
                };
                *polls += 1;
                if *polls < 2 {
                    return reply(200, json!({ "name": name }));
                }
                let first = if body["instances"][0].get("video").is_some() { extended } else { video };
                let count = body["parameters"]["sampleCount"].as_u64().unwrap_or(1) as usize;
                let withheld = std::mem::take(&mut s.withhold).min(count);
                let videos: Vec<Value> = std::iter::once(&first)
                    .chain(&samples)
                    .take(count - withheld)
                    .map(|bytes| json!({ "bytesBase64Encoded": base64(bytes), "mimeType": "video/mp4" }))
                    .collect();
                return reply(
                    200,
                    json!({ "name": name, "done": true, "response": {
                    "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                    "raiMediaFilteredCount": withheld,
                    "videos": videos } }),
                );
            }
            ("GET", "download") => {
                let file = model_path.rsplit('/').next().unwrap_or_default();
                return (302, vec![("location".into(), format!("{origin}/storage/{file}.mp4"))], vec![]);
            }
            _ => {}
        }
    }
    if let ("GET", Some(name)) = (request.method.as_str(), path.strip_prefix("/v1beta/")) {
        let filtered = s.filtered;
        let Some((_, body, polls)) = s.operations.get_mut(name) else {
            return google_error(404, "NOT_FOUND", "Operation not found");
        };
        *polls += 1;
        if *polls < 2 {
            return reply(200, json!({ "name": name }));
        }
        let extending = body["instances"][0].get("video").is_some();
        if filtered {
            return reply(
                200,
                json!({ "name": name, "done": true, "response": { "generateVideoResponse": {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["The video could not be generated because it may violate our policies."] } } }),
            );
        }
        let id = format!("{}{}", if extending { "ext-" } else { "" }, name.rsplit('-').next().unwrap_or("0"));
        let count = body["parameters"]["sampleCount"].as_u64().unwrap_or(1) as usize;
        let uris: Vec<String> =
            (0..count).map(|k| format!("{origin}/v1beta/files/{id}-s{k}:download?alt=media")).collect();
        for uri in &uris {
            if !s.files.contains(uri) {
                s.files.push(uri.clone());
            }
        }
        let samples: Vec<Value> = uris.iter().map(|uri| json!({ "video": { "uri": uri } })).collect();
        return reply(
            200,
            json!({ "name": name, "done": true, "response": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": { "generatedSamples": samples } } }),
        );
    }
    google_error(404, "NOT_FOUND", "Requested entity was not found.")
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

struct Setup {
    state: Arc<Mutex<VeoState>>,
    origin: String,
    generations: Generations,
}

fn setup(dir: &Path, key: &str) -> Setup {
    let six = vendor::counting_video(dir, 144, 24, 64, 36);
    let video = vendor::with_tone(dir, &six, "six");
    let thirteen = vendor::counting_video(dir, 312, 24, 64, 36);
    let extended = vendor::with_tone(dir, &thirteen, "thirteen");
    let private = dir.join("key.pem");
    let public = dir.join("key.pub");
    let made = std::process::Command::new("openssl")
        .args(["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&private)
        .status()
        .unwrap();
    assert!(made.success());
    let made = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap();
    assert!(made.success());
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let samples = (1..4).map(|k| vendor::counting_video(dir, 144 - 24 * k, 24, 64, 36)).collect();
    let state =
        Arc::new(Mutex::new(VeoState { video, extended, samples, public_key: public, scratch, ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    state.lock().unwrap().origin = origin.clone();
    let account = json!({
        "type": "service_account",
        "project_id": "studio",
        "client_email": "render@studio.iam.gserviceaccount.com",
        "private_key": std::fs::read_to_string(&private).unwrap(),
        "token_uri": format!("{origin}/token"),
    })
    .to_string();
    let manifest = std::fs::read_to_string(guests::repo().join("plugins/veo/adapter.toml")).unwrap();
    let network = manifest.split("origins = [\n").nth(1).unwrap().split(']').next().unwrap().to_owned();
    let lists = [
        network.as_str(),
        "\"https://generativelanguage.googleapis.com\"",
        "\"https://us-central1-aiplatform.googleapis.com\", \"https://aiplatform.googleapis.com\"",
    ];
    let secrets = [("GEMINI_API_KEY", key), ("GOOGLE_SERVICE_ACCOUNT", account.as_str())];
    let generations = vendor::install_against(dir, "veo", &guests::guests().veo, &lists, &origin, &secrets);
    Setup { state, origin, generations }
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("rain beads on a neon sign");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(24), Rational::integer(5), 11);
    r.extras.insert("api".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    r
}

fn take_of(generations: &Generations, r: ShotRequest) -> mattebox_core::Result<mattebox_core::shot::Take> {
    generations.submit("veo", r, 1).unwrap().results().remove(0)
}

fn takes_of(generations: &Generations, r: ShotRequest, takes: u32) -> Vec<mattebox_core::shot::Take> {
    generations.submit("veo", r, takes).unwrap().results().into_iter().map(|t| t.unwrap()).collect()
}

/// The sample counts of the requests the server was sent, in order.
fn sample_counts(s: &VeoState) -> Vec<u64> {
    let mut operations: Vec<(&String, &(String, Value, u32))> = s.operations.iter().collect();
    operations.sort_by_key(|(name, _)| name.rsplit('-').next().and_then(|n| n.parse::<u32>().ok()));
    operations.iter().map(|(_, (_, body, _))| body["parameters"]["sampleCount"].as_u64().unwrap_or(0)).collect()
}

#[test]
fn gemini_gets_the_frames_references_and_parameters_and_the_take_keeps_veos_sound() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY);
    state.lock().unwrap().quota_exhausted = 1;
    let mut r = request(&origin);
    r.first_frame = Some(vendor::still(1.0));
    r.last_frame = Some(vendor::still(0.0));
    r.negative_prompt = "blur".into();
    r.references = (0..4)
        .map(|n| Reference {
            kind: ReferenceKind::Character,
            name: format!("ref{n}"),
            image: vendor::still(n as f32 / 4.0),
        })
        .collect();
    let take = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.posts, 2, "the 429 was asked again");
    let (model, body, _) = s.operations.values().next().unwrap();
    assert_eq!(model, "veo-3.1-generate-preview");
    let p = &body["parameters"];
    assert_eq!((p["durationSeconds"].as_u64(), p["resolution"].as_str()), (Some(6), Some("720p")));
    assert_eq!((p["aspectRatio"].as_str(), p["seed"].as_u64()), (Some("16:9"), Some(11)));
    assert_eq!(p["negativePrompt"], "blur");
    assert_eq!(body["instances"][0]["referenceImages"].as_array().unwrap().len(), 3);
    assert!(image_ok(&body["instances"][0]["lastFrame"]));
    // The file came through Google's redirect to storage, the key not following it.
    assert_eq!(s.storage_auth, [None]);
    assert_eq!(take.frames, 144, "6 s at 24 fps: {:?}", take.deviations);
    assert!(take.audio.is_some(), "Veo's sound track is the take's sound");
    assert!(take.vendor_generation.as_deref().is_some_and(|id| s.files.iter().any(|f| f == id)));
    let references = take.deviations.iter().find(|d| d.field == Field::References).unwrap();
    assert_eq!(references.kind, DeviationKind::Approximated);
    assert!(take.deviations.iter().any(|d| d.field == Field::Duration && d.note.contains("6 s")));
}

fn flat(red: f32) -> Frame {
    let mut f = Frame::new(64, 36, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([red, 0.0, 1.0, 1.0]);
    f
}

/// A Veo take continued on the Gemini API: its file goes back by URI, and
/// of the 13 s Veo returns (the source's 6 s, then 7 s more) the take keeps
/// the new 7 s.
#[test]
fn a_veo_take_is_extended_by_its_file_and_only_the_new_part_kept() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY);
    let first = take_of(&generations, request(&origin)).unwrap();
    let vendor = first.vendor_source().unwrap();
    let source = VideoInput::new("take-1", VideoRole::Extend, first.fps, first.frames, vec![flat(0.9)], None)
        .unwrap()
        .with_vendor(vendor.clone());
    let mut next = request(&origin);
    next.prompt = "the sign flickers out".into();
    next.source_video = Some(source);
    let take = take_of(&generations, next).unwrap();
    {
        let s = state.lock().unwrap();
        let body = &s.operations["models/veo-3.1-generate-preview/operations/op-2"].1;
        assert_eq!(body["instances"][0]["video"]["uri"].as_str(), Some(vendor.id.as_str()));
        assert!(body["parameters"].get("durationSeconds").is_none());
    }
    assert_eq!(take.frames, 168, "7 s at 24 fps: {:?}", take.deviations);
    let options = mattebox_core::media::OpenOptions::default();
    let frame = mattebox_core::media::MediaReader::open(&take.media, &options).unwrap().read_frame(0).unwrap();
    let red = frame.pixel_f32(10, 10)[0];
    assert!((red - 144.0 / 312.0).abs() < 0.03, "the first kept frame follows the source: red {red}");
    assert!(take.deviations.iter().any(|d| d.field == Field::Duration && d.note.contains("7 s")));
}

/// Vertex AI: the host trades the service account for a token (once), the
/// body asks for sound, and the video comes back inline.
#[test]
fn vertex_is_reached_with_a_token_the_host_signs_for() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), "unused-gemini-key");
    let mut r = request(&origin);
    r.extras.insert("project".into(), "studio".into());
    r.width = 36;
    r.height = 64;
    let take = take_of(&generations, r.clone()).unwrap();
    r.prompt = "a second take".into();
    let again = take_of(&generations, r).unwrap();
    let s = state.lock().unwrap();
    assert_eq!(s.token_requests, 1, "the token was reused");
    let (_, body, _) = s.operations.values().next().unwrap();
    assert_eq!(body["parameters"]["generateAudio"], true);
    assert_eq!(body["parameters"]["aspectRatio"], "9:16");
    assert_eq!((take.frames, again.frames), (144, 144));
    assert!(take.vendor_generation.as_deref().unwrap().starts_with("projects/studio/locations/us-central1/"));
}

/// Four takes on Vertex are one request's four samples, each kept as a
/// take of its own (the vendor's sample k in take k), cached under its own
/// key; a sample the safety filter withheld is asked for again alone.
#[test]
fn takes_asked_together_are_one_requests_samples() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), "unused-gemini-key");
    let mut r = request(&origin);
    r.extras.insert("project".into(), "studio".into());
    let takes = takes_of(&generations, r.clone(), 4);
    {
        let s = state.lock().unwrap();
        assert_eq!(sample_counts(&s), [4], "one request for four takes");
    }
    assert_eq!(takes.iter().map(|t| t.frames).collect::<Vec<_>>(), [144, 120, 96, 72], "sample k is take k");
    assert!(takes.iter().all(|t| t.seed == 11), "Veo was given the first take's seed");
    let ids: Vec<&str> = takes.iter().map(|t| t.vendor_generation.as_deref().unwrap()).collect();
    assert!(ids[0].ends_with("op-1") && ids[3].ends_with("op-1#3"), "{ids:?}");
    for take in &takes[1..] {
        let note = take.deviations.iter().find(|d| d.field == Field::Seed).expect("the seed is said");
        assert!(note.note.contains("take 1") && note.note.contains("seed 11"), "{}", note.note);
    }
    // What the adapter said of the request is said of every sample.
    assert!(takes.iter().all(|t| t.deviations.iter().any(|d| d.field == Field::Duration)), "{:?}", takes[3]);
    assert!(takes[0].audio.is_some() && takes[1].audio.is_none(), "each take keeps its own sample's sound");
    let again = takes_of(&generations, r.clone(), 4);
    assert!(again.iter().all(|t| t.from_cache), "each sample is cached under its take's key");

    // The filter withholds one of three: that take is asked for alone.
    r.prompt = "hail on the sign".into();
    state.lock().unwrap().withhold = 1;
    let takes = takes_of(&generations, r, 3);
    let s = state.lock().unwrap();
    assert_eq!(sample_counts(&s), [4, 3, 1]);
    assert_eq!(takes.iter().map(|t| t.frames).collect::<Vec<_>>(), [144, 120, 144]);
    assert!(takes[2].deviations.iter().all(|d| d.field != Field::Seed), "asked alone, with its own seed");
    assert_eq!(takes[2].seed, 13);
}

/// On the Gemini API, Veo 3 makes one video a request and Veo 2 two.
#[test]
fn gemini_asks_for_as_many_samples_as_the_model_makes() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY);
    let takes = takes_of(&generations, request(&origin), 2);
    assert_eq!(sample_counts(&state.lock().unwrap()), [1, 1]);
    assert!(takes.iter().all(|t| t.frames == 144 && t.deviations.iter().all(|d| d.field != Field::Seed)));
    let mut two = request(&origin);
    two.extras.insert("model".into(), "veo-2.0-generate-001".into());
    let takes = takes_of(&generations, two, 3);
    let s = state.lock().unwrap();
    assert_eq!(sample_counts(&s), [1, 1, 2, 1], "three takes: two samples, then one more");
    assert_eq!(takes.iter().map(|t| t.frames).collect::<Vec<_>>(), [144, 120, 144]);
    assert_ne!(takes[0].vendor_generation, takes[1].vendor_generation);
}

#[test]
fn refusals_and_the_safety_filter_are_said_in_googles_words() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { state, origin, generations } = setup(dir.path(), KEY);
    let mut odd = request(&origin);
    odd.extras.insert("resolution".into(), "4k".into());
    let err = take_of(&generations, odd).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("INVALID_ARGUMENT") && err.to_string().contains("resolution"), "{err}");
    state.lock().unwrap().filtered = true;
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("safety filter") && err.to_string().contains("violate our policies"), "{err}");
    drop(generations);
    let dir = tempfile::tempdir().unwrap();
    let Setup { origin, generations, .. } = setup(dir.path(), "AIzaWrongKey000000");
    let err = take_of(&generations, request(&origin)).unwrap_err();
    assert!(err.to_string().contains("API key not valid"), "{err}");
    assert!(!err.to_string().contains("AIzaWrong"), "the key is never shown: {err}");
}
