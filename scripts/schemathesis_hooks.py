"""Schemathesis hooks for the fuelcard API run by scripts/schemathesis.sh.

Two things schemathesis cannot know by itself:

* "A refused request changes nothing": a fingerprint of every table of the
  server's database (SQLite or PostgreSQL) is taken before and after each
  request; the check `refusal_changes_nothing` fails when a 4xx answer came
  with a change. The documented exceptions: a wrong PIN counts as a try
  (and the third locks the card) even though the request is refused, so for
  `wrong_pin` and `pin_locked` the card's try counter and status may change;
  a wrong password or PIN is counted in the guessing limits, so for those
  and `invalid_credentials` and `wrong_password` the `guesses` table may
  change. Two things are written whatever the answer and are left out of
  the fingerprint: a session's last use (`sessions.last_seen_at`, written
  at most once a minute by any request with the session), and the rows of
  `guesses` the background sweep forgets after a quiet quarter of an hour
  (a row gone from `guesses` is no change; a row added or changed is).
  The tables are digested again only when the database has taken a write
  since the last digest (SQLite's `data_version`, PostgreSQL's WAL
  position); otherwise the last digest stands.

* Real ids: with FUELCARD_ST_REAL (a JSON file of the demo's card numbers,
  company ids, plates …) a share of the generated valid requests names
  things that exist, so requests get past "not found" into the rules.
  Only for valid data: a negative case keeps what made it invalid.

FUELCARD_ST_DB names the database: a SQLite file, or a postgres:// URL.
"""

import copy
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

# Codes whose refusal is allowed to write: the card's PIN and document try
# counters and locks.
PIN_CODES = {"wrong_pin", "pin_locked", "identity_mismatch", "identity_locked"}
PIN_COLUMNS = {"pin_failures", "status", "identity_failures", "identity_locked_at"}
# Codes of a wrong guess, counted in the guessing limits' table.
GUESS_CODES = PIN_CODES | {"invalid_credentials", "wrong_password"}
GUESS_TABLE = "guesses"
# Columns any request writes, refused or not: left out of the digest.
UNWATCHED_COLUMNS = {"sessions": {"last_seen_at"}}
# Tables whose rows the background sweep deletes: a digest per row, keyed
# by this column, and a row gone is no change.
SWEPT_TABLES = {GUESS_TABLE: "key"}


def _is_postgres(db):
    return db.startswith(("postgres://", "postgresql://"))


_pg_conns = {}


def _pg(url):
    """One read-only connection per URL, kept for the run: each fingerprint
    is one REPEATABLE READ transaction, so one snapshot of every table."""
    conn = _pg_conns.get(url)
    if conn is None or conn.closed:
        import psycopg

        conn = psycopg.connect(url, connect_timeout=30)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        _pg_conns[url] = conn
    return conn


_sqlite_conns = {}


def _sqlite(path):
    """One read-only connection per file, kept for the run, so that its
    `PRAGMA data_version` tells whether anyone wrote since its last read."""
    conn = _sqlite_conns.get(path)
    if conn is None:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro",
            uri=True,
            timeout=30,
            isolation_level=None,
            # Each phase calls the hooks from a thread of its own; one
            # request runs at a time (--workers 1).
            check_same_thread=False,
        )
        _sqlite_conns[path] = conn
    return conn


class _Reader:
    """The same few reads on SQLite and on PostgreSQL."""

    def __init__(self, db):
        self.db = db
        self.postgres = _is_postgres(db)
        if self.postgres:
            self.conn = _pg(db)
        else:
            self.conn = _sqlite(db)
            self.conn.execute("BEGIN")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # End the snapshot; the connection stays for the next one.
        self.conn.rollback()

    def execute(self, sql, params=()):
        return self.conn.execute(sql, params)


def _digest_rows(t, cols, rows, out):
    """Adds table t's digests to a fingerprint from its rows (tuples in a
    stable order, with the column names cols)."""
    unwatched = UNWATCHED_COLUMNS.get(t, set())
    watched = [c for c in cols if c not in unwatched]
    full = hashlib.sha256()
    no_pin = hashlib.sha256()
    swept = {}
    for row in rows:
        row = tuple(row)
        if unwatched:
            row = tuple(v for c, v in zip(cols, row) if c not in unwatched)
        if t in SWEPT_TABLES:
            key = row[watched.index(SWEPT_TABLES[t])]
            swept[str(key)] = hashlib.sha256(repr(row).encode()).hexdigest()
            continue
        full.update(repr(row).encode())
        if t == "cards":
            kept = tuple(v for c, v in zip(watched, row) if c not in PIN_COLUMNS)
            no_pin.update(repr(kept).encode())
    if t in SWEPT_TABLES:
        out[t] = swept
    elif unwatched:
        out[f"{t} (without {', '.join(sorted(unwatched))})"] = full.hexdigest()
    else:
        out[t] = full.hexdigest()
    if t == "cards":
        out["cards (without tries, locks and status)"] = no_pin.hexdigest()


