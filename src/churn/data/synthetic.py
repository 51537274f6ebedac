"""Deterministic synthetic "buy-till-you-die" world of a shop with repeat customers.

Generative process (Pareto/NBD flavour, Schmittlein et al. 1987):

1. Customers: a share already exists at ``start`` (signed up earlier and, by the
   memorylessness of the exponential lifetime, still alive at ``start``); the rest
   sign up during the window, more in some months than in others. Ids are given
   in signup order as zero-padded text.
2. Each customer has a purchase rate ``lambda ~ Gamma`` and a dropout rate
   ``mu ~ Gamma``; the lifetime after signup is ``Exponential(mu)`` and ends at a
   latent ``stop_date``. Loyalty members get a lower ``mu`` and a higher ``lambda``.
3. Purchases: the first one at signup, then a Poisson process at ``lambda``
   (thinned by a yearly seasonality) until ``min(stop_date, window end)``.
4. Every purchase gets a category and channel (per-customer favourites
   dominate), an amount around the customer's mean order value and a quantity.
   A small share is cancelled; another is refunded a few days later (extra row
   with negative amount).
5. Engagement events: Poisson per event type at rates scaling with ``lambda``;
   they fade before ``stop_date`` while support tickets/complaints rise, and die
   out after it (apart from rare residual email opens).

Everything is drawn from ``numpy.random.default_rng(seed)`` with vectorised code.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["SyntheticWorld", "generate_world"]

DAY = 86_400  # seconds; all internal times are seconds relative to `start`
CUSTOMER_ID_WIDTH = 6  # "000017": leading zeros must survive downstream
ORDER_ID_WIDTH = 9  # "O000000017": room for a billion orders

# --- customer base -------------------------------------------------------
PREEXISTING_SHARE = 0.4  # an established shop: a large part of the base predates the window
PREEXISTING_MAX_AGE_DAYS = 3 * 365  # their signups spread over the 3 years before start
# New-year resolutions, autumn campaigns and Black Friday/Christmas bring more signups.
ACQUISITION_MONTH_WEIGHT = np.array([1.3, 1.0, 0.9, 0.9, 1.0, 0.8, 0.75, 0.85, 1.1, 1.0, 1.4, 1.3])
ACQUISITION_MONTH_NOISE = 0.25  # lognormal sigma: campaigns make single months deviate
LOYALTY_SHARE = 0.25
REGIONS = ("North", "South", "East", "West")
REGION_WEIGHT = np.array([0.3, 0.25, 0.2, 0.25])

# --- latent Pareto/NBD rates (per day) -------------------------------------
PURCHASE_RATE_SHAPE = 1.5  # heterogeneous: median ~ one purchase a month, long tail of heavy buyers
PURCHASE_RATE_MEAN = 1 / 27
DROPOUT_RATE_SHAPE = 2.0  # some customers are very loyal, some leave after a few weeks
DROPOUT_RATE_MEAN = 1 / 420  # non-members: typical lifetime of about a year
LOYALTY_PURCHASE_MULT = 1.25  # members buy slightly more often ...
LOYALTY_DROPOUT_MULT = 0.45  # ... and churn much more slowly
MAX_LIFETIME_DAYS = 100 * 365  # cap keeps stop_date inside the datetime64[ns] range
# Yearly seasonality (by calendar month): Nov/Dec shopping season, quiet late winter/summer.
SEASONALITY = np.array([0.9, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.3, 1.45])
# Hour-of-day profile (shop and app usage): quiet nights, lunch bump, evening peak.
HOUR_WEIGHT = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 10, 9, 8, 8, 8, 9, 11, 12, 12, 10, 7, 4], float)

# --- orders ----------------------------------------------------------------
CATEGORIES = ("Grocery", "Home", "Beauty", "Electronics", "Apparel", "Toys")
CATEGORY_POPULARITY = np.array([0.3, 0.2, 0.15, 0.1, 0.15, 0.1])
CATEGORY_PRICE_MULT = np.array([0.7, 1.3, 0.8, 2.0, 1.1, 0.9])  # electronics baskets cost more
FAVOURITE_CATEGORY_SHARE = 0.6  # remaining purchases follow global popularity
CHANNELS = ("web", "app", "store")
CHANNEL_POPULARITY = np.array([0.45, 0.3, 0.25])
FAVOURITE_CHANNEL_SHARE = 0.75  # people mostly stick to one channel
ORDER_VALUE_MEDIAN = 40.0  # per-customer mean order value ~ lognormal: long right tail
ORDER_VALUE_SIGMA = 0.6
ORDER_AMOUNT_SHAPE = 4.0  # per-order Gamma around the customer's mean (CV 0.5)
MIN_AMOUNT = 0.5  # purchases are strictly positive after rounding
EXTRA_ITEMS_MEAN = 0.8  # quantity = 1 + Poisson: mostly 1-3 items
REFUND_PROB = 0.032  # of purchases -> ~3% of rows (a few fall past the window end)
REFUND_DELAY_DAYS = (1, 14)  # refunds are processed within two weeks
CANCEL_PROB = 0.015  # of purchases -> ~1.5% of rows

# --- past retention contacts (for contact-fatigue rules) ------------------
CONTACTED_SHARE = 0.12  # customers who got one newsletter, offer or call recently
CONTACT_WINDOW_DAYS = 60  # ... within the last this many days of the window
CONTACT_KINDS = (("email", "newsletter"), ("email", "offer"), ("phone", "service_call"))
CONTACT_KIND_WEIGHT = np.array([0.6, 0.3, 0.1])

# --- past retention campaigns with control groups (true effects known) ------
# Every CAMPAIGN_EVERY_DAYS a campaign reaches part of the recently active customers; a random
# CAMPAIGN_CONTROL_SHARE of them is held out. Actions are chosen by a rule with randomness, so
# every action meets every kind of customer. Effects act on the latent lifetime: a saved
# customer lives (and buys) on, an annoyed one stops. The last campaign falls after the last
# closed outcome window on purpose: its outcome is still open at the end of the data.
CAMPAIGN_FIRST_DAY = 174
CAMPAIGN_EVERY_DAYS = 90
CAMPAIGN_REACH = 0.5  # share of eligible customers a campaign contacts or holds out
CAMPAIGN_CONTROL_SHARE = 0.3
CAMPAIGN_HORIZON_DAYS = 90  # the outcome window the truth is computed for (churn.horizon_days)
CAMPAIGN_ACTIONS = (
    ("service_call", "phone"),
    ("personalised_offer", "email"),
    ("tier_upgrade", "email"),
    ("loyalty_invitation", "email"),
    ("community_event", "email"),
    ("feedback_survey", "email"),
    ("reengagement_email", "email"),
)
FREQUENT_RATE = 1 / 20  # purchases per day above which a customer counts as frequent
# P(a customer about to leave stays on | treated): base, and extra where the action fits.
SAVE_BASE = np.array([0.2, 0.15, 0.0, 0.0, 0.3, 0.1, 0.08])
SAVE_FIT = np.array([0.5, 0.35, 0.4, 0.3, 0.0, 0.0, 0.0])  # distress / frequent / member / non-member
# Content customers (members who buy often and are nowhere near leaving) driven away by contact.
ANNOY_PROB = np.array([0.15, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3])
ANNOYED_WITHIN_DAYS = 7  # an annoyed customer stops within a week of the contact

# --- engagement events ----------------------------------------------------
EVENT_TYPES = ("login", "email_open", "email_click", "support_ticket", "complaint")
EVENT_BASE_RATE = np.array([0.001, 0.004, 0.0005, 0.0006, 0.0001])  # per day, even for light buyers
EVENT_PER_PURCHASE = np.array([0.5, 0.25, 0.08, 0.015, 0.002])  # extra events per expected purchase
FADE_DAYS = 75  # engagement ramps down over the ~2.5 months before stop_date ...
FADE_FLOOR = 0.2  # ... to 20% of normal
DISTRESS_DAYS = 120  # churners contact support more often in their final months
DISTRESS_MULT = {"support_ticket": 3.0, "complaint": 5.0}
POST_STOP_DAYS = 30  # faint activity lingers for a month after stop, then ends ...
POST_STOP_LEVEL = 0.1
EMAIL_OPEN_RESIDUAL = 0.05  # ... except for rare newsletter opens


@dataclass(frozen=True)
class SyntheticWorld:
    transactions: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame
    contacts: pd.DataFrame
    campaign_truth: pd.DataFrame


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Categorical draws via a lookup table (probabilities quantised to 1/65536): fast."""
    slots = np.round(np.asarray(weights, float) / np.sum(weights) * 65_536).astype(np.int64)
    table = np.repeat(np.arange(len(weights), dtype=np.min_scalar_type(len(weights) - 1)), slots)
    return table[rng.integers(0, table.size, size)]


