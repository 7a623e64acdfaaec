//! The ComfyUI adapter against a local server that speaks ComfyUI's HTTP
//! API (`POST /upload/image`, `POST /prompt`, `GET /history/{id}`,
//! `GET /view`). A real ComfyUI cannot be installed here; the outputs the
//! server reports are the ones a real ComfyUI sent, taken from the
//! recorded transcript in `../shared/fixtures/comfyui/`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::media::{MediaWriter, WriteOptions};
use mattebox_core::shot::{Field, ImageInput, Reference, ReferenceKind, ShotRequest};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};
use serde_json::{Value, json};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
use server::{Request, Response, json as reply, serve};

/// The `output` of the first `executed` message of a recorded run.
fn recorded_output(run: &str) -> Value {
    let path = guests::repo().join("../shared/fixtures/comfyui/comfy_ws_transcript.json");
    let transcript: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let executed = transcript[run].as_array().unwrap().iter().find(|m| m["type"] == "executed").unwrap();
    json!({ executed["data"]["node"].as_str().unwrap(): executed["data"]["output"] })
}

/// What the server saw and will answer.
#[derive(Default)]
struct Comfy {
    uploads: HashMap<String, Vec<u8>>,
    prompts: HashMap<String, (Value, u32)>,
    /// Outputs reported for every prompt (node id -> output).
    outputs: Value,
    /// Files `/view` serves, by "subfolder/filename".
    files: HashMap<String, Vec<u8>>,
    /// Answer `/prompt` with this error instead.
    refuse: Option<Value>,
    /// Report this execution error in the history instead of outputs.
    fail: Option<String>,
}

