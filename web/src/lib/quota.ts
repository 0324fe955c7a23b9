// Quota is stored in new-api's integer units; the console shows and reads it in the configured
// display: USD (quota / QuotaPerUnit), CNY (USD × USDExchangeRate) or raw tokens.

export interface QuotaDisplay {
  type: "USD" | "CNY" | "TOKENS";
  perUnit: number;
  rate: number;
}

export const DEFAULT_DISPLAY: QuotaDisplay = { type: "USD", perUnit: 500000, rate: 7.3 };

export function displayFromStatus(status: Record<string, unknown> | null): QuotaDisplay {
  if (!status) return DEFAULT_DISPLAY;
  const kind = String(status.quota_display_type ?? "USD").toUpperCase();
  const inCurrency = status.display_in_currency !== false;
  const type = !inCurrency || kind === "TOKENS" ? "TOKENS" : kind === "CNY" ? "CNY" : "USD";
  return {
    type,
    perUnit: Number(status.quota_per_unit) || DEFAULT_DISPLAY.perUnit,
    rate: Number(status.usd_exchange_rate) || DEFAULT_DISPLAY.rate,
  };
}

function unitValue(quota: number, d: QuotaDisplay): number {
  const usd = quota / d.perUnit;
  return d.type === "CNY" ? usd * d.rate : usd;
}

export function formatQuota(quota: number, d: QuotaDisplay): string {
  if (d.type === "TOKENS") return Math.round(quota).toLocaleString("en-US");
  const value = unitValue(quota, d);
  const size = Math.abs(value);
  // cents normally; tiny charges (one short call) keep up to 6 decimals so they are not "0.00"
  const text = size >= 0.01 || size === 0 ? size.toFixed(2) : size.toFixed(6).replace(/0+$/, "");
  return `${value < 0 ? "-" : ""}${d.type === "CNY" ? "¥" : "$"}${text}`;
}

/** The unit label of quota inputs. */
export function quotaUnit(d: QuotaDisplay): string {
  return d.type === "TOKENS" ? "tokens" : d.type;
}

/** A quota typed in the display unit → integer quota, or null when it is not a number ≥ 0. */
export function parseQuota(text: string, d: QuotaDisplay): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  const value = Number(trimmed);
  if (d.type === "TOKENS") return Math.round(value);
  const usd = d.type === "CNY" ? value / d.rate : value;
  return Math.round(usd * d.perUnit);
}

/** An integer quota → the text a quota input starts with. */
export function quotaInput(quota: number, d: QuotaDisplay): string {
  if (d.type === "TOKENS") return String(quota);
  return String(Number(unitValue(quota, d).toFixed(6)));
}
