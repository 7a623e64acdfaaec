//! The Mattebox frei0r plugins as real hosts load them: ffmpeg (filter),
//! melt / MLT, the engine of Kdenlive and Shotcut (filter, mixer2
//! transition, a saved MLT XML project) and GStreamer's frei0r wrapper.
//! Outputs are checked at known pixels: inside the actor's square it must
//! keep its grey, outside the green screen must become the background.

use std::ffi::{CStr, c_char, c_double, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const W: usize = 320;
const H: usize = 180;
const GREY: [u8; 3] = [128, 128, 128];
const RED: [u8; 3] = [255, 0, 0];

/// Directory holding the plugins named as frei0r hosts expect (`mattebox_key.so`).
fn plugin_dir(tmp: &Path) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    let dir = tmp.join("frei0r");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["mattebox_key", "mattebox_over"] {
        let built = deps.join(format!("lib{name}.so"));
        assert!(built.exists(), "{} was not built", built.display());
        std::fs::copy(&built, dir.join(format!("{name}.so"))).unwrap();
    }
    dir
}

#[path = "../../../../core/tests/support/on_blue.rs"]
mod on_blue;
#[path = "../../../../core/tests/support/process.rs"]
mod process;
use on_blue::{OnBlue, person_on_blue};
use process::ok as run;

fn ffmpeg(args: &[&str]) -> Output {
    run(Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args))
}

/// A green-screen plate with a mid-grey square (x 100..200, y 50..130), and a red background.
fn make_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let plate = dir.join("plate.png");
    green_plate(&plate, "color=c=0x808080:s=100x80");
    let background = dir.join("red.png");
    ffmpeg(&["-f", "lavfi", "-i", "color=c=0xFF0000:s=320x180", "-frames:v", "1", background.to_str().unwrap()]);
    (plate, background)
}

/// Writes a 320x180 green-screen plate with a 100x80 actor from the lavfi
/// source `actor` at (100, 50).
fn green_plate(path: &Path, actor: &str) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x1CB34A:s=320x180",
        "-f",
        "lavfi",
        "-i",
        actor,
        "-filter_complex",
        "[0][1]overlay=100:50",
        "-frames:v",
        "1",
        path.to_str().unwrap(),
    ]);
}

/// The first frame of any image or video as RGB24 bytes, decoded by ffmpeg.
fn rgb(path: &Path) -> Vec<u8> {
    let out = run(Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-i"]).arg(path).args([
        "-frames:v",
        "1",
        "-vf",
        "scale=320:180",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]));
    assert_eq!(out.stdout.len(), W * H * 3, "{}", path.display());
    out.stdout
}

fn pixel(frame: &[u8], x: usize, y: usize) -> [u8; 3] {
    let i = (y * W + x) * 3;
    [frame[i], frame[i + 1], frame[i + 2]]
}

fn close(got: [u8; 3], want: [u8; 3], tolerance: u8, what: &str) {
    for c in 0..3 {
        assert!(got[c].abs_diff(want[c]) <= tolerance, "{what}: got {got:?}, want {want:?}");
    }
}

/// Checks a composite of the grey square over red.
fn check_composite(frame: &[u8], what: &str) {
    close(pixel(frame, 150, 90), GREY, 6, &format!("{what}: inside the square"));
    close(pixel(frame, 20, 20), RED, 6, &format!("{what}: the screen became the background"));
    close(pixel(frame, 300, 160), RED, 6, &format!("{what}: far corner"));
}

