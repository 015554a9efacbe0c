#!/usr/bin/env python3
"""bench/landmark_pool_torch.py -- the PyTorch peer of bench/bench_landmark_pool_cuda.cu.

FashionNet's landmark pooling (include/seam/ops/landmark_pool.hpp documents it) composed from
PyTorch ops, the way a PyTorch user writes it without a custom kernel: the window start of every
landmark from its normalised (x, y), the cells of all windows gathered by advanced indexing
(cells outside the map masked to -inf), amax over each bin's slice of the window, zero for a bin
with no cell inside the map, then the gate (hard: select; soft: multiply; none). Autograd
differentiates it. The one semantic difference from seam: on tied maxima amax shares the gradient
among the tied cells, seam gives it to the first in scan order (random inputs have no ties).

It first checks itself against naive Python loops written from the definition (small shapes,
float64, landmarks also outside [0, 1], gates none/hard/soft: output, features gradient and the
soft gate's visibility gradient), then, on a CUDA device, times forward and forward+backward with
torch.cuda.Event at FashionNet's shapes and prints the same table columns as
bench_landmark_pool_cuda, so that the two compare as a ratio. Same inputs: landmark k = n*L + l at
x = 0.1 + 0.8*frac(0.618034 k), y = 0.1 + 0.8*frac(0.414214 k); hard gate: every landmark visible;
soft gate: p = frac(0.754878 k); features randn. Timing: 3 warm-ups, then --reps samples, each
after an L2 flush (a buffer of twice the L2 size is written); "fwd" is the forward with autograd
recording (what a training step runs), "fwd+bwd" adds backward() with a fixed random gradient.

    python3 bench/landmark_pool_torch.py               # self-check, then timing on cuda:0
    python3 bench/landmark_pool_torch.py --check-only  # the self-check alone (CPU if no GPU)

Exit status: 0 done; 1 the self-check failed; 77 not run (no torch, or no CUDA device to time on:
the self-check has then run on the CPU).
"""
import argparse
import math
import sys


def window_start(torch, coord, size, cells):
    """First cell of each window: floor_div(floor(2*coord*size) - (cells - 1), 2), with the same
    single rounding (the product, in double) and the same clamp as seam's CPU and CUDA code."""
    twice = coord.double() * 2.0 * float(size)
    twice = twice.clamp(-2.0 * cells - 2.0, 2.0 * (size + cells) + 2.0)
    t = torch.floor(twice).long() - (cells - 1)
    return torch.div(t, 2, rounding_mode="floor")


def bin_bounds(b, bins, cells):
    """Window-relative bounds [floor(b*R/bins), ceil((b+1)*R/bins)) of bin b."""
    return b * cells // bins, ((b + 1) * cells + bins - 1) // bins


def landmark_pool(torch, features, landmarks, visibility, window=(7, 7), bins=(2, 2), gate="hard", threshold=0.5):
    """features [N, C, H, W], landmarks [N, L, 2] (x, y), visibility [N, L] -> [N, L, C, bh, bw]."""
    N, C, H, W = features.shape
    Rh, Rw = window
    bh, bw = bins
    dev = features.device
    rows = window_start(torch, landmarks[..., 1], H, Rh)[..., None] + torch.arange(Rh, device=dev)  # [N, L, Rh]
    cols = window_start(torch, landmarks[..., 0], W, Rw)[..., None] + torch.arange(Rw, device=dev)  # [N, L, Rw]
    row_in = (rows >= 0) & (rows < H)
    col_in = (cols >= 0) & (cols < W)
    n = torch.arange(N, device=dev)[:, None, None, None]
    # Advanced indices on dims 0, 2, 3 around the channel slice: the result is [N, L, Rh, Rw, C].
    win = features[n, :, rows.clamp(0, H - 1)[:, :, :, None], cols.clamp(0, W - 1)[:, :, None, :]]
    inside = (row_in[:, :, :, None] & col_in[:, :, None, :])[..., None]
    win = win.masked_fill(~inside, float("-inf")).permute(0, 1, 4, 2, 3)  # [N, L, C, Rh, Rw]
    zero = torch.zeros((), dtype=features.dtype, device=dev)
    bin_rows = []
    for u in range(bh):
        r0, r1 = bin_bounds(u, bh, Rh)
        bin_row = []
        for v in range(bw):
            c0, c1 = bin_bounds(v, bw, Rw)
            pooled = win[..., r0:r1, c0:c1].amax(dim=(-2, -1))  # [N, L, C]
            nonempty = row_in[..., r0:r1].any(-1) & col_in[..., c0:c1].any(-1)  # [N, L]
            bin_row.append(torch.where(nonempty[..., None], pooled, zero))
        bin_rows.append(torch.stack(bin_row, dim=-1))
    out = torch.stack(bin_rows, dim=-2)  # [N, L, C, bh, bw]
    if gate == "hard":
        out = torch.where((visibility.double() > threshold)[..., None, None, None], out, zero)
    elif gate == "soft":
        out = visibility[..., None, None, None] * out
    return out


