//! `mattebox review`: the episode's takes as a local web page, where a
//! director plays them, picks, marks favourites and rejects, writes notes,
//! searches by prompt and asks for more takes of a shot.
//!
//! A `tiny_http` server (synchronous, no async runtime: one director, a
//! local page) bound to 127.0.0.1 by default. Every URL starts with a
//! random 128-bit token (`/TOKEN/...`); requests without it, or with a
//! `Host` that is not this server's own (DNS rebinding), get a bare 404.
//! Nothing on the page is fetched from anywhere else. Every view reads the
//! ranking and the picks from disk, and every change goes through
//! [`Picks::update`] (locked, staged), so two pages, or a page and the
//! command line, lose nothing and a restart loses nothing. Previews,
//! contact sheets and reference thumbnails are made on first request and
//! kept under `OUTPUT/review/`.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use mattebox_core::episode::run::{EpisodeReport, ShotStage, next_seed};
use mattebox_core::episode::{Episode, MoreTakes, Picks};
use mattebox_core::generate::Generations;
use mattebox_core::media::{MediaReader, MediaWriter, OpenOptions, VideoCodec, WriteOptions, write_image};
use mattebox_core::pixels::resample;
use mattebox_core::{Error, ErrorKind, Frame, PixelFormat, Runtime};
use parking_lot::Mutex;
use tiny_http::{Header, Method, Request, Response, Server};

use super::review_page::{self, JobView, Query};
use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mattebox review episode.toml              # prints the page's address; open it in a browser
  mattebox review episode.toml --port 8700  # a fixed port

