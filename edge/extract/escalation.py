"""The escalation checks: each finds a reason to try the next tier, or None. ESCALATE is the one list."""

from __future__ import annotations

from collections.abc import Callable

from .schemas import SchemaSpec
from .tier import Reason, TierResult

LOW_CONFIDENCE = 0.5  # confidences: "low" maps to 0.3, "medium" to 0.6, "high" to 0.9

# -- escalation checks: a reason to try the next tier, or None ----------------------------------------


def invalid_output(result: TierResult, spec: SchemaSpec) -> Reason | None:
    if result.status == "invalid":
        return {"code": "invalid_output", "message": "the answer did not validate against the schema"}
    return None


def required_missing(result: TierResult, spec: SchemaSpec) -> Reason | None:
    missing = [name for name in spec.required if result.data.get(name) in (None, "", [])]
    if result.status == "ok" and missing:
        return {"code": "required_missing", "message": f"required fields are null: {', '.join(missing)}",
                "fields": missing}
    return None


def low_confidence(result: TierResult, spec: SchemaSpec) -> Reason | None:
    """A filled field the model rates low, or an OCR pass that read poorly."""
    if result.status != "ok":
        return None
    low = sorted(name for name, score in result.confidence.items()
                 if score < LOW_CONFIDENCE and result.data.get(name) not in (None, "", []))
    ocr_poor = [r for r in result.reasons if r.get("code") in ("low_ocr_confidence", "no_text")]
    if not low and not ocr_poor:
        return None
    message = "; ".join(filter(None, [f"low confidence in: {', '.join(low)}" if low else "",
                                      *(r["message"] for r in ocr_poor)]))
    return {"code": "low_confidence", "message": message, "fields": low}


def ungrounded(result: TierResult, spec: SchemaSpec) -> Reason | None:
    fields = [r["field"] for r in result.reasons if r.get("code") == "ungrounded"]
    if not fields:
        return None
    return {"code": "ungrounded", "message": f"values not found in the OCR text: {', '.join(fields)}",
            "fields": fields}


EscalationCheck = Callable[[TierResult, SchemaSpec], "Reason | None"]
ESCALATE: list[EscalationCheck] = [invalid_output, required_missing, low_confidence, ungrounded]  # the one list


def reasons_to_escalate(result: TierResult, spec: SchemaSpec) -> list[Reason]:
    return [reason for check in ESCALATE if (reason := check(result, spec))]