#[test]
fn ffmpeg_runs_the_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, background) = make_inputs(tmp.path());
    let out = tmp.path().join("out.png");
    let params = format!("0.5|0.12|0.9|0.8|0.5|0|n|0|0|0|{}", background.display());
    run(Command::new("ffmpeg")
        .env("FREI0R_PATH", &dir)
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&plate)
        .args(["-vf", &format!("frei0r=filter_name=mattebox_key:filter_params={params}")])
        .arg(&out));
    check_composite(&rgb(&out), "ffmpeg filter");

    // The matte output: white inside, black on the screen.
    let matte = tmp.path().join("matte.png");
    run(Command::new("ffmpeg")
        .env("FREI0R_PATH", &dir)
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&plate)
        .args(["-vf", "frei0r=filter_name=mattebox_key:filter_params=0|0.12|0.9|0.8|0.5|0|n|0|0|0.5"])
        .arg(&matte));
    let m = rgb(&matte);
    close(pixel(&m, 150, 90), [255; 3], 1, "matte inside");
    close(pixel(&m, 20, 20), [0; 3], 1, "matte outside");
}

#[test]
fn ffmpeg_survives_out_of_range_parameters_and_a_missing_background() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, _) = make_inputs(tmp.path());
    let out = tmp.path().join("out.png");
    // Screen 7.5 clamps to blue... there is no blue screen, so the plate passes through;
    // clips crossed, a negative grow, a background that does not exist.
    let params = "7.5|0.9|0.1|-4|-2|9|y|3|-1|0|/no/such/background.png";
    run(Command::new("ffmpeg")
        .env("FREI0R_PATH", &dir)
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&plate)
        .args(["-vf", &format!("frei0r=filter_name=mattebox_key:filter_params={params}")])
        .arg(&out));
    let (got, original) = (rgb(&out), rgb(&plate));
    assert_eq!(got, original, "a plate without the chosen screen passes through unchanged");
    // Green with crossed clips and the missing file: keyed over the (black) colour.
    // (Colour match clamps to none: at full strength it would tint the black towards the plate.)
    let params = "0.5|0.9|0.1|-4|-2|9|y|-3|-1|0|/no/such/background.png";
    let result = Command::new("ffmpeg")
        .env("FREI0R_PATH", &dir)
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&plate)
        .args(["-vf", &format!("frei0r=filter_name=mattebox_key:filter_params={params}")])
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("/no/such/background.png"), "the failure is reported");
    close(pixel(&rgb(&out), 20, 20), [0; 3], 2, "the screen became the background colour");
}

fn melt(dir: &Path, args: &[&str]) {
    run(Command::new("melt").env("MLT_FREI0R_PLUGIN_PATH", dir).args(args));
}

fn profile(tmp: &Path) -> PathBuf {
    let p = tmp.join("p320.profile");
    std::fs::write(
        &p,
        "description=320x180\nframe_rate_num=24\nframe_rate_den=1\nwidth=320\nheight=180\nprogressive=1\n\
         sample_aspect_num=1\nsample_aspect_den=1\ndisplay_aspect_num=16\ndisplay_aspect_den=9\ncolorspace=709\n",
    )
    .unwrap();
    p
}

#[test]
fn melt_runs_the_filter_the_transition_and_a_saved_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, background) = make_inputs(tmp.path());
    let profile = profile(tmp.path());
    let (p, bg, prof) = (plate.to_str().unwrap(), background.to_str().unwrap(), profile.to_str().unwrap());

    // The filter, parameters by name.
    let out = tmp.path().join("filter.mkv");
    let bg_param = format!("background={bg}");
    melt(
        &dir,
        &[
            "-profile",
            prof,
            p,
            "out=0",
            "-filter",
            "frei0r.mattebox_key",
            "screen=0.5",
            &bg_param,
            "-consumer",
            &format!("avformat:{}", out.display()),
            "vcodec=ffv1",
        ],
    );
    check_composite(&rgb(&out), "melt filter");

    // The mixer2 transition: the plate on track 1 is a_track, the first input.
    let out = tmp.path().join("mix.mkv");
    let transition = ["-transition", "frei0r.mattebox_over", "in=0", "out=0", "a_track=1", "b_track=0", "screen=0.5"];
    let mut args = vec!["-profile", prof, bg, "out=0", "-track", p, "out=0"];
    args.extend_from_slice(&transition);
    let consumer = format!("avformat:{}", out.display());
    args.extend_from_slice(&["-consumer", &consumer, "vcodec=ffv1"]);
    melt(&dir, &args);
    check_composite(&rgb(&out), "melt transition");

    // The same, saved as an MLT XML project (as Kdenlive and Shotcut save) and rendered from it.
    let project = tmp.path().join("project.mlt");
    let mut args = vec!["-profile", prof, bg, "out=0", "-track", p, "out=0"];
    args.extend_from_slice(&transition);
    let xml = format!("xml:{}", project.display());
    args.extend_from_slice(&["-consumer", &xml]);
    melt(&dir, &args);
    let text = std::fs::read_to_string(&project).unwrap();
    assert!(text.contains("frei0r.mattebox_over"), "the project names the transition");
    let out = tmp.path().join("project.mkv");
    melt(&dir, &[project.to_str().unwrap(), "-consumer", &format!("avformat:{}", out.display()), "vcodec=ffv1"]);
    check_composite(&rgb(&out), "melt project");
}

