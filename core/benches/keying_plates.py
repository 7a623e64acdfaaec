"""Builds the keying benchmark's plates from real photos of people.

    python3 core/benches/keying_plates.py OUT_DIR SHARED_DIR

Called by `cargo bench --bench composite`; writes into OUT_DIR (under
target/bench-data, never committed) and does nothing when the plates exist.

Photos come from package registries: scikit-image's wheel (astronaut,
camera; backgrounds coffee, rocket, chelsea) and Debian's opencv-doc
(messi5.jpg). A ground-truth matte per photo: the person segmentation model
in SHARED_DIR/models/selfie.onnx gives a coarse mask, which becomes a trimap
(eroded certain regions, a band of unknown around the edge), which
closed-form matting (pymatting) turns into a soft alpha, with the
foreground colour estimated by pymatting's multilevel method.

A plate is then made the way a camera would see it, in linear light:
foreground * alpha (with green or blue spill near the edges) plus the lit
screen * (1 - alpha), optionally with horizontal motion blur applied to
alpha and premultiplied foreground alike, then sRGB encoded. The alpha used
is by construction the exact matte of the plate, whatever the segmentation
got wrong about the photo. The ground-truth composite is the clean
foreground over a background photo.

Each plate is then filmed: FRAMES frames of the still scene, each with its
own sensor noise (sigma 1.5, 4, 8 or 12 /255 per channel, independent from
frame to frame), quantised to 8 bits and written three ways: lossless
(FFV1, RGB), H.264 4:2:0 at CRF 23 and ProRes 422 (both BT.601, tagged).
"""

import glob
import json
import os
import subprocess
import sys
import zipfile

OUT, SHARED = sys.argv[1], sys.argv[2]
VENV = os.path.join(OUT, "venv")
PACKAGES = ["numpy==2.4.6", "scipy==1.17.1", "pillow==13.0.0", "onnxruntime==1.31.1", "pymatting==1.1.16"]

# photo, crop box, motion blur (px) when blurred, background photo per screen
PHOTOS = [
    ("astronaut", "astronaut.png", None, 9, {"green": "coffee.png", "blue": "rocket.jpg"}),
    ("camera", "camera.png", None, 7, {"green": "chelsea.png", "blue": "coffee.png"}),
    ("messi", "messi5.jpg", (180, 40, 420, 342), 11, {"green": "rocket.jpg", "blue": "chelsea.png"}),
]
NOISE = [1.5, 4, 8, 12]
FRAMES = 12
# codec name, file extension, ffmpeg output options
CODECS = [
    ("lossless", "mkv", ["-c:v", "ffv1", "-pix_fmt", "bgr0"]),
    ("h264", "mp4", ["-c:v", "libx264", "-crf", "23", "-preset", "medium", "-pix_fmt", "yuv420p",
                     "-vf", "scale=out_color_matrix=bt601:out_range=tv", "-colorspace", "smpte170m",
                     "-color_primaries", "smpte170m", "-color_trc", "smpte170m"]),
    ("prores", "mov", ["-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le",
                       "-vf", "scale=out_color_matrix=bt601:out_range=tv", "-colorspace", "smpte170m",
                       "-color_primaries", "smpte170m", "-color_trc", "smpte170m"]),
]
# Chroma-key paint as an 8-bit camera records it under even light.
SCREENS = {"green": (0, 177, 64), "blue": (0, 71, 187)}


def run(*cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run(sys.executable, "-m", "venv", VENV)
        run(python, "-m", "pip", "install", "-q", *PACKAGES)
    if os.environ.get("MB_KEYING_IN_VENV") != "1":
        env = dict(os.environ, MB_KEYING_IN_VENV="1")
        sys.exit(subprocess.run([python, __file__, OUT, SHARED], env=env).returncode)


def fetch_photos():
    photos = os.path.join(OUT, "photos")
    os.makedirs(photos, exist_ok=True)
    if not os.path.exists(os.path.join(photos, "astronaut.png")):
        run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
            "scikit-image==0.26.0", "-d", photos)
        wheel = zipfile.ZipFile(glob.glob(os.path.join(photos, "scikit_image-*.whl"))[0])
        for name in ["astronaut.png", "camera.png", "coffee.png", "rocket.jpg", "chelsea.png"]:
            with open(os.path.join(photos, name), "wb") as f:
                f.write(wheel.read("skimage/data/" + name))
    if not os.path.exists(os.path.join(photos, "messi5.jpg")):
        run("apt-get", "download", "opencv-doc", cwd=photos)
        deb = glob.glob(os.path.join(photos, "opencv-doc_*.deb"))[0]
        run("dpkg", "-x", deb, os.path.join(photos, "deb"))
        src = glob.glob(os.path.join(photos, "deb", "usr", "share", "doc", "opencv-doc", "examples", "data", "messi5.jpg"))[0]
        os.replace(src, os.path.join(photos, "messi5.jpg"))
    return photos


