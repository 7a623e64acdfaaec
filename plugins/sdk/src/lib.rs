//! Write a Mattebox generator adapter in Rust.
//!
//! An adapter is a WebAssembly component (`cargo build --target
//! wasm32-wasip2`) that implements [`Adapter`] and exports it with
//! [`export_adapter!`]. Mattebox calls [`Adapter::describe`] when it loads
//! the adapter and [`Adapter::generate`] once per take; the adapter emits
//! the take's frames with [`emit_frame`] or hands over an encoded video
//! with [`emit_file`] (and sound with [`emit_audio`]), reports [`progress`] (which says when the user
//! cancelled), and reaches its vendor's API only through [`http`], to the
//! origins its `adapter.toml` declares. API keys stay with the host: put
//! `{{secret:NAME}}` in a header value and the host fills it in.
//!
//! ```ignore
//! use mattebox_adapter::*;
//!
//! struct Grey;
//!
//! impl Adapter for Grey {
//!     fn describe() -> AdapterInfo {
//!         info("grey", "Flat grey", "0.1.0", &[Field::Size, Field::Duration, Field::Fps])
//!     }
//!
//!     fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
//!         let frame = vec![128u8; (request.width * request.height * 4) as usize];
//!         for n in 0..frame_count(&request) {
//!             emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
//!             if !progress((n + 1) as f32 / frame_count(&request) as f32) {
//!                 return Err(GenerateError::Cancelled);
//!             }
//!         }
//!         Ok(report(vec![dropped(Field::Prompt, "this adapter draws grey")]))
//!     }
//! }
//!
//! export_adapter!(Grey);
//! ```

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "generator",
        pub_export_macro: true,
        export_macro_name: "export_generator",
        default_bindings_module: "mattebox_adapter::bindings",
    });
}

pub mod base64;
pub mod http;
pub mod mp4;
pub mod png;
pub mod template;
pub mod websocket;

pub use bindings::Guest as Adapter;
pub use bindings::mattebox::generator::host::LogLevel;
pub use bindings::mattebox::generator::types::{
    AdapterInfo, AudioInput, AudioRole, CameraMotion, Deviation, DeviationKind, EncodedFile, Field, GenerateError,
    Image, Rational, Reference, ReferenceKind, ShotRequest, SourceVideo, TakeReport, VideoRole,
};
pub use serde_json as json;

use bindings::mattebox::generator::host;

/// Exports `$adapter` (a type implementing [`Adapter`]) as the component's
/// `describe` and `generate`.
#[macro_export]
macro_rules! export_adapter {
    ($adapter:ident) => {
        $crate::bindings::export_generator!($adapter with_types_in $crate::bindings);
    };
}

/// An [`AdapterInfo`] (`id` and `version` must match `adapter.toml`).
pub fn info(id: &str, name: &str, version: &str, honours: &[Field]) -> AdapterInfo {
    AdapterInfo { id: id.into(), name: name.into(), version: version.into(), honours: honours.to_vec() }
}

/// A field this adapter ignored.
pub fn dropped(field: Field, note: &str) -> Deviation {
    Deviation { field, kind: DeviationKind::Dropped, note: note.into() }
}

/// A field this adapter honoured only in part.
pub fn approximated(field: Field, note: &str) -> Deviation {
    Deviation { field, kind: DeviationKind::Approximated, note: note.into() }
}

/// A take's report: the fields not honoured as asked, no vendor id.
pub fn report(deviations: Vec<Deviation>) -> TakeReport {
    TakeReport { deviations, vendor_generation: None }
}

/// A take's report with the vendor's own id of the generation (its task
/// or generation id), which the host keeps with the take and hands back
/// as `source-video.vendor-generation` when the take is continued.
pub fn report_with_id(deviations: Vec<Deviation>, vendor_generation: &str) -> TakeReport {
    TakeReport { deviations, vendor_generation: Some(vendor_generation.into()) }
}

