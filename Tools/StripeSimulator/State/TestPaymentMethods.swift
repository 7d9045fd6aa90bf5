/// Stripe's test payment methods and what confirming with each does.
enum TestPaymentMethods {
    enum Outcome: Equatable {
        case succeeds
        /// Succeeds, then the charge is disputed at once (`pm_card_createDispute`).
        case succeedsThenDisputed
        /// Succeeds, but refunds of the charge fail a moment later (`pm_card_refundFail`).
        case succeedsRefundsFail
        case declined(code: String, declineCode: String, message: String)
    }

    /// What a saved copy shows: never more of the number than Stripe shows (brand, last 4).
    struct Card: Equatable {
        var brand: String
        var last4: String
        var funding = "credit"
    }

    static func outcome(of paymentMethod: String) -> Outcome? {
        let declined = "Your card was declined."
        switch paymentMethod {
        case "pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit", "pm_card_us": return .succeeds
        case "pm_card_createDispute": return .succeedsThenDisputed
        case "pm_card_refundFail": return .succeedsRefundsFail
        case "pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail":
            return .declined(code: "card_declined", declineCode: "generic_decline", message: declined)
        case "pm_card_chargeDeclinedInsufficientFunds", "pm_card_visa_chargeDeclinedInsufficientFunds":
            return .declined(code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds.")
        case "pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard":
            return .declined(code: "expired_card", declineCode: "expired_card", message: "Your card has expired.")
        case "pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc":
            return .declined(code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect.")
        case "pm_card_chargeDeclinedFraudulent", "pm_card_visa_chargeDeclinedFraudulent":
            return .declined(code: "card_declined", declineCode: "fraudulent", message: declined)
        case "pm_card_chargeDeclinedLostCard", "pm_card_visa_chargeDeclinedLostCard":
            return .declined(code: "card_declined", declineCode: "lost_card", message: declined)
        case "pm_card_chargeDeclinedStolenCard", "pm_card_visa_chargeDeclinedStolenCard":
            return .declined(code: "card_declined", declineCode: "stolen_card", message: declined)
        case "pm_card_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError":
            return .declined(
                code: "processing_error", declineCode: "processing_error",
                message: "An error occurred while processing your card. Try again in a little bit.")
        default: return nil
        }
    }

    /// Whether saving the card (SetupIntent or attach) succeeds: Stripe verifies it with the
    /// issuer, so cards that decline fail then too, except `pm_card_chargeCustomerFail`, which
    /// is saved and declines only when charged.
    static func canBeSaved(_ paymentMethod: String) -> Bool {
        guard case .declined = outcome(of: paymentMethod) else { return true }
        return paymentMethod == "pm_card_chargeCustomerFail"
    }

    /// The card behind each test payment method (Stripe's test numbers).
    static func card(of paymentMethod: String) -> Card {
        switch paymentMethod {
        case "pm_card_mastercard": Card(brand: "mastercard", last4: "4444")
        case "pm_card_amex": Card(brand: "amex", last4: "8431")
        case "pm_card_visa_debit": Card(brand: "visa", last4: "5556", funding: "debit")
        case "pm_card_createDispute": Card(brand: "visa", last4: "0259")
        case "pm_card_refundFail": Card(brand: "visa", last4: "5126")
        case "pm_card_chargeCustomerFail": Card(brand: "visa", last4: "0341")
        case "pm_card_chargeDeclined", "pm_card_visa_chargeDeclined": Card(brand: "visa", last4: "0002")
        case "pm_card_chargeDeclinedInsufficientFunds", "pm_card_visa_chargeDeclinedInsufficientFunds": Card(brand: "visa", last4: "9995")
        case "pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard": Card(brand: "visa", last4: "0069")
        case "pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc": Card(brand: "visa", last4: "0127")
        case "pm_card_chargeDeclinedFraudulent", "pm_card_visa_chargeDeclinedFraudulent": Card(brand: "visa", last4: "0019")
        case "pm_card_chargeDeclinedLostCard", "pm_card_visa_chargeDeclinedLostCard": Card(brand: "visa", last4: "9987")
        case "pm_card_chargeDeclinedStolenCard", "pm_card_visa_chargeDeclinedStolenCard": Card(brand: "visa", last4: "9979")
        case "pm_card_chargeDeclinedProcessingError", "pm_card_visa_chargeDeclinedProcessingError": Card(brand: "visa", last4: "0119")
        default: Card(brand: "visa", last4: "4242")
        }
    }
}
