//! The two contracts the host runs, with real components: what a 0.2
//! adapter is given of a source video (the clip's file, its last frame, its
//! length and rate, this vendor's id for it) and what it gives back (sound,
//! its vendor's id, a video from a point on); and adapters built for 0.1.0
//! and 0.1.1, run through the 0.1 world, with what 0.1 cannot carry
//! reported for them.

use std::path::Path;
use std::sync::Arc;

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::media::{MediaWriter, WriteOptions};
use mattebox_core::shot::{DeviationKind, EncodedFile, Field, ShotRequest, VendorGeneration, VideoInput, VideoRole};
use mattebox_core::wav::wav_info;
use mattebox_core::{Frame, PixelFormat, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;
use guests::guests;

fn policy(dir: &Path) -> SandboxPolicy {
    let mut policy = SandboxPolicy::new(dir.join("compiled"));
    policy.state_dir = Some(dir.join("state"));
    policy
}

/// `wasm` installed in `dir` as adapter `id` built for `wit`, with `memory_mib`.
fn install(dir: &Path, wasm: &Path, id: &str, version: &str, wit: &str, memory_mib: u64) -> WasmAdapter {
    WasmAdapter::load(&write_manifest(dir, wasm, id, version, wit, &format!("memory_mib = {memory_mib}")), &policy(dir))
        .unwrap()
}

/// `wasm` and a manifest for it in `dir`, with `limits` (TOML lines).
fn write_manifest(dir: &Path, wasm: &Path, id: &str, version: &str, wit: &str, limits: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(wasm, dir.join("a.wasm")).unwrap();
    std::fs::write(
        dir.join("adapter.toml"),
        format!(
            "id = \"{id}\"\nname = \"T\"\nversion = \"{version}\"\nwit = \"mattebox:generator@{wit}\"\n\
             component = \"a.wasm\"\n[limits]\ndeadline_seconds = 20\n{limits}\n"
        ),
    )
    .unwrap();
    dir.to_owned()
}

fn generations(dir: &Path, adapter: WasmAdapter) -> Generations {
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.join("takes")));
    generations.register(Arc::new(adapter));
    generations
}

fn request(mode: &str) -> ShotRequest {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (32, 18, Rational::integer(10), Rational::integer(2));
    r.extras.insert("mode".into(), mode.into());
    r
}

fn flat(value: f32) -> Frame {
    let mut f = Frame::new(32, 18, PixelFormat::Rgba8).unwrap();
    f.view_mut().fill([value, 0.25, 0.75, 1.0]);
    f
}

/// A 2 s clip at 10 fps whose red channel counts its frames (n / 20).
fn clip(dir: &Path) -> Vec<u8> {
    let path = dir.join("clip.mp4");
    let options = WriteOptions { overwrite: true, ..WriteOptions::new(Rational::integer(10)) };
    let mut writer = MediaWriter::create(&path, 32, 18, PixelFormat::Rgba8, &options).unwrap();
    for n in 0..20 {
        writer.write_frame(&flat(n as f32 / 20.0).view()).unwrap();
    }
    writer.finish().unwrap();
    std::fs::read(&path).unwrap()
}

fn red_of_first_frame(take: &mattebox_core::shot::Take) -> f32 {
    let options = mattebox_core::media::OpenOptions::default();
    let mut reader = mattebox_core::media::MediaReader::open(&take.media, &options).unwrap();
    reader.read_frame(0).unwrap().pixel_f32(5, 5)[0]
}

