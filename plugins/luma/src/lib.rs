//! Luma Dream Machine: `POST /dream-machine/v1/generations` with the
//! shot's keyframes, camera concepts, loop, resolution and duration.
//!
//! `keyframes.frame0` is the first frame, or the Luma generation a take
//! continues (`{"type": "generation"}`: nothing uploaded); `frame1` is the
//! last frame. Luma reads keyframe images from URLs only, so frames go
//! first to the user's own file server (`upload`, a URL prefix the adapter
//! PUTs `mattebox-<hash>.png` under; `image_url`, where Luma fetches them
//! when that differs), named by their content.
//!
//! Submit, poll `GET /generations/{id}` through `queued` and `dreaming` to
//! `completed` (`assets.video`) or `failed` (`failure_reason`), download
//! the video. A cancelled take deletes its generation. Busy answers (429,
//! 5xx) are asked again with backoff; refusals come back in Luma's words
//! (`detail`).
//!
//! Extras: `api` (default `https://api.lumalabs.ai/dream-machine/v1`),
//! `model` (`ray-2`, `ray-flash-2`, `ray-1-6`), `resolution` (`540p`,
//! `720p`, `1080p`, `4k`; default the smallest that covers the shot),
//! `loop` (`true`), `concepts` (Luma's camera concept keys, comma
//! separated, besides those the camera move gives), `upload`,
//! `image_url`, `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;
use sha2::{Digest, Sha256};

const AUTH: &str = "Bearer {{secret:LUMAAI_API_KEY}}";
const VENDOR: &str = "Luma";
/// Luma renders 24 frames a second.
const LUMA_FPS: i64 = 24;

struct Luma;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// One call to Luma's API, asked again while it is busy.
fn call(method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
    let auth = [("authorization", AUTH)];
    match body {
        Some(value) => http::send_json(VENDOR, url, &auth, value),
        None => http::send(VENDOR, method, url, &auth, &[]),
    }
}

/// The aspect ratio nearest `width:height` among Luma's.
fn aspect_ratio(width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, &["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"])
}

/// The smallest resolution Luma offers that covers the shot's short side.
fn resolution(width: u32, height: u32) -> &'static str {
    match width.min(height) {
        0..=540 => "540p",
        541..=720 => "720p",
        721..=1080 => "1080p",
        _ => "4k",
    }
}

/// Luma's camera concepts for the camera move, strongest axis first: its
/// concepts have no strength, only a direction.
fn concepts_for(camera: &CameraMotion) -> Vec<&'static str> {
    let axes = [
        (camera.horizontal, "truck_right", "truck_left"),
        (camera.vertical, "pedestal_up", "pedestal_down"),
        (camera.pan, "pan_right", "pan_left"),
        (camera.tilt, "tilt_up", "tilt_down"),
        (camera.roll, "roll_right", "roll_left"),
        (camera.zoom, "push_in", "pull_out"),
    ];
    let mut moving: Vec<_> = axes.iter().filter(|(a, _, _)| *a != 0.0).collect();
    moving.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    moving.iter().map(|(a, positive, negative)| if *a > 0.0 { *positive } else { *negative }).collect()
}

/// Where the user's frames go, and where Luma reads them.
struct ImageHost {
    upload: String,
    public: String,
}

impl ImageHost {
    fn of(request: &ShotRequest) -> Option<ImageHost> {
        let upload = extra(request, "upload")?.trim_end_matches('/').to_owned();
        let public = extra(request, "image_url").map(|u| u.trim_end_matches('/').to_owned());
        Some(ImageHost { public: public.unwrap_or_else(|| upload.clone()), upload })
    }