def _poisson(rng, lo, hi, rate):
    """Homogeneous Poisson process on [lo, hi) (days) per customer -> (customer idx, times)."""
    length = np.maximum(hi - lo, 0.0)
    idx = np.repeat(np.arange(len(lo), dtype=np.int32), rng.poisson(rate * length))  # int32: RAM
    return idx, lo[idx] + rng.random(idx.size) * length[idx]


def _at_time_of_day(rng, t_days: np.ndarray) -> np.ndarray:
    """Keep the day, redraw the time of day from HOUR_WEIGHT -> integer seconds."""
    hour = _draw(rng, HOUR_WEIGHT, t_days.size).astype(np.int64)
    return np.floor(t_days).astype(np.int64) * DAY + hour * 3600 + rng.integers(0, 3600, t_days.size)


STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3 default "str" dtype


def _serial_text(count: int, width: int, prefix: str = "") -> pa.LargeStringArray:
    """prefix + zero-padded 0..count-1, written as raw ASCII bytes (no Python strings)."""
    p = len(prefix)
    buf = np.empty((count, p + width), np.uint8)
    buf[:, :p] = np.frombuffer(prefix.encode(), np.uint8)
    ascii_digits = np.arange(48, 58, dtype=np.uint8)
    assert count <= 10**width, "width too small"
    for j in range(width):  # digit j of a counter is 0..9, each repeated 10**j times, tiled
        step = 10**j
        buf[:, p + width - 1 - j] = (
            np.tile(np.repeat(ascii_digits, step), -(-count // (10 * step)))[:count] if step < count else 48
        )
    offsets = np.arange(0, (count + 1) * (p + width), p + width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(buf))


def _labels(codes: np.ndarray, labels) -> pa.Array:
    dictionary = pa.array(list(labels), pa.large_string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), dictionary).cast(pa.large_string())


@dataclass(frozen=True)
class _Campaigns:
    stop: np.ndarray  # final latent stop (days) after every campaign's effect
    stop_before: np.ndarray  # the stop before the last change, which drives earlier events
    changed_at: np.ndarray  # day of the last change (inf: never changed)
    rows: dict  # per campaign contact: day, customer, action, treated, kind, p_treated, p_control


def _expected_retention(lam: np.ndarray, stop: np.ndarray, day: int, season: np.ndarray, days: int) -> np.ndarray:
    """P(at least one kept purchase in [day, day + horizon)) for customers alive until `stop`."""
    cum = np.concatenate([[0.0], np.cumsum(np.append(season, np.full(CAMPAIGN_HORIZON_DAYS, season.mean())))])
    end = np.clip(stop, day, day + CAMPAIGN_HORIZON_DAYS)
    lo, hi = np.floor(day).astype(np.int64), np.floor(end).astype(np.int64)
    weight = cum[hi] - cum[lo] + (end - hi) * np.take(np.append(season, season[-1]), np.minimum(hi, days))
    return 1.0 - np.exp(-lam * (1 - CANCEL_PROB) * np.maximum(weight, 0.0))


def _run_campaigns(rng, days, begin, stop, lam, mu, loyal, season) -> _Campaigns:
    """Campaigns in time order; each one's effects are in the world the next one sees."""
    stop, stop_before = stop.copy(), stop.copy()
    changed_at = np.full(stop.size, np.inf)
    out = {k: [] for k in ("day", "customer", "action", "treated", "kind", "p_treated", "p_control")}
    for day in range(CAMPAIGN_FIRST_DAY, days, CAMPAIGN_EVERY_DAYS):
        eligible = np.flatnonzero((begin <= day - 60) & (stop > day - 180))
        who = eligible[rng.random(eligible.size) < CAMPAIGN_REACH]
        treated = rng.random(who.size) >= CAMPAIGN_CONTROL_SHARE
        left = stop[who] - day  # days until the customer would leave (negative: already gone)
        distress = (left >= 0) & (left < DISTRESS_DAYS)
        frequent = lam[who] > FREQUENT_RATE
        member = loyal[who]
        weight = np.column_stack(
            [
                np.where(distress, 3.0, 0.2),
                np.where(frequent, 2.0, 0.5),
                np.where(member, 2.0, 0.1),
                np.where(member, 0.05, 1.5),
                np.full(who.size, 0.6),
                np.full(who.size, 0.6),
                np.full(who.size, 1.5),
            ]
        )
        action = (np.log(weight) + rng.gumbel(size=weight.shape)).argmax(axis=1)  # sampled by weight
        fit = np.select([action == 0, action == 1, action == 2, action == 3], [distress, frequent, member, ~member])
        about_to_leave = (left >= 0) & (left < CAMPAIGN_HORIZON_DAYS)
        content = (member | frequent) & (left > 365)
        p_save = np.where(about_to_leave, SAVE_BASE[action] + SAVE_FIT[action] * fit, 0.0)
        p_annoy = np.where(content, ANNOY_PROB[action], 0.0)
        saved_stop = np.maximum(stop[who], day) + np.minimum(
            rng.exponential(1.0, who.size) / mu[who], MAX_LIFETIME_DAYS
        )
        annoyed_stop = np.minimum(stop[who], day + rng.random(who.size) * ANNOYED_WITHIN_DAYS)
        p_control = _expected_retention(lam[who], stop[who], day, season, days)
        p_treated = (
            (1 - p_save - p_annoy) * p_control
            + p_save * _expected_retention(lam[who], saved_stop, day, season, days)
            + p_annoy * _expected_retention(lam[who], annoyed_stop, day, season, days)
        )
        u = rng.random(who.size)
        new_stop = np.where(u < p_save, saved_stop, np.where(u < p_save + p_annoy, annoyed_stop, stop[who]))
        change = treated & (new_stop != stop[who])
        moved = who[change]
        stop_before[moved], changed_at[moved], stop[moved] = stop[moved], day, new_stop[change]
        kind = np.select(
            [p_annoy > 0, p_save > 0, left < 0],
            ["sleeping_dog", "persuadable", "lost_cause"],
            default="sure_thing",
        )
        for key, value in (
            ("day", np.full(who.size, day)),
            ("customer", who),
            ("action", action),
            ("treated", treated),
            ("kind", kind),
            ("p_treated", p_treated),
            ("p_control", p_control),
        ):
            out[key].append(value)
    rows = {k: np.concatenate(v) if v else np.array([]) for k, v in out.items()}
    return _Campaigns(stop, stop_before, changed_at, rows)


def _campaign_tables(rows: dict, rng, start, cid, moment, text) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The campaigns' contact log (control rows name the action held back; no channel) and
    their ground truth: per customer and campaign, the chance of a purchase in the outcome
    window with the action and without it."""
    day = rows["day"].astype(np.int64)
    names = np.array([f"retention-{np.datetime64(start, 'D') + d}" for d in range(int(day.max(initial=0)) + 1)])
    action = np.array([a for a, _ in CAMPAIGN_ACTIONS], dtype=object)[rows["action"].astype(np.int64)]
    channel = np.array([c for _, c in CAMPAIGN_ACTIONS], dtype=object)[rows["action"].astype(np.int64)]
    treated = rows["treated"].astype(bool)
    customer = text(cid.take(pa.array(rows["customer"].astype(np.int64), type=pa.int64())))
    campaign = text(names[day] if day.size else np.array([], dtype=object))
    group = text(np.where(treated, "treatment", "control").astype(object))
    contacts = pd.DataFrame(
        {
            "customer_id": customer,
            "timestamp": moment(day * DAY + rng.integers(9 * 3600, 18 * 3600, day.size)),  # office hours
            "channel": text(np.where(treated, channel, None)),
            "action": text(action),
            "campaign": campaign,
            "group": group,
        }
    )
    truth = pd.DataFrame(
        {
            "campaign": campaign.copy(),
            "campaign_date": moment(day * DAY),
            "customer_id": customer.copy(),
            "group": group.copy(),
            "action": text(action),
            "kind": text(rows["kind"].astype(object)),
            "p_retained_treated": np.round(rows["p_treated"].astype(float), 6),
            "p_retained_control": np.round(rows["p_control"].astype(float), 6),
        }
    )
    truth["true_effect"] = (truth["p_retained_treated"] - truth["p_retained_control"]).round(6)
    return contacts, truth


def generate_world(n_customers: int, start: datetime.date, days: int, seed: int) -> SyntheticWorld:
    """Simulate a shop over the observation window ``[start, start + days)``.

    Returns a :class:`SyntheticWorld` with

    - ``transactions``: order_id (str, "O" + 9 digits, in timestamp order), customer_id (str),
      timestamp (datetime64[ns], naive UTC), amount (float, 2 decimals, negative for refunds),
      quantity (int64 > 0), category (str), channel (str: web/app/store),
      status (str: "Completed"/"Cancelled"); sorted by (timestamp, customer_id).
    - ``events``: customer_id, timestamp, event_type (login, email_open, email_click,
      support_ticket, complaint); sorted by (timestamp, customer_id).
    - ``customers``: customer_id (str, zero-padded width 6), signup_date (datetime64[ns] at
      midnight; before ``start`` for pre-existing customers), loyalty_member (bool), region (str).
    - ``contacts``: customer_id, timestamp, channel, action: one recent retention contact
      for a share of customers (newsletter, offer or service call in the last 60 days).
    - ``truth`` (latent, for tests/evaluation only): customer_id, signup_date,
      stop_date (datetime64[ns], may lie after the window), purchase_rate_per_day
      (before seasonality), dropout_rate_per_day, loyalty_member.

    Same arguments give identical frames.
    """
    if n_customers < 0 or days <= 0:
        raise ValueError("need n_customers >= 0 and days > 0")
    rng = np.random.default_rng(seed)
    n, end_s = int(n_customers), days * DAY
    calendar_month = (np.datetime64(start, "D") + np.arange(days)).astype("datetime64[M]")
    window_months = calendar_month.astype(np.int64) % 12  # month of year per window day, 0 = Jan
    month_index = (calendar_month - calendar_month[0]).astype(np.int64)

    # Signups: pre-existing customers uniformly over the past years, new ones by monthly intensity.
    old = rng.random(n) < PREEXISTING_SHARE
    n_new = int((~old).sum())
    campaign = rng.lognormal(0.0, ACQUISITION_MONTH_NOISE, month_index[-1] + 1)
    weight = ACQUISITION_MONTH_WEIGHT[window_months] * campaign[month_index]
    signup_day = np.empty(n, np.int64)
    signup_day[old] = -rng.integers(1, PREEXISTING_MAX_AGE_DAYS + 1, n - n_new)
    signup_day[~old] = rng.choice(days, n_new, p=weight / weight.sum())
    signup_s = signup_day * DAY + _at_time_of_day(rng, np.zeros(n))
    order = np.argsort(signup_s, kind="stable")  # ids are handed out in signup order
    signup_s, old = signup_s[order], old[order]
    signup_day = signup_s // DAY

    loyal = rng.random(n) < LOYALTY_SHARE
    lam = rng.gamma(PURCHASE_RATE_SHAPE, PURCHASE_RATE_MEAN / PURCHASE_RATE_SHAPE, n)
    lam *= np.where(loyal, LOYALTY_PURCHASE_MULT, 1.0)
    mu = rng.gamma(DROPOUT_RATE_SHAPE, DROPOUT_RATE_MEAN / DROPOUT_RATE_SHAPE, n)
    mu *= np.where(loyal, LOYALTY_DROPOUT_MULT, 1.0)
    lifetime = np.minimum(rng.exponential(1.0, n) / mu, MAX_LIFETIME_DAYS)
    # Memorylessness: a customer alive at start has an Exp(mu) remaining lifetime from start.
    begin_s = np.where(old, 0, signup_s)  # start of observable activity
    begin = begin_s / DAY  # the float-day versions drive the Poisson draws
    stop = begin + lifetime
    # Past campaigns change lifetimes; their own draws come from a second stream.
    campaigns = _run_campaigns(
        np.random.default_rng([seed, 1]), days, begin, stop, lam, mu, loyal, SEASONALITY[window_months]
    )
    stop_s = np.floor(np.minimum(campaigns.stop, MAX_LIFETIME_DAYS) * DAY).astype(np.int64)
    stop = stop_s / DAY
    stop_before = campaigns.stop_before
    until = np.minimum(stop, days)

    fav_cat = _draw(rng, CATEGORY_POPULARITY, n)
    fav_chan = _draw(rng, CHANNEL_POPULARITY, n)
    mean_value = ORDER_VALUE_MEDIAN * rng.lognormal(0.0, ORDER_VALUE_SIGMA, n)

    # Rows are ordered by (timestamp, customer_id) through one packed int64 key; ids sort like
    # their indices. Sorting keys (np.sort) is much cheaper than argsort over many columns.
    bits = max(n - 1, 1).bit_length()
    mask = (1 << bits) - 1
    if (end_s + REFUND_DELAY_DAYS[1] * DAY) << (bits + 3) >= 2**63:
        raise ValueError("n_customers * days too large for packed sort keys")

    # Purchases: first at signup (if in window), then Poisson at lam * seasonality, thinned.
    season = SEASONALITY[window_months]  # per day of the window
    idx, t = _poisson(rng, begin, until, lam * season.max())
    keep = rng.random(idx.size) * season.max() < season[t.astype(np.int64)]
    idx, t = idx[keep], t[keep]
    ts = _at_time_of_day(rng, t)
    keep = (ts >= begin_s[idx]) & (ts < np.minimum(stop_s, end_s)[idx])
    first = np.flatnonzero(~old)
    key = np.sort(np.concatenate([(signup_s[first] << bits) | first, (ts[keep] << bits) | idx[keep]]))
    del idx, t, ts, keep
    idx, ts = (key & mask).astype(np.int32), key >> bits

    # Order attributes are drawn in sorted order, so no permutation of the columns is needed.
    m = idx.size
    cat = np.where(rng.random(m) < FAVOURITE_CATEGORY_SHARE, fav_cat[idx], _draw(rng, CATEGORY_POPULARITY, m))
    chan = np.where(rng.random(m) < FAVOURITE_CHANNEL_SHARE, fav_chan[idx], _draw(rng, CHANNEL_POPULARITY, m))
    amount = rng.gamma(ORDER_AMOUNT_SHAPE, mean_value[idx] * CATEGORY_PRICE_MULT[cat] / ORDER_AMOUNT_SHAPE)
    amount = np.maximum(np.round(amount, 2), MIN_AMOUNT)
    qty = 1 + rng.poisson(EXTRA_ITEMS_MEAN, m)
    u = rng.random(m)  # one draw: an order is refunded or cancelled, never both
    status = ((u >= REFUND_PROB) & (u < REFUND_PROB + CANCEL_PROB)).astype(np.int8)  # 1 = Cancelled

    # Refunds: negative copies of purchases a few days later, merged into the sorted stream.
    ref = np.flatnonzero(u < REFUND_PROB)
    ref_ts = ts[ref] + rng.integers(REFUND_DELAY_DAYS[0] * DAY, REFUND_DELAY_DAYS[1] * DAY, ref.size)
    ref, ref_ts = ref[ref_ts < end_s], ref_ts[ref_ts < end_s]
    o = np.argsort((ref_ts << bits) | idx[ref], kind="stable")
    ref, ref_ts = ref[o], ref_ts[o]
    pos = np.searchsorted(key, (ref_ts << bits) | idx[ref], side="right")
    del key, u, o

    ns = np.datetime64(start, "ns").astype(np.int64)
    cid = _serial_text(n, max(CUSTOMER_ID_WIDTH, len(str(max(n - 1, 0)))))
    text = lambda arr: pd.Series(pd.array(arr, dtype=STR))  # noqa: E731
    customer = lambda i: text(cid.take(pa.array(i)))  # noqa: E731
    moment = lambda sec: pd.Series((ns + sec * 1_000_000_000).view("datetime64[ns]"))  # noqa: E731
    merged = lambda col, refund_col: np.insert(col, pos, refund_col)  # noqa: E731

    cols = {"order_id": text(_serial_text(m + ref.size, ORDER_ID_WIDTH, "O"))}
    cols["customer_id"] = customer(merged(idx, idx[ref]))
    cols["timestamp"] = moment(merged(ts, ref_ts))
    cols["amount"] = merged(amount, -amount[ref])
    cols["quantity"] = merged(qty, qty[ref]).astype(np.int64)
    cols["category"] = text(_labels(merged(cat, cat[ref]), CATEGORIES))
    cols["channel"] = text(_labels(merged(chan, chan[ref]), CHANNELS))
    cols["status"] = text(_labels(merged(status, np.zeros(ref.size, np.int8)), ("Completed", "Cancelled")))
    del idx, ts, cat, chan, qty, amount, status  # free before the (large) events table
    transactions = pd.DataFrame(cols, copy=False)
    del cols

    # Engagement: piecewise-constant Poisson segments relative to stop (days), ramp by thinning.
    keys = []  # packed (timestamp, customer, event type) per segment, keeps RAM low
    for k, name in enumerate(EVENT_TYPES):
        rate = EVENT_BASE_RATE[k] + EVENT_PER_PURCHASE[k] * lam
        if name in DISTRESS_MULT:
            segments = [(-np.inf, -DISTRESS_DAYS, 1.0), (-DISTRESS_DAYS, 0, DISTRESS_MULT[name])]
        else:
            segments = [(-np.inf, -FADE_DAYS, 1.0), (-FADE_DAYS, 0, "ramp")]
        segments.append((0, POST_STOP_DAYS, POST_STOP_LEVEL))
        if name == "email_open":
            segments.append((POST_STOP_DAYS, np.inf, EMAIL_OPEN_RESIDUAL))
        # Before a campaign changed a lifetime, events follow the old stop; after it, the new one.
        phases = (
            (stop_before, begin, np.minimum(campaigns.changed_at, days)),
            (stop, np.maximum(begin, campaigns.changed_at), np.full(n, float(days))),
        )
        for phase_stop, w_lo, w_hi in phases:
            for lo_off, hi_off, mult in segments:
                lo = np.minimum(np.clip(phase_stop + lo_off, w_lo, w_hi), w_hi)
                hi = np.minimum(np.clip(phase_stop + hi_off, w_lo, w_hi), w_hi)
                i, t = _poisson(rng, lo, hi, rate * (1.0 if mult == "ramp" else mult))
                if mult == "ramp":  # linear fade from 1 at stop - FADE_DAYS to FADE_FLOOR at stop
                    level = FADE_FLOOR + (1 - FADE_FLOOR) * (phase_stop[i] - t) / FADE_DAYS
                    accept = rng.random(i.size) < level
                    i, t = i[accept], t[accept]
                sec = _at_time_of_day(rng, t)
                ok = (sec >= begin_s[i]) & (sec < end_s)  # after signup, inside the window
                keys.append((((sec[ok] << bits) | i[ok]) << 3) | k)
    key = np.sort(np.concatenate(keys))
    del keys
    events = pd.DataFrame(
        {
            "customer_id": customer((key >> 3) & mask),
            "timestamp": moment(key >> (bits + 3)),
            "event_type": text(_labels((key & 7).astype(np.int8), EVENT_TYPES)),
        },
        copy=False,
    )
    del key

    signup_date = moment(signup_day * DAY)
    customers = pd.DataFrame(
        {
            "customer_id": text(cid),
            "signup_date": signup_date,
            "loyalty_member": loyal.copy(),
            "region": text(_labels(_draw(rng, REGION_WEIGHT, n), REGIONS)),
        }
    )
    truth = pd.DataFrame(
        {
            "customer_id": text(cid),
            "signup_date": signup_date.copy(),
            "stop_date": moment(stop_s),
            "purchase_rate_per_day": lam,
            "dropout_rate_per_day": mu,
            "loyalty_member": loyal.copy(),
        }
    )
    # Drawn last, so adding contacts left every other table of a seed unchanged.
    eligible = signup_day < days - CONTACT_WINDOW_DAYS
    who = np.flatnonzero(eligible & (rng.random(n) < CONTACTED_SHARE))
    when = (days - CONTACT_WINDOW_DAYS) * DAY + rng.integers(0, CONTACT_WINDOW_DAYS * DAY, who.size)
    kind = _draw(rng, CONTACT_KIND_WEIGHT, who.size)
    order = np.lexsort((who, when))
    who, when, kind = who[order], when[order], kind[order]
    recent = pd.DataFrame(
        {
            "customer_id": text(cid.take(pa.array(who, type=pa.int64()))),
            "timestamp": moment(when),
            "channel": text(np.array([c for c, _ in CONTACT_KINDS], dtype=object)[kind]),
            "action": text(np.array([a for _, a in CONTACT_KINDS], dtype=object)[kind]),
        }
    )
    contacts, campaign_truth = _campaign_tables(campaigns.rows, rng, start, cid, moment, text)
    contacts = pd.concat([recent, contacts], ignore_index=True)
    contacts = contacts.sort_values(["timestamp", "customer_id"], kind="stable", ignore_index=True)
    return SyntheticWorld(transactions, events, customers, truth, contacts, campaign_truth)
