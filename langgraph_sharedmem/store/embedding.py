"""The index config, the texts of an item to embed, and the offline default embedder.

The default embedder is WordLlama's 256-dimension model, loaded from the files inside the
``wordllama`` wheel: ``WordLlama.load()`` looks for the tokenizer in the wrong folder and falls
back to downloading it, which fails offline. Batches embed about 50k short texts/s on one core
(`_pooled`: ~20 us a text, ~35 before it replaced `WordLlamaInference.embed`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig, ensure_embeddings, get_text_at_path, tokenize_path

from langgraph_sharedmem.errors import InvalidConfigError

WORDLLAMA_DIMS = 256
_KNOWN_KEYS = frozenset(
    {"dims", "embed", "fields", "text_fields", "hybrid", "ann_threshold", "distance_type"}
)
_model: Any = None
_model_lock = threading.Lock()


def default_index() -> IndexConfig:
    """The store's index unless told otherwise: each item's whole value, embedded offline by
    the bundled WordLlama model (256 dimensions, no network, no API key)."""
    return {"dims": 256, "fields": ["$"]}


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """Put the root logger's level and handlers back as they were: ``wordllama`` and
    ``wordllama.inference`` call ``logging.basicConfig(level=INFO)`` when imported, which
    in an application that has not configured logging yet sets the root to INFO with a
    stderr handler (every INFO record of every library printed). A library must not."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for added in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(added)
            added.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def _wordllama() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            from pathlib import Path

            from safetensors import safe_open

            with _root_logger_kept():
                import wordllama  # type: ignore[import-untyped]
                from wordllama.inference import WordLlamaInference  # type: ignore[import-untyped]
                from wordllama.wordllama import WordLlama  # type: ignore[import-untyped]

            root = Path(wordllama.__file__).parent
            tokenizer = WordLlama.load_tokenizer(
                root / "tokenizers" / "l2_supercat_tokenizer_config.json"
            )
            with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), "np") as f:
                weights = f.get_tensor("embedding.weight")
            _model = WordLlamaInference(weights, tokenizer, binary=False)
            # `_pooled` groups texts by length itself; the model's padding to the longest of
            # each batch only costs (and `WordLlamaInference.embed` is not used).
            _model.tokenizer.no_padding()
        return _model


