//! ByteDance Seedance on ModelArk (BytePlus, or Volcengine Ark in mainland
//! China): `POST /api/v3/contents/generations/tasks`, then `GET` the task
//! until it has succeeded or failed.
//!
//! The request is one `content` list: the prompt with Seedance's text
//! commands (`--resolution 720p --ratio 16:9 --duration 5 --seed 11
//! --watermark false`), and images by role (`first_frame`, `last_frame`,
//! `reference_image`) as data URIs. Seedance 2 models also take a dialogue
//! or reference sound (`reference_audio`) and continue one of their own
//! takes (`reference_video`, the task's current video URL, with the
//! `extend` task type); Seedance 1.5 and 2 make sound, which becomes the
//! take's.
//!
//! Extras: `api` (default `https://ark.ap-southeast.bytepluses.com`;
//! `https://ark.cn-beijing.volces.com` for Volcengine Ark), `model`
//! (default `seedance-1-5-pro-251215`), `resolution` (`480p`, `720p`,
//! `1080p`), `camera_fixed` (`true`), `audio` (`false` for a silent
//! take), `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const AUTH: &str = "Bearer {{secret:ARK_API_KEY}}";
const VENDOR: &str = "Seedance";
/// Seedance takes inline images up to 10 MB.
const MAX_DATA_URI: usize = 10_000_000;

struct Seedance;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// ModelArk's "not now": a 5xx, or a 429 for the rate of requests, unless
/// it says a quota or a spending limit the user set is reached.
fn busy(response: &http::Response) -> bool {
    let code = || {
        json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|b| b["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    response.status >= 500 || (response.status == 429 && !code().contains("Quota") && !code().contains("SetLimit"))
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    match body {
        Some(value) => http::send_when(
            busy,
            VENDOR,
            method,
            url,
            &[("authorization", AUTH), ("content-type", "application/json")],
            value.to_string().as_bytes(),
        ),
        None => http::send_when(busy, VENDOR, method, url, &[("authorization", AUTH)], &[]),
    }
}

/// ModelArk's words for a refused call: `error.code`, `error.message`.
fn refusal(response: &http::Response) -> String {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    match body["error"]["message"].as_str() {
        Some(message) => {
            format!("HTTP {} {}: {message}", response.status, body["error"]["code"].as_str().unwrap_or(""))
        }
        None => format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body).chars().take(300).collect::<String>()
        ),
    }
}

