//! ComfyUI: a studio's own graphs as a shot generator.
//!
//! The user gives an API-format workflow (ComfyUI's "Save (API)") as the
//! `workflow` extra (once, with `mattebox plugin config comfyui
//! workflow=@graph.json server=http://HOST:PORT`), with placeholders where
//! the request's values go: `{{prompt}}`, `{{negative_prompt}}`,
//! `{{seed}}`, `{{width}}`, `{{height}}`, `{{frames}}`, `{{fps}}`,
//! `{{first_frame}}`, `{{last_frame}}`, `{{reference_1}}`,
//! `{{reference_2}}`... (reference images in request order; a string that
//! is exactly a placeholder becomes a number where the value is one).
//! Without one, `workflows/still.json` is used: the first frame scaled to
//! the requested size.
//!
//! How a take goes, as a real ComfyUI (0.3.x) answers:
//!
//! - Images the workflow names are uploaded (`POST /upload/image`) under a
//!   name made of their content's hash, unless the server already has
//!   them (`GET /view?type=input`), so repeated takes upload nothing and
//!   the server's `input/` holds one copy of each.
//! - The graph is queued (`POST /prompt`). A 400 is reported with each
//!   node's error, its details and the input at fault; a 200 that still
//!   lists `node_errors` means ComfyUI runs the valid outputs only: the take
//!   goes on and says which nodes were refused.
//! - Progress comes from the server's WebSocket (`/ws?clientId=`: which
//!   node runs, and its steps); `/history/{id}` is polled beside it (and
//!   alone, when the server offers no WebSocket). A prompt that is neither
//!   in the history nor in `/queue` was deleted, its history cleared or the
//!   server restarted: the take fails at once, saying so.
//! - `execution_error` and `execution_interrupted` end the take with the
//!   node, its type and the exception.
//! - Connection failures while following the prompt are retried with
//!   backoff for up to two minutes (a server restarting).
//! - Cancelling interrupts this prompt only (`POST /interrupt` with its id)
//!   and removes it from the queue.
//! - Every output file is downloaded (`GET /view`) into the take in node
//!   order: images, videos (`SaveVideo`, VideoHelperSuite's `gifs`) and
//!   animations (animated WebP, GIF and PNG, all their frames). The first
//!   audio output (`SaveAudio`: FLAC, MP3, Opus) becomes the take's sound;
//!   a video's own sound track does too.
//! - Behind an authenticating proxy, `MATTEBOX_SECRET_COMFYUI_AUTH` is sent
//!   as the Authorization header, to the user's server only.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::websocket::{Message, WebSocket};
use mattebox_adapter::*;
use sha2::{Digest, Sha256};

const DEFAULT_SERVER: &str = "http://127.0.0.1:8188";
const DEFAULT_WORKFLOW: &str = include_str!("../workflows/still.json");
/// How long connection failures are retried before the take fails.
const RETRY_FOR: Duration = Duration::from_secs(120);
/// How long an error's details may run in a message.
const DETAIL_CHARS: usize = 300;

