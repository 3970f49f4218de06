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
    static func open(_ config: [UInt8]) -> NeAACDecHandle? {
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

    /// Decodes every AAC access unit of the file's first audio track, in order: in segments of
    /// at most `segmentFrames` frames on `workers` threads (`SegmentedDecode`), or, with `segmentFrames`
    /// nil, as one stream on one thread beside the analysis (`OverlappedDecode`; the tests'
    /// reference). Either way the first frame decides the rate and channels.
    static func analyse(_ file: FileBytes, segmentFrames: Int? = AACDecoder.segmentFrames, workers: Int = 2) throws -> SpeechAnalysis {
        guard let track = try MP4Samples.audioTrack(file) else { throw AudioProblem.invalidFormat("MP4 file has no audio track") }
        guard track.isAAC, let config = track.config else {
            throw SpeechNotEstimated(note: "speech not estimated for \(track.codecName) in MP4")
        }
        // Where the frames are (table reads only), so that decoding can run on other threads.
        var units: [(offset: UInt64, size: Int)] = []
        try MP4Samples.forEachSample(file, track: track) { offset, size in
            units.append((offset, size))
            return units.count <= maximumUnits
        }
        guard units.count <= maximumUnits else { throw SpeechNotEstimated(note: "speech not estimated: the MP4 file lists too many AAC frames") }
        return try analyse(file, config: config.audioSpecificConfig, units: units, segmentFrames: segmentFrames, workers: workers)
    }

    /// `analyse(_:segmentFrames:workers:)` once the frames are found: `asc` is the track's
    /// AudioSpecificConfig, `units` its frames in order.
    static func analyse(
        _ file: FileBytes, config asc: [UInt8], units: [(offset: UInt64, size: Int)], segmentFrames: Int?, workers: Int
    ) throws -> SpeechAnalysis {
        guard let stream = Stream(file: file, config: asc, units: units) else {
            throw SpeechNotEstimated(note: "speech not estimated: FAAD2 does not accept this AAC configuration")
        }
        // The output's format is known only from the first frame (SBR doubles the rate).
        guard stream.decodeNext() else { throw SpeechNotEstimated(note: "speech not estimated: FAAD2 decoded no audio") }
        let rate = stream.rate, channels = stream.channels
        let analysis: SpeechAnalysis?
        if let segmentFrames {
            // FAAD2 is more than half the work: it runs on two threads, with the front and the analysis.
            // A short file in smaller segments, so that both workers have some: an eighth of the
            // file, not under 64 frames (a single segment leaves one core idle, and the analysis
            // waiting for the whole decode).
            let size = max(1, min(segmentFrames, max(64, units.count / 8)))
            let starts = SegmentedDecode.plan(count: units.count, size: size, smallest: 32)
            let priming = stream.settles ? 0 : Self.stateFrames
            let frameLength = max(1, stream.frameLength)
            analysis = SegmentedDecode.speech(
                sampleRate: rate, channels: channels, segments: starts.count - 1, workers: workers,
                // Every frame gives a frame's length of samples but the first, which gives none.
                nominalStart: { $0 == 0 ? 0 : (starts[$0] - 1) * frameLength }
            ) { historyFrames in
                // Before a segment: the frame a fresh decoder gives nothing for, the frames whose output
                // is the resampler's history, and for SBR and the predicting profiles a few more.
                let before = 1 + (historyFrames + frameLength - 1) / frameLength + priming
                return Self.segmentDecoder(
                    file: file.sharingFile(), config: asc, units: units, rate: rate, channels: channels,
                    starts: starts, framesBefore: before, historyFrames: historyFrames, frameLength: frameLength)
            }
        } else {
            analysis = OverlappedDecode.speech(sampleRate: rate, channels: channels, front: .withAnalysis) { stream.read(into: $0, frames: $1) }
        }
        guard let analysis else { throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(rate) Hz") }
        return analysis
    }

    /// Frames per segment of the parallel decode, at most: about 6 s at 44.1 kHz, two frames of
    /// priming per 256 decoded twice, and the few segments in flight (`SegmentedDecode.window`)
    /// stay small. (64 to 1024 frames ran within 5% of each other on 156 s.)
    static let segmentFrames = 256

    /// More frames decoded before a segment when the decoder's state outlasts one frame: SBR
    /// (HE-AAC) and parametric stereo keep a few frames of envelopes and filter banks, AAC Main
    /// predicts from earlier frames, LTP from the last 2048 samples. The output after them is the
    /// single stream's to within those decoders' own settling, not bit for bit.
    static let stateFrames = 8

    /// One worker's decoder for `SegmentedDecode`: segment k is frames `starts[k]` up to the
    /// next segment's first, decoded after `framesBefore` frames before it whose output (the
    /// last `historyFrames` of it) is only the segment's history. The error handling is the
    /// single stream's (`Stream.decodeNext`): a refused frame is skipped and a fresh decoder
    /// starts; a change of format, like a read failure, ends the stream.
    private static func segmentDecoder(
        file: FileBytes, config: [UInt8], units: [(offset: UInt64, size: Int)], rate: Int, channels: Int,
        starts: [Int], framesBefore: Int, historyFrames: Int, frameLength: Int
    ) -> SegmentedDecode.Decode {
        let frames = FrameDecoder(file: file, config: config, units: units)
        let keep = historyFrames * channels
        return { segment, history, samples in
            history.removeAll(keepingCapacity: true)
            samples.removeAll(keepingCapacity: true)
            guard let frames else { return false }
            let first = starts[segment], end = starts[segment + 1]
            // Room for the whole segment at once: grown by doubling, it would be copied on the way.
            samples.reserveCapacity((end - first) * frameLength * channels)
            // A fresh decoder for every segment (the first's, too: the caller's has read a frame).
            guard frames.restart(at: max(0, first - framesBefore)) else { return false }
            while frames.next < first {
                switch frames.decodeOne() {
                case .end: return false  // the segment before ends the stream there
                case .none: continue
                case .samples(let decoded, _, _):
                    history.append(contentsOf: decoded)
                    if history.count > 2 * keep + 4096 { history.removeFirst(history.count - keep) }
                }
            }
            if history.count > keep { history.removeFirst(history.count - keep) }
            while frames.next < end {
                switch frames.decodeOne() {
                case .end: return false
                case .none: continue
                case .samples(let decoded, let r, let c):
                    guard r == rate, c == channels else { return false }
                    samples.append(contentsOf: decoded)
                }
            }
            return true
        }
    }

    /// The channel configuration an AudioSpecificConfig states (ISO 14496-3 1.6.2.1: object type,
    /// sampling frequency index, channel configuration), or nil when it is cut short. (FAAD2's own
    /// parse says 2 for 1, as its decoder hands out.)
    static func channelConfiguration(_ asc: [UInt8]) -> Int? {
        var bits = 0
        func read(_ count: Int) -> Int? {
            guard bits + count <= asc.count * 8 else { return nil }
            var value = 0
            for _ in 0..<count {
                value = value << 1 | Int(asc[bits >> 3] >> (7 - UInt8(bits & 7)) & 1)
                bits += 1
            }
            return value
        }
        guard let objectType = read(5) else { return nil }
        if objectType == 31 { guard read(6) != nil else { return nil } }
        guard let frequencyIndex = read(4) else { return nil }
        if frequencyIndex == 15 { guard read(24) != nil else { return nil } }
        return read(4)
    }

    /// No 3-minute recording holds more frames (AAC at 96 kHz: about 17,000).
    static let maximumUnits = 200_000

    /// FAAD2 over a list of frames, one at a time: the error handling the single stream and the
    /// segments share. Used by one thread at a time.
    // @unchecked: the handle and buffers pass between threads only at a thread start and join.
    final class FrameDecoder: @unchecked Sendable {
        private let file: FileBytes
        private let config: [UInt8]
        private let units: [(offset: UInt64, size: Int)]
        private var handle: NeAACDecHandle
        private var input: [UInt8] = []
        /// The track is coded as one channel, which FAAD2 (built for parametric stereo) hands out
        /// as two: `decodeOne` gives it back as one, and the front does half the work.
        private let codedMono: Bool
        /// The frame `decodeOne` decodes next.
        private(set) var next = 0
        /// What FAAD2 said of the last frame it decoded.
        private(set) var info = NeAACDecFrameInfo()

        enum Outcome {
            /// The frame's interleaved samples, a whole number of frames of `channels` (FAAD2's
            /// buffer: valid until the next call), at `rate`.
            case samples(UnsafeBufferPointer<Float>, rate: Int, channels: Int)
            /// None from this frame: a fresh decoder's first, or one FAAD2 refused (skipped, and a
            /// fresh decoder starts at the next).
            case none
            /// The stream ends here: no frame left, a read failure, or FAAD2 refusing a fresh decoder.
            case end
        }

        init?(file: FileBytes, config: [UInt8], units: [(offset: UInt64, size: Int)]) {
            guard let handle = AACDecoder.open(config) else { return nil }
            self.file = file
            self.config = config
            self.units = units
            self.handle = handle
            codedMono = AACDecoder.channelConfiguration(config) == 1
        }

        deinit { NeAACDecClose(handle) }

        /// A fresh decoder from frame `unit` on; false when FAAD2 refuses one.
        func restart(at unit: Int) -> Bool {
            guard let fresh = AACDecoder.open(config) else { return false }
            NeAACDecClose(handle)
            handle = fresh
            next = unit
            return true
        }

        /// Decodes frame `next`.
        func decodeOne() -> Outcome {
            guard next < units.count else { return .end }
            let (offset, size) = units[next]
            next += 1
            input.removeAll(keepingCapacity: true)
            guard (try? file.readExactly(at: offset, count: size, appendingTo: &input)) == true else { return .end }
            // FAAD2's bit reader may look a few bytes past the frame: give it zeros to find.
            input.append(contentsOf: repeatElement(0, count: AACDecoder.padding))
            var info = NeAACDecFrameInfo()
            let output = input.withUnsafeMutableBufferPointer { NeAACDecDecode(handle, &info, $0.baseAddress, UInt(size)) }
            self.info = info
            guard info.error == 0, let output else {
                // Some errors stick (a damaged frame that looks as if it carried SBR fails
                // every later one): a fresh decoder starts over at the next frame.
                return restart(at: next) ? .none : .end
            }
            // FAAD2's own buffer holds at most 2048 frames per channel (SBR doubles 1024).
            guard info.samples > 0, info.channels > 0, info.samples <= 4096 * UInt(info.channels) else { return .none }
            let channels = Int(info.channels)
            let count = Int(info.samples) - Int(info.samples) % channels
            let samples = output.assumingMemoryBound(to: Float.self)
            if codedMono, channels == 2 { return .samples(oneChannel(samples, count: count, stereo: info.ps != 0), rate: Int(info.samplerate), channels: 1) }
            return .samples(UnsafeBufferPointer(start: samples, count: count), rate: Int(info.samplerate), channels: channels)
        }

        /// A mono track's frame as FAAD2 gives it, two channels, as one, in place at the start of
        /// FAAD2's buffer (sample i is read from 2i or 2i + 1, never before it is written): the left
        /// of two copies (the front's mix of two equal channels is that channel, bit for bit, and
        /// its level figures the same), or the mix the front makes when parametric stereo made two.
        private func oneChannel(_ pairs: UnsafeMutablePointer<Float>, count: Int, stereo: Bool) -> UnsafeBufferPointer<Float> {
            let frames = count / 2
            if stereo {
                for i in 0..<frames { pairs[i] = (SignalFront.flushed(pairs[2 * i]) + SignalFront.flushed(pairs[2 * i + 1])) * 0.5 }
            } else {
                // Eight at a time: a plain loop of stores that may alias its loads is not vectorised.
                var i = 0
                while i + 8 <= frames {
                    let both = UnsafeRawPointer(pairs + 2 * i).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(pairs + i).storeBytes(of: both.evenHalf, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < frames {
                    pairs[i] = pairs[2 * i]
                    i += 1
                }
            }
            return UnsafeBufferPointer(start: pairs, count: frames)
        }
    }

    /// FAAD2 over a list of frames as one stream, handing out interleaved samples in any block
    /// size. Used by one thread at a time: the caller until the first frame is decoded, then the
    /// decoding thread (OverlappedDecode starts it after, and joins it before the caller goes on).
    // @unchecked: the decoder and buffers pass between the two threads at a thread start and join.
    final class Stream: @unchecked Sendable {
        private let frames: FrameDecoder
        private var decoded: [Float] = []
        private var taken = 0
        private var ended = false
        private(set) var rate = 0
        private(set) var channels = 0
        /// Frames (per channel) the first frame gave.
        private(set) var frameLength = 0
        /// The first frame was plain AAC-LC, without SBR or parametric stereo: its decoder's
        /// state is the last frame's overlap and nothing older.
        private(set) var settles = false

        init?(file: FileBytes, config: [UInt8], units: [(offset: UInt64, size: Int)]) {
            guard let frames = FrameDecoder(file: file, config: config, units: units) else { return nil }
            self.frames = frames
        }

        /// Decodes frames until one gives samples (kept in `decoded`); false at the end, on a
        /// read failure or when the output's format changes.
        func decodeNext() -> Bool {
            while true {
                switch frames.decodeOne() {
                case .end:
                    return false
                case .none:
                    continue
                case .samples(let samples, let r, let c):
                    if rate == 0 {
                        rate = r
                        channels = c
                        frameLength = samples.count / c
                        let info = frames.info
                        settles = info.object_type == 2 && info.sbr == 0 && info.ps == 0  // LC
                    } else if rate != r || channels != c {
                        return false
                    }
                    decoded = Array(samples)
                    taken = 0
                    return true
                }
            }
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
