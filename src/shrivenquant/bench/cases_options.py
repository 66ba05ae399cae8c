# ruff: noqa: N803, N806, N813, PLR0917  (finance notation: S, K, T; QuantLib as ql)
"""Benchmark cases for :mod:`shrivenquant.options`, each with same-run baselines.

The harness times the calling thread's CPU (``thread_time_ns``), so the vectorised targets run their Numba
kernels on **one thread** here (a multi-threaded kernel would hide its worker threads' CPU). Figures are CPU
ns per option; the 2-thread wall-clock throughput is printed by ``python -m shrivenquant.bench.cases_options``.

Baselines: NumPy + SciPy (``scipy.special.ndtr``) vectorised formulas; py_vollib_vectorized 0.1.1 (needs
``py_lets_be_rational==1.0.1 py_vollib==1.0.1``; skipped when absent); QuantLib 1.44 per option from Python.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from shrivenquant.bench.harness import Case, Variant

__all__ = ["make_book", "options_cases", "wall_throughput"]

N_BATCH = 1_000_000
N_QL = 2_000


def make_book(n: int = N_BATCH, seed: int = 42) -> dict[str, Any]:
    """n NIFTY-like options: spot ~25,000, strikes +-20 %, 1 minute to 1 year, vols 8-60 %, mixed calls/puts,
    and their out-of-the-money quotes (the inputs of an implied-vol run)."""
    rng = np.random.default_rng(seed)
    S = 25_000.0 * np.exp(rng.normal(0.0, 0.01, n))
    K = np.round(S * np.exp(rng.normal(0.0, 0.08, n)) / 50.0) * 50.0
    T = rng.integers(1, 525_600, n) / 525_600.0
    sig = rng.uniform(0.08, 0.6, n)
    r = np.full(n, 0.065)
    q = np.full(n, 0.012)
    call = rng.integers(0, 2, n).astype(bool)
    otm_call = K >= S
    from shrivenquant.options import bsm_price

    quote = bsm_price(otm_call, S, K, T, r, q, sig)
    keep = quote > 1e-8 * S  # a quote a market would show
    return {"S": S, "K": K, "T": T, "sig": sig, "r": r, "q": q, "call": call, "otm_call": otm_call,
            "quote": quote, "keep": keep}


_BOOK: dict[str, Any] = {}


def _book() -> dict[str, Any]:
    if not _BOOK:
        _BOOK.update(make_book())
    return _BOOK


def _one_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run with one Numba thread (the harness counts the calling thread's CPU only)."""
    import numba

    def run(*args: Any, **kwargs: Any) -> Any:
        before = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            numba.set_num_threads(before)

    return run


def _sq_greeks() -> dict[str, Any]:
    from shrivenquant.options import bsm_greeks

    b = _book()
    f = _one_thread(bsm_greeks)
    out = np.empty((7, N_BATCH))  # preallocated: the hot path allocates nothing
    return {"f": lambda: f(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"], second_order=False,
                           out=out)}


