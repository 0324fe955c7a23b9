import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RatioTable, rowProblems } from "./RatioTable";

afterEach(cleanup);

describe("RatioTable", () => {
  it("edits a value and saves the whole table as JSON", () => {
    const onSave = vi.fn();
    render(<RatioTable title="Model ratios" initial='{"b": 2, "a": 0.5}' onSave={onSave} />);
    fireEvent.change(screen.getByLabelText("a Value"), { target: { value: "0.75" } });
    fireEvent.click(screen.getByRole("button", { name: "Save Model ratios" }));
    expect(JSON.parse(onSave.mock.calls[0][0])).toEqual({ a: 0.75, b: 2 });
  });

  it("blocks saving while a row is invalid", () => {
    const onSave = vi.fn();
    render(<RatioTable title="R" initial='{"a": 1}' onSave={onSave} />);
    fireEvent.change(screen.getByLabelText("a Value"), { target: { value: "-1" } });
    expect(screen.getByText("Must be a number ≥ 0")).toBeTruthy();
    const save = screen.getByRole("button", { name: "Save R" }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
  });

  it("adds and removes rows, and filters by name", () => {
    const onSave = vi.fn();
    render(<RatioTable title="R" initial='{"gpt-4o": 1, "claude": 2}' onSave={onSave} />);
    fireEvent.change(screen.getByLabelText("Filter models"), { target: { value: "gpt" } });
    expect(screen.queryByLabelText("claude Value")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Add row" }));
    const names = screen.getAllByLabelText("Name") as HTMLInputElement[];
    fireEvent.change(names[0], { target: { value: "new-model" } });
    fireEvent.click(screen.getAllByRole("button", { name: "Remove" })[1]);
    fireEvent.click(screen.getByRole("button", { name: "Save R" }));
    expect(JSON.parse(onSave.mock.calls[0][0])).toEqual({ "new-model": 1, "gpt-4o": 1 });
  });

  it("round-trips through the JSON view and rejects a non-object", () => {
    const onSave = vi.fn();
    render(<RatioTable title="R" initial='{"a": 1}' onSave={onSave} />);
    fireEvent.click(screen.getByRole("button", { name: "JSON view" }));
    const area = screen.getByLabelText("R JSON");
    fireEvent.change(area, { target: { value: "[1]" } });
    fireEvent.click(screen.getByRole("button", { name: "Table view" }));
    expect(screen.getByText("Must be a JSON object")).toBeTruthy();
    fireEvent.change(area, { target: { value: '{"z": 3}' } });
    fireEvent.click(screen.getByRole("button", { name: "Table view" }));
    expect((screen.getByLabelText("z Value") as HTMLInputElement).value).toBe("3");
  });

  it("names duplicate and empty rows", () => {
    const problems = rowProblems([
      { name: "a", value: "1" },
      { name: "a", value: "2" },
      { name: " ", value: "1" },
      { name: "b", value: "1e-3" },
    ]);
    expect([...problems.entries()]).toEqual([
      [1, "Duplicate name"],
      [2, "Name is required"],
    ]);
  });
});
