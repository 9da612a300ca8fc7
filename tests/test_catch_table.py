"""scripts/catch_table.py: the README's short form of "What the suite catches"."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import catch_table  # noqa: E402  (a script, not a package)


def _row(reason, checks, classes, in_report=True):
    return {"reason": reason, "checks": checks, "classes": classes, "in_report": in_report}


def test_summary_joins_a_same_root_cause_entry_and_counts_classes():
    results = {"WipesKeptBias": {"already_in_library": False,
                                 "classes": {"TFBertForMaskedLM": {"killed": ["bias.prefix_kept_new_zero"]},
                                             "TFBartForConditionalGeneration": {"killed": []}}},
               "TieDecidedByValues": {"already_in_library": True, "classes": {"TFRemBertForMaskedLM": {}}}}
    rows = [_row("models/a/modeling_tf_a.py TFAMainLayer.set_input_embeddings stores a Variable", ["grow.shape"], ["A1"]),
            _row("modeling_tf_utils.py TFPreTrainedModel.resize_token_embeddings never validates", ["bad_input.x"],
                 ["A1", "B", "C"]),
            _row("Same root cause as the entry of A (models/a/modeling_tf_a.py TFAMainLayer.set_input_embeddings)",
                 ["train.x"], ["A2"]),
            _row("modeling_tf_utils.py TFPreTrainedModel.save_pretrained drops it", ["dtype.x"], [], in_report=False)]
    text = catch_table.render_summary(results, rows, {"transformers": "4.57.6", "tensorflow": "2.21.0"}, "docs", "catch_table.py")
    assert "1 of 2 mutant x class pairs caught" in text
    assert "| WipesKeptBias | bias | **not caught** | - |" in text
    assert "| in transformers |" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("| `")]
    assert lines[0].startswith("| `modeling_tf_utils.py TFPreTrainedModel.resize_token_embeddings` | never validates")
    assert lines[0].endswith("| bad_input | 3 |")  # most classes first
    assert lines[1].endswith("| grow, train | 2 |")  # the same-root-cause entry joined its row
    assert lines[2].endswith("| dtype | not in the report |")
    assert "3 defects, 4 classes with at least one." in text


def test_readme_has_the_generated_summary():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    section = readme.split(catch_table.SUMMARY_START, 1)[1].split(catch_table.SUMMARY_END, 1)[0]
    assert "**Injected defects**" in section and "**Defects found in transformers" in section


def test_a_cut_inside_a_code_span_closes_it():
    assert catch_table._cut("compares `a == b` and more words", 100) == "compares `a == b` and more words"
    assert catch_table._cut("see `x = y + z` now", 16) == "see `x = y +`..."
    assert catch_table._cut("plain words only here", 15) == "plain words..."
