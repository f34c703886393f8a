#!/usr/bin/env python
"""GPU probe: where warping + generator time goes, and which layout / compile variant is fastest.

Times each variant with CUDA events (median of repeats, after warm-up) at one batch size, states its
relative error against the float32 networks on the same inputs, and prints the top kernels of the
shipped compiled path from the profiler. A measuring tool for a lent GPU, not a test; figures it gave
are in docs/performance.md.

    python3 scripts/gpu_probe.py --batch 32 --weights DIR
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.acceleration import Routes, accelerate_renderer, depth_slices, fourier_heads  # noqa: E402
from liveportrait_core.weights.files import load_networks  # noqa: E402

DEVICE = torch.device("cuda")


def median_ms(fn: Callable[[], object], repeat: int = 10) -> float:
    """Median milliseconds of one call after two warm-up calls (CUDA events on a GPU, the host clock elsewhere)."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeat):
        if DEVICE.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def relative_error(out: Tensor, ref: Tensor) -> float:
    return float((out.float() - ref).norm() / ref.norm())


def networks(weights: Path, dtype: torch.dtype, compiled: bool, *extra_routes: str):
    """Fresh networks with W and G accelerated as the engine does for this device, in ``dtype``, eager or
    ``compiled``, with the named routes on too (CPU routes timed on this device)."""
    nets = load_networks(weights, download=False, device=DEVICE)
    routes = dataclasses.replace(Routes.for_device(DEVICE.type), **{name: True for name in extra_routes})
    nets.warping, nets.generator = accelerate_renderer(nets.warping, nets.generator, DEVICE, dtype, compiled, routes)
    return nets


def report(label: str, ms: float, batch: int, err: float | None = None, extra: str = "") -> None:
    tail = f"  rel.err {err:.2e}" if err is not None else ""
    print(f"{label:<46}{ms / batch:>9.3f} ms/frame{tail}{extra}", flush=True)


FFT_SIZE = (24, 72, 72)  # >= (16, 64, 64) + 7 - 1 in each axis, so the circular convolution is the linear one


def kernel_spectrum(conv: nn.Conv3d) -> Tensor:
    """(F, C, O) complex64: the 3-D spectra of ``conv``'s (flipped) kernels, frequency first, for :func:`fft_conv3d`."""
    spectrum = torch.fft.rfftn(conv.weight.float().flip(2, 3, 4), s=FFT_SIZE, dim=(2, 3, 4))
    return spectrum.flatten(2).permute(2, 1, 0).contiguous()


