//! Any video model on Replicate, as a prediction: `POST
//! /v1/models/{owner}/{name}/predictions` (or `/v1/predictions` with a
//! version), its `urls.get` until it has succeeded, failed or been
//! canceled, then its `output`.
//!
//! The user maps the shot onto the model's inputs once: `inputs` is the
//! input object with `{{placeholders}}` (see `mattebox_adapter::template`),
//! `output` the JSON pointer of the video in the output when it is not
//! the output itself or its first item. Files up to 256 KB go as data URIs;
//! larger ones are uploaded through Replicate's files API first.
//!
//! Extras: `model` (required: `owner/name`, or `owner/name:version`),
//! `inputs`, `output`, `api` (default `https://api.replicate.com`),
//! `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const AUTH: &str = "Bearer {{secret:REPLICATE_API_TOKEN}}";
const VENDOR: &str = "Replicate";
const DEFAULT_INPUTS: &str = r#"{"prompt": "{{prompt}}"}"#;
/// Largest file Replicate takes inline as a data URI.
const MAX_INLINE: usize = 256 * 1024;

struct Replicate;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// Replicate's words: `title`, `detail`, and each invalid field.
fn refusal(response: &http::Response) -> String {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    let Some(detail) = body["detail"].as_str() else {
        return format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body).chars().take(300).collect::<String>()
        );
    };
    let mut text = format!("HTTP {} {}: {}", response.status, body["title"].as_str().unwrap_or(""), detail.trim());
    for field in body["invalid_fields"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "; {}: {}",
            field["field"].as_str().unwrap_or("?"),
            field["description"].as_str().unwrap_or("?")
        ));
    }
    text
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    match body {
        Some(value) => http::send_json(VENDOR, url, &[("authorization", AUTH)], value),
        None => http::send(VENDOR, method, url, &[("authorization", AUTH)], &[]),
    }
}

/// A file as an input value: inline when small, else uploaded.
fn file_value(api: &str, name: &str, mime: &str, bytes: &[u8]) -> Result<String, GenerateError> {
    if bytes.len() <= MAX_INLINE {
        return Ok(format!("data:{mime};base64,{}", base64::encode(bytes)));
    }
    let (content_type, body) = http::multipart(&[], ("content", name, mime, bytes));
    let headers = [("authorization", AUTH), ("content-type", content_type.as_str())];
    let response = http::send(VENDOR, "POST", &format!("{api}/v1/files"), &headers, &body)?;
    if !matches!(response.status, 200 | 201) {
        return Err(vendor(format!("uploading {name}: {}", refusal(&response))));
    }
    let file = response.json()?;
    file["urls"]["get"].as_str().map(str::to_owned).ok_or_else(|| vendor(format!("the upload of {name} has no URL")))
}

/// A URL under `api` from Replicate's answer (the token goes with it).
fn ours(api: &str, url: Option<&str>, what: &str) -> Result<String, GenerateError> {
    let url = url.ok_or_else(|| vendor(format!("the prediction has no {what} URL")))?;
    if !url.starts_with(&format!("{api}/")) {
        return Err(vendor(format!(
            "the prediction's {what} URL leads elsewhere ({url}); the token goes only to {api}"
        )));
    }
    Ok(url.to_owned())
}

impl Adapter for Replicate {
    fn describe() -> AdapterInfo {
        info("replicate", "Replicate (any hosted model)", "0.1.0", template::FIELDS)
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("REPLICATE_API_TOKEN", "a Replicate API token (replicate.com/account/api-tokens)")?;
        let api = extra(&request, "api").unwrap_or("https://api.replicate.com").trim_end_matches('/').to_owned();
        let model = extra(&request, "model").ok_or_else(|| {
            GenerateError::InvalidRequest(
                "name the Replicate model: --extra model=kwaivgi/kling-v2.1, or once with `mattebox plugin config \
                 replicate model=... inputs=@inputs.json`"
                    .into(),
            )
        })?;
        let (inputs, notes) =
            template::mapped(&request, DEFAULT_INPUTS, &mut |name, mime, bytes| file_value(&api, name, mime, bytes))?;

        let (url, body) = match model.split_once(':') {
            Some((_, version)) => (format!("{api}/v1/predictions"), json!({ "version": version, "input": inputs })),
            None => {
                let (owner, name) = model.split_once('/').ok_or_else(|| {
                    GenerateError::InvalidRequest(format!("model {model:?} is not owner/name (or owner/name:version)"))
                })?;
                let path = format!("{}/{}", http::encode_component(owner), http::encode_component(name));
                (format!("{api}/v1/models/{path}/predictions"), json!({ "input": inputs }))
            }
        };
        let created = call("POST", &url, Some(&body))?;
        let prediction = match created.status {
            200 | 201 => created.json()?,
            401 | 403 => return Err(vendor(format!("Replicate refused the token: {}", refusal(&created)))),
            402 => return Err(vendor(format!("Replicate wants payment: {}", refusal(&created)))),
            404 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "Replicate has no model {model}: {}",
                    refusal(&created)
                )));
            }
            400 | 422 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "{model} refused the inputs: {}",
                    refusal(&created)
                )));
            }
            _ => return Err(vendor(format!("creating the prediction: {}", refusal(&created)))),
        };
        let id = prediction["id"].as_str().ok_or_else(|| vendor("the prediction has no id"))?.to_owned();
        let get = ours(&api, prediction["urls"]["get"].as_str(), "get")?;
        let cancel = ours(&api, prediction["urls"]["cancel"].as_str(), "cancel")?;
        log(LogLevel::Info, &format!("Replicate prediction {id} created for {model}"));
        let interval = poll_interval(&request, 2000);
        let output = poll_or_stop(
            interval,
            Duration::from_secs(3500),
            |_| {
                let response = call("GET", &get, None)?;
                if response.status != 200 {
                    return Err(vendor(format!("asking about prediction {id}: {}", refusal(&response))));
                }
                let now = response.json()?;
                match now["status"].as_str() {
                    Some("succeeded") => Ok(Some(now["output"].clone())),
                    Some("failed") => {
                        Err(vendor(format!("{model} failed: {}", now["error"].as_str().unwrap_or("no reason given"))))
                    }
                    Some("canceled") => Err(vendor(format!("prediction {id} was canceled on Replicate's side"))),
                    Some("starting" | "processing") => Ok(None),
                    other => {
                        Err(vendor(format!("prediction {id} has a status Replicate does not document: {other:?}")))
                    }
                }
            },
            || drop(http::fetch("POST", &cancel, &[("authorization", AUTH)], &[])),
        )?;
        let video_url = match extra(&request, "output") {
            Some(pointer) => output.pointer(pointer).and_then(Value::as_str),
            None => output.as_str().or(output[0].as_str()),
        }
        .ok_or_else(|| {
            vendor(format!(
                "no video URL in {model}'s output ({}); name where it is with --extra output=/json/pointer",
                output.to_string().chars().take(200).collect::<String>()
            ))
        })?;
        let video = http::download(VENDOR, video_url)?;
        progress(0.95);
        emit_file("replicate.mp4", &video).map_err(GenerateError::Other)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Replicate);
