//! What a clip carries besides its pictures survives every operation:
//! sound in sync, start timecode, colour tags, pixel aspect and rotation.
//!
//! Clips are made by the real `ffmpeg` program with a marker: one white
//! frame (the flash) and a 20 ms 1 kHz click starting at that frame's time.
//! After each operation the output is decoded by ffmpeg again, and the
//! click must start within one output frame of the flash. Where the sound
//! is time-stretched the click is smeared over the stretcher's window, so
//! its start is taken from the centre of its energy, less half its length
//! at that speed; unstretched, that is exactly where it starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{ffmpeg, json_ok};
use serde_json::Value;

mod common;

fn mattebox(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).args(args.iter().map(|a| a.as_ref())).output().unwrap()
}

/// Frame the flash is on in every marker clip.
const FLASH_FRAME: u32 = 30;
/// Length of the click.
const CLICK_SECONDS: f64 = 0.02;

/// A 3-second 320x240 clip at 30000/1001 fps, black but for a white frame
/// at [`FLASH_FRAME`], with a click at that frame's time; `extra` picks the
/// codecs and tags.
fn marker_clip(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let flash_time = FLASH_FRAME as f64 * 1001.0 / 30000.0;
    let video = format!(
        "color=c=0x202020:s=320x240:r=30000/1001:d=3,\
         drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n\\,{FLASH_FRAME})'"
    );
    let audio = format!(
        "aevalsrc='if(between(t\\,{flash_time}\\,{end})\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:c=stereo:d=3",
        end = flash_time + CLICK_SECONDS
    );
    let mut args = vec!["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio];
    args.extend_from_slice(extra);
    args.push("-shortest");
    let o = out.to_str().unwrap().to_owned();
    args.push(&o);
    ffmpeg(&args);
    out
}

/// Seconds from the flash to the click in `path`, whose sound plays at
/// `speed`, and one frame's duration.
fn click_minus_flash(path: &Path, speed: f64) -> (f64, f64) {
    let probe = ffprobe_streams(path);
    let video = probe.iter().find(|s| s["codec_type"] == "video").expect("a video stream");
    let (w, h) = (video["width"].as_u64().unwrap() as usize, video["height"].as_u64().unwrap() as usize);
    let (num, den) = video["r_frame_rate"].as_str().unwrap().split_once('/').unwrap();
    let frame_seconds = den.parse::<f64>().unwrap() / num.parse::<f64>().unwrap();
    let p = path.to_str().unwrap();
    let grey = ffmpeg(&["-i", p, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray", "-"]);
    let brightness: Vec<f64> =
        grey.chunks_exact(w * h).map(|f| f.iter().map(|&v| v as f64).sum::<f64>() / (w * h) as f64).collect();
    // The first white frame: slow motion holds the flash on the next one too.
    let Some(flash) = brightness.iter().position(|&b| b > 200.0) else {
        panic!("{}: no flash frame", path.display());
    };
    let pcm = ffmpeg(&["-i", p, "-map", "0:a:0", "-f", "f32le", "-ac", "1", "-ar", "48000", "-"]);
    let samples: Vec<f32> = pcm.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let energy: f64 = samples.iter().map(|&s| (s as f64).powi(2)).sum();
    assert!(energy > 1.0, "{}: no click", path.display());
    let centre = samples.iter().enumerate().map(|(i, &s)| i as f64 * (s as f64).powi(2)).sum::<f64>() / energy;
    let click = centre / 48_000.0 - CLICK_SECONDS / 2.0 / speed;
    (click - flash as f64 * frame_seconds, frame_seconds)
}

/// A one-colour PNG, as a matte or a background.
fn still(dir: &Path, name: &str, colour: &str, size: &str) -> PathBuf {
    let out = dir.join(name);
    ffmpeg(&["-f", "lavfi", "-i", &format!("color=c={colour}:s={size}"), "-frames:v", "1", out.to_str().unwrap()]);
    out
}

/// `mattebox composite` of `plate` over a grey still, with a white matte
/// that keeps all of the plate: its report.
fn composite_whole_plate(dir: &Path, plate: &Path, out: &Path) -> Value {
    let matte = still(dir, "white.png", "white", "320x240");
    let bg = still(dir, "bg.png", "0x303030", "320x240");
    composite_with_matte(plate, &matte, &bg, out)
}

/// `mattebox composite` of `plate` over `bg` through `matte`: its report.
fn composite_with_matte(plate: &Path, matte: &Path, bg: &Path, out: &Path) -> Value {
    json_ok(&mattebox(&[
        &"composite",
        &"--plate",
        &plate,
        &"--matte",
        &matte,
        &"--background",
        &bg,
        &"-o",
        &out,
        &"--json",
    ]))
}

fn ffprobe_streams(path: &Path) -> Vec<Value> {
    let out = Command::new("ffprobe").args(["-v", "error", "-show_streams", "-of", "json"]).arg(path).output().unwrap();
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"].as_array().unwrap().clone()
}

fn audio_streams(path: &Path) -> Vec<Value> {
    ffprobe_streams(path).into_iter().filter(|s| s["codec_type"] == "audio").collect()
}

fn assert_in_sync(path: &Path, what: &str) {
    assert_in_sync_at(path, 1.0, what);
}

fn assert_in_sync_at(path: &Path, speed: f64, what: &str) {
    let (offset, frame) = click_minus_flash(path, speed);
    assert!(
        offset.abs() <= frame,
        "{what}: the click is {offset:+.4} s from the flash, more than one frame ({frame:.4} s)"
    );
}

#[test]
fn sound_stays_in_sync_through_convert_retime_and_composite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = marker_clip(d, "marker.mp4", &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"]);
    assert_in_sync(&src, "the source itself");

    // convert: AAC copied into QuickTime and Matroska.
    for name in ["copy.mov", "copy.mkv"] {
        let out = d.join(name);
        let report = json_ok(&mattebox(&[&"convert", &src, &out, &"--json"]));
        assert_eq!(report["audio"]["streams"][0]["copied"], true, "{name}: {report}");
        assert_in_sync(&out, name);
    }

    // retime to double the rate: same duration, the sound copied as it is.
    let out = d.join("r60.mp4");
    let report = json_ok(&mattebox(&[&"retime", &src, &"-o", &out, &"--fps", &"59.94", &"--mode", &"fast", &"--json"]));
    assert_eq!(report["retime"]["audio"]["streams"][0]["copied"], true, "{report}");
    assert_in_sync(&out, "retime --fps 59.94");

    // Filling held frames keeps the length, so the sound is kept as it is.
    let out = d.join("filled.mov");
    let report =
        json_ok(&mattebox(&[&"retime", &src, &"-o", &out, &"--fill-duplicates", &"--mode", &"blend", &"--json"]));
    assert_eq!(report["retime"]["audio"]["streams"][0]["copied"], true, "{report}");
    assert_in_sync(&out, "retime --fill-duplicates");

    // half speed, stretched: the click follows the flash to twice its time.
    let out = d.join("slow.mov");
    let report = json_ok(&mattebox(&[
        &"retime", &src, &"-o", &out, &"--speed", &"0.5", &"--audio", &"stretch", &"--mode", &"fast", &"--json",
    ]));
    let stream = &report["retime"]["audio"]["streams"][0];
    assert_eq!(stream["copied"], false, "{report}");
    let seconds = stream["duration_seconds"].as_f64().unwrap();
    assert!((seconds - 6.0).abs() < 0.1, "stretched audio lasts {seconds} s, not about 6");
    assert_in_sync_at(&out, 0.5, "retime --speed 0.5 --audio stretch");

    // A quarter speed at 59.94: the hardest case, a frame is 17 ms.
    let out = d.join("quarter.mkv");
    json_ok(&mattebox(&[
        &"retime", &src, &"-o", &out, &"--speed", &"0.25", &"--rate", &"59.94", &"--audio", &"stretch", &"--mode",
        &"nearest", &"--json",
    ]));
    assert_in_sync_at(&out, 0.25, "retime --speed 0.25 --rate 59.94 --audio stretch");

    // half speed by default: no sound, and a note that says why.
    let out = d.join("slow_silent.mp4");
    let report = json_ok(&mattebox(&[&"retime", &src, &"-o", &out, &"--speed", &"0.5", &"--mode", &"fast", &"--json"]));
    assert!(audio_streams(&out).is_empty(), "a speed change kept unsynced audio");
    let note = report["retime"]["audio"]["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("--audio stretch"), "the note does not say what to do: {report}");

    // composite over a background, with a matte that keeps the whole plate.
    let out = d.join("comp.mov");
    let report = composite_whole_plate(d, &src, &out);
    assert_eq!(report["composite"]["audio"]["streams"][0]["copied"], true, "{report}");
    assert_in_sync(&out, "composite");

    // --audio drop leaves it out.
    let out = d.join("dropped.mkv");
    json_ok(&mattebox(&[&"convert", &src, &out, &"--audio", &"drop", &"--json"]));
    assert!(audio_streams(&out).is_empty());
}

#[test]
fn sound_the_container_cannot_hold_is_re_encoded_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = marker_clip(d, "pcm.mov", &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le"]);
    let out = d.join("pcm.mp4");
    let run = mattebox(&[&"convert", &src, &out]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("pcm_s16le") && text.contains("re-encoded as aac") && text.contains(".mkv"), "{text}");
    assert_eq!(audio_streams(&out)[0]["codec_name"], "aac");
    assert_in_sync(&out, "PCM re-encoded as AAC");
}

#[test]
fn an_image_sequence_takes_its_sound_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = marker_clip(d, "marker.mkv", &["-c:v", "ffv1", "-c:a", "pcm_s16le"]);
    let frames = d.join("frames");
    let report = json_ok(&mattebox(&[&"convert", &src, &frames, &"--json"]));
    let note = report["audio"]["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("hold no sound"), "writing a sequence must say the sound stayed behind: {report}");
    let wav = d.join("dialogue.wav");
    ffmpeg(&["-i", src.to_str().unwrap(), "-vn", "-c:a", "pcm_s16le", wav.to_str().unwrap()]);
    let out = d.join("back.mov");
    json_ok(&mattebox(&[&"convert", &frames, &out, &"--fps", &"30000/1001", &"--audio-file", &wav, &"--json"]));
    assert_in_sync(&out, "sequence + --audio-file");
}

/// `mattebox info --json`'s tags for `path`.
fn tags(path: &Path) -> Value {
    json_ok(&mattebox(&[&"info", &path, &"--json"]))["media"]["tags"].clone()
}

#[test]
fn timecode_colour_pixel_aspect_and_rotation_survive_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // SD colour (BT.601), 4:3 pixels, drop-frame timecode with a reel.
    let encoded = marker_clip(
        d,
        "encoded.mov",
        &[
            "-vf",
            "setsar=4/3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-color_primaries",
            "smpte170m",
            "-color_trc",
            "smpte170m",
            "-colorspace",
            "smpte170m",
            "-c:a",
            "aac",
            "-metadata:s:v:0",
            "timecode=01:00:00;00",
            "-metadata:s:v:0",
            "reel_name=A001",
        ],
    );
    // The rotation goes on when remuxing (ffmpeg 5.1 applies it there).
    let src = d.join("phone.mov");
    ffmpeg(&[
        "-i",
        encoded.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        "-metadata:s:v:0",
        "reel_name=A001",
        src.to_str().unwrap(),
    ]);
    let source = tags(&src);
    for (key, want) in [
        ("primaries", "smpte170m"),
        ("transfer", "smpte170m"),
        ("matrix", "smpte170m"),
        ("range", "tv"),
        ("pixel_aspect", "4/3"),
        ("timecode", "01:00:00;00"),
        ("reel", "A001"),
    ] {
        assert_eq!(source[key], want, "the source's {key} was not read: {source}");
    }
    assert_eq!(source["rotation"], 90, "{source}");

    let same_as_source = |out: &Path, what: &str, skip: &[&str]| {
        let got = tags(out);
        for key in ["primaries", "transfer", "matrix", "pixel_aspect", "timecode", "reel", "rotation"] {
            if !skip.contains(&key) {
                assert_eq!(got[key], source[key], "{what}: {key} changed ({got})");
            }
        }
    };
    let mov = d.join("convert.mov");
    json_ok(&mattebox(&[&"convert", &src, &mov, &"--json"]));
    same_as_source(&mov, "convert to ProRes", &[]);
    // ffprobe, not our own reader, sees the colour and the rotation too.
    let probed = &ffprobe_streams(&mov)[0];
    assert_eq!(probed["color_primaries"], "smpte170m");
    assert_eq!(probed["sample_aspect_ratio"], "4:3");

    let mp4 = d.join("convert.mp4");
    let report = json_ok(&mattebox(&[&"convert", &src, &mp4, &"--json"]));
    same_as_source(&mp4, "convert to H.264", &["reel"]);
    assert!(report["notes"].to_string().contains("reel"), "losing the reel must be said: {report}");

    // Through an image sequence and back: the sidecar keeps them.
    let frames = d.join("frames");
    json_ok(&mattebox(&[&"convert", &src, &frames, &"--json"]));
    let back = d.join("back.mov");
    json_ok(&mattebox(&[&"convert", &frames, &back, &"--json"]));
    same_as_source(&back, "through a PNG sequence", &[]);

    // Retime to 59.94: the same start instant, counted at the new rate.
    let retimed = d.join("r60.mov");
    json_ok(&mattebox(&[&"retime", &src, &"-o", &retimed, &"--fps", &"59.94", &"--mode", &"fast", &"--json"]));
    same_as_source(&retimed, "retime to 59.94", &[]);
    let retimed = d.join("r24.mov");
    json_ok(&mattebox(&[&"retime", &src, &"-o", &retimed, &"--fps", &"24", &"--mode", &"fast", &"--json"]));
    // 01:00:00;00 at 29.97 DF is frame 107892, 3599.996 s: frame 86399.9 at 24.
    assert_eq!(tags(&retimed)["timecode"], "01:00:00:00");

    let comp = d.join("comp.mov");
    composite_whole_plate(d, &src, &comp);
    same_as_source(&comp, "composite", &[]);
}

#[test]
fn a_10_bit_hdr_clip_keeps_its_depth_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = marker_clip(
        d,
        "pq.mkv",
        &[
            // libx264 states the context's colour; prores_ks only a frame's.
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "smpte2084",
            "-colorspace",
            "bt2020nc",
            "-c:a",
            "pcm_s24le",
        ],
    );
    for (name, args) in [("pq.mp4", vec!["convert"]), ("pq_60.mov", vec!["retime", "--fps", "59.94", "--mode", "fast"])]
    {
        let out = d.join(name);
        let mut cmd: Vec<&dyn AsRef<std::ffi::OsStr>> = Vec::new();
        cmd.push(&args[0]);
        cmd.push(&src);
        if args[0] == "retime" {
            cmd.push(&"-o");
        }
        cmd.push(&out);
        for a in &args[1..] {
            cmd.push(a);
        }
        cmd.push(&"--json");
        json_ok(&mattebox(&cmd));
        let probed = &ffprobe_streams(&out)[0];
        assert!(probed["pix_fmt"].as_str().unwrap().contains("10le"), "{name}: {} is not 10-bit", probed["pix_fmt"]);
        assert_eq!(probed["color_transfer"], "smpte2084", "{name}");
        assert_eq!(probed["color_primaries"], "bt2020", "{name}");
        assert_eq!(probed["color_space"], "bt2020nc", "{name}");
        assert_in_sync(&out, name);
    }
}

#[test]
fn a_background_behind_a_sideways_phone_plate_stands_upright() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Stored landscape, shown portrait: the display matrix turns it 90 degrees.
    let stored = d.join("stored.mov");
    ffmpeg(&["-f", "lavfi", "-i", "color=c=gray:s=320x240:r=24:d=0.5", "-c:v", "libx264", stored.to_str().unwrap()]);
    let plate = d.join("phone.mov");
    ffmpeg(&["-i", stored.to_str().unwrap(), "-c", "copy", "-metadata:s:v:0", "rotate=90", plate.to_str().unwrap()]);
    // A portrait background: red above, blue below.
    let bg = d.join("portrait.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=240x160,pad=240:320:0:0:color=blue",
        "-frames:v",
        "1",
        bg.to_str().unwrap(),
    ]);
    let matte = still(d, "black.png", "black", "320x240");
    let out = d.join("comp.mov");
    composite_with_matte(&plate, &matte, &bg, &out);
    assert_eq!(tags(&out)["rotation"], 90);
    // ffmpeg turns the picture as a player does; it must come out 240x320, red on top.
    let rgb = ffmpeg(&["-i", out.to_str().unwrap(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    assert_eq!(rgb.len(), 240 * 320 * 3, "the shown picture is not 240x320");
    let at = |x: usize, y: usize| {
        let i = (y * 240 + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    let (top, bottom) = (at(120, 40), at(120, 280));
    assert!(top[0] > 200 && top[2] < 60, "the top of the shown picture is {top:?}, not red");
    assert!(bottom[2] > 200 && bottom[0] < 60, "the bottom of the shown picture is {bottom:?}, not blue");
}

/// A phone-like clip at 30 fps whose frames 30..40 each stay up for two
/// intervals (a stall), with the flash on frame 50, shown at 2.0 s, and
/// the click there too. Read as constant-rate, the flash would be at 1.67 s.
fn stalled_marker_clip(dir: &Path) -> PathBuf {
    let out = dir.join("stalled.mkv");
    let video = "color=c=0x202020:s=320x240:r=30:d=3,\
                 drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n\\,50)'";
    let audio = "aevalsrc='if(between(t\\,2.0\\,2.02)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:c=stereo:d=3.4";
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        video,
        "-f",
        "lavfi",
        "-i",
        audio,
        "-vf",
        "setpts='if(lt(N\\,30)\\,N/30\\,if(lt(N\\,40)\\,1+(N-30)/15\\,5/3+(N-40)/30))/TB'",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "ffv1",
        "-c:a",
        "pcm_s16le",
        out.to_str().unwrap(),
    ]);
    out
}

#[test]
fn a_variable_rate_clip_is_placed_on_its_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = stalled_marker_clip(d);
    let info = json_ok(&mattebox(&[&"info", &src, &"--json"]));
    let variable = &info["media"]["variable_rate"];
    assert_eq!(variable["nominal"], "30", "{info}");
    assert!(variable["slowest_fps"].as_f64().unwrap() < 16.0, "{info}");
    let seconds = info["media"]["duration_seconds"].as_f64().unwrap();
    assert!((seconds - 3.333).abs() < 0.01, "the duration counts the stall: {seconds}");

    // convert: constant 30 fps on the timestamps, so 100 frames, the
    // flash at 2.0 s with its click, and a note on the repeats.
    let out = d.join("cfr.mov");
    let report = json_ok(&mattebox(&[&"convert", &src, &out, &"--json"]));
    assert_eq!(report["frames"], 100, "{report}");
    assert!(report["notes"].to_string().contains("variable frame rate"), "{report}");
    assert_in_sync(&out, "convert of a variable-rate clip");

    // retime to 60, placed on the same timestamps.
    let out = d.join("r60.mov");
    let report = json_ok(&mattebox(&[&"retime", &src, &"-o", &out, &"--fps", &"60", &"--mode", &"blend", &"--json"]));
    assert_eq!(report["retime"]["output_frames"], 200, "{report}");
    assert_in_sync(&out, "retime of a variable-rate clip");
}

#[test]
fn a_variable_rate_plate_is_composited_on_its_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plate = stalled_marker_clip(d);
    let out = d.join("comp.mov");
    let report = composite_whole_plate(d, &plate, &out);
    assert_eq!(report["composite"]["frames"], 100, "{report}");
    assert_in_sync(&out, "composite of a variable-rate plate");
}

#[test]
fn bad_sound_and_stream_choices_get_clear_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two video streams: the default one is read, and the report says which.
    let two = d.join("two.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=24:d=0.5",
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=160x120:r=24:d=0.5",
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-c:v",
        "ffv1",
        two.to_str().unwrap(),
    ]);
    let out = d.join("one.mov");
    let report = json_ok(&mattebox(&[&"convert", &two, &out, &"--json"]));
    let notes = report["notes"].to_string();
    assert!(notes.contains("2 video streams") && notes.contains("#0"), "{report}");
    // A sound file that is not there: the error names it, and nothing is written.
    let out = d.join("no_sound.mov");
    let missing = d.join("dialogue.wav");
    let run = mattebox(&[&"convert", &two, &out, &"--audio-file", &missing]);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("dialogue.wav"), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!out.exists(), "a failed convert leaves no output");
    let leftovers: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("partial")), "{leftovers:?}");
}
