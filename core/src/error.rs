//! The one error type of the core.
//!
//! Every error carries a [`ErrorKind`] (what a host branches on; the C ABI maps
//! it to `mb_result`) and a message written for a person: it names the file,
//! argument or frame at fault and, where there is one, what to do about it.

use std::fmt;
use std::path::Path;

/// What went wrong, coarsely. Hosts branch on this; people read the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument is out of range or inconsistent (sizes, strides, formats, times).
    InvalidArgument,
    /// The request is well formed but not supported (a codec, a pixel format, a container).
    Unsupported,
    /// A file or directory does not exist.
    NotFound,
    /// Reading or writing a file failed.
    Io,
    /// Media is corrupt, truncated or cannot be decoded or encoded.
    Media,
    /// A buffer could not be allocated.
    OutOfMemory,
    /// The work was cancelled by its caller.
    Cancelled,
    /// A generator's vendor refused or failed the work (its words follow).
    Vendor,
    /// The network failed, or a request was refused by the sandbox's rules.
    Network,
    /// A bug in Mattebox: please report it.
    Internal,
}

impl ErrorKind {
    /// A short stable name (`"invalid-argument"`, ...), used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid-argument",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Io => "io",
            ErrorKind::Media => "media",
            ErrorKind::OutOfMemory => "out-of-memory",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Vendor => "vendor",
            ErrorKind::Network => "network",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An error from the Mattebox core.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), source: None }
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for [`ErrorKind::Media`].
    pub fn media(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Media, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An I/O error on `path`; a missing file becomes [`ErrorKind::NotFound`].
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::OutOfMemory => ErrorKind::OutOfMemory,
            _ => ErrorKind::Io,
        };
        let message = match kind {
            ErrorKind::NotFound => format!("{}: no such file or directory (while trying to {action})", path.display()),
            _ => format!("{}: could not {action}: {err}", path.display()),
        };
        Error { kind, message, source: Some(Box::new(err)) }
    }

    /// Attaches the lower-level error that caused this one.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Prefixes the message with where the error happened (`"frame 12"`, a path).
    pub fn context(mut self, place: impl fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::collections::TryReserveError> for Error {
    fn from(err: std::collections::TryReserveError) -> Self {
        Error::new(ErrorKind::OutOfMemory, format!("could not allocate a buffer: {err}"))
    }
}