fn gst(dir: &Path, tmp: &Path, pipeline: &str) {
    let args: Vec<&str> = pipeline.split_whitespace().collect();
    run(Command::new("gst-launch-1.0")
        .env("FREI0R_PATH", dir)
        .env("GST_REGISTRY", tmp.join("gst-registry.bin"))
        .arg("-q")
        .args(args));
}

#[test]
fn gstreamer_runs_the_filter_and_the_mixer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, background) = make_inputs(tmp.path());
    let (p, bg) = (plate.display(), background.display());
    let out = tmp.path().join("gst_filter.png");
    gst(
        &dir,
        tmp.path(),
        &format!(
            "filesrc location={p} ! pngdec ! videoconvert ! video/x-raw,format=RGBA ! \
         frei0r-filter-mattebox-key screen=0.5 background={bg} ! videoconvert ! pngenc ! filesink location={}",
            out.display()
        ),
    );
    check_composite(&rgb(&out), "gstreamer filter");
    let out = tmp.path().join("gst_mix.png");
    gst(
        &dir,
        tmp.path(),
        &format!(
            "frei0r-mixer-mattebox-over name=mix screen=0.5 ! videoconvert ! pngenc ! filesink location={} \
         filesrc location={p} ! pngdec ! videoconvert ! video/x-raw,format=RGBA ! imagefreeze num-buffers=1 ! mix.sink_0 \
         filesrc location={bg} ! pngdec ! videoconvert ! video/x-raw,format=RGBA ! imagefreeze num-buffers=1 ! mix.sink_1",
            out.display()
        ),
    );
    check_composite(&rgb(&out), "gstreamer mixer");
}

#[repr(C)]
struct PluginInfo {
    name: *const c_char,
    author: *const c_char,
    plugin_type: c_int,
    color_model: c_int,
    frei0r_version: c_int,
    major_version: c_int,
    minor_version: c_int,
    num_params: c_int,
    explanation: *const c_char,
}

#[repr(C)]
struct ParamInfo {
    name: *const c_char,
    kind: c_int,
    explanation: *const c_char,
}