struct ComfyUi;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(DETAIL_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The user's ComfyUI.
struct Server {
    base: String,
    auth: bool,
}

impl Server {
    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        if self.auth { vec![("authorization", "{{secret:COMFYUI_AUTH}}")] } else { Vec::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request once; network failures come back as they are.
    fn once(&self, method: &str, path: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
        let mut headers = self.headers();
        let bytes = match body {
            Some(value) => {
                headers.push(("content-type", "application/json"));
                value.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        http::fetch(method, &self.url(path), &headers, &bytes)
    }

    /// Sends a request, retrying network failures with backoff for up to
    /// [`RETRY_FOR`] (a server restarting), and a cancel between tries.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            match self.once(method, path, body) {
                Err(GenerateError::Network(why)) if started.elapsed() < RETRY_FOR && retryable(&why) => {
                    log(LogLevel::Warn, &format!("ComfyUI did not answer ({why}); trying again in {wait:?}"));
                    if cancelled() {
                        return Err(GenerateError::Cancelled);
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(8));
                }
                other => return other,
            }
        }
    }

    fn get_json(&self, path: &str) -> Result<Value, GenerateError> {
        self.call("GET", path, None)?.json()
    }
}

/// Whether a network failure may pass (not a refusal by the host's rules).
fn retryable(why: &str) -> bool {
    !(why.contains("not among the origins")
        || why.contains("private or special")
        || why.contains("secret")
        || why.contains("deadline")
        || why.contains("limit"))
}

/// Uploads `image` as a PNG named by its content, unless the server has it;
/// returns the name ComfyUI knows it by.
fn upload(server: &Server, image: &Image) -> Result<String, GenerateError> {
    let png = png::encode_rgba8(image.width, image.height, &image.rgba8);
    let hash: String = Sha256::digest(&png).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let filename = format!("mattebox-{hash}.png");
    let there = server.once("GET", &format!("/view?filename={filename}&type=input"), None)?;
    if there.status == 200 {
        return Ok(filename);
    }
    let (content_type, body) = http::multipart(&[("type", "input")], ("image", &filename, "image/png", &png));
    let mut headers = server.headers();
    headers.push(("content-type", &content_type));
    let response = http::fetch("POST", &server.url("/upload/image"), &headers, &body)?;
    let answer = response.json()?;
    let name = answer["name"].as_str().ok_or_else(|| vendor(format!("upload answered without a name: {answer}")))?;
    Ok(match answer["subfolder"].as_str() {
        Some(sub) if !sub.is_empty() => format!("{sub}/{name}"),
        _ => name.to_owned(),
    })
}

/// One error as ComfyUI words it: message, details, and the input at fault.
fn error_text(e: &Value) -> String {
    let mut text = e["message"].as_str().unwrap_or("error").to_owned();
    if let Some(details) = e["details"].as_str().filter(|d| !d.is_empty()) {
        text.push_str(&format!(": {}", short(details)));
    }
    if let Some(input) = e["extra_info"]["input_name"].as_str()
        && !text.contains(input)
    {
        text.push_str(&format!(" (input {input})"));
    }
    text
}

/// Each refused node, as "node 4 (CheckpointLoaderSimple): ...".
fn node_errors(answer: &Value) -> Vec<String> {
    let Some(nodes) = answer["node_errors"].as_object() else { return Vec::new() };
    let mut ids: Vec<&String> = nodes.keys().collect();
    ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), (*id).clone()));
    ids.into_iter()
        .map(|id| {
            let node = &nodes[id];
            let why: Vec<String> = node["errors"].as_array().into_iter().flatten().map(error_text).collect();
            format!("node {id} ({}): {}", node["class_type"].as_str().unwrap_or("?"), why.join("; "))
        })
        .collect()
}

/// ComfyUI's refusal of a workflow, in its words.
fn refusal(status: u16, body: &[u8]) -> GenerateError {
    let Ok(answer) = json::from_slice::<Value>(body) else {
        return vendor(format!(
            "ComfyUI refused the workflow (HTTP {status}): {}",
            short(&String::from_utf8_lossy(body))
        ));
    };
    let mut parts = Vec::new();
    match &answer["error"] {
        Value::String(s) => parts.push(s.clone()),
        e if e.is_object() => parts.push(error_text(e)),
        _ => {}
    }
    parts.extend(node_errors(&answer));
    vendor(format!("ComfyUI refused the workflow (HTTP {status}): {}", parts.join("; ")))
}

/// How a history entry or a WebSocket message ended the prompt, if it did.
fn failure(kind: &str, data: &Value) -> Option<GenerateError> {
    let node = || {
        format!(
            "node {} ({})",
            data["node_id"].as_str().map(str::to_owned).unwrap_or_else(|| data["node_id"].to_string()),
            data["node_type"].as_str().unwrap_or("?")
        )
    };
    match kind {
        "execution_error" => {
            let exception = data["exception_message"].as_str().unwrap_or("").trim();
            let class = data["exception_type"].as_str().map(|t| format!(" ({t})")).unwrap_or_default();
            Some(vendor(format!("the workflow failed at {}: {}{class}", node(), short(exception))))
        }
        "execution_interrupted" => Some(vendor(format!(
            "the workflow was interrupted on the server at {} (someone pressed Cancel in ComfyUI, or another \
             client interrupted it)",
            node()
        ))),
        _ => None,
    }
}

