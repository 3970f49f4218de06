import CFAAD

/// Decodes the AAC of an MP4/M4A file with FAAD2 into the speech estimator. FAAD2 prints nothing;
/// a frame it cannot decode is skipped (it resynchronises on the next), and the caller's coverage
/// check turns a decode that fell short into "speech unknown".
enum AACDecoder {
    /// Zero bytes after each frame, for FAAD2's read-ahead.
    static let padding = 64

    /// A decoder for `config`, giving float samples in −1…1 and every channel as coded (FAAD2's
    /// own 5.1 → stereo mix changes the channel count after the first frame; the estimator
    /// downmixes instead). nil when FAAD2 refuses the configuration.
    fileprivate static func open(_ config: [UInt8]) -> NeAACDecHandle? {
        guard !config.isEmpty, config.count <= 1024, let handle = NeAACDecOpen() else { return nil }
        guard let settings = NeAACDecGetCurrentConfiguration(handle) else { NeAACDecClose(handle); return nil }
        settings.pointee.outputFormat = UInt8(FAAD_FMT_FLOAT)
        settings.pointee.downMatrix = 0
        guard NeAACDecSetConfiguration(handle, settings) == 1 else { NeAACDecClose(handle); return nil }
        var rate: UInt = 0
        var channels: UInt8 = 0
        var asc = config
        let initialised = asc.withUnsafeMutableBufferPointer { NeAACDecInit2(handle, $0.baseAddress, UInt($0.count), &rate, &channels) }
        guard initialised >= 0 else { NeAACDecClose(handle); return nil }
        return handle
    }

    /// Decodes every AAC access unit of the file's first audio track, in order.
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        guard let track = try MP4Samples.audioTrack(file) else { throw AudioProblem.invalidFormat("MP4 file has no audio track") }
        guard track.isAAC, let config = track.config else {
            throw SpeechNotEstimated(note: "speech not estimated for \(track.codecName) in MP4")
        }
        // Where the frames are (table reads only), so that decoding can run on its own thread.
        var units: [(offset: UInt64, size: Int)] = []
        try MP4Samples.forEachSample(file, track: track) { offset, size in
            units.append((offset, size))
            return units.count <= maximumUnits
        }
        guard units.count <= maximumUnits else { throw SpeechNotEstimated(note: "speech not estimated: the MP4 file lists too many AAC frames") }
        guard let stream = Stream(file: file, config: config.audioSpecificConfig, units: units) else {
            throw SpeechNotEstimated(note: "speech not estimated: FAAD2 does not accept this AAC configuration")
        }
        // The output's format is known only from the first frame (SBR doubles the rate).
        guard stream.decodeNext() else { throw SpeechNotEstimated(note: "speech not estimated: FAAD2 decoded no audio") }
        // FAAD2 is two thirds of the work: it runs a few blocks ahead on a second thread.
        guard let analysis = OverlappedDecode.speech(sampleRate: stream.rate, channels: stream.channels, front: .withAnalysis, read: { stream.read(into: $0, frames: $1) }) else {
            throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(stream.rate) Hz")
        }
        return analysis
    }

    /// No 3-minute recording holds more frames (AAC at 96 kHz: about 17,000).
    static let maximumUnits = 200_000

    /// FAAD2 over a list of frames, handing out interleaved samples in any block size. Used by one
    /// thread at a time: the caller until the first frame is decoded, then the decoding thread
    /// (OverlappedDecode starts it after, and joins it before the caller goes on).
    // @unchecked: the handle and buffers pass between the two threads at a thread start and join.
    final class Stream: @unchecked Sendable {
        private let file: FileBytes
        private let config: [UInt8]
        private let units: [(offset: UInt64, size: Int)]
        private var next = 0
        private var handle: NeAACDecHandle
        private var input: [UInt8] = []
        private var decoded: [Float] = []
        private var taken = 0
        private var ended = false
        private(set) var rate = 0
        private(set) var channels = 0

        init?(file: FileBytes, config: [UInt8], units: [(offset: UInt64, size: Int)]) {
            guard let handle = AACDecoder.open(config) else { return nil }
            self.file = file
            self.config = config
            self.units = units
            self.handle = handle
        }

        deinit { NeAACDecClose(handle) }

        /// Decodes frames until one gives samples (kept in `decoded`); false at the end, on a
        /// read failure or when the output's format changes.
        func decodeNext() -> Bool {
            while next < units.count {
                let (offset, size) = units[next]
                next += 1
                guard let bytes = try? file.readExactly(at: offset, count: size) else { return false }
                // FAAD2's bit reader may look a few bytes past the frame: give it zeros to find.
                input.removeAll(keepingCapacity: true)
                input.append(contentsOf: bytes)
                input.append(contentsOf: repeatElement(0, count: AACDecoder.padding))
                var info = NeAACDecFrameInfo()
                let output = input.withUnsafeMutableBufferPointer { NeAACDecDecode(handle, &info, $0.baseAddress, UInt(size)) }
                guard info.error == 0, let output else {
                    // Some errors stick (a damaged frame that looks as if it carried SBR fails
                    // every later one): a fresh decoder starts over at the next frame.
                    guard let fresh = AACDecoder.open(config) else { return false }
                    NeAACDecClose(handle)
                    handle = fresh
                    continue
                }
                // FAAD2's own buffer holds at most 2048 frames per channel (SBR doubles 1024).
                guard info.samples > 0, info.channels > 0, info.samples <= 4096 * UInt(info.channels) else { continue }
                if rate == 0 {
                    rate = Int(info.samplerate)
                    channels = Int(info.channels)
                } else if rate != Int(info.samplerate) || channels != Int(info.channels) {
                    return false
                }
                let count = Int(info.samples) - Int(info.samples) % channels
                decoded = Array(UnsafeBufferPointer(start: output.assumingMemoryBound(to: Float.self), count: count))
                taken = 0
                return true
            }
            return false
        }

        /// Fills `out` with up to `frames` interleaved frames; fewer marks the end.
        func read(into out: UnsafeMutablePointer<Float>, frames: Int) -> Int {
            var buffer = DecodedSamples(samples: decoded, taken: taken)
            decoded = []
            let got = buffer.read(into: out, frames: frames, channels: channels) { next in
                guard !ended, decodeNext() else { ended = true; return false }
                next = DecodedSamples(samples: decoded, taken: 0)
                decoded = []
                return true
            }
            decoded = buffer.samples
            taken = buffer.taken
            return got
        }
    }
}