#[test]
fn a_0_2_adapter_is_given_the_source_video_whole() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().hostile, "hostile", "0.1.0", "0.2.1", 64);
    assert_eq!(adapter.world(), "mattebox:generator@0.2.1");
    let generations = generations(dir.path(), adapter);
    let bytes = clip(dir.path());
    let len = bytes.len();
    let source = VideoInput::new(
        "take-1.mp4",
        VideoRole::Extend,
        Rational::integer(10),
        20,
        vec![flat(0.9), flat(0.95)],
        Some(EncodedFile::new("clip.mp4", bytes)),
    )
    .unwrap();
    let mut r = request("source");
    let ours = VendorGeneration { generator: "hostile".into(), id: "gen-7".into() };
    r.source_video = Some(source.clone().with_vendor(ours));
    let take = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap();
    let seen = format!("seen extend 20 10/1 32x18 clip.mp4:{len} gen-7");
    assert_eq!(take.vendor_generation.as_deref(), Some(seen.as_str()));
    assert_eq!(take.frames, 20, "the file, handed back, is the take");
    assert!(!take.deviations.iter().any(|d| d.field == Field::SourceVideo), "{:?}", take.deviations);

    // From a point on: the file's second second only.
    r.extras.insert("skip-ms".into(), "1000".into());
    let take = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap();
    assert_eq!(take.frames, 10);
    let red = red_of_first_frame(&take);
    assert!((red - 0.5).abs() < 0.03, "the take starts at the file's frame 10: red {red}");
    r.extras.insert("skip-ms".into(), "5000".into());
    let err = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("all before 5.000 s"), "{err}");

    // Another vendor's id is not passed on.
    r.extras.remove("skip-ms");
    r.source_video = Some(source.with_vendor(VendorGeneration { generator: "kling".into(), id: "gen-7".into() }));
    let take = generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap();
    assert!(take.vendor_generation.as_deref().unwrap().ends_with(" none"), "{:?}", take.vendor_generation);
}

#[test]
fn a_source_file_too_large_for_the_adapter_is_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().hostile, "hostile", "0.1.0", "0.2.1", 32);
    let generations = generations(dir.path(), adapter);
    // 9 MiB is more than a quarter of 32 MiB: the adapter gets the last frame only.
    let file = EncodedFile::new("big.mov", vec![0u8; 9 << 20]);
    let source =
        VideoInput::new("big.mov", VideoRole::Extend, Rational::integer(10), 20, vec![flat(0.9)], Some(file)).unwrap();
    let mut r = request("source");
    r.source_video = Some(source);
    let take = generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap();
    assert!(take.vendor_generation.as_deref().unwrap().contains(" no-file "), "{:?}", take.vendor_generation);
    assert_eq!(take.frames, 20, "the last frame, for every frame asked");
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).expect("said");
    assert_eq!(note.kind, DeviationKind::Approximated);
    assert!(note.note.contains("9 MiB") && note.note.contains("memory_mib"), "{}", note.note);
}

#[test]
fn sound_an_adapter_hands_over_is_kept_with_the_take() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().hostile, "hostile", "0.1.0", "0.2.1", 64);
    let generations = generations(dir.path(), adapter);
    let take = generations.submit("hostile", request("sound"), 1).unwrap().results().remove(0).unwrap();
    let wav = std::fs::read(take.audio_file().expect("the take has sound")).unwrap();
    let info = wav_info(&wav).unwrap();
    assert_eq!((info.sample_rate, info.channels, info.frames), (48_000, 1, 48_000));
    assert_eq!(take.vendor_generation.as_deref(), Some("tone-1"));
    // Asked again, the cache serves the take with its sound.
    let again = generations.submit("hostile", request("sound"), 1).unwrap().results().remove(0).unwrap();
    assert!(again.from_cache && again.audio_file().is_some_and(|p| p.is_file()));

    // A playlist under a sound file's name is refused, and the take with it.
    let mut r = request("sound");
    r.extras.insert("sound".into(), "playlist".into());
    let err = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("tone.wav"), "{err}");
    r.extras.insert("sound-name".into(), "tone.m3u8".into());
    let err = generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("must end in one of"), "{err}");
    assert_eq!(TakeCache::new(dir.path().join("takes")).list().unwrap().len(), 1, "nothing partial was kept");
}

