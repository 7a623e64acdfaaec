//! The sandbox under attack: one test per way a malicious adapter once got
//! through (issue 22), each run against the real host with the hostile
//! adapter (`plugins/tests/hostile`) or a component made for the attack.
//! Every test names the attack it answers; `plugins/README.md` ("Security")
//! points here for each guarantee.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mattebox_core::generate::{Generations, Generator, TakeCache};
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Error, ErrorKind, LogLevel, LogSink, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
use guests::guests;
use server::serve;

const TOKEN: &str = "t0ken-Hostile+Test/Value";

/// Every log line the runtime writes, kept.
fn runtime(lines: Arc<Mutex<Vec<String>>>) -> Arc<Runtime> {
    let sink = LogSink::Callback(Arc::new(move |_, line: &str| lines.lock().unwrap().push(line.to_owned())));
    Arc::new(
        Runtime::new(RuntimeConfig { threads: 2, log_sink: sink, log_level: LogLevel::Debug, ..Default::default() })
            .unwrap(),
    )
}

fn request(mode: &str, url: &str) -> ShotRequest {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (32, 18, Rational::integer(10), Rational::integer(1));
    r.extras.insert("mode".into(), mode.into());
    r.extras.insert("url".into(), url.into());
    r
}

/// A manifest for `id` with `component`, granting TOKEN to `token_origins`.
fn manifest(id: &str, component: &str, origins: &[String], token_origins: &[String], limits: &str) -> String {
    let list = |v: &[String]| v.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(", ");
    let secrets = if token_origins.is_empty() {
        String::new()
    } else {
        format!("secrets = [{{ name = \"TOKEN\", origins = [{}] }}]\n", list(token_origins))
    };
    format!(
        "id = {id:?}\nname = \"Test\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
         component = {component:?}\n{secrets}[network]\norigins = [{}]\n[limits]\nmemory_mib = 64\n\
         deadline_seconds = 5\n{limits}",
        list(origins),
    )
}

/// `wasm` installed in `dir` as adapter `id`.
fn install(dir: &Path, id: &str, wasm: &Path, origins: &[String], token_origins: &[String], limits: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(wasm, dir.join(format!("{id}.wasm"))).unwrap();
    let text = manifest(id, &format!("{id}.wasm"), origins, token_origins, limits);
    std::fs::write(dir.join("adapter.toml"), text).unwrap();
    dir.to_owned()
}

fn policy(cache: &Path, allow_loopback: bool) -> SandboxPolicy {
    let mut policy = SandboxPolicy::new(cache.join("compiled"));
    policy.state_dir = Some(cache.join("state"));
    if allow_loopback {
        policy.network.allow_addresses.push("127.0.0.1".parse().unwrap());
    }
    policy.network.secrets.insert("TOKEN".into(), TOKEN.into());
    policy
}

/// The hostile adapter granted `origins` (TOKEN to the first), ready to run.
struct Hostile {
    _dir: tempfile::TempDir,
    generations: Generations,
    adapter: Arc<WasmAdapter>,
    logged: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    fn new(origins: &[String], allow_loopback: bool, limits: &str) -> Hostile {
        Hostile::with_policy(origins, limits, |p| {
            if !allow_loopback {
                p.network.allow_addresses.clear();
            }
        })
    }

    fn with_policy(origins: &[String], limits: &str, tune: impl FnOnce(&mut SandboxPolicy)) -> Hostile {
        let dir = tempfile::tempdir().unwrap();
        let token_origins: Vec<String> = origins.iter().take(1).cloned().collect();
        let at = install(&dir.path().join("hostile"), "hostile", &guests().hostile, origins, &token_origins, limits);
        let mut policy = policy(&dir.path().join("cache"), true);
        tune(&mut policy);
        let adapter = Arc::new(WasmAdapter::load(&at, &policy).unwrap());
        let logged = Arc::new(Mutex::new(Vec::new()));
        let generations =
            Generations::with_cache(runtime(logged.clone()), TakeCache::new(dir.path().join("cache/takes")));
        generations.register(adapter.clone());
        Hostile { _dir: dir, generations, adapter, logged }
    }

    fn take(&self, r: ShotRequest) -> Result<mattebox_core::shot::Take, Error> {
        self.generations.submit("hostile", r, 1).unwrap().results().remove(0)
    }

    /// The take's error text (the take must fail).
    fn error(&self, mode: &str, url: &str) -> String {
        match self.take(request(mode, url)) {
            Ok(take) => panic!("{mode} {url}: the take succeeded with {} frames", take.frames),
            Err(e) => e.to_string(),
        }
    }