fn handle(state: &Mutex<Comfy>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    match (request.method.as_str(), request.path()) {
        ("POST", "/upload/image") => {
            let body = &request.body;
            // The file part's name and bytes, from the multipart body.
            let text = String::from_utf8_lossy(body);
            let name = text.split("filename=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_owned();
            let start = body.windows(4).position(|w| w == b"\x89PNG").unwrap();
            let end = body.windows(8).rposition(|w| w == b"IEND\xaeB`\x82").unwrap() + 8;
            s.uploads.insert(name.clone(), body[start..end].to_vec());
            reply(200, json!({ "name": name, "subfolder": "", "type": "input" }))
        }
        ("POST", "/prompt") => {
            if let Some(error) = &s.refuse {
                return reply(400, error.clone());
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert!(body["client_id"].is_string());
            let id = format!("prompt-{}", s.prompts.len() + 1);
            s.prompts.insert(id.clone(), (body["prompt"].clone(), 0));
            reply(200, json!({ "prompt_id": id, "number": 1, "node_errors": {} }))
        }
        ("GET", path) if path.starts_with("/history/") => {
            let id = path.trim_start_matches("/history/").to_owned();
            let fail = s.fail.clone();
            let outputs = s.outputs.clone();
            let Some((_, polls)) = s.prompts.get_mut(&id) else {
                return reply(200, json!({}));
            };
            *polls += 1;
            if *polls < 2 {
                return reply(200, json!({})); // still running: not in the history yet
            }
            let entry = match fail {
                Some(why) => json!({ "outputs": {}, "status": { "status_str": "error", "completed": false,
                    "messages": [["execution_error", { "node_id": "2", "exception_message": why }]] } }),
                None => {
                    json!({ "outputs": outputs, "status": { "status_str": "success", "completed": true, "messages": [] } })
                }
            };
            reply(200, json!({ id: entry }))
        }
        ("GET", "/view") => {
            assert_eq!(request.query("type").as_deref(), Some("output"));
            let key =
                format!("{}/{}", request.query("subfolder").unwrap_or_default(), request.query("filename").unwrap());
            match s.files.get(&key) {
                Some(bytes) => (200, vec![], bytes.clone()),
                None => (404, vec![], vec![]),
            }
        }
        _ => (404, vec![], vec![]),
    }
}

/// Encodes `frames` solid frames into a file of type `ext`, returns its bytes.
fn media_bytes(dir: &Path, ext: &str, frames: u32, w: u32, h: u32) -> Vec<u8> {
    let path = dir.join(format!("out.{ext}"));
    let options = WriteOptions { frame_rate: Rational::integer(12), codec: None, overwrite: true };
    let mut writer = MediaWriter::create(&path, w, h, PixelFormat::Rgba8, &options).unwrap();
    for n in 0..frames {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill([n as f32 / frames as f32, 0.5, 0.2, 1.0]);
        writer.write_frame(&f.view()).unwrap();
    }
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// The ComfyUI adapter installed with `origin` in its manifest, registered.
fn setup(origin: &str, cache: &Path) -> Generations {
    let dir = cache.join("adapter");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&guests::guests().comfyui, dir.join("comfyui.wasm")).unwrap();
    let manifest = std::fs::read_to_string(guests::repo().join("plugins/comfyui/adapter.toml"))
        .unwrap()
        .replace("../target/wasm32-wasip2/release/comfyui.wasm", "comfyui.wasm")
        .replace("http://127.0.0.1:8188", origin);
    std::fs::write(dir.join("adapter.toml"), manifest).unwrap();
    let mut policy = SandboxPolicy::new(cache);
    policy.state_dir = Some(cache.join("state"));
    policy.network.allow_addresses.push("127.0.0.1".parse().unwrap());
    let adapter = WasmAdapter::load(&dir, &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(cache.join("takes")));
    generations.register(Arc::new(adapter));
    generations
}

fn request(origin: &str) -> ShotRequest {
    let mut r = ShotRequest::new("a lighthouse at dusk");
    (r.width, r.height, r.fps, r.duration, r.seed) = (64, 36, Rational::integer(12), Rational::integer(1), 41);
    r.extras.insert("server".into(), origin.into());
    r.extras.insert("poll_ms".into(), "20".into());
    let mut still = Frame::new(80, 40, PixelFormat::Rgba8).unwrap();
    still.view_mut().fill([0.9, 0.3, 0.1, 1.0]);
    r.first_frame = Some(ImageInput::new("still.png", still));
    r
}

#[test]
fn a_video_workflow_runs_with_the_request_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = recorded_output("video_wf");
    let output = outputs.as_object().unwrap().values().next().unwrap()["images"][0].clone();
    let state = Arc::new(Mutex::new(Comfy { outputs: outputs.clone(), ..Default::default() }));
    let key = format!("{}/{}", output["subfolder"].as_str().unwrap(), output["filename"].as_str().unwrap());
    state.lock().unwrap().files.insert(key, media_bytes(dir.path(), "mp4", 12, 64, 36));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    let generations = setup(&origin, dir.path());
    let mut r = request(&origin);
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
    let take = generations.submit("comfyui", r, 1).unwrap().results().remove(0).unwrap();
    assert_eq!((take.frames, take.width, take.height), (12, 64, 36));
    // The workflow reached ComfyUI with the request's values, typed.
    let s = state.lock().unwrap();
    let (sent, _) = s.prompts.values().next().unwrap();
    let inputs = &sent["2"]["inputs"];
    assert_eq!(inputs["text"], "a lighthouse at dusk, cinematic");
    assert_eq!(
        (inputs["seed"].as_u64(), inputs["length"].as_u64(), inputs["width"].as_u64()),
        (Some(41), Some(12), Some(64))
    );
    assert_eq!(inputs["fps"].as_f64(), Some(12.0));
    // The first frame was uploaded as a PNG of its own size, and the graph names it.
    let name = sent["1"]["inputs"]["image"].as_str().unwrap();
    let png = dir.path().join("upload.png");
    std::fs::write(&png, &s.uploads[name]).unwrap();
    let uploaded = mattebox_core::media::read_image(&png).unwrap();
    assert_eq!((uploaded.width(), uploaded.height()), (80, 40));
    // The character reference went up as a 20x20 PNG; the style one had no placeholder.
    let reference = sent["4"]["inputs"]["image"].as_str().unwrap();
    std::fs::write(&png, &s.uploads[reference]).unwrap();
    assert_eq!(mattebox_core::media::read_image(&png).unwrap().width(), 20);
    assert_eq!(s.uploads.len(), 2);
    let fields: Vec<Field> = take.deviations.iter().map(|d| d.field).collect();
    assert_eq!(fields, [Field::References], "{:?}", take.deviations);
}

#[test]
fn the_default_workflow_scales_the_first_frame_and_says_what_it_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = recorded_output("image_wf_run1");
    let output = outputs.as_object().unwrap().values().next().unwrap()["images"][0].clone();
    let state = Arc::new(Mutex::new(Comfy { outputs, ..Default::default() }));
    let key = format!("{}/{}", output["subfolder"].as_str().unwrap(), output["filename"].as_str().unwrap());
    state.lock().unwrap().files.insert(key, media_bytes(dir.path(), "png", 1, 64, 36));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    let generations = setup(&origin, dir.path());
    let take = generations.submit("comfyui", request(&origin), 1).unwrap().results().remove(0).unwrap();
    assert_eq!(take.frames, 1);
    let dropped: Vec<Field> = take.deviations.iter().map(|d| d.field).collect();
    assert_eq!(dropped, [Field::Prompt, Field::Seed, Field::Duration, Field::Fps], "{:?}", take.deviations);
    // Without a first frame, the default workflow cannot run: said before anything is sent.
    let mut bare = request(&origin);
    bare.first_frame = None;
    let err = generations.submit("comfyui", bare, 1).unwrap().results().remove(0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("first frame"), "{err}");
}

#[test]
fn refusals_and_failures_come_back_in_comfyuis_words() {
    let dir = tempfile::tempdir().unwrap();
    let refusal = json!({
        "error": { "type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation" },
        "node_errors": { "2": { "class_type": "ImageScale", "errors": [{ "message": "Value 0 smaller than min of 1" }] } }
    });
    let state = Arc::new(Mutex::new(Comfy { refuse: Some(refusal), ..Default::default() }));
    let server_state = state.clone();
    let origin = serve(move |r| handle(&server_state, r));
    let generations = setup(&origin, dir.path());
    let err = generations.submit("comfyui", request(&origin), 1).unwrap().results().remove(0).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("HTTP 400") && text.contains("ImageScale") && text.contains("smaller than min"), "{text}");

    {
        let mut s = state.lock().unwrap();
        s.refuse = None;
        s.fail = Some("CUDA out of memory".into());
    }
    let err = generations.submit("comfyui", request(&origin), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("CUDA out of memory in node \"2\""), "{err}");
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("takes")).map(|d| d.count()).into_iter().collect();
    assert!(entries.iter().all(|&n| n == 0), "nothing cached from failed takes");
}
