"""Near-duplicate stories: precision and recall on the labelled pairs in tests/data/near-duplicates.

``python -m benchmarks.near_duplicates`` prints, for the monitor's MinHash (rensa, ``monitor.signatures``)
and for a 64-bit SimHash of our own over the same shingles, the precision and recall at each threshold, with
and without the numbers check that keeps two stories of one topic with other figures apart. ``rows()`` gives
the lines of benchmarks/RESULTS.md: the monitor's threshold, and the best SimHash for comparison.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.signatures import (
    MINHASH_PERMUTATIONS,
    NEAR_DUPLICATE_SIMILARITY,
    body_signature,
    near_duplicate,
    numbers_agree,
    shingles,
    similarity,
)

CORPUS = Path(__file__).parent.parent / "tests" / "data" / "near-duplicates"


@dataclass(frozen=True)
class Pair:
    """Two bodies and whether they are one story."""

    a: str
    b: str
    same: bool
    note: str


def load_pairs(corpus: Path = CORPUS) -> tuple[dict[str, str], list[Pair]]:
    """The bodies by name (each file's headline line left out) and the labelled pairs."""
    bodies = {
        path.name.removesuffix(".txt"): path.read_text(encoding="utf-8").split("\n", 1)[1]
        for path in corpus.glob("*.txt")
    }
    pairs = []
    for line in (corpus / "pairs.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            a, b, label, note = line.split("\t")
            pairs.append(Pair(a, b, label == "same", note))
    return bodies, pairs


def scores(pairs: Iterable[Pair], same: Callable[[Pair], bool]) -> tuple[float, float, list[Pair]]:
    """Precision, recall and the pairs told wrongly."""
    pairs = list(pairs)
    told = [(pair, same(pair)) for pair in pairs]
    true_pos = sum(p.same and s for p, s in told)
    precision = true_pos / max(1, sum(s for _, s in told))
    recall = true_pos / max(1, sum(p.same for p in pairs))
    return precision, recall, [p for p, s in told if s != p.same]


def simhash(text: str) -> int:
    """A 64-bit SimHash over the same shingles: the alternative measured against MinHash."""
    weights = [0] * 64
    for shingle in shingles(text):
        bits = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for i in range(64):
            weights[i] += 1 if bits >> i & 1 else -1
    return sum(1 << i for i, weight in enumerate(weights) if weight > 0)


def sweep(log: Callable[[str], None] = print) -> dict[str, Any]:
    """Precision and recall of each method over its thresholds; what ``rows`` reports."""
    bodies, pairs = load_pairs()
    body_signature(next(iter(bodies.values())))  # the first pays any warming up, outside the timing
    started = time.perf_counter()
    signatures = {name: body_signature(body) for name, body in bodies.items()}
    per_body_ms = (time.perf_counter() - started) * 1000 / len(bodies)
    hashes = {name: simhash(body) for name, body in bodies.items()}
    table: dict[tuple[str, float, bool], tuple[float, float, list[Pair]]] = {}
    for tenth in range(1, 10):
        cut = tenth / 10
        table[("minhash", cut, False)] = scores(
            pairs, lambda p, c=cut: similarity(signatures[p.a].minhash, signatures[p.b].minhash) >= c
        )
        table[("minhash", cut, True)] = scores(
            pairs, lambda p, c=cut: near_duplicate(signatures[p.a], signatures[p.b], min_similarity=c)
        )
    for bits in range(0, 33, 2):
        close = {p: (hashes[p.a] ^ hashes[p.b]).bit_count() <= bits for p in pairs}
        table[("simhash", bits, False)] = scores(pairs, lambda p, close=close: close[p])
        table[("simhash", bits, True)] = scores(
            pairs, lambda p, close=close: close[p] and numbers_agree(signatures[p.a], signatures[p.b])
        )
    for (method, threshold, guard), (precision, recall, _) in sorted(table.items()):
        log(f"{method:8} {threshold:>5} numbers={guard!s:5} precision={precision:.3f} recall={recall:.3f}")
    return {"pairs": pairs, "table": table, "per_body_ms": per_body_ms}


def rows(log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The lines of benchmarks/RESULTS.md: our threshold's precision and recall, and the best SimHash's."""
    measured = sweep(log)
    pairs, table = measured["pairs"], measured["table"]
    same = sum(p.same for p in pairs)
    labelled = f"{len(pairs)} labelled pairs ({same} same story, {len(pairs) - same} same topic)"
    precision, recall, wrong = table[("minhash", NEAR_DUPLICATE_SIMILARITY, True)]
    bare_p, bare_r, _ = table[("minhash", NEAR_DUPLICATE_SIMILARITY, False)]
    out = [
        {
            "section": "near-duplicates",
            "measure": f"MinHash ({MINHASH_PERMUTATIONS} perm.) similarity ≥ {NEAR_DUPLICATE_SIMILARITY} "
            f"+ numbers check, {labelled}",
            "ours": f"precision {precision:.3f} / recall {recall:.3f}",
            "baseline": f"without the numbers check {bare_p:.3f} / {bare_r:.3f}",
            "ratio": f"{measured['per_body_ms']:.2f} ms per body",
            "target": "precision 1.0 (two stories never merged)",
            "met": precision == 1.0,
        }
    ]
    for pair in wrong:
        log(f"told wrongly: {pair.a} / {pair.b} ({'same' if pair.same else 'different'}: {pair.note})")
    simhashes = [(k, v) for k, v in table.items() if k[0] == "simhash" and k[2]]
    (_, bits, _), (sp, sr, _) = max(simhashes, key=lambda kv: (kv[1][0] == 1.0, kv[1][1], -kv[0][1]))
    out.append(
        {
            "section": "near-duplicates",
            "measure": f"own 64-bit SimHash, best cut ≤ {bits} bits + numbers check, same pairs",
            "ours": f"precision {sp:.3f} / recall {sr:.3f}",
            "baseline": "same shingles and numbers check",
            "ratio": "",
            "target": "equal to MinHash to replace it",
            "met": (sp, sr) >= (precision, recall),
        }
    )
    return out


if __name__ == "__main__":
    for row in rows(lambda line: print(line, file=sys.stderr)):
        print(" | ".join(str(v) for v in row.values()))
