//! Jimeng (即梦) video 3.0 on Volcengine's visual API: `CVSync2AsyncSubmitTask`,
//! then `CVSync2AsyncGetResult` until the task is done. Every call is signed
//! by the host (`{{volcengine-v4:...}}`, service `cv`, region `cn-north-1`).
//!
//! The request picks its `req_key` from what it carries: text
//! (`jimeng_t2v_v30`), a first frame (`jimeng_i2v_first_v30`), first and
//! last frames (`jimeng_i2v_first_tail_v30`), a camera template on a first
//! frame (`jimeng_i2v_recamera_v30`, with `template_id` and a
//! `camera_strength` from the size of the shot's camera move), in 720p, or
//! the `_1080` models when the shot is larger. Frames go inline
//! (`binary_data_base64`); 121 or 241 frames (5 or 10 s at 24 fps).
//!
//! Extras: `req_key` (any other Jimeng video model), `template` (a camera
//! template: `hitchcock_dolly_in`, `robo_arm`, `dynamic_orbit`, ...),
//! `resolution` (`720p`, `1080p`), `api`, `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const SIGNED: &str = "{{volcengine-v4:VOLC_ACCESS_KEY,VOLC_SECRET_KEY,cn-north-1,cv}}";
const VENDOR: &str = "Jimeng";
const VERSION: &str = "2022-08-31";
/// The visual API's answer for success.
const OK: i64 = 10000;

struct Jimeng;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

fn code_of(response: &http::Response) -> Option<i64> {
    json::from_slice::<Value>(&response.body).ok().and_then(|b| b["code"].as_i64())
}

/// The visual API's "not now": over the rate (50429) or the concurrency
/// (50430) of the account, its internal errors (50500, 50501), or a busy
/// HTTP answer that names no refusal of its own.
fn busy(response: &http::Response) -> bool {
    match code_of(response) {
        Some(50429 | 50430 | 50500 | 50501) => true,
        Some(code) if code != OK && code >= 50000 => false,
        _ => http::is_busy(response),
    }
}

/// One signed call to `action`.
fn call(api: &str, action: &str, body: &Value) -> Result<Value, GenerateError> {
    let url = format!("{api}/?Action={action}&Version={VERSION}");
    let headers = [("authorization", SIGNED), ("content-type", "application/json")];
    let response = http::send_when(busy, VENDOR, "POST", &url, &headers, body.to_string().as_bytes())?;
    let answer: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    // The gateway's own refusals (signature, keys, permissions).
    if let Some(error) = answer["ResponseMetadata"]["Error"].as_object() {
        let code = error.get("Code").and_then(Value::as_str).unwrap_or("?");
        let message = error.get("Message").and_then(Value::as_str).unwrap_or("");
        return Err(vendor(format!(
            "Volcengine refused {action} (HTTP {}, {code}): {message}; check MATTEBOX_SECRET_VOLC_ACCESS_KEY and \
             MATTEBOX_SECRET_VOLC_SECRET_KEY, and that the account has Jimeng enabled",
            response.status
        )));
    }
    let code = answer["code"].as_i64();
    if response.status == 200 && code == Some(OK) {
        return Ok(answer);
    }
    let message = answer["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&response.body).chars().take(300).collect());
    let said = format!("{action}: HTTP {}, code {}: {message}", response.status, code.unwrap_or(-1));
    Err(match code {
        Some(50411..=50413) | Some(50511..=50519) => {
            GenerateError::InvalidRequest(format!("Jimeng's content check refused the shot: {said}"))
        }
        Some(50400..=50410) => GenerateError::InvalidRequest(said),
        _ => vendor(said),
    })
}

fn png_base64(image: &Image) -> String {
    base64::encode(&png::encode_rgba8(image.width, image.height, &image.rgba8))
}

/// The nearest of Jimeng's aspect ratios (text to video).
fn aspect_ratio(width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, &["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"])
}

