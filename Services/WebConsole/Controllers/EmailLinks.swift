import Foundation
import HTTPSupport
import Hummingbird

/// Links in NotificationService's emails that are not pages of the console: the receipt email
/// links `<NOTIFY_LINK_BASE_URL>/api/v1/receipts/<id>/pdf`, which a browser opens without a token,
/// so it is sent to the receipt's page (sign-in first, then view and download).
struct EmailLinks: Sendable {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("api/v1/receipts/{id}/pdf") { _, context in
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
                throw Problem.notFound("No such receipt.")
            }
            return Response(status: .seeOther, headers: [.location: "/receipts/\(id.uuidString.lowercased())"])
        }
    }
}
