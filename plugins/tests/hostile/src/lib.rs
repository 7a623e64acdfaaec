//! Everything an adapter should not be able to do, one mode per request
//! (`extras: mode=...`). The sandbox's tests run each and check that the
//! host stays up, the take ends with a clear error in time, and nothing
//! escapes. Modes that probe for an escape return an error naming what got
//! through, so a hole fails the test instead of passing silently.

use mattebox_adapter::bindings::mattebox::generator::host::{self, HttpRequest};
use mattebox_adapter::*;

struct Hostile;

fn blank(request: &ShotRequest) -> Vec<u8> {
    vec![90u8; (request.width * request.height * 4) as usize]
}

fn emit_all(request: &ShotRequest) -> Result<(), GenerateError> {
    let frame = blank(request);
    for _ in 0..frame_count(request) {
        emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
    }
    Ok(())
}

/// Not hostile: what a 0.2 adapter is given of a source video and sound,
/// said back as the take's vendor id (`seen <role> <frames> <fps> <last
/// frame size> <file> <vendor id>`, then ` sound <role> <wav bytes>
/// <original name> <original bytes> <duration>` for each sound), with the
/// source's file handed over from `skip-ms` on (or its last frame repeated
/// when there is no file, or grey when there is no source) and the first
/// sound's original (or its WAV) handed back as the take's sound.
fn echo_source(request: &ShotRequest) -> Result<TakeReport, GenerateError> {
    let mut seen = match &request.source_video {
        None => "seen no-source".to_owned(),
        Some(video) => {
            let file = match &video.file {
                Some(file) => format!("{}:{}", file.name, file.bytes.len()),
                None => "no-file".into(),
            };
            format!(
                "seen {} {} {}/{} {}x{} {file} {}",
                role_name(video.role),
                video.frame_count,
                video.fps.num,
                video.fps.den,
                video.last_frame.width,
                video.last_frame.height,
                video.vendor_generation.as_deref().unwrap_or("none")
            )
        }
    };
    for sound in &request.audio {
        let role = if sound.role == AudioRole::Dialogue { "dialogue" } else { "reference" };
        seen.push_str(&format!(
            " sound {role} {} {} {} {}/{}",
            sound.wav.len(),
            sound.original.name,
            sound.original.bytes.len(),
            sound.duration.num,
            sound.duration.den
        ));
    }
    match request.source_video.as_ref().map(|v| (&v.file, &v.last_frame)) {
        Some((Some(file), _)) => {
            let skip: i64 = extra(request, "skip-ms").and_then(|v| v.parse().ok()).unwrap_or(0);
            emit_file_from(&file.name, &file.bytes, Rational { num: skip, den: 1000 }).map_err(GenerateError::Other)?;
        }
        Some((None, last)) => {
            for _ in 0..frame_count(request) {
                emit_frame(last.width, last.height, &last.rgba8).map_err(GenerateError::Other)?;
            }
        }
        None => emit_all(request)?,
    }
    if let Some(sound) = request.audio.first() {
        let given = !sound.original.bytes.is_empty();
        let (name, bytes) =
            if given { (sound.original.name.as_str(), &sound.original.bytes) } else { ("line.wav", &sound.wav) };
        emit_audio(name, bytes).map_err(GenerateError::Other)?;
    }
    Ok(report_with_id(Vec::new(), &seen))
}

/// A WAV of a 440 Hz tone, mono 16-bit.
fn tone_wav(rate: u32, seconds: f64) -> Vec<u8> {
    let n = (rate as f64 * seconds) as u32;
    let mut out = Vec::with_capacity(44 + 2 * n as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + 2 * n).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(2 * n).to_le_bytes());
    for i in 0..n {
        let v = (i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin() * 12_000.0;
        out.extend_from_slice(&(v as i16).to_le_bytes());
    }
    out
}

#[inline(never)]
#[allow(unconditional_recursion, reason = "the point: recursion without end")]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1)) + 1)
}

/// What an escape attempt found, if anything got through.
fn escapes() -> Vec<String> {
    let mut got = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/") {
        got.push(format!("listed / ({} entries)", entries.count()));
    }
    if std::fs::read("/etc/passwd").is_ok() {
        got.push("read /etc/passwd".into());
    }
    if std::fs::write("/tmp/mattebox-hostile-was-here", b"x").is_ok() {
        got.push("wrote /tmp".into());
    }
    let vars = std::env::vars().count();
    if vars > 0 {
        got.push(format!("saw {vars} environment variables"));
    }
    if std::env::args().count() > 0 {
        got.push("saw arguments".into());
    }
    if std::net::TcpStream::connect("127.0.0.1:22").is_ok() {
        got.push("opened a socket".into());
    }
    if std::env::var("TOKEN").is_ok() {
        got.push("read the secret TOKEN from the environment".into());
    }
    got
}

