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

    static func outcome(of paymentMethod: String) -> Outcome? {
        let declined = "Your card was declined."
        switch paymentMethod {
        case "pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit", "pm_card_us": return .succeeds
        case "pm_card_createDispute": return .succeedsThenDisputed
        case "pm_card_refundFail": return .succeedsRefundsFail
        case "pm_card_chargeDeclined", "pm_card_visa_chargeDeclined":
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
}
