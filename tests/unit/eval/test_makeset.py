"""`edge eval make-set`'s own promises (edge/eval/makeset.py): byte-identical per seed,
truth fields = the built-in schemas, traps and hard cases present."""

from edge.eval import dataset
from edge.eval.makeset import make_set
from edge.extract.schemas import BUILTIN


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    a, b, c = (make_set(tmp_path / name, 6, seed) for name, seed in (("a", 9), ("b", 9), ("c", 10)))
    files = lambda paths: {p.name: p.read_bytes() for p in paths[0].parent.iterdir()}  # noqa: E731
    assert files(a) == files(b)
    assert files(a) != files(c)


def test_truth_fields_are_the_builtin_schema_fields_with_traps_and_hard_cases(tmp_path):
    samples = dataset.load(make_set(tmp_path / "set", 24, seed=4)[0].parent)
    for sample in samples:
        model, _required = BUILTIN[sample.schema]
        assert list(sample.fields) == list(model.model_fields), sample.name
        for name in sample.meta["missing_on_purpose"]:
            assert sample.fields[name] is None
    assert {s.schema for s in samples} == {"invoice", "claim_form", "receipt"}
    assert any(s.meta["missing_on_purpose"] for s in samples)
    hard = {case for s in samples for case in s.meta["hard_cases"]}
    assert len(hard) >= 5, hard
    assert {p.suffix for p in (s.path for s in samples)} == {".png", ".jpg"}