    fn log(&self) -> String {
        self.logged.lock().unwrap().join("\n")
    }
}

/// Every spelling of `secret` a server might send back: as is, in base64
/// (both alphabets) inside a longer text, percent- and JSON-encoded.
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned(), secret.replace('/', "\\/")];
    for prefix in ["", "x", "xy"] {
        let text = format!("{prefix}Bearer {secret}");
        // The middle of the encoding, which does not depend on what surrounds it.
        let std = mattebox_core::base64::encode(text.as_bytes());
        let url = mattebox_core::base64::encode_url(text.as_bytes());
        for enc in [std, url] {
            out.push(enc[12..enc.len() - 4].to_owned());
        }
    }
    out.push(secret.replace('+', "%2B").replace('/', "%2F"));
    out
}

fn assert_no_secret(text: &str, what: &str) {
    for spelling in spellings(TOKEN) {
        assert!(!text.contains(&spelling), "{what} holds the secret as {spelling:?}:\n{text}");
    }
    // A Kling token (HS256 JWT) the host signed: its claims start {"exp":
    assert!(!text.contains("eyJleHAiOj"), "{what} holds a signed token:\n{text}");
}

/// A server that echoes the request's headers back in every way a server
/// might: in the body as is, base64, percent-encoded and JSON, and in a
/// response header.
fn echo_server() -> String {
    serve(|r| {
        let auth = r.header("authorization").unwrap_or("").to_owned();
        let body = format!(
            "headers {:?}\nbase64 {}\nbase64url {}\npercent {}\njson {}\n",
            r.headers,
            mattebox_core::base64::encode(format!("x{auth}").as_bytes()),
            mattebox_core::base64::encode_url(format!("xy{auth}").as_bytes()),
            auth.replace('+', "%2B").replace('/', "%2F"),
            serde_json::to_string(&auth).unwrap(),
        );
        (200, vec![("x-echo".into(), auth)], body.into_bytes())
    })
}

/// Attack 1: a header the client rejects once held the filled-in secret in
/// the error returned to the adapter, and in the log at -v.
#[test]
fn attack_01_secrets_never_come_back_in_errors_or_logs() {
    let origin = echo_server();
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    let text = hostile.error("leak-errors", &format!("{origin}/"));
    assert_no_secret(&text, "the adapter's error");
    assert_no_secret(&hostile.log(), "the log");
    // Each attempt was refused for what it is, before anything was sent.
    let refusals = text.lines().filter(|l| l.contains("refused:")).count();
    assert_eq!(refusals, 6, "{text}");
    assert!(text.contains("header name \"bad name\""), "{text}");
    assert!(text.contains("control character"), "{text}");
}

/// Attack 2: a declared origin that echoes headers returned the secret to
/// the adapter; and any secret could go to any declared origin.
#[test]
fn attack_02_secrets_go_only_to_their_origins_and_echoes_are_redacted() {
    let bound = echo_server();
    let other = echo_server();
    let hostile = Hostile::new(&[bound.clone(), other.clone()], true, "");
    let text = hostile.error("reflect", &format!("{bound}/"));
    assert!(text.contains("status 200"), "the exchange happened: {text}");
    assert!(text.contains("[secret TOKEN]"), "the echo is marked where the secret was: {text}");
    assert_no_secret(&text, "the echoed response");
    let text = hostile.error("reflect-jwt", &format!("{bound}/"));
    assert!(text.contains("status 200"), "{text}");
    assert_no_secret(&text, "the echoed token");
    // TOKEN is granted to the first origin only.
    let text = hostile.error("reflect", &format!("{other}/"));
    assert!(text.contains("refused") && text.contains("may be sent only to"), "{text}");
    assert_no_secret(&text, "the refusal");
}

