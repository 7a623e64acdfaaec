//! `mattebox episode` on the sample episode (`examples/episode/`: three
//! chained shots from the built-in generator, a location reference):
//! run, rank, resume from the take cache, pick, and export an edit that
//! the real tools read back: the `opentimelineio` library with its CMX 3600
//! and FCP X XML adapters (a venv `.ci/setup` makes), and `melt` rendering
//! the MLT project to frames that equal the chosen takes'.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::{ffmpeg, json_ok};

mod common;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mattebox(cache: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .args(["--json", "--progress", "none", "--cache-dir"])
        .arg(cache)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The sample episode in `dir`, writing into `dir/out`.
fn sample(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/episode/episode.toml")).unwrap();
    let text: Vec<&str> =
        text.lines().map(|l| if l.starts_with("output =") { "output = \"out\"" } else { l }).collect();
    std::fs::copy(repo().join("examples/episode/valley.png"), dir.join("valley.png")).unwrap();
    let path = dir.join("episode.toml");
    std::fs::write(&path, text.join("\n")).unwrap();
    path
}

fn python() -> PathBuf {
    let path = std::env::var_os("MATTEBOX_OTIO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/tools/otio/bin/python"));
    assert!(path.exists(), "{} is missing: run `bash .ci/setup` (it installs opentimelineio)", path.display());
    path
}

