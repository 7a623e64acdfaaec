//! WebSockets through the host (contract 0.1.1), for vendors that report
//! progress over one: the same origins, address rules and `{{secret:NAME}}`
//! header templates as [`crate::http`]. The socket closes when dropped, and
//! in any case when the take ends.

use std::time::Duration;

use crate::GenerateError;
use crate::bindings::mattebox::generator::host::{self, WebsocketMessage};

/// A message received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (JSON, for most vendors).
    Text(String),
    /// A binary message (ComfyUI's previews).
    Binary(Vec<u8>),
}

/// An open WebSocket.
#[derive(Debug)]
pub struct WebSocket {
    id: u32,
}

impl WebSocket {
    /// Opens `url` (`ws://` or `wss://`).
    pub fn connect(url: &str, headers: &[(&str, &str)]) -> Result<WebSocket, GenerateError> {
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        host::websocket_connect(url, &headers).map(|id| WebSocket { id }).map_err(GenerateError::Network)
    }

    /// The next message, waiting at most `timeout` (the host waits at most a
    /// second per call); `None` if none came. An error once it has closed.
    pub fn receive(&self, timeout: Duration) -> Result<Option<Message>, GenerateError> {
        let ms = timeout.as_millis().min(1000) as u32;
        match host::websocket_receive(self.id, ms) {
            Ok(Some(WebsocketMessage::Text(text))) => Ok(Some(Message::Text(text))),
            Ok(Some(WebsocketMessage::Binary(bytes))) => Ok(Some(Message::Binary(bytes))),
            Ok(None) => Ok(None),
            Err(e) => Err(GenerateError::Network(e)),
        }
    }

    /// Sends a text message.
    pub fn send(&self, text: &str) -> Result<(), GenerateError> {
        host::websocket_send(self.id, text).map_err(GenerateError::Network)
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        host::websocket_close(self.id);
    }
}
