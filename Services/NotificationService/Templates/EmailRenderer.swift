import Foundation
import Mustache

/// An email ready to store and send.
struct RenderedEmail: Sendable, Equatable {
    var subject: String
    var text: String
    var html: String
}

/// Renders the templates of `EmailTemplates` with a model (dictionaries, arrays and strings).
struct EmailRenderer: Sendable {
    let library: MustacheLibrary
    let platformName: String
    let platformAddress: String

    struct TemplateError: Error, CustomStringConvertible {
        var description: String
    }

    init(platformName: String, platformAddress: String) throws {
        var library = MustacheLibrary()
        let text = "{{% CONTENT_TYPE: TEXT}}"
        for (name, source) in EmailTemplates.partials {
            try library.register(source, named: name)
        }
        for kind in EmailKind.allCases {
            guard let source = EmailTemplates.sources[kind] else {
                throw TemplateError(description: "no template for \(kind.rawValue)")
            }
            try library.register(text + source.subject, named: "\(kind.rawValue).subject")
            try library.register(text + source.text, named: "\(kind.rawValue).text")
            try library.register(source.html, named: "\(kind.rawValue).html")
        }
        self.library = library
        self.platformName = platformName
        self.platformAddress = platformAddress
    }

    func render(_ kind: EmailKind, _ model: [String: Any]) throws -> RenderedEmail {
        var model = model
        model["platformName"] = platformName
        model["platformAddress"] = platformAddress
        let subject = MailMessage.singleLine(try render("\(kind.rawValue).subject", model))
            .trimmingCharacters(in: .whitespaces)
        let text = try render("\(kind.rawValue).text", model)
        let html = try render("\(kind.rawValue).html", model)
        let layout: [String: Any] = ["platformName": platformName, "platformAddress": platformAddress, "subject": subject]
        return RenderedEmail(
            subject: subject,
            text: try render("layout_text", layout.merging(["body": text]) { _, new in new }),
            html: try render("layout_html", layout.merging(["body": html]) { _, new in new }))
    }

    private func render(_ name: String, _ model: [String: Any]) throws -> String {
        guard let output = library.render(model, withTemplate: name) else {
            throw TemplateError(description: "template \(name) is missing")
        }
        return output
    }
}
