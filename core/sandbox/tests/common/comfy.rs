//! A local server that behaves as a real ComfyUI (0.3.x) does; see
//! `comfyui.rs` for what it does and why. Shared by the sandbox's and the
//! command line's tests.
// Shared by several test targets; not every one uses every item.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::guests;
use super::server::{self, Request, Response, Socket, json as reply};

/// The WebSocket messages of a recorded run.
pub(crate) fn recorded(run: &str) -> Vec<Value> {
    let path = guests::repo().join("../shared/fixtures/comfyui/comfy_ws_transcript.json");
    let transcript: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    transcript[run].as_array().unwrap().clone()
}

/// The outputs of a recorded run (its `executed` messages).
pub(crate) fn recorded_outputs(run: &str) -> Value {
    let mut outputs = serde_json::Map::new();
    for m in recorded(run).iter().filter(|m| m["type"] == "executed") {
        outputs.insert(m["data"]["node"].as_str().unwrap().to_owned(), m["data"]["output"].clone());
    }
    Value::Object(outputs)
}

/// How the server's next prompt goes.
#[derive(Clone, Default)]
pub(crate) enum Run {
    /// Accepted and finished with the outputs.
    #[default]
    Succeed,
    /// Refused with this 400 body.
    Refuse(Value),
    /// Accepted with these node errors (the valid outputs run).
    Partial(Value),
    /// Fails at a node with this exception.
    Fail(String),
    /// Interrupted on the server (someone pressed Cancel in ComfyUI).
    InterruptedOnServer,
    /// Deleted from the queue by someone else: gone from queue and history.
    Forgotten,
    /// Never finishes (until interrupted).
    Hang,
}

#[derive(Default)]
pub(crate) struct Comfy {
    /// Input files by name.
    pub(crate) inputs: HashMap<String, Vec<u8>>,
    /// How many uploads came.
    pub(crate) uploads: usize,
    /// Prompts in the order they came: id, client, graph.
    pub(crate) prompts: Vec<(String, String, Value)>,
    /// Ids pending or running.
    pub(crate) queue: Vec<String>,
    /// Finished prompts' entries.
    pub(crate) history: HashMap<String, Value>,
    /// History polls per prompt.
    pub(crate) polls: HashMap<String, u32>,
    /// The next prompt's fate.
    pub(crate) run: Run,
    /// Which recorded run the WebSocket replays.
    pub(crate) replay: &'static str,
    /// Milliseconds between replayed messages.
    pub(crate) pace_ms: u64,
    /// Outputs of a successful run (node id -> output).
    pub(crate) outputs: Value,
    /// Files `/view` serves, by "subfolder/filename".
    pub(crate) files: HashMap<String, Vec<u8>>,
    /// `POST /interrupt` and `POST /queue` bodies.
    pub(crate) interrupts: Vec<Value>,
    pub(crate) deletes: Vec<Value>,
    /// History and queue requests to reset before answering.
    pub(crate) resets: u32,
    /// Whether `/ws` is served.
    pub(crate) websocket: bool,
    /// The Authorization header every request must carry, if any.
    pub(crate) auth: Option<String>,
    /// Requests refused for a wrong or missing Authorization.
    pub(crate) unauthorized: usize,
    /// Whether a run is under way (the adapter may be told progress).
    pub(crate) replaying: bool,
    /// Open WebSockets by client id.
    pub(crate) sockets: HashMap<String, Arc<Mutex<Socket>>>,
}

