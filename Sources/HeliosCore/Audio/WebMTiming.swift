/// What a container parser learned about the audio: duration plus what the headers say.
struct MediaTiming: Equatable {
    var duration: Double
    var sampleRate: Int?
    var channels: Int?
}

/// WebM duration from `Segment/Info/Duration`, or, when a live recorder left it out (browser
/// MediaRecorder output), from the last Cluster: its Timecode plus the latest block's relative
/// timecode plus one frame (BlockDuration, else the track's DefaultDuration, else the gap between
/// the last two blocks). Cluster payloads are skipped by seeking; only element headers are read.
/// A file without an audio track is refused.
enum WebMTiming {
    static func read(_ file: FileBytes) throws -> MediaTiming {
        let webm = try WebMDemuxer(file)
        var info = WebMDemuxer.Info()
        var tracks: WebMDemuxer.Tracks?
        var audio: WebMDemuxer.Track? { tracks?.audio }
        var lastKnownCluster: WebMDemuxer.Cluster?
        var lastEnd: Double?
        try webm.walk { element in
            switch element {
            case .info(let parsed):
                info = parsed
            case .tracks(let parsed):
                tracks = parsed
            case .cluster(let cluster):
                if info.durationTicks != nil && audio != nil { return .stop }  // nothing left to learn
                if cluster.end != nil {
                    lastKnownCluster = cluster
                    lastEnd = nil
                    return .skip
                }
                var clock = BlockClock(audio: audio, scale: info.timecodeScale)
                let next = try webm.blocks(in: cluster) { clock.add($0) }
                lastKnownCluster = nil
                lastEnd = clock.endTicks ?? lastEnd  // a cluster cut before its first block adds nothing
                return .resume(at: next)
            }
            return .skip
        }
        // MP4 and Ogg without audio are refused; a WebM holding only video is too.
        guard let audio else {
            throw AudioProblem.invalidFormat(tracks?.hasVideo == true ? "WebM file has no audio track (video only)" : "WebM file has no audio track")
        }

        let ticks: Double
        if let durationTicks = info.durationTicks {
            ticks = durationTicks
        } else if let cluster = lastKnownCluster {
            var clock = BlockClock(audio: audio, scale: info.timecodeScale)
            _ = try webm.blocks(in: cluster) { clock.add($0) }
            ticks = clock.endTicks ?? 0
        } else if let lastEnd {
            ticks = lastEnd
        } else {
            throw AudioProblem.invalidFormat("WebM file has neither a Duration nor any audio blocks")
        }
        let seconds = ticks * Double(info.timecodeScale) / 1e9
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