/// Loads a plugin with dlopen, as hosts do, and checks what it says and how
/// it takes abuse; returns its parameter names.
fn probe(path: &Path, plugin_type: c_int) -> Vec<String> {
    // SAFETY: loading our own plugin, which runs no code at load time.
    let lib = unsafe { libloading::Library::new(path) }.unwrap();
    // SAFETY: the symbol types are those of frei0r.h.
    unsafe {
        let init: libloading::Symbol<unsafe extern "C" fn() -> c_int> = lib.get(b"f0r_init").unwrap();
        assert_eq!(init(), 1);
        let info_fn: libloading::Symbol<unsafe extern "C" fn(*mut PluginInfo)> =
            lib.get(b"f0r_get_plugin_info").unwrap();
        let mut info: PluginInfo = std::mem::zeroed();
        info_fn(&mut info);
        info_fn(std::ptr::null_mut());
        assert_eq!((info.plugin_type, info.color_model, info.frei0r_version), (plugin_type, 1, 1));
        assert!(CStr::from_ptr(info.name).to_str().unwrap().starts_with("Mattebox"));
        assert!(!CStr::from_ptr(info.explanation).to_bytes().is_empty() && !info.author.is_null());
        let param_fn: libloading::Symbol<unsafe extern "C" fn(*mut ParamInfo, c_int)> =
            lib.get(b"f0r_get_param_info").unwrap();
        let mut names = Vec::new();
        for i in 0..info.num_params {
            let mut p: ParamInfo = std::mem::zeroed();
            param_fn(&mut p, i);
            assert!((0..=4).contains(&p.kind) && !p.explanation.is_null());
            names.push(CStr::from_ptr(p.name).to_string_lossy().into_owned());
        }
        let mut untouched: ParamInfo = std::mem::zeroed();
        param_fn(&mut untouched, info.num_params);
        param_fn(&mut untouched, -1);
        param_fn(std::ptr::null_mut(), 0);
        assert!(untouched.name.is_null(), "out-of-range indices write nothing");

        let construct: libloading::Symbol<unsafe extern "C" fn(c_uint, c_uint) -> *mut c_void> =
            lib.get(b"f0r_construct").unwrap();
        let destruct: libloading::Symbol<unsafe extern "C" fn(*mut c_void)> = lib.get(b"f0r_destruct").unwrap();
        let set: libloading::Symbol<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int)> =
            lib.get(b"f0r_set_param_value").unwrap();
        let get: libloading::Symbol<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int)> =
            lib.get(b"f0r_get_param_value").unwrap();
        let update: libloading::Symbol<unsafe extern "C" fn(*mut c_void, f64, *const u32, *mut u32)> =
            lib.get(b"f0r_update").unwrap();
        let update2: libloading::Symbol<
            unsafe extern "C" fn(*mut c_void, f64, *const u32, *const u32, *const u32, *mut u32),
        > = lib.get(b"f0r_update2").unwrap();
        assert!(construct(0, 0).is_null(), "an empty frame size is refused");
        assert!(construct(100_000, 100_000).is_null(), "an absurd frame size is refused");
        let instance = construct(16, 8);
        assert!(!instance.is_null());
        let mut big: c_double = 42.0;
        set(instance, &mut big as *mut c_double as *mut c_void, 1);
        set(instance, std::ptr::null_mut(), 1);
        set(instance, &mut big as *mut c_double as *mut c_void, 999);
        let mut back: c_double = -1.0;
        get(instance, &mut back as *mut c_double as *mut c_void, 1);
        assert_eq!(back, 1.0, "out-of-range doubles are clamped to 0..1");
        get(instance, std::ptr::null_mut(), 1);
        // Null frames, a null instance: nothing happens, nothing crashes.
        let grey = vec![0xFF80_8080u32; 16 * 8];
        let mut out = vec![0u32; 16 * 8];
        update(std::ptr::null_mut(), 0.0, grey.as_ptr(), out.as_mut_ptr());
        update(instance, 0.0, grey.as_ptr(), std::ptr::null_mut());
        update2(instance, 0.0, grey.as_ptr(), std::ptr::null(), std::ptr::null(), out.as_mut_ptr());
        // A plate with no screen passes through.
        update(instance, 0.0, grey.as_ptr(), out.as_mut_ptr());
        assert_eq!(out, grey);
        destruct(instance);
        destruct(std::ptr::null_mut());
        names
    }
}

