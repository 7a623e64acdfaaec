//! `mattebox plugin check | install | list` and `generate --adapter` with
//! the example adapter, a real WebAssembly component built here.

use std::path::Path;
use std::process::{Command, Output};

use common::json_ok;

#[path = "../../../core/sandbox/tests/common/comfy.rs"]
mod comfy;
mod common;
#[path = "../../../core/sandbox/tests/common/guests.rs"]
mod guests;
#[path = "../../../core/sandbox/tests/common/server.rs"]
mod server;

/// `mattebox --json ARGS...` with its own plugin and cache directories.
fn mattebox(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .env("MATTEBOX_PLUGIN_DIR", home.join("plugins"))
        .env("MATTEBOX_CACHE_DIR", home.join("cache"))
        .env("MATTEBOX_CONFIG_DIR", home.join("config"))
        .env("MATTEBOX_STATE_DIR", home.join("state"))
        .env("MATTEBOX_COMPILED_DIR", home.join("compiled"))
        .arg("--json")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_install_list_and_generate_with_an_adapter() {
    let example = &guests::guests().example;
    let home = tempfile::tempdir().unwrap();
    let example = example.to_str().unwrap();
    let checked = json_ok(&mattebox(home.path(), &["plugin", "check", example]));
    assert_eq!(checked["adapter"]["manifest"]["id"], "sweep");
    assert_eq!(checked["adapter"]["world"], "mattebox:generator@0.2.1", "the check names the contract");
    assert!(checked["adapter"]["honours"].as_array().unwrap().iter().any(|f| f == "seed"));
    // A fresh machine has the adapters Mattebox ships; a check installs nothing.
    let listed = json_ok(&mattebox(home.path(), &["plugin", "list"]));
    let shipped: Vec<(String, String)> = listed["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!((a["bundled"].as_bool(), a["in_use"].as_bool()), (Some(true), Some(true)), "{a}");
            (a["manifest"]["id"].as_str().unwrap().to_owned(), a["manifest"]["version"].as_str().unwrap().to_owned())
        })
        .collect();
    let ids: Vec<&str> = shipped.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["comfyui", "fal", "jimeng", "kling", "luma", "minimax", "replicate", "runway", "seedance", "veo"],
        "{listed}"
    );
    assert!(shipped.iter().all(|(_, v)| !v.is_empty()));
    json_ok(&mattebox(home.path(), &["plugin", "install", example]));
    let again = mattebox(home.path(), &["plugin", "install", example]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    json_ok(&mattebox(home.path(), &["plugin", "install", "-y", example]));
    let listed = json_ok(&mattebox(home.path(), &["plugin", "list"]));
    let sweep = listed["adapters"].as_array().unwrap().iter().find(|a| a["manifest"]["id"] == "sweep").unwrap();
    assert_eq!(sweep["manifest"]["component"], "sweep.wasm", "installed under its id");
    assert_eq!((sweep["bundled"].as_bool(), sweep["in_use"].as_bool()), (Some(false), Some(true)));
    // Generate with it: frames come from the component.
    let out = home.path().join("takes");
    let args =
        ["generate", "--adapter", "sweep", "--size", "64x36", "--duration", "1", "--fps", "8", "--seed", "3", "-o"];
    let doc = json_ok(&mattebox(home.path(), &[&args[..], &[out.to_str().unwrap()]].concat()));
    assert_eq!(doc["takes"][0]["take"]["generator"], "sweep");
    assert_eq!(doc["takes"][0]["take"]["frames"], 8);
    assert!(out.join("take-1.mp4").is_file());
    // Compiled code is kept on this machine only, never in the take cache a
    // farm shares.
    let files_under = |dir: &Path| -> Vec<String> {
        let mut found = Vec::new();
        let mut todo = vec![dir.to_owned()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().unwrap().is_dir() {
                    todo.push(e.path());
                } else {
                    found.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        found
    };
    assert!(files_under(&home.path().join("compiled")).iter().any(|f| f.ends_with(".cwasm")));
    let shared = files_under(&home.path().join("cache"));
    assert!(shared.iter().any(|f| f == "take.json") && !shared.iter().any(|f| f.contains("cwasm")), "{shared:?}");
    // The shipped folders install as they are, and the shipped copy stays
    // in use while the installed one is no newer.
    let repo = guests::repo();
    for name in ["comfyui", "kling"] {
        let folder = repo.join("plugins").join(name);
        let installed = mattebox(home.path(), &["plugin", "install", folder.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&installed.stdout);
        assert!(installed.status.success(), "{name}: {text}{}", String::from_utf8_lossy(&installed.stderr));
    }
    let listed = json_ok(&mattebox(home.path(), &["plugin", "list"]));
    for a in listed["adapters"].as_array().unwrap().iter().filter(|a| a["manifest"]["id"] == "comfyui") {
        assert_eq!(a["in_use"].as_bool(), a["bundled"].as_bool(), "{a}");
    }
}

/// Sound an adapter gives is in the exported take (a video's sound track, or
/// a WAV beside a frame sequence); `--after` a take carries its vendor's id
/// back to that vendor, read from the `takes.json` beside it.
#[test]
fn a_take_keeps_its_sound_and_its_vendor_id_for_the_next_shot() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("hostile");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(&guests::guests().hostile, folder.join("hostile.wasm")).unwrap();
    std::fs::copy(guests::repo().join("plugins/tests/hostile/adapter.toml"), folder.join("adapter.toml")).unwrap();
    json_ok(&mattebox(home.path(), &["plugin", "install", folder.to_str().unwrap()]));
    let base = ["generate", "--adapter", "hostile", "--size", "32x18", "--duration", "1", "--fps", "10"];
    let first = home.path().join("first");
    let made = [&base[..], &["--extra", "mode=sound", "-o", first.to_str().unwrap()]].concat();
    let doc = json_ok(&mattebox(home.path(), &made));
    assert_eq!(doc["takes"][0]["take"]["vendor_generation"], "tone-1");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "csv=p=0"])
        .arg(first.join("take-1.mp4"))
        .output()
        .unwrap();
    let streams = String::from_utf8_lossy(&probe.stdout);
    let audio = streams.lines().find(|l| l.starts_with("audio")).unwrap_or_else(|| panic!("no sound: {streams}"));
    let seconds: f64 = audio.split(',').nth(1).unwrap().parse().unwrap();
    assert!((seconds - 1.0).abs() < 0.05, "{streams}");

    let frames = home.path().join("frames");
    let as_png = [&base[..], &["--extra", "mode=sound", "--format", "png", "-o", frames.to_str().unwrap()]].concat();
    json_ok(&mattebox(home.path(), &as_png));
    let wav = std::fs::read(frames.join("take-1.wav")).expect("the sound beside the frames");
    assert_eq!(mattebox_core::wav::wav_info(&wav).unwrap().frames, 48_000);

    let next = home.path().join("next");
    let after = first.join("take-1.mp4");
    let chained =
        [&base[..], &["--extra", "mode=source", "--after", after.to_str().unwrap(), "-o", next.to_str().unwrap()]]
            .concat();
    let doc = json_ok(&mattebox(home.path(), &chained));
    let seen = doc["takes"][0]["take"]["vendor_generation"].as_str().unwrap().to_owned();
    assert!(seen.starts_with("seen extend 10 10/1 32x18 take-1.mp4:") && seen.ends_with(" tone-1"), "{seen}");

    // A dialogue line reaches the adapter (which hands it back as the take's sound).
    let line = home.path().join("line.m4a");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=0.8"])
        .args(["-c:a", "aac"])
        .arg(&line)
        .status()
        .unwrap();
    assert!(made.success());
    let talk = home.path().join("talk");
    let lipsync = [
        &base[..],
        &["--extra", "mode=source", "--lipsync", after.to_str().unwrap(), "--audio", line.to_str().unwrap()],
        &["-o", talk.to_str().unwrap()],
    ]
    .concat();
    let doc = json_ok(&mattebox(home.path(), &lipsync));
    let seen = doc["takes"][0]["take"]["vendor_generation"].as_str().unwrap().to_owned();
    assert!(
        seen.starts_with("seen lipsync 10 ") && seen.contains(" sound dialogue ") && seen.contains(" line.m4a "),
        "{seen}"
    );
    assert_eq!(doc["takes"][0]["take"]["request"]["audio"][0]["role"], "dialogue");
    // A sound to follow goes as the reference role.
    let cue_dir = home.path().join("cue");
    let cue = [
        &base[..],
        &["--extra", "mode=source", "--reference-audio", line.to_str().unwrap(), "-o", cue_dir.to_str().unwrap()],
    ]
    .concat();
    let doc = json_ok(&mattebox(home.path(), &cue));
    let seen = doc["takes"][0]["take"]["vendor_generation"].as_str().unwrap().to_owned();
    assert!(seen.starts_with("seen no-source sound reference "), "{seen}");
    // --lipsync without the line is a usage error that names --audio and --say.
    let alone = [&base[..], &["--lipsync", after.to_str().unwrap(), "-o", talk.to_str().unwrap()]].concat();
    let refused = mattebox(home.path(), &alone);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("--audio") && said.contains("--say"), "{said}");
}