# ----- the naive loops (plain Python, from the definition) ------------------------------------------

def naive(features, landmarks, visibility, grad_out, window, bins, gate, threshold=0.5):
    """Nested lists in, (out, d_features, d_visibility) as nested lists out. The window of a landmark
    at c = x*W is the cells k whose centre k + 0.5 lies in (c - R/2, c + R/2]; every bin scans its
    cells row by row and keeps the first maximum."""
    N, C, H, W = len(features), len(features[0]), len(features[0][0]), len(features[0][0][0])
    L = len(landmarks[0])
    Rh, Rw = window
    bh, bw = bins
    out = [[[[[0.0] * bw for _ in range(bh)] for _ in range(C)] for _ in range(L)] for _ in range(N)]
    d_features = [[[[0.0] * W for _ in range(H)] for _ in range(C)] for _ in range(N)]
    d_visibility = [[0.0] * L for _ in range(N)]

    def first_cell(coord, size, cells):
        c = coord * size
        k = math.floor(c) - cells - 1
        while not (k + 0.5 > c - cells / 2.0):
            k += 1
        return k

    for n in range(N):
        for l in range(L):
            x, y = landmarks[n][l]
            h_first, w_first = first_cell(y, H, Rh), first_cell(x, W, Rw)
            p = visibility[n][l] if gate != "none" else 1.0
            if gate == "hard" and not p > threshold:
                continue  # output 0, no gradient
            factor = p if gate == "soft" else 1.0
            for c in range(C):
                for u in range(bh):
                    r0, r1 = bin_bounds(u, bh, Rh)
                    for v in range(bw):
                        c0, c1 = bin_bounds(v, bw, Rw)
                        best, at = None, None
                        for h in range(max(h_first + r0, 0), min(h_first + r1, H)):
                            for w in range(max(w_first + c0, 0), min(w_first + c1, W)):
                                value = features[n][c][h][w]
                                if best is None or value > best:
                                    best, at = value, (h, w)
                        if best is None:
                            continue  # an empty bin: 0, no gradient
                        out[n][l][c][u][v] = factor * best
                        g = grad_out[n][l][c][u][v]
                        d_features[n][c][at[0]][at[1]] += factor * g
                        d_visibility[n][l] += g * best
    if gate != "soft":
        d_visibility = None
    return out, d_features, d_visibility


def flatten(nested):
    if isinstance(nested, list):
        return [v for item in nested for v in flatten(item)]
    return [nested]


def self_check(torch, device):
    """The composition against the naive loops; returns the number of failures."""
    cases = [  # N, C, H, W, L, window, bins
        (2, 3, 7, 9, 6, (3, 3), (2, 2)),
        (1, 5, 6, 5, 4, (4, 5), (3, 3)),
        (2, 2, 5, 7, 3, (11, 13), (2, 2)),
        (2, 4, 3, 11, 3, (2, 6), (3, 3)),
        (1, 3, 28, 28, 8, (7, 7), (2, 2)),
    ]
    gen = torch.Generator().manual_seed(0)
    failures = 0
    for N, C, H, W, L, window, bins in cases:
        features = torch.randn(N, C, H, W, generator=gen, dtype=torch.float64)
        landmarks = torch.rand(N, L, 2, generator=gen, dtype=torch.float64) * 1.8 - 0.4
        # Awkward places, exact in binary: corners, the middle, far outside, a quarter.
        special = [(0.0, 0.0), (1.0, 1.0), (0.5, 0.5), (-3.0, 0.5), (0.5, 7.0), (0.25, 0.75)]
        for l in range(min(L, len(special))):
            landmarks[0, l, 0], landmarks[0, l, 1] = special[l]
        visibility = torch.rand(N, L, generator=gen, dtype=torch.float64)
        visibility[0, min(1, L - 1)] = 0.5  # exactly the threshold: switched off by the hard gate
        grad_out = torch.randn(N, L, C, *bins, generator=gen, dtype=torch.float64)
        for gate in ("none", "hard", "soft"):
            f = features.clone().to(device).requires_grad_()
            vis = visibility.clone().to(device).requires_grad_(gate == "soft")
            out = landmark_pool(torch, f, landmarks.to(device), vis, window, bins, gate)
            out.backward(grad_out.to(device))
            want_out, want_df, want_dv = naive(features.tolist(), landmarks.tolist(), visibility.tolist(),
                                               grad_out.tolist(), window, bins, gate)
            checks = [("forward", out.detach(), want_out), ("d features", f.grad, want_df)]
            if gate == "soft":
                checks.append(("d visibility", vis.grad, want_dv))
            for what, got, want in checks:
                got = got.double().cpu().flatten().tolist()
                want = flatten(want)
                bad = [i for i, (a, b) in enumerate(zip(got, want)) if not abs(a - b) <= 1e-12 + 1e-12 * abs(b)]
                if len(got) != len(want) or bad:
                    failures += 1
                    i = bad[0] if bad else -1
                    print(f"self-check FAILED: N={N} C={C} {H}x{W} L={L} window {window} bins {bins} gate {gate}: "
                          f"{what}: {len(bad)} mismatches"
                          + (f", first at flat index {i}: got {got[i]!r}, expected {want[i]!r}" if bad else
                             f", {len(got)} values vs {len(want)}"))
    return failures