impl Adapter for Jimeng {
    fn describe() -> AdapterInfo {
        info(
            "jimeng",
            "Jimeng video 3.0 (Volcengine)",
            "0.1.0",
            &[
                Field::Prompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::Camera,
                Field::Seed,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        for key in ["VOLC_ACCESS_KEY", "VOLC_SECRET_KEY"] {
            require_secret(key, "your Volcengine access key pair (console.volcengine.com/iam/keymanage)")?;
        }
        let api = extra(&request, "api").unwrap_or("https://visual.volcengineapi.com").trim_end_matches('/').to_owned();
        let mut notes = Vec::new();

        let first = first_or_source_end(&request, "Jimeng", "Jimeng video 3.0", &mut notes);
        let short = request.width.min(request.height);
        let full_hd = extra(&request, "resolution").map(|r| r == "1080p").unwrap_or(short > 720);
        let template = extra(&request, "template");
        let c = request.camera;
        let strength =
            [c.horizontal, c.vertical, c.pan, c.tilt, c.roll, c.zoom].iter().fold(0.0f32, |m, a| m.max(a.abs()));

        let mut body = json!({ "prompt": request.prompt });
        let mut images = Vec::new();
        let chosen = match (first, &request.last_frame, template) {
            (Some(first), _, Some(template)) => {
                images.push(png_base64(first));
                body["template_id"] = json!(template);
                body["camera_strength"] = json!(if strength > 0.66 {
                    "strong"
                } else if strength > 0.33 {
                    "medium"
                } else {
                    "weak"
                });
                if request.last_frame.is_some() {
                    notes.push(dropped(Field::LastFrame, "a camera template takes the first frame only"));
                }
                if strength > 0.0 {
                    notes.push(approximated(
                        Field::Camera,
                        &format!("Jimeng's {template} template, at the move's strength; not its axes"),
                    ));
                }
                "jimeng_i2v_recamera_v30"
            }
            (Some(first), Some(last), None) => {
                images.push(png_base64(first));
                images.push(png_base64(last));
                if full_hd { "jimeng_i2v_first_tail_v30_1080" } else { "jimeng_i2v_first_tail_v30" }
            }
            (Some(first), None, None) => {
                images.push(png_base64(first));
                if full_hd { "jimeng_i2v_first_v30_1080" } else { "jimeng_i2v_first_v30" }
            }
            (None, last, _) => {
                if last.is_some() {
                    notes.push(dropped(Field::LastFrame, "Jimeng takes a last frame only with a first frame"));
                }
                if template.is_some() {
                    notes.push(dropped(Field::Camera, "a camera template needs a first frame"));
                }
                body["aspect_ratio"] = json!(aspect_ratio(request.width, request.height));
                if full_hd { "jimeng_t2v_v30_1080p" } else { "jimeng_t2v_v30" }
            }
        };
        let req_key = extra(&request, "req_key").unwrap_or(chosen).to_owned();
        body["req_key"] = json!(req_key);
        if !images.is_empty() {
            body["binary_data_base64"] = json!(images);
        }
        if template.is_none() && strength > 0.0 {
            notes.push(dropped(
                Field::Camera,
                "Jimeng moves the camera only by template: give one with --extra template=... (hitchcock_dolly_in, \
                 robo_arm, dynamic_orbit, central_orbit, crane_push, quick_pull_back, handheld, ...)",
            ));
        }
        let seconds = seconds(&request);
        let made = if seconds <= 7.5 { 5 } else { 10 };
        body["frames"] = json!(if made == 5 { 121 } else { 241 });
        if (seconds - made as f64).abs() > 1e-6 {
            notes.push(approximated(Field::Duration, &format!("Jimeng makes 5 or 10 s clips; this one is {made} s")));
        }
        let seed = request.seed % (1 << 31);
        if seed != request.seed {
            notes.push(approximated(Field::Seed, &format!("Jimeng's seeds end at 2147483647; it got {seed}")));
        }
        body["seed"] = json!(seed);
        notes.push(approximated(
            Field::Size,
            &format!("Jimeng made {}; the host fits it", if full_hd { "1080p" } else { "720p" }),
        ));
        if request.fps.num != 24 * request.fps.den {
            notes.push(approximated(Field::Fps, "Jimeng delivers 24 fps; the host resamples to the requested rate"));
        }
        if !request.negative_prompt.is_empty() {
            notes.push(dropped(Field::NegativePrompt, "Jimeng video 3.0 takes no negative prompt"));
        }
        if !request.references.is_empty() {
            notes.push(dropped(Field::References, "Jimeng video 3.0 takes no reference images (Seedance 2 does)"));
        }
        if let Some(sound) = request.audio.first() {
            notes
                .push(dropped(Field::Audio, &format!("Jimeng video 3.0 takes no sound; {} was not sent", sound.label)));
        }

        let submitted = call(&api, "CVSync2AsyncSubmitTask", &body)?;
        let id = submitted["data"]["task_id"].as_str().ok_or_else(|| vendor("Jimeng gave no task_id"))?.to_owned();
        log(LogLevel::Info, &format!("Jimeng task {id} submitted ({req_key})"));
        let interval = poll_interval(&request, 5000);
        let query = json!({ "req_key": req_key, "task_id": id });
        let url = poll(interval, Duration::from_secs(1700), |_| {
            let answer = call(&api, "CVSync2AsyncGetResult", &query)?;
            match answer["data"]["status"].as_str() {
                Some("done") => {
                    let url = answer["data"]["video_url"].as_str().filter(|u| !u.is_empty());
                    Ok(Some(url.ok_or_else(|| vendor("the task is done without a video_url"))?.to_owned()))
                }
                Some("in_queue" | "generating") => Ok(None),
                Some("not_found") => Err(vendor(format!("Jimeng no longer knows task {id} (not_found)"))),
                Some("expired") => Err(vendor(format!("task {id} expired on Jimeng's side before it was fetched"))),
                other => Err(vendor(format!("task {id} has a status Jimeng does not document: {other:?}"))),
            }
        })?;
        let video = http::download(VENDOR, &url)?;
        progress(0.95);
        emit_file("jimeng.mp4", &video).map_err(GenerateError::Other)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Jimeng);
