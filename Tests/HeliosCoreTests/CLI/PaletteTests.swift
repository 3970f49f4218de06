import Testing
import HeliosTestSupport
@testable import HeliosCore

@Suite(.blocking) struct PaletteTests {
    @Test(arguments: [
        (ColorMode.auto, true, [String: String](), true),
        (.auto, false, [:], false),
        (.auto, true, ["NO_COLOR": "1"], false),
        (.auto, true, ["TERM": "dumb"], false),
        (.always, false, ["NO_COLOR": "1"], true),
        (.never, true, [:], false),
    ])
    func colourRules(mode: ColorMode, terminal: Bool, env: [String: String], enabled: Bool) {
        let palette = Palette(mode: mode, isTerminal: terminal, environment: env)
        #expect(palette.enabled == enabled)
        #expect((palette.red("x") != "x") == enabled)
    }
}

@Suite(.blocking) struct FormattingTests {
    @Test(arguments: [
        (2.345, 1, "2.3"), (2.35, 1, "2.4"), (0.0, 2, "0.00"), (0.42, 2, "0.42"), (1.005, 0, "1"),
        (199.96, 1, "200.0"), (-0.04, 1, "0.0"), (-1.25, 1, "-1.3"), (12.0, 3, "12.000"), (0.999, 2, "1.00"),
    ])
    func fixed(value: Double, digits: Int, expected: String) {
        #expect(Formatting.fixed(value, digits) == expected)
    }

    @Test func zeroPadded() {
        #expect(Formatting.zeroPadded(7, 2) == "07")
        #expect(Formatting.zeroPadded(1990, 4) == "1990")
        #expect(Formatting.zeroPadded(5, 4) == "0005")
        #expect(ValidationText.seconds(192.44) == "3m12.4s")
        #expect(ValidationText.seconds(60.0) == "1m00.0s")
        #expect(ValidationText.seconds(4.04) == "4.0s")
    }
}

@Suite(.blocking) struct TextTests {
    @Test func trimsEveryKindOfLineEnd() {
        #expect(Text.trimmed("  run-1\r\n") == "run-1")
        #expect(Text.trimmed("\t a b \n") == "a b")
        #expect(Text.trimmed(" \r\n ") == "")
    }

    @Test func pathParts() {
        #expect(Text.lastPathComponent("/a/b/c.wav") == "c.wav")
        #expect(Text.lastPathComponent("c.wav") == "c.wav")
        #expect(Text.deletingLastPathComponent("/a/b/c.wav") == "/a/b")
        #expect(Text.deletingLastPathComponent("/c.wav") == "/")
        #expect(Text.pathExtension("take.M4A") == "m4a")
        #expect(Text.pathExtension(".hidden") == "")
        #expect(Text.pathExtension("dir.d/file") == "")
    }

    @Test func utcTimestampShape() {
        #expect(Text.iso8601UTC().wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/) != nil)
    }
}