fn ffmpeg(args: &[&str]) {
    let out = std::process::Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A server that serves `files` by path.
fn file_server(files: Vec<(&'static str, Vec<u8>)>) -> String {
    serve(move |r| match files.iter().find(|(p, _)| *p == r.path()) {
        Some((_, bytes)) => (200, vec![], bytes.clone()),
        None => (404, vec![], vec![]),
    })
}

/// Attack 3: emit-file with a playlist under an .mp4 name made the host's
/// demuxer open a local file and put its frames in the take.
#[test]
fn attack_03_emitted_files_never_open_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.ts");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=32x18:rate=10", "-frames:v", "10", local.to_str().unwrap()]);
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n",
        local.display()
    );
    let concat = format!("ffconcat version 1.0\nfile '{}'\n", local.display());
    let origin = file_server(vec![("/hls", playlist.into_bytes()), ("/concat", concat.into_bytes())]);
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    for (path, name) in [("/hls", "take.mp4"), ("/hls", "take.mkv"), ("/concat", "take.mov"), ("/hls", "take.avi")] {
        let mut r = request("emit-fetched", &format!("{origin}{path}"));
        r.extras.insert("name".into(), name.into());
        let err = hostile.take(r).expect_err("a playlist is not a video");
        assert!(err.to_string().contains(name), "{path} as {name}: {err}");
    }
}

/// Attack 4: an mp4 declaring 1/2,000,000,000 fps made the host list its
/// output frames before any quota, until the kernel killed it.
#[test]
fn attack_04_absurd_frame_rates_are_refused_before_any_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow.mp4");
    let path = slow.to_str().unwrap();
    let args = ["-f", "lavfi", "-i", "color=size=16x16:rate=1", "-frames:v", "2", "-c:v", "libx264"];
    ffmpeg(&[&args[..], &["-r", "1/2000000000", "-video_track_timescale", "1", path]].concat());
    assert!(std::fs::metadata(&slow).unwrap().len() < 4096, "a tiny file");
    let origin = file_server(vec![("/slow", std::fs::read(&slow).unwrap())]);
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    let mut r = request("emit-fetched", &format!("{origin}/slow"));
    r.extras.insert("name".into(), "slow.mp4".into());
    let err = hostile.take(r).unwrap_err().to_string();
    assert!(err.contains("slow.mp4") && err.contains("more than the"), "{err}");
}

/// Attack 5: small files that decode to enormous frames (an EXR, a PNG, a
/// PNG inside a mov) took gigabytes and a minute in one host call.
#[test]
fn attack_05_decompression_bombs_are_refused_from_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let black = |size: &str| format!("color=black:size={size}");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &black("4096x4096"),
        "-frames:v",
        "1",
        "-c:v",
        "exr",
        "-compression",
        "zip16",
        "-pix_fmt",
        "gbrpf32le",
        &file("bomb.exr"),
    ]);
    ffmpeg(&["-f", "lavfi", "-i", &black("8000x8000"), "-frames:v", "1", "-pix_fmt", "gray", &file("bomb.png")]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &black("6000x6000"),
        "-frames:v",
        "1",
        "-c:v",
        "png",
        "-pix_fmt",
        "gray",
        &file("bomb.mov"),
    ]);
    let files: Vec<(&'static str, Vec<u8>)> = [("/exr", "bomb.exr"), ("/png", "bomb.png"), ("/mov", "bomb.mov")]
        .into_iter()
        .map(|(path, name)| (path, std::fs::read(dir.path().join(name)).unwrap()))
        .collect();
    for (_, bytes) in &files {
        assert!(bytes.len() < 8 << 20, "the bombs are small files");
    }
    let origin = file_server(files);
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    for (path, name) in [("/exr", "bomb.exr"), ("/png", "bomb.png"), ("/mov", "bomb.mov")] {
        let mut r = request("emit-fetched", &format!("{origin}{path}"));
        r.extras.insert("name".into(), name.into());
        let err = hostile.take(r).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains("pixels"), "{name}: {err}");
    }
}

/// Attack 6: a manifest asked for a million MiB of response, 100 GB of log
/// and unbounded concurrency, and got them.
#[test]
fn attack_06_the_users_limits_cap_what_a_manifest_asks_for() {
    let origin = serve(|r| match r.path() {
        "/big" => (200, vec![], vec![7u8; 3 << 20]),
        _ => (404, vec![], vec![]),
    });
    let greedy = "concurrent = 1000\nresponse_mib = 1000000\nlog_kib = 100000000\n";
    let hostile = Hostile::with_policy(std::slice::from_ref(&origin), greedy, |p| {
        p.max_response_mib = 2;
        p.max_log_kib = 32;
        p.max_concurrent = 3;
    });
    assert_eq!(hostile.adapter.info().max_concurrent, 3);
    let text = hostile.error("fetch", &format!("{origin}/big"));
    assert!(text.contains("the limit is 2097152"), "{text}");
    hostile.take(request("log-flood", "")).unwrap();
    let logged = hostile.log().len();
    assert!((32 << 10..64 << 10).contains(&logged), "logged {logged} bytes under a 32 KiB cap");
    // With no setting of the user's, the defaults cap it.
    let defaults = SandboxPolicy::new("unused");
    assert!(defaults.max_concurrent <= 8 && defaults.max_log_kib <= 1024 && defaults.max_response_mib <= 1024);
}

