//! ComfyUI: a studio's own graphs as a shot generator.
//!
//! The user gives an API-format workflow (ComfyUI's "Save (API)") as the
//! `workflow` extra, with placeholders where the request's values go:
//! `{{prompt}}`, `{{negative_prompt}}`, `{{seed}}`, `{{width}}`,
//! `{{height}}`, `{{frames}}`, `{{fps}}`, `{{first_frame}}`,
//! `{{last_frame}}`, `{{reference_1}}`, `{{reference_2}}`... (reference
//! images in request order; a string that is exactly a placeholder becomes a
//! number where the value is one). Without one, `workflows/still.json` is
//! used: the first frame scaled to the requested size.
//!
//! The adapter uploads the images the workflow names (`POST /upload/image`),
//! queues the graph (`POST /prompt`), follows it by polling
//! `GET /history/{prompt_id}`, and downloads every output file
//! (`GET /view`) into the take in node order. Fields whose placeholder the
//! workflow lacks are reported as dropped.

use std::collections::BTreeSet;
use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const DEFAULT_SERVER: &str = "http://127.0.0.1:8188";
const DEFAULT_WORKFLOW: &str = include_str!("../workflows/still.json");

struct ComfyUi;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// Uploads `image` as a PNG; returns the name ComfyUI gave it.
fn upload(server: &str, image: &Image, role: &str, seed: u64) -> Result<String, GenerateError> {
    let png = png::encode_rgba8(image.width, image.height, &image.rgba8);
    let filename = format!("mattebox-{role}-{seed}.png");
    let (content_type, body) =
        http::multipart(&[("overwrite", "true"), ("type", "input")], ("image", &filename, "image/png", &png));
    let response = http::fetch("POST", &format!("{server}/upload/image"), &[("content-type", &content_type)], &body)?;
    let answer = response.json()?;
    let name = answer["name"].as_str().ok_or_else(|| vendor(format!("upload answered without a name: {answer}")))?;
    Ok(match answer["subfolder"].as_str() {
        Some(sub) if !sub.is_empty() => format!("{sub}/{name}"),
        _ => name.to_owned(),
    })
}

/// Replaces placeholders in every string of `value`, noting which were used.
fn substitute(value: &mut Value, values: &[(String, Value)], used: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            for (name, v) in values {
                let token = format!("{{{{{name}}}}}");
                if *text == token {
                    used.insert(name.clone());
                    *value = v.clone();
                    return;
                }
                if text.contains(&token) {
                    used.insert(name.clone());
                    let plain = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *text = text.replace(&token, &plain);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, values, used)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, values, used)),
        _ => {}
    }
}