impl Comfy {
    /// The history entry prompt `id` ends with.
    fn finish(&mut self, id: &str) {
        self.queue.retain(|q| q != id);
        let messages = |kind: &str, data: Value| json!([["execution_start", { "prompt_id": id }], [kind, data]]);
        let entry = match self.run.clone() {
            Run::Succeed | Run::Partial(_) => json!({
                "prompt": [0, id, {}, {}, []],
                "outputs": self.outputs,
                "status": { "status_str": "success", "completed": true, "messages": [["execution_start", { "prompt_id": id }], ["execution_success", { "prompt_id": id }]] }
            }),
            Run::Fail(why) => json!({
                "outputs": {},
                "status": { "status_str": "error", "completed": false, "messages": messages("execution_error", json!({
                    "prompt_id": id, "node_id": "2", "node_type": "KSampler", "executed": ["1"],
                    "exception_message": why, "exception_type": "torch.OutOfMemoryError",
                    "traceback": ["  File \"execution.py\", line 496, in execute\n"],
                    "current_inputs": {}, "current_outputs": {} })) }
            }),
            Run::InterruptedOnServer => json!({
                "outputs": {},
                "status": { "status_str": "error", "completed": false, "messages": messages("execution_interrupted", json!({
                    "prompt_id": id, "node_id": "2", "node_type": "KSampler", "executed": ["1"] })) }
            }),
            Run::Forgotten | Run::Hang | Run::Refuse(_) => return,
        };
        self.history.insert(id.to_owned(), entry);
    }

    fn authorized(&mut self, request: &Request) -> bool {
        match &self.auth {
            Some(want) if request.header("authorization") != Some(want.as_str()) => {
                self.unauthorized += 1;
                false
            }
            _ => true,
        }
    }
}

