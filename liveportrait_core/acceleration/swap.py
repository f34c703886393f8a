"""Swapping a module for a faster one that holds the very same parameters (no copy, the same names)."""
from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn

Conv = TypeVar("Conv", bound=nn.modules.conv._ConvNd)


def conv_as(cls: type[Conv], conv: nn.modules.conv._ConvNd) -> Conv:
    """A ``cls`` (a subclass of ``conv``'s class) with ``conv``'s hyper-parameters, weight and bias."""
    with torch.device("meta"):
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                  dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None, padding_mode=conv.padding_mode)
    new.weight, new.bias = conv.weight, conv.bias
    return new.train(conv.training)


def replace_modules(root: nn.Module, kind: type[nn.Module], make) -> None:
    """Every submodule of ``root`` of exactly the type ``kind`` replaced by ``make(module)``, in place."""
    for name, module in list(root.named_modules()):
        if type(module) is kind and name:
            parent, _, attr = name.rpartition(".")
            setattr(root.get_submodule(parent), attr, make(module))