/// The request's source video when it is to be continued (`--extend`,
/// `--after`).
pub fn extend_source(request: &ShotRequest) -> Option<&SourceVideo> {
    request.source_video.as_ref().filter(|v| v.role == VideoRole::Extend)
}

/// A source video's role as requests spell it (`extend`, `lipsync`, `restyle`).
pub fn role_name(role: VideoRole) -> &'static str {
    match role {
        VideoRole::Extend => "extend",
        VideoRole::Lipsync => "lipsync",
        VideoRole::Restyle => "restyle",
    }
}

/// How long a source video is, in seconds.
pub fn source_seconds(video: &SourceVideo) -> f64 {
    video.frame_count as f64 * video.fps.den as f64 / video.fps.num.max(1) as f64
}

/// Hands over the video of a continuation of a source `source_seconds`
/// long. Vendors that extend a video often return the source and the new
/// part as one file: when the file is longer than the source by more than
/// two seconds, the take keeps what follows the source; otherwise (or
/// without a source) all of it.
pub fn emit_continuation(name: &str, bytes: &[u8], source_seconds: Option<f64>) -> Result<(), GenerateError> {
    let whole = source_seconds.filter(|source| mp4::seconds(bytes).is_some_and(|s| s > source + 2.0));
    match whole {
        Some(source) => {
            let start = Rational { num: (source * 1000.0).round() as i64, den: 1000 };
            emit_file_from(name, bytes, start)
        }
        None => emit_file(name, bytes),
    }
    .map_err(GenerateError::Other)
}

/// The shot's length in seconds.
pub fn seconds(request: &ShotRequest) -> f64 {
    request.duration.num as f64 / request.duration.den.max(1) as f64
}

/// Whether the request asks for a camera move on any axis.
pub fn camera_moves(request: &ShotRequest) -> bool {
    let c = request.camera;
    [c.horizontal, c.vertical, c.pan, c.tilt, c.roll, c.zoom].iter().any(|a| *a != 0.0)
}

/// How often to ask about a vendor's job: the `poll_ms` extra (tests set
/// it short), else `default_ms`.
pub fn poll_interval(request: &ShotRequest, default_ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(extra(request, "poll_ms").and_then(|v| v.parse().ok()).unwrap_or(default_ms))
}

/// The frame the shot starts on, for a vendor that continues no video: the
/// request's first frame, else a continued source's last frame (noted as
/// an approximation naming `vendor`). A source for another role (lip-sync,
/// restyle) is noted as dropped: `what` cannot do it.
pub fn first_or_source_end<'a>(
    request: &'a ShotRequest,
    vendor: &str,
    what: &str,
    notes: &mut Vec<Deviation>,
) -> Option<&'a Image> {
    note_other_roles(request, what, notes);
    match (&request.first_frame, extend_source(request)) {
        (Some(first), _) => Some(first),
        (None, Some(video)) => {
            notes.push(approximated(
                Field::SourceVideo,
                &format!(
                    "{vendor} continues no video: the shot starts on {}'s last frame, without its motion",
                    video.label
                ),
            ));
            Some(&video.last_frame)
        }
        (None, None) => None,
    }
}

/// Notes a source video whose role is not `extend` as dropped: `what`
/// cannot lip-sync or restyle.
pub fn note_other_roles(request: &ShotRequest, what: &str, notes: &mut Vec<Deviation>) {
    if let Some(video) = request.source_video.as_ref().filter(|v| v.role != VideoRole::Extend) {
        notes.push(dropped(Field::SourceVideo, &format!("{what} cannot {}", role_name(video.role))));
    }
}

/// The request's audio input of `role`, if it has one.
pub fn audio_of(request: &ShotRequest, role: AudioRole) -> Option<&AudioInput> {
    request.audio.iter().find(|a| a.role == role)
}