/// Loads `wasm` as adapter `id` on a thread of its own, giving up after
/// `patience` (a hang fails the test rather than blocking it).
fn load_within(id: &str, wasm: &Path, patience: Duration) -> Result<WasmAdapter, Error> {
    let dir = tempfile::tempdir().unwrap().keep();
    let origins = ["http://127.0.0.1:9".to_owned()];
    let at = install(&dir.join(id), id, wasm, &origins, &origins, "");
    let policy = policy(&dir.join("cache"), true);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(WasmAdapter::load(&at, &policy));
    });
    rx.recv_timeout(patience).unwrap_or_else(|_| panic!("loading {id} hung for {patience:?}"))
}

/// Attack 7: describe() ran at `plugin check` with no deadline (a WASI
/// sleep hung the command) and with the network and secrets.
#[test]
fn attack_07_describe_runs_sandboxed_with_a_deadline_and_no_network() {
    let probe = load_within("describe-probe", &guests().describe_probe, Duration::from_secs(60)).unwrap();
    let said = &probe.info().name;
    assert!(said.contains("has-secret false"), "{said}");
    assert!(said.contains("fetch refused") && said.contains("describe"), "{said}");
    let err = load_within("describe-sleep", &guests().describe_sleep, Duration::from_secs(60)).unwrap_err();
    assert!(err.to_string().contains("describe") && err.to_string().contains("within"), "{err}");
    let err = load_within("describe-huge", &guests().describe_huge, Duration::from_secs(60)).unwrap_err();
    assert!(err.to_string().contains("describe") && err.to_string().contains("name of"), "{err}");
}

/// Attack 8: 40,000 headers took the host seconds of quadratic work, which
/// went on after the deadline had failed the take.
#[test]
fn attack_08_header_floods_are_refused_at_once() {
    let origin = echo_server();
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    let text = hostile.error("header-flood", &format!("{origin}/"));
    assert!(text.contains("refused") && text.contains("at most 64 headers"), "{text}");
}

/// A server that records each connection's bytes: the request as the
/// client wrote it, and anything after it.
fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
            let mut bytes = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            record.lock().unwrap().push(String::from_utf8_lossy(&bytes).into_owned());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (origin, seen)
}

/// Attack 9: `Host` went out as the adapter wrote it, and `content-length:
/// 0` with a body put a second request of the adapter's on the wire.
#[test]
fn attack_09_the_host_alone_sets_framing_and_routing_headers() {
    let (origin, seen) = recording_server();
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    let text = hostile.error("smuggle", &format!("{origin}/"));
    for name in ["Host", "content-length", "Transfer-Encoding", "connection", "TE", "upgrade"] {
        let line = text.lines().find(|l| l.contains(&format!("[{name}]"))).unwrap_or_else(|| panic!("{name}: {text}"));
        assert!(line.contains("refused") && line.contains("set by the host"), "{line}");
    }
    let seen = seen.lock().unwrap().join("\n---\n");
    assert!(!seen.contains("evil.example") && !seen.contains("/second"), "on the wire:\n{seen}");
}

/// Attack 10: IPv6 addresses that embed an IPv4 one passed the filter.
#[test]
fn attack_10_ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let origins: Vec<String> = ["::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b:1::7f00:1"]
        .iter()
        .map(|ip| format!("http://[{ip}]:{port}"))
        .collect();
    let hostile = Hostile::new(&origins, false, "");
    for origin in &origins {
        let text = hostile.error("fetch", &format!("{origin}/"));
        assert!(text.contains("private or special"), "{origin}: {text}");
    }
}

