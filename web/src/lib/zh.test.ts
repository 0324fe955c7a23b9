import { describe, expect, it } from "vitest";
import { translate } from "./prefs";
import { ZH } from "./zh";

const sources = import.meta.glob(["../**/*.tsx", "!../**/*.test.tsx"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

describe("Chinese text", () => {
  it("covers every literal the pages pass to t()", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      for (const m of text.matchAll(/\bt\("((?:[^"\\]|\\.)*)"/g)) {
        if (!(m[1] in ZH)) missing.push(`${file}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("fills placeholders in either language", () => {
    expect(translate("en", "{n} selected", { n: 3 })).toBe("3 selected");
    expect(translate("zh", "{n} selected", { n: 3 })).toBe("已选 3 项");
    expect(translate("zh", "not in the table")).toBe("not in the table");
  });
});
