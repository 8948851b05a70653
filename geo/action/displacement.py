"""Did crime move, or fall? The Weighted Displacement Quotient and Difference, from six counts.

Counts in the treated area A, a buffer ring B around it and a control area C,
before (0) and after (1) an intervention:

* :func:`weighted_displacement_quotient` — Bowers & Johnson (2003), as
  FIELD.md §2.7 defines it (``blackthrive/streetlamp``):
  ``WDQ = [(B1/C1) - (B0/C0)] / [(A1/C1) - (A0/C0)]``.
* :func:`weighted_displacement_difference` — Wheeler & Ratcliffe (2018):
  how many fewer incidents there were in the target and buffer than the
  control's trend predicts, with its Poisson standard error. When the
  control's baseline is not comparable with the target's (the usual case:
  the rest of a district holds thousands of times more), the control's
  change is applied to the target's own scale, ``counterfactual = A0 · C1/C0``
  (and ``B0 · C1/C0`` for the buffer); when it is comparable the raw-count
  difference ``(A1 - A0) - (C1 - C0)`` of ``apwheele/ptools`` is used. Each
  result says which form it used.

All are plain functions: ``weighted_displacement_quotient(100, 50, 100, 150, 100, 100)``
gives a WDQ of -1 (complete displacement).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from geo.errors import GeoInputError

__all__ = [
    "COMPARABLE_CONTROL",
    "UNLIKE_CONTROL",
    "WDDResult",
    "WDQResult",
    "weighted_displacement_difference",
    "weighted_displacement_quotient",
]

#: Below this many treated-area incidents before, a change cannot be told from noise.
MIN_TREATED_BEFORE: Final = 20
#: The success measure is "near zero" when the treated/control ratio moved by
#: less than this share of its before value.
NEAR_ZERO_SHARE: Final = 0.1

DISPLACEMENT: Final = "displacement"
DIFFUSION: Final = "diffusion of benefit"
BUFFER_BETTER: Final = "buffer improved more than treated"
NO_CHANGE: Final = "no change in the buffer"
NOT_INTERPRETABLE: Final = "not interpretable"


# --- WDQ ---------------------------------------------------------------------


@dataclass(frozen=True)
class WDQResult:
    """The Weighted Displacement Quotient and how to read it.

    Attributes
    ----------
    wdq
        ``buffer_measure / success_measure``; NaN when it cannot be computed.
    success_measure
        ``A1/C1 - A0/C0``: negative when the treated area improved relative
        to the control.
    buffer_measure
        ``B1/C1 - B0/C0``: positive when the buffer got worse relative to the control.
    reading
        One of "displacement", "diffusion of benefit", "buffer improved more
        than treated", "no change in the buffer" or "not interpretable".
    reading_text
        The reading in plain words.
    interval
        ``(low, high)`` percentile interval of the parametric Poisson
        bootstrap at level ``1 - alpha`` (NaN when not computable).
    alpha
        Its significance level.
    n_boot
        Bootstrap draws made; ``n_boot_used`` of them gave a finite WDQ.
    n_boot_used
        Draws with a finite WDQ (a draw with a zero control count or a zero
        success measure has none).
    warnings
        Why the figure may not be trusted, and what to do.
    """

    wdq: float
    success_measure: float
    buffer_measure: float
    reading: str
    reading_text: str
    interval: tuple[float, float]
    alpha: float
    n_boot: int
    n_boot_used: int
    warnings: tuple[str, ...] = ()


def _check_counts(counts: Sequence[float], names: Sequence[str]) -> None:
    for value, name in zip(counts, names, strict=True):
        if not math.isfinite(value) or value < 0:
            msg = f"`{name}` must be a count >= 0, got {value!r}."
            raise GeoInputError(msg)


_NAMES: Final = (
    "treated_before",
    "treated_after",
    "buffer_before",
    "buffer_after",
    "control_before",
    "control_after",
)


def _wdq_arrays(
    a0: npt.NDArray[np.float64],
    a1: npt.NDArray[np.float64],
    b0: npt.NDArray[np.float64],
    b1: npt.NDArray[np.float64],
    c0: npt.NDArray[np.float64],
    c1: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Success measure, buffer measure and WDQ, NaN where a division fails."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sm = a1 / c1 - a0 / c0
        bm = b1 / c1 - b0 / c0
        wdq = np.where(sm != 0, bm / np.where(sm != 0, sm, 1.0), np.nan)
    ok = np.isfinite(sm) & np.isfinite(bm)
    return (
        np.where(ok, sm, np.nan),
        np.where(ok, bm, np.nan),
        np.where(ok, wdq, np.nan),
    )


def _wdq_reading(wdq: float, success: float) -> tuple[str, str]:
    if not math.isfinite(success) or success >= 0:
        return NOT_INTERPRETABLE, (
            "Relative to the control, crime in the treated area did not fall "
            "(success measure >= 0), so the WDQ is not interpretable: there is no "
            "effect to displace."
        )
    if wdq < 0:
        return DISPLACEMENT, (
            "Displacement: the treated area improved relative to the control but the "
            f"buffer got worse; the buffer's rise offsets {min(-wdq, 1) * 100:.0f}% "
            "of the treated area's fall"
            + (" (more than all of it: a net loss)." if wdq < -1 else ".")
        )
    if wdq == 0:
        return NO_CHANGE, (
            "The treated area improved relative to the control and the buffer did "
            "not change relative to the control: neither displacement nor diffusion."
        )
    if wdq <= 1:
        return DIFFUSION, (
            "Diffusion of benefit smaller than the direct effect: the buffer improved "
            f"too, by {wdq * 100:.0f}% of the treated area's improvement."
        )
    return BUFFER_BETTER, (
        "The buffer improved more than the treated area (WDQ > 1): a diffusion of "
        "benefit larger than the direct effect, or a change that has little to do "
        "with the intervention."
    )


def weighted_displacement_quotient(
    treated_before: float,
    treated_after: float,
    buffer_before: float,
    buffer_after: float,
    control_before: float,
    control_after: float,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    alpha: float = 0.1,
) -> WDQResult:
    """Weighted Displacement Quotient (Bowers & Johnson 2003; FIELD.md §2.7).

    Follows FIELD.md §2.7 exactly: ``WDQ = [(B1/C1) - (B0/C0)] /
    [(A1/C1) - (A0/C0)]`` with A the treated area, B the buffer, C the
    control, 0 before and 1 after. The denominator is the success measure; it
    must be negative for the intervention to have worked, otherwise the WDQ
    is not interpretable. WDQ < 0: displacement into the buffer; 0 < WDQ <= 1:
    diffusion of benefit smaller than the direct effect; WDQ > 1: the buffer
    improved more than the treated area.

    Each ratio compares an area with the control *in the same window*, so
    windows of unequal length cancel out: per-month rates give the same WDQ
    as counts.

    Parameters
    ----------
    treated_before, treated_after
        Incidents in the treated area (A0, A1).
    buffer_before, buffer_after
        Incidents in the buffer ring (B0, B1).
    control_before, control_after
        Incidents in the control area (C0, C1).
    n_boot
        Bootstrap draws (0: no interval).
    seed
        Seed of the bootstrap (the same seed gives the same interval).
    alpha
        The interval is at level ``1 - alpha`` (default 90%, as for the WDD).

    Returns
    -------
    WDQResult
        The WDQ, both measures, the reading, the interval and warnings.

    Raises
    ------
    GeoInputError
        For a negative or non-finite count, ``n_boot < 0`` or ``alpha``
        outside (0, 1).

    Notes
    -----
    The interval is a **parametric Poisson bootstrap** of the six counts:
    each draw replaces every count ``k`` by a Poisson(``k``) variate and
    recomputes the WDQ; the interval is the ``alpha/2`` and ``1 - alpha/2``
    percentiles of the finite draws. (streetlamp bootstraps over areas; with
    one treated area the counts themselves are what is uncertain.) The
    quotient is unstable when the success measure is near zero: a warning
    says so, and the interval is then wide or undefined.

    Examples
    --------
    >>> r = weighted_displacement_quotient(100, 50, 100, 150, 100, 100, n_boot=0)
    >>> r.wdq, r.reading
    (-1.0, 'displacement')
    """
    counts = (
        treated_before,
        treated_after,
        buffer_before,
        buffer_after,
        control_before,
        control_after,
    )
    _check_counts(counts, _NAMES)
    if n_boot < 0:
        msg = f"`n_boot` must be >= 0, got {n_boot!r}."
        raise GeoInputError(msg)
    if not 0 < alpha < 1:
        msg = f"`alpha` must be in the open interval (0, 1), got {alpha!r}."
        raise GeoInputError(msg)
    a0, a1, b0, b1, c0, c1 = (np.asarray([float(v)]) for v in counts)
    sm_a, bm_a, wdq_a = _wdq_arrays(a0, a1, b0, b1, c0, c1)
    sm, bm, wdq = float(sm_a[0]), float(bm_a[0]), float(wdq_a[0])
    warnings: list[str] = []
    if control_before == 0 or control_after == 0:
        warnings.append(
            "A control count is 0, so the ratios cannot be divided and there is no WDQ. "
            "Choose a larger control area or longer windows."
        )
    if treated_before < MIN_TREATED_BEFORE:
        warnings.append(
            f"Only {treated_before:g} incidents in the treated area before (fewer than "
            f"{MIN_TREATED_BEFORE}): too few to tell a change from chance. Lengthen the "
            "windows, widen the categories or the target, or report the counts only."
        )
    if (
        math.isfinite(sm)
        and control_before > 0
        and abs(sm) < NEAR_ZERO_SHARE * (treated_before / control_before)
    ):
        warnings.append(
            "The success measure is near zero (the treated area's share of the control "
            f"moved by less than {NEAR_ZERO_SHARE:.0%}), so the WDQ is unstable: a small "
            "change in any count swings it widely. Read the WDD test instead."
        )
    reading, text = _wdq_reading(wdq, sm)
    low = high = math.nan
    used = 0
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = [rng.poisson(float(v), size=n_boot).astype(np.float64) for v in counts]
        _, _, boot = _wdq_arrays(*draws)
        finite = boot[np.isfinite(boot)]
        used = int(finite.size)
        if used >= max(10, n_boot // 2):
            low, high = (
                float(v) for v in np.quantile(finite, [alpha / 2, 1 - alpha / 2])
            )
        else:
            warnings.append(
                f"Only {used} of {n_boot} bootstrap draws gave a WDQ (zero control "
                "counts or a zero success measure): no interval."
            )
    return WDQResult(
        wdq=wdq,
        success_measure=sm,
        buffer_measure=bm,
        reading=reading,
        reading_text=text,
        interval=(low, high),
        alpha=alpha,
        n_boot=n_boot,
        n_boot_used=used,
        warnings=tuple(warnings),
    )


# --- WDD ---------------------------------------------------------------------

#: The raw-count WDD is used when the control's baseline is within this ratio
#: of the treated area's (either way); otherwise the control's change is scaled.
COMPARABLE_CONTROL: Final = 1.25
#: Outside this ratio (either way) of baselines the control is not like the
#: target, whatever the form: the result carries a warning.
UNLIKE_CONTROL: Final = 5.0
WddForm = Literal["auto", "ratio", "raw"]


@dataclass(frozen=True)
class WDDResult:
    """The Weighted Displacement Difference test (Wheeler & Ratcliffe 2018).

    Attributes
    ----------
    estimate
        Total WDD: target plus buffer. Negative = fewer incidents than the
        control's trend predicts (a crime reduction).
    se
        Its standard error (Poisson counts; delta method for the ratio form).
    z
        ``estimate / se``.
    p_value
        Two-sided, from the normal approximation.
    interval
        ``estimate ± z_{1-alpha/2} · se``.
    alpha
        Significance level of the interval.
    estimate_local, se_local
        The treated area's part and its standard error.
    estimate_displacement, se_displacement
        The buffer's part and its standard error.
    form
        ``ratio`` (control's change scaled to the target's baseline:
        expected ``A0 · C1/C0``) or ``raw`` (``(A1 - A0) - (C1 - C0)``).
    control_ratio
        ``C0 / A0``, the control's baseline against the target's.
    expected_treated, expected_buffer
        What the control's trend predicts for the target and buffer after.
    units
        What the estimate counts ("incidents", or "incidents per month" for
        the raw form over unequal windows).
    warnings
        Why the figure may not be trusted.
    """

    estimate: float
    se: float
    z: float
    p_value: float
    interval: tuple[float, float]
    alpha: float
    estimate_local: float
    se_local: float
    estimate_displacement: float
    se_displacement: float
    form: str = "raw"
    control_ratio: float = math.nan
    expected_treated: float = math.nan
    expected_buffer: float = math.nan
    units: str = "incidents"
    warnings: tuple[str, ...] = ()


def _pair(value: tuple[float, float] | None, name: str) -> tuple[float, float]:
    if value is None:
        return 1.0, 1.0
    out = tuple(float(v) for v in value)
    if len(out) != 2 or not all(math.isfinite(v) and v > 0 for v in out):
        msg = f"`{name}` must be 2 positive numbers, got {value!r}."
        raise GeoInputError(msg)
    return out[0], out[1]


def _form(a0: float, c0: float, form: WddForm) -> tuple[str, float]:
    ratio = c0 / a0 if a0 > 0 else math.inf
    if form not in ("auto", "ratio", "raw"):
        msg = f"`form` was {form!r}; allowed: auto, ratio, raw."
        raise GeoInputError(msg)
    if form == "auto":
        comparable = 1 / COMPARABLE_CONTROL <= ratio <= COMPARABLE_CONTROL
        form = "raw" if comparable else "ratio"
    return form, ratio


def weighted_displacement_difference(
    treated_before: float,
    treated_after: float,
    buffer_before: float,
    buffer_after: float,
    control_before: float,
    control_after: float,
    *,
    alpha: float = 0.1,
    time_weights: tuple[float, float] | None = None,
    form: WddForm = "auto",
) -> WDDResult:
    """Weighted Displacement Difference test (Wheeler & Ratcliffe 2018; FIELD.md §2.7).

    Two forms, chosen by ``form`` (``auto``: ``raw`` when the control's
    baseline ``C0`` is within :data:`COMPARABLE_CONTROL` times the target's
    ``A0``, else ``ratio``):

    ``ratio`` — the control's change applied to the target's scale:
    ``r = C1/C0``, ``local = A1 - A0·r``, ``displacement = B1 - B0·r``,
    ``WDD = local + displacement``; Poisson counts and the delta method give
    ``Var = A1 + B1 + r²(A0 + B0) + (A0 + B0)² r² (1/C0 + 1/C1)``.
    Unequal windows need no weights here: ``r`` carries them.

    ``raw`` — ``apwheele/ptools`` ``R/wdd.R`` with no displacement-control
    area: ``local = (A1/t1 - A0/t0) - (C1/t1 - C0/t0)``,
    ``displacement = B1/t1 - B0/t0``, ``Var = Σ count/t²``, with window
    lengths ``t`` from ``time_weights`` (1 each by default: counts).

    Then ``z = WDD/√Var``, the interval is ``WDD ± z_{1-alpha/2} √Var`` and the
    p-value is two-sided from the normal distribution. A control whose
    baseline is more than :data:`UNLIKE_CONTROL` times (or less than its
    inverse) the target's gets a warning: it is unlikely to share the
    target's trend.

    Parameters
    ----------
    treated_before, treated_after, buffer_before, buffer_after, control_before, control_after
        The six counts, as for :func:`weighted_displacement_quotient`.
    alpha
        Significance level of the interval (ptools' default 0.1: a 90% interval).
    time_weights
        ``(before, after)`` window lengths (e.g. months), for the raw form.
    form
        ``auto``, ``ratio`` or ``raw``.

    Returns
    -------
    WDDResult
        Estimate, standard error, z, p-value and interval, the form used
        and the expected counts.

    Raises
    ------
    GeoInputError
        For a negative count, bad weights or ``alpha`` outside (0, 1).

    Notes
    -----
    ptools' ``var_disp`` has a misplaced parenthesis in the displacement-
    control term (``dc1 * (1/w² + dc0/w²)``); with no displacement-control
    area it does not arise here. The normal approximation is poor for very
    small counts.

    Examples
    --------
    A control as busy as the target: the raw-count difference.

    >>> r = weighted_displacement_difference(20, 10, 0, 0, 20, 20)
    >>> r.form, r.estimate, round(r.se, 4)
    ('raw', -10.0, 8.3666)

    A district control ten times as busy: its 10% rise is applied to the target.

    >>> r = weighted_displacement_difference(20, 10, 10, 12, 200, 220)
    >>> r.form, round(r.estimate, 2), round(r.se, 3)
    ('ratio', -11.0, 8.288)
    """
    counts = (
        treated_before,
        treated_after,
        buffer_before,
        buffer_after,
        control_before,
        control_after,
    )
    _check_counts(counts, _NAMES)
    if not 0 < alpha < 1:
        msg = f"`alpha` must be in the open interval (0, 1), got {alpha!r}."
        raise GeoInputError(msg)
    t_pre, t_post = _pair(time_weights, "time_weights")
    a0, a1, b0, b1, c0, c1 = (float(v) for v in counts)
    used, ratio = _form(a0, c0, form)
    warnings: list[str] = []
    if ratio > UNLIKE_CONTROL or ratio < 1 / UNLIKE_CONTROL:
        warnings.append(
            f"The control had {ratio:,.1f} times the target's incidents before: areas "
            "that different in size or crime level seldom share a trend, so the "
            "prediction is weak. A control of similar size and crime level (e.g. a "
            "comparable ward or town) is a fairer comparison (Wheeler & Ratcliffe 2018)."
            if math.isfinite(ratio)
            else "The target had no incidents before: there is no baseline to compare."
        )
    units = "incidents"
    if used == "ratio":
        if c0 <= 0:
            warnings.append(
                "The control had no incidents before: its trend is undefined, so there is no WDD."
            )
            r = math.nan
        else:
            r = c1 / c0
        est_local, est_disp = a1 - a0 * r, b1 - b0 * r
        var_ratio = r * r * (1 / c0 + 1 / c1) if c0 > 0 and c1 > 0 else 0.0
        var_local = a1 + r * r * a0 + a0 * a0 * var_ratio
        var_disp = b1 + r * r * b0 + b0 * b0 * var_ratio
        var = a1 + b1 + r * r * (a0 + b0) + (a0 + b0) ** 2 * var_ratio
        expected = (a0 * r, b0 * r)
    else:
        est_local = (a1 / t_post - a0 / t_pre) - (c1 / t_post - c0 / t_pre)
        var_local = a1 / t_post**2 + a0 / t_pre**2 + c1 / t_post**2 + c0 / t_pre**2
        est_disp = b1 / t_post - b0 / t_pre
        var_disp = b1 / t_post**2 + b0 / t_pre**2
        var = var_local + var_disp
        expected = (a0 / t_pre + (c1 / t_post - c0 / t_pre), b0 / t_pre)
        if time_weights is not None:
            units = "incidents per month"
    est = est_local + est_disp
    se = math.sqrt(var) if math.isfinite(var) else math.nan
    z = est / se if se > 0 else math.nan
    p = float(2 * norm.sf(abs(z))) if math.isfinite(z) else math.nan
    level = float(norm.ppf(1 - alpha / 2))
    return WDDResult(
        estimate=est,
        se=se,
        z=z,
        p_value=p,
        interval=(est - level * se, est + level * se),
        alpha=alpha,
        estimate_local=est_local,
        se_local=math.sqrt(var_local) if math.isfinite(var_local) else math.nan,
        estimate_displacement=est_disp,
        se_displacement=math.sqrt(var_disp) if math.isfinite(var_disp) else math.nan,
        form=used,
        control_ratio=ratio,
        expected_treated=expected[0],
        expected_buffer=expected[1],
        units=units,
        warnings=tuple(warnings),
    )