    /// Puts `image` on the user's server as a PNG named by its content;
    /// returns the URL Luma reads it from.
    fn put(&self, image: &Image) -> Result<String, GenerateError> {
        let png = png::encode_rgba8(image.width, image.height, &image.rgba8);
        let hash: String = Sha256::digest(&png).iter().take(16).map(|b| format!("{b:02x}")).collect();
        let name = format!("mattebox-{hash}.png");
        let auth = "{{secret:LUMA_UPLOAD_AUTH}}";
        let mut headers = vec![("content-type", "image/png")];
        if has_secret("LUMA_UPLOAD_AUTH") {
            headers.push(("authorization", auth));
        }
        let put = http::send("the upload server", "PUT", &format!("{}/{name}", self.upload), &headers, &png)?;
        match put.status {
            200 | 201 | 204 => Ok(format!("{}/{name}", self.public)),
            401 | 403 => Err(GenerateError::InvalidRequest(format!(
                "the upload server ({}) refused to store {} (HTTP {}): set MATTEBOX_SECRET_LUMA_UPLOAD_AUTH to the \
                 Authorization header it wants",
                self.upload, image.label, put.status
            ))),
            status => Err(vendor(format!(
                "the upload server ({}) could not store {}: HTTP {status}: {}",
                self.upload,
                image.label,
                String::from_utf8_lossy(&put.body).chars().take(200).collect::<String>()
            ))),
        }
    }
}

/// A keyframe from an image: put on the user's server, or a clear refusal
/// that says how to name one.
fn image_keyframe(host: &Option<ImageHost>, image: &Image, which: &str) -> Result<Value, GenerateError> {
    let Some(host) = host else {
        return Err(GenerateError::InvalidRequest(format!(
            "Luma reads keyframes from URLs, and the {which} ({}) has none: name a server of yours to put frames \
             on once, `mattebox plugin config luma upload=https://files.example.com/luma/` (and `image_url=...` \
             when Luma reads them from another address), or leave the {which} out",
            image.label
        )));
    };
    Ok(json!({ "type": "image", "url": host.put(image)? }))
}

