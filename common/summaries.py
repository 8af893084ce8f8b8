"""JSON summaries: the numbers of a result in plain types, written atomically."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .questions import Task
from .results import ExplanationResult
from .storage import PathLike, atomic_path


def plain(value: float) -> float | None:
    """A float for JSON: NaN and Inf become null."""
    value = float(value)
    return value if math.isfinite(value) else None


def plain_tree(value: Any) -> Any:
    """``value`` with every float in it, through nested dicts and lists, made ``plain``: JSON without NaN."""
    if isinstance(value, dict):
        return {key: plain_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_tree(item) for item in value]
    return plain(value) if isinstance(value, float) else value


def question_records(result: ExplanationResult, index: int) -> list[dict[str, Any]]:
    """Each question about input ``index``: kind, title, P and Q, and their probabilities or scores."""
    records = []
    for j in range(result.n_questions):
        record: dict[str, Any] = {"kind": result.kinds[j], "title": result.title(index, j)}
        if result.task == Task.CLASS:
            p, q = int(result.p[index, j]), int(result.q[index, j])
            probs = result.probs[index]
            record.update(p=p, p_name=result.name_of(p), p_probability=plain(probs[p]))
            if q >= 0:
                record.update(q=q, q_name=result.name_of(q), q_probability=plain(probs[q]))
        else:
            record.update(score=plain(result.p[index, j]), q=plain(result.q[index, j]))
        records.append(record)
    return records


def write_json(path: PathLike, content: dict[str, Any]) -> Path:
    """``content`` as indented JSON (NaN refused: use ``plain``), written atomically once it is known to fit."""
    text = (json.dumps(content, indent=2, allow_nan=False) + "\n").encode()
    with atomic_path(path, size=len(text)) as temporary:
        temporary.write_bytes(text)
    return Path(path)
