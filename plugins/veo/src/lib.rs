//! Google Veo, through the Gemini API (an API key) or Vertex AI (a service
//! account, signed by the host): `predictLongRunning`, then the long-running
//! operation until it is done.
//!
//! The request's first frame goes as `image`, its last as `lastFrame`, up to
//! three references as `referenceImages` (`asset`), with the prompt, negative
//! prompt, seed, aspect ratio, resolution and length. Continuing a Veo take
//! sends the video back (`video`: on Gemini the generated file's URI, which
//! the take keeps as its vendor id; on Vertex the clip's bytes), and of the
//! combined video Veo returns the take keeps what follows the source. Veo 3
//! videos carry sound; it becomes the take's. Takes asked together go as
//! one request's `sampleCount` (Vertex up to 4; the Gemini API 2 with Veo 2,
//! else 1), each sample a take of its own.
//!
//! Extras: `model` (default `veo-3.1-generate-preview`), `project` (Vertex:
//! a Google Cloud project; without one the Gemini API is used), `location`
//! (Vertex, default `us-central1`), `resolution` (`720p`, `1080p`),
//! `person_generation`, `audio` (`false`: Vertex makes no sound),
//! `api` (the endpoint, for a proxy or a test), `poll_ms`.

use std::time::Duration;

use mattebox_adapter::json::{Value, json};
use mattebox_adapter::*;

const VENDOR: &str = "Veo";
const GEMINI_KEY: &str = "{{secret:GEMINI_API_KEY}}";
const VERTEX_AUTH: &str =
    "Bearer {{google-oauth:GOOGLE_SERVICE_ACCOUNT,https://www.googleapis.com/auth/cloud-platform}}";
/// Veo takes up to three reference images.
const MAX_REFERENCES: usize = 3;

struct Veo;

fn vendor(message: impl Into<String>) -> GenerateError {
    GenerateError::Vendor(message.into())
}

/// Where requests go and how they are signed.
enum Backend {
    Gemini { base: String },
    Vertex { base: String, project: String, location: String },
}

impl Backend {
    fn of(request: &ShotRequest) -> Result<Backend, GenerateError> {
        let api = extra(request, "api").map(|a| a.trim_end_matches('/').to_owned());
        match extra(request, "project") {
            Some(project) => {
                require_secret(
                    "GOOGLE_SERVICE_ACCOUNT",
                    "the JSON key of a service account with Vertex AI access (MATTEBOX_SECRET_GOOGLE_SERVICE_ACCOUNT=\"$(cat key.json)\")",
                )?;
                let location = extra(request, "location").unwrap_or("us-central1").to_owned();
                let host = if location == "global" {
                    "https://aiplatform.googleapis.com".to_owned()
                } else {
                    format!("https://{location}-aiplatform.googleapis.com")
                };
                Ok(Backend::Vertex { base: api.unwrap_or(host), project: project.to_owned(), location })
            }
            None => {
                require_secret(
                    "GEMINI_API_KEY",
                    "a Gemini API key (aistudio.google.com), or name a Google Cloud project for Vertex AI \
                     (`mattebox plugin config veo project=...`)",
                )?;
                Ok(Backend::Gemini { base: api.unwrap_or_else(|| "https://generativelanguage.googleapis.com".into()) })
            }
        }
    }

    fn headers(&self) -> [(&'static str, &'static str); 2] {
        match self {
            Backend::Gemini { .. } => [("x-goog-api-key", GEMINI_KEY), ("content-type", "application/json")],
            Backend::Vertex { .. } => [("authorization", VERTEX_AUTH), ("content-type", "application/json")],
        }
    }

    fn model_url(&self, model: &str, verb: &str) -> String {
        let model = http::encode_component(model);
        match self {
            Backend::Gemini { base } => format!("{base}/v1beta/models/{model}:{verb}"),
            Backend::Vertex { base, project, location } => format!(
                "{base}/v1/projects/{}/locations/{}/publishers/google/models/{model}:{verb}",
                http::encode_component(project),
                http::encode_component(location)
            ),
        }
    }

    fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<http::Response, GenerateError> {
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let headers = self.headers();
        let headers = if body.is_some() { &headers[..] } else { &headers[..1] };
        http::send(VENDOR, method, url, headers, payload.as_bytes())
    }

    /// The operation's state now.
    fn operation(&self, model: &str, name: &str) -> Result<Value, GenerateError> {
        let response = match self {
            Backend::Gemini { base } => self.call("GET", &format!("{base}/v1beta/{name}"), None)?,
            Backend::Vertex { .. } => self.call(
                "POST",
                &self.model_url(model, "fetchPredictOperation"),
                Some(&json!({ "operationName": name })),
            )?,
        };
        if response.status != 200 {
            return Err(vendor(format!("asking about operation {name}: {}", refusal(&response))));
        }
        response.json()
    }
}

/// Google's words for a refused call: `error.status` and `error.message`.
fn refusal(response: &http::Response) -> String {
    let body: Value = json::from_slice(&response.body).unwrap_or(Value::Null);
    match body["error"]["message"].as_str() {
        Some(message) => {
            format!("HTTP {} {}: {message}", response.status, body["error"]["status"].as_str().unwrap_or_default())
        }
        None => format!(
            "HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body).chars().take(300).collect::<String>()
        ),
    }
}

fn inline_image(image: &Image) -> Value {
    let png = png::encode_rgba8(image.width, image.height, &image.rgba8);
    json!({ "bytesBase64Encoded": base64::encode(&png), "mimeType": "image/png" })
}

/// The lengths Veo makes: 4, 6 or 8 s (Veo 2: 5 to 8).
fn seconds_made(model: &str, asked: f64) -> u32 {
    if model.starts_with("veo-2") {
        asked.round().clamp(5.0, 8.0) as u32
    } else {
        [4, 6, 8].into_iter().find(|s| *s as f64 >= asked - 1e-6).unwrap_or(8)
    }
}

