"""Time parse_file on a generated 10,000-question bank (.xlsx and .csv), parsing only; no database."""

import argparse
import os
import random
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; the best is reported")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edu.settings")
    import django

    django.setup()
    from quizzes.importing import export_rows, parse_file, write_csv, write_xlsx

    header, rows = export_rows(generate(args.questions))
    for name, write in (("xlsx", write_xlsx), ("csv", write_csv)):
        data = write(header, rows)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = parse_file(data, f"bank.{name}", max_questions=args.questions)
            timings.append(time.perf_counter() - started)
        assert not result.errors, result.errors[:5]
        assert len(result.questions) == args.questions
        best = min(timings)
        print(
            f"{name:>4}: {args.questions:,} questions, {len(data) / 1e6:.2f} MB, "
            f"best {best:.2f} s of {args.repeat} ({args.questions / best:,.0f} questions/s)"
        )


def generate(count: int):
    from quizzes.importing import AUDIENCES, TRUE_FALSE_OPTIONS, ParsedQuestion

    rng = random.Random(626)  # reproducible data, not security
    words = [
        "冰毒",
        "海洛因",
        "大麻",
        "摇头丸",
        "氯胺酮",
        "新精神活性物质",
        "禁毒法",
        "刑法",
        "成瘾",
        "戒断",
        "家长",
        "学校",
        "heroin",
        "law",
    ]
    for number in range(count):
        kind = ("single", "multiple", "true_false")[number % 3]
        stem = f"第{number}题：{'、'.join(rng.choices(words, k=rng.randint(6, 20)))}，下列说法正确的是？"
        if kind == "true_false":
            options, correct = TRUE_FALSE_OPTIONS["zh-hans"], (rng.choice("AB"),)
        else:
            size = rng.randint(3, 6)
            options = tuple(f"{letter}项 {' '.join(rng.choices(words, k=4))}" for letter in "ABCDEF"[:size])
            picks = rng.sample("ABCDEF"[:size], 1 if kind == "single" else rng.randint(2, size))
            correct = tuple(sorted(picks))
        yield ParsedQuestion(
            type=kind,
            stem=stem,
            options=options,
            correct=correct,
            explanation="，".join(rng.choices(words, k=12)),
            difficulty=rng.randint(1, 5),
            category=("禁毒知识", rng.choice(["法律", "识毒", "防毒", "拒毒"])),
            tags=tuple(rng.sample(words, 2)),
            audience=tuple(sorted(rng.sample(AUDIENCES, 2), key=AUDIENCES.index)),
            language="zh-hans",
            source="bench",
        )


if __name__ == "__main__":
    main()
