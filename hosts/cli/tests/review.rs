//! `mattebox review` in a real browser: headless Chromium (Debian's) driven
//! over the DevTools protocol loads the page, picks a take with the
//! keyboard, asks for two more takes and sees them made and ranked, cancels
//! a long request, and finds the pick again after a reload and after the
//! server restarts; the page has no address outside itself, and without
//! its token the server answers nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::json_ok;

#[path = "support/cdp.rs"]
mod cdp;
mod common;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A review server and the address it printed.
struct Review {
    child: Child,
    url: String,
}

impl Review {
    fn start(cache: &Path, episode: &Path) -> Review {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .args(["--progress", "none", "--cache-dir"])
            .arg(cache)
            .arg("review")
            .arg(episode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with('/'), "{url:?}");
        Review { child, url }
    }

    /// `GET path` with the given Host, as raw HTTP: the status line.
    fn raw_get(&self, path: &str, host: &str) -> String {
        let authority = self.url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
        let mut stream = std::net::TcpStream::connect(&authority).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply.lines().next().unwrap_or_default().to_owned()
    }
}

impl Drop for Review {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn picks(episode: &Path) -> Value {
    let path = episode.with_file_name("episode.toml.picks.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const TAKES_OF_S01: &str = "document.querySelectorAll('#shot-s01 li.take').length";
const PICKED: &str = "(document.querySelector('li.take.picked') || {dataset: {}}).dataset.key || null";

#[test]
fn a_director_picks_with_the_keyboard_asks_for_more_and_the_pick_survives() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::copy(repo().join("examples/episode/valley.png"), dir.path().join("valley.png")).unwrap();
    let episode = dir.path().join("episode.toml");
    std::fs::write(
        &episode,
        "name = 'Review <test>'\n[locations]\nvalley = ['valley.png']\n\
         [defaults]\nsize = '320x180'\nduration = '1'\nlocation = 'valley'\n\
         [[shots]]\nid = 's01'\nprompt = 'a valley at dusk'\ncamera = 'pan=0.3'\ntakes = 3\n\
         [[shots]]\nid = 's02'\nafter = 's01'\nprompt = 'pushing in'\ncamera = 'zoom=0.3'\n",
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .args(["--json", "--progress", "none", "--cache-dir"])
        .arg(&cache)
        .args(["episode", "run"])
        .arg(&episode)
        .output()
        .unwrap();
    json_ok(&run);

    let server = Review::start(&cache, &episode);
    let token_path = server.url.splitn(4, '/').nth(3).unwrap().to_owned(); // "TOKEN/"
    let authority = server.url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    // Without the token, or through another name for this machine: nothing.
    assert!(server.raw_get("/", &authority).contains("404"));
    assert!(server.raw_get("/0123/", &authority).contains("404"));
    assert!(server.raw_get(&format!("/{token_path}"), "attacker.example").contains("404"));
    assert!(server.raw_get(&format!("/{token_path}"), &authority).contains("200"));

    let mut browser = cdp::Browser::launch(&dir.path().join("profile"));
    browser.navigate(&server.url);
    assert_eq!(browser.eval("document.title"), "Review <test> · Mattebox review");
    assert_eq!(browser.eval(TAKES_OF_S01), 3);
    // Every address on the page is the page's own.
    let outside = browser.eval(&format!(
        "Array.from(document.querySelectorAll('[src],[href],[action]')).map(e => e.getAttribute('src') || \
         e.getAttribute('href') || e.getAttribute('action')).filter(a => !a.startsWith('/{token_path}') && \
         !a.startsWith('#'))"
    ));
    assert_eq!(outside, serde_json::json!([]), "addresses outside the page");
    // Every control has a name a screen reader can say.
    let unnamed = browser.eval(
        "Array.from(document.querySelectorAll('input:not([type=hidden]),button')).filter(e => \
         !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')).length",
    );
    assert_eq!(unnamed, 0);

    // Keyboard: j, j goes to the second-best take of s01; p picks it.
    browser.press("j");
    browser.press("j");
    let focused = browser.eval("document.activeElement.dataset.key");
    let second = browser.eval("document.querySelectorAll('#shot-s01 li.take')[1].dataset.key");
    assert_eq!(focused, second);
    browser.press("p");
    browser.wait_until(&format!("({PICKED}) === {second}"), Duration::from_secs(30));
    assert_eq!(picks(&episode)["shots"]["s01"]["pick"], second, "the pick is saved beside the episode");
    let header = browser.eval("document.querySelector('#shot-s01 > p').textContent");
    assert!(header.as_str().unwrap().contains("(pick)"), "the shot says its pick is chosen: {header}");

    // Two more takes of s01, asked for with the keyboard from the form.
    browser.eval("document.getElementById('more-count-s01').focus()");
    browser.eval("document.getElementById('more-count-s01').select()");
    browser.press("2");
    browser.eval("document.getElementById('more-s01').focus()");
    browser.press("Enter");
    browser.wait_until(
        &format!("{TAKES_OF_S01} === 5 && document.getElementById('job').dataset.running === 'false'"),
        Duration::from_secs(120),
    );
    assert_eq!(browser.eval(PICKED), second, "the pick stays through the new ranking");
    let more = picks(&episode)["shots"]["s01"]["more"].clone();
    assert_eq!(more, serde_json::json!([{ "seed": 3, "takes": 2 }]));

    // A long request, cancelled: it is taken back.
    browser.eval("document.getElementById('more-count-s01').value = '100'");
    browser.eval("document.getElementById('more-s01').focus()");
    browser.press("Enter");
    browser.wait_until("!!document.getElementById('cancel')", Duration::from_secs(30));
    browser.eval("document.getElementById('cancel').focus()");
    browser.press("Enter");
    browser.wait_until("document.getElementById('job').textContent.includes('cancelled')", Duration::from_secs(60));
    assert_eq!(picks(&episode)["shots"]["s01"]["more"], more, "the cancelled request is taken back");

    // Reloaded, and after the server restarts: the pick is still there.
    browser.navigate(&server.url);
    assert_eq!(browser.eval(PICKED), second);
    drop(server);
    let server = Review::start(&cache, &episode);
    browser.navigate(&server.url);
    assert_eq!(browser.eval(PICKED), second);
    assert_eq!(browser.eval(TAKES_OF_S01), 5);
    // Search by prompt.
    browser.navigate(&format!("{}?q=PUSHING", server.url));
    let shown = browser.eval("Array.from(document.querySelectorAll('section.shot')).map(s => s.id)");
    assert_eq!(shown, serde_json::json!(["shot-s02"]));
    browser.navigate(&server.url);

    // What the director sees (kept with the test's files; looked at by eye).
    let shot = browser.screenshot();
    assert!(shot.starts_with(b"\x89PNG") && shot.len() > 10_000, "{} bytes", shot.len());
    std::fs::write(dir.path().join("review.png"), &shot).unwrap();
    if let Some(keep) = std::env::var_os("MATTEBOX_REVIEW_SCREENSHOT") {
        std::fs::write(keep, &shot).unwrap();
    }
}
