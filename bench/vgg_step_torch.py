#!/usr/bin/env python3
"""bench/vgg_step_torch.py -- the PyTorch peer of bench/bench_vgg_step_cuda.cpp.

One training step of VGG-16's conv trunk (13 Conv2d 3x3 padding 1 with bias, each followed by
ReLU, 5 MaxPool2d 2x2: bench/vgg_trunk.hpp's network) in PyTorch eager on the GPU: forward,
loss = sum of squares of the output, backward, torch.optim.SGD step (lr 1e-6, momentum 0.9; PyTorch's
default implementation, foreach on CUDA) and zero_grad (set_to_none, PyTorch's default). float32
with TF32 disabled for matmuls and cuDNN convolutions, so the precision matches seam's fp32
kernels (--tf32: TF32 allowed in cuDNN's convolutions instead, the peer of seam's TF32 conv kernels,
row "seam tf32" of bench_vgg_step_cuda --conv tf32). cudnn.benchmark is off unless --cudnn-benchmark is given: with it cuDNN times its
algorithms on the first step of each shape and keeps the fastest, which makes it the fair
"fastest PyTorch" peer; without it cuDNN's heuristics choose, PyTorch's default.

Same flags, same method and the same table as bench_vgg_step_cuda, so that bench/gpu_check.sh
joins the two rows into a step-time ratio:
  * validation before timing: the same network and input (batch 2, 32x32) on the CPU and on the
    GPU; loss, outputs and every parameter gradient within 1e-3 relative to the largest CPU value
    of each tensor (0.25 with --tf32: see TF32_TOLERANCE) (exit 1 otherwise);
  * --warmup steps, then --steps steps; a step's time is the host clock from torch.cuda.synchronize()
    before the forward to one after zero_grad; median and min; forward / backward / update split from
    CUDA events recorded between the phases;
  * conv GFLOP/s: 3x the 13 convolutions' forward FLOPs per step, over the median step;
  * peak memory: torch.cuda.max_memory_allocated over the warm-up and timed steps (PyTorch's
    caching allocator; parameters, momentum buffers and the input included).

    python3 bench/vgg_step_torch.py [--batch 16] [--size 224] [--steps 10] [--warmup 3]
                                    [--cudnn-benchmark] [--tf32] [--out FILE.md]

Exit status: 0 done, or not run because torch is not installed ("no torch"); 1 validation or run
failed; 2 bad flags; 77 not run: torch is installed but no CUDA device is usable.
"""
import argparse
import math
import sys
import time

# bench/vgg_trunk.hpp's kVgg16TrunkConfig: output channels of each conv, 0 = a 2x2 max-pool.
VGG16_TRUNK = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]
LEARNING_RATE, MOMENTUM = 1e-6, 0.9
TOLERANCE = 1e-3
# With TF32 the 13 convolutions each round their operands to 10-bit mantissas (unit roundoff
# 2^-11 = 4.9e-4). The check's 32x32 input leaves the last blocks 2x2 and 1x1 pixels, where a
# rounding that flips a ReLU or a max-pool choice moves a few weights' gradients by a sizable part of
# the largest one: measured on an H200 (2026-11-27), worst gradient error 0.11 here (cuDNN's TF32)
# and 0.12 for seam's TF32 kernels. 0.25 passes both and still fails a wrong kernel, whose errors
# are of the order of the values. The same rule as bench_vgg_step_cuda's.
TF32_TOLERANCE = 0.25
CHECK_BATCH, CHECK_SIZE = 2, 32


def make_trunk(torch):
    layers, channels = [], 3
    for c in VGG16_TRUNK:
        if c == 0:
            layers.append(torch.nn.MaxPool2d(2))
            continue
        layers += [torch.nn.Conv2d(channels, c, 3, padding=1), torch.nn.ReLU()]
        channels = c
    return torch.nn.Sequential(*layers)


def conv_flops(batch, size):
    """Forward FLOPs (2 per multiply-add) of the 13 convolutions (bench/vgg_trunk.hpp's formula)."""
    flops, channels = 0.0, 3
    for c in VGG16_TRUNK:
        if c == 0:
            size //= 2
            continue
        flops += 2.0 * batch * c * size * size * channels * 9
        channels = c
    return flops


def relative_error(got, want):
    """max |got - want| / max |want| over one tensor (the absolute difference when want is all zero)."""
    got, want = got.detach().double().cpu().flatten(), want.detach().double().cpu().flatten()
    if got.shape != want.shape:
        return math.inf
    diff = (got - want).abs().max().item() if got.numel() else 0.0
    scale = want.abs().max().item() if want.numel() else 0.0
    if not math.isfinite(diff):
        return math.inf
    return diff / scale if scale > 0 else diff


