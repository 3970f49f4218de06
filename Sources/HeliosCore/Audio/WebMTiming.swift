/// What a container parser learned about the audio: duration plus what the headers say.
struct MediaTiming: Equatable {
    var duration: Double
    var sampleRate: Int?
    var channels: Int?
}

/// WebM duration, from the blocks and from `Segment/Info/Duration`. The blocks' end is the last
/// Cluster's: its Timecode plus the latest block's relative timecode plus one frame
/// (BlockDuration, else the track's DefaultDuration, else the gap between the last two blocks).
/// The header is exact where that frame is an estimate, so it is kept when the two agree within
/// `headerTolerance`; a header that contradicts the blocks (or is missing, as in browsers'
/// MediaRecorder output) loses to them. Cluster payloads are skipped by seeking; only element
/// headers are read, and block headers of the last Clusters. A file without an audio track is
/// refused.
enum WebMTiming {
    static let headerTolerance = 0.5
    /// Clusters remembered from the end, in case the last ones hold no audio block.
    private static let recentClusters = 8

    /// A Cluster near the end: one of known size, to be walked once the walk is done, or one of
    /// unknown size, walked already to find where it ends, with the end of its audio.
    private enum Recent {
        case known(WebMDemuxer.Cluster)
        case walked(endTicks: Double?)
    }

    static func read(_ file: FileBytes) throws -> MediaTiming {
        let webm = try WebMDemuxer(file)
        var info = WebMDemuxer.Info()
        var tracks: WebMDemuxer.Tracks?
        var recent: [Recent] = []
        try webm.walk { element in
            switch element {
            case .info(let parsed):
                info = parsed
            case .tracks(let parsed):
                tracks = parsed
            case .cluster(let cluster):
                if recent.count == recentClusters { recent.removeFirst() }
                if cluster.end != nil {
                    recent.append(.known(cluster))
                    return .skip
                }
                var clock = BlockClock(audio: tracks?.audio, scale: info.timecodeScale)
                let next = try webm.blocks(in: cluster) { clock.add($0) }
                recent.append(.walked(endTicks: clock.endTicks))
                return .resume(at: next)
            }
            return .skip
        }
        // MP4 and Ogg without audio are refused; a WebM holding only video is too.
        guard let audio = tracks?.audio else {
            throw AudioProblem.invalidFormat(tracks?.hasVideo == true ? "WebM file has no audio track (video only)" : "WebM file has no audio track")
        }

        // The last Cluster with an audio block (one cut off before its first block adds nothing).
        var blocksEnd: Double?
        for cluster in recent.reversed() where blocksEnd == nil {
            switch cluster {
            case .walked(let endTicks):
                blocksEnd = endTicks
            case .known(let cluster):
                var clock = BlockClock(audio: audio, scale: info.timecodeScale)
                _ = try webm.blocks(in: cluster) { clock.add($0) }
                blocksEnd = clock.endTicks
            }
        }
        let secondsPerTick = Double(info.timecodeScale) / 1e9
        let ticks: Double
        switch (info.durationTicks, blocksEnd) {
        case let (stated?, blocks?):
            ticks = abs(stated - blocks) * secondsPerTick <= headerTolerance ? stated : blocks
        case let (stated?, nil):
            ticks = stated
        case let (nil, blocks?):
            ticks = blocks
        case (nil, nil):
            throw AudioProblem.invalidFormat("WebM file has neither a Duration nor any audio blocks")
        }
        let seconds = ticks * secondsPerTick
        guard seconds.isFinite, seconds > 0, seconds < 1e7 else {
            throw AudioProblem.invalidFormat("WebM timing is implausible (\(seconds) s)")
        }
        return MediaTiming(
            duration: seconds, sampleRate: audio.sampleRate.flatMap { $0.isFinite && $0 >= 1 && $0 < 1e7 ? Int($0) : nil },
            channels: audio.channels.flatMap { $0 > 0 && $0 < 256 ? Int($0) : nil })
    }

    /// The end time of a Cluster's audio, from its blocks: the latest block's start plus one
    /// frame, or the end its BlockDuration states when that is later.
    private struct BlockClock {
        let audio: WebMDemuxer.Track?
        let scale: UInt64
        private var latest: Double?
        private var previous: Double?
        private var explicitEnd: Double?

        init(audio: WebMDemuxer.Track?, scale: UInt64) {
            self.audio = audio
            self.scale = scale
        }

        /// Counts a block of the audio track (of any track when none is known).
        mutating func add(_ block: WebMDemuxer.Block) {
            if let number = audio?.number, number != block.track { return }
            guard let start = block.time else { return }
            (previous, latest) = (latest, start)
            if let length = block.duration { explicitEnd = max(explicitEnd ?? 0, start + Double(length)) }
        }

        var endTicks: Double? {
            guard let latest else { return nil }
            let frame: Double
            if let ns = audio?.defaultDurationNs { frame = Double(ns) / Double(scale) }
            else if let previous, latest > previous { frame = latest - previous }
            else { frame = 0 }
            return max(latest + frame, explicitEnd ?? 0)
        }
    }
}
