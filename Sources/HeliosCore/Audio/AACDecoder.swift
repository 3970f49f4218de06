import CFAAD

/// Decodes the AAC of an MP4/M4A file with FAAD2 into the speech estimator. FAAD2 prints nothing;
/// a frame it cannot decode is skipped (it resynchronises on the next), and the caller's coverage
/// check turns a decode that fell short into "speech unknown".
enum AACDecoder {
    /// Why the speech of an MP4 was not estimated (a note for the user).
    struct Unsupported: Error {
        var note: String
    }

    /// Zero bytes after each frame, for FAAD2's read-ahead.
    static let padding = 64

    /// A decoder for `config`, giving float samples in −1…1 and every channel as coded (FAAD2's
    /// own 5.1 → stereo mix changes the channel count after the first frame; the estimator
    /// downmixes instead). nil when FAAD2 refuses the configuration.
    private static func open(_ config: [UInt8]) -> NeAACDecHandle? {
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
            throw Unsupported(note: "speech not estimated for \(track.codecName) in MP4")
        }
        guard var handle = open(config.audioSpecificConfig) else {
            throw Unsupported(note: "speech not estimated: FAAD2 does not accept this AAC configuration")
        }
        defer { NeAACDecClose(handle) }

        var estimator: SpeechEstimator?
        var format: (rate: UInt, channels: UInt8)?
        var buffer = [UInt8]()
        try MP4Samples.forEachSample(file, track: track) { offset, size in
            guard let bytes = try file.readExactly(at: offset, count: size) else { return false }
            // FAAD2's bit reader may look a few bytes past the frame: give it zeros to find.
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: bytes)
            buffer.append(contentsOf: repeatElement(0, count: padding))
            var info = NeAACDecFrameInfo()
            let output = buffer.withUnsafeMutableBufferPointer { NeAACDecDecode(handle, &info, $0.baseAddress, UInt(size)) }
            guard info.error == 0, let output else {
                // Some errors stick (a damaged frame that looks as if it carried SBR fails every
                // later one): a fresh decoder starts over at the next frame.
                guard let fresh = open(config.audioSpecificConfig) else { return false }
                NeAACDecClose(handle)
                handle = fresh
                return true
            }
            // FAAD2's own buffer holds at most 2048 frames per channel (SBR doubles 1024).
            guard info.samples > 0, info.channels > 0, info.samples <= 4096 * UInt(info.channels) else { return true }
            // The output's format is known only from the first frame (SBR doubles the rate).
            if let format, format != (info.samplerate, info.channels) { return false }
            if format == nil {
                format = (info.samplerate, info.channels)
                estimator = SpeechEstimator(sampleRate: Int(info.samplerate), channels: Int(info.channels))
                if estimator == nil { return false }
            }
            let count = Int(info.samples) - Int(info.samples) % Int(info.channels)
            let samples = UnsafeBufferPointer(start: output.assumingMemoryBound(to: Float.self), count: count)
            estimator?.consume(samples)
            return true
        }
        guard var estimator else {
            if let format { throw Unsupported(note: "speech not estimated at a sample rate of \(format.rate) Hz") }
            throw Unsupported(note: "speech not estimated: FAAD2 decoded no audio")
        }
        return estimator.finish()
    }
}
