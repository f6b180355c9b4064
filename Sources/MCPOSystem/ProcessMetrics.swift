#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The process's own figures, read from `/proc/self` when asked: resident memory, open descriptors, CPU time and
/// start time, as Prometheus' process metrics name them.
public struct ProcessMetrics: Sendable, Equatable {
    public var residentBytes: Double
    public var openDescriptors: Double
    public var cpuSeconds: Double
    public var startTimeSeconds: Double

    public static func read() -> ProcessMetrics {
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var metrics = ProcessMetrics(residentBytes: 0, openDescriptors: 0, cpuSeconds: 0, startTimeSeconds: 0)
        if let statm = file("/proc/self/statm")?.split(separator: " "), statm.count > 1, let pages = Double(statm[1]) {
            metrics.residentBytes = pages * pageSize
        }
        if let stat = file("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // After the command name: state is field 3; utime 14, stime 15, starttime 22 (1-based, whole line).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]),
                let started = Double(fields[19])
            {
                metrics.cpuSeconds = (user + system) / ticks
                metrics.startTimeSeconds = bootTime() + started / ticks
            }
        }
        if let directory = opendir("/proc/self/fd") {
            var count = 0
            while readdir(directory) != nil { count += 1 }
            closedir(directory)
            metrics.openDescriptors = Double(max(0, count - 3))  // ".", ".." and the directory's own descriptor
        }
        return metrics
    }

    /// The exposition text of the four metrics.
    public var exposition: String {
        func line(_ name: String, _ kind: String, _ help: String, _ value: Double) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) \(kind)\n\(name) \(value)\n"
        }
        return line("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes)
            + line("process_open_fds", "gauge", "Number of open file descriptors.", openDescriptors)
            + line(
                "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds)
            + line(
                "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                startTimeSeconds)
    }

    private static func bootTime() -> Double {
        guard let stat = file("/proc/stat") else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingPrefix(" ")) ?? 0
        }
        return 0
    }

    private static func file(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