def _sq_all_greeks() -> dict[str, Any]:
    from shrivenquant.options import bsm_greeks

    b = _book()
    f = _one_thread(bsm_greeks)
    out = np.empty((13, N_BATCH))
    return {"f": lambda: f(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"], out=out)}


def _floor() -> dict[str, Any]:
    """The compiled floor: a minimal 1-thread Numba loop, price + 6 first-order Greeks, no validation, no tails."""
    from numba import njit

    @njit(nogil=True)
    def floor(call: Any, S: Any, K: Any, T: Any, r: Any, q: Any, sig: Any, out: Any) -> None:
        for i in range(S.shape[0]):
            w = 1.0 if call[i] else -1.0
            s_, k, t, rr, qq, v = S[i], K[i], T[i], r[i], q[i], sig[i]
            sq = math.sqrt(t)
            s = v * sq
            d1 = (math.log(s_ / k) + (rr - qq) * t) / s + 0.5 * s
            dq = math.exp(-qq * t)
            dr = math.exp(-rr * t)
            n1 = 0.5 * math.erfc(-w * d1 * 0.7071067811865476)
            n2 = 0.5 * math.erfc(-w * (d1 - s) * 0.7071067811865476)
            pdf = 0.3989422804014327 * math.exp(-0.5 * d1 * d1)
            out[0, i] = w * (s_ * dq * n1 - k * dr * n2)
            out[1, i] = w * dq * n1
            out[2, i] = dq * pdf / (s_ * s)
            out[3, i] = s_ * dq * pdf * sq
            out[4, i] = -s_ * dq * pdf * v / (2 * sq) - w * rr * k * dr * n2 + w * qq * s_ * dq * n1
            out[5, i] = w * k * t * dr * n2
            out[6, i] = -w * s_ * t * dq * n1

    b = _book()
    out = np.empty((7, N_BATCH))
    args = (b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"], out)
    floor(*args)
    return {"f": lambda: floor(*args)}


def _sq_price() -> dict[str, Any]:
    from shrivenquant.options import bsm_price

    b = _book()
    f = _one_thread(bsm_price)
    return {"f": lambda: f(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"])}


def _numpy_greeks(price_only: bool) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        from scipy.special import ndtr  # type: ignore[import-untyped]

        b = _book()
        w = np.where(b["call"], 1.0, -1.0)

        def f() -> Any:
            S, K, T, r, q, sig = b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"]
            sq = np.sqrt(T)
            s = sig * sq
            d1 = (np.log(S / K) + (r - q + 0.5 * sig * sig) * T) / s
            d2 = d1 - s
            dq = np.exp(-q * T)
            dr = np.exp(-r * T)
            n1 = ndtr(w * d1)
            n2 = ndtr(w * d2)
            price = w * (S * dq * n1 - K * dr * n2)
            if price_only:
                return price
            pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
            delta = w * dq * n1
            gamma = dq * pdf / (S * s)
            vega = S * dq * pdf * sq
            theta = -S * dq * pdf * sig / (2 * sq) - w * r * K * dr * n2 + w * q * S * dq * n1
            rho = w * K * T * dr * n2
            drho = -w * S * T * dq * n1
            return price, delta, gamma, vega, theta, rho, drho

        return {"f": f}

    return setup


def _pvv(kind: str) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        import py_vollib_vectorized as pvv  # type: ignore[import-untyped]

        b = _book()
        flag = np.where(b["call"], "c", "p")
        if kind == "price":
            return {"f": lambda: pvv.vectorized_black_scholes_merton(flag, b["S"], b["K"], b["T"], b["r"], b["sig"],
                                                                     b["q"], return_as="numpy")}
        if kind == "greeks":
            def g() -> Any:
                p = pvv.vectorized_black_scholes_merton(flag, b["S"], b["K"], b["T"], b["r"], b["sig"], b["q"],
                                                        return_as="numpy")
                return p, pvv.get_all_greeks(flag, b["S"], b["K"], b["T"], b["r"], b["sig"], b["q"],
                                             model="black_scholes_merton", return_as="dict")
            return {"f": g}
        k = b["keep"]
        qflag = np.where(b["otm_call"][k], "c", "p")
        args = (b["quote"][k], b["S"][k], b["K"][k], b["T"][k], b["r"][k], qflag)
        qq = b["q"][k]
        return {"f": lambda: pvv.vectorized_implied_volatility(*args, q=qq, model="black_scholes_merton",
                                                               return_as="numpy")}

    return setup


def _sq_iv() -> dict[str, Any]:
    from shrivenquant.options import implied_vol_bsm

    b = _book()
    k = b["keep"]
    f = _one_thread(implied_vol_bsm)
    args = (b["quote"][k], b["otm_call"][k], b["S"][k], b["K"][k], b["T"][k], b["r"][k], b["q"][k])
    return {"f": lambda: f(*args)}


def _iv_count() -> int:
    return int(_book()["keep"].sum())


def _sq_scalar() -> dict[str, Any]:
    from shrivenquant.options import bsm_price_scalar

    return {"f": bsm_price_scalar}


def _sq_scalar_greeks() -> dict[str, Any]:
    from shrivenquant.options import bsm_greeks_scalar

    return {"f": bsm_greeks_scalar}


def _sq_scalar_iv() -> dict[str, Any]:
    from shrivenquant.options import bsm_price_scalar, implied_vol_bsm_scalar

    return {"f": implied_vol_bsm_scalar, "p": bsm_price_scalar(True, 25_000.0, 25_500.0, 7 / 365, 0.065, 0.012, 0.14)}


def _ql_instrument() -> dict[str, Any]:
    import QuantLib as ql  # type: ignore[import-untyped]

    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.SimpleQuote(25_000.0)
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot), ql.YieldTermStructureHandle(ql.FlatForward(today, 0.012, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.065, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), 0.14, dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, 25_500.0), ql.EuropeanExercise(today + 7))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    state = {"x": 0}

    def f() -> float:
        state["x"] ^= 1
        spot.setValue(25_000.0 + state["x"])  # force a recalculation
        return opt.NPV()

    return {"f": f}


def _ql_formula() -> dict[str, Any]:
    import QuantLib as ql  # type: ignore[import-untyped]

    return {"f": ql.blackFormula, "C": ql.Option.Call, "fwd": 25_000.0 * math.exp(0.053 * 7 / 365),
            "sd": 0.14 * math.sqrt(7 / 365), "df": math.exp(-0.065 * 7 / 365)}


def _ql_iv() -> dict[str, Any]:
    import QuantLib as ql  # type: ignore[import-untyped]

    from shrivenquant.options import black76_price_scalar

    fwd = 25_000.0 * math.exp(0.053 * 7 / 365)
    df = math.exp(-0.065 * 7 / 365)
    p = black76_price_scalar(True, fwd, 25_500.0, 7 / 365, 0.065, 0.14)
    return {"f": ql.blackFormulaImpliedStdDev, "C": ql.Option.Call, "fwd": fwd, "p": p, "df": df}


def _plbr_iv() -> dict[str, Any]:
    from py_lets_be_rational import implied_volatility_from_a_transformed_rational_guess as lbr  # type: ignore[import-untyped]

    from shrivenquant.options import black76_price_scalar

    fwd = 25_000.0 * math.exp(0.053 * 7 / 365)
    p = black76_price_scalar(True, fwd, 25_500.0, 7 / 365, 0.0, 0.14)
    return {"f": lbr, "p": p, "fwd": fwd}


def _math_scalar() -> dict[str, Any]:
    def price(S: float, K: float, T: float, r: float, q: float, sig: float) -> float:
        s = sig * math.sqrt(T)
        d1 = (math.log(S / K) + (r - q) * T) / s + 0.5 * s
        return S * math.exp(-q * T) * 0.5 * math.erfc(-d1 / math.sqrt(2)) - K * math.exp(-r * T) * 0.5 * math.erfc(
            -(d1 - s) / math.sqrt(2))

    return {"f": price}


def _ql_american() -> dict[str, Any]:
    import QuantLib as ql  # type: ignore[import-untyped]

    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.SimpleQuote(100.0)
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot), ql.YieldTermStructureHandle(ql.FlatForward(today, 0.02, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.06, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), 0.3, dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, 105.0), ql.AmericanExercise(today, today + 365))
    opt.setPricingEngine(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.accurateScheme()))
    state = {"x": 0}

    def f() -> float:
        state["x"] ^= 1
        spot.setValue(100.0 + 0.01 * state["x"])
        return opt.NPV()

    return {"f": f}


