//! `mattebox generate` with the built-in generator: a 1080p camera move from
//! a still made by the real `ffmpeg`, the take cache across processes,
//! Ctrl-C (a real SIGINT) and bad command lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ffmpeg, json_ok};

mod common;

/// `mattebox --json --cache-dir CACHE generate ARGS...`.
fn generate(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .args(["--json", "--cache-dir"])
        .arg(cache)
        .arg("generate")
        .args(args)
        .output()
        .unwrap()
}

/// Frame `n` of a video as raw RGB bytes, decoded by ffmpeg.
fn rgb_frame(video: &Path, n: u32) -> Vec<u8> {
    let select = format!("select=eq(n\\,{n})");
    ffmpeg(&[
        "-i",
        video.to_str().unwrap(),
        "-vf",
        &select,
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ])
}

/// Entries of the take cache, hidden (partial) ones included.
fn cache_entries(cache: &Path) -> Vec<String> {
    match std::fs::read_dir(cache.join("takes")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A 1920x1080 still with detail everywhere (ffmpeg's test pattern).
fn still(dir: &Path) -> PathBuf {
    let path = dir.join("still.png");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=1920x1080", "-frames:v", "1", path.to_str().unwrap()]);
    path
}

#[test]
fn a_1080p_move_from_a_still_then_the_same_request_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let still = still(dir.path());
    let out = dir.path().join("takes");
    let args = [
        "--first-frame",
        still.to_str().unwrap(),
        "--camera",
        "pan=0.5,zoom=0.2",
        "--size",
        "1920x1080",
        "--duration",
        "2",
        "--fps",
        "24",
        "-o",
        out.to_str().unwrap(),
    ];
    let doc = json_ok(&generate(&cache, &args));
    let take = &doc["takes"][0];
    assert_eq!(take["from_cache"], false);
    let video = PathBuf::from(take["file"].as_str().unwrap());
    assert_eq!(video, out.join("take-1.mp4"));
    // ffmpeg agrees on size, rate and length.
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries"])
        .args(["stream=width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0"])
        .arg(&video)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "1920,1080,24/1,48");
    // The move is real: the first and last frames differ, the first is the
    // still (cropped a little for the pan's room, so compare the centre).
    let (first, last) = (rgb_frame(&video, 0), rgb_frame(&video, 47));
    let differ = first.iter().zip(&last).filter(|(a, b)| a.abs_diff(**b) > 24).count();
    assert!(differ > first.len() / 10, "only {differ} bytes changed");
    let notes: Vec<&str> =
        take["take"]["deviations"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(notes, ["first-frame"], "the crop is reported, nothing else");
    let entries = cache_entries(&cache);
    assert_eq!(entries.len(), 1, "{entries:?}");
    // A second process asking the same is served from the cache and exports the same frames.
    let again_out = dir.path().join("again");
    let mut again_args = args.to_vec();
    *again_args.last_mut().unwrap() = again_out.to_str().unwrap();
    let again = json_ok(&generate(&cache, &again_args));
    assert_eq!(again["takes"][0]["from_cache"], true);
    assert_eq!(again["takes"][0]["take"]["key"], take["take"]["key"]);
    assert_eq!(rgb_frame(&again_out.join("take-1.mp4"), 47), last);
    // Exporting over an existing take needs --overwrite.
    let refused = generate(&cache, &again_args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--overwrite"));
    // The first export was kept beside the take, and exporting again copies
    // it rather than encoding: bytes put in the kept file come out as they are.
    let kept = cache.join("takes").join(entries[0].as_str()).join("exports/h264.mp4");
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&video).unwrap());
    let mut marked = std::fs::read(&kept).unwrap();
    marked.extend_from_slice(b"kept-export");
    std::fs::write(&kept, &marked).unwrap();
    again_args.insert(0, "--overwrite");
    json_ok(&generate(&cache, &again_args));
    assert_eq!(std::fs::read(again_out.join("take-1.mp4")).unwrap(), marked);
}

#[test]
fn takes_have_their_own_seeds_and_png_export_is_a_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("takes");
    let o = out.to_str().unwrap();
    let args = [
        "--prompt",
        "snow",
        "--size",
        "160x90",
        "--duration",
        "0.5",
        "--takes",
        "2",
        "--seed",
        "40",
        "--format",
        "png",
        "-o",
        o,
    ];
    let doc = json_ok(&generate(&cache, &args));
    let takes = doc["takes"].as_array().unwrap();
    assert_eq!(takes.iter().map(|t| t["take"]["seed"].as_u64().unwrap()).collect::<Vec<_>>(), [40, 41]);
    let seq = out.join("take-2");
    assert!(seq.join("mattebox-sequence.json").is_file());
    let pngs =
        std::fs::read_dir(&seq).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"));
    assert_eq!(pngs.count(), 12);
    assert!(out.join("takes.json").is_file());
}

