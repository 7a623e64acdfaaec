//! A small HTTP/1.1 server for tests: one request per connection, handled
//! by a closure. Vendor APIs cannot run here; tests run local servers that
//! speak their documented protocols through this.
// Shared by several test targets; not every one uses every item.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// A request as received.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path and query, as sent.
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of query parameter `name`, percent-decoded.
    pub(crate) fn query(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| decode(v))
        })
    }

    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response: status, extra headers, body. Status 0 closes the
/// connection without an answer, as a server that resets it.
pub(crate) type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// A JSON response.
pub(crate) fn json(status: u16, value: serde_json::Value) -> Response {
    (status, vec![("content-type".into(), "application/json".into())], value.to_string().into_bytes())
}

/// A WebSocket the server accepted, and the request that opened it.
pub(crate) type Socket = tungstenite::WebSocket<std::net::TcpStream>;

/// What serves an accepted WebSocket.
type SocketHandler = dyn Fn(Request, Socket) + Send + Sync;

/// Starts a server on 127.0.0.1; returns its origin (`http://127.0.0.1:PORT`).
/// WebSocket upgrades are refused (404), as by a server without any.
pub(crate) fn serve(handler: impl Fn(Request) -> Response + Send + Sync + 'static) -> String {
    serve_inner(Arc::new(handler), None)
}

/// [`serve`], with WebSocket upgrades accepted (RFC 6455 handshake) and
/// handed to `sockets` on the connection's thread.
pub(crate) fn serve_with_websockets(
    handler: impl Fn(Request) -> Response + Send + Sync + 'static,
    sockets: impl Fn(Request, Socket) + Send + Sync + 'static,
) -> String {
    serve_inner(Arc::new(handler), Some(Arc::new(sockets)))
}

fn serve_inner(handler: Arc<dyn Fn(Request) -> Response + Send + Sync>, sockets: Option<Arc<SocketHandler>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            let sockets = sockets.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let mut parts = first.split_whitespace();
                let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("/").to_owned());
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let upgrade = headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("upgrade") && v.eq_ignore_ascii_case("websocket"));
                if upgrade {
                    let request = Request { method, target, headers, body: Vec::new() };
                    let mut out = stream;
                    let (Some(sockets), Some(key)) = (&sockets, request.header("sec-websocket-key")) else {
                        let _ =
                            out.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                        return;
                    };
                    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
                    let head = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                         sec-websocket-accept: {accept}\r\n\r\n"
                    );
                    if out.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    let socket =
                        tungstenite::WebSocket::from_raw_socket(out, tungstenite::protocol::Role::Server, None);
                    sockets(request, socket);
                    return;
                }
                let length = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let (status, extra, payload) = handler(Request { method, target, headers, body });
                if status == 0 {
                    return; // a reset: the connection closes unanswered
                }
                let mut out = stream;
                // A handler may claim its own length (to test clients that must not trust it).
                let claimed = extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
                let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
                if !claimed {
                    head.push_str(&format!("content-length: {}\r\n", payload.len()));
                }
                for (k, v) in extra {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&payload);
            });
        }
    });
    origin
}
