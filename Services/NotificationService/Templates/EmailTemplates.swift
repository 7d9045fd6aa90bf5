/// The Mustache source of every email: a subject, a plain-text body and an HTML body per kind,
/// plus shared partials. Text templates declare `CONTENT_TYPE: TEXT` so nothing is HTML-escaped
/// in them; HTML templates escape every `{{value}}`.
enum EmailTemplates {
    struct Source {
        var subject: String
        var text: String
        var html: String
    }

    static let partials: [String: String] = [
        "items_text": """
            {{% CONTENT_TYPE: TEXT}}{{#order.items}}
              {{quantity}} × {{title}} @ {{unitPrice}} = {{lineTotal}}{{/order.items}}
              Total: {{order.total}}
            """,
        "items_html": """
            <table cellpadding="4" style="border-collapse:collapse">
            <tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Price</th><th align="right">Amount</th></tr>
            {{#order.items}}<tr><td>{{title}}</td><td align="right">{{quantity}}</td><td align="right">{{unitPrice}}</td><td align="right">{{lineTotal}}</td></tr>
            {{/order.items}}<tr><td colspan="3" align="right"><strong>Total</strong></td><td align="right"><strong>{{order.total}}</strong></td></tr>
            </table>
            """,
        "layout_text": """
            {{% CONTENT_TYPE: TEXT}}{{{body}}}

            --
            {{platformName}}, {{platformAddress}}
            """,
        "layout_html": """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>{{subject}}</title></head>
            <body style="font-family:Helvetica,Arial,sans-serif;color:#222">
            {{{body}}}
            <hr><p style="color:#777;font-size:12px">{{platformName}}, {{platformAddress}}</p>
            </body></html>
            """,
    ]