#[test]
fn a_0_1_1_adapter_runs_through_the_0_1_world_with_every_host_call() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().contract_0_1_1, "contract-0-1-1", "0.1.1", "0.1.1", 64);
    assert_eq!(adapter.world(), "mattebox:generator@0.1.1");
    let generations = generations(dir.path(), adapter);
    let err = generations.submit("contract-0-1-1", request("calls"), 1).unwrap().results().remove(0).unwrap_err();
    let text = err.to_string();
    // Each call answered as the 0.2 host answers it: no secret, no loopback.
    assert!(text.contains("secret false"), "{text}");
    assert!(text.contains("fetch Err(") && text.contains("socket Err("), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");

    // A continuation reaches it as its source's last frame, and the take says so.
    let source = VideoInput::new(
        "take-1.mp4",
        VideoRole::Extend,
        Rational::integer(10),
        20,
        vec![flat(0.2)],
        Some(EncodedFile::new("clip.mp4", clip(dir.path()))),
    )
    .unwrap();
    let mut r = request("");
    r.source_video = Some(source);
    let take = generations.submit("contract-0-1-1", r.clone(), 1).unwrap().results().remove(0).unwrap();
    let red = red_of_first_frame(&take);
    assert!((red - 0.2).abs() < 0.01, "the source's last frame: red {red}");
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).unwrap();
    assert_eq!(note.kind, DeviationKind::Approximated);
    assert!(note.note.contains("contract 0.1"), "{}", note.note);
    assert_eq!(take.vendor_generation, None);
    // Lip-sync cannot be approximated for it: dropped, and said.
    r.source_video = Some(
        VideoInput::new("talk.mp4", VideoRole::Lipsync, Rational::integer(10), 20, vec![flat(0.2)], None).unwrap(),
    );
    let take = generations.submit("contract-0-1-1", r, 1).unwrap().results().remove(0).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::SourceVideo).unwrap();
    assert_eq!(note.kind, DeviationKind::Dropped, "{}", note.note);
}

/// An adapter built for 0.2.0 runs unchanged in a 0.2.1 host: its frames,
/// its sound and its vendor id come through.
#[test]
fn an_adapter_built_for_0_2_0_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().contract_0_2_0, "contract-0-2-0", "0.2.0", "0.2.0", 32);
    assert_eq!(adapter.world(), "mattebox:generator@0.2.0");
    let generations = generations(dir.path(), adapter);
    let takes = generations.submit("contract-0-2-0", request("ok"), 2).unwrap().results();
    for (n, take) in takes.into_iter().enumerate() {
        let take = take.unwrap();
        assert_eq!((take.frames, take.vendor_generation.as_deref()), (20, Some(format!("old-{n}").as_str())));
        assert!(take.audio.is_some());
    }
}

/// Contract 0.2.1: an adapter whose manifest allows several takes a call
/// makes them in one call, each its own take with its own frames (the
/// frame quota counts per take); a `next-take` before any frame, or past
/// `takes-wanted`, is refused without ending the call.
#[test]
fn several_takes_come_from_one_call_and_next_take_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let folder =
        write_manifest(&dir.path().join("a"), &guests().hostile, "hostile", "0.1.0", "0.2.1", "takes_per_call = 3");
    let adapter = WasmAdapter::load(&folder, &policy(dir.path())).unwrap();
    assert_eq!(adapter.limits().takes_per_call, 3);
    let generations = generations(dir.path(), adapter);
    let takes: Vec<_> =
        generations.submit("hostile", request("takes"), 3).unwrap().results().into_iter().map(|t| t.unwrap()).collect();
    assert!(takes.iter().all(|t| t.frames == 20), "{:?}", takes.iter().map(|t| t.frames).collect::<Vec<_>>());
    assert_eq!(takes[0].vendor_generation.as_deref(), Some("sample-0"));
    assert_eq!(takes[1].vendor_generation.as_deref(), Some("sample-1"));
    let said = takes[2].vendor_generation.as_deref().unwrap();
    assert!(said.starts_with("wanted 3;") && said.contains("no frames yet") && said.contains("takes-wanted"), "{said}");
    assert!(takes[1].deviations.iter().any(|d| d.field == Field::Seed), "{:?}", takes[1].deviations);

    // One take asked: one wanted.
    let mut one = request("takes");
    one.seed = 99;
    let take = generations.submit("hostile", one, 1).unwrap().results().remove(0).unwrap();
    assert!(take.vendor_generation.as_deref().unwrap().starts_with("wanted 1;"));

    // A manifest for 0.2.0, or a count out of range, is refused.
    for (wit, limit, said) in
        [("0.2.0", "takes_per_call = 2", "needs contract 0.2.1"), ("0.2.1", "takes_per_call = 0", "1 to 16")]
    {
        let folder = write_manifest(&dir.path().join("b"), &guests().hostile, "hostile", "0.1.0", wit, limit);
        let err = WasmAdapter::load(&folder, &policy(dir.path())).unwrap_err().to_string();
        assert!(err.contains(said), "{err}");
    }
}

