//! Kling AI: text to video, image to video with an end frame
//! (`image_tail`), with the simple camera control, and continuing a video
//! Kling made (`video-extend`).
//!
//! Submit (`POST /v1/videos/text2video`, `/image2video` or
//! `/video-extend`), poll (`GET /v1/videos/{kind}/{task_id}`) until the
//! task succeeds or fails, download the video from the URL it gives, hand
//! it to the host with the video's id, which a later continuation sends
//! back. An extended video is the source and the new 4-5 s as one video:
//! the host is given it from the source's end (`task_info.parent_video`'s
//! duration) on. The API
//! token is a JWT the host signs from the user's access and secret keys
//! (`{{kling-jwt:...}}`), so neither key enters the adapter.
//!
//! Extras: `api` (default `https://api.klingai.com`), `model`
//! (`kling-v1`), `mode` (`std` or `pro`), `cfg_scale` (0..1), `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const AUTH: &str = "Bearer {{kling-jwt:KLING_ACCESS_KEY,KLING_SECRET_KEY}}";

struct Kling;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// Kling's answer as JSON, or its error in its own words.
fn answer(response: &http::Response, what: &str) -> Result<Value, GenerateError> {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    let code = body["code"].as_i64().unwrap_or(-1);
    if response.status != 200 || code != 0 {
        let message = body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&response.body).chars().take(300).collect());
        return Err(vendor(format!("{what}: HTTP {}, code {code}: {message}", response.status)));
    }
    Ok(body)
}

/// The closest aspect ratio Kling offers.
fn aspect(width: u32, height: u32) -> &'static str {
    let r = width as f64 / height as f64;
    [("16:9", 16.0 / 9.0), ("9:16", 9.0 / 16.0), ("1:1", 1.0)]
        .iter()
        .min_by(|a, b| (a.1 - r).abs().total_cmp(&(b.1 - r).abs()))
        .map(|a| a.0)
        .unwrap_or("16:9")
}

