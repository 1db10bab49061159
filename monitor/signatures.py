"""A story body's near-duplicate signature: the MinHash of its shingles and the numbers it states.

Computed where a page is read (on a reader process, beside its figures), compared where a story's identity is
told (``identity``): two bodies are one story re-edited when their shingles are similar enough and their
figures agree. The only user of rensa (a MinHash in Rust: datasketch's import brought scipy, 55 MB and over
a second to every reader process).
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass

from rensa import RMinHash

from .matching import fold

# Bodies whose shingles are this similar (estimated Jaccard), with figures that agree, are one story: chosen
# on the labelled pairs of tests/data/near-duplicates, between the most similar two stories (0.19) and the
# least similar re-edit (0.44); `python -m benchmarks.near_duplicates` measures it.
NEAR_DUPLICATE_SIMILARITY = 0.3
MINHASH_PERMUTATIONS = 128
MINHASH_SEED = 1  # stored signatures compare only with ones made with the same seed and permutations
# Written before each signature's hex: one made by another algorithm (datasketch's, stored before 2026-12-03,
# or a later rensa's) compares as unlike anything rather than as noise
_SCHEME = f"r{RMinHash.ALGORITHM_VERSION}:"
SHINGLE_TOKENS = 3
MIN_SIGNATURE_SHINGLES = 30  # about 150 characters of English, 30 of Chinese
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(f"[{_HAN}]|[^\\W{_HAN}]+")  # a Chinese character is a token; a Latin word is one
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class BodySignature:
    """What a body is compared by: its shingles' MinHash (hex) and the numbers it states."""

    minhash: str
    numbers: tuple[str, ...]


def shingles(text: str) -> set[str]:
    """Runs of SHINGLE_TOKENS tokens (Latin words, single Chinese characters) of the folded, lower-cased text:
    a sentence added, cut or moved changes only the shingles at its edges."""
    tokens = _TOKEN.findall(fold(text).casefold())
    if len(tokens) < SHINGLE_TOKENS:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE_TOKENS]) for i in range(len(tokens) - SHINGLE_TOKENS + 1)}


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a body states, separators dropped ("10,577" → "10577")."""
    return frozenset(match.replace(",", "") for match in _NUMBER.findall(fold(text)))


def body_signature(text: str) -> BodySignature:
    """The body's signature; an empty MinHash for a body too short to tell one story from another (a
    JavaScript or cookie wall that many pages of one site share)."""
    tokens = shingles(text)
    if len(tokens) < MIN_SIGNATURE_SHINGLES:
        return BodySignature("", ())
    minhash = RMinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)
    minhash.update(list(tokens))
    packed = array("I", minhash.digest())
    return BodySignature(_SCHEME + packed.tobytes().hex(), tuple(sorted(numbers_in(text))))


def similarity(one: str, other: str) -> float:
    """The estimated Jaccard similarity of two bodies' shingles, from their MinHashes (0 when either is empty
    or they were made with other parameters)."""
    if not one.startswith(_SCHEME) or len(one) != len(other) or not other.startswith(_SCHEME):
        return 0.0
    a, b = array("I", bytes.fromhex(one[len(_SCHEME) :])), array("I", bytes.fromhex(other[len(_SCHEME) :]))
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def near_duplicate(
    one: BodySignature, other: BodySignature, *, min_similarity: float = NEAR_DUPLICATE_SIMILARITY
) -> bool:
    """True when two bodies are one story re-edited (a new headline, a sentence added or cut, paragraphs
    moved): similar enough shingles, and figures that agree.

    Similar wording is not enough: two stories of one week on the same topic share most of it, and their
    figures tell them apart. Each stating a number the other lacks makes them two stories; an outlet that
    adds or cuts a sentence only adds or removes numbers on one side.
    """
    # the numbers first: a set difference is cheap, and most pairs of one week's stories fail it
    return numbers_agree(one, other) and similarity(one.minhash, other.minhash) >= min_similarity


def numbers_agree(one: BodySignature, other: BodySignature) -> bool:
    """False when each body states a number the other lacks (other figures: another story)."""
    numbers_a, numbers_b = set(one.numbers), set(other.numbers)
    return not (numbers_a - numbers_b and numbers_b - numbers_a)
