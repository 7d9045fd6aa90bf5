import ServiceRuntime

@main
struct OrderServiceApp {
    static func main() async {
        await ServiceMain.run(.orderService)
    }
}
