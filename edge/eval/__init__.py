"""edge eval: labelled sets (make-set, dataset), field checkers, scoring runs and reports."""