/// `image`, or a smaller copy of at most `max_pixels` (each side divided
/// by the same whole factor, every output pixel the mean of its block),
/// for APIs that cap the images they take.
pub fn shrink(image: &Image, max_pixels: u64) -> Image {
    let pixels = image.width as u64 * image.height as u64;
    if pixels <= max_pixels || max_pixels == 0 {
        return image.clone();
    }
    let mut factor = 2u32;
    while (image.width / factor) as u64 * (image.height / factor) as u64 > max_pixels {
        factor += 1;
    }
    let (w, h) = ((image.width / factor).max(1), (image.height / factor).max(1));
    let mut rgba8 = Vec::with_capacity(w as usize * h as usize * 4);
    let area = factor * factor;
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 4];
            for dy in 0..factor {
                let row = ((y * factor + dy) * image.width + x * factor) as usize * 4;
                for px in image.rgba8[row..row + factor as usize * 4].chunks_exact(4) {
                    for c in 0..4 {
                        sum[c] += px[c] as u32;
                    }
                }
            }
            rgba8.extend(sum.iter().map(|s| ((s + area / 2) / area) as u8));
        }
    }
    Image { label: image.label.clone(), width: w, height: h, rgba8 }
}

/// A `data:image/png;base64,...` URI of `image`, for APIs that take images inline.
pub fn png_data_uri(image: &Image) -> String {
    format!("data:image/png;base64,{}", base64::encode(&png::encode_rgba8(image.width, image.height, &image.rgba8)))
}

/// `image` as a PNG data URI of at most `max_bytes` (an API's cap on an
/// inline image), shrunk to fit when it must be; the shrinking is noted
/// as an approximation of `field` in `notes`, naming `vendor`.
pub fn png_data_uri_within(
    image: &Image,
    max_bytes: usize,
    vendor: &str,
    field: Field,
    notes: &mut Vec<Deviation>,
) -> String {
    let uri = png_data_uri(image);
    if uri.len() <= max_bytes {
        return uri;
    }
    // An uncompressed PNG in base64 is about 5.4 bytes a pixel.
    let smaller = shrink(image, (max_bytes as u64 * 10) / 55);
    notes.push(approximated(
        field,
        &format!(
            "sent at {}x{}: {vendor} takes images up to {} MB inline ({} was {}x{})",
            smaller.width,
            smaller.height,
            max_bytes / 1_000_000,
            image.label,
            image.width,
            image.height
        ),
    ));
    png_data_uri(&smaller)
}

/// Fails the take with `how` (where to get one, which variable to set)
/// unless the user configured secret `name`.
pub fn require_secret(name: &str, how: &str) -> Result<(), GenerateError> {
    if has_secret(name) {
        Ok(())
    } else {
        Err(GenerateError::InvalidRequest(format!("set MATTEBOX_SECRET_{name} to {how}")))
    }
}

/// Of the ratios `offered` ("16:9", "9:21"...), the nearest to
/// `width:height` (by the ratio of ratios, so 2:1 is as far from 1:1 as
/// 1:2); the first when none parses.
pub fn nearest_ratio(width: u32, height: u32, offered: &[&'static str]) -> &'static str {
    let value = |r: &str| {
        let (w, h) = r.split_once(':')?;
        Some(w.trim().parse::<f64>().ok()? / h.trim().parse::<f64>().ok()?)
    };
    let wanted = (width.max(1) as f64 / height.max(1) as f64).ln();
    offered
        .iter()
        .filter_map(|r| value(r).filter(|v| *v > 0.0).map(|v| (*r, (v.ln() - wanted).abs())))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(r, _)| r)
        .or(offered.first().copied())
        .unwrap_or("16:9")
}

/// Frames the request asks for: duration x fps, rounded, at least 1.
pub fn frame_count(request: &ShotRequest) -> u32 {
    let seconds = seconds(request);
    let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
    ((seconds * fps).round() as u32).max(1)
}

/// The request's extra setting `key`, if the user gave one.
pub fn extra<'a>(request: &'a ShotRequest, key: &str) -> Option<&'a str> {
    request.extras.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A line in the user's log (the host caps the volume).
