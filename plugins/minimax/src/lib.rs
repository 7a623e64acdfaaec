//! MiniMax Hailuo: `POST /v1/video_generation`, then `GET
//! /v1/query/video_generation` until the task has a `file_id`, then `GET
//! /v1/files/retrieve` for its download URL.
//!
//! The first and last frames go inline as data URIs (`first_frame_image`,
//! `last_frame_image`); a character reference goes as `subject_reference`
//! with the S2V-01 model; the camera move becomes MiniMax's bracketed camera
//! commands at the head of the prompt (`[Truck left,Pan right]`, at most
//! three). MiniMax answers HTTP 200 to almost everything and says what
//! went wrong in `base_resp.status_code`: 1002 (rate limit) and its
//! transient system errors are asked again; the rest come back in its words.
//!
//! Extras: `api` (default `https://api.minimax.io`; `https://api.minimaxi.com`
//! in mainland China), `model` (default `MiniMax-Hailuo-02`), `resolution`
//! (`512P`, `768P`, `1080P`), `prompt_optimizer` (`false` to send the prompt
//! as written), `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const AUTH: &str = "Bearer {{secret:MINIMAX_API_KEY}}";
const VENDOR: &str = "MiniMax";
/// MiniMax takes inline images up to 20 MB.
const MAX_DATA_URI: usize = 20_000_000;
/// The model that makes a video between a first and a last frame.
const FIRST_LAST_MODEL: &str = "MiniMax-Hailuo-02";

struct MiniMax;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

fn status_code(response: &http::Response) -> Option<i64> {
    json::from_slice::<Value>(&response.body).ok().and_then(|b| b["base_resp"]["status_code"].as_i64())
}

/// MiniMax's "not now": rate limited (1002), a request or downstream
/// timeout (1001, 1033), or a busy HTTP answer.
fn busy(response: &http::Response) -> bool {
    http::is_busy(response) || matches!(status_code(response), Some(1001 | 1002 | 1033))
}

/// A call's answer as JSON when `base_resp` says success; else its words,
/// with what the code means for the user.
fn answer(response: &http::Response, what: &str) -> Result<Value, GenerateError> {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    let code = body["base_resp"]["status_code"].as_i64();
    if response.status == 200 && code == Some(0) {
        return Ok(body);
    }
    let said = body["base_resp"]["status_msg"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&response.body).chars().take(300).collect());
    let code_text = code.map(|c| c.to_string()).unwrap_or_else(|| "none".into());
    let message = format!("{what}: MiniMax answered HTTP {}, code {code_text}: {said}", response.status);
    Err(match code {
        Some(1004 | 2049) => vendor(format!("{message} (check MATTEBOX_SECRET_MINIMAX_API_KEY and the `api` region)")),
        Some(1008) => vendor(format!("{message} (the account's balance is spent)")),
        Some(2013 | 1026 | 1042) => GenerateError::InvalidRequest(message),
        _ => vendor(message),
    })
}

fn get(url: &str) -> Result<http::Response, GenerateError> {
    http::send_when(busy, VENDOR, "GET", url, &[("authorization", AUTH)], &[])
}

/// MiniMax's bracketed camera commands for the move, strongest axis first,
/// at most three; roll has none.
fn camera_commands(camera: &CameraMotion) -> (Vec<&'static str>, bool) {
    let axes = [
        (camera.horizontal, "Truck right", "Truck left"),
        (camera.vertical, "Pedestal up", "Pedestal down"),
        (camera.pan, "Pan right", "Pan left"),
        (camera.tilt, "Tilt up", "Tilt down"),
        (camera.zoom, "Push in", "Pull out"),
    ];
    let mut moving: Vec<_> = axes.iter().filter(|(a, _, _)| *a != 0.0).collect();
    moving.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let all = moving.len();
    let commands: Vec<&str> =
        moving.iter().take(3).map(|(a, positive, negative)| if *a > 0.0 { *positive } else { *negative }).collect();
    (commands, all > 3)
}

