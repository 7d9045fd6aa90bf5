// Money is integer minor units plus an ISO currency; Intl knows each currency's decimals
// (JPY 0, USD 2, KWD 3), so zero-decimal currencies are shown and parsed right.

export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

export function money(amount, currency) {
  if (amount === undefined || amount === null || !currency) return "–";
  const digits = minorDigits(currency);
  const value = Number(amount) / 10 ** digits;
  return new Intl.NumberFormat(navigator.language || "en-US", {
    style: "currency", currency: currency.toUpperCase(), minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(value);
}

/** "12.34" in major units → 1234 minor units (null when it is not a valid amount for the currency). */
export function toMinor(text, currency) {
  const digits = minorDigits(currency);
  const clean = String(text).trim().replace(/,/g, "");
  const pattern = digits === 0 ? /^\d+$/ : new RegExp(`^\\d+(\\.\\d{1,${digits}})?$`);
  if (!pattern.test(clean)) return null;
  const [whole, fraction = ""] = clean.split(".");
  return Number(whole) * 10 ** digits + Number((fraction + "0".repeat(digits)).slice(0, digits) || 0);
}

/** Minor units → the text an input shows ("12.34"; "4500" for JPY). */
export function toMajorText(amount, currency) {
  const digits = minorDigits(currency);
  if (digits === 0) return String(amount);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  return `${sign}${Math.floor(abs / 10 ** digits)}.${String(abs % 10 ** digits).padStart(digits, "0")}`;
}

export function when(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return isNaN(date) ? iso : date.toLocaleString();
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : "–";
}
