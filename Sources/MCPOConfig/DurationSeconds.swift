extension Duration {
    /// The duration in seconds, as a `Double` (timeouts and rates are figures in seconds).
    public var seconds: Double {
        let (seconds, attoseconds) = components  // computed: a 128-bit division each time it is read
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
