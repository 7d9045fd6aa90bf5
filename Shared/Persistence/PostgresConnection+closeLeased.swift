import PostgresNIO

extension PostgresConnection {
    /// Closes a connection lent by a `PostgresClient` and returns only once it is closed.
    ///
    /// The pool learns of a close from the connection's close future. A lease that ends before
    /// that future completes hands the closed connection back as idle, and the pool lends it to
    /// the next caller, whose query fails with `clientClosedConnection`. So the wait ignores
    /// cancellation (a shutting-down task must wait too) and has no time limit: closing the
    /// channel is local and does not wait for the server.
    public func closeBeforeLeaseEnds() async {
        let closed: EventLoopFuture<Void> = close()
        try? await closed.get()
        try? await closeFuture.get()
    }
}
