"""The report's findings: per domain, one sentence with the number that matters and its baseline.

Each function reads a suite's summary (the dict ``run_DOMAIN_suite`` returns) and
says what the maps found against a reference a reader can judge: the contrast map
against Grad-CAM ("Why P?") and against the share of the image the truth covers or
chance. A summary without the numbers (no labels, a suite that measured nothing)
gives a sentence saying what was not checked, never an invented number.
"""
from __future__ import annotations

from typing import Callable, Optional

from .report import Finding


def share(value: Optional[float]) -> str:
    """A share as a percentage, or "not checked" for None."""
    return "not checked" if value is None else f"{value:.1%}"


def seismic_finding(summary: dict) -> str:
    """Per checked structure, the energy of "Why P, rather than horizon?" inside it beside Grad-CAM's (Why P?),
    where the contrast loses as well as where it wins; balanced accuracy beside chance."""
    truth = summary.get("truth")
    if not truth:
        return (f"Inline {summary.get('inline')}: the survey has no labels beside it, so the maps were not checked "
                "against a truth.")
    accuracy = truth.get("balanced_accuracy")
    classes = len(truth.get("confusion", [])) or 4
    accuracy_text = ("" if accuracy is None else f"; balanced accuracy {accuracy:.2f} on {truth.get('patches')} "
                     f"clear patches (chance {1 / classes:.2f})")
    checked = [(name, shares) for name, shares in truth.get("energy_share", {}).items()
               if shares.get("contrast") is not None]
    if not checked:
        return (f"Inline {summary.get('inline')}: no patch both labelled and predicted fault or salt, so the maps "
                f"were not checked{accuracy_text}.")
    parts = []
    for name, shares in checked:
        area = shares.get("area_share")
        area_text = "" if area is None else f", the {name} covering {share(area)} of the patch"
        parts.append(f"Why {name}, rather than horizon? puts {share(shares['contrast'])} of its energy inside the "
                     f"true {name} ({shares['patches']} patches; Grad-CAM's Why {name}? {share(shares['gradcam'])}"
                     f"{area_text})")
    return "; ".join(parts) + f"{accuracy_text}."


def iqa_finding(summary: dict) -> str:
    """Energy of "Why s, rather than the pristine score?" inside the damage, beside the damage's area share."""
    damage = summary.get("damage")
    evaluation = summary.get("evaluation") or {}
    srcc = evaluation.get("srcc")
    srcc_text = "" if srcc is None else f"; SRCC with the held-out labels {srcc:.2f} (0 for a random ranking)"
    if not damage:
        return f"The model scores the pair {summary.get('score', float('nan')):.3f}; no known damage to check the " \
               f"maps against{srcc_text}."
    energies = damage["energy_share"]
    question = next((q for q in energies if "rather" in q), next(iter(energies)))
    return (f"{question} puts {share(energies[question])} of its energy inside the damaged rectangle, which covers "
            f"{share(damage['area_share'])} of the image (a map blind to the damage scores about that){srcc_text}.")


def recognition_finding(summary: dict) -> str:
    """Energy of "Why A, rather than B?" on the differing part, beside Grad-CAM and a random map; accuracy vs chance."""
    classes = len(summary.get("class_names", [])) or 1
    accuracy = f"accuracy {summary['accuracy']:.2f} (chance {1 / classes:.2f})" if "accuracy" in summary else ""
    energy = summary.get("energy_share")
    if not energy:
        return f"The classifier's {accuracy}; the differing parts are not known here, so the maps were not checked."
    area = summary.get("truth_area")
    area_text = "" if area is None else f" (the part covers {share(area)} of the image: a random map's share)"
    return (f"Why A, rather than B? puts {share(energy.get('contrast'))} of its energy on the part that tells the "
            f"look-alikes apart, Grad-CAM (Why A?) {share(energy.get('gradcam'))}{area_text}; {accuracy}.")


def real_seismic_finding(summary: dict) -> str:
    """On the real F3 patches: the balanced accuracy beside chance and the faults missed; the real inline unchecked."""
    patches = summary["patches"]
    (found, missed), (false_alarms, _) = patches["confusion"]
    return (f"On real F3 data the classifier is wrong on {missed + false_alarms} of {patches['patches']} "
            f"hand-labelled patches (fault against the rest): balanced accuracy {patches['balanced_accuracy']:.2f}, "
            f"chance {summary['chance']:.2f}; it misses {missed} of {found + missed} faults. The real inline "
            f"{summary['inline']} is explained but has no labels to check its maps against.")


def real_iqa_finding(summary: dict) -> str:
    """On the real TID2013 pair: the model's score beside people's, in MOS points, and people's own spread."""
    return (f"On a real TID2013 pair the model scores {summary['model_mos']:.2f} where people gave "
            f"{summary['mos']:.2f} (MOS, 0-9): {abs(summary['gap_mos']):.2f} points "
            f"{'above' if summary['gap_mos'] > 0 else 'below'}, against a spread of {summary['mos_std']:.2f} among "
            f"people; {summary['question']} maps where that difference comes from.")


FINDINGS: dict[str, Callable[[dict], str]] = {"seismic": seismic_finding, "iqa": iqa_finding,
                                               "recognition": recognition_finding}
REAL_FINDINGS: dict[str, Callable[[dict], str]] = {"seismic": real_seismic_finding, "iqa": real_iqa_finding}
"""The sentence of each domain's real-data section (``real_data.REAL_SUITES``), whose id is ``DOMAIN-real``."""


def findings(suites: dict[str, dict], real: Optional[dict[str, dict]] = None) -> list[Finding]:
    """One finding per domain suite that ran, in their order, each linking to the section named after it;
    after a domain's, the finding of its real-data section when ``real`` holds one."""
    found = []
    for domain, summary in suites.items():
        if domain in FINDINGS:
            found.append(Finding(domain, FINDINGS[domain](summary)))
        if domain in (real or {}):
            found.append(Finding(f"{domain}-real", REAL_FINDINGS[domain](real[domain])))
    return found