/// The nearest of Seedance's ratios.
fn ratio(width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, &["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "9:21"])
}

fn image_item(image: &Image, role: &str, field: Field, notes: &mut Vec<Deviation>) -> Value {
    let url = png_data_uri_within(image, MAX_DATA_URI, VENDOR, field, notes);
    json!({ "type": "image_url", "image_url": { "url": url }, "role": role })
}

impl Adapter for Seedance {
    fn describe() -> AdapterInfo {
        info(
            "seedance",
            "Seedance (ModelArk)",
            "0.1.0",
            &[
                Field::Prompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::References,
                Field::Seed,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
                Field::Audio,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("ARK_API_KEY", "a ModelArk API key (console.byteplus.com/ark, or console.volcengine.com/ark)")?;
        let api = extra(&request, "api")
            .unwrap_or("https://ark.ap-southeast.bytepluses.com")
            .trim_end_matches('/')
            .to_owned();
        let tasks = format!("{api}/api/v3/contents/generations/tasks");
        let model = extra(&request, "model").unwrap_or("seedance-1-5-pro-251215").to_owned();
        // Seedance 2 ("dreamina-seedance-2-0-...", "doubao-seedance-2-0-...") takes video and sound in.
        let second = model.contains("seedance-2");
        let sounding = second || model.contains("seedance-1-5");
        let mut notes = Vec::new();
        let mut content = Vec::new();
        let mut body = json!({ "model": model });

        // A continuation: Seedance 2 extends its own take from the task's video.
        let mut source_length = None;
        let mut first = request.first_frame.as_ref();
        if let Some(video) = extend_source(&request) {
            match (&video.vendor_generation, second) {
                (Some(task), true) => {
                    let answer = call("GET", &format!("{tasks}/{}", http::encode_component(task)), None)?;
                    if answer.status != 200 {
                        return Err(vendor(format!("looking up task {task} to continue it: {}", refusal(&answer))));
                    }
                    let url = answer.json()?["content"]["video_url"].as_str().map(str::to_owned);
                    let url = url.ok_or_else(|| vendor(format!("task {task} has no video to continue")))?;
                    content
                        .push(json!({ "type": "video_url", "video_url": { "url": url }, "role": "reference_video" }));
                    body["omni_reference_task_type"] = json!("extend");
                    source_length = Some(source_seconds(video));
                }
                _ => {
                    let why = if second { "a clip Seedance did not make" } else { "Seedance 1 continues no video" };
                    notes.push(approximated(
                        Field::SourceVideo,
                        &format!("{why}: the shot starts on {}'s last frame, without its motion", video.label),
                    ));
                    first = first.or(Some(&video.last_frame));
                }
            }
        }
        note_other_roles(&request, "Seedance", &mut notes);
        if let Some(first) = first {
            content.push(image_item(first, "first_frame", Field::FirstFrame, &mut notes));
        }
        match (&request.last_frame, first) {
            (Some(last), Some(_)) => content.push(image_item(last, "last_frame", Field::LastFrame, &mut notes)),
            (Some(_), None) => {
                notes.push(dropped(Field::LastFrame, "Seedance takes a last frame only with a first frame"))
            }
            _ => {}
        }
        // Reference images go instead of frames, at most 4 (Seedance 2: 9).
        let most = if second { 9 } else { 4 };
        if !request.references.is_empty() {
            if first.is_some() && !second {
                notes.push(dropped(Field::References, "Seedance 1 takes reference images or frames, not both"));
            } else {
                for reference in request.references.iter().take(most) {
                    content.push(image_item(&reference.image, "reference_image", Field::References, &mut notes));
                }
                if request.references.len() > most {
                    notes.push(approximated(
                        Field::References,
                        &format!("{model} takes {most} references; the rest were not sent"),
                    ));
                }
            }
        }
        // Sound in: Seedance 2 follows a line or a track.
        for sound in &request.audio {
            if second {
                let uri = format!("data:audio/wav;base64,{}", base64::encode(&sound.wav));
                content.push(json!({ "type": "audio_url", "audio_url": { "url": uri }, "role": "reference_audio" }));
            } else {
                notes.push(dropped(
                    Field::Audio,
                    &format!("{model} takes no sound; {} was not sent (Seedance 2 does)", sound.label),
                ));
            }
        }

        // The prompt and its text commands.
        let seconds = seconds(&request);
        let (shortest, longest) = if second { (4, 15) } else { (3, 12) };
        let made = (seconds.round() as i64).clamp(shortest, longest);
        if (seconds - made as f64).abs() > 1e-6 {
            notes.push(approximated(
                Field::Duration,
                &format!("{model} makes {shortest} to {longest} s in whole seconds; this one is {made} s"),
            ));
        }
        let short = request.width.min(request.height);
        let resolution = extra(&request, "resolution").unwrap_or(if short <= 480 {
            "480p"
        } else if short <= 720 {
            "720p"
        } else {
            "1080p"
        });
        let ratio = ratio(request.width, request.height);
        let seed = request.seed % (1 << 32);
        if seed != request.seed {
            notes.push(approximated(Field::Seed, &format!("Seedance's seeds end at 4294967295; it got {seed}")));
        }
        let mut commands =
            format!(" --resolution {resolution} --ratio {ratio} --duration {made} --seed {seed} --watermark false");
        let moving = camera_moves(&request);
        if extra(&request, "camera_fixed") == Some("true") {
            commands.push_str(" --camerafixed true");
            if moving {
                notes.push(dropped(Field::Camera, "camera_fixed=true holds the camera still"));
            }
        } else if moving {
            commands.push_str(" --camerafixed false");
            notes.push(dropped(
                Field::Camera,
                "Seedance takes no camera path, only a free or fixed camera; describe the move in the prompt",
            ));
        }
        content.insert(0, json!({ "type": "text", "text": format!("{}{commands}", request.prompt.trim()) }));
        if sounding {
            body["generate_audio"] = json!(extra(&request, "audio") != Some("false"));
        }
        notes.push(approximated(Field::Size, &format!("Seedance made {resolution} at {ratio}; the host fits it")));
        if request.fps.num != 24 * request.fps.den {
            notes.push(approximated(Field::Fps, "Seedance delivers 24 fps; the host resamples to the requested rate"));
        }
        if !request.negative_prompt.is_empty() {
            notes.push(dropped(Field::NegativePrompt, "Seedance takes no negative prompt"));
        }
        body["content"] = json!(content);

        let created = call("POST", &tasks, Some(&body))?;
        let id = match created.status {
            200 => {
                created.json()?["id"].as_str().map(str::to_owned).ok_or_else(|| vendor("ModelArk gave no task id"))?
            }
            400 => {
                return Err(GenerateError::InvalidRequest(format!(
                    "Seedance refused the request: {}",
                    refusal(&created)
                )));
            }
            401 | 403 => return Err(vendor(format!("ModelArk refused the API key or account: {}", refusal(&created)))),
            _ => return Err(vendor(format!("creating the task: {}", refusal(&created)))),
        };
        log(LogLevel::Info, &format!("Seedance task {id} created"));
        let url = format!("{tasks}/{}", http::encode_component(&id));
        let interval = poll_interval(&request, 5000);
        let video_url = poll_or_stop(
            interval,
            Duration::from_secs(1700),
            |_| {
                let response = call("GET", &url, None)?;
                if response.status != 200 {
                    return Err(vendor(format!("asking about task {id}: {}", refusal(&response))));
                }
                let task = response.json()?;
                match task["status"].as_str() {
                    Some("succeeded") => {
                        let video = task["content"]["video_url"].as_str();
                        Ok(Some(video.ok_or_else(|| vendor("the task succeeded without a video_url"))?.to_owned()))
                    }
                    Some("failed") => Err(vendor(format!(
                        "Seedance could not make the video: {} ({})",
                        task["error"]["message"].as_str().unwrap_or("no reason given"),
                        task["error"]["code"].as_str().unwrap_or("no code")
                    ))),
                    Some("cancelled") => Err(vendor(format!("task {id} was cancelled on ModelArk's side"))),
                    Some("queued" | "running") => Ok(None),
                    other => Err(vendor(format!("task {id} has a status ModelArk does not document: {other:?}"))),
                }
            },
            // ModelArk cancels a task still queued; one running finishes on its side.
            || drop(http::fetch("DELETE", &url, &[("authorization", AUTH)], &[])),
        )?;
        let video = http::download(VENDOR, &video_url)?;
        progress(0.95);
        emit_continuation("seedance.mp4", &video, source_length)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Seedance);
