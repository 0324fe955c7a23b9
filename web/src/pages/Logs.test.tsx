import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_DISPLAY } from "../lib/quota";
import { LogDetail } from "./Logs";
import type { LogRow } from "./Logs";

afterEach(cleanup);

const row: LogRow = {
  id: 9,
  created_at: 1_800_000_000,
  type: 2,
  content: "",
  username: "ops",
  token_name: "ci",
  model_name: "gpt-4o-mini",
  quota: 6,
  prompt_tokens: 40,
  completion_tokens: 10,
  use_time: 1,
  is_stream: false,
  channel: 3,
  channel_name: "mock",
  group: "default",
  ip: "10.0.0.1",
  request_id: "req-1",
  other: JSON.stringify({ model_ratio: 0.075, completion_ratio: 4, cache_ratio: 0.5, group_ratio: 1, cache_tokens: 0, model_price: -1 }),
};

describe("LogDetail", () => {
  it("shows the ratios and the token formula", () => {
    render(<LogDetail row={row} display={DEFAULT_DISPLAY} admin />);
    expect(screen.getByText("Model ratio").nextSibling?.textContent).toBe("0.075");
    expect(screen.getByText("(40 + 0 × 0.5 + 10 × 4) × 0.075 × 1 = 6")).toBeTruthy();
    expect(screen.getByText("mock #3")).toBeTruthy();
  });

  it("counts cached tokens at the cache ratio", () => {
    const other = JSON.stringify({ model_ratio: 1, completion_ratio: 2, cache_ratio: 0.1, group_ratio: 1.5, cache_tokens: 30 });
    render(<LogDetail row={{ ...row, other }} display={DEFAULT_DISPLAY} admin={false} />);
    expect(screen.getByText("(10 + 30 × 0.1 + 10 × 2) × 1 × 1.5 = 6")).toBeTruthy();
    expect(screen.queryByText("IP")).toBeNull();
  });

  it("shows a per-call price instead of ratios, and survives a bad `other`", () => {
    render(<LogDetail row={{ ...row, other: JSON.stringify({ model_price: 0.02, group_ratio: 2 }) }} display={DEFAULT_DISPLAY} admin />);
    expect(screen.getByText("Model price (per call)").nextSibling?.textContent).toBe("0.02");
    cleanup();
    render(<LogDetail row={{ ...row, other: "{oops" }} display={DEFAULT_DISPLAY} admin />);
    expect(screen.queryByText("Billing")).toBeNull();
  });
});
