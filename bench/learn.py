"""Fit the answer models on the public SQuAD slice, cross-validated against hand-set weights.

    python -m bench.learn [--data ../shared/bench/squad-dev-subset.json] [--work DIR] [--write]

Every question's (sentence, span) pairs and their features come from
`qa.answering.pairs_of`, and answers are chosen from them by
`qa.answering.choose`, exactly as `Retriever.answer` does. Three models are
fitted:
- the span model is a conditional logit, a softmax over each question's
  pairs (`fit_span`), whose target is the pairs with the question's best
  token F1 with the gold answers; its best pair chooses the sentence;
- the inside model is the same kind of model over the spans of that
  sentence alone, which then chooses the span: fitted on all pairs, the span
  model trades the choice of the span against the choice of the sentence;
- the confidence model, a logistic regression (scikit-learn), predicts
  whether the best pair is right (F1 >= 0.5; SQuAD 2.0's unanswerable
  questions are never right) from `answering.confidence_features`; a
  logistic model is calibrated by construction, and the out-of-fold
  reliability table shows how well.
Folds group questions by paragraph, so no paragraph is in training and
test at once. Prints, per model, held-out figures beside the hand-set
weights'; `--write` saves the models fitted on all questions to qa/weights.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from bench.metrics import best_f1, exact
from bench.squad import DEFAULT_DATA, write_seeds
from qa import Retriever, answering, build_index
from qa.answering import CONFIDENCE_FEATURES, SPAN_FEATURES, Choice, Model
from qa.settings import DEFAULT

HAND_SET = Model({"sentence": 2.0, "chunk": 1.0, "cosine": 1.0, "coverage": 1.0, "context": 0.5, "rank": -0.3,
                  "type_first": 2.0, "type_other": 1.0, "type_group": 0.3, "typed_miss": -1.5,
                  "typed_sentence": 0.5, "entity": 0.3, "whole": -1.0, "overlap": -2.0, "distance": -0.5,
                  "path": -0.3, "head_match": 0.5, "role_match": 0.3, "length": -0.2}, -3.0)
FOLDS = 5


@dataclass
class Example:
    """One question's pairs, their features and how right each is."""

    question: str
    group: str
    answerable: bool
    asked: answering.Asked
    pairs: answering.Pairs
    f1: np.ndarray
    exact: np.ndarray
    sentence_hit: np.ndarray
    gold_document: np.ndarray


def collect(retriever: Retriever, questions) -> list[Example]:
    examples = []
    for q in questions:
        asked, candidates, reader = retriever.considered(q.text)
        pairs = answering.pairs_of(asked, candidates, reader.document_at, DEFAULT.answering)
        token_rows, hits = candidates.sentences.token_rows, candidates.sentences
        f1s, exacts, sentence_hits, gold_documents = [], [], [], []
        by_position = {s.position: s for s in pairs.sentences}
        for span in pairs.spans:
            document = reader.document_at(int(hits.spans[span.position]["doc"]))
            text = document.text[int(token_rows[span.first]["start"]):int(token_rows[span.stop - 1]["end"])]
            f1s.append(best_f1(text, q.answers))
            exacts.append(exact(text, q.answers))
            sentence = by_position[span.position].text
            sentence_hits.append(document.id == q.doc_id and any(gold in sentence for gold in q.answers))
            gold_documents.append(document.id == q.doc_id)
        examples.append(Example(q.text, q.doc_id, bool(q.answers), asked, pairs, np.array(f1s),
                                np.array(exacts, dtype=bool), np.array(sentence_hits, dtype=bool),
                                np.array(gold_documents, dtype=bool)))
    return examples


