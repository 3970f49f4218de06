import CFAAD

/// Decodes the AAC of an MP4/M4A file with FAAD2 into the speech estimator. FAAD2 prints nothing;
/// a frame it cannot decode is skipped (it resynchronises on the next), and the caller's coverage
/// check turns a decode that fell short into "speech unknown".
enum AACDecoder {
    /// Why the speech of an MP4 was not estimated (a note for the user).
    struct Unsupported: Error {
        var note: String
    }

    /// Decodes every AAC access unit of the file's first audio track, in order.
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        guard let track = try MP4Samples.audioTrack(file) else { throw AudioProblem.invalidFormat("MP4 file has no audio track") }
        guard track.isAAC, let config = track.config else {
            throw Unsupported(note: "speech not estimated for \(track.codecName) in MP4")
        }
        guard let handle = NeAACDecOpen() else { throw Unsupported(note: "speech not estimated: FAAD2 could not start") }
        defer { NeAACDecClose(handle) }
        if let settings = NeAACDecGetCurrentConfiguration(handle) {
            settings.pointee.outputFormat = UInt8(FAAD_FMT_FLOAT)  // samples in −1…1
            settings.pointee.downMatrix = 1                        // 5.1 comes out as stereo
            _ = NeAACDecSetConfiguration(handle, settings)
        }
        var rate: UInt = 0
        var channels: UInt8 = 0
        var asc = config.audioSpecificConfig
        let initialised = asc.withUnsafeMutableBufferPointer { NeAACDecInit2(handle, $0.baseAddress, UInt($0.count), &rate, &channels) }
        guard initialised >= 0 else { throw Unsupported(note: "speech not estimated: FAAD2 does not accept this AAC configuration") }

        var estimator: SpeechEstimator?
        var format: (rate: UInt, channels: UInt8)?
        var buffer = [UInt8]()
        try MP4Samples.forEachSample(file, track: track) { offset, size in
            guard let bytes = try file.readExactly(at: offset, count: size) else { return false }
            buffer = bytes
            var info = NeAACDecFrameInfo()
            let output = buffer.withUnsafeMutableBufferPointer { NeAACDecDecode(handle, &info, $0.baseAddress, UInt($0.count)) }
            guard info.error == 0, let output, info.samples > 0, info.channels > 0 else { return true }
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