def _sq_american(scheme: str) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        from shrivenquant.options.american import QDFP_SCHEMES, gauss_legendre, qdfp_put

        nodes, sweeps, quad, price_quad = QDFP_SCHEMES[scheme]
        gx, gw = gauss_legendre(quad)
        px, pw = gauss_legendre(price_quad)
        return {"f": lambda s: qdfp_put(s, 105.0, 1.0, 0.06, 0.02, 0.3, nodes, sweeps, gx, gw, px, pw), "s": 100.0}

    return setup


def _ql_american_scheme(scheme: str) -> Callable[[], dict[str, Any]]:
    def setup() -> dict[str, Any]:
        import QuantLib as ql  # type: ignore[import-untyped]

        env = _ql_american()
        if scheme == "fast":
            today = ql.Settings.instance().evaluationDate
            dc = ql.Actual365Fixed()
            spot = ql.SimpleQuote(100.0)
            proc = ql.BlackScholesMertonProcess(
                ql.QuoteHandle(spot), ql.YieldTermStructureHandle(ql.FlatForward(today, 0.02, dc)),
                ql.YieldTermStructureHandle(ql.FlatForward(today, 0.06, dc)),
                ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), 0.3, dc)))
            opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, 105.0),
                                   ql.AmericanExercise(today, today + 365))
            opt.setPricingEngine(ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.fastScheme()))
            state = {"x": 0}

            def f() -> float:
                state["x"] ^= 1
                spot.setValue(100.0 + 0.01 * state["x"])
                return opt.NPV()

            return {"f": f}
        return env

    return setup


