/// The correlation id of the work in progress (an HTTP request, or an event being handled),
/// as a task-local value: every log line written while it is set carries it (the logging
/// system's metadata provider reads it), whichever logger writes the line.
public enum CorrelationScope {
    @TaskLocal public static var id: String?
}
