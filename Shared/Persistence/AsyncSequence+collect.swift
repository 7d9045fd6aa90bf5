extension AsyncSequence {
    /// Reads the whole sequence into an array (for small, bounded query results).
    public func all() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