    static let sources: [EmailKind: Source] = [
        .orderConfirmation: Source(
            subject: "Order {{order.orderNumber}} confirmed",
            text: """
                Thank you for your order {{order.orderNumber}}.
                {{> items_text}}

                We will email your receipt once the payment goes through.
                Your order: {{order.url}}
                """,
            html: """
                <h1>Order {{order.orderNumber}} confirmed</h1>
                <p>Thank you for your order.</p>
                {{> items_html}}
                <p>We will email your receipt once the payment goes through. <a href="{{order.url}}">View your order</a></p>
                """),
        .paymentReceipt: Source(
            subject: "Receipt {{receipt.number}} for your payment of {{receipt.total}}",
            text: """
                Thank you for your payment of {{receipt.total}}.
                Receipt {{receipt.number}}
                {{#orders}}

                Order {{orderNumber}}:{{#items}}
                  {{quantity}} × {{title}} @ {{unitPrice}} = {{lineTotal}}{{/items}}
                  Order total: {{total}}{{/orders}}

                Paid: {{receipt.total}}
                Receipt (PDF): {{receipt.pdfUrl}}
                """,
            html: """
                <h1>Receipt {{receipt.number}}</h1>
                <p>Thank you for your payment of <strong>{{receipt.total}}</strong>.</p>
                {{#orders}}<h2>Order {{orderNumber}}</h2>
                <table cellpadding="4" style="border-collapse:collapse">
                {{#items}}<tr><td>{{title}}</td><td align="right">{{quantity}}</td><td align="right">{{unitPrice}}</td><td align="right">{{lineTotal}}</td></tr>
                {{/items}}<tr><td colspan="3" align="right">Order total</td><td align="right">{{total}}</td></tr></table>
                {{/orders}}
                <p><strong>Paid: {{receipt.total}}</strong></p>
                <p><a href="{{receipt.pdfUrl}}">Download the receipt (PDF)</a></p>
                """),
        .paymentFailed: Source(
            subject: "Your payment of {{amount}} did not go through",
            text: """
                Your payment of {{amount}} did not go through: {{reason}}.
                {{#orders}}Order {{orderNumber}} ({{total}}) was not paid.
                {{/orders}}
                You can place the order again with another payment method: {{link}}
                """,
            html: """
                <h1>Your payment did not go through</h1>
                <p>Your payment of <strong>{{amount}}</strong> did not go through: {{reason}}.</p>
                <ul>{{#orders}}<li>Order {{orderNumber}} ({{total}}) was not paid.</li>{{/orders}}</ul>
                <p><a href="{{link}}">Try again with another payment method</a></p>
                """),
        .orderShipped: Source(
            subject: "Order {{order.orderNumber}} has shipped",
            text: """
                Your order {{order.orderNumber}} is on its way.
                Carrier: {{order.carrier}}
                Tracking number: {{order.trackingNumber}}
                {{> items_text}}
                {{#autoConfirm}}

                Delivery will be confirmed automatically on {{autoConfirm}} unless you tell us otherwise.{{/autoConfirm}}
                Your order: {{order.url}}
                """,
            html: """
                <h1>Order {{order.orderNumber}} has shipped</h1>
                <p>Carrier: <strong>{{order.carrier}}</strong><br>Tracking number: <strong>{{order.trackingNumber}}</strong></p>
                {{> items_html}}
                {{#autoConfirm}}<p>Delivery will be confirmed automatically on {{autoConfirm}} unless you tell us otherwise.</p>{{/autoConfirm}}
                <p><a href="{{order.url}}">View your order</a></p>
                """),
        .deliveryConfirmed: Source(
            subject: "Delivery of order {{order.orderNumber}} confirmed",
            text: """
                Delivery of your order {{order.orderNumber}} ({{order.total}}) is confirmed.
                The payment is now released to the seller. Thank you for shopping with us.
                Your order: {{order.url}}
                """,
            html: """
                <h1>Delivery confirmed</h1>
                <p>Delivery of your order {{order.orderNumber}} ({{order.total}}) is confirmed. The payment is now released to the seller.</p>
                <p><a href="{{order.url}}">View your order</a></p>
                """),
        .refundIssued: Source(
            subject: "Refund of {{amount}} for order {{order.orderNumber}}",
            text: """
                We refunded {{amount}} for your order {{order.orderNumber}}.
                It can take 5–10 business days to appear on your statement.
                {{#receipt}}Your updated receipt {{number}}: {{pdfUrl}}{{/receipt}}
                """,
            html: """
                <h1>Refund issued</h1>
                <p>We refunded <strong>{{amount}}</strong> for your order {{order.orderNumber}}. It can take 5–10 business days to appear on your statement.</p>
                {{#receipt}}<p><a href="{{pdfUrl}}">Your updated receipt {{number}}</a></p>{{/receipt}}
                """),
        .disputeOpenedBuyer: Source(
            subject: "Your dispute on order {{order.orderNumber}} is open",
            text: """
                We received your dispute on order {{order.orderNumber}}: {{reason}}.
                The payment stays in escrow until our team decides. We will email you the outcome.
                Your order: {{order.url}}
                """,
            html: """
                <h1>Dispute opened</h1>
                <p>We received your dispute on order {{order.orderNumber}}: {{reason}}.</p>
                <p>The payment stays in escrow until our team decides. <a href="{{order.url}}">View your order</a></p>
                """),
        .disputeResolvedBuyer: Source(
            subject: "Your dispute on order {{order.orderNumber}} is resolved",
            text: """
                Your dispute on order {{order.orderNumber}} is resolved ({{outcome}}).
                Refunded to you: {{refundAmount}}
                Released to the seller: {{releaseAmount}}
                {{#note}}Note: {{note}}{{/note}}
                """,
            html: """
                <h1>Dispute resolved</h1>
                <p>Your dispute on order {{order.orderNumber}} is resolved (<strong>{{outcome}}</strong>).</p>
                <p>Refunded to you: {{refundAmount}}<br>Released to the seller: {{releaseAmount}}</p>
                {{#note}}<p>Note: {{note}}</p>{{/note}}
                """),
        .confirmDeliveryReminder: Source(
            subject: "Did order {{order.orderNumber}} arrive?",
            text: """
                Your order {{order.orderNumber}} was shipped with {{order.carrier}} ({{order.trackingNumber}}).
                If it has arrived, please confirm delivery. If there is a problem, open a dispute before {{autoConfirm}}:
                after that, delivery is confirmed automatically and the payment goes to the seller.
                Confirm or report a problem: {{order.url}}
                """,
            html: """
                <h1>Did your order arrive?</h1>
                <p>Your order {{order.orderNumber}} was shipped with {{order.carrier}} ({{order.trackingNumber}}).</p>
                <p>If there is a problem, open a dispute before <strong>{{autoConfirm}}</strong>: after that, delivery is confirmed automatically.</p>
                <p><a href="{{order.url}}">Confirm delivery or report a problem</a></p>
                """),
        .newPaidOrder: Source(
            subject: "New paid order {{order.orderNumber}}: please ship it",
            text: """
                Order {{order.orderNumber}} is paid. Please ship it.
                {{> items_text}}

                Ship to:
                  {{shipTo.name}}
                  {{shipTo.line1}}{{#shipTo.line2}}, {{shipTo.line2}}{{/shipTo.line2}}
                  {{shipTo.postalCode}} {{shipTo.city}}, {{shipTo.country}}

                Mark it shipped with the carrier and tracking number: {{order.url}}
                """,
            html: """
                <h1>New paid order {{order.orderNumber}}</h1>
                <p>The order is paid. Please ship it.</p>
                {{> items_html}}
                <p>Ship to:<br>{{shipTo.name}}<br>{{shipTo.line1}}{{#shipTo.line2}}, {{shipTo.line2}}{{/shipTo.line2}}<br>{{shipTo.postalCode}} {{shipTo.city}}, {{shipTo.country}}</p>
                <p><a href="{{order.url}}">Mark it shipped</a></p>
                """),
        .shipReminder: Source(
            subject: "Reminder: order {{order.orderNumber}} is waiting to be shipped",
            text: """
                Order {{order.orderNumber}} ({{order.total}}) was paid but is not shipped yet.
                Please ship it and add the tracking number: {{order.url}}
                """,
            html: """
                <h1>Order {{order.orderNumber}} is waiting to be shipped</h1>
                <p>The order ({{order.total}}) was paid but is not shipped yet.</p>
                <p><a href="{{order.url}}">Ship it and add the tracking number</a></p>
                """),
        .escrowReleased: Source(
            subject: "{{net}} released to you for order {{order.orderNumber}}",
            text: """
                The funds for order {{order.orderNumber}} are released to your account.
                  Order amount: {{gross}}
                  Platform fee: {{fee}}
                  Paid to you:  {{net}}
                They will reach your bank with your next payout.
                """,
            html: """
                <h1>Funds released</h1>
                <p>The funds for order {{order.orderNumber}} are released to your account.</p>
                <table cellpadding="4"><tr><td>Order amount</td><td align="right">{{gross}}</td></tr>
                <tr><td>Platform fee</td><td align="right">{{fee}}</td></tr>
                <tr><td><strong>Paid to you</strong></td><td align="right"><strong>{{net}}</strong></td></tr></table>
                """),
        .payoutSent: Source(
            subject: "Payout of {{amount}} sent",
            text: """
                Your payout of {{amount}} is on its way to your bank account.
                Payout reference: {{payoutId}}
                """,
            html: """
                <h1>Payout sent</h1>
                <p>Your payout of <strong>{{amount}}</strong> is on its way to your bank account.</p>
                <p>Payout reference: {{payoutId}}</p>
                """),
        .payoutFailed: Source(
            subject: "Payout of {{amount}} failed",
            text: """
                Your payout of {{amount}} failed: {{reason}}.
                The money is back in your balance. Please check your bank details: {{link}}
                """,
            html: """
                <h1>Payout failed</h1>
                <p>Your payout of <strong>{{amount}}</strong> failed: {{reason}}.</p>
                <p>The money is back in your balance. <a href="{{link}}">Check your bank details</a></p>
                """),
        .onboardingIncomplete: Source(
            subject: "Finish setting up your seller account",
            text: """
                Your seller account cannot receive payouts yet.{{#hasDue}} The payment provider still needs:{{/hasDue}}
                {{#due}}  - {{.}}
                {{/due}}
                Finish onboarding: {{link}}
                """,
            html: """
                <h1>Finish setting up your seller account</h1>
                <p>Your seller account cannot receive payouts yet.</p>
                {{#hasDue}}<p>The payment provider still needs:</p>{{/hasDue}}<ul>{{#due}}<li>{{.}}</li>{{/due}}</ul>
                <p><a href="{{link}}">Finish onboarding</a></p>
                """),
        .disputeOpenedSeller: Source(
            subject: "A dispute was opened on order {{order.orderNumber}}",
            text: """
                The buyer opened a dispute on order {{order.orderNumber}}: {{reason}}.
                {{#description}}"{{description}}"
                {{/description}}The funds stay in escrow until our team decides. You can respond here: {{order.url}}
                """,
            html: """
                <h1>Dispute opened</h1>
                <p>The buyer opened a dispute on order {{order.orderNumber}}: {{reason}}.</p>
                {{#description}}<blockquote>{{description}}</blockquote>{{/description}}
                <p>The funds stay in escrow until our team decides. <a href="{{order.url}}">Respond</a></p>
                """),
        .disputeResolvedSeller: Source(
            subject: "The dispute on order {{order.orderNumber}} is resolved",
            text: """
                The dispute on order {{order.orderNumber}} is resolved ({{outcome}}).
                Released to you (before the fee): {{releaseAmount}}
                Refunded to the buyer: {{refundAmount}}
                {{#note}}Note: {{note}}{{/note}}
                """,
            html: """
                <h1>Dispute resolved</h1>
                <p>The dispute on order {{order.orderNumber}} is resolved (<strong>{{outcome}}</strong>).</p>
                <p>Released to you (before the fee): {{releaseAmount}}<br>Refunded to the buyer: {{refundAmount}}</p>
                {{#note}}<p>Note: {{note}}</p>{{/note}}
                """),
        .adminDisputeOpened: Source(
            subject: "New dispute on order {{order.orderNumber}}",
            text: """
                A dispute was opened on order {{order.orderNumber}} ({{order.total}}).
                Reason: {{reason}}
                {{#description}}Description: {{description}}
                {{/description}}Dispute: {{disputeId}}
                Review it: {{link}}
                """,
            html: """
                <h1>New dispute</h1>
                <p>Order {{order.orderNumber}} ({{order.total}}). Reason: {{reason}}.</p>
                {{#description}}<blockquote>{{description}}</blockquote>{{/description}}
                <p>Dispute {{disputeId}}. <a href="{{link}}">Review it</a></p>
                """),
        .adminChargeback: Source(
            subject: "Chargeback of {{amount}} on payment {{paymentId}}",
            text: """
                A chargeback was opened on charge {{chargeId}} (payment {{paymentId}}).
                Amount: {{amount}}
                Reason: {{reason}}
                Status: {{status}}
                Orders:{{#orders}}
                  {{orderNumber}} ({{amount}}){{/orders}}
                Respond before the deadline in the gateway's dashboard.
                """,
            html: """
                <h1>Chargeback opened</h1>
                <p>Charge {{chargeId}} (payment {{paymentId}}): <strong>{{amount}}</strong>, reason {{reason}}, status {{status}}.</p>
                <ul>{{#orders}}<li>Order {{orderNumber}} ({{amount}})</li>{{/orders}}</ul>
                """),
        .adminReconciliation: Source(
            subject: "Reconciliation found {{count}} discrepancies",
            text: """
                Reconciliation run {{runId}} checked {{checked}} records and found {{count}} discrepancies:
                {{#discrepancies}}  - {{kind}} {{reference}}: expected {{expected}}, found {{actual}}
                {{/discrepancies}}
                """,
            html: """
                <h1>Reconciliation discrepancies</h1>
                <p>Run {{runId}} checked {{checked}} records and found {{count}} discrepancies.</p>
                <table cellpadding="4"><tr><th>Kind</th><th>Reference</th><th>Expected</th><th>Found</th></tr>
                {{#discrepancies}}<tr><td>{{kind}}</td><td>{{reference}}</td><td>{{expected}}</td><td>{{actual}}</td></tr>{{/discrepancies}}
                </table>
                """),
    ]
}