/// ComfyUI's error answer, as one line.
fn refusal(status: u16, body: &[u8]) -> GenerateError {
    let text = String::from_utf8_lossy(body);
    let message = json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            let error = v["error"]["message"].as_str().map(str::to_owned);
            let nodes = v["node_errors"].as_object().filter(|n| !n.is_empty()).map(|n| {
                n.iter()
                    .map(|(id, e)| {
                        let why: Vec<String> = e["errors"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|x| x["message"].as_str().map(str::to_owned)).collect())
                            .unwrap_or_default();
                        format!("node {id} ({}): {}", e["class_type"].as_str().unwrap_or("?"), why.join("; "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            match (error, nodes) {
                (Some(e), Some(n)) => Some(format!("{e}: {n}")),
                (e, n) => e.or(n),
            }
        })
        .unwrap_or_else(|| text.chars().take(300).collect());
    vendor(format!("ComfyUI refused the workflow (HTTP {status}): {message}"))
}

/// Every output file of a finished prompt, in node order.
fn output_files(entry: &Value) -> Vec<(String, String, String)> {
    let mut nodes: Vec<(&String, &Value)> =
        entry["outputs"].as_object().map(|m| m.iter().collect()).unwrap_or_default();
    nodes.sort_by_key(|(id, _)| (id.parse::<u64>().unwrap_or(u64::MAX), (*id).clone()));
    let mut files = Vec::new();
    for (_, output) in nodes {
        for key in ["images", "gifs", "videos"] {
            for item in output[key].as_array().into_iter().flatten() {
                if item["type"].as_str() == Some("output")
                    && let Some(name) = item["filename"].as_str()
                {
                    let sub = item["subfolder"].as_str().unwrap_or("").to_owned();
                    files.push((name.to_owned(), sub, "output".to_owned()));
                }
            }
        }
    }
    files
}

impl Adapter for ComfyUi {
    fn describe() -> AdapterInfo {
        info(
            "comfyui",
            "ComfyUI",
            "0.1.0",
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

    fn generate(request: ShotRequest) -> Result<Vec<Deviation>, GenerateError> {
        let server = extra(&request, "server").unwrap_or(DEFAULT_SERVER).trim_end_matches('/').to_owned();
        let template = extra(&request, "workflow").unwrap_or(DEFAULT_WORKFLOW);
        let mut workflow: Value = json::from_str(template).map_err(|e| {
            GenerateError::InvalidRequest(format!(
                "the workflow is not JSON ({e}); export it with ComfyUI's Save (API)"
            ))
        })?;
        if !workflow.is_object() {
            return Err(GenerateError::InvalidRequest("the workflow must be an API-format object of nodes".into()));
        }
        let wants = |name: &str| template.contains(&format!("{{{{{name}}}}}"));
        let mut images: Vec<(String, Value)> = Vec::new();
        for (name, image) in [("first_frame", &request.first_frame), ("last_frame", &request.last_frame)] {
            match (wants(name), image) {
                (true, Some(image)) => {
                    images.push((name.to_owned(), Value::String(upload(&server, image, name, request.seed)?)))
                }
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
                let uploaded = upload(&server, &reference.image, &name, request.seed)?;
                images.push((name, Value::String(uploaded)));
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
        substitute(&mut workflow, &values, &mut used);
        progress(0.02);

        let client = format!("mattebox-{}-{}", request.seed, request.take);
        let queued =
            http::post_json(&format!("{server}/prompt"), &[], &json!({ "prompt": workflow, "client_id": client }))?;
        if queued.status != 200 {
            return Err(refusal(queued.status, &queued.body));
        }
        let answer = queued.json()?;
        if answer["node_errors"].as_object().is_some_and(|n| !n.is_empty()) {
            return Err(refusal(queued.status, &queued.body));
        }
        let id = answer["prompt_id"].as_str().ok_or_else(|| vendor(format!("no prompt_id in {answer}")))?.to_owned();
        log(LogLevel::Info, &format!("ComfyUI queued prompt {id}"));

        let interval = Duration::from_millis(extra(&request, "poll_ms").and_then(|v| v.parse().ok()).unwrap_or(1000));
        let entry = poll(interval, Duration::from_secs(3500), |_| {
            let history = http::get(&format!("{server}/history/{}", http::encode_component(&id)), &[])?.json()?;
            let entry = &history[&id];
            if entry.is_null() {
                return Ok(None); // still queued or running
            }
            let status = &entry["status"];
            if status["status_str"].as_str() == Some("error") {
                let messages: Vec<String> = status["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m[0].as_str() == Some("execution_error"))
                    .map(|m| {
                        format!("{} in node {}", m[1]["exception_message"].as_str().unwrap_or("error"), m[1]["node_id"])
                    })
                    .collect();
                return Err(vendor(format!("the workflow failed: {}", messages.join("; "))));
            }
            Ok(status["completed"].as_bool().unwrap_or(true).then(|| entry.clone()))
        })?;

        let files = output_files(&entry);
        if files.is_empty() {
            return Err(vendor("the workflow finished without output files (add a SaveImage or SaveVideo node)"));
        }
        for (i, (name, sub, kind)) in files.iter().enumerate() {
            let url = format!(
                "{server}/view?filename={}&subfolder={}&type={}",
                http::encode_component(name),
                http::encode_component(sub),
                kind
            );
            let file = http::get(&url, &[])?;
            if file.status != 200 {
                return Err(vendor(format!("downloading {name} failed: HTTP {}", file.status)));
            }
            emit_file(name, &file.body).map_err(GenerateError::Other)?;
            if !progress(0.5 + 0.5 * (i + 1) as f32 / files.len() as f32) {
                return Err(GenerateError::Cancelled);
            }
        }

        let mut notes = Vec::new();
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
            ("first_frame", Field::FirstFrame, &request.first_frame),
            ("last_frame", Field::LastFrame, &request.last_frame),
        ] {
            if image.is_some() && !used.contains(name) {
                notes.push(dropped(field, &format!("the workflow has no {{{{{name}}}}} placeholder")));
            }
        }
        if !(used.contains("width") && used.contains("height")) {
            notes.push(approximated(Field::Size, "the workflow sets its own size; the host fits its frames"));
        }
        let c = request.camera;
        if [c.horizontal, c.vertical, c.pan, c.tilt, c.roll, c.zoom].iter().any(|a| *a != 0.0) {
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
        Ok(notes)
    }
}

export_adapter!(ComfyUi);