/// Every frame of a video or image sequence as RGB24, decoded by ffmpeg.
fn frames(input: &str, width: usize, height: usize) -> Vec<Vec<u8>> {
    let raw = ffmpeg(&["-i", input, "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    raw.chunks_exact(width * height * 3).map(<[u8]>::to_vec).collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-10)).log10()
}

fn takes(shot: &Value) -> &Vec<Value> {
    shot["takes"].as_array().unwrap()
}

fn chosen(shot: &Value) -> &Value {
    &takes(shot)[shot["chosen"].as_u64().unwrap() as usize]
}

#[test]
fn the_sample_episode_runs_ranks_resumes_and_exports_what_editors_import() {
    let dir = tempfile::tempdir().unwrap();
    let (episode, cache) = (sample(dir.path()), dir.path().join("cache"));
    let doc = json_ok(&mattebox(&cache, &[&"episode", &"run", &episode]));
    let shots = doc["ranking"]["shots"].as_array().unwrap();
    let ids: Vec<&str> = shots.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["s01", "s02", "s03"]);
    // s01: three takes, ranked 1 to 3 by a blend that says why.
    let mut ranks: Vec<u64> = takes(&shots[0]).iter().map(|t| t["ranked"]["rank"].as_u64().unwrap()).collect();
    ranks.sort();
    assert_eq!(ranks, [1, 2, 3]);
    for t in takes(&shots[0]) {
        let location = t["scores"]["location"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&location), "{t}");
        assert!(t["ranked"]["reason"].as_str().unwrap().starts_with("ranked "), "{t}");
    }
    let best = chosen(&shots[0]);
    assert_eq!(best["ranked"]["rank"], 1);
    assert_eq!(shots[0]["chosen_by"], "rank");
    // s02 continues s01's chosen take: it starts on that take's last frame.
    assert_eq!(shots[1]["continues"], best["take"]["key"]);
    let continuity = &chosen(&shots[1])["scores"]["continuity"];
    assert_eq!(continuity[0], "s01", "continuity is measured against the shot it continues");
    // ...and that take goes with it as the video to extend.
    let source = &chosen(&shots[1])["take"]["request"]["source_video"];
    assert_eq!((source["role"].as_str(), source["frames"].as_u64()), (Some("extend"), best["take"]["frames"].as_u64()));
    let s01_frames = best["take"]["media"].as_str().unwrap();
    let s02_frames = chosen(&shots[1])["take"]["media"].as_str().unwrap();
    let last = frames(&format!("{s01_frames}/frame_%06d.png"), 640, 360).pop().unwrap();
    let first = frames(&format!("{s02_frames}/frame_%06d.png"), 640, 360).remove(0);
    assert!(psnr(&last, &first) > 30.0, "s02 starts where s01 ends: {:.1} dB", psnr(&last, &first));

    // Again: nothing is generated or decoded (the scores are kept per take;
    // a damaged one is scored again), and the ranking is the same.
    let kept: Vec<PathBuf> =
        std::fs::read_dir(dir.path().join("out/take-scores")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(kept.len(), 5);
    std::fs::write(&kept[0], "{ damaged").unwrap();
    let again = json_ok(&mattebox(&cache, &[&"episode", &"run", &episode]));
    for (a, b) in again["ranking"]["shots"].as_array().unwrap().iter().zip(shots) {
        for (ta, tb) in takes(a).iter().zip(takes(b)) {
            assert_eq!(ta["take"]["key"], tb["take"]["key"]);
            assert_eq!(ta["ranked"], tb["ranked"]);
        }
    }
    let shown = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_mattebox"))
            .args(["--cache-dir"])
            .arg(&cache)
            .arg("episode")
            .arg("run")
            .arg(&episode)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(shown.matches("from the take cache").count(), 5, "{shown}");

    // Pick s01's last-ranked take: it is chosen, and s02 is made again from it.
    let worst = takes(&shots[0]).iter().find(|t| t["ranked"]["rank"] == 3).unwrap();
    let number = worst["number"].to_string();
    json_ok(&mattebox(&cache, &[&"episode", &"pick", &episode, &"s01", &number]));
    // `show` says so at once, before any new run.
    let show = Command::new(env!("CARGO_BIN_EXE_mattebox")).arg("episode").arg("show").arg(&episode).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(show.contains(&format!("s01: take {number} (pick)")), "{show}");
    let picked = json_ok(&mattebox(&cache, &[&"episode", &"run", &episode]));
    let shots = picked["ranking"]["shots"].as_array().unwrap();
    assert_eq!(shots[0]["chosen_by"], "pick");
    assert_eq!(chosen(&shots[0])["take"]["key"], worst["take"]["key"]);
    assert_eq!(shots[1]["continues"], worst["take"]["key"]);
    assert_ne!(chosen(&shots[1])["take"]["key"], chosen(&again["ranking"]["shots"][1])["take"]["key"]);

    // The edit, read back by the tools editors' pipelines use.
    let edit = dir.path().join("edit");
    let exported = json_ok(&mattebox(&cache, &[&"episode", &"export", &episode, &"-o", &edit]));
    assert_eq!(exported["warnings"].as_array().unwrap().len(), 0, "{exported}");
    let read = Command::new(python())
        .arg(repo().join("hosts/cli/tests/support/read_timelines.py"))
        .args([edit.to_str().unwrap(), "The_Valley", "24"])
        .output()
        .unwrap();
    let read = json_ok(&read);
    for format in ["otio", "edl", "fcpxml"] {
        let clips = read[format]["clips"].as_array().unwrap();
        assert_eq!(read[format]["name"], "The Valley", "{format}");
        assert_eq!(clips.len(), 3, "{format}");
        for (n, (clip, shot)) in clips.iter().zip(shots).enumerate() {
            let name = format!("{}-take{}", shot["id"].as_str().unwrap(), chosen(shot)["number"]);
            assert_eq!(clip["name"], name.as_str(), "{format}");
            assert_eq!(clip["rate"], 24.0, "{format}");
            assert_eq!(clip["duration"], 48.0, "{format}");
            // Source and record both at 01:00:00:00 plus the clips before.
            assert_eq!(clip["start"], (86400 + 48 * n) as f64, "{format}");
            let record = clip["record_start"].as_f64().unwrap() - if format == "fcpxml" { 86400.0 } else { 0.0 };
            assert_eq!(record, (48 * n) as f64, "{format}: FCPXML offsets count from the sequence's tcStart");
            let url = clip["url"].as_str().unwrap();
            assert!(url.ends_with(&format!("media/{name}.mp4")), "{format}: {url}");
            let marker = clip["markers"][0].as_str().unwrap();
            assert_eq!(marker, chosen(shot)["ranked"]["reason"].as_str().unwrap(), "{format}");
        }
        // Each format's own place for the take's prompt, seed and adapter.
        let text = match format {
            "otio" => clips[0]["metadata"]["mattebox"].to_string(),
            "edl" => clips[0]["metadata"]["cmx_3600"]["comments"].to_string(),
            _ => clips[0]["reference_metadata"]["fcpx"].to_string(),
        };
        let prompt = chosen(&shots[0])["take"]["request"]["prompt"].as_str().unwrap();
        let seed = chosen(&shots[0])["take"]["seed"].to_string();
        for needle in [prompt, &seed, "builtin", "location"] {
            assert!(text.to_lowercase().contains(needle), "{format} lacks {needle}: {text}");
        }
    }
    // The media carry the timecode where they sit in the edit.
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream_tags=timecode", "-of", "csv=p=0"])
        .arg(edit.join("media/s02-take1.mp4"))
        .output()
        .unwrap();
    let timecodes = String::from_utf8_lossy(&probe.stdout).into_owned();
    assert!(!timecodes.is_empty() && timecodes.lines().all(|l| l == "01:00:02:00"), "{timecodes}");

    // melt renders the MLT project: the chosen takes' frames, in order.
    let render = dir.path().join("melt.mkv");
    let melt = Command::new("melt")
        .arg("-quiet")
        .arg(edit.join("The_Valley.mlt"))
        .arg("-consumer")
        .arg(format!("avformat:{}", render.display()))
        .arg("vcodec=ffv1")
        .output()
        .unwrap();
    assert!(melt.status.success(), "melt: {}", String::from_utf8_lossy(&melt.stderr));
    let rendered = frames(render.to_str().unwrap(), 640, 360);
    assert_eq!(rendered.len(), 144);
    let mut expected = Vec::new();
    for shot in shots {
        let media = chosen(shot)["take"]["media"].as_str().unwrap();
        expected.extend(frames(&format!("{media}/frame_%06d.png"), 640, 360));
    }
    for (n, (got, want)) in rendered.iter().zip(&expected).enumerate() {
        let db = psnr(got, want);
        assert!(db > 35.0, "frame {n} of the render is not the chosen take's ({db:.1} dB)");
    }
}

#[test]
fn mistakes_and_lost_takes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let bad = [
        ("unknown.toml", "name = 'e'\n[[shots]]\nid = 'a'\npromt = 'x'\n", "promt"),
        ("loop.toml", "name = 'e'\n[[shots]]\nid = 'a'\nafter = 'b'\n[[shots]]\nid = 'b'\nafter = 'a'\n", "loops"),
        ("who.toml", "name = 'e'\n[[shots]]\nid = 'a'\ncharacters = ['mira']\n", "names character \"mira\""),
    ];
    for (name, text, needle) in bad {
        let err = failure(&mattebox(&cache, &[&"episode", &"run", &write(name, text)]));
        assert!(err.contains(needle), "{name}: {err}");
    }
    let missing = write("adapter.toml", "name = 'e'\n[[shots]]\nid = 'a'\nadapter = 'nosuch'\nsize = '64x36'\n");
    let plugins = dir.path().join("plugins");
    let out = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .env("MATTEBOX_PLUGIN_DIR", &plugins)
        .args(["--progress", "none", "--cache-dir"])
        .arg(&cache)
        .args(["episode", "run"])
        .arg(&missing)
        .output()
        .unwrap();
    let err = failure(&out);
    assert!(err.contains("nosuch") && err.contains("shot a"), "{err}");

    // Export before a run, then a take deleted from the cache behind our back.
    let small = write(
        "small.toml",
        "name = 'small'\n[[shots]]\nid = 'a'\nprompt = 'a valley'\nsize = '64x36'\nduration = '1/2'\n",
    );
    let err = failure(&mattebox(&cache, &[&"episode", &"export", &small]));
    assert!(err.contains("has not been run yet") && err.contains("episode run"), "{err}");
    let run = json_ok(&mattebox(&cache, &[&"episode", &"run", &small]));
    let media = PathBuf::from(chosen(&run["ranking"]["shots"][0])["take"]["media"].as_str().unwrap());
    std::fs::remove_dir_all(media.parent().unwrap()).unwrap();
    let err = failure(&mattebox(&cache, &[&"episode", &"export", &small]));
    assert!(err.contains("cannot be read from the take cache") && err.contains("episode run"), "{err}");
    // Running again makes it again, and the export works.
    json_ok(&mattebox(&cache, &[&"episode", &"run", &small]));
    json_ok(&mattebox(&cache, &[&"episode", &"export", &small]));
    // A take that is not one of the shot's.
    let err = failure(&mattebox(&cache, &[&"episode", &"pick", &small, &"a", &"7"]));
    assert!(err.contains("has no take \"7\""), "{err}");
}

