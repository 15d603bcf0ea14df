"""Schemathesis hooks for the fuelcard API run by scripts/schemathesis.sh.

Two things schemathesis cannot know by itself:

* "A refused request changes nothing": a fingerprint of every table of the
  server's SQLite database is taken before and after each request; the
  check `refusal_changes_nothing` fails when a 4xx answer came with a
  change. The one documented exception: a wrong PIN counts as a try (and
  the third locks the card) even though the request is refused, so for
  `wrong_pin` and `pin_locked` the card's try counter and status may change.

* Real ids: with FUELCARD_ST_REAL (a JSON file of the demo's card numbers,
  company ids, plates …) a share of the generated valid requests names
  things that exist, so requests get past "not found" into the rules.
  Only for valid data: a negative case keeps what made it invalid.
"""

import datetime
import hashlib
import json
import os
import sqlite3

import schemathesis
from hypothesis import strategies as st

DB_PATH = os.environ.get("FUELCARD_ST_DB")
REAL = {}
if os.environ.get("FUELCARD_ST_REAL"):
    with open(os.environ["FUELCARD_ST_REAL"], encoding="utf-8") as f:
        REAL = json.load(f)

# Codes whose refusal is allowed to write: the PIN try counter and lock.
PIN_CODES = {"wrong_pin", "pin_locked"}
PIN_COLUMNS = {"pin_failures", "status"}


def fingerprint():
    """One digest per table; the cards table also without its PIN columns."""
    if not DB_PATH:
        return None
    conn = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, timeout=30)
    try:
        out = {}
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name"
            )
        ]
        for t in tables:
            cur = conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid')
            cols = [d[0] for d in cur.description]
            full = hashlib.sha256()
            no_pin = hashlib.sha256()
            for row in cur:
                full.update(repr(row).encode())
                if t == "cards":
                    kept = tuple(v for c, v in zip(cols, row) if c not in PIN_COLUMNS)
                    no_pin.update(repr(kept).encode())
            out[t] = full.hexdigest()
            if t == "cards":
                out["cards (without PIN tries and status)"] = no_pin.hexdigest()
        return out
    finally:
        conn.close()


_before = {}
_after = {}


@schemathesis.hook
def before_call(context, case, kwargs):
    _before[id(case)] = fingerprint()


@schemathesis.hook
def after_call(context, case, response):
    _after[id(case)] = fingerprint()


def _code_of(response):
    try:
        return json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        return None


@schemathesis.check
def refusal_changes_nothing(ctx, response, case):
    """A 4xx answer leaves every table as it was."""
    before = _before.pop(id(case), None)
    after = _after.pop(id(case), None)
    if before is None or after is None or not 400 <= response.status_code < 500:
        return None
    changed = sorted(t for t in after if before.get(t) != after.get(t))
    if _code_of(response) in PIN_CODES:
        changed = [t for t in changed if t != "cards"]
    if changed:
        raise AssertionError(
            f"answered {response.status_code} ({_code_of(response)}) "
            f"but changed: {', '.join(changed)}"
        )
    return None


@schemathesis.check
def no_server_error_but_the_missing_reader(ctx, response, case):
    """For the chip routes of a server started without a card reader: the
    one 5xx allowed is 503 `reader_not_configured`, answered to a request
    that passed every other check."""
    if response.status_code < 500:
        return None
    if response.status_code == 503 and _code_of(response) == "reader_not_configured":
        return None
    raise AssertionError(f"server error {response.status_code} ({_code_of(response)})")


# Where each kind of real value goes: path parameters by name (some names
# mean different things on different routes), body and query members.
def _path_choices(path, name):
    if name == "number":
        return REAL.get("cards")
    if name == "company":
        return REAL.get("companies")
    if name == "plate":
        return REAL.get("plates")
    if name == "month":
        return REAL.get("months")
    if name == "code":
        for prefix, key in (
            ("/api/v1/products", "products"),
            ("/api/v1/merchants", "merchants"),
            ("/api/v1/offers", "offers"),
        ):
            if path.startswith(prefix):
                return REAL.get(key)
        return REAL.get("stations")
    if name == "id":
        for prefix, key in (
            ("/api/v1/customers", "customers"),
            ("/api/v1/holds", "holds"),
            ("/api/v1/shifts", "shifts"),
            ("/api/v1/fleet/{company}/topups", "topups"),
            ("/api/v1/fleet/{company}/loans", "loans"),
            ("/api/v1/redemptions", "redemptions"),
        ):
            if path.startswith(prefix):
                return REAL.get(key)
    return None


BODY_CHOICES = {
    "card_number": "cards",
    "from_card": "cards",
    "to_card": "cards",
    "parent_card": "cards",
    "customer_id": "customers",
    "company_id": "companies",
    "product": "products",
    "station": "stations",
    "plate": "plates",
    "month": "months",
    "sale_id": "sales",
    "voucher_code": "vouchers",
    "offer": "offers",
    "merchant": "merchants",
}
QUERY_CHOICES = {
    "phone": "phones",
    "customer_id": "customers",
    "station": "stations",
    "month": "months",
    "merchant": "merchants",
    "code": "vouchers",
    "card": "cards",
}


