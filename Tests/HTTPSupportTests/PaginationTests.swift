import Foundation
import HTTPSupport
import Testing

@Suite struct PaginationTests {
    private func token(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test func aCursorRoundTrips() throws {
        let cursor = PageCursor(createdAt: Date(timeIntervalSince1970: 1_700_000_000.123456), id: UUID())
        let read = try PageCursor(token: cursor.token)
        #expect(read.id == cursor.id)
        #expect(abs(read.createdAt.timeIntervalSince(cursor.createdAt)) < 0.000_002)
    }

    @Test(arguments: [
        "-9223372036854775808.00000000-0000-0000-0000-000000000000",
        "9223372036854775807.00000000-0000-0000-0000-000000000000",
        "-1.00000000-0000-0000-0000-000000000000",
        "253402300800000000.00000000-0000-0000-0000-000000000000",
        "99999999999999999999999.00000000-0000-0000-0000-000000000000",
        "1.not-a-uuid",
        "nodot",
    ])
    func aCursorOutsideTheStorableRangeIsABadRequest(_ text: String) {
        #expect(throws: Problem.self) { try PageCursor(token: token(text)) }
    }

    @Test func theLastStorableInstantIsAccepted() throws {
        let read = try PageCursor(token: token("253402300799999999.00000000-0000-0000-0000-000000000000"))
        #expect(Date.storableRange.contains(read.createdAt))
    }

    @Test func aKeyedCursorRoundTripsAnyKeyWithDots() throws {
        let cursor = KeyedPageCursor(createdAt: Date(timeIntervalSince1970: 1_700_000_000.5), key: "seller.a/b+c")
        let read = try KeyedPageCursor(token: cursor.token)
        #expect(read.key == "seller.a/b+c")
        #expect(abs(read.createdAt.timeIntervalSince(cursor.createdAt)) < 0.000_002)
    }

    @Test(arguments: ["1.", "nodot", "-1.key", "253402300800000000.key", "1." + String(repeating: "k", count: 201)])
    func aKeyedCursorWithoutAKeyOrOutOfRangeIsABadRequest(_ text: String) {
        #expect(throws: Problem.self) { try KeyedPageCursor(token: token(text)) }
    }

    @Test func anOverlongTokenIsRefusedBeforeDecoding() {
        #expect(throws: Problem.self) { try KeyedPageCursor(token: String(repeating: "A", count: 100_000)) }
    }
}