/// Sends one request with `headers` exactly as given (no SDK defaults) and
/// describes what came back, whatever it was.
fn raw_fetch(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let request = HttpRequest {
        method: method.into(),
        url: url.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    };
    match host::http_fetch(&request) {
        Ok(r) => format!("status {} headers {:?} body {}", r.status, r.headers, String::from_utf8_lossy(&r.body)),
        Err(e) => format!("refused: {e}"),
    }
}

/// Header tricks that once made the host put a secret into an error text.
fn leak_attempts(url: &str) -> Vec<String> {
    let attempts: [(&str, &str); 6] = [
        ("bad name", "{{secret:TOKEN}}"),
        ("x-token", "{{secret:TOKEN}}\r\nx-injected: 1"),
        ("x-token", "{{secret:TOKEN}}\u{7f}"),
        ("x-token", "\n{{secret:TOKEN}}"),
        ("bad name", "Bearer {{kling-jwt:TOKEN,TOKEN}}"),
        ("x:y", "{{kling-jwt:TOKEN,TOKEN}}"),
    ];
    attempts
        .iter()
        .map(|(name, value)| format!("[{name:?}] {}", raw_fetch("GET", url, &[(name, value)], &[])))
        .collect()
}

/// Headers the host alone may set, each tried on its own.
fn smuggle_attempts(url: &str) -> Vec<String> {
    let second = b"GET /second HTTP/1.1\r\nhost: other.example\r\n\r\n";
    let attempts: [(&str, &str, &[u8]); 6] = [
        ("Host", "evil.example", b""),
        ("content-length", "0", second),
        ("Transfer-Encoding", "chunked", b"0\r\n\r\n"),
        ("connection", "keep-alive", b""),
        ("TE", "trailers", b""),
        ("upgrade", "websocket", b""),
    ];
    attempts
        .iter()
        .map(|(name, value, body)| format!("[{name}] {}", raw_fetch("POST", url, &[(name, value)], body)))
        .collect()
}

