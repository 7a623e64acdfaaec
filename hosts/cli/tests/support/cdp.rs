//! Headless Chromium driven over the Chrome DevTools Protocol, through
//! `--remote-debugging-pipe` (commands on the browser's fd 3, answers and
//! events on its fd 4, each a JSON message ended by a NUL byte): no
//! WebSocket, no Node, nothing but the browser Debian ships.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A browser with one page.
pub(crate) struct Browser {
    child: Child,
    to: File,
    from: BufReader<File>,
    next_id: u64,
    session: String,
    events: VecDeque<Value>,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: two ints for pipe2 to fill.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2");
    (fds[0], fds[1])
}

impl Browser {
    /// Starts `chromium` headless with a profile in `profile`, and attaches
    /// to its page.
    pub(crate) fn launch(profile: &Path) -> Browser {
        let (their_in, our_out) = pipe();
        let (our_in, their_out) = pipe();
        let mut command = Command::new("chromium");
        command
            .args([
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--window-size=1200,1000",
                "--autoplay-policy=no-user-gesture-required",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec. The
        // ends are first copied above 10, so that placing them at 3 and 4
        // cannot overwrite one with the other; dup2 clears close-on-exec on
        // the copies, which are the browser's 3 and 4.
        unsafe {
            command.pre_exec(move || {
                let high_in = libc::fcntl(their_in, libc::F_DUPFD, 10);
                let high_out = libc::fcntl(their_out, libc::F_DUPFD, 10);
                if high_in < 0 || high_out < 0 || libc::dup2(high_in, 3) < 0 || libc::dup2(high_out, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("chromium runs (Debian's chromium package; .ci/setup installs it)");
        // SAFETY: our ends, owned from here on; the browser's ends close.
        let (to, from) = unsafe {
            libc::close(their_in);
            libc::close(their_out);
            (File::from_raw_fd(our_out), File::from_raw_fd(our_in))
        };
        let mut browser = Browser {
            child,
            to,
            from: BufReader::new(from),
            next_id: 0,
            session: String::new(),
            events: VecDeque::new(),
        };
        let targets = browser.send(None, "Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target")["targetId"]
            .clone();
        let attached = browser.send(None, "Target.attachToTarget", json!({ "targetId": page, "flatten": true }));
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser
    }

    fn read_message(&mut self) -> Value {
        let mut bytes = Vec::new();
        let n = self.from.read_until(0, &mut bytes).expect("read from the browser");
        assert!(n > 0, "the browser closed its pipe");
        bytes.pop();
        serde_json::from_slice(&bytes).expect("a JSON message")
    }

    fn send(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        match self.try_send(session, method, params) {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// A command's result, or the browser's error (a page that navigated
    /// away in the meantime, say).
    fn try_send(&mut self, session: Option<String>, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = Value::String(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to the browser");
        loop {
            let reply = self.read_message();
            if reply["id"] == id {
                return match reply.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
            if reply.get("method").is_some() {
                self.events.push_back(reply);
            }
        }
    }

    /// A DevTools command in the page's session.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(session), method, params)
    }

    /// Waits for the page event `method`, up to `timeout`.
    pub(crate) fn wait_event(&mut self, method: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
                self.events.drain(..=at);
                return;
            }
            assert!(Instant::now() < deadline, "no {method} within {timeout:?}");
            let message = self.read_message();
            if message.get("method").is_some() {
                self.events.push_back(message);
            }
        }
    }

    /// Loads `url` and waits until it has loaded.
    pub(crate) fn navigate(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_event("Page.loadEventFired", Duration::from_secs(30));
    }

    /// The value of a JavaScript expression in the page.
    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {}", result["exceptionDetails"]);
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true, up to `timeout` (the page
    /// reloads itself while a request runs).
    pub(crate) fn wait_until(&mut self, expression: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let session = self.session.clone();
        loop {
            // While the page reloads, there is no page to ask: ask again.
            let params = json!({ "expression": expression, "returnByValue": true });
            let result = self.try_send(Some(session.clone()), "Runtime.evaluate", params);
            if result.is_ok_and(|r| r["result"]["value"] == true) {
                return;
            }
            assert!(Instant::now() < deadline, "{expression} did not become true within {timeout:?}");
            // Let the page work (a poll, a reload) before asking again.
            let pause = json!({ "expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": true });
            let _ = self.try_send(Some(session.clone()), "Runtime.evaluate", pause);
        }
    }

    /// Presses a key as a keyboard would: `Enter`, `Tab`, or a character.
    pub(crate) fn press(&mut self, key: &str) {
        let (code, text, vk) = match key {
            "Enter" => ("Enter", "\r", 13),
            "Tab" => ("Tab", "", 9),
            c => (c, c, c.chars().next().unwrap().to_ascii_uppercase() as i64),
        };
        let down = json!({ "type": "keyDown", "key": key, "code": code, "text": text,
                           "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk });
        self.call("Input.dispatchKeyEvent", down);
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": key, "code": code,
                                                    "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk }),
        );
    }

    /// A PNG of the page.
    pub(crate) fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        decode_base64(shot["data"].as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    sextets
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |acc, &v| (acc << 6) | u32::from(v)) << (6 * (4 - c.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(c.len().saturating_sub(1))
        })
        .collect()
}
