"""The chaos run's checks of the money in the escrow ledger and the wallets: every transaction and
currency balances, each escrow's gross went where its state says, the balances and counts the
tables keep for the gauges equal what they keep them of, and store credit held matches its holds.
`MoneyChecks` is part of `chaos_checks.Checks`, whose `db` and `none` it uses."""

from __future__ import annotations

# The payment statuses that mean the buyer paid.
PAID = "('succeeded', 'partially_refunded', 'refunded')"


class MoneyChecks:
    def ledger(self) -> None:
        self.none(
            "the ledger balances per currency (and per journal transaction)",
            """SELECT 'ledger' AS scope, currency, sum(amount)::bigint AS sum FROM escrow.journal_entries GROUP BY currency HAVING sum(amount) <> 0
               UNION ALL
               SELECT transaction_id::text, currency, sum(amount)::bigint FROM escrow.journal_entries
               GROUP BY transaction_id, currency HAVING sum(amount) <> 0""",
            "SELECT count(*) FROM escrow.journal_transactions", "journal transactions")
        self.none(
            "the held balances the ledger keeps (the held gauge's) are its entries' sums",
            """SELECT account, currency, b.balance AS kept, e.balance AS entries FROM escrow.escrow_held_balances b
               FULL JOIN (SELECT account, currency, sum(amount)::bigint AS balance FROM escrow.journal_entries
                          WHERE account LIKE 'escrow\\_held:%' GROUP BY account, currency) e USING (account, currency)
               WHERE b.balance IS DISTINCT FROM e.balance""",
            "SELECT count(*) FROM escrow.escrow_held_balances", "held accounts")
        for table, counts in (("payments.payments", "payments.payment_status_counts"), ("escrow.payouts", "escrow.payout_status_counts")):
            what = table.split(".")[1]
            self.none(
                f"the {what}' counts by status that the table keeps (the {what} gauge's) are its counts",
                f"""SELECT status, k.n AS kept, t.n AS counted
                    FROM (SELECT status, sum(count)::bigint AS n FROM {counts} GROUP BY status HAVING sum(count) <> 0) k
                    FULL JOIN (SELECT status, count(*)::bigint AS n FROM {table} GROUP BY status) t USING (status)
                    WHERE k.n IS DISTINCT FROM t.n""",
                f"SELECT count(*) FROM {table}", what)
        # Where each escrow's gross went, from the ledger (held, and what came back after release) and
        # from the escrow row (released, refunded).
        flows = """
            SELECT e.id, e.order_id, e.status, e.gross_amount AS gross, e.released_gross, e.refunded_amount, e.reversed_amount,
                coalesce((SELECT -sum(j.amount) FROM escrow.journal_entries j WHERE j.account = 'escrow_held:' || e.id::text), 0) AS held,
                coalesce((SELECT -sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'escrow_held:' || e.id::text AND t.source LIKE 'rehold:%'), 0) AS reheld,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'escrow_held:' || e.id::text AND t.source LIKE 'chargeback-lost:%'), 0) AS charged_back,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'refund_losses' AND t.source IN (
                              SELECT r.source FROM escrow.journal_transactions r
                              WHERE r.source LIKE 'refund:%' AND r.memo = 'escrow ' || e.id::text || ' refunded to the buyer'
                              UNION ALL  -- a refund that failed after it succeeded is mirrored: what it had lost comes back
                              SELECT 'refund-returned:' || substr(r.source, 8) FROM escrow.journal_transactions r
                              WHERE r.source LIKE 'refund:%' AND r.memo = 'escrow ' || e.id::text || ' refunded to the buyer')), 0) AS uncovered,
                coalesce((SELECT sum(j.amount) FROM escrow.journal_entries j JOIN escrow.journal_transactions t ON t.id = j.transaction_id
                          WHERE j.account = 'seller_available:' || e.seller_id AND j.amount > 0
                            AND (t.source LIKE 'rehold:' || e.id::text || ':%' OR t.source LIKE 'chargeback:%:' || e.id::text)), 0) AS ledger_reversed
            FROM escrow.escrows e"""
        self.none(
            "per escrow: held + released + refunded = gross (+ what came back after release); held never negative",
            f"""SELECT * FROM ({flows}) f
                WHERE held + released_gross + refunded_amount + charged_back <> gross + reheld + uncovered OR held < 0""",
            "SELECT count(*) FROM escrow.escrows", "escrows")
        self.none(
            "per escrow: transfer reversals in the ledger equal reversed_amount",
            f"SELECT id, reversed_amount, ledger_reversed FROM ({flows}) f WHERE reversed_amount <> ledger_reversed",
            "SELECT count(*) FROM escrow.escrows", "escrows")
        self.none(
            "each release booked once: held → fee + seller available, as the escrow says",
            """SELECT e.id, e.status, e.released_gross, e.released_fee, e.released_net, count(t.id) AS release_transactions,
                      sum(j.amount) FILTER (WHERE j.account = 'escrow_held:' || e.id::text) AS ledger_gross,
                      -sum(j.amount) FILTER (WHERE j.account = 'platform_fees') AS ledger_fee,
                      -sum(j.amount) FILTER (WHERE j.account = 'seller_available:' || e.seller_id) AS ledger_net
               FROM escrow.escrows e
               LEFT JOIN escrow.journal_transactions t ON t.source = 'release:' || e.id::text
               LEFT JOIN escrow.journal_entries j ON j.transaction_id = t.id
               GROUP BY e.id
               HAVING (e.released_gross > 0) <> (count(DISTINCT t.id) = 1) OR e.released_fee + e.released_net <> e.released_gross
                   OR (e.released_gross > 0 AND (sum(j.amount) FILTER (WHERE j.account = 'escrow_held:' || e.id::text) <> e.released_gross
                       OR coalesce(-sum(j.amount) FILTER (WHERE j.account = 'platform_fees'), 0) <> e.released_fee
                       OR coalesce(-sum(j.amount) FILTER (WHERE j.account = 'seller_available:' || e.seller_id), 0) <> e.released_net))""",
            "SELECT count(*) FROM escrow.escrows WHERE released_gross > 0", "released escrows")
        self.none(
            "refunds never exceed the charge (per payment and per order), and both services agree on them",
            """WITH r AS (SELECT order_id, sum(amount) FILTER (WHERE status = 'succeeded') AS ok,
                                 sum(amount) FILTER (WHERE status <> 'failed') AS promised
                          FROM payments.refunds GROUP BY order_id)
               SELECT 'payment' AS scope, p.id::text AS ref, p.amount, p.amount_refunded, sum(rf.amount) AS refunds, NULL::bigint AS escrow_refunded
               FROM payments.payments p JOIN payments.refunds rf ON rf.payment_id = p.id AND rf.status = 'succeeded'
               GROUP BY p.id HAVING sum(rf.amount) > p.amount OR sum(rf.amount) <> p.amount_refunded
               UNION ALL
               SELECT 'order', po.order_id::text, po.amount, coalesce(r.ok, 0), coalesce(r.promised, 0), e.refunded_amount
               FROM payments.payment_orders po LEFT JOIN r ON r.order_id = po.order_id
               LEFT JOIN escrow.escrows e ON e.order_id = po.order_id
               WHERE coalesce(r.promised, 0) > po.amount OR coalesce(e.refunded_amount, 0) <> coalesce(r.ok, 0)
                  OR coalesce(e.refunded_amount, 0) > coalesce(e.gross_amount, 0)""",
            "SELECT count(*) FROM payments.refunds", "refunds")
        self.none(
            "payouts never exceed what became available; in-transit and paid-out balances match the payouts",
            """WITH s AS (SELECT seller_id, sum(released_net - reversed_amount) AS earned FROM escrow.escrows GROUP BY seller_id),
                    p AS (SELECT seller_id, sum(amount) FILTER (WHERE status <> 'failed') AS out,
                                 coalesce(sum(amount) FILTER (WHERE status IN ('pending', 'in_transit')), 0) AS transit,
                                 coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0) AS paid
                          FROM escrow.payouts GROUP BY seller_id),
                    l AS (SELECT split_part(account, ':', 1) AS kind, substr(account, strpos(account, ':') + 1) AS seller_id,
                                 -sum(amount) AS balance
                          FROM escrow.journal_entries WHERE account LIKE 'seller_%' GROUP BY account)
               SELECT p.seller_id, coalesce(s.earned, 0) AS earned, p.out, p.transit, p.paid,
                      (SELECT balance FROM l WHERE l.kind = 'seller_available' AND l.seller_id = p.seller_id) AS available,
                      (SELECT balance FROM l WHERE l.kind = 'seller_in_transit' AND l.seller_id = p.seller_id) AS ledger_transit,
                      (SELECT balance FROM l WHERE l.kind = 'seller_paid_out' AND l.seller_id = p.seller_id) AS ledger_paid
               FROM p LEFT JOIN s ON s.seller_id = p.seller_id
               WHERE p.out > coalesce(s.earned, 0)
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_available' AND l.seller_id = p.seller_id), 0) < 0
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_in_transit' AND l.seller_id = p.seller_id), 0) <> p.transit
                  OR coalesce((SELECT balance FROM l WHERE l.kind = 'seller_paid_out' AND l.seller_id = p.seller_id), 0) <> p.paid""",
            "SELECT count(*) FROM escrow.payouts", "payouts")

    def wallets(self) -> None:
        self.none(
            "no buyer wallet ever below zero (its running balance, entry by entry)",
            """SELECT account, currency, max(running) AS most_overdrawn FROM (
                   SELECT account, currency, sum(amount) OVER (PARTITION BY account, currency ORDER BY id) AS running
                   FROM escrow.journal_entries WHERE account LIKE 'buyer_wallet:%') w
               GROUP BY account, currency HAVING max(running) > 0""",
            "SELECT count(DISTINCT account) FROM escrow.journal_entries WHERE account LIKE 'buyer_wallet:%'", "wallets")
        self.none(
            "store credit: each payment's hold is what it spent; spent when it succeeded, back in the wallet when it did not; "
            "held credit in the ledger is the holds still open",
            f"""SELECT h.payment_id, h.amount AS hold, h.status AS hold_status, p.wallet_amount, p.status AS payment_status,
                      (SELECT coalesce(sum(e.wallet_amount), 0) FROM escrow.escrows e WHERE e.payment_id = h.payment_id) AS in_escrows,
                      (SELECT coalesce(-sum(j.amount), 0) FROM escrow.journal_entries j
                       WHERE j.account = 'wallet_held:' || h.payment_id::text) AS ledger_held
               FROM escrow.wallet_holds h LEFT JOIN payments.payments p ON p.id = h.payment_id
               WHERE p.id IS NULL OR p.wallet_amount IS DISTINCT FROM h.amount
                  OR (p.status IN {PAID} AND (h.status <> 'spent' OR (SELECT coalesce(sum(e.wallet_amount), 0) FROM escrow.escrows e
                                                                      WHERE e.payment_id = h.payment_id) <> h.amount))
                  OR (p.status IN ('failed', 'cancelled') AND h.status <> 'returned')
                  OR (SELECT coalesce(-sum(j.amount), 0) FROM escrow.journal_entries j WHERE j.account = 'wallet_held:' || h.payment_id::text)
                     <> CASE WHEN h.status = 'held' THEN h.amount ELSE 0 END""",
            "SELECT count(*) FROM escrow.wallet_holds", "wallet holds")