#[test]
fn plugins_describe_themselves_and_take_abuse_and_match_the_ui_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let key = probe(&dir.join("mattebox_key.so"), 0);
    let over = probe(&dir.join("mattebox_over.so"), 2);
    assert_eq!(key.len(), 14);
    assert_eq!(over[..10], key[..10], "the mixer has the filter's parameters but the background ones");
    assert_eq!(over.len(), 12);
    assert_eq!(
        (&over[10..], &key[12..]),
        (&key[12..], &["person", "keep person"].map(String::from)[..]),
        "added at the end"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let kdenlive_key = std::fs::read_to_string(root.join("kdenlive/effects/frei0r_mattebox_key.xml")).unwrap();
    let kdenlive_over = std::fs::read_to_string(root.join("kdenlive/transitions/frei0r_mattebox_over.xml")).unwrap();
    let shotcut = std::fs::read_to_string(root.join("shotcut/mattebox_key/ui.qml")).unwrap();
    for name in &key {
        assert!(kdenlive_key.contains(&format!("name=\"{name}\"")), "Kdenlive's effect lacks {name:?}");
        assert!(shotcut.contains(&format!("filter.set(\"{name}\"")), "Shotcut's UI never sets {name:?}");
    }
    for name in &over {
        assert!(kdenlive_over.contains(&format!("name=\"{name}\"")), "Kdenlive's transition lacks {name:?}");
    }
    let declared = kdenlive_key.matches("<parameter ").count();
    assert_eq!(declared, key.len(), "Kdenlive declares exactly the plugin's parameters");
}

/// The `mattebox` command of the same build (the workspace builds it
/// before any test runs).
fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("mattebox");
    assert!(exe.exists(), "{} is missing: build it with `cargo build --release -p mattebox-cli`", exe.display());
    exe
}

/// `plate` over `background` by `mattebox composite` (into `cli.0` with
/// the settings `cli.1`) and by the frei0r filter in ffmpeg (into `ours.0`
/// with the parameters `ours.1` and the output options `ours.2`, in the
/// environment `ours.3`).
fn both_composite(
    plugins: &Path,
    plate: &Path,
    background: &Path,
    cli_run: (&Path, &[&str]),
    ours: (&Path, &str, &[&str], &[(&str, &Path)]),
) {
    run(Command::new(cli())
        .args(["composite", "--plate"])
        .arg(plate)
        .arg("--background")
        .arg(background)
        .arg("-o")
        .arg(cli_run.0)
        .args(cli_run.1)
        .arg("-q"));
    run(Command::new("ffmpeg")
        .env("FREI0R_PATH", plugins)
        .envs(ours.3.iter().copied())
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(plate)
        .args(["-vf", &format!("frei0r=filter_name=mattebox_key:filter_params={}", ours.1)])
        .args(ours.2)
        .arg(ours.0));
}

/// The filter in ffmpeg composites a textured actor over a textured
/// background exactly as `mattebox composite` does: both drive the core's
/// one shot compositor, so at 8 bits every byte agrees.
#[test]
fn the_filter_in_ffmpeg_matches_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, background) = (tmp.path().join("plate.png"), tmp.path().join("sky.png"));
    green_plate(&plate, "testsrc2=s=100x80");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=s=320x180", "-frames:v", "1", background.to_str().unwrap()]);
    let cli_out = tmp.path().join("cli.png");
    let settings = ["--clip-black", "0.08", "--clip-white", "0.85", "--match-colour", "0.5", "--light-wrap", "0.3"];
    let out = tmp.path().join("frei0r.png");
    let params = format!("0|0.08|0.85|0.8|0.5|0|n|0.5|0.3|0|{}", background.display());
    both_composite(&dir, &plate, &background, (&cli_out, &settings), (&out, &params, &[], &[]));
    let (ours, theirs) = (rgb(&out), rgb(&cli_out));
    let differing = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} bytes of the frei0r composite differ from the command line's");
    // Not trivially equal: the actor kept its texture and the screen is gone.
    assert_ne!(pixel(&ours, 120, 60), pixel(&ours, 180, 110));
    assert_ne!(pixel(&ours, 20, 20), [0x1C, 0xB3, 0x4A]);
}

/// Every frame of a video as RGB24 bytes.
fn all_frames(path: &Path) -> Vec<Vec<u8>> {
    let out = run(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]));
    out.stdout.chunks(W * H * 3).map(<[u8]>::to_vec).collect()
}

