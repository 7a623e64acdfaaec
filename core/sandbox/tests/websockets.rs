//! `host.websocket-*` (contract 0.1.1) under the rules of `http-fetch`:
//! declared origins only, no private address the user did not name,
//! secrets filled in by the host and redacted on the way back, few sockets,
//! bounded messages.

use std::sync::Arc;

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};
use tungstenite::Message;

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;

const TOKEN: &str = "ws-secret-token-value";

/// A WebSocket server: it sends the headers it was opened with, then
/// echoes; on `/big` it sends 2 MiB at once.
fn ws_server() -> String {
    server::serve_with_websockets(
        |_| (404, vec![], vec![]),
        |request, mut socket| {
            if request.path() == "/big" {
                let _ = socket.send(Message::text("x".repeat(2 << 20)));
                return;
            }
            let auth = request.header("authorization").unwrap_or("").to_owned();
            let _ = socket.send(Message::text(format!("opened with {auth}")));
            while let Ok(message) = socket.read() {
                if message.is_text() && socket.send(message).is_err() {
                    break;
                }
            }
        },
    )
}

fn generations(origins: &[String], allow_loopback: bool) -> (tempfile::TempDir, Generations) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&guests::guests().hostile, dir.path().join("hostile.wasm")).unwrap();
    let list: Vec<String> = origins.iter().map(|o| format!("{o:?}")).collect();
    std::fs::write(
        dir.path().join("adapter.toml"),
        format!(
            "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
             component = \"hostile.wasm\"\nsecrets = [{{ name = \"TOKEN\", origins = [{}] }}]\n\
             [network]\norigins = [{}]\n[limits]\nresponse_mib = 1\ndeadline_seconds = 20\n",
            list[..1].join(", "),
            list.join(", ")
        ),
    )
    .unwrap();
    let mut policy = SandboxPolicy::new(dir.path().join("cache"));
    policy.state_dir = Some(dir.path().join("state"));
    policy.settings_dir = None;
    if allow_loopback {
        policy.network.allow_addresses.push("127.0.0.1".parse().unwrap());
    }
    policy.network.secrets.insert("TOKEN".into(), TOKEN.into());
    let adapter = WasmAdapter::load(dir.path(), &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.path().join("takes")));
    generations.set_settings_dir(None);
    generations.register(Arc::new(adapter));
    (dir, generations)
}

fn said(generations: &Generations, mode: &str, url: &str) -> String {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (8, 8, Rational::integer(4), Rational::integer(1));
    r.extras.insert("mode".into(), mode.into());
    r.extras.insert("url".into(), url.into());
    generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap_err().to_string()
}

#[test]
fn websockets_follow_the_rules_of_http_fetch() {
    let origin = ws_server();
    let ws = origin.replace("http://", "ws://");
    let (_dir, allowed) = generations(std::slice::from_ref(&origin), true);
    // The secret goes out in the header; what comes back has it redacted; echoes arrive.
    let text = said(&allowed, "ws-echo", &format!("{ws}/ws?clientId=1"));
    assert!(text.contains("opened with Bearer [secret TOKEN]") && !text.contains(TOKEN), "{text}");
    assert!(text.contains("| hello"), "{text}");
    // At most four at once.
    let text = said(&allowed, "ws-many", &format!("{ws}/ws"));
    assert!(text.contains("opened 4;") && text.contains("at most 4"), "{text}");
    // A message larger than the adapter's response cap ends the socket.
    let text = said(&allowed, "ws-echo", &format!("{ws}/big"));
    assert!(text.contains("error") && !text.contains("xxxx"), "{text}");
    // Undeclared origins, and loopback the user did not allow, are refused.
    let other = ws_server().replace("http://", "ws://");
    let text = said(&allowed, "ws-echo", &format!("{other}/ws"));
    assert!(text.contains("not among the origins"), "{text}");
    let (_strict_dir, strict) = generations(std::slice::from_ref(&origin), false);
    let text = said(&strict, "ws-echo", &format!("{ws}/ws"));
    assert!(text.contains("private or special addresses"), "{text}");
}
