import FoundationEssentials
import Glibc

/// Why a decoder gave no speech figure for a file it can read: a note for the user
/// ("speech not estimated for ALAC in MP4"). Becomes SPEECH_UNKNOWN, never a rejection.
struct SpeechNotEstimated: Error {
    var note: String
}

/// Measures a recording: checks the file, sniffs its format, and reads duration, sample rate and
/// channels the cheapest trustworthy way for that format.
public enum AudioProbe {
    /// The file's size after checking it exists, is a regular file, is readable and is not empty.
    public static func checkFile(_ path: String) throws(AudioProblem) -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound }
            throw .notReadable(String(cString: strerror(code)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .notAFile("a directory")
        default: throw .notAFile("a device, pipe or socket")
        }
        guard access(path, R_OK) == 0 else { throw .notReadable(String(cString: strerror(errno))) }
        guard st.st_size > 0 else { throw .empty }
        return Int64(st.st_size)
    }

    /// The speech pass's result: the figures, or why there are none (a note for the user).
    enum Speech: Equatable {
        case measured(SpeechAnalysis)
        case unknown(String)
    }

    /// What the header pass learned, and the speech pass still to run: the header pass is
    /// quick (headers, frame scans), the speech pass decodes every sample. Split so a caller can
    /// act on the header (start an upload) while the speech pass runs on another thread.
    struct Staged: Sendable {
        var path: String
        var format: AudioFormat
        var duration: Double
        var info: AudioInfo

        /// Decodes the recording once and estimates its speech.
        func speech() -> Speech {
            switch format {
            case .mp4:
                guard let file = FileBytes(path: path) else { return .unknown("speech not estimated: \(String(cString: strerror(errno)))") }
                return AudioProbe.decodedSpeech(by: "FAAD2", duration: duration) { try AACDecoder.analyse(file) }
            case .webm:
                guard let file = FileBytes(path: path) else { return .unknown("speech not estimated: \(String(cString: strerror(errno)))") }
                return AudioProbe.decodedSpeech(by: "libopus", duration: duration) { try OpusWebMDecoder.analyse(file) }
            case .opus:
                guard let file = FileBytes(path: path) else { return .unknown("speech not estimated: \(String(cString: strerror(errno)))") }
                return AudioProbe.decodedSpeech(by: "libopus", duration: duration) { try OggOpusDecoder.analyse(file) }
            case .mp3: return AudioProbe.mp3Speech(path: path, duration: duration)
            case .wav, .flac, .ogg: return AudioProbe.sndfileSpeech(path: path, duration: duration)
            }
        }

        /// The header's figures with the speech pass's.
        func info(with speech: Speech) -> AudioInfo {
            var info = info
            if case .measured(let analysis) = speech { info.speechSeconds = (analysis.speechSeconds * 10).rounded() / 10 }
            return info
        }
    }

    /// The header pass: file checks, format, duration, sample rate, channels.
    static func stage(path: String, partial: inout AudioInfo?) throws(AudioProblem) -> Staged {
        let bytes = try checkFile(path)
        guard let file = FileBytes(path: path) else { throw .notReadable(String(cString: strerror(errno))) }
        let sniffed = try FormatSniffer.sniff(file)
        var info = AudioInfo(format: sniffed.format, bytes: bytes)
        partial = info
        do {
            let timing: MediaTiming
            switch sniffed.format {
            case .mp4: timing = try MP4Timing.read(file)
            case .webm: timing = try WebMTiming.read(file)
            case .mp3: timing = try mp3Timing(path: path, file: file, start: sniffed.audioStart)
            case .wav, .flac, .ogg, .opus: timing = try sndfileTiming(path: path)
            }
            info.durationSeconds = timing.duration
            info.sampleRate = timing.sampleRate
            info.channels = timing.channels
            partial = info
            return Staged(path: path, format: sniffed.format, duration: timing.duration, info: info)
        } catch let problem as AudioProblem {
            throw problem
        } catch {
            throw .notReadable("\(error)")
        }
    }

    /// Runs a decoder's whole speech pass (`analyse`), turning what stops it into a note.
    private static func decodedSpeech(by decoder: String, duration: Double, _ analyse: () throws -> SpeechAnalysis) -> Speech {
        do {
            return covered(try analyse(), duration: duration, by: decoder)
        } catch let notEstimated as SpeechNotEstimated {
            return .unknown(notEstimated.note)
        } catch let problem as AudioProblem {
            return .unknown("speech not estimated: \(problem.message)")
        } catch {
            return .unknown("speech not estimated: \(error)")
        }
    }

    /// A partial decode gives a lower bound, and rejecting on a lower bound would be a false
    /// rejection: then speech is unknown.
    static func covered(_ analysis: SpeechAnalysis, duration: Double, by decoder: String) -> Speech {
        guard analysis.analysedSeconds >= duration * 0.95 - 0.2 else {
            return .unknown("speech not estimated: \(decoder) decoded only \(RecordingValidator.formatDuration(analysis.analysedSeconds)) of \(RecordingValidator.formatDuration(duration))")
        }
        return .measured(analysis)
    }

    /// Decodes the whole file once through libsndfile into the speech estimator.
    private static func sndfileSpeech(path: String, duration: Double) -> Speech {
        guard let sound = try? SndFile(path: path) else { return .unknown("speech not estimated: libsndfile cannot decode the file") }
        if sound.holdsMPEGAudio { return .unknown("speech not estimated for MP3 audio inside a WAV file") }
        return estimate(sound.speechAnalysis(), sampleRate: sound.sampleRate, duration: duration, by: "libsndfile")
    }

    /// Decodes an MP3 once through libmpg123 into the speech estimator.
    private static func mp3Speech(path: String, duration: Double) -> Speech {
        guard let sound = try? MPG123File(path: path) else { return .unknown("speech not estimated: libmpg123 cannot decode the file") }
        return estimate(sound.speechAnalysis(), sampleRate: sound.sampleRate, duration: duration, by: "libmpg123")
    }

    /// A decoder's speech pass (nil: the estimator does not take its rate) as a verdict.
    private static func estimate(_ analysis: SpeechAnalysis?, sampleRate: Int, duration: Double, by decoder: String) -> Speech {
        guard let analysis else { return .unknown("speech not estimated at a sample rate of \(sampleRate) Hz") }
        // libsndfile stops on damage, and libmpg123 where a stream changes format.
        return covered(analysis, duration: duration, by: decoder)
    }

    private static func sndfileTiming(path: String) throws(AudioProblem) -> MediaTiming {
        let sound = try SndFile(path: path)
        guard sound.sampleRate > 0, sound.channels > 0 else { throw .invalidFormat("file states no sample rate or channels") }
        // Not for MP3 inside WAV: decoding its last frames would let libmpg123 print.
        if !sound.holdsMPEGAudio { try sound.checkTail() }
        return MediaTiming(duration: sound.duration, sampleRate: sound.sampleRate, channels: sound.channels)
    }

    /// libmpg123 knows the exact, gapless length only from a Xing/Info/VBRI header; without one
    /// its frame count is a guess from the first frame's bitrate (wrong for VBR). Then we count
    /// frame headers ourselves.
    private static func mp3Timing(path: String, file: FileBytes, start: UInt64) throws -> MediaTiming {
        guard let scan = try MP3Frames.scan(file, from: start), scan.frames > 0 else {
            throw AudioProblem.invalidFormat("MP3 file holds no complete audio frame")
        }
        let rate = scan.first.sampleRate
        if scan.hasVBRHeader, let sound = try? MPG123File(path: path), let frames = sound.statedFrames, sound.sampleRate == rate {
            // The header's count can outlive a truncation: trust it only up to what is really there.
            let scanned = Double(scan.samples) / Double(rate)
            let stated = Double(frames) / Double(rate)
            if stated <= scanned + 0.1 {
                return MediaTiming(duration: stated, sampleRate: rate, channels: sound.channels)
            }
            return MediaTiming(duration: scanned, sampleRate: rate, channels: scan.first.channels)
        }
        return MediaTiming(duration: Double(scan.samples) / Double(rate), sampleRate: rate, channels: scan.first.channels)
    }
}