#[test]
fn a_noisy_clip_keys_in_ffmpeg_as_on_the_command_line_frame_for_frame() {
    // Strong temporal sensor noise: the key averages each frame with the
    // frames before it, which the filter remembers as ffmpeg plays forward.
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let (plate, background) = (tmp.path().join("noisy.mkv"), tmp.path().join("sky.png"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x1CB34A:s=320x180:r=25",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=100x80:r=25",
        "-filter_complex",
        "[0][1]overlay=100:50,noise=alls=20:allf=t,format=bgr0",
        "-frames:v",
        "12",
        "-c:v",
        "ffv1",
        plate.to_str().unwrap(),
    ]);
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=s=320x180", "-frames:v", "1", background.to_str().unwrap()]);
    let cli_out = tmp.path().join("cli.mkv");
    let out = tmp.path().join("frei0r.mkv");
    let params = format!("0|0|1|0.8|0.5|0|n|0|0|0|{}", background.display());
    both_composite(&dir, &plate, &background, (&cli_out, &[]), (&out, &params, &["-c:v", "ffv1"], &[]));
    let (ours, theirs) = (all_frames(&out), all_frames(&cli_out));
    assert_eq!((ours.len(), theirs.len()), (12, 12));
    for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert_eq!(differing, 0, "frame {k}: {differing} bytes of the frei0r composite differ from the command line's");
    }
    // The screen is the background in every frame, noise and all.
    let plates = all_frames(&plate);
    for (k, (frame, plate)) in ours.iter().zip(&plates).enumerate() {
        assert_ne!(pixel(frame, 20, 20), pixel(plate, 20, 20), "frame {k} kept the screen");
    }
}

/// The shared models (MediaPipe's selfie segmentation) and ONNX Runtime as
/// `.ci/setup` fetches it.
fn person_model_paths() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    (root.join("../shared/models"), root.join("target/tools/onnxruntime/libonnxruntime.so"))
}

/// A real person with no screen behind her (scikit-image's astronaut,
/// cropped to 320x180, with sensor noise drawn afresh each frame).
fn person_plate(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let photo = root.join("target/tools/calibration/astronaut.png");
    assert!(photo.exists(), "{} is missing: run `bash .ci/setup`", photo.display());
    let plate = dir.join("astronaut.mkv");
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "25",
        "-i",
        photo.to_str().unwrap(),
        "-vf",
        "scale=320:320,crop=320:180:0:10,noise=alls=8:allf=t,format=bgr0",
        "-frames:v",
        "6",
        "-c:v",
        "ffv1",
        plate.to_str().unwrap(),
    ]);
    plate
}

/// `plates.0` over `plates.1` by `mattebox composite` with `cli_args` (and
/// the person model, when they ask for it), and by the filter in ffmpeg with `params` (the model
/// found from the environment, as a plugin finds it), both into `work`:
/// every frame the same bytes. The filter's frames.
fn both_with_model(
    plugins: &Path,
    work: &Path,
    plates: (&Path, &Path),
    cli_args: &[&str],
    params: &str,
) -> Vec<Vec<u8>> {
    let (models, library) = person_model_paths();
    let model_args = ["--models", models.to_str().unwrap(), "--onnxruntime", library.to_str().unwrap()];
    // The command line refuses them when it runs no model.
    let runs_model = cli_args.contains(&"person") || cli_args.contains(&"--keep-person");
    let cli_args = [cli_args, if runs_model { &model_args } else { &[] }].concat();
    let (cli_out, out) = (work.join("cli.mkv"), work.join("frei0r.mkv"));
    let env = [("MATTEBOX_MODELS", models.as_path()), ("MATTEBOX_ONNXRUNTIME", library.as_path())];
    both_composite(plugins, plates.0, plates.1, (&cli_out, &cli_args), (&out, params, &["-c:v", "ffv1"], &env));
    let (ours, theirs) = (all_frames(&out), all_frames(&cli_out));
    assert_eq!((ours.len(), theirs.len()), (6, 6));
    for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert_eq!(
            differing, 0,
            "{params}, frame {k}: {differing} bytes of the frei0r composite differ from the command line's"
        );
    }
    ours
}

