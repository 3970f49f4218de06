import Foundation
import HeliosCore

/// Signs upload URLs like an object store's pre-signed URLs: HMAC-SHA256 over the run id and the
/// expiry, keyed by a secret drawn at start-up, so a URL from another process or an edited one fails.
struct UploadSigner: Sendable {
    private let secret: [UInt8]

    init() {
        var rng = SystemRandomNumberGenerator()
        secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func signature(runID: String, expires: Int) -> String {
        SHA256.hex(hmac(Array("\(runID)\n\(expires)".utf8)))
    }

    /// Compares without an early exit so the check's timing does not reveal the signature.
    func isValid(signature: String, runID: String, expires: Int) -> Bool {
        let expected = Array(self.signature(runID: runID, expires: expires).utf8)
        let given = Array(signature.lowercased().utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func hmac(_ message: [UInt8]) -> [UInt8] {
        let block = secret + [UInt8](repeating: 0, count: 64 - secret.count)
        var inner = SHA256()
        (block.map { $0 ^ 0x36 } + message).withUnsafeBytes { inner.update($0) }
        let innerDigest = inner.finalize()
        var outer = SHA256()
        (block.map { $0 ^ 0x5c } + innerDigest).withUnsafeBytes { outer.update($0) }
        return outer.finalize()
    }
}