def options_cases() -> list[Case]:
    """Options pricing cases: vectorised price/Greeks/IV on 1M options, the scalar path, American, first call."""
    args = "25_000.0, 25_500.0, 7 / 365, 0.065, 0.012, 0.14"
    return [
        Case("options.greeks_1m", "BSM price + first-order Greeks, 1M mixed options (CPU/option, 1 thread)", (
            Variant("shrivenquant bsm_greeks(second_order=False, out=)", "f()", _sq_greeks, role="target"),
            Variant("shrivenquant bsm_greeks (all 13 rows, out=)", "f()", _sq_all_greeks),
            Variant("hand-written Numba floor (no checks, no tails)", "f()", _floor),
            Variant("NumPy + scipy.special.ndtr, vectorised", "f()", _numpy_greeks(False), requires="scipy"),
            Variant("py_vollib_vectorized price + get_all_greeks", "f()", _pvv("greeks"),
                    requires="py_vollib_vectorized"),
        ), ops_per_stmt=N_BATCH, loops=1, budget_ns=80.0, unit="ns/option", tags=("options",)),
        Case("options.price_1m", "BSM price, 1M mixed options (CPU/option, 1 thread)", (
            Variant("shrivenquant bsm_price", "f()", _sq_price, role="target"),
            Variant("NumPy + scipy.special.ndtr, vectorised", "f()", _numpy_greeks(True), requires="scipy"),
            Variant("py_vollib_vectorized vectorized_black_scholes_merton", "f()", _pvv("price"),
                    requires="py_vollib_vectorized"),
        ), ops_per_stmt=N_BATCH, loops=1, unit="ns/option", tags=("options",)),
        Case("options.iv_1m", "BSM implied vol of ~1M out-of-the-money quotes (CPU/option, 1 thread)", (
            Variant("shrivenquant implied_vol_bsm (Let's Be Rational)", "f()", _sq_iv, role="target"),
            Variant("py_vollib_vectorized vectorized_implied_volatility", "f()", _pvv("iv"),
                    requires="py_vollib_vectorized"),
        ), ops_per_stmt=_iv_count_lazy(), loops=1, budget_ns=400.0, unit="ns/option", tags=("options",)),
        Case("options.scalar_price", "one BSM price from Python", (
            Variant("shrivenquant bsm_price_scalar", f"f(True, {args})", _sq_scalar, role="target"),
            Variant("shrivenquant bsm_greeks_scalar (13 values)", f"f(True, {args})", _sq_scalar_greeks),
            Variant("pure Python math.erfc formula", f"f({args})", _math_scalar),
            Variant("QuantLib blackFormula", "f(C, 25500.0, fwd, sd, df)", _ql_formula, requires="QuantLib"),
            Variant("QuantLib VanillaOption.NPV (instrument path)", "f()", _ql_instrument, requires="QuantLib"),
        ), loops=100_000, budget_ns=1000.0, tags=("options",)),
        Case("options.scalar_iv", "one implied vol from Python", (
            Variant("shrivenquant implied_vol_bsm_scalar", f"f(p, True, {args.rsplit(', ', 1)[0]})",
                    _sq_scalar_iv, role="target"),
            Variant("QuantLib blackFormulaImpliedStdDev (accuracy 1e-14)", "f(C, 25500.0, fwd, p, df, 0.0, 0.02, "
                    "1e-14, 100)", _ql_iv, requires="QuantLib"),
            Variant("py_lets_be_rational (Python LBR)", "f(p, fwd, 25500.0, 7 / 365, 1.0)", _plbr_iv,
                    requires="py_lets_be_rational"),
        ), loops=50_000, tags=("options",)),
        Case("options.american", "one American put (S=100, K=105, T=1, r=6 %, q=2 %, sigma=30 %)", (
            Variant("shrivenquant QdFp accurate (~4e-7 S)", "f(s)", _sq_american("accurate"), role="target"),
            Variant("shrivenquant QdFp fast (~1.2e-6 S)", "f(s)", _sq_american("fast")),
            Variant("shrivenquant QdFp high (~1e-7 S)", "f(s)", _sq_american("high")),
            Variant("QuantLib QdFpAmericanEngine accurateScheme", "f()", _ql_american_scheme("accurate"),
                    requires="QuantLib"),
            Variant("QuantLib QdFpAmericanEngine fastScheme", "f()", _ql_american_scheme("fast"), requires="QuantLib"),
        ), loops=200, unit="ns/option", tags=("options",)),
        Case("options.first_call", "import shrivenquant.options + first priced batch, Greeks and IV (fresh "
             "interpreter, cached kernels)", (
            Variant("shrivenquant.options first call", "import shrivenquant.options as o; "
                    "o.bsm_greeks(True, 100.0, 100.0, 1.0, 0.05, 0.0, 0.2); "
                    "o.implied_vol_bsm(10.0, True, 100.0, 100.0, 1.0, 0.05, 0.0)", role="target", kind="import"),
            Variant("import numpy", "import numpy", kind="import"),
            Variant("import QuantLib", "import QuantLib", kind="import", requires="QuantLib"),
        ), unit="ms", budget_ns=None, tags=("options",)),
    ]