/// What a finished history entry says: the outputs, or why it failed.
fn finished(entry: &Value) -> Result<Option<Value>, GenerateError> {
    if entry.is_null() || entry.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(None);
    }
    let status = &entry["status"];
    for m in status["messages"].as_array().into_iter().flatten() {
        if let (Some(kind), data) = (m[0].as_str(), &m[1])
            && let Some(e) = failure(kind, data)
        {
            return Err(e);
        }
    }
    if status["status_str"].as_str() == Some("error") {
        return Err(vendor("the workflow failed (ComfyUI gave no reason)"));
    }
    Ok(status["completed"].as_bool().unwrap_or(true).then(|| entry.clone()))
}

/// Whether `/queue` still holds prompt `id` (pending or running).
fn queued(server: &Server, id: &str) -> Result<bool, GenerateError> {
    let queue = server.get_json("/queue")?;
    let holds = |key: &str| queue[key].as_array().into_iter().flatten().any(|item| item[1].as_str() == Some(id));
    Ok(holds("queue_running") || holds("queue_pending"))
}

/// Follows prompt `id` until ComfyUI has finished it: through the
/// WebSocket when there is one, polling the history beside it.
fn follow(
    server: &Server,
    socket: Option<&WebSocket>,
    id: &str,
    nodes: usize,
    interval: Duration,
) -> Result<Value, GenerateError> {
    let started = Instant::now();
    let mut last_poll: Option<Instant> = None;
    let mut done_nodes: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<(String, f32)> = None;
    let mut socket = socket;
    let mut ws_says_done = false;
    loop {
        let fraction = (done_nodes.len() as f32 + current.as_ref().map_or(0.0, |c| c.1)) / nodes.max(1) as f32;
        if !progress(0.05 + 0.85 * fraction.min(1.0)) {
            return Err(GenerateError::Cancelled);
        }
        if started.elapsed() > Duration::from_secs(3500) {
            return Err(vendor(format!("no result after {} s", started.elapsed().as_secs())));
        }
        // Listen for a moment; then look at the history when it is time.
        if let Some(ws) = socket {
            match ws.receive(interval.min(Duration::from_millis(500))) {
                Ok(Some(Message::Text(text))) => {
                    let message: Value = json::from_str(&text).unwrap_or(Value::Null);
                    let data = &message["data"];
                    if data["prompt_id"].as_str().is_some_and(|p| p != id) {
                        continue;
                    }
                    match message["type"].as_str().unwrap_or("") {
                        "execution_cached" => {
                            for n in data["nodes"].as_array().into_iter().flatten().filter_map(|n| n.as_str()) {
                                done_nodes.insert(n.to_owned());
                            }
                        }
                        "executing" => match data["node"].as_str() {
                            Some(node) => {
                                if let Some((prev, _)) = current.take() {
                                    done_nodes.insert(prev);
                                }
                                current = Some((node.to_owned(), 0.0));
                            }
                            None => ws_says_done = true,
                        },
                        "progress" => {
                            let (value, max) =
                                (data["value"].as_f64().unwrap_or(0.0), data["max"].as_f64().unwrap_or(1.0));
                            if let Some(node) = data["node"].as_str() {
                                current = Some((node.to_owned(), (value / max.max(1.0)) as f32));
                            }
                        }
                        "executed" => {
                            if let Some(node) = data["node"].as_str() {
                                done_nodes.insert(node.to_owned());
                            }
                        }
                        // Newer servers: every node's state at once.
                        "progress_state" => {
                            for (node, state) in data["nodes"].as_object().into_iter().flatten() {
                                match state["state"].as_str() {
                                    Some("finished") => {
                                        done_nodes.insert(node.clone());
                                    }
                                    Some("running") => {
                                        let value = state["value"].as_f64().unwrap_or(0.0);
                                        let max = state["max"].as_f64().unwrap_or(1.0).max(1.0);
                                        current = Some((node.clone(), (value / max) as f32));
                                    }
                                    _ => {}
                                }
                            }
                            if current.as_ref().is_some_and(|(n, _)| done_nodes.contains(n)) {
                                current = None;
                            }
                        }
                        "execution_success" => ws_says_done = true,
                        kind => {
                            if let Some(e) = failure(kind, data) {
                                return Err(e);
                            }
                        }
                    }
                    if !ws_says_done {
                        continue;
                    }
                }
                Ok(Some(Message::Binary(_))) | Ok(None) => {}
                Err(e) => {
                    log(LogLevel::Warn, &format!("ComfyUI's WebSocket closed ({e:?}); polling instead"));
                    socket = None;
                }
            }
        } else {
            std::thread::sleep(interval);
        }
        let due = ws_says_done || last_poll.is_none_or(|t| t.elapsed() >= interval.max(Duration::from_secs(2)));
        if socket.is_some() && !due {
            continue;
        }
        last_poll = Some(Instant::now());
        let history = server.get_json(&format!("/history/{}", http::encode_component(id)))?;
        if let Some(entry) = finished(&history[id])? {
            return Ok(entry);
        }
        if !queued(server, id)? {
            // Finished between the two looks?
            let again = server.get_json(&format!("/history/{}", http::encode_component(id)))?;
            if let Some(entry) = finished(&again[id])? {
                return Ok(entry);
            }
            return Err(vendor(format!(
                "ComfyUI no longer knows prompt {id}: it is neither in its queue nor in its history (it was \
                 deleted from the queue, the history was cleared, or the server restarted)"
            )));
        }
    }
}