impl Adapter for Veo {
    fn describe() -> AdapterInfo {
        info(
            "veo",
            "Google Veo",
            "0.1.0",
            &[
                Field::Prompt,
                Field::NegativePrompt,
                Field::FirstFrame,
                Field::LastFrame,
                Field::References,
                Field::Seed,
                Field::Duration,
                Field::Size,
                Field::Extras,
                Field::SourceVideo,
            ],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        let backend = Backend::of(&request)?;
        let vertex = matches!(backend, Backend::Vertex { .. });
        let model = extra(&request, "model").unwrap_or("veo-3.1-generate-preview").to_owned();
        let mut notes = Vec::new();
        let mut instance = json!({ "prompt": request.prompt });
        // Several takes asked at once become one request's samples (Vertex
        // makes up to 4, the Gemini API 2 with Veo 2 and 1 with Veo 3).
        let most = match (&backend, model.starts_with("veo-2")) {
            (Backend::Vertex { .. }, _) => 4,
            (Backend::Gemini { .. }, true) => 2,
            (Backend::Gemini { .. }, false) => 1,
        };
        let samples = takes_wanted().clamp(1, most);
        let mut parameters = json!({ "sampleCount": samples });

        // A continuation: the Veo video itself, or else the clip's last frame.
        let mut parent_seconds = None;
        if let Some(video) = extend_source(&request) {
            let seconds = source_seconds(video);
            match (&backend, &video.vendor_generation, &video.file) {
                (Backend::Gemini { .. }, Some(uri), _) => {
                    instance["video"] = json!({ "uri": uri });
                    parent_seconds = Some(seconds);
                }
                (Backend::Vertex { .. }, _, Some(file)) => {
                    instance["video"] =
                        json!({ "bytesBase64Encoded": base64::encode(&file.bytes), "mimeType": "video/mp4" });
                    parent_seconds = Some(seconds);
                }
                _ => {
                    let why = if vertex {
                        "the clip's file was not given (it is too large)"
                    } else {
                        "the Gemini API extends only videos Veo made there"
                    };
                    notes.push(approximated(
                        Field::SourceVideo,
                        &format!("{why}: the shot starts on {}'s last frame, without its motion", video.label),
                    ));
                    if request.first_frame.is_none() {
                        instance["image"] = inline_image(&video.last_frame);
                    }
                }
            }
        }
        note_other_roles(&request, "Veo", &mut notes);
        let extending = parent_seconds.is_some();
        if let Some(first) = &request.first_frame {
            if extending {
                notes.push(dropped(Field::FirstFrame, "a Veo extension starts where its video ends"));
            } else {
                instance["image"] = inline_image(first);
            }
        }
        if let Some(last) = &request.last_frame {
            if instance.get("image").is_some() {
                instance["lastFrame"] = inline_image(last);
            } else {
                notes.push(dropped(Field::LastFrame, "Veo takes a last frame only with a first frame"));
            }
        }
        if !request.references.is_empty() {
            let sent: Vec<Value> = request
                .references
                .iter()
                .take(MAX_REFERENCES)
                .map(|r| json!({ "image": inline_image(&r.image), "referenceType": "asset" }))
                .collect();
            instance["referenceImages"] = json!(sent);
            if request.references.len() > MAX_REFERENCES {
                notes.push(approximated(Field::References, "Veo takes three reference images; the rest were not sent"));
            }
            if request.references.iter().take(MAX_REFERENCES).any(|r| r.kind == ReferenceKind::Style) {
                notes.push(approximated(Field::References, "Veo 3 takes references as assets; a style went as one"));
            }
        }

        if request.prompt.trim().is_empty() && instance.get("image").is_none() && !extending {
            return Err(GenerateError::InvalidRequest("Veo needs a prompt or a first frame".into()));
        }

        // Length, size, seed, and the rest.
        let asked = seconds(&request);
        let short = request.width.min(request.height);
        let resolution = extra(&request, "resolution").unwrap_or(if short > 720 { "1080p" } else { "720p" });
        // Veo makes 1080p at 8 s only.
        let made = match (extending, resolution) {
            (true, _) => 7,
            (false, "1080p") => 8,
            (false, _) => seconds_made(&model, asked),
        };
        if !extending {
            parameters["durationSeconds"] = json!(made);
        }
        if (asked - made as f64).abs() > 1e-6 {
            let what = match (extending, resolution) {
                (true, _) => "a Veo extension adds 7 s",
                (false, "1080p") => "Veo makes 1080p in 8 s clips",
                (false, _) => "Veo makes 4, 6 or 8 s",
            };
            notes.push(approximated(Field::Duration, &format!("{what}; this one is {made} s")));
        }
        let portrait = request.height > request.width;
        parameters["aspectRatio"] = json!(if portrait { "9:16" } else { "16:9" });
        parameters["resolution"] = json!(resolution);
        notes.push(approximated(
            Field::Size,
            &format!(
                "Veo made {resolution} at {}; the host fits it",
                parameters["aspectRatio"].as_str().unwrap_or("?")
            ),
        ));
        if request.fps.num != 24 * request.fps.den {
            notes.push(approximated(Field::Fps, "Veo delivers 24 fps; the host resamples to the requested rate"));
        }
        let seed = request.seed % (1 << 32);
        if seed != request.seed {
            notes.push(approximated(Field::Seed, &format!("Veo's seeds end at 4294967295; it got {seed}")));
        }
        parameters["seed"] = json!(seed);
        if !request.negative_prompt.is_empty() {
            parameters["negativePrompt"] = json!(request.negative_prompt);
        }
        if let Some(people) = extra(&request, "person_generation") {
            parameters["personGeneration"] = json!(people);
        }
        if vertex && model.starts_with("veo-3") {
            parameters["generateAudio"] = json!(extra(&request, "audio") != Some("false"));
        }
        if camera_moves(&request) {
            notes.push(dropped(Field::Camera, "Veo's API takes no camera move; describe it in the prompt"));
        }
        if let Some(sound) = request.audio.first() {
            notes.push(dropped(Field::Audio, &format!("Veo takes no sound in; {} was not sent", sound.label)));
        }

        let body = json!({ "instances": [instance], "parameters": parameters });
        let started = backend.call("POST", &backend.model_url(&model, "predictLongRunning"), Some(&body))?;
        let name = match started.status {
            200 => started.json()?["name"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| vendor("Veo gave no operation name"))?,
            400 => {
                return Err(GenerateError::InvalidRequest(format!("Veo refused the request: {}", refusal(&started))));
            }
            401 | 403 => return Err(vendor(format!("Google refused the credentials: {}", refusal(&started)))),
            _ => return Err(vendor(format!("starting the generation: {}", refusal(&started)))),
        };
        log(LogLevel::Info, &format!("Veo operation {name} started"));
        let interval = poll_interval(&request, 10_000);
        let done = poll(interval, Duration::from_secs(1700), |_| {
            let operation = backend.operation(&model, &name)?;
            if operation["done"].as_bool() != Some(true) {
                return Ok(None);
            }
            if let Some(message) = operation["error"]["message"].as_str() {
                return Err(vendor(format!("Veo could not make the video: {message}")));
            }
            Ok(Some(operation["response"].clone()))
        })?;

        // Gemini: file URIs to download with the key; Vertex: the bytes.
        let made: Vec<&Value> = match &backend {
            Backend::Gemini { .. } => done["generateVideoResponse"]["generatedSamples"].as_array(),
            Backend::Vertex { .. } => done["videos"].as_array(),
        }
        // More than asked would be takes nobody wanted.
        .map(|returned| returned.iter().take(samples as usize).collect())
        .unwrap_or_default();
        if made.is_empty() {
            return Err(filtered(if vertex { &done } else { &done["generateVideoResponse"] }));
        }
        if made.len() < samples as usize {
            log(
                LogLevel::Info,
                &format!("Veo made {} of {samples} samples (its safety filter withheld the rest)", made.len()),
            );
        }
        // Each sample is a take of its own; the last is handed over by returning.
        let mut id = String::new();
        for (k, sample) in made.iter().enumerate() {
            if k > 0 {
                next_take(report_with_id(notes.clone(), &id))?;
            }
            let video = match &backend {
                Backend::Gemini { .. } => {
                    let uri = sample["video"]["uri"].as_str().ok_or_else(|| vendor("a sample without its file"))?;
                    id = uri.to_owned();
                    download_gemini(uri)?
                }
                Backend::Vertex { .. } => {
                    let bytes =
                        sample["bytesBase64Encoded"].as_str().ok_or_else(|| vendor("a sample without bytes"))?;
                    id = if k == 0 { name.clone() } else { format!("{name}#{k}") };
                    base64::decode(bytes).ok_or_else(|| vendor("the video's bytes are not base64"))?
                }
            };
            progress(0.9 + 0.1 * (k + 1) as f32 / made.len() as f32);
            emit_continuation("veo.mp4", &video, parent_seconds)?;
        }
        Ok(report_with_id(notes, &id))
    }
}

/// A finished operation without a video: Veo's safety filter took it.
fn filtered(answer: &Value) -> GenerateError {
    let reasons: Vec<&str> =
        answer["raiMediaFilteredReasons"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if reasons.is_empty() {
        vendor("Veo finished without a video")
    } else {
        vendor(format!("Veo's safety filter withheld the video: {}", reasons.join("; ")))
    }
}

/// A Gemini file, fetched with the key; where Google redirects to storage,
/// the storage URL is fetched without it.
fn download_gemini(uri: &str) -> Result<Vec<u8>, GenerateError> {
    let url = if uri.contains(":download") { uri.to_owned() } else { format!("{uri}:download?alt=media") };
    let response = http::send(VENDOR, "GET", &url, &[("x-goog-api-key", GEMINI_KEY)], &[])?;
    match response.status {
        200 => Ok(response.body),
        301 | 302 | 303 | 307 | 308 => {
            let to = response.header("location").ok_or_else(|| vendor("a redirect without a location"))?;
            http::download(VENDOR, to)
        }
        403 | 404 | 410 => Err(vendor(format!(
            "the video's file has expired or is gone ({}): Gemini keeps generated videos for two days; generate again",
            refusal(&response)
        ))),
        _ => Err(vendor(format!("downloading the video: {}", refusal(&response)))),
    }
}

export_adapter!(Veo);