pub fn log(level: LogLevel, message: &str) {
    host::log(level, message);
}

/// Reports how far the take is (0 to 1). False means the user cancelled:
/// return [`GenerateError::Cancelled`] soon.
pub fn progress(fraction: f32) -> bool {
    host::progress(fraction)
}

/// Whether the user cancelled the take, asked without moving its progress.
pub fn cancelled() -> bool {
    !host::progress(f32::NAN)
}

/// Appends a frame of `width * height * 4` RGBA8 bytes to the take.
pub fn emit_frame(width: u32, height: u32, rgba8: &[u8]) -> Result<(), String> {
    host::emit_frame(width, height, rgba8)
}

/// Appends the frames of an encoded video or image (`name` gives its type:
/// `take.mp4`, `frame.png`) to the take.
pub fn emit_file(name: &str, bytes: &[u8]) -> Result<(), String> {
    host::emit_file(name, bytes)
}

/// [`emit_file`] from `start` seconds into the video on, frames and sound:
/// for a vendor whose continuation returns the source and the new part as
/// one video.
pub fn emit_file_from(name: &str, bytes: &[u8], start: Rational) -> Result<(), String> {
    host::emit_file_from(name, bytes, start)
}

/// Gives the take its sound: an encoded audio file (`line.wav`, `take.m4a`)
/// or a video whose sound track is used. A file handed to [`emit_file`]
/// gives its sound track without this.
pub fn emit_audio(name: &str, bytes: &[u8]) -> Result<(), String> {
    host::emit_audio(name, bytes)
}

/// How many takes this call may make, counting the request's own: above 1
/// only when the manifest's `limits.takes_per_call` is, and the user asked
/// for more takes than the cache holds. Ask the vendor for that many
/// samples and hand each but the last over with [`next_take`].
pub fn takes_wanted() -> u32 {
    host::takes_wanted()
}

/// Ends the take made so far with `report` and starts the call's next:
/// what is emitted from now on belongs to it. The last take is handed over
/// by returning its report from `generate`.
pub fn next_take(report: TakeReport) -> Result<(), GenerateError> {
    host::next_take(&report).map_err(GenerateError::Other)
}

/// Whether the user configured the secret `name` (declared in the manifest).
pub fn has_secret(name: &str) -> bool {
    host::has_secret(name)
}

/// Calls `step` every `interval` until it returns a value, fails, the
/// user cancels, or `timeout` passes: the shape of every vendor's
/// submit / poll / download API. `step` gets the attempt number.
pub fn poll<T>(
    interval: std::time::Duration,
    timeout: std::time::Duration,
    mut step: impl FnMut(u32) -> Result<Option<T>, GenerateError>,
) -> Result<T, GenerateError> {
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        if let Some(value) = step(attempt)? {
            return Ok(value);
        }
        if !progress(0.0_f32.max((started.elapsed().as_secs_f32() / timeout.as_secs_f32()).min(0.95))) {
            return Err(GenerateError::Cancelled);
        }
        if started.elapsed() >= timeout {
            return Err(GenerateError::Vendor(format!("no result after {} s", timeout.as_secs())));
        }
        attempt += 1;
        std::thread::sleep(interval);
    }
}

/// [`poll`], and when the user cancels, `stop` first: tell the vendor to
/// drop the job (and stop billing for it) before the take ends.
pub fn poll_or_stop<T>(
    interval: std::time::Duration,
    timeout: std::time::Duration,
    step: impl FnMut(u32) -> Result<Option<T>, GenerateError>,
    stop: impl FnOnce(),
) -> Result<T, GenerateError> {
    let polled = poll(interval, timeout, step);
    if matches!(polled, Err(GenerateError::Cancelled)) {
        stop();
    }
    polled
}
