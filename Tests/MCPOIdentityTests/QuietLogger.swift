import Logging

/// The tests' logger: only what is critical reaches the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "identity-tests")
    logger.logLevel = .critical
    return logger
}()