impl Adapter for MiniMax {
    fn describe() -> AdapterInfo {
        info(
            "minimax",
            "MiniMax Hailuo",
            "0.1.0",
            &[
                Field::Prompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::References,
                Field::Camera,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("MINIMAX_API_KEY", "a MiniMax API key (platform.minimax.io)")?;
        let api = extra(&request, "api").unwrap_or("https://api.minimax.io").trim_end_matches('/').to_owned();
        let model = extra(&request, "model").unwrap_or(FIRST_LAST_MODEL).to_owned();
        let mut notes = Vec::new();
        let mut body = json!({ "model": model });

        // The prompt, led by the camera commands.
        let (commands, more) = camera_commands(&request.camera);
        let mut prompt = request.prompt.clone();
        if !commands.is_empty() {
            prompt = format!("[{}] {prompt}", commands.join(","));
            let mut note = format!("MiniMax's camera commands have no strength: {}", commands.join(", "));
            if more {
                note.push_str(" (it takes three at most; the weakest axes were left out)");
            }
            if request.camera.roll != 0.0 {
                note.push_str("; it has no roll");
            }
            notes.push(approximated(Field::Camera, &note));
        } else if request.camera.roll != 0.0 {
            notes.push(dropped(Field::Camera, "MiniMax's camera commands have no roll"));
        }
        let prompt = prompt.trim().to_owned();
        if prompt.chars().count() > 2000 {
            notes.push(approximated(Field::Prompt, "MiniMax reads the first 2000 characters of a prompt"));
        }
        if !prompt.is_empty() {
            body["prompt"] = json!(prompt.chars().take(2000).collect::<String>());
        }
        if let Some(flag) = extra(&request, "prompt_optimizer") {
            body["prompt_optimizer"] = json!(!matches!(flag, "false" | "0" | "no"));
        }

        // The first frame: given, or a continued clip's last frame.
        let first = first_or_source_end(&request, "MiniMax", "MiniMax's video generation", &mut notes);
        if let Some(first) = first {
            body["first_frame_image"] =
                json!(png_data_uri_within(first, MAX_DATA_URI, VENDOR, Field::FirstFrame, &mut notes));
        }
        match (&request.last_frame, first) {
            (Some(last), Some(_)) if model == FIRST_LAST_MODEL => {
                body["last_frame_image"] =
                    json!(png_data_uri_within(last, MAX_DATA_URI, VENDOR, Field::LastFrame, &mut notes));
            }
            (Some(_), Some(_)) => {
                notes.push(dropped(Field::LastFrame, &format!("{model} takes no last frame ({FIRST_LAST_MODEL} does)")))
            }
            (Some(_), None) => {
                notes.push(dropped(Field::LastFrame, "MiniMax takes a last frame only with a first frame"))
            }
            (None, _) => {}
        }

        // A character reference, for the subject-reference model.
        let character = request.references.iter().find(|r| r.kind == ReferenceKind::Character);
        match character {
            Some(reference) if model == "S2V-01" => {
                let image = png_data_uri_within(&reference.image, MAX_DATA_URI, VENDOR, Field::References, &mut notes);
                body["subject_reference"] = json!([{ "type": "character", "image": [image] }]);
                if request.references.len() > 1 {
                    notes.push(approximated(
                        Field::References,
                        &format!("S2V-01 takes one subject: {} was sent, the others were not", reference.name),
                    ));
                }
            }
            _ if !request.references.is_empty() => notes.push(dropped(
                Field::References,
                if model == "S2V-01" {
                    "S2V-01 takes a character reference only"
                } else {
                    "MiniMax takes a character reference with model S2V-01 (--extra model=S2V-01)"
                },
            )),
            _ => {}
        }
        if body.get("prompt").is_none() && first.is_none() && body.get("subject_reference").is_none() {
            return Err(GenerateError::InvalidRequest("MiniMax needs a prompt or a first frame".into()));
        }

        // Length and size: the Hailuo models make 6 or 10 s at 512P, 768P or 1080P (10 s not at 1080P).
        let hailuo = model.starts_with("MiniMax-Hailuo");
        let seconds = seconds(&request);
        let mut made = if hailuo && seconds > 8.0 { 10 } else { 6 };
        if hailuo {
            let short = request.width.min(request.height);
            let mut resolution = extra(&request, "resolution").map(str::to_owned).unwrap_or_else(|| {
                (if short <= 512 {
                    "512P"
                } else if short <= 768 {
                    "768P"
                } else {
                    "1080P"
                })
                .into()
            });
            if resolution == "1080P" && made == 10 {
                if extra(&request, "resolution").is_some() {
                    made = 6;
                } else {
                    resolution = "768P".into();
                    notes.push(approximated(Field::Size, "MiniMax makes 10 s clips at 768P at most"));
                }
            }
            body["resolution"] = json!(resolution);
            body["duration"] = json!(made);
        }
        if (seconds - made as f64).abs() > 1e-6 {
            notes.push(approximated(Field::Duration, &format!("{model} makes this clip {made} s long")));
        }
        notes.push(approximated(
            Field::Size,
            "MiniMax follows the first frame's aspect ratio (16:9 without one); the host fits it to the request",
        ));
        notes.push(approximated(Field::Fps, "the host resamples MiniMax's video to the requested rate"));
        notes.push(dropped(Field::Seed, "MiniMax's API takes no seed"));
        if !request.negative_prompt.is_empty() {
            notes.push(dropped(Field::NegativePrompt, "MiniMax takes no negative prompt"));
        }
        if let Some(sound) = request.audio.first() {
            notes.push(dropped(
                Field::Audio,
                &format!("MiniMax's video generation takes no sound; {} was not sent", sound.label),
            ));
        }

        let submitted = http::send_when(
            busy,
            VENDOR,
            "POST",
            &format!("{api}/v1/video_generation"),
            &[("authorization", AUTH), ("content-type", "application/json")],
            body.to_string().as_bytes(),
        )?;
        let task = answer(&submitted, "creating the task")?;
        let id = task["task_id"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| vendor("MiniMax gave no task_id"))?;
        let id = id.to_owned();
        log(LogLevel::Info, &format!("MiniMax task {id} created"));
        let interval = poll_interval(&request, 10_000);
        let query = format!("{api}/v1/query/video_generation?task_id={}", http::encode_component(&id));
        let file_id = poll(interval, Duration::from_secs(1700), |_| {
            let status = answer(&get(&query)?, "asking about the task")?;
            match status["status"].as_str() {
                Some("Success") => {
                    // MiniMax's ids are strings in its documents and numbers in some answers.
                    let file = match &status["file_id"] {
                        Value::String(s) if !s.is_empty() => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => return Err(vendor("the task succeeded without a file_id")),
                    };
                    Ok(Some(file))
                }
                Some("Fail") => Err(vendor(format!(
                    "MiniMax could not make the video: {}",
                    status["base_resp"]["status_msg"].as_str().filter(|m| *m != "success").unwrap_or("no reason given")
                ))),
                Some("Queueing" | "Preparing" | "Processing") => Ok(None),
                other => Err(vendor(format!("task {id} has a status MiniMax does not document: {other:?}"))),
            }
        })?;
        let retrieve = format!("{api}/v1/files/retrieve?file_id={}", http::encode_component(&file_id));
        let file = answer(&get(&retrieve)?, "asking for the video file")?;
        let url = file["file"]["download_url"].as_str().ok_or_else(|| vendor("the file has no download_url"))?;
        let video = http::download(VENDOR, url)?;
        progress(0.95);
        emit_file("minimax.mp4", &video).map_err(GenerateError::Other)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(MiniMax);