/// Attack 11: emit-file staged the adapter's bytes at a predictable name
/// in /tmp, following symlinks: another local user's link made the host
/// overwrite their target.
#[test]
fn attack_11_emitted_files_are_never_staged_where_others_can_reach() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=32x18:rate=10",
        "-frames:v",
        "10",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let tmp = std::env::temp_dir();
    let links: Vec<PathBuf> =
        (0..512).map(|n| tmp.join(format!(".mattebox-emit-{}-{n}.mp4", std::process::id()))).collect();
    for link in &links {
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&victim, link).unwrap();
    }
    let origin = file_server(vec![("/clip", std::fs::read(&clip).unwrap())]);
    let hostile = Hostile::new(std::slice::from_ref(&origin), true, "");
    let mut r = request("emit-fetched", &format!("{origin}/clip"));
    r.extras.insert("name".into(), "take.mp4".into());
    let take = hostile.take(r);
    let untouched = std::fs::read(&victim).unwrap() == b"precious";
    let links_left = links.iter().filter(|l| l.symlink_metadata().is_ok()).count();
    for link in &links {
        let _ = std::fs::remove_file(link);
    }
    assert_eq!(take.unwrap().frames, 10);
    assert!(untouched, "the host wrote through a link in {}", tmp.display());
    assert_eq!(links_left, links.len(), "the host removed links it did not make");
}

/// An adapter directory: the hostile component and a manifest, for
/// installation tests.
fn adapter_dir(root: &Path) -> PathBuf {
    install(&root.join("src"), "hostile", &guests().hostile, &[], &[], "")
}

/// Attack 12: special files, huge manifests and links out of the folder
/// hung or killed `plugin install`; `--adapter PATH` ran an adapter that
/// was never installed.
#[test]
fn attack_12_only_regular_files_inside_the_folder_are_installed_and_only_ids_load() {
    let root = tempfile::tempdir().unwrap();
    let plugins = root.path().join("plugins");
    let cache = root.path().join("cache");
    let load = |dir: PathBuf| -> Result<WasmAdapter, Error> {
        let policy = policy(&cache, false);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(mattebox_sandbox::install(&dir, &plugins_of(&dir), &policy, true));
        });
        rx.recv_timeout(Duration::from_secs(60)).expect("install hung")
    };
    fn plugins_of(dir: &Path) -> PathBuf {
        dir.parent().unwrap().join("installed")
    }
    // A manifest that is a link to /dev/zero, a FIFO, or 1 GiB.
    let src = adapter_dir(&root.path().join("zero"));
    std::fs::remove_file(src.join("adapter.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", src.join("adapter.toml")).unwrap();
    let err = load(src).unwrap_err().to_string();
    assert!(err.contains("adapter.toml") && err.contains("outside the adapter's folder"), "{err}");
    let src = adapter_dir(&root.path().join("fifo"));
    std::fs::remove_file(src.join("adapter.toml")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(src.join("adapter.toml")).status().unwrap();
    assert!(made.success());
    let err = load(src).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let src = adapter_dir(&root.path().join("huge"));
    std::fs::File::options().append(true).open(src.join("adapter.toml")).unwrap().set_len(1 << 30).unwrap();
    let err = load(src).unwrap_err().to_string();
    assert!(err.contains("adapter.toml") && err.contains("larger than"), "{err}");
    // A component that links out of its folder.
    let src = adapter_dir(&root.path().join("link"));
    let outside = root.path().join("outside.wasm");
    std::fs::rename(src.join("hostile.wasm"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, src.join("hostile.wasm")).unwrap();
    let err = load(src).unwrap_err().to_string();
    assert!(err.contains("outside"), "{err}");
    // A link inside the folder is fine.
    let src = adapter_dir(&root.path().join("inside"));
    std::fs::rename(src.join("hostile.wasm"), src.join("real.wasm")).unwrap();
    std::os::unix::fs::symlink("real.wasm", src.join("hostile.wasm")).unwrap();
    load(src).unwrap();
    // Only ids load: not a path to an adapter that was never installed.
    let elsewhere = adapter_dir(&root.path().join("never-installed"));
    let policy = policy(&cache, false);
    for id in [elsewhere.to_str().unwrap(), "../never-installed/src", "hostile/../hostile", "."] {
        let err = mattebox_sandbox::load_installed(&plugins, id, &policy).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{id}: {err}");
        assert!(err.to_string().contains("not an adapter id"), "{id}: {err}");
    }
}

/// The file offset and size of the ELF section `name` in `elf`.
fn elf_section(elf: &[u8], name: &str) -> (usize, usize) {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..4], b"\x7fELF", "compiled components are ELF files");
    let (shoff, shentsize, shnum, shstrndx) = (u64_at(0x28), u16_at(0x3A), u16_at(0x3C), u16_at(0x3E));
    let header = |i: usize| shoff + i * shentsize;
    let strings = u64_at(header(shstrndx) + 0x18);
    (0..shnum)
        .find_map(|i| {
            let at = strings + u32_at(header(i));
            let end = at + elf[at..].iter().position(|&b| b == 0).unwrap();
            (&elf[at..end] == name.as_bytes()).then(|| (u64_at(header(i) + 0x18), u64_at(header(i) + 0x20)))
        })
        .unwrap_or_else(|| panic!("no {name} section"))
}

