import EventContracts
import Foundation
import Hummingbird

/// A receipt as clients see it (JSON) and as it is printed (PDF lines).
struct ReceiptDocument: Encodable, ResponseEncodable, Sendable {
    struct Line: Encodable, Sendable {
        var orderId: UUID
        var orderNumber: String?
        var title: String
        var quantity: Int
        var unitPriceAmount: Int64
        var lineTotalAmount: Int64
    }

    struct OrderPart: Encodable, Sendable {
        var orderId: UUID
        var orderNumber: String?
        var sellerId: String
        var amount: Int64
    }

    struct Refund: Encodable, Sendable {
        var refundId: UUID
        var orderId: UUID
        var amount: Int64
        var refundedAt: Date
    }

    struct Platform: Encodable, Sendable {
        var name: String
        var address: String
    }

    struct Formatted: Encodable, Sendable {
        var total: String
        var refunded: String
        var net: String
    }

    var id: UUID
    var receiptNumber: String
    var paymentId: UUID
    var checkoutId: UUID
    var buyerId: String?
    var issuedAt: Date
    var currency: String
    var lines: [Line]
    var orders: [OrderPart]
    var totalAmount: Int64
    var refunds: [Refund]
    var refundedAmount: Int64
    var netAmount: Int64
    var platform: Platform
    var formatted: Formatted

    init(_ receipt: Receipt, platform: Platform) {
        id = receipt.id
        receiptNumber = receipt.receiptNumber
        paymentId = receipt.paymentId
        checkoutId = receipt.checkoutId
        buyerId = receipt.buyerId
        issuedAt = receipt.issuedAt
        currency = receipt.currency
        lines = receipt.orders.flatMap { part in
            (part.projected?.items ?? []).map {
                Line(
                    orderId: part.orderId, orderNumber: part.projected?.orderNumber, title: $0.title, quantity: $0.quantity,
                    unitPriceAmount: $0.unitPriceAmount, lineTotalAmount: $0.lineTotalAmount)
            }
        }
        orders = receipt.orders.map {
            OrderPart(orderId: $0.orderId, orderNumber: $0.projected?.orderNumber, sellerId: $0.sellerId, amount: $0.amount)
        }
        totalAmount = receipt.totalAmount
        refunds = receipt.refunds.map { Refund(refundId: $0.refundId, orderId: $0.orderId, amount: $0.amount, refundedAt: $0.refundedAt) }
        refundedAmount = receipt.refundedAmount
        netAmount = receipt.netAmount
        self.platform = platform
        formatted = Formatted(
            total: MoneyFormat.format(receipt.totalAmount, receipt.currency),
            refunded: MoneyFormat.format(receipt.refundedAmount, receipt.currency),
            net: MoneyFormat.format(receipt.netAmount, receipt.currency))
    }

    /// The printed receipt: platform, number and date, each order with its lines, totals, refunds.
    var pdfLines: [PDFLine] {
        let money = { (amount: Int64) in MoneyFormat.format(amount, currency, forPDF: true) }
        var lines = [
            PDFLine(text: platform.name, size: 18, bold: true),
            PDFLine(text: platform.address, size: 10),
            PDFLine(text: "Receipt \(receiptNumber)", size: 14, bold: true, gap: 18),
            PDFLine(text: "Issued: \(EmailModels.date(issuedAt))", size: 10),
            PDFLine(text: "Payment: \(paymentId.uuidString.lowercased())", size: 10),
        ]
        for part in orders {
            lines.append(PDFLine(text: "Order \(part.orderNumber ?? part.orderId.uuidString.lowercased())", bold: true, gap: 12))
            for line in self.lines where line.orderId == part.orderId {
                lines.append(PDFLine(text: "\(line.quantity) x \(line.title) @ \(money(line.unitPriceAmount)) = \(money(line.lineTotalAmount))"))
            }
            lines.append(PDFLine(text: "Order total: \(money(part.amount))"))
        }
        lines.append(PDFLine(text: "Total paid: \(money(totalAmount))", size: 12, bold: true, gap: 14))
        for refund in refunds {
            lines.append(PDFLine(text: "Refund \(EmailModels.date(refund.refundedAt)): -\(money(refund.amount))"))
        }
        if !refunds.isEmpty {
            lines.append(PDFLine(text: "Refunded: \(money(refundedAmount))", bold: true))
            lines.append(PDFLine(text: "Net paid: \(money(netAmount))", size: 12, bold: true))
        }
        lines.append(PDFLine(text: "Thank you for your purchase.", size: 10, gap: 18))
        return lines
    }
}