def validate(torch, device, tolerance):
    """One forward + backward of the same weights and input on the CPU and on `device`. Returns
    the summary line, or None after printing the failure."""
    torch.manual_seed(7)
    cpu_net = make_trunk(torch)
    gpu_net = make_trunk(torch).to(device)
    gpu_net.load_state_dict(cpu_net.state_dict())
    x = torch.randn(CHECK_BATCH, 3, CHECK_SIZE, CHECK_SIZE, generator=torch.Generator().manual_seed(11))
    results = []
    for net, xin in ((cpu_net, x), (gpu_net, x.to(device))):
        y = net(xin)
        loss = (y * y).sum()
        loss.backward()
        results.append((loss.item(), y.detach().cpu(), [p.grad.detach().cpu() for p in net.parameters()]))
    (cpu_loss, cpu_out, cpu_grads), (gpu_loss, gpu_out, gpu_grads) = results
    loss_error = abs(gpu_loss - cpu_loss) / max(abs(cpu_loss), 1e-30)
    output_error = relative_error(gpu_out, cpu_out)
    names = [name for name, _ in cpu_net.named_parameters()]
    grad_errors = [relative_error(g, c) for g, c in zip(gpu_grads, cpu_grads)]
    worst = max(range(len(grad_errors)), key=lambda i: grad_errors[i])
    first = lambda t: " ".join(f"{v:g}" for v in t.flatten()[:3].tolist())
    line = (f"batch {CHECK_BATCH}, {CHECK_SIZE}x{CHECK_SIZE}: loss CPU {cpu_loss:g}, GPU {gpu_loss:g} "
            f"(relative error {loss_error:g}); output {list(cpu_out.shape)} first values CPU {first(cpu_out)}, "
            f"GPU {first(gpu_out)} (all {cpu_out.numel()} values: relative error {output_error:g}); worst of the "
            f"{len(grad_errors)} parameter gradients {grad_errors[worst]:g} ({names[worst]})")
    ok = (loss_error <= tolerance and output_error <= tolerance and max(grad_errors) <= tolerance
          and math.isfinite(cpu_loss) and cpu_loss > 0)
    if not ok:
        print(f"vgg_step_torch: FAILED validation against the CPU (tolerance {tolerance:g}): {line}")
        return None
    return line


def set_tf32(torch, allow):
    """Full fp32 in cuBLAS and cuDNN (allow False): TF32 would round the convolutions' inputs to
    10-bit mantissas, which seam's fp32 kernels do not do, so the two would not compute the same
    thing; TF32 allowed (allow True) is the peer of seam's TF32 conv kernels. The legacy flags set
    every op's precision at once (cuDNN conv and RNN alike); PyTorch >= 2.9 warns that they will be
    deprecated and reads its per-op fp32_precision settings, so those are read back to report what
    is in effect. Mixing the two APIs for writing makes PyTorch raise, hence only the legacy one
    is written unless it is gone. Returns a description for the report."""
    try:
        torch.backends.cuda.matmul.allow_tf32 = allow
        torch.backends.cudnn.allow_tf32 = allow
    except (AttributeError, RuntimeError):  # a PyTorch without the legacy flags
        precision = "tf32" if allow else "ieee"
        torch.backends.cuda.matmul.fp32_precision = precision
        torch.backends.cudnn.conv.fp32_precision = precision
        torch.backends.cudnn.rnn.fp32_precision = precision
    try:
        return (f"matmul {torch.backends.cuda.matmul.fp32_precision}, "
                f"cuDNN conv {torch.backends.cudnn.conv.fp32_precision}")
    except (AttributeError, RuntimeError):  # before PyTorch 2.9: only the legacy flags exist
        return (f"matmul allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
                f"cuDNN allow_tf32={torch.backends.cudnn.allow_tf32}")


