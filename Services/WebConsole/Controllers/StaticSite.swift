import Foundation
import HTTPSupport
import Hummingbird

/// The pages: every file under `Public/` is read once at start-up and served from memory (so no
/// request can reach outside it). A path without a file extension is a page of the single-page
/// app (`/seller/listings`, `/orders/<id>`, the links in emails) and gets `index.html`.
struct StaticSite: Sendable {
    struct File: Sendable {
        var bytes: ByteBuffer
        var contentType: String
    }

    let files: [String: File]

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    static func load() throws -> StaticSite {
        guard let root = Bundle.module.resourceURL?.appendingPathComponent("Public") else {
            throw Problem.notFound("the console's Public resources are missing")
        }
        return try load(from: root)
    }

    static func load(from root: URL) throws -> StaticSite {
        var files: [String: File] = [:]
        let base = root.standardizedFileURL.path
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(base.count))
            let type = contentTypes[url.pathExtension.lowercased()] ?? "application/octet-stream"
            files[path] = File(bytes: ByteBuffer(bytes: try Data(contentsOf: url)), contentType: type)
        }
        return StaticSite(files: files)
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in try page("/index.html") }
        router.get("**") { request, _ in
            let path = request.uri.path
            if files[path] != nil { return try page(path) }
            let last = path.split(separator: "/").last ?? ""
            if !last.contains("."), !path.hasPrefix("/api/") { return try page("/index.html") }
            throw Problem.notFound("No such file.")
        }
    }

    func page(_ path: String) throws -> Response {
        guard let file = files[path] else { throw Problem.notFound("No such file.") }
        return Response(
            status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
            body: .init(byteBuffer: file.bytes))
    }
}
