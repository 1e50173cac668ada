"""Schemas into llama.cpp grammars, checked loudly, and fast greedy sampling under them.

llama-cpp-python silently falls back to unconstrained JSON when a schema
cannot become a grammar, so schemas are converted here first and a failure is
a ConfigError. Strings and arrays get bounds so a bad model cannot ramble
until max_tokens and cut the JSON.
"""

from __future__ import annotations

import copy
import ctypes
import json
from typing import Any

from ..errors import ConfigError, EngineError

# -- schemas -> grammars -----------------------------------------------------------------------------


def bounded_schema(schema: dict[str, Any], max_string: int = 256, max_items: int = 50) -> dict[str, Any]:
    """The schema the grammar is made from: type lists split, strings and arrays bounded.

    llama-cpp-python's converter ignores maxLength on `"type": ["string", "null"]`,
    so type lists become anyOf branches that each keep their bounds.
    """
    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: walk(value) for key, value in node.items()}
        kinds = node.get("type")
        if isinstance(kinds, list):
            rest = {key: value for key, value in node.items() if key != "type"}
            return {"anyOf": [walk({**rest, "type": kind}) for kind in kinds]}
        if kinds == "string" and not {"enum", "const", "format", "pattern", "maxLength"} & node.keys():
            node["maxLength"] = max_string
        if kinds == "array" and "maxItems" not in node:
            node["maxItems"] = max_items
        return node

    return walk(copy.deepcopy(schema))


def grammar_for(schema: dict[str, Any], max_string: int = 256, max_items: int = 50) -> str:
    """The GBNF llama.cpp will sample under; ConfigError instead of a silent fallback."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return bounded_numbers(json_schema_to_gbnf(json.dumps(bounded_schema(schema, max_string, max_items))))
    except Exception as exc:  # the converter raises ValueError, AssertionError, KeyError...
        raise ConfigError(
            f"schema {schema.get('title', '(untitled)')!r} cannot be turned into a llama.cpp grammar: "
            f"{type(exc).__name__}: {exc}",
            hint="llama-cpp-python would silently fall back to unconstrained JSON; simplify the schema",
        ) from None


MAX_INTEGER_DIGITS = 12
MAX_DECIMALS = 4


def _digits(count: int) -> str:
    """GBNF for 0..count digits, nested optionals (the converter's own style, understood by every llama.cpp)."""
    rule = ""
    for _ in range(count):
        rule = f"([0-9]{rule})?" if not rule else f"([0-9] {rule})?"
    return rule


def bounded_numbers(gbnf: str) -> str:
    """Numbers of at most 12 integer digits and 4 decimals, no exponent: a runaway number cannot be
    sampled (the converter allows 16 digits, 16 decimals and an exponent)."""
    rules = {
        "integral-part": f"[0-9] | [1-9] {_digits(MAX_INTEGER_DIGITS - 1)}",
        "decimal-part": f"[0-9] {_digits(MAX_DECIMALS - 1)}",
        "number": '("-"? integral-part) ("." decimal-part)? space',
    }
    lines = []
    for line in gbnf.splitlines():
        name = line.split("::=", 1)[0].strip()
        lines.append(f"{name} ::= {rules[name]}" if name in rules else line)
    return "\n".join(lines) + ("\n" if gbnf.endswith("\n") else "")


GRAMMAR_ENGINES = ("llamacpp", "ocr")


# -- greedy sampling under a grammar, grammar checked on the best token first ----------------------------


class GrammarFirstGreedy:
    """Exactly greedy-under-grammar, without running the grammar over the whole vocabulary.

    llama-cpp-python applies the grammar to every token of the vocabulary at every
    step (262k for Gemma 3), which doubles the time of a small model. Like
    llama.cpp's own common sampler, this checks the grammar on the argmax token
    first and only falls back to the full grammar pass when that token is refused.
    Only used at temperature 0 with no penalties and no logits processors, where
    the result is identical.
    """

    def __init__(self, llm: Any, grammar: Any):
        import llama_cpp
        from llama_cpp import _internals

        self._c = llama_cpp
        self.n_vocab = llm.n_vocab()
        grammar_sampler = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not grammar_sampler:
            raise EngineError("llama.cpp could not parse the grammar made from the schema", code="bad_grammar")
        self.chain = _internals.LlamaSampler()
        llama_cpp.llama_sampler_chain_add(self.chain.sampler, grammar_sampler)  # the chain owns it
        self.chain.add_greedy()
        self.grammar = grammar_sampler
        self.single = (llama_cpp.llama_token_data * 1)()
        self.array = llama_cpp.llama_token_data_array(data=self.single, size=1, selected=-1, sorted=False)

    def sample(self, ctx: Any, idx: int = -1) -> int:
        import numpy as np

        logits = np.ctypeslib.as_array(self._c.llama_get_logits_ith(ctx.ctx, idx), shape=(self.n_vocab,))
        token = int(logits.argmax())
        self.single[0].id, self.single[0].logit, self.single[0].p = token, float(logits[token]), 0.0  # type: ignore[assignment]  # ctypes fields take ints
        self.array.size, self.array.selected, self.array.sorted = 1, -1, False
        self._c.llama_sampler_apply(self.grammar, ctypes.byref(self.array))
        if np.isfinite(self.single[0].logit):
            self._c.llama_sampler_accept(self.grammar, token)
            return token
        return self.chain.sample(ctx, idx)  # the full grammar pass; it accepts the token itself


GRAMMAR_FIRST_MIN_VOCAB = 32000  # below this the full grammar pass is cheap: keep llama-cpp-python's own


def fast_llama_class() -> type:
    from llama_cpp import Llama

    class GrammarFirstLlama(Llama):
        def _init_sampler(self, *args: Any, **kwargs: Any) -> Any:
            plain = (kwargs.get("temp") == 0.0 and kwargs.get("logits_processor") is None
                     and kwargs.get("repeat_penalty", 1.0) == 1.0 and not kwargs.get("frequency_penalty")
                     and not kwargs.get("presence_penalty") and kwargs.get("grammar") is not None and not args
                     and self.n_vocab() >= GRAMMAR_FIRST_MIN_VOCAB)
            return GrammarFirstGreedy(self, kwargs["grammar"]) if plain else super()._init_sampler(*args, **kwargs)

    return GrammarFirstLlama
