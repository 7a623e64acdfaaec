//! Kling AI: text to video, image to video with an end frame
//! (`image_tail`), with the simple camera control, continuing a video
//! Kling made (`video-extend`), and lip-syncing one to a dialogue line
//! (`lip-sync`, `audio2video`).
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

/// Kling's "not now": a 5xx, or a 429 for requests too fast (1302) or too
/// many at once (1303). Its other 429s (1100-1102: the account is in
/// arrears or its resource pack is spent) will not pass by waiting.
fn busy(response: &http::Response) -> bool {
    let code = || json::from_slice::<Value>(&response.body).ok().and_then(|b| b["code"].as_i64());
    response.status >= 500 || (response.status == 429 && matches!(code(), Some(1302 | 1303)))
}

/// One call to Kling's API, tried again while it is busy.
fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    match body {
        Some(value) => http::send_when(
            busy,
            "Kling",
            method,
            url,
            &[("authorization", AUTH), ("content-type", "application/json")],
            value.to_string().as_bytes(),
        ),
        None => http::send_when(busy, "Kling", method, url, &[("authorization", AUTH)], &[]),
    }
}

/// The closest aspect ratio Kling offers.
fn aspect(width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, &["16:9", "9:16", "1:1"])
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
                Field::Audio,
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
        let seconds = seconds(&request);
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
        if let Some(video) = source.filter(|v| v.role == VideoRole::Lipsync) {
            return lip_sync(&request, &api, video);
        }
        if let Some(video) = source.filter(|v| v.role == VideoRole::Restyle) {
            notes.push(dropped(
                Field::SourceVideo,
                &format!("this adapter does not send a source video to {} yet", role_name(video.role)),
            ));
        }
        if let Some(sound) = request.audio.first() {
            notes.push(dropped(
                Field::Audio,
                &format!("Kling takes sound only to lip-sync; {} was not sent", sound.label),
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

        let (video, video_id, skip) = run_task(&request, &api, kind, &body)?;
        progress(0.9);
        match (kind, skip) {
            ("video-extend", Some(seconds)) => {
                let start = Rational { num: (seconds * 1000.0).round() as i64, den: 1000 };
                emit_file_from("kling.mp4", &video, start).map_err(GenerateError::Other)?;
            }
            ("video-extend", None) => {
                return Err(vendor("the extended video came without its parent's duration (task_info.parent_video)"));
            }
            _ => emit_file("kling.mp4", &video).map_err(GenerateError::Other)?,
        }
        Ok(match video_id {
            Some(id) => report_with_id(notes, &id),
            None => report(notes),
        })
    }
}

/// A finished task's video, its id, and (for an extension) its parent's
/// length in seconds.
type Finished = (Vec<u8>, Option<String>, Option<f64>);

/// Submits a `kind` task with `body`, polls it until it ends, and
/// downloads its video.
fn run_task(request: &ShotRequest, api: &str, kind: &str, body: &Value) -> Result<Finished, GenerateError> {
    let submitted = call("POST", &format!("{api}/v1/videos/{kind}"), Some(body))?;
    let task = answer(&submitted, "submitting the task")?;
    let id = task["data"]["task_id"].as_str().ok_or_else(|| vendor(format!("no task_id in {task}")))?.to_owned();
    log(LogLevel::Info, &format!("Kling task {id} submitted"));

    let interval = poll_interval(request, 5000);
    let (url, video_id, skip) = poll(interval, Duration::from_secs(1700), |_| {
        let response = call("GET", &format!("{api}/v1/videos/{kind}/{}", http::encode_component(&id)), None)?;
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
    let video = http::download("Kling", &url)?;
    Ok((video, video_id, skip))
}

/// Kling's lip-sync of one of its own videos to the request's dialogue
/// line (`audio2video`, the line sent as a file). The result is the video
/// again, its mouth re-rendered, with the line as its sound track.
fn lip_sync(request: &ShotRequest, api: &str, video: &SourceVideo) -> Result<TakeReport, GenerateError> {
    let Some(video_id) = video.vendor_generation.as_deref() else {
        return Err(GenerateError::InvalidRequest(format!(
            "Kling lip-syncs only videos it made, by their id; {} is not a Kling take (make the shot with \
             --adapter kling first, then --lipsync its take)",
            video.label
        )));
    };
    let Some(line) = audio_of(request, AudioRole::Dialogue) else {
        return lip_sync_text(request, api, video_id);
    };
    // Kling takes .mp3, .wav, .m4a or .aac, up to 5 MB and 2-60 s.
    let seconds = line.duration.num as f64 / line.duration.den.max(1) as f64;
    if !(2.0..=60.0).contains(&seconds) {
        return Err(GenerateError::InvalidRequest(format!(
            "Kling lip-syncs lines of 2 to 60 s; {} is {seconds:.1} s",
            line.label
        )));
    }
    const MOST: usize = 5_000_000;
    let kept = line.original.name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let usable = matches!(kept.as_deref(), Some("mp3" | "wav" | "m4a" | "aac"));
    let mut notes = Vec::new();
    let sent = if usable && !line.original.bytes.is_empty() && line.original.bytes.len() <= MOST {
        &line.original.bytes
    } else if line.wav.len() <= MOST {
        if !line.original.bytes.is_empty() {
            notes.push(approximated(
                Field::Audio,
                &format!("{} went to Kling as 16-bit WAV (Kling takes mp3, wav, m4a, aac up to 5 MB)", line.label),
            ));
        }
        &line.wav
    } else {
        return Err(GenerateError::InvalidRequest(format!(
            "{} is more than Kling's 5 MB as {} and as WAV: give it as an mp3 or m4a",
            line.label, line.original.name
        )));
    };
    let body = json!({ "input": {
        "video_id": video_id,
        "mode": "audio2video",
        "audio_type": "file",
        "audio_file": base64::encode(sent),
    } });
    log(LogLevel::Info, &format!("lip-syncing Kling video {video_id} to {}", line.label));
    finish_lip_sync(request, api, &body, notes)
}

/// Kling's lip-sync to words it voices itself (`text2video`): the words in
/// extra `text` (`mattebox generate --say`), a Kling voice in `voice_id`.
fn lip_sync_text(request: &ShotRequest, api: &str, video_id: &str) -> Result<TakeReport, GenerateError> {
    let Some(text) = extra(request, "text").filter(|t| !t.trim().is_empty()) else {
        return Err(GenerateError::InvalidRequest(
            "lip-sync needs the dialogue line: give it with --audio, or the words with --say and a Kling voice with \
             --extra voice_id=..."
                .into(),
        ));
    };
    let Some(voice) = extra(request, "voice_id") else {
        return Err(GenerateError::InvalidRequest(
            "Kling voices the words with one of its voices: name it with --extra voice_id=... (and \
             voice_language=zh for Chinese)"
                .into(),
        ));
    };
    if text.chars().count() > 120 {
        return Err(GenerateError::InvalidRequest(format!(
            "Kling voices at most 120 characters; these words are {}: give the line as a sound with --audio",
            text.chars().count()
        )));
    }
    let mut notes = Vec::new();
    let language = extra(request, "voice_language").unwrap_or("en");
    let asked = extra(request, "voice_speed").and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0);
    let speed = asked.clamp(0.8, 2.0);
    if speed != asked {
        notes.push(approximated(
            Field::Extras,
            &format!("Kling voices at 0.8 to 2 times; voice_speed {asked} became {speed}"),
        ));
    }
    let body = json!({ "input": {
        "video_id": video_id,
        "mode": "text2video",
        "text": text,
        "voice_id": voice,
        "voice_language": language,
        "voice_speed": speed,
    } });
    log(LogLevel::Info, &format!("lip-syncing Kling video {video_id} to words in voice {voice}"));
    finish_lip_sync(request, api, &body, notes)
}

/// Runs a lip-sync task and hands its video over, with what a lip-sync
/// leaves of the request said.
fn finish_lip_sync(
    request: &ShotRequest,
    api: &str,
    body: &Value,
    mut notes: Vec<Deviation>,
) -> Result<TakeReport, GenerateError> {
    let (bytes, new_id, _) = run_task(request, api, "lip-sync", body)?;
    progress(0.9);
    emit_file("kling.mp4", &bytes).map_err(GenerateError::Other)?;
    notes.push(approximated(Field::Duration, "a lip-synced take is as long as its video"));
    if !request.prompt.is_empty() || !request.negative_prompt.is_empty() {
        notes.push(dropped(Field::Prompt, "Kling's lip-sync takes no prompt"));
    }
    if request.first_frame.is_some() || request.last_frame.is_some() {
        notes.push(dropped(Field::FirstFrame, "a lip-sync keeps its video's frames"));
    }
    if camera_moves(request) {
        notes.push(dropped(Field::Camera, "a lip-sync keeps its video's camera"));
    }
    Ok(match new_id {
        Some(id) => report_with_id(notes, &id),
        None => report(notes),
    })
}

export_adapter!(Kling);