#[test]
fn a_manifest_must_name_the_contract_its_component_was_built_for() {
    let dir = tempfile::tempdir().unwrap();
    let install_dir = dir.path().join("a");
    std::fs::create_dir_all(&install_dir).unwrap();
    for (wasm, wit, built) in [(&guests().hostile, "0.1.1", "0.2.1"), (&guests().contract_0_1_0, "0.2.1", "0.1.0")] {
        std::fs::copy(wasm, install_dir.join("a.wasm")).unwrap();
        std::fs::write(
            install_dir.join("adapter.toml"),
            format!(
                "id = \"hostile\"\nname = \"T\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@{wit}\"\n\
                 component = \"a.wasm\"\n"
            ),
        )
        .unwrap();
        let err = WasmAdapter::load(&install_dir, &policy(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("the manifest says mattebox:generator@{wit}"))
                && text.contains(&format!("built for mattebox:generator@{built}")),
            "{text}"
        );
    }
}

/// A sine line made by the ffmpeg program: `seconds` long, `channels`, as `name`.
fn line(dir: &Path, name: &str, seconds: u32, channels: u32) -> mattebox_core::shot::SoundInput {
    let path = dir.join(name);
    let source = format!("sine=frequency=330:sample_rate=44100:duration={seconds}");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &source, "-ac", &channels.to_string()])
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    mattebox_core::generate::read_sound(&path, mattebox_core::shot::SoundRole::Dialogue).unwrap()
}

#[test]
fn a_0_2_adapter_is_given_the_sound_as_a_wav_and_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().hostile, "hostile", "0.1.0", "0.2.1", 32);
    let generations = generations(dir.path(), adapter);
    let sound = line(dir.path(), "line.mp3", 2, 1);
    let d = sound.duration();
    let mut r = request("source");
    r.audio = vec![sound.clone()];
    let take = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap();
    let seen = format!(
        "seen no-source sound dialogue {} line.mp3 {} {}/{}",
        sound.wav().len(),
        sound.original().bytes().len(),
        d.num(),
        d.den()
    );
    assert_eq!(take.vendor_generation.as_deref(), Some(seen.as_str()));
    assert!((d.to_f64() - 2.0).abs() < 0.06, "{d}");
    // The adapter handed the mp3 back: the host decoded it into the take's sound.
    let kept = wav_info(&std::fs::read(take.audio_file().unwrap()).unwrap()).unwrap();
    assert!((kept.seconds() - sound.seconds()).abs() < 0.03, "{} against {}", kept.seconds(), sound.seconds());
    assert_eq!(take.request.audio.len(), 1, "the take records its sound");

    // 50 s of stereo is 8.8 MB as a WAV, more than a quarter of 32 MiB: left out, and said.
    r.audio = vec![line(dir.path(), "long.flac", 50, 2)];
    let take = generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap();
    assert_eq!(take.vendor_generation.as_deref(), Some("seen no-source"));
    let note = take.deviations.iter().find(|d| d.field == Field::Audio).expect("said");
    assert_eq!(note.kind, DeviationKind::Dropped);
    assert!(note.note.contains("long.flac") && note.note.contains("memory_mib"), "{}", note.note);
}

#[test]
fn a_0_1_adapter_is_given_no_sound_and_the_take_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = install(&dir.path().join("a"), &guests().contract_0_1_1, "contract-0-1-1", "0.1.1", "0.1.1", 64);
    let generations = generations(dir.path(), adapter);
    let mut r = request("");
    r.audio = vec![line(dir.path(), "line.wav", 1, 1)];
    let take = generations.submit("contract-0-1-1", r, 1).unwrap().results().remove(0).unwrap();
    let note = take.deviations.iter().find(|d| d.field == Field::Audio).expect("said");
    assert!(note.note.contains("contract 0.1") && note.note.contains("line.wav"), "{}", note.note);
    assert!(take.audio.is_none());
}
