"""A tiny random vision pair written with the `gguf` package, in milliseconds.

A llama text model (one block, a byte-level vocabulary and a chat template)
plus a LLaVA-style `mmproj` (projector type `mlp`, 32 px images, one block).
The weights are random, so answers are nonsense; the point is that the real
llama.cpp multimodal library loads the pair, encodes an image and samples
under a grammar. Two facts the writer must respect:

- `GGUFWriter.add_tensor` takes numpy arrays; GGUF stores the shape reversed
  (ggml `ne`), so a linear layer `out x in` is written as numpy (out, in);
- the projector's output dimension must equal the text model's n_embd.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

N_EMBD = 64
N_FF = 128
N_HEAD = 4
N_CTX = 4096
CLIP_EMBD = 32
CLIP_FF = 64
CLIP_HEADS = 2
IMAGE_SIZE = 32
PATCH_SIZE = 8

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _vocab() -> tuple[list[bytes], list[float], list[int]]:
    """SentencePiece-style: 3 specials, 256 byte tokens, printable ASCII pieces."""
    tokens = [b"<unk>", b"<s>", b"</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{i:02X}>".encode() for i in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    pieces = ["\u2581"] + [chr(c) for c in range(33, 127)]
    pieces += ["\u2581" + word for word in ("the", "total", "invoice", "null", "true", "false")]
    tokens += [piece.encode("utf-8") for piece in pieces]
    types += [gguf.TokenType.NORMAL] * len(pieces)
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))]
    return tokens, scores, [int(t) for t in types]


def _rand(rng: np.random.Generator, *shape: int, scale: float = 0.02) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def write_text_model(path: Path, seed: int = 0, chat_template: str | None = CHAT_TEMPLATE) -> Path:
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("edge-test-tiny-llama")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(1)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    if chat_template:
        writer.add_chat_template(chat_template)
    n_vocab = len(tokens)
    tensors = {
        "token_embd.weight": _rand(rng, n_vocab, N_EMBD, scale=1.0),
        "output_norm.weight": np.ones(N_EMBD, np.float32),
        "output.weight": _rand(rng, n_vocab, N_EMBD, scale=1.0),
        "blk.0.attn_norm.weight": np.ones(N_EMBD, np.float32),
        "blk.0.attn_q.weight": _rand(rng, N_EMBD, N_EMBD),
        "blk.0.attn_k.weight": _rand(rng, N_EMBD, N_EMBD),
        "blk.0.attn_v.weight": _rand(rng, N_EMBD, N_EMBD),
        "blk.0.attn_output.weight": _rand(rng, N_EMBD, N_EMBD),
        "blk.0.ffn_norm.weight": np.ones(N_EMBD, np.float32),
        "blk.0.ffn_gate.weight": _rand(rng, N_FF, N_EMBD),
        "blk.0.ffn_up.weight": _rand(rng, N_FF, N_EMBD),
        "blk.0.ffn_down.weight": _rand(rng, N_EMBD, N_FF),
    }
    return _finish(writer, tensors, path)


def write_mmproj(path: Path, text_embd: int = N_EMBD, seed: int = 1) -> Path:
    """A LLaVA-1.5-style projector; `text_embd` must be the text model's n_embd."""
    rng = np.random.default_rng(seed)
    n_pos = (IMAGE_SIZE // PATCH_SIZE) ** 2 + 1  # patches plus the class embedding
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_name("edge-test-tiny-mmproj")
    writer.add_bool(gguf.Keys.Clip.HAS_VISION_ENCODER, True)
    writer.add_bool(gguf.Keys.Clip.HAS_LLAVA_PROJECTOR, True)
    writer.add_string(gguf.Keys.Clip.PROJECTOR_TYPE, "mlp")
    writer.add_uint32(gguf.Keys.ClipVision.IMAGE_SIZE, IMAGE_SIZE)
    writer.add_uint32(gguf.Keys.ClipVision.PATCH_SIZE, PATCH_SIZE)
    writer.add_uint32(gguf.Keys.ClipVision.EMBEDDING_LENGTH, CLIP_EMBD)
    writer.add_uint32(gguf.Keys.ClipVision.FEED_FORWARD_LENGTH, CLIP_FF)
    writer.add_uint32(gguf.Keys.ClipVision.PROJECTION_DIM, text_embd)
    writer.add_uint32(gguf.Keys.ClipVision.BLOCK_COUNT, 1)
    writer.add_uint32(gguf.Keys.ClipVision.Attention.HEAD_COUNT, CLIP_HEADS)
    writer.add_float32(gguf.Keys.ClipVision.Attention.LAYERNORM_EPS, 1e-5)
    writer.add_array(gguf.Keys.ClipVision.IMAGE_MEAN, [0.5, 0.5, 0.5])
    writer.add_array(gguf.Keys.ClipVision.IMAGE_STD, [0.5, 0.5, 0.5])
    writer.add_bool(gguf.Keys.ClipVision.USE_GELU, True)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    tensors = {
        "v.patch_embd.weight": _rand(rng, CLIP_EMBD, 3, PATCH_SIZE, PATCH_SIZE),
        "v.class_embd": _rand(rng, CLIP_EMBD),
        "v.position_embd.weight": _rand(rng, n_pos, CLIP_EMBD),
        "v.pre_ln.weight": np.ones(CLIP_EMBD, np.float32),
        "v.pre_ln.bias": np.zeros(CLIP_EMBD, np.float32),
        "mm.0.weight": _rand(rng, text_embd, CLIP_EMBD),
        "mm.0.bias": np.zeros(text_embd, np.float32),
        "mm.2.weight": _rand(rng, text_embd, text_embd),
        "mm.2.bias": np.zeros(text_embd, np.float32),
    }
    block = "v.blk.0."
    for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
        tensors[f"{block}{name}.weight"] = _rand(rng, CLIP_EMBD, CLIP_EMBD)
        tensors[f"{block}{name}.bias"] = np.zeros(CLIP_EMBD, np.float32)
    for name in ("ln1", "ln2"):
        tensors[f"{block}{name}.weight"] = np.ones(CLIP_EMBD, np.float32)
        tensors[f"{block}{name}.bias"] = np.zeros(CLIP_EMBD, np.float32)
    tensors[f"{block}ffn_up.weight"] = _rand(rng, CLIP_FF, CLIP_EMBD)
    tensors[f"{block}ffn_up.bias"] = np.zeros(CLIP_FF, np.float32)
    tensors[f"{block}ffn_down.weight"] = _rand(rng, CLIP_EMBD, CLIP_FF)
    tensors[f"{block}ffn_down.bias"] = np.zeros(CLIP_EMBD, np.float32)
    return _finish(writer, tensors, path)


def _finish(writer: gguf.GGUFWriter, tensors: dict[str, np.ndarray], path: Path) -> Path:
    for name, array in tensors.items():
        writer.add_tensor(name, array)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return path


def write_vision_pair(folder: Path) -> tuple[Path, Path]:
    """(model.gguf, mmproj.gguf) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_text_model(folder / "tiny-llama.gguf"), write_mmproj(folder / "tiny-mmproj.gguf")