# The last fingerprint of each SQLite file, with the data_version it was
# read at: a request that wrote nothing is checked without reading every
# table again, which is most of a run's time on the demo's history.
_sqlite_last = {}


def _sqlite_fingerprint(db):
    version = db.execute("PRAGMA data_version").fetchone()[0]
    last = _sqlite_last.get(db.db)
    if last is not None and last[0] == version:
        return copy.deepcopy(last[1])
    out = _sqlite_read_all(db)
    _sqlite_last[db.db] = (version, copy.deepcopy(out))
    return out


def _sqlite_read_all(db):
    out = {}
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name"
        )
    ]
    for t in tables:
        cur = db.execute(f'SELECT * FROM "{t}" ORDER BY rowid')
        _digest_rows(t, [d[0] for d in cur.description], cur, out)
    return out


_pg_queries = {}


def _pg_fingerprint_query(db):
    """One statement that digests every table of the public schema but
    _sqlx_migrations on the server (one round trip per fingerprint): each
    table's rows as text, ordered by the primary key, or without one by
    the whole row; the same exceptions as on SQLite. Built once per run
    (the migrations ran before the server listened)."""
    if db.db in _pg_queries:
        return _pg_queries[db.db]
    tables = [
        r[0]
        for r in db.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
            "AND table_name <> '_sqlx_migrations' ORDER BY table_name"
        )
    ]
    columns, keys = {}, {}
    for t, c in db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(t, []).append(c)
    for t, c in db.execute(
        "SELECT k.table_name, k.column_name "
        "FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k "
        "ON k.constraint_schema = c.constraint_schema "
        "AND k.constraint_name = c.constraint_name "
        "AND k.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND c.constraint_type = 'PRIMARY KEY' "
        "ORDER BY k.table_name, k.ordinal_position"
    ):
        keys.setdefault(t, []).append(f'r."{c}"')

    def lit(text):
        return "'" + text.replace("'", "''") + "'"

    def as_text(t, leave_out=()):
        kept = [f'r."{c}"' for c in columns[t] if c not in leave_out]
        return f"ROW({', '.join(kept)})::text" if leave_out else "r::text"

    def digest(name, t, leave_out=()):
        order = ", ".join(keys[t]) if t in keys else "r::text"
        return (
            f"SELECT {lit(name)}, NULL::text, md5(coalesce(string_agg("
            f"{as_text(t, leave_out)}, E'\\n' ORDER BY {order}), '')) FROM \"{t}\" AS r"
        )

    parts = []
    for t in tables:
        unwatched = UNWATCHED_COLUMNS.get(t, set())
        if t in SWEPT_TABLES:
            parts.append(
                f'SELECT {lit(t)}, r."{SWEPT_TABLES[t]}"::text, '
                f'md5({as_text(t, unwatched)}) FROM "{t}" AS r'
            )
        elif unwatched:
            parts.append(digest(f"{t} (without {', '.join(sorted(unwatched))})", t, unwatched))
        else:
            parts.append(digest(t, t))
        if t == "cards":
            parts.append(digest("cards (without tries, locks and status)", t, PIN_COLUMNS))
    _pg_queries[db.db] = (tables, "\nUNION ALL\n".join(parts))
    return _pg_queries[db.db]


# The last fingerprint of each PostgreSQL database, with the server's WAL
# position it was read at: no commit anywhere moves nothing, so a request
# that wrote nothing is checked without digesting every table again.
_pg_last = {}


def _pg_fingerprint(db):
    lsn = db.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    last = _pg_last.get(db.db)
    if last is not None and last[0] == lsn:
        return copy.deepcopy(last[1])
    out = _pg_read_all(db)
    _pg_last[db.db] = (lsn, copy.deepcopy(out))
    return out


def _pg_read_all(db):
    tables, query = _pg_fingerprint_query(db)
    out = {t: {} for t in tables if t in SWEPT_TABLES}
    for name, key, value in db.execute(query):
        if key is None:
            out[name] = value
        else:
            out[name][key] = value
    return out


def fingerprint():
    """One digest per table (a dict of one per row for SWEPT_TABLES); the
    cards table also without its PIN columns."""
    if not DB_PATH:
        return None
    with _Reader(DB_PATH) as db:
        return _pg_fingerprint(db) if db.postgres else _sqlite_fingerprint(db)