def main():
    ensure_venv()
    import numpy as np
    import onnxruntime as ort
    from PIL import Image
    from pymatting import estimate_alpha_cf, estimate_foreground_ml
    from scipy import ndimage

    manifest = os.path.join(OUT, "grid.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            if all(entry.get("frames") == FRAMES for entry in json.load(f)):
                return
    photos = fetch_photos()
    session = ort.InferenceSession(os.path.join(SHARED, "models", "selfie.onnx"))

    def srgb_to_linear(v):
        return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)

    def linear_to_srgb(v):
        v = np.clip(v, 0, 1)
        return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)

    def person_alpha(image):
        x = np.asarray(image.resize((256, 256), Image.BILINEAR), np.float32)[None] / 255.0
        p = session.run(None, {"input_1:0": x})[0][0, :, :, 0]
        p = np.asarray(Image.fromarray((p * 255).astype(np.uint8)).resize(image.size, Image.BILINEAR), np.float64) / 255
        labels, n = ndimage.label(p > 0.5)
        sizes = ndimage.sum(np.ones_like(p), labels, range(1, n + 1))
        person = labels == (1 + int(np.argmax(sizes)))
        region = ndimage.binary_dilation(person, iterations=12)
        p = p * region
        trimap = np.full(p.shape, 0.5)
        trimap[ndimage.binary_erosion(p > 0.9, iterations=6)] = 1
        trimap[ndimage.binary_erosion(p < 0.1, iterations=6)] = 0
        img = np.asarray(image, np.float64) / 255
        alpha = np.clip(estimate_alpha_cf(img, trimap) * ndimage.gaussian_filter(region.astype(float), 3), 0, 1)
        return alpha, estimate_foreground_ml(img, alpha)

    rng = np.random.default_rng(7)
    entries = []
    frames_dir = os.path.join(OUT, "frames")
    os.makedirs(frames_dir, exist_ok=True)
    for label, photo, box, blur_px, backgrounds in PHOTOS:
        image = Image.open(os.path.join(photos, photo)).convert("RGB")
        if box:
            image = image.crop(box)
        alpha, fg = person_alpha(image)
        h, w = alpha.shape
        fg_lin = srgb_to_linear(np.clip(fg, 0, 1))
        # Uneven light on the screen: a left-to-right falloff and a vignette.
        yy, xx = np.mgrid[0:h, 0:w]
        light = (0.8 + 0.25 * xx / w) * (1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2))
        for screen in ["green", "blue"]:
            screen_lin = srgb_to_linear(np.array(SCREENS[screen], np.float64) / 255)[None, None, :] * light[..., None]
            # Spill: screen light bouncing onto the subject, strongest at its edge.
            near_edge = ndimage.gaussian_filter(1 - alpha, 8)
            spill = (0.25 * near_edge + 0.03)[..., None] * screen_lin
            for blur in [0, blur_px]:
                premult = alpha[..., None] * (fg_lin + spill)
                clean = alpha[..., None] * fg_lin
                a = alpha
                if blur:
                    kernel = np.ones(blur) / blur
                    a = ndimage.convolve1d(alpha, kernel, axis=1, mode="nearest")
                    premult = ndimage.convolve1d(premult, kernel, axis=1, mode="nearest")
                    clean = ndimage.convolve1d(clean, kernel, axis=1, mode="nearest")
                base = f"{label}_{screen}" + (f"_blur{blur}" if blur else "")
                plate = linear_to_srgb(premult + (1 - a[..., None]) * screen_lin)
                bg = Image.open(os.path.join(photos, backgrounds[screen])).convert("RGB").resize((w, h), Image.BICUBIC)
                bg_lin = srgb_to_linear(np.asarray(bg, np.float64) / 255)
                composite = linear_to_srgb(clean + (1 - a[..., None]) * bg_lin)
                bg.save(os.path.join(OUT, base + ".background.png"))
                a.astype("<f4").tofile(os.path.join(OUT, base + ".alpha.f32"))
                composite.astype("<f4").tofile(os.path.join(OUT, base + ".composite.f32"))
                for sigma in NOISE:
                    for old in glob.glob(os.path.join(frames_dir, "*.png")):
                        os.remove(old)
                    for i in range(FRAMES):
                        noisy = plate + rng.normal(0, sigma / 255, plate.shape)
                        frame8 = np.clip(np.round(noisy * 255), 0, 255).astype(np.uint8)
                        Image.fromarray(frame8).save(os.path.join(frames_dir, f"{i:02d}.png"))
                    for codec, ext, options in CODECS:
                        name = f"{base}.noise{sigma:g}.{codec}"
                        run("ffmpeg", "-hide_banner", "-v", "error", "-y", "-framerate", "24",
                            "-i", os.path.join(frames_dir, "%02d.png"), *options,
                            os.path.join(OUT, name + "." + ext))
                        entries.append({"name": name, "base": base, "file": name + "." + ext, "width": w,
                                        "height": h, "screen": screen, "motion_blur": blur, "noise": sigma,
                                        "codec": codec, "frames": FRAMES})
                print(f"  {base}: {w}x{h}, {screen} screen, motion blur {blur} px", flush=True)
    for old in glob.glob(os.path.join(frames_dir, "*.png")):
        os.remove(old)
    os.rmdir(frames_dir)
    with open(manifest + ".tmp", "w") as f:
        json.dump(entries, f, indent=1)
    os.replace(manifest + ".tmp", manifest)


main()
