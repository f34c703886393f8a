"""Chunked rendering: bounded batches, padding for compiled networks, progress and interruption, compile fallback."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from liveportrait_core.acceleration import runtime
from liveportrait_core.pipeline.render import render_chunks


class FakeWarping(nn.Module):
    """Records batch sizes; 'renders' the mean driving keypoint so frames are distinguishable."""

    def __init__(self):
        super().__init__()
        self.batches: list[int] = []

    def forward(self, feature, kp_driving, kp_source):
        self.batches.append(kp_driving.shape[0])
        assert feature.shape[0] == kp_source.shape[0] == kp_driving.shape[0]
        return {"out": kp_driving.mean(dim=(1, 2))[:, None, None, None].expand(-1, 3, 2, 2)}


def identity_generator(x):
    return x


def test_chunks_are_bounded_ordered_and_padded():
    kp = torch.arange(7, dtype=torch.float32)[:, None, None].expand(7, 21, 3)
    warping = FakeWarping()
    frames = torch.cat(list(render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), kp, chunk_size=3)))
    assert warping.batches == [3, 3, 1]
    torch.testing.assert_close(frames[:, 0, 0, 0], torch.arange(7, dtype=torch.float32))
    warping = FakeWarping()
    padded = torch.cat(list(render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), kp,
                                          chunk_size=3, pad_last=True)))
    assert warping.batches == [3, 3, 3]
    torch.testing.assert_close(padded, frames)


def test_progress_after_each_chunk_and_interrupt_stops():
    kp = torch.zeros(5, 21, 3)
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done >= 4:
            raise KeyboardInterrupt("stop")

    warping = FakeWarping()
    with pytest.raises(KeyboardInterrupt):
        for _ in render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), kp, chunk_size=2,
                               on_progress=progress):
            pass
    assert seen == [(2, 5), (4, 5)] and warping.batches == [2, 2]


def test_invalid_chunk_size():
    with pytest.raises(ValueError, match="chunk_size"):
        next(render_chunks(FakeWarping(), identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), torch.zeros(1, 21, 3), 0))


def test_compile_failure_falls_back_to_eager(monkeypatch):
    def broken_compile(module, **kwargs):
        def run(*args, **kw):
            raise RuntimeError("no compiler here")
        return run

    monkeypatch.setattr(runtime.torch, "compile", broken_compile)
    module = runtime.CompileOrEager(nn.Linear(2, 2))
    x = torch.ones(1, 2)
    with pytest.warns(UserWarning, match="running eagerly"):
        out = module(x)
    torch.testing.assert_close(out, module.eager(x))
    assert module.failed


@pytest.mark.slow
def test_real_compile_of_the_generator_matches_eager():
    """torch.compile (inductor, freezing) of the real generator architecture agrees with eager on CPU."""
    from liveportrait_core.networks.spade_generator import SPADEDecoder

    torch.manual_seed(0)
    generator = SPADEDecoder().eval()
    for conv in generator.modules():
        if hasattr(conv, "weight_u"):  # plausible spectral-norm vectors instead of zeros
            conv.weight_u.normal_()
            conv.weight_v.normal_()
    x = torch.randn(1, 256, 8, 8) * 0.2
    wrapper = runtime.CompileOrEager(generator)
    with torch.inference_mode():
        eager = generator(x)
        compiled = wrapper(x)
    assert not wrapper.failed, "torch.compile fell back to eager"
    torch.testing.assert_close(compiled, eager, atol=1e-4, rtol=1e-3)


def test_overflowing_chunk_is_rendered_again_by_the_fallback():
    class NaNWarping(FakeWarping):
        def forward(self, feature, kp_driving, kp_source):
            out = super().forward(feature, kp_driving, kp_source)["out"].clone()
            out[0] = float("nan")
            return {"out": out}

    kp = torch.ones(3, 21, 3)
    calls = []

    def fallback(kd):
        calls.append(kd.shape[0])
        return torch.full((kd.shape[0], 3, 2, 2), 0.5)

    with pytest.warns(UserWarning, match="overflowed in low precision"):
        frames = torch.cat(list(render_chunks(NaNWarping(), identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), kp,
                                              chunk_size=2, fallback=fallback)))
    assert calls == [2, 1] and torch.isfinite(frames).all() and frames.shape[0] == 3


class ScarceMemoryWarping(FakeWarping):
    """Runs out of memory on batches larger than ``fits`` (like CUDA or the CPU allocator)."""

    def __init__(self, fits: int, error: RuntimeError):
        super().__init__()
        self.fits, self.error = fits, error

    def forward(self, feature, kp_driving, kp_source):
        if kp_driving.shape[0] > self.fits:
            self.batches.append(-kp_driving.shape[0])
            raise self.error
        return super().forward(feature, kp_driving, kp_source)


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                   RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 GB")])
def test_out_of_memory_halves_the_chunk_and_renders_every_frame(error):
    kp = torch.arange(9, dtype=torch.float32)[:, None, None].expand(9, 21, 3)
    warping, seen = ScarceMemoryWarping(fits=2, error=error), []
    with pytest.warns(UserWarning, match="out of memory at frame 0") as warned:
        frames = torch.cat(list(render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), kp,
                                              chunk_size=8, on_progress=lambda done, total: seen.append(done))))
    assert [str(w.message).split()[-2] for w in warned] == ["4", "2"]
    assert warping.batches == [-8, -4, 2, 2, 2, 2, 1]
    torch.testing.assert_close(frames[:, 0, 0, 0], torch.arange(9, dtype=torch.float32))
    assert seen == [2, 4, 6, 8, 9]


def test_out_of_memory_for_one_frame_says_what_to_do():
    warping = ScarceMemoryWarping(fits=0, error=torch.OutOfMemoryError("CUDA out of memory"))
    with pytest.warns(UserWarning), pytest.raises(MemoryError, match="even one frame at a time.*fp16/bf16"):
        list(render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), torch.zeros(3, 21, 3),
                           chunk_size=2))


def test_other_errors_are_not_taken_for_out_of_memory():
    warping = ScarceMemoryWarping(fits=0, error=RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        list(render_chunks(warping, identity_generator, torch.zeros(1, 1), torch.zeros(1, 21, 3), torch.zeros(3, 21, 3)))


@pytest.mark.slow
def test_engine_fallback_renders_in_float32(synthetic_weights):
    """A poisoned bf16 generator (NaN weights) still yields the float32 frame, not black."""
    from liveportrait_core.pipeline.engine import LivePortraitEngine
    from liveportrait_core.weights.files import load_networks

    engine = LivePortraitEngine(load_networks(synthetic_weights, download=False), "cpu", "bf16")
    torch.manual_seed(0)
    source = engine.source(torch.rand(1, 3, 256, 256))
    reference = torch.cat(list(render_chunks(*engine._float32_networks(), source.feature, source.x_s, source.x_s)))
    with torch.no_grad():
        engine.networks.generator.fc.bias.fill_(float("nan"))
    with pytest.warns(UserWarning, match="overflowed"):
        frames = torch.cat(list(engine.render(source, source.x_s, chunk_size=1)))
    torch.testing.assert_close(frames, reference)


def test_auto_chunk_size_is_bounded():
    from liveportrait_core.pipeline.render import auto_chunk_size

    size = auto_chunk_size(torch.device("cpu"), torch.float32)
    assert 1 <= size <= 4
    assert auto_chunk_size(torch.device("cpu"), torch.bfloat16, budget=1e-12) == 1


def test_cpu_generator_takes_one_frame_at_a_time():
    """On the CPU the engine's generator runs frame by frame (faster there) and returns the whole batch."""
    calls = []
    conv = nn.Conv2d(2, 3, 3, padding=1)
    conv.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    wrapper = runtime.FramesAtATime(conv, runtime.GENERATOR_FRAMES["cpu"])
    x = torch.randn(3, 2, 8, 8)
    with torch.inference_mode():
        torch.testing.assert_close(wrapper(x), conv(x))
    assert calls == [1, 1, 1, 3]
