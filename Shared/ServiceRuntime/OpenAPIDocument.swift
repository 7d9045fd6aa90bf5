import Foundation
import HTTPSupport
import Hummingbird

/// A service's OpenAPI 3.1 document, a resource of the service target (`OpenAPI/openapi.json`),
/// served as it is at `GET /openapi.json` without authentication.
public enum OpenAPIDocument {
    /// Reads the document from a service's bundle; fails when it is missing or not JSON.
    public static func load(bundle: Bundle) throws -> Data {
        guard let url = bundle.url(forResource: "openapi", withExtension: "json", subdirectory: "OpenAPI") else {
            throw OpenAPIDocumentError(description: "OpenAPI/openapi.json is missing from the \(bundle.bundleURL.lastPathComponent) bundle")
        }
        let data = try Data(contentsOf: url)
        _ = try JSONSerialization.jsonObject(with: data)
        return data
    }

    static func addRoute(_ document: Data, to router: Router<AppRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}

struct OpenAPIDocumentError: Error, CustomStringConvertible {
    var description: String
}
