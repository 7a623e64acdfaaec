//! What a running adapter can reach: the `host` interface of the WIT
//! world, and an empty WASI.
//!
//! The store's data must outlive any borrow, so frames and progress leave
//! through a small bounded channel to the thread that owns the take (see
//! `adapter.rs`), which applies them to the take's context; that thread
//! sets `stop` when the take is cancelled or has failed, and every host
//! call then traps, so even an adapter that ignores `progress` stops at its
//! next call or epoch tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use mattebox_core::media::{
    MediaKind, MediaReader, UNTRUSTED_AUDIO_TYPES, UNTRUSTED_TYPES, UntrustedLimits, decode_untrusted_audio,
};
use mattebox_core::wav::trim_wav_start;
use mattebox_core::{Frame, PixelFormat};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v0_1::mattebox::generator::host as host_0_1;
use crate::bindings::v0_2::mattebox::generator::host::{self, HttpRequest, HttpResponse, LogLevel};
use crate::http::{Fetcher, Request};

/// Largest file an adapter may hand over through `emit-file`.
const MAX_FILE_BYTES: usize = 1 << 30;
/// Source frames a file may hold for each frame the take may still take
/// (a vendor's 60 fps file for a 24 fps take, with room to spare).
const SOURCE_FRAMES_PER_FRAME: u64 = 16;