impl Adapter for Kling {
    fn describe() -> AdapterInfo {
        info(
            "kling",
            "Kling AI",
            "0.2.0",
            &[
                Field::Prompt,
                Field::NegativePrompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::Camera,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        for key in ["KLING_ACCESS_KEY", "KLING_SECRET_KEY"] {
            if !has_secret(key) {
                return Err(GenerateError::InvalidRequest(format!(
                    "set MATTEBOX_SECRET_{key} to your Kling {} (from the Kling developer console)",
                    if key.ends_with("ACCESS_KEY") { "access key" } else { "secret key" }
                )));
            }
        }
        let api = extra(&request, "api").unwrap_or("https://api.klingai.com").trim_end_matches('/').to_owned();
        let mut notes = Vec::new();
        let mut body = json!({
            "model_name": extra(&request, "model").unwrap_or("kling-v1"),
            "prompt": request.prompt,
            "mode": extra(&request, "mode").unwrap_or("std"),
        });
        if !request.negative_prompt.is_empty() {
            body["negative_prompt"] = json!(request.negative_prompt);
        }
        if let Some(cfg) = extra(&request, "cfg_scale").and_then(|v| v.parse::<f64>().ok()) {
            body["cfg_scale"] = json!(cfg.clamp(0.0, 1.0));
        }
        // Kling makes 5 or 10 second clips.
        let seconds = request.duration.num as f64 / request.duration.den.max(1) as f64;
        let duration = if seconds <= 5.0 { 5 } else { 10 };
        body["duration"] = json!(duration.to_string());
        if (seconds - duration as f64).abs() > 1e-6 {
            notes
                .push(approximated(Field::Duration, &format!("Kling makes 5 or 10 s clips; this one is {duration} s")));
        }
        // The simple camera control moves one axis, scaled to [-10, 10].
        let c = request.camera;
        let axes = [
            ("horizontal", c.horizontal),
            ("vertical", c.vertical),
            ("pan", c.pan),
            ("tilt", c.tilt),
            ("roll", c.roll),
            ("zoom", c.zoom),
        ];
        let moving: Vec<&(&str, f32)> = axes.iter().filter(|(_, a)| *a != 0.0).collect();
        if let Some((axis, amount)) = moving.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())) {
            let mut config = json!({ "horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 0 });
            config[*axis] = json!((amount * 10.0).clamp(-10.0, 10.0));
            body["camera_control"] = json!({ "type": "simple", "config": config });
            if moving.len() > 1 {
                notes.push(approximated(
                    Field::Camera,
                    &format!("Kling's simple camera moves one axis; it got {axis} only"),
                ));
            }
        }
        let source = request.source_video.as_ref();
        if let Some(video) = source.filter(|v| v.role != VideoRole::Extend) {
            notes.push(dropped(
                Field::SourceVideo,
                &format!("this adapter does not send a source video to {} yet", role_name(video.role)),
            ));
        }
        let continued = extend_source(&request).and_then(|v| v.vendor_generation.as_deref().map(|id| (v, id)));
        // Kling starts from its own video, or from the source's last frame.
        let first_frame = request.first_frame.as_ref().or(match extend_source(&request) {
            Some(video) if continued.is_none() => {
                notes.push(approximated(
                    Field::SourceVideo,
                    "Kling continues only videos it made; this source is not one (or came from another \
                     generator), so the shot starts on its last frame without its motion",
                ));
                Some(&video.last_frame)
            }
            _ => None,
        });
        let kind = if let Some((video, video_id)) = continued {
            // Kling's extend takes the video, a prompt and its guidance only;
            // the model, mode and size are the source's, the length 4-5 s.
            body = json!({ "video_id": video_id, "prompt": request.prompt });
            if !request.negative_prompt.is_empty() {
                body["negative_prompt"] = json!(request.negative_prompt);
            }
            if let Some(cfg) = extra(&request, "cfg_scale").and_then(|v| v.parse::<f64>().ok()) {
                body["cfg_scale"] = json!(cfg.clamp(0.0, 1.0));
            }
            notes.retain(|n| n.field != Field::Duration && n.field != Field::Camera);
            notes.push(approximated(Field::Duration, "Kling extends a video by 4-5 s"));
            if !moving.is_empty() {
                notes.push(dropped(Field::Camera, "Kling's extend takes no camera control"));
            }
            if request.first_frame.is_some() || request.last_frame.is_some() {
                notes.push(dropped(Field::FirstFrame, "Kling's extend starts where its video ends"));
            }
            log(LogLevel::Info, &format!("continuing Kling video {video_id} ({})", video.label));
            "video-extend"
        } else if let Some(first) = first_frame {
            body["image"] = json!(base64::encode(&png::encode_rgba8(first.width, first.height, &first.rgba8)));
            if let Some(last) = &request.last_frame {
                body["image_tail"] = json!(base64::encode(&png::encode_rgba8(last.width, last.height, &last.rgba8)));
            }
            "image2video"
        } else {
            if request.last_frame.is_some() {
                notes.push(dropped(Field::LastFrame, "Kling takes an end frame only with a first frame"));
            }
            body["aspect_ratio"] = json!(aspect(request.width, request.height));
            "text2video"
        };
        notes.push(approximated(Field::Size, "Kling picks the resolution (720p or 1080p by model); the host fits it"));
        notes.push(approximated(Field::Fps, "Kling delivers 30 fps; the host resamples to the requested rate"));
        notes.push(dropped(Field::Seed, "Kling's API takes no seed"));
        if !request.references.is_empty() {
            notes.push(dropped(Field::References, "this adapter does not send reference images yet"));
        }

        let submitted = http::post_json(&format!("{api}/v1/videos/{kind}"), &[("authorization", AUTH)], &body)?;
        let task = answer(&submitted, "submitting the task")?;
        let id = task["data"]["task_id"].as_str().ok_or_else(|| vendor(format!("no task_id in {task}")))?.to_owned();
        log(LogLevel::Info, &format!("Kling task {id} submitted"));

        let interval = Duration::from_millis(extra(&request, "poll_ms").and_then(|v| v.parse().ok()).unwrap_or(5000));
        let (url, video_id, skip) = poll(interval, Duration::from_secs(1700), |_| {
            let response = http::get(
                &format!("{api}/v1/videos/{kind}/{}", http::encode_component(&id)),
                &[("authorization", AUTH)],
            )?;
            let status = answer(&response, "asking about the task")?;
            let data = &status["data"];
            match data["task_status"].as_str() {
                Some("succeed") => {
                    let video = &data["task_result"]["videos"][0];
                    let url = video["url"].as_str().ok_or_else(|| vendor("the task succeeded without a video"))?;
                    // An extension is delivered whole: its parent's seconds come first.
                    let skip = data["task_info"]["parent_video"]["duration"]
                        .as_str()
                        .and_then(|d| d.parse::<f64>().ok())
                        .filter(|d| d.is_finite() && *d >= 0.0);
                    Ok(Some((url.to_owned(), video["id"].as_str().map(str::to_owned), skip)))
                }
                Some("failed") => Err(vendor(format!(
                    "Kling could not make the video: {}",
                    data["task_status_msg"].as_str().unwrap_or("no reason given")
                ))),
                _ => Ok(None),
            }
        })?;
        let video = http::get(&url, &[])?;
        if video.status != 200 {
            return Err(vendor(format!("downloading the video failed: HTTP {}", video.status)));
        }
        progress(0.9);
        match (kind, skip) {
            ("video-extend", Some(seconds)) => {
                let start = Rational { num: (seconds * 1000.0).round() as i64, den: 1000 };
                emit_file_from("kling.mp4", &video.body, start).map_err(GenerateError::Other)?;
            }
            ("video-extend", None) => {
                return Err(vendor("the extended video came without its parent's duration (task_info.parent_video)"));
            }
            _ => emit_file("kling.mp4", &video.body).map_err(GenerateError::Other)?,
        }
        Ok(match video_id {
            Some(id) => report_with_id(notes, &id),
            None => report(notes),
        })
    }
}

export_adapter!(Kling);