#[test]
fn ctrl_c_cancels_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("takes");
    // Long enough (procedural, 1080p, 60 s) that it is still running when interrupted.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .arg("--cache-dir")
        .arg(&cache)
        .args(["generate", "--prompt", "night", "--size", "1920x1080", "--duration", "60", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the take is being written: its hidden staging entry exists.
    loop {
        if cache_entries(&cache).iter().any(|e| e.starts_with('.')) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "mattebox ended before it was interrupted");
        std::thread::yield_now();
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cancelled"));
    assert_eq!(cache_entries(&cache), Vec::<String>::new(), "nothing partial in the cache");
    assert!(!out.join("take-1.mp4").exists());
}

/// Two processes with the same process id (each is PID 1 of its own PID
/// namespace, as in two containers on a farm's shared cache) make the same
/// take at once: one entry, nothing partial, both answered. A staged entry
/// a killed task left a day ago is cleared on the way.
#[test]
fn same_pid_processes_sharing_a_cache_commit_one_take() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let takes = cache.join("takes");
    std::fs::create_dir_all(&takes).unwrap();
    let left = takes.join(format!(".{}.node7-1-0-0000000000000000.partial", "0".repeat(64)));
    std::fs::create_dir(&left).unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
    std::fs::File::open(&left).unwrap().set_modified(two_days_ago).unwrap();
    let start = |n: u32| {
        let out = dir.path().join(format!("out{n}"));
        Command::new("unshare")
            .args(["--pid", "--fork", env!("CARGO_BIN_EXE_mattebox"), "--json", "--cache-dir"])
            .arg(&cache)
            .args(["generate", "--prompt", "dusk", "--size", "640x360", "--duration", "2", "--seed", "9", "-o"])
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) runs the command in a new PID namespace; this test needs root")
    };
    let (a, b) = (start(1), start(2));
    let docs: Vec<serde_json::Value> = [a, b]
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}\n(unshare --pid needs root or user namespaces)",
                String::from_utf8_lossy(&out.stderr)
            );
            json_ok(&out)
        })
        .collect();
    let key = |d: &serde_json::Value| d["takes"][0]["take"]["key"].as_str().unwrap().to_owned();
    assert_eq!(key(&docs[0]), key(&docs[1]));
    assert_eq!(cache_entries(&cache), [key(&docs[0])], "one entry, nothing partial, the stale one gone");
}

#[test]
fn bad_requests_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 7] = [
        (&["--adapter", "nobody", "-o", o], 2, "builtin"),
        // Kling ships with Mattebox; without its keys it says which to set.
        (&["--adapter", "kling", "-o", o], 1, "MATTEBOX_SECRET_KLING_ACCESS_KEY"),
        (&["--camera", "pan=3", "-o", o], 2, "from -1 to 1"),
        (&["--camera", "spin=0.1", "-o", o], 2, "unknown axis"),
        (&["--size", "1921x1080", "-o", o], 2, "even"),
        (&["--duration", "0", "-o", o], 2, "duration"),
        (&["--first-frame", "/nonexistent/still.png", "-o", o], 1, "/nonexistent/still.png"),
    ];
    for (args, code, says) in cases {
        let output = generate(&cache, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
    }
    assert_eq!(cache_entries(&cache), Vec::<String>::new());
}

