"""Our skip transcoders + a local Qwen2 model → circuit-tracer's ``ReplacementModel``.

Backend choice: **TransformerLens**. TL 3.2 ships a Qwen2 weight converter
(``convert_qwen2_weights``) and config mapping (q/k/v biases, GQA, RMSNorm eps, rope_theta read
from the model's own ``config.json``), and circuit-tracer's TL backend is its most exercised one.
The nnsight backend has no Qwen2 entry in circuit-tracer's private ``tl_nnsight_mapping._REGISTRY``;
adding one means patching a private table with locations inside the HF modules' traced source
(e.g. the RMSNorm's ``mean_0``), which breaks with transformers releases, plus a ``head_dim`` shim.
TL only needs the *local directory* added to its list of official model names; it then reads
the architecture from the local config. The price is a second copy of the weights while
converting (the HF model is dropped before the transcoders load). ``tests/test_graphs_e2e.py`` checks that
the replacement model's logits equal the HF model's on a chat-templated prompt.

Transcoders: circuit-tracer's loaders give ReLU/JumpReLU features, but ours are sparsify TopK
skip transcoders whose encoder is ``topk(relu(x W_enc^T + b_enc), k)`` — TopK *after* ReLU. We
build every layer's ``SingleLayerTranscoder`` in code with :class:`ReluTopK` (checked against
``SkipTranscoder.encode``), reading the post-norm MLP input (``mlp.hook_in``) and writing the MLP
output (``mlp.hook_out``), with the skip connection ``W_skip``. Every layer must have its real
transcoder: a placeholder would turn that layer's whole MLP output into error nodes.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import torch

# One definition of the activation and hooks, shared with the transcoders' circuit-tracer export.
from r1interp.artifacts.transcoder import (
    FEATURE_INPUT_HOOK,
    FEATURE_OUTPUT_HOOK,
    ReluTopK,
    SkipTranscoder,
    TranscoderFileError,
    load_transcoder,
)
from r1interp.artifacts.paths import layer_dir
from r1interp.models import DTYPES

log = logging.getLogger(__name__)


def check_transcoder_dirs(transcoders_dir: str | Path, n_layers: int) -> list[Path]:
    """Fail before any model loading if a layer's checkpoint is missing (names the file)."""
    dirs = [layer_dir(transcoders_dir, layer) for layer in range(n_layers)]
    for d in dirs:
        for name in ("cfg.json", "sae.safetensors"):
            if not (d / name).is_file():
                raise TranscoderFileError(
                    f"graphs need a transcoder for every layer 0..{n_layers - 1}; missing {d / name}"
                )
    return dirs


def to_single_layer(
    tc: SkipTranscoder,
    layer: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    weights_path: str | Path | None = None,
    lazy_decoder: bool = False,
):
    """One ``SingleLayerTranscoder`` with our exact ReLU→TopK activation and skip connection.

    With ``lazy_decoder`` the decoder rows are read on demand from sparsify's ``sae.safetensors``
    (its tensor is also named ``W_dec`` with the same [n_latents, d] layout).
    """
    from circuit_tracer.transcoder import SingleLayerTranscoder

    if lazy_decoder and weights_path is None:
        raise ValueError("lazy_decoder needs the weights file path")
    params = {"W_enc": tc.W_enc, "b_enc": tc.b_enc, "b_dec": tc.b_dec}
    if not lazy_decoder:
        params["W_dec"] = tc.W_dec
    if tc.W_skip is not None:
        params["W_skip"] = tc.W_skip
    params = {k: v.detach().to(device=device, dtype=dtype) for k, v in params.items()}
    with torch.device("meta"):
        slt = SingleLayerTranscoder(
            tc.d_in,
            tc.num_latents,
            ReluTopK(tc.k),
            layer,
            skip_connection=tc.W_skip is not None,
            transcoder_path=str(weights_path) if weights_path is not None else None,
            lazy_decoder=lazy_decoder,
            dtype=dtype,
        )
    slt.load_state_dict(params, assign=True)
    return slt.requires_grad_(False)