/// A red still of the plates' size, behind the person.
fn red_background(dir: &Path) -> PathBuf {
    let background = dir.join("red.png");
    ffmpeg(&["-f", "lavfi", "-i", "color=c=0xFF0000:s=320x180", "-frames:v", "1", background.to_str().unwrap()]);
    background
}

/// The person switch (the filter's second last parameter) in ffmpeg: every
/// frame equals `mattebox composite --key person`'s, her face and suit are kept
/// and the wall and the model rocket behind her replaced. Without the model
/// (and with no runtime named) the filter names the model it looked for,
/// once, and passes the plate through.
#[test]
fn the_person_switch_in_ffmpeg_matches_the_command_line_and_says_when_its_model_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let plate = person_plate(tmp.path());
    let background = red_background(tmp.path());
    let params = format!("0|0|1|0.8|0.5|0|n|0|0|0|{}|0/0/0|y", background.display());
    let ours = both_with_model(&dir, tmp.path(), (&plate, &background), &["--key", "person"], &params);
    let plates = all_frames(&plate);
    for (k, (a, p)) in ours.iter().zip(&plates).enumerate() {
        // Face and suit kept; the wall beside her hair and the rocket red
        // (the flag at the left, half in this crop, the model keeps).
        close(pixel(a, 140, 60), pixel(p, 140, 60), 12, &format!("frame {k}: her face"));
        close(pixel(a, 100, 160), pixel(p, 100, 160), 12, &format!("frame {k}: her suit"));
        close(pixel(a, 205, 25), RED, 12, &format!("frame {k}: the wall"));
        close(pixel(a, 250, 100), RED, 12, &format!("frame {k}: the model rocket"));
    }

    let empty = tmp.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let passed = tmp.path().join("passed.mkv");
    let said = run(Command::new("ffmpeg")
        .env("FREI0R_PATH", &dir)
        .env("MATTEBOX_MODELS", &empty)
        .env_remove("MATTEBOX_ONNXRUNTIME")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(&plate)
        .args(["-vf", &format!("frei0r=filter_name=mattebox_key:filter_params={params}"), "-c:v", "ffv1"])
        .arg(&passed));
    let text = String::from_utf8_lossy(&said.stderr);
    let missing = empty.join("selfie.onnx").display().to_string();
    assert_eq!(text.matches(&missing).count(), 1, "the missing model is named once: {text}");
    assert_eq!(all_frames(&passed), plates, "the plate passes through");
}

/// `person_plate`'s astronaut laid on a blue screen by her model matte,
/// with a patch of darker screen blue painted on her suit (which no colour
/// key can call foreground) and sensor noise drawn afresh each frame.
fn astronaut_on_blue(dir: &Path) -> PathBuf {
    let (models, library) = person_model_paths();
    let still = dir.join("still.mkv");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let photo = root.join("target/tools/calibration/astronaut.png");
    let crop = "scale=320:320,crop=320:180:0:10,format=bgr0";
    let still_arg = still.to_str().unwrap();
    let photo = photo.to_str().unwrap();
    ffmpeg(&["-loop", "1", "-framerate", "25", "-i", photo, "-vf", crop, "-frames:v", "6", "-c:v", "ffv1", still_arg]);
    let plate = dir.join("on_blue.mkv");
    let shot = OnBlue { person: &still, size: (320, 180), rate: 25, frames: 6, noise: 6, patch: [80, 130, 50, 40] };
    person_on_blue(&cli(), &models, &library, &shot, &plate);
    plate
}

