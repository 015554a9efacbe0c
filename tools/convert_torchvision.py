#!/usr/bin/env python3
"""Convert a torchvision model's pretrained weights to a safetensors file that seam loads.

OPTIONAL: nothing in seam's library or tests needs this script (or Python at all). It exists so
that a user with PyTorch and network access can bring ImageNet weights to seam's backbones, whose
state_dict names match torchvision's (seam/io/safetensors.hpp: load_state_dict_file).

Usage:
    # download the weights through torchvision and convert them (needs torch + torchvision):
    python3 tools/convert_torchvision.py --model vgg16 --weights IMAGENET1K_V1 --out vgg16.safetensors
    python3 tools/convert_torchvision.py --model resnet50 --weights DEFAULT --out resnet50.safetensors
    # convert a state_dict saved earlier with torch.save(model.state_dict(), "vgg16.pth") (needs torch):
    python3 tools/convert_torchvision.py --state-dict vgg16.pth --out vgg16.safetensors
    # half-size files: floating tensors written as F16 or BF16 (rounded to nearest even by torch)
    python3 tools/convert_torchvision.py --model vgg16 --weights DEFAULT --dtype BF16 --out vgg16-bf16.safetensors
    # check the writer without torch: writes a tiny file of known values
    python3 tools/convert_torchvision.py --self-test tiny.safetensors

Then, in C++:
    auto vgg = seam::models::vgg16<float>();            // the backbone with torchvision's names
    seam::io::load_state_dict_file(*vgg, "vgg16.safetensors");   // strict: every name must match

The file is written the way the reference safetensors writer (and safetensors.torch.save_file)
writes it: tensors ordered by decreasing dtype alignment then by name, "__metadata__" first in the
header, the header padded with spaces to a multiple of 8 bytes, data little-endian. Only torch (for
the weights), json, struct and ctypes are used; the safetensors package is not needed. Tensor names are
kept exactly; BatchNorm's int64 "num_batches_tracked" counters are written too (as I64) and
seam's loader skips them. The file is written to "<out>.tmp.<pid>", synced and renamed over <out>.
"""

import argparse
import ctypes
import json
import os
import struct
import sys

# safetensors dtype name -> (bytes per element, the reference's alignment rank: larger first).
DTYPES = {
    "BOOL": (1, 0), "U8": (1, 1), "I8": (1, 2), "F8_E5M2": (1, 3), "F8_E4M3": (1, 4),
    "I16": (2, 5), "U16": (2, 6), "F16": (2, 7), "BF16": (2, 8), "I32": (4, 9), "U32": (4, 10),
    "F32": (4, 11), "F64": (8, 12), "I64": (8, 13), "U64": (8, 14),
}


def write_safetensors(path, entries, metadata=None):
    """entries: list of (name, dtype, shape, raw little-endian bytes). Written atomically."""
    if sys.byteorder != "little":
        raise SystemExit("this writer copies tensor bytes as they are in memory; it needs a little-endian machine")
    names = [name for name, _, _, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError("repeated tensor names")
    for name, dtype, shape, raw in entries:
        if name == "__metadata__":
            raise ValueError('"__metadata__" cannot name a tensor')
        if dtype not in DTYPES:
            raise ValueError(f"{name}: unknown dtype {dtype}")
        count = 1
        for extent in shape:
            count *= extent
        if count * DTYPES[dtype][0] != len(raw):
            raise ValueError(f"{name}: {len(raw)} bytes for shape {list(shape)} of {dtype}")
    ordered = sorted(entries, key=lambda e: (-DTYPES[e[1]][1], e[0]))

    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    offset = 0
    for name, dtype, shape, raw in ordered:
        header[name] = {"dtype": dtype, "shape": [int(x) for x in shape], "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)

    temporary = f"{path}.tmp.{os.getpid()}"
    try:
        with open(temporary, "wb") as out:
            out.write(struct.pack("<Q", len(text)))
            out.write(text)
            for _, _, _, raw in ordered:
                out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def torch_entries(state_dict, dtype_override=None):
    """(name, dtype, shape, bytes) for each tensor of a torch state_dict."""
    import torch

    to_safetensors = {
        torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
        torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
        torch.uint8: "U8", torch.bool: "BOOL",
    }
    to_torch = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    entries = []
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu()
        if dtype_override and t.is_floating_point():
            t = t.to(to_torch[dtype_override])
        if t.dtype not in to_safetensors:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors equivalent")
        # The bytes of a contiguous CPU tensor, copied straight from its memory (data_ptr() is the
        # address of element 0; numel * element_size bytes follow it).
        t = t.contiguous()
        raw = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
        entries.append((name, to_safetensors[t.dtype], list(t.shape), raw))
    return entries


def self_test(path):
    """A tiny file of known values, written without torch (for checking a reader)."""
    entries = [
        ("features.0.weight", "F32", [2, 2], struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)),
        ("features.0.bias", "F64", [1], struct.pack("<d", 0.1)),
        ("bn.num_batches_tracked", "I64", [], struct.pack("<q", 7)),
        ("half", "F16", [2], struct.pack("<2H", 0x3C00, 0x7BFF)),   # 1.0, 65504
        ("brain", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC049)),  # 1.0, -3.140625
    ]
    write_safetensors(path, entries, {"source": "convert_torchvision.py --self-test"})
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a torchvision.models builder name: vgg16, vgg16_bn, resnet50, ...")
    parser.add_argument("--weights", default="DEFAULT", help="the weights enum member (IMAGENET1K_V1, DEFAULT, ...)")
    parser.add_argument("--state-dict", help="convert a torch.save()'d state_dict file instead of downloading")
    parser.add_argument("--dtype", choices=["F32", "F16", "BF16", "F64"], help="write floating tensors in this dtype")
    parser.add_argument("--out", help="the safetensors file to write")
    parser.add_argument("--self-test", metavar="PATH", help="write a tiny file of known values (no torch needed)")
    args = parser.parse_args()

    if args.self_test:
        self_test(args.self_test)
        return
    if not args.out or bool(args.model) == bool(args.state_dict):
        parser.error("give --out and exactly one of --model or --state-dict")

    import torch

    metadata = {"format": "pt"}
    if args.model:
        import torchvision

        builder = getattr(torchvision.models, args.model)
        weights = torchvision.models.get_model_weights(args.model)[args.weights] if args.weights != "DEFAULT" \
            else torchvision.models.get_model_weights(args.model).DEFAULT
        model = builder(weights=weights)
        state_dict = model.state_dict()
        metadata.update({"source": "torchvision", "model": args.model, "weights": str(weights)})
    else:
        state_dict = torch.load(args.state_dict, map_location="cpu", weights_only=True)
        if not isinstance(state_dict, dict):
            raise SystemExit(f"{args.state_dict}: expected a state_dict (a dict of tensors), got {type(state_dict).__name__}")
        metadata.update({"source": os.path.basename(args.state_dict)})
    entries = torch_entries(state_dict, args.dtype)
    write_safetensors(args.out, entries, metadata)
    total = sum(len(raw) for _, _, _, raw in entries)
    print(f"wrote {args.out}: {len(entries)} tensors, {total / 1e6:.1f} MB of data")


if __name__ == "__main__":
    main()
