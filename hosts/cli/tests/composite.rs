//! `mattebox composite` on plates and backgrounds made by the real `ffmpeg`
//! program, checked by decoding the outputs with ffmpeg.
//!
//! The plate is a green screen with a grey box in the middle; backgrounds
//! show one flat colour per frame (red, blue, yellow), so a pixel of the
//! output's screen area says which background frame was used.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{ffmpeg, json_ok};
use on_blue::{OnBlue, person_on_blue};

mod common;
#[path = "../../../core/tests/support/on_blue.rs"]
mod on_blue;

/// `mattebox composite --plate PLATE --background BG -o OUT EXTRA...`.
fn composite(plate: &Path, background: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .arg("composite")
        .arg("--plate")
        .arg(plate)
        .arg("--background")
        .arg(background)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

const W: usize = 160;
const H: usize = 96;
const SCREEN: [u8; 3] = [40, 180, 60];
const BOX: [u8; 3] = [140, 130, 120];
const RED: [u8; 3] = [220, 20, 20];
const BLUE: [u8; 3] = [20, 20, 220];
const YELLOW: [u8; 3] = [230, 200, 20];

/// A lossless 30 fps plate: the screen with a grey box at x 60..100, y 30..70.
fn plate(dir: &Path, frames: u32) -> PathBuf {
    let path = dir.join("plate.mkv");
    let hex = |c: [u8; 3]| format!("0x{:02X}{:02X}{:02X}", c[0], c[1], c[2]);
    let src = format!(
        "color=c={}:s={W}x{H}:r=30,drawbox=x=60:y=30:w=40:h=40:color={}:t=fill,format=bgr0",
        hex(SCREEN),
        hex(BOX)
    );
    ffmpeg(&["-f", "lavfi", "-i", &src, "-frames:v", &frames.to_string(), "-c:v", "ffv1", path.to_str().unwrap()]);
    path
}

/// A lossless background of `size`, at `rate`, whose frames are red, blue, yellow.
fn background(dir: &Path, name: &str, size: &str, rate: &str) -> PathBuf {
    let path = dir.join(name);
    let pick = |c: usize| format!("if(eq(N\\,0)\\,{}\\,if(eq(N\\,1)\\,{}\\,{}))", RED[c], BLUE[c], YELLOW[c]);
    let src =
        format!("color=c=black:s={size}:r={rate},format=rgb24,geq=r='{}':g='{}':b='{}'", pick(0), pick(1), pick(2));
    ffmpeg(&["-f", "lavfi", "-i", &src, "-frames:v", "3", "-c:v", "ffv1", path.to_str().unwrap()]);
    path
}

/// Every frame of `video` as RGB24.
fn frames(video: &Path) -> Vec<Vec<u8>> {
    decoded(video, "rgb24", 3)
}

/// Every frame of `video` in ffmpeg's `pixel_format` of `bytes` per pixel.
fn decoded(video: &Path, pixel_format: &str, bytes: usize) -> Vec<Vec<u8>> {
    let raw = ffmpeg(&["-i", video.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", pixel_format, "-"]);
    assert_eq!(raw.len() % (W * H * bytes), 0, "{} is not {W}x{H}", video.display());
    raw.chunks(W * H * bytes).map(<[u8]>::to_vec).collect()
}

fn pixel(frame: &[u8], x: usize, y: usize) -> [u8; 3] {
    let i = (y * W + x) * 3;
    [frame[i], frame[i + 1], frame[i + 2]]
}

fn near(got: [u8; 3], want: [u8; 3], tolerance: u8) -> bool {
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= tolerance)
}

#[test]
fn background_of_another_size_and_rate_is_fitted_timed_and_held() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 12);
    // Half the plate's size and rate: cover-fitted 2x, one background frame per two plate frames.
    let bg = background(dir.path(), "bg.mkv", "80x48", "15");
    let out = dir.path().join("out.mkv");
    let matte = dir.path().join("matte.mkv");
    let report = json_ok(&composite(&plate, &bg, &out, &["--json", "--matte-out", matte.to_str().unwrap()]));
    let r = &report["composite"];
    assert_eq!(r["frames"], 12);
    assert_eq!(r["background"]["resized"], true);
    assert_eq!(r["background"]["frames"], 3);
    assert_eq!(r["background"]["ran_out"], 6, "{r}");
    assert_eq!(r["background"]["when_shorter"], "hold");
    let screen = r["screen"].as_array().unwrap();
    assert!(screen[1].as_f64().unwrap() > 0.6 && screen[0].as_f64().unwrap() < 0.25, "{r}");

    let got = frames(&out);
    assert_eq!(got.len(), 12);
    let expected = [RED, RED, BLUE, BLUE, YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, YELLOW];
    for (k, (frame, want)) in got.iter().zip(expected).enumerate() {
        for (x, y) in [(5, 5), (150, 90), (30, 50)] {
            assert!(
                near(pixel(frame, x, y), want, 6),
                "frame {k} at ({x},{y}): {:?}, want {want:?}",
                pixel(frame, x, y)
            );
        }
        // The actor stays, no green left on it.
        let centre = pixel(frame, 80, 50);
        assert!(near(centre, BOX, 12), "frame {k} centre {centre:?}, want about {BOX:?}");
    }
    let mattes = frames(&matte);
    assert_eq!(mattes.len(), 12);
    assert!(near(pixel(&mattes[7], 80, 50), [255; 3], 2) && near(pixel(&mattes[7], 5, 5), [0; 3], 2));
}

