import ServiceRuntime

@main
struct EscrowServiceApp {
    static func main() async {
        await ServiceMain.run(.escrowService)
    }
}
