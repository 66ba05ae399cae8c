# ruff: noqa: N803, N806, N813, PLR0917  (finance notation; QuantLib as ql)
"""Accuracy report against QuantLib 1.44 and mpmath (``python -m shrivenquant.options.accuracy``).

Needs the ``QuantLib`` and ``mpmath`` packages (test oracles, not runtime dependencies). Prints the tables
quoted in ``docs/options.md``; every figure is the maximum over the stated random sample (fixed seeds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shrivenquant.options import (
    american_baw,
    american_qdfp,
    barrier_price,
    black76_price_scalar,
    bsm_greeks,
    bsm_price_scalar,
    implied_vol_black76_scalar,
    implied_vol_bsm,
    lookback_fixed,
    lookback_floating,
)

__all__ = ["report"]


def _ql() -> Any:
    import QuantLib as ql  # type: ignore[import-untyped]

    return ql


def _process(ql: Any, today: Any, S: float, r: float, q: float, sig: float) -> Any:
    dc = ql.Actual365Fixed()
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(S)), ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sig, dc)))


def european_vs_quantlib(n: int = 500) -> dict[str, float]:
    """Max |ours - QuantLib| / max(|QuantLib|, 1) per output, AnalyticEuropeanEngine, n random BSM options."""
    ql = _ql()
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    rng = np.random.default_rng(1)
    names = ("price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho")
    worst = dict.fromkeys(names, 0.0)
    for _ in range(n):
        call = bool(rng.integers(2))
        K, days = float(100 * np.exp(rng.normal(0, 0.3))), int(rng.integers(1, 1500))
        r, q, sig = float(rng.uniform(-0.02, 0.1)), float(rng.uniform(0, 0.05)), float(rng.uniform(0.05, 1.0))
        opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                               ql.EuropeanExercise(today + days))
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(_process(ql, today, 100.0, r, q, sig)))
        ref = [opt.NPV(), opt.delta(), opt.gamma(), opt.vega(), opt.theta(), opt.rho(), opt.dividendRho()]
        g = bsm_greeks(call, 100.0, K, days / 365.0, r, q, sig, second_order=False)
        for k, name in enumerate(names):
            worst[name] = max(worst[name], abs(float(g.table[k, 0]) - ref[k]) / max(abs(ref[k]), 1.0))
    return worst


def tails_vs_mpmath(n: int = 300) -> dict[str, float]:
    """Deep out-of-the-money BSM puts/calls (1e-20 .. 1e-300): worst relative error of ours and of QuantLib's
    ``blackFormula`` against 50-digit mpmath, and how many QuantLib values were negative or zero."""
    import mpmath as mp  # type: ignore[import-untyped]

    ql = _ql()
    mp.mp.dps = 50
    rng = np.random.default_rng(5)
    ours = theirs = 0.0
    bad = 0
    count = 0
    for _ in range(n):
        T, sig = float(10 ** rng.uniform(-2, 0.5)), float(10 ** rng.uniform(-1, 0))
        w = 1 if rng.integers(2) else -1
        K = 100.0 * math.exp(w * float(rng.uniform(5, 35)) * sig * math.sqrt(T))
        s = mp.mpf(sig) * mp.sqrt(T)
        d1 = mp.log(mp.mpf(100) / K) / s + s / 2
        exact = w * (100 * mp.ncdf(w * d1) - K * mp.ncdf(w * (d1 - s)))
        if not (mp.mpf("1e-300") < exact < mp.mpf("1e-20")):
            continue
        count += 1
        p = bsm_price_scalar(w > 0, 100.0, K, T, 0.0, 0.0, sig)
        qp = ql.blackFormula(ql.Option.Call if w > 0 else ql.Option.Put, K, 100.0, float(s), 1.0)
        ours = max(ours, float(abs(p / exact - 1)))
        if qp <= 0:
            bad += 1
        else:
            theirs = max(theirs, float(abs(qp / exact - 1)))
    return {"options": count, "ours_max_rel": ours, "quantlib_max_rel_when_positive": theirs,
            "quantlib_nonpositive": bad}


def iv_round_trip(n: int = 1_000_000) -> dict[str, float]:
    """1M OTM NIFTY-like quotes (1 minute .. 1 year): IV round trip and sigma recovery."""
    from shrivenquant.bench.cases_options import make_book
    from shrivenquant.options import bsm_price

    b = make_book(n, seed=7)
    k = b["keep"]
    iv = implied_vol_bsm(b["quote"][k], b["otm_call"][k], b["S"][k], b["K"][k], b["T"][k], b["r"][k], b["q"][k])
    ok = iv.status == 0
    back = bsm_price(b["otm_call"][k][ok], b["S"][k][ok], b["K"][k][ok], b["T"][k][ok], b["r"][k][ok],
                     b["q"][k][ok], iv.vol[ok])
    quote = b["quote"][k][ok]
    well = quote > 1e-3
    sig = b["sig"][k][ok]
    return {"quotes": int(k.sum()), "status_ok": int(ok.sum()), "zero_vols": int(np.sum(iv.vol == 0.0)),
            "max_abs_price_error_over_S": float(np.max(np.abs(back - quote) / b["S"][k][ok])),
            "max_rel_price_error_quotes_over_1e-3": float(np.max(np.abs(back[well] / quote[well] - 1))),
            "max_rel_sigma_error_quotes_over_1e-3": float(np.max(np.abs(iv.vol[well] / sig[well] - 1)))}


def iv_vs_quantlib(n: int = 2000) -> dict[str, float]:
    """QuantLib blackFormulaImpliedStdDev (accuracy 1e-14) vs ours on Black-76 prices from our pricer."""
    ql = _ql()
    rng = np.random.default_rng(9)
    ours = theirs = 0.0
    ql_fail = 0
    for _ in range(n):
        F, K = 100.0, float(100 * np.exp(rng.normal(0, 0.3)))
        T, sig = float(10 ** rng.uniform(-3, 0.5)), float(rng.uniform(0.05, 1.0))
        call = K >= F
        p = black76_price_scalar(call, F, K, T, 0.0, sig)
        v, _ = implied_vol_black76_scalar(p, call, F, K, T, 0.0)
        ours = max(ours, abs(v / sig - 1))
        try:
            sd = ql.blackFormulaImpliedStdDev(ql.Option.Call if call else ql.Option.Put, K, F, p, 1.0, 0.0,
                                              0.2 * math.sqrt(T), 1e-14, 100)
            e = abs(sd / math.sqrt(T) / sig - 1)
            if sd <= 0 or e > 1e-6:
                ql_fail += 1
            else:
                theirs = max(theirs, e)
        except RuntimeError:
            ql_fail += 1
    return {"cases": n, "ours_max_rel_sigma": ours, "quantlib_max_rel_sigma_when_converged": theirs,
            "quantlib_failed_or_off_by_1e-6": ql_fail}


def american_vs_quantlib(n: int = 40) -> dict[str, float]:
    """Max |error| / S against QuantLib's high-precision QdFpAmericanEngine."""
    ql = _ql()
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    rng = np.random.default_rng(7)
    err = {"qdfp_high": 0.0, "qdfp_accurate": 0.0, "qdfp_fast": 0.0, "baw": 0.0, "quantlib_baw": 0.0,
           "quantlib_qdfp_accurate": 0.0, "quantlib_qdfp_fast": 0.0}
    for _ in range(n):
        call = bool(rng.integers(2))
        K, days = float(100 * np.exp(rng.normal(0, 0.2))), int(rng.integers(5, 1500))
        r, q, sig = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0, 0.1)), float(rng.uniform(0.1, 0.6))
        proc = _process(ql, today, 100.0, r, q, sig)

        def npv(engine: Any, call: bool = call, K: float = K, days: int = days) -> float:
            opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                                   ql.AmericanExercise(today, today + days))
            opt.setPricingEngine(engine)
            return opt.NPV()

        ref = npv(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.highPrecisionScheme()))
        T = days / 365.0
        for scheme in ("high", "accurate", "fast"):
            v = american_qdfp(call, 100.0, K, T, r, q, sig, scheme=scheme)
            err[f"qdfp_{scheme}"] = max(err[f"qdfp_{scheme}"], abs(v - ref) / 100)
        err["baw"] = max(err["baw"], abs(american_baw(call, 100.0, K, T, r, q, sig) - ref) / 100)
        err["quantlib_baw"] = max(err["quantlib_baw"], abs(npv(ql.BaroneAdesiWhaleyApproximationEngine(proc)) - ref)
                                  / 100)
        err["quantlib_qdfp_fast"] = max(err["quantlib_qdfp_fast"], abs(
            npv(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.fastScheme())) - ref) / 100)
        err["quantlib_qdfp_accurate"] = max(err["quantlib_qdfp_accurate"], abs(
            npv(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.accurateScheme())) - ref) / 100)
    return err