Run the episode first (`mattebox episode run`). The address carries a random
token: anyone with it can pick, so share it only as you would the episode.
Keys on the page: j / k next and previous take, p pick, f favourite,
x reject, / search. Ctrl-C stops the server; picks are already saved.")]
pub(crate) struct ReviewArgs {
    /// The episode file.
    episode: PathBuf,
    /// Address to listen on; anything but a loopback address lets other machines reach the page.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    bind: IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Largest form body read.
const MAX_FORM_BYTES: u64 = 64 << 10;
/// Frames on a contact sheet, and their width.
const SHEET_FRAMES: usize = 6;
const SHEET_TILE_WIDTH: u32 = 160;

/// The running "more takes" request, if any.
#[derive(Default)]
struct Job {
    running: bool,
    shot: String,
    fraction: f32,
    message: String,
    cancel: Arc<AtomicBool>,
}

struct State {
    episode_path: PathBuf,
    token: String,
    hosts: Vec<String>,
    runtime: Arc<Runtime>,
    generations: Generations,
    job: Mutex<Job>,
    /// Held while a preview, sheet or thumbnail is made ([`State::made`]).
    making: Mutex<()>,
}

impl State {
    /// Makes `path` with `make` unless it is there already. One making at a
    /// time (each uses every core): a second request for the same file
    /// waits, then finds it made.
    fn made(&self, path: &Path, make: impl FnOnce(&Path) -> Result<(), Error>) -> Result<(), Error> {
        if !path.is_file() {
            let _making = self.making.lock();
            if !path.is_file() {
                let parent = path.parent().unwrap_or(Path::new("."));
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
                make(path)?;
            }
        }
        Ok(())
    }
}

fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::internal(format!("no randomness for the page token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(crate) fn run(ctx: &Ctx, args: ReviewArgs) -> Result<Report, CliError> {
    let episode = Episode::load(&args.episode).map_err(CliError::usage_from)?;
    EpisodeReport::load(&episode)?;
    let generations = Generations::new(ctx.runtime.clone())?;
    super::episode::register_adapters(&episode, &generations)?;
    let server = Server::http((args.bind, args.port)).map_err(|e| {
        CliError::usage(format!("cannot listen on {}:{} ({e}); choose another --port", args.bind, args.port))
    })?;
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(args.port);
    let host = if args.bind.is_unspecified() { "127.0.0.1".to_owned() } else { args.bind.to_string() };
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    if !args.bind.is_loopback() {
        ctx.warn(&format!(
            "listening on {}: other machines can reach the page; anyone with its address can pick",
            args.bind
        ));
    }
    let token = random_token()?;
    let mut hosts = vec![format!("{host}:{port}"), format!("localhost:{port}")];
    if args.bind.is_unspecified() {
        hosts.clear(); // reachable by any name: the token alone guards it
    }
    let state = Arc::new(State {
        episode_path: episode.path.clone(),
        token,
        hosts,
        runtime: ctx.runtime.clone(),
        generations,
        job: Mutex::new(Job::default()),
        making: Mutex::new(()),
    });
    // The address first, alone on its line, so scripts can read it.
    println!("http://{host}:{port}/{}/", state.token);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    ctx.step(&format!("reviewing {} (Ctrl-C stops)", episode.path.display()));
    for request in server.incoming_requests() {
        let state = state.clone();
        std::thread::spawn(move || {
            // A browser that went away mid-answer is no error of ours.
            let _ = respond(&state, request);
        });
    }
    Ok(Report { text: String::new(), json: serde_json::json!({}) })
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn text(status: u16, body: &str) -> Reply {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

fn html(body: String) -> Reply {
    Response::from_string(body)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
        // Nothing from elsewhere, scripts only our own inline one.
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'; \
             img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .with_header(header("Cache-Control", "no-store"))
}

fn redirect(to: &str) -> Reply {
    Response::from_data(Vec::new()).with_status_code(303).with_header(header("Location", to))
}

fn file(path: &Path, content_type: &str) -> Reply {
    match std::fs::read(path) {
        Ok(bytes) => Response::from_data(bytes)
            .with_header(header("Content-Type", content_type))
            .with_header(header("Cache-Control", "private, max-age=3600")),
        Err(_) => text(404, "not found"),
    }
}

/// `a=1&b=x%20y` as pairs, `+` and `%XX` decoded.
fn form_pairs(text: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn respond(state: &Arc<State>, mut request: Request) -> std::io::Result<()> {
    // Only this server's own names: a page elsewhere that rebinds a name
    // to 127.0.0.1 cannot talk to it.
    let host_ok = state.hosts.is_empty()
        || request.headers().iter().any(|h| {
            h.field.equiv("Host") && state.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(h.value.as_str()))
        });
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let prefix = format!("/{}/", state.token);
    let rest = match path.strip_prefix(&prefix) {
        Some(rest) if host_ok => rest.to_owned(),
        _ => return request.respond(text(404, "not found")),
    };
    let mut body = String::new();
    if *request.method() == Method::Post {
        let mut limited = request.as_reader().take(MAX_FORM_BYTES);
        if limited.read_to_string(&mut body).is_err() {
            return request.respond(text(400, "the form could not be read"));
        }
    }
    let reply = match route(state, request.method(), &rest, query, &body) {
        Ok(reply) => reply,
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::NotFound => 404,
                ErrorKind::InvalidArgument => 400,
                _ => 500,
            };
            text(status, &format!("{e}\n"))
        }
    };
    request.respond(reply)
}

fn route(state: &Arc<State>, method: &Method, path: &str, query: &str, body: &str) -> Result<Reply, Error> {
    let base = format!("/{}/", state.token);
    let episode = Episode::load(&state.episode_path)?;
    match (method, path) {
        (Method::Get, "") => {
            let report = EpisodeReport::load(&episode)?;
            let picks = Picks::load(&Picks::path_for(&episode.path))?;
            let q = form_pairs(query);
            let search = q.get("q").cloned().unwrap_or_default();
            let next_seeds = episode.shots.iter().map(|s| (s.id.clone(), next_seed(s, &picks))).collect();
            let view = Query { base: &base, search: &search, next_seeds };
            Ok(html(review_page::index(&episode, &report, &picks, &view, &job_view(state))))
        }
        (Method::Get, "compare") => {
            let report = EpisodeReport::load(&episode)?;
            let q = form_pairs(query);
            let shot = q.get("shot").cloned().unwrap_or_default();
            let (a, b) = (q.get("a").cloned().unwrap_or_default(), q.get("b").cloned().unwrap_or_default());
            Ok(html(review_page::compare(&episode, &report, &base, &shot, &a, &b)?))
        }
        (Method::Get, "status.json") => {
            let job = job_view(state);
            let body = serde_json::json!({
                "running": job.running, "fraction": job.fraction, "message": job.message,
            });
            Ok(Response::from_string(body.to_string()).with_header(header("Content-Type", "application/json")))
        }
        (Method::Post, "mark") => {
            let form = form_pairs(body);
            let field = |k: &str| form.get(k).cloned().unwrap_or_default();
            let (shot, key, action) = (field("shot"), field("key"), field("action"));
            episode.shot(&shot)?;
            let report = EpisodeReport::load(&episode)?;
            if report.shot(&shot).and_then(|s| s.take_by_key(&key)).is_none() {
                return Err(Error::new(ErrorKind::NotFound, format!("shot {shot} has no take {key:?}")));
            }
            Picks::update(&Picks::path_for(&episode.path), |p| match action.as_str() {
                "pick" => p.pick(&shot, &key),
                "unpick" => {
                    p.clear_pick(&shot);
                    Ok(())
                }
                "favourite" => p.set_favourite(&shot, &key, true),
                "unfavourite" => p.set_favourite(&shot, &key, false),
                "reject" => p.set_rejected(&shot, &key, true),
                "unreject" => p.set_rejected(&shot, &key, false),
                "note" => p.set_note(&shot, &key, &field("note")),
                other => Err(Error::invalid_argument(format!("unknown action {other:?}"))),
            })?;
            Ok(redirect(&format!("{base}{}#take-{shot}-{}", search_suffix(&form), &key[..12])))
        }
        (Method::Post, "more") => {
            let form = form_pairs(body);
            let shot = form.get("shot").cloned().unwrap_or_default();
            episode.shot(&shot)?;
            let number = |k: &str| -> Result<u64, Error> {
                form.get(k)
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| Error::invalid_argument(format!("{k}: give a whole number")))
            };
            let takes = u32::try_from(number("count")?).unwrap_or(u32::MAX);
            start_more(state, &episode, &shot, MoreTakes { seed: number("seed")?, takes })?;
            Ok(redirect(&format!("{base}{}#shot-{shot}", search_suffix(&form))))
        }
        (Method::Post, "cancel") => {
            let job = state.job.lock();
            job.cancel.store(true, Ordering::SeqCst);
            Ok(redirect(&format!("{base}{}", search_suffix(&form_pairs(body)))))
        }
        (Method::Get, rest) if rest.starts_with("take/") => {
            let parts: Vec<&str> = rest.split('/').collect();
            let (key, what) = match parts.as_slice() {
                ["take", key, what] => (*key, *what),
                _ => return Err(Error::new(ErrorKind::NotFound, "not found")),
            };
            let report = EpisodeReport::load(&episode)?;
            // The key must be a take of this episode: never a path.
            let take = report
                .shots
                .iter()
                .find_map(|s| s.take_by_key(key))
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such take"))?
                .take
                .clone();
            let dir = episode.output.join("review");
            match what {
                "preview.mp4" => {
                    let path = dir.join("previews").join(format!("{key}.mp4"));
                    state.made(&path, |path| make_preview(&state.runtime, &take.media, take.fps, path))?;
                    Ok(file(&path, "video/mp4"))
                }
                "sheet.png" => {
                    let path = dir.join("sheets").join(format!("{key}.png"));
                    state.made(&path, |path| make_sheet(&state.runtime, &take.media, path))?;
                    Ok(file(&path, "image/png"))
                }
                _ => Err(Error::new(ErrorKind::NotFound, "not found")),
            }
        }
        (Method::Get, rest) if rest.starts_with("ref/") => {
            let index: usize = rest
                .trim_start_matches("ref/")
                .trim_end_matches(".png")
                .parse()
                .map_err(|_| Error::new(ErrorKind::NotFound, "not found"))?;
            let source = review_page::reference_images(&episode)
                .into_iter()
                .nth(index)
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "not found"))?
                .2;
            let path = episode.output.join("review").join("refs").join(format!("{index}.png"));
            state.made(&path, |path| make_thumbnail(&state.runtime, &source, path))?;
            Ok(file(&path, "image/png"))
        }
        _ => Err(Error::new(ErrorKind::NotFound, "not found")),
    }
}

