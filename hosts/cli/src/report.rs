//! What every command shares: the context (runtime, output mode), progress
//! bars, the report a command returns, and errors with their exit codes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mattebox_core::staged::StagedFile;
use mattebox_core::{Error, Runtime};
use serde_json::{Value, json};

/// Why a command failed, and so which exit code it gets.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The command line was wrong (exit 2).
    Usage(String),
    /// The work failed (exit 1).
    Failed(Error),
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A core error caused directly by a command-line value.
    pub(crate) fn usage_from(err: Error) -> Self {
        CliError::Usage(err.to_string())
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            // As shells report a program stopped by SIGINT.
            CliError::Failed(e) if e.kind() == mattebox_core::ErrorKind::Cancelled => 130,
            CliError::Failed(_) => 1,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Failed(e) => e.kind().name(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => f.write_str(m),
            CliError::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        CliError::Failed(err)
    }
}

/// The error on standard error, and as JSON on standard output with --json.
pub(crate) fn print_error(err: &CliError, json: bool) {
    eprintln!("mattebox: error: {err}");
    if json {
        let doc = json!({ "ok": false, "error": { "kind": err.kind(), "message": err.to_string() } });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

/// What a command produced: text for people, a JSON value for machines.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) text: String,
    pub(crate) json: Value,
}

/// Shared state of one invocation.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) runtime: Arc<Runtime>,
    /// The JSON document goes to standard output instead of text.
    json: bool,
    /// The JSON document goes to this file (beside the text).
    json_file: Option<PathBuf>,
    quiet: bool,
}

impl Ctx {
    /// `json`: `--json` (Some(None)) or `--json=FILE` (Some(Some(FILE))).
    pub(crate) fn new(runtime: Runtime, json: Option<Option<PathBuf>>, quiet: bool) -> Self {
        let (json, json_file) = match json {
            None => (false, None),
            Some(None) => (true, None),
            Some(Some(file)) => (false, Some(file)),
        };
        Ctx { runtime: Arc::new(runtime), json, json_file, quiet }
    }

    /// A progress bar over `len` frames on standard error, hidden with
    /// --quiet or --json and when standard error is not a terminal.
    pub(crate) fn progress(&self, len: u64, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:32}] {pos}/{len} frames  {per_sec:>12}  eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Several progress bars at once, shown like [`Ctx::progress`].
    pub(crate) fn multi_progress(&self) -> MultiProgress {
        MultiProgress::with_draw_target(self.draw_target())
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if self.quiet || self.json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() }
    }

    /// A warning on standard error: the work goes on, differently (not with
    /// --quiet; with --json too, since the document cannot say everything).
    pub(crate) fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("mattebox: warning: {text}");
        }
    }

    /// A step of a longer job, on standard error (not with --quiet or --json).
    pub(crate) fn step(&self, text: &str) {
        if !self.quiet && !self.json {
            eprintln!("==> {text}");
        }
    }

    /// Prints the report; with `--json=FILE`, writes the JSON document to
    /// FILE first (whole or not at all: staged and renamed into place).
    pub(crate) fn print(&self, report: Report) -> Result<(), CliError> {
        let mut doc = json!({ "ok": true });
        if let (Value::Object(doc), Value::Object(body)) = (&mut doc, report.json) {
            doc.extend(body);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Some(path) = &self.json_file {
            let staged = StagedFile::new(path, true)?;
            std::fs::write(staged.temp_path(), format!("{text}\n"))
                .map_err(|e| Error::io(path, "write the JSON report", e))?;
            staged.commit()?;
        }
        if self.json {
            println!("{text}");
        } else {
            print!("{}", report.text);
        }
        Ok(())
    }
}