/// The horizontal shift (whole pixels, within ±`max`) that best carries the
/// middle of RGB frame `a` onto `b`, both `w` pixels wide (the middle: a
/// continuation may push in, which moves the sides apart).
fn best_shift(a: &[u8], b: &[u8], w: usize, max: i32) -> i32 {
    let h = a.len() / (w * 3);
    let cost = |s: i32| {
        let mut sum = 0u64;
        for y in h / 8..h * 7 / 8 {
            for x in w / 3..w * 2 / 3 {
                let (i, j) = ((y * w + x) * 3, (y * w + (x as i32 + s) as usize) * 3);
                sum += (0..3).map(|c| a[i + c].abs_diff(b[j + c]) as u64).sum::<u64>();
            }
        }
        sum
    };
    (-max..=max).min_by_key(|&s| cost(s)).unwrap()
}

#[test]
fn after_a_take_the_next_shot_goes_on_with_its_motion() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let still = still(dir.path());
    let first = dir.path().join("first");
    let common = ["--size", "640x360", "--duration", "1", "--fps", "24"];
    let mut args = vec!["--first-frame", still.to_str().unwrap(), "--camera", "pan=0.6", "--extra", "easing=linear"];
    args.extend(common);
    args.extend(["-o", first.to_str().unwrap()]);
    json_ok(&generate(&cache, &args));
    let source = first.join("take-1.mp4");
    let own = best_shift(&rgb_frame(&source, 22), &rgb_frame(&source, 23), 640, 16);
    assert!(own <= -2, "the first shot pans: {own} px a frame");
    // A chain: the next shot from the take's file, then one from a PNG sequence.
    let next = dir.path().join("next");
    let mut args = vec!["--after", source.to_str().unwrap(), "--format", "png"];
    args.extend(common);
    args.extend(["-o", next.to_str().unwrap()]);
    let doc = json_ok(&generate(&cache, &args));
    let take = &doc["takes"][0]["take"];
    assert_eq!(take["request"]["source_video"]["role"], "extend", "{take}");
    assert_eq!(take["request"]["source_video"]["frames"], 24, "{take}");
    let fields: Vec<&str> =
        take["deviations"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(!fields.contains(&"first-frame"), "the first frame is the source's last: {fields:?}");
    let sequence = next.join("take-1");
    let png = |n: u32| rgb_frame(&sequence.join(format!("frame_{n:06}.png")), 0);
    let across = best_shift(&rgb_frame(&source, 23), &png(1), 640, 16);
    assert!((across - own).abs() <= 1, "across the cut {across} px, the source's step {own} px");
    let third = dir.path().join("third");
    let mut args = vec!["--after", sequence.to_str().unwrap()];
    args.extend(common);
    args.extend(["-o", third.to_str().unwrap()]);
    json_ok(&generate(&cache, &args));
    let (second_step, third_step) = (
        best_shift(&png(23), &png(24), 640, 16),
        best_shift(&png(24), &rgb_frame(&third.join("take-1.mp4"), 0), 640, 16),
    );
    assert!((third_step - second_step).abs() <= 1, "the third shot goes on: {third_step} px after {second_step} px");
    // A source that is not there, or both ways of starting, are refused.
    let missing = generate(&cache, &["--after", "/nonexistent/take.mp4", "-o", third.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/take.mp4"));
    let both = generate(&cache, &["--after", "a.mp4", "--first-frame", "b.png", "-o", third.to_str().unwrap()]);
    assert_eq!(both.status.code(), Some(2), "{}", String::from_utf8_lossy(&both.stderr));
}