def matrix(table: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.stack([table[name] for name in names], axis=1).astype(np.float64) if len(table) else \
        np.zeros((0, len(names)))


def fit_span(examples: list[Example], l2: float = 1.0) -> Model:
    """The span model: a conditional logit over each question's pairs."""
    return fit_choice([(e.pairs.features, e.f1) for e in examples], l2)


def fit_inside(span_model: Model, examples: list[Example], l2: float = 1.0) -> Model:
    """The inside model: a conditional logit over the spans of the sentence the span model chooses."""
    groups = []
    for e in examples:
        if len(e.pairs.spans):
            position = e.pairs.spans[int(np.argmax(span_model.logit(e.pairs.features)))].position
            inside = np.flatnonzero([span.position == position for span in e.pairs.spans])
            groups.append((e.pairs.features[inside], e.f1[inside]))
    return fit_choice(groups, l2)


def fit_choice(groups: list[tuple[np.ndarray, np.ndarray]], l2: float) -> Model:
    """A conditional logit (a softmax over each group's pairs, as in Rajpurkar et al. 2016) over
    (features, F1) groups, fitted by L-BFGS: the pairs with the group's best F1 share the target.
    scikit-learn has no grouped softmax, so the loss and its gradient are written here (a few
    lines of numpy)."""
    usable = [(features, f1) for features, f1 in groups if len(f1) and f1.max() > 0]
    x = np.concatenate([matrix(features, SPAN_FEATURES) for features, _ in usable])
    target = np.concatenate([(f1 == f1.max()) / (f1 == f1.max()).sum() for _, f1 in usable])
    group = np.repeat(np.arange(len(usable)), [len(f1) for _, f1 in usable])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = x @ w
        peak = np.full(len(usable), -np.inf)
        np.maximum.at(peak, group, scores)
        exp = np.exp(scores - peak[group])
        total = np.bincount(group, exp, minlength=len(usable))
        probability = exp / total[group]
        value = -(target * np.log(np.maximum(probability, 1e-300))).sum() + l2 * w @ w / 2
        return value / len(usable), (x.T @ (probability - target) + l2 * w) / len(usable)

    weights = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return Model(dict(zip(SPAN_FEATURES, weights.round(4).tolist(), strict=True)), 0.0)


def answer_of(span_model: Model, inside_model: Model, example: Example) -> tuple[Choice, np.ndarray]:
    """The models' choice among a question's pairs and the confidence features of its answer."""
    choice = answering.choose(example.pairs.spans, example.pairs.features, span_model, inside_model)
    return choice, answering.confidence_features(example.asked, example.pairs.features, choice,
                                                 example.pairs.sentences)


def evaluate(span_model: Model, inside_model: Model, examples: list[Example]) -> dict[str, float]:
    answerable = [e for e in examples if e.answerable and len(e.pairs.spans)]
    picks = [answer_of(span_model, inside_model, e)[0].pick for e in answerable]
    total = sum(e.answerable for e in examples)
    return {"sentence hit@1": sum(e.sentence_hit[p] for e, p in zip(answerable, picks, strict=True)) / total,
            "span exact match": sum(e.exact[p] for e, p in zip(answerable, picks, strict=True)) / total,
            "span F1": sum(e.f1[p] for e, p in zip(answerable, picks, strict=True)) / total,
            "whole sentences": sum(e.pairs.spans[p].label == "SENTENCE"
                                   for e, p in zip(answerable, picks, strict=True)) / max(1, len(answerable))}


def confidence_data(span_model: Model, inside_model: Model,
                    examples: list[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question with candidates: the confidence features of its answer, whether that answer
    is right, and what answering would score in SQuAD 2.0's F1 (abstaining scores 1 - that)."""
    rows, labels, scores = [], [], []
    for e in examples:
        if not len(e.pairs.spans):
            continue
        choice, features = answer_of(span_model, inside_model, e)
        rows.append(matrix(features, CONFIDENCE_FEATURES)[0])
        labels.append(e.answerable and e.f1[choice.pick] >= 0.5)
        scores.append(e.f1[choice.pick] if e.answerable else 0.0)
    return np.array(rows), np.array(labels, dtype=bool), np.array(scores)


def fit_confidence(x: np.ndarray, y: np.ndarray) -> Model:
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    return Model(dict(zip(CONFIDENCE_FEATURES, model.coef_[0].round(4).tolist(), strict=True)),
                 round(float(model.intercept_[0]), 4))


def cross_validate(examples: list[Example]) -> None:
    groups = [e.group for e in examples]
    learned: dict[str, list[float]] = {}
    alone: dict[str, list[float]] = {}
    hand: dict[str, list[float]] = {}
    out_of_fold_p: list[float] = []
    out_of_fold_y: list[bool] = []
    out_of_fold_f1: list[float] = []
    out_of_fold_answerable: list[bool] = []
    for train, test in GroupKFold(FOLDS).split(examples, groups=groups):
        training = [examples[i] for i in train]
        testing = [examples[i] for i in test]
        span_model = fit_span([e for e in training if e.answerable])
        inside_model = fit_inside(span_model, [e for e in training if e.answerable])
        for name, value in evaluate(span_model, inside_model, testing).items():
            learned.setdefault(name, []).append(value)
        for name, value in evaluate(span_model, span_model, testing).items():
            alone.setdefault(name, []).append(value)
        for name, value in evaluate(HAND_SET, HAND_SET, testing).items():
            hand.setdefault(name, []).append(value)
        x, y, _ = confidence_data(span_model, inside_model, training)
        confidence = fit_confidence(x, y)
        x, y, scores = confidence_data(span_model, inside_model, testing)
        out_of_fold_f1.extend(scores.tolist())
        out_of_fold_answerable.extend(e.answerable for e in testing if len(e.pairs.spans))
        features = answering.table(CONFIDENCE_FEATURES, len(x))
        for n, name in enumerate(CONFIDENCE_FEATURES):
            features[name] = x[:, n]
        out_of_fold_p.extend(confidence.probability(features).tolist())
        out_of_fold_y.extend(y.tolist())
    print(f"\nspan model, {FOLDS}-fold cross-validation grouped by paragraph (held-out mean):\n")
    print("| metric | hand-set weights | learned: span model alone | learned: span, then inside model |\n"
          "|---|---|---|---|")
    for name in learned:
        print(f"| {name} | {np.mean(hand[name]):.3f} | {np.mean(alone[name]):.3f} | {np.mean(learned[name]):.3f} |")
    p, y = np.array(out_of_fold_p), np.array(out_of_fold_y)
    print(f"\nconfidence model, out of fold: AUC {roc_auc_score(y, p):.3f}, Brier {np.mean((p - y) ** 2):.3f}\n")
    print("| confidence | questions | share right |\n|---|---|---|")
    for low in np.arange(0, 1, 0.2):
        inside = (p >= low) & (p < low + 0.2 + (low >= 0.8) * 1e-9)
        if inside.any():
            print(f"| {low:.1f}-{low + 0.2:.1f} | {inside.sum()} | {y[inside].mean():.3f} |")
    f1, answerable = np.array(out_of_fold_f1), np.array(out_of_fold_answerable)
    print("\n| min_confidence | answered | answered ones right | SQuAD 2.0 F1 with abstention |\n|---|---|---|---|")
    for threshold in (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5):
        kept = p >= threshold
        overall = (f1[kept].sum() + (~answerable & ~kept).sum()) / len(p)
        mark = " (the default)" if threshold == DEFAULT.answering.min_confidence else ""
        print(f"| {threshold}{mark} | {kept.mean():.3f} | {y[kept].mean() if kept.any() else 0:.3f} | {overall:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD 2.0 JSON file")
    parser.add_argument("--work", type=Path, help="folder to keep the seeds and index in between runs")
    parser.add_argument("--write", action="store_true", help="save the models fitted on all questions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        seeds, index_dir = work / "seeds", work / "index"
        seeds.mkdir(parents=True, exist_ok=True)
        questions = write_seeds(args.data, seeds)
        build_index(seeds, index_dir, progress=False)
        examples = collect(Retriever.open(index_dir), questions)
    print(f"{len(examples)} questions, {sum(len(e.pairs.spans) for e in examples)} (sentence, span) pairs")
    answerable = [e for e in examples if e.answerable]
    print(f"best possible among the pairs: sentence hit {np.mean([e.sentence_hit.any() for e in answerable]):.3f}, "
          f"span F1 {np.mean([e.f1.max(initial=0) for e in answerable]):.3f}")
    cross_validate(examples)
    if args.write:
        span_model = fit_span([e for e in examples if e.answerable])
        inside_model = fit_inside(span_model, [e for e in examples if e.answerable])
        x, y, _ = confidence_data(span_model, inside_model, examples)
        confidence = fit_confidence(x, y)
        weights = {name: {"bias": model.bias, "weights": model.weights}
                   for name, model in (("span", span_model), ("inside", inside_model), ("confidence", confidence))}
        answering.WEIGHTS_FILE.write_text(json.dumps(weights, indent=1) + "\n")
        print(f"\nwrote {answering.WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