def changed_tables(before, after):
    """The names in two fingerprints whose digests differ; in a swept
    table, only rows added or changed count."""
    changed = []
    for t in sorted(set(before) | set(after)):
        b, a = before.get(t), after.get(t)
        if isinstance(a, dict) and isinstance(b, dict):
            if any(b.get(k) != v for k, v in a.items()):
                changed.append(t)
        elif a != b:
            changed.append(t)
    return changed


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
    """A 4xx answer leaves every table as it was. (What a 2xx answer wrote
    is noted in FUELCARD_ST_ACCEPTED, when set: see `compare`.)"""
    before = _before.pop(id(case), None)
    after = _after.pop(id(case), None)
    if before is None or after is None:
        return None
    if 200 <= response.status_code < 300 and os.environ.get("FUELCARD_ST_ACCEPTED"):
        with open(os.environ["FUELCARD_ST_ACCEPTED"], "a", encoding="utf-8") as f:
            for t in changed_tables(before, after):
                f.write(f"{t}\t{case.method} {getattr(case, 'formatted_path', case.path)}\n")
    if not 400 <= response.status_code < 500:
        return None
    changed = changed_tables(before, after)
    if _code_of(response) in PIN_CODES:
        changed = [t for t in changed if t != "cards"]
    if _code_of(response) in GUESS_CODES:
        changed = [t for t in changed if t != GUESS_TABLE]
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

    def plain(v):
        return v if isinstance(v, (int, float, str)) else str(v)

    with _Reader(db_path) as db:

        def column(sql):
            return [plain(r[0]) for r in db.execute(sql) if r[0] is not None]

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


# PostgreSQL databases of their own for the runs on PostgreSQL, named
# fuelcard_st_<pid of the script>_<random>, created and dropped from the
# server in TEST_DATABASE_URL.
ST_DB_PREFIX = "fuelcard_st_"


def _with_database(url, name):
    """The URL with its database name replaced."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _admin(url):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=30)


def _pg_create(admin_url, owner_pid):
    """Drops what killed runs left behind (their script's process is gone),
    creates a fresh database and prints its URL."""
    import secrets

    from psycopg import sql

    with _admin(admin_url) as conn:
        left = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (ST_DB_PREFIX.replace("_", "\\_") + "%",),
            )
        ]
        for name in left:
            pid = name[len(ST_DB_PREFIX) :].split("_")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        name = f"{ST_DB_PREFIX}{owner_pid}_{secrets.token_hex(6)}"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin_url, name)


def _pg_drop(admin_url, db_url):
    import urllib.parse

    from psycopg import sql

    name = urllib.parse.urlsplit(db_url).path.lstrip("/")
    if not name.startswith(ST_DB_PREFIX):
        raise SystemExit(f"not a database of this script: {name}")
    with _admin(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    # python schemathesis_hooks.py real DB        the real values, as JSON
    # python schemathesis_hooks.py fingerprint DB one digest per table, as JSON
    # python schemathesis_hooks.py compare BEFORE AFTER [ACCEPTED]  fails
    #                                    when a table of two fingerprint files
    #                                    changed, but for those the 2xx answers
    #                                    noted in ACCEPTED wrote
    # python schemathesis_hooks.py pg-create ADMIN_URL PID   a fresh database's URL
    # python schemathesis_hooks.py pg-drop ADMIN_URL DB_URL  drops it again
    # (DB: a SQLite file or a postgres:// URL)
    import sys

    what, path = sys.argv[1], sys.argv[2]
    if what == "real":
        print(json.dumps(_real_values(path), ensure_ascii=False))
    elif what == "fingerprint":
        DB_PATH = path
        print(json.dumps(fingerprint(), indent=1, sort_keys=True))
    elif what == "compare":
        with open(path, encoding="utf-8") as b, open(sys.argv[3], encoding="utf-8") as a:
            changed = changed_tables(json.load(b), json.load(a))
        # A "negative" case schemathesis could not make invalid (a number
        # in the path turned into the same digits as a string, say) is a
        # valid request, answered 2xx, and may write; the tables it wrote
        # are named, not failed. Every refusal is still checked on its own.
        accepted = {}
        if len(sys.argv) > 4 and os.path.exists(sys.argv[4]):
            with open(sys.argv[4], encoding="utf-8") as f:
                for line in f:
                    table, request = line.rstrip("\n").split("\t", 1)
                    accepted.setdefault(table, request)
        for t in changed:
            if t in accepted:
                print(f"{t}: written by an accepted request, e.g. {accepted[t]}")
        changed = [t for t in changed if t not in accepted]
        if changed:
            sys.exit(f"changed: {', '.join(changed)}")
    elif what == "pg-create":
        print(_pg_create(path, sys.argv[3]))
    elif what == "pg-drop":
        _pg_drop(path, sys.argv[3])
    else:
        sys.exit(f"unknown command {what}")