fn compiled(cache: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache.join("compiled"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

/// Loads the adapter in `$MATTEBOX_TEST_LOAD` with the cache in
/// `$MATTEBOX_TEST_CACHE`, makes a take, and prints its id. Attack 13 runs
/// it in a fresh process for every load, as a command-line user does, so
/// the process's own record of verified components never hides the disk.
#[test]
#[ignore = "a helper: attack_13 runs it in a fresh process"]
fn load_in_a_fresh_process() {
    let at = PathBuf::from(std::env::var_os("MATTEBOX_TEST_LOAD").expect("MATTEBOX_TEST_LOAD"));
    let cache = PathBuf::from(std::env::var_os("MATTEBOX_TEST_CACHE").expect("MATTEBOX_TEST_CACHE"));
    let adapter = WasmAdapter::load(&at, &policy(&cache, false)).unwrap();
    let mut fine = request("ok", "");
    fine.extras.clear();
    mattebox_core::generate::dry_run(&adapter, &fine, 0, &runtime(Arc::default())).unwrap();
    println!("loaded {}", adapter.info().id);
}

/// Runs [`load_in_a_fresh_process`] for the adapter at `at`; its output.
fn load_fresh(at: &Path, cache: &Path) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "load_in_a_fresh_process", "--ignored", "--nocapture", "--test-threads=1"])
        .env("MATTEBOX_TEST_LOAD", at)
        .env("MATTEBOX_TEST_CACHE", cache)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "loading {} failed ({}):\n{text}\n{}",
        at.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Attack 13: the compiled-component cache was trusted by name: zeroed
/// machine code crashed every load, and another component's compiled file
/// under this one's name was run.
#[test]
fn attack_13_compiled_components_are_verified_before_they_run() {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let policy = policy(&cache, false);
    let hostile = adapter_dir(&root.path().join("h"));
    let example = &guests().example;
    assert!(load_fresh(&hostile, &cache).contains("loaded hostile"));
    let [hostile_cwasm] = compiled(&cache).try_into().unwrap();
    // Zeroed machine code: the next process would have crashed running it.
    let mut bytes = std::fs::read(&hostile_cwasm).unwrap();
    let (at, len) = elf_section(&bytes, ".text");
    bytes[at..at + len].fill(0);
    std::fs::write(&hostile_cwasm, &bytes).unwrap();
    assert!(load_fresh(&hostile, &cache).contains("loaded hostile"));
    assert_ne!(std::fs::read(&hostile_cwasm).unwrap(), bytes, "the damaged file was replaced");
    // Another component's compiled code under this one's name.
    assert!(load_fresh(example, &cache).contains("loaded sweep"));
    let files = compiled(&cache);
    let sweep = files.iter().find(|f| **f != hostile_cwasm).unwrap();
    std::fs::copy(sweep, &hostile_cwasm).unwrap();
    assert!(load_fresh(&hostile, &cache).contains("loaded hostile"));
    // A compiled file others may write could change after its check: refused.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hostile_cwasm, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(load_fresh(&hostile, &cache).contains("loaded hostile"));
    let mode = std::fs::metadata(&hostile_cwasm).unwrap().permissions().mode();
    assert_eq!(mode & 0o022, 0, "compiled again, writable by its owner alone: {mode:o}");
    // Within one process, a component verified once is not read again.
    WasmAdapter::load(&hostile, &policy).unwrap();
    // (A new file under the name, as anyone but the owner would have to
    // make: the loaded component maps the old one, which the owner alone
    // could change in place.)
    std::fs::remove_file(&hostile_cwasm).unwrap();
    std::fs::write(&hostile_cwasm, b"damaged").unwrap();
    assert_eq!(WasmAdapter::load(&hostile, &policy).unwrap().info().id, "hostile");
    // The key that vouches for compiled files lives apart from them, private.
    let key_files: Vec<_> = std::fs::read_dir(policy.state_dir.as_ref().unwrap()).unwrap().collect();
    assert_eq!(key_files.len(), 1);
    let mode = key_files[0].as_ref().unwrap().metadata().unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the key is the user's alone: {mode:o}");
}
