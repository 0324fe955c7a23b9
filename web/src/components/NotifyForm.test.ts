import { describe, expect, it } from "vitest";
import type { QuotaDisplay } from "../lib/quota";
import { notifyBody, notifyDraft } from "./NotifyForm";

const USD: QuotaDisplay = { type: "USD", perUnit: 500000, rate: 7.3 };

describe("notifyDraft", () => {
  it("starts from the stored setting, the threshold in the display unit", () => {
    const stored = JSON.stringify({
      notify_type: "gotify",
      quota_warning_threshold: 250000,
      gotify_url: "https://g.example",
      gotify_token: "tok",
      gotify_priority: 0,
      record_ip_log: true,
      sidebar_modules: "{}",
    });
    const d = notifyDraft(stored, USD);
    expect(d).toMatchObject({ type: "gotify", threshold: "0.5", gotifyUrl: "https://g.example", gotifyPriority: "0" });
    expect([d.recordIp, d.acceptUnset, d.upstreamNotice]).toEqual([true, false, false]);
  });

  it("falls back to e-mail and an empty form for a missing or broken setting", () => {
    for (const stored of [undefined, "", "{oops", "[1]", '{"notify_type":"sms"}']) {
      const d = notifyDraft(stored, USD);
      expect([d.type, d.threshold, d.gotifyPriority]).toEqual(["email", "", "5"]);
    }
  });
});

describe("notifyBody", () => {
  const draft = notifyDraft("", USD);

  it("sends only the chosen channel's fields, the threshold as integer quota", () => {
    const out = notifyBody({ ...draft, type: "webhook", threshold: "2", webhookUrl: " https://h.example/x ", email: "a@b" }, USD, false);
    expect(out).toEqual({
      body: {
        notify_type: "webhook",
        quota_warning_threshold: 1000000,
        webhook_url: "https://h.example/x",
        webhook_secret: "",
        accept_unset_model_ratio_model: false,
        record_ip_log: false,
      },
    });
  });

  it("carries the admin-only switch only for admins", () => {
    const on = { ...draft, threshold: "1", upstreamNotice: true };
    expect(notifyBody(on, USD, false)).not.toHaveProperty("body.upstream_model_update_notify_enabled");
    expect(notifyBody(on, USD, true)).toHaveProperty("body.upstream_model_update_notify_enabled", true);
  });

  it("refuses a threshold that is not > 0 and a gotify priority outside 0-10", () => {
    for (const threshold of ["", "0", "-1", "abc"]) {
      expect(notifyBody({ ...draft, threshold }, USD, false)).toEqual({ problem: "The warning threshold must be a number > 0" });
    }
    const gotify = { ...draft, type: "gotify", threshold: "1", gotifyPriority: "11" };
    expect(notifyBody(gotify, USD, false)).toEqual({ problem: "Gotify priority must be 0 to 10" });
    expect(notifyBody({ ...gotify, gotifyPriority: "" }, USD, false)).toHaveProperty("body.gotify_priority", 5);
  });
});