/// Keep person (the filter's last parameter) in ffmpeg on a blue screen
/// whose actor wears the screen's colour: every frame equals `mattebox
/// composite --keep-person`'s, and the patch the key alone replaces is
/// kept; the mixer in melt keeps it too (its last parameter, by name).
#[test]
fn keep_person_in_ffmpeg_and_melt_holds_what_the_key_cannot_as_the_command_line_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let plate = astronaut_on_blue(tmp.path());
    let background = red_background(tmp.path());
    let filtered = |keep: &str| {
        let params = format!("1|0|1|0.8|0.5|0|n|0|0|0|{}|0/0/0|n|{keep}", background.display());
        let cli_args: &[&str] = if keep == "y" { &["--key", "blue", "--keep-person"] } else { &["--key", "blue"] };
        let dir_for = tmp.path().join(format!("keep-{keep}"));
        std::fs::create_dir_all(&dir_for).unwrap();
        both_with_model(&dir, &dir_for, (&plate, &background), cli_args, &params)
    };
    let (alone, kept, plates) = (filtered("n"), filtered("y"), all_frames(&plate));
    for (k, ((a, kept), p)) in alone.iter().zip(&kept).zip(&plates).enumerate() {
        assert!(pixel(a, 105, 150)[0] > 120, "frame {k}: the key alone kept the patch: {:?}", pixel(a, 105, 150));
        assert!(pixel(kept, 105, 150)[0] < 60, "frame {k}: the patch went: {:?}", pixel(kept, 105, 150));
        close(pixel(kept, 140, 60), pixel(p, 140, 60), 16, "her face");
        close(pixel(kept, 300, 20), RED, 12, "the screen");
    }

    let (models, library) = person_model_paths();
    let profile = profile(tmp.path());
    let out = tmp.path().join("mix.mkv");
    let (p, bg, prof) = (plate.to_str().unwrap(), background.to_str().unwrap(), profile.to_str().unwrap());
    run(Command::new("melt")
        .env("MLT_FREI0R_PLUGIN_PATH", &dir)
        .env("MATTEBOX_MODELS", &models)
        .env("MATTEBOX_ONNXRUNTIME", &library)
        .args(["-profile", prof, bg, "out=2", "-track", p, "out=2"])
        .args(["-transition", "frei0r.mattebox_over", "in=0", "out=2", "a_track=1", "b_track=0", "screen=1"])
        .arg("keep person=1")
        .arg("-consumer")
        .arg(format!("avformat:{}", out.display()))
        .arg("vcodec=ffv1"));
    let mixed = all_frames(&out);
    assert_eq!(mixed.len(), 3);
    for (k, m) in mixed.iter().enumerate() {
        assert!(pixel(m, 105, 150)[0] < 60, "frame {k}: the mixer lost the patch: {:?}", pixel(m, 105, 150));
    }
}

/// The mixer's person switch in melt (its last parameter, by name): the
/// person over the lower track.
#[test]
fn the_person_switch_in_the_melt_transition_puts_her_over_the_lower_track() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    let plate = person_plate(tmp.path());
    let (_, background) = make_inputs(tmp.path());
    let profile = profile(tmp.path());
    let (models, library) = person_model_paths();
    let out = tmp.path().join("mix.mkv");
    let (p, bg, prof) = (plate.to_str().unwrap(), background.to_str().unwrap(), profile.to_str().unwrap());
    run(Command::new("melt")
        .env("MLT_FREI0R_PLUGIN_PATH", &dir)
        .env("MATTEBOX_MODELS", &models)
        .env("MATTEBOX_ONNXRUNTIME", &library)
        .args(["-profile", prof, bg, "out=2", "-track", p, "out=2"])
        .args(["-transition", "frei0r.mattebox_over", "in=0", "out=2", "a_track=1", "b_track=0", "person=1"])
        .arg("-consumer")
        .arg(format!("avformat:{}", out.display()))
        .arg("vcodec=ffv1"));
    let (mixed, plates) = (all_frames(&out), all_frames(&plate));
    assert_eq!(mixed.len(), 3);
    for (k, (m, p)) in mixed.iter().zip(&plates).enumerate() {
        close(pixel(m, 140, 60), pixel(p, 140, 60), 16, &format!("frame {k}: her face"));
        close(pixel(m, 205, 25), RED, 16, &format!("frame {k}: the wall"));
        close(pixel(m, 250, 100), RED, 16, &format!("frame {k}: the model rocket"));
    }
}
