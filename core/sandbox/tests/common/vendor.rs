//! A shipped vendor adapter installed against a local server of the test's
//! own, and the video such a server delivers. Shared by the vendors' tests.
// Shared by several test targets; not every one uses every item.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use std::time::{Duration, Instant};

use mattebox_core::generate::{AdapterSettings, GenerationJob, Generations, Setting, TakeCache, TakeStage};
use mattebox_core::media::{MediaWriter, WriteOptions};
use mattebox_core::{Frame, PixelFormat, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

use super::guests;

/// `frames` frames at `fps` of `width` x `height`, red counting the frames
/// (n / frames), encoded as H.264 MP4.
pub(crate) fn counting_video(dir: &Path, frames: u32, fps: i64, width: u32, height: u32) -> Vec<u8> {
    let path = dir.join("vendor.mp4");
    let options = WriteOptions { overwrite: true, ..WriteOptions::new(Rational::integer(fps)) };
    let mut writer = MediaWriter::create(&path, width, height, PixelFormat::Rgba8, &options).unwrap();
    for n in 0..frames {
        let mut f = Frame::new(width, height, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill([n as f32 / frames as f32, 0.4, 0.6, 1.0]);
        writer.write_frame(&f.view()).unwrap();
    }
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// The shipped adapter `name` (`plugins/NAME/adapter.toml`, component
/// `wasm`) installed under `dir` with each origin list in `lists` (as the
/// manifest spells it) pointed at `origin`, the user's `secrets` set, and
/// loopback allowed; registered with a service of its own.
pub(crate) fn install_against(
    dir: &Path,
    name: &str,
    wasm: &Path,
    lists: &[&str],
    origin: &str,
    secrets: &[(&str, &str)],
) -> Generations {
    install_with_settings(dir, name, wasm, lists, origin, secrets, &[])
}

/// [`install_against`], with the user's `settings` for the adapter (as
/// `mattebox plugin config NAME KEY=VALUE` keeps them) in a settings
/// directory of the test's own, which the sandbox and the service read.
pub(crate) fn install_with_settings(
    dir: &Path,
    name: &str,
    wasm: &Path,
    lists: &[&str],
    origin: &str,
    secrets: &[(&str, &str)],
    settings: &[(&str, &str)],
) -> Generations {
    let install = dir.join("adapter");
    std::fs::create_dir_all(&install).unwrap();
    std::fs::copy(wasm, install.join(format!("{name}.wasm"))).unwrap();
    let mut manifest = std::fs::read_to_string(guests::repo().join(format!("plugins/{name}/adapter.toml"))).unwrap();
    for list in lists {
        assert!(manifest.contains(list), "the manifest no longer lists {list}");
        manifest = manifest.replace(list, &format!("{origin:?}"));
    }
    std::fs::write(install.join("adapter.toml"), manifest).unwrap();
    let settings_dir = dir.join("settings");
    let mut kept = AdapterSettings::default();
    for (key, value) in settings {
        kept.extras.insert((*key).into(), Setting::Text((*value).into()));
    }
    kept.save(&settings_dir, name).unwrap();
    let mut policy = SandboxPolicy::new(dir);
    policy.state_dir = Some(dir.join("state"));
    policy.settings_dir = Some(settings_dir.clone());
    policy.network.allow_addresses.push("127.0.0.1".parse().unwrap());
    for (key, value) in secrets {
        policy.network.secrets.insert((*key).into(), (*value).into());
    }
    let adapter = WasmAdapter::load(&install, &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.join("takes")));
    generations.set_settings_dir(Some(settings_dir));
    generations.register(Arc::new(adapter));
    generations
}

/// Cancels `job` once `started` says the vendor is working on it, and
/// checks the take stopped as cancelled (each wait bounded).
pub(crate) fn cancel_once(job: &GenerationJob, started: impl Fn() -> bool) {
    let since = Instant::now();
    while !started() {
        assert!(since.elapsed() < Duration::from_secs(30), "the vendor never got to work on the take");
        std::thread::sleep(Duration::from_millis(20));
    }
    job.cancel();
    while !job.is_finished() {
        assert!(since.elapsed() < Duration::from_secs(30), "the take never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(job.status()[0].stage, TakeStage::Cancelled);
}

/// Base64 in either alphabet (standard or URL-safe), padded or not; None
/// when it is not base64. Vendor servers read what adapters send with it.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The bytes of a base64 `data:` URI.
pub(crate) fn data_uri_bytes(uri: &str) -> Vec<u8> {
    base64_decode(uri.split_once(',').expect("a data URI").1).expect("base64")
}

/// `video` with a 440 Hz tone as its sound track, as vendors that make
/// sound deliver it (`name` keeps the scratch files apart).
pub(crate) fn with_tone(dir: &Path, video: &[u8], name: &str) -> Vec<u8> {
    let (v, out) = (dir.join(format!("{name}-v.mp4")), dir.join(format!("{name}.mp4")));
    std::fs::write(&v, video).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&v)
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-shortest"])
        .args(["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

/// A 40x30 still of one colour, its red channel `red`: the first and last
/// frames the vendor tests send.
pub(crate) fn still(red: f32) -> mattebox_core::shot::ImageInput {
    let mut f = Frame::new(40, 30, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([red, 0.2, 0.8, 1.0]);
    mattebox_core::shot::ImageInput::new(format!("still-{red}.png"), f)
}

/// A `seconds`-long sine of `hz` at `rate` Hz written to `path` (its
/// container from the extension) by ffmpeg: a line of dialogue.
pub(crate) fn tone_file(path: &Path, hz: u32, rate: u32, seconds: u32) {
    let source = format!("sine=frequency={hz}:sample_rate={rate}:duration={seconds}");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &source])
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "ffmpeg made no {}", path.display());
}
