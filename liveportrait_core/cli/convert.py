"""``python -m liveportrait_core convert``: LivePortrait .pth checkpoints (a file or a folder) to ``.safetensors``."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from safetensors.torch import save_file

from ..networks import NETWORK_NAMES
from ..pipeline.precision import DTYPES
from ..weights.checkpoints import (PICKLE_SUFFIXES, SAFETENSORS_SUFFIX, CheckpointError, check_state_dict, identify_network,
                                   read_state_dict)


def convert_to_safetensors(src: str | Path, dst: str | Path, dtype: str = "fp32") -> list[Path]:
    """Convert one checkpoint, or every LivePortrait checkpoint under a folder, to ``.safetensors``.

    A folder keeps its relative layout and file stems (``liveportrait/base_models/x.pth`` ->
    ``dst/liveportrait/base_models/x.safetensors``); files whose stem is not a network name are
    skipped. A single file goes to ``dst`` when that ends in ``.safetensors``, else into folder
    ``dst``. Each file is checked against its network first and gets metadata (network, source
    file, dtype). Floating tensors are cast to ``dtype``; ``num_batches_tracked`` stays int64.
    Returns the files written.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        sources = sorted(p for p in src.rglob("*") if p.suffix in PICKLE_SUFFIXES and p.stem in NETWORK_NAMES)
        if not sources:
            raise FileNotFoundError(f"no LivePortrait checkpoint ({', '.join(NETWORK_NAMES)}) under {src}")
        pairs = [(p, (dst / p.relative_to(src)).with_suffix(SAFETENSORS_SUFFIX)) for p in sources]
    else:
        into_folder = dst.is_dir() or dst.suffix != SAFETENSORS_SUFFIX
        pairs = [(src, dst / f"{src.stem}{SAFETENSORS_SUFFIX}" if into_folder else dst)]
    return [_convert_file(s, d, dtype) for s, d in pairs]


def _convert_file(src: Path, dst: Path, dtype: str) -> Path:
    state = read_state_dict(src)
    name = src.stem if src.stem in NETWORK_NAMES else identify_network(state)
    if name is None:
        raise CheckpointError(f"{src}: the keys match no LivePortrait network")
    check_state_dict(name, state, src)
    target = DTYPES[dtype]
    cast = {k: (v.to(target) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(cast, str(dst), metadata={"format": "pt", "network": name, "source_file": src.name, "dtype": dtype})
    return dst


def main(argv: Sequence[str] | None = None) -> int:
    """The ``convert`` command: ``convert SRC DST [--dtype fp32|fp16|bf16]``; prints the files written."""
    parser = argparse.ArgumentParser(prog="python -m liveportrait_core convert",
                                     description="Convert LivePortrait .pth checkpoints (a file or a folder) to .safetensors.")
    parser.add_argument("src", type=Path, help="a checkpoint file or a folder of them")
    parser.add_argument("dst", type=Path, help="output .safetensors file, or an output folder")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="fp32")
    args = parser.parse_args(argv)
    for path in convert_to_safetensors(args.src, args.dst, args.dtype):
        print(path)
    return 0