def fft_conv3d(x: Tensor, spectrum: Tensor, bias: Tensor, k: int = 7) -> Tensor:
    """A candidate for the mask head: the 'same' 7x7x7 convolution as a product of spectra, in float32.
    About 1.6 GFLOP a frame instead of 140, but memory-bound (FFTs of 142 x 24 x 72 x 72 and a 1.6 GB kernel
    spectrum). (B, C, D, H, W) -> (B, O, D, H, W)."""
    b, _, d, h, w = x.shape
    spectra = torch.fft.rfftn(x.float(), s=FFT_SIZE, dim=(2, 3, 4))
    out = torch.bmm(spectra.flatten(2).permute(2, 0, 1), spectrum)  # per frequency: (B, C) @ (C, O)
    out = out.permute(1, 2, 0).reshape(b, -1, *FFT_SIZE[:2], FFT_SIZE[2] // 2 + 1)
    p = k // 2
    y = torch.fft.irfftn(out, s=FFT_SIZE, dim=(2, 3, 4))[:, :, p:p + d, p:p + h, p:p + w]
    return y + bias.float()[:, None, None, None]


def padded_heads(x: Tensor, mask: nn.Conv3d, occlusion: nn.Conv2d, multiple: int) -> tuple[Tensor, nn.Conv3d, nn.Conv2d]:
    """``x`` (channels-last) and both heads with the input channels zero-padded to a multiple of ``multiple``."""
    b, c, d, h, w = x.shape
    padded = c + -c % multiple
    xp = x.new_zeros(b, padded, d, h, w).contiguous(memory_format=torch.channels_last_3d)
    xp[:, :c] = x
    conv_p = nn.Conv3d(padded, mask.out_channels, mask.kernel_size, padding=mask.padding).to(x.device, x.dtype)
    occlusion_p = nn.Conv2d(padded * d, 1, occlusion.kernel_size, padding=occlusion.padding).to(x.device, x.dtype)
    with torch.no_grad():
        conv_p.weight.zero_()
        conv_p.weight[:, :c] = mask.weight
        conv_p.bias.copy_(mask.bias)
        occlusion_p.weight.zero_()
        occlusion_p.weight.view(1, padded, d, *occlusion.kernel_size)[:, :c] = occlusion.weight.view(1, c, d, *occlusion.kernel_size)
        occlusion_p.bias.copy_(occlusion.bias)
    return xp, conv_p, occlusion_p


def probe_mask_conv(b: int, dtype: torch.dtype) -> None:
    """The mask head alone (7x7x7, 142 -> 22 channels), the largest single convolution of W, in each layout."""
    conv = nn.Conv3d(142, 22, 7, padding=3).to(DEVICE, dtype)
    x = torch.randn(b, 142, 16, 64, 64, device=DEVICE, dtype=dtype)
    ref = F.conv3d(x.float(), conv.weight.float(), conv.bias.float(), padding=3)
    x_cl, w_cl = (t.contiguous(memory_format=torch.channels_last_3d) for t in (x, conv.weight))
    spectrum = kernel_spectrum(conv)
    for label, fn in [("mask conv NCDHW", lambda: conv(x)),
                      ("mask conv NDHWC", lambda: F.conv3d(x_cl, w_cl, conv.bias, padding=3)),
                      ("mask conv by depth taps, NDHWC", lambda: depth_slices.conv3d_by_depth_taps(x_cl, conv)),
                      ("mask conv by 3-D FFT, float32", lambda: fft_conv3d(x, spectrum, conv.bias))]:
        out = fn()
        report(label, median_ms(fn), b, relative_error(out, ref))
    occlusion = nn.Conv2d(142 * 16, 1, 7, padding=3).to(DEVICE, dtype)
    ref = F.conv2d(x.float().flatten(1, 2), occlusion.weight.float(), occlusion.bias.float(), padding=3)
    for label, fn in [("occlusion conv, flattened depth", lambda: occlusion(x.flatten(1, 2))),
                      ("occlusion conv over depth slices, NDHWC",
                       lambda: depth_slices.conv2d_over_flattened_depth(x_cl, occlusion))]:
        report(label, median_ms(fn), b, relative_error(fn(), ref))
    # cuDNN runs 2-D convolutions whose input channels are a multiple of 8 on its sm90 kernels; 142 is not
    xp, conv_p, occlusion_p = padded_heads(x_cl, conv, occlusion, 8)
    report("mask conv by depth taps, channels padded to 144", median_ms(lambda: depth_slices.conv3d_by_depth_taps(xp, conv_p)),
           b, relative_error(depth_slices.conv3d_by_depth_taps(xp, conv_p), F.conv3d(x.float(), conv.weight.float(), conv.bias.float(), padding=3)))
    report("occlusion over depth slices, channels padded to 144",
           median_ms(lambda: depth_slices.conv2d_over_flattened_depth(xp, occlusion_p)), b,
           relative_error(depth_slices.conv2d_over_flattened_depth(xp, occlusion_p), ref))
    report("padding the volume to 144 channels", median_ms(lambda: xp[:, :x.shape[1]].copy_(x_cl)), b)
    heads = copy.deepcopy(conv).float(), copy.deepcopy(occlusion).float()
    fourier = lambda: fourier_heads.fourier_heads(x.float(), *heads)  # noqa: E731
    report("both heads by tiled 2-D FFT, float32 (occl. err)", median_ms(fourier), b, relative_error(fourier()[1], ref))
    print(flush=True)


@torch.inference_mode()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--dtype", default="fp16", choices=("bf16", "fp16"))
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--heads-only", action="store_true", help="time W's two heads alone, then stop")
    p.add_argument("--device", default="cuda", help="cpu for a quick check of this script")
    args = p.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # a true float32 reference
    b, dtype = args.batch, {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    torch.manual_seed(0)
    feat = (torch.randn(1, 32, 16, 64, 64, device=DEVICE) * 0.5).expand(b, -1, -1, -1, -1)
    kd = torch.randn(b, 21, 3, device=DEVICE) * 0.3
    ks = kd + 0.02 * torch.randn(b, 21, 3, device=DEVICE)
    name = torch.cuda.get_device_name() if DEVICE.type == "cuda" else "CPU"
    print(f"{name}; torch {torch.__version__}; batch {b}; {args.dtype}\n", flush=True)

    ref_nets = load_networks(args.weights, download=False, device=DEVICE)
    ref_w = ref_nets.warping(feat, kd, ks)["out"]
    ref_frames = ref_nets.generator(ref_w)
    del ref_nets
    probe_mask_conv(b, dtype)
    if args.heads_only:
        return

    eager = networks(args.weights, dtype, False)
    w_eager = lambda: eager.warping(feat, kd, ks)["out"]  # noqa: E731
    report("W eager", median_ms(w_eager), b, relative_error(w_eager(), ref_w))
    for extra in ("sliced_heads", "phases"):
        variant = networks(args.weights, dtype, False, extra).warping
        w_variant = lambda: variant(feat, kd, ks)["out"]  # noqa: E731
        report(f"W eager, {extra.replace('_', ' ')}", median_ms(w_variant), b, relative_error(w_variant(), ref_w))
    g_eager = lambda: eager.generator(ref_w)  # noqa: E731
    report("G eager", median_ms(g_eager), b, relative_error(g_eager(), ref_frames))
    variant = networks(args.weights, dtype, False, "phases", "folded_shortcut").generator
    report("G eager, phases + folded shortcut", median_ms(lambda: variant(ref_w)), b,
           relative_error(variant(ref_w), ref_frames))
    if args.no_compile:
        return

    nets = networks(args.weights, dtype, True)
    start = time.perf_counter()
    cw = torch.compile(nets.warping, options={"freezing": True})
    out = cw(feat, kd, ks)["out"]
    report("W compiled", median_ms(lambda: cw(feat, kd, ks)), b, relative_error(out, ref_w),
           f"  (compile {time.perf_counter() - start:.0f} s)")
    start = time.perf_counter()
    cg = torch.compile(nets.generator, options={"freezing": True})
    frames = cg(ref_w)
    report("G compiled", median_ms(lambda: cg(ref_w)), b, relative_error(frames, ref_frames),
           f"  (compile {time.perf_counter() - start:.0f} s)")
    report("W eager + G compiled", median_ms(lambda: cg(w_eager())), b)
    wg = lambda: cg(cw(feat, kd, ks)["out"])  # noqa: E731
    report("W + G compiled", median_ms(wg), b, relative_error(wg(), ref_frames))
    best = None
    for routes in (("sliced_heads",), ("sliced_heads", "folded_shortcut")):
        fresh = networks(args.weights, dtype, True, *routes)  # fresh W and G compiled with these routes
        cws = torch.compile(fresh.warping, options={"freezing": True})
        cgs = torch.compile(fresh.generator, options={"freezing": True})
        label = " + ".join(name.replace("_", " ") for name in routes)
        report(f"W compiled, {label}", median_ms(lambda: cws(feat, kd, ks)), b,
               relative_error(cws(feat, kd, ks)["out"], ref_w))
        report(f"G compiled, {label}", median_ms(lambda: cgs(ref_w)), b, relative_error(cgs(ref_w), ref_frames))
        wgs = lambda: cgs(cws(feat, kd, ks)["out"])  # noqa: E731
        report(f"W + G compiled, {label}", median_ms(wgs), b, relative_error(wgs(), ref_frames))
        best = routes, wgs
    routes, wgs = best
    fresh = networks(args.weights, dtype, True, *routes)
    graphed = {"freezing": True, "triton.cudagraphs": True}
    cwg = torch.compile(lambda f, d, s: fresh.generator(fresh.warping(f, d, s)["out"]), options=graphed)
    start = time.perf_counter()
    try:
        out = cwg(feat, kd, ks).clone()
        report(f"W + G compiled, CUDA graphs, {' + '.join(routes)}", median_ms(lambda: cwg(feat, kd, ks).clone()), b,
               relative_error(out, ref_frames), f"  (compile {time.perf_counter() - start:.0f} s)")
    except Exception as err:  # a probe: report and go on
        print(f"CUDA graphs failed: {type(err).__name__}: {err}", flush=True)
    for label, host in (("float32 frames to host", lambda x: x.float().cpu()),
                        ("uint8 frames to host", lambda x: (x.float().clamp(0, 1) * 255).to(torch.uint8).cpu())):
        report(f"W + G compiled, {label}", median_ms(lambda: host(wgs())), b)
    if DEVICE.type == "cuda":
        from torch.profiler import ProfilerActivity, profile

        torch.cuda.synchronize()
        start = time.perf_counter()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            wgs()
            torch.cuda.synchronize()
        wall = (time.perf_counter() - start) * 1e3
        kernels = sum(e.self_device_time_total for e in prof.key_averages()) / 1e3
        print(f"profiled W + G ({' + '.join(routes)}): wall {wall / b:.3f} ms/frame, kernels {kernels / b:.3f} ms/frame")
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=20, max_name_column_width=90), flush=True)


if __name__ == "__main__":
    main()