def build_transcoder_set(
    transcoders_dir: str | Path,
    n_layers: int,
    *,
    d_model: int | None = None,
    scan: str | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    lazy_decoder: bool = False,
):
    """circuit-tracer ``TranscoderSet`` covering layers ``0..n_layers-1`` from ``<dir>/L{layer}``."""
    from circuit_tracer.transcoder import TranscoderSet

    dirs = check_transcoder_dirs(transcoders_dir, n_layers)
    layers = {}
    for layer, d in enumerate(dirs):
        tc = load_transcoder(d)
        if d_model is not None and tc.d_in != d_model:
            raise TranscoderFileError(f"{d}: d_in={tc.d_in} but the model's hidden size is {d_model}")
        if tc.W_skip is None:
            raise TranscoderFileError(f"{d}: no W_skip; graphs expect skip transcoders (skip_connection=true)")
        if layers and tc.num_latents != layers[0].d_transcoder:
            raise TranscoderFileError(
                f"{d}: {tc.num_latents} latents but layer 0 has {layers[0].d_transcoder}; circuit-tracer needs one width"
            )
        layers[layer] = to_single_layer(
            tc, layer, dtype=dtype, device=device, weights_path=d / "sae.safetensors", lazy_decoder=lazy_decoder
        )
    return TranscoderSet(layers, feature_input_hook=FEATURE_INPUT_HOOK, feature_output_hook=FEATURE_OUTPUT_HOOK, scan=scan)


def resolve_model_dir(path_or_id: str | Path) -> Path:
    """A local model directory: the path itself, or the HF id's snapshot in the local cache."""
    path = Path(path_or_id)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model directory {path} has no config.json")
        return path.resolve()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(path_or_id), local_files_only=True))
    except Exception as e:  # noqa: BLE001 - the hub raises several unrelated types
        raise FileNotFoundError(
            f"model {path_or_id!r} is neither a local directory nor in the local Hugging Face cache: {e}"
        ) from e


def register_with_transformer_lens(model_dir: str | Path) -> str:
    """Add a local model dir to TL's official names so ``HookedTransformer.from_pretrained`` accepts it.

    TL then detects the directory (``config.json`` exists) and maps its HF config itself.
    """
    from transformer_lens import loading_from_pretrained as loading

    name = str(model_dir)
    if name.lower() not in {n.lower() for n in loading.OFFICIAL_MODEL_NAMES}:
        loading.OFFICIAL_MODEL_NAMES.append(name)
    return name


def load_replacement_model(
    model_path: str | Path,
    transcoders_dir: str | Path,
    *,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    n_ctx: int = 2048,
    scan: str | None = None,
    lazy_decoder: bool = False,
):
    """``(ReplacementModel, tokenizer)`` for a local/cached Qwen2-architecture model."""
    from circuit_tracer.replacement_model.replacement_model_transformerlens import TransformerLensReplacementModel
    from transformer_lens import HookedTransformer
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}; allowed: {sorted(DTYPES)}")
    torch_dtype = DTYPES[dtype]
    device = torch.device(device)
    model_dir = resolve_model_dir(model_path)
    hf_cfg = AutoConfig.from_pretrained(str(model_dir))
    n_layers, d_model = hf_cfg.num_hidden_layers, hf_cfg.hidden_size
    check_transcoder_dirs(transcoders_dir, n_layers)  # cheap, before the expensive loads

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    hf_model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype, attn_implementation="eager")
    hf_model.eval().requires_grad_(False)
    name = register_with_transformer_lens(model_dir)
    # What ReplacementModel.from_pretrained_and_transcoders(backend="transformerlens") does, split in
    # two so that the HF copy of the weights is freed before the transcoders are loaded (peak memory).
    model = HookedTransformer.from_pretrained.__func__(
        TransformerLensReplacementModel, name, fold_ln=False, center_writing_weights=False, center_unembed=False,
        device=device, dtype=torch_dtype, hf_model=hf_model, tokenizer=tokenizer, n_ctx=n_ctx,
    )
    del hf_model
    gc.collect()
    transcoders = build_transcoder_set(
        transcoders_dir, n_layers, d_model=d_model, scan=scan, dtype=torch_dtype, device=device, lazy_decoder=lazy_decoder
    )
    model._configure_replacement_model(transcoders)
    log.info("replacement model: %s, %d layers, %d latents/layer, dtype %s on %s",
             model_dir, n_layers, transcoders.d_transcoder, dtype, device)
    return model, model.tokenizer
