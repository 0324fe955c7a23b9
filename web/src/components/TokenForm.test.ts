import { describe, expect, it } from "vitest";
import { formatQuota, parseQuota, quotaInput } from "../lib/quota";
import type { QuotaDisplay } from "../lib/quota";
import { tokenBody } from "./TokenForm";

const USD: QuotaDisplay = { type: "USD", perUnit: 500000, rate: 7.3 };
const CNY: QuotaDisplay = { ...USD, type: "CNY" };
const TOKENS: QuotaDisplay = { ...USD, type: "TOKENS" };
const NOW = 1_800_000_000;

const draft = {
  name: "ci",
  quota: "2",
  unlimited: false,
  never: true,
  expires: "",
  limitModels: false,
  models: "",
  ips: "",
  group: "",
  rpm: "",
  rpd: "",
  tpm: "",
};

describe("tokenBody", () => {
  const toQuota = (text: string) => parseQuota(text, USD);

  it("turns the display quota into integer quota and never-expiring into -1", () => {
    const out = tokenBody(draft, toQuota, NOW);
    expect(out).toEqual({
      body: expect.objectContaining({ name: "ci", remain_quota: 1_000_000, expired_time: -1, unlimited_quota: false }),
    });
  });

  it("sends limits, IPs and rate limits", () => {
    const out = tokenBody(
      { ...draft, limitModels: true, models: "a, b", ips: "10.0.0.1\n192.168.0.0/16", rpm: "60", tpm: "1000" },
      toQuota,
      NOW,
    );
    expect(out).toEqual({
      body: expect.objectContaining({
        model_limits_enabled: true,
        model_limits: "a,b",
        allow_ips: "10.0.0.1\n192.168.0.0/16",
        rate_limit_rpm: 60,
        rate_limit_rpd: 0,
        rate_limit_tpm: 1000,
      }),
    });
  });

  it.each([
    [{ name: " " }, "Name is required"],
    [{ quota: "-1" }, "Quota must be a number ≥ 0"],
    [{ never: false, expires: "" }, "Expiry must be in the future"],
    [{ rpm: "1.5" }, "Rate limits must be whole numbers (empty = none)"],
    [{ ips: "not-an-ip" }, "Not an IP address or CIDR: not-an-ip"],
    [{ limitModels: true, models: " , " }, "List the allowed models"],
  ])("refuses %o", (patch, problem) => {
    expect(tokenBody({ ...draft, ...patch }, toQuota, NOW)).toEqual({ problem });
  });

  it("ignores the quota field for unlimited tokens", () => {
    expect(tokenBody({ ...draft, unlimited: true, quota: "x" }, toQuota, NOW)).toEqual({
      body: expect.objectContaining({ unlimited_quota: true, remain_quota: 0 }),
    });
  });
});

describe("quota display", () => {
  it("formats in each display", () => {
    expect(formatQuota(1_000_000, USD)).toBe("$2.00");
    expect(formatQuota(6, USD)).toBe("$0.000012");
    expect(formatQuota(500_000, CNY)).toBe("¥7.30");
    expect(formatQuota(1234567, TOKENS)).toBe("1,234,567");
  });

  it("parses what it formats", () => {
    for (const d of [USD, CNY, TOKENS]) {
      expect(parseQuota(quotaInput(750_000, d), d)).toBe(750_000);
    }
    expect(parseQuota("abc", USD)).toBeNull();
  });
});