#[test]
fn a_short_background_loops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 12);
    let bg = background(dir.path(), "bg.mkv", "160x96", "15");
    let out = dir.path().join("out.mkv");
    let report = json_ok(&composite(&plate, &bg, &out, &["--json", "--loop-background"]));
    assert_eq!(report["composite"]["background"]["when_shorter"], "loop");
    assert_eq!(report["composite"]["background"]["resized"], false);
    let expected = [RED, RED, BLUE, BLUE, YELLOW, YELLOW, RED, RED, BLUE, BLUE, YELLOW, YELLOW];
    for (k, (frame, want)) in frames(&out).iter().zip(expected).enumerate() {
        assert!(near(pixel(frame, 5, 5), want, 6), "frame {k}: {:?}, want {want:?}", pixel(frame, 5, 5));
    }
}

#[test]
fn contain_fit_leaves_transparent_borders_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 2);
    // A square background inside a 5:3 plate: 96x96 centred, borders at x < 32 and x >= 128.
    let bg = background(dir.path(), "square.mkv", "48x48", "30");
    let out = dir.path().join("out.mkv");
    let stdout = composite(&plate, &bg, &out, &["--fit", "contain"]);
    let text = String::from_utf8_lossy(&stdout.stdout);
    assert!(stdout.status.success(), "{}", String::from_utf8_lossy(&stdout.stderr));
    assert!(text.contains("fitted to the plate (Contain)"), "{text}");
    let got = frames(&out);
    assert!(near(pixel(&got[0], 5, 5), [0; 3], 3), "border {:?}", pixel(&got[0], 5, 5));
    assert!(near(pixel(&got[0], 155, 5), [0; 3], 3));
    assert!(near(pixel(&got[0], 40, 5), RED, 6), "inside {:?}", pixel(&got[0], 40, 5));
}

