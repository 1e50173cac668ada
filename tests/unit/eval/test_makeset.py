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


def test_invoices_come_in_other_languages_and_layouts(tmp_path):
    """As real ones do: German, French and Dutch labels and dates, the recipient's address window
    printed above the issuer, the issuer's legal line in the footer."""
    invoices = [s for s in dataset.load(make_set(tmp_path / "set", 24, seed=4)[0].parent) if s.schema == "invoice"]
    assert {s.meta["language"] for s in invoices} >= {"en", "de", "fr"}
    assert any(s.meta["layout"]["recipient_first"] for s in invoices)
    assert any(not s.meta["layout"]["recipient_first"] for s in invoices)
    assert any(s.meta["layout"]["footer"] for s in invoices)
    for sample in invoices:
        if sample.meta["language"] != "en" and sample.fields["currency"] is not None:
            assert sample.fields["currency"] == "EUR", sample.name
