//! What every command shares: the context (runtime, output mode), progress
//! bars, the report a command returns, and errors with their exit codes.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mattebox_core::staged::write_file;
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

/// How progress is shown (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProgressMode {
    /// Bars when standard error is a terminal, else `openjd` lines.
    Auto,
    /// Bars on standard error (drawn only on a terminal).
    Bar,
    /// Lines a farm agent reads, on standard error: `openjd_status: ...`,
    /// `openjd_progress: P` (percent, at most once a second) and, on
    /// failure, `openjd_fail: ...` (Open Job Description's format, which
    /// Deadline Cloud reads; Slurm logs them).
    Openjd,
    /// Nothing.
    None,
}

impl ProgressMode {
    /// Its name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ProgressMode::Auto => "auto",
            ProgressMode::Bar => "bar",
            ProgressMode::Openjd => "openjd",
            ProgressMode::None => "none",
        }
    }

    /// What `Auto` means here; `--quiet` and `--json` (on standard output)
    /// show no progress unless `openjd` lines are asked for.
    pub(crate) fn resolve(self, quiet: bool, json_on_stdout: bool) -> ProgressMode {
        use std::io::IsTerminal;
        match self {
            ProgressMode::Auto if quiet || json_on_stdout => ProgressMode::None,
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Openjd,
            ProgressMode::Bar if quiet || json_on_stdout => ProgressMode::None,
            mode => mode,
        }
    }
}

/// One line for a farm agent, on standard error, whole.
fn agent_line(kind: &str, text: &str) {
    // One line even if the text has several (an error with its causes).
    let text = text.replace(['\n', '\r'], " ");
    let _ = writeln!(std::io::stderr().lock(), "openjd_{kind}: {text}");
}

/// The error on standard error (and as an `openjd_fail` line for a farm
/// agent), and as JSON on standard output with --json.
pub(crate) fn print_error(err: &CliError, json: bool, mode: ProgressMode) {
    if mode == ProgressMode::Openjd {
        agent_line("fail", &err.to_string());
    }
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
    progress: ProgressMode,
}

/// Progress of one stage of a command: a bar, or lines for a farm agent,
/// or nothing, as `--progress` says.
pub(crate) struct Progress {
    bar: ProgressBar,
    agent: Option<AgentLines>,
}

/// Throttled `openjd_progress` lines.
struct AgentLines {
    label: String,
    started: Instant,
    /// Milliseconds after `started` of the last line, `u64::MAX` before the first.
    last_ms: AtomicU64,
}

impl Progress {
    fn with_len(self, len: u64) -> Progress {
        self.bar.set_length(len);
        self
    }

    /// Sets how many of `len` are done.
    pub(crate) fn set_position(&self, done: u64) {
        self.bar.set_position(done);
        self.report(false);
    }

    /// Counts `n` more done.
    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.report(false);
    }

    /// Removes the bar; a farm agent is told the stage is complete when it is.
    pub(crate) fn finish_and_clear(self) {
        self.bar.finish_and_clear();
        self.report(true);
    }

    fn report(&self, last: bool) {
        let Some(agent) = &self.agent else { return };
        let now = agent.started.elapsed().as_millis() as u64;
        let before = agent.last_ms.load(Ordering::Relaxed);
        if !last && before != u64::MAX && now < before.saturating_add(1000) {
            return;
        }
        // One line per second even when several threads report.
        if !last && agent.last_ms.compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        let (done, len) = (self.bar.position(), self.bar.length().unwrap_or(0).max(1));
        let percent = (done as f64 * 100.0 / len as f64).clamp(0.0, 100.0);
        agent_line("progress", &format!("{percent:.1}"));
        agent_line("status", &format!("{} {done}/{len}", agent.label));
    }
}

impl Ctx {
    /// `json`: `--json` (Some(None)) or `--json=FILE` (Some(Some(FILE))).
    /// `json`: `--json` (Some(None)) or `--json=FILE` (Some(Some(FILE)));
    /// `progress` as resolved by [`ProgressMode::resolve`].
    pub(crate) fn new(runtime: Runtime, json: Option<Option<PathBuf>>, quiet: bool, progress: ProgressMode) -> Self {
        let (json, json_file) = match json {
            None => (false, None),
            Some(None) => (true, None),
            Some(Some(file)) => (false, Some(file)),
        };
        Ctx { runtime: Arc::new(runtime), json, json_file, quiet, progress }
    }

    /// Progress over `len` frames: a bar on standard error, or lines for a
    /// farm agent (`--progress`).
    pub(crate) fn progress(&self, len: u64, message: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len), self.draw_target());
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:32}] {pos}/{len} frames  {per_sec:>12}  eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        if self.progress == ProgressMode::Bar {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        self.with_agent_lines(bar, message)
    }

    /// Progress over `len` steps reported to a farm agent only (a command
    /// that draws several bars of its own reports their sum here).
    pub(crate) fn agent_progress(&self, len: u64, message: &str) -> Progress {
        self.with_agent_lines(ProgressBar::hidden().with_position(0), message).with_len(len)
    }

    fn with_agent_lines(&self, bar: ProgressBar, label: &str) -> Progress {
        let agent = (self.progress == ProgressMode::Openjd).then(|| AgentLines {
            label: label.to_owned(),
            started: Instant::now(),
            last_ms: AtomicU64::new(u64::MAX),
        });
        Progress { bar, agent }
    }

    /// Several progress bars at once, shown like [`Ctx::progress`].
    pub(crate) fn multi_progress(&self) -> MultiProgress {
        MultiProgress::with_draw_target(self.draw_target())
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if self.progress == ProgressMode::Bar { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
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
            write_file(path, format!("{text}\n"), true, "write the JSON report")?;
        }
        if self.json {
            println!("{text}");
        } else {
            print!("{}", report.text);
        }
        Ok(())
    }
}
