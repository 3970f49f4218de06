import Foundation
@testable import HeliosCore
import Testing
import HeliosTestSupport

/// The hand-written matchers that replaced regex literals agree with the regexes they replaced.
@Suite(.blocking) struct HandParsersTests {
    @Test(arguments: [
        "waiting for 1 run (RUNNING) 12s",
        "waiting for 3 runs (PROCESSING, RUNNING) 0s; 1/4 done",
        "uploading take12s.wav: 45% of 3.2 MB",
        "uploading 12sx.wav: 5% of 1 KB",
        "a1s b22s_ c333s- 4s",
        "١٢s and 7 s and s12s",
        "12s:x 12s: 12s'a 12s' 12s.5 12s. 12s.. 12s-a 12s,a (12s) 12s\u{2019}t 12s\u{301} 12s\u{1F600}",
        "",
    ])
    func withoutSecondsMatchesTheRegex(text: String) {
        #expect(BatchProgress.withoutSeconds(text) == text.replacing(/\d+s\b/, with: ""))
    }

    @Test(arguments: [
        "56a485f2-4fcd-4918-be31-29a1ee126cd4", "56A485F2-4FCD-4918-BE31-29A1EE126CD4",
        "56a485f2-4fcd-4918-be31-29a1ee126cd", "56a485f2-4fcd-4918-be31-29a1ee126cd45",
        "56a485f2x4fcd-4918-be31-29a1ee126cd4", "g6a485f2-4fcd-4918-be31-29a1ee126cd4",
        "56a485f24fcd-4918-be31-29a1ee126cd4-", "", "run-1", "٥6a485f2-4fcd-4918-be31-29a1ee126cd4",
    ])
    func runIdMatchesTheRegex(text: String) {
        let regex = text.wholeMatch(of: /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/) != nil
        #expect(RunID.isValid(text) == regex)
    }
}