#[test]
fn picks_from_processes_at_once_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let episode = dir.path().join("e.toml");
    std::fs::write(&episode, "name = 'e'\n[[shots]]\nid = 'a'\nsize = '64x36'\nduration = '1/2'\ntakes = 6\n").unwrap();
    json_ok(&mattebox(&cache, &[&"episode", &"run", &episode]));
    let children: Vec<std::process::Child> = (1..=6)
        .map(|k| {
            Command::new(env!("CARGO_BIN_EXE_mattebox"))
                .args(["--progress", "none", "--cache-dir"])
                .arg(&cache)
                .args(["episode", "pick"])
                .arg(&episode)
                .args(["a", &k.to_string(), "--note", &format!("note {k}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let picks: Value = serde_json::from_slice(&std::fs::read(dir.path().join("e.toml.picks.json")).unwrap()).unwrap();
    let notes = picks["shots"]["a"]["notes"].as_object().unwrap();
    assert_eq!(notes.len(), 6, "{picks}");
    // Two more takes: numbered on from the shot's six, seeds 6 and 7, the
    // notes kept (they follow the takes' keys).
    let more = json_ok(&mattebox(&cache, &[&"episode", &"more", &episode, &"a", &"--takes", &"2"]));
    let takes = takes(&more["ranking"]["shots"][0]);
    let numbered: Vec<(u64, u64)> =
        takes.iter().map(|t| (t["number"].as_u64().unwrap(), t["take"]["seed"].as_u64().unwrap())).collect();
    assert_eq!(numbered, (1..=8).map(|k| (k, k - 1)).collect::<Vec<_>>());
    assert_eq!(more["picks"]["shots"]["a"]["notes"].as_object().unwrap().len(), 6);
}

#[test]
fn a_shot_at_another_rate_is_conformed_to_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let episode = dir.path().join("mixed.toml");
    std::fs::write(
        &episode,
        "name = 'mixed'\n[defaults]\nsize = '160x90'\nduration = '1'\nprompt = 'a valley at dusk'\n\
         [[shots]]\nid = 'a'\nfps = '24'\ncamera = 'pan=0.3'\n[[shots]]\nid = 'b'\nfps = '30'\ncamera = 'pan=0.3'\n",
    )
    .unwrap();
    json_ok(&mattebox(&cache, &[&"episode", &"run", &episode]));
    let edit = dir.path().join("edit");
    let exported = json_ok(&mattebox(&cache, &[&"episode", &"export", &episode, &"-o", &edit]));
    let choices = exported["choices"].to_string();
    assert!(choices.contains("b: conformed from 30 to 24 fps with optical flow"), "{choices}");
    // One second at 24 fps, in the media and on the timeline.
    let count = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=nb_read_frames,r_frame_rate",
        ])
        .args(["-of", "csv=p=0"])
        .arg(edit.join("media/b-take1.mp4"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "24/1,24");
    let otio: Value = serde_json::from_slice(&std::fs::read(edit.join("mixed.otio")).unwrap()).unwrap();
    let clip = &otio["tracks"]["children"][0]["children"][1];
    assert_eq!(
        (clip["source_range"]["duration"]["value"].as_f64(), clip["source_range"]["start_time"]["value"].as_f64()),
        (Some(24.0), Some(86424.0))
    );
    // The intermediate is gone.
    let left: Vec<String> = std::fs::read_dir(edit.join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
}