class WordLlamaEmbeddings(Embeddings):
    """Offline LangChain `Embeddings` on WordLlama's bundled 256-dim model (loaded once).

    ``dims`` below 256 keeps the leading dimensions (the model is trained Matryoshka-style).

    Example:
        >>> emb = WordLlamaEmbeddings()
        >>> len(emb.embed_query("hello"))
        256
    """

    def __init__(self, dims: int = WORDLLAMA_DIMS) -> None:
        if not 1 <= dims <= WORDLLAMA_DIMS:
            raise InvalidConfigError(
                f"the default WordLlama embedder makes at most {WORDLLAMA_DIMS} dimensions, "
                f"index asked for dims={dims}; pass your own 'embed' for more"
            )
        self.dims = dims

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        if len(texts) == 1:  # a single put or query: skip the batching machinery
            return self.embed_one(texts[0])[None, :]
        out = _pooled([_clean(t) for t in texts])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # a text without tokens ("") stays the zero vector
        out /= norms
        return np.ascontiguousarray(out[:, : self.dims], dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """``embed_array([text])[0]`` without WordLlama's batching: ~25 us instead of ~100,
        which was a fifth of a search in one user's scope. The same mean of token vectors,
        normalized, equal to the batched one within float32 rounding."""
        model = _wordllama()
        ids = model.tokenizer.encode(_clean(text), add_special_tokens=False).ids
        table = model.embedding
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        total = np.add.reduce(table[np.minimum(ids, len(table) - 1)], axis=0)
        norm = float(np.sqrt(total @ total))
        return (total[: self.dims] / (norm or 1.0)).astype(np.float32, copy=False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_one(text).tolist()


# Token rows summed per chunk of texts of similar length, padded to the longest: at most this
# many token rows at once (4096 measured faster than 16k or 64k: the gathered rows stay in
# cache), so one long text among short ones cannot blow up the padding.
_CHUNK_TOKENS = 4096


def _pooled(texts: list[str]) -> np.ndarray:
    """The sum of each text's token vectors, unnormalized: what ``WordLlamaInference.embed``
    averages, in about half its time for a batch put (``encode_batch_fast`` skips the
    offsets, and texts are grouped by length instead of padded in arrival order)."""
    model = _wordllama()
    table = model.embedding
    encodings = model.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    ids = [e.ids for e in encodings]
    sizes = list(map(len, ids))
    lengths = np.array(sizes, dtype=np.intp)
    out = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
    order = np.argsort(lengths, kind="stable").tolist()
    start = sizes.count(0)  # texts without tokens stay zero
    while start < len(order):
        # Sorted by length, so the last of a chunk is its longest.
        end = min(len(order), start + max(1, _CHUNK_TOKENS // sizes[order[start]]))
        while end - start > 1 and (end - start) * sizes[order[end - 1]] > _CHUNK_TOKENS:
            end = start + max(1, _CHUNK_TOKENS // sizes[order[end - 1]])
        chunk = order[start:end]
        width = sizes[chunk[-1]]
        mask = np.arange(width) < lengths[chunk, None]
        padded = np.zeros((len(chunk), width), dtype=np.intp)
        padded[mask] = list(itertools.chain.from_iterable(ids[i] for i in chunk))
        np.minimum(padded, len(table) - 1, out=padded)
        out[chunk] = np.matmul(mask.astype(np.float32)[:, None, :], table[padded])[:, 0, :]
        start = end
    return out


def _clean(text: str) -> str:
    """The tokenizer is Rust and rejects lone surrogates; replace them for embedding only."""
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class IndexSpec:
    """A checked ``index`` config."""

    dims: int
    embeddings: Embeddings
    fields: tuple[tuple[str, Any], ...]
    hybrid: bool
    ann_threshold: int


def index_spec(index: Mapping[str, Any] | None) -> IndexSpec | None:
    """Check LangGraph's ``IndexConfig`` plus our keys ``hybrid`` and ``ann_threshold``."""
    if index is None:
        return None
    if not isinstance(index, Mapping):
        raise InvalidConfigError(f"index must be a dict (IndexConfig), got {type(index).__name__}")
    unknown = set(index) - _KNOWN_KEYS
    if unknown:
        raise InvalidConfigError(
            f"unknown index config keys {sorted(unknown)}; known: {sorted(_KNOWN_KEYS)}"
        )
    dims = index.get("dims")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise InvalidConfigError(f"index needs 'dims', a positive int; got {dims!r}")
    if index.get("distance_type", "cosine") != "cosine":
        raise InvalidConfigError("only distance_type='cosine' is supported")
    embed = index.get("embed")
    embeddings = WordLlamaEmbeddings(dims) if embed is None else ensure_embeddings(embed)
    fields = index.get("fields") or index.get("text_fields") or ["$"]
    if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
        raise InvalidConfigError(f"index 'fields' must be a list of paths, got {fields!r}")
    ann = index.get("ann_threshold", 200_000)
    if not isinstance(ann, int) or ann < 0:
        raise InvalidConfigError(f"index 'ann_threshold' must be an int >= 0, got {ann!r}")
    return IndexSpec(
        dims=dims,
        embeddings=embeddings,
        fields=tuple(_tokenized(f) for f in fields),
        hybrid=bool(index.get("hybrid", True)),
        ann_threshold=ann,
    )


def _tokenized(path: str) -> tuple[str, Any]:
    return (path, path if path == "$" else tokenize_path(path))


def texts_to_embed(spec: IndexSpec, value: Mapping[str, Any], index: Any) -> list[tuple[str, str]]:
    """``(field, text)`` pairs of a value, named as `InMemoryStore` names them."""
    if index is False:
        return []
    if index is None:
        paths = spec.fields
    elif isinstance(index, (list, tuple)) and all(isinstance(p, str) for p in index):
        paths = tuple(_tokenized(p) for p in index)
    else:
        raise InvalidConfigError(f"put(index=...) takes False or a list of paths, got {index!r}")
    out: list[tuple[str, str]] = []
    for path, tokens in paths:
        key = _single_key(tokens)
        if key is not None and type(value) is dict and type(text := value.get(key)) is str:
            out.append((path, text))  # the common case, as get_text_at_path would find it
            continue
        texts = get_text_at_path(value, tokens)
        if len(texts) == 1:
            out.append((path, texts[0]))
        else:
            out.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
    return out


def _single_key(tokens: Any) -> str | None:
    """The key when a tokenized path is one dict key (not ``$``, ``[i]``, ``{a,b}``, ``*``)."""
    if type(tokens) is not list or len(tokens) != 1:
        return None
    token = tokens[0]
    return None if token == "*" or token[:1] in ("[", "{") else token


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def embed_texts(embeddings: Embeddings, texts: Sequence[str], dims: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dims), dtype=np.float32)
    if isinstance(embeddings, WordLlamaEmbeddings):
        return embeddings.embed_array(texts)
    ahead = embedded_ahead(embeddings, texts)
    if ahead is not None:
        return check_vectors(ahead, len(texts), dims)
    return check_vectors(embeddings.embed_documents(list(texts)), len(texts), dims)


# Texts an async caller embedded before handing sync code to the database's worker thread,
# keyed by (id of the embedder, "document" or "query", text). `Database.run` copies the
# caller's context into the worker, so the sync code finds them there and makes no call to a
# remote embedder: one slow embedder would otherwise stall every other async call of the
# database for its round trips.
_AHEAD: ContextVar[Mapping[tuple[int, str, str], np.ndarray] | None] = ContextVar(
    "sharedmem_embedded_ahead", default=None
)


def embedded_ahead(
    embeddings: Embeddings, texts: Sequence[str], *, query: bool = False
) -> np.ndarray | None:
    """The vectors of ``texts`` embedded ahead by `embedding_ahead` (all of them), or None."""
    memo = _AHEAD.get()
    if not memo:
        return None
    owner, kind = id(embeddings), "query" if query else "document"
    rows = [memo.get((owner, kind, t)) for t in texts]
    if any(r is None for r in rows):
        return None
    return np.stack(rows)  # type: ignore[arg-type]


@asynccontextmanager
async def embedding_ahead(
    embeddings: Embeddings | None, texts: Iterable[str] = (), *, queries: Iterable[str] = ()
) -> AsyncIterator[None]:
    """Embed ``texts`` (as documents) and ``queries`` now with the embedder's async methods;
    sync code run inside the block (on the database's worker thread through `Database.run`)
    gets them without calling it. The offline embedder is not asked: it is local and takes
    microseconds a text."""
    documents, asked = list(dict.fromkeys(texts)), list(dict.fromkeys(queries))
    if embeddings is None or isinstance(embeddings, WordLlamaEmbeddings):
        yield
        return
    raw = await embeddings.aembed_documents(documents) if documents else []
    raw += [await embeddings.aembed_query(q) for q in asked]
    vectors = np.asarray(raw, dtype=np.float32)
    if len(raw) and (vectors.ndim != 2 or not np.isfinite(vectors).all()):
        raise InvalidConfigError(
            f"the embedder returned an array of shape {vectors.shape} (or NaN) for {len(raw)} texts"
        )
    owner = id(embeddings)
    keys = [(owner, "document", t) for t in documents] + [(owner, "query", q) for q in asked]
    token = _AHEAD.set({**(_AHEAD.get() or {}), **dict(zip(keys, vectors, strict=True))})
    try:
        yield
    finally:
        _AHEAD.reset(token)


async def aembed_texts(embeddings: Embeddings, texts: Sequence[str], dims: int) -> np.ndarray:
    if not texts or isinstance(embeddings, WordLlamaEmbeddings):
        return embed_texts(embeddings, texts, dims)
    return check_vectors(await embeddings.aembed_documents(list(texts)), len(texts), dims)


def check_vectors(raw: Any, n: int, dims: int) -> np.ndarray:
    arr = np.asarray(raw, dtype=np.float32)
    if arr.shape != (n, dims):
        raise InvalidConfigError(
            f"the embedder returned an array of shape {arr.shape} for {n} texts; the index "
            f"config says dims={dims}"
        )
    if not np.isfinite(arr).all():
        raise InvalidConfigError("the embedder returned NaN or infinite values")
    return arr


def normalize(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (rows / norms).astype(np.float32, copy=False)
