import Crypto
import EventContracts
import Foundation
import Testing

@Suite struct ConversionTests {
    @Test func durationsKeepTheFractionOfASecond() {
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.milliseconds(1500).inMilliseconds == 1500)
        #expect(Duration.microseconds(2500).inMilliseconds == 2)
        #expect(Duration.seconds(45).inSeconds == 45)
        #expect(Duration.zero.inMilliseconds == 0)
        #expect(Duration.milliseconds(-250).inSeconds == -0.25)
        #expect(Duration.milliseconds(-250).inMilliseconds == -250)
        // Too long to count in milliseconds: held at the ends, no trap.
        #expect(Duration.seconds(Int64.max).inMilliseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).inMilliseconds == Int64.min)
    }

    @Test func bytesAreWrittenAsLowercaseHexTwoDigitsEach() {
        #expect([UInt8]().hexEncoded == "")
        #expect([0x00, 0x0F, 0xA0, 0xFF].hexEncoded == "000fa0ff")
        let digest = SHA256.hash(data: Data("abc".utf8))
        #expect(digest.hexEncoded == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest.hexEncoded == digest.map { String(format: "%02x", $0) }.joined())
    }
}
