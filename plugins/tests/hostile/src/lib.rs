//! Everything an adapter should not be able to do, one mode per request
//! (`extras: mode=...`). The sandbox's tests run each and check that the
//! host stays up, the take ends with a clear error in time, and nothing
//! escapes. Modes that probe for an escape return an error naming what got
//! through, so a hole fails the test instead of passing silently.

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

impl Adapter for Hostile {
    fn describe() -> AdapterInfo {
        info("hostile", "Hostile test adapter", "0.1.0", &[Field::Size, Field::Duration, Field::Fps])
    }

    fn generate(request: ShotRequest) -> Result<Vec<Deviation>, GenerateError> {
        let url = extra(&request, "url").unwrap_or("http://example.com/").to_string();
        match extra(&request, "mode").unwrap_or("ok") {
            "ok" => emit_all(&request)?,
            "spin" => loop {
                std::hint::black_box(());
            },
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
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
            "calls" => {
                // Not hostile: host-call overhead for the benchmark.
                let n: u32 = extra(&request, "n").and_then(|v| v.parse().ok()).unwrap_or(1000);
                let hits = (0..n).filter(|_| has_secret("TOKEN")).count();
                std::hint::black_box(hits);
                emit_all(&request)?;
            }
            other => return Err(GenerateError::InvalidRequest(format!("unknown mode {other:?}"))),
        }
        Ok(Vec::new())
    }
}

export_adapter!(Hostile);
