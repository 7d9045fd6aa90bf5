"""`scripts/bench checkout --preload N`: N historical checkouts, written straight into every
service's tables as the services would have left them after a two-seller checkout was paid,
delivered and released: checkouts, orders, items and history; payments with their orders and
trail, and their counts by status; escrows with their ledger transactions (charge and release),
entries and held balances (the triggers that keep the counts and balances are off while
seeding); notifications (sent); and each service's outbox (published) and inbox rows.
Set-based SQL through psql as the superuser, in batches: a million took 19 minutes on 2 cores.
Standard library only."""

from __future__ import annotations

import subprocess
import time

BATCH = 100_000


def _uuid(expr: str) -> str:
    """A deterministic uuid from a SQL text expression."""
    return f"md5({expr})::uuid"


def _sql(first: int, last: int, listings: list[dict]) -> str:
    """The rows of checkouts first..last (inclusive). Each has two orders of two sellers."""
    a, b = listings[0], listings[1] if len(listings) > 1 else listings[0]
    c = _uuid("'pc' || g")
    o = lambda k: _uuid(f"'po{k}' || g")  # noqa: E731
    p = _uuid("'pp' || g")
    at = "now() - interval '400 days' + g * interval '1 second'"
    # Triggers (the ledger's balance check, foreign keys) are off while seeding: the rows are
    # consistent by construction, and checking a million of them one by one would take an hour.
    parts = ["SET session_replication_role = replica;",
             f"CREATE TEMP TABLE g AS SELECT g FROM generate_series({first}, {last}) g;"]
    parts.append(f"""
INSERT INTO orders.checkouts (id, buyer_id, currency, total_amount, created_at)
  SELECT {c}, 'history-' || (g % 50000), 'usd', 2000, {at} FROM g;""")
    parts.extend(f"""
INSERT INTO orders.orders (id, order_number, checkout_id, buyer_id, buyer_email, seller_id, status, currency,
                           subtotal_amount, total_amount, shipping_address, expires_at, created_at, updated_at)
  SELECT {o(k)}, 'H{k}-' || g, {c}, 'history-' || (g % 50000), 'history@example.test', '{l['seller']}', 'completed', 'usd',
         1000, 1000, '{{"name":"H","line1":"1 Old St","city":"X","postalCode":"1","country":"US"}}', {at}, {at}, {at}
  FROM g;
INSERT INTO orders.order_items (order_id, position, listing_id, title, quantity, unit_price_amount, line_total_amount)
  SELECT {o(k)}, 0, '{l['id']}', 'History item', 1, 1000, 1000 FROM g;
INSERT INTO orders.order_history (order_id, from_status, to_status, actor, created_at)
  SELECT {o(k)}, s.f, s.t, 'history', {at} FROM g,
    (VALUES (NULL, 'pending_payment'), ('pending_payment', 'paid'), ('paid', 'completed')) s(f, t);""" for k, l in ((1, a), (2, b)))
    parts.append(f"""
INSERT INTO payments.payments (id, checkout_id, buyer_id, currency, amount, status, intent_id, charge_id, expires_at, created_at, updated_at)
  SELECT {p}, {c}, 'history-' || (g % 50000), 'usd', 2000, 'succeeded', 'pi_hist_' || g, 'ch_hist_' || g, {at}, {at}, {at} FROM g;
INSERT INTO payments.payment_orders (order_id, payment_id, order_number, seller_id, amount)
  SELECT {o(1)}, {p}, 'H1-' || g, '{a['seller']}', 1000 FROM g
  UNION ALL SELECT {o(2)}, {p}, 'H2-' || g, '{b['seller']}', 1000 FROM g;
INSERT INTO payments.payment_trail (payment_id, kind, created_at) SELECT {p}, 'succeeded', {at} FROM g;
INSERT INTO payments.payment_status_counts (status, slot, count) SELECT 'succeeded', 0, count(*) FROM g
  ON CONFLICT (status, slot) DO UPDATE SET count = payment_status_counts.count + EXCLUDED.count;""")
    for k, l in ((1, a), (2, b)):
        e, jc, jr = _uuid(f"'pe{k}' || g"), _uuid(f"'pjc{k}' || g"), _uuid(f"'pjr{k}' || g")
        parts.append(f"""
INSERT INTO escrow.escrows (id, order_id, payment_id, checkout_id, charge_id, buyer_id, seller_id, currency,
                            gross_amount, fee_amount, net_amount, status, created_at, updated_at)
  SELECT {e}, {o(k)}, {p}, {c}, 'ch_hist_' || g, 'history-' || (g % 50000), '{l['seller']}', 'usd', 1000, 100, 900,
         'released', {at}, {at} FROM g;
INSERT INTO escrow.journal_transactions (id, memo, source, created_at)
  SELECT {jc}, 'history charge', 'history-charge-{k}-' || g, {at} FROM g
  UNION ALL SELECT {jr}, 'history release', 'history-release-{k}-' || g, {at} FROM g;
INSERT INTO escrow.journal_entries (transaction_id, account, amount, currency)
  SELECT {jc}, 'gateway_clearing', 1000, 'usd' FROM g
  UNION ALL SELECT {jc}, 'escrow_held:' || {e}::text, -1000, 'usd' FROM g
  UNION ALL SELECT {jr}, 'escrow_held:' || {e}::text, 1000, 'usd' FROM g
  UNION ALL SELECT {jr}, 'seller_available:{l['seller']}', -900, 'usd' FROM g
  UNION ALL SELECT {jr}, 'platform_fees', -100, 'usd' FROM g;
INSERT INTO escrow.escrow_held_balances (account, currency, balance)
  SELECT 'escrow_held:' || {e}::text, 'usd', 0 FROM g;""")
    for schema, consumer, kinds in (("orders", "order-service", 3), ("payments", "payment-service", 1),
                                    ("escrow", "escrow-service", 4), ("notifications", "notification-service", 6)):
        parts.append(f"""
INSERT INTO {schema}.inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset, handled_at)
  SELECT '{consumer}', {_uuid(f"'pi{schema}' || k || '-' || g")}, 'history', 'history.events', 0, g, {at}
  FROM g, generate_series(1, {kinds}) k;
INSERT INTO {schema}.outbox (event_id, topic, message_key, event_type, correlation_id, envelope, created_at, published_at)
  SELECT {_uuid(f"'pob{schema}' || k || '-' || g")}, 'history.events', g::text, 'history', 'history',
         '\\x7b7d'::bytea, {at}, {at}
  FROM g, generate_series(1, 2) k;""")
    parts.append(f"""
INSERT INTO notifications.notifications (id, idempotency_key, kind, audience, recipient_id, recipient_email, subject,
                                         text_body, html_body, message_id, status, attempts, sent_at, source_event_id, created_at)
  SELECT {_uuid("'pn' || k || '-' || g")}, 'history-' || k || '-' || g, 'history', 'buyer', 'history-' || (g % 50000),
         'history@example.test', 'Your order', 'Thank you for your order.', '<p>Thank you for your order.</p>',
         'history-' || k || '-' || g || '@escrowmarket.test', 'sent', 1, {at}, {_uuid("'pns' || g")}, {at}
  FROM g, generate_series(1, 4) k;
DROP TABLE g;""")
    return "BEGIN;\n" + "\n".join(parts) + "\nCOMMIT;\n"


def psql(env, sql: str, timeout: float = 3600) -> None:
    """Runs SQL (several statements) as the superuser; SystemExit when it fails."""
    proc = subprocess.run(
        [str(env.pg_bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(env.pg_port),
         "-U", "postgres", "-d", "escrowmarket"],
        input=sql, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"psql failed: {proc.stderr.strip()[:2000]}")


def preload(db, count: int, listings: list[dict]) -> float:
    """Seeds `count` historical checkouts; returns the seconds it took. `db` is chaos_stack.Database."""
    started = time.monotonic()
    env = db.env
    for first in range(1, count + 1, BATCH):
        last = min(count, first + BATCH - 1)
        psql(env, _sql(first, last, listings))
    psql(env, "VACUUM ANALYZE")
    return time.monotonic() - started
