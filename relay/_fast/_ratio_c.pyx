# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled quota arithmetic of new-api (twin of ``_ratio_py``).

Settlement must equal the exact-decimal pure twin.  The fast path evaluates in
C doubles with a proven error bound and only answers when that bound cannot
change the result; every other case (a tie near .5, a sign too close to zero,
huge values, unusual argument types) is delegated to ``_ratio_py``, so the two
twins agree on every input by construction.
"""

from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from libc.math cimport fabs, floor

from relay._fast import _ratio_py as _py

__all__ = [
    "MAX_QUOTA",
    "MIN_QUOTA",
    "pre_consume_price",
    "pre_consume_ratio",
    "settle_price",
    "settle_ratio",
]

MAX_QUOTA = 2147483647
MIN_QUOTA = -2147483648

cdef double _MAXQ = 2147483647.0
cdef double _MINQ = -2147483648.0
# Fast-path limits.  Integers up to 2**40 are exact as doubles and their sums
# cannot overflow int64; ratios/prices in [1e-50, 1e50] (or 0) keep every
# product of three of them far inside the normal double range, so the relative
# error bound below holds (no subnormals, no overflow).
cdef long long _INT_LIMIT = 1LL << 40
cdef double _TINY = 1e-50
cdef double _HUGE = 1e50
cdef double _TWO52 = 4503599627370496.0  # above this floor() loses the fraction
# Margin of the double evaluation.  Every input differs from its decimal
# (shortest repr) by <= u = 2**-53 relative; settlement does at most ~12 roundings
# on terms bounded by S = sum(|term|), so |q_double - q_exact| <= ~13u*S*|ratio|
# ~= 1.5e-15*S*|ratio|.  1e-12 leaves a safety factor of ~700.
cdef double _REL_MARGIN = 1e-12
cdef double _CREATE_1H_FACTOR = 6 / 3.75
cdef long long _UNDECIDED = -(1LL << 62)  # sentinel: ask the exact twin


cdef inline bint _get_int(object o, long long* out) noexcept:
    # Exact int only (not bool or subclasses): anything else takes the pure path,
    # which then raises exactly what the pure twin raises.
    cdef int overflow = 0
    cdef long long v
    if not PyLong_CheckExact(o):
        return False
    v = PyLong_AsLongLongAndOverflow(o, &overflow)
    if overflow or v > _INT_LIMIT or v < -_INT_LIMIT:
        return False
    out[0] = v
    return True


cdef inline bint _get_double(object o, double* out) noexcept:
    # float(x) for a float or a small int, with no Python call.
    cdef long long i
    if PyFloat_CheckExact(o):
        out[0] = PyFloat_AS_DOUBLE(o)
        return True
    if _get_int(o, &i):
        out[0] = <double>i
        return True
    return False


cdef inline bint _get_ratio(object o, double* out) noexcept:
    # Like _get_double, restricted to 0 or magnitudes in [_TINY, _HUGE].
    cdef double a
    if not _get_double(o, out):
        return False
    a = fabs(out[0])
    return a == 0.0 or (_TINY <= a <= _HUGE)


cdef inline long long _trunc_saturate(double v) noexcept:
    # Go int(float64) for quota: truncate toward zero, saturate, NaN -> 0.
    if v != v:
        return 0
    if v >= _MAXQ:
        return 2147483647
    if v <= _MINQ:
        return -2147483648
    return <long long>v


cdef inline long long _round_decided(double q, double margin) noexcept:
    # Round half away from zero, provided no half-integer lies within `margin`
    # of q (then the exact value rounds to the same integer); else _UNDECIDED.
    cdef double fl, frac
    if fabs(q) >= _TWO52:
        return _UNDECIDED
    fl = floor(q)
    frac = q - fl  # exact: q and floor(q) share the ulp grid below 2**52
    if fabs(frac - 0.5) <= margin:
        return _UNDECIDED
    return <long long>fl + (1 if frac > 0.5 else 0)


cdef inline long long _saturate(long long v) noexcept:
    return 2147483647 if v > 2147483647 else (-2147483648 if v < -2147483648 else v)


def pre_consume_ratio(prompt_tokens, max_tokens, pre_consumed_min, model_ratio, group_ratio):
    """Quota reserved before a ratio-billed request."""
    cdef long long p, m, pm
    cdef double mr, gr
    if not (
        _get_int(prompt_tokens, &p)
        and _get_int(max_tokens, &m)
        and _get_int(pre_consumed_min, &pm)
        and _get_double(model_ratio, &mr)
        and _get_double(group_ratio, &gr)
    ):
        return _py.pre_consume_ratio(
            prompt_tokens, max_tokens, pre_consumed_min, model_ratio, group_ratio
        )
    # (double)int64 rounds to nearest like Python's float(int); ratios first, like Go.
    return _trunc_saturate(<double>((p if p > pm else pm) + m) * (mr * gr))


def pre_consume_price(price, quota_per_unit, group_ratio, multiplier=1.0):
    """Quota reserved before a price-billed (per-call) request."""
    cdef double a, b, c, d
    if not (
        _get_double(price, &a)
        and _get_double(quota_per_unit, &b)
        and _get_double(group_ratio, &c)
        and _get_double(multiplier, &d)
    ):
        return _py.pre_consume_price(price, quota_per_unit, group_ratio, multiplier)
    return _trunc_saturate(a * b * c * d)


cdef long long _settle_ratio_fast(
    long long p, long long c, long long cr, long long cw, long long cw5, long long cw1,
    long long im, bint anth, double mr, double ccr, double crr, double ccrr, double ir,
    double gr,
) noexcept:
    cdef long long base = p, rem, quota
    cdef double cached = 0.0, created = 0.0, imaged = 0.0, comp, total, s, q, ratio, margin
    cdef double abs_created = 0.0, t5, t1, tr
    # The exact ratio D(mr)*D(gr) is zero iff one factor is zero; the double
    # product could underflow, so decide on the factors.
    cdef bint ratio_nz = mr != 0.0 and gr != 0.0
    if not ratio_nz:
        return 0  # q == 0 exactly: quota 0 whatever the usage
    ratio = mr * gr
    if cr != 0:
        if not anth:
            base -= cr
        cached = <double>cr * crr
    if cw != 0 or cw5 > 0 or cw1 > 0:
        if not anth:
            base -= cw
            created = <double>cw * ccrr
            abs_created = fabs(created)
        else:
            rem = cw - cw5 - cw1
            if rem < 0:
                rem = 0
            tr = <double>rem * ccrr
            t5 = <double>cw5 * ccrr
            t1 = <double>cw1 * (ccrr * _CREATE_1H_FACTOR)
            created = tr + t5 + t1
            abs_created = fabs(tr) + fabs(t5) + fabs(t1)
    if im != 0:
        base -= im
        imaged = <double>im * ir
    if base < 0:
        base = 0
    comp = <double>c * ccr
    total = <double>base + cached + imaged + created + comp
    s = <double>base + fabs(cached) + fabs(imaged) + abs_created + fabs(comp)
    q = total * ratio
    margin = s * fabs(ratio)
    if margin < 1.0:
        margin = 1.0
    margin *= _REL_MARGIN
    if fabs(q) <= margin:
        return _UNDECIDED  # the sign of the exact q (the `q <= 0` rule) is unknown
    if q < 0.0:
        quota = 1
    else:
        quota = _round_decided(q, margin)
        if quota == _UNDECIDED:
            return _UNDECIDED
        quota = _saturate(quota)
    if p + c == 0:
        return 0
    if quota == 0:
        return 1
    return quota


def settle_ratio(
    prompt, completion, cache_read, cache_write, cache_write_5m, cache_write_1h, image,
    anthropic_usage, model_ratio, completion_ratio, cache_ratio, create_cache_ratio,
    image_ratio, group_ratio,
):
    """Final quota of a ratio-billed request from its usage (exact decimal)."""
    cdef long long p, c, cr, cw, cw5, cw1, im, quota = _UNDECIDED
    cdef double mr, ccr, crr, ccrr, ir, gr
    if (
        _get_int(prompt, &p)
        and _get_int(completion, &c)
        and _get_int(cache_read, &cr)
        and _get_int(cache_write, &cw)
        and _get_int(cache_write_5m, &cw5)
        and _get_int(cache_write_1h, &cw1)
        and _get_int(image, &im)
        and _get_ratio(model_ratio, &mr)
        and _get_ratio(completion_ratio, &ccr)
        and _get_ratio(cache_ratio, &crr)
        and _get_ratio(create_cache_ratio, &ccrr)
        and _get_ratio(image_ratio, &ir)
        and _get_ratio(group_ratio, &gr)
    ):
        quota = _settle_ratio_fast(
            p, c, cr, cw, cw5, cw1, im, bool(anthropic_usage), mr, ccr, crr, ccrr, ir, gr
        )
    if quota != _UNDECIDED:
        return quota
    return _py.settle_ratio(
        prompt, completion, cache_read, cache_write, cache_write_5m, cache_write_1h, image,
        anthropic_usage, model_ratio, completion_ratio, cache_ratio, create_cache_ratio,
        image_ratio, group_ratio,
    )


def settle_price(price, quota_per_unit, group_ratio, multiplier=1.0, total_tokens=1):
    """Final quota of a price-billed request (exact decimal)."""
    cdef double a, b, g, m, q, margin
    cdef long long quota, tt
    if (
        _get_ratio(price, &a)
        and _get_ratio(quota_per_unit, &b)
        and _get_ratio(group_ratio, &g)
        and _get_ratio(multiplier, &m)
        and _get_int(total_tokens, &tt)
    ):
        if tt == 0:
            return 0
        # Four inputs and three products: |q - exact| <= ~7u|q|, far below margin.
        q = a * b * g * m
        margin = fabs(q)
        if margin < 1.0:
            margin = 1.0
        quota = _round_decided(q, margin * _REL_MARGIN)
        if quota != _UNDECIDED:
            return _saturate(quota)
    return _py.settle_price(price, quota_per_unit, group_ratio, multiplier, total_tokens)
