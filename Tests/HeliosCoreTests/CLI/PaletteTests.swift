import Testing
@testable import HeliosCore

struct PaletteTests {
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
