import EventContracts
import Foundation
import Testing

@testable import NotificationService

@Suite struct EmailRendererTests {
    let renderer = try! EmailRenderer(platformName: "EscrowMarket", platformAddress: "1 Market Street")
    let models = EmailModels(linkBaseURL: "https://shop.test")

    var order: ProjectedOrder {
        ProjectedOrder(
            id: UUID(uuidString: "6f1c0a52-0000-4000-8000-000000000001")!, orderNumber: "EM-1001", checkoutId: UUID(),
            buyerId: "b", sellerId: "s", status: "shipped", currency: "eur", subtotalAmount: 4_250, totalAmount: 4_250,
            items: [OrderLine(listingId: UUID(), title: "Mugs <Set> & Co", quantity: 2, unitPriceAmount: 2_125, lineTotalAmount: 4_250)],
            shippingAddress: ShippingAddress(name: "Ada", line1: "1 Main St", line2: nil, city: "Springfield", postalCode: "1", country: "de"),
            carrier: "DHL", trackingNumber: "JJD000123", autoConfirmAt: nil)
    }

    @Test func theShippedEmailNamesCarrierTrackingAndItems() throws {
        let email = try renderer.render(.orderShipped, ["order": models.order(order), "autoConfirm": "2026-12-01 10:00 UTC"])
        #expect(email.subject == "Order EM-1001 has shipped")
        #expect(email.text.contains("Carrier: DHL"))
        #expect(email.text.contains("Tracking number: JJD000123"))
        #expect(email.text.contains("2 × Mugs <Set> & Co @ €21.25 = €42.50"))
        #expect(email.text.contains("https://shop.test/orders/6f1c0a52-0000-4000-8000-000000000001"))
        #expect(email.text.hasSuffix("EscrowMarket, 1 Market Street"))
        // HTML escapes what came from users; text does not.
        #expect(email.html.contains("<td>Mugs &lt;Set&gt; &amp; Co</td>"))
        #expect(email.html.contains("<strong>JJD000123</strong>"))
        #expect(email.html.hasPrefix("<!DOCTYPE html>"))
    }

    @Test func escrowReleaseShowsFeeAndNet() throws {
        let email = try renderer.render(
            .escrowReleased, ["order": models.order(order), "gross": "€42.50", "fee": "€2.13", "net": "€40.37"])
        #expect(email.subject == "€40.37 released to you for order EM-1001")
        #expect(email.text.contains("Platform fee: €2.13"))
        #expect(email.html.contains("<strong>€40.37</strong>"))
    }

    @Test func everyKindRendersASubjectAndBothBodies() throws {
        for kind in EmailKind.allCases {
            let email = try renderer.render(kind, ["order": models.order(order)])
            #expect(!email.subject.isEmpty, "\(kind)")
            #expect(email.html.contains("</html>"), "\(kind)")
            #expect(email.text.contains("EscrowMarket"), "\(kind)")
        }
    }
}