def _iv_count_lazy() -> int:
    """Number of quotes in the IV case (the book's quotes above 1e-8 S)."""
    return _iv_count()


def wall_throughput(threads: int = 2, repeat: int = 5) -> dict[str, tuple[float, float]]:
    """Per job: (wall-clock millions of options per second, process CPU ns per option summed over threads) with
    ``threads`` Numba threads, best of ``repeat``. CPU per option that stays flat from 1 to 2 threads means the
    kernel scales; wall time on a shared machine also counts other jobs."""
    import numba

    from shrivenquant.options import bsm_greeks, bsm_price, implied_vol_bsm

    b = _book()
    k = b["keep"]
    numba.set_num_threads(threads)
    o7 = np.empty((7, N_BATCH))
    o13 = np.empty((13, N_BATCH))
    jobs = {
        "bsm_greeks first order": (lambda: bsm_greeks(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"],
                                                      second_order=False, out=o7), N_BATCH),
        "bsm_greeks all": (lambda: bsm_greeks(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"], out=o13),
                           N_BATCH),
        "bsm_price": (lambda: bsm_price(b["call"], b["S"], b["K"], b["T"], b["r"], b["q"], b["sig"]), N_BATCH),
        "implied_vol_bsm": (lambda: implied_vol_bsm(b["quote"][k], b["otm_call"][k], b["S"][k], b["K"][k],
                                                    b["T"][k], b["r"][k], b["q"][k]), int(k.sum())),
    }
    out = {}
    for name, (fn, n) in jobs.items():
        fn()
        runs = [_timed(fn) for _ in range(repeat)]
        out[name] = (n / min(w for w, _ in runs) / 1e6, min(c for _, c in runs) / n * 1e9)
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds over all threads) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


if __name__ == "__main__":
    import numba

    for th in sorted({1, numba.get_num_threads()}):
        for name, (mps, cpu_ns) in wall_throughput(th).items():
            print(f"{th} thread(s)  {name:24s} {mps:7.2f} M options/s wall   {cpu_ns:7.1f} ns CPU/option (all threads)"
                  f"  -> {th * 1e3 / cpu_ns:6.2f} M/s if {th} idle core(s)")