impl Adapter for Luma {
    fn describe() -> AdapterInfo {
        info(
            "luma",
            "Luma Dream Machine",
            "0.1.0",
            &[
                Field::Prompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::Camera,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        require_secret("LUMAAI_API_KEY", "a Luma API key (lumalabs.ai/dream-machine/api/keys)")?;
        let api = extra(&request, "api")
            .unwrap_or("https://api.lumalabs.ai/dream-machine/v1")
            .trim_end_matches('/')
            .to_owned();
        let model = extra(&request, "model").unwrap_or("ray-2").to_owned();
        let host = ImageHost::of(&request);
        let mut notes = Vec::new();
        let mut body = json!({ "model": model, "aspect_ratio": aspect_ratio(request.width, request.height) });
        if !request.prompt.is_empty() {
            body["prompt"] = json!(request.prompt);
        }

        // frame0: the first frame, or the generation (or clip) continued.
        let source = extend_source(&request);
        let mut parent_seconds = None;
        let frame0 = match (&request.first_frame, source) {
            (Some(first), source) => {
                if let Some(video) = source {
                    notes.push(dropped(
                        Field::SourceVideo,
                        &format!("the first frame was given, so {} was not continued", video.label),
                    ));
                }
                Some(image_keyframe(&host, first, "first frame")?)
            }
            (None, Some(video)) => match &video.vendor_generation {
                Some(id) => {
                    parent_seconds = Some(source_seconds(video));
                    Some(json!({ "type": "generation", "id": id }))
                }
                None => {
                    notes.push(approximated(
                        Field::SourceVideo,
                        &format!(
                            "Luma continues only its own generations: the shot starts on {}'s last frame, without its \
                             motion",
                            video.label
                        ),
                    ));
                    Some(image_keyframe(&host, &video.last_frame, "source's last frame")?)
                }
            },
            (None, None) => None,
        };
        note_other_roles(&request, "Luma", &mut notes);
        let frame1 = match &request.last_frame {
            Some(last) => Some(image_keyframe(&host, last, "last frame")?),
            None => None,
        };
        if frame0.is_some() || frame1.is_some() {
            let mut keyframes = json!({});
            if let Some(f) = frame0 {
                keyframes["frame0"] = f;
            }
            if let Some(f) = frame1 {
                keyframes["frame1"] = f;
            }
            body["keyframes"] = keyframes;
        } else if request.prompt.is_empty() {
            return Err(GenerateError::InvalidRequest(
                "Luma needs a prompt, a first or last frame, or a take to continue".into(),
            ));
        }

        // What Luma makes: 5 or 9 s at 24 fps in its resolutions (ray-1-6: 5 s, its own size).
        let seconds = seconds(&request);
        let made = if model == "ray-1-6" || seconds <= 7.0 { 5 } else { 9 };
        if model != "ray-1-6" {
            body["duration"] = json!(format!("{made}s"));
            let res = extra(&request, "resolution").unwrap_or(resolution(request.width, request.height));
            body["resolution"] = json!(res);
        }
        if (seconds - made as f64).abs() > 1e-6 {
            notes.push(approximated(Field::Duration, &format!("Luma makes 5 or 9 s clips; this one is {made} s")));
        }
        notes.push(approximated(
            Field::Size,
            &format!(
                "Luma made {} at its resolution; the host fits it to the request",
                body["aspect_ratio"].as_str().unwrap_or("?")
            ),
        ));
        if request.fps.num != LUMA_FPS * request.fps.den {
            notes.push(approximated(Field::Fps, "Luma delivers 24 fps; the host resamples to the requested rate"));
        }
        if let Some(flag) = extra(&request, "loop") {
            body["loop"] = json!(matches!(flag, "true" | "1" | "yes"));
        }

        let mut concepts: Vec<String> = concepts_for(&request.camera).iter().map(|c| c.to_string()).collect();
        if !concepts.is_empty() {
            notes.push(approximated(
                Field::Camera,
                &format!("Luma's camera concepts have a direction, not a strength: {}", concepts.join(", ")),
            ));
        }
        for key in extra(&request, "concepts").unwrap_or("").split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if !concepts.iter().any(|c| c == key) {
                concepts.push(key.to_owned());
            }
        }
        if !concepts.is_empty() {
            body["concepts"] = json!(concepts.iter().map(|key| json!({ "key": key })).collect::<Vec<_>>());
        }
        if !request.negative_prompt.is_empty() {
            notes.push(dropped(Field::NegativePrompt, "Luma's video API takes no negative prompt"));
        }
        notes.push(dropped(Field::Seed, "Luma's API takes no seed"));
        if !request.references.is_empty() {
            notes.push(dropped(Field::References, "Luma's video API takes no reference images"));
        }
        if let Some(sound) = request.audio.first() {
            notes
                .push(dropped(Field::Audio, &format!("Luma's video API takes no sound; {} was not sent", sound.label)));
        }

        let submitted = call("POST", &format!("{api}/generations"), Some(&body))?;
        let id = match submitted.status {
            200 | 201 => submitted.json()?["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| vendor("Luma answered without an id"))?,
            400 | 422 => {
                return Err(GenerateError::InvalidRequest(format!("Luma refused the request: {}", submitted.detail())));
            }
            401 | 403 => return Err(vendor(format!("Luma refused the API key: {}", submitted.detail()))),
            402 => return Err(vendor(format!("Luma wants credits: {}", submitted.detail()))),
            status => return Err(vendor(format!("creating the generation: HTTP {status}: {}", submitted.detail()))),
        };
        log(LogLevel::Info, &format!("Luma generation {id} created"));
        let url = format!("{api}/generations/{}", http::encode_component(&id));
        let interval = poll_interval(&request, 5000);
        let video_url = poll_or_stop(
            interval,
            Duration::from_secs(1700),
            |_| {
                let response = call("GET", &url, None)?;
                if response.status != 200 {
                    return Err(vendor(format!(
                        "asking about generation {id}: HTTP {}: {}",
                        response.status,
                        response.detail()
                    )));
                }
                let generation = response.json()?;
                match generation["state"].as_str() {
                    Some("completed") => {
                        let video = generation["assets"]["video"].as_str();
                        Ok(Some(video.ok_or_else(|| vendor("the generation completed without a video"))?.to_owned()))
                    }
                    Some("failed") => Err(vendor(format!(
                        "Luma could not make the video: {}",
                        generation["failure_reason"].as_str().unwrap_or("no reason given")
                    ))),
                    Some("queued" | "dreaming") => Ok(None),
                    other => Err(vendor(format!("generation {id} is in a state Luma does not document: {other:?}"))),
                }
            },
            || drop(http::fetch("DELETE", &url, &[("authorization", AUTH)], &[])),
        )?;
        let video = http::download(VENDOR, &video_url)?;
        progress(0.95);
        emit_continuation("luma.mp4", &video, parent_seconds)?;
        Ok(report_with_id(notes, &id))
    }
}

export_adapter!(Luma);