/// `?q=...` for a redirect, keeping the page's search.
fn search_suffix(form: &BTreeMap<String, String>) -> String {
    match form.get("q").filter(|q| !q.is_empty()) {
        Some(q) => {
            let encoded: String = q
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            format!("?q={encoded}")
        }
        None => String::new(),
    }
}

fn job_view(state: &State) -> JobView {
    let job = state.job.lock();
    JobView { running: job.running, fraction: job.fraction, message: job.message.clone() }
}

/// Records the request in the picks (so it survives a restart) and runs
/// the episode on a thread of its own; cancelling takes the request back.
fn start_more(state: &Arc<State>, episode: &Episode, shot: &str, more: MoreTakes) -> Result<(), Error> {
    let mut job = state.job.lock();
    if job.running {
        return Err(Error::invalid_argument(format!(
            "more takes of {} are being made; wait for them or cancel them first",
            job.shot
        )));
    }
    Picks::update(&Picks::path_for(&episode.path), |p| p.add_more(shot, more))?;
    let cancel = Arc::new(AtomicBool::new(false));
    *job = Job {
        running: true,
        shot: shot.to_owned(),
        fraction: 0.0,
        message: format!("making {} more takes of {shot} from seed {}", more.takes, more.seed),
        cancel: cancel.clone(),
    };
    drop(job);
    let (state, episode, shot) = (state.clone(), episode.clone(), shot.to_owned());
    std::thread::spawn(move || {
        let mut progress = |shots: &[mattebox_core::episode::run::ShotProgress]| {
            if let Some(s) = shots.iter().find(|s| s.id == shot) {
                let fraction = if s.stage == ShotStage::Ranked { 1.0 } else { s.fraction };
                state.job.lock().fraction = fraction;
            }
        };
        let result = mattebox_core::episode::run::run(&episode, &state.generations, &mut progress, &cancel);
        let message = match result {
            Ok(_) => format!("{} more takes of {shot} made and ranked", more.takes),
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                let _ = Picks::update(&Picks::path_for(&episode.path), |p| {
                    p.remove_more(&shot, more);
                    Ok(())
                });
                format!("cancelled the {} more takes of {shot}", more.takes)
            }
            Err(e) => format!("more takes of {shot} failed: {e}"),
        };
        let mut job = state.job.lock();
        job.running = false;
        job.fraction = 1.0;
        job.message = message;
    });
    Ok(())
}