# ----- timing --------------------------------------------------------------------------------------

def bench_inputs(torch, N, C, H, W, L, gate, device):
    k = torch.arange(N * L, dtype=torch.float64)
    frac = lambda v: v - torch.floor(v)
    landmarks = torch.stack([0.1 + 0.8 * frac(0.618034 * k), 0.1 + 0.8 * frac(0.414214 * k)], dim=-1)
    visibility = torch.ones(N * L, dtype=torch.float64) if gate == "hard" else frac(0.754878 * k)
    gen = torch.Generator(device=device).manual_seed(7)
    features = torch.randn(N, C, H, W, generator=gen, device=device, dtype=torch.float32)
    return (features, landmarks.float().view(N, L, 2).to(device), visibility.float().view(N, L).to(device))


def time_cuda(torch, fn, reps, flush):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for r in range(reps):
        flush.fill_(r & 0xFF)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop))
    samples.sort()
    return samples[len(samples) // 2], samples[0]


def run_timing(torch, reps):
    device = torch.device("cuda", 0)
    props = torch.cuda.get_device_properties(device)
    l2 = getattr(props, "L2_cache_size", 0) or (50 << 20)
    flush_bytes = max(2 * l2, 8 << 20)
    flush = torch.empty(flush_bytes, dtype=torch.uint8, device=device)
    print(f"- device: {props.name} (sm_{props.major}{props.minor}, {props.multi_processor_count} SMs, L2 {l2 >> 20} MiB)")
    print(f"- PyTorch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"- timing: torch.cuda.Event, median and min of {reps} samples after 3 warm-ups; L2 flushed "
          f"({flush_bytes >> 20} MiB written) before each sample; float32\n")
    print("| shape | gate | fwd median ms | fwd min ms | fwd+bwd median ms | fwd+bwd min ms |")
    print("|---|---|---|---|---|---|")
    window, bins = (7, 7), (2, 2)
    for N in (32, 128):
        C, H, W, L = 512, 28, 28, 8
        for gate in ("hard", "soft"):
            features, landmarks, visibility = bench_inputs(torch, N, C, H, W, L, gate, device)
            features.requires_grad_()
            visibility.requires_grad_(gate == "soft")
            grad_out = torch.randn(N, L, C, *bins, device=device)

            def forward():
                return landmark_pool(torch, features, landmarks, visibility, window, bins, gate)

            def forward_backward():
                features.grad = None
                visibility.grad = None
                forward().backward(grad_out)

            fwd = time_cuda(torch, forward, reps, flush)
            both = time_cuda(torch, forward_backward, reps, flush)
            shape = f"N={N} C={C} {H}x{W} L={L} win {window[0]}x{window[1]} bins {bins[0]}x{bins[1]}"
            print(f"| {shape} | {gate} | {fwd[0]:.4f} | {fwd[1]:.4f} | {both[0]:.4f} | {both[1]:.4f} |")
            del features, landmarks, visibility, grad_out
            torch.cuda.empty_cache()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-only", action="store_true", help="run the self-check only")
    parser.add_argument("--device", default=None, help="device of the self-check (default: cuda if present, else cpu)")
    parser.add_argument("--reps", type=int, default=50, help="timed samples per figure")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("landmark_pool_torch: not run: no torch")
        return 77
    has_cuda = torch.cuda.is_available()
    device = torch.device(args.device or ("cuda" if has_cuda else "cpu"))
    print("# Landmark pooling (FashionNet) on the GPU: PyTorch composition (gather + amax + gate)\n")
    failures = self_check(torch, device)
    if failures:
        print(f"landmark_pool_torch: self-check FAILED ({failures} comparisons)")
        return 1
    print(f"- self-check on {device}: the composition equals naive Python loops (5 shapes x 3 gates, float64; "
          "output, features gradient, soft-gate visibility gradient)")
    if args.check_only:
        return 0
    if not has_cuda:
        print("landmark_pool_torch: timing not run: no CUDA device")
        return 77
    run_timing(torch, max(1, args.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