fn handle(state: &Arc<Mutex<Comfy>>, request: Request) -> Response {
    let mut s = state.lock().unwrap();
    if !s.authorized(&request) {
        return (401, vec![], b"401: Unauthorized".to_vec());
    }
    match (request.method.as_str(), request.path()) {
        ("POST", "/upload/image") => {
            let body = &request.body;
            let text = String::from_utf8_lossy(body);
            let name = text.split("filename=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_owned();
            let start = body.windows(4).position(|w| w == b"\x89PNG").unwrap();
            let end = body.windows(8).rposition(|w| w == b"IEND\xaeB`\x82").unwrap() + 8;
            s.uploads += 1;
            s.inputs.insert(name.clone(), body[start..end].to_vec());
            reply(200, json!({ "name": name, "subfolder": "", "type": "input" }))
        }
        ("POST", "/prompt") => {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            if let Run::Refuse(answer) = &s.run {
                return reply(400, answer.clone());
            }
            let id = format!("5d3c1a9e-0000-4000-8000-{:012}", s.prompts.len() + 1);
            let client = body["client_id"].as_str().unwrap_or("").to_owned();
            s.prompts.push((id.clone(), client.clone(), body["prompt"].clone()));
            s.queue.push(id.clone());
            // The prompt runs on the server whether or not anyone listens.
            let (runner, run_id) = (state.clone(), id.clone());
            std::thread::spawn(move || execute(&runner, &run_id, &client));
            let node_errors = match &s.run {
                Run::Partial(errors) => errors.clone(),
                _ => json!({}),
            };
            reply(200, json!({ "prompt_id": id, "number": s.prompts.len() - 1, "node_errors": node_errors }))
        }
        ("GET", "/queue") => {
            if s.resets > 0 {
                s.resets -= 1;
                return (0, vec![], vec![]);
            }
            let running: Vec<Value> = s.queue.iter().take(1).map(|id| json!([0, id, {}, {}, []])).collect();
            let pending: Vec<Value> = s.queue.iter().skip(1).map(|id| json!([1, id, {}, {}, []])).collect();
            reply(200, json!({ "queue_running": running, "queue_pending": pending }))
        }
        ("GET", path) if path.starts_with("/history/") => {
            if s.resets > 0 {
                s.resets -= 1;
                return (0, vec![], vec![]);
            }
            let id = path.trim_start_matches("/history/").to_owned();
            *s.polls.entry(id.clone()).or_insert(0) += 1;
            if matches!(s.run, Run::Forgotten) {
                s.queue.retain(|q| *q != id); // someone deleted it
            }
            match s.history.get(&id) {
                Some(entry) => reply(200, json!({ id: entry })),
                None => reply(200, json!({})),
            }
        }
        ("GET", "/view") => {
            let name = request.query("filename").unwrap();
            if request.query("type").as_deref() == Some("input") {
                return match s.inputs.get(&name) {
                    Some(bytes) => (200, vec![], bytes.clone()),
                    None => (404, vec![], vec![]),
                };
            }
            assert_eq!(request.query("type").as_deref(), Some("output"));
            let key = format!("{}/{}", request.query("subfolder").unwrap_or_default(), name);
            match s.files.get(&key) {
                Some(bytes) => (200, vec![], bytes.clone()),
                None => (404, vec![], vec![]),
            }
        }
        ("POST", "/interrupt") => {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
            // Only the prompt named, and only if it runs.
            if body["prompt_id"].as_str().is_some_and(|id| s.queue.first().is_some_and(|q| q == id)) {
                let id = s.queue.remove(0);
                let run = std::mem::replace(&mut s.run, Run::InterruptedOnServer);
                s.finish(&id);
                s.run = run;
            }
            s.interrupts.push(body);
            (200, vec![], vec![])
        }
        ("POST", "/queue") => {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            for id in body["delete"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                s.queue.retain(|q| q != id);
            }
            s.deletes.push(body);
            (200, vec![], vec![])
        }
        _ => (404, vec![], vec![]),
    }
}

/// Runs prompt `id`: the recorded run's messages go to its client's
/// WebSocket (when one is open), paced; then the prompt finishes as its
/// fate says.
fn execute(state: &Arc<Mutex<Comfy>>, id: &str, client: &str) {
    let (run, replay, pace) = {
        let mut s = state.lock().unwrap();
        s.replaying = true;
        (s.run.clone(), s.replay, s.pace_ms)
    };
    let send = |message: &Value| {
        let socket = state.lock().unwrap().sockets.get(client).cloned();
        if let Some(socket) = socket {
            let _ = socket.lock().unwrap().send(tungstenite::Message::text(message.to_string()));
        }
    };
    for m in recorded(replay) {
        if !state.lock().unwrap().queue.iter().any(|q| q == id) {
            break; // interrupted or deleted
        }
        if m["type"] == "executed" && !matches!(run, Run::Succeed | Run::Partial(_)) {
            break; // a failing run never gets that far
        }
        let mut m = m.clone();
        if m["data"]["prompt_id"].is_string() {
            m["data"]["prompt_id"] = json!(id);
        }
        send(&m);
        std::thread::sleep(Duration::from_millis(pace));
    }
    let entry = {
        let mut s = state.lock().unwrap();
        s.replaying = false;
        if matches!(run, Run::Hang | Run::Forgotten) || !s.queue.iter().any(|q| q == id) {
            return;
        }
        s.finish(id);
        s.history.get(id).cloned()
    };
    // Failures arrive as messages too.
    for m in entry.iter().flat_map(|e| e["status"]["messages"].as_array().cloned().unwrap_or_default()).skip(1) {
        if m[0] != "execution_success" {
            send(&json!({ "type": m[0], "data": m[1] }));
        }
    }
}

/// `/ws?clientId=`: the status first; then it carries the client's runs
/// (see [`execute`]) until the client closes it.
fn socket(state: &Mutex<Comfy>, request: Request, ws: Socket) {
    if !state.lock().unwrap().authorized(&request) {
        return;
    }
    let client = request.query("clientId").unwrap_or_default();
    let _ = ws.get_ref().set_read_timeout(Some(Duration::from_millis(20)));
    let ws = Arc::new(Mutex::new(ws));
    let status =
        json!({ "type": "status", "data": { "status": { "exec_info": { "queue_remaining": 0 } }, "sid": client } });
    if ws.lock().unwrap().send(tungstenite::Message::text(status.to_string())).is_err() {
        return;
    }
    state.lock().unwrap().sockets.insert(client.clone(), ws.clone());
    loop {
        let read = ws.lock().unwrap().read();
        match read {
            Ok(tungstenite::Message::Close(_)) => break,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break,
        }
    }
    state.lock().unwrap().sockets.remove(&client);
}

/// Starts the server with `state`; returns its origin and its state.
pub(crate) fn start(state: Comfy) -> (String, Arc<Mutex<Comfy>>) {
    let state = Arc::new(Mutex::new(state));
    let (http_state, ws_state) = (state.clone(), state.clone());
    let origin = server::serve_with_websockets(
        move |r| handle(&http_state, r),
        move |r, ws| {
            if ws_state.lock().unwrap().websocket {
                socket(&ws_state, r, ws)
            }
        },
    );
    (origin, state)
}