#[test]
fn a_plate_without_a_screen_fails_clearly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let plate = dir.path().join("no-screen.mkv");
    ffmpeg(
        &["-f", "lavfi", "-i", "color=c=0x806040:s=160x96:r=30", "-frames:v", "3", "-c:v", "ffv1"]
            .iter()
            .copied()
            .chain([plate.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    let bg = background(dir.path(), "bg.mkv", "160x96", "30");
    let out = dir.path().join("out.mkv");
    for key in ["auto", "green", "blue"] {
        let run = composite(&plate, &bg, &out, &["--key", key]);
        assert_eq!(run.status.code(), Some(1), "--key {key}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains("no-screen.mkv") && err.contains("screen found"), "--key {key}: {err}");
        assert!(err.contains("give a matte") && err.contains("give the screen's colour"), "says what to do: {err}");
        assert!(err.contains("--key person"), "names the person matte: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "nothing but the inputs is left: {left:?}");
}

/// A screen colour the plate lacks: refused before anything is written,
/// saying what to do instead.
#[test]
fn a_wrong_screen_colour_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 3);
    let bg = background(dir.path(), "bg.mkv", "160x96", "30");
    let out = dir.path().join("out.mkv");
    let blue = composite(&plate, &bg, &out, &["--screen-colour", "#0047BB"]);
    let err = String::from_utf8_lossy(&blue.stderr);
    assert_eq!(blue.status.code(), Some(1), "{err}");
    assert!(err.contains("#0047BB is in only 0.0% of the plate's pixels") && err.contains("screen reads #"), "{err}");
    assert!(!out.exists(), "nothing is written");
}

/// The shared MediaPipe selfie model and the wheel's ONNX Runtime.
fn person_args(models: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let library = root.join("target/tools/onnxruntime/libonnxruntime.so");
    ["--key", "person", "--models", models.to_str().unwrap(), "--onnxruntime", library.to_str().unwrap()]
        .map(String::from)
        .to_vec()
}

/// A still shot of a real person with no screen behind her (scikit-image's
/// astronaut, with sensor noise drawn afresh each frame), keyed with
/// `--key person`: she is kept, the room behind her is replaced.
#[test]
fn a_person_with_no_screen_is_keyed_by_the_segmentation_model() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::calibration_photo("astronaut.png");
    let plate = dir.path().join("astronaut.mkv");
    let photo = photo.to_str().unwrap();
    let plate_arg = plate.to_str().unwrap();
    ffmpeg(
        &["-loop", "1", "-framerate", "30", "-i", photo, "-vf", "noise=alls=8:allf=t", "-frames:v", "4"]
            .iter()
            .copied()
            .chain(["-c:v", "ffv1", plate_arg])
            .collect::<Vec<_>>(),
    );
    let bg = background(dir.path(), "bg.mkv", "512x512", "30");
    let (out, matte) = (dir.path().join("out.mkv"), dir.path().join("matte.mkv"));
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let mut args = person_args(&models);
    args.extend(["--matte-out".into(), matte.to_str().unwrap().into()]);
    let run = composite(&plate, &bg, &out, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let raw = |video: &Path, format: &str| {
        ffmpeg(&["-i", video.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", format, "-"])
    };
    let mattes: Vec<Vec<u8>> = raw(&matte, "gray").chunks(512 * 512).map(<[u8]>::to_vec).collect();
    assert_eq!(mattes.len(), 4);
    for (k, m) in mattes.iter().enumerate() {
        let at = |x: f32, y: f32| m[(y * 512.0) as usize * 512 + (x * 512.0) as usize];
        // Her face and her suit are the person; the top-right corner of the
        // room and the flag at the left are not.
        assert!(at(0.46, 0.25) > 240 && at(0.5, 0.8) > 240, "frame {k}: {} {}", at(0.46, 0.25), at(0.5, 0.8));
        assert!(at(0.95, 0.05) < 15 && at(0.05, 0.3) < 15, "frame {k}: {} {}", at(0.95, 0.05), at(0.05, 0.3));
    }
    // Where the matte is clear the first background frame (red) shows.
    let composite = raw(&out, "rgb24");
    let i = (25 * 512 + 486) * 3;
    let corner = [composite[i], composite[i + 1], composite[i + 2]];
    assert!(near(corner, RED, 40), "{corner:?}");
}

/// `--keep-person` on a real person on a blue screen wearing a patch of
/// the screen's own hue (scikit-image's astronaut, matted by the model and
/// laid over the screen, a darker screen-blue painted on her suit): the
/// key alone sees through the patch, keeping the person holds it, and the
/// screen is keyed clear either way.
#[test]
fn keeping_the_person_holds_clothes_the_colour_of_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let photo = common::calibration_photo("astronaut.png");
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let person = person_args(&models);
    let (still, bg) = (dir.path().join("still.mkv"), background(dir.path(), "bg.mkv", "512x512", "30"));
    let still_arg = still.to_str().unwrap();
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "30",
        "-i",
        photo.to_str().unwrap(),
        "-frames:v",
        "2",
        "-c:v",
        "ffv1",
        still_arg,
    ]);
    let plate = dir.path().join("on_blue.mkv");
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/onnxruntime/libonnxruntime.so");
    let shot = OnBlue { person: &still, size: (512, 512), rate: 30, frames: 2, noise: 0, patch: [215, 360, 80, 70] };
    person_on_blue(Path::new(env!("CARGO_BIN_EXE_mattebox")), &models, &library, &shot, &plate);
    let matte_of = |keep: bool| {
        let (out, matte) = (dir.path().join(format!("out{keep}.mkv")), dir.path().join(format!("matte{keep}.mkv")));
        let mut args: Vec<String> = vec!["--key".into(), "blue".into()];
        if keep {
            args.push("--keep-person".into());
            args.extend(person[2..].iter().cloned());
        }
        args.extend(["--matte-out".into(), matte.to_str().unwrap().into()]);
        let run = composite(&plate, &bg, &out, &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        ffmpeg(&["-i", matte.to_str().unwrap(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
    };
    let (keyed, kept) = (matte_of(false), matte_of(true));
    let at = |m: &[u8], x: usize, y: usize| m[y * 512 + x];
    assert!(at(&keyed, 255, 395) < 230, "the key alone holds the patch at {}", at(&keyed, 255, 395));
    assert!(at(&kept, 255, 395) > 245, "the kept person's patch is {}", at(&kept, 255, 395));
    for m in [&keyed, &kept] {
        assert!(at(m, 486, 25) < 15 && at(m, 235, 128) > 240, "screen {}, face {}", at(m, 486, 25), at(m, 235, 128));
    }
    // Keeping the person is for a screen key.
    let run = composite(&plate, &bg, &dir.path().join("x.mkv"), &["--key", "person", "--keep-person"]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
}

/// --key person without its model, with a model missing, or with a model
/// of another shape: refused with what to do, nothing written.
#[test]
fn a_person_matte_without_its_model_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 3);
    let bg = background(dir.path(), "bg.mkv", "160x96", "30");
    let out = dir.path().join("out.mkv");
    let run = Command::new(env!("CARGO_BIN_EXE_mattebox"))
        .args(["composite", "--key", "person", "--plate"])
        .arg(&plate)
        .arg("--background")
        .arg(&bg)
        .arg("-o")
        .arg(&out)
        .env_remove("MATTEBOX_MODELS")
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--models DIR") && err.contains("selfie.onnx") && err.contains("data/mattebox/models"),
        "{err}"
    );
    // A directory without the model.
    let empty = dir.path().join("models");
    std::fs::create_dir(&empty).unwrap();
    let args = person_args(&empty);
    let run = composite(&plate, &bg, &out, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("selfie.onnx") && err.contains("person segmentation"), "{err}");
    // The face detector where the segmentation model should be.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    std::fs::copy(shared.join("blazeface.onnx"), empty.join("selfie.onnx")).unwrap();
    let run = composite(&plate, &bg, &out, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("person segmentation gave"), "{err}");
    // Flags of a screen key make no sense without a screen.
    let mut args = person_args(&shared);
    args.extend(["--clip-black".into(), "0.1".into()]);
    let run = composite(&plate, &bg, &out, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--key person has no screen"));
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_grey_matte_file_replaces_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let plate = plate(dir.path(), 2);
    let bg = background(dir.path(), "bg.mkv", "160x96", "30");
    // A matte that keeps only the left half of the frame, screen included.
    let matte = dir.path().join("half.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("color=c=black:s={W}x{H},drawbox=x=0:y=0:w=80:h={H}:color=white:t=fill"),
        "-frames:v",
        "1",
        matte.to_str().unwrap(),
    ]);
    let out = dir.path().join("out.mkv");
    json_ok(&composite(&plate, &bg, &out, &["--json", "--matte", matte.to_str().unwrap()]));
    let got = frames(&out);
    // Without a key there is no screen to remove: the left half is the plate as shot.
    assert!(near(pixel(&got[0], 10, 10), SCREEN, 6), "{:?}", pixel(&got[0], 10, 10));
    assert!(near(pixel(&got[0], 150, 10), RED, 6), "{:?}", pixel(&got[0], 150, 10));
}

#[test]
fn a_noisy_phone_plate_keys_clean_with_no_setting_and_the_clip_points_still_override() {
    let dir = tempfile::tempdir().unwrap();
    // The plate as a phone at high ISO records it: strong temporal noise
    // (about 12/255 on luma), H.264 4:2:0 at CRF 23.
    let plate = dir.path().join("noisy.mp4");
    let src = format!("color=c=0x28B43C:s={W}x{H}:r=30,drawbox=x=60:y=30:w=40:h=40:color=0x8C8278:t=fill");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &src,
        "-vf",
        "noise=alls=20:allf=t,format=yuv420p",
        "-frames:v",
        "24",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        plate.to_str().unwrap(),
    ]);
    let sky = background(dir.path(), "sky.mkv", "160x96", "30");
    let (out, matte) = (dir.path().join("out.mkv"), dir.path().join("matte.mkv"));
    let run = composite(&plate, &sky, &out, &["--matte-out", matte.to_str().unwrap(), "--json"]);
    let report = json_ok(&run);
    let noise = report["composite"]["screen_noise"].as_array().expect("the screen's noise is reported");
    assert!(noise[1].as_f64().unwrap() > 5.0, "green noise {noise:?}");
    // (fraction of screen pixels the noise opened, mean change from frame to frame at the box's edge)
    let measure = |matte: &Path| {
        let frames = decoded(matte, "gray", 1);
        assert_eq!(frames.len(), 24);
        let open = frames
            .iter()
            .flat_map(|f| (0..H).flat_map(move |y| (0..40).map(move |x| f[y * W + x])))
            .filter(|&v| v > 12);
        let open = open.count() as f64 / (24 * H * 40) as f64;
        let mut change = 0.0;
        let mut n = 0;
        for pair in frames[8..].windows(2) {
            for y in 28..72 {
                for x in 56..64 {
                    change += (pair[0][y * W + x] as f64 - pair[1][y * W + x] as f64).abs();
                    n += 1;
                }
            }
        }
        let inside = frames.iter().all(|f| (45..55).all(|y| (75..85).all(|x| f[y * W + x] == 255)));
        (open, change / n as f64, inside)
    };
    let (open, flicker, inside) = measure(&matte);
    // Keyed frame by frame (no average over time) this plate measured 0.57%
    // of the screen open and 13/255 of change a frame at the box's edge;
    // with it, 0.00% and 0.5/255.
    assert!(open < 0.001, "the noise opened {:.2}% of the screen", open * 100.0);
    assert!(flicker < 1.0, "the box's still edge changes by {flicker:.2}/255 a frame");
    assert!(inside, "the box is not solid");
    // A clip black given by hand is obeyed: at 0 the screen's noise shows.
    let raw = dir.path().join("raw.mkv");
    let run = composite(
        &plate,
        &sky,
        &dir.path().join("raw-out.mkv"),
        &["--matte-out", raw.to_str().unwrap(), "--clip-black", "0", "-q"],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (open_raw, flicker_raw, _) = measure(&raw);
    assert!(open_raw > 0.05 && flicker_raw > flicker, "clip black 0: {open_raw} open, flicker {flicker_raw}");
}
