"""`from_torch`: a trained `torch.nn.RNN`, `GRU` or `LSTM` (and its `torch.nn.Linear` readout)
as the neurodyn network with the same dynamics, to analyse without retraining.

PyTorch's single-layer recurrent modules compute exactly the updates of `RNN`, `GRU` and `LSTM`
(`neurodyn.models._gated`), with the gates stacked in the same order (GRU: r, z, n; LSTM:
i, f, g, o) in `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`; the conversion copies
them (as float32, or float64 when JAX has x64 on and the module is float64). `batch_first`
only changes how a torch module lays out its inputs: a neurodyn network always takes
`[batch, time, inputs]`. torch is imported only here, and only when called.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import ArgumentTypeError
from ._gated import GRU, LSTM, RNN, AbstractDiscreteRNN

_CLASSES = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM}


def _array(tensor, dtype) -> jax.Array:
    return jnp.asarray(np.array(tensor.detach().cpu().numpy(), dtype=dtype))


def _check_module(module: Any, torch) -> str:
    kind = next((name for name in _CLASSES if type(module) is getattr(torch.nn, name)), None)
    if kind is None:
        raise ArgumentTypeError(
            f"module must be a torch.nn.RNN, torch.nn.GRU or torch.nn.LSTM, got "
            f"{type(module).__module__}.{type(module).__name__} (a cell such as torch.nn.GRUCell "
            "or a subclass is not converted; wrap its step with neurodyn's adapters instead)"
        )
    unsupported = []
    if module.num_layers != 1:
        unsupported.append(f"num_layers={module.num_layers} (only 1)")
    if module.bidirectional:
        unsupported.append("bidirectional=True")
    if getattr(module, "proj_size", 0):
        unsupported.append(f"proj_size={module.proj_size} (an LSTM with projections)")
    if unsupported:
        raise ValueError(
            f"module: a {kind} with {', '.join(unsupported)} cannot be converted: neurodyn's "
            f"{kind} is one unidirectional layer (convert each layer of a stack separately)"
        )
    return kind


def from_torch(module: Any, readout: Any = None) -> AbstractDiscreteRNN:
    """The neurodyn `RNN`, `GRU` or `LSTM` with the weights of a torch.nn.RNN/GRU/LSTM module.

    The module must be one unidirectional layer (`batch_first` or not, with or without bias).

    `readout`, an optional `torch.nn.Linear(hidden_size, O)`, becomes the readout
    z = h W_out + b_out (W_out = weightᵀ). Without one the readout is the identity (O = H), so
    that `simulate(u).outputs` is the module's output sequence h_1 … h_T. The network starts
    from zeros, as the module does without `h_0`; pass `x0` to `simulate` for another start
    (for an LSTM, x0 = [h_0, c_0]). The result has no noise and trains every group.
    """
    try:
        import torch
    except ImportError as err:
        raise ImportError("from_torch needs PyTorch (pip install torch)") from err
    kind = _check_module(module, torch)
    if readout is not None:
        if type(readout) is not torch.nn.Linear:
            raise ArgumentTypeError(
                f"readout must be a torch.nn.Linear or None, got {type(readout).__name__}"
            )
        if readout.in_features != module.hidden_size:
            raise ValueError(
                f"readout: a Linear with in_features={readout.in_features} cannot read the "
                f"{module.hidden_size} hidden units of the module"
            )
    wide = (module.weight_hh_l0.dtype == torch.float64
            and jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64)
    dtype = np.float64 if wide else np.float32
    hidden, n_inputs = module.hidden_size, module.input_size
    n_outputs = hidden if readout is None else readout.out_features
    extra = {"nonlinearity": module.nonlinearity} if kind == "RNN" else {}
    cls = _CLASSES[kind]
    # Every array is replaced below: build the structure only, without drawing anything.
    abstract_key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    like = jax.eval_shape(
        lambda key: cls(hidden, n_inputs, n_outputs, bias=module.bias, key=key, **extra),
        abstract_key,
    )
    if readout is None:
        w_out, b_out = np.eye(hidden, dtype=dtype), np.zeros(hidden, dtype=dtype)
    else:
        w_out = _array(readout.weight, dtype).T
        b_out = (np.zeros(n_outputs, dtype=dtype) if readout.bias is None
                 else _array(readout.bias, dtype))
    values = dict(
        weight_ih=_array(module.weight_ih_l0, dtype),
        weight_hh=_array(module.weight_hh_l0, dtype),
        bias_ih=_array(module.bias_ih_l0, dtype) if module.bias else None,
        bias_hh=_array(module.bias_hh_l0, dtype) if module.bias else None,
        w_out=jnp.asarray(w_out), b_out=jnp.asarray(b_out),
    )
    names = [name for name, value in values.items() if value is not None]
    return eqx.tree_at(lambda m: tuple(getattr(m, name) for name in names), like,
                       tuple(values[name] for name in names))