/// `name` as messages show it (at most 100 characters), or why a file of
/// `len` bytes is refused.
fn shown_file(name: &str, len: usize) -> std::result::Result<String, String> {
    let shown: String = name.chars().take(100).collect();
    if len > MAX_FILE_BYTES {
        return Err(format!("{shown:?} is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    Ok(shown)
}

/// Sent from the adapter's thread to the take's.
pub(crate) enum Event {
    Frame(Frame),
    Progress(f32),
    /// The take's sound, decoded into a WAV by the host.
    Audio(Vec<u8>),
    /// The take so far is done, with this report; the call's next begins.
    NextTake(crate::bindings::v0_2::mattebox::generator::types::TakeReport),
}

/// The store's data for one take.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) adapter: String,
    pub(crate) events: SyncSender<Event>,
    pub(crate) stop: Arc<AtomicBool>,
    /// Set when the user cancels: `progress` says so, and the adapter has a
    /// moment to tidy up before `stop`.
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) fetcher: Arc<Fetcher>,
    pub(crate) deadline: Instant,
    pub(crate) log_left: usize,
    pub(crate) log_capped: bool,
    /// The take's frame rate: videos handed over are resampled to it.
    pub(crate) fps: mattebox_core::Rational,
    /// Frames the take may still hand over (the request's quota and the
    /// user's ceiling, the lower).
    pub(crate) frames_left: u64,
    /// What `frames_left` starts at for each take of the call.
    pub(crate) frames_per_take: u64,
    /// Takes the call may make, and those handed over with `next-take`.
    pub(crate) takes_wanted: u32,
    pub(crate) takes_made: u32,
    /// Largest frame, in pixels, a file handed over may hold.
    pub(crate) max_file_pixels: u64,
    /// Longest sound, in seconds, the take may be given.
    pub(crate) max_audio_seconds: f64,
    /// The adapter's open WebSockets, by handle (closed ones are `None`).
    pub(crate) sockets: Vec<Option<crate::ws::Socket>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A WASI context that grants nothing: no arguments, environment,
/// directories, sockets or name lookups; standard streams go nowhere.
pub(crate) fn empty_wasi() -> WasiCtx {
    let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
    builder.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    builder.build()
}

impl HostState {
    fn check_running(&self) -> wasmtime::Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(wasmtime::Error::msg("the take was stopped by the host"));
        }
        Ok(())
    }

    fn send(&self, event: Event) -> wasmtime::Result<()> {
        self.events.send(event).map_err(|_| wasmtime::Error::msg("the take was stopped by the host"))
    }

    /// Counts one frame against the take's quota.
    fn spend_frame(&mut self) -> Result<(), String> {
        if self.frames_left == 0 {
            return Err("the take may hand over no more frames (the request's quota, or the user's \
                        MATTEBOX_SANDBOX_FRAMES, is used up)"
                .into());
        }
        self.frames_left -= 1;
        Ok(())
    }

    /// Decodes `bytes` as a `name` file, from memory and within the take's
    /// limits, and sends its frames from `start` seconds on (a fraction
    /// `(num, den)`), resampled to the take's rate, and its sound.
    fn emit_file_frames(&mut self, name: &str, bytes: Vec<u8>, start: (i64, i64)) -> std::result::Result<(), String> {
        let shown = shown_file(name, bytes.len())?;
        let (s_num, s_den) = start;
        if s_den <= 0 || s_num < 0 {
            return Err(format!("emit-file-from: start {s_num}/{s_den} s is not a time from the video's start"));
        }
        let limits = UntrustedLimits {
            max_pixels: self.max_file_pixels,
            max_frames: self.frames_left.saturating_mul(SOURCE_FRAMES_PER_FRAME).max(1),
        };
        let bytes = Arc::new(bytes);
        // The sound first: a file whose sound cannot be taken hands over
        // nothing, rather than frames without their sound.
        let start_seconds = s_num as f64 / s_den as f64;
        let sound = if UNTRUSTED_AUDIO_TYPES.iter().any(|t| shown.to_ascii_lowercase().ends_with(&format!(".{t}"))) {
            decode_untrusted_audio(&shown, bytes.clone(), self.max_audio_seconds + start_seconds)
                .and_then(|wav| wav.map(|w| trim_wav_start(&w, start_seconds)).transpose())
                .map_err(|e| format!("{} (its sound track)", e.message()))?
        } else {
            None
        };
        let mut reader = MediaReader::open_untrusted(&shown, bytes, &limits).map_err(|e| {
            if e.kind() == mattebox_core::ErrorKind::Unsupported && !shown.contains('.') {
                format!("{shown:?}: emit-file takes {}", UNTRUSTED_TYPES.join(", "))
            } else {
                e.message().to_owned()
            }
        })?;
        let info = reader.info().clone();
        // A video plays at its own rate; the take's frames are at the
        // request's. Output frame k shows the source frame on screen at
        // start + k / fps, in exact fractions: source index
        // floor((a + k * b) / d).
        let (src, dst) = (info.frame_rate, self.fps);
        let too_fine = || format!("emit-file-from: start {s_num}/{s_den} s is too fine a fraction");
        let mul = |x: i128, y: i128, z: i128| x.checked_mul(y).and_then(|v| v.checked_mul(z));
        let (src_num, src_den, dst_num, dst_den) =
            (src.num() as i128, src.den() as i128, dst.num() as i128, dst.den() as i128);
        let a = mul(s_num as i128, dst_num, src_num).ok_or_else(too_fine)?;
        let b = mul(dst_den, s_den as i128, src_num).ok_or_else(too_fine)?.max(1);
        let d = mul(s_den as i128, dst_num, src_den).ok_or_else(too_fine)?.max(1);
        let outputs: i128 = if info.kind == MediaKind::Image {
            1
        } else {
            // The k with floor((a + k * b) / d) < frame_count.
            let end = (info.frame_count as i128).checked_mul(d).ok_or_else(too_fine)?;
            if end <= a {
                return Err(format!(
                    "emit-file-from: {shown:?} holds {} frames at {src} fps, all before {start_seconds:.3} s",
                    info.frame_count
                ));
            }
            (end - a + b - 1) / b
        };
        if outputs > self.frames_left as i128 {
            return Err(format!(
                "{shown:?} holds {} frames at {} fps: {outputs} frames at the take's {} fps, more than the {} \
                 the take may still hand over",
                info.frame_count, src, dst, self.frames_left
            ));
        }
        for k in 0..outputs {
            if self.stop.load(Ordering::SeqCst) {
                return Err("the take was stopped by the host".into());
            }
            let index = (((a + k * b) / d) as u64).min(info.frame_count - 1);
            let frame = reader.read_frame(index).map_err(|e| format!("{shown:?} frame {index}: {}", e.message()))?;
            let frame = frame.to_format(PixelFormat::Rgba8).map_err(|e| e.to_string())?;
            self.spend_frame()?;
            self.events.send(Event::Frame(frame)).map_err(|_| "the take was stopped by the host".to_string())?;
        }
        if let Some(wav) = sound {
            self.events.send(Event::Audio(wav)).map_err(|_| "the take was stopped by the host".to_string())?;
        }
        Ok(())
    }

    /// Decodes `bytes` as a `name` sound file (or a video's sound track),
    /// from memory, into the take's sound.
    fn emit_audio_file(&mut self, name: &str, bytes: Vec<u8>) -> std::result::Result<(), String> {
        let shown = shown_file(name, bytes.len())?;
        let wav = decode_untrusted_audio(&shown, bytes, self.max_audio_seconds)
            .map_err(|e| format!("emit-audio: {}", e.message()))?
            .ok_or_else(|| format!("emit-audio: {shown:?} has no sound stream"))?;
        self.events.send(Event::Audio(wav)).map_err(|_| "the take was stopped by the host".to_string())
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        if self.log_left == 0 {
            if !self.log_capped {
                self.log_capped = true;
                tracing::warn!(adapter = %self.adapter, "the adapter's log quota is used up; further lines are dropped");
            }
            return Ok(());
        }
        let mut end = message.len().min(self.log_left);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.log_left -= end.max(1).min(self.log_left);
        let line = self.fetcher.redact(message[..end].to_owned());
        let adapter = &self.adapter;
        match level {
            LogLevel::Error => tracing::error!(%adapter, "{line}"),
            LogLevel::Warn => tracing::warn!(%adapter, "{line}"),
            LogLevel::Info => tracing::info!(%adapter, "{line}"),
            LogLevel::Debug => tracing::debug!(%adapter, "{line}"),
        }
        Ok(())
    }

    fn progress(&mut self, fraction: f32) -> wasmtime::Result<bool> {
        self.check_running()?;
        self.send(Event::Progress(fraction))?;
        Ok(!self.cancel.load(Ordering::SeqCst) && !self.stop.load(Ordering::SeqCst))
    }

    fn emit_frame(&mut self, width: u32, height: u32, rgba8: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        if let Err(e) = mattebox_core::frame::check_dimensions(width, height) {
            return Ok(Err(format!("emit-frame: {e}")));
        }
        let expected = width as usize * height as usize * 4;
        if rgba8.len() != expected {
            return Ok(Err(format!(
                "emit-frame: a {width}x{height} RGBA8 frame is {expected} bytes, not {}",
                rgba8.len()
            )));
        }
        if let Err(e) = self.spend_frame() {
            return Ok(Err(format!("emit-frame: {e}")));
        }
        let frame = match Frame::from_bytes(width, height, PixelFormat::Rgba8, &rgba8) {
            Ok(frame) => frame,
            Err(e) => return Ok(Err(format!("emit-frame: {e}"))),
        };
        drop(rgba8); // before the send, which may wait: one frame's bytes at a time
        self.send(Event::Frame(frame))?;
        Ok(Ok(()))
    }

    fn emit_file(&mut self, name: String, bytes: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        let result = self.emit_file_frames(&name, bytes, (0, 1));
        self.check_running()?;
        Ok(result)
    }

    fn emit_file_from(
        &mut self,
        name: String,
        bytes: Vec<u8>,
        start: crate::bindings::v0_2::mattebox::generator::types::Rational,
    ) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        let result = self.emit_file_frames(&name, bytes, (start.num, start.den));
        self.check_running()?;
        Ok(result)
    }

    fn emit_audio(&mut self, name: String, bytes: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        let result = self.emit_audio_file(&name, bytes);
        self.check_running()?;
        Ok(result)
    }

    fn takes_wanted(&mut self) -> wasmtime::Result<u32> {
        self.check_running()?;
        Ok(self.takes_wanted)
    }

    fn next_take(
        &mut self,
        report: crate::bindings::v0_2::mattebox::generator::types::TakeReport,
    ) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        if self.takes_made + 1 >= self.takes_wanted {
            return Ok(Err(format!(
                "next-take: this call may make {} take(s) (takes-wanted); hand the last over by returning",
                self.takes_wanted
            )));
        }
        if self.frames_left == self.frames_per_take {
            return Ok(Err("next-take: the take has no frames yet".into()));
        }
        self.send(Event::NextTake(report))?;
        self.takes_made += 1;
        self.frames_left = self.frames_per_take;
        Ok(Ok(()))
    }

    fn http_fetch(&mut self, request: HttpRequest) -> wasmtime::Result<Result<HttpResponse, String>> {
        self.check_running()?;
        let request =
            Request { method: request.method, url: request.url, headers: request.headers, body: request.body };
        let result = self.fetcher.fetch(request, self.deadline).map(|r| HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        });
        if let Err(why) = &result {
            tracing::info!(adapter = %self.adapter, "http-fetch refused or failed: {why}");
        }
        self.check_running()?;
        Ok(result)
    }

    fn has_secret(&mut self, name: String) -> wasmtime::Result<bool> {
        Ok(self.fetcher.has_secret(&name))
    }

    fn websocket_connect(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
    ) -> wasmtime::Result<Result<u32, String>> {
        self.check_running()?;
        let open = self.sockets.iter().filter(|s| s.is_some()).count();
        if open >= crate::ws::MAX_SOCKETS {
            return Ok(Err(format!("{open} WebSockets are open; at most {}", crate::ws::MAX_SOCKETS)));
        }
        let result = self.fetcher.websocket(&url, &headers, self.deadline);
        self.check_running()?;
        Ok(match result {
            Ok(socket) => {
                let slot = match self.sockets.iter().position(Option::is_none) {
                    Some(free) => free,
                    None => {
                        self.sockets.push(None);
                        self.sockets.len() - 1
                    }
                };
                self.sockets[slot] = Some(socket);
                Ok(slot as u32)
            }
            Err(why) => {
                tracing::info!(adapter = %self.adapter, "websocket-connect refused or failed: {why}");
                Err(why)
            }
        })
    }

    fn websocket_receive(
        &mut self,
        socket: u32,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<host::WebsocketMessage>, String>> {
        self.check_running()?;
        let left = self.deadline.saturating_duration_since(std::time::Instant::now());
        let wait = std::time::Duration::from_millis(timeout_ms as u64).min(left);
        let Some(open) = self.sockets.get_mut(socket as usize).and_then(Option::as_mut) else {
            return Ok(Err(format!("no open WebSocket {socket}")));
        };
        let received = crate::ws::receive(open, wait, &self.stop);
        self.check_running()?;
        Ok(match received {
            Ok(None) => Ok(None),
            Ok(Some(crate::ws::Received::Text(text))) => {
                Ok(Some(host::WebsocketMessage::Text(self.fetcher.redact(text))))
            }
            Ok(Some(crate::ws::Received::Binary(bytes))) => {
                Ok(Some(host::WebsocketMessage::Binary(self.fetcher.redact_bytes(bytes))))
            }
            Err(why) => {
                self.sockets[socket as usize] = None;
                Err(self.fetcher.redact(why))
            }
        })
    }

    fn websocket_send(&mut self, socket: u32, text: String) -> wasmtime::Result<Result<(), String>> {
        self.check_running()?;
        let Some(open) = self.sockets.get_mut(socket as usize).and_then(Option::as_mut) else {
            return Ok(Err(format!("no open WebSocket {socket}")));
        };
        Ok(crate::ws::send(open, text).map_err(|why| self.fetcher.redact(why)))
    }

    fn websocket_close(&mut self, socket: u32) -> wasmtime::Result<()> {
        if let Some(mut open) = self.sockets.get_mut(socket as usize).and_then(Option::take) {
            let _ = open.close(None);
            let _ = open.flush();
        }
        Ok(())
    }
}

