import ServiceRuntime

@main
struct NotificationServiceApp {
    static func main() async {
        await ServiceMain.run(.notificationService)
    }
}