def exotics_vs_quantlib(n: int = 40) -> dict[str, float]:
    """Max relative difference to QuantLib's analytic barrier and lookback engines (r != q)."""
    ql = _ql()
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    rng = np.random.default_rng(3)
    kinds = {"down-in": ql.Barrier.DownIn, "down-out": ql.Barrier.DownOut, "up-in": ql.Barrier.UpIn,
             "up-out": ql.Barrier.UpOut}
    out = {"barrier": 0.0, "lookback_floating": 0.0, "lookback_fixed": 0.0}
    for _ in range(n):
        for kind, qk in kinds.items():
            call = bool(rng.integers(2))
            H = 100 * float(np.exp(-rng.uniform(0.02, 0.3) if kind.startswith("down") else rng.uniform(0.02, 0.3)))
            K, days = float(100 * np.exp(rng.normal(0, 0.15))), int(rng.integers(10, 800))
            r, q, sig, rb = (float(rng.uniform(0, 0.08)), float(rng.uniform(0, 0.05)), float(rng.uniform(0.1, 0.6)),
                             float(rng.uniform(0, 5)))
            opt = ql.BarrierOption(qk, H, rb, ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, K),
                                   ql.EuropeanExercise(today + days))
            opt.setPricingEngine(ql.AnalyticBarrierEngine(_process(ql, today, 100.0, r, q, sig)))
            ref = opt.NPV()
            ours = barrier_price(kind, call, 100.0, K, H, days / 365.0, r, q, sig, rb)
            out["barrier"] = max(out["barrier"], abs(ours - ref) / max(abs(ref), 1e-2))
        call = bool(rng.integers(2))
        days, r = int(rng.integers(10, 800)), float(rng.uniform(0, 0.08))
        q, sig = r + float(rng.uniform(0.005, 0.05)), float(rng.uniform(0.1, 0.6))
        proc = _process(ql, today, 100.0, r, q, sig)
        ex = ql.EuropeanExercise(today + days)
        kind = ql.Option.Call if call else ql.Option.Put
        fl = ql.ContinuousFloatingLookbackOption(100.0, ql.FloatingTypePayoff(kind), ex)
        fl.setPricingEngine(ql.AnalyticContinuousFloatingLookbackEngine(proc))
        ours = lookback_floating(call, 100.0, days / 365.0, r, q, sig)
        out["lookback_floating"] = max(out["lookback_floating"], abs(ours / fl.NPV() - 1))
        fx = ql.ContinuousFixedLookbackOption(100.0, ql.PlainVanillaPayoff(kind, 100.0), ex)
        fx.setPricingEngine(ql.AnalyticContinuousFixedLookbackEngine(proc))
        ours = lookback_fixed(call, 100.0, 100.0, days / 365.0, r, q, sig)
        out["lookback_fixed"] = max(out["lookback_fixed"], abs(ours / fx.NPV() - 1))
    return out


def report() -> dict[str, dict[str, float]]:
    """Every table of the accuracy section."""
    return {
        "european BSM vs QuantLib AnalyticEuropeanEngine (500 options; |diff| / max(|QL|, 1))": european_vs_quantlib(),
        "deep OTM prices vs mpmath 50 digits": tails_vs_mpmath(),
        "implied vol round trip, 1M NIFTY-like OTM quotes": iv_round_trip(),
        "implied vol vs QuantLib blackFormulaImpliedStdDev (2000 Black-76 quotes)": iv_vs_quantlib(),
        "American vs QuantLib QdFp high precision (40 options; |diff| / S)": american_vs_quantlib(),
        "barrier (8 types x 40) and lookbacks (40) vs QuantLib analytic engines (relative)": exotics_vs_quantlib(),
    }


if __name__ == "__main__":
    for title, rows in report().items():
        print(title)
        for k, v in rows.items():
            print(f"    {k:45s} {v:.3g}" if isinstance(v, float) else f"    {k:45s} {v}")