/// A small H.264 of the take for the page's looping preview.
fn make_preview(runtime: &Runtime, media: &Path, rate: mattebox_core::Rational, path: &Path) -> Result<(), Error> {
    let mut reader = MediaReader::open_on(runtime, media, &OpenOptions::default())?;
    let info = reader.info().clone();
    // At most 640 wide, even sizes (4:2:0).
    let width = (info.width.min(640) / 2 * 2).max(2);
    let height = ((u64::from(info.height) * u64::from(width) / u64::from(info.width.max(1))) as u32 / 2 * 2).max(2);
    let options = WriteOptions {
        codec: Some(VideoCodec::H264),
        overwrite: true,
        encoder_threads: runtime.threads(),
        ..WriteOptions::new(rate)
    };
    let mut writer = MediaWriter::create(path, width, height, PixelFormat::Rgba8, &options)?;
    for i in 0..info.frame_count {
        let frame = reader.read_frame(i)?;
        let small = runtime.install(|| resample(&frame.view(), width, height))?.to_format(PixelFormat::Rgba8)?;
        writer.write_frame(&small.view())?;
    }
    writer.finish()?;
    Ok(())
}

/// Frames spread over the take, side by side in two rows.
fn make_sheet(runtime: &Runtime, media: &Path, path: &Path) -> Result<(), Error> {
    let mut reader = MediaReader::open_on(runtime, media, &OpenOptions::default())?;
    let info = reader.info().clone();
    let tile_w = SHEET_TILE_WIDTH;
    let tile_h = ((u64::from(info.height) * u64::from(tile_w) / u64::from(info.width.max(1))) as u32).max(1);
    let columns = SHEET_FRAMES.div_ceil(2) as u32;
    let mut sheet = Frame::new(tile_w * columns, tile_h * 2, PixelFormat::Rgba8)?;
    let stride = sheet.stride();
    let count = info.frame_count.max(1);
    for n in 0..SHEET_FRAMES {
        let index = (n as u64 * (count - 1)) / (SHEET_FRAMES as u64 - 1).max(1);
        let frame = reader.read_frame(index.min(count - 1))?;
        let tile = runtime.install(|| resample(&frame.view(), tile_w, tile_h))?.to_format(PixelFormat::Rgba8)?;
        let (tx, ty) = ((n as u32 % columns) * tile_w, (n as u32 / columns) * tile_h);
        let view = tile.view();
        let bytes = sheet.as_bytes_mut();
        for y in 0..tile_h {
            let at = (ty + y) as usize * stride + tx as usize * 4;
            let row = view.row_bytes_at(y);
            bytes[at..at + row.len()].copy_from_slice(row);
        }
    }
    write_image(path, &sheet.view(), true)
}

/// A reference image, 160 pixels high, as PNG.
fn make_thumbnail(runtime: &Runtime, source: &Path, path: &Path) -> Result<(), Error> {
    let mut reader = MediaReader::open_on(runtime, source, &OpenOptions::default())?;
    let frame = reader.read_frame(0)?;
    let height = 160u32.min(frame.height()).max(1);
    let width = ((u64::from(frame.width()) * u64::from(height) / u64::from(frame.height().max(1))) as u32).max(1);
    let small = runtime.install(|| resample(&frame.view(), width, height))?.to_format(PixelFormat::Rgba8)?;
    write_image(path, &small.view(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_searches_survive_redirects() {
        let form = form_pairs("shot=s01&note=a+b%20%26%3Dc%zz&q=dusk%21&empty");
        assert_eq!(form["note"], "a b &=c%zz");
        assert_eq!(form["empty"], "");
        assert_eq!(search_suffix(&form), "?q=dusk%21");
        assert_eq!(search_suffix(&form_pairs("q=")), "");
        assert_eq!(form_pairs("note=%"), BTreeMap::from([("note".to_owned(), "%".to_owned())]));
    }
}
