//! Any video model hosted on fal, through its queue: `POST
//! https://queue.fal.run/{model}` with the model's inputs, the request's
//! `status_url` until `COMPLETED`, then its `response_url` for the result.
//!
//! fal's models each name their inputs their own way, so the user maps the
//! shot onto them once: `inputs` is the model's input JSON with
//! `{{placeholders}}` (see `mattebox_adapter::template`), and `output` the
//! JSON pointer of the video's URL in the result (default: `/video/url`,
//! then `/videos/0/url`). Files go inline as data URIs. This reaches Kling,
//! Veo, Hailuo, LatentSync, MuseTalk and upscalers through one adapter.
//!
//! Extras: `model` (required, e.g. `fal-ai/kling-video/v2.1/master/image-to-video`),
//! `inputs`, `output`, `audio_output` (the pointer of a sound's URL, for
//! models that return one apart), `api` (default `https://queue.fal.run`),
//! `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::Value;
use mattebox_adapter::*;

const AUTH: &str = "Key {{secret:FAL_KEY}}";
const VENDOR: &str = "fal";
const DEFAULT_INPUTS: &str = r#"{"prompt": "{{prompt}}", "image_url": "{{first_frame}}"}"#;

struct Fal;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// fal's words for a refused call.
fn refusal(response: &http::Response) -> String {
    format!("HTTP {}: {}", response.status, response.detail())
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    match body {
        Some(value) => http::send_json(VENDOR, url, &[("authorization", AUTH)], value),
        None => http::send(VENDOR, method, url, &[("authorization", AUTH)], &[]),
    }
}

/// A URL under `api` from fal's answer; anything else is refused (the key
/// goes with it).
fn ours(api: &str, answer: &Value, key: &str) -> Result<String, GenerateError> {
    let url = answer[key].as_str().ok_or_else(|| vendor(format!("fal's answer has no {key}")))?;
    if !url.starts_with(&format!("{api}/")) {
        return Err(vendor(format!("fal's {key} leads elsewhere ({url}); the key goes only to {api}")));
    }
    Ok(url.to_owned())
}

impl Adapter for Fal {
    fn describe() -> AdapterInfo {
        info("fal", "fal (any hosted model)", "0.1.0", template::FIELDS)
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("FAL_KEY", "a fal API key (fal.ai/dashboard/keys)")?;
        let api = extra(&request, "api").unwrap_or("https://queue.fal.run").trim_end_matches('/').to_owned();
        let model = extra(&request, "model").ok_or_else(|| {
            GenerateError::InvalidRequest(
                "name the fal model: --extra model=fal-ai/kling-video/v2.1/master/image-to-video, or once with \
                 `mattebox plugin config fal model=... inputs=@inputs.json`"
                    .into(),
            )
        })?;
        let (inputs, notes) = template::mapped(&request, DEFAULT_INPUTS, &mut |_, mime, bytes| {
            Ok(format!("data:{mime};base64,{}", base64::encode(bytes)))
        })?;

        let submitted = call("POST", &format!("{api}/{model}"), Some(&inputs))?;
        let answer = match submitted.status {
            200..=202 => submitted.json()?,
            401 | 403 => return Err(vendor(format!("fal refused the key: {}", refusal(&submitted)))),
            404 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "fal has no model {model}: {}",
                    refusal(&submitted)
                )));
            }
            400 | 422 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "{model} refused the inputs: {}",
                    refusal(&submitted)
                )));
            }
            _ => return Err(vendor(format!("submitting to {model}: {}", refusal(&submitted)))),
        };
        let id = answer["request_id"].as_str().ok_or_else(|| vendor("fal gave no request_id"))?.to_owned();
        let (status_url, response_url, cancel_url) = (
            ours(&api, &answer, "status_url")?,
            ours(&api, &answer, "response_url")?,
            ours(&api, &answer, "cancel_url")?,
        );
        log(LogLevel::Info, &format!("fal request {id} queued for {model}"));
        let interval = poll_interval(&request, 2000);
        poll_or_stop(
            interval,
            Duration::from_secs(3500),
            |_| {
                let response = call("GET", &status_url, None)?;
                if !matches!(response.status, 200 | 202) {
                    return Err(vendor(format!("asking about request {id}: {}", refusal(&response))));
                }
                let status = response.json()?;
                match status["status"].as_str() {
                    Some("COMPLETED") => match status["error"].as_str() {
                        Some(error) => Err(vendor(format!(
                            "{model} failed: {error} ({})",
                            status["error_type"].as_str().unwrap_or("no type")
                        ))),
                        None => Ok(Some(())),
                    },
                    Some("IN_QUEUE" | "IN_PROGRESS") => Ok(None),
                    other => Err(vendor(format!("request {id} has a status fal does not document: {other:?}"))),
                }
            },
            || drop(http::fetch("PUT", &cancel_url, &[("authorization", AUTH)], &[])),
        )?;
        let result = call("GET", &response_url, None)?;
        if result.status != 200 {
            return Err(vendor(format!("{model} failed: {}", refusal(&result))));
        }
        let result = result.json()?;
        let pointers: Vec<&str> = match extra(&request, "output") {
            Some(p) => vec![p],
            None => vec!["/video/url", "/videos/0/url"],
        };
        let url = pointers.iter().find_map(|p| result.pointer(p).and_then(Value::as_str)).ok_or_else(|| {
            vendor(format!(
                "no video URL at {} in {model}'s result; name where it is with --extra output=/json/pointer (its \
                 keys: {})",
                pointers.join(" or "),
                result.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
            ))
        })?;
        let video = http::download(VENDOR, url)?;
        progress(0.95);
        emit_file("fal.mp4", &video).map_err(GenerateError::Other)?;
        if let Some(pointer) = extra(&request, "audio_output") {
            let sound = result
                .pointer(pointer)
                .and_then(Value::as_str)
                .ok_or_else(|| vendor(format!("no sound URL at {pointer} in the result")))?;
            let bytes = http::download(VENDOR, sound)?;
            let name = sound.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or("sound");
            emit_audio(name, &bytes).map_err(GenerateError::Other)?;
        }
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Fal);