/// An output file: name, subfolder, type.
struct Output {
    filename: String,
    subfolder: String,
    kind: String,
}

/// Every output file of a finished prompt, in node order, and the audio
/// files.
fn output_files(entry: &Value) -> (Vec<Output>, Vec<Output>) {
    let mut nodes: Vec<(&String, &Value)> =
        entry["outputs"].as_object().map(|m| m.iter().collect()).unwrap_or_default();
    nodes.sort_by_key(|(id, _)| (id.parse::<u64>().unwrap_or(u64::MAX), (*id).clone()));
    let (mut files, mut audio) = (Vec::new(), Vec::new());
    for (_, output) in nodes {
        for key in ["images", "gifs", "videos", "video", "audio"] {
            for item in output[key].as_array().into_iter().flatten() {
                let Some(name) = item["filename"].as_str() else { continue };
                let kind = item["type"].as_str().unwrap_or("output");
                if kind != "output" {
                    continue; // previews (type "temp") are not results
                }
                let subfolder = item["subfolder"].as_str().unwrap_or("").to_owned();
                let output = Output { filename: name.to_owned(), subfolder, kind: kind.to_owned() };
                if key == "audio" { audio.push(output) } else { files.push(output) }
            }
        }
    }
    (files, audio)
}

impl Adapter for ComfyUi {
    fn describe() -> AdapterInfo {
        info(
            "comfyui",
            "ComfyUI",
            "0.3.0",
            &[
                Field::Prompt,
                Field::NegativePrompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::Seed,
                Field::Size,
                Field::Duration,
                Field::Fps,
                Field::Extras,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        let base = extra(&request, "server").unwrap_or(DEFAULT_SERVER).trim_end_matches('/').to_owned();
        let server = Server { base, auth: has_secret("COMFYUI_AUTH") };
        let template = extra(&request, "workflow").unwrap_or(DEFAULT_WORKFLOW);
        let mut workflow: Value = json::from_str(template).map_err(|e| {
            let hint = if template.trim_start().starts_with('@') {
                format!(
                    "it reads {:?}: the host did not read the file; give it as --extra workflow=@FILE to \
                     `mattebox generate`, or set it once with `mattebox plugin config comfyui workflow=@FILE`",
                    template.chars().take(80).collect::<String>()
                )
            } else {
                "export it from ComfyUI with Save (API)".to_owned()
            };
            GenerateError::InvalidRequest(format!("the workflow is not JSON ({e}); {hint}"))
        })?;
        if !workflow.is_object() {
            return Err(GenerateError::InvalidRequest("the workflow must be an API-format object of nodes".into()));
        }
        let nodes = workflow.as_object().map_or(1, |o| o.len());
        let wants = |name: &str| template.contains(&format!("{{{{{name}}}}}"));
        let mut images: Vec<(String, Value)> = Vec::new();
        let mut notes = Vec::new();
        // A continuation starts on its source's last frame; the workflow
        // gets no video (a graph would need its own video input).
        let first_frame = request.first_frame.as_ref().or(extend_source(&request).map(|v| &v.last_frame));
        if let Some(video) = &request.source_video {
            let note = if request.first_frame.is_none() && video.role == VideoRole::Extend && wants("first_frame") {
                approximated(
                    Field::SourceVideo,
                    "the workflow was given the source's last frame as its {{first_frame}}; it gets no video",
                )
            } else {
                dropped(Field::SourceVideo, "ComfyUI workflows are given no source video")
            };
            notes.push(note);
        }
        if let Some(sound) = request.audio.first() {
            notes.push(dropped(
                Field::Audio,
                &format!("ComfyUI workflows are given no sound; {} was not sent", sound.label),
            ));
        }
        for (name, image) in [("first_frame", first_frame), ("last_frame", request.last_frame.as_ref())] {
            match (wants(name), image) {
                (true, Some(image)) => images.push((name.to_owned(), Value::String(upload(&server, image)?))),
                (true, None) => {
                    return Err(GenerateError::InvalidRequest(format!(
                        "the workflow needs a {} (its {{{{{name}}}}} placeholder); give one",
                        name.replace('_', " ")
                    )));
                }
                (false, _) => {}
            }
        }
        let mut unused_references = 0;
        for (i, reference) in request.references.iter().enumerate() {
            let name = format!("reference_{}", i + 1);
            if wants(&name) {
                images.push((name, Value::String(upload(&server, &reference.image)?)));
            } else {
                unused_references += 1;
            }
        }
        let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
        let mut values: Vec<(String, Value)> = [
            ("prompt", json!(request.prompt)),
            ("negative_prompt", json!(request.negative_prompt)),
            ("seed", json!(request.seed)),
            ("width", json!(request.width)),
            ("height", json!(request.height)),
            ("frames", json!(frame_count(&request))),
            ("fps", json!(fps)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        values.extend(images);
        let mut used = BTreeSet::new();
        template::substitute(&mut workflow, &values, &mut used);
        progress(0.02);

        // The WebSocket first, so no message of this prompt is missed.
        let client = format!("mattebox-{}-{}", request.seed, request.take);
        let ws_url = format!("{}/ws?clientId={client}", server.base.replacen("http", "ws", 1));
        let socket = match WebSocket::connect(&ws_url, &server.headers()) {
            Ok(s) => Some(s),
            Err(e) => {
                log(LogLevel::Info, &format!("no WebSocket from ComfyUI ({e:?}); following the prompt by polling"));
                None
            }
        };
        let queued_answer =
            server.call("POST", "/prompt", Some(&json!({ "prompt": workflow, "client_id": client })))?;
        if queued_answer.status != 200 {
            return Err(refusal(queued_answer.status, &queued_answer.body));
        }
        let answer = queued_answer.json()?;
        let id = answer["prompt_id"].as_str().ok_or_else(|| vendor(format!("no prompt_id in {answer}")))?.to_owned();
        let refused = node_errors(&answer);
        if !refused.is_empty() {
            // ComfyUI runs the outputs it accepted and skips the rest.
            log(LogLevel::Warn, &format!("ComfyUI accepted part of the workflow: {}", refused.join("; ")));
            notes.push(dropped(
                Field::Extras,
                &format!("ComfyUI refused part of the workflow and ran the rest: {}", refused.join("; ")),
            ));
        }
        log(LogLevel::Info, &format!("ComfyUI queued prompt {id}"));

        let interval = poll_interval(&request, 1000);
        let entry = match follow(&server, socket.as_ref(), &id, nodes, interval) {
            Ok(entry) => entry,
            Err(GenerateError::Cancelled) => {
                // This prompt only: interrupt it if it runs, drop it if it waits.
                let _ = server.once("POST", "/interrupt", Some(&json!({ "prompt_id": id })));
                let _ = server.once("POST", "/queue", Some(&json!({ "delete": [id] })));
                return Err(GenerateError::Cancelled);
            }
            Err(e) => return Err(e),
        };
        drop(socket);

        let (files, audio) = output_files(&entry);
        if files.is_empty() {
            return Err(vendor("the workflow finished without output files (add a SaveImage or SaveVideo node)"));
        }
        let download = |file: &Output| {
            let path = format!(
                "/view?filename={}&subfolder={}&type={}",
                http::encode_component(&file.filename),
                http::encode_component(&file.subfolder),
                http::encode_component(&file.kind)
            );
            let response = server.call("GET", &path, None)?;
            if response.status != 200 {
                return Err(vendor(format!("downloading {} failed: HTTP {}", file.filename, response.status)));
            }
            Ok(response.body)
        };
        for (i, file) in files.iter().enumerate() {
            let body = download(file)?;
            emit_file(&file.filename, &body).map_err(|e| vendor(format!("{}: {e}", file.filename)))?;
            if !progress(0.9 + 0.1 * (i + 1) as f32 / files.len() as f32) {
                return Err(GenerateError::Cancelled);
            }
        }
        if let Some(first) = audio.first() {
            let body = download(first)?;
            emit_audio(&first.filename, &body).map_err(|e| vendor(format!("{}: {e}", first.filename)))?;
            if audio.len() > 1 {
                let rest: Vec<&str> = audio[1..].iter().map(|a| a.filename.as_str()).collect();
                notes.push(dropped(
                    Field::Extras,
                    &format!(
                        "ComfyUI made more audio than a take holds: {} is the take's sound, {} stayed on the server",
                        first.filename,
                        rest.join(", ")
                    ),
                ));
            }
        }

        let given = |name: &str| match name {
            "prompt" => !request.prompt.is_empty(),
            "negative_prompt" => !request.negative_prompt.is_empty(),
            _ => true,
        };
        for (name, field) in [
            ("prompt", Field::Prompt),
            ("negative_prompt", Field::NegativePrompt),
            ("seed", Field::Seed),
            ("frames", Field::Duration),
            ("fps", Field::Fps),
        ] {
            if given(name) && !used.contains(name) {
                notes.push(dropped(field, &format!("the workflow has no {{{{{name}}}}} placeholder")));
            }
        }
        for (name, field, image) in [
            ("first_frame", Field::FirstFrame, request.first_frame.as_ref()),
            ("last_frame", Field::LastFrame, request.last_frame.as_ref()),
        ] {
            if image.is_some() && !used.contains(name) {
                notes.push(dropped(field, &format!("the workflow has no {{{{{name}}}}} placeholder")));
            }
        }
        if !(used.contains("width") && used.contains("height")) {
            notes.push(approximated(Field::Size, "the workflow sets its own size; the host fits its frames"));
        }
        if camera_moves(&request) {
            notes.push(dropped(Field::Camera, "ComfyUI workflows take no camera move from Mattebox"));
        }
        if unused_references > 0 {
            notes.push(dropped(
                Field::References,
                &format!(
                    "{unused_references} reference image(s) had no {{{{reference_N}}}} placeholder in the workflow"
                ),
            ));
        }
        Ok(report(notes))
    }
}

export_adapter!(ComfyUi);
