//! What a running adapter can reach: the `host` interface of the WIT
//! world, and an empty WASI.
//!
//! The store's data must outlive any borrow, so frames and progress leave
//! through a small bounded channel to the thread that owns the take (see
//! `adapter.rs`), which applies them to the take's context; that thread
//! sets `stop` when the take is cancelled or has failed, and every host
//! call then traps, so even an adapter that ignores `progress` stops at its
//! next call or epoch tick.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::mattebox::generator::host::{self, HttpRequest, HttpResponse, LogLevel};
use crate::http::{Fetcher, Request};

/// Largest file an adapter may hand over through `emit-file`.
const MAX_FILE_BYTES: usize = 1 << 30;
/// File types `emit-file` decodes.
const FILE_TYPES: [&str; 7] = ["mp4", "mov", "mkv", "webm", "avi", "png", "exr"];

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Sent from the adapter's thread to the take's.
pub(crate) enum Event {
    Frame(Frame),
    Progress(f32),
}

/// The store's data for one take.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) adapter: String,
    pub(crate) events: SyncSender<Event>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) fetcher: Arc<Fetcher>,
    pub(crate) deadline: Instant,
    pub(crate) log_left: usize,
    pub(crate) log_capped: bool,
    /// The take's frame rate: videos handed over are resampled to it.
    pub(crate) fps: mattebox_core::Rational,
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

    /// Decodes `bytes` as a `name` file and sends its frames.
    fn emit_file_frames(&mut self, name: &str, bytes: &[u8]) -> std::result::Result<(), String> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        if !FILE_TYPES.contains(&ext.as_str()) {
            return Err(format!("{name:?}: emit-file takes {}", FILE_TYPES.join(", ")));
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("{name:?} is larger than {} MiB", MAX_FILE_BYTES >> 20));
        }
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path: PathBuf = std::env::temp_dir().join(format!(".mattebox-emit-{}-{n}.{ext}", std::process::id()));
        struct Remove(PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let _remove = Remove(path.clone());
        std::fs::write(&path, bytes).map_err(|e| format!("could not stage {name:?}: {e}"))?;
        let options = OpenOptions { decoder_threads: 1, ..OpenOptions::default() };
        let mut reader = MediaReader::open(&path, &options).map_err(|e| format!("{name:?}: {}", e.message()))?;
        let info = reader.info().clone();
        // A video plays at its own rate; the take's frames are at the
        // request's. Output frame k shows the source frame on screen at
        // k / fps (exact fractions). A still is one frame.
        let indices: Vec<u64> = if info.kind == mattebox_core::media::MediaKind::Image {
            vec![0]
        } else {
            let (src, dst) = (info.frame_rate, self.fps);
            let num = src.num() as i128 * dst.den() as i128;
            let den = src.den() as i128 * dst.num() as i128;
            (0u64..).map(|k| (k as i128 * num / den.max(1)) as u64).take_while(|&i| i < info.frame_count).collect()
        };
        for index in indices {
            if self.stop.load(Ordering::SeqCst) {
                return Err("the take was stopped by the host".into());
            }
            let frame = reader.read_frame(index).map_err(|e| format!("{name:?} frame {index}: {}", e.message()))?;
            let frame = frame.to_format(PixelFormat::Rgba8).map_err(|e| e.to_string())?;
            self.events.send(Event::Frame(frame)).map_err(|_| "the take was stopped by the host".to_string())?;
        }
        Ok(())
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
        let line = &message[..end];
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
        Ok(!self.stop.load(Ordering::SeqCst))
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
        let result = self.emit_file_frames(&name, &bytes);
        self.check_running()?;
        Ok(result)
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
}

impl crate::bindings::mattebox::generator::types::Host for HostState {}