#[test]
fn broken_adapters_are_refused_with_the_reason() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("adapter.toml"),
        "id = \"broken\"\nname = \"B\"\nversion = \"1\"\nwit = \"mattebox:generator@0.1.0\"\ncomponent = \"b.wasm\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.wasm"), b"\0asm not really").unwrap();
    let out = mattebox(home.path(), &["plugin", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid WebAssembly component"));
    let out =
        mattebox(home.path(), &["generate", "--adapter", "broken", "-o", home.path().join("o").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugin install"));
}

#[test]
fn adapter_settings_are_kept_shown_checked_and_removed() {
    let home = tempfile::tempdir().unwrap();
    let graph = home.path().join("graph.json");
    std::fs::write(&graph, "{}").unwrap();
    let set = format!("workflow=@{}", graph.display());
    let doc = json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui", "server=http://127.0.0.1:8188", &set]));
    assert_eq!(doc["settings"]["extras"]["server"], "http://127.0.0.1:8188");
    assert_eq!(doc["settings"]["extras"]["workflow"]["file"], graph.to_str().unwrap());
    let file = home.path().join("config/adapters/comfyui.toml");
    assert!(std::fs::read_to_string(&file).unwrap().contains("http://127.0.0.1:8188"));
    // Shown without changes; refused with the reason and nothing changed.
    let shown = json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui"]));
    assert_eq!(shown["settings"], doc["settings"]);
    for (args, says) in [
        (&["plugin", "config", "comfyui", "server=nonsense"][..], "not a server's address"),
        (&["plugin", "config", "comfyui", "workflow=@/nonexistent/graph.json"], "no such file"),
        (&["plugin", "config", "comfyui", "justtext"], "KEY=VALUE"),
        (&["plugin", "config", "nobody", "a=b"], "no adapter \"nobody\""),
        (&["plugin", "config", "../comfyui", "a=b"], "not an adapter id"),
    ] {
        let out = mattebox(home.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui"]))["settings"], doc["settings"]);
    // Removed one by one; the file goes with the last.
    json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui", "--unset", "workflow"]));
    json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui", "--unset", "server"]));
    assert!(!file.exists());
    // --extra KEY=@FILE reads the file; a missing one is a usage error.
    let out = mattebox(home.path(), &["generate", "--extra", "workflow=@/nonexistent/g.json", "-o", "/tmp/never"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/g.json"));
}

/// The first take from ComfyUI, as a new user makes it: the adapter ships
/// with Mattebox, the server is named once with `plugin config`, and no
/// environment variable is set (a local ComfyUI on loopback is reachable
/// because the user named it).
#[test]
fn a_comfyui_on_this_machine_configured_once_makes_takes() {
    let home = tempfile::tempdir().unwrap();
    let outputs = comfy::recorded_outputs("image_wf_run1");
    let output = &outputs["3"]["images"][0];
    let key = format!("{}/{}", output["subfolder"].as_str().unwrap(), output["filename"].as_str().unwrap());
    let still = home.path().join("still.png");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x54", "-frames:v", "1"])
        .arg(&still)
        .status()
        .unwrap();
    assert!(status.success());
    let files = std::collections::HashMap::from([(key, std::fs::read(&still).unwrap())]);
    let (origin, state) = comfy::start(comfy::Comfy {
        outputs,
        files,
        websocket: true,
        replay: "image_wf_run1",
        pace_ms: 5,
        ..Default::default()
    });
    // Before it is named, the refusal says how to name it.
    let out = home.path().join("takes");
    let args = ["generate", "--adapter", "comfyui", "--size", "96x54", "--duration", "0.5", "--first-frame"];
    let (still_arg, out_arg) = (still.to_str().unwrap(), out.to_str().unwrap());
    let extra_server = format!("server={origin}");
    let refused = mattebox(home.path(), &[&args[..], &[still_arg, "--extra", &extra_server, "-o", out_arg]].concat());
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains(&format!("mattebox plugin config comfyui server={origin}")), "{said}");
    assert_eq!(said.matches("not among the origins").count(), 1, "said once: {said}");
    let doc: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "network", "{doc}");
    json_ok(&mattebox(home.path(), &["plugin", "config", "comfyui", &extra_server]));
    let doc = json_ok(&mattebox(home.path(), &[&args[..], &[still_arg, "-o", out_arg]].concat()));
    assert_eq!(doc["takes"][0]["take"]["generator"], "comfyui");
    assert!(out.join("take-1.mp4").is_file());
    assert_eq!(state.lock().unwrap().prompts.len(), 1);
    // --extra workflow=@FILE sends the file's graph, filled in.
    let graph = home.path().join("graph.json");
    std::fs::write(
        &graph,
        r#"{"1": {"class_type": "LoadImage", "inputs": {"image": "{{first_frame}}"}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "{{prompt}}"}}}"#,
    )
    .unwrap();
    let workflow = format!("workflow=@{}", graph.display());
    let mine = home.path().join("mine");
    let extra = [still_arg, "--prompt", "dusk", "--extra", &workflow, "-o", mine.to_str().unwrap()];
    json_ok(&mattebox(home.path(), &[&args[..], &extra[..]].concat()));
    let sent = state.lock().unwrap().prompts[1].2.clone();
    assert_eq!(sent["3"]["inputs"]["filename_prefix"], "dusk", "{sent}");
    assert!(sent["1"]["inputs"]["image"].as_str().unwrap().starts_with("mattebox-"), "{sent}");
    // ComfyUI refusing the workflow is the vendor's word, said once.
    state.lock().unwrap().run = comfy::Run::Refuse(serde_json::json!({
        "error": { "type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation" },
        "node_errors": {}
    }));
    let again = home.path().join("again");
    let refused =
        mattebox(home.path(), &[&args[..], &[still_arg, "--seed", "9", "-o", again.to_str().unwrap()]].concat());
    assert_eq!(refused.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "vendor", "{doc}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(said.matches("Prompt outputs failed validation").count(), 1, "said once: {said}");
}