def run(torch, args):
    device = torch.device("cuda", 0)
    precision = set_tf32(torch, bool(args.tf32))
    torch.backends.cudnn.benchmark = bool(args.cudnn_benchmark)
    props = torch.cuda.get_device_properties(device)

    validation = validate(torch, device, TF32_TOLERANCE if args.tf32 else TOLERANCE)
    if validation is None:
        return 1
    print(f"vgg_step_torch: validated against the CPU; timing batch {args.batch}, {args.size}x{args.size}",
          file=sys.stderr)

    torch.manual_seed(7)
    net = make_trunk(torch).to(device)
    sgd = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(11)).to(device)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(4)]

    def step():
        torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        events[0].record()
        y = net(x)
        loss = (y * y).sum()
        del y
        events[1].record()
        loss.backward()
        events[2].record()
        sgd.step()
        sgd.zero_grad()
        events[3].record()
        torch.cuda.synchronize(device)
        total = 1e3 * (time.perf_counter() - t0)
        phases = [events[i].elapsed_time(events[i + 1]) for i in range(3)]
        return total, phases, loss.item()  # item() after the clock, as in bench_vgg_step_cuda

    torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.warmup):
        step()
    steps = [step() for _ in range(args.steps)]
    peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
    reserved_mib = torch.cuda.memory_reserved(device) / 2**20
    last_loss = steps[-1][2]
    if not math.isfinite(last_loss):
        print(f"vgg_step_torch: the loss is not finite after the timed steps ({last_loss})")
        return 1

    # The median of bench_vgg_step_cuda: the upper middle for an even count (v[n/2] of the sorted list).
    def median(values):
        return sorted(values)[len(values) // 2]

    totals = [s[0] for s in steps]
    step_median, step_min = median(totals), min(totals)
    fwd, bwd, upd = (median([s[1][i] for s in steps]) for i in range(3))
    flops = conv_flops(args.batch, args.size)
    bench_mode = "on" if args.cudnn_benchmark else "off"
    out_size = args.size // 32
    text = (
        f"# VGG-16 conv trunk, one training step on the GPU: PyTorch eager (cudnn.benchmark {bench_mode})\n\n"
        f"- device: {props.name} (sm_{props.major}{props.minor}, {props.multi_processor_count} SMs, "
        f"{props.total_memory / 2**30:.1f} GiB)\n"
        f"- PyTorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}; fp32, "
        f"TF32 {'allowed' if args.tf32 else 'off'} ({precision}), cudnn.benchmark {bench_mode}\n"
        f"- network: torch.nn.Sequential of 13 Conv2d 3x3 (bias) + ReLU, 5 MaxPool2d 2x2; input "
        f"[{args.batch}, 3, {args.size}, {args.size}], output [{args.batch}, 512, {out_size}, {out_size}]\n"
        f"- step = forward + loss (sum of squares of the output) + backward + torch.optim.SGD step (lr 1e-6, "
        f"momentum 0.9) + zero_grad\n"
        f"- timing: {args.warmup} warm-up steps, then {args.steps} steps; host clock between device "
        f"synchronisations; phase split from CUDA events (medians)\n"
        f"- conv FLOPs: {flops / 1e9:.1f} GFLOP forward, x3 per step (GFLOP/s counts only these)\n"
        f"- validation before timing (CPU vs GPU, same weights and input): {validation}\n\n"
        "| implementation | batch | size | step median ms | step min ms | fwd / bwd / update ms | conv GFLOP/s "
        "(median step) | peak memory MiB |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| PyTorch cudnn.benchmark={bench_mode}{' TF32' if args.tf32 else ''} | {args.batch} | {args.size} | {step_median:.2f} | {step_min:.2f} | "
        f"{fwd:.2f} / {bwd:.2f} / {upd:.2f} | {3 * flops / (step_median * 1e6):.0f} | {peak_mib:.0f} |\n\n"
        f"Peak memory is torch.cuda.max_memory_allocated; PyTorch's allocator held {reserved_mib:.0f} MiB at the end "
        f"(cache included). Loss after the last step: {last_loss:g}\n")
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224, help="input height and width (>= 32)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="torch.backends.cudnn.benchmark = True (cuDNN picks its fastest algorithms)")
    parser.add_argument("--tf32", action="store_true",
                        help="allow TF32 in cuDNN's convolutions (and matmuls): the peer of seam's TF32 conv")
    parser.add_argument("--out", default="", help="also write the report to this markdown file")
    args = parser.parse_args()
    if args.batch < 1 or args.size < 32 or args.steps < 1 or args.warmup < 0:
        parser.error("--batch and --steps must be >= 1, --size >= 32, --warmup >= 0")
    try:
        import torch
    except ImportError:
        print("vgg_step_torch: not run: no torch")
        return 0
    if not torch.cuda.is_available():
        print(f"vgg_step_torch: not run: no usable CUDA device (PyTorch {torch.__version__}, "
              f"built with CUDA {torch.version.cuda})")
        return 77
    try:
        return run(torch, args)
    except RuntimeError as e:  # CUDA errors, out of memory
        print(f"vgg_step_torch: error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
