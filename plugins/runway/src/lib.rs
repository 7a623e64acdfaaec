//! Runway: image to video (`POST /v1/image_to_video`), the first frame as
//! `promptImage` and, with `gen3a_turbo`, the last frame too (positions
//! `first` and `last`), with the prompt, seed, duration and the nearest
//! ratio the model offers.
//!
//! Submit, poll `GET /v1/tasks/{id}` through `PENDING`, `THROTTLED` (queued
//! behind the account's other tasks) and `RUNNING` (with its progress) to
//! `SUCCEEDED` (`output` URLs) or `FAILED` (`failure`, `failureCode`),
//! download the video and hand it to the host. A cancelled take deletes
//! its task (`DELETE /v1/tasks/{id}`). A 429 or a 5xx answer is tried again
//! with backoff (its `Retry-After` when it gives one). Every request carries
//! `X-Runway-Version: 2024-11-06` and the key as a bearer token the host
//! fills in.
//!
//! Extras: `api` (default `https://api.dev.runwayml.com`), `model`
//! (`gen4_turbo`, or `gen3a_turbo` for a last frame), `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const AUTH: &str = "Bearer {{secret:RUNWAYML_API_SECRET}}";
const API_VERSION: &str = "2024-11-06";
/// Runway takes data URIs up to 5 MB.
const MAX_DATA_URI: usize = 5_000_000;

struct Runway;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

fn headers() -> [(&'static str, &'static str); 2] {
    [("authorization", AUTH), ("x-runway-version", API_VERSION)]
}

/// Runway's words for a refused call: `error`, and each of `issues`.
fn refusal(response: &http::Response) -> String {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    let mut words = body["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&response.body).chars().take(300).collect::<String>());
    for issue in body["issues"].as_array().into_iter().flatten() {
        let path: Vec<String> = issue["path"].as_array().into_iter().flatten().map(|p| p.to_string()).collect();
        words.push_str(&format!("; {}: {}", path.join("."), issue["message"].as_str().unwrap_or("?")));
    }
    words
}

/// One call to Runway's API, tried again while it is busy.
fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    match body {
        Some(value) => http::send_json("Runway", url, &headers(), value),
        None => http::send("Runway", method, url, &headers(), &[]),
    }
}

/// The ratio nearest `width:height` among those `model` offers.
fn ratio(model: &str, width: u32, height: u32) -> &'static str {
    let offered: &[&'static str] = if model == "gen3a_turbo" {
        &["1280:768", "768:1280"]
    } else {
        &["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"]
    };
    nearest_ratio(width, height, offered)
}

