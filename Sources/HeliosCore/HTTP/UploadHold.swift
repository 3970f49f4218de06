import Dispatch
import Synchronization

/// Holds back the last bytes of an upload until someone decides whether they may go.
///
/// `upload --url` sends to a run created elsewhere while the speech pass of the local check is
/// still running. A storage PUT whose body stops short of its `Content-Length` is discarded, so
/// withholding the final bytes is as good as never having sent the file: a recording the check
/// rejects is never stored, yet a recording it passes has been uploading all along.
public final class UploadHold: Sendable {
    private let verdict = Mutex<Bool?>(nil)
    private let decided = DispatchSemaphore(value: 0)

    public init() {}

    /// Lets the last bytes go (`send`) or withholds them for good; only the first call counts.
    public func decide(send: Bool) {
        let first = verdict.withLock { verdict in
            guard verdict == nil else { return false }
            verdict = send
            return true
        }
        if first { decided.signal() }
    }

    /// Waits for the decision: true to send, false to withhold, nil when `shouldAbort` turned true first.
    func wait(shouldAbort: (@Sendable () -> Bool)?) -> Bool? {
        while true {
            if let send = verdict.withLock({ $0 }) { return send }
            if let shouldAbort, shouldAbort() { return nil }
            _ = decided.wait(timeout: .now() + .milliseconds(50))
        }
    }
}
