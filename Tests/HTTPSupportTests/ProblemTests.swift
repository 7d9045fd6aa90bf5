import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ProblemTests {
    struct Body: Decodable { var amount: Int64 }

    func app() -> some ApplicationProtocol {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIdMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.get("conflict") { _, _ -> String in
            throw Problem.conflict("Order is shipped.", extensions: ["currentState": "shipped"])
        }
        router.get("boom") { _, _ -> String in
            struct Secret: Error { let cardNumber = "4242424242424242" }
            throw Secret()
        }
        router.post("decode") { request, context -> String in
            "\(try await request.decode(as: Body.self, context: context).amount)"
        }
        return Application(router: router)
    }

    @Test func domainProblemsRenderAsRFC9457() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/conflict", method: .get) { response in
                #expect(response.status == .conflict)
                #expect(response.headers[.contentType] == "application/problem+json")
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(json?["type"] as? String == "/problems/conflict")
                #expect(json?["status"] as? Int == 409)
                #expect(json?["currentState"] as? String == "shipped")
                #expect(json?["instance"] as? String == "/conflict")
            }
        }
    }

    @Test func unexpectedErrorsAre500sThatRevealNothing() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/boom", method: .get, headers: [.requestId: "req-9"]) { response in
                #expect(response.status == .internalServerError)
                let body = String(buffer: response.body)
                #expect(!body.contains("4242"))
                #expect(!body.contains("Secret"))
                #expect(body.contains("req-9"))
            }
        }
    }

    @Test func malformedBodiesAre400WithTheFieldNamed() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/decode", method: .post, body: ByteBuffer(string: "{\"amount\":\"ten\"}")) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("amount"))
            }
            try await client.execute(uri: "/decode", method: .post, body: ByteBuffer(string: "{")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/missing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }
}