impl Adapter for Runway {
    fn describe() -> AdapterInfo {
        info(
            "runway",
            "Runway",
            "0.1.0",
            &[
                Field::Prompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::Seed,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("RUNWAYML_API_SECRET", "a Runway API key (dev.runwayml.com)")?;
        let api = extra(&request, "api").unwrap_or("https://api.dev.runwayml.com").trim_end_matches('/').to_owned();
        let model = extra(&request, "model").unwrap_or("gen4_turbo").to_owned();
        let mut notes = Vec::new();
        // A continuation starts on its source's last frame: Runway's API
        // continues no video.
        let Some(first) = first_or_source_end(&request, "Runway", "Runway's image to video", &mut notes) else {
            return Err(GenerateError::InvalidRequest(
                "Runway makes video from an image: give a first frame (--first-frame), or continue a take (--after)"
                    .into(),
            ));
        };
        let first_uri = png_data_uri_within(first, MAX_DATA_URI, "Runway", Field::FirstFrame, &mut notes);
        let prompt_image = match &request.last_frame {
            Some(last) if model == "gen3a_turbo" => {
                let last_uri = png_data_uri_within(last, MAX_DATA_URI, "Runway", Field::LastFrame, &mut notes);
                json!([{ "uri": first_uri, "position": "first" }, { "uri": last_uri, "position": "last" }])
            }
            Some(_) => {
                notes.push(dropped(Field::LastFrame, &format!("{model} takes no last frame (gen3a_turbo does)")));
                json!(first_uri)
            }
            None => json!(first_uri),
        };
        let seconds = seconds(&request);
        let duration = if seconds <= 5.0 { 5 } else { 10 };
        if (seconds - duration as f64).abs() > 1e-6 {
            notes.push(approximated(
                Field::Duration,
                &format!("Runway makes 5 or 10 s clips; this one is {duration} s"),
            ));
        }
        let ratio = ratio(&model, request.width, request.height);
        notes.push(approximated(Field::Size, &format!("Runway made {ratio}; the host fits it to the request")));
        if request.fps.num != 24 * request.fps.den {
            notes.push(approximated(Field::Fps, "Runway delivers 24 fps; the host resamples to the requested rate"));
        }
        let seed = request.seed % (1 << 32);
        if seed != request.seed {
            notes.push(approximated(Field::Seed, &format!("Runway's seeds end at 4294967295; it got {seed}")));
        }
        let mut body = json!({ "model": model, "promptImage": prompt_image, "ratio": ratio, "duration": duration,
                               "seed": seed });
        if !request.prompt.is_empty() {
            let text: String = request.prompt.chars().take(1000).collect();
            if text.len() < request.prompt.len() {
                notes.push(approximated(Field::Prompt, "Runway reads the first 1000 characters of a prompt"));
            }
            body["promptText"] = json!(text);
        }
        if !request.negative_prompt.is_empty() {
            notes.push(dropped(Field::NegativePrompt, "Runway takes no negative prompt"));
        }
        if camera_moves(&request) {
            notes.push(dropped(Field::Camera, "Runway's API takes no camera move; describe it in the prompt"));
        }
        if !request.references.is_empty() {
            notes.push(dropped(Field::References, "Runway's image to video takes no reference images"));
        }
        if let Some(sound) = request.audio.first() {
            notes.push(dropped(
                Field::Audio,
                &format!("Runway's image to video takes no sound; {} was not sent", sound.label),
            ));
        }

        let submitted = call("POST", &format!("{api}/v1/image_to_video"), Some(&body))?;
        let id = match submitted.status {
            200 | 201 => submitted.json()?["id"].as_str().map(str::to_owned).ok_or_else(|| vendor("no task id"))?,
            400 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "Runway refused the request: {}",
                    refusal(&submitted)
                )));
            }
            401 => return Err(vendor(format!("Runway refused the API key: {}", refusal(&submitted)))),
            status => return Err(vendor(format!("submitting the task: HTTP {status}: {}", refusal(&submitted)))),
        };
        log(LogLevel::Info, &format!("Runway task {id} submitted"));
        let task_url = format!("{api}/v1/tasks/{}", http::encode_component(&id));
        let interval = poll_interval(&request, 5000);
        let mut throttled = false;
        let url = poll_or_stop(
            interval,
            Duration::from_secs(1700),
            |_| {
                let response = call("GET", &task_url, None)?;
                if response.status != 200 {
                    return Err(vendor(format!(
                        "asking about task {id}: HTTP {}: {}",
                        response.status,
                        refusal(&response)
                    )));
                }
                let task = response.json()?;
                match task["status"].as_str() {
                    Some("SUCCEEDED") => {
                        let url =
                            task["output"][0].as_str().ok_or_else(|| vendor("the task succeeded without output"))?;
                        Ok(Some(url.to_owned()))
                    }
                    Some("FAILED") => Err(vendor(format!(
                        "Runway could not make the video: {} ({})",
                        task["failure"].as_str().unwrap_or("no reason given"),
                        task["failureCode"].as_str().unwrap_or("no code")
                    ))),
                    Some("CANCELLED") => Err(vendor(format!("task {id} was cancelled on Runway's side"))),
                    Some("THROTTLED") => {
                        if !throttled {
                            throttled = true;
                            log(LogLevel::Info, "Runway is holding the task until the account's other tasks finish");
                        }
                        Ok(None)
                    }
                    Some("RUNNING") => {
                        if let Some(p) = task["progress"].as_f64() {
                            progress(0.05 + 0.85 * p.clamp(0.0, 1.0) as f32);
                        }
                        Ok(None)
                    }
                    Some("PENDING") => Ok(None),
                    other => Err(vendor(format!("task {id} has a status Runway does not document: {other:?}"))),
                }
            },
            || drop(http::fetch("DELETE", &task_url, &headers(), &[])),
        )?;
        let video = http::download("Runway", &url)?;
        progress(0.95);
        emit_file("runway.mp4", &video).map_err(GenerateError::Other)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Runway);
