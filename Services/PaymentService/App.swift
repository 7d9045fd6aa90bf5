import ServiceRuntime

@main
struct PaymentServiceApp {
    static func main() async {
        await ServiceMain.run(.paymentService)
    }
}