impl Adapter for Hostile {
    fn describe() -> AdapterInfo {
        info("hostile", "Hostile test adapter", "0.1.0", &[Field::Size, Field::Duration, Field::Fps])
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        let url = extra(&request, "url").unwrap_or("http://example.com/").to_string();
        match extra(&request, "mode").unwrap_or("ok") {
            "ok" => emit_all(&request)?,
            "spin" => loop {
                std::hint::black_box(());
            },
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
            "hoard-sleep" => {
                // 96 MiB touched, then a WASI sleep epochs cannot interrupt.
                let hoard = vec![7u8; 96 << 20];
                std::hint::black_box(&hoard);
                std::thread::sleep(std::time::Duration::from_secs(3600));
                std::hint::black_box(&hoard);
            }
            "allocate" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("the hostile adapter panics"),
            "recurse" => {
                std::hint::black_box(recurse(0));
            }
            "escape" => {
                let got = escapes();
                if !got.is_empty() {
                    return Err(GenerateError::Other(format!("escaped: {}", got.join("; "))));
                }
                emit_all(&request)?;
            }
            "fetch" => {
                // Whatever the host answers is the test's to judge.
                let response = http::get(&url, &[])?;
                return Err(GenerateError::Other(format!(
                    "fetched: status {}, {} bytes",
                    response.status,
                    response.body.len()
                )));
            }
            "undeclared-secret" => {
                http::get(&url, &[("authorization", "Bearer {{secret:OTHER}}")])?;
                return Err(GenerateError::Other("an undeclared secret was sent".into()));
            }
            "huge-frame" => {
                let small = vec![0u8; 16];
                emit_frame(100_000, 100_000, &small).map_err(GenerateError::Other)?;
            }
            "short-frame" => {
                let frame = blank(&request);
                emit_frame(request.width, request.height, &frame[..frame.len() / 2]).map_err(GenerateError::Other)?;
            }
            "many-frames" => {
                let frame = blank(&request);
                loop {
                    emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
                }
            }
            "log-flood" => {
                let line = "x".repeat(64 << 10);
                for _ in 0..16 * 1024 {
                    log(LogLevel::Error, &line);
                }
                emit_all(&request)?;
            }
            "ignore-cancel" => {
                // Emits a frame, then keeps working without ever asking.
                emit_frame(request.width, request.height, &blank(&request)).map_err(GenerateError::Other)?;
                loop {
                    std::hint::black_box(());
                }
            }
            "leak-errors" => {
                return Err(GenerateError::Other(leak_attempts(&url).join("\n")));
            }
            "reflect" => {
                let got = raw_fetch("GET", &url, &[("authorization", "Bearer {{secret:TOKEN}}")], &[]);
                return Err(GenerateError::Other(format!("reflected: {got}")));
            }
            "reflect-jwt" => {
                let got = raw_fetch("GET", &url, &[("authorization", "Bearer {{kling-jwt:TOKEN,TOKEN}}")], &[]);
                return Err(GenerateError::Other(format!("reflected: {got}")));
            }
            "smuggle" => {
                return Err(GenerateError::Other(smuggle_attempts(&url).join("\n")));
            }
            "header-flood" => {
                let names: Vec<String> = (0..40_000).map(|i| format!("x-flood-{i}")).collect();
                let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
                return Err(GenerateError::Other(raw_fetch("GET", &url, &headers, &[])));
            }
            "emit-fetched" => {
                // Bytes the adapter chose, under a name it chose.
                let name = extra(&request, "name").unwrap_or("take.mp4").to_string();
                let bytes = http::get(&url, &[])?.body;
                emit_file(&name, &bytes).map_err(|e| GenerateError::Other(format!("emit-file: {e}")))?;
            }
            "ws-echo" => {
                // Opens a socket with a secret in a header, says hello, and
                // reports everything that came back.
                let socket = websocket::WebSocket::connect(&url, &[("authorization", "Bearer {{secret:TOKEN}}")])?;
                socket.send("hello")?;
                let mut got = Vec::new();
                for _ in 0..20 {
                    match socket.receive(std::time::Duration::from_millis(200)) {
                        Ok(Some(websocket::Message::Text(t))) => got.push(t),
                        Ok(Some(websocket::Message::Binary(b))) => got.push(format!("{} binary bytes", b.len())),
                        Ok(None) => {}
                        Err(e) => {
                            got.push(format!("error: {e:?}"));
                            break;
                        }
                    }
                    if got.len() >= 2 {
                        break;
                    }
                }
                return Err(GenerateError::Other(format!("ws: {}", got.join(" | "))));
            }
            "ws-many" => {
                let mut open = Vec::new();
                let mut said = Vec::new();
                for _ in 0..5 {
                    match websocket::WebSocket::connect(&url, &[]) {
                        Ok(s) => open.push(s),
                        Err(e) => said.push(format!("{e:?}")),
                    }
                }
                return Err(GenerateError::Other(format!("opened {}; {}", open.len(), said.join("; "))));
            }
            "calls" => {
                // Not hostile: host-call overhead for the benchmark.
                let n: u32 = extra(&request, "n").and_then(|v| v.parse().ok()).unwrap_or(1000);
                let hits = (0..n).filter(|_| has_secret("TOKEN")).count();
                std::hint::black_box(hits);
                emit_all(&request)?;
            }
            "takes" => {
                // Not quite hostile: a vendor's samples, one take each, with
                // a next-take too early and one too many on the way; what
                // the host answered is the last take's vendor id.
                let said = |r: Result<(), GenerateError>| match r {
                    Ok(()) => "accepted".to_string(),
                    Err(e) => format!("{e:?}").chars().take(110).collect(),
                };
                let early = said(next_take(report(Vec::new())));
                let wanted = takes_wanted();
                for k in 0..wanted {
                    if k > 0 {
                        next_take(report_with_id(Vec::new(), &format!("sample-{}", k - 1)))?;
                    }
                    emit_all(&request)?;
                }
                let late = said(next_take(report(Vec::new())));
                return Ok(report_with_id(Vec::new(), &format!("wanted {wanted}; early {early}; late {late}")));
            }
            "source" => return echo_source(&request),
            "sound" => {
                // Not hostile: a take with sound (a 440 Hz tone, or what `sound` names).
                emit_all(&request)?;
                let bytes = match extra(&request, "sound") {
                    Some("playlist") => b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n".to_vec(),
                    _ => tone_wav(48_000, 1.0),
                };
                let name = extra(&request, "sound-name").unwrap_or("tone.wav");
                emit_audio(name, &bytes).map_err(GenerateError::Other)?;
                return Ok(report_with_id(Vec::new(), "tone-1"));
            }
            other => return Err(GenerateError::InvalidRequest(format!("unknown mode {other:?}"))),
        }
        Ok(report(Vec::new()))
    }
}

export_adapter!(Hostile);