impl crate::bindings::v0_2::mattebox::generator::types::Host for HostState {}

impl crate::bindings::v0_1::mattebox::generator::types::Host for HostState {}

/// Contract 0.1's host is 0.2's without `emit-audio`: the same calls, in
/// 0.1's types.
impl host_0_1::Host for HostState {
    fn log(&mut self, level: host_0_1::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host_0_1::LogLevel::Error => LogLevel::Error,
            host_0_1::LogLevel::Warn => LogLevel::Warn,
            host_0_1::LogLevel::Info => LogLevel::Info,
            host_0_1::LogLevel::Debug => LogLevel::Debug,
        };
        host::Host::log(self, level, message)
    }

    fn progress(&mut self, fraction: f32) -> wasmtime::Result<bool> {
        host::Host::progress(self, fraction)
    }

    fn emit_frame(&mut self, width: u32, height: u32, rgba8: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        host::Host::emit_frame(self, width, height, rgba8)
    }

    fn emit_file(&mut self, name: String, bytes: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        host::Host::emit_file(self, name, bytes)
    }

    fn http_fetch(
        &mut self,
        request: host_0_1::HttpRequest,
    ) -> wasmtime::Result<Result<host_0_1::HttpResponse, String>> {
        let request =
            HttpRequest { method: request.method, url: request.url, headers: request.headers, body: request.body };
        Ok(host::Host::http_fetch(self, request)?.map(|r| host_0_1::HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }))
    }

    fn has_secret(&mut self, name: String) -> wasmtime::Result<bool> {
        host::Host::has_secret(self, name)
    }

    fn websocket_connect(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
    ) -> wasmtime::Result<Result<u32, String>> {
        host::Host::websocket_connect(self, url, headers)
    }

    fn websocket_receive(
        &mut self,
        socket: u32,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<host_0_1::WebsocketMessage>, String>> {
        Ok(host::Host::websocket_receive(self, socket, timeout_ms)?.map(|m| {
            m.map(|m| match m {
                host::WebsocketMessage::Text(text) => host_0_1::WebsocketMessage::Text(text),
                host::WebsocketMessage::Binary(bytes) => host_0_1::WebsocketMessage::Binary(bytes),
            })
        }))
    }

    fn websocket_send(&mut self, socket: u32, text: String) -> wasmtime::Result<Result<(), String>> {
        host::Host::websocket_send(self, socket, text)
    }

    fn websocket_close(&mut self, socket: u32) -> wasmtime::Result<()> {
        host::Host::websocket_close(self, socket)
    }
}