def _realise(case, rnd):
    def pick(options):
        return rnd.choice(options) if options else None

    if rnd.random() < 0.3:
        return case
    # A key of its own: the schema's example key, sent again with another
    # body, is refused as reused before the request reaches its rules.
    if case.headers and "Idempotency-Key" in case.headers:
        headers = case.headers.copy()
        headers["Idempotency-Key"] = f"st-{rnd.getrandbits(64):016x}"
        case.headers = headers

    if case.path_parameters:
        params = dict(case.path_parameters)
        for name in params:
            value = pick(_path_choices(case.operation.path, name))
            if value is not None and rnd.random() < 0.8:
                params[name] = value
        case.path_parameters = params
    if isinstance(case.query, dict) and case.query:
        query = dict(case.query)
        for name, key in QUERY_CHOICES.items():
            value = pick(REAL.get(key))
            if name in query and value is not None and rnd.random() < 0.8:
                query[name] = value
        case.query = query
    if isinstance(case.body, dict):
        body = dict(case.body)
        for name, key in BODY_CHOICES.items():
            value = pick(REAL.get(key))
            if name in body and value is not None and rnd.random() < 0.8:
                body[name] = value
        # The admin works at no station: counter requests name one.
        if case.operation.path in COUNTER_PATHS and "station" not in body and rnd.random() < 0.8:
            body["station"] = pick(REAL.get("stations"))
        case.body = body
    return case


COUNTER_PATHS = {
    "/api/v1/sales",
    "/api/v1/holds",
    "/api/v1/shifts",
    "/api/v1/cards",
    "/api/v1/cards/{number}/recharges",
    "/api/v1/cards/{number}/replacement",
    "/api/v1/cards/{number}/closure",
}


@schemathesis.hook
def map_body(context, body):
    # A hold released by the background sweep during the run would look
    # like a change made by whatever request was being answered, so valid
    # holds live longer than the run. Invalid values stay invalid.
    if (
        context.operation is not None
        and context.operation.path == "/api/v1/holds"
        and isinstance(body, dict)
        and isinstance(body.get("expires_in_minutes"), int)
        and not isinstance(body.get("expires_in_minutes"), bool)
        and 1 <= body["expires_in_minutes"] < 120
    ):
        body = dict(body)
        body["expires_in_minutes"] = 120
    return body


@schemathesis.hook
def flatmap_case(context, case):
    if not REAL:
        return st.just(case)
    return st.randoms(use_true_random=False).map(lambda rnd: _realise(case, rnd))



def _real_values(db_path):
    """The ids, numbers and codes of a demo database, for FUELCARD_ST_REAL."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)

    def column(sql):
        return [r[0] for r in conn.execute(sql) if r[0] is not None]

    try:
        today = datetime.date.fromisoformat(os.environ["FUELCARD_ST_TODAY"])
        this = today.replace(day=1)
        last = (this - datetime.timedelta(days=1)).replace(day=1)
        following = (this + datetime.timedelta(days=32)).replace(day=1)
        months = sorted(
            set(column("SELECT DISTINCT month FROM allocation_plans"))
            | {d.strftime("%Y-%m") for d in (last, this, following)}
        )
        return {
            "cards": column("SELECT number FROM cards ORDER BY id"),
            "customers": column("SELECT id FROM customers ORDER BY id"),
            "companies": column("SELECT id FROM customers WHERE kind = 'company' ORDER BY id"),
            "phones": column("SELECT DISTINCT phone FROM customers ORDER BY phone"),
            "plates": column("SELECT plate FROM vehicles ORDER BY id"),
            "months": months,
            "products": column("SELECT code FROM products ORDER BY id"),
            "stations": column("SELECT code FROM stations ORDER BY id"),
            "holds": column("SELECT id FROM holds ORDER BY id"),
            "shifts": column("SELECT id FROM shifts ORDER BY id"),
            "topups": column("SELECT id FROM topup_requests ORDER BY id"),
            "loans": column("SELECT id FROM card_loans ORDER BY id"),
            "sales": column("SELECT id FROM sales ORDER BY id DESC LIMIT 200"),
            "merchants": column("SELECT code FROM merchants ORDER BY id"),
            "offers": column("SELECT code FROM offers ORDER BY id"),
            "vouchers": column("SELECT voucher_code FROM benefits ORDER BY id"),
            "redemptions": column("SELECT id FROM redemptions ORDER BY id"),
        }
    finally:
        conn.close()


if __name__ == "__main__":
    # python schemathesis_hooks.py real DB       the real values, as JSON
    # python schemathesis_hooks.py fingerprint DB one digest per table, as JSON
    import sys

    what, path = sys.argv[1], sys.argv[2]
    if what == "real":
        print(json.dumps(_real_values(path), ensure_ascii=False))
    elif what == "fingerprint":
        DB_PATH = path
        print(json.dumps(fingerprint(), indent=1, sort_keys=True))
    else:
        sys.exit(f"unknown command {what}")
