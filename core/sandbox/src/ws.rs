//! `host.websocket-*`: WebSockets under the rules of `http-fetch` (the same
//! origins, the same address filter, the same header checks, secrets and
//! redaction), for vendors that report progress over one (ComfyUI's `/ws`).
//!
//! A socket lives in its take's store and closes with it; at most
//! [`MAX_SOCKETS`] are open at once; one message is at most the adapter's
//! response cap; a receive waits at most a second, and looks at the stop
//! flag every 100 ms while it waits.

use std::io::ErrorKind as IoKind;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::http::{Fetcher, Prepared};

/// Most sockets open at once in one take.
pub(crate) const MAX_SOCKETS: usize = 4;
/// Longest one receive may wait.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(1);
/// Largest text message an adapter may send.
const MAX_SEND: usize = 64 << 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const SLICE: Duration = Duration::from_millis(100);

/// An open socket.
pub(crate) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// What a receive brought.
pub(crate) enum Received {
    Text(String),
    Binary(Vec<u8>),
}

fn tcp(socket: &Socket) -> Option<&TcpStream> {
    match socket.get_ref() {
        MaybeTlsStream::Plain(s) => Some(s),
        MaybeTlsStream::Rustls(s) => Some(s.get_ref()),
        _ => None,
    }
}

impl Fetcher {
    /// Opens a WebSocket to `url`, or says why not (redacted).
    pub(crate) fn websocket(
        &self,
        url: &str,
        headers: &[(String, String)],
        deadline: Instant,
    ) -> Result<Socket, String> {
        self.open_socket(url, headers, deadline).map_err(|why| self.redact(why))
    }

    fn open_socket(&self, url: &str, headers: &[(String, String)], deadline: Instant) -> Result<Socket, String> {
        let Prepared { sign, url, origin, headers, left, resolve } = self.prepare(url, headers, deadline)?;
        if sign.is_some() {
            return Err("volcengine-v4 signs HTTP requests; a WebSocket cannot carry it".into());
        }
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(format!("websocket-connect takes ws and wss URLs, not {other}")),
        };
        let host = url.host_str().ok_or("the URL has no host")?;
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let addrs = resolve.resolve(&format!("{host}:{port}")).map_err(|e| e.to_string())?;
        let wait = CONNECT_TIMEOUT.min(left);
        let mut last = String::from("no address");
        let stream = addrs
            .iter()
            .find_map(|addr| match TcpStream::connect_timeout(addr, wait) {
                Ok(s) => Some(s),
                Err(e) => {
                    last = format!("{addr}: {e}");
                    None
                }
            })
            .ok_or_else(|| format!("websocket {origin}: could not connect ({last})"))?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(wait)).map_err(|e| e.to_string())?;
        let mut request = url.as_str().into_client_request().map_err(|e| format!("websocket {origin}: {e}"))?;
        for (name, value) in &headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = tungstenite::http::HeaderValue::from_str(value).map_err(|_| "a header value is not valid")?;
            request.headers_mut().append(name, value);
        }
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(self.max_response().clamp(1 << 16, usize::MAX as u64) as usize);
        config.max_frame_size = config.max_message_size.map(|m| m.min(16 << 20));
        let handshake = if secure {
            tungstenite::client_tls_with_config(request, stream, Some(config), None)
        } else {
            tungstenite::client::client_with_config(request, MaybeTlsStream::Plain(stream), Some(config))
        };
        let (socket, _) = handshake.map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => format!("websocket {origin}: {e}"),
            tungstenite::HandshakeError::Interrupted(_) => format!("websocket {origin}: the handshake stalled"),
        })?;
        Ok(socket)
    }
}

/// The next message on `socket` within `wait`, or `None`; stops waiting
/// when `stop` is set. Errors (redacted by the caller) say why the socket
/// is no longer usable.
pub(crate) fn receive(socket: &mut Socket, wait: Duration, stop: &AtomicBool) -> Result<Option<Received>, String> {
    let until = Instant::now() + wait.min(MAX_WAIT);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stop.load(Ordering::SeqCst) {
            return Ok(None);
        }
        if let Some(tcp) = tcp(socket) {
            tcp.set_read_timeout(Some(left.min(SLICE).max(Duration::from_millis(1)))).map_err(|e| e.to_string())?;
        }
        match socket.read() {
            Ok(Message::Text(text)) => return Ok(Some(Received::Text(text.as_str().to_owned()))),
            Ok(Message::Binary(bytes)) => return Ok(Some(Received::Binary(bytes.to_vec()))),
            Ok(Message::Close(frame)) => {
                let why = frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                return Err(format!("the server closed the socket{why}"));
            }
            // Pings are answered as the socket is flushed.
            Ok(_) => {
                let _ = socket.flush();
            }
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Err("the socket is closed".into());
            }
            Err(e) => return Err(format!("the socket failed: {e}")),
        }
    }
}

/// Sends a text message.
pub(crate) fn send(socket: &mut Socket, text: String) -> Result<(), String> {
    if text.len() > MAX_SEND {
        return Err(format!("a message of {} bytes; at most {MAX_SEND}", text.len()));
    }
    socket.send(Message::text(text)).map_err(|e| format!("the socket failed: {e}"))
}
